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

/// `representation` scaled to unit length (all zeros when it has none, or is not finite),
/// written into `out`.
fn unit_into(representation: &[f32], out: &mut Vec<f32>) {
	let norm = representation.iter().map(|v| v * v).sum::<f32>().sqrt();
	out.clear();
	if norm.is_finite() && norm > 0.0 {
		out.extend(representation.iter().map(|v| v / norm));
	} else {
		out.resize(representation.len(), 0.0);
	}
}

/// `representation` scaled to unit length.
fn unit(representation: &[f32]) -> Vec<f32> {
	let mut out = Vec::with_capacity(representation.len());
	unit_into(representation, &mut out);
	out
}

/// The numbers dot products are taken of: `f32` and `f64`.
pub(super) trait Real:
	Copy + Default + std::ops::Add<Output = Self> + std::ops::Mul<Output = Self> + std::iter::Sum
{
}

impl<T> Real for T where
	T: Copy + Default + std::ops::Add<Output = T> + std::ops::Mul<Output = T> + std::iter::Sum
{
}

/// Dot products of `input` with each of `N` rows at once, each with eight running sums that
/// the compiler turns into vector instructions: the rows share the loads of `input`, and their
/// sums are independent chains, so a block of rows costs little more than one row.
fn dots<T: Real, const N: usize>(rows: [&[T]; N], input: &[T]) -> [T; N] {
	let mut sums = [[T::default(); 8]; N];
	let mut row_blocks = rows.map(|row| row.chunks_exact(8));
	let input_blocks = input.chunks_exact(8);
	let input_tail = input_blocks.remainder();
	for x in input_blocks {
		for (blocks, sum) in row_blocks.iter_mut().zip(sums.iter_mut()) {
			if let Some(w) = blocks.next() {
				for lane in 0..8 {
					sum[lane] = sum[lane] + w[lane] * x[lane];
				}
			}
		}
	}
	let mut out = [T::default(); N];
	for ((slot, blocks), sum) in out.iter_mut().zip(row_blocks).zip(sums) {
		let tail: T = blocks.remainder().iter().zip(input_tail).map(|(w, x)| *w * *x).sum();
		*slot = sum.into_iter().sum::<T>() + tail;
	}
	out
}

/// The dot product of `a` and `b` (as far as the shorter goes).
pub(super) fn dot<T: Real>(a: &[T], b: &[T]) -> T {
	dots([a], b)[0]
}

/// Dot products of `input` with each of `rows`, four rows at a time.
fn dot_rows(rows: &[&[f32]], input: &[f32]) -> Vec<f32> {
	let blocks = rows.chunks_exact(4);
	let rest = blocks.remainder();
	let mut out: Vec<f32> = blocks
		.flat_map(|block| dots([block[0], block[1], block[2], block[3]], input))
		.collect();
	out.extend(rest.iter().map(|row| dot(row, input)));
	out
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

	/// Logits of the unit-scaled input for `bytes`.
	fn logits_of(&self, input: &[f32], bytes: impl Iterator<Item = usize>) -> Vec<f32> {
		let (rows, bias): (Vec<&[f32]>, Vec<f32>) = bytes
			.filter_map(|byte| {
				let row =
					self.weights.get(byte * REPRESENTATION_DIM..(byte + 1) * REPRESENTATION_DIM)?;
				Some((row, self.bias.get(byte).copied()?))
			})
			.unzip();
		dot_rows(&rows, input)
			.into_iter()
			.zip(bias)
			.map(|(dot, bias)| dot + bias)
			.collect()
	}

	/// Logits of the unit-scaled input for every byte, written into `out`: the weights are
	/// read four rows at a time, in place.
	fn logits_into(&self, input: &[f32], out: &mut Vec<f32>) {
		out.clear();
		let blocks = self.weights.chunks_exact(4 * REPRESENTATION_DIM);
		let rest = blocks.remainder();
		for block in blocks {
			let (first, others) = block.split_at(REPRESENTATION_DIM);
			let (second, others) = others.split_at(REPRESENTATION_DIM);
			let (third, fourth) = others.split_at(REPRESENTATION_DIM);
			out.extend(dots([first, second, third, fourth], input));
		}
		out.extend(rest.chunks_exact(REPRESENTATION_DIM).map(|row| dot(row, input)));
		out.iter_mut().zip(&self.bias).for_each(|(logit, bias)| *logit += bias);
	}

	/// Next-byte probabilities from one position's representation.
	pub fn probabilities(&self, representation: &[f32]) -> Vec<f64> {
		let mut logits = Vec::with_capacity(VOCAB_SIZE);
		self.logits_into(&unit(representation), &mut logits);
		softmax_in_place(&mut logits);
		logits.into_iter().map(f64::from).collect()
	}

	/// The log-probabilities of `bytes` from one position's representation, up to a constant
	/// they share (its logits): what copy detection compares, at a quarter of the cost of
	/// [`Probe::probabilities`] for the 64 likeliest bytes.
	pub fn log_odds(&self, representation: &[f32], bytes: &[u8]) -> Vec<f64> {
		self.logits_of(&unit(representation), bytes.iter().map(|byte| usize::from(*byte)))
			.into_iter()
			.map(f64::from)
			.collect()
	}

	/// One stochastic gradient step of the cross-entropy per `(representation, next byte)`
	/// sample, at `rate`; returns the mean cross-entropy (nats) before each step.
	///
	/// Each step reads every weight twice, to update it and then to take the next sample's
	/// logits; both happen in one pass over the rows (a block of four is updated and, while it is
	/// in cache, dotted with the next input), which gives exactly the numbers of two passes.
	pub fn train<'a>(
		&mut self,
		samples: impl IntoIterator<Item = (&'a [f32], u8)>,
		rate: f32,
	) -> f64 {
		let mut samples = samples.into_iter();
		let Some((first, mut target)) = samples.next() else { return 0.0 };
		// The sample's input and probabilities, and the next one's, reused by every step.
		let (mut input, mut next_input) =
			(Vec::with_capacity(REPRESENTATION_DIM), Vec::with_capacity(REPRESENTATION_DIM));
		let (mut probabilities, mut next_logits) =
			(Vec::with_capacity(VOCAB_SIZE), Vec::with_capacity(VOCAB_SIZE));
		unit_into(first, &mut input);
		self.logits_into(&input, &mut probabilities);
		let (mut loss, mut count) = (0.0, 0usize);
		loop {
			softmax_in_place(&mut probabilities);
			let truth = probabilities.get(usize::from(target)).copied().unwrap_or(1.0);
			loss -= f64::from(truth.max(1e-12)).ln();
			count += 1;
			let next = samples.next();
			if let Some((representation, _)) = next {
				unit_into(representation, &mut next_input);
			}
			let errors = Errors { probabilities: &probabilities, target: usize::from(target) };
			let following = next.is_some().then_some(next_input.as_slice());
			self.step_then_logits(&input, &errors, rate, following, &mut next_logits);
			let Some((_, byte)) = next else { break };
			target = byte;
			std::mem::swap(&mut input, &mut next_input);
			std::mem::swap(&mut probabilities, &mut next_logits);
		}
		loss / count as f64
	}

	/// One gradient step on `input` with its `errors` at `rate`; with a `next` input, its
	/// logits under the updated weights, written into `logits`.
	fn step_then_logits(
		&mut self,
		input: &[f32],
		errors: &Errors,
		rate: f32,
		next: Option<&[f32]>,
		logits: &mut Vec<f32>,
	) {
		logits.clear();
		let update = |class: usize, row: &mut [f32], bias: &mut f32| {
			let error = errors.of(class);
			// Classes the probe already rules out barely move: skip their update.
			if error.abs() < SKIPPED_ERROR {
				return;
			}
			let step = rate * error;
			row.iter_mut().zip(input).for_each(|(w, x)| *w -= step * x);
			*bias -= step;
		};
		let mut blocks = self.weights.chunks_exact_mut(4 * REPRESENTATION_DIM);
		let mut bias_blocks = self.bias.chunks_exact_mut(4);
		for (block, (weights, biases)) in blocks.by_ref().zip(bias_blocks.by_ref()).enumerate() {
			let mut rows = weights.chunks_exact_mut(REPRESENTATION_DIM);
			for (offset, (row, bias)) in rows.by_ref().zip(biases.iter_mut()).enumerate() {
				update(4 * block + offset, row, bias);
			}
			let Some(next) = next else { continue };
			let mut rows = weights.chunks_exact(REPRESENTATION_DIM);
			if let (Some(a), Some(b), Some(c), Some(d)) =
				(rows.next(), rows.next(), rows.next(), rows.next())
			{
				logits.extend(
					dots([a, b, c, d], next)
						.into_iter()
						.zip(biases.iter())
						.map(|(dot, bias)| dot + bias),
				);
			}
		}
		let first_rest = 4 * (VOCAB_SIZE / 4);
		let rows = blocks.into_remainder().chunks_exact_mut(REPRESENTATION_DIM);
		for (offset, (row, bias)) in rows.zip(bias_blocks.into_remainder()).enumerate() {
			update(first_rest + offset, row, bias);
			if let Some(next) = next {
				logits.push(dot(row, next) + *bias);
			}
		}
	}
}

/// The errors of one sample's probabilities against its next byte: the cross-entropy's
/// gradient with respect to each class's logit.
struct Errors<'a> {
	probabilities: &'a [f32],
	target: usize,
}

impl Errors<'_> {
	/// The error of `class`.
	fn of(&self, class: usize) -> f32 {
		let p = self.probabilities.get(class).copied().unwrap_or(0.0);
		if class == self.target {
			p - 1.0
		} else {
			p
		}
	}
}

/// Softmax of `logits`, in place.
fn softmax_in_place(logits: &mut [f32]) {
	let top = logits.iter().copied().fold(f32::MIN, f32::max);
	logits.iter_mut().for_each(|l| *l = (*l - top).exp());
	let total: f32 = logits.iter().sum();
	logits.iter_mut().for_each(|e| *e /= total);
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

	/// One sample's step as two passes over the weights: its probabilities, then the update.
	fn two_pass_step(probe: &mut Probe, representation: &[f32], byte: u8, rate: f32) {
		let probabilities: Vec<f32> =
			probe.probabilities(representation).into_iter().map(|p| p as f32).collect();
		let errors = Errors { probabilities: &probabilities, target: usize::from(byte) };
		let input = unit(representation);
		for class in 0..VOCAB_SIZE {
			let error = errors.of(class);
			if error.abs() < SKIPPED_ERROR {
				continue;
			}
			let row = &mut probe.weights[class * REPRESENTATION_DIM..][..REPRESENTATION_DIM];
			row.iter_mut().zip(&input).for_each(|(w, x)| *w -= rate * error * x);
			probe.bias[class] -= rate * error;
		}
	}

	#[test]
	fn one_pass_training_gives_exactly_the_two_pass_numbers() {
		let uniform = vec![1.0 / VOCAB_SIZE as f64; VOCAB_SIZE];
		let (mut fused, mut reference) = (Probe::new(&uniform), Probe::new(&uniform));
		let mut rng = Rng::new(4);
		let inputs: Vec<(Vec<f32>, u8)> = (0..60)
			.map(|i| {
				let byte = rng.below(40) as u8;
				let noisy: Vec<f32> = code(byte, 3)
					.iter()
					.map(|v| v + (rng.below(100) as f32 - 50.0) / 80.0)
					.collect();
				(noisy, if i % 7 == 0 { 255 } else { byte })
			})
			.collect();
		for round in 0..3 {
			fused.train(inputs.iter().map(|(x, byte)| (x.as_slice(), *byte)), 0.5);
			for (x, byte) in &inputs {
				two_pass_step(&mut reference, x, *byte, 0.5);
			}
			assert!(fused == reference, "round {round}: {fused:?} against {reference:?}");
		}
		assert_eq!(fused.train(std::iter::empty(), 0.5), 0.0, "no samples, no step");
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
