//! `neuron run`: one neuron's whole life. It serves its nucleus on the axon, trains on its
//! slice of the corpus while querying the peers the gate chooses, validates the peers apart
//! from training (a query per step, in a random cycle, on rows they cannot cheat on: see
//! [`crate::scoring`]), sets weights on chain every few blocks, checkpoints, and prints its
//! progress. Gradients go both ways only when the operator opts in (`--backward`). Offline it
//! trains alone on the distilled model.
//!
//! Training runs on a blocking thread (`train`) and the chain on the async runtime
//! (`chain_loop`), sharing only a few locks, so that neither waits on the other; the weights'
//! decisions are a pure machine ([`scheduler`]) that the chain loop feeds, going online
//! ([`online`]) is shared with `neuron serve`, and saving and resuming is [`checkpoint`].

use std::{
	net::SocketAddr,
	path::PathBuf,
	sync::{
		atomic::{AtomicBool, Ordering},
		Arc, Mutex, RwLock,
	},
	time::Duration,
};

use bittensor_primitives::json::{address, MetagraphJson};
use burn::{prelude::Device, store::RecordError};
use sp_core::{crypto::AccountId32, sr25519, Pair};

use crate::{
	chain::{ChainError, NotOwner},
	data::corpus::{Batch, Corpus},
	net::dendrite::{Dendrite, PeerEndpoint, RemotePeer},
	nucleus::{
		serving::{ServedNucleus, Serving},
		NucleusConfig, Trainer,
	},
	scoring::{Validator, ValidatorConfig},
	sync::{lock, read, write},
};

mod chain_loop;
pub mod checkpoint;
pub mod online;
pub mod schedule;
pub mod scheduler;
mod train;

pub use checkpoint::{load_checkpoint, save_checkpoint, Checkpoint};
use online::Online;

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
	/// Talking to the chain failed.
	#[error(transparent)]
	Chain(#[from] ChainError),
	/// The hotkey is registered to another coldkey.
	#[error(transparent)]
	NotOwner(#[from] NotOwner),
	/// The hotkey is not in the metagraph.
	#[error("{0} is not registered: run `neuron register` first")]
	NotRegistered(String),
	/// The axon cannot listen where it was told to.
	#[error("cannot listen on {address}: {source}")]
	Listen {
		/// The address.
		address: SocketAddr,
		/// Why not.
		source: std::io::Error,
	},
	/// A checkpoint file could not be read or written.
	#[error("checkpoint {path}: {source}")]
	CheckpointFile {
		/// The file or directory.
		path: PathBuf,
		/// Why.
		source: std::io::Error,
	},
	/// The model or its optimizers could not be saved or loaded.
	#[error("checkpoint {path}: {source}")]
	CheckpointModel {
		/// The checkpoint directory.
		path: PathBuf,
		/// Why.
		source: RecordError,
	},
	/// The checkpoint holds a model of another shape than the one configured.
	#[error(
		"checkpoint {path} holds a model of another shape: saved {saved}, configured {configured}"
	)]
	CheckpointShape {
		/// The checkpoint directory.
		path: PathBuf,
		/// The saved model's configuration.
		saved: Box<NucleusConfig>,
		/// This run's.
		configured: Box<NucleusConfig>,
	},
	/// The checkpoint's state file is not what this neuron writes.
	#[error("checkpoint {path}: {source}")]
	CheckpointState {
		/// The state file.
		path: PathBuf,
		/// Why.
		source: serde_json::Error,
	},
	/// The training thread panicked.
	#[error("the training thread failed: {0}")]
	TrainingThread(#[from] tokio::task::JoinError),
	/// The axon's server failed.
	#[error("the axon failed: {0}")]
	Axon(#[from] tonic::transport::Error),
}

/// Version of the wire protocol this neuron speaks, published with its endpoint.
pub const PROTOCOL_VERSION: u32 = 1;

/// Everything `neuron run` needs.
#[derive(Debug, Clone)]
pub struct RunConfig {
	/// The node's WebSocket RPC endpoint; `None` trains offline.
	pub url: Option<String>,
	/// The wallet's coldkey, which must own the hotkey on chain; `None` skips the check (a
	/// wallet of hotkeys only).
	pub coldkey: Option<AccountId32>,
	/// Where the axon listens.
	pub listen: SocketAddr,
	/// Where peers reach it, as published on chain.
	pub external: SocketAddr,
	/// The text to learn from.
	pub corpus: Corpus,
	/// The text the validator scores peers on (`--challenge-corpus`).
	pub challenges: Vec<u8>,
	/// The text a memorizer or a baseline looks rows up in; `None` for the other modes.
	pub lookup_text: Option<Vec<u8>>,
	/// Rows per batch.
	pub batch: usize,
	/// Bytes per row.
	pub seq: usize,
	/// Seed of the parameters and of the batches.
	pub seed: u64,
	/// What the axon answers with.
	pub serving: Serving,
	/// Where checkpoints go (and are resumed from).
	pub checkpoint_dir: PathBuf,
	/// Steps between checkpoints.
	pub checkpoint_every: u64,
	/// Blocks between weight updates (at least the chain's rate limit).
	pub weights_every: u32,
	/// Stop after this many steps.
	pub max_steps: Option<u64>,
	/// Steps between held-out evaluations.
	pub eval_every: u64,
	/// Deadline of every query to a peer.
	pub query_timeout: Duration,
	/// The model's shape and learning rates.
	pub nucleus: NucleusConfig,
	/// Whether gradients go both ways: sent to the peers queried, and taken from callers (this
	/// many per second).
	pub backward: Option<f64>,
	/// How peers are validated.
	pub validation: ValidatorConfig,
	/// The compute device.
	pub device: Device,
}

/// What the neuron knows of the network, refreshed from the chain.
#[derive(Debug, Clone, Default)]
struct NetworkView {
	/// Other peers with an endpoint.
	endpoints: Vec<PeerEndpoint>,
}

impl NetworkView {
	/// The other peers of `metagraph` than `own`.
	fn from_metagraph(metagraph: &MetagraphJson, own: &AccountId32) -> Self {
		let own_address = address(own);
		let mut view = NetworkView::default();
		for neuron in metagraph.neurons.iter().filter(|n| n.hotkey != own_address) {
			let Some(axon) = &neuron.axon else { continue };
			let Ok(ip) = axon.ip.parse::<std::net::IpAddr>() else { continue };
			let Ok(hotkey) = sp_core::crypto::Ss58Codec::from_ss58check(&neuron.hotkey) else {
				continue;
			};
			view.endpoints.push(PeerEndpoint {
				uid: neuron.uid,
				hotkey,
				address: SocketAddr::new(ip, axon.port),
			});
		}
		view
	}
}

/// The state of a running neuron that its training thread and its chain loop share.
struct NeuronState {
	/// The peers to query, as the chain loop last read them.
	view: RwLock<NetworkView>,
	/// Its validation: the training thread queries and scores, the chain loop follows
	/// registrations and reads the row.
	validator: Mutex<Validator>,
	/// Set to end the run (Ctrl-C, `max_steps`).
	stop: AtomicBool,
	/// The last row that landed on chain, for the progress line.
	last_weights: Mutex<String>,
	/// uids that changed hands since the training thread last looked.
	replaced: Mutex<Vec<u16>>,
}

/// Runs a neuron until Ctrl-C or `max_steps`.
pub async fn run(config: RunConfig, hotkey: sr25519::Pair) -> Result<(), RunError> {
	let validator =
		Validator::new(config.validation.clone(), config.challenges.clone(), config.seed);
	let state = Arc::new(NeuronState {
		view: RwLock::new(NetworkView::default()),
		validator: Mutex::new(validator),
		stop: AtomicBool::new(false),
		last_weights: Mutex::new("-".into()),
		replaced: Mutex::new(Vec::new()),
	});
	let interrupted = stop_on_ctrl_c(state.clone());
	let mut trainer = Trainer::new(config.nucleus.clone(), &config.device, config.seed);
	if load_checkpoint(&mut trainer, &mut lock(&state.validator).ledger, &config.checkpoint_dir)? {
		println!("resumed from {} at step {}", config.checkpoint_dir.display(), trainer.step);
	}
	let held_out = Batch::consecutive(&config.corpus.held_out, config.batch, config.seq, 4);
	let evaluation = trainer.evaluate(&held_out);
	println!(
		"corpus: {} files, {} training bytes, {} held out; held-out loss local {:.3} student {:.3}",
		config.corpus.files.len(),
		config.corpus.train.len(),
		config.corpus.held_out.len(),
		evaluation.local_loss,
		evaluation.student_loss
	);
	let served =
		ServedNucleus::new(config.serving, config.nucleus.context, config.backward, config.seed);
	served.publish(&trainer.model.encoder);
	if let Some(text) = &config.lookup_text {
		served.set_lookup_text(text.clone());
	}
	let online = match &config.url {
		Some(url) => Some(go_online(url, &config, &hotkey, &served, &state).await?),
		None => None,
	};
	let genesis = online.as_ref().map_or([0; 32], |online| online.chain.genesis_hash());
	let dendrite = Arc::new(Dendrite::new(hotkey.clone(), genesis, config.query_timeout));
	if let Some(uid) = config.serving.upstream() {
		let view = state.clone();
		let locate = move || read(&view.view).endpoints.iter().find(|p| p.uid == uid).cloned();
		let handle = tokio::runtime::Handle::current();
		served.set_upstream(Arc::new(RemotePeer::new(dendrite.clone(), handle, locate)));
	}
	let training = {
		let (state, config, served, dendrite) =
			(state.clone(), config.clone(), served.clone(), dendrite.clone());
		let handle = tokio::runtime::Handle::current();
		let offline = online.is_none();
		tokio::task::spawn_blocking(move || {
			train::train(trainer, config, served, dendrite, state, handle, offline)
		})
	};
	// Online, the run ends with the chain loop (Ctrl-C, or `max_steps` reached); offline there
	// is no chain to follow, and training ends by itself (`max_steps`, or Ctrl-C's stop flag).
	if let Some(online) = &online {
		tokio::select! {
			_ = interrupted.notified() => {},
			_ = chain_loop::follow_chain(online, &config, &hotkey, &state, &dendrite) => {},
		}
		state.stop.store(true, Ordering::SeqCst);
	}
	let trainer = training.await?;
	finish(&trainer, &state, &config, &held_out)?;
	if let Some(online) = online {
		online.axon.shutdown().await?;
	}
	Ok(())
}

/// The one Ctrl-C listener of a run, made before anything else: it tells the training thread
/// (through `stop`) and the chain loop (through the returned notification) to end. A listener
/// made per loop iteration would lose a signal that arrives between two of them.
fn stop_on_ctrl_c(state: Arc<NeuronState>) -> Arc<tokio::sync::Notify> {
	let interrupted = Arc::new(tokio::sync::Notify::new());
	let notify = interrupted.clone();
	tokio::spawn(async move {
		if tokio::signal::ctrl_c().await.is_ok() {
			println!("stopping: finishing the step and saving a checkpoint");
			state.stop.store(true, Ordering::SeqCst);
			notify.notify_one();
		}
	});
	interrupted
}

/// Goes online (see [`Online::connect`]) serving `served`, with the network view of the
/// metagraph it read.
async fn go_online(
	url: &str,
	config: &RunConfig,
	hotkey: &sr25519::Pair,
	served: &ServedNucleus,
	state: &NeuronState,
) -> Result<Online, RunError> {
	let (listen, external, coldkey) = (config.listen, config.external, config.coldkey.as_ref());
	let (online, metagraph) =
		Online::connect(url, hotkey, coldkey, listen, external, |_| served.clone()).await?;
	let account = AccountId32::from(hotkey.public());
	*write(&state.view) = NetworkView::from_metagraph(&metagraph, &account);
	Ok(online)
}

/// Saves the last checkpoint and prints the held-out losses.
fn finish(
	trainer: &Trainer,
	state: &NeuronState,
	config: &RunConfig,
	held_out: &[Batch],
) -> Result<(), RunError> {
	let ledger = lock(&state.validator).ledger.clone();
	save_checkpoint(trainer, ledger, &config.checkpoint_dir)?;
	let evaluation = trainer.evaluate(held_out);
	println!(
		"stopped at step {}; held-out loss local {:.3} student {:.3}; checkpoint in {}",
		trainer.step,
		evaluation.local_loss,
		evaluation.student_loss,
		config.checkpoint_dir.display()
	);
	Ok(())
}
