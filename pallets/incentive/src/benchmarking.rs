// Benchmarks may panic on a broken setup: that is a failed benchmark, not runtime code.
#![allow(clippy::expect_used, clippy::arithmetic_side_effects, clippy::indexing_slicing)]

//! Benchmarks of every call and of the epoch, as a function of peers and weight entries.
//!
//! `weights.rs` is generated from them: see its header for the command.

use super::*;
use crate::Pallet as Incentive;
use alloc::vec::Vec;
use bittensor_primitives::{epoch::Mechanism, metagraph::MAX_VALIDATORS};
use frame_benchmarking::v2::*;
use frame_support::{
	traits::{fungible::Mutate, Get},
	BoundedVec,
};
use frame_system::{pallet_prelude::BlockNumberFor, RawOrigin};
use sp_runtime::Saturating;

/// Balance given to every benchmark account: 10^6 tokens.
const FUNDS: u64 = 1_000_000_000_000_000;

fn funded<T: Config>(name: &'static str, index: u32) -> T::AccountId {
	let account: T::AccountId = account(name, index, 0);
	let _ = T::Currency::mint_into(&account, FUNDS);
	account
}

/// Hyperparameters that let benchmarks reach the worst case: as many peers as the runtime
/// allows, `validators` permits, no rate limits, every peer replaceable.
fn open_hyperparameters<T: Config>(validators: u16) {
	let max = u16::try_from(T::MaxUids::get()).unwrap_or(u16::MAX);
	Hyperparams::<T>::put(Hyperparameters {
		max_allowed_uids: max,
		max_allowed_validators: validators,
		immunity_period: 0,
		weights_set_rate_limit: 0,
		max_registrations_per_block: u16::MAX,
		max_registrations_per_interval: u16::MAX,
		min_allowed_weights: 0,
		..Default::default()
	});
	MinAllowedWeights::<T>::put(0);
	Incentive::<T>::ensure_stake_account_exists();
}

/// Registers `n` peers with stake; returns their hotkeys.
fn peers<T: Config>(n: u32) -> Vec<T::AccountId> {
	let coldkey = funded::<T>("coldkey", 0);
	(0..n)
		.map(|i| {
			let hotkey: T::AccountId = account("hotkey", i, 0);
			let uid = Incentive::<T>::append_peer(&hotkey, &coldkey, 0u32.into())
				.expect("room for the peer");
			Incentive::<T>::mint_stake(uid, 1_000_000_000).expect("stake minted");
			hotkey
		})
		.collect()
}

/// Permits for the `validators` first peers, with a thousand times the others' stake so that
/// every epoch keeps them, and `total` weights spread evenly over their rows, each row
/// pointing at the peers that follow it (at most `n - 1` a row).
fn validator_rows<T: Config>(n: u32, validators: u32, total: u32) {
	for uid in 0..validators {
		let uid = Uid::try_from(uid).unwrap_or(0);
		Incentive::<T>::mint_stake(uid, 1_000_000_000_000).expect("validator stake minted");
	}
	let permits = (0..n).map(|uid| uid < validators).collect::<Vec<_>>();
	ValidatorPermit::<T>::put(BoundedVec::truncate_from(permits));
	let mut placed = 0u32;
	for i in 0..validators {
		let per_row = (total / validators + u32::from(i < total % validators)).min(n - 1);
		let mut row: Vec<(Uid, u16)> =
			(1..=per_row).map(|k| (Uid::try_from((i + k) % n).unwrap_or(0), 1000)).collect();
		row.sort_unstable_by_key(|(j, _)| *j);
		placed += per_row;
		Weights::<T>::insert(Uid::try_from(i).unwrap_or(0), BoundedVec::truncate_from(row));
	}
	WeightsCount::<T>::put(placed);
}

/// `set_weights`' worst case: a full metagraph whose uid 0, the only validator, holds a
/// weight on every peer; returns its hotkey and a new row of `n` weights (the first on itself).
fn validator_with_full_row<T: Config>(n: u32) -> (T::AccountId, Vec<Uid>, Vec<u16>) {
	open_hyperparameters::<T>(MAX_VALIDATORS);
	let max = T::MaxUids::get();
	let hotkey = peers::<T>(max).remove(0);
	validator_rows::<T>(max, 1, 0);
	let full_row: Vec<(Uid, u16)> = (0..max).map(|j| (Uid::try_from(j).unwrap_or(0), 1)).collect();
	Weights::<T>::insert(0, BoundedVec::truncate_from(full_row));
	WeightsCount::<T>::put(max);
	let uids: Vec<Uid> = (0..n).map(|j| Uid::try_from(j).unwrap_or(0)).collect();
	let weights = alloc::vec![1_000u16; uids.len()];
	(hotkey, uids, weights)
}

/// Runs one epoch so that bonds exist, and moves to the block of the next one; returns it.
/// Benchmarks run the epoch with every permit they ask for: capping to `MaxEpochWeight` is
/// decided from the weights they produce.
fn prepare_epoch<T: Config>() -> BlockNumberFor<T> {
	let tempo = BlockNumberFor::<T>::from(Hyperparams::<T>::get().tempo);
	frame_system::Pallet::<T>::set_block_number(tempo);
	Incentive::<T>::apply_epoch_with(tempo, Hyperparams::<T>::get().max_allowed_validators);
	let next = tempo.saturating_add(tempo);
	frame_system::Pallet::<T>::set_block_number(next);
	next
}

/// A full metagraph under `mechanism` whose `MAX_VALIDATORS` validators hold `entries` weight
/// and bond entries in all: half of them weights spread evenly over the rows, half the bonds
/// an earlier epoch built from them. With `turn`, the weights vary from entry to entry and
/// turn over after that epoch (each becomes `u16::MAX` minus itself), so that the next epoch
/// moves every bond a different way. Returns the block of the next epoch.
fn entries_epoch<T: Config>(mechanism: Mechanism, entries: u32, turn: bool) -> BlockNumberFor<T> {
	open_hyperparameters::<T>(MAX_VALIDATORS);
	Hyperparams::<T>::mutate(|h| h.mechanism = mechanism);
	let n = T::MaxUids::get();
	peers::<T>(n);
	validator_rows::<T>(n, u32::from(MAX_VALIDATORS), entries / 2);
	let set_each_weight = |weight: fn(u16, u16, u16) -> u16| {
		for i in 0..MAX_VALIDATORS {
			Weights::<T>::mutate(i, |row| row.iter_mut().for_each(|(j, w)| *w = weight(i, *j, *w)));
		}
	};
	if turn {
		set_each_weight(|i, j, _| {
			((u32::from(i) * 7_919 + u32::from(j) * 104_729) % 60_000) as u16 + 1_000
		});
	}
	let at = prepare_epoch::<T>();
	if turn {
		set_each_weight(|_, _, w| u16::MAX - w);
	}
	assert_eq!(WeightsCount::<T>::get() + BondsCount::<T>::get(), entries / 2 * 2);
	at
}

#[benchmarks]
mod benchmarks {
	use super::*;

	/// Worst case: the metagraph is full and the newcomer replaces a staked peer.
	#[benchmark]
	fn register() {
		open_hyperparameters::<T>(MAX_VALIDATORS);
		let hotkeys = peers::<T>(T::MaxUids::get());
		frame_system::Pallet::<T>::set_block_number(10u32.into());
		let coldkey = funded::<T>("newcomer", 0);
		let message = Incentive::<T>::registration_message(&coldkey);
		let (hotkey, proof) = T::BenchmarkHelper::sign_with_new_hotkey(&message);
		#[extrinsic_call]
		_(RawOrigin::Signed(coldkey), hotkey.clone(), proof);
		assert!(Uids::<T>::contains_key(&hotkey));
		assert!(hotkeys.iter().any(|old| !Uids::<T>::contains_key(old)));
	}

	#[benchmark]
	fn serve_axon() {
		open_hyperparameters::<T>(MAX_VALIDATORS);
		let hotkey = peers::<T>(1).remove(0);
		#[extrinsic_call]
		_(
			RawOrigin::Signed(hotkey),
			u128::from(u32::from_be_bytes([8, 8, 8, 8])),
			8091,
			IP_V4,
			0,
			1,
		);
		assert!(Axons::<T>::contains_key(0));
	}

	#[benchmark]
	fn add_stake() {
		open_hyperparameters::<T>(MAX_VALIDATORS);
		let hotkey = peers::<T>(T::MaxUids::get()).remove(0);
		let coldkey = Owner::<T>::get(&hotkey).expect("registered");
		#[extrinsic_call]
		_(RawOrigin::Signed(coldkey), hotkey.clone(), 1_000);
		assert_eq!(Incentive::<T>::stake_of(&hotkey), 1_000_001_000);
	}

	#[benchmark]
	fn remove_stake() {
		open_hyperparameters::<T>(MAX_VALIDATORS);
		let hotkey = peers::<T>(T::MaxUids::get()).remove(0);
		let coldkey = Owner::<T>::get(&hotkey).expect("registered");
		#[extrinsic_call]
		_(RawOrigin::Signed(coldkey), hotkey.clone(), 1_000);
		assert_eq!(Incentive::<T>::stake_of(&hotkey), 999_999_000);
	}

	/// `n` weights (the first on itself) on a full metagraph, replacing a full row set before:
	/// up to a weight on every peer, the most a row holds ([`validator_with_full_row`]).
	#[benchmark]
	fn set_weights(n: Linear<1, { T::MaxUids::get() }>) {
		let (hotkey, uids, weights) = validator_with_full_row::<T>(n);
		#[extrinsic_call]
		_(RawOrigin::Signed(hotkey), uids, weights, 0);
		assert_eq!(Weights::<T>::get(0).len() as u32, n);
		assert_eq!(WeightsCount::<T>::get(), n);
	}

	/// Worst case: switching to Yuma 3, which removes `MAX_VALIDATORS` rows of bonds.
	#[benchmark]
	fn set_hyperparameter() {
		open_hyperparameters::<T>(MAX_VALIDATORS);
		for uid in 0..MAX_VALIDATORS {
			Bonds::<T>::insert(uid, BoundedVec::truncate_from(alloc::vec![(0, 1u64)]));
		}
		BondsCount::<T>::put(u32::from(MAX_VALIDATORS));
		let yuma3 = Mechanism::Yuma3(Default::default());
		#[extrinsic_call]
		_(RawOrigin::Root, Hyperparameter::Mechanism(yuma3));
		assert_eq!(Hyperparams::<T>::get().mechanism, yuma3);
		assert_eq!(BondsCount::<T>::get(), 0);
	}

	/// Worst case: a full metagraph (the permits read whole), replacing an expired commit.
	#[benchmark]
	fn commit_weights() {
		open_hyperparameters::<T>(MAX_VALIDATORS);
		Hyperparams::<T>::mutate(|h| h.commit_reveal_enabled = true);
		let max = T::MaxUids::get();
		let hotkey = peers::<T>(max).remove(0);
		validator_rows::<T>(max, 1, 0);
		let expired = bittensor_primitives::Hash::repeat_byte(1);
		WeightCommits::<T>::insert(0, WeightsCommit { hash: expired, block: 0u32.into() });
		let period = BlockNumberFor::<T>::from(Hyperparams::<T>::get().commit_reveal_period);
		frame_system::Pallet::<T>::set_block_number(period.saturating_add(period));
		let hash = bittensor_primitives::Hash::repeat_byte(2);
		#[extrinsic_call]
		_(RawOrigin::Signed(hotkey), hash);
		assert_eq!(WeightCommits::<T>::get(0).map(|c| c.hash), Some(hash));
	}

	/// `set_weights`' worst case with `n` weights, revealed: the hash is recomputed over them.
	#[benchmark]
	fn reveal_weights(n: Linear<1, { T::MaxUids::get() }>) {
		let (hotkey, uids, weights) = validator_with_full_row::<T>(n);
		Hyperparams::<T>::mutate(|h| h.commit_reveal_enabled = true);
		let salt = [7u8; 32];
		let genesis = frame_system::Pallet::<T>::block_hash(BlockNumberFor::<T>::from(0u32));
		let hash =
			bittensor_primitives::weights_commit_hash(&hotkey, &genesis, &uids, &weights, &salt, 0);
		WeightCommits::<T>::insert(0, WeightsCommit { hash, block: 0u32.into() });
		let period = Hyperparams::<T>::get().commit_reveal_period;
		frame_system::Pallet::<T>::set_block_number(period.into());
		#[extrinsic_call]
		_(RawOrigin::Signed(hotkey), uids, weights, salt, 0);
		assert_eq!(Weights::<T>::get(0).len() as u32, n);
		assert!(!WeightCommits::<T>::contains_key(0));
	}

	/// An epoch over `n` staked, active peers, one of them a validator with one weight and
	/// the bond it built: the cost per peer.
	#[benchmark(pov_mode = Measured)]
	fn epoch_peers(n: Linear<2, { T::MaxUids::get() }>) {
		open_hyperparameters::<T>(1);
		peers::<T>(n);
		validator_rows::<T>(n, 1, 1);
		let at = prepare_epoch::<T>();
		#[block]
		{
			Incentive::<T>::apply_epoch_with(at, Hyperparams::<T>::get().max_allowed_validators);
		}
		assert_eq!(LastEpoch::<T>::get().block, at);
	}

	/// An epoch over a full metagraph with `v` validators, each with one weight and the bond
	/// it built: the cost per row read and written.
	#[benchmark(pov_mode = Measured)]
	fn epoch_validators(v: Linear<1, { MAX_VALIDATORS as u32 }>) {
		open_hyperparameters::<T>(u16::try_from(v).unwrap_or(MAX_VALIDATORS));
		let n = T::MaxUids::get();
		peers::<T>(n);
		validator_rows::<T>(n, v, v);
		let at = prepare_epoch::<T>();
		assert_eq!(BondsCount::<T>::get(), v);
		#[block]
		{
			Incentive::<T>::apply_epoch_with(at, Hyperparams::<T>::get().max_allowed_validators);
		}
		assert_eq!(LastEpoch::<T>::get().block, at);
	}

	/// An epoch over `e` weight and bond entries of `MAX_VALIDATORS` validators
	/// ([`entries_epoch`]), up to every validator weighting every peer. The hook adds the
	/// slope, the cost per entry, to `epoch_peers` and `epoch_validators`.
	#[benchmark(pov_mode = Measured)]
	fn epoch_entries(
		e: Linear<
			{ MAX_VALIDATORS as u32 * 2 },
			{ MAX_VALIDATORS as u32 * 2 * (T::MaxUids::get() - 1) },
		>,
	) {
		let at = entries_epoch::<T>(Mechanism::Yuma2021, e, false);
		#[block]
		{
			Incentive::<T>::apply_epoch_with(at, Hyperparams::<T>::get().max_allowed_validators);
		}
		assert_eq!(LastEpoch::<T>::get().block, at);
		assert_eq!(WeightsCount::<T>::get() + BondsCount::<T>::get(), e / 2 * 2);
	}

	/// `epoch_entries` under the 2019 mechanism with `e` weights: rows without self-loops,
	/// so that stake stays in transit for every one of the `ATTRIBUTION_MAX_DEPTH` passes.
	#[benchmark(pov_mode = Measured)]
	fn epoch_attribution(
		e: Linear<{ MAX_VALIDATORS as u32 }, { MAX_VALIDATORS as u32 * (T::MaxUids::get() - 1) }>,
	) {
		open_hyperparameters::<T>(MAX_VALIDATORS);
		Hyperparams::<T>::mutate(|h| h.mechanism = Mechanism::Attribution2019);
		let n = T::MaxUids::get();
		peers::<T>(n);
		validator_rows::<T>(n, u32::from(MAX_VALIDATORS), e);
		// Each validator passes nearly all it receives on to the next validator, so that stake
		// stays in transit for every pass however long the rows.
		for i in 0..MAX_VALIDATORS {
			Weights::<T>::mutate(i, |row| {
				for (j, w) in row.iter_mut() {
					*w = if *j == i + 1 { u16::MAX } else { 1 };
				}
			});
		}
		let at = prepare_epoch::<T>();
		assert_eq!(WeightsCount::<T>::get(), e);
		#[block]
		{
			Incentive::<T>::apply_epoch_with(at, Hyperparams::<T>::get().max_allowed_validators);
		}
		assert_eq!(LastEpoch::<T>::get().block, at);
		assert_eq!(WeightsCount::<T>::get(), e, "the validators kept their rows");
	}

	/// `epoch_entries` under Yuma 3 with liquid α at its most expensive: bonds following the
	/// weights as set (no penalty, so that every weight keeps a bond whatever consensus is),
	/// weights that differ from entry to entry (every column sorted) and that turned over
	/// since the bonds were built, so that nearly every pair's α goes through the sigmoid
	/// (bought above consensus or sold): the cost per entry of the sort and the bond update.
	#[benchmark(pov_mode = Measured)]
	fn epoch_yuma3(
		e: Linear<
			{ MAX_VALIDATORS as u32 * 2 },
			{ MAX_VALIDATORS as u32 * 2 * (T::MaxUids::get() - 1) },
		>,
	) {
		let yuma3 = bittensor_primitives::yuma3::Yuma3Params {
			bonds_penalty: sp_arithmetic::Perquintill::zero(),
			liquid_alpha_enabled: true,
			..Default::default()
		};
		let at = entries_epoch::<T>(Mechanism::Yuma3(yuma3), e, true);
		#[block]
		{
			Incentive::<T>::apply_epoch_with(at, Hyperparams::<T>::get().max_allowed_validators);
		}
		assert_eq!(LastEpoch::<T>::get().block, at);
		assert_eq!(WeightsCount::<T>::get() + BondsCount::<T>::get(), e / 2 * 2);
	}

	impl_benchmark_test_suite!(
		Incentive,
		crate::mock::new_test_ext(crate::mock::test_hyperparameters(), alloc::vec![]),
		crate::mock::Test
	);
}
