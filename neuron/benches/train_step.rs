//! Training throughput of the nucleus on the CPU (burn's Flex backend): one step of the
//! default model (2 layers, d = 256, 4 heads, feed-forward 1024) on a batch of 8 × 64 bytes,
//! with the gate joining 4 peers' representations, the distillation network and the student
//! loss all on, and the same step offline. Criterion reports
//! tokens per second (elements = batch × seq).
//!
//! Model-FLOP utilisation is printed from the analytic FLOPs of one step: training costs three
//! times the forward multiply-adds (forward, and two for backward), two FLOPs each.
//!
//! `cargo bench -p bittensor-neuron --bench train_step`

use bittensor_neuron::{
	data::{
		corpus::{Batch, Corpus},
		rng::Rng,
	},
	net::{
		protocol::{REPRESENTATION_DIM, VOCAB_SIZE},
		served_model::{Caller, EmbeddingModel, Model},
	},
	nucleus::{
		serving::{ServedNucleus, Serving},
		NucleusConfig, RemoteAnswers, Trainer,
	},
	scoring::{Validator, ValidatorConfig},
};
use burn::prelude::Device;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sp_core::crypto::AccountId32;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BATCH: usize = 8;
const SEQ: usize = 64;
const PEERS: usize = 4;

/// FLOPs of one training step per token, with `peers` joined (0 offline).
fn flops_per_token(config: &NucleusConfig, peers: usize) -> f64 {
	let (d, ff, s, v) =
		(REPRESENTATION_DIM as f64, config.feed_forward as f64, SEQ as f64, VOCAB_SIZE as f64);
	// Per layer: q, k, v, out projections; scores and weighted sum over the sequence; feed-forward.
	let layer = 4.0 * d * d + 2.0 * s * d + 2.0 * d * ff;
	let heads = d * v + 2.0 * d * d + 2.0 * d * v * if peers > 0 { 2.0 } else { 1.0 };
	6.0 * (config.layers as f64 * layer + heads)
}

fn train_step(c: &mut Criterion) {
	let config = NucleusConfig::default();
	let corpus = Corpus::synthetic(200_000, 1);
	let peers: Vec<EmbeddingModel> = (0..PEERS as u64).map(EmbeddingModel::new).collect();
	let mut trainer = Trainer::new(config.clone(), &Device::flex(), 1);
	let mut rng = Rng::new(1);
	let batches: Vec<Batch> =
		(0..16).map(|_| Batch::sample(&corpus.train, BATCH, SEQ, &mut rng)).collect();
	let answers: Vec<RemoteAnswers> = batches
		.iter()
		.map(|batch| RemoteAnswers {
			representations: peers
				.iter()
				.map(|p| p.forward(&batch.inputs, BATCH, SEQ).unwrap())
				.collect(),
			masked: vec![false; PEERS],
		})
		.collect();
	let candidates: Vec<usize> = (0..PEERS).collect();

	for (name, peers) in [("gated, 4 peers", PEERS), ("offline", 0)] {
		let flops = flops_per_token(&config, peers);
		eprintln!(
			"{name}: {:.2} MFLOP per token; at 2.6 GHz × 32 FLOP/cycle × 2 cores (AVX-512 FMA, 166 GFLOP/s) \
			 2000 tokens/s would be {:.1} % model-FLOP utilisation",
			flops / 1e6,
			2000.0 * flops / 166.4e9 * 100.0
		);
	}

	let mut group = c.benchmark_group("train_step_8x64");
	group.throughput(Throughput::Elements((BATCH * SEQ) as u64));
	group.sample_size(30);
	let mut i = 0;
	group.bench_function("gated_4_peers_distillation", |b| {
		b.iter(|| {
			i = (i + 1) % batches.len();
			let pending = trainer.begin(&batches[i], &candidates);
			trainer.finish(pending, Some(&answers[i]))
		})
	});
	group.bench_function("offline", |b| {
		b.iter(|| {
			i = (i + 1) % batches.len();
			trainer.step_offline(&batches[i])
		})
	});
	group.finish();

	// One validation query's scoring, with the peers' answers ready.
	let mut validator = Validator::new(ValidatorConfig::default(), corpus.train.clone(), 1);
	let queries: Vec<_> = (0..8)
		.map(|_| {
			let query = validator.next_query(&[0, 1, 2, 3]).unwrap();
			let answers = query.ask(|uid| peers.get(usize::from(uid)).map(|p| p as &dyn Model));
			(query, answers)
		})
		.collect();
	let mut group = c.benchmark_group("beside_a_step");
	group.sample_size(30);
	let mut q = 0;
	group.bench_function("score_validation_query_4_peers", |b| {
		b.iter(|| {
			q = (q + 1) % queries.len();
			validator.score(&queries[q].0, &queries[q].1)
		})
	});

	// Four callers' Backward gradients, queued and applied in one pass.
	let served = ServedNucleus::new(Serving::Model, 256, Some(1e6), 1);
	served.publish(&trainer.model.encoder);
	let grad = vec![0.01f32; BATCH * SEQ * REPRESENTATION_DIM];
	group.bench_function("backward_4_callers_8x64", |b| {
		b.iter(|| {
			for caller in 0..4u8 {
				let caller = Caller { hotkey: AccountId32::new([caller; 32]), stake: 1 };
				served.backward(&caller, &batches[0].inputs, &grad, BATCH, SEQ).unwrap();
			}
			served.take_remote_gradients(&trainer.model.encoder).unwrap()
		})
	});
	group.finish();
}

criterion_group!(benches, train_step);
criterion_main!(benches);
