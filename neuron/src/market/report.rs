//! What the market benchmark found, as the run ends: the peers' and validators' series, the
//! thresholds checked ([`super::checks`]), a table for the terminal, a JSON report and an SVG
//! chart of incentive per peer over the epochs.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{
	abstain::AbstainOutcome,
	checks::{Check, Steady, Studies},
	config::{MarketConfig, MarketError},
	copier::{CopierOutcome, PERIODS},
	outcome::{PeerReport, ValidatorReport},
	poison::PoisonOutcome,
};
use crate::report::{line_chart, Column, Series, Table};

/// The whole benchmark's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MarketReport {
	/// The market's seed.
	pub seed: u64,
	/// Epochs run.
	pub epochs: usize,
	/// Wall time of the run, seconds.
	pub seconds: f64,
	/// Every peer.
	pub peers: Vec<PeerReport>,
	/// Every validator.
	pub validators: Vec<ValidatorReport>,
	/// The highest canary similarity between two honest peers (copies score above 0.95).
	pub honest_similarity: f64,
	/// Groups of copies the largest validator found.
	pub copy_groups: Vec<Vec<u16>>,
	/// Median seconds a validator spends scoring one query.
	pub scoring_seconds: f64,
	/// Median seconds of a default training step.
	pub step_seconds: f64,
	/// The copier's dividends per TAO against the honest validators', per mechanism, without
	/// and with commit-reveal.
	pub copier: Vec<CopierOutcome>,
	/// What the poisoner did to a neuron that trained on the market's peers.
	pub poison: Option<PoisonOutcome>,
	/// What a staked peer earns by not validating, per mechanism and electorate.
	pub abstain: Vec<AbstainOutcome>,
	/// The thresholds.
	pub checks: Vec<Check>,
}

/// What the run measured besides the peers' and validators' series.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
	/// Validators that score (the copier does not).
	pub honest_validators: usize,
	/// The highest canary similarity between two honest peers.
	pub honest_similarity: f64,
	/// Groups of copies the largest validator found.
	pub copy_groups: Vec<Vec<u16>>,
	/// Median seconds a validator spends scoring one query.
	pub scoring_seconds: f64,
	/// Median seconds of a default training step.
	pub step_seconds: f64,
	/// The copier study.
	pub copier: Vec<CopierOutcome>,
	/// The poison study, when the market has a poisoner.
	pub poison: Option<PoisonOutcome>,
	/// The abstention study.
	pub abstain: Vec<AbstainOutcome>,
	/// Wall time of the run.
	pub seconds: f64,
}

impl MarketReport {
	/// The report of a run, with its checks.
	pub fn new(
		config: &MarketConfig,
		peers: Vec<PeerReport>,
		validators: Vec<ValidatorReport>,
		measured: Measured,
	) -> Self {
		let Measured {
			honest_validators,
			honest_similarity,
			copy_groups,
			scoring_seconds,
			step_seconds,
			copier,
			poison,
			abstain,
			seconds,
		} = measured;
		let studies = Studies { copier: &copier, poison, abstain: &abstain };
		let checks =
			Steady::new(&peers, studies, honest_validators, scoring_seconds, step_seconds).checks();
		Self {
			seed: config.seed,
			epochs: config.epochs,
			seconds,
			peers,
			validators,
			honest_similarity,
			copy_groups,
			scoring_seconds,
			step_seconds,
			copier,
			poison,
			abstain,
			checks,
		}
	}

	/// How many checks failed.
	pub fn failed(&self) -> usize {
		self.checks.iter().filter(|check| !check.passed).count()
	}

	/// Writes `market.json` and `incentive.svg` under `dir`; returns the JSON's path.
	pub fn write(&self, dir: &Path) -> Result<PathBuf, MarketError> {
		let path = dir.join("market.json");
		let text = serde_json::to_string_pretty(self).unwrap_or_default();
		std::fs::write(&path, text).map_err(MarketError::io(&path))?;
		let series: Vec<Series> = self
			.peers
			.iter()
			.map(|peer| Series {
				name: format!("{} {}", peer.uid, peer.name),
				points: peer
					.incentive
					.iter()
					.enumerate()
					.map(|(epoch, share)| ((epoch + 1) as f64, *share))
					.collect(),
			})
			.collect();
		let chart = dir.join("incentive.svg");
		let svg = line_chart("Incentive per peer", "epoch", "incentive share", &series);
		std::fs::write(&chart, svg).map_err(MarketError::io(&chart))?;
		Ok(path)
	}

	/// The peers, the validators, the copier study and the checks as tables.
	pub fn table(&self) -> String {
		format!(
			"market of {} peers and {} validators, seed {}, {} epochs in {:.0} s\n{}{}\
			 copies found: {:?}; highest canary similarity of two honest peers {:.3}\n\
			 scoring {:.1} ms per query against a {:.1} ms training step\n\
			 copier's dividends per TAO over the honest validators' (a third of the honest peers \
			 down, two epochs at a time), by commit-reveal period:\n{}\
			 a staked peer's emission not validating over validating (the most of any):\n{}{}",
			self.peers.len(),
			self.validators.len(),
			self.seed,
			self.epochs,
			self.seconds,
			self.peer_table(),
			self.validator_table(),
			self.copy_groups,
			self.honest_similarity,
			self.scoring_seconds * 1e3,
			self.step_seconds * 1e3,
			self.copier_table(),
			self.abstain_table(),
			Check::table(&self.checks),
		)
	}

	/// Each peer's steady and last incentive, and how many validators flag it.
	fn peer_table(&self) -> Table {
		let mut table = Table::new([
			Column::right("uid", 4),
			Column::left("peer", 10).gap(2),
			Column::left("serves", 18),
			Column::right("incentive", 10),
			Column::right("last", 10),
			Column::left("flagged by", 0).gap(2),
		]);
		for peer in &self.peers {
			table.row([
				peer.uid.to_string(),
				peer.name.clone(),
				peer.serving.to_string(),
				format!("{:.4}", peer.steady_incentive()),
				format!("{:.4}", peer.incentive.last().copied().unwrap_or(0.0)),
				peer.flagged_by.to_string(),
			]);
		}
		table
	}

	/// Each validator's stake and steady dividends.
	fn validator_table(&self) -> Table {
		let mut table = Table::new([
			Column::right("uid", 4),
			Column::left("validator", 10).gap(2),
			Column::right("stake", 9),
			Column::right("dividends", 10),
		]);
		for validator in &self.validators {
			table.row([
				validator.uid.to_string(),
				validator.name.clone(),
				validator.stake_tao.to_string(),
				format!("{:.4}", validator.steady_dividends()),
			]);
		}
		table
	}

	/// The copier's ratio per mechanism (a row) and commit-reveal period (a column).
	fn copier_table(&self) -> Table {
		let periods = PERIODS.into_iter().map(|period| {
			let heading = match period {
				0 => "open rows".to_string(),
				1 => "1 tempo".to_string(),
				tempos => format!("{tempos} tempos"),
			};
			Column::right(heading, 10)
		});
		let mut table = Table::new(std::iter::once(Column::left("mechanism", 26)).chain(periods));
		for row in self.copier.chunks(PERIODS.len()) {
			let name = row.first().map_or("", |outcome| outcome.mechanism.as_str());
			let ratios = row.iter().map(|outcome| format!("{:.3}", outcome.ratio));
			table.row(std::iter::once(name.to_string()).chain(ratios));
		}
		table
	}

	/// The abstainer's ratio per mechanism and electorate.
	fn abstain_table(&self) -> Table {
		let mut table = Table::new([
			Column::left("mechanism", 26),
			Column::left("electorate", 10),
			Column::right("ratio", 8),
			Column::right("uid", 4),
		]);
		for outcome in &self.abstain {
			table.row([
				outcome.mechanism.clone(),
				format!("{:?}", outcome.electorate),
				format!("{:.3}", outcome.ratio),
				outcome.uid.to_string(),
			]);
		}
		table
	}
}
