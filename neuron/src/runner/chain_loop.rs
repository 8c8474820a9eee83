//! The chain loop of an online neuron: every few seconds it reads the metagraph, passes what it
//! says to the axon, the network view, the dendrite and the ledger, and makes the weight calls
//! [`WeightSetting`] asks for. Every decision is in that machine; what stays here is what needs
//! the chain, kept apart from training so that a slow node never stalls a step.

use std::{sync::atomic::Ordering, time::Duration};

use bittensor_primitives::json::MetagraphJson;
use sp_core::{crypto::AccountId32, sr25519, Pair};

use super::{
	online::Online,
	schedule::{PendingReveal, WeightRules, WeightsAction},
	scheduler::{Plan, Reading, WeightSetting},
	NetworkView, NeuronState, RunConfig,
};
use crate::{
	chain::ChainClient,
	net::{axon::Peers, dendrite::Dendrite},
	sync::{lock, write},
};

/// Every few seconds, until the run stops: reads the metagraph, updates the axon's peers, the
/// network view and the dendrite's connections, and sets weights when they are due.
pub(super) async fn follow_chain(
	online: &Online,
	config: &RunConfig,
	hotkey: &sr25519::Pair,
	state: &NeuronState,
	dendrite: &Dendrite,
) {
	let account = AccountId32::from(hotkey.public());
	let mut ticker = tokio::time::interval(Duration::from_secs(6));
	let mut setting = WeightSetting::new(config.weights_every);
	while !state.stop.load(Ordering::SeqCst) {
		ticker.tick().await;
		let metagraph = match online.chain.metagraph_light().await {
			Ok(metagraph) => metagraph,
			Err(error) => {
				eprintln!("warning: keeping the previous metagraph: {error}");
				continue;
			},
		};
		let reading = take_in(&metagraph, online, &account, state, dendrite);
		let plan = setting.next(reading);
		act(plan, &mut setting, &metagraph, online, hotkey, state).await;
	}
}

/// Passes `metagraph` to the axon (its peers), the network view, the dendrite (which
/// connections to keep) and the ledger (which uids changed hands, for the training thread to
/// forget); returns what it says about weights.
fn take_in(
	metagraph: &MetagraphJson,
	online: &Online,
	account: &AccountId32,
	state: &NeuronState,
	dendrite: &Dendrite,
) -> Reading {
	online.axon.set_peers(Peers::from_metagraph(metagraph));
	let view = NetworkView::from_metagraph(metagraph, account);
	dendrite.keep_only(&view.endpoints);
	*write(&state.view) = view;
	let rules = WeightRules::from_metagraph(metagraph, online.uid);
	let row = {
		let mut validator = lock(&state.validator);
		let registered = metagraph.neurons.iter().map(|n| (n.uid, n.hotkey.as_str()));
		let replaced = validator.ledger.follow_registrations(registered);
		lock(&state.replaced).extend(replaced);
		let uids: Vec<u16> = metagraph.neurons.iter().map(|n| n.uid).collect();
		validator.row(&uids, &rules.row)
	};
	// Only validator permit holders' weights count (the chain refuses the others').
	let permit = metagraph.neurons.iter().any(|n| n.uid == online.uid && n.validator_permit);
	Reading { rules, permit, row }
}

/// Says what `plan` says and makes its chain call, telling `setting` what landed.
async fn act(
	plan: Plan,
	setting: &mut WeightSetting,
	metagraph: &MetagraphJson,
	online: &Online,
	hotkey: &sr25519::Pair,
	state: &NeuronState,
) {
	match plan.permit_changed {
		Some(true) => println!("uid {} holds a validator permit: setting weights", online.uid),
		Some(false) => println!(
			"uid {} holds no validator permit (the {} peers with the most stake do): not setting \
			 weights",
			online.uid, metagraph.hyperparameters.max_allowed_validators
		),
		None => {},
	}
	if plan.expired {
		eprintln!("warning: the weights commit expired before it was revealed");
	}
	let chain = &online.chain;
	match plan.action {
		WeightsAction::Set(row) => {
			if set_weights(chain, hotkey, metagraph, &row, state).await {
				setting.set(metagraph.block);
			}
		},
		WeightsAction::Commit(row) => {
			if let Some(commit) = commit_weights(chain, hotkey, metagraph, &row).await {
				setting.committed(metagraph.block, commit);
			}
		},
		WeightsAction::Reveal(commit) => {
			reveal_weights(chain, hotkey, metagraph.block, &commit, state).await;
		},
		WeightsAction::Impossible(error) => eprintln!("warning: no weights set: {error}"),
		WeightsAction::NoPermit
		| WeightsAction::AwaitReveal
		| WeightsAction::Wait
		| WeightsAction::NothingScored => {},
	}
}

/// Puts `row` on chain and reports it; says whether it landed.
async fn set_weights(
	chain: &ChainClient,
	hotkey: &sr25519::Pair,
	metagraph: &MetagraphJson,
	row: &[(u16, u16)],
	state: &NeuronState,
) -> bool {
	let (uids, weights): (Vec<u16>, Vec<u16>) = row.iter().copied().unzip();
	let version = metagraph.hyperparameters.weights_version_key;
	if let Err(error) = chain.set_weights(hotkey, &uids, &weights, version).await {
		eprintln!("warning: setting weights failed: {error}");
		return false;
	}
	report_weights("set", metagraph.block, row, state);
	true
}

/// Commits `row` with a fresh secret salt; returns what to reveal, or `None` if the commit
/// did not land.
async fn commit_weights(
	chain: &ChainClient,
	hotkey: &sr25519::Pair,
	metagraph: &MetagraphJson,
	row: &[(u16, u16)],
) -> Option<PendingReveal> {
	let mut salt = [0u8; 32];
	if let Err(error) = getrandom::getrandom(&mut salt) {
		eprintln!("warning: no randomness for a weights salt: {error}");
		return None;
	}
	let version = metagraph.hyperparameters.weights_version_key;
	let (uids, weights): (Vec<u16>, Vec<u16>) = row.iter().copied().unzip();
	match chain.commit_weights(hotkey, &uids, &weights, &salt, version).await {
		Ok(reveal_from) => {
			println!(
				"weights committed at block {}: revealed from block {reveal_from}",
				metagraph.block
			);
			Some(PendingReveal::new(row, salt, version, reveal_from))
		},
		Err(error) => {
			eprintln!("warning: committing weights failed: {error}");
			None
		},
	}
}

/// Reveals `commit` at `block` and reports the row.
async fn reveal_weights(
	chain: &ChainClient,
	hotkey: &sr25519::Pair,
	block: u32,
	commit: &PendingReveal,
	state: &NeuronState,
) {
	let revealed = chain
		.reveal_weights(hotkey, &commit.uids, &commit.weights, &commit.salt, commit.version_key)
		.await;
	match revealed {
		Ok(()) => report_weights("revealed", block, &commit.row(), state),
		Err(error) => eprintln!("warning: revealing weights failed: {error}"),
	}
}

/// Prints a row that landed on chain (`how`: set or revealed) and keeps it for the status.
fn report_weights(how: &str, block: u32, row: &[(u16, u16)], state: &NeuronState) {
	let total: f64 = row.iter().map(|(_, w)| f64::from(*w)).sum();
	let text = row
		.iter()
		.map(|(u, w)| format!("{u}:{:.2}", f64::from(*w) / total))
		.collect::<Vec<_>>()
		.join(" ");
	println!("weights {how} at block {block}: {text}");
	*lock(&state.last_weights) = format!("#{block} [{text}]");
}
