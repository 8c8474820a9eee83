//! What each adversary answers with, and the state it keeps to do so: each is a strategy a real
//! peer could try, and the scoring must pay it nothing (or no more than the peer it copies).
//! They exist for test networks and the market benchmark; an honest peer has none.

use std::sync::{Arc, Mutex, RwLock};

use super::{
	echo::{gaussian, Echo},
	honest::PublishedEncoder,
	lookup::LongestMatch,
	mode::{looks_like_training, Disguise, Serving},
};
use crate::{
	data::rng::Rng,
	net::{
		protocol::REPRESENTATION_DIM,
		served_model::{EmbeddingModel, Model, ModelError},
	},
	sync::{lock, read, write},
};

/// What a poisoner answers training batches with: finite, near the largest `f32`.
pub const POISON_VALUE: f32 = 3e38;

/// An adversary's state, one variant per adversarial [`Serving`].
pub enum Adversary {
	/// Draws fresh noise from its generator.
	Noise(Mutex<Rng>),
	/// Answers zeros.
	Zero,
	/// Answers the codes of the next bytes, one code per byte.
	Leak(EmbeddingModel),
	/// Copies a peer.
	Echo(Echo),
	/// Answers its stock: the model's answer to an earlier request of the same size.
	Replay(Mutex<Option<Vec<f32>>>),
	/// Looks the rows up in a text (the memorizer's every readable file, the baseline's
	/// training text), once it is given one.
	Lookup(RwLock<Option<LongestMatch>>),
	/// Poisons training batches, answers noise to the rest.
	Poison(Mutex<Rng>),
	/// Copies a peer for what it takes for validation, noise to training batches.
	ValOnly {
		/// The copier of what it takes for validation.
		echo: Echo,
		/// The noise for training batches.
		rng: Mutex<Rng>,
	},
}

impl Adversary {
	/// The adversary `serving` plays, its randomness drawn from `seed`; `None` for the honest
	/// model.
	pub fn new(serving: Serving, seed: u64) -> Option<Self> {
		Some(match serving {
			Serving::Model => return None,
			Serving::Noise => Self::Noise(Mutex::new(Rng::new(seed))),
			Serving::Zero => Self::Zero,
			Serving::Leak => Self::Leak(EmbeddingModel::new(seed ^ 0x1ea4)),
			Serving::Echo { disguise, .. } => Self::Echo(Echo::new(disguise, seed)),
			Serving::Replay => Self::Replay(Mutex::new(None)),
			Serving::Memorizer | Serving::Baseline => Self::Lookup(RwLock::new(None)),
			Serving::Poison => Self::Poison(Mutex::new(Rng::new(seed))),
			Serving::ValOnly { .. } => Self::ValOnly {
				echo: Echo::new(Disguise::Exact, seed),
				rng: Mutex::new(Rng::new(seed)),
			},
		})
	}

	/// Sets the peer an echo or a valonly copies; the other adversaries copy nobody.
	pub fn set_upstream(&self, upstream: Arc<dyn Model>) {
		if let Self::Echo(echo) | Self::ValOnly { echo, .. } = self {
			echo.set_upstream(upstream);
		}
	}

	/// Gives a memorizer or a baseline the text it looks rows up in (indexing it takes about a
	/// second per megabyte); the other adversaries read nothing.
	pub fn set_lookup_text(&self, text: Vec<u8>) {
		if let Self::Lookup(lookup) = self {
			*write(lookup) = Some(LongestMatch::new(text));
		}
	}

	/// The answer to `tokens` (`batch` × `seq`, already checked); a replayer's stock comes
	/// from `model`.
	pub fn answer(
		&self,
		model: &PublishedEncoder,
		tokens: &[i64],
		batch: usize,
		seq: usize,
	) -> Result<Vec<f32>, ModelError> {
		let size = batch * seq * REPRESENTATION_DIM;
		let noise = |rng: &Mutex<Rng>| {
			let mut rng = lock(rng);
			(0..size).map(|_| gaussian(&mut rng) as f32).collect::<Vec<f32>>()
		};
		match self {
			Self::Noise(rng) => Ok(noise(rng)),
			Self::Zero => Ok(vec![0.0; size]),
			Self::Leak(codes) => {
				// Each row shifted by one: position t carries the code of byte t + 1.
				let shifted: Vec<i64> = tokens
					.chunks(seq.max(1))
					.flat_map(|row| row.iter().skip(1).chain(row.last()).copied())
					.collect();
				codes.forward(&shifted, batch, seq)
			},
			Self::Echo(echo) => echo.answer(tokens, batch, seq),
			Self::Replay(stock) => {
				let mut stock = lock(stock);
				match stock.as_ref().filter(|answer| answer.len() == size) {
					Some(answer) => Ok(answer.clone()),
					None => {
						let answer = model.encode(tokens, batch, seq)?;
						*stock = Some(answer.clone());
						Ok(answer)
					},
				}
			},
			Self::Lookup(lookup) => read(lookup)
				.as_ref()
				.map(|lookup| lookup.answer(tokens, seq))
				.ok_or_else(|| ModelError::Failed("the text to look up is not loaded yet".into())),
			Self::Poison(rng) if looks_like_training(batch, seq) => {
				let mut rng = lock(rng);
				Ok((0..size)
					.map(|_| if rng.below(2) == 0 { POISON_VALUE } else { -POISON_VALUE })
					.collect())
			},
			Self::Poison(rng) => Ok(noise(rng)),
			Self::ValOnly { rng, .. } if looks_like_training(batch, seq) => Ok(noise(rng)),
			Self::ValOnly { echo, .. } => echo.copy(tokens, batch, seq),
		}
	}
}
