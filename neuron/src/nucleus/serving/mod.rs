//! The nucleus as the axon serves it. The axon's threads and the trainer share one served
//! nucleus, in three parts kept apart because they change for different reasons: the honest
//! model (the encoder the trainer last published, which Forward runs), the queue of callers'
//! Backward gradients (applied by the trainer, never on the axon's threads) and, in a test mode,
//! the adversary played in its place. The modes themselves are one table, [`MODES`].

use std::sync::Arc;

use crate::{
	net::served_model::{Caller, Model, ModelError},
	nucleus::Encoder,
};

mod adversary;
mod backward;
mod echo;
mod honest;
pub mod lookup;
mod mode;

use adversary::Adversary;
pub use adversary::POISON_VALUE;
use backward::GradientQueue;
pub use backward::{RemoteGradients, BACKWARD_ROWS_PER_STEP, MAX_BACKWARD_ROWS};
use honest::PublishedEncoder;
pub use mode::{looks_like_training, Disguise, Mode, Serving, MODES};

/// What every clone of a [`ServedNucleus`] shares.
struct ServedParts {
	/// The honest model: the published encoder, and the checks on every request.
	model: PublishedEncoder,
	/// Callers' gradients waiting for the trainer.
	gradients: GradientQueue,
	/// The adversary played instead of the model; `None` for an honest peer.
	adversary: Option<Adversary>,
}

/// The nucleus's side of the axon. Clones share the same state: give one to the axon and
/// keep one for the trainer.
#[derive(Clone)]
pub struct ServedNucleus {
	/// The shared state.
	parts: Arc<ServedParts>,
}

impl ServedNucleus {
	/// Serves sequences up to `context` bytes as `serving` says, an adversary's randomness drawn
	/// from `seed`. With `backward_per_second`, accepts that many Backward calls per second and
	/// holds as many (at least one) until the trainer takes them; without, refuses Backward.
	pub fn new(
		serving: Serving,
		context: usize,
		backward_per_second: Option<f64>,
		seed: u64,
	) -> Self {
		Self {
			parts: Arc::new(ServedParts {
				model: PublishedEncoder::new(context),
				gradients: GradientQueue::new(backward_per_second),
				adversary: Adversary::new(serving, seed),
			}),
		}
	}

	/// Makes `encoder` (a copy without autodiff) the one Forward runs.
	pub fn publish(&self, encoder: &Encoder) {
		self.parts.model.publish(encoder);
	}

	/// Sets the peer an echo copies (the other modes copy nobody).
	pub fn set_upstream(&self, upstream: Arc<dyn Model>) {
		if let Some(adversary) = &self.parts.adversary {
			adversary.set_upstream(upstream);
		}
	}

	/// Gives a memorizer or a baseline the text it looks rows up in; the other modes read
	/// nothing.
	pub fn set_lookup_text(&self, text: Vec<u8>) {
		if let Some(adversary) = &self.parts.adversary {
			adversary.set_lookup_text(text);
		}
	}

	/// The gradients queued since the last call, as one gradient of `encoder`'s parameters (the
	/// training copy, with autodiff), of unit norm: each caller's normalised and weighted by
	/// stake, at most [`BACKWARD_ROWS_PER_STEP`] rows of them all.
	pub fn take_remote_gradients(&self, encoder: &Encoder) -> Option<RemoteGradients> {
		self.parts.gradients.take(encoder)
	}
}

impl Model for ServedNucleus {
	fn forward(&self, tokens: &[i64], batch: usize, seq: usize) -> Result<Vec<f32>, ModelError> {
		let ServedParts { model, adversary, .. } = &*self.parts;
		model.check(tokens, seq)?;
		match adversary {
			None => model.encode(tokens, batch, seq),
			Some(adversary) => adversary.answer(model, tokens, batch, seq),
		}
	}

	/// Queues an honest peer's gradient; an adversary admits it as an honest peer would, then
	/// drops it.
	fn backward(
		&self,
		caller: &Caller,
		tokens: &[i64],
		grad: &[f32],
		batch: usize,
		seq: usize,
	) -> Result<(), ModelError> {
		let ServedParts { model, gradients, adversary } = &*self.parts;
		model.check(tokens, seq)?;
		gradients.admit(batch)?;
		match adversary {
			None => gradients.push(caller, tokens, grad, batch, seq),
			Some(_) => Ok(()),
		}
	}
}
