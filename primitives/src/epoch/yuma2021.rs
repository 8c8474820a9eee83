//! Yuma-2021, the 2021 paper's mechanism: stake-weighted rank scaled by consensus, and bonds
//! that pay each validator the incentive of the peers it weighted, accumulated per
//! [`BondsMode`]. Bonds are in rao.

use alloc::{vec, vec::Vec};
use sp_arithmetic::PerThing;
use substrate_fixed::types::U64F64;

use super::{
	common::{normalized_row, EpochVectors},
	trust::{loss, trust_scores, TrustScores},
	types::{BondsMode, EpochInput, EpochOutput, EpochParams, Uid},
};
use crate::fixed_math::{mul_shift_64, normalize, ratio, share_of};

/// Runs one epoch of Yuma-2021.
pub(super) fn run_yuma2021(params: &EpochParams, input: &EpochInput) -> EpochOutput {
	let n = input.stake.len();
	let TrustScores { stake, rank, trust, consensus } = trust_scores(params, input);
	let rank = normalize(&rank);
	let incentive = normalize(
		&rank
			.iter()
			.zip(&consensus)
			.map(|(r, c)| r.saturating_mul(*c))
			.collect::<Vec<_>>(),
	);
	let bonds = next_bonds(params.bonds_mode, input, &stake, n);
	let dividends = normalize(&dividends(&bonds, &incentive, n));
	let loss = loss(&rank, &consensus);
	EpochVectors { stake, rank, trust, consensus, incentive, dividends }.output(
		input.emission,
		bonds,
		loss,
	)
}

/// Bonds after this epoch: `ΔB_ij = s_i · w_ij · E_epoch`, accumulated per `mode`.
fn next_bonds(
	mode: BondsMode,
	input: &EpochInput,
	stake: &[U64F64],
	n: usize,
) -> Vec<Vec<(Uid, u64)>> {
	(0..n)
		.map(|i| {
			let s = stake.get(i).copied().unwrap_or(U64F64::from_num(0));
			let delta: Vec<(usize, u64)> = normalized_row(input, i, n, false)
				.into_iter()
				.map(|(j, w)| (j, share_of(s.saturating_mul(w), input.emission)))
				.collect();
			let mut previous: Vec<(usize, u64)> = input
				.bonds
				.get(i)
				.map(|row| {
					row.iter().map(|(j, b)| (usize::from(*j), *b)).filter(|(j, _)| *j < n).collect()
				})
				.unwrap_or_default();
			// Stored rows are sorted already; sorting a sorted row is linear.
			previous.sort_by_key(|(j, _)| *j);
			previous.dedup_by_key(|(j, _)| *j);
			merge_bonds(mode, &previous, &delta)
		})
		.collect()
}

/// Merges a row of previous bonds with a row of new ones (both sorted by uid, as rows are
/// stored and produced); zero bonds are dropped, and so are cumulative bonds in columns the
/// row no longer weights, so that a row of bonds never outgrows its row of weights. Linear in
/// the two rows' lengths.
fn merge_bonds(
	mode: BondsMode,
	previous: &[(usize, u64)],
	delta: &[(usize, u64)],
) -> Vec<(Uid, u64)> {
	let accumulate = |old: u64, new: u64| match mode {
		BondsMode::Cumulative => old.saturating_add(new),
		BondsMode::MovingAverage { alpha } => {
			alpha.mul_floor(old).saturating_add(alpha.left_from_one().mul_floor(new))
		},
	};
	// A bond in a column the row no longer weights: cumulative bonds would keep it forever,
	// so it is pruned; moving-average bonds fade it out as designed.
	let unweighted = |old: u64| match mode {
		BondsMode::Cumulative => 0,
		BondsMode::MovingAverage { alpha } => alpha.mul_floor(old),
	};
	let mut merged = Vec::with_capacity(previous.len().saturating_add(delta.len()));
	let (mut old, mut new) = (previous.iter().peekable(), delta.iter().peekable());
	loop {
		let (j, bond) = match (old.peek(), new.peek()) {
			(Some((j, b)), Some((k, d))) if j == k => {
				let entry = (*j, accumulate(*b, *d));
				old.next();
				new.next();
				entry
			},
			(Some((j, b)), Some((k, _))) if j < k => {
				old.next();
				(*j, unweighted(*b))
			},
			(_, Some((k, d))) => {
				new.next();
				(*k, accumulate(0, *d))
			},
			(Some((j, b)), None) => {
				old.next();
				(*j, unweighted(*b))
			},
			(None, None) => break,
		};
		if let (true, Ok(uid)) = (bond > 0, Uid::try_from(j)) {
			merged.push((uid, bond));
		}
	}
	merged
}

/// `D_i = ½·I_i + ½·Σ_j (b_ij / Σ_k b_kj)·I_j`; a peer nobody holds bonds in keeps its half.
fn dividends(bonds: &[Vec<(Uid, u64)>], incentive: &[U64F64], n: usize) -> Vec<U64F64> {
	let half = U64F64::from_num(0.5);
	let mut column_total = vec![0u128; n];
	for row in bonds {
		for (j, b) in row {
			if let Some(total) = column_total.get_mut(usize::from(*j)) {
				*total = total.saturating_add(u128::from(*b));
			}
		}
	}
	let mut dividends: Vec<U64F64> = incentive.iter().map(|i| i.saturating_mul(half)).collect();
	for (j, total) in column_total.iter().enumerate() {
		if *total == 0 {
			if let (Some(d), Some(i)) = (dividends.get_mut(j), incentive.get(j)) {
				*d = d.saturating_add(i.saturating_mul(half));
			}
		}
	}
	// b_ij / Σ_k b_kj · I_j = b_ij · (I_j / Σ_k b_kj): one division per column.
	let incentive_per_bond: Vec<u128> = column_total
		.iter()
		.zip(incentive)
		.map(|(total, i)| ratio(i.to_bits(), *total).to_bits())
		.collect();
	for (i, row) in bonds.iter().enumerate() {
		let share = row.iter().fold(U64F64::from_num(0), |sum, (j, b)| {
			let per_bond = incentive_per_bond.get(usize::from(*j)).copied().unwrap_or(0);
			sum.saturating_add(U64F64::from_bits(mul_shift_64(*b, per_bond)))
		});
		if let Some(d) = dividends.get_mut(i) {
			*d = d.saturating_add(share.saturating_mul(half));
		}
	}
	dividends
}
