//! The 2019 mechanism: stake flows along out-edges and each peer keeps its self-loop share of
//! what reaches it; that attribution is its rank, incentive and dividends at once. Its
//! consensus and loss are Yuma-2021's; its bonds are carried over untouched.

use alloc::{vec, vec::Vec};
use substrate_fixed::types::U64F64;

use super::{
	common::{normalized_row, EpochVectors},
	trust::{loss, trust_scores, TrustScores},
	types::{EpochInput, EpochOutput, EpochParams},
};
use crate::fixed_math::normalize;

/// Bound on the depth of the 2019 attribution flow.
pub const ATTRIBUTION_MAX_DEPTH: u32 = 64;

/// The 2019 flow stops once less than this share of stake is still in transit (2^-40 ≈ 1e-12).
const ATTRIBUTION_EPSILON: U64F64 = U64F64::from_bits(1u128 << 24);

/// Runs one epoch of the 2019 mechanism.
pub(super) fn run_attribution2019(params: &EpochParams, input: &EpochInput) -> EpochOutput {
	let n = input.stake.len();
	// The unnormalized rank is computed with trust, in the same pass, and not used here.
	let TrustScores { stake, trust, consensus, .. } = trust_scores(params, input);
	let attribution = normalize(&attribution(input, &stake, n));
	let bonds = (0..n).map(|i| input.bonds.get(i).cloned().unwrap_or_default()).collect();
	let loss = loss(&attribution, &consensus);
	EpochVectors {
		stake,
		rank: attribution.clone(),
		trust,
		consensus,
		incentive: attribution.clone(),
		dividends: attribution,
	}
	.output(input.emission, bonds, loss)
}

/// The 2019 attribution `A`: stake flows along out-edges and each peer keeps its self-loop
/// share of what reaches it. A peer that set no weights is a full self-loop.
fn attribution(input: &EpochInput, stake: &[U64F64], n: usize) -> Vec<U64F64> {
	let one = U64F64::from_num(1);
	// Split each row into its self-loop share N_i and its out-edges M_i.
	let (self_loop, out_edges): (Vec<U64F64>, Vec<Vec<(usize, U64F64)>>) = (0..n)
		.map(|i| {
			let row = normalized_row(input, i, n, true);
			if row.is_empty() {
				return (one, Vec::new());
			}
			let keep = row
				.iter()
				.find(|(j, _)| *j == i)
				.map(|(_, w)| *w)
				.unwrap_or(U64F64::from_num(0));
			(keep, row.into_iter().filter(|(j, _)| *j != i).collect())
		})
		.unzip();
	let flow = |mass: &[U64F64]| -> Vec<U64F64> {
		let mut next = vec![U64F64::from_num(0); n];
		for (edges, m) in out_edges.iter().zip(mass) {
			for (j, w) in edges {
				if let Some(t) = next.get_mut(*j) {
					*t = t.saturating_add(m.saturating_mul(*w));
				}
			}
		}
		next
	};
	let mut kept: Vec<U64F64> =
		stake.iter().zip(&self_loop).map(|(s, k)| s.saturating_mul(*k)).collect();
	let mut in_transit = flow(stake);
	for _ in 0..ATTRIBUTION_MAX_DEPTH {
		let remaining =
			in_transit.iter().fold(U64F64::from_num(0), |sum, t| sum.saturating_add(*t));
		if remaining <= ATTRIBUTION_EPSILON {
			break;
		}
		for ((a, t), k) in kept.iter_mut().zip(&in_transit).zip(&self_loop) {
			*a = a.saturating_add(t.saturating_mul(*k));
		}
		in_transit = flow(&in_transit);
	}
	kept
}
