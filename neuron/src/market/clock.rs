//! What a training step costs, next to which the scoring's cost is judged: the step `neuron run`
//! takes by default, timed on the same machine as the scoring, between its epochs.

use std::time::{Duration, Instant};

use burn::prelude::Device;

use crate::{
	data::{corpus::Batch, rng::Rng},
	net::served_model::{EmbeddingModel, Model},
	nucleus::{NucleusConfig, RemoteAnswers, Trainer},
};

/// Median of `durations`, in seconds.
pub fn median_seconds(durations: &mut [Duration]) -> f64 {
	durations.sort_unstable();
	durations.get(durations.len() / 2).map_or(0.0, Duration::as_secs_f64)
}

/// The training step `neuron run` takes by default (batch 8 × 64, the default nucleus, four
/// peers joined), timed in short bursts between epochs, so that it sees the same machine as
/// the scoring and runs warm, back to back, as in `neuron run`.
pub struct StepClock {
	/// A default nucleus.
	trainer: Trainer,
	/// The peers it joins.
	peers: Vec<EmbeddingModel>,
	/// Its batches' randomness.
	rng: Rng,
	/// The steps timed.
	pub times: Vec<Duration>,
}

impl StepClock {
	/// A default nucleus.
	pub fn new() -> Self {
		Self {
			trainer: Trainer::new(NucleusConfig::default(), &Device::flex(), 7),
			peers: (0..4).map(EmbeddingModel::new).collect(),
			rng: Rng::new(7),
			times: Vec::new(),
		}
	}

	/// Three steps on batches of `text`, back to back; the last two are timed.
	pub fn burst(&mut self, text: &[u8]) {
		let before = self.times.len();
		for _ in 0..3 {
			self.step(text);
		}
		self.times.drain(before..=before);
	}

	/// Times one step on a batch of `text`.
	fn step(&mut self, text: &[u8]) {
		let batch = Batch::sample(text, 8, 64, &mut self.rng);
		let started = Instant::now();
		let pending = self.trainer.begin(&batch, &[0, 1, 2, 3]);
		let answers = RemoteAnswers {
			representations: pending
				.chosen
				.iter()
				.filter_map(|i| self.peers.get(*i))
				.map(|peer| peer.forward(&batch.inputs, 8, 64).unwrap_or_default())
				.collect(),
			masked: vec![false; pending.chosen.len()],
		};
		self.trainer.finish(pending, Some(&answers));
		self.times.push(started.elapsed());
	}
}
