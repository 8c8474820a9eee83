//! What each peer and validator of the market earned, epoch by epoch. Shares are compared over
//! the steady state, the second half of the epochs: the first ones measure how fast validators
//! learn, not what the market pays.

use serde::Serialize;

use crate::nucleus::serving::Serving;

/// One peer's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeerReport {
	/// Its uid.
	pub uid: u16,
	/// Its name.
	pub name: String,
	/// How it serves (`model` for honest peers).
	pub serving: Serving,
	/// How many honest validators flag it at the end.
	pub flagged_by: usize,
	/// Its payable score at the end, copy groups shared out, averaged over the honest
	/// validators.
	pub score: f64,
	/// The same before copy groups are shared out: what it would be paid alone.
	pub own_score: f64,
	/// Its incentive share, epoch by epoch.
	pub incentive: Vec<f64>,
}

impl PeerReport {
	/// Mean incentive over the steady state (the second half of the epochs).
	pub fn steady_incentive(&self) -> f64 {
		steady_mean(&self.incentive)
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

impl ValidatorReport {
	/// Mean dividends over the steady state (the second half of the epochs).
	pub fn steady_dividends(&self) -> f64 {
		steady_mean(&self.dividends)
	}
}

/// The mean of the second half of `series` (0 when empty).
fn steady_mean(series: &[f64]) -> f64 {
	let half = series.get(series.len() / 2..).unwrap_or_default();
	half.iter().sum::<f64>() / half.len().max(1) as f64
}
