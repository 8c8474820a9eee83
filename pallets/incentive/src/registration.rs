//! Registration: new peers, replacement of the weakest unprotected peer when full, limits.

use crate::*;
use alloc::vec::Vec;
use frame_support::{
	ensure,
	pallet_prelude::*,
	traits::{
		fungible::{Inspect, Mutate},
		tokens::{Fortitude, Precision, Preservation},
	},
	BoundedVec,
};
use frame_system::pallet_prelude::BlockNumberFor;
use sp_arithmetic::Perquintill;
use sp_runtime::{
	traits::{AccountIdConversion, Verify, Zero},
	Saturating,
};

impl<T: Config> Pallet<T> {
	/// The account that holds every peer's stake.
	pub fn stake_account() -> T::AccountId {
		T::PalletId::get().into_account_truncating()
	}

	/// Makes sure the stake account exists (it keeps the existential deposit), so that any
	/// amount of stake can be moved into it.
	pub(crate) fn ensure_stake_account_exists() {
		let account = Self::stake_account();
		if T::Currency::balance(&account) < T::Currency::minimum_balance() {
			let _ = T::Currency::mint_into(&account, T::Currency::minimum_balance());
		}
	}

	/// What `hotkey` signs to let `coldkey` register it on this chain (see
	/// [`bittensor_primitives::registration_message`]). The genesis hash is block 0's, which
	/// the system pallet records from block 1 on.
	pub fn registration_message(coldkey: &T::AccountId) -> Vec<u8> {
		let genesis = frame_system::Pallet::<T>::block_hash(BlockNumberFor::<T>::zero());
		bittensor_primitives::registration_message(coldkey, &genesis)
	}

	pub(crate) fn do_register(
		coldkey: T::AccountId,
		hotkey: T::AccountId,
		proof: T::HotkeySignature,
	) -> DispatchResult {
		ensure!(!Uids::<T>::contains_key(&hotkey), Error::<T>::AlreadyRegistered);
		ensure!(
			proof.verify(&Self::registration_message(&coldkey)[..], &hotkey),
			Error::<T>::InvalidHotkeyProof
		);
		let now = frame_system::Pallet::<T>::block_number();
		let hyperparameters = Hyperparams::<T>::get();

		let this_block = RegistrationsThisBlock::<T>::get();
		ensure!(
			this_block < hyperparameters.max_registrations_per_block,
			Error::<T>::TooManyRegistrationsThisBlock
		);
		let (interval_start, this_interval) = RegistrationsThisInterval::<T>::get();
		let interval_elapsed = now.saturating_sub(interval_start)
			>= BlockNumberFor::<T>::from(hyperparameters.registration_interval);
		let (interval_start, this_interval) =
			if interval_elapsed { (now, 0) } else { (interval_start, this_interval) };
		ensure!(
			this_interval < hyperparameters.max_registrations_per_interval,
			Error::<T>::TooManyRegistrationsThisInterval
		);

		let peers = PeerCount::<T>::get();
		let replaced = if peers < hyperparameters.max_allowed_uids {
			None
		} else {
			Some(
				Self::replaceable_peer(now, hyperparameters.immunity_period)
					.ok_or(Error::<T>::NoReplaceablePeer)?,
			)
		};

		T::Currency::burn_from(
			&coldkey,
			hyperparameters.registration_cost,
			Preservation::Preserve,
			Precision::Exact,
			Fortitude::Polite,
		)
		.map_err(|_| Error::<T>::CannotAffordRegistration)?;

		RegistrationsThisBlock::<T>::put(this_block.saturating_add(1));
		RegistrationsThisInterval::<T>::put((interval_start, this_interval.saturating_add(1)));

		match replaced {
			None => {
				let uid = Self::append_peer(&hotkey, &coldkey, now)?;
				Self::deposit_event(Event::PeerRegistered { uid, hotkey, coldkey });
			},
			Some(uid) => {
				let (replaced_hotkey, returned_stake) =
					Self::replace_peer(uid, &hotkey, &coldkey, now)?;
				Self::deposit_event(Event::PeerReplaced {
					uid,
					replaced_hotkey,
					hotkey,
					coldkey,
					returned_stake,
				});
			},
		}
		Ok(())
	}

	/// Adds a peer with the next uid; registration counts as its first update.
	pub(crate) fn append_peer(
		hotkey: &T::AccountId,
		coldkey: &T::AccountId,
		now: BlockNumberFor<T>,
	) -> Result<Uid, DispatchError> {
		ensure!(!Uids::<T>::contains_key(hotkey), Error::<T>::AlreadyRegistered);
		let uid = PeerCount::<T>::get();
		let next = uid.checked_add(1).ok_or(Error::<T>::MetagraphFull)?;
		ensure!(u32::from(next) <= T::MaxUids::get(), Error::<T>::MetagraphFull);

		Stake::<T>::try_mutate(|v| v.try_push(0)).map_err(|_| Error::<T>::MetagraphFull)?;
		LastUpdate::<T>::try_mutate(|v| v.try_push(now)).map_err(|_| Error::<T>::MetagraphFull)?;
		RegisteredAt::<T>::try_mutate(|v| v.try_push(now))
			.map_err(|_| Error::<T>::MetagraphFull)?;
		ActiveStake::<T>::try_mutate(|v| v.try_push(Perquintill::zero()))
			.map_err(|_| Error::<T>::MetagraphFull)?;
		Rank::<T>::try_mutate(|v| v.try_push(Perquintill::zero()))
			.map_err(|_| Error::<T>::MetagraphFull)?;
		Trust::<T>::try_mutate(|v| v.try_push(Perquintill::zero()))
			.map_err(|_| Error::<T>::MetagraphFull)?;
		Consensus::<T>::try_mutate(|v| v.try_push(Perquintill::zero()))
			.map_err(|_| Error::<T>::MetagraphFull)?;
		Incentive::<T>::try_mutate(|v| v.try_push(Perquintill::zero()))
			.map_err(|_| Error::<T>::MetagraphFull)?;
		Dividends::<T>::try_mutate(|v| v.try_push(Perquintill::zero()))
			.map_err(|_| Error::<T>::MetagraphFull)?;
		Emission::<T>::try_mutate(|v| v.try_push(0)).map_err(|_| Error::<T>::MetagraphFull)?;
		ValidatorPermit::<T>::try_mutate(|v| v.try_push(false))
			.map_err(|_| Error::<T>::MetagraphFull)?;

		Keys::<T>::insert(uid, hotkey);
		Uids::<T>::insert(hotkey, uid);
		Owner::<T>::insert(hotkey, coldkey);
		PeerCount::<T>::put(next);
		Ok(uid)
	}

	/// The peer with the lowest emission among those past their immunity period (the lowest
	/// uid on ties), if any.
	fn replaceable_peer(now: BlockNumberFor<T>, immunity_period: u32) -> Option<Uid> {
		let emission = Emission::<T>::get();
		RegisteredAt::<T>::get()
			.iter()
			.enumerate()
			.filter(|(_, registered)| {
				now.saturating_sub(**registered) > BlockNumberFor::<T>::from(immunity_period)
			})
			.map(|(uid, _)| (emission.get(uid).copied().unwrap_or(0), uid))
			.min()
			.and_then(|(_, uid)| Uid::try_from(uid).ok())
	}

	/// Gives `uid` to a new hotkey: the old peer's stake goes back to its coldkey, its
	/// permit, weights, weights commit, bonds, endpoint and results are cleared.
	fn replace_peer(
		uid: Uid,
		hotkey: &T::AccountId,
		coldkey: &T::AccountId,
		now: BlockNumberFor<T>,
	) -> Result<(T::AccountId, u64), DispatchError> {
		let replaced_hotkey = Keys::<T>::get(uid).ok_or(Error::<T>::InvalidUid)?;
		let replaced_coldkey = Owner::<T>::get(&replaced_hotkey).ok_or(Error::<T>::InvalidUid)?;
		let returned_stake = Self::stake_of_uid(uid);
		Self::release_stake(uid, &replaced_coldkey, returned_stake)?;

		Uids::<T>::remove(&replaced_hotkey);
		Owner::<T>::remove(&replaced_hotkey);
		Keys::<T>::insert(uid, hotkey);
		Uids::<T>::insert(hotkey, uid);
		Owner::<T>::insert(hotkey, coldkey);

		let index = usize::from(uid);
		LastUpdate::<T>::try_mutate(|v| set_at(v, index, now))?;
		RegisteredAt::<T>::try_mutate(|v| set_at(v, index, now))?;
		Emission::<T>::try_mutate(|v| set_at(v, index, 0))?;
		// The newcomer starts without its predecessor's results.
		let zero = Perquintill::zero();
		ActiveStake::<T>::try_mutate(|v| set_at(v, index, zero))?;
		Rank::<T>::try_mutate(|v| set_at(v, index, zero))?;
		Trust::<T>::try_mutate(|v| set_at(v, index, zero))?;
		Consensus::<T>::try_mutate(|v| set_at(v, index, zero))?;
		Incentive::<T>::try_mutate(|v| set_at(v, index, zero))?;
		Dividends::<T>::try_mutate(|v| set_at(v, index, zero))?;
		ValidatorPermit::<T>::try_mutate(|v| set_at(v, index, false))?;
		let old_weights = Weights::<T>::take(uid).len();
		WeightsCount::<T>::mutate(|count| {
			*count = count.saturating_sub(old_weights.try_into().unwrap_or(0))
		});
		let old_bonds = Bonds::<T>::take(uid).len();
		BondsCount::<T>::mutate(|count| {
			*count = count.saturating_sub(old_bonds.try_into().unwrap_or(0))
		});
		WeightsSetAt::<T>::remove(uid);
		WeightCommits::<T>::remove(uid);
		Axons::<T>::remove(uid);
		Ok((replaced_hotkey, returned_stake))
	}
}

/// Sets entry `index` of a per-peer vector; an error if the vector is shorter than `PeerCount`.
pub(crate) fn set_at<V, S>(
	vector: &mut BoundedVec<V, S>,
	index: usize,
	value: V,
) -> Result<(), DispatchError> {
	let entry = vector
		.get_mut(index)
		.ok_or(DispatchError::Other("per-peer vector shorter than PeerCount"))?;
	*entry = value;
	Ok(())
}
