//! `metagraph.json` is what polkadot.js reads to decorate `api.rpc.metagraph.*`: a method the
//! node serves but the file leaves out is invisible to those clients, and one the file names
//! but the node lacks fails at call time. This builds the RPC module the node merges and
//! compares its methods with the file's.

use std::{collections::BTreeSet, sync::Arc};

use bittensor_primitives::{
	epoch::Uid,
	metagraph::{
		EpochSummary, Hyperparameters, Metagraph as MetagraphState, MetagraphApi, NeuronInfo,
	},
	AccountId, BlockNumber,
};
use bittensor_rpc::{Metagraph, MetagraphRpcApiServer};
use sp_api::{ApiRef, ProvideRuntimeApi};
use sp_blockchain::{BlockStatus, HeaderBackend, Info};
use sp_runtime::{
	generic,
	traits::{BlakeTwo256, Block as BlockT, NumberFor},
	OpaqueExtrinsic,
};

type Block = generic::Block<generic::Header<BlockNumber, BlakeTwo256>, OpaqueExtrinsic>;
type Hash = <Block as BlockT>::Hash;

/// A runtime whose market has no peers.
struct EmptyRuntime;

/// The metagraph of a market with no peers.
fn empty_metagraph() -> MetagraphState<AccountId, BlockNumber> {
	MetagraphState {
		block: 0,
		hyperparameters: Hyperparameters::default(),
		min_allowed_weights: 0,
		total_stake: 0,
		last_epoch: EpochSummary::default(),
		neurons: Vec::new(),
	}
}

sp_api::mock_impl_runtime_apis! {
	impl MetagraphApi<Block, AccountId, BlockNumber> for EmptyRuntime {
		fn metagraph() -> MetagraphState<AccountId, BlockNumber> {
			empty_metagraph()
		}

		fn metagraph_light() -> MetagraphState<AccountId, BlockNumber> {
			empty_metagraph()
		}

		fn neuron(_uid: Uid) -> Option<NeuronInfo<AccountId, BlockNumber>> {
			None
		}

		fn hyperparameters() -> Hyperparameters {
			Hyperparameters::default()
		}

		fn last_epoch() -> EpochSummary<BlockNumber> {
			EpochSummary::default()
		}
	}
}

/// A client with no blocks, serving [`EmptyRuntime`].
struct EmptyClient;

impl ProvideRuntimeApi<Block> for EmptyClient {
	type Api = EmptyRuntime;

	fn runtime_api(&self) -> ApiRef<'_, EmptyRuntime> {
		EmptyRuntime.into()
	}
}

impl HeaderBackend<Block> for EmptyClient {
	fn header(&self, _hash: Hash) -> sp_blockchain::Result<Option<<Block as BlockT>::Header>> {
		Ok(None)
	}

	fn info(&self) -> Info<Block> {
		Info {
			best_hash: Hash::default(),
			best_number: 0,
			genesis_hash: Hash::default(),
			finalized_hash: Hash::default(),
			finalized_number: 0,
			finalized_state: None,
			number_leaves: 0,
			block_gap: None,
		}
	}

	fn status(&self, _hash: Hash) -> sp_blockchain::Result<BlockStatus> {
		Ok(BlockStatus::Unknown)
	}

	fn number(&self, _hash: Hash) -> sp_blockchain::Result<Option<NumberFor<Block>>> {
		Ok(None)
	}

	fn hash(&self, _number: NumberFor<Block>) -> sp_blockchain::Result<Option<Hash>> {
		Ok(None)
	}
}

/// `namespace_method` for every method `metagraph.json` describes.
fn described_methods() -> BTreeSet<String> {
	let text = include_str!("../metagraph.json");
	let json: serde_json::Value = serde_json::from_str(text).expect("metagraph.json is JSON");
	let namespaces = json.as_object().expect("metagraph.json maps namespaces to methods");
	namespaces
		.iter()
		.flat_map(|(namespace, methods)| {
			let methods = methods.as_object().expect("a namespace maps method names to methods");
			methods.keys().map(move |method| format!("{namespace}_{method}"))
		})
		.collect()
}

#[test]
fn metagraph_json_names_exactly_the_served_methods() {
	let module = Metagraph::<EmptyClient, Block>::new(Arc::new(EmptyClient)).into_rpc();
	let served: BTreeSet<String> = module.method_names().map(str::to_owned).collect();
	assert!(!served.is_empty());
	assert_eq!(described_methods(), served);
}
