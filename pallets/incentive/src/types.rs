//! The pallet's types: the stored ones are shared with clients through
//! [`bittensor_primitives::metagraph`]; the argument of `set_hyperparameter` is defined here.

use bittensor_primitives::epoch::{BondsMode, Electorate, Mechanism};
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_arithmetic::{Perbill, Perquintill};

/// A peer's uid: its index in the metagraph.
pub use bittensor_primitives::epoch::Uid;
pub use bittensor_primitives::metagraph::{
	AxonInfo, EpochSummary, Hyperparameters, SignedQuintill, IP_V4, IP_V6,
};

/// One hyperparameter and its new value: the argument of `set_hyperparameter`.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo,
)]
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
	/// The epoch's mechanism. Switching to or from Yuma 3 removes every bond: Yuma 3's bonds
	/// are proportions, the others' are stake, and neither means anything to the other.
	Mechanism(Mechanism),
	/// Most validator permits (1 to `MAX_VALIDATORS`); applied at the next epoch.
	MaxAllowedValidators(u16),
	/// Whether weights are committed and revealed (`set_weights` is then refused).
	CommitRevealEnabled(bool),
	/// Blocks from a commit to its reveal window, and the window's length (at least 1).
	CommitRevealPeriod(u32),
	/// Whose stake judges each column: `Voters` (the voters other than the peer; the default
	/// of new chains) or `AllStake` (the 2021 paper); applied at the next epoch.
	Electorate(Electorate),
}

/// A validator's pending weights commit.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo)]
pub struct WeightsCommit<BlockNumber> {
	/// [`bittensor_primitives::weights_commit_hash`] of the weights to be revealed.
	pub hash: bittensor_primitives::Hash,
	/// Block of the commit: the reveal window is `[block + period, block + 2·period)`.
	pub block: BlockNumber,
}
