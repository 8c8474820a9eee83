//! `neuron run`: one neuron's whole life. It serves its nucleus on the axon, trains on its
//! slice of the corpus while querying the peers the gate chooses, validates the peers apart
//! from training (a query per step, in a random cycle, on rows they cannot cheat on: see
//! [`crate::scoring`]), sets weights on chain every few blocks, checkpoints, and prints its
//! progress. Gradients go both ways only when the operator opts in (`--backward`). Offline it
//! trains alone on the distilled model.

use std::{
	net::SocketAddr,
	path::{Path, PathBuf},
	sync::{
		atomic::{AtomicBool, Ordering},
		Arc, Mutex, RwLock,
	},
	time::{Duration, Instant},
};

use bittensor_primitives::json::{address, MetagraphJson};
use burn::{prelude::Device, store::RecordError};
use sp_core::{crypto::AccountId32, sr25519, Pair};

use crate::{
	chain::{check_owner, ChainClient, ChainError, NotOwner},
	data::{
		corpus::{Batch, Corpus},
		rng::Rng,
	},
	net::{
		axon::{self, AxonConfig, AxonHandle, Peers},
		dendrite::{Dendrite, PeerEndpoint, RemotePeer},
	},
	nucleus::{
		served::{ServedNucleus, Serving},
		NucleusConfig, RemoteAnswers, StepReport, Trainer,
	},
	scoring::{Ledger, Validator, ValidatorConfig},
	sync::{lock, read, write},
};

pub mod weights;

use weights::{decide, PendingReveal, RevealAction, WeightRules, WeightsDecision};

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

/// The file-error maker for `path`.
fn file_error(path: &Path) -> impl FnOnce(std::io::Error) -> RunError + '_ {
	move |source| RunError::CheckpointFile { path: path.to_path_buf(), source }
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
	own_uid: Option<u16>,
	/// Other peers with an endpoint.
	endpoints: Vec<PeerEndpoint>,
	/// Every other registered uid.
	others: Vec<u16>,
}

impl NetworkView {
	fn from_metagraph(metagraph: &MetagraphJson, own: &AccountId32) -> Self {
		let own_address = address(own);
		let own_uid = metagraph.neuron_by_hotkey(own).map(|n| n.uid);
		let mut view = NetworkView { own_uid, ..Default::default() };
		for neuron in metagraph.neurons.iter().filter(|n| n.hotkey != own_address) {
			view.others.push(neuron.uid);
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

/// What the training thread shares with the chain loop.
struct Shared {
	view: RwLock<NetworkView>,
	validator: Mutex<Validator>,
	stop: AtomicBool,
	last_weights: Mutex<String>,
	/// uids that changed hands since the training thread last looked.
	replaced: Mutex<Vec<u16>>,
}

/// Saves the model, both optimizers and the ledger under `dir` (written beside it first, then
/// moved into place, so a crash leaves the previous checkpoint whole).
pub fn save_checkpoint(trainer: &Trainer, ledger: &Ledger, dir: &Path) -> Result<(), RunError> {
	let staging = dir.with_extension("new");
	let _ = std::fs::remove_dir_all(&staging);
	std::fs::create_dir_all(&staging).map_err(file_error(&staging))?;
	trainer
		.save(&staging)
		.map_err(|source| RunError::CheckpointModel { path: staging.clone(), source })?;
	let config_file = staging.join("config.json");
	std::fs::write(&config_file, trainer.config.to_string()).map_err(file_error(&config_file))?;
	let state = serde_json::json!({ "step": trainer.step, "ledger": ledger });
	let state_file = staging.join("state.json");
	std::fs::write(&state_file, state.to_string()).map_err(file_error(&state_file))?;
	let _ = std::fs::remove_dir_all(dir);
	std::fs::rename(&staging, dir).map_err(file_error(dir))
}

/// Resumes from the checkpoint under `dir` (or the one being written beside it), if any. A
/// ledger of an older format is dropped: peers are measured afresh.
pub fn load_checkpoint(
	trainer: &mut Trainer,
	ledger: &mut Ledger,
	dir: &Path,
) -> Result<bool, RunError> {
	let dir =
		if dir.join("state.json").exists() { dir.to_path_buf() } else { dir.with_extension("new") };
	if !dir.join("state.json").exists() {
		return Ok(false);
	}
	let state_file = dir.join("state.json");
	let bytes = std::fs::read(&state_file).map_err(file_error(&state_file))?;
	let state: serde_json::Value = serde_json::from_slice(&bytes)
		.map_err(|source| RunError::CheckpointState { path: state_file.clone(), source })?;
	check_shape(&dir, &trainer.config)?;
	trainer
		.load(&dir)
		.map_err(|source| RunError::CheckpointModel { path: dir.clone(), source })?;
	trainer.step = state["step"].as_u64().unwrap_or(0);
	if let Ok(saved) = serde_json::from_value::<Ledger>(state["ledger"].clone()) {
		*ledger = saved;
	}
	Ok(true)
}

/// Refuses a checkpoint under `dir` whose saved configuration (if it has one: older
/// checkpoints do not) describes a model of another shape than `configured`.
fn check_shape(dir: &Path, configured: &NucleusConfig) -> Result<(), RunError> {
	let config_file = dir.join("config.json");
	if !config_file.exists() {
		return Ok(());
	}
	let text = std::fs::read_to_string(&config_file).map_err(file_error(&config_file))?;
	let saved: NucleusConfig = serde_json::from_str(&text)
		.map_err(|source| RunError::CheckpointState { path: config_file.clone(), source })?;
	if saved.same_shape(configured) {
		return Ok(());
	}
	Err(RunError::CheckpointShape {
		path: dir.to_path_buf(),
		saved: Box::new(saved),
		configured: Box::new(configured.clone()),
	})
}

/// One progress line.
fn progress_line(
	step: u64,
	report: &StepReport,
	tokens_per_second: f64,
	answering: (usize, usize),
	remote: usize,
	weights: &str,
) -> String {
	let network = report.network_loss.map_or("-".into(), |l| format!("{l:.3}"));
	format!(
		"step {step:>6}  loss local {:.3} network {network} student {:.3}  {tokens_per_second:>6.0} tok/s  peers {}/{} answering  grads in {remote}  weights {weights}",
		report.local_loss, report.student_loss, answering.0, answering.1
	)
}

/// The chain side of an online neuron: its connection, its axon and its uid.
struct Online {
	chain: ChainClient,
	axon: AxonHandle,
	uid: u16,
}

/// Runs a neuron until Ctrl-C or `max_steps`.
pub async fn run(config: RunConfig, hotkey: sr25519::Pair) -> Result<(), RunError> {
	let validator =
		Validator::new(config.validation.clone(), config.corpus.held_out.clone(), config.seed);
	let shared = Arc::new(Shared {
		view: RwLock::new(NetworkView::default()),
		validator: Mutex::new(validator),
		stop: AtomicBool::new(false),
		last_weights: Mutex::new("-".into()),
		replaced: Mutex::new(Vec::new()),
	});
	let interrupted = stop_on_ctrl_c(shared.clone());
	let mut trainer = Trainer::new(config.nucleus.clone(), &config.device, config.seed);
	if load_checkpoint(&mut trainer, &mut lock(&shared.validator).ledger, &config.checkpoint_dir)? {
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
	let online = match &config.url {
		Some(url) => Some(go_online(url, &config, &hotkey, &served, &shared).await?),
		None => None,
	};
	let genesis = online.as_ref().map_or([0; 32], |online| online.chain.genesis_hash());
	let dendrite = Arc::new(Dendrite::new(hotkey.clone(), genesis, config.query_timeout));
	if let Serving::Echo { uid, .. } = config.serving {
		let view = shared.clone();
		let locate = move || read(&view.view).endpoints.iter().find(|p| p.uid == uid).cloned();
		let handle = tokio::runtime::Handle::current();
		served.set_upstream(Arc::new(RemotePeer::new(dendrite.clone(), handle, locate)));
	}
	let training = {
		let (shared, config, served, dendrite) =
			(shared.clone(), config.clone(), served.clone(), dendrite.clone());
		let handle = tokio::runtime::Handle::current();
		let offline = online.is_none();
		tokio::task::spawn_blocking(move || {
			train(trainer, config, served, dendrite, shared, handle, offline)
		})
	};
	if let Some(online) = &online {
		tokio::select! {
			_ = interrupted.notified() => {},
			_ = follow_chain(online, &config, &hotkey, &shared, &dendrite) => {},
		}
	}
	shared.stop.store(true, Ordering::SeqCst);
	let trainer = training.await?;
	finish(&trainer, &shared, &config, &held_out)?;
	if let Some(online) = online {
		online.axon.shutdown().await?;
	}
	Ok(())
}

/// The one Ctrl-C listener of a run, made before anything else: it tells the training thread
/// (through `stop`) and the chain loop (through the returned notification) to end. A listener
/// made per loop iteration would lose a signal that arrives between two of them.
fn stop_on_ctrl_c(shared: Arc<Shared>) -> Arc<tokio::sync::Notify> {
	let interrupted = Arc::new(tokio::sync::Notify::new());
	let notify = interrupted.clone();
	tokio::spawn(async move {
		if tokio::signal::ctrl_c().await.is_ok() {
			println!("stopping: finishing the step and saving a checkpoint");
			shared.stop.store(true, Ordering::SeqCst);
			notify.notify_one();
		}
	});
	interrupted
}

/// Reads the metagraph, starts the axon and publishes its endpoint.
async fn go_online(
	url: &str,
	config: &RunConfig,
	hotkey: &sr25519::Pair,
	served: &ServedNucleus,
	shared: &Shared,
) -> Result<Online, RunError> {
	let account = AccountId32::from(hotkey.public());
	let chain = ChainClient::connect(url).await?;
	let metagraph = chain.metagraph_light().await?;
	if let Some(coldkey) = &config.coldkey {
		check_owner(&metagraph, &account, coldkey)?;
	}
	let view = NetworkView::from_metagraph(&metagraph, &account);
	let uid = view.own_uid.ok_or_else(|| RunError::NotRegistered(address(&account)))?;
	*write(&shared.view) = view;
	let axon = axon::serve(
		account,
		chain.genesis_hash(),
		served.clone(),
		Peers::from_metagraph(&metagraph),
		AxonConfig::default(),
		config.listen,
	)
	.await
	.map_err(|source| RunError::Listen { address: config.listen, source })?;
	chain.serve_axon(hotkey, config.external, 0, PROTOCOL_VERSION).await?;
	println!(
		"uid {uid} serving on {} (published as {}); Ctrl-C stops",
		axon.local_addr, config.external
	);
	Ok(Online { chain, axon, uid })
}

/// Every few seconds, until the run stops: reads the metagraph, updates the axon's peers, the
/// network view and the dendrite's connections, and sets weights when they are due.
async fn follow_chain(
	online: &Online,
	config: &RunConfig,
	hotkey: &sr25519::Pair,
	shared: &Shared,
	dendrite: &Dendrite,
) {
	let account = AccountId32::from(hotkey.public());
	let mut ticker = tokio::time::interval(Duration::from_secs(6));
	let mut last_set: Option<u32> = None;
	let mut permitted = None;
	let mut pending: Option<PendingReveal> = None;
	while !shared.stop.load(Ordering::SeqCst) {
		ticker.tick().await;
		let metagraph = match online.chain.metagraph_light().await {
			Ok(metagraph) => metagraph,
			Err(error) => {
				eprintln!("warning: keeping the previous metagraph: {error}");
				continue;
			},
		};
		online.axon.set_peers(Peers::from_metagraph(&metagraph));
		let view = NetworkView::from_metagraph(&metagraph, &account);
		dendrite.keep_only(&view.endpoints);
		*write(&shared.view) = view;
		let others: Vec<(u16, f64)> = {
			let mut validator = lock(&shared.validator);
			let registered = metagraph.neurons.iter().map(|n| (n.uid, n.hotkey.as_str()));
			let replaced = validator.ledger.follow_registrations(registered);
			lock(&shared.replaced).extend(replaced);
			let scores = validator.ledger.scores();
			metagraph
				.neurons
				.iter()
				.filter(|n| n.uid != online.uid)
				.map(|n| (n.uid, scores.get(&n.uid).copied().unwrap_or(0.0)))
				.collect()
		};
		// Only validator permit holders' weights count (the chain refuses the others'): say so
		// when it changes, and score on regardless, ready for when a permit comes.
		let permit = metagraph.neurons.iter().any(|n| n.uid == online.uid && n.validator_permit);
		if permitted != Some(permit) {
			permitted = Some(permit);
			match permit {
				true => println!("uid {} holds a validator permit: setting weights", online.uid),
				false => println!(
					"uid {} holds no validator permit (the {} peers with the most stake do): not \
					 setting weights",
					online.uid, metagraph.hyperparameters.max_allowed_validators
				),
			}
		}
		if !permit {
			continue;
		}
		// With commit-reveal on, a row is committed, then revealed once its window opens.
		let hyperparameters = &metagraph.hyperparameters;
		if let Some(commit) = pending.as_ref() {
			match commit.action(metagraph.block, hyperparameters.commit_reveal_period) {
				RevealAction::Wait => continue,
				RevealAction::Reveal => {
					let row: Vec<(u16, u16)> =
						commit.uids.iter().copied().zip(commit.weights.iter().copied()).collect();
					let revealed = online
						.chain
						.reveal_weights(
							hotkey,
							&commit.uids,
							&commit.weights,
							&commit.salt,
							commit.version_key,
						)
						.await;
					match revealed {
						Ok(()) => report_weights("revealed", metagraph.block, &row, shared),
						Err(error) => eprintln!("warning: revealing weights failed: {error}"),
					}
					pending = None;
					continue;
				},
				RevealAction::Expired => {
					eprintln!("warning: the weights commit expired before it was revealed");
					pending = None;
				},
			}
		}
		let rules = WeightRules::from_metagraph(&metagraph);
		match decide(&rules, &others, config.weights_every, last_set) {
			WeightsDecision::Set(row) if hyperparameters.commit_reveal_enabled => {
				pending = commit_weights(&online.chain, hotkey, &metagraph, &row).await;
				if pending.is_some() {
					last_set = Some(metagraph.block);
				}
			},
			WeightsDecision::Set(row) => {
				if set_weights(&online.chain, hotkey, &metagraph, &row, shared).await {
					last_set = Some(metagraph.block);
				}
			},
			WeightsDecision::Wait | WeightsDecision::NothingScored => {},
			WeightsDecision::Impossible(error) => eprintln!("warning: no weights set: {error}"),
		}
	}
}

/// Puts `row` on chain and reports it; says whether it landed.
async fn set_weights(
	chain: &ChainClient,
	hotkey: &sr25519::Pair,
	metagraph: &MetagraphJson,
	row: &[(u16, u16)],
	shared: &Shared,
) -> bool {
	let (uids, weights): (Vec<u16>, Vec<u16>) = row.iter().copied().unzip();
	let version = metagraph.hyperparameters.weights_version_key;
	if let Err(error) = chain.set_weights(hotkey, &uids, &weights, version).await {
		eprintln!("warning: setting weights failed: {error}");
		return false;
	}
	report_weights("set", metagraph.block, row, shared);
	true
}

/// Commits `row` with a fresh secret salt; returns what to reveal, or `None` if the commit
/// did not land.
async fn commit_weights(
	chain: &ChainClient,
	hotkey: &sr25519::Pair,
	metagraph: &MetagraphJson,
	row: &[(u16, u16)],
) -> Option<PendingReveal> {
	let mut salt = [0u8; 32];
	if let Err(error) = getrandom::getrandom(&mut salt) {
		eprintln!("warning: no randomness for a weights salt: {error}");
		return None;
	}
	let version = metagraph.hyperparameters.weights_version_key;
	let (uids, weights): (Vec<u16>, Vec<u16>) = row.iter().copied().unzip();
	match chain.commit_weights(hotkey, &uids, &weights, &salt, version).await {
		Ok(reveal_from) => {
			println!(
				"weights committed at block {}: revealed from block {reveal_from}",
				metagraph.block
			);
			Some(PendingReveal::new(row, salt, version, reveal_from))
		},
		Err(error) => {
			eprintln!("warning: committing weights failed: {error}");
			None
		},
	}
}

/// Prints a row that landed on chain (`how`: set or revealed) and keeps it for the status.
fn report_weights(how: &str, block: u32, row: &[(u16, u16)], shared: &Shared) {
	let total: f64 = row.iter().map(|(_, w)| f64::from(*w)).sum();
	let text = row
		.iter()
		.map(|(u, w)| format!("{u}:{:.2}", f64::from(*w) / total))
		.collect::<Vec<_>>()
		.join(" ");
	println!("weights {how} at block {block}: {text}");
	*lock(&shared.last_weights) = format!("#{block} [{text}]");
}

/// Saves the last checkpoint and prints the held-out losses.
fn finish(
	trainer: &Trainer,
	shared: &Shared,
	config: &RunConfig,
	held_out: &[Batch],
) -> Result<(), RunError> {
	let ledger = lock(&shared.validator).ledger.clone();
	save_checkpoint(trainer, &ledger, &config.checkpoint_dir)?;
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

/// The training loop, on a blocking thread; returns the trainer when told to stop.
fn train(
	mut trainer: Trainer,
	config: RunConfig,
	served: ServedNucleus,
	dendrite: Arc<Dendrite>,
	shared: Arc<Shared>,
	handle: tokio::runtime::Handle,
	offline: bool,
) -> Trainer {
	let mut rng = Rng::new(config.seed ^ 0x5eed);
	let held_out = Batch::consecutive(&config.corpus.held_out, config.batch, config.seq, 4);
	let mut progress = Progress::new();
	let mut steps = 0u64;
	while !shared.stop.load(Ordering::SeqCst) && config.max_steps.is_none_or(|max| steps < max) {
		let batch = Batch::sample(&config.corpus.train, config.batch, config.seq, &mut rng);
		for uid in std::mem::take(&mut *lock(&shared.replaced)) {
			trainer.forget_peer(uid);
		}
		let (report, answering) = if offline {
			(trainer.step_offline(&batch), (0, 0))
		} else {
			let backward = config.backward.is_some();
			step_with_peers(&mut trainer, &batch, &dendrite, &shared, &handle, backward)
		};
		let remote_callers = match served.take_remote_gradients(&trainer.model.encoder) {
			Some(remote) => {
				trainer.apply_remote(remote.grads);
				remote.callers
			},
			None => 0,
		};
		served.publish(&trainer.model.encoder);
		steps += 1;
		progress.record(report.tokens, remote_callers);
		if progress.due() || config.max_steps.is_some_and(|max| steps == max) {
			let weights = lock(&shared.last_weights).clone();
			println!("{}", progress.line(trainer.step, &report, answering, &weights));
		}
		evaluate_and_checkpoint(&trainer, &config, &shared, &held_out);
	}
	shared.stop.store(true, Ordering::SeqCst);
	trainer
}

/// One step with the peers the gate chooses among the unflagged ones of the network view:
/// queries them, learns from their answers and, with `backward`, sends each its gradient back
/// (without waiting). Meanwhile the next peers of the validation cycle answer a challenge,
/// which the validator scores once the step is done. Returns the step's report and how many
/// of the chosen peers answered, of how many.
fn step_with_peers(
	trainer: &mut Trainer,
	batch: &Batch,
	dendrite: &Arc<Dendrite>,
	shared: &Shared,
	handle: &tokio::runtime::Handle,
	backward: bool,
) -> (StepReport, (usize, usize)) {
	let view = read(&shared.view).clone();
	let (validation, joinable) = {
		let mut validator = lock(&shared.validator);
		let uids: Vec<u16> = view.endpoints.iter().map(|p| p.uid).collect();
		let joinable: Vec<PeerEndpoint> = view
			.endpoints
			.iter()
			.filter(|p| !validator.ledger.flagged(p.uid))
			.cloned()
			.collect();
		(validator.next_query(&uids), joinable)
	};
	let validation = validation.map(|query| {
		let peers: Vec<PeerEndpoint> = query
			.uids
			.iter()
			.filter_map(|uid| view.endpoints.iter().find(|p| p.uid == *uid).cloned())
			.collect();
		let (dendrite, challenge) = (dendrite.clone(), query.challenge.clone());
		let answers = handle.spawn(async move {
			dendrite.forward(&peers, &challenge.inputs, challenge.rows, challenge.seq).await
		});
		(query, answers)
	});
	let candidates: Vec<usize> = joinable.iter().map(|p| usize::from(p.uid)).collect();
	let pending = trainer.begin(batch, &candidates);
	let chosen: Vec<PeerEndpoint> =
		pending.chosen.iter().filter_map(|i| joinable.get(*i).cloned()).collect();
	let answers = (!chosen.is_empty()).then(|| {
		let results =
			handle.block_on(dendrite.forward(&chosen, &batch.inputs, batch.batch, batch.seq));
		RemoteAnswers { masked: results.mask(), representations: results.representations }
	});
	let answered = answers.as_ref().map_or(0, |a| a.masked.iter().filter(|m| !**m).count());
	let report = trainer.finish(pending, answers.as_ref());
	let (peers, grads): (Vec<PeerEndpoint>, Vec<Vec<f32>>) = chosen
		.iter()
		.zip(&report.remote_grads)
		.filter(|(_, grad)| backward && !grad.is_empty())
		.map(|(peer, grad)| (peer.clone(), grad.clone()))
		.unzip();
	if !peers.is_empty() {
		let (dendrite, inputs, rows, columns) =
			(dendrite.clone(), batch.inputs.clone(), batch.batch, batch.seq);
		handle
			.spawn(async move { dendrite.backward(&peers, &inputs, &grads, rows, columns).await });
	}
	if let Some((query, answers)) = validation {
		if let Ok(results) = handle.block_on(answers) {
			let answers: Vec<Option<Vec<f32>>> = results
				.mask()
				.into_iter()
				.zip(results.representations)
				.map(|(failed, answer)| (!failed).then_some(answer))
				.collect();
			lock(&shared.validator).score(&query, &answers);
		}
	}
	(report, (answered, chosen.len()))
}

/// Evaluates on the held-out text and saves a checkpoint when their intervals come round.
fn evaluate_and_checkpoint(
	trainer: &Trainer,
	config: &RunConfig,
	shared: &Shared,
	held_out: &[Batch],
) {
	if trainer.step.is_multiple_of(config.eval_every.max(1)) {
		let evaluation = trainer.evaluate(held_out);
		println!(
			"step {:>6}  held-out loss local {:.3} student {:.3}",
			trainer.step, evaluation.local_loss, evaluation.student_loss
		);
	}
	if trainer.step.is_multiple_of(config.checkpoint_every.max(1)) {
		let ledger = lock(&shared.validator).ledger.clone();
		if let Err(error) = save_checkpoint(trainer, &ledger, &config.checkpoint_dir) {
			eprintln!("warning: checkpoint not saved: {error}");
		}
	}
}

/// What the progress line reports, gathered between two lines (one every
/// [`Progress::EVERY`]).
struct Progress {
	printed: Instant,
	tokens: usize,
	remote_callers: usize,
}

impl Progress {
	/// Time between two progress lines.
	const EVERY: Duration = Duration::from_secs(10);

	fn new() -> Self {
		Self { printed: Instant::now(), tokens: 0, remote_callers: 0 }
	}

	/// Counts one step's tokens and the Backward calls it applied.
	fn record(&mut self, tokens: usize, remote_callers: usize) {
		self.tokens += tokens;
		self.remote_callers += remote_callers;
	}

	/// Whether a line is due.
	fn due(&self) -> bool {
		self.printed.elapsed() >= Self::EVERY
	}

	/// The line for the steps since the last one, which starts a new count.
	fn line(
		&mut self,
		step: u64,
		report: &StepReport,
		answering: (usize, usize),
		weights: &str,
	) -> String {
		let rate = self.tokens as f64 / self.printed.elapsed().as_secs_f64();
		let line = progress_line(step, report, rate, answering, self.remote_callers, weights);
		*self = Self::new();
		line
	}
}
