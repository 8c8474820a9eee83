//! Copies, found on canary rows: every peer answers the same secret rows in a cycle, and two
//! peers whose answers agree up to rotation, scale and a little noise are one peer's work. The
//! measure is linear CKA (centered kernel alignment): the similarity of the two answers' Gram
//! matrices over the canary positions, which is 1 for an exact, scaled or rotated copy and
//! stays near 1 for a noisy one, while independently trained models land well below.

/// A peer's answers on the canary positions, reduced to what CKA needs: the centered Gram
/// matrix (`n` × `n`, for `n` positions) and its Frobenius norm.
#[derive(Debug, Clone, PartialEq)]
pub struct Fingerprint {
	gram: Vec<f64>,
	norm: f64,
}

impl Fingerprint {
	/// The fingerprint of `answers`: `positions` rows of `dim` values each.
	pub fn new(answers: &[f32], positions: usize, dim: usize) -> Self {
		let rows: Vec<&[f32]> = answers.chunks_exact(dim.max(1)).take(positions).collect();
		let n = rows.len();
		// Center every dimension over the positions.
		let mut means = vec![0.0f64; dim];
		for row in &rows {
			means.iter_mut().zip(*row).for_each(|(m, v)| *m += f64::from(*v));
		}
		means.iter_mut().for_each(|m| *m /= n.max(1) as f64);
		let centered: Vec<Vec<f64>> = rows
			.iter()
			.map(|row| row.iter().zip(&means).map(|(v, m)| f64::from(*v) - m).collect())
			.collect();
		let mut gram = vec![0.0; n * n];
		for (i, a) in centered.iter().enumerate() {
			for (j, b) in centered.iter().enumerate().skip(i) {
				let value: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
				if let Some(cell) = gram.get_mut(i * n + j) {
					*cell = value;
				}
				if let Some(cell) = gram.get_mut(j * n + i) {
					*cell = value;
				}
			}
		}
		let norm = gram.iter().map(|g| g * g).sum::<f64>().sqrt();
		Self { gram, norm }
	}

	/// Linear CKA of two fingerprints of the same positions, in [0, 1]; 0 when either answer
	/// is constant or their positions differ.
	pub fn similarity(&self, other: &Self) -> f64 {
		if self.gram.len() != other.gram.len() || self.norm <= 0.0 || other.norm <= 0.0 {
			return 0.0;
		}
		let inner: f64 = self.gram.iter().zip(&other.gram).map(|(a, b)| a * b).sum();
		(inner / (self.norm * other.norm)).clamp(0.0, 1.0)
	}
}

/// The groups of `members` joined by `linked` pairs (indices into `members`), each group in
/// the order of `members`; singletons included.
pub fn groups(members: usize, linked: &[(usize, usize)]) -> Vec<Vec<usize>> {
	let mut parent: Vec<usize> = (0..members).collect();
	fn root(parent: &mut [usize], mut node: usize) -> usize {
		while let Some(&up) = parent.get(node) {
			if up == node {
				break;
			}
			node = up;
		}
		node
	}
	for (a, b) in linked {
		if *a >= members || *b >= members {
			continue;
		}
		let (ra, rb) = (root(&mut parent, *a), root(&mut parent, *b));
		if let Some(slot) = parent.get_mut(ra.max(rb)) {
			*slot = ra.min(rb);
		}
	}
	let mut out: Vec<Vec<usize>> = Vec::new();
	let mut index_of_root = vec![usize::MAX; members];
	for member in 0..members {
		let r = root(&mut parent, member);
		match index_of_root.get(r).copied() {
			Some(index) if index != usize::MAX => {
				if let Some(group) = out.get_mut(index) {
					group.push(member);
				}
			},
			_ => {
				if let Some(slot) = index_of_root.get_mut(r) {
					*slot = out.len();
				}
				out.push(vec![member]);
			},
		}
	}
	out
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::data::rng::Rng;

	fn gaussian(rng: &mut Rng) -> f32 {
		// Sum of uniforms: close enough to normal for these tests.
		((0..12).map(|_| rng.unit()).sum::<f64>() - 6.0) as f32
	}

	#[test]
	fn copies_are_alike_and_strangers_are_not() {
		let (n, d) = (64, 32);
		let mut rng = Rng::new(5);
		let original: Vec<f32> = (0..n * d).map(|_| gaussian(&mut rng)).collect();
		let stranger: Vec<f32> = (0..n * d).map(|_| gaussian(&mut rng)).collect();
		// A rotation: a random orthogonal matrix by Gram-Schmidt.
		let mut basis: Vec<Vec<f64>> = Vec::new();
		while basis.len() < d {
			let mut v: Vec<f64> = (0..d).map(|_| f64::from(gaussian(&mut rng))).collect();
			for b in &basis {
				let dot: f64 = v.iter().zip(b).map(|(x, y)| x * y).sum();
				v.iter_mut().zip(b).for_each(|(x, y)| *x -= dot * y);
			}
			let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
			basis.push(v.into_iter().map(|x| x / norm).collect());
		}
		let rotated: Vec<f32> = original
			.chunks(d)
			.flat_map(|row| {
				basis.iter().map(move |b| {
					3.0 * row.iter().zip(b).map(|(x, y)| f64::from(*x) * y).sum::<f64>() as f32
				})
			})
			.collect();
		let noisy: Vec<f32> = original.iter().map(|v| v + 0.1 * gaussian(&mut rng)).collect();
		let print = |a: &[f32]| Fingerprint::new(a, n, d);
		let base = print(&original);
		assert!((base.similarity(&print(&rotated)) - 1.0).abs() < 1e-9);
		assert!(base.similarity(&print(&noisy)) > 0.98);
		assert!(base.similarity(&print(&stranger)) < 0.8);
		assert_eq!(base.similarity(&print(&vec![1.0; n * d])), 0.0, "constant answers");
		assert_eq!(base.similarity(&Fingerprint::new(&original, n / 2, d)), 0.0);
	}

	#[test]
	fn groups_join_linked_members() {
		assert_eq!(groups(5, &[(3, 1), (4, 3)]), vec![vec![0], vec![1, 3, 4], vec![2]]);
		assert_eq!(groups(2, &[(0, 7)]), vec![vec![0], vec![1]], "unknown members are ignored");
		assert!(groups(0, &[]).is_empty());
	}
}
