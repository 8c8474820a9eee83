//! The harness of the end-to-end tests: real `bittensor-node` and `neuron` processes, Node.js
//! and Python client scripts, all on free local ports and in temporary directories, so that
//! every scenario can run beside the others. The scenarios themselves are in `scenarios/`.
//!
//! The binaries come from the workspace build (`scripts/test.sh` builds them first): a test
//! crate cannot ask cargo for another package's binary, so they are looked up beside the test
//! executable, in the profile's output directory.

pub mod node;
pub mod scripts;

use std::path::{Path, PathBuf};

/// Repository root (this crate's parent directory). Read when the test runs (cargo and
/// nextest set `CARGO_MANIFEST_DIR` for every test process), not when it was compiled: clones
/// in other directories share one target directory, and a test binary built in one of them
/// must look at the clone it runs in.
pub fn repo_root() -> PathBuf {
	let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
		.map(PathBuf::from)
		.unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
	manifest_dir.join("..")
}

/// Path of a workspace binary (`bittensor-node`, `neuron`) of the profile these tests were
/// built with; fails the test, naming the build command, if it has not been built.
pub fn binary(name: &str) -> PathBuf {
	let test_executable = std::env::current_exe().expect("the test executable's path");
	// <target>/<profile>/deps/scenarios-<hash>: the binaries are in <target>/<profile>.
	let profile_dir = test_executable
		.parent()
		.and_then(Path::parent)
		.expect("the test executable is in <target>/<profile>/deps");
	let path = profile_dir.join(name);
	assert!(
		path.exists(),
		"{} is missing: build it with `cargo build --release --workspace --bins --tests` \
		 (scripts/test.sh does)",
		path.display()
	);
	path
}

/// Path of the node binary.
pub fn node_binary() -> PathBuf {
	binary("bittensor-node")
}

/// Path of the neuron binary.
pub fn neuron_binary() -> PathBuf {
	binary("neuron")
}

/// A child process killed when the test lets go of it, a failed assertion included, so that
/// no process outlives its scenario.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
	fn drop(&mut self) {
		let _ = self.0.kill();
		let _ = self.0.wait();
	}
}
