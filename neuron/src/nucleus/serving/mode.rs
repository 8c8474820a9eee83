//! The ways an axon can serve, as one table ([`MODES`]): the command line parses and describes
//! them from it, the market benchmark takes its adversaries from it, and its report reads the
//! typed [`Serving`] rather than a mode's name. A new mode is a variant and a row here, and its
//! answers in `adversary.rs`.

use std::{fmt, str::FromStr};

/// How an echo disguises the answers it copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disguise {
	/// Returned as they came.
	Exact,
	/// With Gaussian noise of a tenth of their scale added.
	Noisy,
	/// Turned by a fixed random rotation.
	Rotated,
}

impl Disguise {
	/// Its name after an echo's uid (`echo:UID:NAME`); `None` for the exact copy, written
	/// without one.
	fn name(self) -> Option<&'static str> {
		match self {
			Disguise::Exact => None,
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

/// Every mode, the honest one first.
pub static MODES: [&Mode; 6] = [&MODEL, &NOISE, &ZERO, &LEAK, &ECHO, &REPLAY];

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
			Serving::Echo { .. } => &ECHO,
			Serving::Replay => &REPLAY,
		}
	}

	/// Whether this is the honest mode.
	pub fn is_honest(&self) -> bool {
		*self == Serving::Model
	}

	/// The uid of the peer an echo copies; `None` for the other modes.
	pub fn copied(&self) -> Option<u16> {
		match self {
			Serving::Echo { uid, .. } => Some(*uid),
			_ => None,
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
		if let Serving::Echo { uid, disguise } = self {
			write!(f, ":{uid}")?;
			if let Some(name) = disguise.name() {
				write!(f, ":{name}")?;
			}
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
		let echoes = [Disguise::Exact, Disguise::Noisy, Disguise::Rotated]
			.map(|disguise| Serving::Echo { uid: 7, disguise });
		let servings =
			[Serving::Model, Serving::Noise, Serving::Zero, Serving::Leak, Serving::Replay];
		for serving in servings.into_iter().chain(echoes) {
			assert_eq!(serving.to_string().parse::<Serving>(), Ok(serving));
			assert!(MODES.iter().any(|mode| std::ptr::eq(*mode, serving.mode())));
		}
		assert_eq!(
			echoes.map(|echo| echo.to_string()),
			["echo:7", "echo:7:noisy", "echo:7:rotated"]
		);
	}

	#[test]
	fn anything_else_is_refused_with_the_modes() {
		for bad in
			["", "echo", "echo:", "echo:x", "echo:1:loud", "echo:1:exact", "model:1", "noisy"]
		{
			assert_eq!(
				bad.parse::<Serving>(),
				Err(format!(
					"{bad:?}: serve model, noise, zero, leak, echo:UID[:noisy|:rotated] or replay"
				))
			);
		}
	}

	#[test]
	fn the_help_lists_every_mode_and_the_market_runs_every_kind_of_adversary() {
		let help = Serving::help(true);
		assert!(help.starts_with("noise (fresh noise), zero (zeros), leak ("), "{help}");
		assert!(help.ends_with(" or replay (stale answers)"), "{help}");
		assert!(Serving::help(false).starts_with("model (the trained encoder"));
		let benchmarked: Vec<String> =
			MODES.iter().flat_map(|mode| mode.benchmarked).map(Serving::to_string).collect();
		assert_eq!(
			benchmarked,
			["noise", "leak", "echo:0", "echo:1:noisy", "echo:2:rotated", "replay"]
		);
		assert!(MODES
			.iter()
			.all(|mode| mode.benchmarked.iter().all(|s| s.mode().name == mode.name)));
	}
}
