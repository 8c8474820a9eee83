//! `neuron bench-market`: the whole market in one process, without a node, to measure whether
//! it pays for intelligence. Honest peers (nuclei pre-trained on different slices of the
//! peers' documents, cached) serve beside every adversary the scoring must defeat: noise, a
//! peer that reads the future, copiers of honest peers (exact, noisy, rotated, whitened, and a
//! griefer that permutes afresh per query), a replayer of stale answers, a memorizer that looks
//! rows up in every document the peers can read (and the n-gram baseline it is held to), a
//! poisoner and a peer that serves its best to validators only. Validators of different stake
//! query them through the same [`Validator`] as `neuron run`, on documents no peer has, turn
//! their ledgers into rows with the chain's rules ([`Validator::row`]), and one more validator
//! copies the largest one's last row. Each epoch the rows go through the project's own epoch
//! (the pallet's code), bonds carried over. Smaller studies measure what commit-reveal does to
//! the copier under each mechanism ([`copier`]), what the poisoner does to a neuron training
//! among the peers ([`poison`]), and what a staked peer gains by not validating ([`abstain`]).
//! The run ends with a table, a JSON report, an SVG of incentive per peer over epochs, and a
//! verdict on the thresholds of [`checks`]; it fails when one is not met.
//!
//! Everything is seeded: the same seed gives the same run. The honest models do not depend on
//! the seed, so that a seed changes the market's randomness (challenges, noise, query order),
//! not who is honest.
//!
//! [`run`] reads as its steps: build the market, run its epochs, collect the report, give the
//! verdict.
//!
//! [`Validator`]: crate::scoring::Validator
//! [`Validator::row`]: crate::scoring::Validator::row

use std::time::Instant;

pub mod abstain;
pub mod checks;
mod clock;
mod config;
pub mod copier;
mod fixtures;
pub mod outcome;
pub mod poison;
pub mod report;
mod simulation;

use clock::median_seconds;
use config::HONEST_VALIDATORS;
pub use config::{default_cache, MarketConfig, MarketError};
use report::{MarketReport, Measured};
use simulation::{Epochs, Market};

/// Runs the benchmark; returns its report (also written under `out`), or the failed checks.
pub fn run(config: &MarketConfig) -> Result<MarketReport, MarketError> {
	let started = Instant::now();
	std::fs::create_dir_all(&config.out).map_err(MarketError::io(&config.out))?;
	let mut market = Market::build(config)?;
	let epochs = market.run_epochs(config)?;
	let report = collect_report(config, &market, epochs, started)?;
	verdict(config, report)
}

/// The report of the run that began at `started`: every peer's and validator's series, what
/// the validators found, the copier study (run now, on the market's honest peers) and the
/// checks.
fn collect_report(
	config: &MarketConfig,
	market: &Market,
	epochs: Epochs,
	started: Instant,
) -> Result<MarketReport, MarketError> {
	let Epochs { incentive, dividends, mut scoring_times, mut step_times } = epochs;
	let peers = market.peer_reports(incentive);
	let validators = market.validator_reports(dividends);
	let copier = copier::study(config, &market.peers, &market.challenges)?;
	let poison = poison::study(config, &market.peers, &market.text)?;
	let abstain = abstain::study(config, &market.peers, &market.challenges)?;
	let measured = Measured {
		honest_validators: HONEST_VALIDATORS,
		honest_similarity: market.honest_similarity(config.honest),
		copy_groups: market.copy_groups(),
		scoring_seconds: median_seconds(&mut scoring_times),
		step_seconds: median_seconds(&mut step_times),
		copier,
		poison,
		abstain,
		seconds: started.elapsed().as_secs_f64(),
	};
	Ok(MarketReport::new(config, peers, validators, measured))
}

/// Writes the report and prints its table and where it went; fails if a check failed.
fn verdict(config: &MarketConfig, report: MarketReport) -> Result<MarketReport, MarketError> {
	let path = report.write(&config.out)?;
	print!("{}", report.table());
	println!(
		"[market] report {} and chart {}",
		path.display(),
		config.out.join("incentive.svg").display()
	);
	match report.failed() {
		0 => Ok(report),
		failed => Err(MarketError::ChecksFailed { failed, report: path }),
	}
}
