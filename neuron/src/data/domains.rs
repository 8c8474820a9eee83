//! Corpora of different kinds (plays, a dictionary, fortunes, manual pages, jargon), one
//! directory per domain, each split once by `scripts/corpora.py` into `train/` and `held-out/`
//! documents: whole source units are held out (a play, a manual page), so held-out text is
//! never a neighbour of training text, and no neuron trains on any domain's `held-out/`.
//! Peers that know different kinds of text are what a network of them can gain from; these are
//! the kinds.

use std::path::{Path, PathBuf};

use super::corpus::{read_documents, CorpusError};

/// The domains the benchmark gives its neurons by default, one each.
pub const DEFAULT_DOMAINS: [&str; 4] = ["plays", "dictionary", "fortunes", "manpages"];

/// One kind of text: its name and its training and held-out bytes.
#[derive(Debug, Clone)]
pub struct Domain {
	/// The directory's name.
	pub name: String,
	/// Every training document's bytes, one after another.
	pub train: Vec<u8>,
	/// Every held-out document's bytes, one after another.
	pub held_out: Vec<u8>,
}

impl Domain {
	/// The domain `name` under `corpora` (`corpora/name/{train,held-out}`).
	pub fn read(corpora: &Path, name: &str) -> Result<Self, CorpusError> {
		let text = |part: &str| -> Result<Vec<u8>, CorpusError> {
			let documents = read_documents(&corpora.join(name).join(part))?;
			Ok(documents.into_iter().flat_map(|(_, text)| text).collect())
		};
		Ok(Self { name: name.to_string(), train: text("train")?, held_out: text("held-out")? })
	}
}

/// Where the corpora are by default: `$BITTENSOR_CORPORA`, else `~/.cache/bittensor/corpora`
/// (where `scripts/setup.sh` writes them).
pub fn default_dir() -> PathBuf {
	std::env::var_os("BITTENSOR_CORPORA").map(PathBuf::from).unwrap_or_else(|| {
		std::env::var_os("HOME")
			.map(PathBuf::from)
			.unwrap_or_else(|| PathBuf::from("."))
			.join(".cache/bittensor/corpora")
	})
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::data::corpus::MIN_FILE_BYTES;

	#[test]
	fn a_domain_reads_its_two_parts_apart() {
		let dir = tempfile::tempdir().unwrap();
		for (part, byte) in [("train", b't'), ("held-out", b'h')] {
			let path = dir.path().join("fables").join(part);
			std::fs::create_dir_all(&path).unwrap();
			std::fs::write(path.join("0000.txt"), vec![byte; MIN_FILE_BYTES]).unwrap();
			std::fs::write(path.join("0001.txt"), vec![byte; MIN_FILE_BYTES + 1]).unwrap();
		}
		let domain = Domain::read(dir.path(), "fables").unwrap();
		assert_eq!(domain.name, "fables");
		assert_eq!(domain.train, vec![b't'; 2 * MIN_FILE_BYTES + 1]);
		assert_eq!(domain.held_out, vec![b'h'; 2 * MIN_FILE_BYTES + 1]);
	}

	#[test]
	fn a_missing_domain_is_named() {
		let dir = tempfile::tempdir().unwrap();
		let error = Domain::read(dir.path(), "nothing").unwrap_err();
		assert!(error.to_string().contains("nothing"), "{error}");
	}
}
