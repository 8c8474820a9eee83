//! Copiers: the answer of the peer copied, asked the same question, and the disguise that
//! hides it (none, noise, a rotation, an invertible linear map, a fresh permutation per
//! query). Each disguise is one a real copier could try against copy detection.

use std::sync::{Arc, Mutex, RwLock};

use super::mode::Disguise;
use crate::{
	data::rng::Rng,
	net::{
		protocol::REPRESENTATION_DIM,
		served_model::{Model, ModelError},
	},
	sync::{lock, read, write},
};

/// A copier's state.
pub struct Echo {
	/// How it disguises what it copies.
	disguise: Disguise,
	/// The peer it copies, once the runner knows where it is.
	upstream: RwLock<Option<Arc<dyn Model>>>,
	/// Noise and the per-query permutations.
	rng: Mutex<Rng>,
	/// A fixed map's matrix, [d][d] row-major, drawn on first use from `seed`.
	map: Mutex<Option<Vec<f32>>>,
	/// The seed of the fixed map.
	seed: u64,
}

impl Echo {
	/// A copier disguised by `disguise`, its randomness drawn from `seed`.
	pub fn new(disguise: Disguise, seed: u64) -> Self {
		Self {
			disguise,
			upstream: RwLock::new(None),
			rng: Mutex::new(Rng::new(seed)),
			map: Mutex::new(None),
			seed,
		}
	}

	/// Sets the peer it copies.
	pub fn set_upstream(&self, upstream: Arc<dyn Model>) {
		*write(&self.upstream) = Some(upstream);
	}

	/// The upstream peer's answer as it came.
	pub fn copy(&self, tokens: &[i64], batch: usize, seq: usize) -> Result<Vec<f32>, ModelError> {
		let upstream = read(&self.upstream)
			.clone()
			.ok_or_else(|| ModelError::Failed("the copied peer is not reachable yet".into()))?;
		upstream.forward(tokens, batch, seq)
	}

	/// The upstream peer's answer, disguised.
	pub fn answer(&self, tokens: &[i64], batch: usize, seq: usize) -> Result<Vec<f32>, ModelError> {
		let answer = self.copy(tokens, batch, seq)?;
		let d = REPRESENTATION_DIM;
		Ok(match self.disguise {
			Disguise::Exact => answer,
			Disguise::Noisy => {
				let mut rng = lock(&self.rng);
				answer.into_iter().map(|v| v + 0.1 * gaussian(&mut rng) as f32).collect()
			},
			Disguise::Rotated | Disguise::Linear => {
				let mut map = lock(&self.map);
				let map = map.get_or_insert_with(|| {
					let mut rng = Rng::new(self.seed);
					match self.disguise {
						Disguise::Linear => random_linear_map(d, &mut rng),
						_ => random_rotation(d, &mut rng),
					}
				});
				apply(map, &answer, d)
			},
			Disguise::Permuted => {
				let mut rng = lock(&self.rng);
				let mut order: Vec<usize> = (0..d).collect();
				for i in (1..d).rev() {
					order.swap(i, rng.below(i + 1));
				}
				let signs: Vec<f32> =
					(0..d).map(|_| if rng.below(2) == 0 { -1.0 } else { 1.0 }).collect();
				answer
					.chunks_exact(d)
					.flat_map(|row| {
						order
							.iter()
							.zip(&signs)
							.map(|(from, sign)| sign * row[*from])
							.collect::<Vec<_>>()
					})
					.collect()
			},
		})
	}
}

/// `map` ([d][d]) applied to every `d`-vector of `answer`.
fn apply(map: &[f32], answer: &[f32], d: usize) -> Vec<f32> {
	answer
		.chunks_exact(d)
		.flat_map(|row| {
			map.chunks_exact(d)
				.map(move |axis| axis.iter().zip(row).map(|(a, x)| a * x).sum::<f32>())
		})
		.collect()
}

/// A standard normal draw (Box–Muller).
pub fn gaussian(rng: &mut Rng) -> f64 {
	let u = rng.unit().max(f64::MIN_POSITIVE);
	(-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * rng.unit()).cos()
}

/// A random `d` × `d` rotation (Gram–Schmidt on Gaussian rows), row-major.
fn random_rotation(d: usize, rng: &mut Rng) -> Vec<f32> {
	orthonormal_rows(d, rng).into_iter().flatten().map(|x| x as f32).collect()
}

/// `d` orthonormal rows, by Gram–Schmidt on Gaussian ones.
fn orthonormal_rows(d: usize, rng: &mut Rng) -> Vec<Vec<f64>> {
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
	basis
}

/// A random invertible `d` × `d` map `U · diag(s) · V` (`U`, `V` rotations), its singular
/// values `s` spread log-uniformly from 0.1 to 10: far from a rotation or a scaling, which is
/// all linear CKA sees through.
fn random_linear_map(d: usize, rng: &mut Rng) -> Vec<f32> {
	let (u, v) = (orthonormal_rows(d, rng), orthonormal_rows(d, rng));
	let spread = |k: usize| 10f64.powf(-1.0 + 2.0 * k as f64 / (d.max(2) - 1) as f64);
	let mut map = vec![0.0f32; d * d];
	for (row, cell_row) in map.chunks_exact_mut(d).enumerate() {
		for (column, cell) in cell_row.iter_mut().enumerate() {
			let value: f64 = (0..d).map(|k| u[k][row] * spread(k) * v[k][column]).sum();
			*cell = value as f32;
		}
	}
	map
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::net::served_model::EmbeddingModel;

	fn echo(disguise: Disguise) -> Echo {
		let echo = Echo::new(disguise, 3);
		echo.set_upstream(Arc::new(EmbeddingModel::new(1)));
		echo
	}

	#[test]
	fn each_disguise_keeps_the_information_or_destroys_it_as_it_says() {
		let tokens: Vec<i64> = (0..16).collect();
		let original = EmbeddingModel::new(1).forward(&tokens, 2, 8).expect("an answer");
		let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
		let exact = echo(Disguise::Exact).answer(&tokens, 2, 8).expect("a copy");
		assert_eq!(exact, original);
		// A rotation keeps every vector's length, the linear map does not.
		let d = REPRESENTATION_DIM;
		let rotated = echo(Disguise::Rotated).answer(&tokens, 2, 8).expect("a copy");
		let linear = echo(Disguise::Linear).answer(&tokens, 2, 8).expect("a copy");
		for ((o, r), l) in original.chunks(d).zip(rotated.chunks(d)).zip(linear.chunks(d)) {
			assert!((norm(o) - norm(r)).abs() < 1e-3 * norm(o));
			assert!((norm(o) - norm(l)).abs() > 1e-2 * norm(o));
		}
		// The same map every query; a fresh permutation every query.
		let linear_echo = echo(Disguise::Linear);
		let first = linear_echo.answer(&tokens, 2, 8).expect("a copy");
		assert_eq!(linear_echo.answer(&tokens, 2, 8).expect("a copy"), first);
		let griefer = echo(Disguise::Permuted);
		let (one, two) = (griefer.answer(&tokens, 2, 8), griefer.answer(&tokens, 2, 8));
		let (one, two) = (one.expect("a copy"), two.expect("a copy"));
		assert_ne!(one, two);
		let sorted = |v: &[f32]| {
			let mut v: Vec<f32> = v[..d].iter().map(|x| x.abs()).collect();
			v.sort_by(f32::total_cmp);
			v
		};
		assert_eq!(sorted(&one), sorted(&original), "a signed permutation of the same values");
	}

	#[test]
	fn without_its_upstream_a_copier_fails() {
		let lonely = Echo::new(Disguise::Exact, 1);
		assert!(matches!(lonely.answer(&[1, 2], 1, 2), Err(ModelError::Failed(_))));
	}
}
