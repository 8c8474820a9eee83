//! The command line: its clap definitions and one function per command, grouped in
//! [`chain`] (register, stake, serve, metagraph), [`wallet`] and [`run`] (`neuron run` and
//! `neuron localnet`); `main.rs` parses and dispatches.

pub mod chain;
pub mod run;
pub mod wallet;

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use bittensor_neuron::keys::wallet::Wallet;
use clap::{Parser, Subcommand};

/// The BitTensor neuron.
#[derive(Parser)]
#[command(name = "neuron", version, about)]
pub struct Cli {
	/// Directory of the wallets [default: $BITTENSOR_WALLETS or ~/.bittensor/wallets].
	#[arg(long, global = true)]
	pub wallets: Option<PathBuf>,
	#[command(subcommand)]
	pub command: Command,
}

/// Which node to talk to, and which keys to use.
#[derive(clap::Args)]
pub struct ChainArgs {
	/// The node's WebSocket RPC endpoint.
	#[arg(long, default_value = "ws://127.0.0.1:9944")]
	pub url: String,
	/// The wallet's name.
	#[arg(long, default_value = "default")]
	pub wallet: String,
	/// The hotkey's name.
	#[arg(long, default_value = "default")]
	pub hotkey: String,
}

/// The subcommands.
#[derive(Subcommand)]
pub enum Command {
	/// Create, list, show, import and export keys.
	#[command(subcommand)]
	Wallet(wallet::WalletCommand),
	/// Register the wallet's hotkey as a peer; the coldkey pays the registration cost.
	Register {
		#[command(flatten)]
		chain: ChainArgs,
	},
	/// Move stake between the coldkey's free balance and the hotkey.
	Stake {
		#[command(subcommand)]
		direction: StakeCommand,
	},
	/// Serve a fixed embedding model on the axon (no training) and publish its endpoint on chain.
	Serve {
		#[command(flatten)]
		chain: ChainArgs,
		/// Address the axon listens on.
		#[arg(long, default_value = "0.0.0.0:8091")]
		listen: SocketAddr,
		/// Address published on chain, where other peers reach this axon [default: the
		/// listening address, with 127.0.0.1 for 0.0.0.0].
		#[arg(long)]
		external: Option<SocketAddr>,
		/// Seconds between readings of the registered peers from the chain.
		#[arg(long, default_value_t = 12)]
		refresh: u64,
	},
	/// Run the neuron: serve the nucleus, train it with the peers the gate chooses, send and
	/// apply gradients, score the peers and set weights on chain; checkpoints as it goes.
	Run(Box<run::RunArgs>),
	/// Start a development node and several neurons (one serving random noise), show the
	/// metagraph live, and write the emission over time as an SVG chart at the end.
	Localnet(run::LocalnetArgs),
	/// Print the metagraph as a table.
	Metagraph {
		/// The node's WebSocket RPC endpoint.
		#[arg(long, default_value = "ws://127.0.0.1:9944")]
		url: String,
	},
}

/// `neuron stake add|remove`.
#[derive(Subcommand)]
pub enum StakeCommand {
	/// Stake `amount` TAO of the coldkey's free balance on the hotkey.
	Add {
		#[command(flatten)]
		chain: ChainArgs,
		/// Amount in TAO (up to nine decimals).
		#[arg(long, value_parser = chain::parse_amount)]
		amount: u64,
	},
	/// Move `amount` TAO of the hotkey's stake back to the coldkey.
	Remove {
		#[command(flatten)]
		chain: ChainArgs,
		/// Amount in TAO (up to nine decimals).
		#[arg(long, value_parser = chain::parse_amount)]
		amount: u64,
	},
}

/// Runs a command; those that talk to the chain or the network run on a tokio runtime.
pub fn run(root: PathBuf, command: Command) -> Result<(), String> {
	if let Command::Wallet(command) = command {
		return wallet::run(root, command);
	}
	let runtime = tokio::runtime::Runtime::new()
		.map_err(|e| format!("cannot start the async runtime: {e}"))?;
	runtime.block_on(async move {
		match command {
			Command::Wallet(command) => wallet::run(root, command),
			Command::Register { chain } => {
				let wallet = Wallet::new(&root, &chain.wallet);
				chain::register(
					&chain.url,
					&wallet,
					&chain.hotkey,
					&password("Password of the coldkey: ", false)?,
				)
				.await
			},
			Command::Stake { direction } => {
				let (chain, amount, add) = match direction {
					StakeCommand::Add { chain, amount } => (chain, amount, true),
					StakeCommand::Remove { chain, amount } => (chain, amount, false),
				};
				let wallet = Wallet::new(&root, &chain.wallet);
				let password = password("Password of the coldkey: ", false)?;
				chain::stake(&chain.url, &wallet, &chain.hotkey, &password, amount, add).await
			},
			Command::Serve { chain, listen, external, refresh } => {
				let wallet = Wallet::new(&root, &chain.wallet);
				let external = external.unwrap_or_else(|| match listen.ip().is_unspecified() {
					true => SocketAddr::from(([127, 0, 0, 1], listen.port())),
					false => listen,
				});
				chain::serve(
					&chain.url,
					&wallet,
					&chain.hotkey,
					listen,
					external,
					Duration::from_secs(refresh),
				)
				.await
			},
			Command::Run(args) => run::run(root, *args).await,
			Command::Localnet(args) => run::localnet(args).await,
			Command::Metagraph { url } => chain::metagraph(&url).await,
		}
	})
}

/// The password: `$BITTENSOR_PASSWORD` if set (for scripts), else asked on the terminal.
pub fn password(prompt: &str, confirm: bool) -> Result<String, String> {
	if let Ok(password) = std::env::var("BITTENSOR_PASSWORD") {
		return Ok(password);
	}
	let first =
		rpassword::prompt_password(prompt).map_err(|e| format!("cannot read a password: {e}"))?;
	if confirm {
		let second = rpassword::prompt_password("Repeat it: ")
			.map_err(|e| format!("cannot read a password: {e}"))?;
		if first != second {
			return Err("the passwords differ".into());
		}
	}
	Ok(first)
}
