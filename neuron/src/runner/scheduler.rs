//! The weights of a running neuron from one metagraph reading to the next. Setting, committing
//! and revealing depend on what earlier readings said (the block the last row landed at, the
//! permit, the commit not yet revealed); that state lives here in [`WeightSetting`], a pure
//! machine fed one reading at a time, so that every transition is tested without a chain and
//! the chain loop only makes the calls it is told to.

use super::schedule::{decide, PendingReveal, RevealAction, WeightRules, WeightsAction};
use crate::scoring::WeightsError;

/// What one reading of the metagraph says about the neuron's weights.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
	/// The chain's rules at the reading.
	pub rules: WeightRules,
	/// Whether the neuron holds a validator permit.
	pub permit: bool,
	/// The validator's row now ([`crate::scoring::Validator::row`]).
	pub row: Result<Option<Vec<(u16, u16)>>, WeightsError>,
}

/// What to do after one reading.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
	/// The permit, when this is the first reading or the permit changed since the last: say
	/// so (scoring goes on without one, ready for when one comes).
	pub permit_changed: Option<bool>,
	/// Whether the pending commit expired unrevealed at this reading: warn.
	pub expired: bool,
	/// The chain call to make, if any.
	pub action: WeightsAction,
}

/// A neuron's weight setting between readings of the chain: the block its last row landed at,
/// whether it held a permit, and the commit it has yet to reveal.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightSetting {
	/// The neuron's own blocks between two rows (the chain's rate limit may ask more).
	every: u32,
	last_set: Option<u32>,
	permitted: Option<bool>,
	pending: Option<PendingReveal>,
}

impl WeightSetting {
	/// A neuron that has set nothing yet, and sets at most every `every` blocks.
	pub fn new(every: u32) -> Self {
		Self { every, last_set: None, permitted: None, pending: None }
	}

	/// What to do at `reading`: without a permit nothing; with a commit pending, reveal it in
	/// its window (or wait for it, or drop it once expired); else [`decide`].
	pub fn next(&mut self, reading: Reading) -> Plan {
		let Reading { rules, permit, row } = reading;
		let permit_changed = (self.permitted != Some(permit)).then_some(permit);
		self.permitted = Some(permit);
		let plan = |action| Plan { permit_changed, expired: false, action };
		if !permit {
			return plan(WeightsAction::NoPermit);
		}
		let mut expired = false;
		if let Some(commit) = self.pending.take() {
			match commit.action(rules.block, rules.reveal_period) {
				RevealAction::Wait => {
					self.pending = Some(commit);
					return plan(WeightsAction::AwaitReveal);
				},
				RevealAction::Reveal => return plan(WeightsAction::Reveal(commit)),
				RevealAction::Expired => expired = true,
			}
		}
		let action = decide(&rules, row, self.every, self.last_set);
		Plan { permit_changed, expired, action }
	}

	/// The row set at `block` landed.
	pub fn set(&mut self, block: u32) {
		self.last_set = Some(block);
	}

	/// The row committed at `block` landed; `commit` says how to reveal it.
	pub fn committed(&mut self, block: u32, commit: PendingReveal) {
		self.last_set = Some(block);
		self.pending = Some(commit);
	}
}

#[cfg(test)]
mod tests {
	use super::{super::schedule::tests::rules, *};

	/// A reading under `rules`, with a permit or not, and a row to send.
	fn reading(rules: WeightRules, permit: bool) -> Reading {
		Reading { rules, permit, row: Ok(Some(vec![(1, 9), (2, 3)])) }
	}

	fn plan(permit_changed: Option<bool>, expired: bool, action: WeightsAction) -> Plan {
		Plan { permit_changed, expired, action }
	}

	#[test]
	fn without_a_permit_nothing_is_sent_and_a_change_is_said_once() {
		let mut setting = WeightSetting::new(10);
		let row = vec![(1, 9), (2, 3)];
		assert_eq!(
			setting.next(reading(rules(1), false)),
			plan(Some(false), false, WeightsAction::NoPermit)
		);
		assert_eq!(
			setting.next(reading(rules(2), false)),
			plan(None, false, WeightsAction::NoPermit)
		);
		assert_eq!(
			setting.next(reading(rules(3), true)),
			plan(Some(true), false, WeightsAction::Set(row.clone()))
		);
		// Not landed: asked again at the next reading.
		assert_eq!(
			setting.next(reading(rules(4), true)),
			plan(None, false, WeightsAction::Set(row))
		);
		assert_eq!(
			setting.next(reading(rules(5), false)),
			plan(Some(false), false, WeightsAction::NoPermit)
		);
	}

	#[test]
	fn a_set_row_waits_for_the_interval_before_the_next() {
		let mut setting = WeightSetting::new(10);
		let row = vec![(1, 9), (2, 3)];
		assert_eq!(setting.next(reading(rules(3), true)).action, WeightsAction::Set(row.clone()));
		setting.set(3);
		assert_eq!(setting.next(reading(rules(12), true)).action, WeightsAction::Wait);
		assert_eq!(setting.next(reading(rules(13), true)).action, WeightsAction::Set(row));
		// Nothing to send, or no row the chain takes: nothing sent, said as it is.
		let unscored = Reading { row: Ok(None), ..reading(rules(14), true) };
		assert_eq!(setting.next(unscored).action, WeightsAction::NothingScored);
		let error = WeightsError::LimitUnreachable { peers: 2, limit: 0.4 };
		let impossible = Reading { row: Err(error.clone()), ..reading(rules(15), true) };
		assert_eq!(setting.next(impossible).action, WeightsAction::Impossible(error));
	}

	#[test]
	fn a_commit_is_revealed_once_in_its_window_then_the_interval_runs() {
		let committing = |block| WeightRules { commit_reveal: true, ..rules(block) };
		let mut setting = WeightSetting::new(10);
		let row = vec![(1, 9), (2, 3)];
		let first = setting.next(reading(committing(3), true));
		assert_eq!(first, plan(Some(true), false, WeightsAction::Commit(row.clone())));
		// The commit did not land: committed again.
		assert_eq!(
			setting.next(reading(committing(4), true)).action,
			WeightsAction::Commit(row.clone())
		);
		let commit = PendingReveal::new(&row, [1; 32], 0, 9);
		setting.committed(4, commit.clone());
		assert_eq!(setting.next(reading(committing(8), true)).action, WeightsAction::AwaitReveal);
		// A lost permit keeps the commit, to reveal once it is back.
		assert_eq!(setting.next(reading(committing(9), false)).action, WeightsAction::NoPermit);
		let revealed = setting.next(reading(committing(10), true));
		assert_eq!(revealed, plan(Some(true), false, WeightsAction::Reveal(commit)));
		// Revealed (or failed to): no longer pending, and the next row waits for the interval
		// from the commit.
		assert_eq!(setting.next(reading(committing(13), true)).action, WeightsAction::Wait);
		assert_eq!(setting.next(reading(committing(14), true)).action, WeightsAction::Commit(row));
	}

	#[test]
	fn an_expired_commit_is_dropped_with_a_warning_and_a_new_row_committed() {
		let committing = |block| WeightRules { commit_reveal: true, ..rules(block) };
		let mut setting = WeightSetting::new(10);
		let row = vec![(1, 9), (2, 3)];
		setting.next(reading(committing(3), true));
		setting.committed(3, PendingReveal::new(&row, [1; 32], 0, 8));
		// The window [8, 13) passed unseen (the node was unreachable).
		let late = setting.next(reading(committing(13), true));
		assert_eq!(late, plan(None, true, WeightsAction::Commit(row)));
		// Dropped: said once.
		assert!(!setting.next(reading(committing(13), true)).expired);
		// An expired commit still within the interval: dropped, and the next row waits.
		let mut setting = WeightSetting::new(100);
		setting.next(reading(committing(3), true));
		setting.committed(3, PendingReveal::new(&[(1, 1)], [1; 32], 0, 8));
		assert_eq!(
			setting.next(reading(committing(20), true)),
			plan(None, true, WeightsAction::Wait)
		);
	}
}
