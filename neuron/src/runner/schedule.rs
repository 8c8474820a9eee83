//! When and what a running neuron sets as its weights: pure decisions over what the chain says
//! (block, rate limit, commit-reveal, the row's rules) and the validator's row, so that every
//! branch is tested without a chain.

use bittensor_primitives::{
	json::MetagraphJson,
	weights::{Perbill, RowRules},
};

use crate::scoring::WeightsError;

/// The chain's rules for weights, as one metagraph states them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeightRules {
	/// The metagraph's block.
	pub block: u32,
	/// `WeightsSetRateLimit`: blocks between two rows of one peer.
	pub rate_limit: u32,
	/// `CommitRevealEnabled`: rows are committed, then revealed, rather than set.
	pub commit_reveal: bool,
	/// `CommitRevealPeriod`: blocks from a commit to its reveal window, and the window's length.
	pub reveal_period: u32,
	/// What the row itself must meet.
	pub row: RowRules,
}

impl WeightRules {
	/// The rules in force at `metagraph`'s block for the row of `own_uid`.
	pub fn from_metagraph(metagraph: &MetagraphJson, own_uid: u16) -> Self {
		let hyperparameters = &metagraph.hyperparameters;
		Self {
			block: metagraph.block,
			rate_limit: hyperparameters.weights_set_rate_limit,
			commit_reveal: hyperparameters.commit_reveal_enabled,
			reveal_period: hyperparameters.commit_reveal_period,
			row: RowRules {
				own_uid,
				peers: u16::try_from(metagraph.neurons.len()).unwrap_or(u16::MAX),
				min_allowed_weights: metagraph.min_allowed_weights,
				max_weight_limit: perbill(hyperparameters.max_weight_limit),
			},
		}
	}
}

/// A fraction the metagraph's JSON gives as a decimal, back as the chain's `Perbill`.
fn perbill(decimal: f64) -> Perbill {
	let parts = (decimal.clamp(0.0, 1.0) * f64::from(Perbill::one().deconstruct())).round();
	Perbill::from_parts(parts as u32)
}

/// What to do about weights at one reading of the chain.
#[derive(Debug, Clone, PartialEq)]
pub enum WeightsAction {
	/// The neuron holds no validator permit: the chain refuses its rows.
	NoPermit,
	/// A commit waits for its reveal window.
	AwaitReveal,
	/// Too soon after the last row: the neuron's own interval or the chain's rate limit.
	Wait,
	/// No other peer has a positive score yet.
	NothingScored,
	/// The chain's rules cannot be met (say so, set nothing).
	Impossible(WeightsError),
	/// Set this row of `(uid, weight)`, and tell the scheduler's `WeightSetting::set` once it
	/// landed.
	Set(Vec<(u16, u16)>),
	/// Commit this row (commit-reveal is on), and tell the scheduler's
	/// `WeightSetting::committed` once it landed.
	Commit(Vec<(u16, u16)>),
	/// Reveal this commit, whose window is open (whatever comes of it, it is no longer
	/// pending).
	Reveal(PendingReveal),
}

/// Decides, with no commit pending, whether to send a row now: at most every `every` blocks and
/// never faster than the chain's rate limit after `last_set`, only once the validator has a
/// `row` ([`crate::scoring::Validator::row`]), and committed rather than set under
/// commit-reveal.
pub fn decide(
	rules: &WeightRules,
	row: Result<Option<Vec<(u16, u16)>>, WeightsError>,
	every: u32,
	last_set: Option<u32>,
) -> WeightsAction {
	let interval = every.max(rules.rate_limit);
	if last_set.is_some_and(|block| rules.block < block.saturating_add(interval)) {
		return WeightsAction::Wait;
	}
	match row {
		Ok(None) => WeightsAction::NothingScored,
		Ok(Some(row)) if rules.commit_reveal => WeightsAction::Commit(row),
		Ok(Some(row)) => WeightsAction::Set(row),
		Err(error) => WeightsAction::Impossible(error),
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

	/// The committed row, as `(uid, weight)` pairs.
	pub fn row(&self) -> Vec<(u16, u16)> {
		self.uids.iter().copied().zip(self.weights.iter().copied()).collect()
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
pub(super) mod tests {
	use bittensor_primitives::{
		json::{decimal, EpochJson, HyperparametersJson, NeuronJson},
		metagraph::Hyperparameters,
	};
	use sp_core::crypto::AccountId32;

	use super::*;
	use crate::scoring::row_from_scores;

	#[test]
	fn a_commit_is_revealed_in_its_window() {
		let pending = PendingReveal::new(&[(1, 3), (2, 1)], [7; 32], 0, 17);
		assert_eq!((pending.uids.clone(), pending.weights.clone()), (vec![1, 2], vec![3, 1]));
		assert_eq!(pending.row(), vec![(1, 3), (2, 1)]);
		// Committed at block 12 with a period of 5: the window is [17, 22).
		assert_eq!(pending.action(12, 5), RevealAction::Wait);
		assert_eq!(pending.action(16, 5), RevealAction::Wait);
		assert_eq!(pending.action(17, 5), RevealAction::Reveal);
		assert_eq!(pending.action(21, 5), RevealAction::Reveal);
		assert_eq!(pending.action(22, 5), RevealAction::Expired);
	}

	/// Rules at `block` over four peers: rate limit 2, at least one weight, no weight limit,
	/// commit-reveal off with a period of 5.
	pub(in crate::runner) fn rules(block: u32) -> WeightRules {
		let row = RowRules {
			own_uid: 0,
			peers: 4,
			min_allowed_weights: 1,
			max_weight_limit: Perbill::one(),
		};
		WeightRules { block, rate_limit: 2, commit_reveal: false, reveal_period: 5, row }
	}

	/// [`decide`] on the validator row of `others`' scores.
	fn decide_on(
		rules: &WeightRules,
		others: &[(u16, f64)],
		every: u32,
		last_set: Option<u32>,
	) -> WeightsAction {
		decide(rules, row_from_scores(others, &rules.row), every, last_set)
	}

	#[test]
	fn waits_for_its_interval_and_for_the_chain_rate_limit() {
		let scored = [(1, 0.5), (2, 0.1)];
		assert_eq!(decide_on(&rules(19), &scored, 10, Some(10)), WeightsAction::Wait);
		assert!(matches!(decide_on(&rules(20), &scored, 10, Some(10)), WeightsAction::Set(_)));
		// The chain's limit wins over a shorter interval of the neuron's.
		let strict = WeightRules { rate_limit: 30, ..rules(39) };
		assert_eq!(decide_on(&strict, &scored, 10, Some(10)), WeightsAction::Wait);
		assert!(matches!(decide_on(&rules(0), &scored, 10, None), WeightsAction::Set(_)));
		// Under commit-reveal the same row is committed.
		let committing = WeightRules { commit_reveal: true, ..rules(0) };
		assert!(matches!(decide_on(&committing, &scored, 10, None), WeightsAction::Commit(_)));
	}

	#[test]
	fn sets_nothing_until_a_peer_scores_above_zero() {
		assert_eq!(decide_on(&rules(5), &[], 10, None), WeightsAction::NothingScored);
		let unscored = [(1, 0.0), (2, -0.3)];
		assert_eq!(decide_on(&rules(5), &unscored, 10, None), WeightsAction::NothingScored);
	}

	#[test]
	fn the_row_meets_the_chain_rules() {
		let others = [(1, 0.9), (2, 0.1), (3, 0.0)];
		let strict_row = RowRules {
			min_allowed_weights: 3,
			max_weight_limit: Perbill::from_percent(50),
			..rules(5).row
		};
		let strict = WeightRules { row: strict_row, ..rules(5) };
		let WeightsAction::Set(row) = decide_on(&strict, &others, 10, None) else {
			panic!("a row should be set")
		};
		assert_eq!(row.iter().filter(|(_, weight)| *weight > 0).count(), 3);
		let total: f64 = row.iter().map(|(_, weight)| f64::from(*weight)).sum();
		assert!(row.iter().all(|(_, weight)| f64::from(*weight) / total <= 0.5 + 1e-4), "{row:?}");
		let unreachable_row =
			RowRules { max_weight_limit: Perbill::from_percent(20), ..rules(5).row };
		let unreachable = WeightRules { row: unreachable_row, ..rules(5) };
		assert!(matches!(
			decide_on(&unreachable, &others, 10, None),
			WeightsAction::Impossible(WeightsError::LimitUnreachable { .. })
		));
	}

	#[test]
	fn the_rules_are_the_metagraphs() {
		let hyperparameters = HyperparametersJson {
			weights_set_rate_limit: 7,
			commit_reveal_enabled: true,
			commit_reveal_period: 3,
			max_weight_limit: decimal(Perbill::from_parts(333_333_333)),
			..HyperparametersJson::from(Hyperparameters::default())
		};
		let coldkey = AccountId32::new([9; 32]);
		let neurons = (0..3u8)
			.map(|uid| {
				NeuronJson::newly_registered(u16::from(uid), &AccountId32::new([uid; 32]), &coldkey)
			})
			.collect();
		let metagraph = MetagraphJson {
			block: 40,
			hyperparameters,
			min_allowed_weights: 2,
			total_stake: "0".into(),
			last_epoch: EpochJson { block: 0, loss: 0.0, minted: "0".into() },
			neurons,
		};
		let row = RowRules {
			own_uid: 1,
			peers: 3,
			min_allowed_weights: 2,
			max_weight_limit: Perbill::from_parts(333_333_333),
		};
		assert_eq!(
			WeightRules::from_metagraph(&metagraph, 1),
			WeightRules { block: 40, rate_limit: 7, commit_reveal: true, reveal_period: 3, row }
		);
		// Every limit comes back as the chain's own.
		for parts in (0..=1_000_000_000).step_by(999_983).chain([1, 999_999_999, 1_000_000_000]) {
			let limit = Perbill::from_parts(parts);
			assert_eq!(perbill(decimal(limit)), limit);
		}
	}
}
