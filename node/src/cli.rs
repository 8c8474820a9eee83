//! Command-line interface of `bittensor-node`.

use std::{io::Write, path::PathBuf};

/// The node's command line: a subcommand, or the flags of a running node.
#[derive(Debug, clap::Parser)]
pub struct Cli {
	/// What to do instead of running the node.
	#[command(subcommand)]
	pub subcommand: Option<Subcommand>,

	/// Flags of a running node (`--dev`, `--chain`, `--base-path`, `--rpc-port`, ...).
	#[clap(flatten)]
	pub run: sc_cli::RunCmd,
}

/// Subcommands of `bittensor-node`.
#[derive(Debug, clap::Subcommand)]
#[allow(clippy::large_enum_variant)]
pub enum Subcommand {
	/// Key management: generate, inspect and insert keys.
	#[command(subcommand)]
	Key(sc_cli::KeySubcommand),

	/// Build a chain specification (adds a default bootnode unless told not to).
	BuildSpec(sc_cli::BuildSpecCmd),

	/// Export a chain specification as JSON, without a base path or network key.
	ExportChainSpec(ExportChainSpecCmd),

	/// Validate blocks.
	CheckBlock(sc_cli::CheckBlockCmd),

	/// Export blocks.
	ExportBlocks(sc_cli::ExportBlocksCmd),

	/// Export the state of a given block into a chain spec.
	ExportState(sc_cli::ExportStateCmd),

	/// Import blocks.
	ImportBlocks(sc_cli::ImportBlocksCmd),

	/// Remove the whole chain.
	PurgeChain(sc_cli::PurgeChainCmd),

	/// Revert the chain to a previous state.
	Revert(sc_cli::RevertCmd),

	/// Show information about the database.
	ChainInfo(sc_cli::ChainInfoCmd),

	/// Benchmark the runtime's pallets or this machine (feature `runtime-benchmarks`).
	#[cfg(feature = "runtime-benchmarks")]
	#[command(subcommand)]
	Benchmark(frame_benchmarking_cli::BenchmarkCmd),
}

/// `export-chain-spec`: write a chain spec as JSON without touching a database or network key.
#[derive(Debug, Clone, clap::Parser)]
pub struct ExportChainSpecCmd {
	/// The chain to export: `dev`, `local`, or the path of a chain spec JSON file.
	#[arg(long, default_value = "local")]
	pub chain: String,

	/// Write to this file instead of standard output.
	#[arg(long, short)]
	pub output: Option<PathBuf>,

	/// Export the raw genesis storage instead of the readable genesis config.
	#[arg(long)]
	pub raw: bool,
}

impl ExportChainSpecCmd {
	/// Serializes `spec` and writes it where the command says.
	pub fn run(&self, spec: Box<dyn sc_service::ChainSpec>) -> sc_cli::Result<()> {
		let json = sc_service::chain_ops::build_spec(spec.as_ref(), self.raw)?;
		match &self.output {
			Some(path) => std::fs::write(path, json)?,
			None => std::io::stdout().write_all(json.as_bytes())?,
		}
		Ok(())
	}
}
