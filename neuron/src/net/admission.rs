//! What an axon is started with: the registered peers it serves ([`Peers`]) and its limits
//! ([`AxonConfig`]). The axon and its gate both read them, and the gate sits below the axon,
//! so they live apart from either.

use std::{collections::HashMap, time::Duration};

use bittensor_primitives::{json::MetagraphJson, TOKEN};
use sp_core::crypto::{AccountId32, Ss58Codec};

/// The registered peers an axon serves: hotkey → stake.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Peers {
	stakes: HashMap<AccountId32, u64>,
	total_stake: u64,
}

impl Peers {
	/// Peers with the given stakes.
	pub fn new(stakes: impl IntoIterator<Item = (AccountId32, u64)>) -> Self {
		let stakes: HashMap<_, _> = stakes.into_iter().collect();
		let total_stake = stakes.values().fold(0u64, |sum, stake| sum.saturating_add(*stake));
		Self { stakes, total_stake }
	}

	/// The peers of a metagraph read from the chain.
	pub fn from_metagraph(metagraph: &MetagraphJson) -> Self {
		Self::new(metagraph.neurons.iter().filter_map(|neuron| {
			let hotkey = AccountId32::from_ss58check(&neuron.hotkey).ok()?;
			Some((hotkey, neuron.stake.parse().unwrap_or(0)))
		}))
	}

	/// The stake of a registered hotkey.
	pub fn stake(&self, hotkey: &AccountId32) -> Option<u64> {
		self.stakes.get(hotkey).copied()
	}

	/// The stake of all registered hotkeys together.
	pub fn total_stake(&self) -> u64 {
		self.total_stake
	}
}

/// Limits of an axon.
#[derive(Debug, Clone)]
pub struct AxonConfig {
	/// Requests running or queued for the model at once; more are shed with
	/// `RESOURCE_EXHAUSTED`.
	pub max_in_flight: usize,
	/// Longest the model may take for one request.
	pub model_timeout: Duration,
	/// Requests per second shared among all callers in proportion to their stake.
	pub requests_per_second: f64,
	/// Requests per second every registered caller gets, whatever its stake.
	pub min_requests_per_second: f64,
	/// How far a nonce may be from the axon's clock.
	pub nonce_window: Duration,
	/// Stake, in rao, from which a caller counts as staked and takes its slots from
	/// [`AxonConfig::staked_requests`].
	pub staked_threshold: u64,
	/// Requests of staked callers admitted at once (body read, queued or running).
	pub staked_requests: usize,
	/// Requests of callers below the staked threshold admitted at once, all of them together.
	pub open_requests: usize,
	/// Requests of one caller admitted at once.
	pub per_caller_requests: usize,
	/// Stake, in rao, a caller needs to send Backward.
	pub min_backward_stake: u64,
	/// Longest a new connection may take to carry its first request from a registered caller
	/// that signed it correctly; until then it is closed when the time is up.
	pub first_request_timeout: Duration,
	/// Longest a caller may take to read its answer, from the moment its request was admitted.
	pub response_timeout: Duration,
	/// Longest a request body may take to arrive, once its headers are accepted.
	pub body_timeout: Duration,
	/// Failed authentications an address may have in a burst ...
	pub failed_auth_burst: f64,
	/// ... and per second after it; beyond them its requests are refused unread.
	pub failed_auth_per_second: f64,
	/// Streams one HTTP/2 connection may have open at once.
	pub max_streams_per_connection: u32,
	/// Longest the axon waits, when told to stop, for its connections to close.
	pub shutdown_grace: Duration,
}

impl Default for AxonConfig {
	fn default() -> Self {
		Self {
			max_in_flight: 32,
			model_timeout: Duration::from_secs(10),
			requests_per_second: 2_000.0,
			min_requests_per_second: 10.0,
			nonce_window: Duration::from_secs(60),
			staked_threshold: TOKEN,
			staked_requests: 48,
			open_requests: 16,
			per_caller_requests: 8,
			min_backward_stake: TOKEN,
			first_request_timeout: Duration::from_secs(10),
			response_timeout: Duration::from_secs(30),
			body_timeout: Duration::from_secs(10),
			failed_auth_burst: 20.0,
			failed_auth_per_second: 1.0,
			max_streams_per_connection: 64,
			shutdown_grace: Duration::from_secs(2),
		}
	}
}
