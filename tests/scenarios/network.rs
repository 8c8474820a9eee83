//! The network benchmark, as `scripts/test.sh` runs it: `neuron bench-network` in a short
//! configuration (four neurons on four domains, 40 steps; the corpora `scripts/setup.sh`
//! installs, found through `$BITTENSOR_CORPORA`) must meet every threshold (the
//! network-joined model and the student above the solo twins, at equal steps and at equal CPU,
//! the gap to the centralised model half closed, each gain's 95 % interval above zero, the
//! student not measurably worse than the twin on its own domain, serving
//! a bounded share of a neuron's CPU) and write its report and chart.

use std::{process::Command, time::Instant};

use serde_json::Value;

#[test]
fn neurons_on_different_domains_learn_more_together_than_alone() {
	let dir = tempfile::tempdir().expect("a temporary directory");
	let started = Instant::now();
	let output = Command::new(bittensor_e2e::neuron_binary())
		.args(["bench-network", "--steps", SHORT_STEPS, "--eval-batches", "8"])
		.arg("--out")
		.arg(dir.path())
		.output()
		.expect("run neuron bench-network");
	let stdout = String::from_utf8_lossy(&output.stdout);
	println!("{:.0} s\n{stdout}", started.elapsed().as_secs_f64());
	assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
	let report: Value = serde_json::from_slice(
		&std::fs::read(dir.path().join("network.json")).expect("network.json"),
	)
	.expect("JSON");
	let neurons = report["neurons"].as_array().expect("neurons");
	assert_eq!(neurons.len(), 4, "{report}");
	let checks = report["checks"].as_array().expect("checks");
	assert_eq!(checks.len(), 4 * 7 + 1, "seven thresholds per neuron and the wall time: {report}");
	assert!(checks.iter().all(|check| check["passed"] == true), "{report}");
	for neuron in neurons {
		let cpu = &neuron["cpu"];
		assert!(cpu["serving"].as_f64() > Some(0.0) && cpu["joining"].as_f64() > Some(0.0));
		// A twin at equal CPU takes more steps than its networked neuron did.
		assert!(neuron["twin_steps_at_cpu"].as_u64() > report["steps"].as_u64(), "{neuron}");
	}
	let svg = std::fs::read_to_string(dir.path().join("held-out.svg")).expect("the chart");
	assert_eq!(svg.matches("<polyline").count(), 5, "network, student, local, twin, centralised");
}

/// Steps of the short configuration.
const SHORT_STEPS: &str = "40";
