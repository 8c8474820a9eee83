//! `neuron wallet` as a person runs it, and its key files opened by the polkadot.js keyring and
//! the other way round (e2e/keyring.mjs, @polkadot/keyring 14).

use std::{
	path::Path,
	process::{Command, Output},
};

use bittensor_e2e::{neuron_binary, repo_root};

/// Password the tests give through `$BITTENSOR_PASSWORD`.
const PASSWORD: &str = "correct horse battery staple";

fn neuron(wallets: &Path, args: &[&str]) -> Output {
	Command::new(neuron_binary())
		.arg("--wallets")
		.arg(wallets)
		.args(args)
		.env("BITTENSOR_PASSWORD", PASSWORD)
		.output()
		.expect("run neuron")
}

fn stdout_of(output: &Output) -> String {
	assert!(output.status.success(), "neuron failed: {}", String::from_utf8_lossy(&output.stderr));
	String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn new_list_show_import_and_errors() {
	let dir = tempfile::tempdir().expect("temp dir");
	let created = stdout_of(&neuron(dir.path(), &["wallet", "new", "--wallet", "miner"]));
	assert!(created.contains("mnemonic"), "{created}");

	let imported = stdout_of(&neuron(
		dir.path(),
		&["wallet", "import", "--wallet", "validator", "--secret", "//Alice"],
	));
	assert!(imported.contains("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"), "{imported}");
	stdout_of(&neuron(
		dir.path(),
		&[
			"wallet",
			"import",
			"--wallet",
			"validator",
			"--hotkey",
			"hot",
			"--secret",
			"//Alice//hot",
		],
	));

	let listed = stdout_of(&neuron(dir.path(), &["wallet", "list"]));
	assert!(
		listed.contains("miner") && listed.contains("validator") && listed.contains("hot"),
		"{listed}"
	);
	let shown = stdout_of(&neuron(dir.path(), &["wallet", "show", "--wallet", "validator"]));
	assert!(shown.contains("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"), "{shown}");

	// Errors name the problem and change nothing.
	let again =
		neuron(dir.path(), &["wallet", "import", "--wallet", "validator", "--secret", "//Bob"]);
	assert!(!again.status.success());
	assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
	let bad =
		neuron(dir.path(), &["wallet", "import", "--wallet", "other", "--secret", "no such words"]);
	assert!(String::from_utf8_lossy(&bad.stderr).contains("not a BIP-39 mnemonic"));
	let missing = neuron(dir.path(), &["wallet", "show", "--wallet", "nobody"]);
	assert!(String::from_utf8_lossy(&missing.stderr).contains("does not exist"));
	let wrong = Command::new(neuron_binary())
		.arg("--wallets")
		.arg(dir.path())
		.args(["wallet", "export", "--wallet", "validator", "--out"])
		.arg(dir.path().join("x.json"))
		.env("BITTENSOR_PASSWORD", "wrong")
		.output()
		.expect("run neuron");
	assert!(String::from_utf8_lossy(&wrong.stderr).contains("wrong password"));
}

#[test]
fn key_files_open_in_polkadot_js_and_back() {
	let dir = tempfile::tempdir().expect("temp dir");
	stdout_of(&neuron(dir.path(), &["wallet", "import", "--wallet", "w", "--secret", "//Alice"]));
	let exported = dir.path().join("alice.json");
	let from_polkadot_js = dir.path().join("polkadot-js.json");
	stdout_of(&neuron(
		dir.path(),
		&["wallet", "export", "--wallet", "w", "--out", exported.to_str().expect("utf-8 path")],
	));

	let output = Command::new("node")
		.arg(repo_root().join("e2e").join("keyring.mjs"))
		.arg(&exported)
		.arg(PASSWORD)
		.arg(&from_polkadot_js)
		.output()
		.expect("run node (Node.js); scripts/setup.sh installs it");
	let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
	assert!(
		output.status.success(),
		"keyring.mjs failed:\n{stdout}\n{}",
		String::from_utf8_lossy(&output.stderr)
	);
	assert!(stdout.contains("opened 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"), "{stdout}");
	let created = stdout
		.lines()
		.find_map(|line| line.strip_prefix("created "))
		.expect("a created address")
		.to_string();

	let imported = stdout_of(&neuron(
		dir.path(),
		&[
			"wallet",
			"import",
			"--wallet",
			"w",
			"--hotkey",
			"from-js",
			"--json",
			from_polkadot_js.to_str().expect("utf-8 path"),
		],
	));
	assert!(imported.contains(&created), "imported {imported}, polkadot.js made {created}");
}
