//! A `--dev` node produces and finalizes blocks, accepts a transfer signed with @polkadot/api,
//! and resumes from its best block when restarted on the same base path.

use std::time::Duration;

use bittensor_e2e::{node::NodeProcess, scripts::run_e2e_script};

#[test]
fn dev_node_finalizes_blocks_and_accepts_a_polkadot_js_transfer() {
	let dir = tempfile::tempdir().expect("temp dir");
	let mut node = NodeProcess::start("dev", dir.path(), &["--dev", "--tmp"]);

	node.wait_for_finalized(2, Duration::from_secs(120));

	let stdout = run_e2e_script("transfer.mjs", &node, &[]);
	assert!(stdout.contains("transfer ok"), "unexpected output:\n{stdout}");
}

#[test]
fn node_restarted_on_the_same_base_path_resumes_from_its_best_block() {
	let dir = tempfile::tempdir().expect("temp dir");
	let base_path = dir.path().join("chain");
	let base_path = base_path.to_str().expect("utf-8 path");
	let args = ["--dev", "--base-path", base_path];

	let mut node = NodeProcess::start("first-run", dir.path(), &args);
	node.wait_for_best(3, Duration::from_secs(90));
	let best_before = node.best_number().expect("best block");
	node.stop_gracefully();

	let mut node = NodeProcess::start("second-run", dir.path(), &args);
	let best_after_restart =
		node.wait_for("RPC after restart", Duration::from_secs(60), |n| n.best_number().ok());
	assert!(
		best_after_restart >= best_before,
		"restarted at #{best_after_restart}, below the #{best_before} it had before"
	);
	// And it keeps building on top of it.
	node.wait_for_best(best_before + 1, Duration::from_secs(60));
	let database = dir.path().join("chain/chains/bittensor_dev/paritydb");
	assert!(database.is_dir(), "no ParityDB database at {}", database.display());
}
