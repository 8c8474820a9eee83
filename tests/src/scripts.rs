//! The client scripts of `e2e/`, run against a node as a user would run them: Node.js with the
//! packages `scripts/setup.sh` installs there, Python in the virtual environment it creates.

use std::{
	path::{Path, PathBuf},
	process::{Command, Output},
};

use crate::{node::NodeProcess, repo_root};

/// Fails the test with the script's output unless it succeeded; returns its standard output.
fn succeeded(script: &str, output: Output) -> String {
	let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
	let stderr = String::from_utf8_lossy(&output.stderr);
	assert!(output.status.success(), "{script} failed:\n{stdout}\n{stderr}");
	println!("{stdout}");
	stdout
}

/// Runs `e2e/<script>` with Node.js against `node`, with `args` after the node's URL, failing
/// the test (with the script's output) unless it exits successfully; returns its standard
/// output.
pub fn run_e2e_script(script: &str, node: &NodeProcess, args: &[&str]) -> String {
	let output = Command::new("node")
		.arg(repo_root().join("e2e").join(script))
		.arg(node.ws_url())
		.args(args)
		.output()
		.expect("run node (Node.js); scripts/setup.sh installs it");
	succeeded(script, output)
}

/// The Python interpreter of the end-to-end virtual environment that `scripts/setup.sh`
/// creates (`$BITTENSOR_VENV`, by default `~/.cache/bittensor/venv`).
pub fn venv_python() -> PathBuf {
	let venv = std::env::var_os("BITTENSOR_VENV").map(PathBuf::from).unwrap_or_else(|| {
		let home = std::env::var_os("HOME").expect("HOME is set");
		Path::new(&home).join(".cache/bittensor/venv")
	});
	venv.join("bin/python")
}

/// Runs `e2e/<script>` with the virtual environment's Python against `node`, failing the test
/// (with the script's output) unless it exits successfully; returns its standard output.
pub fn run_python_script(script: &str, node: &NodeProcess) -> String {
	let python = venv_python();
	let output = Command::new(&python)
		.arg(repo_root().join("e2e").join(script))
		.arg(node.ws_url())
		.output()
		.unwrap_or_else(|error| {
			panic!("run {}: {error}; scripts/setup.sh creates it", python.display())
		});
	succeeded(script, output)
}
