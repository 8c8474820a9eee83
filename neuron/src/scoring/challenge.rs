//! Validation rows a peer cannot cheat on. Each row is made of segments of about [`SEGMENT`]
//! bytes; each segment is real text up to a secret cut, then a splice of text from elsewhere
//! (the decoy). The byte that really follows a cut is held back: it is never sent, and it is
//! the only byte of its segment that is scored, at the last real position. A peer that encodes
//! the *next input byte* into its answer (the future, which a causal model cannot see)
//! therefore encodes the decoy exactly where it is scored; on every other position its trick
//! still works, and that gap is what flags it. Rows as long as a training batch's (so that a
//! peer cannot tell validation from training by its shape) hold several segments, so that a
//! query scores as many bytes as short rows would. A few rows of every query are canaries: the
//! same secret rows go to every peer of a cycle, so that answers can be compared for copies.

use crate::data::rng::Rng;

/// Bytes per segment of a row: a real context of 16 to 31 bytes before each scored byte.
pub const SEGMENT: usize = 32;

/// One row: `bytes`, and per segment its cut (a position in the row: the segment's bytes
/// before it are real text) and the real byte after the cut.
#[derive(Debug, Clone, PartialEq)]
struct Row {
	bytes: Vec<u8>,
	cuts: Vec<usize>,
	held_back: Vec<u8>,
}

/// The segments of a row of `seq` bytes, as (start, length): `seq / SEGMENT` of them (at least
/// one), the last taking what is left over.
fn segments(seq: usize) -> Vec<(usize, usize)> {
	let count = (seq / SEGMENT).max(1);
	let length = seq / count;
	(0..count)
		.map(|i| {
			let start = i * length;
			(start, if i + 1 == count { seq - start } else { length })
		})
		.collect()
}

/// The rows of one validation query.
#[derive(Debug, Clone, PartialEq)]
pub struct Challenge {
	/// Token ids sent to the peers, [rows, seq], row-major.
	pub inputs: Vec<i64>,
	/// Rows.
	pub rows: usize,
	/// Bytes per row.
	pub seq: usize,
	/// Per row, the secret cut of each segment (a position in the row): the segment's
	/// positions before it are real text, the rest decoy.
	pub cuts: Vec<Vec<usize>>,
	/// Per row, the real byte after each cut, never sent.
	pub held_back: Vec<Vec<u8>>,
	/// The rows that are this cycle's canaries, in canary order.
	pub canary_rows: Vec<usize>,
}

impl Challenge {
	/// Per segment, the flat position (`row · seq + t`) that is scored, `t = cut − 1`, and the
	/// held-back byte it is scored against.
	pub fn scored(&self) -> Vec<(usize, u8)> {
		let mut out = Vec::new();
		for (row, (cuts, bytes)) in self.cuts.iter().zip(&self.held_back).enumerate() {
			for (cut, byte) in cuts.iter().zip(bytes) {
				out.push((row * self.seq + cut.saturating_sub(1), *byte));
			}
		}
		out
	}

	/// Every flat position before the last real one of its segment, with its next byte (which
	/// was sent): where a probe may learn, and where a leak pays.
	pub fn visible(&self) -> Vec<(usize, u8)> {
		let mut out = Vec::new();
		for (row, cuts) in self.cuts.iter().enumerate() {
			for ((start, _), cut) in segments(self.seq).into_iter().zip(cuts) {
				for t in start..cut.saturating_sub(1) {
					let next = self.inputs.get(row * self.seq + t + 1).copied().unwrap_or(0);
					out.push((row * self.seq + t, next as u8));
				}
			}
		}
		out
	}
}

/// Draws challenges from a text the peers did not choose.
#[derive(Debug, Clone)]
pub struct ChallengeMaker {
	text: Vec<u8>,
	rows: usize,
	seq: usize,
	canaries: Vec<Row>,
	canaries_per_query: usize,
	rng: Rng,
}

impl ChallengeMaker {
	/// Challenges of `rows` rows of `seq` bytes (at least 4) from `text` (longer than
	/// `2 · seq`), `canaries` of them canaries; randomness from `seed`.
	pub fn new(text: Vec<u8>, rows: usize, seq: usize, canaries: usize, seed: u64) -> Self {
		let mut maker = Self {
			text,
			rows: rows.max(1),
			seq: seq.max(4),
			canaries: Vec::new(),
			canaries_per_query: canaries.min(rows),
			rng: Rng::new(seed),
		};
		maker.new_cycle();
		maker
	}

	/// Draws the canary rows of a new cycle.
	pub fn new_cycle(&mut self) {
		self.canaries = (0..self.canaries_per_query).map(|_| self.row()).collect();
	}

	/// A window of `len` bytes of the text at a random place.
	fn window(&mut self, len: usize) -> &[u8] {
		let start = self.rng.below(self.text.len().saturating_sub(len).max(1));
		self.text.get(start..start + len).unwrap_or(&[])
	}

	/// A fresh row of [`segments`], each real text to a cut in the second half of the
	/// segment, then a decoy whose first byte differs from the held-back one (so that a leaked
	/// next byte is always wrong where it counts).
	fn row(&mut self) -> Row {
		let mut row =
			Row { bytes: Vec::with_capacity(self.seq), cuts: Vec::new(), held_back: Vec::new() };
		for (start, length) in segments(self.seq) {
			let cut = length / 2 + self.rng.below(length - length / 2);
			let real = self.window(cut + 1).to_vec();
			let held_back = real.get(cut).copied().unwrap_or(b' ');
			let mut decoy = Vec::new();
			for _ in 0..16 {
				decoy = self.window(length - cut).to_vec();
				if decoy.first() != Some(&held_back) {
					break;
				}
			}
			let mut bytes: Vec<u8> = real.into_iter().take(cut).chain(decoy).collect();
			bytes.resize(length, b' ');
			row.bytes.extend(bytes);
			row.cuts.push(start + cut);
			row.held_back.push(held_back);
		}
		row
	}

	/// The next challenge: fresh rows with this cycle's canaries among them at random places.
	pub fn draw(&mut self) -> Challenge {
		let mut rows: Vec<(Row, Option<usize>)> =
			(0..self.rows - self.canaries.len()).map(|_| (self.row(), None)).collect();
		for (index, canary) in self.canaries.clone().into_iter().enumerate() {
			let at = self.rng.below(rows.len() + 1);
			rows.insert(at, (canary, Some(index)));
		}
		let mut canary_rows = vec![0; self.canaries.len()];
		for (row, (_, canary)) in rows.iter().enumerate() {
			if let Some(slot) = canary.and_then(|index| canary_rows.get_mut(index)) {
				*slot = row;
			}
		}
		Challenge {
			inputs: rows.iter().flat_map(|(r, _)| r.bytes.iter().map(|b| i64::from(*b))).collect(),
			rows: rows.len(),
			seq: self.seq,
			cuts: rows.iter().map(|(r, _)| r.cuts.clone()).collect(),
			held_back: rows.iter().map(|(r, _)| r.held_back.clone()).collect(),
			canary_rows,
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_scored_byte_is_never_sent_and_canaries_repeat_within_a_cycle() {
		let text: Vec<u8> = (0..5000u32).map(|i| b'a' + (i * 7 % 26) as u8).collect();
		let mut maker = ChallengeMaker::new(text.clone(), 8, 16, 2, 1);
		let first = maker.draw();
		assert_eq!((first.rows, first.seq, first.inputs.len()), (8, 16, 128));
		for (row, (cuts, held_back)) in first.cuts.iter().zip(&first.held_back).enumerate() {
			let ([cut], [held_back]) = (cuts.as_slice(), held_back.as_slice()) else {
				panic!("a row of 16 bytes is one segment: {cuts:?}");
			};
			assert!((8..16).contains(cut));
			let sent = first.inputs[row * 16 + cut];
			assert_ne!(sent, i64::from(*held_back), "the byte after the cut is a decoy");
			// The real prefix and the held-back byte are consecutive text.
			let prefix: Vec<u8> =
				first.inputs[row * 16..row * 16 + cut].iter().map(|b| *b as u8).collect();
			let mut real = prefix.clone();
			real.push(*held_back);
			assert!(text.windows(real.len()).any(|w| w == real.as_slice()));
		}
		assert_eq!(first.scored().len(), 8);
		assert!(first
			.visible()
			.iter()
			.all(|(at, next)| first.inputs[at + 1] == i64::from(*next)));
		let canaries = |c: &Challenge| -> Vec<Vec<i64>> {
			c.canary_rows.iter().map(|r| c.inputs[r * 16..(r + 1) * 16].to_vec()).collect()
		};
		let second = maker.draw();
		assert_eq!(canaries(&first), canaries(&second));
		maker.new_cycle();
		assert_ne!(canaries(&first), canaries(&maker.draw()));
	}

	#[test]
	fn a_row_as_long_as_a_training_batchs_scores_a_byte_per_segment() {
		let text: Vec<u8> = (0..5000u32).map(|i| b'a' + (i * 7 % 26) as u8).collect();
		let challenge = ChallengeMaker::new(text.clone(), 8, 64, 2, 3).draw();
		assert_eq!(segments(64), vec![(0, 32), (32, 32)]);
		assert_eq!(segments(70), vec![(0, 35), (35, 35)]);
		assert_eq!(challenge.scored().len(), 16);
		for (row, (cuts, held_back)) in challenge.cuts.iter().zip(&challenge.held_back).enumerate()
		{
			for ((start, _), (cut, held_back)) in
				segments(64).into_iter().zip(cuts.iter().zip(held_back))
			{
				assert!((start + 16..start + 32).contains(cut), "{cuts:?}");
				let sent = challenge.inputs[row * 64 + cut];
				assert_ne!(sent, i64::from(*held_back), "the byte after each cut is a decoy");
				let mut real: Vec<u8> = challenge.inputs[row * 64 + start..row * 64 + cut]
					.iter()
					.map(|b| *b as u8)
					.collect();
				real.push(*held_back);
				assert!(text.windows(real.len()).any(|w| w == real.as_slice()));
			}
		}
		// No visible position reaches across a cut: each is followed by a byte that was sent,
		// and none is a scored position.
		let scored: Vec<usize> = challenge.scored().iter().map(|(at, _)| *at).collect();
		for (at, next) in challenge.visible() {
			assert_eq!(challenge.inputs[at + 1], i64::from(next));
			assert!(!scored.contains(&at));
		}
	}
}
