//! Paper section 10: a cabal that only votes for itself loses share to an honest majority.
use super::*;

#[test]
fn a_cabal_voting_only_for_itself_loses_stake_share_every_epoch() {
	let hyperparameters =
		crate::Hyperparameters { block_emission: 100_000_000_000, ..test_hyperparameters() };
	new_test_ext(hyperparameters, vec![]).execute_with(|| {
		// Six honest peers with 10% each, four cabal peers with 10% each.
		let uids = register_with_stakes(&[10 * 1_000_000_000; 10]);
		let (honest, cabal) = uids.split_at(6);
		let vote = |group: &[Uid]| {
			for voter in group {
				let others: Vec<Uid> = group.iter().copied().filter(|u| u != voter).collect();
				let count = others.len();
				set_weights(1_001 + u64::from(*voter), others, vec![1; count]);
			}
		};
		vote(honest);
		vote(cabal);

		let cabal_share = || {
			let stake = Stake::<Test>::get();
			let cabal_stake: u64 = cabal.iter().map(|u| stake[usize::from(*u)]).sum();
			cabal_stake as f64 / TotalStake::<Test>::get() as f64
		};
		let mut share = cabal_share();
		assert!((share - 0.4).abs() < 1e-12);
		for epoch in 1..=8u64 {
			run_to_block(10 * epoch);
			let next = cabal_share();
			assert!(next < share, "epoch {epoch}: cabal share {next} did not fall below {share}");
			share = next;
		}
		assert!(share < 0.3, "after 8 epochs the cabal still holds {share}");
	});
}
