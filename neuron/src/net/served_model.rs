//! What an axon serves: a model that maps token ids to representations and takes gradients
//! back. The axon runs it on blocking threads, off the async runtime. The learning nucleus
//! implements [`Model`]; [`EmbeddingModel`] is a fixed, deterministic one for serving and
//! testing the network layer.

use sp_core::crypto::AccountId32;

use crate::{
	data::rng::Rng,
	net::protocol::{REPRESENTATION_DIM, VOCAB_SIZE},
};

/// Who sent a request, as the axon knows them from the metagraph.
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
	/// The caller's hotkey.
	pub hotkey: AccountId32,
	/// Its stake, in rao.
	pub stake: u64,
}

/// Why a model refused or failed a request.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
	/// The input is well formed but not something this model accepts (a token id outside its
	/// vocabulary, say).
	#[error("invalid input: {0}")]
	InvalidInput(String),
	/// The model failed.
	#[error("model failure: {0}")]
	Failed(String),
	/// The model is rate-limiting this kind of request; the caller may retry later.
	#[error("busy: {0}")]
	Busy(String),
	/// The model does not serve this kind of request at all (Backward, unless its operator
	/// opted in).
	#[error("unsupported: {0}")]
	Unsupported(String),
}

/// A model served by an axon. Both calls run on a blocking thread.
pub trait Model: Send + Sync + 'static {
	/// The representation of `tokens` ([batch, seq], row-major), as [batch, seq,
	/// `REPRESENTATION_DIM`] float32 values.
	fn forward(&self, tokens: &[i64], batch: usize, seq: usize) -> Result<Vec<f32>, ModelError>;

	/// Applies `grad`, the caller's gradient with respect to the representation of `tokens`.
	/// A model that does not learn from its callers accepts and ignores it.
	fn backward(
		&self,
		_caller: &Caller,
		_tokens: &[i64],
		_grad: &[f32],
		_batch: usize,
		_seq: usize,
	) -> Result<(), ModelError> {
		Ok(())
	}
}

/// A fixed embedding table, [`VOCAB_SIZE`] × [`REPRESENTATION_DIM`], filled from a seed: the
/// representation of a token is its row. It ignores gradients.
pub struct EmbeddingModel {
	table: Vec<f32>,
}

impl EmbeddingModel {
	/// The table for `seed`, with entries uniform in [-1, 1).
	pub fn new(seed: u64) -> Self {
		let mut rng = Rng::new(seed);
		let table = (0..VOCAB_SIZE * REPRESENTATION_DIM)
			.map(|_| (rng.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0)
			.collect();
		Self { table }
	}

	fn row(&self, token: i64) -> Result<&[f32], ModelError> {
		usize::try_from(token)
			.ok()
			.filter(|token| *token < VOCAB_SIZE)
			.and_then(|token| {
				self.table.get(token * REPRESENTATION_DIM..(token + 1) * REPRESENTATION_DIM)
			})
			.ok_or_else(|| {
				ModelError::InvalidInput(format!("token {token} is outside 0..{VOCAB_SIZE}"))
			})
	}
}

impl Model for EmbeddingModel {
	fn forward(&self, tokens: &[i64], _batch: usize, _seq: usize) -> Result<Vec<f32>, ModelError> {
		let mut out = Vec::with_capacity(tokens.len() * REPRESENTATION_DIM);
		for token in tokens {
			out.extend_from_slice(self.row(*token)?);
		}
		Ok(out)
	}

	fn backward(
		&self,
		_: &Caller,
		tokens: &[i64],
		_: &[f32],
		_: usize,
		_: usize,
	) -> Result<(), ModelError> {
		tokens.iter().try_for_each(|token| self.row(*token).map(|_| ()))
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn embeddings_are_deterministic_bounded_and_per_token() {
		let model = EmbeddingModel::new(1);
		let out = model.forward(&[3, 3, 4], 1, 3).unwrap();
		assert_eq!(out.len(), 3 * REPRESENTATION_DIM);
		assert_eq!(out[..REPRESENTATION_DIM], out[REPRESENTATION_DIM..2 * REPRESENTATION_DIM]);
		assert_ne!(out[..REPRESENTATION_DIM], out[2 * REPRESENTATION_DIM..]);
		assert!(out.iter().all(|v| (-1.0..1.0).contains(v)));
		assert_eq!(out, EmbeddingModel::new(1).forward(&[3, 3, 4], 1, 3).unwrap());
		assert_ne!(out, EmbeddingModel::new(2).forward(&[3, 3, 4], 1, 3).unwrap());
	}

	#[test]
	fn tokens_outside_the_vocabulary_are_invalid_input() {
		let model = EmbeddingModel::new(1);
		assert!(matches!(model.forward(&[256], 1, 1), Err(ModelError::InvalidInput(_))));
		assert!(matches!(model.forward(&[-1], 1, 1), Err(ModelError::InvalidInput(_))));
	}
}
