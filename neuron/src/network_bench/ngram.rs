//! The baseline a model has to beat to have learned anything an n-gram table does not know: a
//! byte n-gram model, Witten-Bell interpolated (each order's counts mixed with the next lower
//! order's prediction in proportion to how many different bytes followed the context), down to
//! a uniform byte.

use std::collections::HashMap;

use crate::{data::corpus::Batch, net::protocol::VOCAB_SIZE};

/// Longest context, in bytes (a 5-gram).
pub const ORDER: usize = 4;

/// Per context (its last `order` bytes, packed with the order), how often it was followed by
/// any byte, and by how many different bytes.
#[derive(Default, Clone, Copy)]
struct Context {
	total: u32,
	distinct: u32,
}

/// A byte n-gram model counted over a text.
pub struct NGram {
	contexts: HashMap<u64, Context>,
	followers: HashMap<u64, u32>,
}

/// A context's key: its order and its last `order` bytes before `end` in `text`.
fn key(text: &[u8], end: usize, order: usize) -> u64 {
	let bytes = &text[end - order..end];
	bytes.iter().fold(order as u64, |key, byte| (key << 8) | u64::from(*byte))
}

impl NGram {
	/// Counts every context of up to [`ORDER`] bytes in `text`, with the byte after it.
	pub fn count(text: &[u8]) -> Self {
		let mut contexts: HashMap<u64, Context> = HashMap::new();
		let mut followers: HashMap<u64, u32> = HashMap::new();
		for end in 0..text.len() {
			let next = u64::from(text[end]);
			for order in 0..=ORDER.min(end) {
				let context = key(text, end, order);
				let seen = followers.entry((context << 8) | next).or_insert(0);
				*seen += 1;
				let entry = contexts.entry(context).or_default();
				entry.total += 1;
				if *seen == 1 {
					entry.distinct += 1;
				}
			}
		}
		Self { contexts, followers }
	}

	/// The probability of `next` after `history` (its last [`ORDER`] bytes count).
	pub fn probability(&self, history: &[u8], next: u8) -> f64 {
		let mut probability = 1.0 / VOCAB_SIZE as f64;
		for order in 0..=ORDER.min(history.len()) {
			let context = key(history, history.len(), order);
			let Some(counts) = self.contexts.get(&context) else { break };
			let seen = self.followers.get(&((context << 8) | u64::from(next))).copied();
			let (total, distinct) = (f64::from(counts.total), f64::from(counts.distinct));
			probability =
				(f64::from(seen.unwrap_or(0)) + distinct * probability) / (total + distinct);
		}
		probability
	}

	/// Mean cross-entropy (nats per byte) of `batch`'s targets, each row read from its start.
	pub fn cross_entropy(&self, batch: &Batch) -> f64 {
		let seq = batch.seq.max(1);
		let mut total = 0.0;
		for (inputs, targets) in batch.inputs.chunks(seq).zip(batch.targets.chunks(seq)) {
			let row: Vec<u8> = inputs.iter().map(|b| *b as u8).collect();
			for (position, target) in targets.iter().enumerate() {
				total -= self.probability(&row[..=position], *target as u8).ln();
			}
		}
		total / batch.targets.len().max(1) as f64
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn probabilities_sum_to_one_after_any_history() {
		let model = NGram::count(b"abracadabra, abracadabra!");
		for history in [&b""[..], b"a", b"abr", b"cadab", b"zzz", b"ra, "] {
			let sum: f64 = (0..=255u8).map(|b| model.probability(history, b)).sum();
			assert!((sum - 1.0).abs() < 1e-9, "after {history:?}: {sum}");
		}
	}

	#[test]
	fn a_longer_context_predicts_what_followed_it() {
		let model = NGram::count(b"abracadabra, abracadabra!");
		assert!(model.probability(b"abr", b'a') > 0.8);
		assert!(model.probability(b"abr", b'a') > model.probability(b"", b'a'));
		assert!(model.probability(b"zz", b'a') > model.probability(b"zz", b'q'));
	}

	#[test]
	fn text_like_the_counted_costs_less_than_a_uniform_guess() {
		let model = NGram::count(&b"the cat sat on the mat. ".repeat(20));
		let batch = Batch::consecutive(b"the cat sat on the mat. the cat", 1, 24, 1).remove(0);
		assert!(model.cross_entropy(&batch) < 0.5 * (VOCAB_SIZE as f64).ln());
	}
}
