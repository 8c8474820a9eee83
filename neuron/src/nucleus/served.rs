//! The nucleus as the axon serves it: Forward runs the latest published encoder (without
//! autodiff, on the axon's blocking threads); Backward queues the caller's gradient, and the
//! trainer, at its next step, turns each into a parameter gradient, normalises it and
//! combines them weighted by the callers' stake (seed 001, equation 3:
//! Δθ = Σ_j w_j Δθ_j* / Σ_j w_j, with Δθ_j* = Δθ_j / ‖Δθ_j‖). All autodiff work stays on the
//! training thread: burn's autodiff graphs deadlock when threads build graphs over the same
//! parameters at once. Backward is rate-limited and its queue bounded: each costs a forward
//! and a backward pass of the encoder.

use std::{
	collections::VecDeque,
	sync::{Arc, Mutex, RwLock},
};

use burn::{optim::GradientsParams, prelude::*};

use bittensor_primitives::TOKEN;

use crate::{
	data::rng::Rng,
	net::{
		protocol::{REPRESENTATION_DIM, VOCAB_SIZE},
		rate::TokenBucket,
		served_model::{Caller, Model, ModelError},
	},
	nucleus::{add_scaled, gradient_norm, tokens_tensor, values, Encoder},
	sync::{lock, read, write},
};

/// What the axon answers with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Serving {
	/// The trained encoder: an honest peer.
	Encoder,
	/// Fresh Gaussian noise for every request, and gradients ignored: a deliberately useless
	/// peer, for local networks and tests.
	Random,
}

/// A caller's gradient waiting for the trainer.
struct QueuedGradient {
	tokens: Vec<i64>,
	grad: Vec<f32>,
	batch: usize,
	seq: usize,
	/// The caller's weight `w_j`: its stake in TAO, at least one.
	weight: f64,
}

struct Shared {
	/// The encoder Forward runs, without autodiff.
	published: RwLock<Option<Encoder>>,
	queue: Mutex<VecDeque<QueuedGradient>>,
	limiter: Mutex<TokenBucket>,
	backward_per_second: f64,
	/// Most gradients waiting at once.
	queue_limit: usize,
	context: usize,
	serving: Serving,
	noise: Mutex<Rng>,
}

/// The nucleus's side of the axon. Clones share the same state: give one to the axon and
/// keep one for the trainer.
#[derive(Clone)]
pub struct ServedNucleus {
	shared: Arc<Shared>,
}

/// Gradients that callers sent back since the trainer last asked.
pub struct RemoteGradients {
	/// Σ_j w_j Δθ_j* / Σ_j w_j, keyed by the encoder's parameters.
	pub grads: GradientsParams,
	/// How many Backward calls they combine.
	pub callers: usize,
}

impl ServedNucleus {
	/// Serves sequences up to `context` bytes; accepts at most `backward_per_second` Backward
	/// calls per second, and holds at most as many (at least one) until the trainer takes them.
	pub fn new(serving: Serving, context: usize, backward_per_second: f64, seed: u64) -> Self {
		Self {
			shared: Arc::new(Shared {
				published: RwLock::new(None),
				queue: Mutex::new(VecDeque::new()),
				limiter: Mutex::new(TokenBucket::full(backward_per_second.max(1.0))),
				backward_per_second,
				queue_limit: (backward_per_second.ceil() as usize).max(1),
				context,
				serving,
				noise: Mutex::new(Rng::new(seed)),
			}),
		}
	}

	/// Makes `encoder` (a copy without autodiff) the one Forward runs.
	pub fn publish(&self, encoder: &Encoder) {
		*write(&self.shared.published) = Some(encoder.valid());
	}

	/// Turns the gradients queued since the last call into one gradient of `encoder`'s
	/// parameters (the training copy, with autodiff), combined as in equation 3.
	pub fn take_remote_gradients(&self, encoder: &Encoder) -> Option<RemoteGradients> {
		let queued: Vec<QueuedGradient> = lock(&self.shared.queue).drain(..).collect();
		let device = encoder.devices().first().cloned()?;
		let mut summed = GradientsParams::new();
		let (mut total_weight, mut callers) = (0.0, 0);
		for item in queued {
			let h = encoder.forward(tokens_tensor(&item.tokens, item.batch, item.seq, &device));
			let upstream = Tensor::<3>::from_data(
				TensorData::new(item.grad, [item.batch, item.seq, REPRESENTATION_DIM]),
				&device,
			);
			let grads = GradientsParams::from_grads((h * upstream).sum().backward(), encoder);
			let norm = gradient_norm(&grads, encoder);
			if !norm.is_finite() || norm <= 0.0 {
				continue;
			}
			add_scaled(&mut summed, grads, (item.weight / norm) as f32, encoder);
			total_weight += item.weight;
			callers += 1;
		}
		if callers == 0 {
			return None;
		}
		let mut grads = GradientsParams::new();
		add_scaled(&mut grads, summed, (1.0 / total_weight) as f32, encoder);
		Some(RemoteGradients { grads, callers })
	}

	fn check(&self, tokens: &[i64], seq: usize) -> Result<(), ModelError> {
		if seq > self.shared.context {
			return Err(ModelError::InvalidInput(format!(
				"sequence of {seq} tokens, this model's context is {}",
				self.shared.context
			)));
		}
		match tokens.iter().find(|t| !(0..VOCAB_SIZE as i64).contains(*t)) {
			Some(token) => {
				Err(ModelError::InvalidInput(format!("token {token} is outside 0..{VOCAB_SIZE}")))
			},
			None => Ok(()),
		}
	}

	fn published(&self) -> Result<Encoder, ModelError> {
		read(&self.shared.published)
			.clone()
			.ok_or_else(|| ModelError::Failed("the model is not ready yet".into()))
	}

	fn admit_backward(&self) -> Result<(), ModelError> {
		let rate = self.shared.backward_per_second;
		if lock(&self.shared.limiter).take(rate, rate.max(1.0)) {
			Ok(())
		} else {
			Err(ModelError::Busy(format!("backward is limited to {rate} calls per second")))
		}
	}
}

impl Model for ServedNucleus {
	fn forward(&self, tokens: &[i64], batch: usize, seq: usize) -> Result<Vec<f32>, ModelError> {
		self.check(tokens, seq)?;
		if self.shared.serving == Serving::Random {
			let mut rng = lock(&self.shared.noise);
			// Uniform on [-√3, √3): mean 0, variance 1, like a layer-normalised representation.
			return Ok((0..batch * seq * REPRESENTATION_DIM)
				.map(|_| ((rng.unit() * 2.0 - 1.0) * 3f64.sqrt()) as f32)
				.collect());
		}
		let encoder = self.published()?;
		let device = encoder.devices().first().cloned().unwrap_or_else(Device::flex);
		Ok(values(encoder.forward(tokens_tensor(tokens, batch, seq, &device))))
	}

	fn backward(
		&self,
		caller: &Caller,
		tokens: &[i64],
		grad: &[f32],
		batch: usize,
		seq: usize,
	) -> Result<(), ModelError> {
		self.check(tokens, seq)?;
		self.admit_backward()?;
		if self.shared.serving == Serving::Random {
			return Ok(());
		}
		let weight = (caller.stake as f64 / TOKEN as f64).max(1.0);
		let mut queue = lock(&self.shared.queue);
		if queue.len() >= self.shared.queue_limit {
			return Err(ModelError::Busy(format!("{} gradients are already waiting", queue.len())));
		}
		queue.push_back(QueuedGradient {
			tokens: tokens.to_vec(),
			grad: grad.to_vec(),
			batch,
			seq,
			weight,
		});
		Ok(())
	}
}
