use super::*;

#[test]
fn set_weights_stores_the_row_sorted_without_zeros() {
	new_test_ext(test_hyperparameters(), vec![]).execute_with(|| {
		register_with_stakes(&[1, 1, 1]);
		set_weights(1_001, vec![2, 0, 1], vec![5, 9, 0]);
		assert_eq!(Weights::<Test>::get(0).into_inner(), vec![(0, 9), (2, 5)]);
		assert_eq!(WeightsCount::<Test>::get(), 2);
		assert!(incentive_events().contains(&Event::WeightsSet { uid: 0, count: 2 }));
		set_weights(1_001, vec![1], vec![3]);
		assert_eq!(WeightsCount::<Test>::get(), 1);
		assert_ok!(IncentiveModule::check_invariants());
	});
}

#[test]
fn set_weights_errors() {
	new_test_ext(
		crate::Hyperparameters {
			weights_set_rate_limit: 5,
			weights_version_key: 3,
			..test_hyperparameters()
		},
		vec![],
	)
	.execute_with(|| {
		let call = |hotkey, uids: Vec<Uid>, weights: Vec<u16>, key| {
			IncentiveModule::set_weights(RuntimeOrigin::signed(hotkey), uids, weights, key)
		};
		assert_noop!(call(1_001, vec![0], vec![1], 3), Error::<Test>::NotRegistered);
		register_with_stakes(&[1, 1, 1, 0]);
		// Without stake there is no permit, and only permit holders set weights.
		assert_noop!(call(1_004, vec![1], vec![1], 3), Error::<Test>::NoValidatorPermit);
		assert_noop!(call(1_001, vec![1, 2], vec![1], 3), Error::<Test>::WeightVecLengthMismatch);
		assert_noop!(call(1_001, vec![1, 1], vec![1, 2], 3), Error::<Test>::DuplicateUids);
		assert_noop!(call(1_001, vec![1, 9], vec![1, 2], 3), Error::<Test>::InvalidUid);
		assert_noop!(call(1_001, vec![1], vec![1], 2), Error::<Test>::IncorrectWeightVersionKey);
		assert_noop!(call(1_001, vec![0], vec![1], 3), Error::<Test>::NotEnoughWeights);
		assert_noop!(call(1_001, vec![1], vec![0], 3), Error::<Test>::NotEnoughWeights);
		assert_noop!(call(1_001, (0..65).collect(), vec![1; 65], 3), Error::<Test>::TooManyWeights);
		assert_ok!(call(1_001, vec![1], vec![1], 3));
		assert_noop!(call(1_001, vec![2], vec![1], 3), Error::<Test>::SettingWeightsTooFast);
		run_to_block(6);
		assert_ok!(call(1_001, vec![2], vec![1], 3));
	});
}

#[test]
fn min_allowed_weights_and_max_weight_limit() {
	new_test_ext(test_hyperparameters(), vec![]).execute_with(|| {
		register_with_stakes(&[1, 1, 1, 1]);
		assert_ok!(IncentiveModule::set_hyperparameter(
			RuntimeOrigin::root(),
			Hyperparameter::MinAllowedWeights(2)
		));
		assert_noop!(
			IncentiveModule::set_weights(RuntimeOrigin::signed(1_001), vec![0, 1], vec![1, 1], 0),
			Error::<Test>::NotEnoughWeights
		);
		set_weights(1_001, vec![1, 2], vec![1, 1]);
		assert_ok!(IncentiveModule::set_hyperparameter(
			RuntimeOrigin::root(),
			Hyperparameter::MaxWeightLimit(sp_arithmetic::Perbill::from_percent(60))
		));
		assert_noop!(
			IncentiveModule::set_weights(RuntimeOrigin::signed(1_002), vec![0, 2], vec![7, 3], 0),
			Error::<Test>::MaxWeightExceeded
		);
		set_weights(1_002, vec![0, 2], vec![6, 4]);
	});
}

#[test]
fn a_lone_peer_needs_no_weights_on_others() {
	new_test_ext(test_hyperparameters(), vec![]).execute_with(|| {
		register_with_stakes(&[1]);
		set_weights(1_001, vec![0], vec![1]);
	});
}
