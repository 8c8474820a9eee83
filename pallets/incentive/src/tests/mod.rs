//! Tests of the incentive pallet on the mock runtime.
#![allow(
	clippy::arithmetic_side_effects,
	clippy::indexing_slicing,
	clippy::unwrap_used,
	clippy::expect_used
)]

mod collusion;
mod commit_reveal;
mod epoch;
mod hyperparameters;
mod registration;
mod serving;
mod staking;
mod stateful;
mod validators;
mod weights;

use crate::{mock::*, *};
use frame_support::{assert_noop, assert_ok, traits::fungible::Inspect};

/// Registers `hotkey` for `coldkey` and returns its uid.
pub fn register(coldkey: u64, hotkey: u64) -> Uid {
	assert_ok!(IncentiveModule::register(
		RuntimeOrigin::signed(coldkey),
		hotkey,
		proof(coldkey, hotkey)
	));
	Uids::<Test>::get(hotkey).unwrap()
}

/// Registers hotkeys `1001..` for coldkeys `1..` with `stakes`.
pub fn register_with_stakes(stakes: &[u64]) -> Vec<Uid> {
	stakes
		.iter()
		.enumerate()
		.map(|(i, stake)| {
			let (coldkey, hotkey) = (1 + i as u64, 1_001 + i as u64);
			let uid = register(coldkey, hotkey);
			if *stake > 0 {
				assert_ok!(IncentiveModule::add_stake(
					RuntimeOrigin::signed(coldkey),
					hotkey,
					*stake
				));
			}
			uid
		})
		.collect()
}

/// Sets `hotkey`'s weights.
pub fn set_weights(hotkey: u64, uids: Vec<Uid>, weights: Vec<u16>) {
	assert_ok!(IncentiveModule::set_weights(RuntimeOrigin::signed(hotkey), uids, weights, 0));
}

/// Total issuance of the test chain.
pub fn issuance() -> u64 {
	Balances::total_issuance()
}

#[test]
fn genesis_peers_are_registered_with_minted_stake() {
	new_test_ext(test_hyperparameters(), vec![(1_001, 1, 5_000), (1_002, 2, 7_000)]).execute_with(
		|| {
			assert_eq!(PeerCount::<Test>::get(), 2);
			assert_eq!(IncentiveModule::stake_of(&1_002), 7_000);
			assert_eq!(TotalStake::<Test>::get(), 12_000);
			assert_ok!(IncentiveModule::check_invariants());
		},
	);
}
