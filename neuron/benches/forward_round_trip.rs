//! Forward round trip over loopback: a dendrite asks an axon for the representation of
//! [8, 64] tokens and gets [8, 64, d] float32 back (0.52 MB at d = 256), signed, checked by the
//! axon's gate before its body is read, and validated both ways. The model is a table lookup, so
//! the network layer is what is measured. `concurrency_1` is one request at a time (its time is the
//! round trip); `concurrency_8` keeps eight in flight (its throughput is requests per second).

use std::{net::SocketAddr, time::Duration};

use bittensor_neuron::net::{
	axon::{self, AxonConfig, Peers},
	dendrite::{Dendrite, Outcome, PeerEndpoint},
	served_model::EmbeddingModel,
};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// The allocator of the `neuron` binary (see its `main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use futures::future::join_all;
use sp_core::{crypto::AccountId32, sr25519, Pair};

const BATCH: usize = 8;
const SEQ: usize = 64;
/// The chain the requests are signed for.
const GENESIS: [u8; 32] = [1; 32];

fn forward_round_trip(c: &mut Criterion) {
	let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
	let server = sr25519::Pair::from_string("//Server", None).expect("a dev key");
	let client = sr25519::Pair::from_string("//Client", None).expect("a dev key");
	let peers = Peers::new([(AccountId32::from(client.public()), 1_000_000_000)]);
	// No rate limit or load shedding in the way: the network layer is what is measured.
	let config =
		AxonConfig { requests_per_second: 1e9, max_in_flight: 1024, ..AxonConfig::default() };
	let listen: SocketAddr = "127.0.0.1:0".parse().expect("an address");
	let axon = runtime
		.block_on(axon::serve(
			AccountId32::from(server.public()),
			GENESIS,
			EmbeddingModel::new(1),
			peers,
			config,
			listen,
		))
		.expect("the axon listens");
	let peer = PeerEndpoint {
		uid: 0,
		hotkey: AccountId32::from(server.public()),
		address: axon.local_addr,
	};
	let dendrite = Dendrite::new(client, GENESIS, Duration::from_secs(5));
	let tokens: Vec<i64> = (0..BATCH * SEQ).map(|i| (i % 256) as i64).collect();
	let query = || async {
		let results = dendrite.forward(std::slice::from_ref(&peer), &tokens, BATCH, SEQ).await;
		assert_eq!(results.outcomes, vec![Outcome::Success]);
	};

	let mut group = c.benchmark_group("forward_round_trip");
	group.throughput(Throughput::Elements(1));
	group.bench_function("concurrency_1", |b| b.iter(|| runtime.block_on(query())));
	group.throughput(Throughput::Elements(8));
	group.bench_function("concurrency_8", |b| {
		b.iter(|| runtime.block_on(join_all((0..8).map(|_| query()))))
	});
	group.finish();
	runtime.block_on(axon.shutdown()).expect("the axon stops");
}

criterion_group!(benches, forward_round_trip);
criterion_main!(benches);
