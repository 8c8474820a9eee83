//! Validator permits: who may set weights that count, and the bound they put on the epoch.

use super::*;
use crate::migrations::{
	v2::{HyperparametersV1, HyperparametersV2, MigrateToV2},
	v3::{HyperparametersV3, MigrateToV3},
	v4::MigrateToV4,
};
use bittensor_primitives::epoch::{Electorate, Mechanism};
use frame_support::{
	traits::{GetStorageVersion, OnRuntimeUpgrade, StorageVersion},
	weights::Weight,
	BoundedVec,
};

const E9: u64 = 1_000_000_000;

fn permits() -> Vec<bool> {
	ValidatorPermit::<Test>::get().into_inner()
}

fn with_validators(max_allowed_validators: u16) -> crate::Hyperparameters {
	crate::Hyperparameters { max_allowed_validators, ..test_hyperparameters() }
}

#[test]
fn a_staking_peer_takes_a_vacant_permit_and_only_a_vacant_one() {
	new_test_ext(with_validators(2), vec![]).execute_with(|| {
		register_with_stakes(&[0, 5, 0, 7, 9]);
		assert_eq!(permits(), vec![false, true, false, true, false]);
		let granted: Vec<_> = incentive_events()
			.into_iter()
			.filter_map(|e| match e {
				Event::ValidatorPermitGranted { uid } => Some(uid),
				_ => None,
			})
			.collect();
		assert_eq!(granted, vec![1, 3]);
		assert_noop!(
			IncentiveModule::set_weights(RuntimeOrigin::signed(1_005), vec![1], vec![1], 0),
			Error::<Test>::NoValidatorPermit
		);
		assert_ok!(IncentiveModule::check_invariants());
	});
}

#[test]
fn dust_stakes_that_fill_the_vacant_permits_hold_off_a_large_staker_one_epoch_at_most() {
	new_test_ext(with_validators(2), vec![]).execute_with(|| {
		// Two dust stakers take both vacant permits and set rows; then a large staker arrives.
		register_with_stakes(&[1, 1, 100 * E9]);
		assert_eq!(permits(), vec![true, true, false]);
		set_weights(1_001, vec![1, 2], vec![1, 1]);
		set_weights(1_002, vec![0, 2], vec![1, 1]);
		assert_noop!(
			IncentiveModule::set_weights(RuntimeOrigin::signed(1_003), vec![0], vec![1], 0),
			Error::<Test>::NoValidatorPermit
		);
		// The next epoch (block 10, one tempo) goes by stake: the large staker is in, one dust
		// row is gone, and the dust that stays weighs 1 rao against 10^11.
		run_to_block(10);
		assert!(permits()[2]);
		assert_eq!(permits().iter().filter(|p| **p).count(), 2);
		assert_eq!(Weights::<Test>::iter_keys().count(), 1);
		set_weights(1_003, vec![0, 1], vec![1, 1]);
		assert_ok!(IncentiveModule::check_invariants());
	});
}

#[test]
fn the_epoch_gives_permits_to_the_most_stake_and_removes_the_others_rows() {
	new_test_ext(with_validators(2), vec![]).execute_with(|| {
		// The first two stakers take the vacant permits and set weights.
		register_with_stakes(&[E9, E9, 3 * E9, 4 * E9]);
		set_weights(1_001, vec![1, 2, 3], vec![1, 1, 1]);
		set_weights(1_002, vec![0, 2], vec![1, 1]);
		run_to_block(10);
		// At the epoch the two largest stakes hold the permits; the old rows are gone.
		assert_eq!(permits(), vec![false, false, true, true]);
		assert!(!Weights::<Test>::contains_key(0) && !Weights::<Test>::contains_key(1));
		assert!(!Bonds::<Test>::contains_key(0) && !Bonds::<Test>::contains_key(1));
		assert_eq!((WeightsCount::<Test>::get(), BondsCount::<Test>::get()), (0, 0));
		let events = incentive_events();
		for uid in [0, 1] {
			assert!(events.contains(&Event::ValidatorPermitRevoked { uid }));
		}
		for uid in [2, 3] {
			assert!(events.contains(&Event::ValidatorPermitGranted { uid }));
		}
		assert_noop!(
			IncentiveModule::set_weights(RuntimeOrigin::signed(1_001), vec![1], vec![1], 0),
			Error::<Test>::NoValidatorPermit
		);
		set_weights(1_003, vec![0], vec![1]);
		assert_ok!(IncentiveModule::check_invariants());
	});
}

#[test]
fn a_replaced_peer_leaves_its_permit_behind() {
	let hyperparameters =
		crate::Hyperparameters { max_allowed_uids: 2, immunity_period: 0, ..with_validators(2) };
	new_test_ext(hyperparameters, vec![]).execute_with(|| {
		register_with_stakes(&[E9, 2 * E9]);
		set_weights(1_001, vec![1], vec![1]);
		set_weights(1_002, vec![0], vec![1]);
		run_to_block(10);
		assert_eq!(permits(), vec![true, true]);
		// Uid 0 has the lower emission, so the newcomer takes its uid, without its permit.
		Emission::<Test>::put(BoundedVec::truncate_from(vec![0, 1]));
		assert_ok!(IncentiveModule::register(RuntimeOrigin::signed(9), 1_009, proof(9, 1_009)));
		assert_eq!(Uids::<Test>::get(1_009), Some(0));
		assert_eq!(permits(), vec![false, true]);
		assert!(!Weights::<Test>::contains_key(0) && !Bonds::<Test>::contains_key(0));
		assert_noop!(
			IncentiveModule::set_weights(RuntimeOrigin::signed(1_009), vec![1], vec![1], 0),
			Error::<Test>::NoValidatorPermit
		);
		// Staking, it takes the permit left vacant.
		assert_ok!(IncentiveModule::add_stake(RuntimeOrigin::signed(9), 1_009, E9));
		assert_eq!(permits(), vec![true, true]);
		assert_ok!(IncentiveModule::check_invariants());
	});
}

#[test]
fn an_epoch_that_would_not_fit_caps_its_validators_and_blocks_keep_coming() {
	new_test_ext(with_validators(4), vec![]).execute_with(|| {
		register_with_stakes(&[E9, 2 * E9, 3 * E9, 4 * E9]);
		for hotkey in 1_001..=1_004u64 {
			let uid = Uids::<Test>::get(hotkey).unwrap();
			let others: Vec<Uid> = (0..4).filter(|j| *j != uid).collect();
			set_weights(hotkey, others, vec![1; 3]);
		}
		// Room for the full rows of one validator only, after removing four rows.
		let one = IncentiveModule::epoch_weight_of(4, 1, 4, 4, 4, Mechanism::Yuma2021);
		MaxEpochWeight::set(one);
		for epoch in 1..=3u64 {
			run_to_block(10 * epoch);
			assert_eq!(LastEpoch::<Test>::get().block, 10 * epoch, "epoch {epoch} ran");
			assert!(LastEpoch::<Test>::get().minted > 0);
		}
		assert!(incentive_events().contains(&Event::ValidatorsCapped { validators: 1 }));
		assert_eq!(permits(), vec![false, false, false, true]);
		assert_eq!(Weights::<Test>::iter_keys().collect::<Vec<_>>(), vec![3]);
		assert_ok!(IncentiveModule::check_invariants());
		// Not even one row fits: the epoch still runs, over no weights, and mints nothing.
		MaxEpochWeight::set(Weight::zero());
		run_to_block(40);
		assert_eq!(LastEpoch::<Test>::get().block, 40);
		assert!(incentive_events().contains(&Event::ValidatorsCapped { validators: 0 }));
		assert_eq!(permits(), vec![false; 4]);
		assert_ok!(IncentiveModule::check_invariants());
	});
}

#[test]
fn the_v2_migration_keeps_every_hyperparameter_and_prunes_rows_without_a_permit() {
	let peers = (0..5).map(|i| (1_001 + i, 1 + i, (i + 1) * E9)).collect();
	new_test_ext(with_validators(2), peers).execute_with(|| {
		// The state as version 1 left it: every peer's row, no permits, the old layout.
		let old = HyperparametersV1 {
			tempo: 7,
			rho: 11,
			kappa: sp_arithmetic::Perquintill::from_percent(30),
			block_emission: 12_345,
			activity_cutoff: 77,
			min_allowed_weights: 2,
			max_weight_limit: sp_arithmetic::Perbill::from_percent(80),
			max_allowed_uids: 9,
			immunity_period: 3,
			registration_cost: 4_321,
			weights_set_rate_limit: 6,
			weights_version_key: 5,
			max_registrations_per_block: 2,
			max_registrations_per_interval: 20,
			registration_interval: 40,
			bonds_mode: bittensor_primitives::epoch::BondsMode::Cumulative,
			mechanism: Mechanism::Attribution2019,
		};
		frame_support::storage::unhashed::put(&Hyperparams::<Test>::hashed_key(), &old);
		ValidatorPermit::<Test>::kill();
		for uid in 0..5u16 {
			let row = vec![((uid + 1) % 5, 1u16), ((uid + 2) % 5, 1)];
			Weights::<Test>::insert(uid, BoundedVec::truncate_from(row));
			Bonds::<Test>::insert(uid, BoundedVec::truncate_from(vec![((uid + 1) % 5, 10u64)]));
		}
		WeightsCount::<Test>::put(10);
		BondsCount::<Test>::put(5);
		StorageVersion::new(1).put::<IncentiveModule>();

		MigrateToV2::<Test>::on_runtime_upgrade();
		assert_eq!(IncentiveModule::on_chain_storage_version(), StorageVersion::new(2));
		MigrateToV3::<Test>::on_runtime_upgrade();
		assert_eq!(IncentiveModule::on_chain_storage_version(), StorageVersion::new(3));
		MigrateToV4::<Test>::on_runtime_upgrade();

		let new = Hyperparams::<Test>::get();
		let v2 = HyperparametersV2 { v1: old, max_allowed_validators: 64 };
		assert_eq!(new, HyperparametersV3::from(v2).into());
		assert!(!new.commit_reveal_enabled);
		assert_eq!(new.commit_reveal_period, 360);
		assert_eq!(new.electorate, Electorate::AllStake, "a running chain keeps its electorate");
		assert_eq!(new.tempo, 7);
		assert_eq!(IncentiveModule::on_chain_storage_version(), StorageVersion::new(4));
		// With the default 64 permits, every staked peer keeps its rows.
		assert_eq!(permits(), vec![true; 5]);
		assert_eq!((WeightsCount::<Test>::get(), BondsCount::<Test>::get()), (10, 5));
		assert_ok!(IncentiveModule::check_invariants());
		// Run again, they do nothing: each only runs from the version before it.
		Hyperparams::<Test>::mutate(|h| h.max_allowed_validators = 2);
		MigrateToV2::<Test>::on_runtime_upgrade();
		MigrateToV3::<Test>::on_runtime_upgrade();
		MigrateToV4::<Test>::on_runtime_upgrade();
		assert_eq!(Hyperparams::<Test>::get().max_allowed_validators, 2);
	});
}

#[test]
fn the_v2_migration_removes_the_rows_of_peers_outside_the_permits() {
	let peers = (0..5).map(|i| (1_001 + i, 1 + i, (i + 1) * E9)).collect();
	new_test_ext(with_validators(2), peers).execute_with(|| {
		// Version 1's encoding is version 4's without its last four fields: 2 + 1 + 4 + 1 bytes.
		let mut old: Vec<u8> = codec::Encode::encode(&Hyperparams::<Test>::get());
		old.truncate(old.len() - 8);
		frame_support::storage::unhashed::put_raw(&Hyperparams::<Test>::hashed_key(), &old);
		ValidatorPermit::<Test>::kill();
		for uid in 0..5u16 {
			Weights::<Test>::insert(uid, BoundedVec::truncate_from(vec![((uid + 1) % 5, 1u16)]));
		}
		// Zero stake for three peers: they get no permit.
		Stake::<Test>::mutate(|s| {
			for uid in [0usize, 2, 4] {
				s[uid] = 0;
			}
		});
		TotalStake::<Test>::put(6 * E9);
		WeightsCount::<Test>::put(5);
		StorageVersion::new(1).put::<IncentiveModule>();

		MigrateToV2::<Test>::on_runtime_upgrade();
		MigrateToV3::<Test>::on_runtime_upgrade();
		MigrateToV4::<Test>::on_runtime_upgrade();

		assert_eq!(Hyperparams::<Test>::get().max_allowed_validators, 64);
		assert_eq!(permits(), vec![false, true, false, true, false]);
		assert_eq!(Weights::<Test>::iter_keys().count(), 2);
		assert_eq!(WeightsCount::<Test>::get(), 2);
		assert_ok!(IncentiveModule::check_invariants());
	});
}
