use super::*;

#[test]
fn add_and_remove_stake_move_tokens_without_changing_issuance() {
	new_test_ext(test_hyperparameters(), vec![]).execute_with(|| {
		register(1, 1_001);
		let before = issuance();
		assert_ok!(IncentiveModule::add_stake(RuntimeOrigin::signed(1), 1_001, 50_000));
		assert_eq!(IncentiveModule::stake_of(&1_001), 50_000);
		assert_eq!(TotalStake::<Test>::get(), 50_000);
		assert_eq!(issuance(), before);
		assert_eq!(
			Balances::balance(&IncentiveModule::stake_account()),
			50_000 + EXISTENTIAL_DEPOSIT
		);
		assert_ok!(IncentiveModule::check_invariants());

		assert_ok!(IncentiveModule::remove_stake(RuntimeOrigin::signed(1), 1_001, 20_000));
		assert_eq!(IncentiveModule::stake_of(&1_001), 30_000);
		assert_eq!(issuance(), before);
		assert_ok!(IncentiveModule::check_invariants());
		let events = incentive_events();
		assert!(events.contains(&Event::StakeAdded { hotkey: 1_001, coldkey: 1, amount: 50_000 }));
		assert!(events.contains(&Event::StakeRemoved {
			hotkey: 1_001,
			coldkey: 1,
			amount: 20_000
		}));
	});
}

#[test]
fn staking_errors() {
	new_test_ext(test_hyperparameters(), vec![]).execute_with(|| {
		assert_noop!(
			IncentiveModule::add_stake(RuntimeOrigin::signed(1), 1_001, 10),
			Error::<Test>::NotRegistered
		);
		assert_noop!(
			IncentiveModule::remove_stake(RuntimeOrigin::signed(1), 1_001, 10),
			Error::<Test>::NotRegistered
		);
		register(1, 1_001);
		assert_noop!(
			IncentiveModule::add_stake(RuntimeOrigin::signed(2), 1_001, 10),
			Error::<Test>::NotOwner
		);
		assert_noop!(
			IncentiveModule::remove_stake(RuntimeOrigin::signed(2), 1_001, 10),
			Error::<Test>::NotOwner
		);
		assert_noop!(
			IncentiveModule::add_stake(RuntimeOrigin::signed(1), 1_001, 0),
			Error::<Test>::ZeroAmount
		);
		assert_noop!(
			IncentiveModule::remove_stake(RuntimeOrigin::signed(1), 1_001, 0),
			Error::<Test>::ZeroAmount
		);
		assert_noop!(
			IncentiveModule::add_stake(RuntimeOrigin::signed(1), 1_001, ENDOWMENT),
			Error::<Test>::InsufficientBalance
		);
		assert_ok!(IncentiveModule::add_stake(RuntimeOrigin::signed(1), 1_001, 100));
		assert_noop!(
			IncentiveModule::remove_stake(RuntimeOrigin::signed(1), 1_001, 101),
			Error::<Test>::NotEnoughStake
		);
	});
}

#[test]
fn a_transfer_into_the_stake_account_is_nobodys_stake_and_breaks_nothing() {
	use frame_support::traits::{fungible::Mutate, tokens::Preservation};
	new_test_ext(test_hyperparameters(), vec![]).execute_with(|| {
		register(1, 1_001);
		assert_ok!(IncentiveModule::add_stake(RuntimeOrigin::signed(1), 1_001, 50_000));
		let account = IncentiveModule::stake_account();
		assert_ok!(<Balances as Mutate<u64>>::transfer(
			&2,
			&account,
			7_000,
			Preservation::Preserve
		));
		assert_ok!(IncentiveModule::check_invariants());
		assert_eq!(
			(IncentiveModule::stake_of(&1_001), TotalStake::<Test>::get()),
			(50_000, 50_000)
		);
		// All the stake can still leave, and the gift stays behind.
		assert_ok!(IncentiveModule::remove_stake(RuntimeOrigin::signed(1), 1_001, 50_000));
		assert_eq!(Balances::balance(&account), 7_000 + EXISTENTIAL_DEPOSIT);
		assert_ok!(IncentiveModule::check_invariants());
		// Less than the stake is a broken invariant.
		assert_ok!(IncentiveModule::add_stake(RuntimeOrigin::signed(1), 1_001, 10_000));
		assert_ok!(<Balances as Mutate<u64>>::burn_from(
			&account,
			8_000,
			Preservation::Preserve,
			frame_support::traits::tokens::Precision::Exact,
			frame_support::traits::tokens::Fortitude::Force,
		));
		assert!(IncentiveModule::check_invariants().is_err());
	});
}
