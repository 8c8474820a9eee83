//! How sure a difference is: every model is scored on the same held-out batches, so a gain is
//! the mean of per-batch differences (paired: what varies from batch to batch cancels), with a
//! normal 95 % interval; a ratio of two gains gets a bootstrap interval over the batches.

use serde::Serialize;

use crate::data::rng::Rng;

/// z of a two-sided 95 % normal interval.
const Z95: f64 = 1.96;

/// Bootstrap resamples for a ratio's interval.
const RESAMPLES: usize = 1000;

/// A measured figure with its 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
	/// The figure.
	pub mean: f64,
	/// The interval's lower end.
	pub low: f64,
	/// The interval's upper end.
	pub high: f64,
}

impl Interval {
	/// Whether the interval holds 0.
	pub fn spans_zero(&self) -> bool {
		self.low <= 0.0 && self.high >= 0.0
	}
}

/// The mean of `baseline[b] − better[b]` over the batches `b`, with its interval: how much
/// lower `better`'s losses are.
pub fn paired_gain(baseline: &[f64], better: &[f64]) -> Interval {
	let differences: Vec<f64> = baseline.iter().zip(better).map(|(a, b)| a - b).collect();
	let n = differences.len().max(1) as f64;
	let mean = differences.iter().sum::<f64>() / n;
	let variance = differences.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
	let half = Z95 * (variance / n).sqrt();
	Interval { mean, low: mean - half, high: mean + half }
}

/// The share of the gap between `baseline` and `bound` that `better` closes, `Σ(baseline −
/// better) / Σ(baseline − bound)` over the batches, with a percentile bootstrap interval
/// (batches resampled with `seed`).
pub fn gap_closed(baseline: &[f64], better: &[f64], bound: &[f64], seed: u64) -> Interval {
	let n = baseline.len().min(better.len()).min(bound.len());
	let ratio = |indices: &mut dyn Iterator<Item = usize>| {
		let (mut closed, mut gap) = (0.0, 0.0);
		for i in indices {
			closed += baseline[i] - better[i];
			gap += baseline[i] - bound[i];
		}
		closed / gap
	};
	let mean = ratio(&mut (0..n));
	let mut rng = Rng::new(seed);
	let mut ratios: Vec<f64> = (0..RESAMPLES)
		.map(|_| ratio(&mut (0..n).map(|_| rng.below(n))))
		.filter(|r| r.is_finite())
		.collect();
	ratios.sort_by(f64::total_cmp);
	let at = |q: f64| ratios.get((q * (ratios.len() as f64 - 1.0)).round() as usize).copied();
	Interval { mean, low: at(0.025).unwrap_or(f64::NAN), high: at(0.975).unwrap_or(f64::NAN) }
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_constant_gain_is_sure_and_noise_around_nothing_is_not() {
		let baseline = [2.0, 2.5, 1.8, 3.0];
		let better: Vec<f64> = baseline.iter().map(|b| b - 0.3).collect();
		let gain = paired_gain(&baseline, &better);
		assert!((gain.mean - 0.3).abs() < 1e-12 && (gain.high - gain.low).abs() < 1e-9);
		assert!(!gain.spans_zero());
		let noisy = [2.1, 2.4, 1.9, 2.9];
		assert!(paired_gain(&baseline, &noisy).spans_zero());
	}

	#[test]
	fn closing_half_the_gap_is_a_half() {
		let baseline = [3.0, 2.0, 4.0, 3.0, 2.5, 3.5];
		let bound: Vec<f64> = baseline.iter().map(|b| b - 1.0).collect();
		let better: Vec<f64> =
			baseline.iter().enumerate().map(|(i, b)| b - 0.4 - 0.04 * i as f64).collect();
		let closed = gap_closed(&baseline, &better, &bound, 7);
		assert!((closed.mean - 0.5).abs() < 1e-9, "{closed:?}");
		assert!(closed.low < 0.5 && closed.high > 0.5 && closed.low > 0.4 && closed.high < 0.6);
	}
}
