//! The nucleus as the axon serves it: Forward runs the latest published encoder; Backward
//! turns a caller's gradient into a parameter gradient, normalises it and adds it, weighted
//! by the caller's stake, to the gradients the trainer applies at its next step (seed 001,
//! equation 3: Δθ = Σ_j w_j Δθ_j* / Σ_j w_j, with Δθ_j* = Δθ_j / ‖Δθ_j‖). Backward is
//! rate-limited: it costs a forward and a backward pass of the encoder.

use std::{
	sync::{Arc, Mutex, RwLock},
	time::Instant,
};

use burn::{optim::GradientsParams, prelude::*};

use crate::{
	corpus::Rng,
	model::{Caller, Model, ModelError},
	nucleus::{add_scaled, gradient_norm, tokens_tensor, values, Encoder},
	protocol::{REPRESENTATION_DIM, VOCAB_SIZE},
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

/// Gradients from callers waiting for the trainer.
struct Pending {
	grads: GradientsParams,
	weight: f64,
	callers: usize,
}

/// The published encoder: one copy with autodiff (for Backward) and one without (Forward).
#[derive(Clone)]
struct Published {
	trainable: Encoder,
	inference: Encoder,
}

struct Shared {
	published: RwLock<Option<Published>>,
	pending: Mutex<Pending>,
	limiter: Mutex<(f64, Instant)>,
	backward_per_second: f64,
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
	/// calls per second (bursts of as many).
	pub fn new(serving: Serving, context: usize, backward_per_second: f64, seed: u64) -> Self {
		Self {
			shared: Arc::new(Shared {
				published: RwLock::new(None),
				pending: Mutex::new(Pending { grads: GradientsParams::new(), weight: 0.0, callers: 0 }),
				limiter: Mutex::new((backward_per_second, Instant::now())),
				backward_per_second,
				context,
				serving,
				noise: Mutex::new(Rng::new(seed)),
			}),
		}
	}

	/// Makes `encoder` (with autodiff) the one Forward and Backward use.
	pub fn publish(&self, encoder: &Encoder) {
		let published = Published { trainable: encoder.clone(), inference: encoder.valid() };
		*self.shared.published.write().unwrap_or_else(|p| p.into_inner()) = Some(published);
	}

	/// Takes the combined gradients that callers sent since the last call, if any.
	pub fn take_remote_gradients(&self) -> Option<RemoteGradients> {
		let published = self.shared.published.read().unwrap_or_else(|p| p.into_inner()).clone()?;
		let mut pending = self.shared.pending.lock().unwrap_or_else(|p| p.into_inner());
		if pending.callers == 0 || pending.weight <= 0.0 {
			return None;
		}
		let summed = std::mem::replace(&mut pending.grads, GradientsParams::new());
		let mut grads = GradientsParams::new();
		add_scaled(&mut grads, summed, (1.0 / pending.weight) as f32, &published.trainable);
		let callers = pending.callers;
		pending.weight = 0.0;
		pending.callers = 0;
		Some(RemoteGradients { grads, callers })
	}

	fn check(&self, tokens: &[i64], seq: usize) -> Result<(), ModelError> {
		if seq > self.shared.context {
			return Err(ModelError::InvalidInput(format!("sequence of {seq} tokens, this model's context is {}", self.shared.context)));
		}
		match tokens.iter().find(|t| !(0..VOCAB_SIZE as i64).contains(*t)) {
			Some(token) => Err(ModelError::InvalidInput(format!("token {token} is outside 0..{VOCAB_SIZE}"))),
			None => Ok(()),
		}
	}

	fn published(&self) -> Result<Published, ModelError> {
		self.shared
			.published
			.read()
			.unwrap_or_else(|p| p.into_inner())
			.clone()
			.ok_or_else(|| ModelError::Failed("the model is not ready yet".into()))
	}

	fn admit_backward(&self) -> Result<(), ModelError> {
		let rate = self.shared.backward_per_second;
		let mut limiter = self.shared.limiter.lock().unwrap_or_else(|p| p.into_inner());
		let (tokens, refilled) = &mut *limiter;
		*tokens = (*tokens + refilled.elapsed().as_secs_f64() * rate).min(rate.max(1.0));
		*refilled = Instant::now();
		if *tokens < 1.0 {
			return Err(ModelError::Busy(format!("backward is limited to {rate} calls per second")));
		}
		*tokens -= 1.0;
		Ok(())
	}
}

impl Model for ServedNucleus {
	fn forward(&self, tokens: &[i64], batch: usize, seq: usize) -> Result<Vec<f32>, ModelError> {
		self.check(tokens, seq)?;
		if self.shared.serving == Serving::Random {
			let mut rng = self.shared.noise.lock().unwrap_or_else(|p| p.into_inner());
			// Uniform on [-√3, √3): mean 0, variance 1, like a layer-normalised representation.
			return Ok((0..batch * seq * REPRESENTATION_DIM).map(|_| ((rng.unit() * 2.0 - 1.0) * 3f64.sqrt()) as f32).collect());
		}
		let published = self.published()?;
		let device = published.inference.devices().first().cloned().unwrap_or_else(Device::flex);
		Ok(values(published.inference.forward(tokens_tensor(tokens, batch, seq, &device))))
	}

	fn backward(&self, caller: &Caller, tokens: &[i64], grad: &[f32], batch: usize, seq: usize) -> Result<(), ModelError> {
		self.check(tokens, seq)?;
		self.admit_backward()?;
		if self.shared.serving == Serving::Random {
			return Ok(());
		}
		let published = self.published()?;
		let encoder = published.trainable;
		let device = encoder.devices().first().cloned().unwrap_or_else(|| Device::flex().autodiff());
		let h = encoder.forward(tokens_tensor(tokens, batch, seq, &device));
		let upstream = Tensor::<3>::from_data(TensorData::new(grad.to_vec(), [batch, seq, REPRESENTATION_DIM]), &device);
		let grads = GradientsParams::from_grads((h * upstream).sum().backward(), &encoder);
		let norm = gradient_norm(&grads, &encoder);
		if !norm.is_finite() || norm <= 0.0 {
			return Ok(());
		}
		// The caller's weight: its stake in TAO, at least one.
		let weight = (caller.stake as f64 / 1e9).max(1.0);
		let mut pending = self.shared.pending.lock().unwrap_or_else(|p| p.into_inner());
		add_scaled(&mut pending.grads, grads, (weight / norm) as f32, &encoder);
		pending.weight += weight;
		pending.callers += 1;
		Ok(())
	}
}
