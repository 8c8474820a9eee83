//! The on-chain epoch: gathers storage into [`EpochInput`], runs the shared mechanism, and
//! writes rank, trust, consensus, incentive, dividends, emission, bonds and the loss peg back.

use crate::*;
use alloc::vec::Vec;
use bittensor_primitives::epoch::{pegged_min_allowed_weights, run_epoch, EpochInput, EpochParams};
use frame_support::{pallet_prelude::*, traits::fungible::Mutate, BoundedVec};
use frame_system::pallet_prelude::BlockNumberFor;
use sp_runtime::{traits::UniqueSaturatedInto, Saturating};
use substrate_fixed::types::{I64F64, U64F64};

/// The epoch is charged `1 + 1 / EPOCH_FIT_MARGIN_DIVISOR` times its fitted weight.
const EPOCH_FIT_MARGIN_DIVISOR: u64 = 4;

impl<T: Config> Pallet<T> {
	/// Whether `Tempo` blocks have passed since the last epoch.
	pub(crate) fn epoch_due(now: BlockNumberFor<T>) -> bool {
		let tempo = BlockNumberFor::<T>::from(Hyperparams::<T>::get().tempo.max(1));
		now.saturating_sub(LastEpoch::<T>::get().block) >= tempo
	}

	/// The weight of an epoch over the current peers, weights and bonds: the benchmarked cost
	/// of `n` peers that all have weights and bonds (the worst case per peer), plus the
	/// benchmarked cost per weight and bond entry (the slope of `epoch_entries`), plus a
	/// quarter for the fit: the cost per entry is concave, so the straight line runs up to a
	/// fifth below the measured points in the middle of the benchmarked range.
	pub fn epoch_weight() -> Weight {
		let peers = u32::from(PeerCount::<T>::get());
		let entries = WeightsCount::<T>::get().saturating_add(BondsCount::<T>::get());
		let per_entries =
			T::WeightInfo::epoch_entries(entries).saturating_sub(T::WeightInfo::epoch_entries(0));
		let fitted = T::WeightInfo::epoch_peers(peers).saturating_add(per_entries);
		fitted.saturating_add(fitted.checked_div(EPOCH_FIT_MARGIN_DIVISOR).unwrap_or_default())
	}

	/// Applies the epoch at block `now`: runs the pure epoch over the stored metagraph and
	/// writes its results; returns its weight.
	pub(crate) fn apply_epoch(now: BlockNumberFor<T>) -> Weight {
		let weight = Self::epoch_weight();
		let hyperparameters = Hyperparams::<T>::get();
		let last_epoch = LastEpoch::<T>::get();
		let n = PeerCount::<T>::get();
		let peers = usize::from(n);

		let blocks: u64 = now.saturating_sub(last_epoch.block).unique_saturated_into();
		let budget = hyperparameters.block_emission.saturating_mul(blocks);

		let stake: Vec<u64> = Stake::<T>::get().into_inner();
		let last_update = LastUpdate::<T>::get();
		let registered_at = RegisteredAt::<T>::get();
		let cutoff = BlockNumberFor::<T>::from(hyperparameters.activity_cutoff);
		let active: Vec<bool> = last_update
			.iter()
			.map(|updated| Self::is_active(now, *updated, cutoff))
			.collect();
		let registered = |uid: &Uid| registered_at.get(usize::from(*uid)).copied().unwrap_or(now);

		// A weight set before its target registered was meant for the peer it replaced. Bonds in
		// a peer registered at or after the last epoch were bonds in the replaced peer: the
		// epoch runs in `on_initialize`, before the extrinsics of its block.
		let weights: Vec<Vec<(Uid, u16)>> = (0..n)
			.map(|uid| {
				let set_at = last_update.get(usize::from(uid)).copied().unwrap_or(now);
				Weights::<T>::get(uid)
					.into_iter()
					.filter(|(j, _)| registered(j) <= set_at)
					.collect()
			})
			.collect();
		let bonds: Vec<Vec<(Uid, u64)>> = (0..n)
			.map(|uid| {
				Bonds::<T>::get(uid)
					.into_iter()
					.filter(|(j, _)| registered(j) < last_epoch.block)
					.collect()
			})
			.collect();

		let params = EpochParams {
			mechanism: hyperparameters.mechanism,
			bonds_mode: hyperparameters.bonds_mode,
			rho: U64F64::from_num(hyperparameters.rho),
			kappa: bittensor_primitives::fixed_math::from_perquintill(hyperparameters.kappa),
		};
		let output = run_epoch(
			&params,
			&EpochInput {
				stake: &stake,
				active: &active,
				weights: &weights,
				bonds: &bonds,
				emission: budget,
			},
		);

		// Mint first: if issuance cannot grow, nothing is credited.
		let minted = match T::Currency::mint_into(&Self::stake_account(), output.minted) {
			Ok(_) => output.minted,
			Err(error) => {
				log::warn!(target: "runtime::incentive", "epoch at {now:?}: cannot mint {}: {error:?}", output.minted);
				0
			},
		};
		if minted > 0 {
			let credited: Vec<u64> =
				stake.iter().zip(&output.emission).map(|(s, e)| s.saturating_add(*e)).collect();
			Stake::<T>::put(bounded(credited));
			TotalStake::<T>::mutate(|total| *total = total.saturating_add(minted));
			Emission::<T>::put(bounded(output.emission.clone()));
		} else {
			Emission::<T>::put(bounded(alloc::vec![0u64; peers]));
		}

		ActiveStake::<T>::put(bounded(output.stake));
		Rank::<T>::put(bounded(output.rank));
		Trust::<T>::put(bounded(output.trust));
		Consensus::<T>::put(bounded(output.consensus));
		Incentive::<T>::put(bounded(output.incentive));
		Dividends::<T>::put(bounded(output.dividends));

		let mut bonds_count = 0u32;
		for (uid, (row, previous)) in (0..n).zip(output.bonds.into_iter().zip(bonds)) {
			bonds_count = bonds_count.saturating_add(u32::try_from(row.len()).unwrap_or(u32::MAX));
			if row != previous || Bonds::<T>::decode_len(uid).unwrap_or(0) != previous.len() {
				if row.is_empty() {
					Bonds::<T>::remove(uid);
				} else {
					Bonds::<T>::insert(uid, bounded(row));
				}
			}
		}
		BondsCount::<T>::put(bonds_count);

		let current = MinAllowedWeights::<T>::get();
		let pegged = pegged_min_allowed_weights(
			current,
			output.loss,
			n,
			hyperparameters.min_allowed_weights,
		);
		if pegged != current {
			MinAllowedWeights::<T>::put(pegged);
			Self::deposit_event(Event::MinAllowedWeightsPegged { value: pegged });
		}

		let loss = to_signed_quintill(output.loss);
		LastEpoch::<T>::put(EpochSummary { block: now, loss, minted });
		Self::deposit_event(Event::EpochCompleted { block: now, loss, minted });
		weight
	}
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
