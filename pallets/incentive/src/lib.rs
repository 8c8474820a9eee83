//! # Incentive pallet
//!
//! The market mechanism of BitTensor on chain: peers register hotkeys, stake, publish their
//! endpoints and set weights on each other; every `Tempo` blocks the epoch turns weights and
//! stake into rank, trust, consensus, incentive, bonds, dividends and newly minted stake, as
//! `docs/mechanism.md` defines (the math itself is [`bittensor_primitives::epoch`]).
//!
//! - Stake is held in the pallet's account (`PalletId`): staking moves tokens, never creates or
//!   destroys them, and that account always holds the total stake plus the existential deposit.
//! - Registration burns `RegistrationCost` from the coldkey. When `MaxAllowedUids` is reached the
//!   newcomer replaces the peer with the lowest emission outside `ImmunityPeriod`, whose stake goes
//!   back to its coldkey.
//! - The epoch's emission is minted into the pallet account and credited as stake, so total
//!   issuance grows by exactly what was credited.
// Runtime code never panics and never overflows: saturating or checked math, `get` in place
// of indexing, errors in place of `unwrap`/`expect`.
#![deny(
	clippy::arithmetic_side_effects,
	clippy::indexing_slicing,
	clippy::unwrap_used,
	clippy::expect_used
)]
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod epoch;
pub mod metagraph;
pub mod migrations;
#[cfg(test)]
mod mock;
mod registration;
mod serving;
mod staking;
#[cfg(test)]
mod tests;
pub mod types;
mod weight_setting;
pub mod weights;

pub use types::*;
pub use weights::WeightInfo;

/// Makes what the benchmarks cannot make from an account id alone: a hotkey that can sign.
#[cfg(feature = "runtime-benchmarks")]
pub trait BenchmarkHelper<AccountId, Signature> {
	/// A new hotkey and its signature over `message`.
	fn sign_with_new_hotkey(message: &[u8]) -> (AccountId, Signature);
}

// FRAME's expansion of these declarations calls `expect` on values known at compile time
// (pallet and storage prefixes). The pallet's logic lives in the other modules, which keep
// every lint denied.
#[allow(clippy::expect_used)]
#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use alloc::vec::Vec;
	use frame_support::{
		pallet_prelude::*,
		traits::{fungible, BuildGenesisConfig},
		PalletId,
	};
	use frame_system::pallet_prelude::*;
	use sp_arithmetic::Perquintill;
	use sp_runtime::traits::{IdentifyAccount, Verify};

	/// The in-code storage version: `migrations` takes older state to it (see
	/// `docs/mechanism.md`, "Upgrades").
	pub const STORAGE_VERSION: StorageVersion = StorageVersion::new(4);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	/// Configuration of the pallet.
	#[pallet::config]
	pub trait Config: frame_system::Config {
		/// The overarching event type.
		type RuntimeEvent: From<Event<Self>> + IsType<<Self as frame_system::Config>::RuntimeEvent>;

		/// The native token, in rao: registration burns it, stake is held in the pallet account.
		type Currency: fungible::Mutate<Self::AccountId>
			+ fungible::Inspect<Self::AccountId, Balance = u64>;

		/// Identifier of the account that holds all stake.
		#[pallet::constant]
		type PalletId: Get<PalletId>;

		/// Hard bound on `MaxAllowedUids`: the length bound of every per-peer vector.
		#[pallet::constant]
		type MaxUids: Get<u32>;

		/// The most the epoch may be charged. Should the epoch over `MaxAllowedValidators`
		/// full rows cost more (after an upgrade that changed a bound or the weights), it gives
		/// permits to as many validators as fit instead, so the chain never stalls on it.
		#[pallet::constant]
		type MaxEpochWeight: Get<Weight>;

		/// A hotkey's signature: `register` takes one over [`Pallet::registration_message`] as
		/// proof that the registering coldkey holds the hotkey.
		type HotkeySignature: Parameter
			+ Verify<Signer: IdentifyAccount<AccountId = Self::AccountId>>;

		/// Weights of the calls and of the epoch, from benchmarks.
		type WeightInfo: WeightInfo;

		/// Makes hotkeys and their registration proofs for the benchmarks.
		#[cfg(feature = "runtime-benchmarks")]
		type BenchmarkHelper: BenchmarkHelper<Self::AccountId, Self::HotkeySignature>;
	}

	/// Every hyperparameter (`set_hyperparameter` changes one at a time).
	#[pallet::storage]
	pub type Hyperparams<T> = StorageValue<_, Hyperparameters, ValueQuery>;

	/// The least number of non-self weights `set_weights` accepts now (moved by the loss peg).
	#[pallet::storage]
	pub type MinAllowedWeights<T> =
		StorageValue<_, u16, ValueQuery, frame_support::traits::ConstU16<1>>;

	/// Whether endpoints on loopback addresses are accepted (dev and local chains).
	#[pallet::storage]
	pub type AllowLoopback<T> = StorageValue<_, bool, ValueQuery>;

	/// Number of registered peers `n`; uids are `0..n`.
	#[pallet::storage]
	pub type PeerCount<T> = StorageValue<_, u16, ValueQuery>;

	/// The hotkey of each uid.
	#[pallet::storage]
	pub type Keys<T: Config> = StorageMap<_, Twox64Concat, Uid, T::AccountId>;

	/// The uid of each registered hotkey.
	#[pallet::storage]
	pub type Uids<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, Uid>;

	/// The coldkey that registered (and owns the stake of) each hotkey.
	#[pallet::storage]
	pub type Owner<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, T::AccountId>;

	/// Stake of each uid, in rao.
	#[pallet::storage]
	pub type Stake<T: Config> = StorageValue<_, BoundedVec<u64, T::MaxUids>, ValueQuery>;

	/// Sum of all stake, in rao.
	#[pallet::storage]
	pub type TotalStake<T> = StorageValue<_, u64, ValueQuery>;

	/// Whether each uid holds a validator permit: only these set weights and hold bonds. The
	/// epoch gives them to the `MaxAllowedValidators` peers with the most stake; between
	/// epochs, a peer that stakes takes a vacant one.
	#[pallet::storage]
	pub type ValidatorPermit<T: Config> = StorageValue<_, BoundedVec<bool, T::MaxUids>, ValueQuery>;

	/// Block of each uid's last update: its registration or its last `set_weights`.
	#[pallet::storage]
	pub type LastUpdate<T: Config> =
		StorageValue<_, BoundedVec<BlockNumberFor<T>, T::MaxUids>, ValueQuery>;

	/// Block at which each uid's current peer registered.
	#[pallet::storage]
	pub type RegisteredAt<T: Config> =
		StorageValue<_, BoundedVec<BlockNumberFor<T>, T::MaxUids>, ValueQuery>;

	/// Block of each uid's last `set_weights` (rate limit); absent if it never set any.
	#[pallet::storage]
	pub type WeightsSetAt<T: Config> = StorageMap<_, Twox64Concat, Uid, BlockNumberFor<T>>;

	/// Each validator's weights as set: `(uid, weight)` sorted by uid, zero weights left out;
	/// removed when its permit goes.
	#[pallet::storage]
	pub type Weights<T: Config> =
		StorageMap<_, Twox64Concat, Uid, BoundedVec<(Uid, u16), T::MaxUids>, ValueQuery>;

	/// Number of `(uid, weight)` entries over all rows (drives the epoch's weight).
	#[pallet::storage]
	pub type WeightsCount<T> = StorageValue<_, u32, ValueQuery>;

	/// Each validator's pending weights commit (commit-reveal): at most one, removed when it
	/// is revealed, when it expires (at the next epoch), or when the permit goes.
	#[pallet::storage]
	pub type WeightCommits<T: Config> =
		StorageMap<_, Twox64Concat, Uid, WeightsCommit<BlockNumberFor<T>>>;

	/// Each validator's bonds: `(uid, rao)` sorted by uid; removed when its permit goes.
	#[pallet::storage]
	pub type Bonds<T: Config> =
		StorageMap<_, Twox64Concat, Uid, BoundedVec<(Uid, u64), T::MaxUids>, ValueQuery>;

	/// Number of bond entries over all rows (drives the epoch's weight).
	#[pallet::storage]
	pub type BondsCount<T> = StorageValue<_, u32, ValueQuery>;

	/// Each uid's endpoint.
	#[pallet::storage]
	pub type Axons<T: Config> = StorageMap<_, Twox64Concat, Uid, AxonInfo<BlockNumberFor<T>>>;

	/// Normalized active stake of each uid at the last epoch.
	#[pallet::storage]
	pub type ActiveStake<T: Config> =
		StorageValue<_, BoundedVec<Perquintill, T::MaxUids>, ValueQuery>;

	/// Rank of each uid at the last epoch.
	#[pallet::storage]
	pub type Rank<T: Config> = StorageValue<_, BoundedVec<Perquintill, T::MaxUids>, ValueQuery>;

	/// Trust of each uid at the last epoch.
	#[pallet::storage]
	pub type Trust<T: Config> = StorageValue<_, BoundedVec<Perquintill, T::MaxUids>, ValueQuery>;

	/// Consensus of each uid at the last epoch.
	#[pallet::storage]
	pub type Consensus<T: Config> =
		StorageValue<_, BoundedVec<Perquintill, T::MaxUids>, ValueQuery>;

	/// Incentive of each uid at the last epoch.
	#[pallet::storage]
	pub type Incentive<T: Config> =
		StorageValue<_, BoundedVec<Perquintill, T::MaxUids>, ValueQuery>;

	/// Dividends of each uid at the last epoch.
	#[pallet::storage]
	pub type Dividends<T: Config> =
		StorageValue<_, BoundedVec<Perquintill, T::MaxUids>, ValueQuery>;

	/// Rao credited to each uid at the last epoch.
	#[pallet::storage]
	pub type Emission<T: Config> = StorageValue<_, BoundedVec<u64, T::MaxUids>, ValueQuery>;

	/// Block, loss and amount minted of the last epoch.
	#[pallet::storage]
	pub type LastEpoch<T: Config> = StorageValue<_, EpochSummary<BlockNumberFor<T>>, ValueQuery>;

	/// Registrations in the current block.
	#[pallet::storage]
	pub type RegistrationsThisBlock<T> = StorageValue<_, u16, ValueQuery>;

	/// Registrations in the current interval, and the block the interval started.
	#[pallet::storage]
	pub type RegistrationsThisInterval<T: Config> =
		StorageValue<_, (BlockNumberFor<T>, u16), ValueQuery>;

	/// Events of the pallet: one for every change of state.
	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A hotkey became a peer with a new uid.
		PeerRegistered { uid: Uid, hotkey: T::AccountId, coldkey: T::AccountId },
		/// A hotkey took over the uid of a replaced peer, whose stake went back to its coldkey.
		PeerReplaced {
			uid: Uid,
			replaced_hotkey: T::AccountId,
			hotkey: T::AccountId,
			coldkey: T::AccountId,
			returned_stake: u64,
		},
		/// A peer published its endpoint.
		AxonServed { uid: Uid, hotkey: T::AccountId },
		/// A coldkey moved free balance into its hotkey's stake.
		StakeAdded { hotkey: T::AccountId, coldkey: T::AccountId, amount: u64 },
		/// A coldkey moved stake back to its free balance.
		StakeRemoved { hotkey: T::AccountId, coldkey: T::AccountId, amount: u64 },
		/// A peer set its weights (directly, or by revealing a commit).
		WeightsSet { uid: Uid, count: u32 },
		/// A validator committed to weights it will reveal from `reveal_from`.
		WeightsCommitted {
			uid: Uid,
			hash: bittensor_primitives::Hash,
			reveal_from: BlockNumberFor<T>,
		},
		/// A validator's commit was not revealed within its window and was removed.
		WeightsCommitExpired { uid: Uid },
		/// Switching to or from Yuma 3 removed every bond (the units differ).
		BondsCleared { rows: u32 },
		/// Root changed a hyperparameter.
		HyperparameterSet { value: Hyperparameter },
		/// The loss peg moved `MinAllowedWeights`.
		MinAllowedWeightsPegged { value: u16 },
		/// An epoch ran: its block, loss (in units of 10^-18) and the rao minted as stake.
		EpochCompleted { block: BlockNumberFor<T>, loss: SignedQuintill, minted: u64 },
		/// A peer got a validator permit: its weights count from now on.
		ValidatorPermitGranted { uid: Uid },
		/// A peer lost its validator permit; its weights and bonds were removed.
		ValidatorPermitRevoked { uid: Uid },
		/// The epoch over `MaxAllowedValidators` full rows would cost more than
		/// `MaxEpochWeight`, so only the `validators` with the most stake got permits.
		ValidatorsCapped { validators: u16 },
	}

	/// Why a call failed; a failed call changes nothing.
	#[pallet::error]
	pub enum Error<T> {
		/// The hotkey is already registered.
		AlreadyRegistered,
		/// The hotkey is not registered.
		NotRegistered,
		/// The signer is not the coldkey that owns this hotkey.
		NotOwner,
		/// `MaxRegistrationsPerBlock` registrations already happened in this block.
		TooManyRegistrationsThisBlock,
		/// `MaxRegistrationsPerInterval` registrations already happened in this interval.
		TooManyRegistrationsThisInterval,
		/// The metagraph is full and every peer is still inside its immunity period.
		NoReplaceablePeer,
		/// The metagraph holds `MaxUids` peers, the runtime's bound.
		MetagraphFull,
		/// The proof is not the hotkey's signature over `registration_message` for this
		/// coldkey and chain.
		InvalidHotkeyProof,
		/// The coldkey's free balance does not cover `RegistrationCost`.
		CannotAffordRegistration,
		/// `ip_type` is neither 4 nor 6.
		InvalidIpType,
		/// The address is unspecified, broadcast, multicast, out of range for its type, or
		/// loopback on a chain that does not allow it.
		InvalidIpAddress,
		/// Port 0 is not a port.
		InvalidPort,
		/// Staking or unstaking zero.
		ZeroAmount,
		/// The coldkey's free balance does not cover the stake.
		InsufficientBalance,
		/// The hotkey's stake is below the amount to remove.
		NotEnoughStake,
		/// `uids` and `weights` differ in length.
		WeightVecLengthMismatch,
		/// A uid appears twice in `uids`.
		DuplicateUids,
		/// A uid is not registered.
		InvalidUid,
		/// Fewer than `WeightsSetRateLimit` blocks since this peer's last `set_weights`.
		SettingWeightsTooFast,
		/// Fewer than `MinAllowedWeights` non-zero, non-self weights.
		NotEnoughWeights,
		/// One weight takes more than `MaxWeightLimit` of the row.
		MaxWeightExceeded,
		/// `version_key` is older than `WeightsVersionKey`.
		IncorrectWeightVersionKey,
		/// More weights than `MaxAllowedUids`.
		TooManyWeights,
		/// Only peers with a validator permit may set weights: stake to get one.
		NoValidatorPermit,
		/// Commit-reveal is on: commit with `commit_weights`, then `reveal_weights`.
		CommitRevealRequired,
		/// Commit-reveal is off: set weights with `set_weights`.
		CommitRevealDisabled,
		/// This validator's last commit is neither revealed nor expired yet.
		UnrevealedCommit,
		/// This validator has no pending commit to reveal.
		NoCommit,
		/// The commit's reveal window has not opened yet.
		RevealTooEarly,
		/// The commit's reveal window has closed; commit again.
		RevealTooLate,
		/// The revealed weights, salt and version key do not hash to the commit.
		InvalidReveal,
		/// The value is out of the hyperparameter's range, or leaves the set breaking a rule of
		/// `Hyperparameters::check` (the rules genesis meets), or `MaxAllowedUids` is below the
		/// peers registered.
		InvalidHyperparameter,
	}

	/// Genesis: hyperparameters, whether loopback endpoints are allowed, and optional peers.
	#[pallet::genesis_config]
	pub struct GenesisConfig<T: Config> {
		/// Hyperparameters at genesis.
		pub hyperparameters: Hyperparameters,
		/// Accept endpoints on loopback addresses (for local networks).
		pub allow_loopback: bool,
		/// Pre-registered peers: `(hotkey, coldkey, stake in rao)`; their stake is minted.
		pub peers: Vec<(T::AccountId, T::AccountId, u64)>,
	}

	impl<T: Config> Default for GenesisConfig<T> {
		/// Default hyperparameters, with `max_allowed_uids` within the runtime's `MaxUids`.
		fn default() -> Self {
			let bound = u16::try_from(T::MaxUids::get()).unwrap_or(u16::MAX);
			let defaults = Hyperparameters::default();
			Self {
				hyperparameters: Hyperparameters {
					max_allowed_uids: defaults.max_allowed_uids.min(bound),
					..defaults
				},
				allow_loopback: false,
				peers: Vec::new(),
			}
		}
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			if let Err(broken) = self.hyperparameters.check(T::MaxUids::get()) {
				panic!("the genesis hyperparameters break a rule: {broken:?}");
			}
			assert!(self.peers.len() <= usize::from(self.hyperparameters.max_allowed_uids));
			Hyperparams::<T>::put(&self.hyperparameters);
			MinAllowedWeights::<T>::put(self.hyperparameters.min_allowed_weights);
			AllowLoopback::<T>::put(self.allow_loopback);
			Pallet::<T>::ensure_stake_account_exists();
			let now = frame_system::Pallet::<T>::block_number();
			for (hotkey, coldkey, stake) in &self.peers {
				let uid = Pallet::<T>::append_peer(hotkey, coldkey, now)
					.unwrap_or_else(|_| panic!("genesis peer {hotkey:?} is duplicate or too many"));
				Pallet::<T>::mint_stake(uid, *stake)
					.unwrap_or_else(|_| panic!("cannot mint the genesis stake of {hotkey:?}"));
			}
			let permits = bittensor_primitives::epoch::validator_permits(
				&Stake::<T>::get(),
				self.hyperparameters.max_allowed_validators,
			);
			ValidatorPermit::<T>::put(BoundedVec::truncate_from(permits));
		}
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn on_initialize(now: BlockNumberFor<T>) -> Weight {
			RegistrationsThisBlock::<T>::kill();
			let base = T::DbWeight::get().reads_writes(2, 1);
			if Self::epoch_due(now) {
				base.saturating_add(Self::apply_epoch(now))
			} else {
				base
			}
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::check_invariants()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Register `hotkey` as a peer owned by the signing coldkey, burning `RegistrationCost`.
		/// `proof` is the hotkey's signature over [`Pallet::registration_message`] for this
		/// coldkey, so that nobody can take the hotkey by copying a pending registration.
		/// When the metagraph is full it replaces the peer with the lowest emission outside
		/// its immunity period, returning that peer's stake to its coldkey.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::register())]
		pub fn register(
			origin: OriginFor<T>,
			hotkey: T::AccountId,
			proof: T::HotkeySignature,
		) -> DispatchResult {
			let coldkey = ensure_signed(origin)?;
			Self::do_register(coldkey, hotkey, proof)
		}

		/// Publish the signing hotkey's endpoint.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::serve_axon())]
		pub fn serve_axon(
			origin: OriginFor<T>,
			ip: u128,
			port: u16,
			ip_type: u8,
			protocol: u8,
			version: u32,
		) -> DispatchResult {
			let hotkey = ensure_signed(origin)?;
			Self::do_serve_axon(hotkey, ip, port, ip_type, protocol, version)
		}

		/// Move `amount` rao of the signing coldkey's free balance into `hotkey`'s stake.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::add_stake())]
		pub fn add_stake(
			origin: OriginFor<T>,
			hotkey: T::AccountId,
			amount: u64,
		) -> DispatchResult {
			let coldkey = ensure_signed(origin)?;
			Self::do_add_stake(coldkey, hotkey, amount)
		}

		/// Move `amount` rao of `hotkey`'s stake back to the signing coldkey's free balance.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::remove_stake())]
		pub fn remove_stake(
			origin: OriginFor<T>,
			hotkey: T::AccountId,
			amount: u64,
		) -> DispatchResult {
			let coldkey = ensure_signed(origin)?;
			Self::do_remove_stake(coldkey, hotkey, amount)
		}

		/// Set the signing hotkey's weights on `uids`. Checked: equal lengths, no duplicates,
		/// registered uids, rate limit, `MinAllowedWeights`, `MaxWeightLimit`, version key.
		/// Refused while commit-reveal is on.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::set_weights(uids.len().try_into().unwrap_or(u32::MAX)))]
		pub fn set_weights(
			origin: OriginFor<T>,
			uids: Vec<Uid>,
			weights: Vec<u16>,
			version_key: u64,
		) -> DispatchResult {
			let hotkey = ensure_signed(origin)?;
			Self::do_set_weights(hotkey, uids, weights, version_key)
		}

		/// Commit to weights without showing them: `hash` is
		/// [`bittensor_primitives::weights_commit_hash`] of the signing hotkey, the genesis
		/// hash, the uids, weights, a secret salt and the version key. Only with commit-reveal
		/// on, one pending commit per validator; reveal it `CommitRevealPeriod` blocks later.
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::commit_weights())]
		pub fn commit_weights(
			origin: OriginFor<T>,
			hash: bittensor_primitives::Hash,
		) -> DispatchResult {
			let hotkey = ensure_signed(origin)?;
			Self::do_commit_weights(hotkey, hash)
		}

		/// Reveal the weights of the pending commit, within its window: from
		/// `CommitRevealPeriod` blocks after the commit, for as many blocks. They must hash to
		/// the commit and meet every rule of `set_weights`; they count from the next epoch.
		#[pallet::call_index(7)]
		#[pallet::weight(T::WeightInfo::reveal_weights(uids.len().try_into().unwrap_or(u32::MAX)))]
		pub fn reveal_weights(
			origin: OriginFor<T>,
			uids: Vec<Uid>,
			weights: Vec<u16>,
			salt: [u8; 32],
			version_key: u64,
		) -> DispatchResult {
			let hotkey = ensure_signed(origin)?;
			Self::do_reveal_weights(hotkey, uids, weights, salt, version_key)
		}

		/// Root: change one hyperparameter.
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::set_hyperparameter())]
		pub fn set_hyperparameter(origin: OriginFor<T>, value: Hyperparameter) -> DispatchResult {
			ensure_root(origin)?;
			Self::do_set_hyperparameter(value)
		}
	}
}
