//! What the network tests share: the keys they sign with, an axon for `//Server` that knows
//! `//Client` and `//Other`, signed requests to it, and a model that takes its time.

use std::{net::SocketAddr, time::Duration};

use bittensor_neuron::net::{
	auth::{sign_request, GenesisHash},
	axon::{self, AxonConfig, AxonHandle, Peers},
	protocol::{
		wire::{neuron_client::NeuronClient, ForwardRequest},
		Method, Tensor, REPRESENTATION_DIM,
	},
	served_model::{Model, ModelError},
};
use bittensor_primitives::TOKEN;
use prost::Message;
use sp_core::{crypto::AccountId32, sr25519, Pair};
use tonic::{transport::Channel, Request};

/// The width of a representation.
pub const D: usize = REPRESENTATION_DIM;
/// The chain every request in these tests is signed for.
pub const CHAIN: GenesisHash = [42; 32];

/// The key of the development account `uri` (`//Client`, `//Server`, ...).
pub fn key(uri: &str) -> sr25519::Pair {
	sr25519::Pair::from_string(uri, None).unwrap()
}

/// The account of `pair`.
pub fn account(pair: &sr25519::Pair) -> AccountId32 {
	AccountId32::from(pair.public())
}

/// Any free port on the loopback address.
pub fn loopback() -> SocketAddr {
	"127.0.0.1:0".parse().unwrap()
}

/// An axon for `//Server` that knows `//Client` (and `//Other`) as registered peers.
pub async fn start<M: Model>(model: M, config: AxonConfig) -> AxonHandle {
	let peers = Peers::new([
		(account(&key("//Client")), 100 * TOKEN),
		(account(&key("//Other")), 100 * TOKEN),
	]);
	start_with(model, config, peers).await
}

/// An axon for `//Server` that serves `model` to `peers`.
pub async fn start_with<M: Model>(model: M, config: AxonConfig, peers: Peers) -> AxonHandle {
	axon::serve(account(&key("//Server")), CHAIN, model, peers, config, loopback())
		.await
		.unwrap()
}

/// A client of `axon` without the dendrite's checks or message size limits.
pub async fn raw_client(axon: &AxonHandle) -> NeuronClient<Channel> {
	NeuronClient::connect(format!("http://{}", axon.local_addr))
		.await
		.unwrap()
		.max_encoding_message_size(usize::MAX)
		.max_decoding_message_size(usize::MAX)
}

/// `message` signed by `signer` for the server with `nonce`.
pub fn signed<T: Message>(signer: &str, method: Method, message: T, nonce: u64) -> Request<T> {
	let body = message.encode_to_vec();
	let mut request = Request::new(message);
	sign_request(
		request.metadata_mut(),
		&key(signer),
		&CHAIN,
		method,
		&account(&key("//Server")),
		nonce,
		&body,
	);
	request
}

/// A Forward request for `tokens`, `batch` rows of `seq`.
pub fn forward_request(tokens: &[i64], batch: usize, seq: usize) -> ForwardRequest {
	ForwardRequest { tokens: Some(Tensor::from_tokens(tokens, batch, seq)) }
}

/// A model that takes `delay` for every forward.
pub struct SlowModel {
	/// How long each forward takes.
	pub delay: Duration,
}

impl Model for SlowModel {
	fn forward(&self, tokens: &[i64], _: usize, _: usize) -> Result<Vec<f32>, ModelError> {
		std::thread::sleep(self.delay);
		Ok(vec![0.0; tokens.len() * D])
	}
}
