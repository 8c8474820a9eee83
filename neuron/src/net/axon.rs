//! The axon: a neuron's gRPC server. It answers Forward and Backward for registered peers only,
//! each request signed by the caller's hotkey (see [`crate::net::auth`]), once per nonce, within a
//! per-caller rate limit proportional to stake; it sheds load with a clear status when the
//! model is busy, and runs the model on blocking threads, off the async runtime.
//!
//! Statuses: `PERMISSION_DENIED` (caller not registered), `UNAUTHENTICATED` (missing or bad
//! signature, stale or replayed nonce), `RESOURCE_EXHAUSTED` (rate limited, or overloaded),
//! `INVALID_ARGUMENT` (bad dtype, shape or values), `DEADLINE_EXCEEDED` (the model took too
//! long), `OUT_OF_RANGE` (message over [`MAX_MESSAGE_BYTES`], from tonic).

use std::{
	collections::{BTreeSet, HashMap},
	net::SocketAddr,
	sync::{Arc, Mutex, RwLock},
	time::{Duration, Instant},
};

use bittensor_primitives::json::MetagraphJson;
use prost::Message;
use sp_core::crypto::{AccountId32, Ss58Codec};
use tokio::{net::TcpListener, sync::Semaphore, task::JoinHandle};
use tonic::{transport::Server, Request, Response, Status};

use crate::{
	net::{
		auth::{now_nanos, SignedRequest},
		protocol::{
			wire::{
				neuron_server, BackwardRequest, BackwardResponse, ForwardRequest, ForwardResponse,
			},
			Tensor, TensorError, MAX_MESSAGE_BYTES, REPRESENTATION_DIM,
		},
		served_model::{Caller, Model, ModelError},
	},
	sync::{lock, read, write},
};

/// The registered peers an axon serves: hotkey → stake.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Peers {
	stakes: HashMap<AccountId32, u64>,
	total_stake: u64,
}

impl Peers {
	/// Peers with the given stakes.
	pub fn new(stakes: impl IntoIterator<Item = (AccountId32, u64)>) -> Self {
		let stakes: HashMap<_, _> = stakes.into_iter().collect();
		let total_stake = stakes.values().fold(0u64, |sum, stake| sum.saturating_add(*stake));
		Self { stakes, total_stake }
	}

	/// The peers of a metagraph read from the chain.
	pub fn from_metagraph(metagraph: &MetagraphJson) -> Self {
		Self::new(metagraph.neurons.iter().filter_map(|neuron| {
			let hotkey = AccountId32::from_ss58check(&neuron.hotkey).ok()?;
			Some((hotkey, neuron.stake.parse().unwrap_or(0)))
		}))
	}

	/// The stake of a registered hotkey.
	pub fn stake(&self, hotkey: &AccountId32) -> Option<u64> {
		self.stakes.get(hotkey).copied()
	}
}

/// Limits of an axon.
#[derive(Debug, Clone)]
pub struct AxonConfig {
	/// Requests running or queued for the model at once; more are shed with
	/// `RESOURCE_EXHAUSTED`.
	pub max_in_flight: usize,
	/// Longest the model may take for one request.
	pub model_timeout: Duration,
	/// Requests per second shared among all callers in proportion to their stake.
	pub requests_per_second: f64,
	/// Requests per second every registered caller gets, whatever its stake.
	pub min_requests_per_second: f64,
	/// How far a nonce may be from the axon's clock.
	pub nonce_window: Duration,
}

impl Default for AxonConfig {
	fn default() -> Self {
		Self {
			max_in_flight: 32,
			model_timeout: Duration::from_secs(10),
			requests_per_second: 2_000.0,
			min_requests_per_second: 10.0,
			nonce_window: Duration::from_secs(60),
		}
	}
}

/// What the axon remembers of one caller: its rate-limit bucket and recent nonces.
struct CallerState {
	tokens: f64,
	refilled: Instant,
	nonces: BTreeSet<u64>,
}

/// The gRPC service behind an axon.
struct AxonService<M> {
	hotkey: AccountId32,
	model: Arc<M>,
	peers: Arc<RwLock<Peers>>,
	callers: Mutex<HashMap<AccountId32, CallerState>>,
	in_flight: Arc<Semaphore>,
	config: AxonConfig,
}

impl<M: Model> AxonService<M> {
	/// Checks who is calling: registered, correctly signed, fresh nonce, within its rate.
	fn admit(
		&self,
		method: &str,
		metadata: &tonic::metadata::MetadataMap,
		body: &[u8],
	) -> Result<Caller, Status> {
		let signed = SignedRequest::from_metadata(metadata)
			.map_err(|e| Status::unauthenticated(e.to_string()))?;
		let (stake, total_stake) = {
			let peers = read(&self.peers);
			let stake = peers.stake(&signed.hotkey).ok_or_else(|| {
				Status::permission_denied(format!(
					"{} is not registered",
					signed.hotkey.to_ss58check()
				))
			})?;
			(stake, peers.total_stake)
		};
		signed
			.verify(method, &self.hotkey, body)
			.map_err(|e| Status::unauthenticated(e.to_string()))?;

		let now = now_nanos();
		let window = u64::try_from(self.config.nonce_window.as_nanos()).unwrap_or(u64::MAX);
		if signed.nonce.abs_diff(now) > window {
			return Err(Status::unauthenticated(format!(
				"stale nonce: {} s from this axon's clock",
				signed.nonce.abs_diff(now) / 1_000_000_000
			)));
		}
		let share = if total_stake == 0 { 0.0 } else { stake as f64 / total_stake as f64 };
		let rate =
			(self.config.requests_per_second * share).max(self.config.min_requests_per_second);

		let mut callers = lock(&self.callers);
		let state = callers.entry(signed.hotkey.clone()).or_insert_with(|| CallerState {
			tokens: rate,
			refilled: Instant::now(),
			nonces: BTreeSet::new(),
		});
		let oldest_fresh = now.saturating_sub(window);
		state.nonces = state.nonces.split_off(&oldest_fresh);
		if state.nonces.contains(&signed.nonce) {
			return Err(Status::unauthenticated(format!("replayed nonce {}", signed.nonce)));
		}
		let elapsed = state.refilled.elapsed().as_secs_f64();
		state.tokens = (state.tokens + elapsed * rate).min(rate.max(1.0));
		state.refilled = Instant::now();
		if state.tokens < 1.0 {
			return Err(Status::resource_exhausted(format!(
				"rate limited: {rate:.1} requests/s for this caller's stake"
			)));
		}
		state.tokens -= 1.0;
		state.nonces.insert(signed.nonce);
		Ok(Caller { hotkey: signed.hotkey, stake })
	}

	/// Runs `work` on the model on a blocking thread, if a slot is free and within the timeout.
	async fn run<T: Send + 'static>(
		&self,
		work: impl FnOnce(&M) -> Result<T, ModelError> + Send + 'static,
	) -> Result<T, Status> {
		let permit = self.in_flight.clone().try_acquire_owned().map_err(|_| {
			Status::resource_exhausted(format!(
				"overloaded: {} requests in progress, retry later",
				self.config.max_in_flight
			))
		})?;
		let model = self.model.clone();
		let task = tokio::task::spawn_blocking(move || {
			let result = work(&model);
			drop(permit);
			result
		});
		match tokio::time::timeout(self.config.model_timeout, task).await {
			Err(_) => Err(Status::deadline_exceeded(format!(
				"the model took longer than {} ms",
				self.config.model_timeout.as_millis()
			))),
			Ok(Err(join_error)) => {
				Err(Status::internal(format!("the model crashed: {join_error}")))
			},
			Ok(Ok(Err(ModelError::InvalidInput(message)))) => {
				Err(Status::invalid_argument(message))
			},
			Ok(Ok(Err(ModelError::Failed(message)))) => Err(Status::internal(message)),
			Ok(Ok(Err(ModelError::Busy(message)))) => Err(Status::resource_exhausted(message)),
			Ok(Ok(Ok(value))) => Ok(value),
		}
	}
}

fn invalid(error: TensorError) -> Status {
	Status::invalid_argument(error.to_string())
}

#[tonic::async_trait]
impl<M: Model> neuron_server::Neuron for AxonService<M> {
	async fn forward(
		&self,
		request: Request<ForwardRequest>,
	) -> Result<Response<ForwardResponse>, Status> {
		self.admit("Forward", request.metadata(), &request.get_ref().encode_to_vec())?;
		let tokens = request
			.into_inner()
			.tokens
			.ok_or_else(|| invalid(TensorError::Missing("tokens")))?;
		let (tokens, batch, seq) = tokens.tokens("tokens").map_err(invalid)?;
		let values = self.run(move |model| model.forward(&tokens, batch, seq)).await?;
		if values.len() != batch * seq * REPRESENTATION_DIM || values.iter().any(|v| !v.is_finite())
		{
			return Err(Status::internal("the model returned a malformed representation"));
		}
		let representation = Tensor::from_f32(&values, &[batch, seq, REPRESENTATION_DIM]);
		Ok(Response::new(ForwardResponse { representation: Some(representation) }))
	}

	async fn backward(
		&self,
		request: Request<BackwardRequest>,
	) -> Result<Response<BackwardResponse>, Status> {
		let caller =
			self.admit("Backward", request.metadata(), &request.get_ref().encode_to_vec())?;
		let BackwardRequest { tokens, grad } = request.into_inner();
		let (tokens, batch, seq) = tokens
			.ok_or_else(|| invalid(TensorError::Missing("tokens")))?
			.tokens("tokens")
			.map_err(invalid)?;
		let grad = grad
			.ok_or_else(|| invalid(TensorError::Missing("grad")))?
			.representation("grad", batch, seq)
			.map_err(invalid)?;
		self.run(move |model| model.backward(&caller, &tokens, &grad, batch, seq))
			.await?;
		Ok(Response::new(BackwardResponse {}))
	}
}

/// A running axon.
pub struct AxonHandle {
	/// The address it listens on.
	pub local_addr: SocketAddr,
	peers: Arc<RwLock<Peers>>,
	shutdown: tokio::sync::oneshot::Sender<()>,
	task: JoinHandle<Result<(), tonic::transport::Error>>,
}

impl AxonHandle {
	/// Replaces the registered peers (after reading a newer metagraph).
	pub fn set_peers(&self, peers: Peers) {
		*write(&self.peers) = peers;
	}

	/// Stops accepting requests and waits for the server to finish.
	pub async fn shutdown(self) -> Result<(), tonic::transport::Error> {
		let _ = self.shutdown.send(());
		self.task.await.unwrap_or(Ok(()))
	}
}

/// Starts an axon for `hotkey` on `listen` serving `model` to `peers`.
pub async fn serve<M: Model>(
	hotkey: AccountId32,
	model: M,
	peers: Peers,
	config: AxonConfig,
	listen: SocketAddr,
) -> std::io::Result<AxonHandle> {
	let listener = TcpListener::bind(listen).await?;
	let local_addr = listener.local_addr()?;
	let peers = Arc::new(RwLock::new(peers));
	let service = AxonService {
		hotkey,
		model: Arc::new(model),
		peers: peers.clone(),
		callers: Mutex::new(HashMap::new()),
		in_flight: Arc::new(Semaphore::new(config.max_in_flight)),
		config,
	};
	let service = neuron_server::NeuronServer::new(service)
		.max_decoding_message_size(MAX_MESSAGE_BYTES)
		.max_encoding_message_size(MAX_MESSAGE_BYTES);
	let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
	let (shutdown, stop) = tokio::sync::oneshot::channel();
	let task = tokio::spawn(Server::builder().add_service(service).serve_with_incoming_shutdown(
		incoming,
		async {
			let _ = stop.await;
		},
	));
	Ok(AxonHandle { local_addr, peers, shutdown, task })
}
