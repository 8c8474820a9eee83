use super::*;
use bittensor_primitives::{
	epoch::{BondsMode, Electorate, Mechanism},
	yuma3::Yuma3Params,
};
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
			Hyperparameter::MaxAllowedValidators(128),
			Hyperparameter::CommitRevealEnabled(true),
			Hyperparameter::CommitRevealPeriod(3),
			Hyperparameter::Electorate(Electorate::AllStake),
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
		assert_eq!(h.max_allowed_validators, 128);
		assert_eq!((h.commit_reveal_enabled, h.commit_reveal_period), (true, 3));
		assert_eq!(h.electorate, Electorate::AllStake);
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
			// One epoch's emission must fit in a u64.
			Hyperparameter::BlockEmission(u64::MAX),
			Hyperparameter::ActivityCutoff(0),
			// A full metagraph could not meet a limit this small.
			Hyperparameter::MaxWeightLimit(Perbill::from_parts(1_000)),
			Hyperparameter::MaxRegistrationsPerBlock(u16::MAX),
			Hyperparameter::MaxAllowedUids(0),
			Hyperparameter::MaxAllowedValidators(0),
			Hyperparameter::MaxAllowedValidators(129),
			Hyperparameter::CommitRevealPeriod(0),
			Hyperparameter::Mechanism(Mechanism::Yuma3(Yuma3Params {
				alpha_low: Perquintill::zero(),
				..Default::default()
			})),
			Hyperparameter::Mechanism(Mechanism::Yuma3(Yuma3Params {
				alpha_sigmoid_steepness: 1001,
				..Default::default()
			})),
		] {
			assert_noop!(
				IncentiveModule::set_hyperparameter(RuntimeOrigin::root(), invalid),
				Error::<Test>::InvalidHyperparameter
			);
		}
	});
}

#[test]
fn every_rule_is_named_and_genesis_meets_the_same_rules() {
	use bittensor_primitives::metagraph::{HyperparameterError::*, Hyperparameters};
	let good = Hyperparameters::default();
	assert_eq!(good.check(4096), Ok(()));
	let yuma3 = |params| Hyperparameters { mechanism: Mechanism::Yuma3(params), ..good.clone() };
	assert_eq!(yuma3(Yuma3Params::default()).check(4096), Ok(()));
	// Equal rates and the steepest sigmoid are allowed.
	let edge = Yuma3Params {
		alpha_low: Perquintill::one(),
		alpha_high: Perquintill::one(),
		alpha_sigmoid_steepness: 1000,
		..Default::default()
	};
	assert_eq!(yuma3(edge).check(4096), Ok(()));
	let broken = [
		(Hyperparameters { tempo: 0, ..good.clone() }, ZeroTempo),
		(Hyperparameters { activity_cutoff: 0, ..good.clone() }, ZeroActivityCutoff),
		(Hyperparameters { block_emission: u64::MAX / 2, ..good.clone() }, EmissionOverflow),
		(Hyperparameters { max_allowed_uids: 0, ..good.clone() }, UidsOutOfRange),
		(Hyperparameters { max_allowed_uids: 4097, ..good.clone() }, UidsOutOfRange),
		(
			Hyperparameters { min_allowed_weights: 11, max_allowed_uids: 10, ..good.clone() },
			MinWeightsAboveUids,
		),
		(
			Hyperparameters {
				max_weight_limit: Perbill::from_percent(9),
				max_allowed_uids: 10,
				..good.clone()
			},
			WeightLimitUnreachable,
		),
		(Hyperparameters { registration_interval: 0, ..good.clone() }, RegistrationLimits),
		(Hyperparameters { max_registrations_per_block: 200, ..good.clone() }, RegistrationLimits),
		(
			Hyperparameters {
				bonds_mode: BondsMode::MovingAverage { alpha: Perquintill::one() },
				..good.clone()
			},
			BondsNeverMove,
		),
		(Hyperparameters { max_allowed_validators: 0, ..good.clone() }, ValidatorsOutOfRange),
		(Hyperparameters { max_allowed_validators: 129, ..good.clone() }, ValidatorsOutOfRange),
		(
			yuma3(Yuma3Params { alpha_low: Perquintill::zero(), ..Default::default() }),
			AlphaOutOfRange,
		),
		(
			yuma3(Yuma3Params {
				alpha_low: Perquintill::from_percent(40),
				alpha_high: Perquintill::from_percent(30),
				..Default::default()
			}),
			AlphaOutOfRange,
		),
		(
			yuma3(Yuma3Params { alpha_sigmoid_steepness: 0, ..Default::default() }),
			SteepnessOutOfRange,
		),
		(
			yuma3(Yuma3Params { alpha_sigmoid_steepness: 1001, ..Default::default() }),
			SteepnessOutOfRange,
		),
		(Hyperparameters { commit_reveal_period: 0, ..good.clone() }, ZeroCommitRevealPeriod),
	];
	for (hyperparameters, rule) in broken {
		assert_eq!(hyperparameters.check(4096), Err(rule), "{hyperparameters:?}");
	}
	// The limit is reachable exactly when it times the metagraph's size is one.
	let tenth = Hyperparameters {
		max_weight_limit: Perbill::from_percent(10),
		max_allowed_uids: 10,
		..good.clone()
	};
	assert_eq!(tenth.check(4096), Ok(()));
}

#[test]
#[should_panic(expected = "the genesis hyperparameters break a rule: ZeroTempo")]
fn genesis_refuses_hyperparameters_that_break_a_rule() {
	new_test_ext(crate::Hyperparameters { tempo: 0, ..test_hyperparameters() }, vec![]);
}

#[test]
fn switching_to_or_from_yuma3_clears_the_bonds_and_only_then() {
	new_test_ext(test_hyperparameters(), vec![]).execute_with(|| {
		register_with_stakes(&[10, 10, 10]);
		set_weights(1_001, vec![1, 2], vec![1, 1]);
		set_weights(1_002, vec![0, 2], vec![1, 1]);
		run_to_block(10);
		let rows = Bonds::<Test>::iter_keys().count() as u32;
		assert!(rows > 0 && BondsCount::<Test>::get() > 0);
		let set = |mechanism| {
			assert_ok!(IncentiveModule::set_hyperparameter(
				RuntimeOrigin::root(),
				Hyperparameter::Mechanism(mechanism)
			));
		};
		// Between the two mechanisms whose bonds are stake, bonds stay.
		set(Mechanism::Attribution2019);
		assert_eq!(Bonds::<Test>::iter_keys().count() as u32, rows);
		set(Mechanism::Yuma3(Yuma3Params::default()));
		assert_eq!((Bonds::<Test>::iter_keys().count(), BondsCount::<Test>::get()), (0, 0));
		assert!(incentive_events().contains(&Event::BondsCleared { rows }));
		assert_ok!(IncentiveModule::check_invariants());
		// Yuma 3 builds its own, in units of 2^-64; switching back clears them too.
		run_to_block(20);
		let yuma3_rows = Bonds::<Test>::iter_keys().count() as u32;
		assert!(yuma3_rows > 0);
		set(Mechanism::Yuma3(Yuma3Params { liquid_alpha_enabled: true, ..Default::default() }));
		assert_eq!(Bonds::<Test>::iter_keys().count() as u32, yuma3_rows);
		set(Mechanism::Yuma2021);
		assert_eq!(BondsCount::<Test>::get(), 0);
		assert!(incentive_events().contains(&Event::BondsCleared { rows: yuma3_rows }));
		assert_ok!(IncentiveModule::check_invariants());
	});
}
