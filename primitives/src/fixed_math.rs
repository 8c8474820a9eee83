//! Fixed-point helpers the epoch needs: exact normalization of integer amounts, a sigmoid that
//! cannot overflow for any temperature, and conversion to stored resolutions.
//!
//! Every function is total: no panics, no overflow, no floating point.

use sp_arithmetic::Perquintill;
use substrate_fixed::types::{I64F64, U64F64};

/// `e^-a` for `a` in `0..45`, in `U64F64` bits (rounded to nearest).
const EXP_NEG_INTEGER: [u128; 45] = [
	18_446_744_073_709_551_616,
	6_786_177_901_268_885_275,
	2_496_495_334_008_788_800,
	918_409_308_362_266_469,
	337_863_903_126_961_438,
	124_293_183_874_348_898,
	45_724_907_025_114_799,
	16_821_253_244_015_389,
	6_188_193_243_211_693,
	2_276_509_072_173_613,
	837_480_885_292_947,
	308_092_000_073_334,
	113_340_712_816_370,
	41_695_718_092_859,
	15_338_997_471_243,
	5_642_901_817_851,
	2_075_907_567_336,
	763_683_715_795,
	280_943_538_598,
	103_353_351_980,
	38_021_573_370,
	13_987_355_164,
	5_145_660_401,
	1_892_982_673,
	696_389_408,
	256_187_346,
	94_246_058,
	34_671_187,
	12_754_817,
	4_692_235,
	1_726_177,
	635_025,
	233_613,
	85_941,
	31_616,
	11_631,
	4_279,
	1_574,
	579,
	213,
	78,
	29,
	11,
	4,
	1,
];

/// `e^-(b/64)` for `b` in `0..64`, in `U64F64` bits (rounded to nearest).
const EXP_NEG_SIXTY_FOURTHS: [u128; 64] = [
	18_446_744_073_709_551_616,
	18_160_753_814_917_686_420,
	17_879_197_424_118_840_458,
	17_602_006_160_561_274_254,
	17_329_112_349_219_823_219,
	17_060_449_364_273_338_564,
	16_795_951_612_838_286_747,
	16_535_554_518_954_536_085,
	16_279_194_507_819_420_732,
	16_026_808_990_266_232_843,
	15_778_336_347_483_353_405,
	15_533_715_915_970_290_993,
	15_292_887_972_726_955_523,
	15_055_793_720_672_551_033,
	14_822_375_274_290_527_581,
	14_592_575_645_496_087_529,
	14_366_338_729_722_795_843,
	14_143_609_292_224_897_498,
	13_924_332_954_591_997_770,
	13_708_456_181_472_813_039,
	13_495_926_267_504_750_746,
	13_286_691_324_446_127_439,
	13_080_700_268_507_883_283,
	12_877_902_807_881_700_136,
	12_678_249_430_461_478_228,
	12_481_691_391_755_173_701,
	12_288_180_702_984_045_740,
	12_097_670_119_366_407_769,
	11_910_113_128_583_022_257,
	11_725_463_939_421_322_998,
	11_543_677_470_595_692_403,
	11_364_709_339_741_064_332,
	11_188_515_852_577_165_300,
	11_015_053_992_240_748_541,
	10_844_281_408_783_216_469,
	10_676_156_408_831_067_396,
	10_510_637_945_406_642_174,
	10_347_685_607_906_685_534,
	10_187_259_612_236_275_421,
	10_029_320_791_095_711_590,
	9_873_830_584_417_992_025,
	9_720_751_029_954_542_552,
	9_570_044_754_006_901_183,
	9_421_674_962_302_094_375,
	9_275_605_431_009_477_473,
	9_131_800_497_896_846_125,
	8_990_225_053_623_659_489,
	8_850_844_533_169_249_492,
	8_713_624_907_393_923_404,
	8_578_532_674_730_899_368,
	8_445_534_853_007_046_549,
	8_314_598_971_390_432_944,
	8_185_693_062_462_714_896,
	8_058_785_654_414_432_812,
	7_933_845_763_361_307_610,
	7_810_842_885_779_661_944,
	7_689_746_991_059_119_361,
	7_570_528_514_170_763_141,
	7_453_158_348_448_964_813,
	7_337_607_838_485_120_041,
	7_223_848_773_131_556_920,
	7_111_853_378_613_908_627,
	7_001_594_311_750_268_832,
	6_893_044_653_275_474_364,
];

/// `1/n` for `n` in `1..=9`, in `U64F64` bits (rounded to nearest): the Taylor terms' divisors.
const RECIPROCALS: [u128; 9] = [
	18_446_744_073_709_551_616,
	9_223_372_036_854_775_808,
	6_148_914_691_236_517_205,
	4_611_686_018_427_387_904,
	3_689_348_814_741_910_323,
	3_074_457_345_618_258_603,
	2_635_249_153_387_078_802,
	2_305_843_009_213_693_952,
	2_049_638_230_412_172_402,
];

/// The bits of `x − ⌊64x⌋/64` in `U64F64`: the 58 fractional bits below the first six.
const BELOW_SIXTY_FOURTHS: u128 = 0x03FF_FFFF_FFFF_FFFF;

/// One, in `U64F64` bits.
const ONE_BITS: u128 = 1 << 64;

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

/// `a·b` for fractions in [0, 1], rounded down as `U64F64`'s product is, with one 64×64-bit
/// multiplication instead of a 128×128-bit one (the epoch's hot loops do several per entry).
pub fn fraction_mul(a: U64F64, b: U64F64) -> U64F64 {
	U64F64::from_bits(fraction_mul_bits(a.to_bits(), b.to_bits()))
}

/// [`fraction_mul`] on `U64F64` bits.
fn fraction_mul_bits(a: u128, b: u128) -> u128 {
	let (a, b) = (a.min(ONE_BITS), b.min(ONE_BITS));
	if a == ONE_BITS {
		return b;
	}
	if b == ONE_BITS {
		return a;
	}
	a.saturating_mul(b).checked_shr(64).unwrap_or(0)
}

/// `e^-x` for `x >= 0`, to within a few units of `2^-64` (0 from `x = 45`, where it is below
/// `2^-64`). `e^-x = e^-a · e^-(b/64) · e^-t` with `a` and `b` from tables and `t < 1/64` by
/// nine Taylor terms in Horner's form, `1 − t(1 − t/2(1 − …(1 − t/9)))`, whose partial values
/// all lie in (0, 1]: no division, so that liquid α can take one per bond in wasm.
pub fn exp_neg(x: U64F64) -> U64F64 {
	let bits = x.to_bits();
	let whole = usize::try_from(bits.checked_shr(64).unwrap_or(0)).unwrap_or(usize::MAX);
	let Some(integer) = EXP_NEG_INTEGER.get(whole) else { return U64F64::from_num(0) };
	let sixty_fourths = usize::try_from(bits.checked_shr(58).unwrap_or(0) & 63).unwrap_or(0);
	let fraction = EXP_NEG_SIXTY_FOURTHS.get(sixty_fourths).copied().unwrap_or(0);
	let t = bits & BELOW_SIXTY_FOURTHS;
	let mut partial = ONE_BITS;
	for reciprocal in RECIPROCALS.iter().rev() {
		let scaled = t.saturating_mul(partial).checked_shr(64).unwrap_or(0);
		let term = scaled.saturating_mul(*reciprocal).checked_shr(64).unwrap_or(0);
		partial = ONE_BITS.saturating_sub(term);
	}
	U64F64::from_bits(fraction_mul_bits(fraction_mul_bits(*integer, fraction), partial))
}

/// The logistic function `σ(x) = 1 / (1 + e^-|x|)` for `x >= 0` (and `1 − σ(|x|)` below), in
/// `[0, 1]`, for any `x`: one division, `2^128 / (2^64 + e^-|x|)` floored exactly.
pub fn sigmoid(x: I64F64) -> U64F64 {
	let magnitude = U64F64::from_bits(x.to_bits().unsigned_abs());
	let denominator = ONE_BITS.saturating_add(exp_neg(magnitude).to_bits());
	let below = u128::MAX.checked_div(denominator).unwrap_or(0);
	let remainder = u128::MAX.wrapping_sub(below.wrapping_mul(denominator));
	let reciprocal =
		if remainder.saturating_add(1) == denominator { below.saturating_add(1) } else { below };
	if x >= I64F64::from_num(0) {
		U64F64::from_bits(reciprocal)
	} else {
		U64F64::from_bits(ONE_BITS.saturating_sub(reciprocal))
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
