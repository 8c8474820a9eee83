#![allow(
	clippy::arithmetic_side_effects,
	clippy::indexing_slicing,
	clippy::unwrap_used,
	clippy::expect_used
)]
// The f64 reference indexes like the formulas it mirrors.
#![allow(clippy::needless_range_loop, clippy::too_many_arguments, clippy::type_complexity)]
//! The epoch against `docs/mechanism.md`: its exact vector, and random graphs against an `f64`
//! implementation of the table written here, independently of the fixed-point code.

use bittensor_primitives::epoch::{
	pegged_min_allowed_weights, run_epoch, validator_permits, BondsMode, Electorate, EpochInput,
	EpochOutput, EpochParams, Mechanism, Uid,
};
use proptest::prelude::*;
use sp_arithmetic::Perquintill;
use substrate_fixed::types::I64F64;

fn value(p: Perquintill) -> f64 {
	p.deconstruct() as f64 / 1e18
}

/// The `f64` reference of `docs/mechanism.md`'s table (Yuma-2021) and of the 2019 attribution.
mod reference {
	pub struct Output {
		pub rank: Vec<f64>,
		pub trust: Vec<f64>,
		pub consensus: Vec<f64>,
		pub incentive: Vec<f64>,
		pub dividends: Vec<f64>,
		pub emission: Vec<f64>,
		pub bonds: Vec<Vec<f64>>,
		pub loss: f64,
	}

	pub fn normalize(v: &[f64]) -> Vec<f64> {
		let sum: f64 = v.iter().sum();
		if sum == 0.0 {
			vec![0.0; v.len()]
		} else {
			v.iter().map(|x| x / sum).collect()
		}
	}

	/// Dense row-normalized weights; the diagonal kept only if `keep_self`.
	fn weight_matrix(weights: &[Vec<(u16, u16)>], n: usize, keep_self: bool) -> Vec<Vec<f64>> {
		(0..n)
			.map(|i| {
				let mut row = vec![0.0; n];
				for &(j, w) in &weights[i] {
					if (j as usize) < n && (keep_self || j as usize != i) {
						row[j as usize] += w as f64;
					}
				}
				normalize(&row)
			})
			.collect()
	}

	pub fn yuma(
		stake: &[u64],
		active: &[bool],
		weights: &[Vec<(u16, u16)>],
		bonds: &[Vec<f64>],
		emission: f64,
		rho: f64,
		kappa: f64,
		alpha: Option<f64>,
		voters: bool,
	) -> Output {
		let n = stake.len();
		let s = normalize(
			&(0..n)
				.map(|i| if active[i] { stake[i] as f64 } else { 0.0 })
				.collect::<Vec<_>>(),
		);
		let w = weight_matrix(weights, n, false);
		// Under `Electorate::Voters` each column is over the stake of the peers that weight
		// someone, the column's own peer left out; under `AllStake` over all of it.
		let voted: Vec<bool> = (0..n).map(|i| w[i].iter().sum::<f64>() > 0.0).collect();
		let over_electorate = |j: usize, sum: f64| -> f64 {
			if !voters {
				return sum;
			}
			let electorate: f64 = (0..n).filter(|&i| i != j && voted[i]).map(|i| s[i]).sum();
			if electorate > 0.0 {
				(sum / electorate).min(1.0)
			} else {
				0.0
			}
		};
		let rank = normalize(
			&(0..n)
				.map(|j| over_electorate(j, (0..n).map(|i| w[i][j] * s[i]).sum()))
				.collect::<Vec<f64>>(),
		);
		let trust: Vec<f64> = (0..n)
			.map(|j| over_electorate(j, (0..n).filter(|&i| w[i][j] > 0.0).map(|i| s[i]).sum()))
			.collect();
		let consensus: Vec<f64> =
			trust.iter().map(|t| 1.0 / (1.0 + (-rho * (t - kappa)).exp())).collect();
		let incentive = normalize(&(0..n).map(|j| rank[j] * consensus[j]).collect::<Vec<_>>());
		let bonds: Vec<Vec<f64>> = (0..n)
			.map(|i| {
				(0..n)
					.map(|j| {
						let delta = s[i] * w[i][j] * emission;
						match alpha {
							// Cumulative bonds in a column no longer weighted are pruned.
							None if w[i][j] > 0.0 => bonds[i][j] + delta,
							None => 0.0,
							Some(a) => a * bonds[i][j] + (1.0 - a) * delta,
						}
					})
					.collect()
			})
			.collect();
		let column: Vec<f64> = (0..n).map(|j| (0..n).map(|k| bonds[k][j]).sum()).collect();
		let dividends = normalize(
			&(0..n)
				.map(|i| {
					let own = if column[i] == 0.0 { incentive[i] } else { 0.5 * incentive[i] };
					own + 0.5
						* (0..n)
							.filter(|&j| column[j] > 0.0)
							.map(|j| bonds[i][j] / column[j] * incentive[j])
							.sum::<f64>()
				})
				.collect::<Vec<_>>(),
		);
		let emission_out = dividends.iter().map(|d| d * emission).collect();
		let loss = -(0..n).map(|j| rank[j] * (consensus[j] - 0.5)).sum::<f64>();
		Output { rank, trust, consensus, incentive, dividends, emission: emission_out, bonds, loss }
	}

	/// `A = S∘N; T = Mᵀ·S; while ‖T‖ > ε: A += T∘N; T = Mᵀ·T`, then `normalize(A)`.
	pub fn attribution(stake: &[u64], active: &[bool], weights: &[Vec<(u16, u16)>]) -> Vec<f64> {
		let n = stake.len();
		let s = normalize(
			&(0..n)
				.map(|i| if active[i] { stake[i] as f64 } else { 0.0 })
				.collect::<Vec<_>>(),
		);
		let mut w = weight_matrix(weights, n, true);
		for (i, row) in w.iter_mut().enumerate() {
			if row.iter().sum::<f64>() == 0.0 {
				row[i] = 1.0;
			}
		}
		let keep: Vec<f64> = (0..n).map(|i| w[i][i]).collect();
		let flow = |t: &[f64]| -> Vec<f64> {
			(0..n)
				.map(|j| (0..n).filter(|&i| i != j).map(|i| t[i] * w[i][j]).sum())
				.collect()
		};
		let mut a: Vec<f64> = (0..n).map(|i| s[i] * keep[i]).collect();
		let mut t = flow(&s);
		for _ in 0..64 {
			if t.iter().sum::<f64>() <= 1e-12 {
				break;
			}
			for i in 0..n {
				a[i] += t[i] * keep[i];
			}
			t = flow(&t);
		}
		normalize(&a)
	}
}

fn dense_bonds(rows: &[Vec<(Uid, u64)>], n: usize) -> Vec<Vec<f64>> {
	let mut dense = vec![vec![0.0; n]; n];
	for (i, row) in rows.iter().enumerate() {
		for &(j, b) in row {
			dense[i][j as usize] = b as f64;
		}
	}
	dense
}

fn ring(n: u16) -> Vec<Vec<(Uid, u16)>> {
	(0..n).map(|i| vec![((i + 1) % n, u16::MAX)]).collect()
}

/// The ring of MECHANISM.md over two epochs, under `electorate`, with the trust and consensus
/// every peer must get: all else is the same under both electorates.
fn ring_vector_two_epochs(electorate: Electorate, trust: Perquintill, consensus: f64) {
	let params = EpochParams { electorate, ..EpochParams::default() };
	let weights = ring(4);
	let active = [true; 4];
	let mut stake = vec![1_000_000_000u64; 4];
	let mut bonds: Vec<Vec<(Uid, u64)>> = vec![Vec::new(); 4];

	for (epoch, (expected_stake, expected_bond)) in
		[(1_250_000_000u64, 250_000_000u64), (1_500_000_000, 500_000_000)]
			.into_iter()
			.enumerate()
	{
		let out = run_epoch(
			&params,
			&EpochInput {
				stake: &stake,
				active: &active,
				weights: &weights,
				bonds: &bonds,
				emission: 1_000_000_000,
			},
		);
		for i in 0..4 {
			for (name, v) in [
				("rank", out.rank[i]),
				("incentive", out.incentive[i]),
				("dividends", out.dividends[i]),
			] {
				assert_eq!(v, Perquintill::from_percent(25), "epoch {epoch}: {name}[{i}]");
			}
			assert!(out.trust[i].deconstruct().abs_diff(trust.deconstruct()) <= 1, "trust[{i}]");
			assert!((value(out.consensus[i]) - consensus).abs() < 1e-9, "consensus[{i}]");
			assert_eq!(out.emission[i], 250_000_000);
			stake[i] += out.emission[i];
			assert_eq!(stake[i], expected_stake);
			assert_eq!(out.bonds[i], vec![(((i + 1) % 4) as Uid, expected_bond)]);
		}
		assert_eq!(out.minted, 1_000_000_000);
		bonds = out.bonds;
	}
}

#[test]
fn mechanism_md_exact_vector_two_epochs() {
	// Every peer's trust is the quarter of the stake behind its one edge, of all the stake.
	let consensus = 1.0 / (1.0 + 2.5f64.exp());
	assert!((consensus - 0.0758582).abs() < 1e-7);
	ring_vector_two_epochs(Electorate::AllStake, Perquintill::from_percent(25), consensus);
}

#[test]
fn the_ring_under_voters_is_judged_by_the_three_other_peers() {
	// Each peer's own stake abstains in its column: its one edge is a third of the rest.
	let consensus = 1.0 / (1.0 + (10.0f64 / 6.0).exp());
	ring_vector_two_epochs(Electorate::Voters, Perquintill::from_rational(1u64, 3), consensus);
}

/// What a staked peer earns under `params` in a market of three validators of equal stake
/// that weight each other and peer 3 alike, when peer 3 validates with the same row (`true`)
/// or sets no weights at all.
fn abstainers_pay(params: &EpochParams, validates: bool) -> (f64, f64) {
	let row =
		|own: Uid| -> Vec<(Uid, u16)> { (0..4).filter(|j| *j != own).map(|j| (j, 1000)).collect() };
	let mut weights: Vec<Vec<(Uid, u16)>> = (0..4).map(row).collect();
	if !validates {
		weights[3].clear();
	}
	let stake = [1_000_000_000u64; 4];
	let mut bonds = Vec::new();
	let mut out = EpochOutput::default();
	for _ in 0..3 {
		out = run_epoch(
			params,
			&EpochInput {
				stake: &stake,
				active: &[true; 4],
				weights: &weights,
				bonds: &bonds,
				emission: 1_000_000,
			},
		);
		bonds = out.bonds.clone();
	}
	(value(out.incentive[3]), out.emission[3] as f64)
}

#[test]
fn under_voters_not_validating_earns_no_more_than_validating() {
	for mechanism in [Mechanism::Yuma2021, Mechanism::Yuma3(Default::default())] {
		let voters =
			EpochParams { mechanism, electorate: Electorate::Voters, ..Default::default() };
		let (incentive, emission) = abstainers_pay(&voters, false);
		let (validating_incentive, validating_emission) = abstainers_pay(&voters, true);
		assert!(
			(incentive - validating_incentive).abs() < 1e-9,
			"{mechanism:?}: the same incentive"
		);
		assert!(emission < validating_emission, "{mechanism:?}: and no bonds to earn on");
		// Under all the stake the abstainer's own column has no vote of 0 against it.
		let all = EpochParams { electorate: Electorate::AllStake, ..voters };
		let (bonus, _) = abstainers_pay(&all, false);
		assert!(bonus > 1.1 * abstainers_pay(&all, true).0, "{mechanism:?}: {bonus}");
	}
}

#[test]
fn no_stake_or_no_edges_mints_nothing() {
	let params = EpochParams::default();
	let stake = [0u64, 0, 0];
	let weights = ring(3);
	let out = run_epoch(
		&params,
		&EpochInput {
			stake: &stake,
			active: &[true; 3],
			weights: &weights,
			bonds: &[],
			emission: 1_000,
		},
	);
	assert_eq!(out.minted, 0);
	let stake = [10u64, 20, 30];
	let self_only: Vec<Vec<(Uid, u16)>> = (0..3).map(|i| vec![(i, 1)]).collect();
	let out = run_epoch(
		&params,
		&EpochInput {
			stake: &stake,
			active: &[true; 3],
			weights: &self_only,
			bonds: &[],
			emission: 1_000,
		},
	);
	assert_eq!(out.minted, 0);
	assert!(out.emission.iter().all(|e| *e == 0));
	assert!(out.rank.iter().all(|r| r.is_zero()));
}

#[test]
fn inactive_peers_stake_does_not_count() {
	let params = EpochParams::default();
	let stake = [100u64, 100, 100];
	// Peer 0 votes for 1, peer 2 (inactive) votes for 0.
	let weights = vec![vec![(1, 1)], vec![], vec![(0, 1)]];
	let out = run_epoch(
		&params,
		&EpochInput {
			stake: &stake,
			active: &[true, true, false],
			weights: &weights,
			bonds: &[],
			emission: 1_000,
		},
	);
	assert_eq!(out.rank[0], Perquintill::zero());
	assert_eq!(out.rank[1], Perquintill::one());
	assert_eq!(out.stake[2], Perquintill::zero());
}

#[test]
fn attribution_keeps_self_loops_and_passes_the_rest_on() {
	let params = EpochParams { mechanism: Mechanism::Attribution2019, ..Default::default() };
	// Peer 0 keeps half and passes half to 1; 1 set no weights (full self-loop); 2 passes all to 0.
	let weights = vec![vec![(0, 1), (1, 1)], vec![], vec![(0, 1)]];
	let stake = [100u64, 100, 100];
	let out = run_epoch(
		&params,
		&EpochInput {
			stake: &stake,
			active: &[true; 3],
			weights: &weights,
			bonds: &[],
			emission: 3_000,
		},
	);
	// 0 keeps 1/6 + (1/3)/2 = 1/3; 1 gets 1/3 + 1/6 + 1/6 = 2/3; 2 keeps nothing.
	assert!((value(out.incentive[0]) - 1.0 / 3.0).abs() < 1e-9);
	assert!((value(out.incentive[1]) - 2.0 / 3.0).abs() < 1e-9);
	assert_eq!(out.emission[2], 0);
	assert!(out.minted <= 3_000 && out.minted >= 2_998);
}

#[test]
fn moving_average_bonds_fade() {
	let alpha = Perquintill::from_percent(90);
	let params =
		EpochParams { bonds_mode: BondsMode::MovingAverage { alpha }, ..Default::default() };
	let weights = vec![vec![(1, 1)], vec![(0, 1)]];
	let bonds = vec![vec![(1, 1_000)], vec![(0, 0)]];
	let out = run_epoch(
		&params,
		&EpochInput {
			stake: &[1, 1],
			active: &[true; 2],
			weights: &weights,
			bonds: &bonds,
			emission: 100,
		},
	);
	// 0.9 · 1000 + 0.1 · (0.5 · 1 · 100) = 905
	assert_eq!(out.bonds[0], vec![(1, 905)]);
	assert_eq!(out.bonds[1], vec![(0, 5)]);
}

#[test]
fn cumulative_bonds_in_columns_no_longer_weighted_are_pruned() {
	// Peer 0 held bonds in 1 and 2 and now weights only 1: its bond in 2 goes.
	let weights = vec![vec![(1, 1)], vec![(0, 1)], vec![(0, 1)]];
	let bonds = vec![vec![(1, 1_000), (2, 7_000)], vec![], vec![]];
	let input = EpochInput {
		stake: &[1, 1, 2],
		active: &[true; 3],
		weights: &weights,
		bonds: &bonds,
		emission: 100,
	};
	let out = run_epoch(&EpochParams::default(), &input);
	assert_eq!(out.bonds[0], vec![(1, 1_025)]);
	// A moving average fades the same bond instead: 0.5 · 7000.
	let alpha = Perquintill::from_percent(50);
	let params =
		EpochParams { bonds_mode: BondsMode::MovingAverage { alpha }, ..Default::default() };
	assert_eq!(run_epoch(&params, &input).bonds[0], vec![(1, 512), (2, 3_500)]);
}

#[test]
fn permits_go_to_the_most_stake_and_never_to_none() {
	assert_eq!(validator_permits(&[5, 0, 9, 5, 1], 2), vec![true, false, true, false, false]);
	assert_eq!(validator_permits(&[5, 0, 9], 8), vec![true, false, true]);
	assert_eq!(validator_permits(&[], 8), Vec::<bool>::new());
	assert_eq!(validator_permits(&[3, 3], 0), vec![false, false]);
}

#[test]
fn loss_peg_moves_one_step_within_bounds() {
	let positive = I64F64::from_num(0.1);
	let negative = I64F64::from_num(-0.1);
	assert_eq!(pegged_min_allowed_weights(1, positive, 10, 1), 2);
	assert_eq!(pegged_min_allowed_weights(9, positive, 10, 1), 9);
	assert_eq!(pegged_min_allowed_weights(3, negative, 10, 1), 2);
	assert_eq!(pegged_min_allowed_weights(1, negative, 10, 1), 1);
	assert_eq!(pegged_min_allowed_weights(4, I64F64::from_num(0), 10, 1), 4);
	assert_eq!(pegged_min_allowed_weights(0, positive, 0, 0), 0);
}

/// A random metagraph: stakes, activity, sparse weights (self-weights and zeros included).
fn graph(max_peers: usize) -> impl Strategy<Value = (Vec<u64>, Vec<bool>, Vec<Vec<(Uid, u16)>>)> {
	(1..=max_peers).prop_flat_map(|n| {
		let stake = prop::collection::vec(
			prop_oneof![Just(0u64), 0..1_000_000_000_000u64, Just(u64::MAX / 1024)],
			n,
		);
		let active = prop::collection::vec(prop::bool::weighted(0.85), n);
		let row = prop::collection::vec(
			(0..n as Uid, prop_oneof![Just(0u16), any::<u16>()]),
			0..8.min(n) + 1,
		)
		.prop_map(|mut row| {
			row.sort_by_key(|(j, _)| *j);
			row.dedup_by_key(|(j, _)| *j);
			row
		});
		let weights = prop::collection::vec(row, n);
		(stake, active, weights)
	})
}

fn assert_close(name: &str, got: &[Perquintill], want: &[f64]) -> Result<(), TestCaseError> {
	for (i, (g, w)) in got.iter().zip(want).enumerate() {
		prop_assert!((value(*g) - w).abs() < 1e-6, "{name}[{i}]: {} vs {w}", value(*g));
	}
	Ok(())
}

fn check_invariants(out: &EpochOutput, budget: u64) -> Result<(), TestCaseError> {
	prop_assert!(out.minted <= budget);
	prop_assert_eq!(out.minted, out.emission.iter().sum::<u64>());
	for v in [&out.rank, &out.trust, &out.consensus, &out.incentive, &out.dividends] {
		prop_assert!(v.iter().all(|p| *p <= Perquintill::one()));
	}
	let dividends: f64 = out.dividends.iter().map(|d| value(*d)).sum();
	prop_assert!(dividends == 0.0 || (dividends - 1.0).abs() < 1e-9, "Σ D = {dividends}");
	Ok(())
}

proptest! {
	#![proptest_config(ProptestConfig { cases: 96, .. ProptestConfig::default() })]

	#[test]
	fn yuma_matches_the_f64_reference(
		(stake, active, weights) in graph(256),
		emission in 1u64..10_000_000_000_000,
		ema in prop::option::of(0u64..=100),
		rho in 1u32..30,
		kappa in 0u64..=100,
		voters in any::<bool>(),
	) {
		let n = stake.len();
		let bonds_mode = match ema {
			Some(a) => BondsMode::MovingAverage { alpha: Perquintill::from_percent(a) },
			None => BondsMode::Cumulative,
		};
		let electorate = if voters { Electorate::Voters } else { Electorate::AllStake };
		let params = EpochParams {
			mechanism: Mechanism::Yuma2021,
			bonds_mode,
			electorate,
			rho: substrate_fixed::types::U64F64::from_num(rho),
			kappa: substrate_fixed::types::U64F64::from_num(kappa) / substrate_fixed::types::U64F64::from_num(100),
		};
		// Bonds from one earlier epoch, so that dividends exercise accumulated bonds.
		let first = run_epoch(&params, &EpochInput { stake: &stake, active: &active, weights: &weights, bonds: &[], emission });
		let out = run_epoch(&params, &EpochInput { stake: &stake, active: &active, weights: &weights, bonds: &first.bonds, emission });
		let want = reference::yuma(
			&stake, &active, &weights, &dense_bonds(&first.bonds, n), emission as f64,
			rho as f64, kappa as f64 / 100.0, ema.map(|a| a as f64 / 100.0), voters,
		);
		assert_close("rank", &out.rank, &want.rank)?;
		assert_close("trust", &out.trust, &want.trust)?;
		assert_close("consensus", &out.consensus, &want.consensus)?;
		assert_close("incentive", &out.incentive, &want.incentive)?;
		assert_close("dividends", &out.dividends, &want.dividends)?;
		for (i, (got, w)) in out.emission.iter().zip(&want.emission).enumerate() {
			prop_assert!((*got as f64 - w).abs() <= 1e-6 * emission as f64 + 1.0, "emission[{}]: {} vs {}", i, got, w);
		}
		let got_bonds = dense_bonds(&out.bonds, n);
		for i in 0..n {
			for j in 0..n {
				let w = want.bonds[i][j];
				prop_assert!((got_bonds[i][j] - w).abs() <= 1e-6 * w.max(emission as f64) + 2.0, "bond[{}][{}]", i, j);
			}
		}
		prop_assert!((out.loss.to_num::<f64>() - want.loss).abs() < 1e-6);
		check_invariants(&out, emission)?;
	}

	#[test]
	fn attribution_matches_the_f64_reference(
		(stake, active, weights) in graph(64),
		emission in 1u64..10_000_000_000_000,
	) {
		let params = EpochParams { mechanism: Mechanism::Attribution2019, ..Default::default() };
		let out = run_epoch(&params, &EpochInput { stake: &stake, active: &active, weights: &weights, bonds: &[], emission });
		let want = reference::attribution(&stake, &active, &weights);
		assert_close("attribution", &out.incentive, &want)?;
		check_invariants(&out, emission)?;
	}

	#[test]
	fn permits_are_the_top_stakes(
		stake in prop::collection::vec(prop_oneof![Just(0u64), 1u64..1_000], 0..200),
		max_validators in 0u16..100,
	) {
		let permits = validator_permits(&stake, max_validators);
		let staked = stake.iter().filter(|s| **s > 0).count();
		prop_assert_eq!(permits.iter().filter(|p| **p).count(), staked.min(usize::from(max_validators)));
		let least_permitted = stake.iter().zip(&permits).filter(|(_, p)| **p).map(|(s, _)| *s).min();
		let most_refused = stake.iter().zip(&permits).filter(|(_, p)| !**p).map(|(s, _)| *s).max();
		if let (Some(least), Some(most)) = (least_permitted, most_refused) {
			prop_assert!(least >= most && least > 0);
		}
	}

	#[test]
	fn never_panics_on_ragged_or_out_of_range_input(
		stake in prop::collection::vec(any::<u64>(), 0..40),
		active in prop::collection::vec(any::<bool>(), 0..40),
		weights in prop::collection::vec(prop::collection::vec((any::<Uid>(), any::<u16>()), 0..10), 0..40),
		bonds in prop::collection::vec(prop::collection::vec((any::<Uid>(), any::<u64>()), 0..10), 0..40),
		emission in any::<u64>(),
		attribution in any::<bool>(),
		rho in any::<u64>(),
	) {
		let params = EpochParams {
			mechanism: if attribution { Mechanism::Attribution2019 } else { Mechanism::Yuma2021 },
			rho: substrate_fixed::types::U64F64::from_num(rho),
			..Default::default()
		};
		let out = run_epoch(&params, &EpochInput { stake: &stake, active: &active, weights: &weights, bonds: &bonds, emission });
		prop_assert_eq!(out.emission.len(), stake.len());
		check_invariants(&out, emission)?;
	}
}

#[test]
fn one_peer_and_a_full_set_of_peers() {
	let params = EpochParams::default();
	let out = run_epoch(
		&params,
		&EpochInput {
			stake: &[5],
			active: &[true],
			weights: &[vec![(0, 7)]],
			bonds: &[],
			emission: 9,
		},
	);
	assert_eq!(out.minted, 0, "a lone peer's only weight is a self-weight, which is dropped");

	let n = 4096u16;
	let stake = vec![1_000u64; n as usize];
	let weights: Vec<Vec<(Uid, u16)>> =
		(0..n).map(|i| (1..=64).map(|k| ((i + k) % n, 1 + k)).collect()).collect();
	let out = run_epoch(
		&params,
		&EpochInput {
			stake: &stake,
			active: &vec![true; n as usize],
			weights: &weights,
			bonds: &[],
			emission: 1_000_000_000,
		},
	);
	assert!(out.minted <= 1_000_000_000 && out.minted > 999_000_000);
}
