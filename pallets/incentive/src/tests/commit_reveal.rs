//! Commit-reveal: the whole cycle, every error, expiry, and what a copier can do with a commit.

use super::*;

/// Commit-reveal on with a period of 5 blocks; tempo 10.
fn commit_reveal() -> crate::Hyperparameters {
	crate::Hyperparameters {
		commit_reveal_enabled: true,
		commit_reveal_period: 5,
		..test_hyperparameters()
	}
}

const SALT: [u8; 32] = [42; 32];

/// The hash `hotkey` commits for `uids` and `weights` with [`SALT`] and version key 0.
fn hash_of(hotkey: u64, uids: &[Uid], weights: &[u16]) -> bittensor_primitives::Hash {
	let genesis = System::block_hash(0);
	bittensor_primitives::weights_commit_hash(&hotkey, &genesis, uids, weights, &SALT, 0)
}

fn commit(hotkey: u64, hash: bittensor_primitives::Hash) -> DispatchResult {
	IncentiveModule::commit_weights(RuntimeOrigin::signed(hotkey), hash)
}

fn reveal(hotkey: u64, uids: Vec<Uid>, weights: Vec<u16>, salt: [u8; 32]) -> DispatchResult {
	IncentiveModule::reveal_weights(RuntimeOrigin::signed(hotkey), uids, weights, salt, 0)
}

use sp_runtime::DispatchResult;

#[test]
fn a_commit_is_revealed_within_its_window_and_then_counts() {
	new_test_ext(commit_reveal(), vec![]).execute_with(|| {
		register_with_stakes(&[10, 10, 10]);
		let hash = hash_of(1_001, &[1, 2], &[3, 1]);
		assert_ok!(commit(1_001, hash));
		assert_eq!(WeightCommits::<Test>::get(0), Some(WeightsCommit { hash, block: 1 }));
		assert!(incentive_events().contains(&Event::WeightsCommitted {
			uid: 0,
			hash,
			reveal_from: 6
		}));
		// Nothing is visible before the reveal.
		assert!(Weights::<Test>::get(0).is_empty());
		run_to_block(6);
		assert_ok!(reveal(1_001, vec![1, 2], vec![3, 1], SALT));
		assert_eq!(Weights::<Test>::get(0).into_inner(), vec![(1, 3), (2, 1)]);
		assert!(WeightCommits::<Test>::get(0).is_none());
		assert!(incentive_events().contains(&Event::WeightsSet { uid: 0, count: 2 }));
		// The revealed weights count at the next epoch.
		run_to_block(10);
		assert!(Incentive::<Test>::get()[1] > Incentive::<Test>::get()[2]);
		assert_ok!(IncentiveModule::check_invariants());
	});
}

#[test]
fn commit_reveal_errors_change_nothing() {
	new_test_ext(commit_reveal(), vec![]).execute_with(|| {
		register_with_stakes(&[10, 10, 10, 0]);
		// With commit-reveal on, weights are not set in the open.
		assert_noop!(
			IncentiveModule::set_weights(RuntimeOrigin::signed(1_001), vec![1], vec![1], 0),
			Error::<Test>::CommitRevealRequired
		);
		let hash = hash_of(1_001, &[1], &[1]);
		assert_noop!(commit(9_999, hash), Error::<Test>::NotRegistered);
		assert_noop!(commit(1_004, hash), Error::<Test>::NoValidatorPermit);
		assert_noop!(reveal(1_001, vec![1], vec![1], SALT), Error::<Test>::NoCommit);
		assert_noop!(reveal(9_999, vec![1], vec![1], SALT), Error::<Test>::NotRegistered);
		assert_ok!(commit(1_001, hash));
		assert_noop!(commit(1_001, hash_of(1_001, &[2], &[1])), Error::<Test>::UnrevealedCommit);
		run_to_block(5);
		assert_noop!(reveal(1_001, vec![1], vec![1], SALT), Error::<Test>::RevealTooEarly);
		run_to_block(6);
		assert_noop!(reveal(1_001, vec![1], vec![1], [0; 32]), Error::<Test>::InvalidReveal);
		assert_noop!(reveal(1_001, vec![2], vec![1], SALT), Error::<Test>::InvalidReveal);
		assert_noop!(
			IncentiveModule::reveal_weights(
				RuntimeOrigin::signed(1_001),
				vec![1],
				vec![1],
				SALT,
				1
			),
			Error::<Test>::InvalidReveal
		);
		// A commit of weights that break the row rules is revealed to no effect.
		let self_only = hash_of(1_002, &[1], &[1]);
		assert_ok!(commit(1_002, self_only));
		run_to_block(11);
		assert_noop!(reveal(1_002, vec![1], vec![1], SALT), Error::<Test>::NotEnoughWeights);
		// 1_001's window closed at block 11.
		assert_noop!(reveal(1_001, vec![1], vec![1], SALT), Error::<Test>::RevealTooLate);
		// With commit-reveal off, no new commits; plain weights again.
		assert_ok!(IncentiveModule::set_hyperparameter(
			RuntimeOrigin::root(),
			Hyperparameter::CommitRevealEnabled(false)
		));
		assert_noop!(commit(1_003, hash), Error::<Test>::CommitRevealDisabled);
		set_weights(1_003, vec![1], vec![1]);
	});
}

#[test]
fn unrevealed_commits_expire_at_the_epoch_and_a_new_one_may_follow() {
	new_test_ext(commit_reveal(), vec![]).execute_with(|| {
		register_with_stakes(&[10, 10, 10]);
		assert_ok!(commit(1_001, hash_of(1_001, &[1], &[1])));
		run_to_block(4);
		assert_ok!(commit(1_002, hash_of(1_002, &[0], &[1])));
		// Epoch at 10: 1_001's window [6, 11) is still open, 1_002's [9, 14) too.
		run_to_block(10);
		assert_eq!(WeightCommits::<Test>::iter_keys().count(), 2);
		// At 11 the first expires, but is pruned only at the next epoch; a new commit may
		// replace it before then.
		run_to_block(11);
		assert_ok!(commit(1_001, hash_of(1_001, &[2], &[1])));
		assert_eq!(WeightCommits::<Test>::get(0).map(|c| c.block), Some(11));
		// Epoch at 20: 1_002's commit expired at 14 and goes; 1_001's [16, 21) stays.
		run_to_block(20);
		assert!(incentive_events().contains(&Event::WeightsCommitExpired { uid: 1 }));
		assert!(!incentive_events().contains(&Event::WeightsCommitExpired { uid: 0 }));
		assert_eq!(WeightCommits::<Test>::iter_keys().collect::<Vec<_>>(), vec![0]);
		assert_ok!(IncentiveModule::check_invariants());
	});
}

#[test]
fn a_copied_commit_cannot_be_revealed_by_the_copier() {
	new_test_ext(commit_reveal(), vec![]).execute_with(|| {
		register_with_stakes(&[10, 10, 10]);
		// The copier sees the honest validator's commit in the mempool and commits the same
		// hash; at the reveal it sees the honest weights and salt, and reveals them.
		let hash = hash_of(1_001, &[1, 2], &[3, 1]);
		assert_ok!(commit(1_001, hash));
		assert_ok!(commit(1_003, hash));
		run_to_block(6);
		assert_ok!(reveal(1_001, vec![1, 2], vec![3, 1], SALT));
		// The hash binds the hotkey: the copier's reveal of the same row does not match.
		assert_noop!(reveal(1_003, vec![1, 2], vec![3, 1], SALT), Error::<Test>::InvalidReveal);
		// All it can do is commit the revealed row now, to count a period after the original.
		run_to_block(12);
		assert_ok!(commit(1_003, hash_of(1_003, &[1, 2], &[3, 1])));
		assert_eq!(WeightCommits::<Test>::get(2).map(|c| c.block), Some(12));
	});
}

#[test]
fn a_lost_permit_or_uid_takes_the_commit_with_it() {
	let hyperparameters = crate::Hyperparameters {
		max_allowed_validators: 1,
		max_allowed_uids: 3,
		immunity_period: 0,
		..commit_reveal()
	};
	new_test_ext(hyperparameters, vec![]).execute_with(|| {
		register_with_stakes(&[10, 0, 0]);
		assert_ok!(commit(1_001, hash_of(1_001, &[1], &[1])));
		// A bigger staker takes the only permit at the epoch: the commit goes with it.
		assert_ok!(IncentiveModule::add_stake(RuntimeOrigin::signed(2), 1_002, 20));
		run_to_block(10);
		assert!(incentive_events().contains(&Event::ValidatorPermitRevoked { uid: 0 }));
		assert!(WeightCommits::<Test>::get(0).is_none());
		assert_ok!(commit(1_002, hash_of(1_002, &[0], &[1])));
		// Replaced by a newcomer, its uid starts without the commit.
		assert_ok!(IncentiveModule::register(RuntimeOrigin::signed(50), 1_050, proof(50, 1_050)));
		let replaced = Uids::<Test>::get(1_050).unwrap();
		assert!(WeightCommits::<Test>::get(replaced).is_none());
		assert_ok!(IncentiveModule::check_invariants());
	});
}
