//! The neuron's one random number generator, splitmix64: small, fast and the same sequence on
//! every platform, so that batches, fixed embedding tables and tests are reproducible from a
//! seed. Not for keys (those come from the operating system).

/// splitmix64.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
	/// A generator seeded with `seed`.
	pub fn new(seed: u64) -> Self {
		Self(seed)
	}

	/// The next 64 random bits.
	pub fn next_u64(&mut self) -> u64 {
		self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
		let mut z = self.0;
		z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
		z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
		z ^ (z >> 31)
	}

	/// Uniform in `0..n` (`n` > 0).
	pub fn below(&mut self, n: usize) -> usize {
		(self.next_u64() % n.max(1) as u64) as usize
	}

	/// Uniform in [0, 1).
	pub fn unit(&mut self) -> f64 {
		(self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
	}
}
