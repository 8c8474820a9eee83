//! The trainer's defences against its peers' answers (issue 25). One peer that answered huge
//! finite values (3e38) once turned every loss of a four-neuron network into NaN, and every
//! checkpoint after it: the trainer joined answers as they came, unbounded, and took every step
//! whatever its loss. A step now meets, in order:
//!
//! - **Refusal.** An answer that breaks the protocol's bound
//!   ([`check_answer`](crate::net::protocol::check_answer): not finite, or an element beyond
//!   [`MAX_ANSWER_ABS`](crate::net::protocol::MAX_ANSWER_ABS)) is left out of the join, and its
//!   peer dropped at once: no honest encoder comes near the bound.
//! - **Normalisation.** Every position of an admitted answer is scaled to unit RMS before the join
//!   ([`normalise`]), so that a peer's weight in the join is its gate weight and never its scale.
//!   An honest encoder ends in a layer norm, whose output has unit RMS already: its answers pass
//!   essentially unchanged.
//! - **The step guard.** A step whose losses or gradient are not finite, or whose gradient norm is
//!   beyond [`MAX_GRADIENT_NORM`], is skipped ([`check_step`]): the model and its optimizer stay as
//!   they were. Since every joined value is bounded, no peer can cause such a step any more; the
//!   guard keeps a model that diverges on its own from writing NaN into its parameters.
//! - **The drop rule.** Per peer, a moving average of what its term in the network logits gained
//!   the step (the loss without that term, the other peers' as they are, less the loss with every
//!   term); a peer whose average stays below [`DROP_BELOW`] is dropped from the join
//!   ([`JoinRecords`]), and measured afresh [`PAROLE_STEPS`] steps later.
//!
//! The optimizer clips every parameter's gradient as well (`GRADIENT_CLIP_NORM` in the
//! trainer), so that a rare large gradient moves the model by a bounded step.

use std::{collections::HashMap, fmt};

use burn::{
	module::{Module, ModuleVisitor, Param},
	prelude::*,
	store::RecordError,
};

use crate::net::protocol::TensorError;

/// Added to the mean square of a position before its root is taken: an all-zero position (a
/// masked peer's) stays zero.
const RMS_EPSILON: f32 = 1e-12;

/// Largest gradient norm of a step that is taken (over all the model's parameters). An honest
/// step's is below 10 (measured: 1.7 to 6.1), and the optimizer clips what passes; a norm beyond
/// this (or NaN) means the model diverged.
pub const MAX_GRADIENT_NORM: f64 = 1e4;

/// Weight of the newest join in a peer's average benefit (after the first `1 / BENEFIT_ALPHA`
/// joins, which are averaged evenly).
const BENEFIT_ALPHA: f32 = 0.05;

/// Joins of a peer before its benefit is judged.
pub const MIN_JOINS: u32 = 20;

/// A peer whose average benefit (nats per byte) falls below this is dropped from the join.
/// Measured over 150 steps of the tests' small model: honest peers average +0.002 to +0.2,
/// noise and a copy of a joined peer −0.0005 to +0.001 (the gate learns to weigh them down); a
/// peer that lies behind the gate output of a helpful one (uids equal modulo the gate's width,
/// so the gate cannot weigh them apart) −0.014.
pub const DROP_BELOW: f32 = -0.005;

/// Steps a dropped peer is left out of the join before it is measured afresh.
pub const PAROLE_STEPS: u64 = 1000;

/// What a step made of one chosen peer's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum PeerOutcome {
	/// The query failed: nothing to join.
	Failed,
	/// The answer broke the protocol's bound and was left out of the join; the peer is dropped.
	Refused(TensorError),
	/// The answer was joined.
	Joined {
		/// The network loss without the peer's term in the logits less the loss with it (nats
		/// per byte): positive where the peer helped.
		benefit: f32,
	},
}

impl fmt::Display for PeerOutcome {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		match self {
			PeerOutcome::Failed => write!(f, "no answer"),
			PeerOutcome::Refused(error) => write!(f, "answer refused: {error}"),
			PeerOutcome::Joined { benefit } => write!(f, "joined, benefit {benefit:+.3} nats"),
		}
	}
}

/// Why a step was skipped.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StepFault {
	/// A loss was NaN or infinite.
	#[error("the {which} loss is {value}")]
	NonFiniteLoss {
		/// Which loss.
		which: &'static str,
		/// Its value.
		value: f32,
	},
	/// The gradient's norm was NaN, infinite or beyond [`MAX_GRADIENT_NORM`].
	#[error("gradient norm {0}, beyond {MAX_GRADIENT_NORM}")]
	ExplodingGradient(f64),
}

/// Whether a step with these `losses` (each named) and `gradient_norm` may be taken.
pub fn check_step(losses: &[(&'static str, f32)], gradient_norm: f64) -> Result<(), StepFault> {
	if let Some((which, value)) = losses.iter().find(|(_, value)| !value.is_finite()) {
		return Err(StepFault::NonFiniteLoss { which, value: *value });
	}
	if !gradient_norm.is_finite() || gradient_norm > MAX_GRADIENT_NORM {
		return Err(StepFault::ExplodingGradient(gradient_norm));
	}
	Ok(())
}

/// `remote` ([k, batch, seq, d], within the protocol's bound) with every position scaled to
/// unit RMS over `d`. Computed in the graph, so that each peer's gradient is with respect to the
/// answer it sent.
pub fn normalise(remote: Tensor<4>) -> Tensor<4> {
	let rms = remote.clone().square().mean_dim(3).add_scalar(RMS_EPSILON).sqrt();
	remote / rms
}

/// A parameter that holds a NaN or an infinity: what [`Trainer::save`](super::Trainer::save)
/// refuses to write.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("parameter {path}: element {index} is {value}, not finite")]
pub struct NonFiniteParameter {
	/// The parameter's path in the module (`target_head.weight`).
	pub path: String,
	/// The flat index of the first non-finite element.
	pub index: usize,
	/// That element.
	pub value: f32,
}

impl From<NonFiniteParameter> for RecordError {
	fn from(error: NonFiniteParameter) -> Self {
		RecordError::Validation(error.to_string())
	}
}

/// Finds the first parameter of a module that is not finite, keeping the path it is at.
#[derive(Default)]
struct FirstNonFinite {
	path: Vec<String>,
	found: Option<NonFiniteParameter>,
}

impl ModuleVisitor for FirstNonFinite {
	fn enter_module(&mut self, name: &str, _container_type: &str) {
		self.path.push(name.to_string());
	}

	fn exit_module(&mut self, _name: &str, _container_type: &str) {
		self.path.pop();
	}

	fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
		if self.found.is_some() {
			return;
		}
		let values = super::float_values(param.val());
		if let Some((index, value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
			self.found =
				Some(NonFiniteParameter { path: self.path.join("."), index, value: *value });
		}
	}
}

/// The first parameter of `module` that holds a NaN or an infinity, if any.
pub fn check_parameters<M: Module>(module: &M) -> Result<(), NonFiniteParameter> {
	let mut visitor = FirstNonFinite::default();
	module.visit(&mut visitor);
	visitor.found.map_or(Ok(()), Err)
}

/// What the trainer knows of one peer's answers.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Record {
	/// Average benefit of its joins (nats per byte).
	benefit: f32,
	/// Joins since it was last admitted.
	joins: u32,
	/// The step it was dropped at, while it is dropped.
	dropped_at: Option<u64>,
}

impl Record {
	/// Whether the peer is dropped at `step` (its parole not yet come).
	fn dropped(&self, step: u64) -> bool {
		self.dropped_at.is_some_and(|at| step < at.saturating_add(PAROLE_STEPS))
	}
}

/// Per peer id, how its answers served the trainer, and which peers the join leaves out.
#[derive(Debug, Default)]
pub struct JoinRecords {
	records: HashMap<usize, Record>,
}

impl JoinRecords {
	/// Whether `peer` may be joined at `step`: it is not dropped, or its parole has come.
	pub fn joinable(&self, peer: usize, step: u64) -> bool {
		self.records.get(&peer).is_none_or(|record| !record.dropped(step))
	}

	/// Records what `peer`'s answer did at `step`; returns whether this dropped it. A peer
	/// whose parole has come starts afresh.
	pub fn observe(&mut self, peer: usize, outcome: &PeerOutcome, step: u64) -> bool {
		let record = self.records.entry(peer).or_default();
		if record.dropped_at.is_some() && !record.dropped(step) {
			*record = Record::default();
		}
		match outcome {
			PeerOutcome::Failed => return false,
			PeerOutcome::Refused(_) => {},
			PeerOutcome::Joined { benefit } => {
				record.joins = record.joins.saturating_add(1);
				let alpha = BENEFIT_ALPHA.max(1.0 / record.joins as f32);
				record.benefit += alpha * (benefit - record.benefit);
				if record.joins < MIN_JOINS || record.benefit >= DROP_BELOW {
					return false;
				}
			},
		}
		let newly = record.dropped_at.is_none();
		record.dropped_at = Some(step);
		newly
	}

	/// Forgets `peer`: for a peer id that changed hands.
	pub fn forget(&mut self, peer: usize) {
		self.records.remove(&peer);
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn joined(benefit: f32) -> PeerOutcome {
		PeerOutcome::Joined { benefit }
	}

	#[test]
	fn a_peer_that_hurts_is_dropped_and_a_helpful_one_kept() {
		let mut records = JoinRecords::default();
		for step in 0..u64::from(MIN_JOINS) - 1 {
			assert!(!records.observe(1, &joined(-0.5), step), "not judged before MIN_JOINS joins");
			assert!(!records.observe(2, &joined(0.1), step));
			assert!(!records.observe(3, &PeerOutcome::Failed, step), "failing is not hurting");
		}
		let step = u64::from(MIN_JOINS);
		assert!(records.observe(1, &joined(-0.5), step), "dropped");
		assert!(!records.observe(1, &joined(-0.5), step + 1), "dropped once");
		assert!(!records.observe(2, &joined(0.1), step));
		assert!(!records.joinable(1, step + 1));
		assert!(records.joinable(2, step + 1) && records.joinable(3, step + 1));
		assert!(records.joinable(4, 0), "an unknown peer is joinable");

		// One bad join among helpful ones does not drop a peer; a run of them does.
		for step in 0..40 {
			assert!(!records.observe(5, &joined(0.05), step));
		}
		assert!(!records.observe(5, &joined(-0.5), 40));
		let dropped_at = (41..200).find(|step| records.observe(5, &joined(-0.5), *step));
		assert!(dropped_at.is_some_and(|step| step > 41), "{dropped_at:?}");
	}

	#[test]
	fn a_refused_answer_drops_its_peer_until_parole() {
		let mut records = JoinRecords::default();
		let refused = PeerOutcome::Refused(TensorError::NotFinite {
			what: "representation",
			index: 0,
			value: f32::NAN,
		});
		assert!(records.observe(7, &refused, 10), "dropped at once");
		assert!(!records.joinable(7, 10 + PAROLE_STEPS - 1));
		assert!(records.joinable(7, 10 + PAROLE_STEPS), "parole");
		// Measured afresh: one bad join is not enough to drop it again.
		assert!(!records.observe(7, &joined(-1.0), 10 + PAROLE_STEPS));
		assert!(records.joinable(7, 11 + PAROLE_STEPS));
		records.observe(7, &refused, 11 + PAROLE_STEPS);
		records.forget(7);
		assert!(records.joinable(7, 12 + PAROLE_STEPS), "a new owner starts afresh");
	}

	#[test]
	fn a_step_is_checked_for_finite_losses_and_a_bounded_gradient() {
		assert_eq!(check_step(&[("local", 5.5), ("network", 4.0)], 3.0), Ok(()));
		assert_eq!(
			check_step(&[("local", 5.5), ("network", f32::INFINITY)], 3.0),
			Err(StepFault::NonFiniteLoss { which: "network", value: f32::INFINITY })
		);
		assert!(matches!(
			check_step(&[("student", f32::NAN)], 3.0),
			Err(StepFault::NonFiniteLoss { which: "student", .. })
		));
		assert_eq!(
			check_step(&[("local", 5.5)], MAX_GRADIENT_NORM * 2.0),
			Err(StepFault::ExplodingGradient(MAX_GRADIENT_NORM * 2.0))
		);
		assert!(matches!(
			check_step(&[("local", 5.5)], f64::NAN),
			Err(StepFault::ExplodingGradient(norm)) if norm.is_nan()
		));
	}

	#[test]
	fn every_position_is_scaled_to_unit_rms() {
		let device = Device::flex();
		let d = 4;
		let values = [3e3, -3e3, 3e3, 3e3, 0.5, 0.5, -0.5, 0.5, 0.0, 0.0, 0.0, 0.0];
		let remote =
			Tensor::<4>::from_data(TensorData::new(values.to_vec(), [1, 1, 3, d]), &device);
		let out = super::super::float_values(normalise(remote));
		assert_eq!(out[..8], [1.0, -1.0, 1.0, 1.0, 1.0, 1.0, -1.0, 1.0]);
		assert_eq!(out[8..], [0.0; 4], "a masked position stays zero");
	}
}
