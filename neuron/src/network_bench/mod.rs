//! `neuron bench-network`: whether joining the network makes a neuron smarter, measured on
//! text no one trained on. Neurons that each train on one domain (plays, a dictionary,
//! fortunes, manual pages) learn in a network ([`simulation`]) against solo twins of
//! themselves (same initial parameters, data and batch order, no peers) and a centralised
//! model trained on every domain with all their steps together; every model is scored on the
//! held-out text of every domain ([`evaluation`]) beside a byte n-gram baseline ([`ngram`]),
//! the gains with 95 % intervals ([`stats`]), every neuron's CPU accounted by what it spent it
//! on ([`cpu`]). The run ends with a table, a JSON report, an SVG of held-out loss against CPU
//! seconds, and a verdict on the thresholds of [`report`]; it fails when one is not met.
//!
//! Everything is seeded: the same seed gives the same models (CPU times vary from run to run,
//! and with them how many steps a twin takes for the same CPU).

use std::{
	path::{Path, PathBuf},
	time::Instant,
};

pub mod cpu;
pub mod evaluation;
pub mod ngram;
pub mod report;
pub mod simulation;
pub mod stats;

use evaluation::{HeldOut, Losses, NetworkLosses};
use ngram::NGram;
use report::NetworkReport;
use simulation::{train_centralised, train_network, train_twin, Schedule};

use crate::{
	data::{
		corpus::CorpusError,
		domains::{Domain, DEFAULT_DOMAINS},
	},
	nucleus::NucleusConfig,
};

/// How to run the benchmark.
#[derive(Debug, Clone)]
pub struct NetworkConfig {
	/// Where the corpora are (one directory per domain).
	pub corpora: PathBuf,
	/// The neurons' domains, one neuron each (at least two).
	pub domains: Vec<String>,
	/// Where the report and chart go.
	pub out: PathBuf,
	/// The run's seed.
	pub seed: u64,
	/// Training steps of every networked neuron.
	pub steps: u64,
	/// Rows per batch.
	pub batch: usize,
	/// Bytes per row.
	pub seq: usize,
	/// Held-out batches scored per domain.
	pub eval_batches: usize,
	/// Points of every learning curve.
	pub curve_points: u64,
	/// The models' shape.
	pub nucleus: NucleusConfig,
}

impl NetworkConfig {
	/// The configuration of the experiment: four neurons on four domains, 150 steps of
	/// 8 × 64 bytes, 12 held-out batches per domain (about 10 minutes on 2 cores).
	pub fn standard(corpora: PathBuf, out: PathBuf, seed: u64) -> Self {
		Self {
			corpora,
			domains: DEFAULT_DOMAINS.iter().map(|d| d.to_string()).collect(),
			out,
			seed,
			steps: 150,
			batch: 8,
			seq: 64,
			eval_batches: 12,
			curve_points: 6,
			nucleus: NucleusConfig::default(),
		}
	}

	/// Bytes of held-out text the evaluation reads per domain, at least.
	fn eval_rows_bytes(&self) -> usize {
		self.eval_batches * self.batch * (self.seq + 1) * 2
	}
}

/// Why the benchmark could not run, or failed.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
	/// A domain could not be read.
	#[error("{0} (run scripts/setup.sh to write the corpora)")]
	Corpus(#[from] CorpusError),
	/// The configuration cannot make the experiment.
	#[error("{0}")]
	Config(String),
	/// A result file could not be written.
	#[error("{path}: {source}")]
	Io {
		/// The file.
		path: PathBuf,
		/// Why.
		source: std::io::Error,
	},
	/// At least one threshold was not met.
	#[error("{failed} of the network's checks failed (see the table above and {report})")]
	ChecksFailed {
		/// How many.
		failed: usize,
		/// The JSON report.
		report: PathBuf,
	},
}

impl NetworkError {
	/// Makes an I/O error on `path` a [`NetworkError::Io`], for `map_err`.
	pub fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Self {
		let path = path.to_path_buf();
		move |source| Self::Io { path, source }
	}
}

/// Runs the benchmark; returns its report (also written under `out`), or the failed checks.
pub fn run(config: &NetworkConfig) -> Result<NetworkReport, NetworkError> {
	let started = Instant::now();
	check(config)?;
	std::fs::create_dir_all(&config.out).map_err(NetworkError::io(&config.out))?;
	let domains: Vec<Domain> = config
		.domains
		.iter()
		.map(|name| Domain::read(&config.corpora, name))
		.collect::<Result<_, _>>()?;
	if let Some(short) = domains.iter().find(|d| d.held_out.len() < config.eval_rows_bytes()) {
		return Err(NetworkError::Config(format!(
			"the held-out text of {} is {} bytes, too short for {} batches of {} × {}",
			short.name,
			short.held_out.len(),
			config.eval_batches,
			config.batch,
			config.seq
		)));
	}
	let progress =
		|line: &str| println!("[bench-network {:>4.0} s] {line}", started.elapsed().as_secs_f64());
	let held_out = HeldOut::of(&domains, config.batch, config.seq, config.eval_batches);
	let curve_set = HeldOut::of(&domains, config.batch, config.seq, 2);
	let schedule = Schedule {
		steps: config.steps,
		batch: config.batch,
		seq: config.seq,
		curve_every: (config.steps / config.curve_points.max(1)).max(1),
		nucleus: config.nucleus.clone(),
		seed: config.seed,
	};
	progress(&format!(
		"{} neurons on {}, {} steps each",
		domains.len(),
		config.domains.join(", "),
		config.steps
	));
	let neurons = train_network(&schedule, &domains, &curve_set, &progress);
	let trainers: Vec<_> = neurons.iter().map(|neuron| &neuron.trainer).collect();
	let network = NetworkLosses::of(&held_out, &trainers);
	let twins: Vec<_> = neurons
		.iter()
		.enumerate()
		.map(|(index, neuron)| {
			let twin = train_twin(
				&schedule,
				index,
				&domains[neuron.domain],
				neuron.cpu.total(),
				&held_out,
				&curve_set,
			);
			progress(&format!(
				"twin of {}: {} steps",
				domains[neuron.domain].name, twin.steps_at_cpu
			));
			twin
		})
		.collect();
	let centralised = train_centralised(&schedule, &domains, &held_out, &curve_set);
	progress(&format!("centralised: {} steps", centralised.steps));
	let union: Vec<u8> = domains.iter().flat_map(|d| d.train.iter().copied()).collect();
	let ngram = Losses::of_ngram(&held_out, &NGram::count(&union));
	let report = NetworkReport::new(
		config,
		&neurons,
		&network,
		&twins,
		&centralised,
		ngram,
		started.elapsed().as_secs_f64(),
	);
	verdict(config, report)
}

/// Refuses a configuration that cannot make the experiment.
fn check(config: &NetworkConfig) -> Result<(), NetworkError> {
	let bad = |reason: &str| Err(NetworkError::Config(reason.to_string()));
	if config.domains.len() < 2 {
		return bad("at least two domains: a network of one has nobody to learn from");
	}
	if config.steps == 0 || config.batch == 0 || config.seq == 0 || config.eval_batches < 2 {
		return bad("--steps, --batch and --seq must be at least 1, --eval-batches at least 2");
	}
	if config.seq > config.nucleus.context {
		return bad("--seq is longer than the model's context");
	}
	Ok(())
}

/// Writes the report and prints its table and where it went; fails if a check failed.
fn verdict(config: &NetworkConfig, report: NetworkReport) -> Result<NetworkReport, NetworkError> {
	let path = report.write(&config.out)?;
	print!("{}", report.table());
	println!(
		"[bench-network] report {} and chart {}",
		path.display(),
		config.out.join("held-out.svg").display()
	);
	match report.failed() {
		0 => Ok(report),
		failed => Err(NetworkError::ChecksFailed { failed, report: path }),
	}
}
