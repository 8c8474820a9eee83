#![allow(
	clippy::arithmetic_side_effects,
	clippy::indexing_slicing,
	clippy::unwrap_used,
	clippy::expect_used
)]
// The f64 reference indexes like the formulas it mirrors.
#![allow(clippy::needless_range_loop, clippy::type_complexity)]
//! Yuma 3 against `docs/mechanism.md`: the vector worked there by hand, and random graphs
//! against a dense `f64` implementation written from the same definitions, independently of
//! the fixed-point sparse code.

use bittensor_primitives::{
	epoch::{Electorate, EpochInput, EpochParams, Uid},
	yuma3::{run_yuma3, Yuma3Params},
};
use proptest::prelude::*;
use sp_arithmetic::Perquintill;
use substrate_fixed::types::U64F64;

const QUINTILL: f64 = 1e18;

fn value(p: Perquintill) -> f64 {
	p.deconstruct() as f64 / QUINTILL
}

/// The epoch's parameters Yuma 3 reads: κ and the electorate.
fn kappa_of(kappa: f64, electorate: Electorate) -> EpochParams {
	EpochParams { kappa: U64F64::from_num(kappa), electorate, ..EpochParams::default() }
}

/// Dense `f64` Yuma 3: consensus as the stake-weighted κ-quantile of each column, clipping,
/// bonds moving towards the penalised weights at α (liquid or not), dividends from bonds.
struct Reference {
	incentive: Vec<f64>,
	trust: Vec<f64>,
	consensus: Vec<f64>,
	dividends: Vec<f64>,
	bonds: Vec<Vec<f64>>,
}

fn normalize(v: &[f64]) -> Vec<f64> {
	let total: f64 = v.iter().sum();
	if total == 0.0 {
		vec![0.0; v.len()]
	} else {
		v.iter().map(|x| x / total).collect()
	}
}

fn reference(
	stake: &[u64],
	active: &[bool],
	weights: &[Vec<(Uid, u16)>],
	bonds: &[Vec<f64>],
	kappa: f64,
	p: &Yuma3Params,
	voters: bool,
) -> Reference {
	let n = stake.len();
	let s = normalize(
		&(0..n)
			.map(|i| if active[i] { stake[i] as f64 } else { 0.0 })
			.collect::<Vec<_>>(),
	);
	let w: Vec<Vec<f64>> = (0..n)
		.map(|i| {
			let mut row = vec![0.0; n];
			for (j, x) in weights.get(i).into_iter().flatten() {
				let j = usize::from(*j);
				if j < n && j != i {
					row[j] += f64::from(*x);
				}
			}
			normalize(&row)
		})
		.collect();
	// Under `Electorate::Voters` column j is judged by the stake of the peers that weight
	// someone, j's own left out; under `AllStake` by all of it.
	let voted: Vec<bool> = (0..n).map(|i| w[i].iter().sum::<f64>() > 0.0).collect();
	let electorate: Vec<f64> =
		(0..n)
			.map(|j| {
				if voters {
					(0..n).filter(|&i| i != j && voted[i]).map(|i| s[i]).sum()
				} else {
					1.0
				}
			})
			.collect();
	let consensus: Vec<f64> = (0..n)
		.map(|j| {
			let mut column: Vec<(f64, f64)> = (0..n)
				.filter(|&i| s[i] > 0.0 && w[i][j] > 0.0)
				.map(|i| (w[i][j], s[i]))
				.collect();
			column.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap());
			let mut support = 0.0;
			for (x, si) in column {
				support += si;
				// A tie of support and threshold counts as reached, whatever f64 rounds.
				if support >= kappa * electorate[j] - 1e-15 {
					return x;
				}
			}
			0.0
		})
		.collect();
	let clipped = |i: usize, j: usize| w[i][j].min(consensus[j]);
	let pre: Vec<f64> = (0..n).map(|j| (0..n).map(|i| s[i] * w[i][j]).sum()).collect();
	let rank: Vec<f64> = (0..n).map(|j| (0..n).map(|i| s[i] * clipped(i, j)).sum()).collect();
	let trust: Vec<f64> =
		(0..n).map(|j| if pre[j] > 0.0 { rank[j] / pre[j] } else { 0.0 }).collect();
	let over_electorate: Vec<f64> = (0..n)
		.map(|j| match (voters, electorate[j] > 0.0) {
			(false, _) => rank[j],
			(true, true) => (rank[j] / electorate[j]).min(1.0),
			(true, false) => 0.0,
		})
		.collect();
	let incentive = normalize(&over_electorate);
	let penalty = value(p.bonds_penalty);
	let (low, high) = (value(p.alpha_low), value(p.alpha_high).max(value(p.alpha_low)));
	let new_bonds: Vec<Vec<f64>> = (0..n)
		.map(|i| {
			(0..n)
				.map(|j| {
					let bonded = w[i][j] - penalty * (w[i][j] - consensus[j]).max(0.0);
					let b = bonds[i][j];
					let alpha = if p.liquid_alpha_enabled {
						let d = if bonded >= b {
							(bonded - consensus[j]).clamp(0.0, 1.0)
						} else {
							(b - bonded).clamp(0.0, 1.0)
						};
						let sigma = 1.0
							/ (1.0 + (-(f64::from(p.alpha_sigmoid_steepness)) * (d - 0.5)).exp());
						low + sigma * (high - low)
					} else {
						low
					};
					((1.0 - alpha) * b + alpha * bonded).min(1.0)
				})
				.collect()
		})
		.collect();
	let column: Vec<f64> = (0..n).map(|j| (0..n).map(|k| new_bonds[k][j]).sum()).collect();
	let validators = normalize(
		&(0..n)
			.map(|i| {
				s[i] * (0..n)
					.filter(|&j| column[j] > 0.0)
					.map(|j| new_bonds[i][j] / column[j] * incentive[j])
					.sum::<f64>()
			})
			.collect::<Vec<_>>(),
	);
	let dividends = normalize(&(0..n).map(|i| incentive[i] + validators[i]).collect::<Vec<_>>());
	Reference { incentive, trust, consensus, dividends, bonds: new_bonds }
}

fn dense(rows: &[Vec<(Uid, u64)>], n: usize) -> Vec<Vec<f64>> {
	let mut dense = vec![vec![0.0; n]; n];
	for (i, row) in rows.iter().enumerate() {
		for (j, b) in row {
			dense[i][usize::from(*j)] = *b as f64 / 2f64.powi(64);
		}
	}
	dense
}

#[test]
fn mechanism_md_yuma3_vector() {
	// Validators 0 (stake 3) and 1 (stake 1); 0 weights peer 2 only, 1 splits its weight
	// between 0 and 2. κ = ½, α = ½ without liquid α, bonds on the clipped weights.
	let params = Yuma3Params { alpha_low: Perquintill::from_percent(50), ..Default::default() };
	let weights = vec![vec![(2, 1)], vec![(0, 1), (2, 1)], vec![]];
	let input = EpochInput {
		stake: &[3, 1, 0],
		active: &[true; 3],
		weights: &weights,
		bonds: &[],
		emission: 1_200_000_000,
	};
	let out = run_yuma3(&kappa_of(0.5, Electorate::AllStake), &params, &input);
	// Column 2: weight 1 has ¾ of the stake behind it, so C₂ = 1; column 0 has only ¼: C₀ = 0.
	assert_eq!(out.consensus, vec![Perquintill::zero(), Perquintill::zero(), Perquintill::one()]);
	assert_eq!(out.trust, vec![Perquintill::zero(), Perquintill::zero(), Perquintill::one()]);
	assert_eq!(out.incentive, vec![Perquintill::zero(), Perquintill::zero(), Perquintill::one()]);
	// Bonds move half-way from 0 to the clipped weights: 0 → ½ on peer 2, 1 → ¼ (its weight on
	// peer 0 is clipped to nothing).
	assert_eq!(out.bonds, vec![vec![(2, 1 << 63)], vec![(2, 1 << 62)], vec![]]);
	// Bond shares in peer 2 are ⅔ and ⅓; times stake ¾ and ¼: ½ and 1/12, normalized 6/7
	// and 1/7. Emission is (I + D_validators)/2: 3/7, 1/14 and ½ of 1.2 TAO.
	let want = [514_285_714u64, 85_714_285, 600_000_000];
	for (got, want) in out.emission.iter().zip(want) {
		assert!(got.abs_diff(want) <= 1, "emission {got} vs {want}");
	}
	assert!(out.minted <= 1_200_000_000 && out.minted >= 1_199_999_998);
}

#[test]
fn a_validator_that_over_weights_is_clipped_and_liquid_alpha_buys_faster() {
	// Three validators of equal stake; 2 puts everything on peer 3, the others split 3 and 4.
	let weights = vec![vec![(3, 1), (4, 1)], vec![(3, 1), (4, 1)], vec![(3, 1)], vec![], vec![]];
	let input = EpochInput {
		stake: &[1, 1, 1, 0, 0],
		active: &[true; 5],
		weights: &weights,
		bonds: &[],
		emission: 1_000,
	};
	let flat = run_yuma3(&kappa_of(0.5, Electorate::AllStake), &Yuma3Params::default(), &input);
	// Consensus on 3 is ½: validator 2's weight of 1 is cut back to ½.
	assert_eq!(value(flat.consensus[3]), 0.5);
	assert_eq!(flat.bonds[2], flat.bonds[0][..1].to_vec(), "the over-weight bought nothing more");
	let liquid = Yuma3Params { liquid_alpha_enabled: true, ..Yuma3Params::default() };
	let fast = run_yuma3(&kappa_of(0.5, Electorate::AllStake), &liquid, &input);
	assert!(fast.bonds[0][0].1 > flat.bonds[0][0].1, "liquid α is at least alpha_low");
}

/// A κ of 1 asks for all the stake, which the shares, each rounded down, sum to a little less
/// than: the stake voting must still reach it (a case the f64 reference found).
#[test]
fn a_kappa_of_one_is_reached_by_all_the_stake() {
	let weights = vec![vec![], vec![(0, 1), (2, 1)], vec![(0, 1)]];
	let input = EpochInput {
		stake: &[0, 2_291_308_823, 973_884_818_814],
		active: &[true; 3],
		weights: &weights,
		bonds: &[],
		emission: 1_000,
	};
	let out = run_yuma3(&kappa_of(1.0, Electorate::AllStake), &Yuma3Params::default(), &input);
	assert_eq!(value(out.consensus[0]), 0.5, "the smaller of the two votes on uid 0");
}

fn graph(max: usize) -> impl Strategy<Value = (Vec<u64>, Vec<bool>, Vec<Vec<(Uid, u16)>>)> {
	(2..max).prop_flat_map(|n| {
		(
			prop::collection::vec(prop_oneof![Just(0u64), 1u64..1_000_000_000_000], n),
			prop::collection::vec(prop::bool::weighted(0.9), n),
			prop::collection::vec(prop::collection::vec((0..n as Uid, 0u16..=u16::MAX), 0..8), n),
		)
	})
}

proptest! {
	#![proptest_config(ProptestConfig { cases: 96, .. ProptestConfig::default() })]

	#[test]
	fn yuma3_matches_the_f64_reference(
		(stake, active, weights) in graph(48),
		emission in 1u64..10_000_000_000_000,
		kappa in 1u64..=100,
		penalty in 0u64..=100,
		low in 1u64..=50,
		spread in 0u64..=50,
		steepness in 0u32..=50,
		liquid in any::<bool>(),
		voters in any::<bool>(),
	) {
		let n = stake.len();
		let params = Yuma3Params {
			bonds_penalty: Perquintill::from_percent(penalty),
			alpha_low: Perquintill::from_percent(low),
			alpha_high: Perquintill::from_percent(low + spread),
			alpha_sigmoid_steepness: steepness,
			liquid_alpha_enabled: liquid,
		};
		let electorate = if voters { Electorate::Voters } else { Electorate::AllStake };
		let epoch = EpochParams {
			kappa: U64F64::from_num(kappa) / U64F64::from_num(100),
			electorate,
			..EpochParams::default()
		};
		let kappa = kappa as f64 / 100.0;
		// Bonds from one earlier epoch, so that liquid α sells as well as buys.
		let first = run_yuma3(&epoch, &params, &EpochInput { stake: &stake, active: &active, weights: &weights, bonds: &[], emission });
		let shifted: Vec<Vec<(Uid, u16)>> = weights.iter().map(|row| row.iter().map(|(j, w)| (*j, w / 2 + 1)).collect()).collect();
		let out = run_yuma3(&epoch, &params, &EpochInput { stake: &stake, active: &active, weights: &shifted, bonds: &first.bonds, emission });
		let want = reference(&stake, &active, &shifted, &dense(&first.bonds, n), kappa, &params, voters);
		let close = |name: &str, got: &[Perquintill], want: &[f64]| -> Result<(), TestCaseError> {
			for (j, (g, w)) in got.iter().zip(want).enumerate() {
				prop_assert!((value(*g) - w).abs() < 1e-9, "{}[{}]: {} vs {}", name, j, value(*g), w);
			}
			Ok(())
		};
		close("consensus", &out.consensus, &want.consensus)?;
		close("trust", &out.trust, &want.trust)?;
		close("incentive", &out.incentive, &want.incentive)?;
		close("dividends", &out.dividends, &want.dividends)?;
		let got_bonds = dense(&out.bonds, n);
		for i in 0..n {
			for j in 0..n {
				prop_assert!((got_bonds[i][j] - want.bonds[i][j]).abs() < 1e-9, "bond[{}][{}]", i, j);
			}
		}
		for (i, (got, d)) in out.emission.iter().zip(&want.dividends).enumerate() {
			let want = d * emission as f64;
			prop_assert!((*got as f64 - want).abs() <= 1e-9 * emission as f64 + 1.0, "emission[{}]: {} vs {}", i, got, want);
		}
		prop_assert!(out.minted <= emission);
	}
}
