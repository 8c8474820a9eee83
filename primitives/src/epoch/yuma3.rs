//! Yuma 3, today's subtensor mechanism, as a pure function over the same [`EpochInput`] as
//! the 2021 paper's: consensus is the stake-weighted κ-quantile of each column, weights above
//! it are clipped (a validator who over-weights a peer is cut back, not paid for it), and
//! bonds are per-pair proportions in [0, 1] that move towards the clipped weights at a rate
//! α, so that a validator who finds a good peer early holds more of it. With liquid α the
//! rate is per pair, faster where a weight leaves consensus or a bond is sold.
//!
//! Everything is sparse: each column's median is taken over its non-zero entries only, so the
//! cost is `O(nnz log nnz)` in the weights and bonds set. `docs/mechanism.md` defines the
//! steps and works a small vector by hand.

use alloc::{vec, vec::Vec};
use substrate_fixed::types::{I64F64, U64F64};

use super::{
	common::{active_stake_shares, normalized_row, ColumnElectorates, EpochVectors},
	types::{EpochInput, EpochOutput, EpochParams, Uid},
};
use crate::fixed_math::{fraction_mul, from_perquintill, mul_shift_64, normalize, sigmoid};

pub use super::types::{Yuma3Params, MAX_ALPHA_SIGMOID_STEEPNESS};

/// Runs one epoch of Yuma 3 with `epoch`'s consensus quantile κ and electorate. Bonds in
/// `input` and in the output are proportions in units of 2^-64 (a bond of 1 is stored as
/// `u64::MAX`, 2^-64 short of it), so that they convert to fixed point without a division.
pub fn run_yuma3(epoch: &EpochParams, params: &Yuma3Params, input: &EpochInput) -> EpochOutput {
	let n = input.stake.len();
	let zero = U64F64::from_num(0);
	let stake = active_stake_shares(input);
	let rows: Vec<Vec<(usize, U64F64)>> =
		(0..n).map(|i| normalized_row(input, i, n, false)).collect();
	let votes: Vec<bool> = rows.iter().map(|row| !row.is_empty()).collect();
	let electorates = ColumnElectorates::new(epoch.electorate, &stake, &votes);
	let consensus = column_quantiles(&rows, &stake, epoch.kappa, &electorates, n);

	// Ranks before and after clipping at consensus; trust is what clipping leaves of a rank.
	let mut preranks = vec![zero; n];
	let mut ranks = vec![zero; n];
	for (row, s) in rows.iter().zip(&stake) {
		for (j, w) in row {
			let clipped = (*w).min(consensus.get(*j).copied().unwrap_or(zero));
			if let (Some(p), Some(r)) = (preranks.get_mut(*j), ranks.get_mut(*j)) {
				*p = p.saturating_add(fraction_mul(*s, *w));
				*r = r.saturating_add(fraction_mul(*s, clipped));
			}
		}
	}
	let trust: Vec<U64F64> = ranks
		.iter()
		.zip(&preranks)
		.map(|(r, p)| if *p > zero { r.checked_div(*p).unwrap_or(zero) } else { zero })
		.collect();
	let ranks: Vec<U64F64> =
		ranks.into_iter().enumerate().map(|(j, r)| electorates.share(j, r)).collect();
	let incentive = normalize(&ranks);

	let bonds: Vec<Vec<(Uid, u64)>> = rows
		.iter()
		.enumerate()
		.map(|(i, row)| next_bonds(params, row, &previous_bonds(input, i, n), &consensus))
		.collect();
	drop(rows);
	let validator_share = normalize(&bond_dividends(&bonds, &stake, &incentive, n));
	let earned: Vec<U64F64> = incentive
		.iter()
		.zip(&validator_share)
		.map(|(i, d)| i.saturating_add(*d))
		.collect();
	let dividends = normalize(&earned);

	let rank = incentive.clone();
	EpochVectors { stake, rank, trust, consensus, incentive, dividends }.output(
		input.emission,
		bonds,
		I64F64::from_num(0),
	)
}

/// Columns laid out together when gathering them: 256 columns of 128 validators' entries are
/// 512 KiB.
const COLUMN_BAND: usize = 256;

/// `C_j`: the largest weight on `j` that validators holding at least `kappa` of `j`'s
/// electorate give it or more (0 if they hold less than `kappa` of it in all). The non-zero entries
/// are laid out column by column in one buffer (a counting sort by column), each packed in a
/// `u128` as its weight in units of 2^-63 above the validator's index, so that each column's
/// slice sorts as plain integers: never a dense matrix, no allocation per column. The weight
/// returned is the validator's exact one (weights 2^-64 apart sort as equal).
fn column_quantiles(
	rows: &[Vec<(usize, U64F64)>],
	stake: &[U64F64],
	kappa: U64F64,
	electorates: &ColumnElectorates,
	n: usize,
) -> Vec<U64F64> {
	let zero = U64F64::from_num(0);
	let staked = || rows.iter().zip(stake).enumerate().filter(|(_, (_, s))| **s > zero);
	// Where each column's entries start in the buffer.
	let mut starts = vec![0usize; n.saturating_add(1)];
	for (_, (row, _)) in staked() {
		for (j, _) in row {
			if let Some(count) = starts.get_mut(j.saturating_add(1)) {
				*count = count.saturating_add(1);
			}
		}
	}
	for j in 0..n {
		let before = starts.get(j).copied().unwrap_or(0);
		if let Some(start) = starts.get_mut(j.saturating_add(1)) {
			*start = start.saturating_add(before);
		}
	}
	let mut next = starts.clone();
	let mut entries = vec![0u128; starts.last().copied().unwrap_or(0)];
	// Scattered a band of columns at a time, so that the writes stay within a cache-sized
	// part of the buffer: each row resumes where the previous band left it.
	let mut resume: Vec<(usize, &[(usize, U64F64)])> =
		staked().map(|(i, (row, _))| (i, row.as_slice())).collect();
	let mut band_end = 0usize;
	while band_end < n {
		band_end = band_end.saturating_add(COLUMN_BAND);
		for (i, rest) in resume.iter_mut() {
			let taken = rest.partition_point(|(j, _)| *j < band_end);
			let (band, after) = rest.split_at(taken);
			for (j, w) in band {
				if let Some(at) = next.get_mut(*j) {
					if let Some(entry) = entries.get_mut(*at) {
						let key = w.to_bits().checked_shr(1).unwrap_or(0);
						*entry = key.checked_shl(64).unwrap_or(0) | *i as u128;
					}
					*at = at.saturating_add(1);
				}
			}
			*rest = after;
		}
	}
	let exact_weight = |i: usize, j: usize| {
		let row = rows.get(i).map(Vec::as_slice).unwrap_or_default();
		row.binary_search_by_key(&j, |(k, _)| *k)
			.ok()
			.and_then(|at| row.get(at))
			.map_or(zero, |(_, w)| *w)
	};
	starts
		.windows(2)
		.enumerate()
		.map(|(j, bounds)| {
			let [start, end] = bounds else { return zero };
			let Some(column) = entries.get_mut(*start..*end) else { return zero };
			let threshold = fraction_mul(kappa, electorates.of(j));
			// By weight alone: equal weights, common in practice, need no ordering.
			column.sort_unstable_by_key(|entry| entry.checked_shr(64).unwrap_or(0));
			let mut support = zero;
			for (summed, entry) in column.iter().rev().enumerate() {
				let i = usize::try_from(entry & u128::from(u64::MAX)).unwrap_or(usize::MAX);
				support = support.saturating_add(stake.get(i).copied().unwrap_or(zero));
				// Each share is rounded down by less than 2^-64: all the stake voting must
				// reach a κ of 1 however the shares round.
				let rounding = U64F64::from_bits((summed as u128).saturating_add(1));
				if support.saturating_add(rounding) >= threshold {
					return exact_weight(i, j);
				}
			}
			zero
		})
		.collect()
}

/// Row `i` of the previous bonds as fractions, sorted by uid, entries past `n` dropped.
fn previous_bonds(input: &EpochInput, i: usize, n: usize) -> Vec<(usize, U64F64)> {
	let mut row: Vec<(usize, U64F64)> = input
		.bonds
		.get(i)
		.map(|row| {
			row.iter()
				.map(|(j, b)| (usize::from(*j), U64F64::from_bits(u128::from(*b))))
				.filter(|(j, _)| *j < n)
				.collect()
		})
		.unwrap_or_default();
	if !row.is_sorted_by_key(|(j, _)| *j) {
		row.sort_by_key(|(j, _)| *j);
	}
	row.dedup_by_key(|(j, _)| *j);
	row
}

/// A validator's bonds after this epoch, as stored (units of 2^-64): each moves from `b`
/// towards the weight it bonds on, `w̃ = w − β·max(0, w − C)`, as `min(1, (1 − α)·b + α·w̃)`;
/// bonds reaching 0 are dropped.
fn next_bonds(
	params: &Yuma3Params,
	weights: &[(usize, U64F64)],
	previous: &[(usize, U64F64)],
	consensus: &[U64F64],
) -> Vec<(Uid, u64)> {
	let zero = U64F64::from_num(0);
	let one = U64F64::from_num(1);
	let penalty = from_perquintill(params.bonds_penalty);
	let rate = BondRate::new(params);
	let update = |j: usize, w: U64F64, b: U64F64| {
		let c = consensus.get(j).copied().unwrap_or(zero);
		let bonded =
			if w > c { w.saturating_sub(fraction_mul(penalty, w.saturating_sub(c))) } else { w };
		let alpha = rate.of(bonded, b, c);
		let kept = fraction_mul(one.saturating_sub(alpha), b);
		(j, kept.saturating_add(fraction_mul(alpha, bonded)).min(one))
	};
	let mut merged = Vec::with_capacity(weights.len().max(previous.len()));
	let (mut new, mut old) = (weights.iter().peekable(), previous.iter().peekable());
	loop {
		let entry = match (new.peek(), old.peek()) {
			(Some((j, w)), Some((k, b))) if j == k => {
				let entry = update(*j, *w, *b);
				new.next();
				old.next();
				entry
			},
			(Some((j, w)), Some((k, _))) if j < k => {
				new.next();
				update(*j, *w, zero)
			},
			(Some((j, w)), None) => {
				new.next();
				update(*j, *w, zero)
			},
			(_, Some((k, b))) => {
				old.next();
				update(*k, zero, *b)
			},
			(None, None) => break,
		};
		let (j, bond) = entry;
		let bits = u64::try_from(bond.to_bits()).unwrap_or(u64::MAX);
		if let (Ok(j), true) = (Uid::try_from(j), bits > 0) {
			merged.push((j, bits));
		}
	}
	merged
}

/// The bond rate α of each pair: `alpha_low`, or with liquid α
/// `alpha_low + σ(steepness·(d − ½))·(alpha_high − alpha_low)`, where `d` is how far the
/// bonded weight is above consensus when buying (`w̃ ≥ b`), or how far the bond is above the
/// weight when selling, each clamped to [0, 1].
struct BondRate {
	low: U64F64,
	high: U64F64,
	steepness: u32,
	liquid: bool,
	/// α at `d = 0`, the common case (a bonded weight at or below consensus), computed once.
	at_zero: U64F64,
}

impl BondRate {
	fn new(params: &Yuma3Params) -> Self {
		let low = from_perquintill(params.alpha_low);
		let mut rate = Self {
			low,
			high: from_perquintill(params.alpha_high).max(low),
			steepness: params.alpha_sigmoid_steepness,
			liquid: params.liquid_alpha_enabled,
			at_zero: low,
		};
		rate.at_zero = rate.liquid_at(U64F64::from_num(0));
		rate
	}

	/// α for a pair whose bonded weight is `bonded`, bond `bond` and consensus `consensus`.
	fn of(&self, bonded: U64F64, bond: U64F64, consensus: U64F64) -> U64F64 {
		if !self.liquid {
			return self.low;
		}
		let one = U64F64::from_num(1);
		let distance = if bonded >= bond {
			bonded.saturating_sub(consensus).min(one)
		} else {
			bond.saturating_sub(bonded).min(one)
		};
		if distance == U64F64::from_num(0) {
			self.at_zero
		} else {
			self.liquid_at(distance)
		}
	}

	/// Liquid α at distance `d`.
	fn liquid_at(&self, distance: U64F64) -> U64F64 {
		let centred = I64F64::saturating_from_num(distance).saturating_sub(I64F64::from_num(0.5));
		let x = centred.saturating_mul(I64F64::from_num(self.steepness));
		self.low
			.saturating_add(fraction_mul(sigmoid(x), self.high.saturating_sub(self.low)))
	}
}

/// Each validator's stake times the incentive its bonds hold: `s_i · Σ_j (b_ij / Σ_k b_kj)·I_j`,
/// over the bonds as stored.
fn bond_dividends(
	bonds: &[Vec<(Uid, u64)>],
	stake: &[U64F64],
	incentive: &[U64F64],
	n: usize,
) -> Vec<U64F64> {
	let zero = U64F64::from_num(0);
	let mut column_total = vec![0u128; n];
	for row in bonds {
		for (j, b) in row {
			if let Some(total) = column_total.get_mut(usize::from(*j)) {
				*total = total.saturating_add(u128::from(*b));
			}
		}
	}
	// b_ij / Σ_k b_kj · I_j = b_ij · (I_j / Σ_k b_kj): one division per column.
	let incentive_per_bond: Vec<U64F64> = column_total
		.iter()
		.zip(incentive)
		.map(|(total, i)| i.checked_div(U64F64::from_bits(*total)).unwrap_or(zero))
		.collect();
	bonds
		.iter()
		.zip(stake)
		.map(|(row, s)| {
			let held = row.iter().fold(zero, |sum, (j, b)| {
				let per_bond =
					incentive_per_bond.get(usize::from(*j)).map(|x| x.to_bits()).unwrap_or(0);
				sum.saturating_add(U64F64::from_bits(mul_shift_64(*b, per_bond)))
			});
			s.saturating_mul(held)
		})
		.collect()
}
