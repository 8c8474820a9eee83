//! The incentive pallet on a real `--dev` node (10-block tempo): peers registered, staked and
//! served through @polkadot/api set weights, and the epoch's emission goes where they point.

mod common;

use std::time::Duration;

use common::{run_e2e_script, NodeProcess};

#[test]
fn dev_node_epoch_pays_where_the_weights_point() {
	let dir = tempfile::tempdir().expect("temp dir");
	let mut node = NodeProcess::start("dev", dir.path(), &["--dev", "--tmp"]);
	node.wait_for_best(1, Duration::from_secs(120));
	let stdout = run_e2e_script("epoch.mjs", &node);
	assert!(stdout.contains("epoch ok"), "unexpected output:\n{stdout}");
}
