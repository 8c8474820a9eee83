//! The three ways of training the benchmark compares, each one neuron's work at a time so
//! that the process's CPU clock charges every piece of work to the neuron that did it
//! ([`super::cpu`]).
//!
//! - **Networked**: in lockstep, every neuron takes a step on a batch of its own domain; then asks
//!   every peer for its next-byte predictions of that batch (the peer's serving), joins them with
//!   its own ([`mix`]: the network-joined model) and hands the joined prediction back to one of the
//!   peers that answered, in turn, as a [`Lesson`]: text of a domain that peer does not train on,
//!   and what the network predicts of it. A neuron's student distils the lessons at its next step,
//!   so that it keeps, offline, some of what its peers know.
//! - **Solo twins**: per neuron, the same initial parameters, data and batch order, no peers;
//!   scored once at the networked neurons' step count and again when its CPU reaches the networked
//!   neuron's own (serving and joining included).
//! - **Centralised**: one model trained on every domain in turn, with the neurons' steps together:
//!   the bound a network of these neurons could hope to reach.

use burn::prelude::Device;
use serde::Serialize;

use super::{
	cpu::{timed, CpuSplit},
	evaluation::{HeldOut, Losses, NetworkLosses},
};
use crate::{
	data::{corpus::Batch, domains::Domain, rng::Rng},
	nucleus::{mixture::mix, Lesson, NucleusConfig, Trainer},
};

/// One point of a learning curve: the held-out loss over the union of the domains (a small
/// sample of it) after `step` steps and `cpu_seconds` of the neuron's own CPU.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CurvePoint {
	/// Steps taken.
	pub step: u64,
	/// The neuron's CPU seconds so far (all of its work).
	pub cpu_seconds: f64,
	/// Its local model's loss.
	pub local: f64,
	/// Its student's loss.
	pub student: f64,
	/// The network-joined model's loss, for a networked neuron.
	pub network: Option<f64>,
}

/// How the three are trained.
#[derive(Debug, Clone)]
pub struct Schedule {
	/// Steps of every networked neuron (and of its twin, first).
	pub steps: u64,
	/// Rows and bytes per row of a batch.
	pub batch: usize,
	/// Bytes per row.
	pub seq: usize,
	/// Steps between two points of a learning curve.
	pub curve_every: u64,
	/// The models' shape.
	pub nucleus: NucleusConfig,
	/// The run's seed: parameters and batch orders follow from it.
	pub seed: u64,
}

impl Schedule {
	/// The seed of neuron `index`'s initial parameters, the same for its twin.
	fn parameter_seed(&self, index: usize) -> u64 {
		self.seed.wrapping_mul(1_000_003).wrapping_add(index as u64)
	}

	/// The generator of neuron `index`'s batch order, the same for its twin.
	fn batch_order(&self, index: usize) -> Rng {
		Rng::new(self.parameter_seed(index) ^ 0x0ba7_c4e5)
	}

	/// A fresh model for neuron `index`.
	fn trainer(&self, index: usize) -> Trainer {
		Trainer::new(self.nucleus.clone(), &Device::flex(), self.parameter_seed(index))
	}
}

/// A neuron of the network.
pub struct Networked {
	/// Its domain, as an index into the domains.
	pub domain: usize,
	/// Its model.
	pub trainer: Trainer,
	batches: Rng,
	lesson: Option<Lesson>,
	/// Its CPU seconds by what it spent them on.
	pub cpu: CpuSplit,
	/// Its learning curve.
	pub curve: Vec<CurvePoint>,
}

/// The networked neurons, trained together.
pub fn train_network(
	schedule: &Schedule,
	domains: &[Domain],
	curve_set: &HeldOut,
	progress: &dyn Fn(&str),
) -> Vec<Networked> {
	let count = domains.len();
	let mut neurons: Vec<Networked> = (0..count)
		.map(|index| Networked {
			domain: index,
			trainer: schedule.trainer(index),
			batches: schedule.batch_order(index),
			lesson: None,
			cpu: CpuSplit::default(),
			curve: Vec::new(),
		})
		.collect();
	for step in 0..schedule.steps {
		if step % schedule.curve_every == 0 {
			record_network_curve(&mut neurons, step, curve_set);
		}
		let batches: Vec<Batch> = neurons
			.iter_mut()
			.map(|neuron| {
				let text = &domains[neuron.domain].train;
				Batch::sample(text, schedule.batch, schedule.seq, &mut neuron.batches)
			})
			.collect();
		for (neuron, batch) in neurons.iter_mut().zip(&batches) {
			let lesson = neuron.lesson.take();
			let trainer = &mut neuron.trainer;
			let (_, seconds) = timed(|| {
				let pending = trainer.begin(batch, &[]);
				trainer.finish_with(pending, None, lesson.as_ref())
			});
			neuron.cpu.training += seconds;
		}
		for (asker, batch) in batches.into_iter().enumerate() {
			let mut answers = Vec::with_capacity(count);
			for server in (0..count).filter(|server| *server != asker) {
				let (answer, seconds) = timed(|| neurons[server].trainer.predict(&batch));
				neurons[server].cpu.serving += seconds;
				answers.push(answer);
			}
			let (joined, seconds) = timed(|| {
				answers.push(neurons[asker].trainer.predict(&batch));
				let experts: Vec<&[f32]> = answers.iter().map(Vec::as_slice).collect();
				mix(&experts, &batch.targets, batch.seq)
			});
			neurons[asker].cpu.joining += seconds;
			let pupil = (asker + 1 + step as usize % (count - 1)) % count;
			neurons[pupil].lesson = Some(Lesson { batch, teacher: joined });
		}
		if (step + 1) % (schedule.curve_every * 4) == 0 {
			progress(&format!("networked: step {} of {}", step + 1, schedule.steps));
		}
	}
	record_network_curve(&mut neurons, schedule.steps, curve_set);
	neurons
}

/// A point on every networked neuron's curve.
fn record_network_curve(neurons: &mut [Networked], step: u64, curve_set: &HeldOut) {
	let trainers: Vec<&Trainer> = neurons.iter().map(|neuron| &neuron.trainer).collect();
	let losses = NetworkLosses::of(curve_set, &trainers);
	let network = losses.network.union_mean();
	for ((neuron, local), student) in neurons.iter_mut().zip(&losses.local).zip(&losses.student) {
		neuron.curve.push(CurvePoint {
			step,
			cpu_seconds: neuron.cpu.total(),
			local: local.union_mean(),
			student: student.union_mean(),
			network: Some(network),
		});
	}
}

/// A solo twin, scored twice.
pub struct Twin {
	/// Its losses after as many steps as the networked neurons took.
	pub at_steps: Losses,
	/// Its losses when its CPU first reached its networked neuron's.
	pub at_cpu: Losses,
	/// Steps it took by then.
	pub steps_at_cpu: u64,
	/// Its CPU seconds by then.
	pub cpu_seconds: f64,
	/// Its learning curve.
	pub curve: Vec<CurvePoint>,
}

/// The twin of neuron `index`, trained alone until its CPU reaches `cpu_budget`, scored on
/// `held_out`.
pub fn train_twin(
	schedule: &Schedule,
	index: usize,
	domain: &Domain,
	cpu_budget: f64,
	held_out: &HeldOut,
	curve_set: &HeldOut,
) -> Twin {
	let mut trainer = schedule.trainer(index);
	let mut batches = schedule.batch_order(index);
	let (mut cpu_seconds, mut curve, mut at_steps) = (0.0, Vec::new(), Losses::default());
	// Steps tried, counted here: one the guard skips still takes its batch and its time.
	let mut step = 0;
	loop {
		if step % schedule.curve_every == 0 {
			curve.push(solo_point(&trainer, step, cpu_seconds, curve_set));
		}
		if step == schedule.steps {
			at_steps = Losses::of(held_out, |batch| trainer.predict(batch));
		}
		if step >= schedule.steps && cpu_seconds >= cpu_budget {
			break;
		}
		let batch = Batch::sample(&domain.train, schedule.batch, schedule.seq, &mut batches);
		let (_, seconds) = timed(|| trainer.step_offline(&batch));
		cpu_seconds += seconds;
		step += 1;
	}
	curve.push(solo_point(&trainer, step, cpu_seconds, curve_set));
	let at_cpu = Losses::of(held_out, |batch| trainer.predict(batch));
	Twin { at_steps, at_cpu, steps_at_cpu: step, cpu_seconds, curve }
}

/// A point on a solo model's curve.
fn solo_point(trainer: &Trainer, step: u64, cpu_seconds: f64, curve_set: &HeldOut) -> CurvePoint {
	CurvePoint {
		step,
		cpu_seconds,
		local: Losses::of(curve_set, |batch| trainer.predict(batch)).union_mean(),
		student: Losses::of(curve_set, |batch| trainer.predict_student(batch)).union_mean(),
		network: None,
	}
}

/// The centralised bound: one model, every domain in turn, the neurons' steps together.
pub struct Centralised {
	/// Its losses.
	pub losses: Losses,
	/// Steps it took.
	pub steps: u64,
	/// Its CPU seconds.
	pub cpu_seconds: f64,
	/// Its learning curve, CPU seconds divided among the neurons it stands for.
	pub curve: Vec<CurvePoint>,
}

/// Trains and scores the centralised model.
pub fn train_centralised(
	schedule: &Schedule,
	domains: &[Domain],
	held_out: &HeldOut,
	curve_set: &HeldOut,
) -> Centralised {
	let count = domains.len();
	let mut trainer = schedule.trainer(0);
	let mut batches = schedule.batch_order(count);
	let steps = schedule.steps * count as u64;
	let (mut cpu_seconds, mut curve) = (0.0, Vec::new());
	let per_neuron = |seconds: f64| seconds / count as f64;
	for step in 0..steps {
		if step % (schedule.curve_every * count as u64) == 0 {
			curve.push(solo_point(&trainer, step, per_neuron(cpu_seconds), curve_set));
		}
		let domain = &domains[step as usize % count];
		let batch = Batch::sample(&domain.train, schedule.batch, schedule.seq, &mut batches);
		let (_, seconds) = timed(|| trainer.step_offline(&batch));
		cpu_seconds += seconds;
	}
	curve.push(solo_point(&trainer, steps, per_neuron(cpu_seconds), curve_set));
	let losses = Losses::of(held_out, |batch| trainer.predict(batch));
	Centralised { losses, steps, cpu_seconds, curve }
}
