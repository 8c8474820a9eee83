//! The peers' answers to a step and how the trainer joins them: answers beyond the protocol's
//! bound, or of the wrong size, are left out; the rest are scaled to unit RMS per position
//! ([`super::guard::normalise`]) and weighted by the gate. Kept apart from the trainer so that
//! what a peer's answer can reach in the model is read in one place.

use burn::{
	prelude::*,
	tensor::{
		activation::{log_softmax, softmax},
		Gradients,
	},
};

use super::{
	float_values,
	guard::{normalise, PeerOutcome},
	Nucleus,
};
use crate::net::protocol::{check_answer, TensorError, REPRESENTATION_DIM, VOCAB_SIZE};

/// The gate's weights over the chosen peers ([batch, k]: the softmax of their gate scores,
/// failed peers at -1e9 first) and the joined representation Σ_i w_i R_i ([batch, seq, d]),
/// from all gate scores ([batch, gate_width]) and the peers' representations ([k, batch, seq, d]).
pub(super) fn join(
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

/// The peers' representations as one tensor of `shape` ([k, batch, seq, d]) on `device`, zeros
/// for every peer that `left_out` names.
pub(super) fn remote_tensor(
	answers: &RemoteAnswers,
	left_out: &[Option<PeerOutcome>],
	shape: [usize; 4],
	device: &Device,
) -> Tensor<4> {
	let [_, batch, seq, d] = shape;
	let zeros = vec![0.0; batch * seq * d];
	let flat: Vec<f32> = answers
		.representations
		.iter()
		.zip(left_out)
		.flat_map(|(answer, out)| if out.is_some() { &zeros } else { answer })
		.copied()
		.collect();
	Tensor::<4>::from_data(TensorData::new(flat, shape), device)
}

/// The chosen peers' answers joined through the gate, kept for their scores and gradients.
pub(super) struct GatedAnswers {
	/// The peers' representations ([k, batch, seq, d]) as they came, zeros for the peers left
	/// out: a leaf that keeps its gradient.
	remote: Tensor<4>,
	/// `remote` scaled to unit RMS per position: what is joined.
	normalised: Tensor<4>,
	/// The gate's weights over the peers ([batch, k]).
	pub(super) weights: Tensor<2>,
	/// The joined representation Σ_i w_i R_i ([batch, seq, d]).
	pub(super) joined: Tensor<3>,
	/// Per peer, whether it is left out of the join (its query failed or its answer was refused).
	masked: Vec<bool>,
}

impl GatedAnswers {
	/// Joins `answers` ([batch, seq, d] per peer), but those `left_out` names, each scaled to
	/// unit RMS per position, through the gate's scores of `columns`.
	pub(super) fn new(
		gate_logits: Tensor<2>,
		columns: &[usize],
		answers: &RemoteAnswers,
		left_out: &[Option<PeerOutcome>],
		[batch, seq]: [usize; 2],
		device: &Device,
	) -> Self {
		let shape = [columns.len(), batch, seq, REPRESENTATION_DIM];
		let remote = remote_tensor(answers, left_out, shape, device).require_grad();
		let normalised = normalise(remote.clone());
		let masked: Vec<bool> = left_out.iter().map(Option::is_some).collect();
		let (weights, joined) = join(gate_logits, normalised.clone(), columns, &masked);
		Self { remote, normalised, weights, joined, masked }
	}

	/// Per peer, the network loss without its term in `logits` (the network logits, [batch·seq,
	/// vocab]), the other peers' terms as they are, less `network_loss`: what joining it gained,
	/// in nats per byte. Measured, not trained: no gradient.
	pub(super) fn benefits(
		&self,
		model: &Nucleus,
		logits: Tensor<2>,
		targets: &Tensor<1, Int>,
		network_loss: f32,
	) -> Vec<f32> {
		let [k, batch, seq, d] = self.normalised.dims();
		let rows = batch * seq;
		let weights = self.weights.clone().detach().swap_dims(0, 1).reshape([k, batch, 1, 1]);
		let terms = (self.normalised.clone().detach() * weights).reshape([k * rows, d]);
		let terms = model.context_term(terms).reshape([k, rows, VOCAB_SIZE]);
		let without = logits.detach().unsqueeze::<3>().expand([k, rows, VOCAB_SIZE]) - terms;
		let targets = targets.clone().reshape([1, rows, 1]).expand([k, rows, 1]);
		let losses = log_softmax(without, 2).gather(2, targets).mean_dim(1).neg();
		float_values(losses).iter().map(|loss| loss - network_loss).collect()
	}

	/// Per peer, the gradient of the step's loss with respect to its representation
	/// ([batch, seq, d] values), taken out of `grads`; empty where the peer failed.
	pub(super) fn gradients(&self, grads: &mut Gradients) -> Vec<Vec<f32>> {
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
	/// Whether these are answers of all `peers` chosen peers.
	pub(super) fn of(&self, peers: usize) -> bool {
		self.representations.len() == peers && self.masked.len() == peers
	}

	/// Per peer, why it is left out of the join, or `None` where its answer is joined: its query
	/// failed, or its answer is not `size` values within the protocol's bound.
	pub(super) fn left_out(&self, size: usize) -> Vec<Option<PeerOutcome>> {
		self.masked
			.iter()
			.zip(&self.representations)
			.map(|(failed, answer)| {
				if *failed {
					return Some(PeerOutcome::Failed);
				}
				let refusal = if answer.len() == size {
					check_answer(answer).err()
				} else {
					Some(TensorError::WrongLength {
						what: "representation",
						bytes: answer.len() * 4,
						shape: vec![size as u64],
					})
				};
				refusal.map(PeerOutcome::Refused)
			})
			.collect()
	}
}
