//! Copies, found on canary rows: every peer of a cycle answers the same secret rows, and two
//! peers whose answers carry the same information are one peer's work, however it is disguised.
//! Raw answers cannot tell: linear CKA of them sees through a rotation or a scale only, a fixed
//! whitening brings a copy down to 0.3, and independent models already score 0.85 (they all
//! encode the byte they are shown). So a peer's canary answers are compared three ways, each a
//! view that some family of disguises cannot change, and a pair is as alike as its most alike
//! view:
//!
//! - **Predictions.** Its probe maps its answers to next-byte log-odds (of the bytes the prior
//!   finds likeliest), the common space where rotations, noise and any map a probe follows come out
//!   the same. Independent models predict English alike, mostly from the byte they are shown, so
//!   positions are compared within groups that show the same byte: what is left is what each makes
//!   of the context, which only copies share.
//! - **Whitened answers.** A probe follows some maps slowly (a whitening spreads what it needs over
//!   every dimension), so the answers are whitened by the running covariance of that peer's own
//!   canary answers, which undoes any fixed invertible linear map: the whitened answers of `M·x`
//!   are those of `x`, turned.
//! - **Whitened ranks.** The ranks of each dimension's values among a cycle's positions, which any
//!   elementwise monotone map (x³, tanh) leaves as they were, whitened the same way (which undoes a
//!   decreasing map's reversal, and a permutation).
//!
//! Each view is compared by debiased linear CKA (centered kernel alignment with the unbiased
//! HSIC estimator): the similarity of two Gram matrices over the same positions, 1 for the same
//! geometry, near 0 for unrelated answers however many dimensions they have (the biased
//! estimator finds any two whitened answers alike in 256 dimensions). A map that mixes
//! dimensions after bending them elementwise escapes both whitened views, and is caught only
//! as far as the probe follows it.
//!
//! A copy that scrambles its answers afresh for every query may look alike within one query,
//! and for a few cycles, but carries nothing a probe can use: how a group of copies shares its
//! pay (`ledger`) gives it nothing of its victim's.

use super::probe::dot;

/// Bytes whose predicted log-odds are compared: the prior's likeliest (in English text they
/// carry nearly all the probability; a probe leaves the others where the prior put them).
pub const COMPARED_BYTES: usize = 64;

/// Every `WHITENED_STRIDE`-th canary position's answer is whitened and compared (whitening
/// costs d² per position; predictions are compared at every canary position).
pub const WHITENED_STRIDE: usize = 4;

/// Every `LEARNED_STRIDE`-th canary position teaches the covariances and is ranked (learning
/// costs d² per position and view, and at every position it was most of a validator's
/// scoring): a covariance learns as well from half of them, only later (it first whitens after
/// twice as many queries).
pub const LEARNED_STRIDE: usize = 2;

/// Positions per dimension a covariance learns before it first whitens, and again before each
/// refactorization (one costs d³/6): with fewer than twice as many positions as dimensions,
/// its smallest eigenvalues are noise that the ridge drowns differently for a copy and its
/// original.
const POSITIONS_PER_FACTOR: usize = 2;

/// Positions a covariance adds to its moments at a time: 16 answers of 256 values in double
/// precision fill 32 KiB, a core's first-level data cache.
const LEARNED_BLOCK: usize = 16;

/// Positions per dimension a covariance remembers (a moving average).
const MEMORY_PER_DIMENSION: f64 = 8.0;

/// Ridge added to a covariance before it whitens, relative to its mean variance: enough to
/// whiten answers that span fewer dimensions than they have (a normalised representation),
/// little enough to undo a map whose singular values spread over two orders of magnitude
/// (1e-4 would not: what the map shrinks, the ridge would drown).
const RIDGE: f64 = 1e-7;

/// The running covariance of a peer's answers, which whitens them: moments of the positions it
/// learned (a moving average), and their Cholesky factor, refreshed every
/// [`POSITIONS_PER_FACTOR`] positions per dimension.
#[derive(Debug, Clone, PartialEq)]
struct Covariance {
	dim: usize,
	/// Positions learned, discounted to [`MEMORY_PER_DIMENSION`] per dimension.
	weight: f64,
	/// Their sum.
	sum: Vec<f64>,
	/// The sum of their outer products, in double precision (rounding errors in directions an
	/// answer never takes would be whitened up to its scale): the lower triangle, row by row
	/// (row `i` has `i + 1` entries).
	outer: Vec<f64>,
	/// The lower Cholesky factor (packed the same way) of the ridged covariance, and the mean.
	factor: Option<(Vec<f64>, Vec<f64>)>,
	/// Positions learned since the last factorization.
	fresh: usize,
}

/// Where row `i` of a packed lower triangle starts.
fn row_start(i: usize) -> usize {
	i * (i + 1) / 2
}

impl Covariance {
	/// Nothing learned yet, of answers of `dim` values.
	fn new(dim: usize) -> Self {
		Self {
			dim,
			weight: 0.0,
			sum: vec![0.0; dim],
			outer: vec![0.0; row_start(dim)],
			factor: None,
			fresh: 0,
		}
	}

	/// `positions` whitened by what it has learned (`L⁻¹ (x − mean)`, `L` the Cholesky factor
	/// of the ridged covariance; `None` until it has learned [`POSITIONS_PER_FACTOR`] positions
	/// per dimension), every `stride`-th of them; then all of them learned. Whitening first
	/// keeps a position out of the covariance that whitens it.
	fn whiten_then_learn(&mut self, positions: &[&[f32]], stride: usize) -> Option<Vec<Vec<f32>>> {
		let whitened = self.factor.as_ref().map(|(factor, mean)| {
			positions
				.iter()
				.step_by(stride.max(1))
				.map(|position| solve(factor, mean, position))
				.collect()
		});
		self.learn(positions);
		whitened
	}

	/// Adds `positions` to the moments (older ones discounted to [`MEMORY_PER_DIMENSION`] per
	/// dimension), and refactors when due.
	fn learn(&mut self, positions: &[&[f32]]) {
		let dim = self.dim;
		let learned: Vec<Vec<f64>> = positions
			.iter()
			.filter(|p| p.len() == dim)
			.map(|position| position.iter().map(|v| f64::from(*v)).collect())
			.collect();
		for x in &learned {
			self.sum.iter_mut().zip(x).for_each(|(s, v)| *s += v);
		}
		// A block of positions at a time, row by row: the block stays in the first-level cache
		// and each row is read and written once per block, where a position at a time would
		// stream the whole triangle through the cache once per position (the same sums, added
		// in the same order).
		for block in learned.chunks(LEARNED_BLOCK) {
			for i in 0..dim {
				let row = self.outer.get_mut(row_start(i)..row_start(i + 1)).unwrap_or_default();
				for x in block {
					let xi = x.get(i).copied().unwrap_or(0.0);
					row.iter_mut().zip(x).for_each(|(o, xj)| *o += xi * xj);
				}
			}
		}
		self.weight += learned.len() as f64;
		self.fresh += learned.len();
		let memory = MEMORY_PER_DIMENSION * dim as f64;
		if self.weight > memory {
			let keep = memory / self.weight;
			self.sum.iter_mut().chain(self.outer.iter_mut()).for_each(|v| *v *= keep);
			self.weight = memory;
		}
		if self.fresh >= POSITIONS_PER_FACTOR * dim {
			self.factor = self.factorize();
			self.fresh = 0;
		}
	}

	/// The Cholesky factor of the ridged covariance, and the mean; `None` if it is not
	/// positive definite (answers that are not finite).
	fn factorize(&self) -> Option<(Vec<f64>, Vec<f64>)> {
		let dim = self.dim;
		let mean: Vec<f64> = self.sum.iter().map(|s| s / self.weight).collect();
		let mut factor: Vec<f64> = Vec::with_capacity(self.outer.len());
		for (i, mean_i) in mean.iter().enumerate() {
			let row = self.outer.get(row_start(i)..row_start(i + 1)).unwrap_or_default();
			factor
				.extend(row.iter().zip(&mean).map(|(o, mean_j)| o / self.weight - mean_i * mean_j));
		}
		let variance: f64 = (0..dim).filter_map(|i| factor.get(row_start(i) + i)).sum();
		let ridge = RIDGE * variance / dim.max(1) as f64;
		for i in 0..dim {
			let (above, rest) = factor.split_at_mut(row_start(i));
			let row = rest.get_mut(..=i)?;
			for j in 0..i {
				let earlier = above.get(row_start(j)..row_start(j + 1))?;
				let (up, diagonal) = earlier.split_at_checked(j)?;
				let (left, cell) = row.split_at_mut(j);
				let cell = cell.first_mut()?;
				*cell = (*cell - dot(left, up)) / diagonal.first().copied()?;
			}
			let (left, cell) = row.split_at_mut(i);
			let cell = cell.first_mut()?;
			let value = *cell + ridge - dot(left, left);
			if !(value > 0.0 && value.is_finite()) {
				return None;
			}
			*cell = value.sqrt();
		}
		Some((factor, mean))
	}
}

/// `L⁻¹ (x − mean)` by forward substitution, `L` packed lower triangular.
fn solve(factor: &[f64], mean: &[f64], x: &[f32]) -> Vec<f32> {
	let mut y: Vec<f64> = Vec::with_capacity(x.len());
	for (i, (v, m)) in x.iter().zip(mean).enumerate() {
		let row = factor.get(row_start(i)..row_start(i + 1)).unwrap_or_default();
		let (left, diagonal) = row.split_at_checked(i).unwrap_or_default();
		let value = (f64::from(*v) - m - dot(left, &y)) / diagonal.first().copied().unwrap_or(1.0);
		y.push(value);
	}
	y.into_iter().map(|v| v as f32).collect()
}

/// Per dimension, the rank of each position's value among `positions` (ties share the mean of
/// their ranks): what any strictly increasing elementwise function leaves as it was, and a
/// decreasing one turns end for end.
fn ranks(positions: &[&[f32]], dim: usize) -> Vec<Vec<f32>> {
	let mut ranked = vec![vec![0.0f32; dim]; positions.len()];
	let mut order: Vec<usize> = (0..positions.len()).collect();
	for d in 0..dim {
		let value = |p: &usize| positions.get(*p).and_then(|x| x.get(d)).copied().unwrap_or(0.0);
		order.sort_unstable_by(|a, b| value(a).total_cmp(&value(b)));
		let mut start = 0;
		while start < order.len() {
			let tied = order.get(start..).unwrap_or_default();
			let run = tied.iter().take_while(|p| value(p) == value(&tied[0])).count().max(1);
			let rank = start as f32 + (run - 1) as f32 / 2.0;
			for p in tied.iter().take(run) {
				if let Some(cell) = ranked.get_mut(*p).and_then(|row| row.get_mut(d)) {
					*cell = rank;
				}
			}
			start += run;
		}
	}
	ranked
}

/// What a validator learns of a peer's canary answers to whiten them: the covariance of the
/// answers, and that of their ranks per dimension.
#[derive(Debug, Clone, PartialEq)]
pub struct Whitener {
	answers: Covariance,
	ranks: Covariance,
}

impl Whitener {
	/// Nothing learned yet, of answers of `dim` values.
	pub fn new(dim: usize) -> Self {
		Self { answers: Covariance::new(dim), ranks: Covariance::new(dim) }
	}

	/// The fingerprint of one cycle's canary `answers` (one per position, of `dim` values):
	/// every [`WHITENED_STRIDE`]-th answer, and its ranks among every [`LEARNED_STRIDE`]-th,
	/// whitened by what it has learned (nothing to compare until it has learned enough); then
	/// every [`LEARNED_STRIDE`]-th learned.
	pub fn fingerprint(&mut self, answers: &[&[f32]]) -> Fingerprint {
		let dim = self.answers.dim;
		let learned: Vec<&[f32]> = answers.iter().step_by(LEARNED_STRIDE).copied().collect();
		let ranked = ranks(&learned, dim);
		let ranked: Vec<&[f32]> = ranked.iter().map(Vec::as_slice).collect();
		let kernel =
			|whitened: Option<Vec<Vec<f32>>>| whitened.map(|w| Kernel::new(&w)).unwrap_or_default();
		let stride = WHITENED_STRIDE / LEARNED_STRIDE;
		Fingerprint {
			answers: kernel(self.answers.whiten_then_learn(&learned, stride)),
			ranks: kernel(self.ranks.whiten_then_learn(&ranked, stride)),
			predictions: Kernel::default(),
		}
	}
}

/// A Gram matrix over positions, reduced to what debiased CKA needs: the Gram matrix of the
/// centered features with its diagonal zeroed, its row sums and its HSIC with itself.
#[derive(Debug, Clone, PartialEq, Default)]
struct Kernel {
	/// `n` × `n`, row-major.
	gram: Vec<f32>,
	row_sums: Vec<f64>,
	own: f64,
}

impl Kernel {
	/// The kernel of `features`, one row per position (rows of one length).
	fn new(features: &[Vec<f32>]) -> Self {
		let n = features.len();
		let width = features.first().map_or(0, Vec::len);
		let mut mean = vec![0.0f64; width];
		for row in features {
			mean.iter_mut().zip(row).for_each(|(m, v)| *m += f64::from(*v) / n as f64);
		}
		let centered: Vec<Vec<f32>> = features
			.iter()
			.map(|row| row.iter().zip(&mean).map(|(v, m)| (f64::from(*v) - m) as f32).collect())
			.collect();
		let mut gram = vec![0.0f32; n * n];
		for (i, a) in centered.iter().enumerate() {
			for (j, b) in centered.iter().enumerate().take(i) {
				let value = dot(a, b);
				for cell in [i * n + j, j * n + i] {
					if let Some(slot) = gram.get_mut(cell) {
						*slot = value;
					}
				}
			}
		}
		let row_sums = gram
			.chunks(n.max(1))
			.map(|row| row.iter().map(|v| f64::from(*v)).sum())
			.collect();
		let mut kernel = Self { gram, row_sums, own: 0.0 };
		kernel.own = kernel.hsic(&kernel);
		kernel
	}

	/// The unbiased estimator of HSIC of two kernels of the same positions (Song et al. 2012);
	/// 0 for fewer than four positions or kernels of different positions.
	fn hsic(&self, other: &Self) -> f64 {
		let n = self.row_sums.len();
		if n < 4 || other.row_sums.len() != n {
			return 0.0;
		}
		let n = n as f64;
		let inner = f64::from(dot(&self.gram, &other.gram));
		let (total, other_total): (f64, f64) =
			(self.row_sums.iter().sum(), other.row_sums.iter().sum());
		let sums: f64 = self.row_sums.iter().zip(&other.row_sums).map(|(a, b)| a * b).sum();
		(inner + total * other_total / ((n - 1.0) * (n - 2.0)) - 2.0 * sums / (n - 2.0))
			/ (n * (n - 3.0))
	}

	/// Debiased linear CKA, in [0, 1]; 0 when either kernel is degenerate.
	fn similarity(&self, other: &Self) -> f64 {
		if self.own <= 0.0 || other.own <= 0.0 {
			return 0.0;
		}
		(self.hsic(other) / (self.own * other.own).sqrt()).clamp(0.0, 1.0)
	}
}

/// A peer's canary answers in a cycle, reduced to what comparing them needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Fingerprint {
	/// Its answers (whitened, from a [`Whitener`]).
	answers: Kernel,
	/// Their ranks, whitened; empty without a [`Whitener`].
	ranks: Kernel,
	/// Its probe's predictions; empty without them.
	predictions: Kernel,
}

impl Fingerprint {
	/// The fingerprint of `answers` alone: `positions` rows of `dim` values, compared up to a
	/// rotation and a scale (a [`Whitener`] compares them up to any invertible linear map, and
	/// their ranks too).
	pub fn new(answers: &[f32], positions: usize, dim: usize) -> Self {
		let rows: Vec<Vec<f32>> =
			answers.chunks_exact(dim.max(1)).take(positions).map(<[f32]>::to_vec).collect();
		Self {
			answers: Kernel::new(&rows),
			ranks: Kernel::default(),
			predictions: Kernel::default(),
		}
	}

	/// With the predictions of the peer's probe: `log_odds[p]` its log-odds of the compared
	/// bytes at canary position `p`, `shown[p]` the byte sent there. Positions are compared
	/// within groups that show the same byte (a position alone in its group drops out).
	pub fn with_predictions(mut self, log_odds: &[Vec<f64>], shown: &[u8]) -> Self {
		let centered: Vec<Vec<f64>> = log_odds
			.iter()
			.map(|row| {
				let mean = row.iter().sum::<f64>() / row.len().max(1) as f64;
				row.iter().map(|v| v - mean).collect()
			})
			.collect();
		let width = centered.first().map_or(0, Vec::len);
		let mut group_sums = vec![(0usize, vec![0.0f64; width]); 256];
		for (row, byte) in centered.iter().zip(shown) {
			if let Some((count, sum)) = group_sums.get_mut(usize::from(*byte)) {
				*count += 1;
				sum.iter_mut().zip(row).for_each(|(s, v)| *s += v);
			}
		}
		let within: Vec<Vec<f32>> = centered
			.iter()
			.zip(shown)
			.map(|(row, byte)| match group_sums.get(usize::from(*byte)) {
				Some((count, sum)) if *count > 1 => {
					row.iter().zip(sum).map(|(v, s)| (v - s / *count as f64) as f32).collect()
				},
				_ => vec![0.0; width],
			})
			.collect();
		self.predictions = Kernel::new(&within);
		self
	}

	/// How alike two fingerprints of the same positions are, in [0, 1]: the largest of the
	/// similarities of their answers, of their ranks and of their predictions; 0 when none
	/// compares (their positions differ, or either is constant).
	pub fn similarity(&self, other: &Self) -> f64 {
		let answers = self.answers.similarity(&other.answers);
		let ranks = self.ranks.similarity(&other.ranks);
		answers.max(ranks).max(self.predictions.similarity(&other.predictions))
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
pub(crate) mod tests {
	use super::*;
	use crate::data::rng::Rng;

	/// A standard normal draw, near enough: a sum of uniforms.
	pub(crate) fn gaussian(rng: &mut Rng) -> f32 {
		((0..12).map(|_| rng.unit()).sum::<f64>() - 6.0) as f32
	}

	/// `d` random orthonormal rows, by Gram–Schmidt.
	fn orthonormal(d: usize, rng: &mut Rng) -> Vec<Vec<f64>> {
		let mut basis: Vec<Vec<f64>> = Vec::new();
		while basis.len() < d {
			let mut v: Vec<f64> = (0..d).map(|_| f64::from(gaussian(rng))).collect();
			for b in &basis {
				let dot: f64 = v.iter().zip(b).map(|(x, y)| x * y).sum();
				v.iter_mut().zip(b).for_each(|(x, y)| *x -= dot * y);
			}
			let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
			basis.push(v.into_iter().map(|x| x / norm).collect());
		}
		basis
	}

	/// A random `d` × `d` map (row-major) `U · diag(s) · V`, `U` and `V` rotations, its
	/// singular values spread log-uniformly from `low` to `high`: a rotation when both are 1.
	pub(crate) fn spread_map(d: usize, low: f64, high: f64, rng: &mut Rng) -> Vec<f32> {
		let (u, v) = (orthonormal(d, rng), orthonormal(d, rng));
		let singular = |k: usize| low * (high / low).powf(k as f64 / (d.max(2) - 1) as f64);
		let mut map = vec![0.0f32; d * d];
		for (row, cells) in map.chunks_exact_mut(d).enumerate() {
			for (column, cell) in cells.iter_mut().enumerate() {
				*cell = (0..d).map(|k| u[k][row] * singular(k) * v[k][column]).sum::<f64>() as f32;
			}
		}
		map
	}

	/// `map` ([d][d]) applied to every `d`-vector of `answers`.
	pub(crate) fn apply(map: &[f32], answers: &[f32], d: usize) -> Vec<f32> {
		answers
			.chunks_exact(d)
			.flat_map(|x| map.chunks_exact(d).map(move |row| dot(row, x)))
			.collect()
	}

	#[test]
	fn copies_are_alike_and_strangers_are_not() {
		let (n, d) = (64, 32);
		let mut rng = Rng::new(5);
		let original: Vec<f32> = (0..n * d).map(|_| gaussian(&mut rng)).collect();
		let stranger: Vec<f32> = (0..n * d).map(|_| gaussian(&mut rng)).collect();
		let rotated: Vec<f32> = apply(&spread_map(d, 1.0, 1.0, &mut rng), &original, d)
			.iter()
			.map(|v| 3.0 * v)
			.collect();
		let noisy: Vec<f32> = original.iter().map(|v| v + 0.1 * gaussian(&mut rng)).collect();
		let print = |a: &[f32]| Fingerprint::new(a, n, d);
		let base = print(&original);
		assert!((base.similarity(&print(&rotated)) - 1.0).abs() < 1e-4);
		assert!(base.similarity(&print(&noisy)) > 0.98);
		assert!(base.similarity(&print(&stranger)) < 0.2);
		assert_eq!(base.similarity(&print(&vec![1.0; n * d])), 0.0, "constant answers");
		assert_eq!(base.similarity(&Fingerprint::new(&original, n / 2, d)), 0.0);
	}

	#[test]
	fn whitening_sees_through_any_invertible_linear_map_and_ranks_through_any_monotone_one() {
		let (d, per_cycle) = (64, 128);
		let mut rng = Rng::new(7);
		// Answers spread over directions of very different variance, about a mean far from
		// zero, as a model's are.
		let model = spread_map(d, 0.01, 1.0, &mut rng);
		let disguise = spread_map(d, 0.1, 10.0, &mut rng);
		let mut whiteners = vec![Whitener::new(d); 4];
		for cycle in 0..8 {
			let mut draw = || -> Vec<f32> {
				let noise: Vec<f32> = (0..per_cycle * d).map(|_| gaussian(&mut rng)).collect();
				apply(&model, &noise, d).into_iter().map(|v| v + 3.0).collect()
			};
			let original = draw();
			let linear = apply(&disguise, &original, d);
			let cubed: Vec<f32> = original.iter().map(|v| (v - 3.0).powi(3)).collect();
			let stranger = draw();
			let prints: Vec<Fingerprint> = [&original, &linear, &cubed, &stranger]
				.iter()
				.zip(whiteners.iter_mut())
				.map(|(answers, whitener)| {
					whitener.fingerprint(&answers.chunks_exact(d).collect::<Vec<_>>())
				})
				.collect();
			let alike = |i: usize| prints[0].similarity(&prints[i]);
			// A cycle teaches the covariance per_cycle / LEARNED_STRIDE positions, one
			// dimension's worth: it whitens from the third.
			if cycle < 2 {
				assert_eq!(alike(1), 0.0, "cycle {cycle}: nothing learnt, nothing compared");
				continue;
			}
			assert!(alike(1) > 0.99, "cycle {cycle}: the linear copy {}", alike(1));
			assert!(alike(2) > 0.99, "cycle {cycle}: the cubed copy {}", alike(2));
			assert!(alike(3) < 0.3, "cycle {cycle}: a stranger {}", alike(3));
			// Unwhitened, the linear copy hides.
			let compared = |a: &[f32]| -> Vec<f32> {
				a.chunks_exact(d).step_by(WHITENED_STRIDE).flatten().copied().collect()
			};
			let raw = |a: &[f32]| Fingerprint::new(&compared(a), per_cycle / WHITENED_STRIDE, d);
			let hidden = raw(&original).similarity(&raw(&linear));
			assert!(hidden < 0.9, "cycle {cycle}: raw {hidden}");
		}
	}

	#[test]
	fn ranks_share_ties() {
		let positions: [&[f32]; 4] = [&[2.0, 0.0], &[1.0, 0.0], &[2.0, 0.0], &[-1.0, 0.0]];
		assert_eq!(ranks(&positions, 2), [[2.5, 1.5], [1.0, 1.5], [2.5, 1.5], [0.0, 1.5]]);
	}

	#[test]
	fn predictions_are_compared_within_groups_of_the_shown_byte() {
		let (n, bytes, shown_kinds) = (128, 16, 8);
		let mut rng = Rng::new(11);
		let mut draw = |scale: f32| -> Vec<f64> {
			(0..bytes).map(|_| f64::from(scale * gaussian(&mut rng))).collect()
		};
		// Every model predicts mostly from the byte it is shown; what it makes of the context
		// is its own.
		let by_shown: Vec<Vec<f64>> = (0..shown_kinds).map(|_| draw(3.0)).collect();
		let shown: Vec<u8> = (0..n).map(|p| (p * 5 % shown_kinds) as u8).collect();
		let mut model = || -> Vec<Vec<f64>> {
			shown
				.iter()
				.map(|s| {
					by_shown[usize::from(*s)].iter().zip(draw(1.0)).map(|(c, g)| c + g).collect()
				})
				.collect()
		};
		let (first, second) = (model(), model());
		// A copy through a probe that learnt its temperature and biases differently.
		let copy: Vec<Vec<f64>> = first
			.iter()
			.map(|row| row.iter().zip(draw(0.05)).map(|(v, e)| 0.5 * v + 1.0 + e).collect())
			.collect();
		let print = |log_odds: &[Vec<f64>], shown: &[u8]| {
			Fingerprint::new(&[], 0, 0).with_predictions(log_odds, shown)
		};
		let base = print(&first, &shown);
		assert!(base.similarity(&print(&copy, &shown)) > 0.95);
		let independent = base.similarity(&print(&second, &shown));
		assert!(independent < 0.3, "{independent}");
		// Compared across bytes shown, the two models look alike: both good, not the same.
		let one_group = vec![0; n];
		let across = print(&first, &one_group).similarity(&print(&second, &one_group));
		assert!(across > 0.8, "{across}");
		// A position alone in its group compares nothing.
		let unique: Vec<u8> = (0..n as u8).collect();
		assert_eq!(print(&first, &unique).similarity(&print(&copy, &unique)), 0.0);
	}

	#[test]
	fn groups_join_linked_members() {
		assert_eq!(groups(5, &[(3, 1), (4, 3)]), vec![vec![0], vec![1, 3, 4], vec![2]]);
		assert_eq!(groups(2, &[(0, 7)]), vec![vec![0], vec![1]], "unknown members are ignored");
		assert!(groups(0, &[]).is_empty());
	}
}
