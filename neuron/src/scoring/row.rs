//! Scores into the chain's `u16` weights under its rules: at least `MinAllowedWeights` non-zero
//! weights on other peers, none above `MaxWeightLimit` of the row. A row the chain would refuse
//! costs a transaction fee and sets nothing, so every rule is met here, and the row is checked
//! with the chain's own [`check_row`] before it is sent.

use bittensor_primitives::{
	json::decimal,
	weights::{check_row, RowError, RowRules},
};

/// Why no valid weights exist.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WeightsError {
	/// `MaxWeightLimit` × the number of other peers is below one: no row can satisfy it.
	#[error("no weights over {peers} peers keep every weight under {limit} of the row")]
	LimitUnreachable {
		/// Other registered peers.
		peers: usize,
		/// `MaxWeightLimit`.
		limit: f64,
	},
	/// The row built breaks one of the chain's rules (a bug of [`chain_weights`]: sending it
	/// would only pay a fee).
	#[error("the chain would refuse the weights built: {0:?}")]
	Refused(RowError),
}

/// The row of one validator round: `None` while no peer of `others` (every other registered
/// uid with its score) scored above zero, else their [`chain_weights`].
pub fn row_from_scores(
	others: &[(u16, f64)],
	rules: &RowRules,
) -> Result<Option<Vec<(u16, u16)>>, WeightsError> {
	if !others.iter().any(|(_, score)| *score > 0.0) {
		return Ok(None);
	}
	chain_weights(others, rules).map(Some)
}

/// Chain weights for `others` (every other registered uid with its score), sorted by uid:
/// proportional to the scores, at least `MinAllowedWeights` of them non-zero (the best-scored
/// first, a small floor where the score is zero), none above `MaxWeightLimit` of their sum, the
/// largest 65535.
pub fn chain_weights(
	others: &[(u16, f64)],
	rules: &RowRules,
) -> Result<Vec<(u16, u16)>, WeightsError> {
	let count = others.len();
	let max_weight_limit = decimal(rules.max_weight_limit);
	// The chain caps its minimum at the number of other peers.
	let required = usize::from(rules.min_allowed_weights).min(count);
	if count == 0 {
		return check_row(Vec::new(), rules).map_err(WeightsError::Refused);
	}
	// A little under the chain's limit, so that rounding to integers cannot cross it.
	let limit = if max_weight_limit >= 1.0 { 1.0 } else { max_weight_limit - 1e-6 };
	if limit * count as f64 <= 1.0 && limit < 1.0 {
		return Err(WeightsError::LimitUnreachable { peers: count, limit: max_weight_limit });
	}
	let mut order: Vec<usize> = (0..count).collect();
	order.sort_by(|a, b| {
		others[*b].1.total_cmp(&others[*a].1).then(others[*a].0.cmp(&others[*b].0))
	});
	let mut weights: Vec<f64> = others
		.iter()
		.map(|(_, s)| if s.is_finite() { s.max(0.0) } else { 0.0 })
		.collect();
	// The floor: a thousandth of the best score, and never above the smallest positive one, so
	// that a peer that scored nothing never outweighs one that scored a little.
	let top = weights.iter().copied().fold(0.0, f64::max);
	let smallest = weights.iter().copied().filter(|w| *w > 0.0).fold(f64::MAX, f64::min);
	let floor = if top > 0.0 { (top * 1e-3).min(smallest) } else { 1.0 };
	// Enough non-zero weights for the chain's minimum, and for the limit to be reachable.
	let needed = required.max((1.0 / limit).ceil() as usize).min(count).max(1);
	for index in order.iter().take(needed) {
		if weights[*index] <= 0.0 {
			weights[*index] = floor;
		}
	}
	let total: f64 = weights.iter().sum();
	weights.iter_mut().for_each(|w| *w /= total);
	cap(&mut weights, limit);

	let largest = weights.iter().copied().fold(0.0, f64::max);
	let mut quantized: Vec<u16> = weights
		.iter()
		.map(|w| {
			if *w > 0.0 {
				((w / largest) * f64::from(u16::MAX)).round().max(1.0) as u16
			} else {
				0
			}
		})
		.collect();
	// Rounding may still push the largest entries over the limit: lower them one unit at a time.
	// Each round takes a unit off the row, so this ends; a row of ones meets the limit, as at
	// least `1 / limit` weights are non-zero.
	let units: u64 = quantized.iter().map(|q| u64::from(*q)).sum();
	for _ in 0..units {
		let sum: u64 = quantized.iter().map(|q| u64::from(*q)).sum();
		let Some((index, value)) = quantized.iter().enumerate().max_by_key(|(_, q)| **q) else {
			break;
		};
		if (f64::from(*value) / sum as f64) <= limit || *value <= 1 {
			break;
		}
		quantized[index] = value - 1;
	}
	let row = others.iter().zip(quantized).map(|((uid, _), q)| (*uid, q)).collect();
	check_row(row, rules).map_err(WeightsError::Refused)
}

/// Caps every weight (summing to 1) at `limit`, giving the excess to the uncapped non-zero
/// weights in proportion, until none is over (each round caps at least one more weight).
fn cap(weights: &mut [f64], limit: f64) {
	let mut capped = vec![false; weights.len()];
	for _ in 0..=weights.len() {
		let over: f64 = weights.iter().map(|w| (w - limit).max(0.0)).sum();
		if over <= 0.0 {
			return;
		}
		for (w, capped) in weights.iter_mut().zip(capped.iter_mut()) {
			if *w >= limit {
				*w = limit;
				*capped = true;
			}
		}
		let free: f64 = weights
			.iter()
			.zip(&capped)
			.filter(|(w, c)| !**c && **w > 0.0)
			.map(|(w, _)| *w)
			.sum();
		if free <= 0.0 {
			return;
		}
		for (w, _) in weights.iter_mut().zip(&capped).filter(|(w, c)| !**c && **w > 0.0) {
			*w += over * *w / free;
		}
	}
}

#[cfg(test)]
mod tests {
	use bittensor_primitives::weights::Perbill;
	use proptest::{collection::vec, prelude::*};

	use super::*;
	use crate::data::rng::Rng;

	/// The rules of validator 0 over `others`, with `limit` as a decimal.
	fn rules(others: &[(u16, f64)], min_allowed: usize, limit: f64) -> RowRules {
		let peers = others.iter().map(|(uid, _)| uid + 1).max().unwrap_or(1);
		RowRules {
			own_uid: 0,
			peers,
			min_allowed_weights: min_allowed as u16,
			max_weight_limit: Perbill::from_parts((limit * 1e9).round() as u32),
		}
	}

	fn weights(
		others: &[(u16, f64)],
		min_allowed: usize,
		limit: f64,
	) -> Result<Vec<(u16, u16)>, WeightsError> {
		chain_weights(others, &rules(others, min_allowed, limit))
	}

	fn check(others: &[(u16, f64)], min_allowed: usize, limit: f64) -> Vec<(u16, u16)> {
		let weights = weights(others, min_allowed, limit).unwrap();
		let nonzero = weights.iter().filter(|(_, w)| *w > 0).count();
		assert!(nonzero >= min_allowed.min(others.len()), "{others:?} {weights:?}");
		let sum: u64 = weights.iter().map(|(_, w)| u64::from(*w)).sum();
		for (uid, w) in &weights {
			assert!(others.iter().any(|(u, _)| u == uid));
			assert!(
				limit >= 1.0 || f64::from(*w) / sum as f64 <= limit,
				"{w}/{sum} over {limit}: {others:?} {min_allowed}"
			);
		}
		weights
	}

	#[test]
	fn weights_follow_the_scores() {
		let weights = check(&[(1, 0.2), (2, 0.1), (3, 0.0)], 1, 1.0);
		assert_eq!(weights, vec![(1, 65535), (2, 32768)]);
	}

	#[test]
	fn zero_scores_get_a_floor_to_meet_the_minimum() {
		let weights = check(&[(1, 0.5), (2, 0.0), (3, 0.0)], 3, 1.0);
		assert_eq!(weights.len(), 3);
		assert_eq!(weights[0], (1, 65535));
		assert!(weights[1].1 < 100 && weights[2].1 < 100);
		// Nothing scored yet: equal weights.
		assert_eq!(check(&[(4, 0.0), (5, 0.0)], 2, 1.0), vec![(4, 65535), (5, 65535)]);
	}

	#[test]
	fn the_limit_is_respected_after_rounding() {
		let weights = check(&[(1, 10.0), (2, 1.0), (3, 1.0), (4, 1.0)], 1, 0.4);
		assert!(weights.iter().all(|(_, w)| *w > 0));
	}

	#[test]
	fn impossible_rows_are_named_errors_and_small_rows_are_capped() {
		assert_eq!(
			weights(&[(1, 1.0)], 2, 1.0),
			Ok(vec![(1, 65535)]),
			"the minimum is capped at the peers there are"
		);
		assert_eq!(
			weights(&[(1, 1.0), (2, 1.0)], 1, 0.4),
			Err(WeightsError::LimitUnreachable { peers: 2, limit: 0.4 })
		);
		assert_eq!(weights(&[], 0, 1.0), Ok(vec![]));
	}

	#[test]
	fn a_round_sets_nothing_until_a_peer_scores_above_zero() {
		let rules = rules(&[(2, 0.0)], 1, 1.0);
		assert_eq!(row_from_scores(&[], &rules), Ok(None));
		assert_eq!(row_from_scores(&[(1, 0.0), (2, -0.3), (3, f64::NAN)], &rules), Ok(None));
		assert_eq!(row_from_scores(&[(1, 0.0), (2, 0.1)], &rules), Ok(Some(vec![(2, 65535)])));
	}

	#[test]
	fn random_rows_always_satisfy_the_chain() {
		let mut rng = Rng::new(42);
		for _ in 0..2000 {
			let n = 1 + rng.below(20);
			let others: Vec<(u16, f64)> = (0..n)
				.map(|i| {
					(
						i as u16 * 3 + 1,
						if rng.below(3) == 0 {
							0.0
						} else {
							rng.unit() * 10f64.powi(rng.below(6) as i32 - 3)
						},
					)
				})
				.collect();
			let min_allowed = rng.below(n + 1);
			let limit = [1.0, 0.9, 0.5, 0.3][rng.below(4)];
			if limit < 1.0 && limit * n as f64 <= 1.0 {
				continue;
			}
			let weights = check(&others, min_allowed, limit);
			// A higher score never gets a lower weight (up to the floor and the cap).
			let weight_of =
				|uid: u16| weights.iter().find(|(u, _)| *u == uid).map_or(0, |(_, w)| *w);
			for a in &others {
				for b in &others {
					if a.1 > b.1 * 1.01 && limit >= 1.0 {
						assert!(weight_of(a.0) >= weight_of(b.0), "{others:?} {weights:?}");
					}
				}
			}
		}
	}

	#[test]
	fn a_tiny_weight_beside_a_limit_near_one_still_meets_it() {
		// Found by the property below: rounding the tiny weight took more lowering of the large
		// one than a fixed number of rounds allowed, and the chain would have refused the row.
		let rules = RowRules {
			own_uid: 0,
			peers: 3,
			min_allowed_weights: 0,
			max_weight_limit: Perbill::from_parts(994_771_756),
		};
		let row = chain_weights(&[(1, 0.0), (2, 1e-9)], &rules).expect("a row the chain takes");
		assert_eq!(row.len(), 2, "{row:?}");
	}

	/// A score as a ledger may hold it, and worse: zero, negative, not a number, tiny, large.
	fn score() -> impl Strategy<Value = f64> {
		prop_oneof![
			Just(0.0),
			Just(f64::NAN),
			Just(f64::INFINITY),
			-10.0..0.0f64,
			1e-9..1e-3f64,
			0.0..10.0f64,
		]
	}

	/// One validator round's input: every registered uid but the validator's own with a score,
	/// and the chain's rules (any minimum, any `MaxWeightLimit` at or above the reachable one).
	fn round() -> impl Strategy<Value = (Vec<(u16, f64)>, RowRules)> {
		(1u16..48).prop_flat_map(|peers| {
			let others = usize::from(peers - 1).max(1);
			// The smallest limit `chain_weights` can meet: above 1/others by its margin.
			let reachable = ((1.0 / others as f64 + 2e-6) * 1e9).ceil() as u32;
			let one = Perbill::one().deconstruct();
			(
				Just(peers),
				0..peers,
				vec(score(), usize::from(peers)),
				prop_oneof![0..=peers.saturating_add(2), Just(u16::MAX)],
				prop_oneof![Just(one), reachable.min(one)..=one],
			)
				.prop_map(|(peers, own_uid, scores, min_allowed_weights, limit)| {
					let others =
						(0..peers).zip(scores).filter(|(uid, _)| *uid != own_uid).collect();
					let max_weight_limit = Perbill::from_parts(limit);
					(others, RowRules { own_uid, peers, min_allowed_weights, max_weight_limit })
				})
		})
	}

	proptest! {
		#![proptest_config(ProptestConfig::with_cases(2000))]

		#[test]
		fn every_row_built_passes_the_chains_check((others, rules) in round()) {
			let row = chain_weights(&others, &rules);
			prop_assert!(row.is_ok(), "{row:?} for {others:?} under {rules:?}");
			let row = row.unwrap_or_default();
			prop_assert_eq!(check_row(row.clone(), &rules), Ok(row));
		}
	}
}
