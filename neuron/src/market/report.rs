//! What the market benchmark found: incentive per peer and dividends per validator over the
//! epochs, the checks against the thresholds, a table for the terminal, a JSON report
//! and an SVG chart. Shares are compared over the steady state, the second half of the epochs:
//! the first ones measure how fast validators learn, not what the market pays.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{
	copier::{CopierOutcome, CHECKED_PERIOD, COPIER_WITH_COMMIT_REVEAL, PERIODS},
	MarketConfig, MarketError,
};
use crate::localnet::plot::{line_chart, Series};

/// The thresholds, as `(name, limit, at least?)`; each check's ratio is compared to its limit.
pub const CHECKS: [(&str, f64, bool); 6] = [
	("noise / least-paid honest", 0.2, false),
	("least-paid honest / median honest", 0.33, true),
	("leak / median honest", 0.05, false),
	("validators flagging the leak / validators", 1.0, true),
	("replay / median honest", 0.10, false),
	("scoring time / training step", 0.15, false),
];

/// Limit of an echo's incentive over the peer it copies.
pub const ECHO_OVER_COPIED: f64 = 1.05;

/// Limit of an echo's and its original's incentive together over the median honest peer's.
pub const PAIR_OVER_MEDIAN: f64 = 1.15;

/// One peer's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeerReport {
	/// Its uid.
	pub uid: u16,
	/// Its name.
	pub name: String,
	/// How it serves (`model` for honest peers).
	pub serving: String,
	/// How many honest validators flag it at the end.
	pub flagged_by: usize,
	/// Its incentive share, epoch by epoch.
	pub incentive: Vec<f64>,
}

impl PeerReport {
	/// Mean incentive over the steady state (the second half of the epochs).
	pub fn steady_incentive(&self) -> f64 {
		let half = &self.incentive[self.incentive.len() / 2..];
		half.iter().sum::<f64>() / half.len().max(1) as f64
	}
}

/// One validator's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValidatorReport {
	/// Its uid.
	pub uid: u16,
	/// Its name (`copier` copies the largest validator's last row).
	pub name: String,
	/// Its stake, in TAO.
	pub stake_tao: u64,
	/// Its dividend share, epoch by epoch.
	pub dividends: Vec<f64>,
}

/// A threshold and whether it is met.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
	/// What is compared.
	pub name: String,
	/// The measured ratio.
	pub ratio: f64,
	/// The limit.
	pub limit: f64,
	/// Whether the ratio must be at least (rather than at most) the limit.
	pub at_least: bool,
	/// Whether it is met.
	pub passed: bool,
}

impl Check {
	fn new(name: impl Into<String>, ratio: f64, limit: f64, at_least: bool) -> Self {
		let passed = if at_least { ratio >= limit } else { ratio <= limit };
		Self { name: name.into(), ratio, limit, at_least, passed }
	}
}

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
	/// Wall time of the run.
	pub seconds: f64,
}

/// The median of `values` (0 when empty).
fn median(values: &mut [f64]) -> f64 {
	values.sort_by(f64::total_cmp);
	match values.len() {
		0 => 0.0,
		n if n % 2 == 1 => values[n / 2],
		n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
	}
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
			seconds,
		} = measured;
		let share = |serving: &str| {
			peers
				.iter()
				.find(|p| p.serving == serving)
				.map_or(0.0, PeerReport::steady_incentive)
		};
		let mut honest: Vec<f64> = peers
			.iter()
			.filter(|p| p.serving == "model")
			.map(PeerReport::steady_incentive)
			.collect();
		let least = honest.iter().copied().fold(f64::INFINITY, f64::min);
		let middle = median(&mut honest);
		let leak_flags = peers.iter().find(|p| p.serving == "leak").map_or(0, |p| p.flagged_by);
		let ratios = [
			share("noise") / least,
			least / middle,
			share("leak") / middle,
			leak_flags as f64 / honest_validators.max(1) as f64,
			share("replay") / middle,
			scoring_seconds / step_seconds,
		];
		let mut checks: Vec<Check> = CHECKS
			.iter()
			.zip(ratios)
			.map(|((name, limit, at_least), ratio)| Check::new(*name, ratio, *limit, *at_least))
			.collect();
		for echo in peers.iter().filter(|p| p.serving.starts_with("echo:")) {
			let copied_uid: Option<u16> =
				echo.serving.split(':').nth(1).and_then(|uid| uid.parse().ok());
			let copied = peers
				.iter()
				.find(|p| Some(p.uid) == copied_uid)
				.map_or(0.0, PeerReport::steady_incentive);
			let mine = echo.steady_incentive();
			checks.push(Check::new(
				format!("{} / the peer it copies", echo.serving),
				mine / copied,
				ECHO_OVER_COPIED,
				false,
			));
			checks.push(Check::new(
				format!("({} + the peer it copies) / median honest", echo.serving),
				(mine + copied) / middle,
				PAIR_OVER_MEDIAN,
				false,
			));
		}
		let yuma3_commit_reveal = copier
			.iter()
			.find(|outcome| {
				outcome.period == CHECKED_PERIOD && outcome.mechanism.starts_with("Yuma 3")
			})
			.map_or(f64::INFINITY, |outcome| outcome.ratio);
		checks.push(Check::new(
			format!("copier / honest per TAO, Yuma 3, reveal after {CHECKED_PERIOD} tempos"),
			yuma3_commit_reveal,
			COPIER_WITH_COMMIT_REVEAL,
			false,
		));
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
			checks,
		}
	}

	/// Writes `market.json` and `incentive.svg` under `dir`; returns the JSON's path.
	pub fn write(&self, dir: &Path) -> Result<PathBuf, MarketError> {
		let path = dir.join("market.json");
		let text = serde_json::to_string_pretty(self).unwrap_or_default();
		std::fs::write(&path, text)
			.map_err(|source| MarketError::Io { path: path.clone(), source })?;
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
		std::fs::write(&chart, svg).map_err(|source| MarketError::Io { path: chart, source })?;
		Ok(path)
	}

	/// The peers, the validators and the checks as tables.
	pub fn table(&self) -> String {
		let mut out = format!(
			"market of {} peers and {} validators, seed {}, {} epochs in {:.0} s\n",
			self.peers.len(),
			self.validators.len(),
			self.seed,
			self.epochs,
			self.seconds
		);
		out.push_str(&format!(
			"{:>4}  {:<10} {:<18} {:>10} {:>10}  {}\n",
			"uid", "peer", "serves", "incentive", "last", "flagged by"
		));
		for peer in &self.peers {
			out.push_str(&format!(
				"{:>4}  {:<10} {:<18} {:>10.4} {:>10.4}  {}\n",
				peer.uid,
				peer.name,
				peer.serving,
				peer.steady_incentive(),
				peer.incentive.last().copied().unwrap_or(0.0),
				peer.flagged_by
			));
		}
		out.push_str(&format!(
			"{:>4}  {:<10} {:>9} {:>10}\n",
			"uid", "validator", "stake", "dividends"
		));
		for validator in &self.validators {
			let half = &validator.dividends[validator.dividends.len() / 2..];
			let mean = half.iter().sum::<f64>() / half.len().max(1) as f64;
			out.push_str(&format!(
				"{:>4}  {:<10} {:>9} {:>10.4}\n",
				validator.uid, validator.name, validator.stake_tao, mean
			));
		}
		out.push_str(&format!(
			"copies found: {:?}; highest canary similarity of two honest peers {:.3}\n",
			self.copy_groups, self.honest_similarity
		));
		out.push_str(&format!(
			"scoring {:.1} ms per query against a {:.1} ms training step\n",
			self.scoring_seconds * 1e3,
			self.step_seconds * 1e3
		));
		out.push_str(
			"copier's dividends per TAO over the honest validators' (a third of the honest peers \
			 down, two epochs at a time), by commit-reveal period:\n",
		);
		out.push_str(&format!("{:<26}", "mechanism"));
		for period in PERIODS {
			let heading = match period {
				0 => "open rows".to_string(),
				1 => "1 tempo".to_string(),
				tempos => format!("{tempos} tempos"),
			};
			out.push_str(&format!(" {heading:>10}"));
		}
		out.push('\n');
		for row in self.copier.chunks(PERIODS.len()) {
			let name = row.first().map_or("", |outcome| outcome.mechanism.as_str());
			out.push_str(&format!("{name:<26}"));
			for outcome in row {
				out.push_str(&format!(" {:>10.3}", outcome.ratio));
			}
			out.push('\n');
		}
		for check in &self.checks {
			out.push_str(&format!(
				"  {} {:<52} {:>8.4} {} {}\n",
				if check.passed { "pass" } else { "FAIL" },
				check.name,
				check.ratio,
				if check.at_least { ">=" } else { "<=" },
				check.limit
			));
		}
		out
	}
}
