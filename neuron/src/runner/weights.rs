//! When and what a running neuron sets as its weights: a pure decision over what the chain
//! says (block, rate limit, `MinAllowedWeights`, `MaxWeightLimit`) and the neuron's scores, so
//! that every branch is tested without a chain.

use bittensor_primitives::json::MetagraphJson;

use crate::scoring::{chain_weights, WeightsError};

/// The chain's rules for a weight row, as one metagraph states them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeightRules {
	/// The metagraph's block.
	pub block: u32,
	/// `WeightsSetRateLimit`: blocks between two rows of one peer.
	pub rate_limit: u32,
	/// The current `MinAllowedWeights`.
	pub min_allowed: usize,
	/// `MaxWeightLimit`, as a fraction of the row.
	pub max_weight_limit: f64,
}

impl WeightRules {
	/// The rules in force at `metagraph`'s block.
	pub fn from_metagraph(metagraph: &MetagraphJson) -> Self {
		Self {
			block: metagraph.block,
			rate_limit: metagraph.hyperparameters.weights_set_rate_limit,
			min_allowed: usize::from(metagraph.min_allowed_weights),
			max_weight_limit: metagraph.hyperparameters.max_weight_limit,
		}
	}
}

/// What to do about weights at one reading of the chain.
#[derive(Debug, Clone, PartialEq)]
pub enum WeightsDecision {
	/// Too soon after the last row: the neuron's own interval or the chain's rate limit.
	Wait,
	/// No other peer has a positive score yet.
	NothingScored,
	/// The chain's rules cannot be met (say so, set nothing).
	Impossible(WeightsError),
	/// Set this row of `(uid, weight)`.
	Set(Vec<(u16, u16)>),
}

/// Decides whether to set weights now, and which: at most every `every` blocks and never
/// faster than the chain's rate limit after `last_set`, only once some peer has a positive
/// score, and with a row that meets the chain's rules. `others` are the other registered uids
/// with their scores.
pub fn decide(
	rules: &WeightRules,
	others: &[(u16, f64)],
	every: u32,
	last_set: Option<u32>,
) -> WeightsDecision {
	let interval = every.max(rules.rate_limit);
	if last_set.is_some_and(|block| rules.block < block.saturating_add(interval)) {
		return WeightsDecision::Wait;
	}
	if !others.iter().any(|(_, score)| *score > 0.0) {
		return WeightsDecision::NothingScored;
	}
	match chain_weights(others, rules.min_allowed, rules.max_weight_limit) {
		Ok(row) => WeightsDecision::Set(row),
		Err(error) => WeightsDecision::Impossible(error),
	}
}

/// A row committed on chain (commit-reveal) and not yet revealed.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingReveal {
	/// The uids of the row.
	pub uids: Vec<u16>,
	/// Their weights.
	pub weights: Vec<u16>,
	/// The secret salt the commit hashed.
	pub salt: [u8; 32],
	/// The version key the commit hashed.
	pub version_key: u64,
	/// The block the reveal window opens at (the chain's `WeightsCommitted` event says).
	pub reveal_from: u32,
}

/// What to do with a pending commit at one reading of the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevealAction {
	/// Its window has not opened.
	Wait,
	/// Reveal it now.
	Reveal,
	/// Its window has closed: it can no longer count.
	Expired,
}

impl PendingReveal {
	/// A committed row, `(uid, weight)` pairs with the `salt` and version key its hash took,
	/// revealable from block `reveal_from`.
	pub fn new(row: &[(u16, u16)], salt: [u8; 32], version_key: u64, reveal_from: u32) -> Self {
		let (uids, weights) = row.iter().copied().unzip();
		Self { uids, weights, salt, version_key, reveal_from }
	}

	/// The action at `block` for a chain whose `CommitRevealPeriod` is `period`: the window is
	/// `[reveal_from, reveal_from + period)`.
	pub fn action(&self, block: u32, period: u32) -> RevealAction {
		if block < self.reveal_from {
			RevealAction::Wait
		} else if block < self.reveal_from.saturating_add(period) {
			RevealAction::Reveal
		} else {
			RevealAction::Expired
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_commit_is_revealed_in_its_window() {
		let pending = PendingReveal::new(&[(1, 3), (2, 1)], [7; 32], 0, 17);
		assert_eq!((pending.uids.clone(), pending.weights.clone()), (vec![1, 2], vec![3, 1]));
		// Committed at block 12 with a period of 5: the window is [17, 22).
		assert_eq!(pending.action(12, 5), RevealAction::Wait);
		assert_eq!(pending.action(16, 5), RevealAction::Wait);
		assert_eq!(pending.action(17, 5), RevealAction::Reveal);
		assert_eq!(pending.action(21, 5), RevealAction::Reveal);
		assert_eq!(pending.action(22, 5), RevealAction::Expired);
	}

	fn rules(block: u32) -> WeightRules {
		WeightRules { block, rate_limit: 2, min_allowed: 1, max_weight_limit: 1.0 }
	}

	#[test]
	fn waits_for_its_interval_and_for_the_chain_rate_limit() {
		let scored = [(1, 0.5), (2, 0.1)];
		assert_eq!(decide(&rules(19), &scored, 10, Some(10)), WeightsDecision::Wait);
		assert!(matches!(decide(&rules(20), &scored, 10, Some(10)), WeightsDecision::Set(_)));
		// The chain's limit wins over a shorter interval of the neuron's.
		let strict = WeightRules { rate_limit: 30, ..rules(39) };
		assert_eq!(decide(&strict, &scored, 10, Some(10)), WeightsDecision::Wait);
		assert!(matches!(decide(&rules(0), &scored, 10, None), WeightsDecision::Set(_)));
	}

	#[test]
	fn sets_nothing_until_a_peer_scores_above_zero() {
		assert_eq!(decide(&rules(5), &[], 10, None), WeightsDecision::NothingScored);
		let unscored = [(1, 0.0), (2, -0.3)];
		assert_eq!(decide(&rules(5), &unscored, 10, None), WeightsDecision::NothingScored);
	}

	#[test]
	fn the_row_meets_the_chain_rules() {
		let others = [(1, 0.9), (2, 0.1), (3, 0.0)];
		let strict = WeightRules { min_allowed: 3, max_weight_limit: 0.5, ..rules(5) };
		let WeightsDecision::Set(row) = decide(&strict, &others, 10, None) else {
			panic!("a row should be set")
		};
		assert_eq!(row.iter().filter(|(_, weight)| *weight > 0).count(), 3);
		let total: f64 = row.iter().map(|(_, weight)| f64::from(*weight)).sum();
		assert!(row.iter().all(|(_, weight)| f64::from(*weight) / total <= 0.5 + 1e-4), "{row:?}");
		let unreachable = WeightRules { max_weight_limit: 0.2, ..rules(5) };
		assert!(matches!(
			decide(&unreachable, &others, 10, None),
			WeightsDecision::Impossible(WeightsError::LimitUnreachable { .. })
		));
	}
}
