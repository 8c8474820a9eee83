//! Backward, when the operator opts in: callers' gradients wait here until the trainer, at its
//! next step, applies them all in one batched pass (seed 001, equation 3, each caller's gradient
//! normalised before it is weighted by stake: Δθ ∝ ∂/∂θ Σ_j w_j ⟨h_j, g_j/‖g_j‖⟩ / Σ_j w_j, the
//! result scaled to unit norm). The pass runs on the training thread, never the axon's: burn's
//! autodiff graphs deadlock when threads build graphs over the same parameters at once. Calls
//! are rate-limited, one gradient per caller waits at a time, a gradient holds at most
//! [`MAX_BACKWARD_ROWS`] rows, and a step applies at most [`BACKWARD_ROWS_PER_STEP`] rows of
//! them all (shared equally between the callers), so serving it costs a bounded share of a step.

use std::{collections::VecDeque, sync::Mutex};

use bittensor_primitives::TOKEN;
use burn::{optim::GradientsParams, prelude::*};

use crate::{
	net::{
		protocol::REPRESENTATION_DIM,
		rate::TokenBucket,
		served_model::{Caller, ModelError},
	},
	nucleus::{add_scaled, gradient_norm, tokens_tensor, Encoder},
	sync::lock,
};

/// Most rows one Backward gradient may hold.
pub const MAX_BACKWARD_ROWS: usize = 32;

/// Most rows of callers' gradients one training step applies: half the default training
/// batch, shared equally between the callers (at least one row each).
pub const BACKWARD_ROWS_PER_STEP: usize = 4;

/// Gradients that callers sent back since the trainer last asked.
pub struct RemoteGradients {
	/// The combined gradient, of unit norm, keyed by the encoder's parameters.
	pub grads: GradientsParams,
	/// How many Backward calls they combine.
	pub callers: usize,
	/// How many of their rows were applied.
	pub rows: usize,
}

/// A caller's gradient waiting for the trainer.
struct QueuedGradient {
	/// Who sent it: one gradient per caller waits at a time.
	caller: sp_core::crypto::AccountId32,
	/// The input it is the gradient of, `batch` × `seq`.
	tokens: Vec<i64>,
	/// The gradient of the answer, `batch` × `seq` × d.
	grad: Vec<f32>,
	/// Its rows.
	batch: usize,
	/// Its sequence length.
	seq: usize,
	/// The caller's weight `w_j`: its stake in TAO, at least one.
	weight: f64,
}

/// The callers' gradients waiting for the trainer, and the limits on taking them.
pub struct GradientQueue {
	/// Waiting gradients, oldest first.
	queue: Mutex<VecDeque<QueuedGradient>>,
	/// Backward calls accepted per second; `None` refuses Backward.
	per_second: Option<f64>,
	/// The rate limit on Backward calls.
	limiter: Mutex<TokenBucket>,
	/// Most gradients waiting at once.
	limit: usize,
}

impl GradientQueue {
	/// Accepts `per_second` Backward calls a second and holds as many (at least one) until the
	/// trainer takes them; `None` refuses Backward.
	pub fn new(per_second: Option<f64>) -> Self {
		let rate = per_second.unwrap_or(0.0);
		Self {
			queue: Mutex::new(VecDeque::new()),
			per_second,
			limiter: Mutex::new(TokenBucket::full(rate.max(1.0))),
			limit: (rate.ceil() as usize).max(1),
		}
	}

	/// Admits one Backward call of `batch` rows: refused when the peer takes no gradients, the
	/// gradient is too large or the rate limit is reached.
	pub fn admit(&self, batch: usize) -> Result<(), ModelError> {
		if batch > MAX_BACKWARD_ROWS {
			return Err(ModelError::InvalidInput(format!(
				"{batch} rows: a gradient holds at most {MAX_BACKWARD_ROWS}"
			)));
		}
		let Some(rate) = self.per_second else {
			return Err(ModelError::Unsupported("this peer does not take gradients".into()));
		};
		if lock(&self.limiter).take(rate, rate.max(1.0)) {
			Ok(())
		} else {
			Err(ModelError::Busy(format!("backward is limited to {rate} calls per second")))
		}
	}

	/// Queues `caller`'s gradient `grad` of the answer to `tokens`, unless one of its gradients
	/// still waits or the queue is full.
	pub fn push(
		&self,
		caller: &Caller,
		tokens: &[i64],
		grad: &[f32],
		batch: usize,
		seq: usize,
	) -> Result<(), ModelError> {
		let weight = (caller.stake as f64 / TOKEN as f64).max(1.0);
		let mut queue = lock(&self.queue);
		if queue.iter().any(|item| item.caller == caller.hotkey) {
			return Err(ModelError::Busy("your previous gradient is still waiting".into()));
		}
		if queue.len() >= self.limit {
			return Err(ModelError::Busy(format!("{} gradients are already waiting", queue.len())));
		}
		queue.push_back(QueuedGradient {
			caller: caller.hotkey.clone(),
			tokens: tokens.to_vec(),
			grad: grad.to_vec(),
			batch,
			seq,
			weight,
		});
		Ok(())
	}

	/// Turns the gradients queued since the last call into one gradient of `encoder`'s
	/// parameters (the training copy, with autodiff): one forward and one backward pass over
	/// their first rows (per sequence length; [`BACKWARD_ROWS_PER_STEP`] shared between the
	/// callers), each caller's gradient normalised and weighted by stake, the sum scaled to
	/// unit norm.
	pub fn take(&self, encoder: &Encoder) -> Option<RemoteGradients> {
		let queued: Vec<QueuedGradient> = lock(&self.queue).drain(..).collect();
		let device = encoder.devices().first().cloned()?;
		let mut lengths: Vec<usize> = queued.iter().map(|item| item.seq).collect();
		lengths.sort_unstable();
		lengths.dedup();
		let total_weight: f64 = queued.iter().map(|item| item.weight).sum();
		let rows_each = (BACKWARD_ROWS_PER_STEP / queued.len().max(1)).max(1);
		let mut summed = GradientsParams::new();
		let (mut callers, mut applied) = (0, 0);
		for seq in lengths {
			let same_length = queued.iter().filter(|item| item.seq == seq);
			let Some(batch) = Weighted::rows(same_length, seq, rows_each, total_weight) else {
				continue;
			};
			callers += batch.callers;
			applied += batch.rows;
			let grads = batch.gradient(encoder, seq, &device);
			add_scaled(&mut summed, grads, 1.0, encoder);
		}
		let norm = gradient_norm(&summed, encoder);
		if callers == 0 || !norm.is_finite() || norm <= 0.0 {
			return None;
		}
		let mut grads = GradientsParams::new();
		add_scaled(&mut grads, summed, (1.0 / norm) as f32, encoder);
		Some(RemoteGradients { grads, callers, rows: applied })
	}
}

/// The rows of one sequence length that a step applies: each caller's first rows, its
/// gradient normalised and weighted.
struct Weighted {
	/// Their inputs, `rows` × `seq`.
	tokens: Vec<i64>,
	/// Their scaled gradients, `rows` × `seq` × d.
	upstream: Vec<f32>,
	/// Rows taken.
	rows: usize,
	/// Callers whose gradient counts (a zero or non-finite one does not).
	callers: usize,
}

impl Weighted {
	/// At most `rows_each` rows of each of `queued` (all of length `seq`), each gradient scaled
	/// by its caller's share of `total_weight` over its norm; `None` if no gradient counts.
	fn rows<'a>(
		queued: impl Iterator<Item = &'a QueuedGradient>,
		seq: usize,
		rows_each: usize,
		total_weight: f64,
	) -> Option<Self> {
		let mut weighted = Self { tokens: Vec::new(), upstream: Vec::new(), rows: 0, callers: 0 };
		for item in queued {
			let taken = item.batch.min(rows_each);
			let grad = item.grad.get(..taken * seq * REPRESENTATION_DIM).unwrap_or(&[]);
			let norm = grad.iter().map(|g| f64::from(g * g)).sum::<f64>().sqrt();
			if !norm.is_finite() || norm <= 0.0 {
				continue;
			}
			let scale = (item.weight / total_weight / norm) as f32;
			weighted.tokens.extend_from_slice(item.tokens.get(..taken * seq).unwrap_or(&[]));
			weighted.upstream.extend(grad.iter().map(|g| g * scale));
			weighted.rows += taken;
			weighted.callers += 1;
		}
		(weighted.rows > 0).then_some(weighted)
	}

	/// The gradient of Σ ⟨h, upstream⟩ with respect to `encoder`'s parameters.
	fn gradient(self, encoder: &Encoder, seq: usize, device: &Device) -> GradientsParams {
		let h = encoder.forward(tokens_tensor(&self.tokens, self.rows, seq, device));
		let upstream = Tensor::<3>::from_data(
			TensorData::new(self.upstream, [self.rows, seq, REPRESENTATION_DIM]),
			device,
		);
		GradientsParams::from_grads((h * upstream).sum().backward(), encoder)
	}
}
