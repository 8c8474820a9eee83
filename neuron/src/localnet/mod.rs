//! `neuron localnet`: a whole network on one machine. It starts a development node, registers
//! and stakes a hotkey per neuron (each paid by one of the dev accounts), starts the neurons
//! (`neuron run`: honest learners, then the adversaries asked for, such as noise or a leaker),
//! shows a live metagraph table, and on Ctrl-C (or after `--duration`) stops everything and
//! writes the emission over time as an SVG chart, a CSV file and a JSON summary.
//!
//! [`run`] reads as that list of steps, one function each, so that a failure names its step
//! ([`LocalnetError`]) and the children are stopped whichever step fails. The parts that touch
//! no process or file (the emission count, the table, the chart lines, the CSV and the summary)
//! are plain functions, unit-tested here; the whole network is tested end to end by
//! `tests/scenarios/localnet.rs`.

use std::{
	collections::BTreeMap,
	fs::File,
	io::{BufRead, IsTerminal},
	path::{Path, PathBuf},
	process::{Child, Command, Stdio},
	time::{Duration, Instant},
};

use bittensor_primitives::{
	json::{address, MetagraphJson},
	BlockNumber, TOKEN,
};
use serde::Serialize;
use sp_core::{crypto::AccountId32, sr25519, Pair};

use crate::{
	chain::ChainClient,
	keys::wallet::{pair_from_secret, Wallet},
	nucleus::served::Serving,
	scoring::Ledger,
};

mod error;
pub mod plot;

pub use error::LocalnetError;
use plot::{line_chart, Series};

/// Dev accounts that pay for the neurons' registration, stake and fees, one per neuron.
pub const COLDKEYS: [&str; 6] = ["//Alice", "//Bob", "//Charlie", "//Dave", "//Eve", "//Ferdie"];

/// The wallet, under `<dir>/wallets`, that holds the neurons' hotkeys.
const WALLET: &str = "localnet";
/// TAO each dev account sends its neuron's hotkey, which pays its own transaction fees.
const FEE_ALLOWANCE_TAO: u64 = 100;
/// How long the node may take to answer on its RPC port.
const NODE_START_TIMEOUT: Duration = Duration::from_secs(120);
/// How often the node's RPC port is tried while it starts.
const CONNECT_RETRY: Duration = Duration::from_millis(500);
/// How often the metagraph is read (and the table redrawn on a terminal).
const REFRESH: Duration = Duration::from_secs(3);
/// How often the table is printed when stdout is not a terminal (a log, not a screen).
const PRINT_TABLE_EVERY: Duration = Duration::from_secs(30);
/// How long the neurons get after SIGINT to save their checkpoints and exit.
const NEURON_GRACE: Duration = Duration::from_secs(60);
/// How long the node gets after SIGINT to exit.
const NODE_GRACE: Duration = Duration::from_secs(30);
/// The most bytes of a neuron's last output the table shows.
const LAST_OUTPUT_WIDTH: usize = 110;

/// How to run a local network.
#[derive(Debug, Clone)]
pub struct LocalnetConfig {
	/// The `bittensor-node` binary.
	pub node_binary: PathBuf,
	/// The `neuron` binary.
	pub neuron_binary: PathBuf,
	/// Where logs, wallets, checkpoints and the results go.
	pub dir: PathBuf,
	/// Honest neurons, which learn (at least one).
	pub neurons: usize,
	/// Neurons that play an adversary (`neuron run --serve MODE`), after the honest ones; an
	/// echo's uid names the neuron it copies by position (`echo:0` copies `n0`). Together with
	/// the honest ones, at most one per dev account.
	pub adversaries: Vec<Serving>,
	/// The corpus directory the neurons learn from.
	pub corpus: PathBuf,
	/// Stop after this long (Ctrl-C stops earlier).
	pub duration: Option<Duration>,
	/// Stake of each neuron, in TAO.
	pub stake: u64,
	/// Extra arguments for every `neuron run`.
	pub neuron_args: Vec<String>,
	/// The node's RPC port.
	pub rpc_port: u16,
}

/// One neuron of the network: who it is and where it logs (its process is kept apart).
#[derive(Debug)]
struct Member {
	/// Its position, from 0: its seed and its corpus slice.
	index: usize,
	/// `n<index>`: its hotkey's name in the wallet and its name in the table and the results.
	name: String,
	/// Its hotkey's account.
	hotkey: AccountId32,
	/// How it serves: `model` when honest, else the adversary it plays.
	serving: Serving,
	/// Its log file.
	log: PathBuf,
}

/// Runs the local network until Ctrl-C or the configured duration; returns the path of the
/// summary.
pub async fn run(config: LocalnetConfig) -> Result<PathBuf, LocalnetError> {
	check_neuron_count(config.neurons, config.adversaries.len())?;
	create_directories(&config.dir)?;
	check_port_free(config.rpc_port)?;
	let mut node = start_node(&config)?;
	let url = format!("ws://127.0.0.1:{}", config.rpc_port);
	let mut processes = Vec::new();
	let result = run_network(&config, &url, &mut node, &mut processes).await;
	println!("[localnet] stopping {} neurons and the node", processes.len());
	stop(&mut processes.iter_mut().collect::<Vec<_>>(), NEURON_GRACE);
	stop(&mut [&mut node], NODE_GRACE);
	// After the neurons stopped: their last checkpoints say whom they flag.
	let (metagraph, members, emission) = result?;
	let flags = flagged_by(&config.dir, &members);
	print!("{}", table(&metagraph, &members, &emission, &flags));
	write_results(&config, &metagraph, &members, &emission, &flags)
}

/// Everything between starting the node and stopping the children: connects, sets up and
/// starts the neurons (adding each process to `processes` as it starts, for [`run`] to stop)
/// and watches the network; returns the last metagraph, the members and their emission.
async fn run_network(
	config: &LocalnetConfig,
	url: &str,
	node: &mut Child,
	processes: &mut Vec<Child>,
) -> Result<(MetagraphJson, Vec<Member>, Emission), LocalnetError> {
	let chain = connect(url, node).await?;
	let count = config.neurons + config.adversaries.len();
	println!("[localnet] node up at {url}; registering {count} neurons");
	let hotkeys = write_hotkeys(config)?;
	set_up_hotkeys(&chain, &hotkeys, config.stake).await?;
	let accounts = hotkeys.iter().map(|hotkey| AccountId32::from(hotkey.public())).collect();
	let members = roster(config, accounts, &chain.metagraph_light().await?);
	for member in &members {
		processes.push(spawn_neuron(config, url, member)?);
	}
	let (metagraph, emission) = watch(config, &chain, &members, processes).await?;
	Ok((metagraph, members, emission))
}

/// Fails unless at least one neuron learns and there is one dev account ([`COLDKEYS`]) per
/// neuron.
fn check_neuron_count(learners: usize, adversaries: usize) -> Result<(), LocalnetError> {
	if learners >= 1 && learners + adversaries <= COLDKEYS.len() {
		Ok(())
	} else {
		Err(LocalnetError::NeuronCount { max: COLDKEYS.len() })
	}
}

/// Creates the `logs`, `wallets` and `checkpoints` directories under `dir`.
fn create_directories(dir: &Path) -> Result<(), LocalnetError> {
	for name in ["logs", "wallets", "checkpoints"] {
		let path = dir.join(name);
		std::fs::create_dir_all(&path).map_err(LocalnetError::io(&path))?;
	}
	Ok(())
}

/// Fails if `port` cannot be bound on the loopback interface (another node holds it).
fn check_port_free(port: u16) -> Result<(), LocalnetError> {
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
fn start_node(config: &LocalnetConfig) -> Result<Child, LocalnetError> {
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
async fn connect(url: &str, node: &mut Child) -> Result<ChainClient, LocalnetError> {
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

/// `n<index>`: a neuron's name, and its hotkey's name in the wallet.
fn neuron_name(index: usize) -> String {
	format!("n{index}")
}

/// Derives each neuron's hotkey from `//BitTensorLocalnet//<index>` and saves it in the
/// [`WALLET`] wallet (replacing an earlier run's); returns them, in neuron order.
fn write_hotkeys(config: &LocalnetConfig) -> Result<Vec<sr25519::Pair>, LocalnetError> {
	let wallet = Wallet::new(&config.dir.join("wallets"), WALLET);
	let count = config.neurons + config.adversaries.len();
	let mut hotkeys = Vec::with_capacity(count);
	for index in 0..count {
		let hotkey = pair_from_secret(&format!("//BitTensorLocalnet//{index}"))?;
		wallet.set_hotkey(&neuron_name(index), &hotkey, true)?;
		hotkeys.push(hotkey);
	}
	Ok(hotkeys)
}

/// Sets up every hotkey ([`set_up_hotkey`]), each paid by its own dev account, all at once
/// (one coldkey per hotkey, so their transactions never share a nonce); waits for all of them,
/// then fails with the first failure in neuron order.
async fn set_up_hotkeys(
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

/// The network's neurons, one per hotkey, in order: the honest ones, then the adversaries,
/// an echo's target turned from a position into the uid `metagraph` gives that neuron.
fn roster(
	config: &LocalnetConfig,
	hotkeys: Vec<AccountId32>,
	metagraph: &MetagraphJson,
) -> Vec<Member> {
	let uid_of = |index: u16| {
		hotkeys
			.get(usize::from(index))
			.and_then(|hotkey| metagraph.neuron_by_hotkey(hotkey))
			.map_or(index, |neuron| neuron.uid)
	};
	let servings: Vec<Serving> = std::iter::repeat_n(Serving::Model, config.neurons)
		.chain(config.adversaries.iter().map(|serving| match *serving {
			Serving::Echo { uid, disguise } => Serving::Echo { uid: uid_of(uid), disguise },
			other => other,
		}))
		.collect();
	hotkeys
		.into_iter()
		.zip(servings)
		.enumerate()
		.map(|(index, (hotkey, serving))| {
			let name = neuron_name(index);
			Member {
				index,
				log: config.dir.join(format!("logs/{name}.log")),
				name,
				hotkey,
				serving,
			}
		})
		.collect()
}

/// The `neuron run` command of `member`: its hotkey, listening port, seed, corpus slice (the
/// learning neurons split the corpus between them) and checkpoint directory, then the extra
/// arguments, and `--serve MODE` for an adversary.
fn neuron_command(
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
		.args(["--seed", &member.index.to_string()])
		.arg("--corpus")
		.arg(&config.corpus)
		.args(["--slice", &format!("{}/{learners}", member.index % learners)])
		.arg("--checkpoint-dir")
		.arg(config.dir.join("checkpoints").join(&member.name))
		.args(&config.neuron_args)
		.env("RAYON_NUM_THREADS", "1");
	if !member.serving.is_honest() {
		command.args(["--serve", &member.serving.to_string()]);
	}
	command
}

/// Starts `member`'s neuron on a free port, logging to its log file, and says so.
fn spawn_neuron(
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

/// Reads the metagraph every [`REFRESH`], counting each epoch's emission and showing the table
/// (redrawn on a terminal, every [`PRINT_TABLE_EVERY`] otherwise), until the configured
/// duration ends or Ctrl-C; fails if a neuron exits. Returns the last metagraph read and the
/// emission counted.
async fn watch(
	config: &LocalnetConfig,
	chain: &ChainClient,
	members: &[Member],
	processes: &mut [Child],
) -> Result<(MetagraphJson, Emission), LocalnetError> {
	let started = Instant::now();
	let tty = std::io::stdout().is_terminal();
	let mut emission = Emission::default();
	let mut last_print = Instant::now();
	let mut metagraph = chain.metagraph().await?;
	// One listener for the whole run, so a signal that arrives during a metagraph read counts.
	let mut interrupted = std::pin::pin!(tokio::signal::ctrl_c());
	loop {
		tokio::select! {
			_ = &mut interrupted => break,
			_ = tokio::time::sleep(REFRESH) => {},
		}
		if config.duration.is_some_and(|duration| started.elapsed() >= duration) {
			break;
		}
		check_running(members, processes)?;
		match chain.metagraph().await {
			Ok(latest) => metagraph = latest,
			Err(error) => {
				eprintln!("[localnet] metagraph: {error}");
				continue;
			},
		}
		emission.record(&metagraph, members);
		let flags = flagged_by(&config.dir, members);
		if tty {
			print!("\x1b[2J\x1b[H{}", table(&metagraph, members, &emission, &flags));
		} else if last_print.elapsed() >= PRINT_TABLE_EVERY {
			print!("{}", table(&metagraph, members, &emission, &flags));
			last_print = Instant::now();
		}
	}
	Ok((metagraph, emission))
}

/// Fails, naming the neuron and its log, if one of the neurons' processes has exited.
fn check_running(members: &[Member], processes: &mut [Child]) -> Result<(), LocalnetError> {
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

/// The emission of each neuron, counted epoch by epoch while the network runs.
#[derive(Debug, Default)]
struct Emission {
	/// TAO earned so far, by neuron name.
	totals: BTreeMap<String, f64>,
	/// (epoch block, TAO earned by then), one point per epoch counted, by neuron name.
	series: BTreeMap<String, Vec<(f64, f64)>>,
	/// The block of the last epoch counted.
	last_epoch: Option<BlockNumber>,
}

impl Emission {
	/// Adds what the metagraph's last epoch emitted to each registered member, once per epoch
	/// (a metagraph read twice within an epoch, or before the first one, adds nothing).
	fn record(&mut self, metagraph: &MetagraphJson, members: &[Member]) {
		let epoch = metagraph.last_epoch.block;
		if epoch == 0 || self.last_epoch == Some(epoch) {
			return;
		}
		self.last_epoch = Some(epoch);
		for member in members {
			let Some(peer) = metagraph.neuron_by_hotkey(&member.hotkey) else { continue };
			let total = self.totals.entry(member.name.clone()).or_insert(0.0);
			*total += tao(&peer.emission);
			self.series
				.entry(member.name.clone())
				.or_default()
				.push((f64::from(epoch), *total));
		}
	}

	/// TAO the neuron `name` earned so far.
	fn total(&self, name: &str) -> f64 {
		self.totals.get(name).copied().unwrap_or(0.0)
	}

	/// The neuron `name`'s (epoch block, TAO earned by then) points.
	fn points(&self, name: &str) -> Vec<(f64, f64)> {
		self.series.get(name).cloned().unwrap_or_default()
	}
}

/// A rao amount as the metagraph writes it (a decimal string), in TAO; 0 if unreadable.
fn tao(rao: &str) -> f64 {
	rao.parse::<u64>().unwrap_or(0) as f64 / TOKEN as f64
}

/// The last non-empty line of a log file.
fn last_line(path: &Path) -> String {
	let Ok(file) = File::open(path) else { return String::new() };
	std::io::BufReader::new(file)
		.lines()
		.map_while(Result::ok)
		.filter(|l| !l.trim().is_empty())
		.last()
		.unwrap_or_default()
}

/// `line` cut to at most `max` bytes, at a character boundary.
fn truncated(mut line: String, max: usize) -> String {
	let end = (0..=max.min(line.len())).rev().find(|i| line.is_char_boundary(*i)).unwrap_or(0);
	line.truncate(end);
	line
}

/// The live table: uid, name, what it serves, stake, rank, incentive, dividends, emission so
/// far, how many neurons flag it (`flags`, by uid) and what it last printed. Members not
/// registered yet are left out.
fn table(
	metagraph: &MetagraphJson,
	members: &[Member],
	emission: &Emission,
	flags: &BTreeMap<u16, usize>,
) -> String {
	let mut out = format!(
		"block {}  last epoch {}  peers {}\n{:>4}  {:<6} {:<10} {:>10} {:>7} {:>9} {:>9} {:>13} {:>7}  {}\n",
		metagraph.block,
		metagraph.last_epoch.block,
		metagraph.neurons.len(),
		"uid",
		"neuron",
		"serves",
		"stake",
		"rank",
		"incentive",
		"dividends",
		"emitted (TAO)",
		"flagged",
		"last output"
	);
	for member in members {
		let Some(peer) = metagraph.neuron_by_hotkey(&member.hotkey) else { continue };
		out.push_str(&format!(
			"{:>4}  {:<6} {:<10} {:>10.3} {:>7.4} {:>9.4} {:>9.4} {:>13.3} {:>7}  {}\n",
			peer.uid,
			member.name,
			member.serving.to_string(),
			tao(&peer.stake),
			peer.rank,
			peer.incentive,
			peer.dividends,
			emission.total(&member.name),
			flags.get(&peer.uid).copied().unwrap_or(0),
			truncated(last_line(&member.log), LAST_OUTPUT_WIDTH)
		));
	}
	out
}

/// A member's label in the chart and the results: its name, and the adversary it plays.
fn label(member: &Member) -> String {
	if member.serving.is_honest() {
		member.name.clone()
	} else {
		format!("{} ({})", member.name, member.serving)
	}
}

/// One chart line per member: its cumulative emission at each epoch, adversaries labelled.
fn emission_series(members: &[Member], emission: &Emission) -> Vec<Series> {
	members
		.iter()
		.map(|member| Series { name: label(member), points: emission.points(&member.name) })
		.collect()
}

/// By uid, how many neurons flag it (their ledgers as last checkpointed under
/// `<dir>/checkpoints/<name>/state.json`; a neuron with no checkpoint yet flags nobody).
fn flagged_by(dir: &Path, members: &[Member]) -> BTreeMap<u16, usize> {
	let mut counts = BTreeMap::new();
	for member in members {
		let state = dir.join("checkpoints").join(&member.name).join("state.json");
		let Ok(text) = std::fs::read(&state) else { continue };
		let Ok(state) = serde_json::from_slice::<serde_json::Value>(&text) else { continue };
		let Ok(ledger) = serde_json::from_value::<Ledger>(state["ledger"].clone()) else {
			continue;
		};
		for uid in ledger.peers.iter().filter(|(_, record)| record.flagged).map(|(uid, _)| uid) {
			*counts.entry(*uid).or_insert(0) += 1;
		}
	}
	counts
}

/// `neuron,block,cumulative_emission_tao` rows, one per point of each line.
fn emission_csv(lines: &[Series]) -> String {
	let mut csv = String::from("neuron,block,cumulative_emission_tao\n");
	for line in lines {
		for (block, total) in &line.points {
			csv.push_str(&format!("{},{block},{total}\n", line.name));
		}
	}
	csv
}

/// `summary.json`: each member's name, uid, what it serves, its incentive and dividends in the
/// last epoch, the TAO it earned, how many neurons flag it, and its weights on chain.
fn summary_json(
	metagraph: &MetagraphJson,
	members: &[Member],
	emission: &Emission,
	flags: &BTreeMap<u16, usize>,
) -> serde_json::Value {
	let neurons: Vec<serde_json::Value> = members
		.iter()
		.map(|member| {
			let peer = metagraph.neuron_by_hotkey(&member.hotkey);
			serde_json::json!({
				"name": member.name,
				"uid": peer.map(|p| p.uid),
				"serves": member.serving.to_string(),
				"incentive": peer.map_or(0.0, |p| p.incentive),
				"dividends": peer.map_or(0.0, |p| p.dividends),
				"emission_tao": emission.total(&member.name),
				"flagged_by": peer.and_then(|p| flags.get(&p.uid)).copied().unwrap_or(0),
				"weights": peer.map(|p| p.weights.clone()).unwrap_or_default(),
			})
		})
		.collect();
	serde_json::json!({ "neurons": neurons })
}

/// Whether every adversary earned less than every honest neuron, as a sentence; `None` without
/// an adversary or an honest neuron.
fn adversary_verdict(members: &[Member], emission: &Emission) -> Option<String> {
	let earned = |honest: bool| -> Vec<(&Member, f64)> {
		members
			.iter()
			.filter(|member| member.serving.is_honest() == honest)
			.map(|member| (member, emission.total(&member.name)))
			.collect()
	};
	let (honest, adversaries) = (earned(true), earned(false));
	let least = honest.iter().map(|(_, tao)| *tao).reduce(f64::min)?;
	let (richest, most) = adversaries.into_iter().max_by(|a, b| a.1.total_cmp(&b.1))?;
	let outcome = if most < least { "earned less" } else { "did NOT earn less" };
	Some(format!(
		"every adversary {outcome} than every honest neuron: the best paid, {}, {most:.3} TAO \
		 against at least {least:.3} TAO for the honest ones",
		label(richest)
	))
}

/// Writes `text` to the file `name` in `dir`; returns its path.
fn write_file(dir: &Path, name: &str, text: &str) -> Result<PathBuf, LocalnetError> {
	let path = dir.join(name);
	std::fs::write(&path, text).map_err(LocalnetError::io(&path))?;
	Ok(path)
}

/// Writes `value` as pretty JSON to the file `name` in `dir`; returns its path.
fn write_json(dir: &Path, name: &str, value: &impl Serialize) -> Result<PathBuf, LocalnetError> {
	let text = serde_json::to_string_pretty(value)
		.map_err(|source| LocalnetError::Json { path: dir.join(name), source })?;
	write_file(dir, name, &text)
}

/// Writes `emission.svg`, `emission.csv`, `metagraph.json` and `summary.json`, says whether the
/// adversaries earned less than the honest neurons and where the chart and summary are; returns
/// the summary's path.
fn write_results(
	config: &LocalnetConfig,
	metagraph: &MetagraphJson,
	members: &[Member],
	emission: &Emission,
	flags: &BTreeMap<u16, usize>,
) -> Result<PathBuf, LocalnetError> {
	let lines = emission_series(members, emission);
	let chart = write_file(
		&config.dir,
		"emission.svg",
		&line_chart("Emission over time", "block", "TAO emitted (cumulative)", &lines),
	)?;
	write_file(&config.dir, "emission.csv", &emission_csv(&lines))?;
	write_json(&config.dir, "metagraph.json", metagraph)?;
	let summary = write_json(
		&config.dir,
		"summary.json",
		&summary_json(metagraph, members, emission, flags),
	)?;
	if let Some(verdict) = adversary_verdict(members, emission) {
		println!("[localnet] {verdict}");
	}
	println!("[localnet] emission chart: {}", chart.display());
	println!("[localnet] summary: {}", summary.display());
	Ok(summary)
}

#[cfg(test)]
mod tests {
	use bittensor_primitives::{
		json::{EpochJson, HyperparametersJson, NeuronJson},
		metagraph::Hyperparameters,
	};

	use super::*;
	use crate::nucleus::served::Disguise;

	/// Two honest neurons and one serving noise, whose logs do not exist (the table shows no
	/// last output).
	fn config() -> LocalnetConfig {
		LocalnetConfig {
			node_binary: "bittensor-node".into(),
			neuron_binary: "neuron".into(),
			dir: "localnet-test-dir-that-does-not-exist".into(),
			neurons: 2,
			adversaries: vec![Serving::Noise],
			corpus: "corpus".into(),
			duration: None,
			stake: 10,
			neuron_args: vec!["--top-k".into(), "2".into()],
			rpc_port: 9944,
		}
	}

	/// The members of [`config`]'s network.
	fn members() -> Vec<Member> {
		roster(&config(), hotkeys(), &metagraph(0, Vec::new()))
	}

	/// Three hotkeys.
	fn hotkeys() -> Vec<AccountId32> {
		(0..3u8).map(|byte| AccountId32::new([byte; 32])).collect()
	}

	/// `member` registered at `uid` with 10 TAO of stake, emitting `emission` rao an epoch.
	fn peer(member: &Member, uid: u16, emission: u64) -> NeuronJson {
		NeuronJson {
			stake: (10 * TOKEN).to_string(),
			emission: emission.to_string(),
			weights: vec![(uid, 65535)],
			..NeuronJson::newly_registered(uid, &member.hotkey, &member.hotkey)
		}
	}

	/// A metagraph whose last epoch ran at block `epoch`, with `peers`.
	fn metagraph(epoch: BlockNumber, peers: Vec<NeuronJson>) -> MetagraphJson {
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
	}

	#[test]
	fn emission_is_counted_once_per_epoch() {
		let members = members();
		let peers = |n0: u64, n2: u64| vec![peer(&members[0], 0, n0), peer(&members[2], 1, n2)];
		let mut emission = Emission::default();
		emission.record(&metagraph(0, peers(TOKEN, TOKEN)), &members);
		assert!(emission.points("n0").is_empty(), "no epoch yet");
		emission.record(&metagraph(10, peers(TOKEN, TOKEN / 2)), &members);
		emission.record(&metagraph(10, peers(TOKEN, TOKEN / 2)), &members);
		emission.record(&metagraph(20, peers(2 * TOKEN, 0)), &members);
		assert_eq!(emission.points("n0"), [(10.0, 1.0), (20.0, 3.0)]);
		assert_eq!(emission.points("n2"), [(10.0, 0.5), (20.0, 0.5)]);
		assert_eq!(emission.total("n0"), 3.0);
		assert_eq!(emission.total("n1"), 0.0, "not registered");
		assert!(emission.points("n1").is_empty());
	}

	#[test]
	fn the_table_shows_the_registered_neurons_and_their_emission() {
		let members = members();
		let metagraph = metagraph(10, vec![peer(&members[0], 0, TOKEN), peer(&members[2], 1, 0)]);
		let mut emission = Emission::default();
		emission.record(&metagraph, &members);
		let flags = BTreeMap::from([(1, 2)]);
		let text = table(&metagraph, &members, &emission, &flags);
		let rows: Vec<&str> = text.lines().collect();
		assert_eq!(rows.len(), 4, "two header lines, and n1 is not registered:\n{text}");
		assert_eq!(rows[0], "block 11  last epoch 10  peers 2");
		assert!(rows[1].starts_with(" uid  neuron serves") && rows[1].contains(" flagged "));
		assert!(
			rows[2].starts_with("   0  n0     model ") && rows[2].contains(" 10.000 "),
			"{text}"
		);
		assert!(rows[2].contains(" 1.000       0  "), "{text}");
		assert!(rows[3].starts_with("   1  n2     noise ") && rows[3].contains(" 0.000       2  "));
	}

	#[test]
	fn the_results_label_the_adversaries_and_say_whether_they_earned_less() {
		let members = members();
		let peers = vec![
			peer(&members[0], 0, TOKEN),
			peer(&members[1], 1, TOKEN),
			peer(&members[2], 2, TOKEN / 4),
		];
		let metagraph = metagraph(10, peers);
		let mut emission = Emission::default();
		emission.record(&metagraph, &members);

		let lines = emission_series(&members, &emission);
		let labels: Vec<&str> = lines.iter().map(|line| line.name.as_str()).collect();
		assert_eq!(labels, ["n0", "n1", "n2 (noise)"]);
		assert_eq!(
			emission_csv(&lines),
			"neuron,block,cumulative_emission_tao\nn0,10,1\nn1,10,1\nn2 (noise),10,0.25\n"
		);
		let summary = summary_json(&metagraph, &members, &emission, &BTreeMap::from([(2, 2)]));
		assert_eq!(
			summary["neurons"][2],
			serde_json::json!({
				"name": "n2",
				"uid": 2,
				"serves": "noise",
				"incentive": 0.0,
				"dividends": 0.0,
				"emission_tao": 0.25,
				"flagged_by": 2,
				"weights": [[2, 65535]],
			})
		);
		assert_eq!(summary["neurons"].as_array().map(Vec::len), Some(3));
		assert_eq!(
			adversary_verdict(&members, &emission).as_deref(),
			Some(
				"every adversary earned less than every honest neuron: the best paid, n2 \
				 (noise), 0.250 TAO against at least 1.000 TAO for the honest ones"
			)
		);
		assert_eq!(adversary_verdict(&members[..2], &emission), None, "no adversary");
	}

	#[test]
	fn the_last_output_is_cut_at_a_character_boundary() {
		assert_eq!(truncated("abcdef".into(), 4), "abcd");
		assert_eq!(truncated("a→b".into(), 2), "a", "→ takes three bytes");
		assert_eq!(truncated("short".into(), LAST_OUTPUT_WIDTH), "short");
	}
}
