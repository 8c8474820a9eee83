//! The honest side of serving: the latest encoder the trainer published, which Forward runs
//! without autodiff (on the axon's blocking threads), and the checks every request passes
//! before any mode answers it.

use std::sync::RwLock;

use burn::prelude::*;

use crate::{
	net::{protocol::VOCAB_SIZE, served_model::ModelError},
	nucleus::{tokens_tensor, values, Encoder},
	sync::{read, write},
};

/// The encoder Forward runs, as the trainer last published it.
pub struct PublishedEncoder {
	/// The encoder, without autodiff; `None` until the first publication.
	encoder: RwLock<Option<Encoder>>,
	/// Longest sequence it accepts.
	context: usize,
}

impl PublishedEncoder {
	/// Nothing published yet; sequences up to `context` tokens.
	pub fn new(context: usize) -> Self {
		Self { encoder: RwLock::new(None), context }
	}

	/// Makes `encoder` (a copy without autodiff) the one Forward runs.
	pub fn publish(&self, encoder: &Encoder) {
		*write(&self.encoder) = Some(encoder.valid());
	}

	/// Refuses a sequence longer than the context, or a token outside the vocabulary.
	pub fn check(&self, tokens: &[i64], seq: usize) -> Result<(), ModelError> {
		if seq > self.context {
			return Err(ModelError::InvalidInput(format!(
				"sequence of {seq} tokens, this model's context is {}",
				self.context
			)));
		}
		match tokens.iter().find(|t| !(0..VOCAB_SIZE as i64).contains(*t)) {
			Some(token) => {
				Err(ModelError::InvalidInput(format!("token {token} is outside 0..{VOCAB_SIZE}")))
			},
			None => Ok(()),
		}
	}

	/// The published encoder's answer.
	pub fn encode(&self, tokens: &[i64], batch: usize, seq: usize) -> Result<Vec<f32>, ModelError> {
		let encoder = read(&self.encoder)
			.clone()
			.ok_or_else(|| ModelError::Failed("the model is not ready yet".into()))?;
		let device = encoder.devices().first().cloned().unwrap_or_else(Device::flex);
		Ok(values(encoder.forward(tokens_tensor(tokens, batch, seq, &device))))
	}
}
