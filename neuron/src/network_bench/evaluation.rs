//! Scoring on every domain's held-out text, which no neuron trains on: per model, a loss per
//! batch (so that two models' losses pair batch by batch, [`super::stats`]), by domain.

use serde::Serialize;

use super::ngram::NGram;
use crate::{
	data::{corpus::Batch, domains::Domain},
	nucleus::{
		mixture::{cross_entropy, mix},
		Trainer,
	},
};

/// `count` batches of `batch` rows of `seq` bytes from `text`, the rows' starts evenly spaced
/// over the whole text, so that a few batches sample all of it rather than its first
/// document.
pub fn spread(text: &[u8], batch: usize, seq: usize, count: usize) -> Vec<Batch> {
	let rows = batch * count;
	let stride = text.len().saturating_sub(seq + 1) / rows.max(1);
	let window = |row: usize| &text[row * stride..row * stride + seq + 1];
	(0..count)
		.map(|b| {
			let rows = (b * batch..(b + 1) * batch).map(window);
			let (mut inputs, mut targets) = (Vec::new(), Vec::new());
			for window in rows {
				inputs.extend(window[..seq].iter().map(|byte| i64::from(*byte)));
				targets.extend(window[1..].iter().map(|byte| i64::from(*byte)));
			}
			Batch { inputs, targets, batch, seq }
		})
		.collect()
}

/// The held-out batches of every domain, in the domains' order.
pub struct HeldOut {
	/// Per domain, its batches.
	pub domains: Vec<Vec<Batch>>,
}

impl HeldOut {
	/// `count` batches of each domain's held-out text.
	pub fn of(domains: &[Domain], batch: usize, seq: usize, count: usize) -> Self {
		Self { domains: domains.iter().map(|d| spread(&d.held_out, batch, seq, count)).collect() }
	}
}

/// A model's loss on every held-out batch, by domain (nats per byte).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Losses {
	/// Per domain, per batch.
	pub per_domain: Vec<Vec<f64>>,
}

impl Losses {
	/// Every batch's loss, domain after domain: the union of the held-out text.
	pub fn union(&self) -> Vec<f64> {
		self.per_domain.concat()
	}

	/// The mean over the union (every domain has as many batches).
	pub fn union_mean(&self) -> f64 {
		mean(&self.union())
	}

	/// The mean over one domain.
	pub fn domain_mean(&self, domain: usize) -> f64 {
		self.per_domain.get(domain).map_or(f64::NAN, |losses| mean(losses))
	}

	/// The losses of `model` (its log-probabilities of a batch) on `held_out`.
	pub fn of(held_out: &HeldOut, model: impl Fn(&Batch) -> Vec<f32>) -> Self {
		Self {
			per_domain: held_out
				.domains
				.iter()
				.map(|batches| {
					batches
						.iter()
						.map(|batch| f64::from(cross_entropy(&model(batch), &batch.targets)))
						.collect()
				})
				.collect(),
		}
	}

	/// The n-gram baseline's losses on `held_out`.
	pub fn of_ngram(held_out: &HeldOut, ngram: &NGram) -> Self {
		Self {
			per_domain: held_out
				.domains
				.iter()
				.map(|batches| batches.iter().map(|batch| ngram.cross_entropy(batch)).collect())
				.collect(),
		}
	}
}

/// The mean of `values` (not a number when there are none).
pub fn mean(values: &[f64]) -> f64 {
	values.iter().sum::<f64>() / values.len() as f64
}

/// The networked neurons' models on `held_out`: each one's local and student losses, and the
/// network-joined model's (every neuron's local predictions, mixed), each local model run
/// once per batch.
pub struct NetworkLosses {
	/// Per neuron, its local model's.
	pub local: Vec<Losses>,
	/// Per neuron, its student's.
	pub student: Vec<Losses>,
	/// The mixture of every neuron's local model.
	pub network: Losses,
}

impl NetworkLosses {
	/// Scores `trainers` on `held_out`.
	pub fn of(held_out: &HeldOut, trainers: &[&Trainer]) -> Self {
		let count = trainers.len();
		let empty = || Losses { per_domain: vec![Vec::new(); held_out.domains.len()] };
		let mut local: Vec<Losses> = (0..count).map(|_| empty()).collect();
		let mut network = empty();
		for (domain, batches) in held_out.domains.iter().enumerate() {
			for batch in batches {
				let predictions: Vec<Vec<f32>> =
					trainers.iter().map(|trainer| trainer.predict(batch)).collect();
				for (losses, prediction) in local.iter_mut().zip(&predictions) {
					let loss = cross_entropy(prediction, &batch.targets);
					losses.per_domain[domain].push(f64::from(loss));
				}
				let experts: Vec<&[f32]> = predictions.iter().map(Vec::as_slice).collect();
				let mixed = mix(&experts, &batch.targets, batch.seq);
				network.per_domain[domain].push(f64::from(cross_entropy(&mixed, &batch.targets)));
			}
		}
		let student = trainers
			.iter()
			.map(|trainer| Losses::of(held_out, |batch| trainer.predict_student(batch)))
			.collect();
		Self { local, student, network }
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn spread_batches_reach_the_end_of_the_text() {
		let text: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
		let batches = spread(&text, 4, 16, 3);
		assert_eq!(batches.len(), 3);
		assert!(batches.iter().all(|b| b.inputs.len() == 64 && b.targets.len() == 64));
		let last_row_start = batches[2].inputs[3 * 16];
		let stride = (10_000 - 17) / 12;
		assert_eq!(last_row_start, i64::from((11 * stride % 251) as u8));
		// Every target is the byte after its input.
		let b = &batches[1];
		assert!(b.inputs[1..16].iter().zip(&b.targets[..15]).all(|(i, t)| i == t));
	}

	#[test]
	fn the_union_is_every_domain_in_turn() {
		let losses = Losses { per_domain: vec![vec![1.0, 3.0], vec![5.0, 7.0]] };
		assert_eq!(losses.union(), vec![1.0, 3.0, 5.0, 7.0]);
		assert_eq!(losses.union_mean(), 4.0);
		assert_eq!(losses.domain_mean(1), 6.0);
		assert!(losses.domain_mean(2).is_nan());
	}
}
