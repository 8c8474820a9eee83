//! The command line: its clap definitions and one function per command, grouped in
//! [`chain`] (register, stake, serve, metagraph), [`wallet`] and [`run`] (`neuron run`,
//! `neuron localnet` and `neuron bench-market`); `main.rs` parses and dispatches.

pub mod chain;
pub mod run;
pub mod wallet;

use std::{fmt::Display, net::SocketAddr, path::PathBuf, time::Duration};

use bittensor_neuron::{
	chain::{ChainError, NotOwner},
	data::corpus::CorpusError,
	keys::{
		keyfile::KeyFileError,
		wallet::{Wallet, WalletError},
	},
	localnet::LocalnetError,
	runner::RunError,
};
use clap::{Parser, Subcommand};
use sp_core::sr25519;

/// Why a command failed: the command line's one error type, the one `main` prints. The library
/// layers' own errors pass through unchanged; the command line adds only its own input errors
/// and the files and terminals it reads.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
	/// A wallet operation failed.
	#[error(transparent)]
	Wallet(#[from] WalletError),
	/// A key file could not be opened or written.
	#[error(transparent)]
	KeyFile(#[from] KeyFileError),
	/// Talking to the chain failed.
	#[error(transparent)]
	Chain(#[from] ChainError),
	/// The hotkey belongs to another coldkey.
	#[error(transparent)]
	NotOwner(#[from] NotOwner),
	/// `neuron run` (or the axon of `neuron serve`) failed.
	#[error(transparent)]
	Run(#[from] RunError),
	/// `neuron localnet` failed.
	#[error(transparent)]
	Localnet(#[from] LocalnetError),
	/// The market benchmark failed.
	#[error(transparent)]
	Market(#[from] bittensor_neuron::market::MarketError),
	/// The network benchmark failed.
	#[error(transparent)]
	Network(#[from] bittensor_neuron::network_bench::NetworkError),
	/// The corpus could not be loaded.
	#[error(transparent)]
	Corpus(#[from] CorpusError),
	/// A file or the terminal could not be read.
	#[error("{what}: {source}")]
	Io {
		/// What was being read.
		what: String,
		/// Why it failed.
		source: std::io::Error,
	},
	/// Input the command line refuses: an argument, a password, a secret.
	#[error("{0}")]
	Input(String),
}

impl CliError {
	/// The error maker for an I/O failure while doing `what`.
	fn io(what: impl Display) -> impl FnOnce(std::io::Error) -> Self {
		let what = what.to_string();
		move |source| Self::Io { what, source }
	}
}

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
	/// Run the neuron: serve the nucleus, train it with the peers the gate chooses, validate
	/// the peers apart from training and set weights on chain; checkpoints as it goes.
	Run(Box<run::RunArgs>),
	/// Start a development node, honest neurons and adversaries (noise by default), show the
	/// metagraph live, and write the emission over time as an SVG chart at the end.
	Localnet(run::LocalnetArgs),
	/// Measure the market in one process, without a node: honest peers and adversaries (noise,
	/// leak, echoes, replay) scored by validators of different stake for several epochs of the
	/// chain's own epoch; writes market.json and incentive.svg, and fails when a threshold is
	/// not met.
	BenchMarket(run::MarketArgs),
	/// Measure what the network teaches: neurons on different domains in a network against
	/// solo twins (at equal steps and at equal CPU) and a centralised model, on every domain's
	/// held-out text; writes network.json and held-out.svg, and fails when a threshold is not
	/// met.
	BenchNetwork(run::NetworkArgs),
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
pub fn run(root: PathBuf, command: Command) -> Result<(), CliError> {
	if let Command::Wallet(command) = command {
		return wallet::run(root, command);
	}
	let runtime =
		tokio::runtime::Runtime::new().map_err(CliError::io("cannot start the async runtime"))?;
	runtime.block_on(async move {
		match command {
			Command::Wallet(command) => wallet::run(root, command),
			Command::Register { chain } => {
				let wallet = Wallet::new(&root, &chain.wallet);
				chain::register(&chain.url, &wallet, &chain.hotkey).await
			},
			Command::Stake { direction } => {
				let (chain, amount, add) = match direction {
					StakeCommand::Add { chain, amount } => (chain, amount, true),
					StakeCommand::Remove { chain, amount } => (chain, amount, false),
				};
				let wallet = Wallet::new(&root, &chain.wallet);
				chain::stake(&chain.url, &wallet, &chain.hotkey, amount, add).await
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
			Command::BenchMarket(args) => run::bench_market(args),
			Command::BenchNetwork(args) => run::bench_network(args),
			Command::Metagraph { url } => chain::metagraph(&url).await,
		}
	})
}

/// The environment variable through which scripts give passwords.
const PASSWORD_VAR: &str = "BITTENSOR_PASSWORD";

/// The error for an empty new password: it would protect nothing, so leaving a key
/// unencrypted takes `--no-password`.
const EMPTY_PASSWORD: &str = "the password is empty: choose one, or pass --no-password to \
	store the key unencrypted on purpose";

/// The password of an existing key: `$BITTENSOR_PASSWORD` if set (for scripts), else asked on
/// the terminal.
pub fn password(prompt: &str) -> Result<String, CliError> {
	match std::env::var(PASSWORD_VAR) {
		Ok(password) => Ok(password),
		Err(_) => ask(prompt),
	}
}

/// The password of a new key file: `None`, for an unencrypted file, only with `--no-password`
/// (`no_password`); else `$BITTENSOR_PASSWORD` if set, or one typed twice on the terminal, which
/// must not be empty (the error names `--no-password`).
pub fn new_password(prompt: &str, no_password: bool) -> Result<Option<String>, CliError> {
	if no_password {
		return Ok(None);
	}
	if let Ok(password) = std::env::var(PASSWORD_VAR) {
		return not_empty(password).map(Some);
	}
	let first = not_empty(ask(prompt)?)?;
	if ask("Repeat it: ")? != first {
		return Err(CliError::Input("the passwords differ".into()));
	}
	Ok(Some(first))
}

/// `password`, or the error that names `--no-password` when it is empty.
fn not_empty(password: String) -> Result<String, CliError> {
	if password.is_empty() {
		return Err(CliError::Input(EMPTY_PASSWORD.into()));
	}
	Ok(password)
}

/// A password typed unseen on the terminal.
fn ask(prompt: &str) -> Result<String, CliError> {
	rpassword::prompt_password(prompt).map_err(CliError::io("cannot read a password"))
}

/// The wallet's coldkey, asking for its password only when it is encrypted.
pub fn coldkey(wallet: &Wallet) -> Result<sr25519::Pair, CliError> {
	let password = match wallet.coldkey_is_encrypted()? {
		true => Some(password("Password of the coldkey: ")?),
		false => None,
	};
	Ok(wallet.coldkey(password.as_deref())?)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn an_empty_new_password_names_the_flag() {
		assert_eq!(not_empty("hunter2".into()).expect("a password"), "hunter2");
		let error = not_empty(String::new()).expect_err("empty").to_string();
		assert_eq!(error, EMPTY_PASSWORD);
		assert!(error.contains("--no-password"), "{error}");
		// With the flag nothing is asked or read: the key is written unencrypted.
		assert_eq!(new_password("unused: ", true).expect("no password"), None);
	}
}
