//! `--chain local` with Alice and Bob as two processes on one machine: both author, and
//! GRANDPA finalizes with the two of them voting.

use std::time::Duration;

use bittensor_e2e::node::NodeProcess;

#[test]
fn alice_and_bob_finalize_the_local_testnet() {
	let dir = tempfile::tempdir().expect("temp dir");
	// Validators on a non-dev chain must be given their network key.
	let alice_key = format!("{:064x}", 1);
	let bob_key = format!("{:064x}", 2);
	let mut alice = NodeProcess::start(
		"alice",
		dir.path(),
		&["--chain", "local", "--alice", "--tmp", "--node-key", &alice_key],
	);
	let alice_address = alice.multiaddr();
	let mut bob = NodeProcess::start(
		"bob",
		dir.path(),
		&[
			"--chain",
			"local",
			"--bob",
			"--tmp",
			"--node-key",
			&bob_key,
			"--bootnodes",
			&alice_address,
		],
	);

	// Finality needs both validators' votes (2 of 2 is over two thirds).
	let finalized = bob.wait_for_finalized(3, Duration::from_secs(180));
	assert!(finalized >= 3);
	alice.wait_for_finalized(3, Duration::from_secs(60));

	let peers = alice.rpc("system_health", serde_json::json!([])).expect("system_health")["peers"]
		.as_u64()
		.unwrap_or(0);
	assert_eq!(peers, 1, "alice should see bob");
}
