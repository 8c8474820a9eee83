//! The roster and the neurons' commands, and the fixtures that `results.rs`'s tests share:
//! a network of two honest neurons and one serving noise.

use bittensor_primitives::{
	json::{EpochJson, HyperparametersJson, MetagraphJson, NeuronJson},
	metagraph::Hyperparameters,
	BlockNumber, TOKEN,
};
use sp_core::crypto::AccountId32;

use super::{
	members::{roster, LocalnetConfig, Member},
	processes::{check_neuron_count, neuron_command, split_corpus},
};
use crate::nucleus::serving::{Disguise, Serving};

/// Two honest neurons and one serving noise, whose logs do not exist (the table shows no
/// last output).
fn config() -> LocalnetConfig {
	LocalnetConfig {
		node_binary: "bittensor-node".into(),
		neuron_binary: "neuron".into(),
		dir: "localnet-test-dir-that-does-not-exist".into(),
		neurons: 2,
		adversaries: vec![Serving::Noise],
		seed: 0,
		corpus: "corpus".into(),
		duration: None,
		stake: 10,
		neuron_args: vec!["--top-k".into(), "2".into()],
		rpc_port: 9944,
	}
}

/// The members of [`config`]'s network.
pub(super) fn members() -> Vec<Member> {
	roster(&config(), hotkeys(), &metagraph(0, Vec::new()))
}

/// Three hotkeys.
fn hotkeys() -> Vec<AccountId32> {
	(0..3u8).map(|byte| AccountId32::new([byte; 32])).collect()
}

/// `member` registered at `uid` with 10 TAO of stake, emitting `emission` rao an epoch.
pub(super) fn peer(member: &Member, uid: u16, emission: u64) -> NeuronJson {
	NeuronJson {
		stake: (10 * TOKEN).to_string(),
		emission: emission.to_string(),
		weights: vec![(uid, 65535)],
		..NeuronJson::newly_registered(uid, &member.hotkey, &member.hotkey)
	}
}

/// A metagraph whose last epoch ran at block `epoch`, with `peers`.
pub(super) fn metagraph(epoch: BlockNumber, peers: Vec<NeuronJson>) -> MetagraphJson {
	MetagraphJson {
		block: epoch + 1,
		hyperparameters: HyperparametersJson::from(Hyperparameters::default()),
		min_allowed_weights: 1,
		total_stake: "0".into(),
		last_epoch: EpochJson { block: epoch, loss: 0.0, minted: "0".into() },
		neurons: peers,
	}
}

/// The value after `--slice` in a command's arguments.
fn slice(args: &[String]) -> &str {
	let at = args.iter().position(|arg| arg == "--slice").expect("--slice");
	&args[at + 1]
}

#[test]
fn the_neuron_count_fits_the_dev_accounts() {
	assert!(check_neuron_count(1, 1).is_ok());
	assert!(check_neuron_count(1, 0).is_ok());
	assert!(check_neuron_count(4, 2).is_ok());
	for (learners, adversaries) in [(0, 2), (5, 2), (7, 0)] {
		let error = check_neuron_count(learners, adversaries).expect_err("refused");
		assert_eq!(
			error.to_string(),
			"at least one neuron must learn, and --neurons and --adversaries together at most 6"
		);
	}
}

#[test]
fn an_echo_copies_the_neuron_it_names_at_its_uid() {
	let config = LocalnetConfig {
		adversaries: vec![Serving::Echo { uid: 1, disguise: Disguise::Rotated }],
		..config()
	};
	let hotkeys = hotkeys();
	let copied = NeuronJson::newly_registered(7, &hotkeys[1], &hotkeys[1]);
	let members = roster(&config, hotkeys, &metagraph(0, vec![copied]));
	assert_eq!(members[2].serving, Serving::Echo { uid: 7, disguise: Disguise::Rotated });
	let args: Vec<String> = neuron_command(&config, "ws://x", &members[2], 4000)
		.get_args()
		.map(|arg| arg.to_string_lossy().into_owned())
		.collect();
	assert_eq!(args[args.len() - 2..], ["--serve", "echo:7:rotated"]);
}

#[test]
fn the_adversaries_follow_the_honest_neurons_which_split_the_corpus() {
	let config = config();
	let members = members();
	let names: Vec<&str> = members.iter().map(|member| member.name.as_str()).collect();
	assert_eq!(names, ["n0", "n1", "n2"]);
	let servings: Vec<Serving> = members.iter().map(|member| member.serving).collect();
	assert_eq!(servings, [Serving::Model, Serving::Model, Serving::Noise]);
	assert_eq!(members[1].log, config.dir.join("logs/n1.log"));
	assert_eq!(members[1].checkpoint, config.dir.join("checkpoints/n1"));

	let args = |member: &Member| -> Vec<String> {
		neuron_command(&config, "ws://127.0.0.1:9944", member, 4000)
			.get_args()
			.map(|arg| arg.to_string_lossy().into_owned())
			.collect()
	};
	let (first, second, noise) = (args(&members[0]), args(&members[1]), args(&members[2]));
	assert_eq!([slice(&first), slice(&second), slice(&noise)], ["0/2", "1/2", "0/2"]);
	assert!(first.windows(2).any(|pair| pair == ["--hotkey", "n0"]));
	assert!(first.windows(2).any(|pair| pair == ["--listen", "127.0.0.1:4000"]));
	assert!(!first.iter().any(|arg| arg == "--serve"));
	assert_eq!(noise[noise.len() - 4..], ["--top-k", "2", "--serve", "noise"]);
	// Every neuron learns from the peers' copy; only the honest ones read the validators' text.
	let peers = config.peers_corpus().to_string_lossy().into_owned();
	let challenges = config.challenge_corpus().to_string_lossy().into_owned();
	for args in [&first, &second, &noise] {
		assert!(args.windows(2).any(|pair| pair == ["--corpus", peers.as_str()]));
	}
	assert!(first.windows(2).any(|pair| pair == ["--challenge-corpus", challenges.as_str()]));
	assert!(!noise.iter().any(|arg| arg == "--challenge-corpus"));
}

#[test]
fn each_network_seed_gives_every_neuron_a_seed_of_its_own() {
	let seed_of = |config: &LocalnetConfig, member: &Member| -> String {
		let args: Vec<String> = neuron_command(config, "ws://x", member, 4000)
			.get_args()
			.map(|arg| arg.to_string_lossy().into_owned())
			.collect();
		let at = args.iter().position(|arg| arg == "--seed").expect("--seed");
		args[at + 1].clone()
	};
	let members = members();
	let first = config();
	let seeds: Vec<String> = members.iter().map(|member| seed_of(&first, member)).collect();
	assert_eq!(seeds, ["0", "1", "2"], "seed 0 runs neuron i with seed i");
	let third = LocalnetConfig { seed: 3, ..config() };
	let seeds: Vec<String> = members.iter().map(|member| seed_of(&third, member)).collect();
	assert_eq!(seeds, ["3000", "3001", "3002"]);
}

#[test]
fn the_corpus_is_split_into_the_peers_copy_and_the_validators_documents() {
	use crate::data::corpus::{read_documents, CHALLENGE_EVERY, MIN_FILE_BYTES};
	let (source, out) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
	for i in 0..2 * CHALLENGE_EVERY {
		let text = vec![b'a' + i as u8; MIN_FILE_BYTES];
		std::fs::write(source.path().join(format!("play{i:02}.md")), text).unwrap();
	}
	let config =
		LocalnetConfig { corpus: source.path().into(), dir: out.path().into(), ..config() };
	// Twice: a second network in the same directory starts from a fresh split.
	for _ in 0..2 {
		split_corpus(&config).unwrap();
		let peers = read_documents(&config.peers_corpus()).unwrap();
		let validators = read_documents(&config.challenge_corpus()).unwrap();
		assert_eq!((peers.len(), validators.len()), (2 * CHALLENGE_EVERY - 2, 2));
		let seen: Vec<u8> = peers.iter().map(|(_, text)| text[0]).collect();
		assert!(validators.iter().all(|(_, text)| !seen.contains(&text[0])));
	}
	let missing = LocalnetConfig { corpus: out.path().join("none"), ..config };
	assert!(matches!(split_corpus(&missing), Err(super::LocalnetError::Corpus(_))));
}
