//! The BitTensor runtime: the state transition function the validator node executes.
//!
//! Pallets are wired in [`configs`], the runtime APIs the node and clients call are in [`apis`],
//! and the genesis presets (`development`, `local_testnet`) in [`genesis_config_presets`].
#![cfg_attr(not(feature = "std"), no_std)]
// `construct_runtime!` does a lot of recursion and requires us to increase the limit.
#![recursion_limit = "256"]

#[cfg(feature = "std")]
include!(concat!(env!("OUT_DIR"), "/wasm_binary.rs"));

pub mod apis;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarks;
pub mod configs;
pub mod genesis_config_presets;

extern crate alloc;

use alloc::vec::Vec;

use sp_runtime::{generic, impl_opaque_keys, traits::BlakeTwo256, MultiAddress};
#[cfg(feature = "std")]
use sp_version::NativeVersion;
use sp_version::RuntimeVersion;

pub use bittensor_primitives::{
	AccountId, Balance, BlockNumber, Hash, Nonce, Signature, SS58_PREFIX, TOKEN, TOKEN_DECIMALS,
	TOKEN_SYMBOL,
};
pub use frame_system::Call as SystemCall;
pub use pallet_balances::Call as BalancesCall;
pub use pallet_timestamp::Call as TimestampCall;
#[cfg(any(feature = "std", test))]
pub use sp_runtime::BuildStorage;

/// Opaque types: what the node's CLI needs without knowing the runtime's specifics.
pub mod opaque {
	use super::*;
	use sp_runtime::traits::Hash as HashT;

	pub use sp_runtime::OpaqueExtrinsic as UncheckedExtrinsic;

	/// Opaque block header type.
	pub type Header = generic::Header<BlockNumber, BlakeTwo256>;
	/// Opaque block type.
	pub type Block = generic::Block<Header, UncheckedExtrinsic>;
	/// Opaque block identifier type.
	pub type BlockId = generic::BlockId<Block>;
	/// Opaque block hash type.
	pub type Hash = <BlakeTwo256 as HashT>::Output;
}

impl_opaque_keys! {
	/// The session keys of a validator: an Aura key for authoring, a GRANDPA key for finality.
	pub struct SessionKeys {
		/// Block authoring key.
		pub aura: Aura,
		/// Finality voting key.
		pub grandpa: Grandpa,
	}
}

/// Runtime version; bump `spec_version` whenever the runtime's behaviour changes.
#[sp_version::runtime_version]
pub const VERSION: RuntimeVersion = RuntimeVersion {
	spec_name: alloc::borrow::Cow::Borrowed("bittensor"),
	impl_name: alloc::borrow::Cow::Borrowed("bittensor-node"),
	authoring_version: 1,
	spec_version: 100,
	impl_version: 1,
	apis: apis::RUNTIME_API_VERSIONS,
	transaction_version: 1,
	system_version: 1,
};

/// Target block time in milliseconds; Aura's slot duration.
pub const MILLI_SECS_PER_BLOCK: u64 = bittensor_primitives::MILLISECS_PER_BLOCK;

/// Slot duration in milliseconds (one block per slot).
pub const SLOT_DURATION: u64 = MILLI_SECS_PER_BLOCK;

/// Blocks per minute at the target block time.
pub const MINUTES: BlockNumber = 60_000 / (MILLI_SECS_PER_BLOCK as BlockNumber);
/// Blocks per hour at the target block time.
pub const HOURS: BlockNumber = MINUTES * 60;
/// Blocks per day at the target block time.
pub const DAYS: BlockNumber = HOURS * 24;

/// Minimum balance an account must keep to exist, in rao.
pub const EXISTENTIAL_DEPOSIT: Balance = 500;

/// The version information used to identify this runtime when compiled natively.
#[cfg(feature = "std")]
pub fn native_version() -> NativeVersion {
	NativeVersion { runtime_version: VERSION, can_author_with: Default::default() }
}

/// The address format for describing accounts.
pub type Address = MultiAddress<AccountId, ()>;

/// Block header type as expected by this runtime.
pub type Header = generic::Header<BlockNumber, BlakeTwo256>;

/// Block type as expected by this runtime.
pub type Block = generic::Block<Header, UncheckedExtrinsic>;

/// A block identifier: its hash or its number.
pub type BlockId = generic::BlockId<Block>;

/// The transaction extensions checked for every signed transaction.
pub type TxExtension = (
	frame_system::CheckNonZeroSender<Runtime>,
	frame_system::CheckSpecVersion<Runtime>,
	frame_system::CheckTxVersion<Runtime>,
	frame_system::CheckGenesis<Runtime>,
	frame_system::CheckEra<Runtime>,
	frame_system::CheckNonce<Runtime>,
	frame_system::CheckWeight<Runtime>,
	pallet_transaction_payment::ChargeTransactionPayment<Runtime>,
);

/// Unchecked extrinsic type as expected by this runtime.
pub type UncheckedExtrinsic =
	generic::UncheckedExtrinsic<Address, RuntimeCall, Signature, TxExtension>;

/// The payload being signed in transactions.
pub type SignedPayload = generic::SignedPayload<RuntimeCall, TxExtension>;

/// Storage migrations to run on the next runtime upgrade (each runs once, from the storage
/// version it expects).
type Migrations = (
	pallet_incentive::migrations::v2::MigrateToV2<Runtime>,
	pallet_incentive::migrations::v3::MigrateToV3<Runtime>,
	pallet_incentive::migrations::v4::MigrateToV4<Runtime>,
);

/// Executive: handles dispatch to the various pallets.
pub type Executive = frame_executive::Executive<
	Runtime,
	Block,
	frame_system::ChainContext<Runtime>,
	Runtime,
	AllPalletsWithSystem,
	Migrations,
>;

/// The runtime: the pallets it is made of, in order, with their indices.
#[frame_support::runtime]
mod runtime {
	#[runtime::runtime]
	#[runtime::derive(
		RuntimeCall,
		RuntimeEvent,
		RuntimeError,
		RuntimeOrigin,
		RuntimeFreezeReason,
		RuntimeHoldReason,
		RuntimeSlashReason,
		RuntimeLockId,
		RuntimeTask,
		RuntimeViewFunction
	)]
	pub struct Runtime;

	#[runtime::pallet_index(0)]
	pub type System = frame_system;

	#[runtime::pallet_index(1)]
	pub type Timestamp = pallet_timestamp;

	#[runtime::pallet_index(2)]
	pub type Aura = pallet_aura;

	#[runtime::pallet_index(3)]
	pub type Grandpa = pallet_grandpa;

	#[runtime::pallet_index(4)]
	pub type Balances = pallet_balances;

	#[runtime::pallet_index(5)]
	pub type TransactionPayment = pallet_transaction_payment;

	#[runtime::pallet_index(6)]
	pub type Sudo = pallet_sudo;

	#[runtime::pallet_index(7)]
	pub type Incentive = pallet_incentive;
}
