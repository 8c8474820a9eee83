//! Reading the metagraph: what the runtime's `MetagraphApi` returns.

use crate::*;
use alloc::vec::Vec;
use bittensor_primitives::metagraph::{Metagraph, NeuronInfo};
use frame_system::pallet_prelude::BlockNumberFor;
use sp_arithmetic::Perquintill;
use sp_runtime::Saturating;

/// The metagraph of a runtime using this pallet.
pub type MetagraphOf<T> = Metagraph<<T as frame_system::Config>::AccountId, BlockNumberFor<T>>;
/// One peer of the metagraph of a runtime using this pallet.
pub type NeuronInfoOf<T> = NeuronInfo<<T as frame_system::Config>::AccountId, BlockNumberFor<T>>;

/// Per-uid vectors read once and shared by every peer of a metagraph.
struct PeerVectors<T: Config> {
	stake: Vec<u64>,
	last_update: Vec<BlockNumberFor<T>>,
	registered_at: Vec<BlockNumberFor<T>>,
	rank: Vec<Perquintill>,
	trust: Vec<Perquintill>,
	consensus: Vec<Perquintill>,
	incentive: Vec<Perquintill>,
	dividends: Vec<Perquintill>,
	emission: Vec<u64>,
	validator_permit: Vec<bool>,
	now: BlockNumberFor<T>,
	activity_cutoff: BlockNumberFor<T>,
}

impl<T: Config> PeerVectors<T> {
	fn read() -> Self {
		Self {
			stake: Stake::<T>::get().into_inner(),
			last_update: LastUpdate::<T>::get().into_inner(),
			registered_at: RegisteredAt::<T>::get().into_inner(),
			rank: Rank::<T>::get().into_inner(),
			trust: Trust::<T>::get().into_inner(),
			consensus: Consensus::<T>::get().into_inner(),
			incentive: Incentive::<T>::get().into_inner(),
			dividends: Dividends::<T>::get().into_inner(),
			emission: Emission::<T>::get().into_inner(),
			validator_permit: ValidatorPermit::<T>::get().into_inner(),
			now: frame_system::Pallet::<T>::block_number(),
			activity_cutoff: Hyperparams::<T>::get().activity_cutoff.into(),
		}
	}

	/// The peer at `uid`, or `None` if no peer has it; with its weights and bonds if `rows`.
	fn neuron(&self, uid: Uid, rows: bool) -> Option<NeuronInfoOf<T>> {
		let hotkey = Keys::<T>::get(uid)?;
		let coldkey = Owner::<T>::get(&hotkey)?;
		let at = usize::from(uid);
		let fraction = |v: &Vec<Perquintill>| v.get(at).copied().unwrap_or_default();
		let last_update = self.last_update.get(at).copied().unwrap_or_default();
		Some(NeuronInfo {
			uid,
			hotkey,
			coldkey,
			stake: self.stake.get(at).copied().unwrap_or_default(),
			active: Pallet::<T>::is_active(self.now, last_update, self.activity_cutoff),
			validator_permit: self.validator_permit.get(at).copied().unwrap_or_default(),
			last_update,
			registered_at: self.registered_at.get(at).copied().unwrap_or_default(),
			rank: fraction(&self.rank),
			trust: fraction(&self.trust),
			consensus: fraction(&self.consensus),
			incentive: fraction(&self.incentive),
			dividends: fraction(&self.dividends),
			emission: self.emission.get(at).copied().unwrap_or_default(),
			axon: Axons::<T>::get(uid),
			weights: if rows { Weights::<T>::get(uid).into_inner() } else { Vec::new() },
			bonds: if rows { Bonds::<T>::get(uid).into_inner() } else { Vec::new() },
		})
	}
}

impl<T: Config> Pallet<T> {
	/// Whether a peer last updated at `last_update` still counts as active at `now`.
	pub(crate) fn is_active(
		now: BlockNumberFor<T>,
		last_update: BlockNumberFor<T>,
		activity_cutoff: BlockNumberFor<T>,
	) -> bool {
		now.saturating_sub(last_update) <= activity_cutoff
	}

	/// The whole metagraph at the current block.
	pub fn metagraph() -> MetagraphOf<T> {
		Self::metagraph_with(true)
	}

	/// The metagraph at the current block without any peer's weights and bonds.
	pub fn metagraph_light() -> MetagraphOf<T> {
		Self::metagraph_with(false)
	}

	/// The metagraph, with every peer's weights and bonds if `rows`.
	fn metagraph_with(rows: bool) -> MetagraphOf<T> {
		let vectors = PeerVectors::<T>::read();
		let neurons =
			(0..PeerCount::<T>::get()).filter_map(|uid| vectors.neuron(uid, rows)).collect();
		Metagraph {
			block: vectors.now,
			hyperparameters: Hyperparams::<T>::get(),
			min_allowed_weights: MinAllowedWeights::<T>::get(),
			total_stake: TotalStake::<T>::get(),
			last_epoch: LastEpoch::<T>::get(),
			neurons,
		}
	}

	/// The peer at `uid`, or `None` if `uid` is not registered.
	pub fn neuron(uid: Uid) -> Option<NeuronInfoOf<T>> {
		if uid >= PeerCount::<T>::get() {
			return None;
		}
		PeerVectors::<T>::read().neuron(uid, true)
	}
}
