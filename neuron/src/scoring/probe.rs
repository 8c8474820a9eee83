//! A per-peer probe: multinomial logistic regression from one peer's representation of a
//! position to the next byte. Peers serve representations in spaces of their own; a probe per
//! peer maps each into the same space, next-byte probabilities, where answers can be mixed and
//! compared (Shapley values, held-back versus visible loss). Inputs are scaled to unit length,
//! so a peer gains nothing by scaling its answers, and a probe learns at the same rate whatever
//! their norm. Plain Rust: it is small, and it trains on the validator's thread without autodiff.

use crate::net::protocol::{REPRESENTATION_DIM, VOCAB_SIZE};

/// Errors below this leave a class's weights unchanged in a training step.
const SKIPPED_ERROR: f32 = 1e-4;

/// Softmax regression from a [`REPRESENTATION_DIM`] representation to [`VOCAB_SIZE`] bytes.
#[derive(Clone, PartialEq)]
pub struct Probe {
	/// [VOCAB_SIZE][REPRESENTATION_DIM], one row per byte.
	weights: Vec<f32>,
	/// Per byte.
	bias: Vec<f32>,
}

impl std::fmt::Debug for Probe {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		let norm = self.weights.iter().map(|w| w * w).sum::<f32>().sqrt();
		f.debug_struct("Probe").field("weight_norm", &norm).finish_non_exhaustive()
	}
}

/// `representation` scaled to unit length (all zeros when it has none, or is not finite).
fn unit(representation: &[f32]) -> Vec<f32> {
	let norm = representation.iter().map(|v| v * v).sum::<f32>().sqrt();
	if norm.is_finite() && norm > 0.0 {
		representation.iter().map(|v| v / norm).collect()
	} else {
		vec![0.0; representation.len()]
	}
}

/// Dot product with eight running sums, which the compiler turns into vector instructions.
fn dot(a: &[f32], b: &[f32]) -> f32 {
	let mut sums = [0.0f32; 8];
	let (a_chunks, b_chunks) = (a.chunks_exact(8), b.chunks_exact(8));
	let tail: f32 = a_chunks.remainder().iter().zip(b_chunks.remainder()).map(|(x, y)| x * y).sum();
	for (x, y) in a_chunks.zip(b_chunks) {
		for lane in 0..8 {
			sums[lane] += x[lane] * y[lane];
		}
	}
	sums.iter().sum::<f32>() + tail
}

impl Probe {
	/// A probe that predicts `prior` (byte probabilities, e.g. the validator's unigram counts)
	/// whatever the representation: the baseline a peer is measured against.
	pub fn new(prior: &[f64]) -> Self {
		let bias = (0..VOCAB_SIZE)
			.map(|byte| prior.get(byte).copied().unwrap_or(0.0).max(1e-6).ln() as f32)
			.collect();
		Self { weights: vec![0.0; VOCAB_SIZE * REPRESENTATION_DIM], bias }
	}

	/// Logits of the unit-scaled input.
	fn logits(&self, input: &[f32]) -> Vec<f32> {
		self.weights
			.chunks_exact(REPRESENTATION_DIM)
			.zip(&self.bias)
			.map(|(row, bias)| dot(row, input) + bias)
			.collect()
	}

	/// Next-byte probabilities from one position's representation.
	pub fn probabilities(&self, representation: &[f32]) -> Vec<f64> {
		softmax(&self.logits(&unit(representation)))
			.into_iter()
			.map(f64::from)
			.collect()
	}

	/// One stochastic gradient step of the cross-entropy per `(representation, next byte)`
	/// sample, at `rate`; returns the mean cross-entropy (nats) before each step.
	pub fn train<'a>(
		&mut self,
		samples: impl IntoIterator<Item = (&'a [f32], u8)>,
		rate: f32,
	) -> f64 {
		let (mut loss, mut count) = (0.0, 0usize);
		for (representation, byte) in samples {
			let input = unit(representation);
			let probabilities = softmax(&self.logits(&input));
			let target = usize::from(byte);
			loss -= f64::from(probabilities.get(target).copied().unwrap_or(1.0).max(1e-12)).ln();
			count += 1;
			let rows = self.weights.chunks_exact_mut(REPRESENTATION_DIM).zip(&mut self.bias);
			for (class, (row, bias)) in rows.enumerate() {
				let p = probabilities.get(class).copied().unwrap_or(0.0);
				let error = if class == target { p - 1.0 } else { p };
				// Classes the probe already rules out barely move: skip their update.
				if error.abs() < SKIPPED_ERROR {
					continue;
				}
				let step = rate * error;
				row.iter_mut().zip(&input).for_each(|(w, x)| *w -= step * x);
				*bias -= step;
			}
		}
		if count == 0 {
			0.0
		} else {
			loss / count as f64
		}
	}
}

/// Softmax of `logits`.
fn softmax(logits: &[f32]) -> Vec<f32> {
	let top = logits.iter().copied().fold(f32::MIN, f32::max);
	let exp: Vec<f32> = logits.iter().map(|l| (l - top).exp()).collect();
	let total: f32 = exp.iter().sum();
	exp.into_iter().map(|e| e / total).collect()
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::data::rng::Rng;

	fn code(byte: u8, seed: u64) -> Vec<f32> {
		let mut rng = Rng::new(seed ^ u64::from(byte).wrapping_mul(0x9e37_79b9));
		(0..REPRESENTATION_DIM)
			.map(|_| if rng.below(2) == 0 { -1.0 } else { 1.0 })
			.collect()
	}

	#[test]
	fn starts_at_the_prior_and_ignores_scale() {
		let mut prior = vec![0.0; VOCAB_SIZE];
		prior[b'e' as usize] = 0.5;
		prior[b' ' as usize] = 0.5;
		let probe = Probe::new(&prior);
		let p = probe.probabilities(&code(1, 0));
		assert!((p[b'e' as usize] - 0.5).abs() < 1e-3 && (p[b' ' as usize] - 0.5).abs() < 1e-3);
		assert_eq!(probe.probabilities(&[0.0; REPRESENTATION_DIM]), p, "zeros are safe");
		let scaled: Vec<f32> = code(1, 0).iter().map(|v| v * 1000.0).collect();
		assert_eq!(probe.probabilities(&scaled), p);
	}

	#[test]
	fn learns_a_code_per_byte() {
		let uniform = vec![1.0 / VOCAB_SIZE as f64; VOCAB_SIZE];
		let mut probe = Probe::new(&uniform);
		let codes: Vec<Vec<f32>> = (0..32u8).map(|b| code(b, 7)).collect();
		let mut rng = Rng::new(1);
		let mut last = f64::MAX;
		for _ in 0..20 {
			let samples: Vec<(&[f32], u8)> = (0..64)
				.map(|_| {
					let byte = rng.below(32) as u8;
					(codes[usize::from(byte)].as_slice(), byte)
				})
				.collect();
			last = probe.train(samples, 0.5);
		}
		assert!(last < 0.5, "cross-entropy {last}");
		let p = probe.probabilities(&codes[5]);
		assert!(p[5] > 0.8, "{}", p[5]);
	}
}
