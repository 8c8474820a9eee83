//! Who the local network is made of: its configuration and the neurons it runs, each with the
//! names and paths that the processes and the results both refer to.

use std::{path::PathBuf, time::Duration};

use bittensor_primitives::json::MetagraphJson;
use sp_core::crypto::AccountId32;

use crate::nucleus::serving::Serving;

/// Dev accounts that pay for the neurons' registration, stake and fees, one per neuron.
pub const COLDKEYS: [&str; 6] = ["//Alice", "//Bob", "//Charlie", "//Dave", "//Eve", "//Ferdie"];

/// How to run a local network.
///
/// [`DocumentSplit`]: crate::data::corpus::DocumentSplit
#[derive(Debug, Clone)]
pub struct LocalnetConfig {
	/// The `bittensor-node` binary.
	pub node_binary: PathBuf,
	/// The `neuron` binary.
	pub neuron_binary: PathBuf,
	/// Where logs, wallets, checkpoints and the results go.
	pub dir: PathBuf,
	/// Honest neurons, which learn (at least one).
	pub neurons: usize,
	/// Neurons that play an adversary (`neuron run --serve MODE`), after the honest ones; an
	/// echo's uid names the neuron it copies by position (`echo:0` copies `n0`). Together with
	/// the honest ones, at most one per dev account.
	pub adversaries: Vec<Serving>,
	/// The network's seed: neuron `i` runs with the seed [`LocalnetConfig::neuron_seed`] gives.
	pub seed: u64,
	/// The corpus directory, split by document ([`DocumentSplit`]) into the peers' copy, which
	/// every neuron learns from, and the validators' documents, which only honest neurons
	/// read (`--challenge-corpus`): no adversary can look them up.
	pub corpus: PathBuf,
	/// Stop after this long (Ctrl-C stops earlier).
	pub duration: Option<Duration>,
	/// Stake of each neuron, in TAO.
	pub stake: u64,
	/// Extra arguments for every `neuron run`.
	pub neuron_args: Vec<String>,
	/// The node's RPC port.
	pub rpc_port: u16,
}

impl LocalnetConfig {
	/// Every neuron of the network: the honest ones and the adversaries.
	pub(super) fn count(&self) -> usize {
		self.neurons + self.adversaries.len()
	}

	/// The `--seed` of the neuron at `index`: `1000 × seed + index`, so seed 0 runs neuron `i`
	/// with seed `i`, and no two neurons of one network share a seed.
	pub(super) fn neuron_seed(&self, index: usize) -> u64 {
		self.seed.saturating_mul(1000).saturating_add(index as u64)
	}

	/// Where the peers' copy of the corpus goes.
	pub(super) fn peers_corpus(&self) -> PathBuf {
		self.dir.join("corpus/peers")
	}

	/// Where the validators' documents go.
	pub(super) fn challenge_corpus(&self) -> PathBuf {
		self.dir.join("corpus/validators")
	}
}

/// One neuron of the network: who it is and where it writes (its process is kept apart).
#[derive(Debug)]
pub(super) struct Member {
	/// Its position, from 0: its seed and its corpus slice.
	pub index: usize,
	/// `n<index>`: its hotkey's name in the wallet and its name in the table and the results.
	pub name: String,
	/// Its hotkey's account.
	pub hotkey: AccountId32,
	/// How it serves: `model` when honest, else the adversary it plays.
	pub serving: Serving,
	/// Its log file.
	pub log: PathBuf,
	/// Its checkpoint directory, whose ledger says whom it flags.
	pub checkpoint: PathBuf,
}

/// `n<index>`: a neuron's name, and its hotkey's name in the wallet.
pub(super) fn neuron_name(index: usize) -> String {
	format!("n{index}")
}

/// The network's neurons, one per hotkey, in order: the honest ones, then the adversaries,
/// an echo's target turned from a position into the uid `metagraph` gives that neuron.
pub(super) fn roster(
	config: &LocalnetConfig,
	hotkeys: Vec<AccountId32>,
	metagraph: &MetagraphJson,
) -> Vec<Member> {
	let uid_of = |index: u16| {
		hotkeys
			.get(usize::from(index))
			.and_then(|hotkey| metagraph.neuron_by_hotkey(hotkey))
			.map_or(index, |neuron| neuron.uid)
	};
	let servings: Vec<Serving> = std::iter::repeat_n(Serving::Model, config.neurons)
		.chain(config.adversaries.iter().map(|serving| serving.with_uid_of(uid_of)))
		.collect();
	hotkeys
		.into_iter()
		.zip(servings)
		.enumerate()
		.map(|(index, (hotkey, serving))| {
			let name = neuron_name(index);
			Member {
				index,
				log: config.dir.join(format!("logs/{name}.log")),
				checkpoint: config.dir.join("checkpoints").join(&name),
				name,
				hotkey,
				serving,
			}
		})
		.collect()
}
