//! The trainer: one step of the nucleus on a batch with the peers' answers (local, network,
//! student and distillation losses), held-out evaluation, and checkpoints of the model and its
//! optimizers. The peers' answers are bounded before they are joined, and a step is taken only
//! when its losses and gradient are sound ([`super::guard`]). What the peers are paid is measured
//! apart, in [`crate::scoring`].

use std::path::Path;

use burn::{
	module::Module,
	optim::{
		grad_clipping::GradientClippingConfig, AdamConfig, GradientsParams, ModuleOptimizer,
		SgdConfig,
	},
	prelude::*,
	store::RecordError,
	tensor::activation::log_softmax,
};

use super::{
	float_values,
	grads::gradient_norm,
	guard::{
		check_parameters, check_step, normalise, JoinRecords, NonFiniteParameter, PeerOutcome,
		StepFault,
	},
	join::{join, remote_tensor, GatedAnswers, RemoteAnswers},
	mixture::{self, mix_from},
	tokens_tensor, Nucleus, NucleusConfig,
};
use crate::{
	data::{corpus::Batch, rng::Rng},
	net::protocol::{TensorError, REPRESENTATION_DIM, VOCAB_SIZE},
};

/// Scale of the Gumbel noise added to the gate's scores when it chooses peers.
pub const EXPLORATION: f32 = 0.5;

/// Penalty on a gate output's recent share of choices (a moving average of 0 or 1 per step).
pub const LOAD_BALANCE: f32 = 2.0;

/// Weight of the newest step in the gate outputs' load.
const LOAD_ALPHA: f32 = 0.05;

/// Largest L2 norm of one parameter's gradient in an Adam step; a larger one is scaled down to
/// it. An honest step's are below 6 (measured on the small model of the tests: 1.5 to 5.2 per
/// parameter), so the clip bounds only the rare large gradient, which would otherwise swell
/// Adam's second moment for thousands of steps.
pub const GRADIENT_CLIP_NORM: f32 = 10.0;

/// The optimizer of the model's own losses: Adam, each parameter's gradient clipped to
/// [`GRADIENT_CLIP_NORM`].
fn adam() -> ModuleOptimizer {
	AdamConfig::new()
		.with_grad_clipping(Some(GradientClippingConfig::Norm(GRADIENT_CLIP_NORM)))
		.init()
}

/// The student's weights on its two experts (local, corrected) at the start of a row. Even
/// weights cost a row about ln 2 before its bytes tell the experts apart (0.011 nats a byte over
/// 64-byte rows, measured on the neuron's own text at 150 steps); most of what a neuron reads
/// is its own kind of text, where the local expert is right, and on other text the corrected
/// expert predicts so much better that it takes the weight within a few bytes.
pub const STUDENT_PRIOR: [f32; 2] = [0.95, 0.05];

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
	/// The chosen candidates (peer ids), in the order of `chosen`.
	peers: Vec<usize>,
	/// Positions, in the candidate list given to [`Trainer::begin`], of the peers to query.
	pub chosen: Vec<usize>,
}

/// Text to learn from beside a step's own batch, and a teacher's next-byte log-probabilities
/// of it ([batch · seq, vocab]): what the student distils, on text of other kinds than its own
/// (the network's mixture on the text peers asked about).
#[derive(Debug, Clone)]
pub struct Lesson {
	/// The text.
	pub batch: Batch,
	/// The teacher's log-probabilities of every byte after every position.
	pub teacher: Vec<f32>,
}

impl Lesson {
	/// Whether the teacher fits the text.
	fn fits(&self) -> bool {
		self.teacher.len() == self.batch.targets.len() * VOCAB_SIZE
			&& self.teacher.iter().all(|v| v.is_finite())
	}
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
	/// The student's cross-entropy against the teacher's on the step's lesson, if it had one.
	pub lesson_loss: Option<f32>,
	/// Per chosen peer, the gradient of the network loss with respect to its representation
	/// ([batch, seq, d]); empty where the peer failed.
	pub remote_grads: Vec<Vec<f32>>,
	/// Per chosen peer, its gate weight averaged over the batch.
	pub gate_weights: Vec<f32>,
	/// Per chosen peer, what the step made of its answer (empty offline).
	pub peers: Vec<PeerOutcome>,
	/// The candidates (peer ids) this step dropped from the join: [`Trainer::begin`] leaves them
	/// out until their parole.
	pub dropped: Vec<usize>,
	/// Why the step was skipped, leaving the model and its optimizer as they were, if it was.
	pub skipped: Option<StepFault>,
	/// Tokens trained on.
	pub tokens: usize,
}

impl StepReport {
	/// The step's losses, each named, as [`check_step`] reads them.
	fn losses(&self) -> Vec<(&'static str, f32)> {
		let mut losses = vec![("local", self.local_loss), ("student", self.student_loss)];
		losses.extend(self.network_loss.map(|loss| ("network", loss)));
		losses.extend(self.distillation_loss.map(|loss| ("distillation", loss)));
		losses.extend(self.lesson_loss.map(|loss| ("lesson", loss)));
		losses
	}
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
	/// Per peer, how its answers served the model: which peers the join leaves out.
	records: JoinRecords,
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
			optimizer: adam(),
			remote_optimizer: SgdConfig::new().init(),
			load: vec![0.0; config.gate_width],
			records: JoinRecords::default(),
			rng: Rng::new(seed ^ 0x6a7e),
			config,
			device,
			step: 0,
		}
	}

	/// Forgets what the gate learned of `uid`'s output, its load and its record: for a uid that
	/// changed hands.
	pub fn forget_peer(&mut self, uid: u16) {
		let column = usize::from(uid) % self.config.gate_width.max(1);
		self.model.reset_gate_column(column);
		if let Some(load) = self.load.get_mut(column) {
			*load = 0.0;
		}
		self.records.forget(usize::from(uid));
	}

	/// Charges `peer` with an answer that broke the protocol, which the caller refused before
	/// the trainer saw it (the dendrite's invalid responses): it is dropped from the join, as
	/// one the trainer refuses itself is. Returns whether this dropped it.
	pub fn refuse(&mut self, peer: usize, error: TensorError) -> bool {
		self.records.observe(peer, &PeerOutcome::Refused(error), self.step)
	}

	/// The device the model lives on.
	pub fn device(&self) -> &Device {
		&self.device
	}

	/// Runs the encoder and the gate on `batch` and chooses up to `top_k` peers among
	/// `candidates` (peer ids, their uids: id `u` is scored by gate output `u % gate_width`):
	/// the highest gate scores averaged over the batch, plus [`EXPLORATION`] × Gumbel noise,
	/// less [`LOAD_BALANCE`] × each output's recent share of choices. Candidates the trainer
	/// dropped from the join are left out.
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
		let mut ranked: Vec<usize> = (0..candidates.len())
			.filter(|i| self.records.joinable(candidates[*i], self.step))
			.collect();
		ranked.sort_by(|a, b| scores[*b].total_cmp(&scores[*a]));
		ranked.truncate(self.config.top_k);
		let columns: Vec<usize> = ranked.iter().map(|i| candidates[*i] % width).collect();
		let peers: Vec<usize> = ranked.iter().map(|i| candidates[*i]).collect();
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
			peers,
			chosen: ranked,
		}
	}

	/// Finishes a step with the chosen peers' answers (`None` offline): computes the losses,
	/// and the gradients for the peers, and updates the model, unless the step fails
	/// [`check_step`]. Answers that break the protocol's bound are left out of the join, the
	/// rest scaled to unit RMS per position; every chosen peer's outcome goes on its record.
	pub fn finish(&mut self, pending: PendingStep, answers: Option<&RemoteAnswers>) -> StepReport {
		self.finish_with(pending, answers, None)
	}

	/// [`Trainer::finish`], the student also distilling `lesson` (a lesson whose teacher does
	/// not fit its text is left out).
	pub fn finish_with(
		&mut self,
		pending: PendingStep,
		answers: Option<&RemoteAnswers>,
		lesson: Option<&Lesson>,
	) -> StepReport {
		let PendingStep { h, gate_logits, targets, batch, seq, columns, peers, .. } = pending;
		let local_loss = cross_entropy(self.model.local_logits(h.clone()), targets.clone());
		// The student learns on the encoder's features without moving them: only the local loss
		// (and, with peers, the network loss) trains the encoder, so what the student is taught
		// never costs the local model, the student's own expert, its own kind of text.
		let features = h.clone().detach();
		let distilled = self.model.distill(features.clone());
		let student_loss = target_loss(&self.model, &features, distilled.clone(), &targets);
		let mut report = StepReport {
			local_loss: scalar(&local_loss),
			student_loss: scalar(&student_loss),
			tokens: batch * seq,
			..Default::default()
		};
		let mut total = local_loss + student_loss;
		if let Some(lesson) = lesson.filter(|lesson| lesson.fits()) {
			let loss = self.lesson_loss(lesson);
			report.lesson_loss = Some(scalar(&loss));
			total = total + loss;
		}

		let answers = answers.filter(|answers| answers.of(columns.len()));
		let left_out = answers.map(|answers| answers.left_out(batch * seq * REPRESENTATION_DIM));
		let joinable = answers.zip(left_out.as_ref()).filter(|(_, out)| out.contains(&None));
		let gated = joinable.map(|(answers, left_out)| {
			GatedAnswers::new(gate_logits, &columns, answers, left_out, [batch, seq], &self.device)
		});
		let mut benefits = Vec::new();
		if let Some(gated) = &gated {
			let logits = self.model.target_logits(h.clone(), gated.joined.clone());
			let network_loss = cross_entropy(logits.clone(), targets.clone());
			let distillation_loss = distillation_error(distilled, &gated.joined);
			let network = scalar(&network_loss);
			report.network_loss = Some(network);
			report.distillation_loss = Some(scalar(&distillation_loss));
			report.gate_weights = batch_mean(gated.weights.clone());
			benefits = gated.benefits(&self.model, logits, &targets, network);
			total = total + network_loss + distillation_loss;
		}
		// A peer is joined only where the gate joined some: then there is a benefit per peer.
		report.peers = left_out
			.unwrap_or_default()
			.into_iter()
			.enumerate()
			.map(|(peer, out)| {
				let benefit = benefits.get(peer).copied().unwrap_or_default();
				out.unwrap_or(PeerOutcome::Joined { benefit })
			})
			.collect();

		let mut grads = total.backward();
		let remote_grads = gated.map(|gated| gated.gradients(&mut grads)).unwrap_or_default();
		let grads = GradientsParams::from_grads(grads, &self.model);
		report.skipped = check_step(&report.losses(), gradient_norm(&grads, &self.model)).err();
		for (peer, outcome) in peers.iter().zip(&report.peers) {
			let measured =
				report.skipped.is_none() || !matches!(outcome, PeerOutcome::Joined { .. });
			if measured && self.records.observe(*peer, outcome, self.step) {
				report.dropped.push(*peer);
			}
		}
		if report.skipped.is_none() {
			report.remote_grads = remote_grads;
			self.descend(grads);
		}
		report
	}

	/// The student's cross-entropy against the teacher's distribution on `lesson`'s text.
	fn lesson_loss(&self, lesson: &Lesson) -> Tensor<1> {
		let batch = &lesson.batch;
		let tokens = tokens_tensor(&batch.inputs, batch.batch, batch.seq, &self.device);
		// The lesson teaches the student, not the encoder: the local model, which the neuron
		// serves and which is its own expert in the student, keeps to its own kind of text.
		let h = self.model.encoder.forward(tokens).detach();
		let student = self.model.target_logits(h.clone(), self.model.distill(h));
		let rows = batch.batch * batch.seq;
		let teacher = Tensor::<2>::from_data(
			TensorData::new(lesson.teacher.clone(), [rows, VOCAB_SIZE]),
			&self.device,
		)
		.exp();
		(log_softmax(student, 1) * teacher).sum_dim(1).mean().neg()
	}

	/// The local model's next-byte log-probabilities of `batch` ([batch · seq, vocab] values):
	/// what the neuron answers a peer that asks for its predictions. Reads the model only.
	pub fn predict(&self, batch: &Batch) -> Vec<f32> {
		let model = self.model.valid();
		let device = self.device.clone().inner();
		let tokens = tokens_tensor(&batch.inputs, batch.batch, batch.seq, &device);
		float_values(log_softmax(model.local_logits(model.encoder.forward(tokens)), 1))
	}

	/// The student's next-byte log-probabilities of `batch` ([batch · seq, vocab] values): the
	/// model that runs offline. It is two experts joined as the network joins its peers
	/// ([`mix_from`]): the local model, and the local model corrected by the target head on the
	/// distilled context (what the lessons taught it of other text), every row starting from
	/// [`STUDENT_PRIOR`]. On the neuron's own kind of text the local expert keeps the weight, on
	/// other kinds the corrected one takes it within a few bytes, so what the student learns of
	/// its peers' text costs it next to nothing on its own. Reads the model only.
	pub fn predict_student(&self, batch: &Batch) -> Vec<f32> {
		let model = self.model.valid();
		let device = self.device.clone().inner();
		let tokens = tokens_tensor(&batch.inputs, batch.batch, batch.seq, &device);
		let h = model.encoder.forward(tokens);
		let local = float_values(log_softmax(model.local_logits(h.clone()), 1));
		let corrected =
			float_values(log_softmax(model.target_logits(h.clone(), model.distill(h)), 1));
		mix_from(&[&local, &corrected], &STUDENT_PRIOR, &batch.targets, batch.seq)
	}

	/// One Adam step of the model on the step's gradients; counts the step.
	fn descend(&mut self, grads: GradientsParams) {
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

	/// The first parameter of the model that holds a NaN or an infinity, if any.
	pub fn check_parameters(&self) -> Result<(), NonFiniteParameter> {
		check_parameters(&self.model)
	}

	/// Saves the model and both optimizers' states (burnpack files) in `dir`; refuses, before
	/// writing anything, a model with a parameter that is not finite
	/// ([`NonFiniteParameter`], as a [`RecordError::Validation`]).
	pub fn save(&self, dir: &Path) -> Result<(), RecordError> {
		self.check_parameters()?;
		self.model.clone().save_file(dir.join("model.bpk"))?;
		self.optimizer.save(dir.join("optimizer.bpk"))?;
		self.remote_optimizer.save(dir.join("remote_optimizer.bpk"))
	}

	/// Loads what [`Trainer::save`] wrote in `dir`; the step count is the caller's to restore.
	pub fn load(&mut self, dir: &Path) -> Result<(), RecordError> {
		self.model = self.model.clone().try_load_file(dir.join("model.bpk"))?;
		let optimizer = std::mem::replace(&mut self.optimizer, adam());
		self.optimizer = optimizer.load(dir.join("optimizer.bpk"))?;
		let remote = std::mem::replace(&mut self.remote_optimizer, SgdConfig::new().init());
		self.remote_optimizer = remote.load(dir.join("remote_optimizer.bpk"))?;
		Ok(())
	}

	/// Mean held-out losses over `batches`, without updating anything.
	pub fn evaluate(&self, batches: &[Batch]) -> Evaluation {
		let (mut local, mut student) = (0.0, 0.0);
		for batch in batches {
			local += mixture::cross_entropy(&self.predict(batch), &batch.targets);
			student += mixture::cross_entropy(&self.predict_student(batch), &batch.targets);
		}
		let n = batches.len().max(1) as f32;
		Evaluation { local_loss: local / n, student_loss: student / n }
	}

	/// Held-out network loss with the given remote answers per batch (for tests and reports),
	/// the answers bounded and normalised as a step joins them.
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
		let left_out = answers.left_out(b * s * d);
		let remote = normalise(remote_tensor(answers, &left_out, [k, b, s, d], &device));
		let masked: Vec<bool> = left_out.iter().map(Option::is_some).collect();
		let (_, joined) = join(model.gate_logits(h.clone()), remote, columns, &masked);
		scalar(&target_loss(&model, &h, joined, &targets))
	}
}

#[cfg(test)]
mod tests {
	use burn::module::{ModuleVisitor, Param};

	use super::*;
	use crate::{
		data::corpus::Corpus,
		net::{
			protocol::{check_answer, MAX_ANSWER_ABS},
			served_model::{EmbeddingModel, Model},
		},
		nucleus::guard::MAX_GRADIENT_NORM,
	};

	const BATCH: usize = 4;
	const SEQ: usize = 32;
	const SIZE: usize = BATCH * SEQ * REPRESENTATION_DIM;

	fn small() -> NucleusConfig {
		NucleusConfig { gate_width: 8, ..NucleusConfig::default() }
	}

	fn joined(representations: Vec<Vec<f32>>) -> RemoteAnswers {
		RemoteAnswers { masked: vec![false; representations.len()], representations }
	}

	/// Every parameter's values, bit for bit (NaN equal to itself).
	#[derive(Default)]
	struct Bits(Vec<u32>);

	impl ModuleVisitor for Bits {
		fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
			self.0.extend(float_values(param.val()).iter().map(|v| v.to_bits()));
		}
	}

	fn bits(trainer: &Trainer) -> Vec<u32> {
		let mut bits = Bits::default();
		trainer.model.visit(&mut bits);
		bits.0
	}

	fn assert_finite(report: &StepReport) {
		assert!(report.skipped.is_none(), "{report:?}");
		let losses = report.losses();
		assert!(losses.iter().all(|(_, loss)| loss.is_finite()), "{losses:?}");
	}

	/// `STEPS` steps with two honest peers (uids 0 and 1) and, with `poison`, a third (uid 2)
	/// whose answer at step `i` is `poison(i, j)` at element `j`: every loss and parameter stays
	/// finite. Returns the held-out losses (local, student, and network with the honest peers)
	/// and the poisoner's outcomes.
	fn train_beside(poison: Option<fn(usize, usize) -> f32>) -> ([f32; 3], Vec<PeerOutcome>) {
		const STEPS: usize = 30;
		let corpus = Corpus::synthetic(30_000, 21);
		let mut trainer = Trainer::new(small(), &Device::flex(), 21);
		let peers = [EmbeddingModel::new(1), EmbeddingModel::new(2)];
		let honest = |batch: &Batch, peer: &EmbeddingModel| {
			peer.forward(&batch.inputs, batch.batch, batch.seq).unwrap()
		};
		let mut rng = Rng::new(21);
		let mut outcomes = Vec::new();
		for step in 0..STEPS {
			let batch = Batch::sample(&corpus.train, BATCH, SEQ, &mut rng);
			let pending =
				trainer.begin(&batch, if poison.is_some() { &[0, 1, 2] } else { &[0, 1] });
			let chosen = pending.chosen.clone();
			let answers = chosen
				.iter()
				.map(|peer| match (peers.get(*peer), poison) {
					(Some(peer), _) => honest(&batch, peer),
					(None, Some(poison)) => (0..SIZE).map(|j| poison(step, j)).collect(),
					(None, None) => unreachable!("only honest candidates"),
				})
				.collect();
			let report = trainer.finish(pending, Some(&joined(answers)));
			assert_finite(&report);
			outcomes.extend(
				chosen
					.iter()
					.zip(&report.peers)
					.filter(|(p, _)| **p == 2)
					.map(|(_, o)| o.clone()),
			);
		}
		assert_eq!(trainer.check_parameters(), Ok(()));
		let held_out = Batch::consecutive(&corpus.held_out, BATCH, SEQ, 4);
		let evaluation = trainer.evaluate(&held_out);
		let network = held_out
			.iter()
			.map(|batch| {
				let answers = joined(peers.iter().map(|peer| honest(batch, peer)).collect());
				trainer.evaluate_network(batch, &answers, &[0, 1])
			})
			.sum::<f32>()
			/ held_out.len() as f32;
		([evaluation.local_loss, evaluation.student_loss, network], outcomes)
	}

	/// A teacher sure of one byte after every position: `byte` with probability 0.9.
	fn sure_teacher(positions: usize, byte: usize) -> Vec<f32> {
		let rest = (0.1f32 / (VOCAB_SIZE - 1) as f32).ln();
		let mut teacher = vec![rest; positions * VOCAB_SIZE];
		for position in 0..positions {
			teacher[position * VOCAB_SIZE + byte] = 0.9f32.ln();
		}
		teacher
	}

	#[test]
	fn the_student_learns_a_lesson_and_the_local_model_does_not() {
		let corpus = Corpus::synthetic(20_000, 31);
		let mut trainer = Trainer::new(small(), &Device::flex(), 31);
		let mut rng = Rng::new(31);
		let text = Batch::sample(&corpus.train, BATCH, SEQ, &mut rng);
		let lesson = Lesson { teacher: sure_teacher(BATCH * SEQ, usize::from(b'#')), batch: text };
		let probability = |values: &[f32]| {
			values.chunks(VOCAB_SIZE).map(|p| p[usize::from(b'#')].exp()).sum::<f32>()
				/ (BATCH * SEQ) as f32
		};
		let mut first = None;
		for _ in 0..20 {
			let batch = Batch::sample(&corpus.train, BATCH, SEQ, &mut rng);
			let pending = trainer.begin(&batch, &[]);
			let report = trainer.finish_with(pending, None, Some(&lesson));
			first.get_or_insert(report.lesson_loss.expect("a lesson that fits is learnt"));
			assert!(report.losses().iter().any(|(name, _)| *name == "lesson"));
		}
		let pending = trainer.begin(&lesson.batch, &[]);
		let last = trainer.finish_with(pending, None, Some(&lesson));
		assert!(last.lesson_loss < first, "{last:?} against {first:?}");
		// '#' is never in the synthetic text: only the lesson teaches it, and only the student,
		// which predicts it where the text goes as the lesson did (its corrected expert then
		// carries the weight).
		let as_taught =
			Batch { targets: vec![i64::from(b'#'); BATCH * SEQ], ..lesson.batch.clone() };
		assert!(probability(&trainer.predict_student(&as_taught)) > 0.3);
		assert!(probability(&trainer.predict(&lesson.batch)) < 0.05);
	}

	#[test]
	fn lessons_leave_the_local_model_as_it_would_be_alone() {
		let corpus = Corpus::synthetic(20_000, 34);
		let [mut taught, mut alone] = [0, 1].map(|_| Trainer::new(small(), &Device::flex(), 34));
		let mut rng = Rng::new(34);
		let text = Batch::sample(&corpus.train, BATCH, SEQ, &mut rng);
		let lesson = Lesson { teacher: sure_teacher(BATCH * SEQ, usize::from(b'#')), batch: text };
		for _ in 0..5 {
			let batch = Batch::sample(&corpus.train, BATCH, SEQ, &mut rng);
			let pending = taught.begin(&batch, &[]);
			assert_finite(&taught.finish_with(pending, None, Some(&lesson)));
			assert_finite(&alone.step_offline(&batch));
		}
		let local = |trainer: &Trainer| {
			trainer.predict(&lesson.batch).iter().map(|v| v.to_bits()).collect::<Vec<_>>()
		};
		assert_eq!(local(&taught), local(&alone));
		assert_ne!(bits(&taught), bits(&alone), "the lessons taught the student");
	}

	#[test]
	fn a_lesson_that_does_not_fit_its_text_is_left_out() {
		let corpus = Corpus::synthetic(20_000, 32);
		let mut trainer = Trainer::new(small(), &Device::flex(), 32);
		let batch = Batch::sample(&corpus.train, BATCH, SEQ, &mut Rng::new(32));
		let mut teacher = sure_teacher(BATCH * SEQ, 65);
		teacher.pop();
		let short = Lesson { batch: batch.clone(), teacher };
		let mut broken = Lesson { batch: batch.clone(), teacher: sure_teacher(BATCH * SEQ, 65) };
		broken.teacher[7] = f32::NAN;
		for lesson in [short, broken] {
			let pending = trainer.begin(&batch, &[]);
			let report = trainer.finish_with(pending, None, Some(&lesson));
			assert_eq!(report.lesson_loss, None);
			assert_finite(&report);
		}
	}

	#[test]
	fn predictions_are_log_probabilities_and_a_new_student_predicts_as_the_local_model() {
		let corpus = Corpus::synthetic(20_000, 33);
		let trainer = Trainer::new(small(), &Device::flex(), 33);
		let batch = Batch::sample(&corpus.train, BATCH, SEQ, &mut Rng::new(33));
		let local = trainer.predict(&batch);
		assert_eq!(local.len(), BATCH * SEQ * VOCAB_SIZE);
		for position in local.chunks(VOCAB_SIZE) {
			let total: f32 = position.iter().map(|v| v.exp()).sum();
			assert!((total - 1.0).abs() < 1e-4, "{total}");
		}
		// The target head starts at zero: the correction it adds is nothing yet.
		let student = trainer.predict_student(&batch);
		assert!(local.iter().zip(&student).all(|(a, b)| (a - b).abs() < 1e-5));
	}

	/// Held-out losses within this of the run without the poisoner (nats per byte).
	const MARGIN: f32 = 0.05;

	fn assert_near(poisoned: [f32; 3], clean: [f32; 3]) {
		println!("held-out local, student, network: poisoned {poisoned:?}, clean {clean:?}");
		for (a, b) in poisoned.iter().zip(clean) {
			assert!((a - b).abs() < MARGIN, "poisoned {poisoned:?} against clean {clean:?}");
		}
	}

	#[test]
	fn a_peer_answering_3e38_everywhere_cannot_poison_the_model() {
		let (clean, _) = train_beside(None);
		let (poisoned, outcomes) = train_beside(Some(|_, _| 3e38));
		assert_near(poisoned, clean);
		assert!(
			matches!(&outcomes[..], [PeerOutcome::Refused(TensorError::OutOfBound { value, .. })] if *value == 3e38),
			"refused once, then dropped: {outcomes:?}"
		);
	}

	#[test]
	fn a_peer_answering_exploding_values_cannot_poison_the_model() {
		// ±1 at the first step, ten times more every second step: finite, never NaN.
		let (clean, _) = train_beside(None);
		let (poisoned, outcomes) = train_beside(Some(
			|step, j| if j % 3 == 0 { -1.0 } else { 1.0 } * 10f32.powi(step as i32 / 2),
		));
		assert_near(poisoned, clean);
		// Normalised while within the bound (10⁴ at steps 8 and 9), refused beyond it, then
		// dropped.
		assert_eq!(outcomes.len(), 11, "{outcomes:?}");
		assert!(
			outcomes[..10].iter().all(|o| matches!(o, PeerOutcome::Joined { .. })),
			"{outcomes:?}"
		);
		assert!(matches!(outcomes[10], PeerOutcome::Refused(TensorError::OutOfBound { .. })));
	}

	#[test]
	fn a_step_whose_loss_is_not_finite_is_skipped_and_names_the_bad_peer() {
		let corpus = Corpus::synthetic(20_000, 22);
		let mut trainer = Trainer::new(small(), &Device::flex(), 22);
		let mut rng = Rng::new(22);
		for _ in 0..2 {
			trainer.step_offline(&Batch::sample(&corpus.train, BATCH, SEQ, &mut rng));
		}
		// A twin with the same model and optimizer state.
		let dir = tempfile::tempdir().unwrap();
		trainer.save(dir.path()).unwrap();
		let mut twin = Trainer::new(small(), &Device::flex(), 99);
		twin.load(dir.path()).unwrap();

		// A NaN in the target head, and a peer answering NaN beside an honest one.
		let bias = trainer.model.target_head.bias.clone().unwrap();
		trainer.model.target_head.bias = Some(bias.clone().map(|b| b.mul_scalar(f32::NAN)));
		let before = bits(&trainer);
		let batch = Batch::sample(&corpus.train, BATCH, SEQ, &mut rng);
		let pending = trainer.begin(&batch, &[3, 4]);
		let nan_peer = pending.peers.iter().position(|p| *p == 4).unwrap();
		let mut answers =
			vec![EmbeddingModel::new(3).forward(&batch.inputs, BATCH, SEQ).unwrap(); 2];
		answers[nan_peer][17] = f32::NAN;
		let report = trainer.finish(pending, Some(&joined(answers)));
		assert!(
			matches!(report.skipped, Some(StepFault::NonFiniteLoss { which: "student", .. })),
			"{:?}",
			report.skipped
		);
		assert_eq!(bits(&trainer), before, "no parameter moved");
		assert_eq!(trainer.step, 2, "the step is not counted");
		assert!(report.remote_grads.is_empty(), "no gradient goes back from a skipped step");
		assert!(matches!(
			report.peers[nan_peer],
			PeerOutcome::Refused(TensorError::NotFinite { index: 17, .. })
		));
		assert!(matches!(report.peers[1 - nan_peer], PeerOutcome::Joined { .. }));
		assert_eq!(report.dropped, vec![4], "the bad peer is named and dropped");

		// The optimizer is as it was: with the parameter restored, the next step is the twin's.
		trainer.model.target_head.bias = Some(bias);
		let batch = Batch::sample(&corpus.train, BATCH, SEQ, &mut rng);
		assert_finite(&trainer.step_offline(&batch));
		assert_finite(&twin.step_offline(&batch));
		let held_out = Batch::consecutive(&corpus.held_out, BATCH, SEQ, 2);
		let (a, b) = (trainer.evaluate(&held_out), twin.evaluate(&held_out));
		assert!((a.local_loss - b.local_loss).abs() < 1e-5, "{a:?} against {b:?}");
		assert!((a.student_loss - b.student_loss).abs() < 1e-5, "{a:?} against {b:?}");
	}

	#[test]
	fn a_step_whose_gradient_explodes_is_skipped() {
		let corpus = Corpus::synthetic(20_000, 23);
		let mut trainer = Trainer::new(small(), &Device::flex(), 23);
		let weight = trainer.model.local_head.weight.clone();
		trainer.model.local_head.weight = weight.map(|w| w.mul_scalar(1e6));
		let before = bits(&trainer);
		let report =
			trainer.step_offline(&Batch::sample(&corpus.train, BATCH, SEQ, &mut Rng::new(23)));
		assert!(report.local_loss.is_finite(), "{report:?}");
		assert!(
			matches!(report.skipped, Some(StepFault::ExplodingGradient(norm)) if norm > MAX_GRADIENT_NORM),
			"{:?}",
			report.skipped
		);
		assert_eq!(bits(&trainer), before);
		assert_eq!(trainer.step, 0);
	}

	#[test]
	fn the_drop_rule_drops_a_peer_that_hurts_and_keeps_a_helpful_one() {
		// Uid 0 embeds the next byte (as helpful as a peer can be); uid 8 shares its gate output
		// (8 = 0 modulo the gate's width), so the gate cannot weigh the two apart, and embeds
		// random bytes in uid 0's code; uid 1 embeds the current byte.
		let corpus = Corpus::synthetic(20_000, 24);
		let mut trainer = Trainer::new(small(), &Device::flex(), 24);
		let (code, other) = (EmbeddingModel::new(5), EmbeddingModel::new(6));
		let mut rng = Rng::new(24);
		let mut lies = Rng::new(25);
		let mut dropped_at = None;
		for step in 0..40 {
			let batch = Batch::sample(&corpus.train, BATCH, SEQ, &mut rng);
			let candidates = [0, 1, 8];
			let pending = trainer.begin(&batch, &candidates);
			let peers: Vec<usize> = pending.chosen.iter().map(|i| candidates[*i]).collect();
			if dropped_at.is_some() {
				assert!(!peers.contains(&8), "a dropped peer is not chosen: {peers:?}");
			}
			let answers = peers
				.iter()
				.map(|peer| match peer {
					0 => code.forward(&batch.targets, BATCH, SEQ).unwrap(),
					1 => other.forward(&batch.inputs, BATCH, SEQ).unwrap(),
					_ => {
						let random: Vec<i64> =
							batch.inputs.iter().map(|_| (lies.next_u64() % 256) as i64).collect();
						code.forward(&random, BATCH, SEQ).unwrap()
					},
				})
				.collect();
			let report = trainer.finish(pending, Some(&joined(answers)));
			assert_finite(&report);
			assert!(!report.dropped.contains(&0) && !report.dropped.contains(&1), "{report:?}");
			if report.dropped.contains(&8) {
				dropped_at = Some(step);
			}
		}
		assert!(dropped_at.is_some(), "the liar is dropped");
		assert!(
			trainer.records.joinable(0, trainer.step) && trainer.records.joinable(1, trainer.step)
		);
	}

	#[test]
	fn a_refused_peer_is_left_out_until_it_changes_hands() {
		let corpus = Corpus::synthetic(5_000, 26);
		let mut trainer = Trainer::new(small(), &Device::flex(), 26);
		let batch = Batch::sample(&corpus.train, BATCH, SEQ, &mut Rng::new(26));
		let error = TensorError::OutOfBound { what: "representation", index: 0, value: 3e38 };
		assert!(trainer.refuse(5, error.clone()), "dropped");
		assert!(!trainer.refuse(5, error), "dropped once");
		assert_eq!(trainer.begin(&batch, &[5, 6]).chosen, vec![1]);
		trainer.forget_peer(5);
		assert_eq!(trainer.begin(&batch, &[5, 6]).chosen.len(), 2, "a new owner is joined");

		// An answer of the wrong length is refused, not a panic.
		let pending = trainer.begin(&batch, &[5, 6]);
		let report = trainer.finish(pending, Some(&joined(vec![vec![0.5; SIZE], vec![0.5; 3]])));
		assert!(matches!(report.peers[1], PeerOutcome::Refused(TensorError::WrongLength { .. })));
		assert!(matches!(report.peers[0], PeerOutcome::Joined { .. }));
		assert_finite(&report);
	}

	#[test]
	fn honest_encoder_output_passes_the_bound_by_orders_of_magnitude_and_keeps_its_scale() {
		let corpus = Corpus::synthetic(20_000, 27);
		let mut trainer = Trainer::new(small(), &Device::flex(), 27);
		let mut rng = Rng::new(27);
		let batch = Batch::sample(&corpus.train, BATCH, SEQ, &mut rng);
		for trained in [false, true] {
			if trained {
				for _ in 0..20 {
					trainer.step_offline(&Batch::sample(&corpus.train, BATCH, SEQ, &mut rng));
				}
			}
			let device = trainer.device.clone().inner();
			let tokens = tokens_tensor(&batch.inputs, BATCH, SEQ, &device);
			let h = trainer.model.valid().encoder.forward(tokens);
			let values = float_values(h.clone());
			assert_eq!(check_answer(&values), Ok(()));
			let largest = values.iter().fold(0f32, |m, v| m.max(v.abs()));
			assert!(largest * 1000.0 < MAX_ANSWER_ABS, "largest element {largest}");
			let normalised =
				float_values(normalise(h.reshape([1, BATCH, SEQ, REPRESENTATION_DIM])));
			let moved = values.iter().zip(&normalised).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
			assert!(moved < 0.1 * largest, "normalising moved an element by {moved}");
		}
	}

	#[test]
	fn save_refuses_a_model_with_a_nan_parameter() {
		let mut trainer = Trainer::new(small(), &Device::flex(), 28);
		let dir = tempfile::tempdir().unwrap();
		trainer.save(dir.path()).unwrap();
		let weight = trainer.model.distill_out.weight.clone();
		trainer.model.distill_out.weight = weight.map(|w| w.slice_fill([0..1, 3..4], f32::NAN));
		let error = trainer.check_parameters().unwrap_err();
		assert_eq!(error.path, "distill_out.weight");
		assert_eq!(error.index, 3);
		assert!(error.value.is_nan());
		let fresh = tempfile::tempdir().unwrap();
		match trainer.save(fresh.path()) {
			Err(RecordError::Validation(message)) => {
				assert_eq!(message, error.to_string());
				assert!(message.contains("not finite"), "{message}");
			},
			other => panic!("{other:?}"),
		}
		assert_eq!(std::fs::read_dir(fresh.path()).unwrap().count(), 0, "nothing written");
	}
}
