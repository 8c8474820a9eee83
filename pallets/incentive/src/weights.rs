//! Weights for `pallet_incentive`.
//!
//! Regenerate on the reference machine with `scripts/benchmark-pallet.sh` (builds
//! `bittensor-node --features runtime-benchmarks` and runs `bittensor-node benchmark pallet
//! --pallet pallet_incentive --extrinsic '*' --output pallets/incentive/src/weights.rs`).
//! Until then these are conservative estimates: the epoch's per-entry and per-peer costs are
//! the criterion benchmark of the pure epoch (about 70 ns an entry natively) times 7 for wasm,
//! plus its storage accesses. Units: picoseconds of reference time, bytes of proof.

#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(missing_docs)]

use core::marker::PhantomData;
use frame_support::{
	traits::Get,
	weights::{constants::RocksDbWeight, Weight},
};

/// Weight functions needed for `pallet_incentive`.
pub trait WeightInfo {
	fn register() -> Weight;
	fn serve_axon() -> Weight;
	fn add_stake() -> Weight;
	fn remove_stake() -> Weight;
	fn set_weights(n: u32) -> Weight;
	fn set_hyperparameter() -> Weight;
	fn epoch(n: u32, w: u32) -> Weight;
}

/// Weights for `pallet_incentive` using the node's database weights.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn register() -> Weight {
		Weight::from_parts(120_000_000, 40_000)
			.saturating_add(T::DbWeight::get().reads(24))
			.saturating_add(T::DbWeight::get().writes(20))
	}
	fn serve_axon() -> Weight {
		Weight::from_parts(25_000_000, 4_000)
			.saturating_add(T::DbWeight::get().reads(2))
			.saturating_add(T::DbWeight::get().writes(1))
	}
	fn add_stake() -> Weight {
		Weight::from_parts(60_000_000, 40_000)
			.saturating_add(T::DbWeight::get().reads(6))
			.saturating_add(T::DbWeight::get().writes(4))
	}
	fn remove_stake() -> Weight {
		Weight::from_parts(60_000_000, 40_000)
			.saturating_add(T::DbWeight::get().reads(6))
			.saturating_add(T::DbWeight::get().writes(4))
	}
	/// The range of component `n` is `[1, 4096]`.
	fn set_weights(n: u32) -> Weight {
		Weight::from_parts(40_000_000, 40_000)
			.saturating_add(Weight::from_parts(300_000, 8).saturating_mul(n.into()))
			.saturating_add(T::DbWeight::get().reads(7))
			.saturating_add(T::DbWeight::get().writes(4))
	}
	fn set_hyperparameter() -> Weight {
		Weight::from_parts(15_000_000, 1_000)
			.saturating_add(T::DbWeight::get().reads(2))
			.saturating_add(T::DbWeight::get().writes(2))
	}
	/// The range of component `n` is `[1, 4096]`.
	/// The range of component `w` is `[0, 524288]`.
	fn epoch(n: u32, w: u32) -> Weight {
		Weight::from_parts(50_000_000, 200_000)
			.saturating_add(Weight::from_parts(5_000_000, 200).saturating_mul(n.into()))
			.saturating_add(Weight::from_parts(500_000, 16).saturating_mul(w.into()))
			.saturating_add(T::DbWeight::get().reads(20))
			.saturating_add(T::DbWeight::get().reads((2_u64).saturating_mul(n.into())))
			.saturating_add(T::DbWeight::get().writes(12))
			.saturating_add(T::DbWeight::get().writes((1_u64).saturating_mul(n.into())))
	}
}

// For tests: the same figures with RocksDB's database weights.
impl WeightInfo for () {
	fn register() -> Weight {
		Weight::from_parts(120_000_000, 40_000)
			.saturating_add(RocksDbWeight::get().reads(24))
			.saturating_add(RocksDbWeight::get().writes(20))
	}
	fn serve_axon() -> Weight {
		Weight::from_parts(25_000_000, 4_000)
			.saturating_add(RocksDbWeight::get().reads(2))
			.saturating_add(RocksDbWeight::get().writes(1))
	}
	fn add_stake() -> Weight {
		Weight::from_parts(60_000_000, 40_000)
			.saturating_add(RocksDbWeight::get().reads(6))
			.saturating_add(RocksDbWeight::get().writes(4))
	}
	fn remove_stake() -> Weight {
		Weight::from_parts(60_000_000, 40_000)
			.saturating_add(RocksDbWeight::get().reads(6))
			.saturating_add(RocksDbWeight::get().writes(4))
	}
	fn set_weights(n: u32) -> Weight {
		Weight::from_parts(40_000_000, 40_000)
			.saturating_add(Weight::from_parts(300_000, 8).saturating_mul(n.into()))
			.saturating_add(RocksDbWeight::get().reads(7))
			.saturating_add(RocksDbWeight::get().writes(4))
	}
	fn set_hyperparameter() -> Weight {
		Weight::from_parts(15_000_000, 1_000)
			.saturating_add(RocksDbWeight::get().reads(2))
			.saturating_add(RocksDbWeight::get().writes(2))
	}
	fn epoch(n: u32, w: u32) -> Weight {
		Weight::from_parts(50_000_000, 200_000)
			.saturating_add(Weight::from_parts(5_000_000, 200).saturating_mul(n.into()))
			.saturating_add(Weight::from_parts(500_000, 16).saturating_mul(w.into()))
			.saturating_add(RocksDbWeight::get().reads(20))
			.saturating_add(RocksDbWeight::get().reads((2_u64).saturating_mul(n.into())))
			.saturating_add(RocksDbWeight::get().writes(12))
			.saturating_add(RocksDbWeight::get().writes((1_u64).saturating_mul(n.into())))
	}
}
