//! The nucleus as the axon serves it: Forward runs the latest published encoder (without
//! autodiff, on the axon's blocking threads); Backward, when the operator opts in, queues the
//! caller's gradient, and the trainer, at its next step, applies every queued gradient in one
//! batched pass (seed 001, equation 3, with each caller's gradient normalised before it is
//! weighted by stake: Δθ ∝ ∂/∂θ Σ_j w_j ⟨h_j, g_j/‖g_j‖⟩ / Σ_j w_j, the result scaled to unit
//! norm). All autodiff work stays on the training thread: burn's autodiff graphs deadlock when
//! threads build graphs over the same parameters at once. Backward is rate-limited, one
//! gradient per caller waits at a time, a gradient holds at most [`MAX_BACKWARD_ROWS`] rows,
//! and a step applies at most [`BACKWARD_ROWS_PER_STEP`] rows of them all (shared equally
//! between the callers), so serving it costs a bounded share of a step.
//!
//! The other ways to serve are adversaries, for test networks and the market benchmark: each
//! is a strategy a real peer could try, and the scoring must pay it nothing (or no more than
//! the peer it copies).

use std::{
	collections::VecDeque,
	str::FromStr,
	sync::{Arc, Mutex, RwLock},
};

use burn::{optim::GradientsParams, prelude::*};

use bittensor_primitives::TOKEN;

use crate::{
	data::rng::Rng,
	net::{
		protocol::{REPRESENTATION_DIM, VOCAB_SIZE},
		rate::TokenBucket,
		served_model::{Caller, EmbeddingModel, Model, ModelError},
	},
	nucleus::{add_scaled, gradient_norm, tokens_tensor, values, Encoder},
	sync::{lock, read, write},
};

/// Most rows one Backward gradient may hold.
pub const MAX_BACKWARD_ROWS: usize = 32;

/// Most rows of callers' gradients one training step applies: half the default training
/// batch, shared equally between the callers (at least one row each).
pub const BACKWARD_ROWS_PER_STEP: usize = 4;

/// How an echo disguises the answers it copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disguise {
	/// Returned as they came.
	Exact,
	/// With Gaussian noise of a tenth of their scale added.
	Noisy,
	/// Turned by a fixed random rotation.
	Rotated,
}

/// What the axon answers with. Everything but [`Serving::Model`] is a test mode: an adversary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serving {
	/// The trained encoder: an honest peer.
	Model,
	/// Fresh noise for every request.
	Noise,
	/// Zeros.
	Zero,
	/// At each position, a fixed code of the *next* input byte: a peer that reads the future.
	Leak,
	/// The answer of peer `uid`, asked the same question: a copier.
	Echo {
		/// The peer copied.
		uid: u16,
		/// How the copy is disguised.
		disguise: Disguise,
	},
	/// The model's answer to an earlier request of the same size: stale answers at no cost.
	Replay,
}

impl Serving {
	/// Whether this is the honest mode.
	pub fn is_honest(&self) -> bool {
		*self == Serving::Model
	}
}

impl std::fmt::Display for Serving {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		match self {
			Serving::Model => write!(f, "model"),
			Serving::Noise => write!(f, "noise"),
			Serving::Zero => write!(f, "zero"),
			Serving::Leak => write!(f, "leak"),
			Serving::Echo { uid, disguise: Disguise::Exact } => write!(f, "echo:{uid}"),
			Serving::Echo { uid, disguise: Disguise::Noisy } => write!(f, "echo:{uid}:noisy"),
			Serving::Echo { uid, disguise: Disguise::Rotated } => write!(f, "echo:{uid}:rotated"),
			Serving::Replay => write!(f, "replay"),
		}
	}
}

impl FromStr for Serving {
	type Err = String;

	/// `model`, `noise`, `zero`, `leak`, `replay`, or `echo:UID` with an optional `:noisy` or
	/// `:rotated`.
	fn from_str(text: &str) -> Result<Self, String> {
		let invalid = || {
			format!("{text:?}: serve model, noise, zero, leak, replay or echo:UID[:noisy|:rotated]")
		};
		Ok(match text {
			"model" => Serving::Model,
			"noise" => Serving::Noise,
			"zero" => Serving::Zero,
			"leak" => Serving::Leak,
			"replay" => Serving::Replay,
			_ => {
				let rest = text.strip_prefix("echo:").ok_or_else(invalid)?;
				let (uid, disguise) = match rest.split_once(':') {
					None => (rest, Disguise::Exact),
					Some((uid, "noisy")) => (uid, Disguise::Noisy),
					Some((uid, "rotated")) => (uid, Disguise::Rotated),
					Some(_) => return Err(invalid()),
				};
				Serving::Echo { uid: uid.parse().map_err(|_| invalid())?, disguise }
			},
		})
	}
}

/// A caller's gradient waiting for the trainer.
struct QueuedGradient {
	caller: sp_core::crypto::AccountId32,
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
	/// Backward calls accepted per second; `None` refuses Backward.
	backward_per_second: Option<f64>,
	/// Most gradients waiting at once.
	queue_limit: usize,
	context: usize,
	serving: Serving,
	rng: Mutex<Rng>,
	/// The peer an echo copies, once the runner knows where it is.
	upstream: RwLock<Option<Arc<dyn Model>>>,
	/// The codes a leaker answers with, one per byte.
	codes: EmbeddingModel,
	/// A replayer's stock of answers.
	replayed: Mutex<Option<Vec<f32>>>,
	/// A rotating echo's rotation, [d][d], drawn on first use.
	rotation: Mutex<Option<Vec<f32>>>,
	seed: u64,
}

/// The nucleus's side of the axon. Clones share the same state: give one to the axon and
/// keep one for the trainer.
#[derive(Clone)]
pub struct ServedNucleus {
	shared: Arc<Shared>,
}

/// Gradients that callers sent back since the trainer last asked.
pub struct RemoteGradients {
	/// The combined gradient, of unit norm, keyed by the encoder's parameters.
	pub grads: GradientsParams,
	/// How many Backward calls they combine.
	pub callers: usize,
	/// How many of their rows were applied.
	pub rows: usize,
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

impl ServedNucleus {
	/// Serves sequences up to `context` bytes. With `backward_per_second`, accepts that many
	/// Backward calls per second and holds as many (at least one) until the trainer takes
	/// them; without, refuses Backward.
	pub fn new(
		serving: Serving,
		context: usize,
		backward_per_second: Option<f64>,
		seed: u64,
	) -> Self {
		let rate = backward_per_second.unwrap_or(0.0);
		Self {
			shared: Arc::new(Shared {
				published: RwLock::new(None),
				queue: Mutex::new(VecDeque::new()),
				limiter: Mutex::new(TokenBucket::full(rate.max(1.0))),
				backward_per_second,
				queue_limit: (rate.ceil() as usize).max(1),
				context,
				serving,
				rng: Mutex::new(Rng::new(seed)),
				upstream: RwLock::new(None),
				codes: EmbeddingModel::new(seed ^ 0x1ea4),
				replayed: Mutex::new(None),
				rotation: Mutex::new(None),
				seed,
			}),
		}
	}

	/// Makes `encoder` (a copy without autodiff) the one Forward runs.
	pub fn publish(&self, encoder: &Encoder) {
		*write(&self.shared.published) = Some(encoder.valid());
	}

	/// Sets the peer an echo copies.
	pub fn set_upstream(&self, upstream: Arc<dyn Model>) {
		*write(&self.shared.upstream) = Some(upstream);
	}

	/// Turns the gradients queued since the last call into one gradient of `encoder`'s
	/// parameters (the training copy, with autodiff): one forward and one backward pass over
	/// their first rows (per sequence length; [`BACKWARD_ROWS_PER_STEP`] shared between the
	/// callers), each caller's gradient normalised and weighted by stake, the sum scaled to
	/// unit norm.
	pub fn take_remote_gradients(&self, encoder: &Encoder) -> Option<RemoteGradients> {
		let queued: Vec<QueuedGradient> = lock(&self.shared.queue).drain(..).collect();
		let device = encoder.devices().first().cloned()?;
		let mut lengths: Vec<usize> = queued.iter().map(|item| item.seq).collect();
		lengths.sort_unstable();
		lengths.dedup();
		let total_weight: f64 = queued.iter().map(|item| item.weight).sum();
		let rows_each = (BACKWARD_ROWS_PER_STEP / queued.len().max(1)).max(1);
		let mut summed = GradientsParams::new();
		let (mut callers, mut applied) = (0, 0);
		for seq in lengths {
			let (mut tokens, mut upstream, mut rows) = (Vec::new(), Vec::new(), 0);
			for item in queued.iter().filter(|item| item.seq == seq) {
				let taken = item.batch.min(rows_each);
				let grad = item.grad.get(..taken * seq * REPRESENTATION_DIM).unwrap_or(&[]);
				let norm = grad.iter().map(|g| f64::from(g * g)).sum::<f64>().sqrt();
				if !norm.is_finite() || norm <= 0.0 {
					continue;
				}
				let scale = (item.weight / total_weight / norm) as f32;
				tokens.extend_from_slice(item.tokens.get(..taken * seq).unwrap_or(&[]));
				upstream.extend(grad.iter().map(|g| g * scale));
				rows += taken;
				callers += 1;
			}
			if rows == 0 {
				continue;
			}
			applied += rows;
			let h = encoder.forward(tokens_tensor(&tokens, rows, seq, &device));
			let upstream = Tensor::<3>::from_data(
				TensorData::new(upstream, [rows, seq, REPRESENTATION_DIM]),
				&device,
			);
			let grads = GradientsParams::from_grads((h * upstream).sum().backward(), encoder);
			add_scaled(&mut summed, grads, 1.0, encoder);
		}
		let norm = gradient_norm(&summed, encoder);
		if callers == 0 || !norm.is_finite() || norm <= 0.0 {
			return None;
		}
		let mut grads = GradientsParams::new();
		add_scaled(&mut grads, summed, (1.0 / norm) as f32, encoder);
		Some(RemoteGradients { grads, callers, rows: applied })
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

	/// The published encoder's answer.
	fn encode(&self, tokens: &[i64], batch: usize, seq: usize) -> Result<Vec<f32>, ModelError> {
		let encoder = read(&self.shared.published)
			.clone()
			.ok_or_else(|| ModelError::Failed("the model is not ready yet".into()))?;
		let device = encoder.devices().first().cloned().unwrap_or_else(Device::flex);
		Ok(values(encoder.forward(tokens_tensor(tokens, batch, seq, &device))))
	}

	/// The upstream peer's answer, disguised.
	fn echo(
		&self,
		disguise: Disguise,
		tokens: &[i64],
		batch: usize,
		seq: usize,
	) -> Result<Vec<f32>, ModelError> {
		let upstream = read(&self.shared.upstream)
			.clone()
			.ok_or_else(|| ModelError::Failed("the copied peer is not reachable yet".into()))?;
		let mut answer = upstream.forward(tokens, batch, seq)?;
		match disguise {
			Disguise::Exact => {},
			Disguise::Noisy => {
				let mut rng = lock(&self.shared.rng);
				answer.iter_mut().for_each(|v| *v += 0.1 * gaussian(&mut rng) as f32);
			},
			Disguise::Rotated => {
				let d = REPRESENTATION_DIM;
				let mut rotation = lock(&self.shared.rotation);
				let rotation = rotation
					.get_or_insert_with(|| random_rotation(d, &mut Rng::new(self.shared.seed)));
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

	fn admit_backward(&self) -> Result<(), ModelError> {
		let Some(rate) = self.shared.backward_per_second else {
			return Err(ModelError::Unsupported("this peer does not take gradients".into()));
		};
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
		let size = batch * seq * REPRESENTATION_DIM;
		match self.shared.serving {
			Serving::Model => self.encode(tokens, batch, seq),
			Serving::Noise => {
				let mut rng = lock(&self.shared.rng);
				Ok((0..size).map(|_| gaussian(&mut rng) as f32).collect())
			},
			Serving::Zero => Ok(vec![0.0; size]),
			Serving::Leak => {
				// Each row shifted by one: position t carries the code of byte t + 1.
				let shifted: Vec<i64> = tokens
					.chunks(seq.max(1))
					.flat_map(|row| row.iter().skip(1).chain(row.last()).copied())
					.collect();
				self.shared.codes.forward(&shifted, batch, seq)
			},
			Serving::Echo { disguise, .. } => self.echo(disguise, tokens, batch, seq),
			Serving::Replay => {
				let mut stock = lock(&self.shared.replayed);
				match stock.as_ref().filter(|answer| answer.len() == size) {
					Some(answer) => Ok(answer.clone()),
					None => {
						let answer = self.encode(tokens, batch, seq)?;
						*stock = Some(answer.clone());
						Ok(answer)
					},
				}
			},
		}
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
		if batch > MAX_BACKWARD_ROWS {
			return Err(ModelError::InvalidInput(format!(
				"{batch} rows: a gradient holds at most {MAX_BACKWARD_ROWS}"
			)));
		}
		self.admit_backward()?;
		if !self.shared.serving.is_honest() {
			return Ok(());
		}
		let weight = (caller.stake as f64 / TOKEN as f64).max(1.0);
		let mut queue = lock(&self.shared.queue);
		if queue.iter().any(|item| item.caller == caller.hotkey) {
			return Err(ModelError::Busy("your previous gradient is still waiting".into()));
		}
		if queue.len() >= self.shared.queue_limit {
			return Err(ModelError::Busy(format!("{} gradients are already waiting", queue.len())));
		}
		queue.push_back(QueuedGradient {
			caller: caller.hotkey.clone(),
			tokens: tokens.to_vec(),
			grad: grad.to_vec(),
			batch,
			seq,
			weight,
		});
		Ok(())
	}
}
