//! The epoch: one step of the incentive mechanism, as a pure function of plain inputs.
//!
//! The pallet calls [`run_epoch`] every `Tempo` blocks; the neuron, the RPC and the simulations
//! call the very same function. It implements `docs/mechanism.md`: "Yuma-2021" (rank, trust,
//! consensus, incentive, bonds, dividends, emission, loss), the 2019 "Attribution" flow and
//! Yuma 3. Cost is linear in the number of peers plus the number of weights and bonds set.
//!
//! Each mechanism has its own file and depends only on the types and the steps they share,
//! never on another mechanism, so that one can change without touching the others.

mod attribution2019;
mod common;
mod trust;
mod types;
mod yuma2021;
pub mod yuma3;

use alloc::{vec, vec::Vec};
use substrate_fixed::types::I64F64;

pub use attribution2019::ATTRIBUTION_MAX_DEPTH;
pub use trust::consensus;
pub use types::{BondsMode, Electorate, EpochInput, EpochOutput, EpochParams, Mechanism, Uid};

/// Runs one epoch of the chosen mechanism.
pub fn run_epoch(params: &EpochParams, input: &EpochInput) -> EpochOutput {
	match params.mechanism {
		Mechanism::Yuma2021 => yuma2021::run_yuma2021(params, input),
		Mechanism::Attribution2019 => attribution2019::run_attribution2019(params, input),
		Mechanism::Yuma3(yuma3) => yuma3::run_yuma3(params, &yuma3, input),
	}
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
