//! The worst state the rules allow, built on the real runtime: a full metagraph (`MaxUids`
//! peers), `MAX_VALIDATORS` permits, every validator weighting every peer and holding a bond
//! in every other peer. The epoch over it must be charged at most half a block and allocate a
//! bounded amount of memory; at the default number of validators it must be charged at most a
//! tenth of a block.
//!
//! The same state gives the size of the metagraph the RPC returns: the light form (no weights
//! or bonds) must stay well under the node's 15 MiB response limit at 4096 peers.
//!
//! Memory is counted by this binary's global allocator (native code; the wasm runtime's
//! allocator rounds each allocation up to a power of two, so it needs at most about twice as
//! much, far below the 128 MiB the node gives the runtime). One test function, so that no
//! other test allocates while it counts.

use bittensor_primitives::{
	epoch::{Mechanism, Uid},
	json::MetagraphJson,
	metagraph::{Hyperparameters, MAX_VALIDATORS},
	yuma3::Yuma3Params,
	AccountId, TOKEN,
};
use bittensor_runtime::{configs::RuntimeBlockWeights, Runtime, RuntimeOrigin};
use frame_support::traits::Hooks;
use pallet_incentive::{BondsCount, LastEpoch, Pallet as Incentive, ValidatorPermit};
use sp_runtime::BuildStorage;
use std::{
	alloc::{GlobalAlloc, Layout, System},
	sync::atomic::{AtomicUsize, Ordering},
};

/// The system allocator, counting the bytes live and the most live since the last reset.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
	unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
		let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
		PEAK.fetch_max(live, Ordering::Relaxed);
		unsafe { System.alloc(layout) }
	}

	unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
		LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
		unsafe { System.dealloc(ptr, layout) }
	}
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn account(index: u32, role: u8) -> AccountId {
	let mut bytes = [role; 32];
	bytes[..4].copy_from_slice(&index.to_le_bytes());
	AccountId::from(bytes)
}

fn max_uids() -> u16 {
	let bound: u32 = <Runtime as pallet_incentive::Config>::MaxUids::get();
	u16::try_from(bound).expect("MaxUids fits a uid")
}

/// What an epoch costs: the share of a block it is charged, the most bytes it held at once
/// beyond what was live before it, and the validators it kept within `MaxEpochWeight`; and
/// the JSON the metagraph RPC returns after it, light and full, in bytes.
struct Cost {
	share: f64,
	peak_bytes: usize,
	validators: usize,
	light_json: usize,
	full_json: usize,
}

/// The size of `metagraph` as the `metagraph_*` RPC returns it.
fn json_bytes(metagraph: bittensor_primitives::metagraph::Metagraph<AccountId, u32>) -> usize {
	serde_json::to_vec(&MetagraphJson::from(metagraph)).expect("JSON").len()
}

/// Builds a full metagraph in which `validators` peers (the most staked) weight every peer
/// and measures the epoch over it.
fn full_rows_epoch(validators: u16, mechanism: Mechanism) -> Cost {
	let n = max_uids();
	let hyperparameters = Hyperparameters {
		max_allowed_uids: n,
		max_allowed_validators: validators,
		mechanism,
		..Hyperparameters::default()
	};
	let peers = (0..u32::from(n))
		.map(|i| {
			let stake = if i < u32::from(validators) { 1_000 * TOKEN } else { TOKEN };
			(account(i, 1), account(i, 2), stake)
		})
		.collect();
	let mut storage = frame_system::GenesisConfig::<Runtime>::default().build_storage().unwrap();
	pallet_incentive::GenesisConfig::<Runtime> { hyperparameters, allow_loopback: false, peers }
		.assimilate_storage(&mut storage)
		.unwrap();
	sp_io::TestExternalities::new(storage).execute_with(|| {
		frame_system::Pallet::<Runtime>::set_block_number(1);
		let every_peer: Vec<Uid> = (0..n).collect();
		for i in 0..u32::from(validators) {
			Incentive::<Runtime>::set_weights(
				RuntimeOrigin::signed(account(i, 1)),
				every_peer.clone(),
				vec![1_000; every_peer.len()],
				0,
			)
			.expect("a validator sets a full row");
		}
		// Yuma's worst case also holds a bond in every other peer: an epoch first builds them.
		// The 2019 mechanism keeps no bonds; its first epoch is its worst.
		let tempo = Hyperparameters::default().tempo;
		let at = if mechanism == Mechanism::Attribution2019 {
			tempo
		} else {
			Incentive::<Runtime>::on_initialize(tempo);
			let bonds = u32::from(validators) * u32::from(n - 1);
			assert!(BondsCount::<Runtime>::get() >= bonds, "a bond in every other peer");
			2 * tempo
		};

		let before = LIVE.load(Ordering::Relaxed);
		PEAK.store(before, Ordering::Relaxed);
		let weight = Incentive::<Runtime>::on_initialize(at);
		let peak_bytes = PEAK.load(Ordering::Relaxed) - before;
		let kept = ValidatorPermit::<Runtime>::get().iter().filter(|p| **p).count();
		assert_eq!(LastEpoch::<Runtime>::get().block, at);
		assert!(LastEpoch::<Runtime>::get().minted > 0);
		let block = RuntimeBlockWeights::get().max_block;
		Cost {
			share: weight.ref_time() as f64 / block.ref_time() as f64,
			peak_bytes,
			validators: kept,
			light_json: json_bytes(Incentive::<Runtime>::metagraph_light()),
			full_json: json_bytes(Incentive::<Runtime>::metagraph()),
		}
	})
}

#[test]
fn the_worst_case_epoch_fits_in_half_a_block_and_bounded_memory() {
	let mib = |bytes: usize| bytes as f64 / (1024.0 * 1024.0);
	let default_validators = Hyperparameters::default().max_allowed_validators;
	let yuma3 = Mechanism::Yuma3(Yuma3Params { liquid_alpha_enabled: true, ..Default::default() });
	let cases = [
		("defaults", default_validators, Mechanism::Yuma2021, 0.10),
		("worst case", MAX_VALIDATORS, Mechanism::Yuma2021, 0.50),
		("worst case, 2019 mechanism", MAX_VALIDATORS, Mechanism::Attribution2019, 0.50),
		("worst case, Yuma 3 with liquid alpha", MAX_VALIDATORS, yuma3, 0.50),
	];
	for (name, validators, mechanism, bound) in cases {
		let cost = full_rows_epoch(validators, mechanism);
		println!(
			"{name}: {} peers, {validators} validators with full rows: {} kept, charged \
			 {:.1}% of a block, peak {:.1} MiB; metagraph JSON {:.2} MiB light, {:.2} MiB full",
			max_uids(),
			cost.validators,
			cost.share * 100.0,
			mib(cost.peak_bytes),
			mib(cost.light_json),
			mib(cost.full_json),
		);
		assert!(
			mib(cost.light_json) < 4.0,
			"{name}: light metagraph {:.2} MiB",
			mib(cost.light_json)
		);
		// Yuma fits whole; the 2019 mechanism's passes may make the epoch keep fewer.
		if mechanism != Mechanism::Attribution2019 {
			assert_eq!(cost.validators, usize::from(validators), "{name}: validators capped");
		}
		assert!(cost.share <= bound, "{name}: charged {:.1}% of a block", cost.share * 100.0);
		assert!(mib(cost.peak_bytes) < 48.0, "{name}: peak {:.1} MiB", mib(cost.peak_bytes));
	}
}
