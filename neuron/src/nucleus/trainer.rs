//! The trainer: one step of the nucleus on a batch with the peers' answers (local, network,
//! student and distillation losses), held-out evaluation, and checkpoints of the model and its
//! optimizers. What the peers are paid is measured apart, in [`crate::scoring`].

use std::path::Path;

use burn::{
	module::Module,
	optim::{AdamConfig, GradientsParams, ModuleOptimizer, SgdConfig},
	prelude::*,
	store::RecordError,
	tensor::{
		activation::{log_softmax, softmax},
		Gradients,
	},
};

use super::{float_values, tokens_tensor, Nucleus, NucleusConfig};
use crate::{
	data::{corpus::Batch, rng::Rng},
	net::protocol::REPRESENTATION_DIM,
};

/// Scale of the Gumbel noise added to the gate's scores when it chooses peers.
pub const EXPLORATION: f32 = 0.5;

/// Penalty on a gate output's recent share of choices (a moving average of 0 or 1 per step).
pub const LOAD_BALANCE: f32 = 2.0;

/// Weight of the newest step in the gate outputs' load.
const LOAD_ALPHA: f32 = 0.05;

/// The gate's weights over the chosen peers ([batch, k]: the softmax of their gate scores,
/// failed peers at -1e9 first) and the joined representation Σ_i w_i R_i ([batch, seq, d]),
/// from all gate scores ([batch, gate_width]) and the peers' representations ([k, batch, seq, d]).
fn join(
	gate_logits: Tensor<2>,
	remote: Tensor<4>,
	columns: &[usize],
	masked: &[bool],
) -> (Tensor<2>, Tensor<3>) {
	let [k, batch, seq, d] = remote.dims();
	let device = remote.device();
	let index = Tensor::<1, Int>::from_data(
		TensorData::new(columns.iter().map(|c| *c as i64).collect::<Vec<_>>(), [k]),
		&device,
	);
	let mask = Tensor::<2, Bool>::from_data(TensorData::new(masked.to_vec(), [1, k]), &device)
		.expand([batch, k]);
	let weights = softmax(gate_logits.select(1, index).mask_fill(mask, -1e9), 1);
	let joined = (remote * weights.clone().swap_dims(0, 1).reshape([k, batch, 1, 1]))
		.sum_dim(0)
		.reshape([batch, seq, d]);
	(weights, joined)
}

/// Mean cross-entropy of `logits` ([n, vocab]) against `targets` ([n]).
fn cross_entropy(logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
	let n = targets.dims()[0];
	log_softmax(logits, 1).gather(1, targets.reshape([n, 1])).mean().neg()
}

/// Cross-entropy of the target head on `[h, context]` against `targets`.
fn target_loss(
	model: &Nucleus,
	h: &Tensor<3>,
	context: Tensor<3>,
	targets: &Tensor<1, Int>,
) -> Tensor<1> {
	cross_entropy(model.target_logits(h.clone(), context), targets.clone())
}

/// Mean squared error between the distilled and the joined representation, the joined one
/// held fixed so that only the distillation network learns from it.
fn distillation_error(distilled: Tensor<3>, joined: &Tensor<3>) -> Tensor<1> {
	(distilled - joined.clone().detach()).powf_scalar(2.0).mean()
}

/// A loss's value.
fn scalar(loss: &Tensor<1>) -> f32 {
	loss.clone().into_scalar::<f32>()
}

/// Per column, the mean over the batch (the first dimension) of `tensor` ([batch, n] → n values).
fn batch_mean(tensor: Tensor<2>) -> Vec<f32> {
	float_values(tensor.mean_dim(0))
}

/// A batch's next-byte targets as a tensor on `device`.
fn targets_tensor(batch: &Batch, device: &Device) -> Tensor<1, Int> {
	Tensor::<1, Int>::from_data(
		TensorData::new(batch.targets.clone(), [batch.targets.len()]),
		device,
	)
}

/// The peers' representations as one tensor of `shape` ([k, batch, seq, d]) on `device`.
fn remote_tensor(answers: &RemoteAnswers, shape: [usize; 4], device: &Device) -> Tensor<4> {
	let flat: Vec<f32> = answers.representations.iter().flatten().copied().collect();
	Tensor::<4>::from_data(TensorData::new(flat, shape), device)
}

/// The chosen peers' answers joined through the gate, kept for their scores and gradients.
struct GatedAnswers {
	/// The peers' representations ([k, batch, seq, d]), a leaf that keeps its gradient.
	remote: Tensor<4>,
	/// The gate's weights over the peers ([batch, k]).
	weights: Tensor<2>,
	/// The joined representation Σ_i w_i R_i ([batch, seq, d]).
	joined: Tensor<3>,
	/// Per peer, whether the query failed.
	masked: Vec<bool>,
}

impl GatedAnswers {
	/// Joins `answers` ([batch, seq, d] per peer) through the gate's scores of `columns`.
	fn new(
		gate_logits: Tensor<2>,
		columns: &[usize],
		answers: &RemoteAnswers,
		batch: usize,
		seq: usize,
		device: &Device,
	) -> Self {
		let shape = [columns.len(), batch, seq, REPRESENTATION_DIM];
		let remote = remote_tensor(answers, shape, device).require_grad();
		let (weights, joined) = join(gate_logits, remote.clone(), columns, &answers.masked);
		Self { remote, weights, joined, masked: answers.masked.clone() }
	}

	/// Per peer, the gradient of the step's loss with respect to its representation
	/// ([batch, seq, d] values), taken out of `grads`; empty where the peer failed.
	fn gradients(&self, grads: &mut Gradients) -> Vec<Vec<f32>> {
		let [_, batch, seq, d] = self.remote.dims();
		let per_peer = self.remote.grad_remove(grads).map(float_values).unwrap_or_default();
		let size = batch * seq * d;
		self.masked
			.iter()
			.enumerate()
			.map(|(peer, failed)| {
				if *failed {
					Vec::new()
				} else {
					per_peer
						.get(peer * size..(peer + 1) * size)
						.map(<[f32]>::to_vec)
						.unwrap_or_default()
				}
			})
			.collect()
	}
}

/// What the remote peers answered for a step: per chosen peer, its representation
/// ([batch, seq, d]) and whether it failed.
#[derive(Debug, Clone)]
pub struct RemoteAnswers {
	/// Per peer, [batch, seq, d] values (zeros where the query failed).
	pub representations: Vec<Vec<f32>>,
	/// Per peer, whether the query failed.
	pub masked: Vec<bool>,
}

impl RemoteAnswers {
	/// Whether these are answers of all `peers` chosen peers and at least one of them answered.
	fn usable_for(&self, peers: usize) -> bool {
		self.masked.iter().any(|m| !m) && self.representations.len() == peers
	}
}

/// A step between the encoder's forward pass and the peers' answers: the trainer has chosen
/// which peers to query.
pub struct PendingStep {
	h: Tensor<3>,
	gate_logits: Tensor<2>,
	targets: Tensor<1, Int>,
	batch: usize,
	seq: usize,
	/// Gate outputs of the chosen peers, in the order of `chosen`.
	columns: Vec<usize>,
	/// Positions, in the candidate list given to [`Trainer::begin`], of the peers to query.
	pub chosen: Vec<usize>,
}

/// The figures of one training step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepReport {
	/// Next-byte loss from the local representation alone (nats per byte).
	pub local_loss: f32,
	/// Loss of the target head on `[h, joined]`, when a peer answered.
	pub network_loss: Option<f32>,
	/// Loss of the target head on `[h, distilled]`.
	pub student_loss: f32,
	/// Mean squared error between the distilled and the joined representation.
	pub distillation_loss: Option<f32>,
	/// Per chosen peer, the gradient of the network loss with respect to its representation
	/// ([batch, seq, d]); empty where the peer failed.
	pub remote_grads: Vec<Vec<f32>>,
	/// Per chosen peer, its gate weight averaged over the batch.
	pub gate_weights: Vec<f32>,
	/// Tokens trained on.
	pub tokens: usize,
}

/// Held-out losses of a nucleus.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation {
	/// Local head.
	pub local_loss: f32,
	/// Target head on the distilled context: the model that runs offline.
	pub student_loss: f32,
}

/// Trains a nucleus: the model, its optimizers and the step count.
pub struct Trainer {
	/// The model, on an autodiff device.
	pub model: Nucleus,
	optimizer: ModuleOptimizer,
	remote_optimizer: ModuleOptimizer,
	/// The configuration.
	pub config: NucleusConfig,
	device: Device,
	/// Steps taken.
	pub step: u64,
	/// Per gate output, how often it was chosen lately (a moving average).
	load: Vec<f32>,
	/// The gate's exploration noise.
	rng: Rng,
}

impl Trainer {
	/// A new model on `device` (autodiff is enabled on it), its parameters drawn from `seed`.
	pub fn new(config: NucleusConfig, device: &Device, seed: u64) -> Self {
		let device = device.clone().autodiff();
		device.seed(seed);
		Self {
			model: Nucleus::new(&config, &device),
			optimizer: AdamConfig::new().init(),
			remote_optimizer: SgdConfig::new().init(),
			load: vec![0.0; config.gate_width],
			rng: Rng::new(seed ^ 0x6a7e),
			config,
			device,
			step: 0,
		}
	}

	/// Forgets what the gate learned of `uid`'s output, and its load: for a uid that changed
	/// hands.
	pub fn forget_peer(&mut self, uid: u16) {
		let column = usize::from(uid) % self.config.gate_width.max(1);
		self.model.reset_gate_column(column);
		if let Some(load) = self.load.get_mut(column) {
			*load = 0.0;
		}
	}

	/// The device the model lives on.
	pub fn device(&self) -> &Device {
		&self.device
	}

	/// Runs the encoder and the gate on `batch` and chooses up to `top_k` peers among
	/// `candidates` (their gate outputs, e.g. `uid % gate_width`): the highest gate scores
	/// averaged over the batch, plus [`EXPLORATION`] × Gumbel noise, less [`LOAD_BALANCE`] ×
	/// each output's recent share of choices.
	pub fn begin(&mut self, batch: &Batch, candidates: &[usize]) -> PendingStep {
		let tokens = tokens_tensor(&batch.inputs, batch.batch, batch.seq, &self.device);
		let targets = targets_tensor(batch, &self.device);
		let h = self.model.encoder.forward(tokens);
		let gate_logits = self.model.gate_logits(h.clone());
		let mean = batch_mean(gate_logits.clone());
		let width = self.config.gate_width.max(1);
		let scores: Vec<f32> = candidates
			.iter()
			.map(|candidate| {
				let column = candidate % width;
				let gumbel = -(-(self.rng.unit().max(1e-12)).ln()).ln() as f32;
				mean.get(column).copied().unwrap_or(f32::MIN) + EXPLORATION * gumbel
					- LOAD_BALANCE * self.load.get(column).copied().unwrap_or(0.0)
			})
			.collect();
		let mut ranked: Vec<usize> = (0..candidates.len()).collect();
		ranked.sort_by(|a, b| scores[*b].total_cmp(&scores[*a]));
		ranked.truncate(self.config.top_k);
		let columns: Vec<usize> = ranked.iter().map(|i| candidates[*i] % width).collect();
		if !candidates.is_empty() {
			self.load.iter_mut().for_each(|load| *load *= 1.0 - LOAD_ALPHA);
			for column in &columns {
				if let Some(load) = self.load.get_mut(*column) {
					*load += LOAD_ALPHA;
				}
			}
		}
		PendingStep {
			h,
			gate_logits,
			targets,
			batch: batch.batch,
			seq: batch.seq,
			columns,
			chosen: ranked,
		}
	}

	/// Finishes a step with the chosen peers' answers (`None` offline): computes the losses,
	/// and the gradients for the peers, and updates the model.
	pub fn finish(&mut self, pending: PendingStep, answers: Option<&RemoteAnswers>) -> StepReport {
		let PendingStep { h, gate_logits, targets, batch, seq, columns, .. } = pending;
		let local_loss = cross_entropy(self.model.local_logits(h.clone()), targets.clone());
		let distilled = self.model.distill(h.clone());
		let student_loss = target_loss(&self.model, &h, distilled.clone(), &targets);
		let mut report = StepReport {
			local_loss: scalar(&local_loss),
			student_loss: scalar(&student_loss),
			tokens: batch * seq,
			..Default::default()
		};
		let mut total = local_loss + student_loss;

		let usable = answers.filter(|answers| answers.usable_for(columns.len()));
		let gated = usable.map(|answers| {
			GatedAnswers::new(gate_logits, &columns, answers, batch, seq, &self.device)
		});
		if let Some(gated) = &gated {
			let network_loss = target_loss(&self.model, &h, gated.joined.clone(), &targets);
			let distillation_loss = distillation_error(distilled, &gated.joined);
			report.network_loss = Some(scalar(&network_loss));
			report.distillation_loss = Some(scalar(&distillation_loss));
			report.gate_weights = batch_mean(gated.weights.clone());
			total = total + network_loss + distillation_loss;
		}

		let mut grads = total.backward();
		if let Some(gated) = &gated {
			report.remote_grads = gated.gradients(&mut grads);
		}
		self.descend(grads);
		report
	}

	/// One Adam step of the model on the step's gradients; counts the step.
	fn descend(&mut self, grads: Gradients) {
		let grads = GradientsParams::from_grads(grads, &self.model);
		self.model = self.optimizer.step(self.config.learning_rate, self.model.clone(), grads);
		self.step += 1;
	}

	/// One offline step: local and student losses only.
	pub fn step_offline(&mut self, batch: &Batch) -> StepReport {
		let pending = self.begin(batch, &[]);
		self.finish(pending, None)
	}

	/// Applies gradients that callers sent back (already combined as in seed 001, equation 3)
	/// to the encoder with SGD.
	pub fn apply_remote(&mut self, grads: GradientsParams) {
		let encoder = self.model.encoder.clone();
		self.model.encoder =
			self.remote_optimizer.step(self.config.remote_learning_rate, encoder, grads);
	}

	/// Saves the model and both optimizers' states (burnpack files) in `dir`.
	pub fn save(&self, dir: &Path) -> Result<(), RecordError> {
		self.model.clone().save_file(dir.join("model.bpk"))?;
		self.optimizer.save(dir.join("optimizer.bpk"))?;
		self.remote_optimizer.save(dir.join("remote_optimizer.bpk"))
	}

	/// Loads what [`Trainer::save`] wrote in `dir`; the step count is the caller's to restore.
	pub fn load(&mut self, dir: &Path) -> Result<(), RecordError> {
		self.model = self.model.clone().try_load_file(dir.join("model.bpk"))?;
		let optimizer = std::mem::replace(&mut self.optimizer, AdamConfig::new().init());
		self.optimizer = optimizer.load(dir.join("optimizer.bpk"))?;
		let remote = std::mem::replace(&mut self.remote_optimizer, SgdConfig::new().init());
		self.remote_optimizer = remote.load(dir.join("remote_optimizer.bpk"))?;
		Ok(())
	}

	/// Mean held-out losses over `batches`, without updating anything.
	pub fn evaluate(&self, batches: &[Batch]) -> Evaluation {
		let model = self.model.valid();
		let device = self.device.clone().inner();
		let (mut local, mut student) = (0.0, 0.0);
		for batch in batches {
			let tokens = tokens_tensor(&batch.inputs, batch.batch, batch.seq, &device);
			let targets = targets_tensor(batch, &device);
			let h = model.encoder.forward(tokens);
			local += scalar(&cross_entropy(model.local_logits(h.clone()), targets.clone()));
			student += scalar(&target_loss(&model, &h, model.distill(h.clone()), &targets));
		}
		let n = batches.len().max(1) as f32;
		Evaluation { local_loss: local / n, student_loss: student / n }
	}

	/// Held-out network loss with the given remote answers per batch (for tests and reports).
	pub fn evaluate_network(
		&self,
		batch: &Batch,
		answers: &RemoteAnswers,
		columns: &[usize],
	) -> f32 {
		let model = self.model.valid();
		let device = self.device.clone().inner();
		let (b, s, d) = (batch.batch, batch.seq, REPRESENTATION_DIM);
		let k = columns.len();
		let tokens = tokens_tensor(&batch.inputs, b, s, &device);
		let targets = targets_tensor(batch, &device);
		let h = model.encoder.forward(tokens);
		let remote = remote_tensor(answers, [k, b, s, d], &device);
		let (_, joined) = join(model.gate_logits(h.clone()), remote, columns, &answers.masked);
		scalar(&target_loss(&model, &h, joined, &targets))
	}
}
