//! The built-in chain specs (`dev`, `local`) and the chain properties wallets read.

use bittensor_primitives::{SS58_PREFIX, TOKEN_DECIMALS, TOKEN_SYMBOL};
use bittensor_runtime::WASM_BINARY;
use sc_service::{ChainType, Properties};

/// A chain spec of this runtime; its genesis comes from a runtime preset or a JSON file.
pub type ChainSpec = sc_service::GenericChainSpec;

/// Token symbol, decimals and address format, so wallets show amounts and addresses correctly.
pub fn chain_properties() -> Properties {
	let mut properties = Properties::new();
	properties.insert("tokenSymbol".into(), TOKEN_SYMBOL.into());
	properties.insert("tokenDecimals".into(), TOKEN_DECIMALS.into());
	properties.insert("ss58Format".into(), SS58_PREFIX.into());
	properties
}

/// The runtime's wasm, embedded at build time.
fn wasm_binary() -> Result<&'static [u8], String> {
	WASM_BINARY.ok_or_else(|| {
		"The runtime wasm is not available: the node was built with SKIP_WASM_BUILD.".to_string()
	})
}

/// `--dev` / `--chain dev`: Alice alone authors and finalizes blocks and holds sudo.
pub fn development_chain_spec() -> Result<ChainSpec, String> {
	Ok(ChainSpec::builder(wasm_binary()?, None)
		.with_name("BitTensor Development")
		.with_id("bittensor_dev")
		.with_chain_type(ChainType::Development)
		.with_genesis_config_preset_name(sp_genesis_builder::DEV_RUNTIME_PRESET)
		.with_properties(chain_properties())
		.build())
}

/// `--chain local`: Alice and Bob validate; run one node for each (`--alice`, `--bob`).
pub fn local_chain_spec() -> Result<ChainSpec, String> {
	Ok(ChainSpec::builder(wasm_binary()?, None)
		.with_name("BitTensor Local Testnet")
		.with_id("bittensor_local")
		.with_chain_type(ChainType::Local)
		.with_genesis_config_preset_name(sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET)
		.with_properties(chain_properties())
		.build())
}
