//! What can stop a local network. Typed rather than text so that a caller can tell a busy port
//! from a neuron that crashed or a failed chain call, and so that the underlying error (I/O,
//! chain, wallet, JSON) stays attached as the source instead of being flattened into a string.

use std::{
	path::{Path, PathBuf},
	process::ExitStatus,
};

use crate::{chain::ChainError, data::corpus::CorpusError, keys::wallet::WalletError};

/// What went wrong running a local network.
#[derive(Debug, thiserror::Error)]
pub enum LocalnetError {
	/// The neuron count is outside what the dev accounts allow.
	#[error(
		"at least one neuron must learn, and --neurons and --adversaries together at most {max}"
	)]
	NeuronCount {
		/// The most neurons: one per dev account.
		max: usize,
	},
	/// The corpus could not be read or split.
	#[error(transparent)]
	Corpus(#[from] CorpusError),
	/// A directory or file could not be created or written.
	#[error("{path}: {source}")]
	Io {
		/// The directory or file.
		path: PathBuf,
		/// The error.
		source: std::io::Error,
	},
	/// The node's RPC port is already in use.
	#[error("port {port} is taken (another node?): stop it or choose --rpc-port")]
	PortTaken {
		/// The RPC port asked for.
		port: u16,
		/// Why it could not be bound.
		source: std::io::Error,
	},
	/// No free port could be found for the node's peer-to-peer or a neuron's listening socket.
	#[error("no free port on 127.0.0.1: {0}")]
	FreePort(#[source] std::io::Error),
	/// A child process could not be started.
	#[error("cannot start {program}: {source}")]
	Spawn {
		/// The binary.
		program: PathBuf,
		/// The error.
		source: std::io::Error,
	},
	/// The node exited before it answered on its RPC port.
	#[error("the node exited: {0}")]
	NodeExited(ExitStatus),
	/// A neuron exited while the network ran.
	#[error("{name} exited ({status}); see {log}")]
	NeuronExited {
		/// The neuron, e.g. `n0`.
		name: String,
		/// How it exited.
		status: ExitStatus,
		/// Its log file.
		log: PathBuf,
	},
	/// The node did not answer in time, or a call to it failed.
	#[error(transparent)]
	Chain(#[from] ChainError),
	/// A hotkey could not be derived or saved in the wallet.
	#[error(transparent)]
	Wallet(#[from] WalletError),
	/// A result could not be serialized as JSON.
	#[error("cannot write {path} as JSON: {source}")]
	Json {
		/// The file it was for.
		path: PathBuf,
		/// The error.
		source: serde_json::Error,
	},
}

impl LocalnetError {
	/// Makes an I/O error on `path` a [`LocalnetError::Io`], for `map_err`.
	pub(super) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Self {
		let path = path.to_path_buf();
		move |source| Self::Io { path, source }
	}
}
