//! Stake: moved between a coldkey's free balance and the stake account, never created or
//! destroyed except by the epoch's emission.

use crate::{registration::set_at, *};
use frame_support::{
	ensure,
	pallet_prelude::*,
	traits::{
		fungible::{Inspect, Mutate},
		tokens::{Fortitude, Precision, Preservation},
	},
};

impl<T: Config> Pallet<T> {
	pub(crate) fn do_add_stake(
		coldkey: T::AccountId,
		hotkey: T::AccountId,
		amount: u64,
	) -> DispatchResult {
		let uid = Self::owned_uid(&coldkey, &hotkey)?;
		ensure!(amount > 0, Error::<T>::ZeroAmount);
		T::Currency::transfer(&coldkey, &Self::stake_account(), amount, Preservation::Preserve)
			.map_err(|_| Error::<T>::InsufficientBalance)?;
		Self::credit_stake(uid, amount)?;
		Self::deposit_event(Event::StakeAdded { hotkey, coldkey, amount });
		Self::grant_vacant_permit(uid)
	}

	/// Gives `uid` a validator permit if it has none and fewer than `MaxAllowedValidators`
	/// are held, so that a young network need not wait for an epoch to score.
	fn grant_vacant_permit(uid: Uid) -> DispatchResult {
		let max = usize::from(Hyperparams::<T>::get().max_allowed_validators);
		let mut permits = ValidatorPermit::<T>::get();
		let held = permits.iter().filter(|permit| **permit).count();
		if held < max && permits.get(usize::from(uid)) == Some(&false) {
			set_at(&mut permits, usize::from(uid), true)?;
			ValidatorPermit::<T>::put(permits);
			Self::deposit_event(Event::ValidatorPermitGranted { uid });
		}
		Ok(())
	}

	pub(crate) fn do_remove_stake(
		coldkey: T::AccountId,
		hotkey: T::AccountId,
		amount: u64,
	) -> DispatchResult {
		let uid = Self::owned_uid(&coldkey, &hotkey)?;
		ensure!(amount > 0, Error::<T>::ZeroAmount);
		ensure!(Self::stake_of_uid(uid) >= amount, Error::<T>::NotEnoughStake);
		Self::debit_stake(uid, amount)?;
		T::Currency::transfer(&Self::stake_account(), &coldkey, amount, Preservation::Preserve)?;
		Self::deposit_event(Event::StakeRemoved { hotkey, coldkey, amount });
		Ok(())
	}

	/// The uid of `hotkey`, if `coldkey` owns it.
	fn owned_uid(coldkey: &T::AccountId, hotkey: &T::AccountId) -> Result<Uid, DispatchError> {
		let uid = Uids::<T>::get(hotkey).ok_or(Error::<T>::NotRegistered)?;
		ensure!(Owner::<T>::get(hotkey).as_ref() == Some(coldkey), Error::<T>::NotOwner);
		Ok(uid)
	}

	/// Stake of `uid`, in rao (zero for an unknown uid).
	pub fn stake_of_uid(uid: Uid) -> u64 {
		Stake::<T>::get().get(usize::from(uid)).copied().unwrap_or(0)
	}

	/// Stake of `hotkey`, in rao (zero if it is not registered).
	pub fn stake_of(hotkey: &T::AccountId) -> u64 {
		Uids::<T>::get(hotkey).map(Self::stake_of_uid).unwrap_or(0)
	}

	/// Adds `amount` to `uid`'s stake and the total (tokens already in the stake account).
	pub(crate) fn credit_stake(uid: Uid, amount: u64) -> DispatchResult {
		let stake = Self::stake_of_uid(uid)
			.checked_add(amount)
			.ok_or(sp_runtime::ArithmeticError::Overflow)?;
		let total = TotalStake::<T>::get()
			.checked_add(amount)
			.ok_or(sp_runtime::ArithmeticError::Overflow)?;
		Stake::<T>::try_mutate(|v| set_at(v, usize::from(uid), stake))?;
		TotalStake::<T>::put(total);
		Ok(())
	}

	/// Takes `amount` off `uid`'s stake and the total (the tokens are about to leave).
	fn debit_stake(uid: Uid, amount: u64) -> DispatchResult {
		let stake =
			Self::stake_of_uid(uid).checked_sub(amount).ok_or(Error::<T>::NotEnoughStake)?;
		Stake::<T>::try_mutate(|v| set_at(v, usize::from(uid), stake))?;
		TotalStake::<T>::mutate(|total| *total = total.saturating_sub(amount));
		Ok(())
	}

	/// Mints `amount` into the stake account and credits it to `uid` (genesis peers, epochs).
	pub(crate) fn mint_stake(uid: Uid, amount: u64) -> DispatchResult {
		if amount == 0 {
			return Ok(());
		}
		T::Currency::mint_into(&Self::stake_account(), amount)?;
		Self::credit_stake(uid, amount)
	}

	/// Pays a replaced peer's whole stake back to its coldkey. An amount the coldkey's account
	/// cannot receive (below the existential deposit of a reaped account) is burned, as the
	/// balances pallet does with dust.
	pub(crate) fn release_stake(uid: Uid, coldkey: &T::AccountId, amount: u64) -> DispatchResult {
		if amount == 0 {
			return Ok(());
		}
		Self::debit_stake(uid, amount)?;
		let account = Self::stake_account();
		if T::Currency::transfer(&account, coldkey, amount, Preservation::Preserve).is_err() {
			T::Currency::burn_from(
				&account,
				amount,
				Preservation::Preserve,
				Precision::Exact,
				Fortitude::Force,
			)?;
		}
		Ok(())
	}

	/// The pallet's invariants: per-peer vectors as long as `PeerCount`, `TotalStake` the sum
	/// of stakes, the stake account holding it plus the existential deposit, weights and bonds
	/// only in rows of permit holders, counts right.
	pub fn check_invariants() -> Result<(), sp_runtime::DispatchError> {
		let n = usize::from(PeerCount::<T>::get());
		let lengths = [
			Stake::<T>::get().len(),
			LastUpdate::<T>::get().len(),
			RegisteredAt::<T>::get().len(),
			Rank::<T>::get().len(),
			Trust::<T>::get().len(),
			Consensus::<T>::get().len(),
			Incentive::<T>::get().len(),
			Dividends::<T>::get().len(),
			Emission::<T>::get().len(),
			ActiveStake::<T>::get().len(),
			ValidatorPermit::<T>::get().len(),
		];
		ensure!(
			lengths.iter().all(|len| *len == n),
			"per-peer vector length differs from PeerCount"
		);
		let total = Stake::<T>::get().iter().fold(0u64, |sum, s| sum.saturating_add(*s));
		ensure!(total == TotalStake::<T>::get(), "TotalStake is not the sum of stakes");
		// Anyone may transfer into the stake account: what it holds beyond the stake and the
		// existential deposit is nobody's stake, and the account must never hold less.
		let held = T::Currency::balance(&Self::stake_account());
		ensure!(
			held >= total.saturating_add(T::Currency::minimum_balance()),
			"the stake account holds less than the stake plus the existential deposit"
		);
		let permits = ValidatorPermit::<T>::get();
		let held = permits.iter().filter(|permit| **permit).count();
		ensure!(
			held <= usize::from(bittensor_primitives::metagraph::MAX_VALIDATORS),
			"more validator permits than MAX_VALIDATORS"
		);
		let permitted = |uid: Uid| permits.get(usize::from(uid)).copied().unwrap_or(false);
		ensure!(
			Weights::<T>::iter_keys()
				.chain(Bonds::<T>::iter_keys())
				.chain(WeightCommits::<T>::iter_keys())
				.all(permitted),
			"a peer without a validator permit has weights, bonds or a weights commit"
		);
		let weights = Weights::<T>::iter_values().map(|row| row.len()).sum::<usize>();
		ensure!(weights == WeightsCount::<T>::get() as usize, "WeightsCount is off");
		let bonds = Bonds::<T>::iter_values().map(|row| row.len()).sum::<usize>();
		ensure!(bonds == BondsCount::<T>::get() as usize, "BondsCount is off");
		Ok(())
	}
}
