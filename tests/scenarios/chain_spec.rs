//! Chain specs: the built-in `dev` and `local` specs export with the token's properties, and
//! `build-spec --raw` (what zombienet calls) works.

use std::process::Command;

use serde_json::Value;

/// Runs the node binary with `args` and parses its standard output as JSON.
fn run_json(args: &[&str]) -> Value {
	let output = Command::new(bittensor_e2e::node_binary())
		.args(args)
		.output()
		.expect("run node");
	assert!(
		output.status.success(),
		"{args:?} failed: {}",
		String::from_utf8_lossy(&output.stderr)
	);
	serde_json::from_slice(&output.stdout).expect("chain spec is JSON")
}

#[test]
fn exported_specs_carry_token_properties_and_their_validators() {
	for (chain, validators) in [("dev", 1), ("local", 2)] {
		let spec = run_json(&["export-chain-spec", "--chain", chain]);
		assert_eq!(spec["properties"]["tokenSymbol"], "TAO");
		assert_eq!(spec["properties"]["tokenDecimals"], 9);
		assert_eq!(spec["properties"]["ss58Format"], 42);
		let genesis = &spec["genesis"]["runtimeGenesis"]["patch"];
		let aura = genesis["aura"]["authorities"].as_array().expect("aura authorities");
		let grandpa = genesis["grandpa"]["authorities"].as_array().expect("grandpa authorities");
		assert_eq!((aura.len(), grandpa.len()), (validators, validators), "{chain}");
		assert!(genesis["sudo"]["key"].is_string(), "{chain} has a sudo key");
	}
}

#[test]
fn local_spec_has_alice_and_bob_as_validators() {
	let spec = run_json(&["build-spec", "--chain", "local", "--disable-default-bootnode"]);
	// The preset is resolved when the raw spec is built; the readable one names it.
	assert_eq!(spec["id"], "bittensor_local");
	let raw = run_json(&["build-spec", "--chain", "local", "--raw", "--disable-default-bootnode"]);
	let top = raw["genesis"]["raw"]["top"].as_object().expect("raw genesis storage");
	assert!(!top.is_empty());
}

#[test]
fn export_chain_spec_writes_a_file_that_the_node_loads_back() {
	let dir = tempfile::tempdir().expect("temp dir");
	let path = dir.path().join("dev-raw.json");
	let path = path.to_str().expect("utf-8 path");
	let status = Command::new(bittensor_e2e::node_binary())
		.args(["export-chain-spec", "--chain", "dev", "--raw", "--output", path])
		.status()
		.expect("run node");
	assert!(status.success());
	let again = run_json(&["export-chain-spec", "--chain", path, "--raw"]);
	assert_eq!(again["id"], "bittensor_dev");
}

#[test]
fn unknown_chain_file_is_a_clear_error() {
	let output = Command::new(bittensor_e2e::node_binary())
		.args(["export-chain-spec", "--chain", "/nonexistent/spec.json"])
		.output()
		.expect("run node");
	assert!(!output.status.success());
	let stderr = String::from_utf8_lossy(&output.stderr);
	assert!(stderr.contains("spec.json"), "error should name the file: {stderr}");
}
