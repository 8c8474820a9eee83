//! Going online, the same for `neuron run` and `neuron serve`: a hotkey that another coldkey
//! owns or that is not registered is refused before anything is served, and the axon listens
//! before its endpoint is published, so that no peer is sent to a closed port. Written once so
//! that the two commands cannot drift apart.

use std::net::SocketAddr;

use bittensor_primitives::json::{address, MetagraphJson};
use sp_core::{crypto::AccountId32, sr25519, Pair};

use super::{RunError, PROTOCOL_VERSION};
use crate::{
	chain::{check_owner, ChainClient},
	net::{
		axon::{self, AxonConfig, AxonHandle, Peers},
		served_model::Model,
	},
};

/// The chain side of an online neuron: its connection, its axon and its uid.
pub struct Online {
	/// The node it talks to.
	pub chain: ChainClient,
	/// The axon serving its model.
	pub axon: AxonHandle,
	/// Its uid.
	pub uid: u16,
}

impl Online {
	/// Goes online as `hotkey`: connects to the node at `url`, reads the metagraph, checks that
	/// the hotkey is registered (to `coldkey`, when given), serves `model` (made for the uid) on
	/// an axon listening on `listen`, and publishes `external` as its endpoint. Returns the
	/// metagraph it read.
	pub async fn connect<M: Model>(
		url: &str,
		hotkey: &sr25519::Pair,
		coldkey: Option<&AccountId32>,
		listen: SocketAddr,
		external: SocketAddr,
		model: impl FnOnce(u16) -> M,
	) -> Result<(Self, MetagraphJson), RunError> {
		let account = AccountId32::from(hotkey.public());
		let chain = ChainClient::connect(url).await?;
		let metagraph = chain.metagraph_light().await?;
		if let Some(coldkey) = coldkey {
			check_owner(&metagraph, &account, coldkey)?;
		}
		let uid = metagraph
			.neuron_by_hotkey(&account)
			.map(|neuron| neuron.uid)
			.ok_or_else(|| RunError::NotRegistered(address(&account)))?;
		let axon = axon::serve(
			account,
			chain.genesis_hash(),
			model(uid),
			Peers::from_metagraph(&metagraph),
			AxonConfig::default(),
			listen,
		)
		.await
		.map_err(|source| RunError::Listen { address: listen, source })?;
		chain.serve_axon(hotkey, external, 0, PROTOCOL_VERSION).await?;
		println!(
			"uid {uid} serving on {} (published as {external}); Ctrl-C stops",
			axon.local_addr
		);
		Ok((Self { chain, axon, uid }, metagraph))
	}
}
