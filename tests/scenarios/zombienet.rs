//! The four-validator zombienet test (`zombienet/four-validators.zndsl`), run exactly as
//! `docs/testing.md` says, with this build's node binary: every node up and finalising, the epoch
//! on every node, one metagraph through two nodes, and finality through a paused validator.

use std::process::Command;

use bittensor_e2e::{node_binary, repo_root};

#[test]
fn four_validators_finalise_through_a_paused_validator() {
	let output = Command::new("npx")
		.args(["zombienet", "-p", "native", "test", "zombienet/four-validators.zndsl"])
		.current_dir(repo_root())
		.env("NODE_BIN", node_binary())
		.output()
		.expect("run npx (Node.js); scripts/setup.sh installs it and zombienet");
	let stdout = String::from_utf8_lossy(&output.stdout);
	let stderr = String::from_utf8_lossy(&output.stderr);
	println!("{stdout}");
	assert!(output.status.success(), "zombienet test failed:\n{stdout}\n{stderr}");
}
