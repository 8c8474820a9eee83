//! The ways an axon can serve, as one table ([`MODES`]): the command line parses and describes
//! them from it, the market benchmark takes its adversaries from it, and its report reads the
//! typed [`Serving`] rather than a mode's name. A new mode is a variant and a row here, and its
//! answers in `adversary.rs`.

use std::{fmt, str::FromStr};

use crate::data::corpus::DEFAULT_BATCH_SHAPE;

/// How an echo disguises the answers it copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disguise {
	/// Returned as they came.
	Exact,
	/// With Gaussian noise of a tenth of their scale added.
	Noisy,
	/// Turned by a fixed random rotation.
	Rotated,
	/// Through a fixed random invertible linear map whose singular values spread from a tenth
	/// to ten: to the scoring, a whitening (`disguise:UID`).
	Linear,
	/// Through a fresh random signed permutation of the dimensions for every query: similar to
	/// the copied peer within any one query, useless to a probe (`griefer:UID`).
	Permuted,
}

impl Disguise {
	/// Its name after an echo's uid (`echo:UID:NAME`); `None` for the exact copy, written
	/// without one.
	fn name(self) -> Option<&'static str> {
		match self {
			Disguise::Exact | Disguise::Linear | Disguise::Permuted => None,
			Disguise::Noisy => Some("noisy"),
			Disguise::Rotated => Some("rotated"),
		}
	}
}

/// What the axon answers with. Everything but [`Serving::Model`] is a test mode: an adversary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serving {
	/// The trained encoder: an honest peer.
	Model,
	/// Fresh noise for every request.
	Noise,
	/// Zeros.
	Zero,
	/// At each position, a fixed code of the *next* input byte: a peer that reads the future.
	Leak,
	/// The answer of peer `uid`, asked the same question: a copier.
	Echo {
		/// The peer copied.
		uid: u16,
		/// How the copy is disguised.
		disguise: Disguise,
	},
	/// The model's answer to an earlier request of the same size: stale answers at no cost.
	Replay,
	/// No model: at each position, the bytes that followed the longest match of the row so far
	/// in every text the peer can read (the memorizer; [`Serving::Baseline`] is the same
	/// lookup in its training text only).
	Memorizer,
	/// The memorizer's lookup in the training text alone (of every document the peer can
	/// read, whatever its slice): an n-gram model.
	Baseline,
	/// Values near the largest finite `f32` to queries shaped like training batches
	/// ([`DEFAULT_BATCH_SHAPE`]), noise to any other: poison for the callers that train on it.
	Poison,
	/// Peer `uid`'s answer to queries of any shape but the training batches'
	/// ([`DEFAULT_BATCH_SHAPE`]), taken for validation; noise to training batches.
	ValOnly {
		/// The peer copied for validators.
		uid: u16,
	},
}

/// One way to serve: how it is written and described, and which of its kind the market
/// benchmark runs.
#[derive(Debug)]
pub struct Mode {
	/// Its name: `--serve NAME`, followed by `:ARGUMENTS` for a mode that takes some.
	pub name: &'static str,
	/// How it is written, arguments included.
	pub syntax: &'static str,
	/// What it answers with, for `--help`.
	pub help: &'static str,
	/// Reads what follows `NAME:` (`None`: nothing follows the name); `None` if invalid.
	pub parse: fn(Option<&str>) -> Option<Serving>,
	/// The adversaries of this mode that `neuron bench-market` runs against the honest peers
	/// (an echo's uid is an honest peer's), in the market's order.
	pub benchmarked: &'static [Serving],
}

/// [`Serving::Model`].
static MODEL: Mode = Mode {
	name: "model",
	syntax: "model",
	help: "the trained encoder: an honest peer",
	parse: |arguments| arguments.is_none().then_some(Serving::Model),
	benchmarked: &[],
};

/// [`Serving::Noise`].
static NOISE: Mode = Mode {
	name: "noise",
	syntax: "noise",
	help: "fresh noise",
	parse: |arguments| arguments.is_none().then_some(Serving::Noise),
	benchmarked: &[Serving::Noise],
};

/// [`Serving::Zero`].
static ZERO: Mode = Mode {
	name: "zero",
	syntax: "zero",
	help: "zeros",
	parse: |arguments| arguments.is_none().then_some(Serving::Zero),
	benchmarked: &[],
};

/// [`Serving::Leak`].
static LEAK: Mode = Mode {
	name: "leak",
	syntax: "leak",
	help: "reads the next input byte",
	parse: |arguments| arguments.is_none().then_some(Serving::Leak),
	benchmarked: &[Serving::Leak],
};

/// [`Serving::Echo`].
static ECHO: Mode = Mode {
	name: "echo",
	syntax: "echo:UID[:noisy|:rotated]",
	help: "copies peer UID, as it is or disguised by noise or a rotation",
	parse: |arguments| parse_echo(arguments?),
	benchmarked: &[
		Serving::Echo { uid: 0, disguise: Disguise::Exact },
		Serving::Echo { uid: 1, disguise: Disguise::Noisy },
		Serving::Echo { uid: 2, disguise: Disguise::Rotated },
	],
};

/// [`Serving::Replay`].
static REPLAY: Mode = Mode {
	name: "replay",
	syntax: "replay",
	help: "stale answers",
	parse: |arguments| arguments.is_none().then_some(Serving::Replay),
	benchmarked: &[Serving::Replay],
};

/// [`Disguise::Linear`].
static DISGUISE: Mode = Mode {
	name: "disguise",
	syntax: "disguise:UID",
	help: "copies peer UID through a fixed invertible linear map",
	parse: |arguments| parse_uid(arguments?, Disguise::Linear),
	benchmarked: &[Serving::Echo { uid: 5, disguise: Disguise::Linear }],
};

/// [`Disguise::Permuted`].
static GRIEFER: Mode = Mode {
	name: "griefer",
	syntax: "griefer:UID",
	help: "copies peer UID through a fresh permutation per query",
	parse: |arguments| parse_uid(arguments?, Disguise::Permuted),
	benchmarked: &[Serving::Echo { uid: 4, disguise: Disguise::Permuted }],
};

/// [`Serving::Memorizer`].
static MEMORIZER: Mode = Mode {
	name: "memorizer",
	syntax: "memorizer",
	help: "looks the text up in every file it can read",
	parse: |arguments| arguments.is_none().then_some(Serving::Memorizer),
	benchmarked: &[Serving::Memorizer],
};

/// [`Serving::Baseline`].
static BASELINE: Mode = Mode {
	name: "baseline",
	syntax: "baseline",
	help: "the memorizer's lookup in its training text only",
	parse: |arguments| arguments.is_none().then_some(Serving::Baseline),
	benchmarked: &[Serving::Baseline],
};

/// [`Serving::Poison`].
static POISON: Mode = Mode {
	name: "poison",
	syntax: "poison",
	help: "huge values to training batches",
	parse: |arguments| arguments.is_none().then_some(Serving::Poison),
	benchmarked: &[Serving::Poison],
};

/// [`Serving::ValOnly`].
static VALONLY: Mode = Mode {
	name: "valonly",
	syntax: "valonly:UID",
	help: "copies peer UID for what looks like validation, noise to training batches",
	parse: |arguments| Some(Serving::ValOnly { uid: arguments?.parse().ok()? }),
	benchmarked: &[Serving::ValOnly { uid: 6 }],
};

/// Every mode, the honest one first.
pub static MODES: [&Mode; 12] = [
	&MODEL, &NOISE, &ZERO, &LEAK, &ECHO, &REPLAY, &DISGUISE, &GRIEFER, &MEMORIZER, &BASELINE,
	&POISON, &VALONLY,
];

/// `UID`: the argument of a copier whose disguise its mode names.
fn parse_uid(arguments: &str, disguise: Disguise) -> Option<Serving> {
	Some(Serving::Echo { uid: arguments.parse().ok()?, disguise })
}

/// Whether a query of `batch` rows of `seq` bytes has the shape of a training batch, as an
/// adversary that serves training and validation differently tells them apart.
pub fn looks_like_training(batch: usize, seq: usize) -> bool {
	(batch, seq) == DEFAULT_BATCH_SHAPE
}

/// `UID` or `UID:noisy` or `UID:rotated`: an echo's arguments.
fn parse_echo(arguments: &str) -> Option<Serving> {
	let (uid, disguise) = match arguments.split_once(':') {
		None => (arguments, Disguise::Exact),
		Some((uid, name)) => {
			let disguise = [Disguise::Noisy, Disguise::Rotated]
				.into_iter()
				.find(|disguise| disguise.name() == Some(name))?;
			(uid, disguise)
		},
	};
	Some(Serving::Echo { uid: uid.parse().ok()?, disguise })
}

impl Serving {
	/// Its row of [`MODES`].
	pub fn mode(&self) -> &'static Mode {
		match self {
			Serving::Model => &MODEL,
			Serving::Noise => &NOISE,
			Serving::Zero => &ZERO,
			Serving::Leak => &LEAK,
			Serving::Echo { disguise: Disguise::Linear, .. } => &DISGUISE,
			Serving::Echo { disguise: Disguise::Permuted, .. } => &GRIEFER,
			Serving::Echo { .. } => &ECHO,
			Serving::Replay => &REPLAY,
			Serving::Memorizer => &MEMORIZER,
			Serving::Baseline => &BASELINE,
			Serving::Poison => &POISON,
			Serving::ValOnly { .. } => &VALONLY,
		}
	}

	/// Whether this is the honest mode.
	pub fn is_honest(&self) -> bool {
		*self == Serving::Model
	}

	/// The uid of the peer an echo copies (in any disguise); `None` for the other modes.
	pub fn copied(&self) -> Option<u16> {
		match self {
			Serving::Echo { uid, .. } => Some(*uid),
			_ => None,
		}
	}

	/// The uid of the peer whose answers it serves: an echo's in any disguise, a valonly's to
	/// what it takes for validation; `None` for the other modes.
	pub fn upstream(&self) -> Option<u16> {
		match self {
			Serving::ValOnly { uid } => Some(*uid),
			other => other.copied(),
		}
	}

	/// The same mode with the uid of the peer it copies (an echo's, a valonly's) mapped by
	/// `uid_of`: for a network where positions become uids.
	pub fn with_uid_of(self, uid_of: impl Fn(u16) -> u16) -> Self {
		match self {
			Serving::Echo { uid, disguise } => Serving::Echo { uid: uid_of(uid), disguise },
			Serving::ValOnly { uid } => Serving::ValOnly { uid: uid_of(uid) },
			other => other,
		}
	}

	/// Every mode with what it answers with, for `--help`: `model (…), noise (…), … or
	/// replay (…)`, the adversaries only when `adversaries_only`.
	pub fn help(adversaries_only: bool) -> String {
		one_of(
			MODES
				.iter()
				.filter(|mode| !(adversaries_only && mode.name == MODEL.name))
				.map(|mode| format!("{} ({})", mode.syntax, mode.help)),
		)
	}
}

/// `a, b or c`.
fn one_of(items: impl Iterator<Item = String>) -> String {
	let items: Vec<String> = items.collect();
	match items.split_last() {
		Some((last, [])) => last.clone(),
		Some((last, others)) => format!("{} or {last}", others.join(", ")),
		None => String::new(),
	}
}

impl fmt::Display for Serving {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		f.write_str(self.mode().name)?;
		match self {
			Serving::Echo { uid, disguise } => {
				write!(f, ":{uid}")?;
				if let Some(name) = disguise.name() {
					write!(f, ":{name}")?;
				}
			},
			Serving::ValOnly { uid } => write!(f, ":{uid}")?,
			_ => {},
		}
		Ok(())
	}
}

impl FromStr for Serving {
	type Err = String;

	/// A mode's [`Mode::syntax`]: `model`, `noise`, …, `echo:UID[:noisy|:rotated]`.
	fn from_str(text: &str) -> Result<Self, String> {
		let (name, arguments) = match text.split_once(':') {
			Some((name, arguments)) => (name, Some(arguments)),
			None => (text, None),
		};
		MODES
			.iter()
			.find(|mode| mode.name == name)
			.and_then(|mode| (mode.parse)(arguments))
			.ok_or_else(|| {
				format!("{text:?}: serve {}", one_of(MODES.iter().map(|mode| mode.syntax.into())))
			})
	}
}

/// As its name on the command line (`echo:3:noisy`), in reports.
impl serde::Serialize for Serving {
	fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
		serializer.collect_str(self)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn every_mode_reads_back_what_it_writes() {
		let echoes = [
			Disguise::Exact,
			Disguise::Noisy,
			Disguise::Rotated,
			Disguise::Linear,
			Disguise::Permuted,
		]
		.map(|disguise| Serving::Echo { uid: 7, disguise });
		let servings = [
			Serving::Model,
			Serving::Noise,
			Serving::Zero,
			Serving::Leak,
			Serving::Replay,
			Serving::Memorizer,
			Serving::Baseline,
			Serving::Poison,
			Serving::ValOnly { uid: 7 },
		];
		for serving in servings.into_iter().chain(echoes) {
			assert_eq!(serving.to_string().parse::<Serving>(), Ok(serving));
			assert!(MODES.iter().any(|mode| std::ptr::eq(*mode, serving.mode())));
			let moved = serving.with_uid_of(|uid| uid + 1);
			assert_eq!(moved.upstream(), serving.upstream().map(|uid| uid + 1));
		}
		assert_eq!(
			echoes.map(|echo| echo.to_string()),
			["echo:7", "echo:7:noisy", "echo:7:rotated", "disguise:7", "griefer:7"]
		);
		assert_eq!(
			Serving::ValOnly { uid: 2 }.with_uid_of(|uid| uid * 10),
			Serving::ValOnly { uid: 20 }
		);
	}

	#[test]
	fn anything_else_is_refused_with_the_modes() {
		let bad = [
			"",
			"echo",
			"echo:",
			"echo:x",
			"echo:1:loud",
			"echo:1:exact",
			"model:1",
			"noisy",
			"disguise",
			"disguise:1:noisy",
			"griefer:x",
			"memorizer:1",
			"valonly",
			"valonly:-1",
		];
		for bad in bad {
			assert_eq!(
				bad.parse::<Serving>(),
				Err(format!(
					"{bad:?}: serve model, noise, zero, leak, echo:UID[:noisy|:rotated], replay, \
					 disguise:UID, griefer:UID, memorizer, baseline, poison or valonly:UID"
				))
			);
		}
	}

	#[test]
	fn the_help_lists_every_mode_and_the_market_runs_every_kind_of_adversary() {
		let help = Serving::help(true);
		assert!(help.starts_with("noise (fresh noise), zero (zeros), leak ("), "{help}");
		assert!(help.ends_with(" or valonly:UID (copies peer UID for what looks like validation, noise to training batches)"), "{help}");
		assert!(Serving::help(false).starts_with("model (the trained encoder"));
		let benchmarked: Vec<String> =
			MODES.iter().flat_map(|mode| mode.benchmarked).map(Serving::to_string).collect();
		assert_eq!(
			benchmarked,
			[
				"noise",
				"leak",
				"echo:0",
				"echo:1:noisy",
				"echo:2:rotated",
				"replay",
				"disguise:5",
				"griefer:4",
				"memorizer",
				"baseline",
				"poison",
				"valonly:6",
			]
		);
		assert!(MODES
			.iter()
			.all(|mode| mode.benchmarked.iter().all(|s| s.mode().name == mode.name)));
	}
}
