//! The chain's rules for one validator's weight row, as a pure function: the pallet's
//! `set_weights` and `reveal_weights` store only what [`check_row`] accepts, and the neuron
//! checks every row it builds with the same function before paying a fee to send it, so the two
//! sides cannot drift apart.

use alloc::vec::Vec;
/// The type of [`RowRules::max_weight_limit`], for callers that build rules.
pub use sp_arithmetic::Perbill;

/// What the chain requires of a row at the moment it is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowRules {
	/// The uid of the validator setting the row (its weight on itself counts for nothing).
	pub own_uid: u16,
	/// Registered peers: every uid of the row is below it.
	pub peers: u16,
	/// `MinAllowedWeights`: non-zero weights on other peers, capped at `peers - 1`.
	pub min_allowed_weights: u16,
	/// `MaxWeightLimit`: the largest share of the row's weight on other peers one peer may hold.
	pub max_weight_limit: Perbill,
}

/// Why the chain refuses a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowError {
	/// A uid appears twice.
	DuplicateUids,
	/// A uid is not registered.
	InvalidUid,
	/// Fewer non-zero weights on other peers than `MinAllowedWeights` (capped at the others).
	NotEnoughWeights,
	/// One peer holds more than `MaxWeightLimit` of the weight on other peers.
	MaxWeightExceeded,
}

/// Checks `row` (`(uid, weight)` pairs in any order) against `rules`; returns it sorted by uid
/// with its zero weights dropped, the form the chain stores.
pub fn check_row(mut row: Vec<(u16, u16)>, rules: &RowRules) -> Result<Vec<(u16, u16)>, RowError> {
	row.sort_unstable_by_key(|(target, _)| *target);
	if row.windows(2).any(|pair| matches!(pair, [a, b] if a.0 == b.0)) {
		return Err(RowError::DuplicateUids);
	}
	if row.iter().any(|(target, _)| *target >= rules.peers) {
		return Err(RowError::InvalidUid);
	}
	row.retain(|(_, weight)| *weight > 0);

	let others = || row.iter().filter(|(target, _)| *target != rules.own_uid).map(|(_, w)| *w);
	let required = rules.min_allowed_weights.min(rules.peers.saturating_sub(1));
	if others().count() < usize::from(required) {
		return Err(RowError::NotEnoughWeights);
	}
	if rules.max_weight_limit < Perbill::one() {
		let total: u64 = others().map(u64::from).sum();
		let limit = rules.max_weight_limit;
		if others().any(|w| Perbill::from_rational(u64::from(w), total) > limit) {
			return Err(RowError::MaxWeightExceeded);
		}
	}
	Ok(row)
}

#[cfg(test)]
mod tests {
	use super::*;

	fn rules(min_allowed_weights: u16, max_weight_limit: Perbill) -> RowRules {
		RowRules { own_uid: 0, peers: 4, min_allowed_weights, max_weight_limit }
	}

	#[test]
	fn a_valid_row_comes_back_sorted_without_zeros() {
		let row = vec![(3, 5), (1, 0), (2, 7), (0, 9)];
		assert_eq!(check_row(row, &rules(2, Perbill::one())), Ok(vec![(0, 9), (2, 7), (3, 5)]));
	}

	#[test]
	fn every_rule_has_its_error() {
		let open = rules(1, Perbill::one());
		assert_eq!(check_row(vec![(1, 1), (1, 2)], &open), Err(RowError::DuplicateUids));
		assert_eq!(check_row(vec![(1, 1), (4, 2)], &open), Err(RowError::InvalidUid));
		// Weight on itself and zero weights do not count towards the minimum.
		assert_eq!(check_row(vec![(0, 9)], &open), Err(RowError::NotEnoughWeights));
		assert_eq!(check_row(vec![(1, 0)], &open), Err(RowError::NotEnoughWeights));
		let half = rules(1, Perbill::from_percent(50));
		assert_eq!(check_row(vec![(1, 3), (2, 1)], &half), Err(RowError::MaxWeightExceeded));
		assert_eq!(check_row(vec![(1, 1), (2, 1)], &half), Ok(vec![(1, 1), (2, 1)]));
	}

	#[test]
	fn the_minimum_is_capped_at_the_other_peers() {
		let demanding = rules(10, Perbill::one());
		assert_eq!(check_row(vec![(1, 1), (2, 1), (3, 1)], &demanding).map(|r| r.len()), Ok(3));
		assert_eq!(check_row(vec![(1, 1), (2, 1)], &demanding), Err(RowError::NotEnoughWeights));
	}
}
