//! What validating costs a peer that also serves. A validator never weights itself, so if the
//! epoch counted its own stake as a vote of 0 in its own column, a staked peer that set no
//! weights would lose nothing there and gain on every peer that does validate: not validating
//! would pay. The study stakes the first [`STAKED`] honest peers of the market, each one
//! validating the others with the same [`Validator`] as the main run, and pays the same rows
//! twice per mechanism: as set, and with one peer's row left out (it abstains). Each peer in
//! turn abstains; what it earns abstaining is compared with what it earns validating, under
//! each electorate ([`Electorate`]): under the default one, abstaining must not pay more.

use bittensor_primitives::{
	epoch::{run_epoch, Electorate, EpochInput, EpochParams, Mechanism},
	json::decimal,
	yuma3::Yuma3Params,
	TOKEN,
};
use serde::Serialize;

use super::{
	config::{row_rules, MarketConfig, MarketError, Row, VALIDATORS},
	fixtures::Peer,
};
use crate::{
	net::served_model::Model,
	scoring::{Validator, ValidatorConfig},
};

/// Honest peers that are staked and validate each other, with the stakes of [`VALIDATORS`].
pub const STAKED: usize = VALIDATORS.len();

/// One mechanism under one electorate: the most any staked peer earned abstaining, over what
/// it earned validating.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AbstainOutcome {
	/// The mechanism.
	pub mechanism: String,
	/// The electorate.
	pub electorate: Electorate,
	/// The highest, over the staked peers, of its emission abstaining over its emission
	/// validating, over the second half of the epochs.
	pub ratio: f64,
	/// The uid of the peer with that ratio.
	pub uid: u16,
}

/// Runs the study over the market's first [`STAKED`] honest peers (fewer if it has fewer):
/// each mechanism under each electorate.
pub(super) fn study(
	config: &MarketConfig,
	peers: &[Peer],
	challenges: &[u8],
) -> Result<Vec<AbstainOutcome>, MarketError> {
	let staked = config.honest.min(STAKED).min(peers.len());
	let rows_by_epoch = mutual_rows(config, peers.get(..staked).unwrap_or(peers), challenges)?;
	let mechanisms = [
		("Yuma-2021", Mechanism::Yuma2021),
		("Yuma 3, liquid α 0.7-0.9", Mechanism::Yuma3(Yuma3Params::liquid())),
	];
	let mut outcomes = Vec::new();
	for (name, mechanism) in mechanisms {
		for electorate in [Electorate::Voters, Electorate::AllStake] {
			let params = EpochParams { mechanism, electorate, ..EpochParams::default() };
			let (uid, ratio) = (0..staked)
				.map(|uid| (uid as u16, abstainers_ratio(&params, &rows_by_epoch, uid)))
				.max_by(|(_, a), (_, b)| a.total_cmp(b))
				.unwrap_or((0, 0.0));
			outcomes.push(AbstainOutcome { mechanism: name.into(), electorate, ratio, uid });
		}
	}
	Ok(outcomes)
}

/// Each epoch's rows of the staked peers, each scoring the others, as they would set them.
fn mutual_rows(
	config: &MarketConfig,
	staked: &[Peer],
	challenges: &[u8],
) -> Result<Vec<Vec<Row>>, MarketError> {
	let uids: Vec<u16> = (0..staked.len() as u16).collect();
	let mut validators: Vec<Validator> = uids
		.iter()
		.map(|uid| {
			let seed = config.seed.wrapping_mul(41).wrapping_add(200 + u64::from(*uid));
			Validator::new(ValidatorConfig::default(), challenges.to_vec(), seed)
		})
		.collect();
	let mut rows_by_epoch = Vec::new();
	for epoch in 0..config.epochs {
		let mut rows = Vec::new();
		for (own, validator) in uids.iter().zip(validators.iter_mut()) {
			let others: Vec<u16> = uids.iter().copied().filter(|uid| uid != own).collect();
			for _ in 0..config.queries_per_epoch.div_ceil(4) {
				let Some(query) = validator.next_query(&others) else { continue };
				let answers = query
					.ask(|uid| staked.get(usize::from(uid)).map(|peer| &peer.model as &dyn Model));
				validator.score(&query, &answers);
			}
			rows.push(validator.row(&uids, &row_rules(*own, uids.len()))?.unwrap_or_default());
		}
		println!("[market] abstention study: epoch {}/{} scored", epoch + 1, config.epochs);
		rows_by_epoch.push(rows);
	}
	Ok(rows_by_epoch)
}

/// Peer `abstainer`'s emission over the second half when it sets no weights, over its
/// emission when it sets its rows (0 when it earns nothing either way).
fn abstainers_ratio(params: &EpochParams, rows_by_epoch: &[Vec<Row>], abstainer: usize) -> f64 {
	let abstaining = steady_emission(params, rows_by_epoch, Some(abstainer), abstainer);
	let validating = steady_emission(params, rows_by_epoch, None, abstainer);
	if abstaining <= 0.0 {
		0.0
	} else {
		abstaining / validating.max(f64::MIN_POSITIVE)
	}
}

/// Peer `of`'s mean emission share over the second half of the epochs, with the row of
/// `abstainer` (if any) left out, bonds carried over.
fn steady_emission(
	params: &EpochParams,
	rows_by_epoch: &[Vec<Row>],
	abstainer: Option<usize>,
	of: usize,
) -> f64 {
	let n = rows_by_epoch.first().map_or(0, Vec::len);
	let stake: Vec<u64> = VALIDATORS.iter().take(n).map(|(_, tao)| tao * TOKEN).collect();
	let active = vec![true; n];
	let mut bonds = vec![Vec::new(); n];
	let mut earned = 0.0;
	let epochs = rows_by_epoch.len();
	for (epoch, rows) in rows_by_epoch.iter().enumerate() {
		let mut weights = rows.clone();
		if let Some(row) = abstainer.and_then(|uid| weights.get_mut(uid)) {
			row.clear();
		}
		let output = run_epoch(
			params,
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
			earned += output.dividends.get(of).copied().map_or(0.0, decimal);
		}
	}
	earned / (epochs - epochs / 2).max(1) as f64
}

#[cfg(test)]
mod tests {
	use super::*;

	/// Every epoch, each of four staked peers weights the other three alike.
	fn everyone_weights_everyone() -> Vec<Vec<Row>> {
		let row = |own: u16| (0..4).filter(|uid| *uid != own).map(|uid| (uid, 100)).collect();
		vec![(0..4).map(row).collect(); 10]
	}

	#[test]
	fn under_voters_abstaining_pays_less_and_under_all_the_stake_more() {
		let rows = everyone_weights_everyone();
		for mechanism in [Mechanism::Yuma2021, Mechanism::Yuma3(Yuma3Params::liquid())] {
			for abstainer in 0..4 {
				let voters = EpochParams { mechanism, ..EpochParams::default() };
				let ratio = abstainers_ratio(&voters, &rows, abstainer);
				assert!(ratio < 1.0, "{mechanism:?}, peer {abstainer}: {ratio}");
				let all = EpochParams { electorate: Electorate::AllStake, ..voters };
				let bonus = abstainers_ratio(&all, &rows, abstainer);
				assert!(bonus > ratio, "{mechanism:?}, peer {abstainer}: {bonus} against {ratio}");
			}
		}
	}

	#[test]
	fn an_abstainer_loses_the_dividends_of_the_bonds_it_never_bought() {
		let rows = everyone_weights_everyone();
		let params = EpochParams::default();
		let validating = steady_emission(&params, &rows, None, 2);
		assert!(validating > 0.0);
		let abstaining = steady_emission(&params, &rows, Some(2), 2);
		assert!(abstaining < 0.75 * validating, "{abstaining}");
		// What it gives up goes to the peers that validate.
		assert!(steady_emission(&params, &rows, Some(2), 0) > validating);
	}
}
