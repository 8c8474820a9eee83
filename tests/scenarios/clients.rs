//! The clients people script the chain with, against a real `--dev` node (10-block tempo):
//! @polkadot/api (runtime API and custom RPC, and a crowded chain), py-substrate-interface
//! (module errors and storage), and the "Scripting the chain" and "Commit-reveal weights"
//! examples of `docs/clients.md` run exactly as written.

use std::{
	path::{Path, PathBuf},
	process::Command,
	time::Duration,
};

use bittensor_e2e::{
	node::NodeProcess,
	repo_root,
	scripts::{run_e2e_script, run_python_script, venv_python},
};
use serde_json::json;

/// The port the documented examples connect to (the node's default).
const EXAMPLES_RPC_PORT: u16 = 9944;
/// How @polkadot/api-cli prints System's `ExtrinsicSuccess` event (pallet 0, event 0).
const EXTRINSIC_SUCCESS: &str = "\"index\": \"0x0000\"";
/// How @polkadot/api-cli prints System's `ExtrinsicFailed` event (pallet 0, event 1).
const EXTRINSIC_FAILED: &str = "\"index\": \"0x0001\"";

fn dev_node(dir: &Path) -> NodeProcess {
	let mut node = NodeProcess::start("dev", dir, &["--dev", "--tmp"]);
	node.wait_for_best(1, Duration::from_secs(120));
	node
}

#[test]
fn polkadot_js_reads_the_same_metagraph_through_the_runtime_api_and_the_rpc() {
	let dir = tempfile::tempdir().expect("temp dir");
	let node = dev_node(dir.path());
	let stdout = run_e2e_script("metagraph.mjs", &node, &[]);
	assert!(stdout.contains("metagraph ok"), "unexpected output:\n{stdout}");
}

/// The report that once halted the chain for good (1,500 peers, each weighting every other),
/// smaller: 300 peers, 64 validators weighting every peer, 8 unstaked peers refused. Three
/// epochs pass with blocks produced and finalized; `e2e/scale.mjs --peers 1500` runs the full
/// size by hand (`docs/testing.md`).
#[test]
fn a_crowded_chain_keeps_producing_and_finalizing_through_three_epochs() {
	let dir = tempfile::tempdir().expect("temp dir");
	let node = dev_node(dir.path());
	let args = ["--peers", "300", "--validators", "64", "--refused", "8"];
	let stdout = run_e2e_script("scale.mjs", &node, &args);
	assert!(
		stdout.contains("refused: incentive.NoValidatorPermit"),
		"unexpected output:\n{stdout}"
	);
	assert!(stdout.contains("scale ok"), "unexpected output:\n{stdout}");
}

#[test]
fn substrate_interface_gets_the_named_module_error_and_reads_storage() {
	let dir = tempfile::tempdir().expect("temp dir");
	let node = dev_node(dir.path());
	let stdout = run_python_script("set_weights.py", &node);
	assert!(
		stdout.contains("duplicate uids rejected: DuplicateUids"),
		"unexpected output:\n{stdout}"
	);
	assert!(stdout.contains("python ok"), "unexpected output:\n{stdout}");
}

/// One fenced code block of a document: its language and its text.
struct Example {
	language: String,
	code: String,
}

/// The fenced code blocks of section `## {section}` of `document` (relative to the repository
/// root), in order.
fn documented_examples(document: &str, section: &str) -> Vec<Example> {
	let text = std::fs::read_to_string(repo_root().join(document))
		.unwrap_or_else(|e| panic!("read {document}: {e}"));
	let section = text
		.split(&format!("\n## {section}\n"))
		.nth(1)
		.unwrap_or_else(|| panic!("{document} has a '{section}' section"))
		.split("\n## ")
		.next()
		.unwrap_or_default();
	let mut examples = Vec::new();
	let mut lines = section.lines();
	while let Some(line) = lines.next() {
		if let Some(language) = line.strip_prefix("```").filter(|language| !language.is_empty()) {
			let code: Vec<&str> =
				lines.by_ref().take_while(|line| !line.starts_with("```")).collect();
			examples.push(Example { language: language.to_string(), code: code.join("\n") + "\n" });
		}
	}
	examples
}

/// Runs one documented example from the repository root, as a reader pasting it would; returns
/// its output, failing the test if it exits unsuccessfully.
fn run_example(example: &Example, scratch: &Path) -> String {
	let root = repo_root();
	let mut command = match example.language.as_str() {
		"sh" => {
			let mut command = Command::new("bash");
			command.args(["-euo", "pipefail", "-c", &example.code]);
			command
		},
		"js" => {
			// Saved beside the e2e scripts so that its imports resolve to e2e/node_modules.
			let path = root.join("e2e").join(".docs-example.mjs");
			std::fs::write(&path, &example.code).expect("write the js example");
			let mut command = Command::new("node");
			command.arg(path);
			command
		},
		"python" => {
			let path: PathBuf = scratch.join("docs_example.py");
			std::fs::write(&path, &example.code).expect("write the python example");
			let mut command = Command::new(venv_python());
			command.arg(path);
			command
		},
		other => panic!("a documented example in an unexpected language: {other}"),
	};
	let output = command.current_dir(&root).output().expect("run a documented example");
	let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
	let stderr = String::from_utf8_lossy(&output.stderr);
	assert!(
		output.status.success(),
		"documented {} example failed:\n{}\n{stdout}\n{stderr}",
		example.language,
		example.code
	);
	println!("{stdout}");
	stdout
}

#[test]
fn documented_scripting_examples_run_as_written() {
	let dir = tempfile::tempdir().expect("temp dir");
	let mut node = NodeProcess::start_with_rpc_port(
		"examples",
		dir.path(),
		&["--dev", "--tmp"],
		EXAMPLES_RPC_PORT,
	);
	node.wait_for_best(1, Duration::from_secs(120));

	let examples = documented_examples("docs/clients.md", "Scripting the chain");
	let languages: Vec<&str> = examples.iter().map(|example| example.language.as_str()).collect();
	assert_eq!(
		languages,
		["sh", "js", "python"],
		"the section's examples changed: update this test"
	);

	// The api-cli one-liners exit 0 even when an extrinsic fails. Its output names no event:
	// a failed call shows a `dispatchError` and System's `ExtrinsicFailed` event, index 0x0001.
	let cli = run_example(&examples[0], dir.path());
	assert!(
		!cli.contains("\"dispatchError\"") && !cli.contains(EXTRINSIC_FAILED),
		"an api-cli extrinsic failed:\n{cli}"
	);
	let transactions = examples[0].code.lines().filter(|line| line.contains(" tx.")).count();
	let included = cli.matches("\"inBlock\"").count();
	let succeeded = cli.matches(EXTRINSIC_SUCCESS).count();
	assert!(
		transactions >= 3 && included == transactions,
		"{included} of {transactions} extrinsics in a block:\n{cli}"
	);
	assert!(
		succeeded >= transactions,
		"{succeeded} ExtrinsicSuccess events for {transactions} extrinsics:\n{cli}"
	);
	assert!(cli.contains("\"neurons\""), "no metagraph in the api-cli output:\n{cli}");

	// What the one-liners did is on chain: Bob's hotkey is uid 0 with all its weight on uid 1.
	let bob = node.rpc("metagraph_neuron", json!([0])).expect("uid 0 through the RPC");
	assert_eq!(bob["hotkey"], "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty");
	assert_eq!(bob["weights"], json!([[1, 65535]]));
	assert_eq!(bob["validatorPermit"], true, "staking took a vacant permit");
	// The light form has the same peers without their rows.
	let light = node.rpc("metagraph_getLight", json!([])).expect("the light metagraph");
	assert_eq!(light["neurons"][0]["hotkey"], bob["hotkey"]);
	assert_eq!(light["neurons"][0]["weights"], json!([]));

	let js = run_example(&examples[1], dir.path());
	assert!(
		js.contains("5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"),
		"the js example did not show Bob's hotkey:\n{js}"
	);
	let python = run_example(&examples[2], dir.path());
	assert!(
		python.contains("False DuplicateUids"),
		"the python example did not show the module error:\n{python}"
	);
	assert!(
		python.contains("(1, 65535)"),
		"the python example did not show Bob's weights:\n{python}"
	);

	// The RPC's errors name what is wrong.
	let unknown_uid =
		node.rpc("metagraph_neuron", json!([77])).expect_err("uid 77 is not registered");
	assert!(unknown_uid.contains("uid 77 is not a registered peer"), "{unknown_uid}");
	let unknown_block = node
		.rpc("metagraph_get", json!([format!("0x{}", "ab".repeat(32))]))
		.expect_err("no such block");
	assert!(unknown_block.contains("is not known to this node"), "{unknown_block}");
	let unknown_block = node
		.rpc("metagraph_getLight", json!([format!("0x{}", "ab".repeat(32))]))
		.expect_err("no such block");
	assert!(unknown_block.contains("is not known to this node"), "{unknown_block}");
	let hyperparameters =
		node.rpc("metagraph_hyperparameters", json!([])).expect("hyperparameters");
	assert_eq!(hyperparameters["tempo"], 10);
	assert_eq!(hyperparameters["registrationCost"], "100000000");

	// The commit-reveal examples, on the same chain: polkadot.js turns it on, commits and
	// reveals; Python then does the same with its own hotkeys.
	let examples = documented_examples("docs/clients.md", "Commit-reveal weights");
	let languages: Vec<&str> = examples.iter().map(|example| example.language.as_str()).collect();
	assert_eq!(languages, ["js", "python"], "the section's examples changed: update this test");
	let js = run_example(&examples[0], dir.path());
	let python = run_example(&examples[1], dir.path());
	let hyperparameters =
		node.rpc("metagraph_hyperparameters", json!([])).expect("hyperparameters");
	assert_eq!(hyperparameters["commitRevealEnabled"], true);
	assert_eq!(hyperparameters["commitRevealPeriod"], 3);
	for (output, pattern) in [(&js, ",65535]]"), (&python, ", 65535)]")] {
		let revealed = output.lines().find(|line| line.contains(" revealed "));
		let uid: u64 = revealed
			.and_then(|line| line.strip_prefix("uid "))
			.and_then(|rest| rest.split(' ').next())
			.and_then(|uid| uid.parse().ok())
			.unwrap_or_else(|| panic!("no revealed row in:\n{output}"));
		assert!(revealed.is_some_and(|line| line.contains(pattern)), "{output}");
		let neuron = node.rpc("metagraph_neuron", json!([uid])).expect("the revealing uid");
		let weights = neuron["weights"].as_array().cloned().unwrap_or_default();
		assert!(!weights.is_empty() && weights.iter().all(|w| w[1] == 65535), "{neuron}");
	}
}
