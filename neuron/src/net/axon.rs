//! The axon: a neuron's gRPC server. It answers Forward and Backward for registered peers only,
//! each request signed by the caller's hotkey (see [`crate::net::auth`]), once per nonce, within a
//! per-caller rate limit proportional to stake, all judged by its [`Gate`] before a request's
//! body is read; it sheds load with a clear status when the model is busy, and runs the model
//! on blocking threads, off the async runtime.
//!
//! Statuses: `PERMISSION_DENIED` (caller not registered, or not staked enough for Backward),
//! `UNAUTHENTICATED` (missing or bad signature, stale or replayed nonce), `RESOURCE_EXHAUSTED`
//! (rate limited, busy, overloaded, or too many failed authentications from the address),
//! `INVALID_ARGUMENT` (bad dtype, shape or values), `DEADLINE_EXCEEDED` (the body or the model
//! took too long), `OUT_OF_RANGE` (a body over its method's limit), `UNIMPLEMENTED` (a path that
//! is not one of the service's methods, or a method the model does not serve).

use std::{net::SocketAddr, sync::Arc, time::Duration};

use futures::StreamExt;
use sp_core::crypto::AccountId32;
use tokio::{net::TcpListener, sync::Semaphore, task::JoinHandle};
use tonic::{transport::Server, Request, Response, Status};

pub use crate::net::admission::{AxonConfig, Peers};
use crate::net::{
	auth::GenesisHash,
	connection::Connection,
	gate::{Gate, GateLayer},
	protocol::{
		wire::{neuron_server, BackwardRequest, BackwardResponse, ForwardRequest, ForwardResponse},
		Tensor, TensorError, MAX_MESSAGE_BYTES, REPRESENTATION_DIM,
	},
	served_model::{Caller, Model, ModelError},
	slots::Slots,
};

/// Largest header block a request may send: the signed headers need well under 1 KiB.
const HEADER_LIST_BYTES: u32 = 16 * 1024;

/// The gRPC service behind an axon's [`Gate`]: it runs admitted requests on the model.
struct AxonService<M> {
	model: Arc<M>,
	in_flight: Arc<Semaphore>,
	config: AxonConfig,
}

/// The caller the gate admitted, from the request's extensions.
fn admitted_caller<T>(request: &Request<T>) -> Result<Caller, Status> {
	request
		.extensions()
		.get::<Caller>()
		.cloned()
		.ok_or_else(|| Status::internal("a request reached the model without passing the gate"))
}

impl<M: Model> AxonService<M> {
	/// Runs `work` on the model on a blocking thread, if a slot is free and within the timeout.
	async fn run<T: Send + 'static>(
		&self,
		slots: Option<Slots>,
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
			// The gate's slots stay taken while the model works, even for a caller that gave up.
			drop(slots);
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
			Ok(Ok(Err(ModelError::Unsupported(message)))) => Err(Status::unimplemented(message)),
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
		admitted_caller(&request)?;
		let slots = request.extensions().get::<Slots>().cloned();
		let tokens = request
			.into_inner()
			.tokens
			.ok_or_else(|| invalid(TensorError::Missing("tokens")))?;
		let (tokens, batch, seq) = tokens.tokens("tokens").map_err(invalid)?;
		let values = self.run(slots, move |model| model.forward(&tokens, batch, seq)).await?;
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
		let caller = admitted_caller(&request)?;
		let slots = request.extensions().get::<Slots>().cloned();
		let BackwardRequest { tokens, grad } = request.into_inner();
		let (tokens, batch, seq) = tokens
			.ok_or_else(|| invalid(TensorError::Missing("tokens")))?
			.tokens("tokens")
			.map_err(invalid)?;
		let grad = grad
			.ok_or_else(|| invalid(TensorError::Missing("grad")))?
			.representation("grad", batch, seq)
			.map_err(invalid)?;
		self.run(slots, move |model| model.backward(&caller, &tokens, &grad, batch, seq))
			.await?;
		Ok(Response::new(BackwardResponse {}))
	}
}

/// A running axon.
pub struct AxonHandle {
	/// The address it listens on.
	pub local_addr: SocketAddr,
	gate: Arc<Gate>,
	grace: Duration,
	shutdown: tokio::sync::oneshot::Sender<()>,
	closing: tokio::sync::watch::Sender<bool>,
	task: JoinHandle<Result<(), tonic::transport::Error>>,
}

impl AxonHandle {
	/// Replaces the registered peers (after reading a newer metagraph).
	pub fn set_peers(&self, peers: Peers) {
		self.gate.set_peers(peers);
	}

	/// Stops accepting requests and waits, at most the configured grace, for the open
	/// connections to finish; a caller that keeps its connection open is cut off then.
	pub async fn shutdown(self) -> Result<(), tonic::transport::Error> {
		let _ = self.shutdown.send(());
		let mut task = self.task;
		let finished = tokio::time::timeout(self.grace, &mut task).await;
		// Every connection still open ends now, whatever its caller is doing.
		let _ = self.closing.send(true);
		match finished {
			Ok(finished) => finished.unwrap_or(Ok(())),
			Err(_) => {
				task.abort();
				Ok(())
			},
		}
	}
}

/// Starts an axon for `hotkey` on the chain `genesis`, listening on `listen` and serving
/// `model` to `peers`.
pub async fn serve<M: Model>(
	hotkey: AccountId32,
	genesis: GenesisHash,
	model: M,
	peers: Peers,
	config: AxonConfig,
	listen: SocketAddr,
) -> std::io::Result<AxonHandle> {
	let listener = TcpListener::bind(listen).await?;
	let local_addr = listener.local_addr()?;
	let gate = Arc::new(Gate::new(hotkey, genesis, peers, config.clone()));
	let (grace, streams) = (config.shutdown_grace, config.max_streams_per_connection);
	let first_request = config.first_request_timeout;
	let (closing, closed) = tokio::sync::watch::channel(false);
	let service = AxonService {
		model: Arc::new(model),
		in_flight: Arc::new(Semaphore::new(config.max_in_flight)),
		config,
	};
	let service = neuron_server::NeuronServer::new(service)
		.max_decoding_message_size(MAX_MESSAGE_BYTES)
		.max_encoding_message_size(MAX_MESSAGE_BYTES);
	let incoming = tonic::transport::server::TcpIncoming::from(listener)
		.with_nodelay(Some(true))
		.map(move |accepted| {
			accepted.map(|stream| Connection::new(stream, first_request, closed.clone()))
		});
	let (shutdown, stop) = tokio::sync::oneshot::channel();
	let server = Server::builder()
		.max_concurrent_streams(streams)
		.http2_max_header_list_size(HEADER_LIST_BYTES)
		.http2_keepalive_interval(Some(Duration::from_secs(30)))
		.http2_keepalive_timeout(Some(Duration::from_secs(10)))
		.layer(GateLayer::new(gate.clone()))
		.add_service(service);
	let task = tokio::spawn(server.serve_with_incoming_shutdown(incoming, async {
		let _ = stop.await;
	}));
	Ok(AxonHandle { local_addr, gate, grace, shutdown, closing, task })
}
