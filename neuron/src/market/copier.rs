//! What commit-reveal does to a validator that copies weights instead of validating.
//!
//! Without commit-reveal a copier sets, just before each epoch, the row the largest validator
//! set during it: it is paid for that validator's work. With commit-reveal a row is visible
//! only once revealed, when it counts, a period after it was made; the copier can commit a
//! copy only then, and its copy counts a period later still: it is always one period behind the
//! market. That costs it only as much as the market moves within a period, so the study runs
//! the honest peers of the market with outages that move among them (each peer down two
//! epochs in six, a third of them at any time), as peers restart, upgrade or lose their
//! network in a live market, and three honest validators score them as in the main run. Their
//! rows then go through each mechanism without commit-reveal and with a period of one and of
//! two tempos, bonds carried over, and the copier's dividends per TAO of stake are compared
//! with the honest validators'. A period should cover the time the market takes to change (here
//! an outage, two epochs): the check is on that one.

use bittensor_primitives::{
	epoch::{run_epoch, EpochInput, EpochParams, Mechanism},
	json::decimal,
	yuma3::Yuma3Params,
	TOKEN,
};
use serde::Serialize;

use super::{
	config::{row_rules, MarketConfig, MarketError, Row, HONEST_VALIDATORS, VALIDATORS},
	fixtures::Peer,
};
use crate::{
	net::served_model::Model,
	scoring::{Validator, ValidatorConfig},
};

/// Every `OUTAGE_CYCLE` epochs each honest peer is down for `OUTAGE_EPOCHS` in a row, the
/// peers in turn (a third of them down at any time).
pub const OUTAGE_CYCLE: usize = 6;

/// Epochs an outage lasts.
pub const OUTAGE_EPOCHS: usize = 2;

/// Commit-reveal periods studied, in tempos (0: rows in the open).
pub const PERIODS: [usize; 3] = [0, 1, 2];

/// The period the check is on: one that covers an outage.
pub const CHECKED_PERIOD: usize = 2;

/// The most a copier may earn per TAO, relative to the honest validators, under Yuma 3 with
/// commit-reveal of [`CHECKED_PERIOD`] tempos.
pub const COPIER_WITH_COMMIT_REVEAL: f64 = 0.5;

/// One mechanism, with or without commit-reveal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CopierOutcome {
	/// The mechanism.
	pub mechanism: String,
	/// The commit-reveal period in tempos: rows count that many epochs after they are made,
	/// copies that many after that (0: without commit-reveal).
	pub period: usize,
	/// The copier's dividends per TAO over the honest validators', over the second half.
	pub ratio: f64,
}

/// Whether honest peer `uid` answers during `epoch`.
pub fn online(uid: u16, epoch: usize) -> bool {
	(epoch + usize::from(uid)) % OUTAGE_CYCLE >= OUTAGE_EPOCHS
}

/// Runs the study over the market's honest peers (the first `config.honest` of `peers`):
/// every mechanism with every period of [`PERIODS`].
pub(super) fn study(
	config: &MarketConfig,
	peers: &[Peer],
	challenges: &[u8],
) -> Result<Vec<CopierOutcome>, MarketError> {
	let honest = config.honest.min(peers.len());
	let rows_by_epoch = honest_rows(config, peers.get(..honest).unwrap_or(peers), challenges)?;
	let mechanisms = [
		("Yuma-2021", Mechanism::Yuma2021),
		("Yuma 3, liquid α 0.7-0.9", Mechanism::Yuma3(Yuma3Params::liquid())),
	];
	let mut outcomes = Vec::new();
	for (name, mechanism) in mechanisms {
		for period in PERIODS {
			let ratio = copier_ratio(mechanism, &rows_by_epoch, honest, period);
			outcomes.push(CopierOutcome { mechanism: name.into(), period, ratio });
		}
	}
	Ok(outcomes)
}

/// Each epoch's rows of the honest validators, as they would set them, scoring `honest` (the
/// market's honest peers) through their outages.
fn honest_rows(
	config: &MarketConfig,
	honest: &[Peer],
	challenges: &[u8],
) -> Result<Vec<Vec<Row>>, MarketError> {
	let peer_uids: Vec<u16> = (0..honest.len() as u16).collect();
	let uids = honest.len() + VALIDATORS.len();
	let mut validators: Vec<Validator> = (0..HONEST_VALIDATORS)
		.map(|v| {
			let seed = config.seed.wrapping_mul(37).wrapping_add(100 + v as u64);
			Validator::new(ValidatorConfig::default(), challenges.to_vec(), seed)
		})
		.collect();
	let mut rows_by_epoch = Vec::new();
	for epoch in 0..config.epochs {
		let mut rows = Vec::new();
		for (v, validator) in validators.iter_mut().enumerate() {
			for _ in 0..config.queries_per_epoch.div_ceil(2) {
				let Some(query) = validator.next_query(&peer_uids) else { continue };
				let answers = query.ask(|uid| {
					honest
						.get(usize::from(uid))
						.filter(|_| online(uid, epoch))
						.map(|peer| &peer.model as &dyn Model)
				});
				validator.score(&query, &answers);
			}
			let rules = row_rules((honest.len() + v) as u16, uids);
			rows.push(validator.row(&peer_uids, &rules)?.unwrap_or_default());
		}
		println!("[market] copier study: epoch {}/{} scored", epoch + 1, config.epochs);
		rows_by_epoch.push(rows);
	}
	Ok(rows_by_epoch)
}

/// The copier's dividends per TAO over the honest validators' when rows count `lag` epochs
/// after they are made: the honest rows of epoch `e` are those made at `e − lag`, the copier's
/// the largest validator's made at `e − 2·lag` (without commit-reveal, `lag` is 0 and the
/// copier sets exactly what the largest validator sets).
fn copier_ratio(mechanism: Mechanism, rows_by_epoch: &[Vec<Row>], peers: usize, lag: usize) -> f64 {
	let n = peers + VALIDATORS.len();
	let copier = HONEST_VALIDATORS;
	let mut stake = vec![0u64; peers];
	stake.extend(VALIDATORS.iter().map(|(_, tao)| tao * TOKEN));
	let active = vec![true; n];
	let params = EpochParams { mechanism, ..EpochParams::default() };
	let made = |epoch: usize, back: usize, v: usize| -> Row {
		epoch
			.checked_sub(back)
			.and_then(|at| rows_by_epoch.get(at))
			.and_then(|rows| rows.get(v))
			.cloned()
			.unwrap_or_default()
	};
	let mut bonds = vec![Vec::new(); n];
	let (mut copier_share, mut honest_share) = (0.0, 0.0);
	let epochs = rows_by_epoch.len();
	for epoch in 0..epochs {
		let mut weights = vec![Vec::new(); n];
		for v in 0..copier {
			weights[peers + v] = made(epoch, lag, v);
		}
		weights[peers + copier] = made(epoch, 2 * lag, 0);
		let output = run_epoch(
			&params,
			&EpochInput {
				stake: &stake,
				active: &active,
				weights: &weights,
				bonds: &bonds,
				emission: TOKEN,
			},
		);
		bonds = output.bonds;
		if epoch >= epochs / 2 {
			let dividends =
				|v: usize| output.dividends.get(peers + v).copied().map_or(0.0, decimal);
			copier_share += dividends(copier);
			honest_share += (0..copier).map(dividends).sum::<f64>();
		}
	}
	let honest_stake: u64 = VALIDATORS[..copier].iter().map(|(_, tao)| tao).sum();
	let copier_stake = VALIDATORS[copier].1;
	let per_tao = |share: f64, tao: u64| share / tao as f64;
	per_tao(copier_share, copier_stake) / per_tao(honest_share, honest_stake).max(f64::MIN_POSITIVE)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn outages_take_a_third_of_the_peers_two_epochs_at_a_time() {
		for epoch in 0..12 {
			let down = (0..12u16).filter(|uid| !online(*uid, epoch)).count();
			assert_eq!(down, 4);
		}
		let up: Vec<bool> = (0..6).map(|epoch| online(4, epoch)).collect();
		assert_eq!(up, [true, true, false, false, true, true]);
	}

	#[test]
	fn a_copier_that_sets_the_same_rows_earns_as_much_per_tao() {
		// Two peers, every honest validator weighting both alike: the copier's row is theirs.
		let rows = vec![vec![vec![(0, 1), (1, 1)]; 3]; 10];
		let ratio = copier_ratio(Mechanism::Yuma2021, &rows, 2, 0);
		assert!((ratio - 1.0).abs() < 1e-6, "{ratio}");
		let yuma3 = Mechanism::Yuma3(Yuma3Params::default());
		assert!((copier_ratio(yuma3, &rows, 2, 0) - 1.0).abs() < 1e-6);
	}

	#[test]
	fn a_copier_a_period_behind_a_moving_market_earns_less_under_yuma3() {
		// The honest validators weight peer `e % 2` at epoch `e`: the market moves every epoch.
		let rows: Vec<Vec<Vec<(u16, u16)>>> =
			(0..12).map(|e| vec![vec![((e % 2) as u16, 1)]; 3]).collect();
		let yuma3 = Mechanism::Yuma3(Yuma3Params::liquid());
		let behind = copier_ratio(yuma3, &rows, 2, 1);
		assert!(behind < 0.5, "{behind}");
		// In the open the copier sets the same rows and earns as much.
		assert!((copier_ratio(yuma3, &rows, 2, 0) - 1.0).abs() < 1e-6);
	}
}
