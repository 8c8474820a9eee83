//! CPU time, for an account of what each neuron spends: the process's CPU clock, since the
//! tensor library computes on a pool of threads (a thread's own clock would miss their work).
//! The benchmark runs one neuron's work at a time, so the clock's advance over a piece of work
//! is that work's CPU time.

use serde::Serialize;

/// Seconds of CPU the process has used, on every thread.
pub fn process_seconds() -> f64 {
	let mut time = libc::timespec { tv_sec: 0, tv_nsec: 0 };
	// SAFETY: `time` is a valid timespec for the call to write; the clock id is a constant the
	// platform defines.
	let status = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut time) };
	if status != 0 {
		return 0.0;
	}
	time.tv_sec as f64 + time.tv_nsec as f64 * 1e-9
}

/// The CPU seconds of `work`, with its result.
pub fn timed<T>(work: impl FnOnce() -> T) -> (T, f64) {
	let start = process_seconds();
	let result = work();
	(result, (process_seconds() - start).max(0.0))
}

/// A neuron's CPU seconds by what it spent them on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct CpuSplit {
	/// Its own training steps (lessons included).
	pub training: f64,
	/// Answering other neurons' queries.
	pub serving: f64,
	/// Its own predictions of its batches, and joining them with the peers' answers.
	pub joining: f64,
}

impl CpuSplit {
	/// All of it.
	pub fn total(&self) -> f64 {
		self.training + self.serving + self.joining
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn work_takes_cpu_time_and_waiting_does_not() {
		let ((), busy) = timed(|| {
			let mut x = 0u64;
			for i in 0..20_000_000u64 {
				x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
			}
		});
		let ((), idle) = timed(|| std::thread::sleep(std::time::Duration::from_millis(50)));
		assert!(busy > 0.0, "{busy}");
		assert!(idle < 0.02, "sleeping used {idle} s of CPU");
	}
}
