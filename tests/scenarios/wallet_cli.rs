//! `neuron wallet` as a person runs it, and its key files opened by the polkadot.js keyring and
//! the other way round (e2e/keyring.mjs, @polkadot/keyring 14).

use std::{
	io::Write,
	path::Path,
	process::{Command, Output, Stdio},
};

use bittensor_e2e::{neuron_binary, repo_root};

/// Password the tests give through `$BITTENSOR_PASSWORD`.
const PASSWORD: &str = "correct horse battery staple";

/// The development mnemonic behind //Alice, //Bob, ...
const DEV_PHRASE: &str = "bottom drive obey lake curtain smoke basket hold race lonely fit walk";

/// Alice's address.
const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";

/// Runs `neuron` on the wallets in `wallets` with `$BITTENSOR_PASSWORD` set to [`PASSWORD`],
/// then the variables `env`, and `stdin` as its standard input.
fn neuron_with(wallets: &Path, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
	let mut child = Command::new(neuron_binary())
		.arg("--wallets")
		.arg(wallets)
		.args(args)
		.env("BITTENSOR_PASSWORD", PASSWORD)
		.env_remove("BITTENSOR_MNEMONIC")
		.envs(env.iter().copied())
		.stdin(Stdio::piped())
		.stdout(Stdio::piped())
		.stderr(Stdio::piped())
		.spawn()
		.expect("run neuron");
	// A command that fails before reading its input has closed it: its output says why.
	let _ = child.stdin.take().expect("its stdin").write_all(stdin.as_bytes());
	child.wait_with_output().expect("wait for neuron")
}

fn neuron(wallets: &Path, args: &[&str]) -> Output {
	neuron_with(wallets, args, &[], "")
}

/// `neuron wallet import` of `secret`, given on standard input.
fn import(wallets: &Path, args: &[&str], secret: &str) -> Output {
	let mut all = vec!["wallet", "import"];
	all.extend_from_slice(args);
	neuron_with(wallets, &all, &[], &format!("{secret}\n"))
}

fn stdout_of(output: &Output) -> String {
	assert!(output.status.success(), "neuron failed: {}", String::from_utf8_lossy(&output.stderr));
	String::from_utf8_lossy(&output.stdout).into_owned()
}

fn failed_with(output: &Output, message: &str) {
	let stderr = String::from_utf8_lossy(&output.stderr);
	assert!(
		!output.status.success(),
		"neuron succeeded: {}",
		String::from_utf8_lossy(&output.stdout)
	);
	assert!(stderr.contains(message), "expected {message:?} in: {stderr}");
}

#[test]
fn new_list_show_import_and_errors() {
	let dir = tempfile::tempdir().expect("temp dir");
	let created = stdout_of(&neuron(dir.path(), &["wallet", "new", "--wallet", "miner"]));
	assert!(created.contains("mnemonic"), "{created}");

	let imported = stdout_of(&import(dir.path(), &["--wallet", "validator"], "//Alice"));
	assert!(imported.contains(ALICE), "{imported}");
	stdout_of(&import(dir.path(), &["--wallet", "validator", "--hotkey", "hot"], "//Alice//hot"));

	let listed = stdout_of(&neuron(dir.path(), &["wallet", "list"]));
	assert!(
		listed.contains("miner") && listed.contains("validator") && listed.contains("hot"),
		"{listed}"
	);
	let shown = stdout_of(&neuron(dir.path(), &["wallet", "show", "--wallet", "validator"]));
	assert!(shown.contains(ALICE), "{shown}");

	// Errors name the problem and change nothing.
	failed_with(&import(dir.path(), &["--wallet", "validator"], "//Bob"), "already exists");
	failed_with(
		&import(dir.path(), &["--wallet", "other"], "no such words"),
		"not a BIP-39 mnemonic",
	);
	failed_with(&import(dir.path(), &["--wallet", "other"], ""), "no mnemonic or secret URI");
	// A secret is never a command-line argument, where other users and the history see it.
	failed_with(
		&neuron(dir.path(), &["wallet", "import", "--wallet", "other", "--secret", "//Alice"]),
		"--secret",
	);
	assert!(!dir.path().join("other").exists());
	failed_with(&neuron(dir.path(), &["wallet", "show", "--wallet", "nobody"]), "does not exist");
	let out = dir.path().join("x.json");
	let wrong = neuron_with(
		dir.path(),
		&["wallet", "export", "--wallet", "validator", "--out", out.to_str().expect("utf-8 path")],
		&[("BITTENSOR_PASSWORD", "wrong")],
		"",
	);
	failed_with(&wrong, "wrong password");
}

#[test]
fn an_empty_password_takes_the_no_password_flag() {
	let dir = tempfile::tempdir().expect("temp dir");
	let empty = [("BITTENSOR_PASSWORD", "")];
	let new = neuron_with(dir.path(), &["wallet", "new", "--wallet", "w"], &empty, "");
	failed_with(&new, "--no-password");
	let imported =
		neuron_with(dir.path(), &["wallet", "import", "--wallet", "w"], &empty, "//Alice\n");
	failed_with(&imported, "--no-password");
	assert!(!dir.path().join("w").join("coldkey").exists(), "nothing written");

	let created =
		neuron_with(dir.path(), &["wallet", "new", "--wallet", "w", "--no-password"], &empty, "");
	assert!(stdout_of(&created).contains("mnemonic"));
	let coldkey: serde_json::Value = serde_json::from_str(
		&std::fs::read_to_string(dir.path().join("w").join("coldkey")).expect("read the coldkey"),
	)
	.expect("JSON");
	assert_eq!(coldkey["encoding"]["type"], serde_json::json!(["none"]));

	// The unencrypted coldkey opens without a password; the exported file needs one, or the flag.
	let out = dir.path().join("w.json");
	let out = out.to_str().expect("utf-8 path");
	let export = ["wallet", "export", "--wallet", "w", "--out", out];
	failed_with(&neuron_with(dir.path(), &export, &empty, ""), "--no-password");
	stdout_of(&neuron(dir.path(), &export));
	let exported: serde_json::Value =
		serde_json::from_str(&std::fs::read_to_string(out).expect("read the export"))
			.expect("JSON");
	assert_eq!(exported["encoding"]["type"], serde_json::json!(["scrypt", "xsalsa20-poly1305"]));
}

#[test]
fn a_mnemonic_from_a_file_standard_input_or_the_environment_gives_one_address() {
	let dir = tempfile::tempdir().expect("temp dir");
	let secret = format!("{DEV_PHRASE}//Alice");
	let file = dir.path().join("mnemonic");
	std::fs::write(&file, format!("{secret}\n")).expect("write the mnemonic file");
	let file = file.to_str().expect("utf-8 path");

	let from_file =
		neuron(dir.path(), &["wallet", "import", "--wallet", "a", "--mnemonic-file", file]);
	let from_stdin = import(dir.path(), &["--wallet", "b"], &secret);
	let from_env = neuron_with(
		dir.path(),
		&["wallet", "import", "--wallet", "c"],
		&[("BITTENSOR_MNEMONIC", secret.as_str())],
		"",
	);
	for output in [from_file, from_stdin, from_env] {
		let stdout = stdout_of(&output);
		assert_eq!(stdout.trim(), format!("coldkey {ALICE}"), "{stdout}");
	}
	for wallet in ["a", "b", "c"] {
		let shown = stdout_of(&neuron(dir.path(), &["wallet", "show", "--wallet", wallet]));
		assert!(shown.contains(ALICE), "{shown}");
	}
}

#[test]
fn key_files_open_in_polkadot_js_and_back() {
	let dir = tempfile::tempdir().expect("temp dir");
	stdout_of(&import(dir.path(), &["--wallet", "w"], "//Alice"));
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
	assert!(stdout.contains(&format!("opened {ALICE}")), "{stdout}");
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
