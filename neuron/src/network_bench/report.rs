//! What the network benchmark found: per neuron its held-out losses (local, student,
//! network-joined) beside its twin's at equal steps and at equal CPU, the gains with their 95 %
//! intervals, its CPU split and learning curve; the centralised bound and the n-gram baseline;
//! the thresholds, a table, a JSON report and an SVG of held-out loss against CPU seconds.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{
	cpu::CpuSplit,
	evaluation::{mean, Losses, NetworkLosses},
	simulation::{Centralised, CurvePoint, Networked, Twin},
	stats::{gap_closed, paired_gain, Interval},
	NetworkConfig, NetworkError,
};
use crate::report::{line_chart, Check, Column, Series, Table};

/// The least the network-joined model must gain over the twin at equal steps (nats/byte).
pub const NETWORK_GAIN_AT_STEPS: f64 = 0.25;
/// The least it must gain over the twin at equal CPU seconds.
pub const NETWORK_GAIN_AT_CPU: f64 = 0.10;
/// The least the student must gain over the twin at equal steps, on the union.
pub const STUDENT_GAIN: f64 = 0.03;
/// The least share of the twin-to-centralised gap the network-joined model must close.
pub const GAP_CLOSED: f64 = 0.5;
/// The most a neuron's serving may cost, as a multiple of its own training.
pub const SERVING_OVER_TRAINING: f64 = 1.5;
/// The longest the benchmark may take, seconds.
pub const MAX_SECONDS: f64 = 900.0;

/// Mean held-out losses of one neuron's models and its twin's, on some text.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MeanLosses {
	/// Its local model.
	pub local: f64,
	/// Its student (offline).
	pub student: f64,
	/// The network-joined model.
	pub network: f64,
	/// Its twin at equal steps.
	pub twin_at_steps: f64,
	/// Its twin at equal CPU seconds.
	pub twin_at_cpu: f64,
}

/// One networked neuron's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NeuronReport {
	/// Its domain.
	pub domain: String,
	/// Its steps.
	pub steps: u64,
	/// Its CPU seconds by what it spent them on.
	pub cpu: CpuSplit,
	/// Its twin's steps when its CPU reached the neuron's.
	pub twin_steps_at_cpu: u64,
	/// Its twin's CPU seconds then.
	pub twin_cpu_seconds: f64,
	/// Mean losses on the union of the held-out text.
	pub union: MeanLosses,
	/// Mean losses on its own domain's held-out text.
	pub own: MeanLosses,
	/// Network-joined over twin at equal steps, on the union (nats/byte).
	pub network_gain_at_steps: Interval,
	/// Network-joined over twin at equal CPU seconds, on the union.
	pub network_gain_at_cpu: Interval,
	/// Student over twin at equal steps, on the union.
	pub student_gain: Interval,
	/// Student over twin at equal steps, on its own domain.
	pub student_gain_own: Interval,
	/// The share of the gap between the twin at equal steps and the centralised bound that the
	/// network-joined model closes.
	pub gap_closed: Interval,
	/// Its learning curve.
	pub curve: Vec<CurvePoint>,
	/// Its twin's.
	pub twin_curve: Vec<CurvePoint>,
}

/// A model scored alone: the centralised bound or the n-gram baseline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Baseline {
	/// Mean loss on the union.
	pub union: f64,
	/// Mean loss per domain.
	pub per_domain: Vec<f64>,
	/// Steps it took (none for the n-gram).
	pub steps: u64,
	/// CPU seconds it took to train (none counted for the n-gram).
	pub cpu_seconds: f64,
}

impl Baseline {
	fn of(losses: &Losses, steps: u64, cpu_seconds: f64) -> Self {
		Self {
			union: losses.union_mean(),
			per_domain: (0..losses.per_domain.len()).map(|d| losses.domain_mean(d)).collect(),
			steps,
			cpu_seconds,
		}
	}
}

/// The whole benchmark's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetworkReport {
	/// The run's seed.
	pub seed: u64,
	/// The domains, one neuron each.
	pub domains: Vec<String>,
	/// Steps of every networked neuron.
	pub steps: u64,
	/// Rows and bytes per row of a batch.
	pub batch: [usize; 2],
	/// Held-out batches scored per domain.
	pub eval_batches: usize,
	/// Wall time of the run, seconds.
	pub seconds: f64,
	/// Every networked neuron.
	pub neurons: Vec<NeuronReport>,
	/// The network-joined model's mean loss per domain (the same model for every neuron).
	pub network_per_domain: Vec<f64>,
	/// The centralised bound.
	pub centralised: Baseline,
	/// The byte n-gram baseline, counted over every domain's training text.
	pub ngram: Baseline,
	/// The centralised model's learning curve (CPU divided among the neurons it stands for).
	pub centralised_curve: Vec<CurvePoint>,
	/// The thresholds.
	pub checks: Vec<Check>,
}

impl NetworkReport {
	/// The report of a run, with its checks.
	pub fn new(
		config: &NetworkConfig,
		neurons: &[Networked],
		network: &NetworkLosses,
		twins: &[Twin],
		centralised: &Centralised,
		ngram: Losses,
		seconds: f64,
	) -> Self {
		let bound = centralised.losses.union();
		let reports: Vec<NeuronReport> = neurons
			.iter()
			.zip(twins)
			.enumerate()
			.map(|(index, (neuron, twin))| {
				let (local, student) = (&network.local[index], &network.student[index]);
				let d = neuron.domain;
				let union = |losses: &Losses| losses.union();
				let own = |losses: &Losses| losses.per_domain[d].clone();
				NeuronReport {
					domain: config.domains[d].clone(),
					steps: config.steps,
					cpu: neuron.cpu,
					twin_steps_at_cpu: twin.steps_at_cpu,
					twin_cpu_seconds: twin.cpu_seconds,
					union: MeanLosses {
						local: local.union_mean(),
						student: student.union_mean(),
						network: network.network.union_mean(),
						twin_at_steps: twin.at_steps.union_mean(),
						twin_at_cpu: twin.at_cpu.union_mean(),
					},
					own: MeanLosses {
						local: local.domain_mean(d),
						student: student.domain_mean(d),
						network: network.network.domain_mean(d),
						twin_at_steps: twin.at_steps.domain_mean(d),
						twin_at_cpu: twin.at_cpu.domain_mean(d),
					},
					network_gain_at_steps: paired_gain(
						&union(&twin.at_steps),
						&union(&network.network),
					),
					network_gain_at_cpu: paired_gain(
						&union(&twin.at_cpu),
						&union(&network.network),
					),
					student_gain: paired_gain(&union(&twin.at_steps), &union(student)),
					student_gain_own: paired_gain(&own(&twin.at_steps), &own(student)),
					gap_closed: gap_closed(
						&union(&twin.at_steps),
						&union(&network.network),
						&bound,
						config.seed ^ index as u64,
					),
					curve: neuron.curve.clone(),
					twin_curve: twin.curve.clone(),
				}
			})
			.collect();
		let mut report = Self {
			seed: config.seed,
			domains: config.domains.clone(),
			steps: config.steps,
			batch: [config.batch, config.seq],
			eval_batches: config.eval_batches,
			seconds,
			network_per_domain: (0..config.domains.len())
				.map(|d| network.network.domain_mean(d))
				.collect(),
			centralised: Baseline::of(
				&centralised.losses,
				centralised.steps,
				centralised.cpu_seconds,
			),
			ngram: Baseline::of(&ngram, 0, 0.0),
			neurons: reports,
			checks: Vec::new(),
			centralised_curve: centralised.curve.clone(),
		};
		report.checks = report.measure_checks();
		report
	}

	/// The thresholds, per neuron and for the run.
	fn measure_checks(&self) -> Vec<Check> {
		let mut checks = Vec::new();
		for neuron in &self.neurons {
			let name = |what: &str| format!("{}: {what}", neuron.domain);
			let serving = neuron.cpu.serving / neuron.cpu.training;
			let lowest = [
				neuron.network_gain_at_steps.low,
				neuron.network_gain_at_cpu.low,
				neuron.student_gain.low,
				neuron.gap_closed.low,
			]
			.into_iter()
			.fold(f64::INFINITY, f64::min);
			checks.extend([
				Check::new(
					name("network over twin, equal steps"),
					neuron.network_gain_at_steps.mean,
					NETWORK_GAIN_AT_STEPS,
					true,
				),
				Check::new(
					name("network over twin, equal CPU"),
					neuron.network_gain_at_cpu.mean,
					NETWORK_GAIN_AT_CPU,
					true,
				),
				Check::new(
					name("student over twin, union"),
					neuron.student_gain.mean,
					STUDENT_GAIN,
					true,
				),
				// Not worse: no worse than the twin by more than the measurement can tell, the
				// interval's upper end at or above 0. Its local expert is the twin's model bit
				// for bit, so what is left is the mixture's cost of finding it in each row.
				Check::new(
					name("student not worse than twin, own domain (95 % high end)"),
					neuron.student_gain_own.high,
					0.0,
					true,
				),
				Check::new(
					name("gap to the centralised closed"),
					neuron.gap_closed.mean,
					GAP_CLOSED,
					true,
				),
				Check::new(name("lowest 95 % low end of the above"), lowest, 0.0, true),
				Check::new(
					name("serving CPU / training CPU"),
					serving,
					SERVING_OVER_TRAINING,
					false,
				),
			]);
		}
		checks.push(Check::new("wall seconds", self.seconds, MAX_SECONDS, false));
		checks
	}

	/// How many checks failed.
	pub fn failed(&self) -> usize {
		self.checks.iter().filter(|check| !check.passed).count()
	}

	/// Writes `network.json` and `held-out.svg` in `dir`; returns the JSON's path.
	pub fn write(&self, dir: &Path) -> Result<PathBuf, NetworkError> {
		let path = dir.join("network.json");
		let text = serde_json::to_string_pretty(self).unwrap_or_default();
		std::fs::write(&path, text).map_err(NetworkError::io(&path))?;
		let chart = dir.join("held-out.svg");
		let svg = line_chart(
			"Held-out loss over every domain against a neuron's CPU",
			"CPU seconds per neuron",
			"nats per byte",
			&self.series(),
		);
		std::fs::write(&chart, svg).map_err(NetworkError::io(&chart))?;
		Ok(path)
	}

	/// The chart's lines: each averaged over the neurons, point by point.
	fn series(&self) -> Vec<Series> {
		let averaged = |name: &str, curves: Vec<&[CurvePoint]>, loss: fn(&CurvePoint) -> f64| {
			let length = curves.iter().map(|c| c.len()).min().unwrap_or(0);
			let points = (0..length)
				.map(|i| {
					let at = |f: &dyn Fn(&CurvePoint) -> f64| {
						mean(&curves.iter().map(|c| f(&c[i])).collect::<Vec<_>>())
					};
					(at(&|p| p.cpu_seconds), at(&|p| loss(p)))
				})
				.collect();
			Series { name: name.to_string(), points }
		};
		let networked: Vec<&[CurvePoint]> =
			self.neurons.iter().map(|n| n.curve.as_slice()).collect();
		let twins: Vec<&[CurvePoint]> =
			self.neurons.iter().map(|n| n.twin_curve.as_slice()).collect();
		vec![
			averaged("network-joined", networked.clone(), |p| p.network.unwrap_or(f64::NAN)),
			averaged("student (offline)", networked.clone(), |p| p.student),
			averaged("local", networked, |p| p.local),
			averaged("solo twin", twins, |p| p.local),
			averaged("centralised", vec![self.centralised_curve.as_slice()], |p| p.local),
		]
	}

	/// The neurons, the baselines and the checks as tables.
	pub fn table(&self) -> String {
		format!(
			"network of {} neurons ({}), seed {}, {} steps of {} × {} bytes, in {:.0} s; \
			 held-out loss in nats per byte over {} batches per domain\n{}\
			 network-joined per domain: {}\n\
			 centralised ({} steps): union {:.3}; byte {}-gram: union {:.3}\n\
			 gains over the solo twin on the union, with 95 % intervals:\n{}\
			 CPU seconds:\n{}{}",
			self.neurons.len(),
			self.domains.join(", "),
			self.seed,
			self.steps,
			self.batch[0],
			self.batch[1],
			self.seconds,
			self.eval_batches,
			self.loss_table(),
			self.domains
				.iter()
				.zip(&self.network_per_domain)
				.map(|(d, l)| format!("{d} {l:.3}"))
				.collect::<Vec<_>>()
				.join(", "),
			self.centralised.steps,
			self.centralised.union,
			super::ngram::ORDER + 1,
			self.ngram.union,
			self.gain_table(),
			self.cpu_table(),
			Check::table(&self.checks),
		)
	}

	/// Per neuron, its models' and its twin's losses, on the union and on its own domain.
	fn loss_table(&self) -> Table {
		let mut table = Table::new([
			Column::left("neuron", 11),
			Column::left("text", 6),
			Column::right("local", 7),
			Column::right("student", 8),
			Column::right("network", 8),
			Column::right("twin@steps", 11),
			Column::right("twin@cpu", 9),
		]);
		for neuron in &self.neurons {
			for (text, losses) in [("union", &neuron.union), ("own", &neuron.own)] {
				table.row([
					neuron.domain.clone(),
					text.to_string(),
					format!("{:.3}", losses.local),
					format!("{:.3}", losses.student),
					format!("{:.3}", losses.network),
					format!("{:.3}", losses.twin_at_steps),
					format!("{:.3}", losses.twin_at_cpu),
				]);
			}
		}
		table
	}

	/// Per neuron, every gain with its interval.
	fn gain_table(&self) -> Table {
		let mut table = Table::new([
			Column::left("neuron", 11),
			Column::right("network@steps", 20),
			Column::right("network@cpu", 20),
			Column::right("student", 20),
			Column::right("student own", 20),
			Column::right("gap closed", 20),
		]);
		let cell = |i: &Interval| format!("{:.3} [{:.3}, {:.3}]", i.mean, i.low, i.high);
		for neuron in &self.neurons {
			table.row([
				neuron.domain.clone(),
				cell(&neuron.network_gain_at_steps),
				cell(&neuron.network_gain_at_cpu),
				cell(&neuron.student_gain),
				cell(&neuron.student_gain_own),
				cell(&neuron.gap_closed),
			]);
		}
		table
	}

	/// Per neuron, its CPU by what it spent it on, and its twin's.
	fn cpu_table(&self) -> Table {
		let mut table = Table::new([
			Column::left("neuron", 11),
			Column::right("training", 9),
			Column::right("serving", 8),
			Column::right("joining", 8),
			Column::right("total", 8),
			Column::right("twin steps", 11),
			Column::right("twin cpu", 9),
		]);
		for neuron in &self.neurons {
			let cpu = &neuron.cpu;
			table.row([
				neuron.domain.clone(),
				format!("{:.1}", cpu.training),
				format!("{:.1}", cpu.serving),
				format!("{:.1}", cpu.joining),
				format!("{:.1}", cpu.total()),
				neuron.twin_steps_at_cpu.to_string(),
				format!("{:.1}", neuron.twin_cpu_seconds),
			]);
		}
		table
	}
}
