//! The metagraph: the market's state as clients read it, and the runtime API that serves it.
//!
//! The pallet stores [`Hyperparameters`], [`AxonInfo`] and [`EpochSummary`] as defined here;
//! [`Metagraph`] and [`NeuronInfo`] gather a block's state for the [`MetagraphApi`], which
//! polkadot.js calls as `api.call.metagraphApi.*` and the node's `metagraph_*` RPC wraps.

use crate::{
	epoch::{BondsMode, Electorate, EpochParams, Mechanism, Uid},
	fixed_math::from_perquintill,
	yuma3::MAX_ALPHA_SIGMOID_STEEPNESS,
};
use alloc::vec::Vec;
use codec::{Codec, Decode, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use serde::{Deserialize, Serialize};
use sp_arithmetic::{PerThing, Perbill, Perquintill};
use substrate_fixed::types::U64F64;

/// Every hyperparameter of the mechanism, stored as one value so the epoch reads it once.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo, Serialize, Deserialize,
)]
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
	/// Most validator permits: only the peers with the most stake set weights that count and
	/// hold bonds, which bounds the epoch by `max_allowed_validators × max_allowed_uids`.
	pub max_allowed_validators: u16,
	/// Whether validators must commit a hash of their weights (`commit_weights`) and reveal
	/// them later (`reveal_weights`) instead of setting them (`set_weights` is refused): nobody
	/// can copy weights before they count.
	pub commit_reveal_enabled: bool,
	/// Blocks from a commit until its reveal window opens; the window lasts as long again,
	/// after which an unrevealed commit expires.
	pub commit_reveal_period: u32,
	/// Whose stake judges each peer's column: the voters other than the peer (a validator's
	/// own column and stake that sets no weights abstain), or all the stake (the 2021 paper).
	pub electorate: Electorate,
}

/// The most `max_allowed_validators` may be: with rows of at most 4096 weights, the epoch's
/// worst case is 128 × 4096 weights and as many bonds (see `docs/mechanism.md`).
pub const MAX_VALIDATORS: u16 = 128;

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
			max_allowed_validators: 64,
			commit_reveal_enabled: false,
			commit_reveal_period: 360,
			electorate: Electorate::Voters,
		}
	}
}

/// A rule a set of [`Hyperparameters`] breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HyperparameterError {
	/// `tempo` is 0: the epoch would never run.
	ZeroTempo,
	/// `activity_cutoff` is 0: every peer would be inactive.
	ZeroActivityCutoff,
	/// `block_emission × tempo`, what one epoch mints, does not fit in a `u64`.
	EmissionOverflow,
	/// `max_allowed_uids` is 0 or above the runtime's bound.
	UidsOutOfRange,
	/// `min_allowed_weights` is above `max_allowed_uids`.
	MinWeightsAboveUids,
	/// `max_weight_limit × max_allowed_uids < 1`: no row of a full metagraph meets the limit.
	WeightLimitUnreachable,
	/// A registration limit or the interval is 0, or more registrations are allowed per block
	/// than per interval.
	RegistrationLimits,
	/// Moving-average bonds with `alpha = 1` would never change.
	BondsNeverMove,
	/// `max_allowed_validators` is 0 or above [`MAX_VALIDATORS`].
	ValidatorsOutOfRange,
	/// Yuma 3's `alpha_low` is 0 (bonds would never move without liquid α) or above
	/// `alpha_high`.
	AlphaOutOfRange,
	/// Yuma 3's `alpha_sigmoid_steepness` is 0 or above [`MAX_ALPHA_SIGMOID_STEEPNESS`].
	SteepnessOutOfRange,
	/// `commit_reveal_period` is 0: a commit could be revealed in its own block.
	ZeroCommitRevealPeriod,
}

impl Hyperparameters {
	/// The parameters the epoch runs under.
	pub fn epoch_params(&self) -> EpochParams {
		EpochParams {
			mechanism: self.mechanism,
			bonds_mode: self.bonds_mode,
			electorate: self.electorate,
			rho: U64F64::from_num(self.rho),
			kappa: from_perquintill(self.kappa),
		}
	}

	/// Checks the rules every set of hyperparameters must meet, for a runtime that holds at
	/// most `max_uids` peers. Genesis and every change by root go through the same check.
	pub fn check(&self, max_uids: u32) -> Result<(), HyperparameterError> {
		use HyperparameterError::*;
		let rules = [
			(self.tempo > 0, ZeroTempo),
			(self.activity_cutoff > 0, ZeroActivityCutoff),
			(self.block_emission.checked_mul(u64::from(self.tempo)).is_some(), EmissionOverflow),
			(
				self.max_allowed_uids > 0 && u32::from(self.max_allowed_uids) <= max_uids,
				UidsOutOfRange,
			),
			(self.min_allowed_weights <= self.max_allowed_uids, MinWeightsAboveUids),
			(
				u64::from(self.max_weight_limit.deconstruct())
					.saturating_mul(u64::from(self.max_allowed_uids))
					>= u64::from(Perbill::ACCURACY),
				WeightLimitUnreachable,
			),
			(
				self.max_registrations_per_block > 0
					&& self.registration_interval > 0
					&& self.max_registrations_per_block <= self.max_registrations_per_interval,
				RegistrationLimits,
			),
			(
				!matches!(self.bonds_mode, BondsMode::MovingAverage { alpha } if alpha == Perquintill::one()),
				BondsNeverMove,
			),
			((1..=MAX_VALIDATORS).contains(&self.max_allowed_validators), ValidatorsOutOfRange),
			(
				!matches!(self.mechanism, Mechanism::Yuma3(y) if y.alpha_low.is_zero() || y.alpha_low > y.alpha_high),
				AlphaOutOfRange,
			),
			(
				!matches!(self.mechanism, Mechanism::Yuma3(y) if !(1..=MAX_ALPHA_SIGMOID_STEEPNESS).contains(&y.alpha_sigmoid_steepness)),
				SteepnessOutOfRange,
			),
			(self.commit_reveal_period > 0, ZeroCommitRevealPeriod),
		];
		match rules.into_iter().find(|(holds, _)| !holds) {
			Some((_, broken)) => Err(broken),
			None => Ok(()),
		}
	}
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

/// One peer of the metagraph with everything the chain knows about it.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct NeuronInfo<AccountId, BlockNumber> {
	/// Its index in the metagraph.
	pub uid: Uid,
	/// The key the peer signs with.
	pub hotkey: AccountId,
	/// The key that registered it and owns its stake.
	pub coldkey: AccountId,
	/// Stake, in rao.
	pub stake: u64,
	/// Whether it updated its weights (or registered) within `activity_cutoff` blocks.
	pub active: bool,
	/// Whether it holds a validator permit: only then do its weights count.
	pub validator_permit: bool,
	/// Block of its last weights (or of its registration).
	pub last_update: BlockNumber,
	/// Block it registered at.
	pub registered_at: BlockNumber,
	/// Rank at the last epoch.
	pub rank: Perquintill,
	/// Trust at the last epoch.
	pub trust: Perquintill,
	/// Consensus at the last epoch.
	pub consensus: Perquintill,
	/// Incentive at the last epoch.
	pub incentive: Perquintill,
	/// Dividends at the last epoch.
	pub dividends: Perquintill,
	/// Rao credited to its stake at the last epoch.
	pub emission: u64,
	/// Its served endpoint, if any.
	pub axon: Option<AxonInfo<BlockNumber>>,
	/// Its weights: `(uid, weight)`, sorted by uid.
	pub weights: Vec<(Uid, u16)>,
	/// Its bonds: `(uid, bond)`, sorted by uid.
	pub bonds: Vec<(Uid, u64)>,
}

/// The whole metagraph at one block.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct Metagraph<AccountId, BlockNumber> {
	/// The block it was read at.
	pub block: BlockNumber,
	/// Every hyperparameter.
	pub hyperparameters: Hyperparameters,
	/// The least number of non-self weights `set_weights` accepts now (after the loss peg).
	pub min_allowed_weights: u16,
	/// Sum of all stake, in rao.
	pub total_stake: u64,
	/// What the last epoch did.
	pub last_epoch: EpochSummary<BlockNumber>,
	/// Every peer, in uid order.
	pub neurons: Vec<NeuronInfo<AccountId, BlockNumber>>,
}

sp_api::decl_runtime_apis! {
	/// Reads the incentive market's state: the metagraph.
	///
	/// Version 2 added `metagraph_light`.
	#[api_version(2)]
	pub trait MetagraphApi<AccountId, BlockNumber> where
		AccountId: Codec,
		BlockNumber: Codec,
	{
		/// Every peer with its stake, endpoint, epoch outputs, weights and bonds, together
		/// with the hyperparameters and the last epoch.
		fn metagraph() -> Metagraph<AccountId, BlockNumber>;
		/// The metagraph with every peer's `weights` and `bonds` left empty: what a neuron
		/// needs (stake, endpoints, scores, permits) in a size linear in the peers, whatever
		/// the validators weight. Read one peer's rows with `neuron`.
		#[api_version(2)]
		fn metagraph_light() -> Metagraph<AccountId, BlockNumber>;
		/// One peer, or `None` if `uid` is not registered.
		fn neuron(uid: Uid) -> Option<NeuronInfo<AccountId, BlockNumber>>;
		/// Every hyperparameter.
		fn hyperparameters() -> Hyperparameters;
		/// What the last epoch did: its block, loss and the rao it minted.
		fn last_epoch() -> EpochSummary<BlockNumber>;
	}
}
