//! The market's peers: honest ones, pre-trained on different slices of the peers' documents
//! (cached, so that a second run starts at once) and the same for every seed, beside every
//! adversary of [`MODES`] that the benchmark runs. The corpus is split by document
//! ([`DocumentSplit`]): the validators' documents are in no peer's copy, so that what a
//! memorizer can look up (every document the peers have, whole) is no help with them.

use std::{path::PathBuf, sync::Arc, time::Instant};

use burn::prelude::Device;

use super::config::{MarketConfig, MarketError};
use crate::{
	data::{
		corpus::{Batch, Corpus, DocumentSplit},
		rng::Rng,
	},
	nucleus::{
		serving::{ServedNucleus, Serving, MODES},
		Encoder, NucleusConfig, Trainer,
	},
};

/// Bytes per row and rows per batch when pre-training.
const PRETRAIN_BATCH: (usize, usize) = (8, 32);

/// The honest peer whose model a replayer replays.
const REPLAYED: usize = 3;

/// A peer of the market.
pub struct Peer {
	/// `honest<index>`, or what it serves.
	pub name: String,
	/// How it serves.
	pub serving: Serving,
	/// What it answers with.
	pub model: ServedNucleus,
}

/// The honest peers' model: one layer, so that pre-training them is quick.
pub(super) fn market_nucleus() -> NucleusConfig {
	NucleusConfig {
		layers: 1,
		feed_forward: 512,
		context: 64,
		gate_width: 16,
		..NucleusConfig::new()
	}
}

/// Where honest peer `index`'s pre-trained model is cached.
pub(super) fn honest_cache_dir(config: &MarketConfig, index: usize) -> PathBuf {
	let nucleus = market_nucleus();
	config.cache.join(format!(
		"honest-{index}-of-{}-peer-documents-steps-{}-layers-{}-ff-{}",
		config.honest, config.pretrain_steps, nucleus.layers, nucleus.feed_forward
	))
}

/// Loads honest peer `index`'s cached encoder, or trains and caches it on its slice of the
/// peers' documents.
fn honest_encoder(
	config: &MarketConfig,
	split: &DocumentSplit,
	index: usize,
) -> Result<Encoder, MarketError> {
	let mut trainer = Trainer::new(market_nucleus(), &Device::flex(), 1000 + index as u64);
	let dir = honest_cache_dir(config, index);
	if !(dir.join("model.bpk").exists() && trainer.load(&dir).is_ok()) {
		let corpus = Corpus::slice(&split.peers, index, config.honest)
			.ok_or(MarketError::TooFewDocuments { honest: config.honest })?;
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
		std::fs::create_dir_all(&dir).map_err(MarketError::io(&dir))?;
		trainer
			.save(&dir)
			.map_err(|source| MarketError::Cache { path: dir.clone(), source })?;
	}
	Ok(trainer.model.encoder)
}

/// The market's peers: the honest ones (uids from 0), then the adversaries each mode lists
/// ([`Mode::benchmarked`](crate::nucleus::serving::Mode::benchmarked)): an echo or a valonly
/// copies the honest peer its uid names, a replayer replays honest peer [`REPLAYED`]'s model,
/// the memorizer looks rows up in every document of the peers, whole, and the baseline in
/// their training text.
pub fn peers(config: &MarketConfig, split: &DocumentSplit) -> Result<Vec<Peer>, MarketError> {
	let context = market_nucleus().context;
	let mut peers = Vec::new();
	let mut encoders = Vec::new();
	for index in 0..config.honest {
		let encoder = honest_encoder(config, split, index)?;
		let model = ServedNucleus::new(Serving::Model, context, None, index as u64);
		model.publish(&encoder);
		encoders.push(encoder);
		peers.push(Peer { name: format!("honest{index}"), serving: Serving::Model, model });
	}
	let adversaries = MODES.iter().flat_map(|mode| mode.benchmarked.iter().copied());
	for (index, serving) in adversaries.enumerate() {
		let seed = config.seed ^ ((index as u64 + 1) << 8);
		let model = ServedNucleus::new(serving, context, None, seed);
		// Only a replayer runs the model it is given.
		if let Some(encoder) = encoders.get(REPLAYED % encoders.len().max(1)) {
			model.publish(encoder);
		}
		if let Some(copied) = serving.upstream().and_then(|uid| peers.get(usize::from(uid))) {
			model.set_upstream(Arc::new(copied.model.clone()));
		}
		match serving {
			Serving::Memorizer => model.set_lookup_text(split.peer_text()),
			Serving::Baseline => {
				let training = Corpus::slice(&split.peers, 0, 1).map(|corpus| corpus.train);
				model.set_lookup_text(training.unwrap_or_default());
			},
			_ => {},
		}
		peers.push(Peer { name: serving.to_string(), serving, model });
	}
	Ok(peers)
}
