//! `neuron`: the BitTensor neuron's command line (the commands are in `cli/`).

mod cli;

use std::process::ExitCode;

use bittensor_neuron::keys::wallet;
use clap::Parser;

/// glibc's allocator hands the half-megabyte buffers of every reply back to the kernel and
/// faults them in again on the next request, which doubled the Forward round trip in
/// `benches/forward_round_trip.rs`; mimalloc keeps them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
	let cli = cli::Cli::parse();
	let root = cli.wallets.unwrap_or_else(wallet::default_root);
	let result = cli::run(root, cli.command);
	match result {
		Ok(()) => ExitCode::SUCCESS,
		Err(message) => {
			eprintln!("error: {message}");
			ExitCode::FAILURE
		},
	}
}
