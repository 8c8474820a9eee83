//! The node's `metagraph_*` JSON-RPC methods: the [`MetagraphApi`] runtime API as readable
//! JSON (see [`bittensor_primitives::json`]).
//!
//! - `metagraph_get(at?)`: every peer, the hyperparameters and the last epoch.
//! - `metagraph_getLight(at?)`: the same without any peer's weights and bonds, whose size grows
//!   with the peers only (what a neuron polls; validators' rows can make the full form exceed the
//!   RPC response limit).
//! - `metagraph_neuron(uid, at?)`: one peer.
//! - `metagraph_hyperparameters(at?)`: every hyperparameter.
//!
//! `at` is a block hash; without it the node's best block is read. Every method runs on a
//! blocking thread, off the threads that serve the network (a metagraph of 4096 peers takes
//! the runtime a while), and `metagraph_get` and `metagraph_getLight` keep the last block's
//! answer, so that many clients polling the same block cost one runtime call.
// Runtime code never panics and never overflows: saturating or checked math, `get` in place
// of indexing, errors in place of `unwrap`/`expect`.
#![deny(
	clippy::arithmetic_side_effects,
	clippy::indexing_slicing,
	clippy::unwrap_used,
	clippy::expect_used
)]

use std::sync::{Arc, Mutex};

use bittensor_primitives::{
	epoch::Uid,
	json::{HyperparametersJson, MetagraphJson, NeuronJson},
	metagraph::MetagraphApi,
	AccountId, BlockNumber,
};
use jsonrpsee::{
	core::RpcResult,
	proc_macros::rpc,
	types::{ErrorObject, ErrorObjectOwned},
};
use sp_api::ProvideRuntimeApi;
use sp_blockchain::HeaderBackend;
use sp_runtime::traits::Block as BlockT;

/// Error code: the block hash is not known to this node.
pub const UNKNOWN_BLOCK: i32 = 1001;
/// Error code: no peer has the uid.
pub const UNKNOWN_UID: i32 = 1002;
/// Error code: the runtime API call failed.
pub const RUNTIME_ERROR: i32 = 1003;

/// The `metagraph_*` methods.
#[rpc(server, namespace = "metagraph")]
pub trait MetagraphRpcApi<BlockHash> {
	/// Every peer with its stake, endpoint, epoch outputs, weights and bonds, the
	/// hyperparameters and the last epoch, at block `at` (default: best).
	#[method(name = "get", blocking)]
	fn get(&self, at: Option<BlockHash>) -> RpcResult<MetagraphJson>;

	/// The metagraph at block `at` (default: best) with every peer's `weights` and `bonds`
	/// left empty.
	#[method(name = "getLight", blocking)]
	fn get_light(&self, at: Option<BlockHash>) -> RpcResult<MetagraphJson>;

	/// The peer `uid` at block `at` (default: best).
	#[method(name = "neuron", blocking)]
	fn neuron(&self, uid: Uid, at: Option<BlockHash>) -> RpcResult<NeuronJson>;

	/// Every hyperparameter at block `at` (default: best).
	#[method(name = "hyperparameters", blocking)]
	fn hyperparameters(&self, at: Option<BlockHash>) -> RpcResult<HyperparametersJson>;
}

/// The last block's answer of one method, by block hash.
type LastAnswer<Hash> = Mutex<Option<(Hash, MetagraphJson)>>;

/// Serves the `metagraph_*` methods from a client's runtime API.
pub struct Metagraph<C, Block: BlockT> {
	client: Arc<C>,
	/// The last block's metagraph.
	last: LastAnswer<Block::Hash>,
	/// The last block's light metagraph.
	last_light: LastAnswer<Block::Hash>,
}

impl<C, Block: BlockT> Metagraph<C, Block> {
	/// Serves the methods from `client`.
	pub fn new(client: Arc<C>) -> Self {
		Self { client, last: Mutex::new(None), last_light: Mutex::new(None) }
	}
}

/// `last`'s answer if it is for `hash`, else `read`'s, which then becomes `last`.
fn cached<Hash: PartialEq + Copy>(
	last: &LastAnswer<Hash>,
	hash: Hash,
	read: impl FnOnce() -> RpcResult<MetagraphJson>,
) -> RpcResult<MetagraphJson> {
	let kept = last
		.lock()
		.unwrap_or_else(|e| e.into_inner())
		.as_ref()
		.and_then(|(at, answer)| (*at == hash).then(|| answer.clone()));
	if let Some(answer) = kept {
		return Ok(answer);
	}
	let answer = read()?;
	*last.lock().unwrap_or_else(|e| e.into_inner()) = Some((hash, answer.clone()));
	Ok(answer)
}

fn error(code: i32, message: String) -> ErrorObjectOwned {
	ErrorObject::owned(code, message, None::<()>)
}

impl<C, Block> Metagraph<C, Block>
where
	Block: BlockT,
	C: ProvideRuntimeApi<Block> + HeaderBackend<Block>,
{
	/// The hash to read at: `at` if this node knows it, else the best block.
	fn block(&self, at: Option<Block::Hash>) -> RpcResult<Block::Hash> {
		let Some(hash) = at else { return Ok(self.client.info().best_hash) };
		match self.client.header(hash) {
			Ok(Some(_)) => Ok(hash),
			Ok(None) => {
				Err(error(UNKNOWN_BLOCK, format!("block {hash:?} is not known to this node")))
			},
			Err(e) => Err(error(UNKNOWN_BLOCK, format!("cannot read block {hash:?}: {e}"))),
		}
	}
}

fn runtime_error(e: sp_api::ApiError) -> ErrorObjectOwned {
	error(RUNTIME_ERROR, format!("the runtime's MetagraphApi failed: {e}"))
}

impl<C, Block> MetagraphRpcApiServer<Block::Hash> for Metagraph<C, Block>
where
	Block: BlockT,
	C: ProvideRuntimeApi<Block> + HeaderBackend<Block> + Send + Sync + 'static,
	C::Api: MetagraphApi<Block, AccountId, BlockNumber>,
{
	fn get(&self, at: Option<Block::Hash>) -> RpcResult<MetagraphJson> {
		let hash = self.block(at)?;
		cached(&self.last, hash, || {
			Ok(self.client.runtime_api().metagraph(hash).map_err(runtime_error)?.into())
		})
	}

	fn get_light(&self, at: Option<Block::Hash>) -> RpcResult<MetagraphJson> {
		let hash = self.block(at)?;
		cached(&self.last_light, hash, || {
			Ok(self.client.runtime_api().metagraph_light(hash).map_err(runtime_error)?.into())
		})
	}

	fn neuron(&self, uid: Uid, at: Option<Block::Hash>) -> RpcResult<NeuronJson> {
		let hash = self.block(at)?;
		let api = self.client.runtime_api();
		match api.neuron(hash, uid).map_err(runtime_error)? {
			Some(neuron) => Ok(neuron.into()),
			None => Err(error(
				UNKNOWN_UID,
				format!("uid {uid} is not a registered peer at block {hash:?}"),
			)),
		}
	}

	fn hyperparameters(&self, at: Option<Block::Hash>) -> RpcResult<HyperparametersJson> {
		let hash = self.block(at)?;
		Ok(self.client.runtime_api().hyperparameters(hash).map_err(runtime_error)?.into())
	}
}
