//! How the network-joined model joins next-byte predictions: a Bayesian mixture of experts,
//! each expert's weight at a byte its likelihood of the bytes before it in the same row, with
//! forgetting.
//!
//! Peers trained on different kinds of text each predict their own kind best. The mixture
//! needs no training to route between them: after a few bytes of a row, the expert that has
//! predicted them best carries the weight, on any kind of text, so the network's prediction is
//! about the best peer's for that text. Weighing by the row's own past bytes is causal (the
//! weight at byte `t` reads bytes `..=t` of the input, which the caller has) and cannot be
//! gamed by a peer's claims: a peer gains weight only by predicting the row's bytes well, and a
//! peer that answers noise loses its weight within a few bytes. Forgetting lets the weight move
//! when a row changes kind, and a small share of every byte's weight is spread evenly, so that
//! no expert is ruled out for good by one bad byte.

use crate::net::protocol::VOCAB_SIZE;

/// Each byte, the past losses' weight is multiplied by this: a loss counts half after about 35
/// bytes.
pub const FORGETTING: f32 = 0.98;

/// Share of the weight spread evenly over the experts at every byte.
pub const SHARE: f32 = 0.02;

/// `ln(Σ exp(values))`, stable.
fn log_sum_exp(values: impl Iterator<Item = f32> + Clone) -> f32 {
	let largest = values.clone().fold(f32::NEG_INFINITY, f32::max);
	if !largest.is_finite() {
		return largest;
	}
	largest + values.map(|v| (v - largest).exp()).sum::<f32>().ln()
}

/// The mixture's next-byte log-probabilities ([rows · seq, vocab], row-major, as each expert's)
/// from the experts' (each [rows · seq, vocab] log-probabilities) and the bytes that follow each
/// position (`targets`, [rows · seq]), rows of `seq` bytes, every row starting from even
/// weights. Experts of the wrong length, or with values that are not finite, are left out; with
/// none left, the result is empty.
pub fn mix(experts: &[&[f32]], targets: &[i64], seq: usize) -> Vec<f32> {
	mix_from(experts, &vec![1.0; experts.len()], targets, seq)
}

/// [`mix`], every row starting from `prior` (a weight per expert, in any scale; an expert
/// whose weight is not positive is left out) instead of even weights: for experts one of which
/// is known to be right on most rows.
pub fn mix_from(experts: &[&[f32]], prior: &[f32], targets: &[i64], seq: usize) -> Vec<f32> {
	let positions = targets.len();
	let (experts, prior): (Vec<&[f32]>, Vec<f32>) = experts
		.iter()
		.copied()
		.zip(prior.iter().copied())
		.filter(|(e, w)| {
			e.len() == positions * VOCAB_SIZE
				&& e.iter().all(|v| v.is_finite())
				&& w.is_finite()
				&& *w > 0.0
		})
		.unzip();
	let count = experts.len();
	if count == 0 || seq == 0 {
		return Vec::new();
	}
	let total: f32 = prior.iter().sum();
	let row_start: Vec<f32> = prior.iter().map(|w| (w / total).ln()).collect();
	let mut mixed = vec![0.0; positions * VOCAB_SIZE];
	// Per expert, its prior and the discounted log-likelihood of the row's bytes so far.
	let mut evidence = row_start.clone();
	for (position, target) in targets.iter().enumerate() {
		if position % seq == 0 {
			evidence.clone_from(&row_start);
		}
		let posterior = log_sum_exp(evidence.iter().copied());
		let log_weights: Vec<f32> = evidence
			.iter()
			.map(|e| ((1.0 - SHARE) * (e - posterior).exp() + SHARE / count as f32).ln())
			.collect();
		let range = position * VOCAB_SIZE..(position + 1) * VOCAB_SIZE;
		for (byte, out) in mixed[range.clone()].iter_mut().enumerate() {
			*out = log_sum_exp(
				experts
					.iter()
					.zip(&log_weights)
					.map(|(e, w)| w + e[position * VOCAB_SIZE + byte]),
			);
		}
		let byte = usize::try_from(*target).unwrap_or(0).min(VOCAB_SIZE - 1);
		for (e, expert) in evidence.iter_mut().zip(&experts) {
			*e = FORGETTING * *e + expert[position * VOCAB_SIZE + byte];
		}
	}
	mixed
}

/// Mean cross-entropy (nats per byte) of log-probabilities ([positions, vocab]) against
/// `targets`; infinite when they do not fit.
pub fn cross_entropy(log_probs: &[f32], targets: &[i64]) -> f32 {
	if log_probs.len() != targets.len() * VOCAB_SIZE || targets.is_empty() {
		return f32::INFINITY;
	}
	let total: f32 = targets
		.iter()
		.enumerate()
		.map(|(position, target)| {
			let byte = usize::try_from(*target).unwrap_or(0).min(VOCAB_SIZE - 1);
			-log_probs[position * VOCAB_SIZE + byte]
		})
		.sum();
	total / targets.len() as f32
}

#[cfg(test)]
mod tests {
	use super::*;

	/// Log-probabilities that give `sure` to the byte `favourite(position)` and share the rest
	/// evenly.
	fn expert(positions: usize, sure: f32, favourite: impl Fn(usize) -> usize) -> Vec<f32> {
		let rest = ((1.0 - sure) / (VOCAB_SIZE - 1) as f32).ln();
		let mut values = vec![rest; positions * VOCAB_SIZE];
		for position in 0..positions {
			values[position * VOCAB_SIZE + favourite(position)] = sure.ln();
		}
		values
	}

	fn byte_at(position: usize) -> usize {
		(position * 7) % 31 + 65
	}

	#[test]
	fn the_mixture_follows_the_expert_that_predicts_the_row() {
		let (rows, seq) = (3, 40);
		let targets: Vec<i64> = (0..rows * seq).map(|p| byte_at(p) as i64).collect();
		let knows = expert(rows * seq, 0.9, byte_at);
		let guesses = expert(rows * seq, 0.9, |p| byte_at(p + 1));
		let uniform = vec![-(VOCAB_SIZE as f32).ln(); rows * seq * VOCAB_SIZE];
		let mixed = mix(&[&guesses, &knows, &uniform], &targets, seq);
		let best = cross_entropy(&knows, &targets);
		let joined = cross_entropy(&mixed, &targets);
		// Within a few bytes of every row the mixture is nearly the knowing expert.
		assert!(joined < best + 0.25, "mixture {joined} against the best expert's {best}");
		assert!(joined < cross_entropy(&uniform, &targets) / 2.0);
		let last = (seq - 1) * VOCAB_SIZE + byte_at(seq - 1);
		assert!(mixed[last] > 0.9f32.ln() - 0.05, "at the row's end: {}", mixed[last]);
	}

	#[test]
	fn the_weight_at_a_byte_reads_only_the_bytes_before_it() {
		let seq = 16;
		let targets: Vec<i64> = (0..seq).map(|p| byte_at(p) as i64).collect();
		let a = expert(seq, 0.5, byte_at);
		let b = expert(seq, 0.4, byte_at);
		let mixed = mix(&[&a, &b], &targets, seq);
		let mut changed = targets.clone();
		changed[9] = 0;
		let mixed_changed = mix(&[&a, &b], &changed, seq);
		// Positions up to 9 predict byte 9 and earlier: they cannot see what byte 9 is.
		assert!(mixed[..10 * VOCAB_SIZE] == mixed_changed[..10 * VOCAB_SIZE]);
		assert!(mixed[10 * VOCAB_SIZE..] != mixed_changed[10 * VOCAB_SIZE..]);
	}

	#[test]
	fn every_row_starts_from_even_weights() {
		let seq = 8;
		let targets: Vec<i64> = (0..2 * seq).map(|p| byte_at(p) as i64).collect();
		let a = expert(2 * seq, 0.9, byte_at);
		let b = expert(2 * seq, 0.9, |p| byte_at(p + 1));
		let mixed = mix(&[&a, &b], &targets, seq);
		let even = |position: usize| {
			let byte = byte_at(position);
			let (pa, pb) =
				(a[position * VOCAB_SIZE + byte].exp(), b[position * VOCAB_SIZE + byte].exp());
			((pa + pb) / 2.0).ln()
		};
		for position in [0, seq] {
			let got = mixed[position * VOCAB_SIZE + byte_at(position)];
			assert!((got - even(position)).abs() < 1e-5, "position {position}: {got}");
		}
	}

	#[test]
	fn every_row_starts_from_the_prior() {
		let seq = 8;
		let targets: Vec<i64> = (0..2 * seq).map(|p| byte_at(p) as i64).collect();
		let a = expert(2 * seq, 0.9, byte_at);
		let b = expert(2 * seq, 0.9, |p| byte_at(p + 1));
		let mixed = mix_from(&[&a, &b], &[3.0, 1.0], &targets, seq);
		let weights = [(1.0 - SHARE) * 0.75 + SHARE / 2.0, (1.0 - SHARE) * 0.25 + SHARE / 2.0];
		for position in [0, seq] {
			let byte = byte_at(position);
			let expected = (weights[0] * a[position * VOCAB_SIZE + byte].exp()
				+ weights[1] * b[position * VOCAB_SIZE + byte].exp())
			.ln();
			let got = mixed[position * VOCAB_SIZE + byte];
			assert!((got - expected).abs() < 1e-5, "position {position}: {got} against {expected}");
		}
		// An expert without weight is left out.
		assert_eq!(mix_from(&[&a, &b], &[1.0, 0.0], &targets, seq), mix(&[&a], &targets, seq));
	}

	#[test]
	fn experts_that_do_not_fit_are_left_out() {
		let seq = 4;
		let targets = vec![65i64; seq];
		let good = expert(seq, 0.7, |_| 65);
		let short = vec![0.0; 3];
		let mut broken = good.clone();
		broken[5] = f32::NAN;
		assert_eq!(mix(&[&good, &short, &broken], &targets, seq), mix(&[&good], &targets, seq));
		assert!(mix(&[&short], &targets, seq).is_empty());
		assert!(mix(&[], &targets, seq).is_empty());
		assert_eq!(cross_entropy(&short, &targets), f32::INFINITY);
	}

	#[test]
	fn one_expert_is_its_own_mixture() {
		let seq = 8;
		let targets: Vec<i64> = (0..seq).map(|p| byte_at(p) as i64).collect();
		let a = expert(seq, 0.6, byte_at);
		let mixed = mix(&[&a], &targets, seq);
		assert!(mixed.iter().zip(&a).all(|(m, a)| (m - a).abs() < 1e-5));
	}
}
