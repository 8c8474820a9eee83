//! The nucleus: the neuron's learning model (seed 004, sections 05–08), in burn.
//!
//! - The **encoder** is a byte-level causal transformer; its output `h` ([batch, seq, d]) is the
//!   representation the axon serves to other peers, and a local head predicts the next byte from it
//!   (the *local loss*).
//! - The **gate** reads the input (`h` averaged over the sequence) and scores every peer it can
//!   route to; the trainer queries the top k and joins their representations with the softmax of
//!   their scores, failed peers masked out (their scores set to `-1e9` before the softmax).
//! - The **target head** predicts the next byte from `[h, joined]` (the *network loss*). Its
//!   gradient with respect to each peer's representation goes back to that peer (Backward).
//! - The **distillation** network learns to imitate `joined` from `h` (mean squared error) and the
//!   target head is trained on `[h, distilled]` as well (the *student loss*), so the neuron keeps
//!   working, and can run fully offline, without its peers. The student reads `h` held fixed: what
//!   it learns never moves the local model, which the neuron serves.
//! - The gate **explores**: peers are chosen by their gate score plus Gumbel noise, less a penalty
//!   for how often each was chosen lately, so that it does not lock onto one favourite. Scoring
//!   (what peers are paid) is apart from all this, in [`crate::scoring`].
//!
//! What a peer's answers can do to the model is bounded ([`guard`]): answers beyond the
//! protocol's bound are refused, the rest scaled to unit RMS per position before the join; a
//! step whose loss or gradient is not finite is skipped, and a peer whose answers make the
//! network loss worse is dropped from the join.
//!
//! How the axon serves the encoder (or, in a test mode, an adversary in its place) is in
//! [`serving`].

use burn::{
	config::Config,
	module::{Module, ModuleVisitor, Param},
	nn::{
		attention::generate_autoregressive_mask,
		transformer::{TransformerEncoder, TransformerEncoderConfig, TransformerEncoderInput},
		Embedding, EmbeddingConfig, Initializer, LayerNorm, LayerNormConfig, Linear, LinearConfig,
	},
	prelude::*,
	tensor::activation::gelu,
};

use crate::net::protocol::{REPRESENTATION_DIM, VOCAB_SIZE};

pub mod grads;
pub mod guard;
pub mod join;
pub mod mixture;
pub mod serving;
pub mod trainer;

pub use grads::{add_scaled, gradient_norm};
pub use guard::{NonFiniteParameter, PeerOutcome, StepFault};
pub use join::RemoteAnswers;
pub use trainer::{Evaluation, Lesson, PendingStep, StepReport, Trainer};

/// The shape and learning rates of a nucleus; saved beside every checkpoint, so that a
/// checkpoint is never loaded into a model of another shape.
#[derive(Config, Debug, PartialEq)]
pub struct NucleusConfig {
	/// Transformer layers.
	#[config(default = 2)]
	pub layers: usize,
	/// Attention heads.
	#[config(default = 4)]
	pub heads: usize,
	/// Width of the feed-forward layers.
	#[config(default = "4 * REPRESENTATION_DIM")]
	pub feed_forward: usize,
	/// Longest sequence the encoder accepts (learned positions).
	#[config(default = 256)]
	pub context: usize,
	/// Number of gate outputs: a peer with uid `u` is scored by output `u % gate_width`.
	#[config(default = 256)]
	pub gate_width: usize,
	/// Peers queried per step.
	#[config(default = 4)]
	pub top_k: usize,
	/// Adam's learning rate for the local, network, distillation and student losses.
	#[config(default = 1e-3)]
	pub learning_rate: f64,
	/// SGD's learning rate for gradients that callers send back (seed 001, equation 3).
	#[config(default = 1e-2)]
	pub remote_learning_rate: f64,
}

impl Default for NucleusConfig {
	fn default() -> Self {
		Self::new()
	}
}

impl NucleusConfig {
	/// Whether a model of `other` has the same parameters as one of `self`: what loading a
	/// checkpoint needs (the learning rates and `top_k` may change between runs).
	pub fn same_shape(&self, other: &Self) -> bool {
		(self.layers, self.heads, self.feed_forward, self.context, self.gate_width)
			== (other.layers, other.heads, other.feed_forward, other.context, other.gate_width)
	}
}

/// The byte-level causal transformer whose output is served to peers.
#[derive(Module, Debug)]
pub struct Encoder {
	tokens: Embedding,
	positions: Embedding,
	transformer: TransformerEncoder,
	norm: LayerNorm,
}

impl Encoder {
	fn new(config: &NucleusConfig, device: &Device) -> Self {
		Self {
			tokens: EmbeddingConfig::new(VOCAB_SIZE, REPRESENTATION_DIM).init(device),
			positions: EmbeddingConfig::new(config.context, REPRESENTATION_DIM).init(device),
			transformer: TransformerEncoderConfig::new(
				REPRESENTATION_DIM,
				config.feed_forward,
				config.heads,
				config.layers,
			)
			.with_dropout(0.0)
			.with_norm_first(true)
			.init(device),
			norm: LayerNormConfig::new(REPRESENTATION_DIM).init(device),
		}
	}

	/// The representation of `tokens` ([batch, seq] → [batch, seq, d]); position `t` depends
	/// only on tokens `0..=t`.
	pub fn forward(&self, tokens: Tensor<2, Int>) -> Tensor<3> {
		let [batch, seq] = tokens.dims();
		let device = tokens.device();
		let positions = Tensor::<1, Int>::arange(0..seq as i64, &device)
			.reshape([1, seq])
			.repeat_dim(0, batch);
		let x = self.tokens.forward(tokens) + self.positions.forward(positions);
		let mask = generate_autoregressive_mask(batch, seq, &device);
		self.norm
			.forward(self.transformer.forward(TransformerEncoderInput::new(x).mask_attn(mask)))
	}
}

/// The whole model: encoder, local head, gate, distillation network and target head.
#[derive(Module, Debug)]
pub struct Nucleus {
	/// The served part.
	pub encoder: Encoder,
	local_head: Linear,
	gate: Linear,
	distill_hidden: Linear,
	distill_out: Linear,
	target_head: Linear,
}

impl Nucleus {
	/// A freshly initialised nucleus on `device`.
	pub fn new(config: &NucleusConfig, device: &Device) -> Self {
		let d = REPRESENTATION_DIM;
		let nucleus = Self {
			encoder: Encoder::new(config, device),
			local_head: LinearConfig::new(d, VOCAB_SIZE).init(device),
			gate: LinearConfig::new(d, config.gate_width).init(device),
			distill_hidden: LinearConfig::new(d, d).init(device),
			distill_out: LinearConfig::new(d, d).init(device),
			// At first the correction is nothing: a new model's target head predicts as its
			// local head does, and learns only what the context adds.
			target_head: LinearConfig::new(2 * d, VOCAB_SIZE)
				.with_initializer(Initializer::Zeros)
				.init(device),
		};
		nucleus.visit(&mut DrawNow);
		nucleus
	}

	/// Gate scores of every gate output, from the input: [batch, gate_width].
	fn gate_logits(&self, h: Tensor<3>) -> Tensor<2> {
		self.gate.forward(h.mean_dim(1).squeeze_dim::<2>(1))
	}

	/// The distillation network's imitation of the joined remote representation.
	fn distill(&self, h: Tensor<3>) -> Tensor<3> {
		self.distill_out.forward(gelu(self.distill_hidden.forward(h)))
	}

	/// Next-byte logits from the local representation alone: [batch·seq, vocab].
	fn local_logits(&self, h: Tensor<3>) -> Tensor<2> {
		let [batch, seq, _] = h.dims();
		self.local_head.forward(h).reshape([batch * seq, VOCAB_SIZE])
	}

	/// Forgets what the gate learned of `column`: for a uid that changed hands.
	pub fn reset_gate_column(&mut self, column: usize) {
		let [d, width] = self.gate.weight.dims();
		if column >= width {
			return;
		}
		let weight = self.gate.weight.clone().map(|w| {
			let device = w.device();
			w.slice_assign([0..d, column..column + 1], Tensor::zeros([d, 1], &device))
		});
		self.gate.weight = weight;
		if let Some(bias) = self.gate.bias.take() {
			self.gate.bias = Some(bias.map(|b| {
				let device = b.device();
				b.slice_assign(column..column + 1, Tensor::zeros([1], &device))
			}));
		}
	}

	/// The target head's logits from a context alone ([rows, d] → [rows, vocab]: no `h`, no
	/// bias, no gradient). The network logits are linear in the joined context, so this of a
	/// peer's weighted answer is its term in them.
	fn context_term(&self, context: Tensor<2>) -> Tensor<2> {
		let d = REPRESENTATION_DIM;
		context.matmul(self.target_head.weight.val().detach().slice([d..2 * d, 0..VOCAB_SIZE]))
	}

	/// Next-byte logits from the local representation and a context (joined or distilled):
	/// the local head's logits, held fixed, plus the target head's correction from `[h,
	/// context]`. The local head learns from the local loss alone; the target head learns only
	/// what the context adds, so that a model with a context is never worse than without one
	/// for long, and what it learns of other text (a student's lessons) corrects the local
	/// prediction rather than replacing it.
	fn target_logits(&self, h: Tensor<3>, context: Tensor<3>) -> Tensor<2> {
		let [batch, seq, _] = h.dims();
		let local = self.local_logits(h.clone()).detach();
		let correction = self
			.target_head
			.forward(Tensor::cat(vec![h, context], 2))
			.reshape([batch * seq, VOCAB_SIZE]);
		local + correction
	}
}

/// Draws every parameter it visits now. burn draws a parameter lazily, at its first use, from
/// the device's one random generator: without this, two models seeded alike but first used in
/// turn (a neuron and its solo twin) would start from different parameters.
struct DrawNow;

impl ModuleVisitor for DrawNow {
	fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
		param.val();
	}
}

/// Token ids as a tensor on `device`.
pub fn tokens_tensor(tokens: &[i64], batch: usize, seq: usize, device: &Device) -> Tensor<2, Int> {
	Tensor::from_data(TensorData::new(tokens.to_vec(), [batch, seq]), device)
}

/// A tensor's float32 values.
pub fn values(tensor: Tensor<3>) -> Vec<f32> {
	float_values(tensor)
}

/// The float32 values of a tensor of any rank; empty if they cannot be read.
fn float_values<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
	tensor.into_data().convert::<f32>().try_into_vec::<f32>().unwrap_or_default()
}
