//! How to run the market benchmark, who validates it, and why it can fail.

use std::path::{Path, PathBuf};

use bittensor_primitives::weights::{Perbill, RowRules};
use burn::store::RecordError;

use crate::{data::corpus::CorpusError, scoring::WeightsError};

/// The validators: name and stake in TAO. The last one copies the first one's weights.
pub const VALIDATORS: [(&str, u64); 4] = [("v0", 100), ("v1", 60), ("v2", 30), ("copier", 40)];

/// Validators that score the peers: all but the copier.
pub const HONEST_VALIDATORS: usize = VALIDATORS.len() - 1;

/// A validator's weight row: `(uid, weight)` pairs.
pub type Row = Vec<(u16, u16)>;

/// The market's rules for the row of the validator at `own_uid`, among `uids` (peers and
/// validators): a weight on one peer at least, and no cap on any.
pub fn row_rules(own_uid: u16, uids: usize) -> RowRules {
	RowRules {
		own_uid,
		peers: uids as u16,
		min_allowed_weights: 1,
		max_weight_limit: Perbill::one(),
	}
}

/// Why the benchmark could not run, or failed.
#[derive(Debug, thiserror::Error)]
pub enum MarketError {
	/// The corpus could not be read.
	#[error(transparent)]
	Corpus(#[from] CorpusError),
	/// A cached honest model could not be written.
	#[error("cached model {path}: {source}")]
	Cache {
		/// Its directory.
		path: PathBuf,
		/// Why.
		source: RecordError,
	},
	/// A result file could not be written.
	#[error("{path}: {source}")]
	Io {
		/// The file.
		path: PathBuf,
		/// Why.
		source: std::io::Error,
	},
	/// Fewer peers' documents than honest peers to train.
	#[error("fewer of the peers' documents than the {honest} honest peers to train on them")]
	TooFewDocuments {
		/// Honest peers asked for.
		honest: usize,
	},
	/// A validator's scores make no row the chain accepts.
	#[error(transparent)]
	Weights(#[from] WeightsError),
	/// At least one threshold was not met.
	#[error("{failed} of the market's checks failed (see the table above and {report})")]
	ChecksFailed {
		/// How many.
		failed: usize,
		/// The JSON report.
		report: PathBuf,
	},
}

impl MarketError {
	/// Makes an I/O error on `path` a [`MarketError::Io`], for `map_err`.
	pub fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Self {
		let path = path.to_path_buf();
		move |source| Self::Io { path, source }
	}
}

/// How to run the benchmark.
#[derive(Debug, Clone)]
pub struct MarketConfig {
	/// The corpus directory.
	pub corpus: PathBuf,
	/// Where pre-trained honest models are cached.
	pub cache: PathBuf,
	/// Where the report and chart go.
	pub out: PathBuf,
	/// The market's randomness.
	pub seed: u64,
	/// Epochs (at least 10).
	pub epochs: usize,
	/// Validation queries each validator makes per epoch.
	pub queries_per_epoch: usize,
	/// Honest peers, each trained on its own slice of the corpus.
	pub honest: usize,
	/// Training steps of each honest peer.
	pub pretrain_steps: u64,
}

/// Where honest models are cached by default: `~/.cache/bittensor/market`.
pub fn default_cache() -> PathBuf {
	std::env::var_os("HOME")
		.map(PathBuf::from)
		.unwrap_or_else(|| Path::new(".").to_path_buf())
		.join(".cache/bittensor/market")
}
