//! The on-chain epoch: gathers storage into [`EpochInput`], runs the shared mechanism, and
//! writes rank, trust, consensus, incentive, dividends, emission, bonds and the loss peg back.
//!
//! Its work is bounded whatever peers do: only validator permit holders' rows are read (at
//! most `MAX_VALIDATORS` rows of at most `MaxUids` weights and bonds), rows of peers that
//! lose their permit are removed without being decoded, and should even that bound cost more
//! than `MaxEpochWeight` the epoch hands out fewer permits rather than stall the chain.

use crate::*;
use alloc::vec::Vec;
use bittensor_primitives::epoch::{
	pegged_min_allowed_weights, run_epoch, validator_permits, EpochInput, EpochOutput, Mechanism,
};
use frame_support::{pallet_prelude::*, traits::fungible::Mutate, BoundedVec};
use frame_system::pallet_prelude::BlockNumberFor;
use sp_runtime::{traits::UniqueSaturatedInto, Saturating};
use substrate_fixed::types::I64F64;

/// The epoch is charged `1 + 1 / EPOCH_FIT_MARGIN_DIVISOR` times its fitted weight.
const EPOCH_FIT_MARGIN_DIVISOR: u64 = 4;

impl<T: Config> Pallet<T> {
	/// Whether `Tempo` blocks have passed since the last epoch.
	pub(crate) fn epoch_due(now: BlockNumberFor<T>) -> bool {
		let tempo = BlockNumberFor::<T>::from(Hyperparams::<T>::get().tempo.max(1));
		now.saturating_sub(LastEpoch::<T>::get().block) >= tempo
	}

	/// The weight of an epoch over `peers` peers and `validators` rows holding `weights`
	/// weights and `bonds` bonds, that removes the rows of `revoked` former permit holders:
	/// the benchmarked cost per peer, per row and per entry (the 2019 mechanism's weights cost
	/// their full `ATTRIBUTION_MAX_DEPTH` passes; its bonds are only read; Yuma 3's entries
	/// cost their sort into columns and liquid α), plus a quarter for
	/// the fit: the cost per entry is concave, so the straight line runs up to a fifth below
	/// the measured points in the middle of the benchmarked range.
	pub fn epoch_weight_of(
		peers: u32,
		validators: u32,
		weights: u32,
		bonds: u32,
		revoked: u32,
		mechanism: Mechanism,
	) -> Weight {
		let slope = |cost: fn(u32) -> Weight, count: u32| cost(count).saturating_sub(cost(0));
		let per_entries = match mechanism {
			Mechanism::Yuma2021 => {
				slope(T::WeightInfo::epoch_entries, weights.saturating_add(bonds))
			},
			Mechanism::Attribution2019 => slope(T::WeightInfo::epoch_attribution, weights)
				.saturating_add(slope(T::WeightInfo::epoch_entries, bonds)),
			Mechanism::Yuma3(_) => slope(T::WeightInfo::epoch_yuma3, weights.saturating_add(bonds)),
		};
		let fitted = T::WeightInfo::epoch_peers(peers)
			.saturating_add(slope(T::WeightInfo::epoch_validators, validators))
			.saturating_add(per_entries);
		let removals = T::DbWeight::get().reads_writes(
			u64::from(revoked).saturating_mul(2),
			u64::from(revoked).saturating_mul(3),
		);
		fitted
			.saturating_add(fitted.checked_div(EPOCH_FIT_MARGIN_DIVISOR).unwrap_or_default())
			.saturating_add(removals)
	}

	/// The most validators whose full rows (a weight and a bond on every peer) an epoch over
	/// `peers` peers can read within `MaxEpochWeight`, up to `wanted`, after removing up to
	/// `held` rows of former permit holders.
	fn fitting_validators(peers: u16, wanted: u16, held: u32, mechanism: Mechanism) -> u16 {
		let limit = T::MaxEpochWeight::get();
		let full_rows = |validators: u16| {
			let row = u32::from(validators).saturating_mul(u32::from(peers));
			let peers = u32::from(peers);
			Self::epoch_weight_of(peers, u32::from(validators), row, row, held, mechanism)
		};
		(0..=wanted).rev().find(|v| full_rows(*v).all_lte(limit)).unwrap_or(0)
	}

	/// Gives permits to the `max` peers with the most stake, removes the rows of peers that
	/// lost theirs (reading only their lengths); returns the permits and how many were
	/// revoked.
	fn renew_permits(stake: &[u64], max: u16) -> (Vec<bool>, u32) {
		let permits = validator_permits(stake, max);
		let previous = ValidatorPermit::<T>::get();
		let mut revoked = 0u32;
		for (index, (now, before)) in permits.iter().zip(previous.iter()).enumerate() {
			let Ok(uid) = Uid::try_from(index) else { break };
			if *before && !*now {
				revoked = revoked.saturating_add(1);
				let weights = Weights::<T>::decode_len(uid).unwrap_or(0);
				let bonds = Bonds::<T>::decode_len(uid).unwrap_or(0);
				Weights::<T>::remove(uid);
				Bonds::<T>::remove(uid);
				WeightCommits::<T>::remove(uid);
				let count = |len: usize| u32::try_from(len).unwrap_or(u32::MAX);
				WeightsCount::<T>::mutate(|c| *c = c.saturating_sub(count(weights)));
				BondsCount::<T>::mutate(|c| *c = c.saturating_sub(count(bonds)));
				Self::deposit_event(Event::ValidatorPermitRevoked { uid });
			} else if *now && !*before {
				Self::deposit_event(Event::ValidatorPermitGranted { uid });
			}
		}
		if previous.as_slice() != permits.as_slice() {
			ValidatorPermit::<T>::put(bounded(permits.clone()));
		}
		(permits, revoked)
	}

	/// Applies the epoch at block `now` with as many validators as fit in `MaxEpochWeight`;
	/// returns its weight.
	pub(crate) fn apply_epoch(now: BlockNumberFor<T>) -> Weight {
		let hyperparameters = Hyperparams::<T>::get();
		let held = ValidatorPermit::<T>::get().iter().filter(|permit| **permit).count();
		let held = u32::try_from(held).unwrap_or(u32::MAX);
		let wanted = hyperparameters.max_allowed_validators;
		let n = PeerCount::<T>::get();
		let validators = Self::fitting_validators(n, wanted, held, hyperparameters.mechanism);
		if validators < wanted {
			Self::deposit_event(Event::ValidatorsCapped { validators });
		}
		Self::apply_epoch_with(now, validators)
	}

	/// Applies the epoch at block `now` with up to `validators` permits: renews them, runs
	/// the pure epoch over the stored metagraph and writes its results; returns its weight.
	pub(crate) fn apply_epoch_with(now: BlockNumberFor<T>, validators: u16) -> Weight {
		let hyperparameters = Hyperparams::<T>::get();
		let gathered = Self::gather_epoch(now, validators, &hyperparameters);
		let output = run_epoch(&hyperparameters.epoch_params(), &gathered.input());
		let loss = output.loss;
		let minted = Self::mint_and_store(now, &gathered, output);
		Self::peg_min_allowed_weights(loss, gathered.peers, hyperparameters.min_allowed_weights);

		let loss = to_signed_quintill(loss);
		LastEpoch::<T>::put(EpochSummary { block: now, loss, minted });
		Self::deposit_event(Event::EpochCompleted { block: now, loss, minted });
		// Permit holders hold at most one commit each: at most `MAX_VALIDATORS` reads.
		let (read, expired) = Self::prune_expired_commits(now);
		gathered.weight.saturating_add(
			T::DbWeight::get().reads_writes(u64::from(read).saturating_add(1), u64::from(expired)),
		)
	}

	/// Renews the permits (up to `validators`) and reads what the epoch at block `now` runs
	/// over, with its weight.
	fn gather_epoch(
		now: BlockNumberFor<T>,
		validators: u16,
		hyperparameters: &Hyperparameters,
	) -> GatheredEpoch {
		let last_epoch = LastEpoch::<T>::get().block;
		let peers = PeerCount::<T>::get();
		let stake: Vec<u64> = Stake::<T>::get().into_inner();
		let (permits, revoked) = Self::renew_permits(&stake, validators);
		let rows = permits.iter().filter(|permit| **permit).count();
		let weight = Self::epoch_weight_of(
			u32::from(peers),
			u32::try_from(rows).unwrap_or(u32::MAX),
			WeightsCount::<T>::get(),
			BondsCount::<T>::get(),
			revoked,
			hyperparameters.mechanism,
		);

		let blocks: u64 = now.saturating_sub(last_epoch).unique_saturated_into();
		let last_update = LastUpdate::<T>::get();
		let registered_at = RegisteredAt::<T>::get();
		let cutoff = BlockNumberFor::<T>::from(hyperparameters.activity_cutoff);
		let active = last_update
			.iter()
			.map(|updated| Self::is_active(now, *updated, cutoff))
			.collect();
		// Only permit holders' rows are read: the others are empty.
		let weights = Self::read_weights(now, peers, &permits, &last_update, &registered_at);
		let bonds = Self::read_bonds(now, last_epoch, peers, &permits, &registered_at);
		GatheredEpoch {
			peers,
			stake,
			active,
			weights,
			bonds,
			budget: hyperparameters.block_emission.saturating_mul(blocks),
			permits,
			weight,
		}
	}

	/// Permit holders' weights at block `now`. A weight set before its target registered was
	/// meant for the peer it replaced.
	fn read_weights(
		now: BlockNumberFor<T>,
		peers: u16,
		permits: &[bool],
		last_update: &[BlockNumberFor<T>],
		registered_at: &[BlockNumberFor<T>],
	) -> Vec<Vec<(Uid, u16)>> {
		permit_holder_rows(peers, permits, |uid| {
			let set_at = last_update.get(usize::from(uid)).copied().unwrap_or(now);
			Weights::<T>::get(uid)
				.into_iter()
				.filter(|(j, _)| registered(registered_at, *j, now) <= set_at)
				.collect()
		})
	}

	/// Permit holders' bonds. Bonds in a peer registered at or after the last epoch were bonds
	/// in the peer it replaced: the epoch runs in `on_initialize`, before the extrinsics of its
	/// block.
	fn read_bonds(
		now: BlockNumberFor<T>,
		last_epoch: BlockNumberFor<T>,
		peers: u16,
		permits: &[bool],
		registered_at: &[BlockNumberFor<T>],
	) -> Vec<Vec<(Uid, u64)>> {
		permit_holder_rows(peers, permits, |uid| {
			Bonds::<T>::get(uid)
				.into_iter()
				.filter(|(j, _)| registered(registered_at, *j, now) < last_epoch)
				.collect()
		})
	}

	/// Mints the epoch's emission and credits it as stake, then stores its scores and bonds;
	/// returns what was minted.
	fn mint_and_store(
		now: BlockNumberFor<T>,
		gathered: &GatheredEpoch,
		output: EpochOutput,
	) -> u64 {
		let minted = Self::mint_emission(now, gathered, &output);
		ActiveStake::<T>::put(bounded(output.stake));
		Rank::<T>::put(bounded(output.rank));
		Trust::<T>::put(bounded(output.trust));
		Consensus::<T>::put(bounded(output.consensus));
		Incentive::<T>::put(bounded(output.incentive));
		Dividends::<T>::put(bounded(output.dividends));
		Self::store_bonds(gathered, output.bonds);
		minted
	}

	/// Mints first: if issuance cannot grow, nothing is credited and the stored emission is
	/// zero. Returns what was minted.
	fn mint_emission(
		now: BlockNumberFor<T>,
		gathered: &GatheredEpoch,
		output: &EpochOutput,
	) -> u64 {
		let minted = match T::Currency::mint_into(&Self::stake_account(), output.minted) {
			Ok(_) => output.minted,
			Err(error) => {
				log::warn!(target: "runtime::incentive", "epoch at {now:?}: cannot mint {}: {error:?}", output.minted);
				0
			},
		};
		if minted > 0 {
			let credited: Vec<u64> = gathered
				.stake
				.iter()
				.zip(&output.emission)
				.map(|(s, e)| s.saturating_add(*e))
				.collect();
			Stake::<T>::put(bounded(credited));
			TotalStake::<T>::mutate(|total| *total = total.saturating_add(minted));
			Emission::<T>::put(bounded(output.emission.clone()));
		} else {
			Emission::<T>::put(bounded(alloc::vec![0u64; usize::from(gathered.peers)]));
		}
		minted
	}

	/// Writes back the rows of `bonds` that differ from what was stored, and their count.
	fn store_bonds(gathered: &GatheredEpoch, bonds: Vec<Vec<(Uid, u64)>>) {
		let mut bonds_count = 0u32;
		for (uid, (row, previous)) in
			(0..gathered.peers).zip(bonds.into_iter().zip(&gathered.bonds))
		{
			bonds_count = bonds_count.saturating_add(u32::try_from(row.len()).unwrap_or(u32::MAX));
			// A row filtered on reading (bonds in re-registered peers) is written back too.
			let changed = row != *previous
				|| (gathered.permitted(uid)
					&& Bonds::<T>::decode_len(uid).unwrap_or(0) != previous.len());
			if changed {
				if row.is_empty() {
					Bonds::<T>::remove(uid);
				} else {
					Bonds::<T>::insert(uid, bounded(row));
				}
			}
		}
		BondsCount::<T>::put(bonds_count);
	}

	/// Pegs `MinAllowedWeights` to the epoch's `loss` over `peers` peers, never below `floor`.
	fn peg_min_allowed_weights(loss: I64F64, peers: u16, floor: u16) {
		let current = MinAllowedWeights::<T>::get();
		let pegged = pegged_min_allowed_weights(current, loss, peers, floor);
		if pegged != current {
			MinAllowedWeights::<T>::put(pegged);
			Self::deposit_event(Event::MinAllowedWeightsPegged { value: pegged });
		}
	}
}

/// What an epoch reads from storage: the pure epoch's input, and what writing its results back
/// needs.
struct GatheredEpoch {
	/// `PeerCount`.
	peers: u16,
	/// Each peer's stake before this epoch's emission.
	stake: Vec<u64>,
	/// Whether each peer updated within the activity cutoff.
	active: Vec<bool>,
	/// Permit holders' weights, without those on peers registered since they were set.
	weights: Vec<Vec<(Uid, u16)>>,
	/// Permit holders' bonds, without those in peers registered since the last epoch.
	bonds: Vec<Vec<(Uid, u64)>>,
	/// What this epoch may mint: `BlockEmission` for each block since the last epoch.
	budget: u64,
	/// The renewed validator permits.
	permits: Vec<bool>,
	/// The epoch's weight, before pruning expired commits.
	weight: Weight,
}

impl GatheredEpoch {
	/// The pure epoch's input.
	fn input(&self) -> EpochInput<'_> {
		EpochInput {
			stake: &self.stake,
			active: &self.active,
			weights: &self.weights,
			bonds: &self.bonds,
			emission: self.budget,
		}
	}

	/// Whether `uid` holds a validator permit.
	fn permitted(&self, uid: Uid) -> bool {
		holds_permit(&self.permits, uid)
	}
}

/// Whether `uid` holds one of `permits` (a uid past them holds none).
pub(crate) fn holds_permit(permits: &[bool], uid: Uid) -> bool {
	permits.get(usize::from(uid)).copied().unwrap_or(false)
}

/// `row(uid)` for each permit holder of the `peers` peers, an empty row for every other.
fn permit_holder_rows<Entry>(
	peers: u16,
	permits: &[bool],
	row: impl Fn(Uid) -> Vec<Entry>,
) -> Vec<Vec<Entry>> {
	(0..peers)
		.map(|uid| if holds_permit(permits, uid) { row(uid) } else { Vec::new() })
		.collect()
}

/// The block `uid` registered at, or `now` if it is not registered.
fn registered<BlockNumber: Copy>(
	registered_at: &[BlockNumber],
	uid: Uid,
	now: BlockNumber,
) -> BlockNumber {
	registered_at.get(usize::from(uid)).copied().unwrap_or(now)
}

/// A per-peer vector as stored; the mechanism returns exactly one entry per peer, at most
/// `MaxUids`, so nothing is cut.
fn bounded<V, S: Get<u32>>(values: Vec<V>) -> BoundedVec<V, S> {
	BoundedVec::truncate_from(values)
}

/// `loss` in units of `10^-18`, saturating.
pub fn to_signed_quintill(loss: I64F64) -> SignedQuintill {
	let scaled = loss
		.to_bits()
		.checked_mul(1_000_000_000_000_000_000)
		.map(|x| x.checked_shr(64).unwrap_or(0));
	match scaled {
		Some(value) => i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX }),
		None => {
			if loss < I64F64::from_num(0) {
				i64::MIN
			} else {
				i64::MAX
			}
		},
	}
}
