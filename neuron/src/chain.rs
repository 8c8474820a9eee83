//! The neuron's link to the chain, through subxt's dynamic API (the node's metadata is read at
//! connection time, not at build time): the incentive pallet's calls, signed by the coldkey or
//! the hotkey as the pallet requires, and the metagraph through the `metagraph_get` and
//! `metagraph_getLight` RPCs (the light one for polling).

use std::net::{IpAddr, SocketAddr};

use bittensor_primitives::{
	json::{address, MetagraphJson},
	metagraph::{IP_V4, IP_V6},
	registration_message, weights_commit_hash,
};
use sp_core::{crypto::AccountId32, sr25519, Pair};
use subxt::{
	dynamic,
	error::{DispatchError, TransactionEventsError, TransactionFinalizedSuccessError},
	ext::scale_value::Composite,
	extrinsics::ExtrinsicEvents,
	rpcs::{rpc_params, RpcClient},
	transactions::Signer,
	utils::{AccountId32 as SubxtAccountId, MultiAddress, MultiSignature, H256},
	OnlineClient, PolkadotConfig,
};

/// A hotkey that the chain lists under another coldkey than the wallet's: a neuron started
/// with it would work for that other coldkey's stake.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
	"hotkey {hotkey} is registered to coldkey {owner} on chain, but this wallet's coldkey is \
	 {coldkey}"
)]
pub struct NotOwner {
	/// The hotkey.
	pub hotkey: String,
	/// Its owner on chain.
	pub owner: String,
	/// The wallet's coldkey.
	pub coldkey: String,
}

/// A dynamic call argument, as [`ChainClient::set_hyperparameter`] takes it.
pub use subxt::dynamic::Value;

/// Refuses `hotkey` if `metagraph` lists it under a coldkey other than `coldkey`; a hotkey
/// that is not registered yet passes.
pub fn check_owner(
	metagraph: &MetagraphJson,
	hotkey: &AccountId32,
	coldkey: &AccountId32,
) -> Result<(), NotOwner> {
	let Some(neuron) = metagraph.neuron_by_hotkey(hotkey) else { return Ok(()) };
	let coldkey = address(coldkey);
	if neuron.coldkey == coldkey {
		return Ok(());
	}
	Err(NotOwner { hotkey: neuron.hotkey.clone(), owner: neuron.coldkey.clone(), coldkey })
}

/// Why a chain operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
	/// No node answers at the URL.
	#[error("cannot reach a node at {url}: {reason} (is bittensor-node running with --rpc-port?)")]
	Unreachable {
		/// The URL tried.
		url: String,
		/// The client's error.
		reason: String,
	},
	/// The node did not accept the transaction into its pool (bad nonce, no funds for fees…).
	#[error("{call} was not accepted: {reason}")]
	Rejected {
		/// The call, e.g. `Incentive.set_weights`.
		call: String,
		/// The node's reason.
		reason: String,
	},
	/// The transaction was included and failed; `error` names the module error, e.g.
	/// `Incentive::DuplicateUids`.
	#[error("{call} failed: {error}")]
	Failed {
		/// The call.
		call: String,
		/// The dispatch error's name.
		error: String,
	},
	/// An RPC call failed.
	#[error("{method}: {reason}")]
	Rpc {
		/// The RPC method.
		method: String,
		/// The error.
		reason: String,
	},
}

impl ChainError {
	/// The module error's name (`Incentive::DuplicateUids`), if a call failed with one.
	pub fn module_error(&self) -> Option<&str> {
		match self {
			ChainError::Failed { error, .. } => Some(error),
			_ => None,
		}
	}
}

/// An sr25519 key as subxt's signer.
struct KeySigner<'a>(&'a sr25519::Pair);

impl Signer<PolkadotConfig> for KeySigner<'_> {
	fn account_id(&self) -> SubxtAccountId {
		SubxtAccountId(self.0.public().0)
	}

	fn sign(&self, payload: &[u8]) -> MultiSignature {
		MultiSignature::Sr25519(self.0.sign(payload).0)
	}
}

fn account(id: &AccountId32) -> SubxtAccountId {
	SubxtAccountId(*id.as_ref())
}

/// A connection to a node.
pub struct ChainClient {
	api: OnlineClient<PolkadotConfig>,
	rpc: RpcClient,
}

impl ChainClient {
	/// Connects to the node at `url` (`ws://` or `wss://`).
	pub async fn connect(url: &str) -> Result<Self, ChainError> {
		let unreachable = |reason: String| ChainError::Unreachable { url: url.to_string(), reason };
		let rpc = RpcClient::from_insecure_url(url)
			.await
			.map_err(|e| unreachable(e.to_string()))?;
		let api = OnlineClient::<PolkadotConfig>::from_rpc_client(rpc.clone())
			.await
			.map_err(|e| unreachable(e.to_string()))?;
		Ok(Self { api, rpc })
	}

	/// The hash of the chain's genesis block: the network that signed requests between neurons
	/// name, so that a request for one chain is void on another.
	pub fn genesis_hash(&self) -> [u8; 32] {
		self.api.genesis_hash().0
	}

	/// Submits `pallet.call(args)` signed by `signer` and waits until it is finalized.
	async fn submit(
		&self,
		pallet: &str,
		call: &str,
		args: impl subxt::ext::scale_encode::EncodeAsFields,
		signer: &sr25519::Pair,
	) -> Result<(), ChainError> {
		self.submit_for_events(pallet, call, args, signer).await.map(|_| ())
	}

	/// [`Self::submit`], returning the events the call emitted.
	async fn submit_for_events(
		&self,
		pallet: &str,
		call: &str,
		args: impl subxt::ext::scale_encode::EncodeAsFields,
		signer: &sr25519::Pair,
	) -> Result<ExtrinsicEvents<PolkadotConfig>, ChainError> {
		let name = format!("{pallet}.{call}");
		let rejected = |reason: String| ChainError::Rejected { call: name.clone(), reason };
		let payload = dynamic::transaction(pallet, call, args);
		let at = self.api.at_current_block().await.map_err(|e| rejected(e.to_string()))?;
		let progress = at
			.transactions()
			.sign_and_submit_then_watch_default(&payload, &KeySigner(signer))
			.await
			.map_err(|e| rejected(e.to_string()))?;
		match progress.wait_for_finalized_success().await {
			Ok(events) => Ok(events),
			Err(TransactionFinalizedSuccessError::SuccessError(
				TransactionEventsError::ExtrinsicFailed(error),
			)) => {
				let error = match error {
					DispatchError::Module(module) => module.details_string(),
					other => other.to_string(),
				};
				Err(ChainError::Failed { call: name, error })
			},
			Err(other) => Err(rejected(other.to_string())),
		}
	}

	/// Registers `hotkey` as a peer, paid by the signing `coldkey`; the hotkey signs the
	/// proof that the coldkey holds it ([`registration_message`]).
	pub async fn register(
		&self,
		coldkey: &sr25519::Pair,
		hotkey: &sr25519::Pair,
	) -> Result<(), ChainError> {
		let message =
			registration_message(&AccountId32::from(coldkey.public()), &self.genesis_hash());
		let proof = MultiSignature::Sr25519(hotkey.sign(&message).0);
		let hotkey = SubxtAccountId(hotkey.public().0);
		self.submit("Incentive", "register", (hotkey, proof), coldkey).await
	}

	/// Publishes the signing hotkey's axon endpoint.
	pub async fn serve_axon(
		&self,
		hotkey: &sr25519::Pair,
		address: SocketAddr,
		protocol: u8,
		version: u32,
	) -> Result<(), ChainError> {
		let (ip, ip_type) = match address.ip() {
			IpAddr::V4(ip) => (u128::from(u32::from(ip)), IP_V4),
			IpAddr::V6(ip) => (u128::from(ip), IP_V6),
		};
		self.submit(
			"Incentive",
			"serve_axon",
			(ip, address.port(), ip_type, protocol, version),
			hotkey,
		)
		.await
	}

	/// Moves `amount` rao of the signing coldkey's free balance into `hotkey`'s stake.
	pub async fn add_stake(
		&self,
		coldkey: &sr25519::Pair,
		hotkey: &AccountId32,
		amount: u64,
	) -> Result<(), ChainError> {
		self.submit("Incentive", "add_stake", (account(hotkey), amount), coldkey).await
	}

	/// Moves `amount` rao of `hotkey`'s stake back to the signing coldkey.
	pub async fn remove_stake(
		&self,
		coldkey: &sr25519::Pair,
		hotkey: &AccountId32,
		amount: u64,
	) -> Result<(), ChainError> {
		self.submit("Incentive", "remove_stake", (account(hotkey), amount), coldkey)
			.await
	}

	/// Sets the signing hotkey's weights.
	pub async fn set_weights(
		&self,
		hotkey: &sr25519::Pair,
		uids: &[u16],
		weights: &[u16],
		version_key: u64,
	) -> Result<(), ChainError> {
		self.submit(
			"Incentive",
			"set_weights",
			(uids.to_vec(), weights.to_vec(), version_key),
			hotkey,
		)
		.await
	}

	/// Commits the signing hotkey to a row without showing it: the chain keeps
	/// [`weights_commit_hash`] of it, which [`Self::reveal_weights`] opens `CommitRevealPeriod`
	/// blocks later. Returns the block the reveal window opens at, as the chain's
	/// `WeightsCommitted` event gives it.
	pub async fn commit_weights(
		&self,
		hotkey: &sr25519::Pair,
		uids: &[u16],
		weights: &[u16],
		salt: &[u8; 32],
		version_key: u64,
	) -> Result<u32, ChainError> {
		let hash = weights_commit_hash(
			&AccountId32::from(hotkey.public()),
			&self.genesis_hash(),
			uids,
			weights,
			salt,
			version_key,
		);
		let events = self
			.submit_for_events("Incentive", "commit_weights", (H256(hash.0),), hotkey)
			.await?;
		let reveal_from = events
			.iter()
			.filter_map(Result::ok)
			.find(|event| {
				event.pallet_name() == "Incentive" && event.event_name() == "WeightsCommitted"
			})
			.and_then(|event| event.decode_fields_unchecked_as::<Composite<()>>().ok())
			.and_then(|fields| match fields {
				Composite::Named(fields) => {
					fields.into_iter().find(|(name, _)| name == "reveal_from")
				},
				Composite::Unnamed(_) => None,
			})
			.and_then(|(_, value)| value.as_u128())
			.and_then(|block| u32::try_from(block).ok());
		reveal_from.ok_or_else(|| ChainError::Rejected {
			call: "Incentive.commit_weights".into(),
			reason: "no WeightsCommitted event with its reveal_from".into(),
		})
	}

	/// Reveals the row of the signing hotkey's pending commit.
	pub async fn reveal_weights(
		&self,
		hotkey: &sr25519::Pair,
		uids: &[u16],
		weights: &[u16],
		salt: &[u8; 32],
		version_key: u64,
	) -> Result<(), ChainError> {
		self.submit(
			"Incentive",
			"reveal_weights",
			(uids.to_vec(), weights.to_vec(), *salt, version_key),
			hotkey,
		)
		.await
	}

	/// Root only: sets one hyperparameter through `Sudo.sudo`, signed by the sudo key (//Alice
	/// on the dev and local chains), e.g. `Value::unnamed_variant("CommitRevealEnabled",
	/// [Value::bool(true)])`. Sudo reports a refused inner call in its `Sudid` event, not as
	/// a failed extrinsic: read the hyperparameters back to know it took.
	pub async fn set_hyperparameter(
		&self,
		root: &sr25519::Pair,
		value: dynamic::Value,
	) -> Result<(), ChainError> {
		let fields = Composite::named([("value".to_string(), value)]);
		let call = dynamic::transaction("Incentive", "set_hyperparameter", fields).into_value();
		self.submit("Sudo", "sudo", (call,), root).await
	}

	/// Sends `amount` rao from `from` to `to` (hotkeys pay their own transaction fees).
	pub async fn transfer(
		&self,
		from: &sr25519::Pair,
		to: &AccountId32,
		amount: u64,
	) -> Result<(), ChainError> {
		let destination: MultiAddress<SubxtAccountId, ()> = MultiAddress::Id(account(to));
		self.submit("Balances", "transfer_keep_alive", (destination, u128::from(amount)), from)
			.await
	}

	/// The metagraph at the best block, with every validator's weights and bonds.
	pub async fn metagraph(&self) -> Result<MetagraphJson, ChainError> {
		self.read_metagraph("metagraph_get").await
	}

	/// The metagraph at the best block without weights and bonds: what a neuron polls, its
	/// size linear in the peers whatever the validators weight.
	pub async fn metagraph_light(&self) -> Result<MetagraphJson, ChainError> {
		self.read_metagraph("metagraph_getLight").await
	}

	/// The answer of the metagraph RPC `method` at the best block.
	async fn read_metagraph(&self, method: &str) -> Result<MetagraphJson, ChainError> {
		self.rpc
			.request(method, rpc_params![])
			.await
			.map_err(|e| ChainError::Rpc { method: method.into(), reason: e.to_string() })
	}
}

#[cfg(test)]
mod tests {
	use bittensor_primitives::{
		json::{EpochJson, HyperparametersJson, NeuronJson},
		metagraph::Hyperparameters,
	};

	use super::*;

	fn account(uri: &str) -> AccountId32 {
		AccountId32::from(sr25519::Pair::from_string(uri, None).expect("a dev key").public())
	}

	/// A metagraph of one neuron: `hotkey`, owned by `coldkey`.
	fn metagraph(hotkey: &AccountId32, coldkey: &AccountId32) -> MetagraphJson {
		let neuron = NeuronJson::newly_registered(0, hotkey, coldkey);
		MetagraphJson {
			block: 1,
			hyperparameters: HyperparametersJson::from(Hyperparameters::default()),
			min_allowed_weights: 1,
			total_stake: "0".into(),
			last_epoch: EpochJson { block: 0, loss: 0.0, minted: "0".into() },
			neurons: vec![neuron],
		}
	}

	#[test]
	fn a_hotkey_registered_to_another_coldkey_is_refused() {
		let (hotkey, alice, bob) = (account("//Alice//hot"), account("//Alice"), account("//Bob"));
		assert_eq!(check_owner(&metagraph(&hotkey, &alice), &hotkey, &alice), Ok(()));
		assert_eq!(
			check_owner(&metagraph(&bob, &bob), &hotkey, &alice),
			Ok(()),
			"not registered yet"
		);
		let error = check_owner(&metagraph(&hotkey, &bob), &hotkey, &alice).expect_err("refused");
		assert_eq!(
			error.to_string(),
			format!(
				"hotkey {} is registered to coldkey {} on chain, but this wallet's coldkey is {}",
				address(&hotkey),
				address(&bob),
				address(&alice)
			)
		);
	}
}
