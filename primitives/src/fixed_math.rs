//! Fixed-point helpers the epoch needs: exact normalization of integer amounts, a sigmoid that
//! cannot overflow for any temperature, and conversion to stored resolutions.
//!
//! Every function is total: no panics, no overflow, no floating point.

use sp_arithmetic::Perquintill;
use substrate_fixed::types::{I64F64, U64F64};

/// `ln 2` in `U64F64`: round(ln 2 · 2^64).
const LN_2: U64F64 = U64F64::from_bits(12_786_308_645_202_655_660);

/// Beyond this argument `e^-x` is below `2^-64`, the resolution of `U64F64`.
const EXP_NEG_ZERO_BEYOND: u64 = 45;

/// Taylor terms for `e^-r` with `r` in `[0, ln 2)`: `0.7^28 / 28!` is far below `2^-64`.
const EXP_TAYLOR_TERMS: u32 = 28;

/// `part / total` as a fraction in `[0, 1]` (or above 1 if `part > total`, saturating);
/// zero when `total` is zero. Exact to the last bit of `U64F64` (rounded down).
pub fn ratio(part: u128, total: u128) -> U64F64 {
	if total == 0 {
		return U64F64::from_num(0);
	}
	// part / total = (part << 64) / total; shift the divisor instead when part is too wide.
	match part.checked_shl(64).filter(|shifted| shifted.checked_shr(64) == Some(part)) {
		Some(shifted) => {
			shifted.checked_div(total).map(U64F64::from_bits).unwrap_or(U64F64::from_num(0))
		},
		None => {
			let integer = part.checked_div(total).unwrap_or(0);
			let remainder = part.checked_rem(total).unwrap_or(0);
			let whole = u64::try_from(integer)
				.map(U64F64::saturating_from_num)
				.unwrap_or(U64F64::max_value());
			// remainder < total: scale both down until the remainder can be shifted by 64 bits.
			let shift = 128u32.saturating_sub(total.leading_zeros()).saturating_sub(64);
			let (remainder, total) = (
				remainder.checked_shr(shift).unwrap_or(0),
				total.checked_shr(shift).unwrap_or(1).max(1),
			);
			whole.saturating_add(ratio(remainder, total))
		},
	}
}

/// `floor(value · multiplier / 2^64)`, exact for any `value` and `multiplier`, saturating.
///
/// With `multiplier = ratio(x, total).to_bits()` this is `value · x / total` in `U64F64` bits:
/// one division per `total` instead of one per `value`.
pub fn mul_shift_64(value: u64, multiplier: u128) -> u128 {
	let value = u128::from(value);
	let high = multiplier.checked_shr(64).unwrap_or(0);
	let low = multiplier & u128::from(u64::MAX);
	let low_part = value.saturating_mul(low).checked_shr(64).unwrap_or(0);
	value.saturating_mul(high).saturating_add(low_part)
}

/// Normalizes `values` to sum to 1; the zero vector stays zero.
pub fn normalize(values: &[U64F64]) -> alloc::vec::Vec<U64F64> {
	let total = values.iter().fold(0u128, |sum, value| sum.saturating_add(value.to_bits()));
	values.iter().map(|value| ratio(value.to_bits(), total)).collect()
}

/// `e^-x` for `x >= 0`, to within a few units of `2^-64`.
pub fn exp_neg(x: U64F64) -> U64F64 {
	if x >= U64F64::from_num(EXP_NEG_ZERO_BEYOND) {
		return U64F64::from_num(0);
	}
	// x = k·ln2 + r with r in [0, ln2): e^-x = 2^-k · e^-r.
	let halvings: u32 = x.checked_div(LN_2).map(|q| q.saturating_to_num::<u32>()).unwrap_or(0);
	let remainder = x.saturating_sub(LN_2.saturating_mul(U64F64::from_num(halvings)));
	// e^-r = Σ (-r)^n / n!, terms summed by sign.
	let (mut positive, mut negative) = (U64F64::from_num(1), U64F64::from_num(0));
	let mut term = U64F64::from_num(1);
	for n in 1..=EXP_TAYLOR_TERMS {
		// Dividing the bits by the integer n is exact and far cheaper than a fixed-point division.
		term = U64F64::from_bits(
			term.saturating_mul(remainder).to_bits().checked_div(u128::from(n)).unwrap_or(0),
		);
		if n % 2 == 1 {
			negative = negative.saturating_add(term);
		} else {
			positive = positive.saturating_add(term);
		}
	}
	let e_neg_r = positive.saturating_sub(negative);
	U64F64::from_bits(e_neg_r.to_bits().checked_shr(halvings).unwrap_or(0))
}

/// The logistic function `σ(x) = 1 / (1 + e^-x)`, in `[0, 1]`, for any `x`.
pub fn sigmoid(x: I64F64) -> U64F64 {
	let one = U64F64::from_num(1);
	let magnitude = U64F64::from_bits(x.to_bits().unsigned_abs());
	let e = exp_neg(magnitude);
	let denominator = one.saturating_add(e);
	if x >= I64F64::from_num(0) {
		one.checked_div(denominator).unwrap_or(one)
	} else {
		e.checked_div(denominator).unwrap_or(U64F64::from_num(0))
	}
}

/// A fraction in `[0, 1]` as a `Perquintill` (resolution 1e-18), rounded down, saturating at 1.
pub fn to_perquintill(value: U64F64) -> Perquintill {
	const ONE_QUINTILLION: u128 = 1_000_000_000_000_000_000;
	let parts = value
		.to_bits()
		.checked_mul(ONE_QUINTILLION)
		.map(|scaled| scaled.checked_shr(64).unwrap_or(0))
		.unwrap_or(ONE_QUINTILLION);
	Perquintill::from_parts(u64::try_from(parts.min(ONE_QUINTILLION)).unwrap_or(u64::MAX))
}

/// A `Perquintill` as a `U64F64` fraction.
pub fn from_perquintill(value: Perquintill) -> U64F64 {
	ratio(u128::from(value.deconstruct()), 1_000_000_000_000_000_000)
}

/// `fraction · amount`, rounded down, as a whole number of rao.
pub fn share_of(fraction: U64F64, amount: u64) -> u64 {
	let product = fraction
		.to_bits()
		.checked_mul(u128::from(amount))
		.map(|p| p.checked_shr(64).unwrap_or(0));
	match product {
		Some(value) => u64::try_from(value).unwrap_or(u64::MAX),
		// fraction · amount overflowed 128 bits: multiply the integer and fractional parts apart.
		None => fraction.saturating_mul(U64F64::from_num(amount)).saturating_to_num::<u64>(),
	}
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects, clippy::unwrap_used)]
mod tests {
	use super::*;

	fn f(x: U64F64) -> f64 {
		x.to_num::<f64>()
	}

	#[test]
	fn exp_neg_matches_f64() {
		for i in 0..=500u32 {
			let x = f64::from(i) / 10.0;
			let got = f(exp_neg(U64F64::from_num(x)));
			assert!((got - (-x).exp()).abs() < 1e-15, "e^-{x}: {got} vs {}", (-x).exp());
		}
	}

	#[test]
	fn sigmoid_is_bounded_for_any_argument() {
		for x in [i64::MIN / 2, -1_000_000, -50, -1, 0, 1, 50, 1_000_000, i64::MAX / 2] {
			let s = f(sigmoid(I64F64::from_num(x)));
			assert!((0.0..=1.0).contains(&s), "σ({x}) = {s}");
		}
		assert_eq!(sigmoid(I64F64::from_num(0)), U64F64::from_num(0.5));
		let exact = 1.0 / (1.0 + 2.5f64.exp());
		assert!((f(sigmoid(I64F64::from_num(-2.5))) - exact).abs() < 1e-15);
		assert_eq!(sigmoid(I64F64::min_value()), U64F64::from_num(0));
		assert_eq!(sigmoid(I64F64::max_value()), U64F64::from_num(1));
	}

	#[test]
	fn ratio_is_exact_and_total() {
		assert_eq!(ratio(1, 4), U64F64::from_num(0.25));
		assert_eq!(ratio(5, 0), U64F64::from_num(0));
		assert_eq!(ratio(u128::MAX, u128::MAX), U64F64::from_num(1));
		assert!((f(ratio(u128::MAX / 3, u128::MAX)) - 1.0 / 3.0).abs() < 1e-15);
		assert_eq!(ratio(u128::MAX, 1), U64F64::max_value());
	}

	#[test]
	fn normalize_sums_to_one_or_stays_zero() {
		let zero = normalize(&[U64F64::from_num(0); 3]);
		assert!(zero.iter().all(|x| *x == U64F64::from_num(0)));
		let v = normalize(&[U64F64::from_num(1), U64F64::from_num(2), U64F64::from_num(1)]);
		assert_eq!(v, [U64F64::from_num(0.25), U64F64::from_num(0.5), U64F64::from_num(0.25)]);
	}

	#[test]
	fn mul_shift_64_is_exact() {
		assert_eq!(mul_shift_64(3, 1u128 << 64), 3);
		// (2^64 − 1)(2^128 − 1) / 2^64 rounds down to 2^128 − 2^64 − 1.
		assert_eq!(mul_shift_64(u64::MAX, u128::MAX), u128::MAX - (1u128 << 64));
		// As the epoch uses it: b · (I / total) with the division done once per total.
		for (b, incentive, total) in [
			(12_345u64, 0.25f64, 1_000_000u128),
			(u64::MAX, 1.0, u128::from(u64::MAX)),
			(1 << 40, 1e-9, 1 << 70),
		] {
			let incentive = U64F64::from_num(incentive);
			let via_multiplier =
				U64F64::from_bits(mul_shift_64(b, ratio(incentive.to_bits(), total).to_bits()));
			let direct = ratio(u128::from(b), total).saturating_mul(incentive);
			assert!(
				(f(via_multiplier) - f(direct)).abs() < 1e-18,
				"{b} {total}: {via_multiplier} vs {direct}"
			);
		}
	}

	#[test]
	fn conversions_round_down_and_saturate() {
		assert_eq!(to_perquintill(U64F64::from_num(0.25)), Perquintill::from_percent(25));
		assert_eq!(to_perquintill(U64F64::from_num(3)), Perquintill::one());
		assert_eq!(share_of(U64F64::from_num(0.25), 1_000_000_000), 250_000_000);
		assert_eq!(share_of(U64F64::max_value(), u64::MAX), u64::MAX);
		assert_eq!(from_perquintill(Perquintill::from_percent(50)), U64F64::from_num(0.5));
	}
}
