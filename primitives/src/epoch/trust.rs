//! What Yuma-2021 and the 2019 mechanism share: consensus as the sigmoid of trust, the stake
//! share with an edge to a peer, and the loss that pegs `MinAllowedWeights`. Yuma 3 scores
//! consensus otherwise, so this lives apart from the steps all three share.

use alloc::{vec, vec::Vec};
use substrate_fixed::types::{I64F64, U64F64};

use super::{
	common::{active_stake_shares, normalized_row, ColumnElectorates},
	types::{EpochInput, EpochParams},
};
use crate::fixed_math::sigmoid;

/// Stake, unnormalized rank, trust and consensus of every peer.
pub(super) struct TrustScores {
	/// `s_i`: active stake shares.
	pub(super) stake: Vec<U64F64>,
	/// `Wᵀ·S` before normalization, each column over its electorate.
	pub(super) rank: Vec<U64F64>,
	/// `T_j = Σ_i s_i · [w_ij > 0]` over column `j`'s electorate.
	pub(super) trust: Vec<U64F64>,
	/// `C_j = σ(ρ·(T_j − κ))`.
	pub(super) consensus: Vec<U64F64>,
}

/// Scores every peer of `input` under `params`' ρ and κ.
pub(super) fn trust_scores(params: &EpochParams, input: &EpochInput) -> TrustScores {
	let n = input.stake.len();
	let stake = active_stake_shares(input);
	let (rank, trust) = rank_and_trust(params, input, &stake, n);
	let consensus = trust.iter().map(|t| consensus(*t, params.rho, params.kappa)).collect();
	TrustScores { stake, rank, trust, consensus }
}

/// `Wᵀ·S` before normalization, and trust `T_j = Σ_i s_i · [w_ij > 0]`, each column as a share
/// of its electorate ([`ColumnElectorates`]).
fn rank_and_trust(
	params: &EpochParams,
	input: &EpochInput,
	stake: &[U64F64],
	n: usize,
) -> (Vec<U64F64>, Vec<U64F64>) {
	let mut rank = vec![U64F64::from_num(0); n];
	let mut trust = vec![U64F64::from_num(0); n];
	let mut votes = vec![false; n];
	for (i, s) in stake.iter().enumerate() {
		let row = normalized_row(input, i, n, false);
		if let Some(voted) = votes.get_mut(i) {
			*voted = !row.is_empty();
		}
		for (j, w) in row {
			if let Some(r) = rank.get_mut(j) {
				*r = r.saturating_add(s.saturating_mul(w));
			}
			if let Some(t) = trust.get_mut(j).filter(|_| w > U64F64::from_num(0)) {
				*t = t.saturating_add(*s);
			}
		}
	}
	let electorates = ColumnElectorates::new(params.electorate, stake, &votes);
	let over_electorate = |sums: Vec<U64F64>| -> Vec<U64F64> {
		sums.into_iter().enumerate().map(|(j, sum)| electorates.share(j, sum)).collect()
	};
	(over_electorate(rank), over_electorate(trust))
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

/// `L = −Σ_j R_j·(C_j − ½)`.
pub(super) fn loss(rank: &[U64F64], consensus: &[U64F64]) -> I64F64 {
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
