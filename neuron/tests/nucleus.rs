//! The nucleus on synthetic text, without a network: learning, the gate's mask and exploration,
//! validation (a causal peer paid, noise not, a peer that reads the future flagged), Backward on
//! the serving side (seed 001, equation 3), distillation, checkpoints.

use bittensor_neuron::{
	data::{
		corpus::{Batch, Corpus},
		rng::Rng,
	},
	net::{
		protocol::REPRESENTATION_DIM,
		served_model::{Caller, EmbeddingModel, Model, ModelError},
	},
	nucleus::{
		gradient_norm,
		serving::{ServedNucleus, Serving, BACKWARD_ROWS_PER_STEP, MAX_BACKWARD_ROWS},
		NucleusConfig, RemoteAnswers, Trainer,
	},
	runner::{load_checkpoint, save_checkpoint, RunError},
	scoring::{Ledger, Validator, ValidatorConfig},
};
use burn::prelude::Device;
use sp_core::crypto::AccountId32;

const BATCH: usize = 4;
const SEQ: usize = 32;

fn small() -> NucleusConfig {
	NucleusConfig { gate_width: 8, ..NucleusConfig::default() }
}

fn answers(peers: &[&dyn Model], batch: &Batch, masked: &[bool]) -> RemoteAnswers {
	RemoteAnswers {
		representations: peers
			.iter()
			.zip(masked)
			.map(|(peer, failed)| match failed {
				true => vec![0.0; batch.inputs.len() * REPRESENTATION_DIM],
				false => peer.forward(&batch.inputs, batch.batch, batch.seq).unwrap(),
			})
			.collect(),
		masked: masked.to_vec(),
	}
}

fn caller(stake: u64) -> Caller {
	caller_number(7, stake)
}

fn caller_number(number: u8, stake: u64) -> Caller {
	Caller { hotkey: AccountId32::new([number; 32]), stake }
}

#[test]
fn the_local_model_learns_synthetic_text() {
	let corpus = Corpus::synthetic(50_000, 1);
	let mut trainer = Trainer::new(small(), &Device::flex(), 1);
	let held_out = Batch::consecutive(&corpus.held_out, BATCH, SEQ, 4);
	let before = trainer.evaluate(&held_out);
	let mut rng = Rng::new(1);
	for _ in 0..150 {
		let report = trainer.step_offline(&Batch::sample(&corpus.train, BATCH, SEQ, &mut rng));
		assert!(report.network_loss.is_none() && report.remote_grads.is_empty());
	}
	let after = trainer.evaluate(&held_out);
	assert!(before.local_loss > 5.0, "an untrained byte model is near ln 256: {before:?}");
	assert!(after.local_loss < before.local_loss - 2.0, "{before:?} → {after:?}");
	assert!(after.student_loss < before.student_loss - 2.0, "{before:?} → {after:?}");
	assert_eq!(trainer.step, 150);
}

#[test]
fn the_gate_masks_failed_peers() {
	let corpus = Corpus::synthetic(20_000, 2);
	let mut trainer = Trainer::new(small(), &Device::flex(), 2);
	let batch = Batch::sample(&corpus.train, BATCH, SEQ, &mut Rng::new(2));
	let (a, b, c) = (EmbeddingModel::new(1), EmbeddingModel::new(2), EmbeddingModel::new(3));
	let peers: [&dyn Model; 3] = [&a, &b, &c];
	let pending = trainer.begin(&batch, &[0, 1, 2]);
	assert_eq!(pending.chosen.len(), 3);
	let mut chosen_answers = answers(&peers, &batch, &[false, true, false]);
	// Whatever a failed peer's tensor holds, it must not count.
	chosen_answers.representations[1] = vec![1e3; batch.inputs.len() * REPRESENTATION_DIM];
	let report = trainer.finish(pending, Some(&chosen_answers));
	assert_eq!(report.gate_weights.len(), 3);
	assert!(report.gate_weights[1] < 1e-6, "{:?}", report.gate_weights);
	assert!((report.gate_weights.iter().sum::<f32>() - 1.0).abs() < 1e-4);
	assert!(report.remote_grads[1].is_empty() && !report.remote_grads[0].is_empty());
	assert_eq!(report.remote_grads[0].len(), batch.inputs.len() * REPRESENTATION_DIM);
	assert!(report.network_loss.is_some() && report.distillation_loss.is_some());

	let columns = [0, 1, 2];
	let with_noise = trainer.evaluate_network(&batch, &chosen_answers, &columns);
	chosen_answers.representations[1] = vec![-5.0; batch.inputs.len() * REPRESENTATION_DIM];
	assert_eq!(with_noise, trainer.evaluate_network(&batch, &chosen_answers, &columns));

	// Nobody answered: the step is a local one.
	let pending = trainer.begin(&batch, &[0, 1]);
	let none = answers(&peers[..2], &batch, &[true, true]);
	let report = trainer.finish(pending, Some(&none));
	assert!(report.network_loss.is_none() && report.remote_grads.is_empty());
}

#[test]
fn the_gate_chooses_the_top_k_candidates() {
	let mut trainer = Trainer::new(NucleusConfig { top_k: 2, ..small() }, &Device::flex(), 3);
	let batch = Batch::sample(&Corpus::synthetic(5_000, 3).train, BATCH, SEQ, &mut Rng::new(3));
	let pending = trainer.begin(&batch, &[5, 6, 7, 13]);
	assert_eq!(pending.chosen.len(), 2);
	assert_ne!(pending.chosen[0], pending.chosen[1]);
	assert!(pending.chosen.iter().all(|i| *i < 4));
	assert!(trainer.begin(&batch, &[]).chosen.is_empty());
}

#[test]
fn the_validator_pays_a_causal_peer_and_flags_one_that_reads_the_future() {
	// Peer 0 embeds the byte it is at (causal, and useful: the next byte depends on it); peer 1
	// serves noise; peer 2 embeds the *next* byte, which no causal model can know.
	let causal = EmbeddingModel::new(4);
	let noise = ServedNucleus::new(Serving::Noise, 256, None, 9);
	let leak = ServedNucleus::new(Serving::Leak, 256, None, 10);
	let peers: [&dyn Model; 3] = [&causal, &noise, &leak];
	let text = Corpus::synthetic(50_000, 4).train;
	let config = ValidatorConfig { rows: 16, seq: 24, peers_per_query: 3, ..Default::default() };
	let mut validator = Validator::new(config, text, 4);
	for _ in 0..40 {
		let query = validator.next_query(&[0, 1, 2]).unwrap();
		let answers = query.ask(|uid| peers.get(usize::from(uid)).copied());
		validator.score(&query, &answers);
	}
	let scores = validator.ledger.scores();
	println!("scores {scores:?}; records {:?}", validator.ledger.peers);
	assert!(scores[&0] > 0.0, "the causal peer is paid: {scores:?}");
	assert_eq!(scores[&1], 0.0, "noise is not");
	assert!(validator.ledger.flagged(2), "the leaker is flagged");
	assert_eq!(scores[&2], 0.0);
	assert!(
		validator.ledger.copies().is_empty(),
		"nobody copies: {:?}",
		validator.ledger.similarity
	);
}

#[test]
fn backward_changes_the_served_parameters_weighted_per_caller() {
	let mut trainer = Trainer::new(small(), &Device::flex(), 5);
	let served = ServedNucleus::new(Serving::Model, 256, Some(100.0), 5);
	assert!(
		matches!(served.forward(&[1, 2], 1, 2), Err(ModelError::Failed(_))),
		"nothing published yet"
	);
	served.publish(&trainer.model.encoder);
	let tokens: Vec<i64> = (0..SEQ as i64).collect();
	let before = served.forward(&tokens, 1, SEQ).unwrap();
	let grad: Vec<f32> = (0..before.len()).map(|i| if i % 3 == 0 { 1.0 } else { -0.5 }).collect();
	let objective = |h: &[f32]| h.iter().zip(&grad).map(|(a, b)| f64::from(a * b)).sum::<f64>();

	// Two callers, one sending a gradient 1000 times larger: each is normalised first and the
	// sum scaled to norm 1, so neither can outweigh its stake by the size of its gradient.
	served.backward(&caller(5_000_000_000), &tokens, &grad, 1, SEQ).unwrap();
	let large: Vec<f32> = grad.iter().map(|g| g * 1000.0).collect();
	served.backward(&caller_number(8, 1), &tokens, &large, 1, SEQ).unwrap();
	let remote = served.take_remote_gradients(&trainer.model.encoder).unwrap();
	assert_eq!(remote.callers, 2);
	let norm = gradient_norm(&remote.grads, &trainer.model.encoder);
	assert!((norm - 1.0).abs() < 1e-3, "combined norm {norm}");
	assert!(served.take_remote_gradients(&trainer.model.encoder).is_none(), "taken once");

	trainer.apply_remote(remote.grads);
	served.publish(&trainer.model.encoder);
	let after = served.forward(&tokens, 1, SEQ).unwrap();
	assert_ne!(before, after);
	assert!(objective(&after) < objective(&before), "a descent step on <h, grad>");
}

#[test]
fn backward_is_rate_limited_and_checked() {
	let trainer = Trainer::new(small(), &Device::flex(), 6);
	let served = ServedNucleus::new(Serving::Model, 16, Some(1.0), 6);
	served.publish(&trainer.model.encoder);
	let grad = vec![0.1; 4 * REPRESENTATION_DIM];
	served.backward(&caller(1), &[1, 2, 3, 4], &grad, 1, 4).unwrap();
	assert!(matches!(
		served.backward(&caller(1), &[1, 2, 3, 4], &grad, 1, 4),
		Err(ModelError::Busy(_))
	));
	assert!(
		matches!(served.forward(&[0; 17], 1, 17), Err(ModelError::InvalidInput(_))),
		"longer than the context"
	);
	assert!(matches!(
		served.backward(&caller(1), &[0; 17], &[0.0; 17 * REPRESENTATION_DIM], 1, 17),
		Err(ModelError::InvalidInput(_))
	));

	// The queue holds as many gradients as the rate allows per second, until the trainer takes
	// them.
	let queued = ServedNucleus::new(Serving::Model, 16, Some(2.0), 6);
	queued.publish(&trainer.model.encoder);
	queued.backward(&caller_number(1, 1), &[1, 2, 3, 4], &grad, 1, 4).unwrap();
	std::thread::sleep(std::time::Duration::from_millis(600));
	// One gradient per caller waits at a time.
	match queued.backward(&caller_number(1, 1), &[1, 2, 3, 4], &grad, 1, 4) {
		Err(ModelError::Busy(message)) => assert!(message.contains("still waiting"), "{message}"),
		other => panic!("{other:?}"),
	}
	queued.backward(&caller_number(2, 1), &[1, 2, 3, 4], &grad, 1, 4).unwrap();
	std::thread::sleep(std::time::Duration::from_millis(600));
	match queued.backward(&caller_number(3, 1), &[1, 2, 3, 4], &grad, 1, 4) {
		Err(ModelError::Busy(message)) => assert!(message.contains("already waiting"), "{message}"),
		other => panic!("{other:?}"),
	}
	assert_eq!(queued.take_remote_gradients(&trainer.model.encoder).unwrap().callers, 2);
	assert!(matches!(served.forward(&[256], 1, 1), Err(ModelError::InvalidInput(_))));

	// A gradient of more rows than one pass should take is refused; so is Backward by a peer
	// that did not opt in.
	let rows = MAX_BACKWARD_ROWS + 1;
	assert!(matches!(
		queued.backward(
			&caller_number(4, 1),
			&vec![1; rows],
			&vec![0.1; rows * REPRESENTATION_DIM],
			rows,
			1
		),
		Err(ModelError::InvalidInput(_))
	));
	// However many rows callers send, a step applies at most BACKWARD_ROWS_PER_STEP of them,
	// shared between the callers.
	let eight = vec![0.1; 8 * 4 * REPRESENTATION_DIM];
	let wide = ServedNucleus::new(Serving::Model, 16, Some(100.0), 6);
	wide.publish(&trainer.model.encoder);
	wide.backward(&caller_number(5, 1), &[1; 32], &eight, 8, 4).unwrap();
	let alone = wide.take_remote_gradients(&trainer.model.encoder).unwrap();
	assert_eq!((alone.callers, alone.rows), (1, BACKWARD_ROWS_PER_STEP));
	for number in 0..3 {
		wide.backward(&caller_number(10 + number, 1), &[1; 32], &eight, 8, 4).unwrap();
	}
	let shared = wide.take_remote_gradients(&trainer.model.encoder).unwrap();
	assert_eq!((shared.callers, shared.rows), (3, 3), "one row each, at least");
	let closed = ServedNucleus::new(Serving::Model, 16, None, 6);
	closed.publish(&trainer.model.encoder);
	assert!(matches!(
		closed.backward(&caller(1), &[1, 2, 3, 4], &grad, 1, 4),
		Err(ModelError::Unsupported(_))
	));

	let random = ServedNucleus::new(Serving::Noise, 16, Some(10.0), 6);
	let noise = random.forward(&[1, 2], 1, 2).unwrap();
	assert_eq!(noise.len(), 2 * REPRESENTATION_DIM);
	assert_ne!(noise, random.forward(&[1, 2], 1, 2).unwrap(), "fresh noise every call");
	random.backward(&caller(1), &[1, 2], &noise, 1, 2).unwrap();
	assert!(
		random.take_remote_gradients(&trainer.model.encoder).is_none(),
		"a random peer ignores gradients"
	);
}

#[test]
fn the_distilled_model_approaches_the_gated_network() {
	let corpus = Corpus::synthetic(50_000, 7);
	let mut trainer = Trainer::new(small(), &Device::flex(), 7);
	let (a, b) = (EmbeddingModel::new(11), EmbeddingModel::new(12));
	let peers: [&dyn Model; 2] = [&a, &b];
	let mut rng = Rng::new(7);
	let mut distillation = Vec::new();
	for _ in 0..120 {
		let batch = Batch::sample(&corpus.train, BATCH, SEQ, &mut rng);
		let pending = trainer.begin(&batch, &[0, 1]);
		let chosen: Vec<&dyn Model> = pending.chosen.iter().map(|i| peers[*i]).collect();
		let report = trainer.finish(pending, Some(&answers(&chosen, &batch, &[false, false])));
		distillation.push(report.distillation_loss.unwrap());
	}
	let first: f32 = distillation[..10].iter().sum::<f32>() / 10.0;
	let last: f32 = distillation[110..].iter().sum::<f32>() / 10.0;
	assert!(last < 0.5 * first, "distillation loss {first} → {last}");

	let held_out = Batch::consecutive(&corpus.held_out, BATCH, SEQ, 4);
	let student = trainer.evaluate(&held_out).student_loss;
	let network: f32 = held_out
		.iter()
		.map(|batch| {
			let order = trainer.begin(batch, &[0, 1]).chosen;
			let chosen: Vec<&dyn Model> = order.iter().map(|i| peers[*i]).collect();
			trainer.evaluate_network(batch, &answers(&chosen, batch, &[false, false]), &order)
		})
		.sum::<f32>()
		/ held_out.len() as f32;
	assert!((student - network).abs() < 0.25, "student {student} against network {network}");
}

#[test]
fn checkpoints_resume_the_model_the_optimizers_and_the_scores() {
	let corpus = Corpus::synthetic(20_000, 8);
	let mut trainer = Trainer::new(small(), &Device::flex(), 8);
	let mut rng = Rng::new(8);
	for _ in 0..5 {
		trainer.step_offline(&Batch::sample(&corpus.train, BATCH, SEQ, &mut rng));
	}
	let mut scores = Ledger::new(0.1);
	scores.follow_registrations([(1, "alice"), (2, "bob")]);
	scores.observe(1, 0.5, Some(0.0));
	let dir = tempfile::tempdir().unwrap();
	let path = dir.path().join("checkpoint");
	save_checkpoint(&trainer, scores.clone(), &path).unwrap();

	let mut resumed = Trainer::new(small(), &Device::flex(), 99);
	let mut resumed_scores = Ledger::new(0.1);
	assert!(load_checkpoint(&mut resumed, &mut resumed_scores, &path).unwrap());
	assert_eq!(resumed.step, 5);
	assert_eq!(resumed_scores, scores);
	let held_out = Batch::consecutive(&corpus.held_out, BATCH, SEQ, 2);
	assert_eq!(trainer.evaluate(&held_out), resumed.evaluate(&held_out));
	// The optimizer state came along: the next step is the same on both.
	let batch = Batch::sample(&corpus.train, BATCH, SEQ, &mut rng);
	trainer.step_offline(&batch);
	resumed.step_offline(&batch);
	let (a, b) = (trainer.evaluate(&held_out).local_loss, resumed.evaluate(&held_out).local_loss);
	assert!((a - b).abs() < 1e-5, "{a} against {b}");

	assert!(!load_checkpoint(&mut resumed, &mut resumed_scores, &dir.path().join("none")).unwrap());
	// A model of another shape is refused by name, before its parameters are read.
	let mut wider = Trainer::new(NucleusConfig { layers: 3, ..small() }, &Device::flex(), 4);
	let error = load_checkpoint(&mut wider, &mut resumed_scores, &path).unwrap_err();
	assert!(matches!(error, RunError::CheckpointShape { .. }), "{error}");
	assert!(error.to_string().contains("another shape"), "{error}");
	// Learning rates and the number of peers queried may change between runs.
	let mut retuned = Trainer::new(
		NucleusConfig { top_k: 2, learning_rate: 1e-4, ..small() },
		&Device::flex(),
		4,
	);
	assert!(load_checkpoint(&mut retuned, &mut resumed_scores, &path).unwrap());
	std::fs::write(path.join("model.bpk"), b"not a burnpack").unwrap();
	assert!(matches!(
		load_checkpoint(&mut resumed, &mut resumed_scores, &path),
		Err(RunError::CheckpointModel { .. })
	));
}

#[test]
fn a_backward_flood_cannot_starve_the_training_loop() {
	use bittensor_neuron::net::{
		auth::now_nanos,
		axon::{self, AxonConfig, Peers},
		dendrite::{Dendrite, Outcome, PeerEndpoint},
	};
	use bittensor_primitives::TOKEN;
	use sp_core::{sr25519, Pair};

	const RATE: f64 = 4.0;
	let runtime = tokio::runtime::Runtime::new().unwrap();
	let (server, flooder) = (
		sr25519::Pair::from_string("//Server", None).unwrap(),
		sr25519::Pair::from_string("//Flooder", None).unwrap(),
	);
	let mut trainer = Trainer::new(small(), &Device::flex(), 8);
	let served = ServedNucleus::new(Serving::Model, SEQ, Some(RATE), 8);
	served.publish(&trainer.model.encoder);
	let genesis = [9; 32];
	let peers = Peers::new([(AccountId32::from(flooder.public()), 1_000 * TOKEN)]);
	let address = "127.0.0.1:0".parse().unwrap();
	let server_account = AccountId32::from(server.public());
	let axon = runtime
		.block_on(axon::serve(
			server_account.clone(),
			genesis,
			served.clone(),
			peers,
			AxonConfig::default(),
			address,
		))
		.unwrap();
	let peer = PeerEndpoint { uid: 0, hotkey: server_account, address: axon.local_addr };

	// Eight callers' worth of Backward, back to back, for as long as the trainer runs.
	let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
	let flood = {
		let (stop, peer) = (stop.clone(), peer.clone());
		let dendrite =
			std::sync::Arc::new(Dendrite::new(flooder, genesis, std::time::Duration::from_secs(5)));
		runtime.spawn(async move {
			let tokens: Vec<i64> = (0..SEQ as i64).collect();
			let grad = vec![vec![0.01; SEQ * REPRESENTATION_DIM]];
			let one = |dendrite: std::sync::Arc<Dendrite>| {
				let (stop, peer, tokens, grad) =
					(stop.clone(), peer.clone(), tokens.clone(), grad.clone());
				async move {
					let (mut accepted, mut refused) = (0usize, 0usize);
					while !stop.load(std::sync::atomic::Ordering::SeqCst) {
						let outcomes =
							dendrite.backward(std::slice::from_ref(&peer), &tokens, &grad, 1, SEQ);
						match outcomes.await.as_slice() {
							[Outcome::Success] => accepted += 1,
							_ => refused += 1,
						}
					}
					(accepted, refused)
				}
			};
			let callers = (0..8).map(|_| one(dendrite.clone()));
			futures::future::join_all(callers).await
		})
	};

	let corpus = Corpus::synthetic(20_000, 3);
	let mut rng = Rng::new(3);
	let started = now_nanos();
	let mut taken = Vec::new();
	for _ in 0..20 {
		trainer.step_offline(&Batch::sample(&corpus.train, BATCH, SEQ, &mut rng));
		if let Some(remote) = served.take_remote_gradients(&trainer.model.encoder) {
			taken.push(remote.callers);
			trainer.apply_remote(remote.grads);
		}
		served.publish(&trainer.model.encoder);
	}
	let seconds = (now_nanos() - started) as f64 / 1e9;
	stop.store(true, std::sync::atomic::Ordering::SeqCst);
	let counts = runtime.block_on(flood).unwrap();
	let (accepted, refused) = counts
		.iter()
		.fold((0, 0), |(a, r), (accepted, refused)| (a + accepted, r + refused));
	println!(
		"20 training steps in {seconds:.2} s under a Backward flood: {accepted} accepted, \
		 {refused} refused; gradients taken per step {taken:?}"
	);
	assert_eq!(trainer.step, 20, "every step ran");
	assert!(
		refused > accepted,
		"the flood is mostly refused: {accepted} accepted, {refused} refused"
	);
	// However hard callers push, a step takes at most the queue's worth of their gradients,
	// and over the run at most the rate's worth and a burst.
	assert!(taken.iter().all(|callers| *callers <= RATE as usize), "{taken:?}");
	let allowed = (RATE * seconds).ceil() as usize + RATE as usize + 1;
	assert!(accepted <= allowed, "{accepted} Backward calls accepted in {seconds:.2} s");
	runtime.block_on(axon.shutdown()).unwrap();
}
