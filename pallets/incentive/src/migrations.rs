//! Storage migrations: each takes the pallet's storage from one `StorageVersion` to the next.
//!
//! The policy (`docs/mechanism.md`, "Upgrades"): any change to the layout of stored data bumps
//! `STORAGE_VERSION` and comes with a migration here, wrapped in `VersionedMigration` so that
//! it runs once, only from the version it expects, and writes the new version. A new
//! hyperparameter is a field appended to [`Hyperparameters`]; its migration decodes the old
//! layout and keeps every other value. The runtime lists the migrations to run in its
//! `Migrations` type until every chain has upgraded past them.

use crate::*;
use bittensor_primitives::epoch::{validator_permits, BondsMode, Electorate, Mechanism};
use codec::{Decode, Encode};
use frame_support::{
	migrations::VersionedMigration, pallet_prelude::*, storage::unhashed,
	traits::UncheckedOnRuntimeUpgrade,
};
use sp_arithmetic::{Perbill, Perquintill};

/// Version 1 to 2: validator permits. Adds `max_allowed_validators` (at its default) to the
/// stored hyperparameters, gives permits to the peers with the most stake, and removes the
/// weights and bonds of every other peer, which no longer count.
pub mod v2 {
	use super::*;

	/// The hyperparameters as version 1 stored them: all but `max_allowed_validators`.
	#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
	pub struct HyperparametersV1 {
		/// See [`Hyperparameters::tempo`].
		pub tempo: u32,
		/// See [`Hyperparameters::rho`].
		pub rho: u32,
		/// See [`Hyperparameters::kappa`].
		pub kappa: Perquintill,
		/// See [`Hyperparameters::block_emission`].
		pub block_emission: u64,
		/// See [`Hyperparameters::activity_cutoff`].
		pub activity_cutoff: u32,
		/// See [`Hyperparameters::min_allowed_weights`].
		pub min_allowed_weights: u16,
		/// See [`Hyperparameters::max_weight_limit`].
		pub max_weight_limit: Perbill,
		/// See [`Hyperparameters::max_allowed_uids`].
		pub max_allowed_uids: u16,
		/// See [`Hyperparameters::immunity_period`].
		pub immunity_period: u32,
		/// See [`Hyperparameters::registration_cost`].
		pub registration_cost: u64,
		/// See [`Hyperparameters::weights_set_rate_limit`].
		pub weights_set_rate_limit: u32,
		/// See [`Hyperparameters::weights_version_key`].
		pub weights_version_key: u64,
		/// See [`Hyperparameters::max_registrations_per_block`].
		pub max_registrations_per_block: u16,
		/// See [`Hyperparameters::max_registrations_per_interval`].
		pub max_registrations_per_interval: u16,
		/// See [`Hyperparameters::registration_interval`].
		pub registration_interval: u32,
		/// See [`Hyperparameters::bonds_mode`].
		pub bonds_mode: BondsMode,
		/// See [`Hyperparameters::mechanism`].
		pub mechanism: Mechanism,
	}

	/// The hyperparameters as version 2 stored them: version 1's and `max_allowed_validators`.
	#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
	pub struct HyperparametersV2 {
		/// Every field of version 1, in its order.
		pub v1: HyperparametersV1,
		/// See [`Hyperparameters::max_allowed_validators`].
		pub max_allowed_validators: u16,
	}

	/// The migration itself; run it through [`MigrateToV2`].
	pub struct UncheckedMigrateToV2<T>(core::marker::PhantomData<T>);

	impl<T: Config> UncheckedOnRuntimeUpgrade for UncheckedMigrateToV2<T> {
		fn on_runtime_upgrade() -> Weight {
			let key = Hyperparams::<T>::hashed_key();
			let default_max = Hyperparameters::default().max_allowed_validators;
			let max = match unhashed::get::<HyperparametersV1>(&key) {
				Some(v1) => {
					unhashed::put(
						&key,
						&HyperparametersV2 { v1, max_allowed_validators: default_max },
					);
					default_max
				},
				None => {
					log::error!(target: "runtime::incentive", "v2: stored hyperparameters are not v1's; kept as they are");
					unhashed::get::<HyperparametersV2>(&key)
						.map_or(default_max, |v2| v2.max_allowed_validators)
				},
			};
			let n = PeerCount::<T>::get();
			let permits = validator_permits(&Stake::<T>::get(), max);
			let (mut weights, mut bonds) = (0u32, 0u32);
			let length = |len: Option<usize>| u32::try_from(len.unwrap_or(0)).unwrap_or(u32::MAX);
			for uid in 0..n {
				if permits.get(usize::from(uid)).copied().unwrap_or(false) {
					weights = weights.saturating_add(length(Weights::<T>::decode_len(uid)));
					bonds = bonds.saturating_add(length(Bonds::<T>::decode_len(uid)));
				} else {
					Weights::<T>::remove(uid);
					Bonds::<T>::remove(uid);
				}
			}
			ValidatorPermit::<T>::put(BoundedVec::truncate_from(permits));
			WeightsCount::<T>::put(weights);
			BondsCount::<T>::put(bonds);
			let peers = u64::from(n);
			T::DbWeight::get().reads_writes(
				peers.saturating_mul(2).saturating_add(3),
				peers.saturating_mul(2).saturating_add(4),
			)
		}

		#[cfg(feature = "try-runtime")]
		fn post_upgrade(_: alloc::vec::Vec<u8>) -> Result<(), sp_runtime::TryRuntimeError> {
			Pallet::<T>::check_invariants()
		}
	}

	/// Version 1 to 2, run once.
	pub type MigrateToV2<T> = VersionedMigration<
		1,
		2,
		UncheckedMigrateToV2<T>,
		Pallet<T>,
		<T as frame_system::Config>::DbWeight,
	>;
}

/// Version 2 to 3: commit-reveal weights. Adds `commit_reveal_enabled` (off) and
/// `commit_reveal_period` (its default) to the stored hyperparameters. Yuma 3 is a new variant
/// of `Mechanism`, appended, so stored values decode as they are.
pub mod v3 {
	use super::*;

	pub use v2::HyperparametersV2;

	/// The hyperparameters as version 3 stored them: version 2's and the commit-reveal pair.
	#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
	pub struct HyperparametersV3 {
		/// Every field of version 2, in its order.
		pub v2: HyperparametersV2,
		/// See [`Hyperparameters::commit_reveal_enabled`].
		pub commit_reveal_enabled: bool,
		/// See [`Hyperparameters::commit_reveal_period`].
		pub commit_reveal_period: u32,
	}

	impl From<HyperparametersV2> for HyperparametersV3 {
		fn from(v2: HyperparametersV2) -> Self {
			let defaults = Hyperparameters::default();
			Self {
				v2,
				commit_reveal_enabled: defaults.commit_reveal_enabled,
				commit_reveal_period: defaults.commit_reveal_period,
			}
		}
	}

	/// The migration itself; run it through [`MigrateToV3`].
	pub struct UncheckedMigrateToV3<T>(core::marker::PhantomData<T>);

	impl<T: Config> UncheckedOnRuntimeUpgrade for UncheckedMigrateToV3<T> {
		fn on_runtime_upgrade() -> Weight {
			let key = Hyperparams::<T>::hashed_key();
			match unhashed::get::<HyperparametersV2>(&key) {
				Some(v2) => unhashed::put(&key, &HyperparametersV3::from(v2)),
				None => {
					log::error!(target: "runtime::incentive", "v3: stored hyperparameters are not v2's; kept as they are")
				},
			}
			T::DbWeight::get().reads_writes(1, 1)
		}

		#[cfg(feature = "try-runtime")]
		fn post_upgrade(_: alloc::vec::Vec<u8>) -> Result<(), sp_runtime::TryRuntimeError> {
			let key = Hyperparams::<T>::hashed_key();
			frame_support::ensure!(
				unhashed::get::<HyperparametersV3>(&key).is_some(),
				"v3: the stored hyperparameters are not version 3's"
			);
			Pallet::<T>::check_invariants()
		}
	}

	/// Version 2 to 3, run once.
	pub type MigrateToV3<T> = VersionedMigration<
		2,
		3,
		UncheckedMigrateToV3<T>,
		Pallet<T>,
		<T as frame_system::Config>::DbWeight,
	>;
}

/// Version 3 to 4: the electorate. Adds `electorate` to the stored hyperparameters as
/// [`Electorate::AllStake`], the rule a running chain was paying by: an upgrade never changes
/// who is paid what by itself; root moves a running chain to [`Electorate::Voters`] (the
/// default of new chains) with `set_hyperparameter`.
pub mod v4 {
	use super::*;

	pub use v3::HyperparametersV3;

	impl From<HyperparametersV3> for Hyperparameters {
		fn from(old: HyperparametersV3) -> Self {
			let v1 = old.v2.v1;
			Self {
				tempo: v1.tempo,
				rho: v1.rho,
				kappa: v1.kappa,
				block_emission: v1.block_emission,
				activity_cutoff: v1.activity_cutoff,
				min_allowed_weights: v1.min_allowed_weights,
				max_weight_limit: v1.max_weight_limit,
				max_allowed_uids: v1.max_allowed_uids,
				immunity_period: v1.immunity_period,
				registration_cost: v1.registration_cost,
				weights_set_rate_limit: v1.weights_set_rate_limit,
				weights_version_key: v1.weights_version_key,
				max_registrations_per_block: v1.max_registrations_per_block,
				max_registrations_per_interval: v1.max_registrations_per_interval,
				registration_interval: v1.registration_interval,
				bonds_mode: v1.bonds_mode,
				mechanism: v1.mechanism,
				max_allowed_validators: old.v2.max_allowed_validators,
				commit_reveal_enabled: old.commit_reveal_enabled,
				commit_reveal_period: old.commit_reveal_period,
				electorate: Electorate::AllStake,
			}
		}
	}

	/// The migration itself; run it through [`MigrateToV4`].
	pub struct UncheckedMigrateToV4<T>(core::marker::PhantomData<T>);

	impl<T: Config> UncheckedOnRuntimeUpgrade for UncheckedMigrateToV4<T> {
		fn on_runtime_upgrade() -> Weight {
			let translated = Hyperparams::<T>::translate::<HyperparametersV3, _>(|old| {
				old.map(Hyperparameters::from)
			});
			if translated.is_err() {
				log::error!(target: "runtime::incentive", "v4: stored hyperparameters are not v3's; kept as they are");
			}
			T::DbWeight::get().reads_writes(1, 1)
		}

		#[cfg(feature = "try-runtime")]
		fn post_upgrade(_: alloc::vec::Vec<u8>) -> Result<(), sp_runtime::TryRuntimeError> {
			Pallet::<T>::check_invariants()
		}
	}

	/// Version 3 to 4, run once.
	pub type MigrateToV4<T> = VersionedMigration<
		3,
		4,
		UncheckedMigrateToV4<T>,
		Pallet<T>,
		<T as frame_system::Config>::DbWeight,
	>;
}
