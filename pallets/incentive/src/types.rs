//! The pallet's stored types: hyperparameters, endpoints and epoch summaries.

use bittensor_primitives::epoch::{BondsMode, Mechanism};
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use serde::{Deserialize, Serialize};
use sp_arithmetic::{Perbill, Perquintill};

/// A peer's uid: its index in the metagraph.
pub use bittensor_primitives::epoch::Uid;

/// Every hyperparameter of the mechanism, stored as one value so the epoch reads it once.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Hyperparameters {
	/// Blocks between two epochs.
	pub tempo: u32,
	/// Consensus temperature `ρ`.
	pub rho: u32,
	/// Consensus shift `κ`.
	pub kappa: Perquintill,
	/// Rao minted per block, paid out at each epoch.
	pub block_emission: u64,
	/// A peer whose last update is more than this many blocks old is inactive.
	pub activity_cutoff: u32,
	/// The least `MinAllowedWeights` may fall to under the loss peg (what root last set).
	pub min_allowed_weights: u16,
	/// The largest share of a row one weight may take.
	pub max_weight_limit: Perbill,
	/// Most peers the metagraph holds; past it, registration replaces a peer.
	pub max_allowed_uids: u16,
	/// Blocks after registration during which a peer cannot be replaced.
	pub immunity_period: u32,
	/// Rao a coldkey burns to register a hotkey.
	pub registration_cost: u64,
	/// Blocks a peer must wait between two `set_weights`.
	pub weights_set_rate_limit: u32,
	/// Oldest weights version key `set_weights` accepts.
	pub weights_version_key: u64,
	/// Most registrations in one block.
	pub max_registrations_per_block: u16,
	/// Most registrations per `registration_interval` blocks.
	pub max_registrations_per_interval: u16,
	/// Length in blocks of a registration interval.
	pub registration_interval: u32,
	/// How bonds accumulate.
	pub bonds_mode: BondsMode,
	/// Which mechanism the epoch runs.
	pub mechanism: Mechanism,
}

impl Default for Hyperparameters {
	fn default() -> Self {
		Self {
			tempo: 360,
			rho: 10,
			kappa: Perquintill::from_percent(50),
			block_emission: 1_000_000_000,
			activity_cutoff: 5_000,
			min_allowed_weights: 1,
			max_weight_limit: Perbill::one(),
			max_allowed_uids: 4096,
			immunity_period: 4_096,
			registration_cost: 1_000_000_000,
			weights_set_rate_limit: 100,
			weights_version_key: 0,
			max_registrations_per_block: 3,
			max_registrations_per_interval: 128,
			registration_interval: 1_000,
			bonds_mode: BondsMode::Cumulative,
			mechanism: Mechanism::Yuma2021,
		}
	}
}

/// One hyperparameter and its new value: the argument of `set_hyperparameter`.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo)]
pub enum Hyperparameter {
	/// Blocks between two epochs (at least 1).
	Tempo(u32),
	/// Consensus temperature `ρ`.
	Rho(u32),
	/// Consensus shift `κ`.
	Kappa(Perquintill),
	/// Rao minted per block.
	BlockEmission(u64),
	/// Blocks after which a peer that has not updated is inactive.
	ActivityCutoff(u32),
	/// Least number of non-self weights; also the floor of the loss peg.
	MinAllowedWeights(u16),
	/// Largest share of a row one weight may take (not zero).
	MaxWeightLimit(Perbill),
	/// Most peers; at least the current number of peers and at most the runtime's bound.
	MaxAllowedUids(u16),
	/// Blocks of protection from replacement after registering.
	ImmunityPeriod(u32),
	/// Rao burned to register.
	RegistrationCost(u64),
	/// Blocks between two `set_weights` of one peer.
	WeightsSetRateLimit(u32),
	/// Oldest accepted weights version key.
	WeightsVersionKey(u64),
	/// Most registrations per block (at least 1).
	MaxRegistrationsPerBlock(u16),
	/// Most registrations per interval (at least 1).
	MaxRegistrationsPerInterval(u16),
	/// Blocks in a registration interval (at least 1).
	RegistrationInterval(u32),
	/// Bond accumulation: cumulative, or a moving average with weight `α`.
	BondsMode(BondsMode),
	/// The epoch's mechanism.
	Mechanism(Mechanism),
}

/// Address family of an endpoint.
pub const IP_V4: u8 = 4;
/// Address family of an endpoint.
pub const IP_V6: u8 = 6;

/// A peer's served endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo)]
pub struct AxonInfo<BlockNumber> {
	/// Block at which it was served.
	pub block: BlockNumber,
	/// The neuron's software version.
	pub version: u32,
	/// IPv4 (in the low 32 bits) or IPv6 address.
	pub ip: u128,
	/// TCP port.
	pub port: u16,
	/// [`IP_V4`] or [`IP_V6`].
	pub ip_type: u8,
	/// Wire protocol identifier (0: gRPC).
	pub protocol: u8,
}

/// A signed fraction with 18 decimals (`10^18` is 1): how the epoch's loss is stored.
pub type SignedQuintill = i64;

/// What the last epoch did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo)]
pub struct EpochSummary<BlockNumber> {
	/// Block it ran at.
	pub block: BlockNumber,
	/// `L = −Σ R·(C − ½)`, in units of `10^-18`.
	pub loss: SignedQuintill,
	/// Rao minted and credited as stake.
	pub minted: u64,
}
