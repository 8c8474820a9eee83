//! Lookup instead of a model: at each position, the bytes that followed the longest match of
//! the row so far in a text. Over every file a peer can read this is the memorizer, the
//! cheapest way to answer text one has seen; over the peer's training text alone it is an
//! n-gram model, the baseline the memorizer is measured against: when the validators' text is
//! in no file a peer can read, knowing every file is worth no more than the n-gram statistics.

use crate::net::protocol::{REPRESENTATION_DIM, VOCAB_SIZE};

/// Longest context looked up, in bytes.
pub const MAX_ORDER: usize = 32;

/// Matches of the longest context whose following bytes make the answer (a sample of them,
/// evenly spaced, when there are more).
const SAMPLED_MATCHES: usize = 64;

/// A text and its suffixes sorted by their first [`MAX_ORDER`] + 1 bytes.
pub struct LongestMatch {
	text: Vec<u8>,
	suffixes: Vec<u32>,
}

impl LongestMatch {
	/// Indexes `text` (at most 4 GiB).
	pub fn new(text: Vec<u8>) -> Self {
		let key = |start: u32| {
			let start = start as usize;
			text.get(start..(start + MAX_ORDER + 1).min(text.len())).unwrap_or(&[])
		};
		let mut suffixes: Vec<u32> = (0..text.len().min(u32::MAX as usize) as u32).collect();
		suffixes.sort_unstable_by(|a, b| key(*a).cmp(key(*b)));
		Self { text, suffixes }
	}

	/// The suffixes that start with `pattern` and have a byte after it: a range of
	/// `suffixes`.
	fn occurrences(&self, pattern: &[u8]) -> &[u32] {
		let prefix = |start: &u32| {
			let start = *start as usize;
			self.text
				.get(start..(start + pattern.len()).min(self.text.len()))
				.unwrap_or(&[])
		};
		let first = self.suffixes.partition_point(|s| prefix(s) < pattern);
		let end = self.suffixes.partition_point(|s| prefix(s) <= pattern);
		self.suffixes.get(first..end).unwrap_or(&[])
	}

	/// How often each byte followed the longest suffix of `context` (at most [`MAX_ORDER`]
	/// bytes) that the text holds with a byte after it; all zeros when not even its last byte
	/// is found.
	pub fn next_byte_counts(&self, context: &[u8]) -> [u32; VOCAB_SIZE] {
		let longest = context.len().min(MAX_ORDER);
		let suffix = |order: usize| context.get(context.len() - order..).unwrap_or(&[]);
		// Where a suffix of `order` bytes is followed by a byte of the text.
		let next_byte = |start: u32, order: usize| self.text.get(start as usize + order).copied();
		let followed = |order: usize| {
			self.occurrences(suffix(order)).iter().any(|s| next_byte(*s, order).is_some())
		};
		// A context found in the text has every shorter suffix in it too: bisect the order.
		let (mut found, mut missing) = (0, longest + 1);
		while missing - found > 1 {
			let order = (found + missing) / 2;
			if followed(order) {
				found = order;
			} else {
				missing = order;
			}
		}
		let mut counts = [0u32; VOCAB_SIZE];
		if found > 0 {
			let matches = self.occurrences(suffix(found));
			let stride = matches.len().div_ceil(SAMPLED_MATCHES).max(1);
			for byte in matches.iter().step_by(stride).filter_map(|s| next_byte(*s, found)) {
				if let Some(count) = counts.get_mut(usize::from(byte)) {
					*count += 1;
				}
			}
		}
		counts
	}

	/// The answer to `tokens` (`batch` rows of `seq`): at each position the distribution of
	/// the next byte the lookup gives, as a [`REPRESENTATION_DIM`] vector (one entry per
	/// byte), from the row's bytes up to that position.
	pub fn answer(&self, tokens: &[i64], seq: usize) -> Vec<f32> {
		let mut out = Vec::with_capacity(tokens.len() * REPRESENTATION_DIM);
		for row in tokens.chunks(seq.max(1)) {
			let bytes: Vec<u8> = row.iter().map(|t| *t as u8).collect();
			for end in 1..=bytes.len() {
				let counts = self.next_byte_counts(bytes.get(..end).unwrap_or(&[]));
				let total = counts.iter().sum::<u32>().max(1) as f32;
				out.extend(counts.iter().map(|c| *c as f32 / total));
				out.extend(std::iter::repeat_n(0.0, REPRESENTATION_DIM.saturating_sub(VOCAB_SIZE)));
			}
		}
		out
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_longest_match_decides_and_a_shorter_one_stands_in() {
		let lookup = LongestMatch::new(b"the cat sat. the dog sat. a cat ran.".to_vec());
		let counts = |context: &[u8]| {
			let counts = lookup.next_byte_counts(context);
			(0..=255u8).filter(|b| counts[usize::from(*b)] > 0).collect::<Vec<u8>>()
		};
		// "the cat " is followed by 's' only; "cat " alone by 's' and 'r'.
		assert_eq!(counts(b"the cat "), b"s");
		assert_eq!(counts(b"a cat "), b"r");
		assert_eq!(counts(b"xx cat "), b"rs");
		assert_eq!(counts(b"zzz"), b"", "not even the last byte is in the text");
		assert_eq!(counts(b""), b"");
		// "ran." ends the text, nothing follows it: the '.' of "sat." stands in.
		assert_eq!(counts(b"ran."), b" ");
	}

	#[test]
	fn an_answer_is_a_distribution_per_position() {
		let lookup = LongestMatch::new(b"abcabcabd".to_vec());
		let tokens: Vec<i64> = b"abca".iter().map(|b| i64::from(*b)).collect();
		let answer = lookup.answer(&tokens, 2);
		assert_eq!(answer.len(), 4 * REPRESENTATION_DIM);
		let at =
			|position: usize, byte: u8| answer[position * REPRESENTATION_DIM + usize::from(byte)];
		// Rows "ab" and "ca": after "a", 'b'; after "ab", 'c' twice and 'd' once.
		assert_eq!(at(0, b'b'), 1.0);
		assert!((at(1, b'c') - 2.0 / 3.0).abs() < 1e-6 && (at(1, b'd') - 1.0 / 3.0).abs() < 1e-6);
		// The second row starts afresh: after "c", 'a'.
		assert_eq!(at(2, b'a'), 1.0);
		assert_eq!(at(3, b'b'), 1.0);
	}
}
