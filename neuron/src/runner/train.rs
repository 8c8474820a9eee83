//! The training side of a run, on a blocking thread: one step after another, each with the
//! peers the gate chooses and the next query of the validation cycle, while the chain loop on
//! the async runtime keeps the network view and the ledger's registrations current. Apart, a
//! step never waits on the node, and the chain loop never waits on a step.
//!
//! The trainer leaves out of the join the peers whose answers broke the protocol or made its
//! loss worse ([`crate::nucleus::guard`]); the loop tells it of the answers the dendrite refused,
//! says which peers were dropped, and counts the steps the trainer skipped.

use std::{
	sync::{atomic::Ordering, Arc},
	time::{Duration, Instant},
};

use super::{checkpoint::save_checkpoint, NeuronState, RunConfig};
use crate::{
	data::{corpus::Batch, rng::Rng},
	net::dendrite::{Dendrite, Outcome, PeerEndpoint},
	nucleus::{serving::ServedNucleus, PeerOutcome, RemoteAnswers, StepReport, Trainer},
	sync::{lock, read},
};

/// The training loop, on a blocking thread; returns the trainer when told to stop.
pub(super) fn train(
	mut trainer: Trainer,
	config: RunConfig,
	served: ServedNucleus,
	dendrite: Arc<Dendrite>,
	state: Arc<NeuronState>,
	handle: tokio::runtime::Handle,
	offline: bool,
) -> Trainer {
	let mut rng = Rng::new(config.seed ^ 0x5eed);
	let held_out = Batch::consecutive(&config.corpus.held_out, config.batch, config.seq, 4);
	let mut progress = Progress::new();
	let mut steps = 0u64;
	while !state.stop.load(Ordering::SeqCst) && config.max_steps.is_none_or(|max| steps < max) {
		let batch = Batch::sample(&config.corpus.train, config.batch, config.seq, &mut rng);
		for uid in std::mem::take(&mut *lock(&state.replaced)) {
			trainer.forget_peer(uid);
		}
		let (report, answering) = if offline {
			(trainer.step_offline(&batch), (0, 0))
		} else {
			let backward = config.backward.is_some();
			step_with_peers(&mut trainer, &batch, &dendrite, &state, &handle, backward)
		};
		let remote_callers = match served.take_remote_gradients(&trainer.model.encoder) {
			Some(remote) => {
				trainer.apply_remote(remote.grads);
				remote.callers
			},
			None => 0,
		};
		served.publish(&trainer.model.encoder);
		steps += 1;
		progress.record(&report, remote_callers);
		if progress.due() || config.max_steps.is_some_and(|max| steps == max) {
			let weights = lock(&state.last_weights).clone();
			println!("{}", progress.line(trainer.step, &report, answering, &weights));
		}
		evaluate_and_checkpoint(&trainer, &config, &state, &held_out);
	}
	state.stop.store(true, Ordering::SeqCst);
	trainer
}

/// One step with the peers the gate chooses among the unflagged ones of the network view (the
/// trainer leaves out those it dropped): queries them, learns from their answers and, with
/// `backward`, sends each its gradient back (without waiting). Meanwhile the next peers of the
/// validation cycle answer a challenge, which the validator scores once the step is done. Returns
/// the step's report and how many of the chosen peers answered, of how many.
fn step_with_peers(
	trainer: &mut Trainer,
	batch: &Batch,
	dendrite: &Arc<Dendrite>,
	state: &NeuronState,
	handle: &tokio::runtime::Handle,
	backward: bool,
) -> (StepReport, (usize, usize)) {
	let view = read(&state.view).clone();
	let (validation, joinable) = {
		let mut validator = lock(&state.validator);
		let uids: Vec<u16> = view.endpoints.iter().map(|p| p.uid).collect();
		let joinable: Vec<PeerEndpoint> = view
			.endpoints
			.iter()
			.filter(|p| !validator.ledger.flagged(p.uid))
			.cloned()
			.collect();
		(validator.next_query(&uids), joinable)
	};
	let validation = validation.map(|query| {
		let peers: Vec<PeerEndpoint> = query
			.uids
			.iter()
			.filter_map(|uid| view.endpoints.iter().find(|p| p.uid == *uid).cloned())
			.collect();
		let (dendrite, challenge) = (dendrite.clone(), query.challenge.clone());
		let answers = handle.spawn(async move {
			dendrite.forward(&peers, &challenge.inputs, challenge.rows, challenge.seq).await
		});
		(query, answers)
	});
	let candidates: Vec<usize> = joinable.iter().map(|p| usize::from(p.uid)).collect();
	let pending = trainer.begin(batch, &candidates);
	let chosen: Vec<PeerEndpoint> =
		pending.chosen.iter().filter_map(|i| joinable.get(*i).cloned()).collect();
	let answers = (!chosen.is_empty()).then(|| {
		let results =
			handle.block_on(dendrite.forward(&chosen, &batch.inputs, batch.batch, batch.seq));
		for (peer, outcome) in chosen.iter().zip(&results.outcomes) {
			if let Outcome::InvalidResponse(error) = outcome {
				if trainer.refuse(usize::from(peer.uid), error.clone()) {
					println!("uid {} dropped from the join: {outcome}", peer.uid);
				}
			}
		}
		RemoteAnswers { masked: results.mask(), representations: results.representations }
	});
	let answered = answers.as_ref().map_or(0, |a| a.masked.iter().filter(|m| !**m).count());
	let report = trainer.finish(pending, answers.as_ref());
	for (peer, outcome) in chosen.iter().zip(&report.peers) {
		if report.dropped.contains(&usize::from(peer.uid)) {
			let why = match outcome {
				PeerOutcome::Joined { .. } => {
					format!("its answers make the loss worse ({outcome})")
				},
				_ => outcome.to_string(),
			};
			println!("uid {} dropped from the join: {why}", peer.uid);
		}
	}
	let (peers, grads): (Vec<PeerEndpoint>, Vec<Vec<f32>>) = chosen
		.iter()
		.zip(&report.remote_grads)
		.filter(|(_, grad)| backward && !grad.is_empty())
		.map(|(peer, grad)| (peer.clone(), grad.clone()))
		.unzip();
	if !peers.is_empty() {
		let (dendrite, inputs, rows, columns) =
			(dendrite.clone(), batch.inputs.clone(), batch.batch, batch.seq);
		handle
			.spawn(async move { dendrite.backward(&peers, &inputs, &grads, rows, columns).await });
	}
	if let Some((query, answers)) = validation {
		if let Ok(results) = handle.block_on(answers) {
			lock(&state.validator).score_forward(&query, results);
		}
	}
	(report, (answered, chosen.len()))
}

/// Evaluates on the held-out text and saves a checkpoint when their intervals come round.
fn evaluate_and_checkpoint(
	trainer: &Trainer,
	config: &RunConfig,
	state: &NeuronState,
	held_out: &[Batch],
) {
	if trainer.step.is_multiple_of(config.eval_every.max(1)) {
		let evaluation = trainer.evaluate(held_out);
		println!(
			"step {:>6}  held-out loss local {:.3} student {:.3}",
			trainer.step, evaluation.local_loss, evaluation.student_loss
		);
	}
	if trainer.step.is_multiple_of(config.checkpoint_every.max(1)) {
		let ledger = lock(&state.validator).ledger.clone();
		if let Err(error) = save_checkpoint(trainer, ledger, &config.checkpoint_dir) {
			eprintln!("warning: checkpoint not saved: {error}");
		}
	}
}

/// What the progress line reports, gathered between two lines (one every
/// [`Progress::EVERY`]).
struct Progress {
	printed: Instant,
	tokens: usize,
	remote_callers: usize,
	/// Steps the trainer skipped, and why the last one was.
	skipped: usize,
	last_fault: Option<String>,
}

impl Progress {
	/// Time between two progress lines.
	const EVERY: Duration = Duration::from_secs(10);

	fn new() -> Self {
		Self { printed: Instant::now(), tokens: 0, remote_callers: 0, skipped: 0, last_fault: None }
	}

	/// Counts one step's tokens, whether it was skipped, and the Backward calls it applied.
	fn record(&mut self, report: &StepReport, remote_callers: usize) {
		self.tokens += report.tokens;
		self.remote_callers += remote_callers;
		if let Some(fault) = &report.skipped {
			self.skipped += 1;
			self.last_fault = Some(fault.to_string());
		}
	}

	/// Whether a line is due.
	fn due(&self) -> bool {
		self.printed.elapsed() >= Self::EVERY
	}

	/// The line for the steps since the last one, which starts a new count.
	fn line(
		&mut self,
		step: u64,
		report: &StepReport,
		answering: (usize, usize),
		weights: &str,
	) -> String {
		let rate = self.tokens as f64 / self.printed.elapsed().as_secs_f64();
		let mut line = progress_line(step, report, rate, answering, self.remote_callers, weights);
		if let Some(fault) = &self.last_fault {
			line += &format!("  skipped {} (last: {fault})", self.skipped);
		}
		*self = Self::new();
		line
	}
}

/// One progress line.
fn progress_line(
	step: u64,
	report: &StepReport,
	tokens_per_second: f64,
	answering: (usize, usize),
	remote: usize,
	weights: &str,
) -> String {
	let network = report.network_loss.map_or("-".into(), |l| format!("{l:.3}"));
	format!(
		"step {step:>6}  loss local {:.3} network {network} student {:.3}  {tokens_per_second:>6.0} tok/s  peers {}/{} answering  grads in {remote}  weights {weights}",
		report.local_loss, report.student_loss, answering.0, answering.1
	)
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::nucleus::StepFault;

	#[test]
	fn the_progress_line_counts_skipped_steps_and_says_why() {
		let mut progress = Progress::new();
		let taken = StepReport { tokens: 128, ..Default::default() };
		progress.record(&taken, 0);
		let line = progress.line(1, &taken, (0, 0), "-");
		assert!(!line.contains("skipped"), "{line}");
		let skipped = StepReport {
			skipped: Some(StepFault::NonFiniteLoss { which: "network", value: f32::NAN }),
			..taken.clone()
		};
		progress.record(&skipped, 0);
		progress.record(&taken, 0);
		progress.record(&skipped, 0);
		let line = progress.line(2, &taken, (0, 0), "-");
		assert!(line.ends_with("skipped 2 (last: the network loss is NaN)"), "{line}");
		assert_eq!(progress.skipped, 0, "a line starts a new count");
	}
}
