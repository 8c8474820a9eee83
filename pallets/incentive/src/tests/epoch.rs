use super::*;
use bittensor_primitives::epoch::{Electorate, Mechanism};
use proptest::prelude::*;
use sp_arithmetic::Perquintill;

const E9: u64 = 1_000_000_000;

/// Tempo 10 and 10^8 rao a block: `E_epoch` = 10^9, as in `docs/mechanism.md`'s exact vector.
fn vector_hyperparameters() -> crate::Hyperparameters {
	crate::Hyperparameters { block_emission: E9 / 10, ..test_hyperparameters() }
}

/// The exact vector's hyperparameters, with every column judged by all the stake as
/// MECHANISM.md's table has it.
fn mechanism_md_hyperparameters() -> crate::Hyperparameters {
	crate::Hyperparameters { electorate: Electorate::AllStake, ..vector_hyperparameters() }
}

fn ring_peers() -> Vec<(u64, u64, u64)> {
	(0..4).map(|i| (1_001 + i, 1 + i, E9)).collect()
}

#[test]
fn mechanism_md_exact_vector_through_the_pallet() {
	new_test_ext(mechanism_md_hyperparameters(), ring_peers()).execute_with(|| {
		for i in 0..4u16 {
			set_weights(1_001 + u64::from(i), vec![(i + 1) % 4], vec![u16::MAX]);
		}
		let issuance_before = issuance();
		run_to_block(10);
		let quarter = Perquintill::from_percent(25);
		for vector in [
			Rank::<Test>::get(),
			Trust::<Test>::get(),
			Incentive::<Test>::get(),
			Dividends::<Test>::get(),
		] {
			assert_eq!(vector.into_inner(), vec![quarter; 4]);
		}
		for c in Consensus::<Test>::get() {
			let c = c.deconstruct() as f64 / 1e18;
			assert!((c - 1.0 / (1.0 + 2.5f64.exp())).abs() < 1e-12 && (c - 0.0758582).abs() < 1e-7);
		}
		assert_eq!(Emission::<Test>::get().into_inner(), vec![250_000_000; 4]);
		assert_eq!(Stake::<Test>::get().into_inner(), vec![1_250_000_000; 4]);
		for i in 0..4u16 {
			assert_eq!(Bonds::<Test>::get(i).into_inner(), vec![((i + 1) % 4, 250_000_000)]);
		}
		assert_eq!(issuance(), issuance_before + E9);
		assert!(incentive_events().iter().any(
			|e| matches!(e, Event::EpochCompleted { block: 10, minted, .. } if *minted == E9)
		));

		run_to_block(20);
		assert_eq!(Stake::<Test>::get().into_inner(), vec![1_500_000_000; 4]);
		for i in 0..4u16 {
			assert_eq!(Bonds::<Test>::get(i).into_inner(), vec![((i + 1) % 4, 500_000_000)]);
		}
		assert_eq!(issuance(), issuance_before + 2 * E9);
		assert_eq!(LastEpoch::<Test>::get().minted, E9);
		assert_ok!(IncentiveModule::check_invariants());
	});
}

#[test]
fn the_ring_judged_by_its_voters_pays_the_same_with_a_third_of_them_behind_each_edge() {
	new_test_ext(vector_hyperparameters(), ring_peers()).execute_with(|| {
		assert_eq!(Hyperparams::<Test>::get().electorate, Electorate::Voters, "the default");
		for i in 0..4u16 {
			set_weights(1_001 + u64::from(i), vec![(i + 1) % 4], vec![u16::MAX]);
		}
		run_to_block(10);
		for t in Trust::<Test>::get() {
			assert!(
				t.deconstruct().abs_diff(Perquintill::from_rational(1u64, 3).deconstruct()) <= 1
			);
		}
		let quarter = Perquintill::from_percent(25);
		assert_eq!(Incentive::<Test>::get().into_inner(), vec![quarter; 4]);
		assert_eq!(Emission::<Test>::get().into_inner(), vec![250_000_000; 4]);
		assert_ok!(IncentiveModule::check_invariants());
	});
}

#[test]
fn a_staked_peer_that_sets_no_weights_earns_no_more_incentive_than_if_it_validated() {
	// Three peers weight each other and peer 3 alike; peer 3 validates with the same row, or
	// sets none.
	let incentive_of_3 = |electorate: Electorate, validates: bool| {
		let hyperparameters = crate::Hyperparameters { electorate, ..vector_hyperparameters() };
		new_test_ext(hyperparameters, ring_peers()).execute_with(|| {
			for i in 0..4u16 {
				if i < 3 || validates {
					let others: Vec<Uid> = (0..4).filter(|j| *j != i).collect();
					set_weights(1_001 + u64::from(i), others, vec![1; 3]);
				}
			}
			run_to_block(10);
			Incentive::<Test>::get()[3].deconstruct() as f64 / 1e18
		})
	};
	let (abstaining, validating) =
		(incentive_of_3(Electorate::Voters, false), incentive_of_3(Electorate::Voters, true));
	assert!((abstaining - validating).abs() < 1e-12, "{abstaining} vs {validating}");
	// Judged by all the stake, its own column is the only one without a vote of 0.
	let bonus =
		incentive_of_3(Electorate::AllStake, false) / incentive_of_3(Electorate::AllStake, true);
	assert!(bonus > 1.3, "{bonus}");
}

#[test]
fn emission_goes_where_the_weights_point() {
	new_test_ext(vector_hyperparameters(), vec![]).execute_with(|| {
		register_with_stakes(&[E9, E9, E9, E9]);
		// Everyone votes for peers 1 and 2; nobody for 3.
		set_weights(1_001, vec![1, 2], vec![1, 1]);
		set_weights(1_002, vec![2], vec![1]);
		set_weights(1_003, vec![1], vec![1]);
		set_weights(1_004, vec![1, 2], vec![1, 1]);
		run_to_block(10);
		let incentive = Incentive::<Test>::get();
		assert!(incentive[1] > Perquintill::zero() && incentive[2] > Perquintill::zero());
		assert_eq!(incentive[0], Perquintill::zero());
		assert_eq!(incentive[3], Perquintill::zero());
		let emission = Emission::<Test>::get();
		assert!(emission[1] > emission[3] && emission[2] > emission[3]);
		assert_ok!(IncentiveModule::check_invariants());
	});
}

#[test]
fn inactive_peers_and_empty_metagraphs_mint_nothing() {
	let hyperparameters = crate::Hyperparameters { activity_cutoff: 3, ..vector_hyperparameters() };
	new_test_ext(hyperparameters, vec![]).execute_with(|| {
		let before = issuance();
		run_to_block(10);
		assert_eq!(LastEpoch::<Test>::get().minted, 0);
		register_with_stakes(&[E9, E9]);
		set_weights(1_001, vec![1], vec![1]);
		set_weights(1_002, vec![0], vec![1]);
		// By block 20 both peers' last update (block 10) is older than the cutoff.
		run_to_block(20);
		assert_eq!(LastEpoch::<Test>::get().minted, 0);
		assert_eq!(issuance(), before - 2_000);
		assert_ok!(IncentiveModule::check_invariants());
	});
}

#[test]
fn loss_peg_raises_min_allowed_weights() {
	new_test_ext(vector_hyperparameters(), vec![]).execute_with(|| {
		// Each peer votes for one other: trust 1/4 < κ, consensus below ½, loss positive.
		register_with_stakes(&[E9, E9, E9, E9]);
		for i in 0..4u16 {
			set_weights(1_001 + u64::from(i), vec![(i + 1) % 4], vec![1]);
		}
		run_to_block(10);
		assert!(LastEpoch::<Test>::get().loss > 0);
		assert_eq!(MinAllowedWeights::<Test>::get(), 2);
		assert!(incentive_events().contains(&Event::MinAllowedWeightsPegged { value: 2 }));
		// Weights to everyone: trust 3/4 > κ, the loss turns negative and the peg comes back.
		for i in 0..4u16 {
			let others: Vec<Uid> = (0..4).filter(|j| *j != i).collect();
			set_weights(1_001 + u64::from(i), others, vec![1, 1, 1]);
		}
		run_to_block(20);
		assert!(LastEpoch::<Test>::get().loss < 0);
		assert_eq!(MinAllowedWeights::<Test>::get(), 1);
	});
}

#[test]
fn attribution_mechanism_through_the_pallet() {
	let hyperparameters = crate::Hyperparameters {
		mechanism: Mechanism::Attribution2019,
		..vector_hyperparameters()
	};
	new_test_ext(hyperparameters, ring_peers()).execute_with(|| {
		// Peer 0 set no weights, a full self-loop: it keeps everything; the others pass all to 0.
		for i in 1..4u64 {
			set_weights(1_001 + i, vec![0], vec![1]);
		}
		run_to_block(10);
		assert_eq!(Emission::<Test>::get().into_inner(), vec![E9, 0, 0, 0]);
		assert_ok!(IncentiveModule::check_invariants());
	});
}

/// A full metagraph of three, no immunity: peer 0 weights peers 1 and 2, peer 1 weights peer 0,
/// so uid 2 earns least (1/8 of each epoch) and is the one a newcomer replaces.
fn three_peers_with_uid_2_weakest() -> sp_io::TestExternalities {
	let hyperparameters = crate::Hyperparameters {
		max_allowed_uids: 3,
		immunity_period: 0,
		..vector_hyperparameters()
	};
	let mut ext = new_test_ext(hyperparameters, vec![]);
	ext.execute_with(|| {
		register_with_stakes(&[E9, E9, 0]);
		set_weights(1_001, vec![1, 2], vec![1, 1]);
		set_weights(1_002, vec![0], vec![1]);
	});
	ext
}

#[test]
fn weights_and_bonds_on_a_replaced_peer_are_forgotten() {
	three_peers_with_uid_2_weakest().execute_with(|| {
		run_to_block(10);
		assert_eq!(Bonds::<Test>::get(0).iter().map(|(j, _)| *j).collect::<Vec<_>>(), vec![1, 2]);
		run_to_block(12);
		assert_ok!(IncentiveModule::register(RuntimeOrigin::signed(9), 1_009, proof(9, 1_009)));
		assert_eq!(Uids::<Test>::get(1_009), Some(2));
		// Peer 0's weight and bond on uid 2 were meant for its predecessor.
		run_to_block(20);
		assert_eq!(Rank::<Test>::get()[2], Perquintill::zero());
		assert_eq!(Bonds::<Test>::get(0).iter().map(|(j, _)| *j).collect::<Vec<_>>(), vec![1]);
		assert_ok!(IncentiveModule::check_invariants());
	});
}

#[test]
fn a_peer_replaced_in_an_epoch_block_does_not_inherit_its_predecessors_bonds() {
	three_peers_with_uid_2_weakest().execute_with(|| {
		run_to_block(10);
		run_to_block(20);
		// Block 20's epoch (run first in the block) accrued bonds in uid 2; then it is replaced.
		assert!(Bonds::<Test>::get(0).iter().any(|(j, _)| *j == 2));
		assert_ok!(IncentiveModule::register(RuntimeOrigin::signed(9), 1_009, proof(9, 1_009)));
		assert_eq!(Uids::<Test>::get(1_009), Some(2));
		run_to_block(30);
		assert!(
			Bonds::<Test>::get(0).iter().all(|(j, _)| *j != 2),
			"bonds in the predecessor leaked"
		);
		assert_ok!(IncentiveModule::check_invariants());
	});
}

proptest! {
	#![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

	/// Random graphs through the pallet: issuance grows by exactly what is minted, dividends
	/// sum to one (or nothing is minted), outputs stay in [0, 1], invariants hold.
	#[test]
	fn random_graphs_keep_the_invariants(
		stakes in prop::collection::vec(prop_oneof![Just(0u64), 1..1_000_000_000_000u64], 1..40),
		edges in prop::collection::vec((0u16..40, 0u16..40, 0u16..1000), 0..200),
		attribution in any::<bool>(),
		voters in any::<bool>(),
	) {
		let mechanism = if attribution { Mechanism::Attribution2019 } else { Mechanism::Yuma2021 };
		let electorate = if voters { Electorate::Voters } else { Electorate::AllStake };
		new_test_ext(crate::Hyperparameters { mechanism, electorate, ..vector_hyperparameters() }, vec![]).execute_with(|| {
			let n = stakes.len() as u16;
			let stakes: Vec<u64> = stakes.iter().map(|s| (*s).min(ENDOWMENT / 2)).collect();
			register_with_stakes(&stakes);
			assert_ok!(IncentiveModule::set_hyperparameter(RuntimeOrigin::root(), Hyperparameter::MinAllowedWeights(0)));
			for i in 0..n {
				let mut row: Vec<(Uid, u16)> = edges.iter().filter(|(from, _, _)| *from % n == i).map(|(_, to, w)| (*to % n, *w)).collect();
				row.sort_by_key(|(j, _)| *j);
				row.dedup_by_key(|(j, _)| *j);
				let (uids, weights) = row.into_iter().unzip();
				let _ = IncentiveModule::set_weights(RuntimeOrigin::signed(1_001 + u64::from(i)), uids, weights, 0);
			}
			for epoch in 1..=3u64 {
				let before = issuance();
				run_to_block(10 * epoch);
				let minted = LastEpoch::<Test>::get().minted;
				prop_assert_eq!(issuance(), before + minted);
				prop_assert!(minted <= E9);
				let dividends: u128 = Dividends::<Test>::get().iter().map(|d| u128::from(d.deconstruct())).sum();
				prop_assert!(minted == 0 || (dividends as f64 / 1e18 - 1.0).abs() < 1e-9);
				prop_assert!(IncentiveModule::check_invariants().is_ok());
			}
			Ok(())
		})?;
	}
}

#[test]
fn mechanism_md_yuma3_vector_through_the_pallet() {
	use bittensor_primitives::yuma3::Yuma3Params;
	let half = Perquintill::from_percent(50);
	let yuma3 = Yuma3Params { alpha_low: half, alpha_high: half, ..Default::default() };
	let hyperparameters = crate::Hyperparameters {
		block_emission: 120_000_000,
		mechanism: Mechanism::Yuma3(yuma3),
		electorate: Electorate::AllStake,
		..test_hyperparameters()
	};
	let peers = vec![(1_001, 1, 3 * E9), (1_002, 2, E9), (1_003, 3, 0)];
	new_test_ext(hyperparameters, peers).execute_with(|| {
		set_weights(1_001, vec![2], vec![1]);
		set_weights(1_002, vec![0, 2], vec![1, 1]);
		run_to_block(10);
		let one = Perquintill::one();
		let zero = Perquintill::zero();
		assert_eq!(Consensus::<Test>::get().into_inner(), vec![zero, zero, one]);
		assert_eq!(Incentive::<Test>::get().into_inner(), vec![zero, zero, one]);
		assert_eq!(Bonds::<Test>::get(0).into_inner(), vec![(2, 1 << 63)]);
		assert_eq!(Bonds::<Test>::get(1).into_inner(), vec![(2, 1 << 62)]);
		let want = [514_285_714u64, 85_714_285, 600_000_000];
		for (got, want) in Emission::<Test>::get().iter().zip(want) {
			assert!(got.abs_diff(want) <= 1, "emission {got} vs {want}");
		}
		assert_eq!(LastEpoch::<Test>::get().loss, 0);
		assert_ok!(IncentiveModule::check_invariants());
	});
}
