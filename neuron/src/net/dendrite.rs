//! The dendrite: a neuron's gRPC client. It queries many peers at once, each under a
//! deadline, checks every answer (dtype, shape, finite values within the protocol's bound,
//! [`MAX_ANSWER_ABS`](crate::net::protocol::MAX_ANSWER_ABS)), and turns every failure into
//! a zero tensor that is reported as masked, so no single peer can stall or crash the caller.
//! [`RemotePeer`] wraps one peer behind it as a [`Model`], for an axon to serve its answers.

use std::{
	collections::HashMap,
	fmt,
	net::SocketAddr,
	sync::{
		atomic::{AtomicU64, Ordering},
		Arc, Mutex,
	},
	time::Duration,
};

use futures::future::join_all;
use prost::Message;
use sp_core::{crypto::AccountId32, sr25519};
pub use tonic::Code;
use tonic::{
	transport::{Channel, Endpoint},
	Request,
};

use crate::{
	net::{
		auth::{now_nanos, sign_request, GenesisHash},
		protocol::{
			wire::{neuron_client::NeuronClient, BackwardRequest, ForwardRequest},
			Method, Tensor, TensorError, MAX_MESSAGE_BYTES, REPRESENTATION_DIM,
		},
		served_model::{Model, ModelError},
	},
	sync::lock,
};

/// A peer to query: its uid, hotkey and axon address, as the metagraph lists them.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerEndpoint {
	/// The peer's uid.
	pub uid: u16,
	/// The peer's hotkey, which its axon checks signatures against.
	pub hotkey: AccountId32,
	/// Where its axon listens.
	pub address: SocketAddr,
}

/// How one query went.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
	/// A valid answer.
	Success,
	/// No answer within the deadline.
	Timeout,
	/// No connection to the peer.
	Unreachable(String),
	/// The peer answered with an error status.
	Refused {
		/// The gRPC status code.
		code: Code,
		/// The peer's message.
		message: String,
	},
	/// The peer answered with a tensor that fails the protocol's checks.
	InvalidResponse(TensorError),
}

impl Outcome {
	/// Whether the query failed, so its tensor is zeros and must be masked out.
	pub fn is_masked(&self) -> bool {
		*self != Outcome::Success
	}

	/// Whether the peer answered with values the protocol bounds (not finite, or beyond
	/// [`MAX_ANSWER_ABS`](crate::net::protocol::MAX_ANSWER_ABS)): poison for whoever would
	/// train on them, which a validator holds against the peer rather than as a mere failure.
	pub fn broke_bounds(&self) -> bool {
		matches!(
			self,
			Outcome::InvalidResponse(
				TensorError::OutOfBound { .. } | TensorError::NotFinite { .. }
			)
		)
	}
}

impl fmt::Display for Outcome {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		match self {
			Outcome::Success => write!(f, "ok"),
			Outcome::Timeout => write!(f, "timeout"),
			Outcome::Unreachable(reason) => write!(f, "unreachable: {reason}"),
			Outcome::Refused { code, message } => write!(f, "{code:?}: {message}"),
			Outcome::InvalidResponse(error) => write!(f, "invalid response: {error}"),
		}
	}
}

/// The answers of k peers to one Forward.
#[derive(Debug, Clone)]
pub struct ForwardResults {
	/// Per peer, [batch, seq, `REPRESENTATION_DIM`] values; zeros where the query failed.
	pub representations: Vec<Vec<f32>>,
	/// Per peer, how the query went.
	pub outcomes: Vec<Outcome>,
}

impl ForwardResults {
	/// Per peer, whether its representation is masked out (the query failed).
	pub fn mask(&self) -> Vec<bool> {
		self.outcomes.iter().map(Outcome::is_masked).collect()
	}
}

/// Queries peers' axons, signing every request with `hotkey` for the chain `genesis`.
pub struct Dendrite {
	hotkey: sr25519::Pair,
	genesis: GenesisHash,
	timeout: Duration,
	channels: Mutex<HashMap<SocketAddr, Channel>>,
	last_nonce: AtomicU64,
}

impl Dendrite {
	/// A dendrite that signs with `hotkey` for the chain `genesis` and gives every query
	/// `timeout`.
	pub fn new(hotkey: sr25519::Pair, genesis: GenesisHash, timeout: Duration) -> Self {
		Self {
			hotkey,
			genesis,
			timeout,
			channels: Mutex::new(HashMap::new()),
			last_nonce: AtomicU64::new(0),
		}
	}

	/// Closes the connections to every address but those of `peers`: the peers that left the
	/// metagraph, or moved.
	pub fn keep_only(&self, peers: &[PeerEndpoint]) {
		lock(&self.channels).retain(|address, _| peers.iter().any(|peer| peer.address == *address));
	}

	/// How many peers the dendrite holds a connection to.
	pub fn connections(&self) -> usize {
		lock(&self.channels).len()
	}

	/// The connection to `address`, opened on first use and kept.
	fn client(&self, address: SocketAddr) -> Result<NeuronClient<Channel>, Outcome> {
		let mut channels = lock(&self.channels);
		let channel = match channels.get(&address) {
			Some(channel) => channel.clone(),
			None => {
				let channel = Endpoint::from_shared(format!("http://{address}"))
					.map_err(|e| Outcome::Unreachable(e.to_string()))?
					.connect_timeout(self.timeout)
					.tcp_nodelay(true)
					.connect_lazy();
				channels.insert(address, channel.clone());
				channel
			},
		};
		Ok(NeuronClient::new(channel)
			.max_decoding_message_size(MAX_MESSAGE_BYTES)
			.max_encoding_message_size(MAX_MESSAGE_BYTES))
	}

	/// `message` as a request signed for `peer`'s `method`, with the deadline set.
	fn signed<T: Message>(&self, peer: &PeerEndpoint, method: Method, message: T) -> Request<T> {
		let body = message.encode_to_vec();
		let mut request = Request::new(message);
		request.set_timeout(self.timeout);
		sign_request(
			request.metadata_mut(),
			&self.hotkey,
			&self.genesis,
			method,
			&peer.hotkey,
			self.next_nonce(),
			&body,
		);
		request
	}

	/// A nonce never used before by this dendrite: the clock, or one past the last nonce when
	/// two requests fall in the same nanosecond (or the clock stepped back).
	fn next_nonce(&self) -> u64 {
		let now = now_nanos();
		let previous = self
			.last_nonce
			.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| {
				Some(now.max(last.saturating_add(1)))
			})
			.unwrap_or(now);
		now.max(previous.saturating_add(1))
	}

	/// Sends `tokens` ([batch, seq]) to every peer at once and returns their representations.
	pub async fn forward(
		&self,
		peers: &[PeerEndpoint],
		tokens: &[i64],
		batch: usize,
		seq: usize,
	) -> ForwardResults {
		let tensor = Tensor::from_tokens(tokens, batch, seq);
		let queries = peers.iter().map(|peer| self.forward_one(peer, tensor.clone(), batch, seq));
		let (representations, outcomes) = join_all(queries)
			.await
			.into_iter()
			.map(|result| match result {
				Ok(values) => (values, Outcome::Success),
				Err(outcome) => (vec![0.0; batch * seq * REPRESENTATION_DIM], outcome),
			})
			.unzip();
		ForwardResults { representations, outcomes }
	}

	async fn forward_one(
		&self,
		peer: &PeerEndpoint,
		tokens: Tensor,
		batch: usize,
		seq: usize,
	) -> Result<Vec<f32>, Outcome> {
		let mut client = self.client(peer.address)?;
		let request = self.signed(peer, Method::Forward, ForwardRequest { tokens: Some(tokens) });
		let response = self.within_deadline(client.forward(request)).await?;
		response
			.representation
			.ok_or(TensorError::Missing("representation"))
			.and_then(|tensor| tensor.answer(batch, seq))
			.map_err(Outcome::InvalidResponse)
	}

	/// Sends each peer the gradient of the caller's loss with respect to that peer's
	/// representation of `tokens`; returns how each went.
	pub async fn backward(
		&self,
		peers: &[PeerEndpoint],
		tokens: &[i64],
		grads: &[Vec<f32>],
		batch: usize,
		seq: usize,
	) -> Vec<Outcome> {
		let tokens = Tensor::from_tokens(tokens, batch, seq);
		let queries = peers.iter().zip(grads).map(|(peer, grad)| {
			let request = BackwardRequest {
				tokens: Some(tokens.clone()),
				grad: Some(Tensor::from_f32(grad, &[batch, seq, REPRESENTATION_DIM])),
			};
			async move {
				let mut client = self.client(peer.address)?;
				let request = self.signed(peer, Method::Backward, request);
				self.within_deadline(client.backward(request)).await.map(|_| ())
			}
		});
		join_all(queries)
			.await
			.into_iter()
			.map(|result| result.err().unwrap_or(Outcome::Success))
			.collect()
	}

	/// Awaits a call under the dendrite's deadline, whatever the peer does.
	async fn within_deadline<T>(
		&self,
		call: impl std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
	) -> Result<T, Outcome> {
		match tokio::time::timeout(self.timeout, call).await {
			Err(_) => Err(Outcome::Timeout),
			Ok(Ok(response)) => Ok(response.into_inner()),
			Ok(Err(status))
				if status.code() == Code::DeadlineExceeded || status.code() == Code::Cancelled =>
			{
				Err(Outcome::Timeout)
			},
			Ok(Err(status)) if status.code() == Code::Unavailable => {
				Err(Outcome::Unreachable(status.message().to_string()))
			},
			Ok(Err(status)) => {
				Err(Outcome::Refused { code: status.code(), message: status.message().to_string() })
			},
		}
	}
}

/// One peer behind a dendrite, as a [`Model`]: what an echo (`neuron run --serve echo:UID`)
/// answers with. `locate` says where the peer is now (the runner reads it from the metagraph).
/// Its `forward` waits on the runtime behind `handle`, so it must run off the runtime's own
/// threads, as the axon runs every model.
pub struct RemotePeer {
	dendrite: Arc<Dendrite>,
	handle: tokio::runtime::Handle,
	locate: Box<dyn Fn() -> Option<PeerEndpoint> + Send + Sync>,
}

impl RemotePeer {
	/// The peer `locate` finds, asked through `dendrite` on the runtime behind `handle`.
	pub fn new(
		dendrite: Arc<Dendrite>,
		handle: tokio::runtime::Handle,
		locate: impl Fn() -> Option<PeerEndpoint> + Send + Sync + 'static,
	) -> Self {
		Self { dendrite, handle, locate: Box::new(locate) }
	}
}

impl Model for RemotePeer {
	fn forward(&self, tokens: &[i64], batch: usize, seq: usize) -> Result<Vec<f32>, ModelError> {
		let peer = (self.locate)()
			.ok_or_else(|| ModelError::Failed("the copied peer serves no endpoint".into()))?;
		let uid = peer.uid;
		let results = self.handle.block_on(self.dendrite.forward(&[peer], tokens, batch, seq));
		match (results.mask().first(), results.representations.into_iter().next()) {
			(Some(false), Some(answer)) => Ok(answer),
			_ => Err(ModelError::Failed(format!("uid {uid} did not answer"))),
		}
	}
}
