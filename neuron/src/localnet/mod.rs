//! `neuron localnet`: a whole network on one machine. It starts a development node, registers
//! and stakes a hotkey per neuron (each paid by one of the dev accounts), starts the neurons
//! (`neuron run`: honest learners, then the adversaries asked for, such as noise or a leaker),
//! shows a live metagraph table, and on Ctrl-C (or after `--duration`) stops everything and
//! writes the emission over time as an SVG chart, a CSV file and a JSON summary.
//!
//! [`run`] reads as that list of steps, one function each, so that a failure names its step
//! ([`LocalnetError`]) and the children are stopped whichever step fails. The processes (in
//! `processes.rs`) are kept apart from what the network earned (in `results.rs`: the emission
//! count, the table, the chart lines, the CSV and the summary, which touch no process and are
//! unit-tested); this file joins them. The whole network is tested end to end by
//! `tests/scenarios/localnet.rs`.

use std::{
	io::IsTerminal,
	path::PathBuf,
	process::Child,
	time::{Duration, Instant},
};

use bittensor_primitives::json::MetagraphJson;
use sp_core::{crypto::AccountId32, Pair};

use crate::chain::ChainClient;

mod error;
mod members;
mod processes;
mod results;
#[cfg(test)]
mod tests;

pub use error::LocalnetError;
use members::{roster, Member};
pub use members::{LocalnetConfig, COLDKEYS};
use processes::{
	check_neuron_count, check_port_free, check_running, connect, create_directories,
	set_up_hotkeys, spawn_neuron, split_corpus, start_node, stop_network, write_hotkeys,
};
use results::{flagged_by, table, write_results, Emission};

/// How often the metagraph is read (and the table redrawn on a terminal).
const REFRESH: Duration = Duration::from_secs(3);
/// How often the table is printed when stdout is not a terminal (a log, not a screen).
const PRINT_TABLE_EVERY: Duration = Duration::from_secs(30);

/// Runs the local network until Ctrl-C or the configured duration; returns the path of the
/// summary.
pub async fn run(config: LocalnetConfig) -> Result<PathBuf, LocalnetError> {
	check_neuron_count(config.neurons, config.adversaries.len())?;
	create_directories(&config.dir)?;
	split_corpus(&config)?;
	check_port_free(config.rpc_port)?;
	let mut node = start_node(&config)?;
	let url = format!("ws://127.0.0.1:{}", config.rpc_port);
	let mut processes = Vec::new();
	let result = run_network(&config, &url, &mut node, &mut processes).await;
	stop_network(&mut processes, &mut node);
	// After the neurons stopped: their last checkpoints say whom they flag.
	let (metagraph, members, emission) = result?;
	let flags = flagged_by(&members);
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
	println!("[localnet] node up at {url}; registering {} neurons", config.count());
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
		let flags = flagged_by(members);
		if tty {
			print!("\x1b[2J\x1b[H{}", table(&metagraph, members, &emission, &flags));
		} else if last_print.elapsed() >= PRINT_TABLE_EVERY {
			print!("{}", table(&metagraph, members, &emission, &flags));
			last_print = Instant::now();
		}
	}
	Ok((metagraph, emission))
}
