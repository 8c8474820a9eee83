//! What each adversary answers with, and the state it keeps to do so: each is a strategy a real
//! peer could try, and the scoring must pay it nothing (or no more than the peer it copies).
//! They exist for test networks and the market benchmark; an honest peer has none.

use std::sync::{Arc, Mutex, RwLock};

use super::{
	honest::PublishedEncoder,
	mode::{Disguise, Serving},
};
use crate::{
	data::rng::Rng,
	net::{
		protocol::REPRESENTATION_DIM,
		served_model::{EmbeddingModel, Model, ModelError},
	},
	sync::{lock, read, write},
};

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
}

/// A copier's state.
pub struct Echo {
	/// How it disguises what it copies.
	disguise: Disguise,
	/// The peer it copies, once the runner knows where it is.
	upstream: RwLock<Option<Arc<dyn Model>>>,
	/// A noisy echo's noise.
	rng: Mutex<Rng>,
	/// A rotating echo's rotation, [d][d], drawn on first use.
	rotation: Mutex<Option<Vec<f32>>>,
	/// The seed of the rotation.
	seed: u64,
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
			Serving::Echo { disguise, .. } => Self::Echo(Echo {
				disguise,
				upstream: RwLock::new(None),
				rng: Mutex::new(Rng::new(seed)),
				rotation: Mutex::new(None),
				seed,
			}),
			Serving::Replay => Self::Replay(Mutex::new(None)),
		})
	}

	/// Sets the peer an echo copies; the other adversaries copy nobody.
	pub fn set_upstream(&self, upstream: Arc<dyn Model>) {
		if let Self::Echo(echo) = self {
			*write(&echo.upstream) = Some(upstream);
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
		match self {
			Self::Noise(rng) => {
				let mut rng = lock(rng);
				Ok((0..size).map(|_| gaussian(&mut rng) as f32).collect())
			},
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
		}
	}
}

impl Echo {
	/// The upstream peer's answer, disguised.
	fn answer(&self, tokens: &[i64], batch: usize, seq: usize) -> Result<Vec<f32>, ModelError> {
		let upstream = read(&self.upstream)
			.clone()
			.ok_or_else(|| ModelError::Failed("the copied peer is not reachable yet".into()))?;
		let mut answer = upstream.forward(tokens, batch, seq)?;
		match self.disguise {
			Disguise::Exact => {},
			Disguise::Noisy => {
				let mut rng = lock(&self.rng);
				answer.iter_mut().for_each(|v| *v += 0.1 * gaussian(&mut rng) as f32);
			},
			Disguise::Rotated => {
				let d = REPRESENTATION_DIM;
				let mut rotation = lock(&self.rotation);
				let rotation =
					rotation.get_or_insert_with(|| random_rotation(d, &mut Rng::new(self.seed)));
				answer = answer
					.chunks_exact(d)
					.flat_map(|row| {
						rotation
							.chunks_exact(d)
							.map(move |axis| axis.iter().zip(row).map(|(a, x)| a * x).sum::<f32>())
					})
					.collect();
			},
		}
		Ok(answer)
	}
}

/// A standard normal draw (Box–Muller).
fn gaussian(rng: &mut Rng) -> f64 {
	let u = rng.unit().max(f64::MIN_POSITIVE);
	(-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * rng.unit()).cos()
}

/// A random `d` × `d` rotation (Gram–Schmidt on Gaussian rows), row-major.
fn random_rotation(d: usize, rng: &mut Rng) -> Vec<f32> {
	let mut basis: Vec<Vec<f64>> = Vec::with_capacity(d);
	while basis.len() < d {
		let mut v: Vec<f64> = (0..d).map(|_| gaussian(rng)).collect();
		for b in &basis {
			let dot: f64 = v.iter().zip(b).map(|(x, y)| x * y).sum();
			v.iter_mut().zip(b).for_each(|(x, y)| *x -= dot * y);
		}
		let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
		if norm > 1e-6 {
			basis.push(v.into_iter().map(|x| x / norm).collect());
		}
	}
	basis.into_iter().flatten().map(|x| x as f32).collect()
}
