//! Random sequences of everything users and the chain do (register, replace, stake, unstake,
//! set weights, gifts into the stake account, epochs) keep the books straight after every
//! step: issuance moves only by what registration burns and epochs mint, total stake is the
//! sum of stakes, the stake account holds at least the stake, every per-peer vector has one
//! entry per peer, and weights and bonds are only in rows of validator permit holders, never
//! more than the hard bound of them (`check_invariants`).

use super::*;
use frame_support::traits::{fungible::Mutate, tokens::Preservation};
use proptest::prelude::*;

/// One thing a user or the chain does.
#[derive(Debug, Clone)]
enum Action {
	/// `coldkey` registers `hotkey`.
	Register(u64, u64),
	/// `hotkey`'s owner stakes `amount` on it.
	AddStake(u64, u64),
	/// `hotkey`'s owner unstakes `amount` from it.
	RemoveStake(u64, u64),
	/// `hotkey` sets weights.
	SetWeights(u64, Vec<(Uid, u16)>),
	/// `account` transfers `amount` into the stake account.
	Gift(u64, u64),
	/// The chain advances this many blocks (epochs every 10).
	Blocks(u64),
}

fn action() -> impl Strategy<Value = Action> {
	let (coldkey, hotkey) = (1..=12u64, 1_001..=1_016u64);
	prop_oneof![
		(coldkey.clone(), hotkey.clone()).prop_map(|(c, h)| Action::Register(c, h)),
		(hotkey.clone(), 1..2_000_000u64).prop_map(|(h, a)| Action::AddStake(h, a)),
		(hotkey.clone(), 1..2_000_000u64).prop_map(|(h, a)| Action::RemoveStake(h, a)),
		(hotkey, prop::collection::vec((0u16..10, 0u16..1000), 0..6))
			.prop_map(|(h, row)| Action::SetWeights(h, row)),
		(coldkey, 1..100_000u64).prop_map(|(c, a)| Action::Gift(c, a)),
		(1..=15u64).prop_map(Action::Blocks),
	]
}

proptest! {
	#![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

	#[test]
	fn random_operations_keep_issuance_stake_and_vectors_consistent(
		actions in prop::collection::vec(action(), 1..80),
	) {
		// Eight uids, so registrations soon replace peers; three permits, so that epochs and
		// stake moves hand them around.
		let hyperparameters = crate::Hyperparameters {
			max_allowed_uids: 8,
			max_allowed_validators: 3,
			min_allowed_weights: 0,
			..test_hyperparameters()
		};
		new_test_ext(hyperparameters, vec![]).execute_with(|| {
			let cost = Hyperparams::<Test>::get().registration_cost;
			for action in actions {
				let before = issuance();
				let mut expected = before;
				match action.clone() {
					Action::Register(coldkey, hotkey) => {
						if IncentiveModule::register(RuntimeOrigin::signed(coldkey), hotkey, proof(coldkey, hotkey)).is_ok() {
							expected -= cost;
						}
					},
					Action::AddStake(hotkey, amount) => {
						let owner = Owner::<Test>::get(hotkey).unwrap_or(1);
						let _ = IncentiveModule::add_stake(RuntimeOrigin::signed(owner), hotkey, amount);
					},
					Action::RemoveStake(hotkey, amount) => {
						let owner = Owner::<Test>::get(hotkey).unwrap_or(1);
						let _ = IncentiveModule::remove_stake(RuntimeOrigin::signed(owner), hotkey, amount);
					},
					Action::SetWeights(hotkey, row) => {
						let (uids, weights) = row.into_iter().unzip();
						let _ = IncentiveModule::set_weights(RuntimeOrigin::signed(hotkey), uids, weights, 0);
					},
					Action::Gift(account, amount) => {
						let to = IncentiveModule::stake_account();
						let _ = <Balances as Mutate<u64>>::transfer(&account, &to, amount, Preservation::Preserve);
					},
					Action::Blocks(blocks) => {
						for _ in 0..blocks {
							let next = System::block_number() + 1;
							run_to_block(next);
							let epoch = LastEpoch::<Test>::get();
							if epoch.block == next {
								expected += epoch.minted;
							}
						}
					},
				}
				prop_assert_eq!(issuance(), expected, "after {:?}", action);
				prop_assert!(IncentiveModule::check_invariants().is_ok(), "after {:?}: {:?}", action, IncentiveModule::check_invariants());
				prop_assert!(PeerCount::<Test>::get() <= 8);
			}
			Ok(())
		})?;
	}
}
