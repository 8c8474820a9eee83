//! The node's RPC extensions, added to the standard Substrate methods.
//!
//! Custom RPC crates of this project are merged into the module built here.

use std::sync::Arc;

use bittensor_primitives::{metagraph::MetagraphApi, BlockNumber};
use bittensor_runtime::{opaque::Block, AccountId, Balance, Nonce};
use jsonrpsee::RpcModule;
use sc_transaction_pool_api::TransactionPool;
use sp_api::ProvideRuntimeApi;
use sp_block_builder::BlockBuilder;
use sp_blockchain::{Error as BlockChainError, HeaderBackend, HeaderMetadata};

/// What the RPC extensions need from the node.
pub struct FullDeps<C, P> {
	/// The client, to read chain state and call runtime APIs.
	pub client: Arc<C>,
	/// The transaction pool.
	pub pool: Arc<P>,
}

/// Builds the RPC extensions: account nonces (`system_accountNextIndex`), fee queries
/// (`payment_queryInfo`, `payment_queryFeeDetails`) and the metagraph (`metagraph_get`,
/// `metagraph_neuron`, `metagraph_hyperparameters`).
pub fn create_full<C, P>(
	deps: FullDeps<C, P>,
) -> Result<RpcModule<()>, Box<dyn std::error::Error + Send + Sync>>
where
	C: ProvideRuntimeApi<Block>
		+ HeaderBackend<Block>
		+ HeaderMetadata<Block, Error = BlockChainError>
		+ Send
		+ Sync
		+ 'static,
	C::Api: substrate_frame_rpc_system::AccountNonceApi<Block, AccountId, Nonce>,
	C::Api: pallet_transaction_payment_rpc::TransactionPaymentRuntimeApi<Block, Balance>,
	C::Api: BlockBuilder<Block>,
	C::Api: MetagraphApi<Block, AccountId, BlockNumber>,
	P: TransactionPool + 'static,
{
	use bittensor_rpc::{Metagraph, MetagraphRpcApiServer};
	use pallet_transaction_payment_rpc::{TransactionPayment, TransactionPaymentApiServer};
	use substrate_frame_rpc_system::{System, SystemApiServer};

	let mut module = RpcModule::new(());
	let FullDeps { client, pool } = deps;

	module.merge(System::new(client.clone(), pool).into_rpc())?;
	module.merge(TransactionPayment::new(client.clone()).into_rpc())?;
	module.merge(Metagraph::new(client).into_rpc())?;

	Ok(module)
}
