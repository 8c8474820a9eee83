//! What the local network earned, as the chain and the neurons' files tell it: the emission of
//! each neuron counted epoch by epoch, the live table, whom the neurons flag, and the results
//! written at the end (an SVG chart, a CSV file, the last metagraph, a JSON summary and a verdict
//! on the adversaries). Nothing here starts or stops a process, so all of it is unit-tested.

use std::{
	collections::BTreeMap,
	fs::File,
	io::BufRead,
	path::{Path, PathBuf},
};

use bittensor_primitives::{json::MetagraphJson, BlockNumber, TOKEN};
use serde::Serialize;

use super::{
	error::LocalnetError,
	members::{LocalnetConfig, Member},
};
use crate::{
	report::{line_chart, Column, Series, Table},
	runner::checkpoint::Checkpoint,
};

/// The most bytes of a neuron's last output the table shows.
const LAST_OUTPUT_WIDTH: usize = 110;

/// The emission of each neuron, counted epoch by epoch while the network runs.
#[derive(Debug, Default)]
pub(super) struct Emission {
	/// TAO earned so far, by neuron name.
	totals: BTreeMap<String, f64>,
	/// (epoch block, TAO earned by then), one point per epoch counted, by neuron name.
	series: BTreeMap<String, Vec<(f64, f64)>>,
	/// The block of the last epoch counted.
	last_epoch: Option<BlockNumber>,
}

impl Emission {
	/// Adds what the metagraph's last epoch emitted to each registered member, once per epoch
	/// (a metagraph read twice within an epoch, or before the first one, adds nothing).
	pub(super) fn record(&mut self, metagraph: &MetagraphJson, members: &[Member]) {
		let epoch = metagraph.last_epoch.block;
		if epoch == 0 || self.last_epoch == Some(epoch) {
			return;
		}
		self.last_epoch = Some(epoch);
		for member in members {
			let Some(peer) = metagraph.neuron_by_hotkey(&member.hotkey) else { continue };
			let total = self.totals.entry(member.name.clone()).or_insert(0.0);
			*total += tao(&peer.emission);
			self.series
				.entry(member.name.clone())
				.or_default()
				.push((f64::from(epoch), *total));
		}
	}

	/// TAO the neuron `name` earned so far.
	fn total(&self, name: &str) -> f64 {
		self.totals.get(name).copied().unwrap_or(0.0)
	}

	/// The neuron `name`'s (epoch block, TAO earned by then) points.
	fn points(&self, name: &str) -> Vec<(f64, f64)> {
		self.series.get(name).cloned().unwrap_or_default()
	}
}

/// A rao amount as the metagraph writes it (a decimal string), in TAO; 0 if unreadable.
fn tao(rao: &str) -> f64 {
	rao.parse::<u64>().unwrap_or(0) as f64 / TOKEN as f64
}

/// The last non-empty line of a log file.
fn last_line(path: &Path) -> String {
	let Ok(file) = File::open(path) else { return String::new() };
	std::io::BufReader::new(file)
		.lines()
		.map_while(Result::ok)
		.filter(|l| !l.trim().is_empty())
		.last()
		.unwrap_or_default()
}

/// `line` cut to at most `max` bytes, at a character boundary.
fn truncated(mut line: String, max: usize) -> String {
	let end = (0..=max.min(line.len())).rev().find(|i| line.is_char_boundary(*i)).unwrap_or(0);
	line.truncate(end);
	line
}

/// The live table: uid, name, what it serves, stake, rank, incentive, dividends, emission so
/// far, how many neurons flag it (`flags`, by uid) and what it last printed. Members not
/// registered yet are left out.
pub(super) fn table(
	metagraph: &MetagraphJson,
	members: &[Member],
	emission: &Emission,
	flags: &BTreeMap<u16, usize>,
) -> String {
	let mut table = Table::new([
		Column::right("uid", 4),
		Column::left("neuron", 6).gap(2),
		Column::left("serves", 10),
		Column::right("stake", 10),
		Column::right("rank", 7),
		Column::right("incentive", 9),
		Column::right("dividends", 9),
		Column::right("emitted (TAO)", 13),
		Column::right("flagged", 7),
		Column::left("last output", 0).gap(2),
	]);
	for member in members {
		let Some(peer) = metagraph.neuron_by_hotkey(&member.hotkey) else { continue };
		table.row([
			peer.uid.to_string(),
			member.name.clone(),
			member.serving.to_string(),
			format!("{:.3}", tao(&peer.stake)),
			format!("{:.4}", peer.rank),
			format!("{:.4}", peer.incentive),
			format!("{:.4}", peer.dividends),
			format!("{:.3}", emission.total(&member.name)),
			flags.get(&peer.uid).copied().unwrap_or(0).to_string(),
			truncated(last_line(&member.log), LAST_OUTPUT_WIDTH),
		]);
	}
	format!(
		"block {}  last epoch {}  peers {}\n{table}",
		metagraph.block,
		metagraph.last_epoch.block,
		metagraph.neurons.len()
	)
}

/// A member's label in the chart and the results: its name, and the adversary it plays.
fn label(member: &Member) -> String {
	if member.serving.is_honest() {
		member.name.clone()
	} else {
		format!("{} ({})", member.name, member.serving)
	}
}

/// One chart line per member: its cumulative emission at each epoch, adversaries labelled.
fn emission_series(members: &[Member], emission: &Emission) -> Vec<Series> {
	members
		.iter()
		.map(|member| Series { name: label(member), points: emission.points(&member.name) })
		.collect()
}

/// By uid, how many neurons flag it (their ledgers as last checkpointed; a neuron with no
/// readable checkpoint yet flags nobody).
pub(super) fn flagged_by(members: &[Member]) -> BTreeMap<u16, usize> {
	let mut counts = BTreeMap::new();
	for member in members {
		let Ok(Some(checkpoint)) = Checkpoint::read(&member.checkpoint) else { continue };
		let peers = checkpoint.ledger.peers;
		for uid in peers.iter().filter(|(_, record)| record.is_flagged()).map(|(uid, _)| uid) {
			*counts.entry(*uid).or_insert(0) += 1;
		}
	}
	counts
}

/// `neuron,block,cumulative_emission_tao` rows, one per point of each line.
fn emission_csv(lines: &[Series]) -> String {
	let mut csv = String::from("neuron,block,cumulative_emission_tao\n");
	for line in lines {
		for (block, total) in &line.points {
			csv.push_str(&format!("{},{block},{total}\n", line.name));
		}
	}
	csv
}

/// `summary.json`: each member's name, uid, what it serves, its incentive and dividends in the
/// last epoch, the TAO it earned, how many neurons flag it, and its weights on chain.
fn summary_json(
	metagraph: &MetagraphJson,
	members: &[Member],
	emission: &Emission,
	flags: &BTreeMap<u16, usize>,
) -> serde_json::Value {
	let neurons: Vec<serde_json::Value> = members
		.iter()
		.map(|member| {
			let peer = metagraph.neuron_by_hotkey(&member.hotkey);
			serde_json::json!({
				"name": member.name,
				"uid": peer.map(|p| p.uid),
				"serves": member.serving,
				"incentive": peer.map_or(0.0, |p| p.incentive),
				"dividends": peer.map_or(0.0, |p| p.dividends),
				"emission_tao": emission.total(&member.name),
				"flagged_by": peer.and_then(|p| flags.get(&p.uid)).copied().unwrap_or(0),
				"weights": peer.map(|p| p.weights.clone()).unwrap_or_default(),
			})
		})
		.collect();
	serde_json::json!({ "neurons": neurons })
}

/// Whether every adversary earned less than every honest neuron, as a sentence; `None` without
/// an adversary or an honest neuron.
fn adversary_verdict(members: &[Member], emission: &Emission) -> Option<String> {
	let earned = |honest: bool| -> Vec<(&Member, f64)> {
		members
			.iter()
			.filter(|member| member.serving.is_honest() == honest)
			.map(|member| (member, emission.total(&member.name)))
			.collect()
	};
	let (honest, adversaries) = (earned(true), earned(false));
	let least = honest.iter().map(|(_, tao)| *tao).reduce(f64::min)?;
	let (richest, most) = adversaries.into_iter().max_by(|a, b| a.1.total_cmp(&b.1))?;
	let outcome = if most < least { "earned less" } else { "did NOT earn less" };
	Some(format!(
		"every adversary {outcome} than every honest neuron: the best paid, {}, {most:.3} TAO \
		 against at least {least:.3} TAO for the honest ones",
		label(richest)
	))
}

/// Writes `text` to the file `name` in `dir`; returns its path.
fn write_file(dir: &Path, name: &str, text: &str) -> Result<PathBuf, LocalnetError> {
	let path = dir.join(name);
	std::fs::write(&path, text).map_err(LocalnetError::io(&path))?;
	Ok(path)
}

/// Writes `value` as pretty JSON to the file `name` in `dir`; returns its path.
fn write_json(dir: &Path, name: &str, value: &impl Serialize) -> Result<PathBuf, LocalnetError> {
	let text = serde_json::to_string_pretty(value)
		.map_err(|source| LocalnetError::Json { path: dir.join(name), source })?;
	write_file(dir, name, &text)
}

/// Writes `emission.svg`, `emission.csv`, `metagraph.json` and `summary.json`, says whether the
/// adversaries earned less than the honest neurons and where the chart and summary are; returns
/// the summary's path.
pub(super) fn write_results(
	config: &LocalnetConfig,
	metagraph: &MetagraphJson,
	members: &[Member],
	emission: &Emission,
	flags: &BTreeMap<u16, usize>,
) -> Result<PathBuf, LocalnetError> {
	let lines = emission_series(members, emission);
	let chart = write_file(
		&config.dir,
		"emission.svg",
		&line_chart("Emission over time", "block", "TAO emitted (cumulative)", &lines),
	)?;
	write_file(&config.dir, "emission.csv", &emission_csv(&lines))?;
	write_json(&config.dir, "metagraph.json", metagraph)?;
	let summary = write_json(
		&config.dir,
		"summary.json",
		&summary_json(metagraph, members, emission, flags),
	)?;
	if let Some(verdict) = adversary_verdict(members, emission) {
		println!("[localnet] {verdict}");
	}
	println!("[localnet] emission chart: {}", chart.display());
	println!("[localnet] summary: {}", summary.display());
	Ok(summary)
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::localnet::tests::{members, metagraph, peer};

	#[test]
	fn emission_is_counted_once_per_epoch() {
		let members = members();
		let peers = |n0: u64, n2: u64| vec![peer(&members[0], 0, n0), peer(&members[2], 1, n2)];
		let mut emission = Emission::default();
		emission.record(&metagraph(0, peers(TOKEN, TOKEN)), &members);
		assert!(emission.points("n0").is_empty(), "no epoch yet");
		emission.record(&metagraph(10, peers(TOKEN, TOKEN / 2)), &members);
		emission.record(&metagraph(10, peers(TOKEN, TOKEN / 2)), &members);
		emission.record(&metagraph(20, peers(2 * TOKEN, 0)), &members);
		assert_eq!(emission.points("n0"), [(10.0, 1.0), (20.0, 3.0)]);
		assert_eq!(emission.points("n2"), [(10.0, 0.5), (20.0, 0.5)]);
		assert_eq!(emission.total("n0"), 3.0);
		assert_eq!(emission.total("n1"), 0.0, "not registered");
		assert!(emission.points("n1").is_empty());
	}

	#[test]
	fn the_table_shows_the_registered_neurons_and_their_emission() {
		let members = members();
		let metagraph = metagraph(10, vec![peer(&members[0], 0, TOKEN), peer(&members[2], 1, 0)]);
		let mut emission = Emission::default();
		emission.record(&metagraph, &members);
		let flags = BTreeMap::from([(1, 2)]);
		let text = table(&metagraph, &members, &emission, &flags);
		let rows: Vec<&str> = text.lines().collect();
		assert_eq!(rows.len(), 4, "two header lines, and n1 is not registered:\n{text}");
		assert_eq!(rows[0], "block 11  last epoch 10  peers 2");
		assert!(rows[1].starts_with(" uid  neuron serves") && rows[1].contains(" flagged "));
		assert!(
			rows[2].starts_with("   0  n0     model ") && rows[2].contains(" 10.000 "),
			"{text}"
		);
		assert!(rows[2].contains(" 1.000       0  "), "{text}");
		assert!(rows[3].starts_with("   1  n2     noise ") && rows[3].contains(" 0.000       2  "));
	}

	#[test]
	fn the_results_label_the_adversaries_and_say_whether_they_earned_less() {
		let members = members();
		let peers = vec![
			peer(&members[0], 0, TOKEN),
			peer(&members[1], 1, TOKEN),
			peer(&members[2], 2, TOKEN / 4),
		];
		let metagraph = metagraph(10, peers);
		let mut emission = Emission::default();
		emission.record(&metagraph, &members);

		let lines = emission_series(&members, &emission);
		let labels: Vec<&str> = lines.iter().map(|line| line.name.as_str()).collect();
		assert_eq!(labels, ["n0", "n1", "n2 (noise)"]);
		assert_eq!(
			emission_csv(&lines),
			"neuron,block,cumulative_emission_tao\nn0,10,1\nn1,10,1\nn2 (noise),10,0.25\n"
		);
		let summary = summary_json(&metagraph, &members, &emission, &BTreeMap::from([(2, 2)]));
		assert_eq!(
			summary["neurons"][2],
			serde_json::json!({
				"name": "n2",
				"uid": 2,
				"serves": "noise",
				"incentive": 0.0,
				"dividends": 0.0,
				"emission_tao": 0.25,
				"flagged_by": 2,
				"weights": [[2, 65535]],
			})
		);
		assert_eq!(summary["neurons"].as_array().map(Vec::len), Some(3));
		assert_eq!(
			adversary_verdict(&members, &emission).as_deref(),
			Some(
				"every adversary earned less than every honest neuron: the best paid, n2 \
				 (noise), 0.250 TAO against at least 1.000 TAO for the honest ones"
			)
		);
		assert_eq!(adversary_verdict(&members[..2], &emission), None, "no adversary");
	}

	#[test]
	fn the_last_output_is_cut_at_a_character_boundary() {
		assert_eq!(truncated("abcdef".into(), 4), "abcd");
		assert_eq!(truncated("a→b".into(), 2), "a", "→ takes three bytes");
		assert_eq!(truncated("short".into(), LAST_OUTPUT_WIDTH), "short");
	}
}
