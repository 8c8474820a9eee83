//! The local network's processes: a development node, the hotkeys it registers and stakes, one
//! `neuron run` per member, and stopping them all. Kept apart from what the network earned
//! (`results.rs`), which reads the chain and the files these processes leave.

use std::{
	fs::File,
	path::Path,
	process::{Child, Command, Stdio},
	time::{Duration, Instant},
};

use bittensor_primitives::{json::address, TOKEN};
use sp_core::{crypto::AccountId32, sr25519, Pair};

use super::{
	error::LocalnetError,
	members::{neuron_name, LocalnetConfig, Member, COLDKEYS},
};
use crate::{
	chain::ChainClient,
	data::corpus::DocumentSplit,
	keys::wallet::{pair_from_secret, Wallet},
};

/// The wallet, under `<dir>/wallets`, that holds the neurons' hotkeys.
const WALLET: &str = "localnet";
/// TAO each dev account sends its neuron's hotkey, which pays its own transaction fees.
const FEE_ALLOWANCE_TAO: u64 = 100;
/// How long the node may take to answer on its RPC port.
const NODE_START_TIMEOUT: Duration = Duration::from_secs(120);
/// How often the node's RPC port is tried while it starts.
const CONNECT_RETRY: Duration = Duration::from_millis(500);
/// How long the neurons get after SIGINT to save their checkpoints and exit.
const NEURON_GRACE: Duration = Duration::from_secs(60);
/// How long the node gets after SIGINT to exit.
const NODE_GRACE: Duration = Duration::from_secs(30);

/// Fails unless at least one neuron learns and there is one dev account ([`COLDKEYS`]) per
/// neuron.
pub(super) fn check_neuron_count(learners: usize, adversaries: usize) -> Result<(), LocalnetError> {
	if learners >= 1 && learners + adversaries <= COLDKEYS.len() {
		Ok(())
	} else {
		Err(LocalnetError::NeuronCount { max: COLDKEYS.len() })
	}
}

/// Creates the `logs`, `wallets` and `checkpoints` directories under `dir`.
pub(super) fn create_directories(dir: &Path) -> Result<(), LocalnetError> {
	for name in ["logs", "wallets", "checkpoints"] {
		let path = dir.join(name);
		std::fs::create_dir_all(&path).map_err(LocalnetError::io(&path))?;
	}
	Ok(())
}

/// Writes the corpus split by document: the peers' copy and, apart, the validators' documents
/// ([`LocalnetConfig::peers_corpus`], [`LocalnetConfig::challenge_corpus`]), afresh.
pub(super) fn split_corpus(config: &LocalnetConfig) -> Result<(), LocalnetError> {
	let split = DocumentSplit::read(&config.corpus)?;
	for (dir, documents) in
		[(config.peers_corpus(), &split.peers), (config.challenge_corpus(), &split.challenges)]
	{
		if dir.exists() {
			std::fs::remove_dir_all(&dir).map_err(LocalnetError::io(&dir))?;
		}
		std::fs::create_dir_all(&dir).map_err(LocalnetError::io(&dir))?;
		for (index, (path, text)) in documents.iter().enumerate() {
			let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("txt");
			let file = dir.join(format!("{index:03}.{extension}"));
			std::fs::write(&file, text).map_err(LocalnetError::io(&file))?;
		}
	}
	Ok(())
}

/// Fails if `port` cannot be bound on the loopback interface (another node holds it).
pub(super) fn check_port_free(port: u16) -> Result<(), LocalnetError> {
	std::net::TcpListener::bind(("127.0.0.1", port))
		.map_err(|source| LocalnetError::PortTaken { port, source })?;
	Ok(())
}

/// A free TCP port on the loopback interface.
fn free_port() -> Result<u16, LocalnetError> {
	std::net::TcpListener::bind("127.0.0.1:0")
		.and_then(|listener| listener.local_addr())
		.map(|socket| socket.port())
		.map_err(LocalnetError::FreePort)
}

/// Creates (or truncates) the log file at `path`, opened twice: for a child's stdout and for
/// its stderr.
fn create_log(path: &Path) -> Result<(File, File), LocalnetError> {
	let stderr = File::create(path).map_err(LocalnetError::io(path))?;
	let stdout = stderr.try_clone().map_err(LocalnetError::io(path))?;
	Ok((stdout, stderr))
}

/// Starts a development node with a temporary database, RPC on the configured port and
/// peer-to-peer on a free one, logging to `logs/node.log`.
pub(super) fn start_node(config: &LocalnetConfig) -> Result<Child, LocalnetError> {
	let p2p_port = free_port()?;
	let log = config.dir.join("logs/node.log");
	println!("[localnet] starting {} (log {})", config.node_binary.display(), log.display());
	let (stdout, stderr) = create_log(&log)?;
	Command::new(&config.node_binary)
		.args(["--dev", "--tmp", "--no-prometheus", "--no-telemetry", "--no-mdns"])
		.args(["--rpc-port", &config.rpc_port.to_string(), "--port", &p2p_port.to_string()])
		.stdout(stdout)
		.stderr(stderr)
		.spawn()
		.map_err(|source| LocalnetError::Spawn { program: config.node_binary.clone(), source })
}

/// Connects to the node at `url`, retrying while it starts (for up to
/// [`NODE_START_TIMEOUT`]); fails at once if the node exits.
pub(super) async fn connect(url: &str, node: &mut Child) -> Result<ChainClient, LocalnetError> {
	let deadline = Instant::now() + NODE_START_TIMEOUT;
	loop {
		match ChainClient::connect(url).await {
			Ok(chain) => return Ok(chain),
			Err(error) if Instant::now() > deadline => return Err(error.into()),
			Err(_) => {},
		}
		if let Ok(Some(status)) = node.try_wait() {
			return Err(LocalnetError::NodeExited(status));
		}
		tokio::time::sleep(CONNECT_RETRY).await;
	}
}

/// Derives each neuron's hotkey from `//BitTensorLocalnet//<index>` and saves it in the
/// [`WALLET`] wallet (replacing an earlier run's); returns them, in neuron order.
pub(super) fn write_hotkeys(config: &LocalnetConfig) -> Result<Vec<sr25519::Pair>, LocalnetError> {
	let wallet = Wallet::new(&config.dir.join("wallets"), WALLET);
	let mut hotkeys = Vec::with_capacity(config.count());
	for index in 0..config.count() {
		let hotkey = pair_from_secret(&format!("//BitTensorLocalnet//{index}"))?;
		wallet.set_hotkey(&neuron_name(index), &hotkey, true)?;
		hotkeys.push(hotkey);
	}
	Ok(hotkeys)
}

/// Sets up every hotkey ([`set_up_hotkey`]), each paid by its own dev account, all at once
/// (one coldkey per hotkey, so their transactions never share a nonce); waits for all of them,
/// then fails with the first failure in neuron order.
pub(super) async fn set_up_hotkeys(
	chain: &ChainClient,
	hotkeys: &[sr25519::Pair],
	stake: u64,
) -> Result<(), LocalnetError> {
	let setups = hotkeys
		.iter()
		.zip(COLDKEYS)
		.map(|(hotkey, coldkey)| set_up_hotkey(chain, coldkey, hotkey, stake));
	for result in futures::future::join_all(setups).await {
		result?;
	}
	Ok(())
}

/// Registers `hotkey`, stakes `stake` TAO on it and sends it [`FEE_ALLOWANCE_TAO`] for its
/// fees, all paid by the dev account `coldkey` (a secret URI such as `//Alice`).
async fn set_up_hotkey(
	chain: &ChainClient,
	coldkey: &str,
	hotkey: &sr25519::Pair,
	stake: u64,
) -> Result<(), LocalnetError> {
	let coldkey = pair_from_secret(coldkey)?;
	chain.register(&coldkey, hotkey).await?;
	let account = AccountId32::from(hotkey.public());
	chain.add_stake(&coldkey, &account, stake * TOKEN).await?;
	chain.transfer(&coldkey, &account, FEE_ALLOWANCE_TAO * TOKEN).await?;
	Ok(())
}

/// The `neuron run` command of `member`: its hotkey, listening port, seed, corpus slice (the
/// learning neurons split the corpus between them) and checkpoint directory, then the extra
/// arguments, and `--serve MODE` for an adversary.
pub(super) fn neuron_command(
	config: &LocalnetConfig,
	url: &str,
	member: &Member,
	listen_port: u16,
) -> Command {
	let learners = config.neurons.max(1);
	let mut command = Command::new(&config.neuron_binary);
	command
		.arg("--wallets")
		.arg(config.dir.join("wallets"))
		.args(["run", "--url", url, "--wallet", WALLET, "--hotkey", &member.name])
		.args(["--listen", &format!("127.0.0.1:{listen_port}")])
		.args(["--seed", &config.neuron_seed(member.index).to_string()])
		.arg("--corpus")
		.arg(config.peers_corpus())
		.args(["--slice", &format!("{}/{learners}", member.index % learners)])
		.arg("--checkpoint-dir")
		.arg(&member.checkpoint)
		.args(&config.neuron_args)
		.env("RAYON_NUM_THREADS", "1");
	if member.serving.is_honest() {
		command.arg("--challenge-corpus").arg(config.challenge_corpus());
	} else {
		command.args(["--serve", &member.serving.to_string()]);
	}
	command
}

/// Starts `member`'s neuron on a free port, logging to its log file, and says so.
pub(super) fn spawn_neuron(
	config: &LocalnetConfig,
	url: &str,
	member: &Member,
) -> Result<Child, LocalnetError> {
	let listen_port = free_port()?;
	let (stdout, stderr) = create_log(&member.log)?;
	let process = neuron_command(config, url, member, listen_port)
		.stdin(Stdio::null())
		.stdout(stdout)
		.stderr(stderr)
		.spawn()
		.map_err(|source| LocalnetError::Spawn { program: config.neuron_binary.clone(), source })?;
	println!("[localnet] {} {} serves {}", member.name, address(&member.hotkey), member.serving);
	Ok(process)
}

/// Fails, naming the neuron and its log, if one of the neurons' processes has exited.
pub(super) fn check_running(
	members: &[Member],
	processes: &mut [Child],
) -> Result<(), LocalnetError> {
	for (member, process) in members.iter().zip(processes.iter_mut()) {
		if let Ok(Some(status)) = process.try_wait() {
			return Err(LocalnetError::NeuronExited {
				name: member.name.clone(),
				status,
				log: member.log.clone(),
			});
		}
	}
	Ok(())
}

/// Stops the neurons (giving them [`NEURON_GRACE`] to checkpoint), then the node.
pub(super) fn stop_network(neurons: &mut [Child], node: &mut Child) {
	println!("[localnet] stopping {} neurons and the node", neurons.len());
	stop(&mut neurons.iter_mut().collect::<Vec<_>>(), NEURON_GRACE);
	stop(&mut [node], NODE_GRACE);
}

/// Sends SIGINT to every child, waits up to `grace` for all of them, then kills the rest.
fn stop(children: &mut [&mut Child], grace: Duration) {
	for child in children.iter() {
		if let Ok(pid) = i32::try_from(child.id()) {
			// SAFETY: kill(2) on a pid this process spawned, with a valid signal; no memory
			// effects.
			unsafe {
				libc::kill(pid, libc::SIGINT);
			}
		}
	}
	let deadline = Instant::now() + grace;
	for child in children.iter_mut() {
		while Instant::now() < deadline && !matches!(child.try_wait(), Ok(Some(_))) {
			std::thread::sleep(Duration::from_millis(100));
		}
		let _ = child.kill();
		let _ = child.wait();
	}
}
