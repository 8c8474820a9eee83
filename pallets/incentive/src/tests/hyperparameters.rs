use super::*;
use bittensor_primitives::epoch::{BondsMode, Mechanism};
use sp_arithmetic::{Perbill, Perquintill};
use sp_runtime::DispatchError;

#[test]
fn root_sets_every_hyperparameter() {
	new_test_ext(test_hyperparameters(), vec![]).execute_with(|| {
		let values = [
			Hyperparameter::Tempo(7),
			Hyperparameter::Rho(12),
			Hyperparameter::Kappa(Perquintill::from_percent(40)),
			Hyperparameter::BlockEmission(5),
			Hyperparameter::ActivityCutoff(99),
			Hyperparameter::MinAllowedWeights(3),
			Hyperparameter::MaxWeightLimit(Perbill::from_percent(30)),
			Hyperparameter::MaxAllowedUids(100),
			Hyperparameter::ImmunityPeriod(11),
			Hyperparameter::RegistrationCost(77),
			Hyperparameter::WeightsSetRateLimit(4),
			Hyperparameter::WeightsVersionKey(9),
			Hyperparameter::MaxRegistrationsPerBlock(2),
			Hyperparameter::MaxRegistrationsPerInterval(8),
			Hyperparameter::RegistrationInterval(50),
			Hyperparameter::BondsMode(BondsMode::MovingAverage {
				alpha: Perquintill::from_percent(90),
			}),
			Hyperparameter::Mechanism(Mechanism::Attribution2019),
		];
		for value in values.clone() {
			assert_ok!(IncentiveModule::set_hyperparameter(RuntimeOrigin::root(), value.clone()));
			assert!(incentive_events().contains(&Event::HyperparameterSet { value }));
		}
		let h = Hyperparams::<Test>::get();
		assert_eq!(
			(
				h.tempo,
				h.rho,
				h.block_emission,
				h.activity_cutoff,
				h.min_allowed_weights,
				h.max_allowed_uids
			),
			(7, 12, 5, 99, 3, 100)
		);
		assert_eq!(
			(
				h.immunity_period,
				h.registration_cost,
				h.weights_set_rate_limit,
				h.weights_version_key
			),
			(11, 77, 4, 9)
		);
		assert_eq!(
			(
				h.max_registrations_per_block,
				h.max_registrations_per_interval,
				h.registration_interval
			),
			(2, 8, 50)
		);
		assert_eq!(h.kappa, Perquintill::from_percent(40));
		assert_eq!(h.max_weight_limit, Perbill::from_percent(30));
		assert_eq!(h.mechanism, Mechanism::Attribution2019);
		assert_eq!(MinAllowedWeights::<Test>::get(), 3);
	});
}

#[test]
fn only_root_and_only_valid_values() {
	new_test_ext(test_hyperparameters(), vec![]).execute_with(|| {
		assert_noop!(
			IncentiveModule::set_hyperparameter(RuntimeOrigin::signed(1), Hyperparameter::Tempo(3)),
			DispatchError::BadOrigin
		);
		register_with_stakes(&[0, 0]);
		for invalid in [
			Hyperparameter::Tempo(0),
			Hyperparameter::MaxWeightLimit(Perbill::zero()),
			Hyperparameter::MaxAllowedUids(1),
			Hyperparameter::MaxAllowedUids(257),
			Hyperparameter::MinAllowedWeights(65),
			Hyperparameter::MaxRegistrationsPerBlock(0),
			Hyperparameter::MaxRegistrationsPerInterval(0),
			Hyperparameter::RegistrationInterval(0),
			Hyperparameter::BondsMode(BondsMode::MovingAverage { alpha: Perquintill::one() }),
		] {
			assert_noop!(
				IncentiveModule::set_hyperparameter(RuntimeOrigin::root(), invalid),
				Error::<Test>::InvalidHyperparameter
			);
		}
	});
}
