//! Genesis presets: `development` (Alice validates and is sudo) and `local_testnet` (Alice and
//! Bob validate). Both endow the well-known dev accounts so that tests and scripts can pay fees.

use crate::{AccountId, BalancesConfig, IncentiveConfig, RuntimeGenesisConfig, SudoConfig, TOKEN};
use alloc::{vec, vec::Vec};
use frame_support::build_struct_json_patch;
use serde_json::Value;
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_consensus_grandpa::AuthorityId as GrandpaId;
use sp_genesis_builder::{self, PresetId};
use sp_keyring::{Ed25519Keyring, Sr25519Keyring};

/// Balance each endowed dev account starts with: one million tokens.
pub const ENDOWMENT: crate::Balance = 1_000_000 * TOKEN;

/// The genesis config of a chain with these validators, sudo key and endowed accounts.
fn testnet_genesis(
	initial_authorities: Vec<(AuraId, GrandpaId)>,
	endowed_accounts: Vec<AccountId>,
	root: AccountId,
) -> Value {
	build_struct_json_patch!(RuntimeGenesisConfig {
		balances: BalancesConfig {
			balances: endowed_accounts
				.iter()
				.cloned()
				.map(|account| (account, ENDOWMENT))
				.collect::<Vec<_>>(),
		},
		aura: pallet_aura::GenesisConfig {
			authorities: initial_authorities.iter().map(|x| x.0.clone()).collect::<Vec<_>>(),
		},
		grandpa: pallet_grandpa::GenesisConfig {
			authorities: initial_authorities.iter().map(|x| (x.1.clone(), 1)).collect::<Vec<_>>(),
		},
		sudo: SudoConfig { key: Some(root) },
		incentive: IncentiveConfig {
			hyperparameters: test_network_hyperparameters(),
			allow_loopback: true
		},
	})
}

/// Hyperparameters of the development and local networks: an epoch every 10 blocks, cheap
/// registration, short rate limits, and room for up to 256 peers.
fn test_network_hyperparameters() -> pallet_incentive::Hyperparameters {
	pallet_incentive::Hyperparameters {
		tempo: 10,
		block_emission: TOKEN,
		registration_cost: TOKEN / 10,
		weights_set_rate_limit: 2,
		immunity_period: 100,
		max_allowed_uids: 256,
		max_registrations_per_block: 16,
		..Default::default()
	}
}

/// The validator keys (Aura, GRANDPA) of a dev keyring account.
fn authority_keys(aura: Sr25519Keyring, grandpa: Ed25519Keyring) -> (AuraId, GrandpaId) {
	(aura.public().into(), grandpa.public().into())
}

/// The dev accounts (Alice..Ferdie and their //stash accounts) endowed by both presets.
fn endowed_dev_accounts() -> Vec<AccountId> {
	Sr25519Keyring::iter().map(|keyring| keyring.to_account_id()).collect()
}

/// `development`: a single validator, Alice, who is also sudo.
pub fn development_config_genesis() -> Value {
	testnet_genesis(
		vec![authority_keys(Sr25519Keyring::Alice, Ed25519Keyring::Alice)],
		endowed_dev_accounts(),
		Sr25519Keyring::Alice.to_account_id(),
	)
}

/// `local_testnet`: two validators, Alice and Bob; Alice is sudo.
pub fn local_config_genesis() -> Value {
	testnet_genesis(
		vec![
			authority_keys(Sr25519Keyring::Alice, Ed25519Keyring::Alice),
			authority_keys(Sr25519Keyring::Bob, Ed25519Keyring::Bob),
		],
		endowed_dev_accounts(),
		Sr25519Keyring::Alice.to_account_id(),
	)
}

/// The JSON patch of the preset `id`, if it exists.
pub fn get_preset(id: &PresetId) -> Option<Vec<u8>> {
	let patch = match id.as_ref() {
		sp_genesis_builder::DEV_RUNTIME_PRESET => development_config_genesis(),
		sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET => local_config_genesis(),
		_ => return None,
	};
	serde_json::to_vec(&patch).ok()
}

/// The names of the presets this runtime provides.
pub fn preset_names() -> Vec<PresetId> {
	vec![
		PresetId::from(sp_genesis_builder::DEV_RUNTIME_PRESET),
		PresetId::from(sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET),
	]
}
