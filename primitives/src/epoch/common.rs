//! The steps every mechanism shares: active stake, normalized weight rows, and turning the
//! fixed-point results into an [`EpochOutput`], so that the three mechanisms cannot differ in
//! how they read their input or round what they mint.

use alloc::vec::Vec;
use substrate_fixed::types::{I64F64, U64F64};

use super::types::{Electorate, EpochInput, EpochOutput, Uid};
use crate::fixed_math::{ratio, share_of, to_perquintill};

/// A mechanism's per-peer results in fixed point, before they become an [`EpochOutput`].
pub(super) struct EpochVectors {
	pub(super) stake: Vec<U64F64>,
	pub(super) rank: Vec<U64F64>,
	pub(super) trust: Vec<U64F64>,
	pub(super) consensus: Vec<U64F64>,
	pub(super) incentive: Vec<U64F64>,
	pub(super) dividends: Vec<U64F64>,
}

impl EpochVectors {
	/// The output: fractions as stored, and each peer's dividends share of `budget` (rounded
	/// down, so never more than `budget` in all).
	pub(super) fn output(
		self,
		budget: u64,
		bonds: Vec<Vec<(Uid, u64)>>,
		loss: I64F64,
	) -> EpochOutput {
		let emission: Vec<u64> = self.dividends.iter().map(|d| share_of(*d, budget)).collect();
		let minted = emission.iter().fold(0u64, |sum, e| sum.saturating_add(*e));
		let parts = |values: Vec<U64F64>| values.into_iter().map(to_perquintill).collect();
		EpochOutput {
			stake: parts(self.stake),
			rank: parts(self.rank),
			trust: parts(self.trust),
			consensus: parts(self.consensus),
			incentive: parts(self.incentive),
			dividends: parts(self.dividends),
			emission,
			bonds,
			loss,
			minted,
		}
	}
}

/// `s_i = normalize(stake_i · a_i)`.
pub(super) fn active_stake_shares(input: &EpochInput) -> Vec<U64F64> {
	let active_stake: Vec<u64> = input
		.stake
		.iter()
		.enumerate()
		.map(|(i, stake)| if input.active.get(i).copied().unwrap_or(false) { *stake } else { 0 })
		.collect();
	let total = active_stake.iter().fold(0u128, |sum, s| sum.saturating_add(u128::from(*s)));
	active_stake.iter().map(|s| ratio(u128::from(*s), total)).collect()
}

/// The stake that judges each column ([`Electorate`]), for turning a column's sum of stake
/// (its rank, its trust) into a share of that stake.
pub(super) struct ColumnElectorates {
	/// Under [`Electorate::Voters`], each column's electorate as a share of the active stake;
	/// under [`Electorate::AllStake`] none: every column's is all of it, and sums stay as they
	/// are.
	voters: Option<Vec<U64F64>>,
}

impl ColumnElectorates {
	/// The electorates of `stake.len()` columns, where `votes[i]` says whether peer `i`'s row
	/// has a weight on another peer.
	pub(super) fn new(electorate: Electorate, stake: &[U64F64], votes: &[bool]) -> Self {
		let voted = |i: usize| votes.get(i).copied().unwrap_or(false);
		let voters = match electorate {
			Electorate::AllStake => None,
			Electorate::Voters => {
				let total = stake
					.iter()
					.enumerate()
					.filter(|(i, _)| voted(*i))
					.fold(U64F64::from_num(0), |sum, (_, s)| sum.saturating_add(*s));
				Some(
					stake
						.iter()
						.enumerate()
						.map(|(j, s)| if voted(j) { total.saturating_sub(*s) } else { total })
						.collect(),
				)
			},
		};
		Self { voters }
	}

	/// Column `j`'s electorate as a share of the active stake (all of it under
	/// [`Electorate::AllStake`]).
	pub(super) fn of(&self, j: usize) -> U64F64 {
		match &self.voters {
			None => U64F64::from_num(1),
			Some(voters) => voters.get(j).copied().unwrap_or(U64F64::from_num(0)),
		}
	}

	/// `sum`, a sum of active stake shares in column `j`, as a share of `j`'s electorate (at
	/// most 1; 0 when the electorate is empty).
	pub(super) fn share(&self, j: usize, sum: U64F64) -> U64F64 {
		match &self.voters {
			None => sum,
			Some(_) => sum
				.checked_div(self.of(j))
				.unwrap_or(U64F64::from_num(0))
				.min(U64F64::from_num(1)),
		}
	}
}

/// Row `i` of the weights, normalized: zero weights and out-of-range uids dropped, the
/// self-weight dropped too unless `keep_self`. A row whose weights sum to zero is empty. Rows
/// are normalized one at a time, when used, so that the epoch never holds them all at once.
pub(super) fn normalized_row(
	input: &EpochInput,
	i: usize,
	n: usize,
	keep_self: bool,
) -> Vec<(usize, U64F64)> {
	let mut row: Vec<(usize, u32)> = input
		.weights
		.get(i)
		.map(|row| {
			row.iter()
				.map(|(j, w)| (usize::from(*j), u32::from(*w)))
				.filter(|(j, w)| *w > 0 && *j < n && (keep_self || *j != i))
				.collect()
		})
		.unwrap_or_default();
	// Sorted by uid (stored rows already are), a uid given twice counts with both weights.
	row.sort_by_key(|(j, _)| *j);
	let mut coalesced: Vec<(usize, u32)> = Vec::with_capacity(row.len());
	for (j, w) in row {
		match coalesced.last_mut() {
			Some((last, sum)) if *last == j => *sum = sum.saturating_add(w),
			_ => coalesced.push((j, w)),
		}
	}
	let total = coalesced.iter().fold(0u128, |sum, (_, w)| sum.saturating_add(u128::from(*w)));
	// w / total = w · ⌈2^96 / total⌉ / 2^32: one division per row, at most one unit of
	// 2^-64 over the exact quotient, and exactly 1 when w = total.
	let per_weight = (1u128 << 96).div_ceil(total.max(1));
	coalesced
		.into_iter()
		.map(|(j, w)| {
			let bits = u128::from(w).saturating_mul(per_weight).checked_shr(32).unwrap_or(0);
			(j, U64F64::from_bits(bits))
		})
		.collect()
}
