//! The epoch: one step of the incentive mechanism, as a pure function of plain inputs.
//!
//! The pallet calls [`run_epoch`] every `Tempo` blocks; the neuron, the RPC and the simulations
//! call the very same function. It implements `docs/mechanism.md`: "Yuma-2021" (rank, trust,
//! consensus, incentive, bonds, dividends, emission, loss) and the 2019 "Attribution" flow.
//! Cost is linear in the number of peers plus the number of weights and bonds set.

use alloc::{vec, vec::Vec};
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use serde::{Deserialize, Serialize};
use sp_arithmetic::{PerThing, Perquintill};
use substrate_fixed::types::{I64F64, U64F64};

use crate::{
	fixed_math::{mul_shift_64, normalize, ratio, share_of, sigmoid, to_perquintill},
	yuma3::{run_yuma3, Yuma3Params},
};

/// A peer's uid: its index in the metagraph.
pub type Uid = u16;

/// Which incentive mechanism the epoch runs.
#[derive(
	Clone,
	Copy,
	Debug,
	Default,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Serialize,
	Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub enum Mechanism {
	/// The 2021 paper's mechanism: stake-weighted rank scaled by consensus, with bonds.
	#[default]
	Yuma2021,
	/// The 2019 mechanism: stake flows along out-edges and each peer keeps its self-loop share.
	Attribution2019,
	/// Today's subtensor mechanism ([`crate::yuma3`]): consensus as each column's κ-quantile,
	/// weights clipped to it, per-pair bonds in [0, 1] (so `bonds_mode` does not apply).
	Yuma3(Yuma3Params),
}

/// How bonds accumulate from one epoch to the next.
#[derive(
	Clone,
	Copy,
	Debug,
	Default,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Serialize,
	Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub enum BondsMode {
	/// `B ← B + ΔB` (the paper).
	#[default]
	Cumulative,
	/// `B ← α·B + (1 − α)·ΔB`: old bonds fade at rate `1 − α` each epoch.
	MovingAverage {
		/// The weight `α` of the previous bonds.
		alpha: Perquintill,
	},
}

/// The hyperparameters one epoch reads.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochParams {
	/// Mechanism to run.
	pub mechanism: Mechanism,
	/// Bond accumulation rule.
	pub bonds_mode: BondsMode,
	/// Consensus temperature `ρ` (steepness of the sigmoid).
	pub rho: U64F64,
	/// Consensus shift `κ`: the trust at which consensus is one half.
	pub kappa: U64F64,
}

impl Default for EpochParams {
	fn default() -> Self {
		Self {
			mechanism: Mechanism::Yuma2021,
			bonds_mode: BondsMode::Cumulative,
			rho: U64F64::from_num(10),
			kappa: U64F64::from_num(0.5),
		}
	}
}

/// What the epoch computes over: `n = stake.len()` peers with uids `0..n`.
///
/// Shorter `active`, `weights` or `bonds` slices count the missing peers as inactive, with no
/// weights or bonds; entries naming a uid `>= n` are ignored.
#[derive(Clone, Copy, Debug)]
pub struct EpochInput<'a> {
	/// Each peer's stake, in rao.
	pub stake: &'a [u64],
	/// Whether each peer updated within the activity cutoff.
	pub active: &'a [bool],
	/// Each peer's last `set_weights`, as sparse `(uid, weight)` rows (self-weight included).
	pub weights: &'a [Vec<(Uid, u16)>],
	/// Bonds from the previous epoch, sparse rows: `bonds[i]` holds `(j, b_ij)` in rao.
	pub bonds: &'a [Vec<(Uid, u64)>],
	/// `E_epoch`: what this epoch may mint, in rao.
	pub emission: u64,
}

/// Everything an epoch produces, per peer and in total.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EpochOutput {
	/// Active stake, normalized.
	pub stake: Vec<Perquintill>,
	/// `R = normalize(Wᵀ·S)`.
	pub rank: Vec<Perquintill>,
	/// `T_j`: the stake share with an edge to `j`.
	pub trust: Vec<Perquintill>,
	/// `C_j = σ(ρ·(T_j − κ))`.
	pub consensus: Vec<Perquintill>,
	/// `I = normalize(R ∘ C)`.
	pub incentive: Vec<Perquintill>,
	/// `D`, normalized.
	pub dividends: Vec<Perquintill>,
	/// `E_i = D_i · E_epoch`, rounded down, in rao.
	pub emission: Vec<u64>,
	/// Bonds after this epoch, sparse rows in rao.
	pub bonds: Vec<Vec<(Uid, u64)>>,
	/// `L = −Σ_j R_j·(C_j − ½)`: positive when inflation flows to peers without consensus.
	pub loss: I64F64,
	/// `Σ E_i`: exactly what the caller must credit (never more than `E_epoch`).
	pub minted: u64,
}

/// Bound on the depth of the 2019 attribution flow.
pub const ATTRIBUTION_MAX_DEPTH: u32 = 64;

/// The 2019 flow stops once less than this share of stake is still in transit (2^-40 ≈ 1e-12).
const ATTRIBUTION_EPSILON: U64F64 = U64F64::from_bits(1u128 << 24);

/// Runs one epoch of the chosen mechanism.
pub fn run_epoch(params: &EpochParams, input: &EpochInput) -> EpochOutput {
	match params.mechanism {
		Mechanism::Yuma2021 => run_trust_mechanism(params, input, false),
		Mechanism::Attribution2019 => run_trust_mechanism(params, input, true),
		Mechanism::Yuma3(yuma3) => run_yuma3(params.kappa, &yuma3, input),
	}
}

/// The 2021 paper's mechanism, or with `flow_2019` the 2019 attribution flow: both score consensus
/// as the sigmoid of the stake share with an edge to a peer.
fn run_trust_mechanism(params: &EpochParams, input: &EpochInput, flow_2019: bool) -> EpochOutput {
	let n = input.stake.len();
	let stake = active_stake_shares(input);
	let (rank_unnormalized, trust) = rank_and_trust(input, &stake, n);
	let consensus: Vec<U64F64> =
		trust.iter().map(|t| consensus(*t, params.rho, params.kappa)).collect();

	let (rank, incentive, dividends, bonds) = if !flow_2019 {
		let rank = normalize(&rank_unnormalized);
		let incentive = normalize(
			&rank
				.iter()
				.zip(&consensus)
				.map(|(r, c)| r.saturating_mul(*c))
				.collect::<Vec<_>>(),
		);
		let bonds = next_bonds(params.bonds_mode, input, &stake, n);
		let dividends = normalize(&dividends(&bonds, &incentive, n));
		(rank, incentive, dividends, bonds)
	} else {
		let attribution = normalize(&attribution(input, &stake, n));
		let bonds = (0..n).map(|i| input.bonds.get(i).cloned().unwrap_or_default()).collect();
		(attribution.clone(), attribution.clone(), attribution, bonds)
	};

	let loss = loss(&rank, &consensus);
	EpochVectors { stake, rank, trust, consensus, incentive, dividends }.output(
		input.emission,
		bonds,
		loss,
	)
}

/// A mechanism's per-peer results in fixed point, before they become an [`EpochOutput`].
pub(crate) struct EpochVectors {
	pub(crate) stake: Vec<U64F64>,
	pub(crate) rank: Vec<U64F64>,
	pub(crate) trust: Vec<U64F64>,
	pub(crate) consensus: Vec<U64F64>,
	pub(crate) incentive: Vec<U64F64>,
	pub(crate) dividends: Vec<U64F64>,
}

impl EpochVectors {
	/// The output: fractions as stored, and each peer's dividends share of `budget` (rounded
	/// down, so never more than `budget` in all).
	pub(crate) fn output(
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
pub(crate) fn active_stake_shares(input: &EpochInput) -> Vec<U64F64> {
	let active_stake: Vec<u64> = input
		.stake
		.iter()
		.enumerate()
		.map(|(i, stake)| if input.active.get(i).copied().unwrap_or(false) { *stake } else { 0 })
		.collect();
	let total = active_stake.iter().fold(0u128, |sum, s| sum.saturating_add(u128::from(*s)));
	active_stake.iter().map(|s| ratio(u128::from(*s), total)).collect()
}

/// Row `i` of the weights, normalized: zero weights and out-of-range uids dropped, the
/// self-weight dropped too unless `keep_self`. A row whose weights sum to zero is empty. Rows
/// are normalized one at a time, when used, so that the epoch never holds them all at once.
pub(crate) fn normalized_row(
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

/// `Wᵀ·S` before normalization, and trust `T_j = Σ_i s_i · [w_ij > 0]`.
fn rank_and_trust(input: &EpochInput, stake: &[U64F64], n: usize) -> (Vec<U64F64>, Vec<U64F64>) {
	let mut rank = vec![U64F64::from_num(0); n];
	let mut trust = vec![U64F64::from_num(0); n];
	for (i, s) in stake.iter().enumerate() {
		for (j, w) in normalized_row(input, i, n, false) {
			if let Some(r) = rank.get_mut(j) {
				*r = r.saturating_add(s.saturating_mul(w));
			}
			if let Some(t) = trust.get_mut(j).filter(|_| w > U64F64::from_num(0)) {
				*t = t.saturating_add(*s);
			}
		}
	}
	(rank, trust)
}

/// `σ(ρ·(T − κ))`.
pub fn consensus(trust: U64F64, rho: U64F64, kappa: U64F64) -> U64F64 {
	let distance = if trust >= kappa {
		I64F64::saturating_from_num(rho.saturating_mul(trust.saturating_sub(kappa)))
	} else {
		I64F64::saturating_from_num(rho.saturating_mul(kappa.saturating_sub(trust)))
			.saturating_neg()
	};
	sigmoid(distance)
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

/// `L = −Σ_j R_j·(C_j − ½)`.
fn loss(rank: &[U64F64], consensus: &[U64F64]) -> I64F64 {
	let half = U64F64::from_num(0.5);
	rank.iter().zip(consensus).fold(I64F64::from_num(0), |loss, (r, c)| {
		if *c >= half {
			loss.saturating_sub(I64F64::saturating_from_num(
				r.saturating_mul(c.saturating_sub(half)),
			))
		} else {
			loss.saturating_add(I64F64::saturating_from_num(
				r.saturating_mul(half.saturating_sub(*c)),
			))
		}
	})
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

/// Validator permits: the `max_validators` peers with the most stake, among those with any
/// (the lower uid first on equal stake). Only their weights count in the epoch, which bounds
/// its work by `max_validators` rows whatever the number of peers.
pub fn validator_permits(stake: &[u64], max_validators: u16) -> Vec<bool> {
	let mut by_stake: Vec<(u64, usize)> = stake
		.iter()
		.enumerate()
		.filter(|(_, s)| **s > 0)
		.map(|(i, s)| (*s, i))
		.collect();
	by_stake.sort_unstable_by(|(a, i), (b, j)| b.cmp(a).then(i.cmp(j)));
	let mut permits = vec![false; stake.len()];
	for (_, i) in by_stake.into_iter().take(usize::from(max_validators)) {
		if let Some(permit) = permits.get_mut(i) {
			*permit = true;
		}
	}
	permits
}

/// The loss peg on `MinAllowedWeights`: one more required weight while the loss is positive
/// (capped by the number of peers minus one, the most non-self weights a peer can set), one
/// fewer while it is negative, never below `floor` (the value root last set).
pub fn pegged_min_allowed_weights(current: u16, loss: I64F64, peers: u16, floor: u16) -> u16 {
	let cap = peers.saturating_sub(1).max(floor);
	if loss > I64F64::from_num(0) {
		current.saturating_add(1).min(cap)
	} else if loss < I64F64::from_num(0) {
		current.saturating_sub(1).max(floor)
	} else {
		current
	}
}
