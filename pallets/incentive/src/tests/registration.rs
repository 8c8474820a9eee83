use super::*;

#[test]
fn register_assigns_uids_in_order_and_burns_the_cost() {
	new_test_ext(test_hyperparameters(), vec![]).execute_with(|| {
		let before = issuance();
		assert_eq!(register(1, 1_001), 0);
		assert_eq!(register(2, 1_002), 1);
		assert_eq!(Keys::<Test>::get(1), Some(1_002));
		assert_eq!(Owner::<Test>::get(1_002), Some(2));
		assert_eq!(Balances::balance(&1), ENDOWMENT - 1_000);
		assert_eq!(issuance(), before - 2_000);
		assert_eq!(LastUpdate::<Test>::get().into_inner(), vec![1, 1]);
		assert!(incentive_events().contains(&Event::PeerRegistered {
			uid: 1,
			hotkey: 1_002,
			coldkey: 2
		}));
		assert_ok!(IncentiveModule::check_invariants());
	});
}

#[test]
fn register_twice_fails() {
	new_test_ext(test_hyperparameters(), vec![]).execute_with(|| {
		register(1, 1_001);
		assert_noop!(
			IncentiveModule::register(RuntimeOrigin::signed(2), 1_001, proof(2, 1_001)),
			Error::<Test>::AlreadyRegistered
		);
	});
}

#[test]
fn a_copied_or_forged_proof_cannot_take_a_hotkey() {
	new_test_ext(test_hyperparameters(), vec![]).execute_with(|| {
		let register = |coldkey: u64, hotkey: u64, proof| {
			IncentiveModule::register(RuntimeOrigin::signed(coldkey), hotkey, proof)
		};
		// Coldkey 7 copies coldkey 1's pending registration of hotkey 1_001: the proof names
		// coldkey 1, so it is worthless to coldkey 7, which gains nothing but a failed call.
		assert_noop!(register(7, 1_001, proof(1, 1_001)), Error::<Test>::InvalidHotkeyProof);
		// Signed by another key than the hotkey.
		assert_noop!(register(1, 1_001, proof(1, 1_002)), Error::<Test>::InvalidHotkeyProof);
		// Made on another chain: another genesis hash.
		let other_chain = sp_runtime::testing::TestSignature(
			1_001,
			bittensor_primitives::registration_message(&1u64, &sp_core::H256::repeat_byte(7)),
		);
		assert_noop!(register(1, 1_001, other_chain), Error::<Test>::InvalidHotkeyProof);
		assert_ok!(register(1, 1_001, proof(1, 1_001)));
		assert_eq!(Owner::<Test>::get(1_001), Some(1));
	});
}

#[test]
fn register_without_funds_fails() {
	new_test_ext(test_hyperparameters(), vec![]).execute_with(|| {
		assert_noop!(
			IncentiveModule::register(RuntimeOrigin::signed(500), 1_001, proof(500, 1_001)),
			Error::<Test>::CannotAffordRegistration
		);
	});
}

#[test]
fn per_block_and_per_interval_limits() {
	let hyperparameters = crate::Hyperparameters {
		max_registrations_per_block: 2,
		max_registrations_per_interval: 3,
		registration_interval: 10,
		..test_hyperparameters()
	};
	new_test_ext(hyperparameters, vec![]).execute_with(|| {
		register(1, 1_001);
		register(2, 1_002);
		assert_noop!(
			IncentiveModule::register(RuntimeOrigin::signed(3), 1_003, proof(3, 1_003)),
			Error::<Test>::TooManyRegistrationsThisBlock
		);
		run_to_block(2);
		register(3, 1_003);
		assert_noop!(
			IncentiveModule::register(RuntimeOrigin::signed(4), 1_004, proof(4, 1_004)),
			Error::<Test>::TooManyRegistrationsThisInterval
		);
		run_to_block(11);
		register(4, 1_004);
	});
}

#[test]
fn full_metagraph_replaces_the_lowest_emission_outside_immunity() {
	let hyperparameters = crate::Hyperparameters {
		max_allowed_uids: 3,
		immunity_period: 5,
		..test_hyperparameters()
	};
	new_test_ext(hyperparameters, vec![]).execute_with(|| {
		register_with_stakes(&[10_000, 20_000, 0]);
		assert_noop!(
			IncentiveModule::register(RuntimeOrigin::signed(9), 1_009, proof(9, 1_009)),
			Error::<Test>::NoReplaceablePeer
		);

		// Peers 0 and 1 vote for 1 and 0; peer 2 earns nothing.
		set_weights(1_001, vec![1], vec![1]);
		set_weights(1_002, vec![0], vec![1]);
		run_to_block(10);
		assert!(Emission::<Test>::get()[2] == 0 && Emission::<Test>::get()[0] > 0);

		// Give peer 2 some stake to see it returned.
		assert_ok!(IncentiveModule::add_stake(RuntimeOrigin::signed(3), 1_003, 3_000));
		let coldkey_before = Balances::balance(&3);
		assert_ok!(IncentiveModule::register(RuntimeOrigin::signed(9), 1_009, proof(9, 1_009)));
		assert_eq!(Uids::<Test>::get(1_009), Some(2));
		assert_eq!(Uids::<Test>::get(1_003), None);
		assert_eq!(Balances::balance(&3), coldkey_before + 3_000);
		assert_eq!(IncentiveModule::stake_of_uid(2), 0);
		assert_eq!(RegisteredAt::<Test>::get()[2], 10);
		for results in [
			Rank::<Test>::get(),
			Trust::<Test>::get(),
			Incentive::<Test>::get(),
			Dividends::<Test>::get(),
		] {
			assert_eq!(results[2], sp_arithmetic::Perquintill::zero());
		}
		assert!(incentive_events().iter().any(|e| matches!(
			e,
			Event::PeerReplaced {
				uid: 2,
				replaced_hotkey: 1_003,
				hotkey: 1_009,
				returned_stake: 3_000,
				..
			}
		)));
		assert_ok!(IncentiveModule::check_invariants());
	});
}

#[test]
fn the_runtime_bound_on_peers_is_a_named_error() {
	new_test_ext(test_hyperparameters(), vec![]).execute_with(|| {
		for hotkey in 0..MaxUids::get() as u64 {
			assert_ok!(IncentiveModule::append_peer(&(10_000 + hotkey), &1, 1));
		}
		assert_noop!(IncentiveModule::append_peer(&20_000, &1, 1), Error::<Test>::MetagraphFull);
	});
}
