//! Token buckets: the neuron's one rate limiter, for callers' requests by stake, failed
//! authentications per address, and Backward calls into the nucleus.

use std::time::Instant;

/// Up to `burst` tokens, refilled at `rate` per second; each admitted event takes one. The
/// rate and burst are passed on every call because they follow the caller's stake, which
/// changes with each metagraph.
#[derive(Debug, Clone)]
pub struct TokenBucket {
	tokens: f64,
	refilled: Instant,
}

impl TokenBucket {
	/// A full bucket of `burst` tokens.
	pub fn full(burst: f64) -> Self {
		Self { tokens: burst, refilled: Instant::now() }
	}

	fn refill(&mut self, rate: f64, burst: f64) {
		let now = Instant::now();
		let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
		self.tokens = (self.tokens + elapsed * rate).min(burst);
		self.refilled = now;
	}

	/// Whether a token is there, without taking it.
	pub fn has_token(&mut self, rate: f64, burst: f64) -> bool {
		self.refill(rate, burst);
		self.tokens >= 1.0
	}

	/// Takes a token if there is one; says whether it did.
	pub fn take(&mut self, rate: f64, burst: f64) -> bool {
		self.refill(rate, burst);
		if self.tokens < 1.0 {
			return false;
		}
		self.tokens -= 1.0;
		true
	}

	/// Whether the bucket is full again, so forgetting it changes nothing.
	pub fn is_full(&mut self, rate: f64, burst: f64) -> bool {
		self.refill(rate, burst);
		self.tokens >= burst
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_bucket_admits_its_burst_then_refills_at_its_rate() {
		let mut bucket = TokenBucket::full(3.0);
		assert!((0..3).all(|_| bucket.take(0.0, 3.0)));
		assert!(!bucket.has_token(0.0, 3.0));
		assert!(!bucket.take(0.0, 3.0));
		std::thread::sleep(std::time::Duration::from_millis(20));
		// 1000 tokens a second: 20 ms refill it, but never past the burst.
		assert!(bucket.is_full(1000.0, 3.0));
		assert!((0..3).all(|_| bucket.take(0.0, 3.0)));
		assert!(!bucket.take(0.0, 3.0));
	}
}
