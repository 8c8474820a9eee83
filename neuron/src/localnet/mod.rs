//! `neuron localnet`: a whole network on one machine. It starts a development node, registers
//! and stakes a hotkey per neuron (each paid by one of the dev accounts), starts the neurons
//! (`neuron run`, one of them serving random noise), shows a live metagraph table, and on
//! Ctrl-C (or after `--duration`) stops everything and writes the emission over time as an
//! SVG chart, a CSV file and a JSON summary.

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
	TOKEN,
};
use sp_core::{crypto::AccountId32, Pair};

use crate::{
	chain::ChainClient,
	keys::wallet::{pair_from_secret, Wallet},
};

pub mod plot;

use plot::{line_chart, Series};

/// Dev accounts that pay for the neurons' registration, stake and fees, one per neuron.
pub const COLDKEYS: [&str; 6] = ["//Alice", "//Bob", "//Charlie", "//Dave", "//Eve", "//Ferdie"];

/// How to run a local network.
#[derive(Debug, Clone)]
pub struct LocalnetConfig {
	/// The `bittensor-node` binary.
	pub node_binary: PathBuf,
	/// The `neuron` binary.
	pub neuron_binary: PathBuf,
	/// Where logs, wallets, checkpoints and the results go.
	pub dir: PathBuf,
	/// Neurons, 2 to 6; the last one serves random noise.
	pub neurons: usize,
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

/// One neuron of the network.
struct Member {
	name: String,
	hotkey: AccountId32,
	random: bool,
	child: Child,
	log: PathBuf,
}

/// A free TCP port on the loopback interface.
fn free_port() -> std::io::Result<u16> {
	Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
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

/// The live table: uid, name, stake, incentive, dividends, emission so far, and what the
/// neuron last printed.
fn table(metagraph: &MetagraphJson, members: &[Member], totals: &BTreeMap<String, f64>) -> String {
	let mut out = format!(
		"block {}  last epoch {}  peers {}\n{:>4}  {:<12} {:>12} {:>9} {:>9} {:>9} {:>14}  {}\n",
		metagraph.block,
		metagraph.last_epoch.block,
		metagraph.neurons.len(),
		"uid",
		"neuron",
		"stake",
		"rank",
		"incentive",
		"dividends",
		"emitted (TAO)",
		"last output"
	);
	for member in members {
		let Some(neuron) = metagraph.neuron_by_hotkey(&member.hotkey) else { continue };
		let stake = neuron.stake.parse::<u64>().unwrap_or(0) as f64 / TOKEN as f64;
		let mut line = last_line(&member.log);
		line.truncate(110);
		out.push_str(&format!(
			"{:>4}  {:<12} {:>12.3} {:>9.4} {:>9.4} {:>9.4} {:>14.3}  {}\n",
			neuron.uid,
			member.name,
			stake,
			neuron.rank,
			neuron.incentive,
			neuron.dividends,
			totals.get(&member.name).copied().unwrap_or(0.0),
			line
		));
	}
	out
}

/// Runs the local network until Ctrl-C or the configured duration; returns the path of the
/// summary.
pub async fn run(config: LocalnetConfig) -> Result<PathBuf, String> {
	if !(2..=COLDKEYS.len()).contains(&config.neurons) {
		return Err(format!("--neurons must be between 2 and {}", COLDKEYS.len()));
	}
	for dir in ["logs", "wallets", "checkpoints"] {
		std::fs::create_dir_all(config.dir.join(dir))
			.map_err(|e| format!("{}: {e}", config.dir.display()))?;
	}
	let rpc_port = config.rpc_port;
	if std::net::TcpListener::bind(("127.0.0.1", rpc_port)).is_err() {
		return Err(format!(
			"port {rpc_port} is taken (another node?): stop it or choose --rpc-port"
		));
	}
	let p2p_port = free_port().map_err(|e| e.to_string())?;
	let node_log = config.dir.join("logs/node.log");
	println!("[localnet] starting {} (log {})", config.node_binary.display(), node_log.display());
	let log = File::create(&node_log).map_err(|e| e.to_string())?;
	let mut node = Command::new(&config.node_binary)
		.args(["--dev", "--tmp", "--no-prometheus", "--no-telemetry", "--no-mdns"])
		.args(["--rpc-port", &rpc_port.to_string(), "--port", &p2p_port.to_string()])
		.stdout(log.try_clone().map_err(|e| e.to_string())?)
		.stderr(log)
		.spawn()
		.map_err(|e| format!("cannot start {}: {e}", config.node_binary.display()))?;
	let url = format!("ws://127.0.0.1:{rpc_port}");
	let mut members = Vec::new();
	let result = run_network(&config, &url, &mut node, &mut members).await;
	println!("[localnet] stopping {} neurons and the node", members.len());
	stop(
		&mut members.iter_mut().map(|m| &mut m.child).collect::<Vec<_>>(),
		Duration::from_secs(60),
	);
	stop(&mut [&mut node], Duration::from_secs(30));
	result
}

async fn connect(url: &str, node: &mut Child) -> Result<ChainClient, String> {
	let deadline = Instant::now() + Duration::from_secs(120);
	loop {
		match ChainClient::connect(url).await {
			Ok(chain) => return Ok(chain),
			Err(error) if Instant::now() > deadline => return Err(error.to_string()),
			Err(_) => {},
		}
		if let Ok(Some(status)) = node.try_wait() {
			return Err(format!("the node exited: {status}"));
		}
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
}

async fn run_network(
	config: &LocalnetConfig,
	url: &str,
	node: &mut Child,
	members: &mut Vec<Member>,
) -> Result<PathBuf, String> {
	let chain = connect(url, node).await?;
	println!("[localnet] node up at {url}; registering {} neurons", config.neurons);
	let wallet = Wallet::new(&config.dir.join("wallets"), "localnet");
	let mut hotkeys = Vec::new();
	for i in 0..config.neurons {
		let hotkey =
			pair_from_secret(&format!("//BitTensorLocalnet//{i}")).map_err(|e| e.to_string())?;
		wallet.set_hotkey(&format!("n{i}"), &hotkey, true).map_err(|e| e.to_string())?;
		hotkeys.push(hotkey);
	}
	// Each neuron's coldkey registers, stakes and funds its hotkey's fees; coldkeys in parallel.
	let setups = hotkeys.iter().zip(COLDKEYS).map(|(hotkey, coldkey)| {
		let chain = &chain;
		async move {
			let coldkey = pair_from_secret(coldkey).map_err(|e| e.to_string())?;
			let account = AccountId32::from(hotkey.public());
			chain.register(&coldkey, &account).await.map_err(|e| e.to_string())?;
			chain
				.add_stake(&coldkey, &account, config.stake * TOKEN)
				.await
				.map_err(|e| e.to_string())?;
			chain.transfer(&coldkey, &account, 100 * TOKEN).await.map_err(|e| e.to_string())
		}
	});
	for result in futures::future::join_all(setups).await {
		result?;
	}

	for (i, hotkey) in hotkeys.iter().enumerate() {
		let name = format!("n{i}");
		let random = i + 1 == config.neurons;
		let port = free_port().map_err(|e| e.to_string())?;
		let log_path = config.dir.join(format!("logs/{name}.log"));
		let log = File::create(&log_path).map_err(|e| e.to_string())?;
		let useful = config.neurons - 1;
		let mut command = Command::new(&config.neuron_binary);
		command
			.arg("--wallets")
			.arg(config.dir.join("wallets"))
			.args(["run", "--url", url, "--wallet", "localnet", "--hotkey", &name])
			.args(["--listen", &format!("127.0.0.1:{port}"), "--seed", &i.to_string()])
			.arg("--corpus")
			.arg(&config.corpus)
			.args(["--slice", &format!("{}/{useful}", i % useful)])
			.arg("--checkpoint-dir")
			.arg(config.dir.join("checkpoints").join(&name))
			.args(&config.neuron_args)
			.env("RAYON_NUM_THREADS", "1")
			.stdin(Stdio::null())
			.stdout(log.try_clone().map_err(|e| e.to_string())?)
			.stderr(log);
		if random {
			command.arg("--random-output");
		}
		let child = command
			.spawn()
			.map_err(|e| format!("cannot start {}: {e}", config.neuron_binary.display()))?;
		println!(
			"[localnet] {name} {} {}",
			address(&AccountId32::from(hotkey.public())),
			if random { "(serves random noise)" } else { "" }
		);
		members.push(Member {
			name,
			hotkey: AccountId32::from(hotkey.public()),
			random,
			child,
			log: log_path,
		});
	}

	let started = Instant::now();
	let tty = std::io::stdout().is_terminal();
	let mut totals: BTreeMap<String, f64> = BTreeMap::new();
	let mut series: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
	let mut last_epoch = None;
	let mut last_print = Instant::now();
	let mut metagraph = chain.metagraph().await.map_err(|e| e.to_string())?;
	// One listener for the whole run, so a signal that arrives during a metagraph read counts.
	let mut interrupted = std::pin::pin!(tokio::signal::ctrl_c());
	loop {
		tokio::select! {
			_ = &mut interrupted => break,
			_ = tokio::time::sleep(Duration::from_secs(3)) => {},
		}
		if config.duration.is_some_and(|d| started.elapsed() >= d) {
			break;
		}
		for member in members.iter_mut() {
			if let Ok(Some(status)) = member.child.try_wait() {
				return Err(format!(
					"{} exited ({status}); see {}",
					member.name,
					member.log.display()
				));
			}
		}
		match chain.metagraph().await {
			Ok(latest) => metagraph = latest,
			Err(error) => {
				eprintln!("[localnet] metagraph: {error}");
				continue;
			},
		}
		if last_epoch != Some(metagraph.last_epoch.block) && metagraph.last_epoch.block > 0 {
			last_epoch = Some(metagraph.last_epoch.block);
			for member in members.iter() {
				let Some(neuron) = metagraph.neuron_by_hotkey(&member.hotkey) else { continue };
				let total = totals.entry(member.name.clone()).or_insert(0.0);
				*total += neuron.emission.parse::<u64>().unwrap_or(0) as f64 / TOKEN as f64;
				series
					.entry(member.name.clone())
					.or_default()
					.push((f64::from(metagraph.last_epoch.block), *total));
			}
		}
		if tty {
			print!("\x1b[2J\x1b[H{}", table(&metagraph, members, &totals));
		} else if last_print.elapsed() >= Duration::from_secs(30) {
			print!("{}", table(&metagraph, members, &totals));
			last_print = Instant::now();
		}
	}
	print!("{}", table(&metagraph, members, &totals));
	write_results(config, &metagraph, members, &totals, &series)
}

/// Writes `emission.svg`, `emission.csv`, `metagraph.json` and `summary.json`.
fn write_results(
	config: &LocalnetConfig,
	metagraph: &MetagraphJson,
	members: &[Member],
	totals: &BTreeMap<String, f64>,
	series: &BTreeMap<String, Vec<(f64, f64)>>,
) -> Result<PathBuf, String> {
	let write = |name: &str, text: String| {
		let path = config.dir.join(name);
		std::fs::write(&path, text)
			.map_err(|e| format!("{}: {e}", path.display()))
			.map(|_| path)
	};
	let label = |m: &Member| if m.random { format!("{} (random)", m.name) } else { m.name.clone() };
	let lines: Vec<Series> = members
		.iter()
		.map(|m| Series {
			name: label(m),
			points: series.get(&m.name).cloned().unwrap_or_default(),
		})
		.collect();
	let svg = write(
		"emission.svg",
		line_chart("Emission over time", "block", "TAO emitted (cumulative)", &lines),
	)?;
	let mut csv = String::from("neuron,block,cumulative_emission_tao\n");
	for line in &lines {
		for (block, total) in &line.points {
			csv.push_str(&format!("{},{block},{total}\n", line.name));
		}
	}
	write("emission.csv", csv)?;
	write("metagraph.json", serde_json::to_string_pretty(metagraph).map_err(|e| e.to_string())?)?;
	let neurons: Vec<serde_json::Value> = members
		.iter()
		.map(|m| {
			let neuron = metagraph.neuron_by_hotkey(&m.hotkey);
			serde_json::json!({
				"name": m.name,
				"uid": neuron.map(|n| n.uid),
				"random": m.random,
				"emission_tao": totals.get(&m.name).copied().unwrap_or(0.0),
				"weights": neuron.map(|n| n.weights.clone()).unwrap_or_default(),
			})
		})
		.collect();
	let summary = write(
		"summary.json",
		serde_json::to_string_pretty(&serde_json::json!({ "neurons": neurons }))
			.map_err(|e| e.to_string())?,
	)?;
	let poor = members
		.iter()
		.find(|m| m.random)
		.map(|m| totals.get(&m.name).copied().unwrap_or(0.0));
	let least = members
		.iter()
		.filter(|m| !m.random)
		.map(|m| totals.get(&m.name).copied().unwrap_or(0.0))
		.fold(f64::MAX, f64::min);
	if let Some(poor) = poor {
		let verdict = if poor < least { "earned least" } else { "did NOT earn least" };
		println!("[localnet] the random neuron {verdict}: {poor:.3} TAO against at least {least:.3} TAO for the others");
	}
	println!("[localnet] emission chart: {}", svg.display());
	println!("[localnet] summary: {}", summary.display());
	Ok(summary)
}
