//! `neuron bench-market`: the whole market in one process, without a node, to measure whether
//! it pays for intelligence. Honest peers (nuclei pre-trained on different slices of the corpus,
//! cached) serve beside every adversary the scoring must defeat: noise, a peer that reads the
//! future, three copiers of honest peers (exact, noisy and rotated) and a replayer of stale
//! answers. Validators of different stake query them through the same [`Validator`] as
//! `neuron run`, turn their ledgers into rows with the chain's rules ([`chain_weights`]), and
//! one more validator copies the largest one's last row. Each epoch the rows go through the
//! project's own epoch ([`run_epoch`], the pallet's code), bonds carried over. A second,
//! smaller market of the honest peers alone, with rotating outages, measures what
//! commit-reveal does to the copier under each mechanism ([`copier`]). The run ends with
//! a table, a JSON report, an SVG of incentive per peer over epochs, and a verdict on the
//! thresholds of [`report::CHECKS`]; it fails when one is not met.
//!
//! Everything is seeded: the same seed gives the same run. The honest models do not depend on
//! the seed, so that a seed changes the market's randomness (challenges, noise, query order),
//! not who is honest.

use std::{
	path::{Path, PathBuf},
	sync::Arc,
	time::{Duration, Instant},
};

use bittensor_primitives::{
	epoch::{run_epoch, EpochInput, EpochParams},
	json::decimal,
	TOKEN,
};
use burn::{prelude::Device, store::RecordError};

use crate::{
	data::{
		corpus::{Batch, Corpus, CorpusError},
		rng::Rng,
	},
	net::served_model::{EmbeddingModel, Model},
	nucleus::{
		served::{Disguise, ServedNucleus, Serving},
		Encoder, NucleusConfig, RemoteAnswers, Trainer,
	},
	scoring::{chain_weights, Validator, ValidatorConfig, WeightsError},
};

pub mod copier;
pub mod report;

use report::{MarketReport, Measured, PeerReport, ValidatorReport};

/// Why the benchmark could not run, or failed.
#[derive(Debug, thiserror::Error)]
pub enum MarketError {
	/// The corpus could not be read.
	#[error(transparent)]
	Corpus(#[from] CorpusError),
	/// A cached honest model could not be written.
	#[error("cached model {path}: {source}")]
	Cache {
		/// Its directory.
		path: PathBuf,
		/// Why.
		source: RecordError,
	},
	/// A result file could not be written.
	#[error("{path}: {source}")]
	Io {
		/// The file.
		path: PathBuf,
		/// Why.
		source: std::io::Error,
	},
	/// A validator's scores make no row the chain accepts.
	#[error(transparent)]
	Weights(#[from] WeightsError),
	/// At least one threshold was not met.
	#[error("{failed} of the market's checks failed (see the table above and {report})")]
	ChecksFailed {
		/// How many.
		failed: usize,
		/// The JSON report.
		report: PathBuf,
	},
}

/// How to run the benchmark.
#[derive(Debug, Clone)]
pub struct MarketConfig {
	/// The corpus directory.
	pub corpus: PathBuf,
	/// Where pre-trained honest models are cached.
	pub cache: PathBuf,
	/// Where the report and chart go.
	pub out: PathBuf,
	/// The market's randomness.
	pub seed: u64,
	/// Epochs (at least 10).
	pub epochs: usize,
	/// Validation queries each validator makes per epoch.
	pub queries_per_epoch: usize,
	/// Honest peers, each trained on its own slice of the corpus.
	pub honest: usize,
	/// Training steps of each honest peer.
	pub pretrain_steps: u64,
}

/// The honest peers' model: one layer, so that pre-training them is quick.
fn market_nucleus() -> NucleusConfig {
	NucleusConfig {
		layers: 1,
		feed_forward: 512,
		context: 64,
		gate_width: 16,
		..NucleusConfig::new()
	}
}

/// Bytes per row and rows per batch when pre-training.
const PRETRAIN_BATCH: (usize, usize) = (8, 32);

/// The validators: name and stake in TAO. The last one copies the first one's weights.
const VALIDATORS: [(&str, u64); 4] = [("v0", 100), ("v1", 60), ("v2", 30), ("copier", 40)];

/// A peer of the market.
struct Peer {
	name: String,
	serving: Serving,
	model: ServedNucleus,
}

/// Loads honest peer `index`'s cached encoder, or trains and caches it.
fn honest_encoder(config: &MarketConfig, index: usize) -> Result<Encoder, MarketError> {
	let nucleus = market_nucleus();
	let mut trainer = Trainer::new(nucleus.clone(), &Device::flex(), 1000 + index as u64);
	let dir = config.cache.join(format!(
		"honest-{index}-of-{}-steps-{}-layers-{}-ff-{}",
		config.honest, config.pretrain_steps, nucleus.layers, nucleus.feed_forward
	));
	if !(dir.join("model.bpk").exists() && trainer.load(&dir).is_ok()) {
		let corpus = Corpus::load(&config.corpus, index, config.honest)?;
		let mut rng = Rng::new(index as u64);
		let started = Instant::now();
		let (rows, seq) = PRETRAIN_BATCH;
		for step in 1..=config.pretrain_steps {
			let report = trainer.step_offline(&Batch::sample(&corpus.train, rows, seq, &mut rng));
			if step % 50 == 0 || step == config.pretrain_steps {
				println!(
					"[market] pre-training honest peer {index}: step {step}/{}, loss {:.3}, {:.0} s",
					config.pretrain_steps,
					report.local_loss,
					started.elapsed().as_secs_f64()
				);
			}
		}
		std::fs::create_dir_all(&dir)
			.map_err(|source| MarketError::Io { path: dir.clone(), source })?;
		trainer
			.save(&dir)
			.map_err(|source| MarketError::Cache { path: dir.clone(), source })?;
	}
	Ok(trainer.model.encoder)
}

/// The market's peers: the honest ones, then noise, leak, the three echoes of honest peers
/// 0, 1 and 2, and a replayer of honest peer 3's model.
fn peers(config: &MarketConfig) -> Result<Vec<Peer>, MarketError> {
	let context = market_nucleus().context;
	let mut peers = Vec::new();
	let mut encoders = Vec::new();
	for index in 0..config.honest {
		let encoder = honest_encoder(config, index)?;
		let model = ServedNucleus::new(Serving::Model, context, None, index as u64);
		model.publish(&encoder);
		encoders.push(encoder);
		peers.push(Peer { name: format!("honest{index}"), serving: Serving::Model, model });
	}
	let seed = config.seed;
	let adversaries = [
		Serving::Noise,
		Serving::Leak,
		Serving::Echo { uid: 0, disguise: Disguise::Exact },
		Serving::Echo { uid: 1, disguise: Disguise::Noisy },
		Serving::Echo { uid: 2, disguise: Disguise::Rotated },
		Serving::Replay,
	];
	for (index, serving) in adversaries.into_iter().enumerate() {
		let model = ServedNucleus::new(serving, context, None, seed ^ (index as u64 + 1) << 8);
		match serving {
			Serving::Echo { uid, .. } => {
				let copied = peers.get(usize::from(uid)).map(|peer| peer.model.clone());
				if let Some(copied) = copied {
					model.set_upstream(Arc::new(copied));
				}
			},
			Serving::Replay => {
				if let Some(encoder) = encoders.get(3 % encoders.len().max(1)) {
					model.publish(encoder);
				}
			},
			_ => {},
		}
		peers.push(Peer { name: serving.to_string(), serving, model });
	}
	Ok(peers)
}

/// Median of `durations`, in seconds.
fn median_seconds(durations: &mut [Duration]) -> f64 {
	durations.sort_unstable();
	durations.get(durations.len() / 2).map_or(0.0, Duration::as_secs_f64)
}

/// The training step `neuron run` takes by default (batch 8 × 64, the default nucleus, four
/// peers joined), timed in short bursts between epochs, so that it sees the same machine as
/// the scoring and runs warm, back to back, as in `neuron run`.
struct StepClock {
	trainer: Trainer,
	peers: Vec<EmbeddingModel>,
	rng: Rng,
	times: Vec<Duration>,
}

impl StepClock {
	/// A default nucleus.
	fn new() -> Self {
		Self {
			trainer: Trainer::new(NucleusConfig::default(), &Device::flex(), 7),
			peers: (0..4).map(EmbeddingModel::new).collect(),
			rng: Rng::new(7),
			times: Vec::new(),
		}
	}

	/// Three steps on batches of `text`, back to back; the last two are timed.
	fn burst(&mut self, text: &[u8]) {
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

/// Runs the benchmark; returns its report (also written under `out`), or the failed checks.
pub fn run(config: &MarketConfig) -> Result<MarketReport, MarketError> {
	let started = Instant::now();
	std::fs::create_dir_all(&config.out)
		.map_err(|source| MarketError::Io { path: config.out.clone(), source })?;
	let peers = peers(config)?;
	// The validators' rows come from text no peer trained on: the held-out end of every play.
	let text = Corpus::load(&config.corpus, 0, 1)?;
	let honest_validators = VALIDATORS.len() - 1;
	let mut validators: Vec<Validator> = (0..honest_validators)
		.map(|v| {
			let seed = config.seed.wrapping_mul(31).wrapping_add(v as u64);
			Validator::new(ValidatorConfig::default(), text.held_out.clone(), seed)
		})
		.collect();
	let peer_uids: Vec<u16> = (0..peers.len() as u16).collect();
	let n = peers.len() + VALIDATORS.len();
	let validator_uid = |v: usize| (peers.len() + v) as u16;
	let mut stake = vec![0u64; peers.len()];
	stake.extend(VALIDATORS.iter().map(|(_, tao)| tao * TOKEN));
	let active = vec![true; n];
	let mut bonds = vec![Vec::new(); n];
	let mut last_rows: Vec<Vec<(u16, u16)>> = vec![Vec::new(); n];
	let mut incentive = vec![Vec::new(); peers.len()];
	let mut dividends = vec![Vec::new(); VALIDATORS.len()];
	let mut scoring_times = Vec::new();
	let mut clock = StepClock::new();
	for epoch in 0..config.epochs {
		clock.burst(&text.train);
		for validator in validators.iter_mut() {
			for _ in 0..config.queries_per_epoch {
				let Some(query) = validator.next_query(&peer_uids) else { continue };
				let answers = query
					.ask(|uid| peers.get(usize::from(uid)).map(|peer| &peer.model as &dyn Model));
				let scoring = Instant::now();
				validator.score(&query, &answers);
				scoring_times.push(scoring.elapsed());
			}
		}
		let mut rows: Vec<Vec<(u16, u16)>> = vec![Vec::new(); n];
		for (v, validator) in validators.iter().enumerate() {
			let scores = validator.ledger.scores();
			let others: Vec<(u16, f64)> = peer_uids
				.iter()
				.map(|uid| (*uid, scores.get(uid).copied().unwrap_or(0.0)))
				.collect();
			if others.iter().any(|(_, score)| *score > 0.0) {
				if let Some(row) = rows.get_mut(usize::from(validator_uid(v))) {
					*row = chain_weights(&others, 1, 1.0)?;
				}
			}
		}
		// The copier sets what the largest validator set last epoch.
		let copied = last_rows.get(usize::from(validator_uid(0))).cloned().unwrap_or_default();
		if let Some(row) = rows.get_mut(usize::from(validator_uid(honest_validators))) {
			*row = copied;
		}
		let output = run_epoch(
			&EpochParams::default(),
			&EpochInput {
				stake: &stake,
				active: &active,
				weights: &rows,
				bonds: &bonds,
				emission: TOKEN,
			},
		);
		bonds = output.bonds.clone();
		last_rows = rows;
		for (uid, series) in incentive.iter_mut().enumerate() {
			series.push(output.incentive.get(uid).copied().map_or(0.0, decimal));
		}
		for (v, series) in dividends.iter_mut().enumerate() {
			let uid = usize::from(validator_uid(v));
			series.push(output.dividends.get(uid).copied().map_or(0.0, decimal));
		}
		let line: Vec<String> = peers
			.iter()
			.zip(&incentive)
			.map(|(peer, series)| {
				format!("{} {:.3}", peer.name, series.last().copied().unwrap_or(0.0))
			})
			.collect();
		println!("[market] epoch {}/{}: incentive {}", epoch + 1, config.epochs, line.join(", "));
	}
	let step_seconds = median_seconds(&mut clock.times);
	let peer_reports: Vec<PeerReport> = peers
		.iter()
		.zip(incentive)
		.enumerate()
		.map(|(uid, (peer, incentive))| PeerReport {
			uid: uid as u16,
			name: peer.name.clone(),
			serving: peer.serving.to_string(),
			flagged_by: validators.iter().filter(|v| v.ledger.flagged(uid as u16)).count(),
			incentive,
		})
		.collect();
	let validator_reports: Vec<ValidatorReport> = VALIDATORS
		.iter()
		.zip(dividends)
		.enumerate()
		.map(|(v, ((name, stake), dividends))| ValidatorReport {
			uid: validator_uid(v),
			name: name.to_string(),
			stake_tao: *stake,
			dividends,
		})
		.collect();
	let honest_similarity = validators
		.iter()
		.flat_map(|v| v.ledger.similarity.iter())
		.filter(|((a, b), _)| usize::from(*a) < config.honest && usize::from(*b) < config.honest)
		.map(|(_, similarity)| *similarity)
		.fold(0.0, f64::max);
	let copy_groups = validators.first().map(|v| v.ledger.copies()).unwrap_or_default();
	let copier = copier::study(config, &peers, &text)?;
	let measured = Measured {
		honest_validators,
		honest_similarity,
		copy_groups,
		scoring_seconds: median_seconds(&mut scoring_times),
		step_seconds,
		copier,
		seconds: started.elapsed().as_secs_f64(),
	};
	let report = MarketReport::new(config, peer_reports, validator_reports, measured);
	let path = report.write(&config.out)?;
	print!("{}", report.table());
	println!(
		"[market] report {} and chart {}",
		path.display(),
		config.out.join("incentive.svg").display()
	);
	let failed = report.checks.iter().filter(|check| !check.passed).count();
	if failed > 0 {
		return Err(MarketError::ChecksFailed { failed, report: path });
	}
	Ok(report)
}

/// Where honest models are cached by default: `~/.cache/bittensor/market`.
pub fn default_cache() -> PathBuf {
	std::env::var_os("HOME")
		.map(PathBuf::from)
		.unwrap_or_else(|| Path::new(".").to_path_buf())
		.join(".cache/bittensor/market")
}
