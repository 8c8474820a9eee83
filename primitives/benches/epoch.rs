#![allow(
	clippy::arithmetic_side_effects,
	clippy::indexing_slicing,
	clippy::unwrap_used,
	clippy::expect_used,
	clippy::type_complexity
)]
//! Criterion benchmark of the pure epoch: 256 to 16384 peers, 64 weights per peer (and the
//! bonds one earlier epoch leaves), to show the cost growing linearly with the weights; and
//! the shape validator permits give it, 4096 peers of which 64 or 128 validators weight every
//! peer (the chain's default and its worst case). Yuma 3 runs on the same shapes at 4096
//! peers (`yuma3/…`), its bonds those one earlier Yuma 3 epoch leaves.
//!
//! `cargo bench -p bittensor-primitives --bench epoch`

use bittensor_primitives::{
	epoch::{run_epoch, EpochInput, EpochParams, Uid},
	yuma3::{run_yuma3, Yuma3Params},
};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

/// Weights each peer sets.
const WEIGHTS_PER_PEER: usize = 64;

/// A deterministic metagraph of `n` peers: varied stake, 64 weights per peer on pseudo-random
/// others, and the bonds left by one earlier epoch.
fn metagraph(n: usize) -> (Vec<u64>, Vec<bool>, Vec<Vec<(Uid, u16)>>, Vec<Vec<(Uid, u64)>>) {
	let mut state = 0x9e37_79b9_7f4a_7c15u64;
	let mut next = move || {
		state ^= state << 13;
		state ^= state >> 7;
		state ^= state << 17;
		state
	};
	let stake: Vec<u64> = (0..n).map(|_| next() % 1_000_000_000_000).collect();
	let weights: Vec<Vec<(Uid, u16)>> = (0..n)
		.map(|_| {
			let mut row: Vec<(Uid, u16)> = (0..WEIGHTS_PER_PEER)
				.map(|_| ((next() % n as u64) as Uid, (next() % 65_535 + 1) as u16))
				.collect();
			row.sort_unstable_by_key(|(j, _)| *j);
			row.dedup_by_key(|(j, _)| *j);
			row
		})
		.collect();
	with_bonds(stake, weights)
}

/// `validators` of `n` peers (the first ones, with the most stake) weight every peer, with the
/// bonds one earlier epoch leaves.
fn validators(
	n: usize,
	validators: usize,
) -> (Vec<u64>, Vec<bool>, Vec<Vec<(Uid, u16)>>, Vec<Vec<(Uid, u64)>>) {
	let stake: Vec<u64> = (0..n)
		.map(|i| if i < validators { 1_000_000_000_000 } else { 1_000_000_000 })
		.collect();
	let full_row: Vec<(Uid, u16)> = (0..n).map(|j| (j as Uid, 1_000)).collect();
	let weights: Vec<Vec<(Uid, u16)>> = (0..n)
		.map(|i| if i < validators { full_row.clone() } else { Vec::new() })
		.collect();
	with_bonds(stake, weights)
}

/// `validators()`, with each weight different (the columns' entries then need sorting, and
/// Yuma 3's liquid α its sigmoid where a weight is above consensus).
fn varied_validators(
	n: usize,
	validators: usize,
) -> (Vec<u64>, Vec<bool>, Vec<Vec<(Uid, u16)>>, Vec<Vec<(Uid, u64)>>) {
	let (stake, _, mut weights, _) = self::validators(n, validators);
	for (i, row) in weights.iter_mut().enumerate() {
		for (j, w) in row.iter_mut() {
			*w = ((i * 7_919 + usize::from(*j) * 104_729) % 60_000 + 1_000) as u16;
		}
	}
	with_bonds(stake, weights)
}

/// A benchmark's name and metagraph: stake, activity, weights and bonds.
type Shape = (BenchmarkId, (Vec<u64>, Vec<bool>, Vec<Vec<(Uid, u16)>>, Vec<Vec<(Uid, u64)>>));

/// The shapes validator permits give the epoch: 64 and 128 validators' full rows of 4096
/// peers with equal weights, and 128 with every weight different.
fn validator_shapes() -> impl Iterator<Item = Shape> {
	[64usize, 128]
		.map(|v| (BenchmarkId::new("validators_of_4096", v), validators(4096, v)))
		.into_iter()
		.chain([(BenchmarkId::new("varied_validators_of_4096", 128), varied_validators(4096, 128))])
}

/// The metagraph with the bonds one epoch over it leaves.
fn with_bonds(
	stake: Vec<u64>,
	weights: Vec<Vec<(Uid, u16)>>,
) -> (Vec<u64>, Vec<bool>, Vec<Vec<(Uid, u16)>>, Vec<Vec<(Uid, u64)>>) {
	let active = vec![true; stake.len()];
	let params = EpochParams::default();
	let bonds = run_epoch(
		&params,
		&EpochInput {
			stake: &stake,
			active: &active,
			weights: &weights,
			bonds: &[],
			emission: 1_000_000_000,
		},
	)
	.bonds;
	(stake, active, weights, bonds)
}

fn epoch(c: &mut Criterion) {
	let mut group = c.benchmark_group("epoch");
	group.sample_size(10);
	let params = EpochParams::default();
	let shapes = [256usize, 1024, 4096, 16384]
		.map(|n| (BenchmarkId::new("peers", n), metagraph(n)))
		.into_iter()
		.chain(validator_shapes());
	for (id, (stake, active, weights, bonds)) in shapes {
		let entries: usize = weights.iter().map(Vec::len).sum();
		group.throughput(Throughput::Elements(entries as u64));
		group.bench_function(id, |b| {
			b.iter(|| {
				run_epoch(
					&params,
					&EpochInput {
						stake: &stake,
						active: &active,
						weights: &weights,
						bonds: &bonds,
						emission: 1_000_000_000,
					},
				)
			})
		});
	}
	group.finish();
}

fn yuma3(c: &mut Criterion) {
	let mut group = c.benchmark_group("yuma3");
	group.sample_size(10);
	let params = Yuma3Params { liquid_alpha_enabled: true, ..Yuma3Params::default() };
	let epoch = EpochParams::default();
	let shapes = [(BenchmarkId::new("peers", 4096), metagraph(4096))]
		.into_iter()
		.chain(validator_shapes());
	for (id, (stake, active, weights, _)) in shapes {
		let input = |bonds| EpochInput {
			stake: &stake,
			active: &active,
			weights: &weights,
			bonds,
			emission: 1_000_000_000,
		};
		let bonds = run_yuma3(&epoch, &params, &input(&[])).bonds;
		let entries: usize = weights.iter().map(Vec::len).sum();
		group.throughput(Throughput::Elements(entries as u64));
		group.bench_function(id, |b| b.iter(|| run_yuma3(&epoch, &params, &input(&bonds))));
	}
	group.finish();
}

criterion_group!(benches, epoch, yuma3);
criterion_main!(benches);
