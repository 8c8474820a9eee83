//! `set_weights` and `set_hyperparameter`: the checks a public chain needs.

use crate::{registration::set_at, *};
use alloc::vec::Vec;
use frame_support::{ensure, pallet_prelude::*, BoundedVec};
use frame_system::pallet_prelude::BlockNumberFor;
use sp_arithmetic::Perbill;
use sp_runtime::Saturating;

impl<T: Config> Pallet<T> {
	pub(crate) fn do_set_weights(
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
		ensure!(
			ValidatorPermit::<T>::get().get(usize::from(uid)) == Some(&true),
			Error::<T>::NoValidatorPermit
		);
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

		let peers = PeerCount::<T>::get();
		let mut row: Vec<(Uid, u16)> = uids.into_iter().zip(weights).collect();
		row.sort_unstable_by_key(|(target, _)| *target);
		ensure!(
			!row.windows(2).any(|pair| matches!(pair, [a, b] if a.0 == b.0)),
			Error::<T>::DuplicateUids
		);
		ensure!(row.iter().all(|(target, _)| *target < peers), Error::<T>::InvalidUid);
		row.retain(|(_, weight)| *weight > 0);

		let others: Vec<u16> =
			row.iter().filter(|(target, _)| *target != uid).map(|(_, w)| *w).collect();
		let required = MinAllowedWeights::<T>::get().min(peers.saturating_sub(1));
		ensure!(others.len() >= usize::from(required), Error::<T>::NotEnoughWeights);
		let total: u64 = others.iter().map(|w| u64::from(*w)).sum();
		if hyperparameters.max_weight_limit < Perbill::one() {
			let limit = hyperparameters.max_weight_limit;
			ensure!(
				others.iter().all(|w| Perbill::from_rational(u64::from(*w), total) <= limit),
				Error::<T>::MaxWeightExceeded
			);
		}

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
		}
		// The whole set after the change meets the same rules as genesis.
		hyperparameters
			.check(T::MaxUids::get())
			.map_err(|_| Error::<T>::InvalidHyperparameter)?;
		if let Hyperparameter::MinAllowedWeights(min) = value {
			MinAllowedWeights::<T>::put(min);
		}
		Hyperparams::<T>::put(hyperparameters);
		Self::deposit_event(Event::HyperparameterSet { value });
		Ok(())
	}
}
