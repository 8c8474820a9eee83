//! Exact Shapley values of the peers of one validation query. A coalition predicts each
//! scored byte with the best mixture of the validator's prior and its members' probe
//! predictions; its value is the log-likelihood gain of that mixture over the prior alone. The
//! mixture weights are fitted on half of the rows and judged on the other half (and the other
//! way round), so a peer cannot gain by fitting the rows by chance. Mixing is what makes credit
//! fair: a duplicate adds nothing to a coalition that holds its original (so the two share one
//! peer's credit), and a peer no better than the prior adds nothing either (so noise scores
//! zero, or below when it misleads). Leave-one-out, by contrast, pays a duplicate nothing and
//! pays the gate's favourite for being the favourite.

/// Most players of one game: 2^12 coalitions.
pub const MAX_PLAYERS: usize = 12;

/// Shapley values of `players` (at most [`MAX_PLAYERS`]) for the game `value` of every
/// coalition, given as a bit mask of its members.
pub fn shapley_values(players: usize, value: impl Fn(usize) -> f64) -> Vec<f64> {
	let players = players.min(MAX_PLAYERS);
	let values: Vec<f64> = (0..1usize << players).map(&value).collect();
	// weight[s] = s! (n - s - 1)! / n!, the chance that a random order puts exactly the s
	// members of a given coalition before the player.
	let factorial = |n: usize| (1..=n).map(|i| i as f64).product::<f64>();
	let weights: Vec<f64> = (0..players)
		.map(|s| factorial(s) * factorial(players - s - 1) / factorial(players))
		.collect();
	(0..players)
		.map(|player| {
			let bit = 1usize << player;
			(0..values.len())
				.filter(|mask| mask & bit == 0)
				.map(|mask| {
					let size = mask.count_ones() as usize;
					let gain = values.get(mask | bit).copied().unwrap_or(0.0)
						- values.get(mask).copied().unwrap_or(0.0);
					weights.get(size).copied().unwrap_or(0.0) * gain
				})
				.sum()
		})
		.collect()
}

/// Iterations of expectation-maximisation that fit a mixture's weights.
const MIXTURE_ITERATIONS: usize = 30;

/// The weights (summing to one) of the mixture of `experts` (each a probability per row) that
/// most likely produced the rows in `fit`, by expectation-maximisation from equal weights.
fn fit_mixture(experts: &[&[f64]], fit: &[usize]) -> Vec<f64> {
	let count = experts.len().max(1);
	let mut weights = vec![1.0 / count as f64; experts.len()];
	for _ in 0..MIXTURE_ITERATIONS {
		let mut next = vec![0.0; experts.len()];
		for row in fit {
			let at = |expert: &[f64]| expert.get(*row).copied().unwrap_or(0.0).max(1e-12);
			let total: f64 = experts.iter().zip(&weights).map(|(e, w)| w * at(e)).sum();
			for ((slot, expert), weight) in next.iter_mut().zip(experts).zip(&weights) {
				*slot += weight * at(expert) / total;
			}
		}
		let sum: f64 = next.iter().sum();
		if sum <= 0.0 {
			break;
		}
		weights = next.into_iter().map(|w| w / sum).collect();
	}
	weights
}

/// Mean log-likelihood gain over `experts[0]` (the prior) on the rows `judge` of the mixture
/// `weights`.
fn mixture_gain(experts: &[&[f64]], weights: &[f64], judge: &[usize]) -> f64 {
	let gain: f64 = judge
		.iter()
		.map(|row| {
			let at = |expert: &[f64]| expert.get(*row).copied().unwrap_or(0.0).max(1e-12);
			let mixed: f64 = experts.iter().zip(weights).map(|(e, w)| w * at(e)).sum();
			mixed.max(1e-12).ln() - experts.first().map_or(0.0, |prior| at(prior).ln())
		})
		.sum();
	gain / judge.len().max(1) as f64
}

/// Shapley values of the mixture game: `prior[r]` is the prior's probability of scored byte
/// `r`, `peers[i][r]` peer `i`'s. Values in nats per byte; they sum to the whole coalition's
/// gain over the prior.
pub fn mixture_shapley(prior: &[f64], peers: &[Vec<f64>]) -> Vec<f64> {
	let even: Vec<usize> = (0..prior.len()).step_by(2).collect();
	let odd: Vec<usize> = (1..prior.len()).step_by(2).collect();
	let value = |mask: usize| {
		if mask == 0 {
			return 0.0;
		}
		let experts: Vec<&[f64]> = std::iter::once(prior)
			.chain(
				peers
					.iter()
					.enumerate()
					.filter(|(i, _)| mask & (1 << i) != 0)
					.map(|(_, p)| p.as_slice()),
			)
			.collect();
		let folds = [(&even, &odd), (&odd, &even)];
		let judged: f64 = folds
			.iter()
			.map(|(fit, judge)| {
				mixture_gain(&experts, &fit_mixture(&experts, fit), judge) * judge.len() as f64
			})
			.sum();
		judged / prior.len().max(1) as f64
	};
	shapley_values(peers.len(), value)
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::data::rng::Rng;

	/// Shapley values by their definition: the mean marginal gain over every order.
	fn by_permutations(players: usize, value: &dyn Fn(usize) -> f64) -> Vec<f64> {
		fn orders(rest: Vec<usize>) -> Vec<Vec<usize>> {
			if rest.is_empty() {
				return vec![vec![]];
			}
			let mut all = Vec::new();
			for (i, first) in rest.iter().enumerate() {
				let mut others = rest.clone();
				others.remove(i);
				for mut order in orders(others) {
					order.insert(0, *first);
					all.push(order);
				}
			}
			all
		}
		let all = orders((0..players).collect());
		let mut totals = vec![0.0; players];
		for order in &all {
			let mut mask = 0;
			for player in order {
				totals[*player] += value(mask | (1 << player)) - value(mask);
				mask |= 1 << player;
			}
		}
		totals.iter().map(|t| t / all.len() as f64).collect()
	}

	#[test]
	fn agree_with_the_definition_on_random_games() {
		let mut rng = Rng::new(3);
		for players in 1..=5 {
			let table: Vec<f64> = (0..1 << players).map(|_| rng.unit() - 0.5).collect();
			let value = |mask: usize| if mask == 0 { 0.0 } else { table[mask] };
			let fast = shapley_values(players, value);
			let slow = by_permutations(players, &value);
			for (a, b) in fast.iter().zip(&slow) {
				assert!((a - b).abs() < 1e-12, "{fast:?} {slow:?}");
			}
			let total: f64 = fast.iter().sum();
			assert!((total - value((1 << players) - 1)).abs() < 1e-12, "efficiency");
		}
	}

	#[test]
	fn duplicates_share_and_noise_scores_at_most_zero() {
		let mut rng = Rng::new(9);
		let prior: Vec<f64> = (0..64).map(|_| 0.05 + 0.05 * rng.unit()).collect();
		let good: Vec<f64> = prior.iter().map(|p| (p * 6.0).min(0.9)).collect();
		let other: Vec<f64> =
			prior.iter().map(|p| (p * 4.0 * (0.5 + rng.unit())).min(0.9)).collect();
		let alone = mixture_shapley(&prior, &[good.clone(), other.clone()]);
		let copied = mixture_shapley(&prior, &[good.clone(), other.clone(), good.clone()]);
		// The copy adds no value to the query, and it shares with its original rather than
		// doubling it. (Shapley values still lean towards a group of clones when peers overlap:
		// copies across queries are found on the canary rows, see `similarity`.)
		assert!((copied[0] - copied[2]).abs() < 1e-9);
		let (whole, with_copy) = (alone.iter().sum::<f64>(), copied.iter().sum::<f64>());
		assert!((whole - with_copy).abs() < 1e-3, "{alone:?} {copied:?}");
		assert!(copied[0] + copied[2] < 1.3 * alone[0], "{alone:?} {copied:?}");
		let noisy = mixture_shapley(&prior, &[good.clone(), prior.clone(), other]);
		assert!(noisy[1] <= 0.0, "a peer no better than the prior: {noisy:?}");
		assert_eq!(mixture_shapley(&prior, std::slice::from_ref(&prior)), vec![0.0]);
		assert!(mixture_shapley(&prior, &[]).is_empty());
	}
}
