//! `set_weights`, commit-reveal and `set_hyperparameter`: the checks a public chain needs.
//!
//! Commit-reveal exists because weights are public the moment they are set: a validator that
//! copies the others' latest rows earns dividends without evaluating anyone. With it on, a row
//! is visible only once revealed, `CommitRevealPeriod` blocks after its commit, so a copy is
//! always a period older than the rows it copies, and Yuma 3's bonds pay whoever weighted a
//! peer first.

use crate::{epoch::holds_permit, registration::set_at, *};
use alloc::vec::Vec;
use bittensor_primitives::weights::{check_row, RowError, RowRules};
use frame_support::{ensure, pallet_prelude::*, BoundedVec};
use frame_system::pallet_prelude::BlockNumberFor;
use sp_runtime::Saturating;

impl<T: Config> Pallet<T> {
	pub(crate) fn do_set_weights(
		hotkey: T::AccountId,
		uids: Vec<Uid>,
		weights: Vec<u16>,
		version_key: u64,
	) -> DispatchResult {
		ensure!(!Hyperparams::<T>::get().commit_reveal_enabled, Error::<T>::CommitRevealRequired);
		Self::apply_weights(hotkey, uids, weights, version_key)
	}

	/// The block a commit made at `block` may be revealed from, and the first block it may
	/// not (when it expires).
	fn reveal_window(
		block: BlockNumberFor<T>,
		period: u32,
	) -> (BlockNumberFor<T>, BlockNumberFor<T>) {
		let period = BlockNumberFor::<T>::from(period);
		let from = block.saturating_add(period);
		(from, from.saturating_add(period))
	}

	pub(crate) fn do_commit_weights(
		hotkey: T::AccountId,
		hash: bittensor_primitives::Hash,
	) -> DispatchResult {
		let hyperparameters = Hyperparams::<T>::get();
		ensure!(hyperparameters.commit_reveal_enabled, Error::<T>::CommitRevealDisabled);
		let uid = Uids::<T>::get(&hotkey).ok_or(Error::<T>::NotRegistered)?;
		ensure!(holds_permit(&ValidatorPermit::<T>::get(), uid), Error::<T>::NoValidatorPermit);
		let now = frame_system::Pallet::<T>::block_number();
		let period = hyperparameters.commit_reveal_period;
		if let Some(pending) = WeightCommits::<T>::get(uid) {
			let (_, expires) = Self::reveal_window(pending.block, period);
			ensure!(now >= expires, Error::<T>::UnrevealedCommit);
		}
		WeightCommits::<T>::insert(uid, WeightsCommit { hash, block: now });
		let (reveal_from, _) = Self::reveal_window(now, period);
		Self::deposit_event(Event::WeightsCommitted { uid, hash, reveal_from });
		Ok(())
	}

	pub(crate) fn do_reveal_weights(
		hotkey: T::AccountId,
		uids: Vec<Uid>,
		weights: Vec<u16>,
		salt: [u8; 32],
		version_key: u64,
	) -> DispatchResult {
		let uid = Uids::<T>::get(&hotkey).ok_or(Error::<T>::NotRegistered)?;
		let commit = WeightCommits::<T>::get(uid).ok_or(Error::<T>::NoCommit)?;
		let now = frame_system::Pallet::<T>::block_number();
		let (from, until) =
			Self::reveal_window(commit.block, Hyperparams::<T>::get().commit_reveal_period);
		ensure!(now >= from, Error::<T>::RevealTooEarly);
		ensure!(now < until, Error::<T>::RevealTooLate);
		let genesis = frame_system::Pallet::<T>::block_hash(BlockNumberFor::<T>::zero());
		let hash = bittensor_primitives::weights_commit_hash(
			&hotkey,
			&genesis,
			&uids,
			&weights,
			&salt,
			version_key,
		);
		ensure!(hash == commit.hash, Error::<T>::InvalidReveal);
		Self::apply_weights(hotkey, uids, weights, version_key)?;
		WeightCommits::<T>::remove(uid);
		Ok(())
	}

	/// Removes the commits whose reveal window closed before `now`; returns how many commits
	/// it read and how many it removed.
	pub(crate) fn prune_expired_commits(now: BlockNumberFor<T>) -> (u32, u32) {
		let period = Hyperparams::<T>::get().commit_reveal_period;
		let (mut read, mut expired) = (0u32, Vec::new());
		for (uid, commit) in WeightCommits::<T>::iter() {
			read = read.saturating_add(1);
			if now >= Self::reveal_window(commit.block, period).1 {
				expired.push(uid);
			}
		}
		for uid in &expired {
			WeightCommits::<T>::remove(uid);
			Self::deposit_event(Event::WeightsCommitExpired { uid: *uid });
		}
		(read, u32::try_from(expired.len()).unwrap_or(u32::MAX))
	}

	/// Checks a row against every rule of `set_weights` (all but commit-reveal's) and stores
	/// it as `hotkey`'s weights.
	fn apply_weights(
		hotkey: T::AccountId,
		uids: Vec<Uid>,
		weights: Vec<u16>,
		version_key: u64,
	) -> DispatchResult {
		let hyperparameters = Hyperparams::<T>::get();
		ensure!(
			uids.len() <= usize::from(hyperparameters.max_allowed_uids),
			Error::<T>::TooManyWeights
		);
		ensure!(uids.len() == weights.len(), Error::<T>::WeightVecLengthMismatch);
		let uid = Uids::<T>::get(&hotkey).ok_or(Error::<T>::NotRegistered)?;
		ensure!(holds_permit(&ValidatorPermit::<T>::get(), uid), Error::<T>::NoValidatorPermit);
		ensure!(
			version_key >= hyperparameters.weights_version_key,
			Error::<T>::IncorrectWeightVersionKey
		);

		let now = frame_system::Pallet::<T>::block_number();
		if let Some(last) = WeightsSetAt::<T>::get(uid) {
			ensure!(
				now.saturating_sub(last)
					>= BlockNumberFor::<T>::from(hyperparameters.weights_set_rate_limit),
				Error::<T>::SettingWeightsTooFast
			);
		}

		let rules = RowRules {
			own_uid: uid,
			peers: PeerCount::<T>::get(),
			min_allowed_weights: MinAllowedWeights::<T>::get(),
			max_weight_limit: hyperparameters.max_weight_limit,
		};
		let row =
			check_row(uids.into_iter().zip(weights).collect(), &rules).map_err(Error::<T>::from)?;

		let count = u32::try_from(row.len()).unwrap_or(u32::MAX);
		let row: BoundedVec<(Uid, u16), T::MaxUids> =
			row.try_into().map_err(|_| Error::<T>::TooManyWeights)?;
		let previous = u32::try_from(Weights::<T>::get(uid).len()).unwrap_or(0);
		Weights::<T>::insert(uid, row);
		WeightsCount::<T>::mutate(|c| *c = c.saturating_sub(previous).saturating_add(count));
		WeightsSetAt::<T>::insert(uid, now);
		LastUpdate::<T>::try_mutate(|v| set_at(v, usize::from(uid), now))?;
		Self::deposit_event(Event::WeightsSet { uid, count });
		Ok(())
	}

	pub(crate) fn do_set_hyperparameter(value: Hyperparameter) -> DispatchResult {
		let mut hyperparameters = Hyperparams::<T>::get();
		match value.clone() {
			Hyperparameter::Tempo(tempo) => hyperparameters.tempo = tempo,
			Hyperparameter::Rho(rho) => hyperparameters.rho = rho,
			Hyperparameter::Kappa(kappa) => hyperparameters.kappa = kappa,
			Hyperparameter::BlockEmission(emission) => hyperparameters.block_emission = emission,
			Hyperparameter::ActivityCutoff(cutoff) => hyperparameters.activity_cutoff = cutoff,
			Hyperparameter::MinAllowedWeights(min) => hyperparameters.min_allowed_weights = min,
			Hyperparameter::MaxWeightLimit(limit) => hyperparameters.max_weight_limit = limit,
			Hyperparameter::MaxAllowedUids(max) => {
				ensure!(max >= PeerCount::<T>::get(), Error::<T>::InvalidHyperparameter);
				hyperparameters.max_allowed_uids = max;
			},
			Hyperparameter::ImmunityPeriod(period) => hyperparameters.immunity_period = period,
			Hyperparameter::RegistrationCost(cost) => hyperparameters.registration_cost = cost,
			Hyperparameter::WeightsSetRateLimit(limit) => {
				hyperparameters.weights_set_rate_limit = limit
			},
			Hyperparameter::WeightsVersionKey(key) => hyperparameters.weights_version_key = key,
			Hyperparameter::MaxRegistrationsPerBlock(max) => {
				hyperparameters.max_registrations_per_block = max
			},
			Hyperparameter::MaxRegistrationsPerInterval(max) => {
				hyperparameters.max_registrations_per_interval = max
			},
			Hyperparameter::RegistrationInterval(interval) => {
				hyperparameters.registration_interval = interval
			},
			Hyperparameter::BondsMode(mode) => hyperparameters.bonds_mode = mode,
			Hyperparameter::Mechanism(mechanism) => hyperparameters.mechanism = mechanism,
			Hyperparameter::MaxAllowedValidators(max) => {
				hyperparameters.max_allowed_validators = max
			},
			Hyperparameter::CommitRevealEnabled(enabled) => {
				hyperparameters.commit_reveal_enabled = enabled
			},
			Hyperparameter::CommitRevealPeriod(period) => {
				hyperparameters.commit_reveal_period = period
			},
			Hyperparameter::Electorate(electorate) => hyperparameters.electorate = electorate,
		}
		// The whole set after the change meets the same rules as genesis.
		hyperparameters
			.check(T::MaxUids::get())
			.map_err(|_| Error::<T>::InvalidHyperparameter)?;
		if let Hyperparameter::MinAllowedWeights(min) = value {
			MinAllowedWeights::<T>::put(min);
		}
		let bonds_change_units = Hyperparams::<T>::get().mechanism.uses_proportional_bonds()
			!= hyperparameters.mechanism.uses_proportional_bonds();
		Hyperparams::<T>::put(hyperparameters);
		Self::deposit_event(Event::HyperparameterSet { value });
		if bonds_change_units {
			// Rows exist only for permit holders, at most `MAX_VALIDATORS` of them.
			let rows = u32::try_from(Bonds::<T>::iter_keys().count()).unwrap_or(u32::MAX);
			let _ = Bonds::<T>::clear(u32::MAX, None);
			BondsCount::<T>::kill();
			Self::deposit_event(Event::BondsCleared { rows });
		}
		Ok(())
	}
}

impl<T> From<RowError> for Error<T> {
	fn from(error: RowError) -> Self {
		match error {
			RowError::DuplicateUids => Self::DuplicateUids,
			RowError::InvalidUid => Self::InvalidUid,
			RowError::NotEnoughWeights => Self::NotEnoughWeights,
			RowError::MaxWeightExceeded => Self::MaxWeightExceeded,
		}
	}
}
