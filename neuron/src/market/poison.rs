//! What a poisoner does to the neurons that train on it. Validators can refuse to pay it, but a
//! neuron's trainer joins whatever its gate chooses; so the study trains one honest neuron twice
//! from the same pre-trained start, on the same batches, among the market's honest peers: once
//! with the poisoner among them, once without. Its held-out loss must come out the same, and
//! every loss on the way finite.

use burn::prelude::Device;

use super::{
	config::{MarketConfig, MarketError},
	fixtures::{market_nucleus, Peer},
};
use crate::{
	data::{
		corpus::{Batch, Corpus, DEFAULT_BATCH_SHAPE},
		rng::Rng,
	},
	net::{protocol::REPRESENTATION_DIM, served_model::Model},
	nucleus::{serving::Serving, RemoteAnswers, Trainer},
};

/// Training steps of each of the two runs.
pub const STUDY_STEPS: u64 = 40;

/// Held-out batches the two runs are evaluated on.
const HELD_OUT_BATCHES: usize = 8;

/// What the study measured.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct PoisonOutcome {
	/// Held-out loss (the worse of the local and the student head, nats per byte) after
	/// training with the poisoner among the peers.
	pub with_poison: f64,
	/// The same, without it.
	pub without_poison: f64,
	/// Whether every loss of both runs was finite.
	pub finite: bool,
	/// Steps in which the gate chose the poisoner.
	pub poisoner_chosen: u64,
}

impl PoisonOutcome {
	/// How much worse the poisoner left the neuron's held-out loss (nats per byte); infinite
	/// when a loss was not finite.
	pub fn harm(&self) -> f64 {
		if self.finite {
			self.with_poison - self.without_poison
		} else {
			f64::INFINITY
		}
	}
}

/// Runs the study on the market's `peers` (the honest ones are the first `config.honest`;
/// `None` when the market has no poisoner), training on `text`.
pub(super) fn study(
	config: &MarketConfig,
	peers: &[Peer],
	text: &Corpus,
) -> Result<Option<PoisonOutcome>, MarketError> {
	let Some(poisoner) = peers.iter().position(|peer| peer.serving == Serving::Poison) else {
		return Ok(None);
	};
	let honest: Vec<usize> = (0..config.honest.min(peers.len())).collect();
	let with: Vec<usize> = honest.iter().copied().chain([poisoner]).collect();
	let (with_poison, finite_with, chosen) = train(config, peers, &with, poisoner, text)?;
	let (without_poison, finite_without, _) = train(config, peers, &honest, poisoner, text)?;
	Ok(Some(PoisonOutcome {
		with_poison,
		without_poison,
		finite: finite_with && finite_without,
		poisoner_chosen: chosen,
	}))
}

/// Trains a neuron from honest peer 0's cached model [`STUDY_STEPS`] steps among `candidates`
/// (uids of `peers`); returns its held-out loss, whether every loss was finite, and how often
/// it chose `poisoner`.
fn train(
	config: &MarketConfig,
	peers: &[Peer],
	candidates: &[usize],
	poisoner: usize,
	text: &Corpus,
) -> Result<(f64, bool, u64), MarketError> {
	let mut trainer = Trainer::new(market_nucleus(), &Device::flex(), 4242);
	let start = super::fixtures::honest_cache_dir(config, 0);
	trainer
		.load(&start)
		.map_err(|source| MarketError::Cache { path: start.clone(), source })?;
	let (rows, seq) = DEFAULT_BATCH_SHAPE;
	let mut rng = Rng::new(config.seed ^ 0x9015);
	let (mut finite, mut chosen_poisoner) = (true, 0);
	for _ in 0..STUDY_STEPS {
		let batch = Batch::sample(&text.train, rows, seq, &mut rng);
		let pending = trainer.begin(&batch, candidates);
		let chosen: Vec<usize> =
			pending.chosen.iter().filter_map(|i| candidates.get(*i).copied()).collect();
		chosen_poisoner += u64::from(chosen.contains(&poisoner));
		let results: Vec<Option<Vec<f32>>> = chosen
			.iter()
			.map(|uid| {
				let model = &peers.get(*uid)?.model as &dyn Model;
				model.forward(&batch.inputs, rows, seq).ok()
			})
			.collect();
		let answers = RemoteAnswers {
			masked: results.iter().map(Option::is_none).collect(),
			representations: results
				.into_iter()
				.map(|answer| {
					answer.unwrap_or_else(|| vec![0.0; batch.inputs.len() * REPRESENTATION_DIM])
				})
				.collect(),
		};
		let report = trainer.finish(pending, Some(&answers));
		let losses = [Some(report.local_loss), report.network_loss, Some(report.student_loss)];
		finite &= losses.iter().flatten().all(|loss| loss.is_finite());
	}
	let held_out = Batch::consecutive(&text.held_out, rows, seq, HELD_OUT_BATCHES);
	let evaluation = trainer.evaluate(&held_out);
	finite &= evaluation.local_loss.is_finite() && evaluation.student_loss.is_finite();
	let loss = f64::from(evaluation.local_loss.max(evaluation.student_loss));
	Ok((loss, finite, chosen_poisoner))
}
