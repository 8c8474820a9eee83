//! The market's thresholds: each compares a ratio the run measured with a limit. They are one
//! table per thing they are measured on (the market as a whole, each echo beside the peer it
//! copies, the weight copier), in the order the report lists them; a threshold is its name, its
//! limit and how its ratio is measured, side by side.

use super::{
	abstain::AbstainOutcome,
	copier::{CopierOutcome, CHECKED_PERIOD, COPIER_WITH_COMMIT_REVEAL},
	outcome::PeerReport,
	poison::{PoisonOutcome, STUDY_STEPS},
};
use crate::nucleus::serving::Serving;
pub use crate::report::Check;

/// A threshold on what `On` measures.
pub struct Threshold<On> {
	/// What is compared, named after what it is measured on.
	pub name: fn(&On) -> String,
	/// The limit.
	pub limit: f64,
	/// Whether the ratio must be at least (rather than at most) the limit.
	pub at_least: bool,
	/// How the ratio is measured.
	pub ratio: fn(&On) -> f64,
}

impl<On> Threshold<On> {
	/// Measures the ratio on `on` and compares it with the limit.
	fn check(&self, on: &On) -> Check {
		Check::new((self.name)(on), (self.ratio)(on), self.limit, self.at_least)
	}
}

/// The thresholds on the market as a whole.
pub static ON_THE_MARKET: [Threshold<Steady>; 12] = [
	Threshold {
		name: |_| "noise / least-paid honest".into(),
		limit: 0.2,
		at_least: false,
		ratio: |market| market.share(Serving::Noise) / market.least_honest,
	},
	Threshold {
		name: |_| "least-paid honest / median honest".into(),
		limit: 0.33,
		at_least: true,
		ratio: |market| market.least_honest / market.median_honest,
	},
	Threshold {
		name: |_| "leak / median honest".into(),
		limit: 0.05,
		at_least: false,
		ratio: |market| market.share(Serving::Leak) / market.median_honest,
	},
	Threshold {
		name: |_| "validators flagging the leak / validators".into(),
		limit: 1.0,
		at_least: true,
		ratio: |market| {
			market.flagged_by(Serving::Leak) as f64 / market.honest_validators.max(1) as f64
		},
	},
	Threshold {
		name: |_| "replay / median honest".into(),
		limit: 0.10,
		at_least: false,
		ratio: |market| market.share(Serving::Replay) / market.median_honest,
	},
	Threshold {
		name: |_| "scoring time / training step".into(),
		limit: 0.15,
		at_least: false,
		ratio: |market| market.scoring_seconds / market.step_seconds,
	},
	Threshold {
		name: |_| "memorizer / its n-gram baseline, scores alone".into(),
		limit: 1.1,
		at_least: false,
		ratio: |market| share_ratio(market.own(Serving::Memorizer), market.own(Serving::Baseline)),
	},
	Threshold {
		name: |_| "griefer's victim / its score alone".into(),
		limit: 0.9,
		at_least: true,
		ratio: |market| market.griefers_victim_kept(),
	},
	Threshold {
		name: |_| "poison / median honest".into(),
		limit: 0.0,
		at_least: false,
		ratio: |market| market.share(Serving::Poison) / market.median_honest,
	},
	Threshold {
		name: |_| "validators flagging the poison / validators".into(),
		limit: 1.0,
		at_least: true,
		ratio: |market| {
			market.flagged_by(Serving::Poison) as f64 / market.honest_validators.max(1) as f64
		},
	},
	Threshold {
		name: |_| {
			format!("held-out loss after training beside the poisoner - without, nats ({STUDY_STEPS} steps)")
		},
		limit: 0.02,
		at_least: false,
		ratio: |market| market.poison.map_or(f64::INFINITY, |poison| poison.harm()),
	},
	Threshold {
		name: |_| "valonly / median honest".into(),
		limit: 0.1,
		at_least: false,
		ratio: |market| market.share_of_mode("valonly") / market.median_honest,
	},
];

/// `part / whole`, where nothing earned is a ratio of 0 even against nothing.
fn share_ratio(part: f64, whole: f64) -> f64 {
	if part <= 0.0 {
		0.0
	} else {
		part / whole
	}
}

/// The thresholds on each echo: it earns no more than the peer it copies, and the two together
/// no more than the copied peer would be paid alone, and a little. (Against the median honest
/// peer, as before, the pair of a copied peer paid above the median fails however exactly the
/// group shares its pay: an exact echo of a peer 1.3 times the median did.)
pub static ON_EACH_ECHO: [Threshold<EchoPair>; 2] = [
	Threshold {
		name: |pair| format!("{} / the peer it copies", pair.echo),
		limit: 1.05,
		at_least: false,
		ratio: |pair| share_ratio(pair.echo_share, pair.copied_share),
	},
	Threshold {
		name: |pair| {
			format!("({} + the peer it copies) / the peer it copies alone, scores", pair.echo)
		},
		limit: 1.15,
		at_least: false,
		ratio: |pair| share_ratio(pair.echo_score + pair.copied_score, pair.copied_own),
	},
];

/// The threshold on the validator that copies weights, under commit-reveal.
pub static ON_THE_COPIER: [Threshold<Steady>; 1] = [Threshold {
	name: |_| format!("copier / honest per TAO, Yuma 3, reveal after {CHECKED_PERIOD} tempos"),
	limit: COPIER_WITH_COMMIT_REVEAL,
	at_least: false,
	ratio: |market| market.copier_with_commit_reveal(),
}];

/// The thresholds on a staked peer that does not validate, under the default electorate: it
/// earns no more than it would validating, under either mechanism studied.
pub static ON_THE_ABSTAINER: [Threshold<Steady>; 2] = [
	Threshold {
		name: |_| "abstain / the same peer validating, Yuma-2021".into(),
		limit: 1.05,
		at_least: false,
		ratio: |market| market.abstainers_ratio("Yuma-2021"),
	},
	Threshold {
		name: |_| "abstain / the same peer validating, Yuma 3".into(),
		limit: 1.05,
		at_least: false,
		ratio: |market| market.abstainers_ratio("Yuma 3"),
	},
];

/// What the smaller studies beside the main market measured.
pub struct Studies<'a> {
	/// The copier study.
	pub copier: &'a [CopierOutcome],
	/// The poison study, when the market has a poisoner.
	pub poison: Option<PoisonOutcome>,
	/// The abstention study.
	pub abstain: &'a [AbstainOutcome],
}

/// One peer in the steady state.
struct Share {
	/// Its uid.
	uid: u16,
	/// How it serves.
	serving: Serving,
	/// Its mean incentive.
	incentive: f64,
	/// How many honest validators flag it.
	flagged_by: usize,
	/// Its payable score, copy groups shared out.
	score: f64,
	/// Its payable score alone.
	own_score: f64,
}

/// What the market-wide thresholds are measured on: the steady state of the run.
pub struct Steady {
	/// Every peer.
	peers: Vec<Share>,
	/// The least-paid honest peer's incentive.
	least_honest: f64,
	/// The median honest peer's incentive.
	median_honest: f64,
	/// Validators that score (the copier does not).
	honest_validators: usize,
	/// Median seconds a validator spends scoring one query.
	scoring_seconds: f64,
	/// Median seconds of a default training step.
	step_seconds: f64,
	/// The copier study.
	copier: Vec<CopierOutcome>,
	/// The poison study.
	poison: Option<PoisonOutcome>,
	/// The abstention study.
	abstain: Vec<AbstainOutcome>,
}

/// An echo beside the peer it copies, in the steady state.
pub struct EchoPair {
	/// The echo.
	echo: Serving,
	/// Its incentive.
	echo_share: f64,
	/// The copied peer's incentive (0 if there is no such peer).
	copied_share: f64,
	/// The echo's payable score, its group shared out.
	echo_score: f64,
	/// The copied peer's payable score, its group shared out.
	copied_score: f64,
	/// The copied peer's payable score alone.
	copied_own: f64,
}

impl Steady {
	/// The steady state of `peers`, with what the run measured besides.
	pub fn new(
		peers: &[PeerReport],
		studies: Studies,
		honest_validators: usize,
		scoring_seconds: f64,
		step_seconds: f64,
	) -> Self {
		let peers: Vec<Share> = peers
			.iter()
			.map(|peer| Share {
				uid: peer.uid,
				serving: peer.serving,
				incentive: peer.steady_incentive(),
				flagged_by: peer.flagged_by,
				score: peer.score,
				own_score: peer.own_score,
			})
			.collect();
		let mut honest: Vec<f64> = peers
			.iter()
			.filter(|peer| peer.serving.is_honest())
			.map(|peer| peer.incentive)
			.collect();
		let least_honest = honest.iter().copied().fold(f64::INFINITY, f64::min);
		let median_honest = median(&mut honest);
		Self {
			peers,
			least_honest,
			median_honest,
			honest_validators,
			scoring_seconds,
			step_seconds,
			copier: studies.copier.to_vec(),
			poison: studies.poison,
			abstain: studies.abstain.to_vec(),
		}
	}

	/// The first peer serving `serving`.
	fn peer(&self, serving: Serving) -> Option<&Share> {
		self.peers.iter().find(|peer| peer.serving == serving)
	}

	/// The incentive of the peer serving `serving` (0 if none does).
	fn share(&self, serving: Serving) -> f64 {
		self.peer(serving).map_or(0.0, |peer| peer.incentive)
	}

	/// The payable score alone of the peer serving `serving` (0 if none does).
	fn own(&self, serving: Serving) -> f64 {
		self.peer(serving).map_or(0.0, |peer| peer.own_score)
	}

	/// What the peer a griefer copies keeps of its score alone once copy groups are shared out
	/// (1 when it has nothing to lose, or there is no griefer).
	fn griefers_victim_kept(&self) -> f64 {
		let victim = self
			.peers
			.iter()
			.find(|peer| peer.serving.mode().name == "griefer")
			.and_then(|griefer| griefer.serving.copied())
			.and_then(|uid| self.peers.iter().find(|peer| peer.uid == uid));
		match victim {
			Some(victim) if victim.own_score > 0.0 => victim.score / victim.own_score,
			_ => 1.0,
		}
	}

	/// The incentive of the first peer serving the mode named `mode`, whatever peer it copies
	/// (0 if none does).
	fn share_of_mode(&self, mode: &str) -> f64 {
		self.peers
			.iter()
			.find(|peer| peer.serving.mode().name == mode)
			.map_or(0.0, |peer| peer.incentive)
	}

	/// How many validators flag the peer serving `serving` (0 if none does).
	fn flagged_by(&self, serving: Serving) -> usize {
		self.peer(serving).map_or(0, |peer| peer.flagged_by)
	}

	/// The copier's dividends per TAO over the honest validators' under Yuma 3 with
	/// commit-reveal of [`CHECKED_PERIOD`] tempos (infinite if not studied).
	fn copier_with_commit_reveal(&self) -> f64 {
		self.copier
			.iter()
			.find(|outcome| {
				outcome.period == CHECKED_PERIOD && outcome.mechanism.starts_with("Yuma 3")
			})
			.map_or(f64::INFINITY, |outcome| outcome.ratio)
	}

	/// The most a staked peer earned not validating over validating, under the mechanism whose
	/// name starts with `mechanism` and the default electorate (infinite if not studied).
	fn abstainers_ratio(&self, mechanism: &str) -> f64 {
		let electorate = bittensor_primitives::epoch::EpochParams::default().electorate;
		self.abstain
			.iter()
			.find(|outcome| {
				outcome.mechanism.starts_with(mechanism) && outcome.electorate == electorate
			})
			.map_or(f64::INFINITY, |outcome| outcome.ratio)
	}

	/// Every echo beside the peer it copies, in uid order.
	fn echoes(&self) -> Vec<EchoPair> {
		self.peers
			.iter()
			.filter_map(|echo| {
				let copied = echo.serving.copied()?;
				let copied = self.peers.iter().find(|peer| peer.uid == copied);
				Some(EchoPair {
					echo: echo.serving,
					echo_share: echo.incentive,
					copied_share: copied.map_or(0.0, |peer| peer.incentive),
					echo_score: echo.score,
					copied_score: copied.map_or(0.0, |peer| peer.score),
					copied_own: copied.map_or(0.0, |peer| peer.own_score),
				})
			})
			.collect()
	}

	/// Every threshold checked: on the market, on each echo, on the copier, then on the
	/// abstainer.
	pub fn checks(&self) -> Vec<Check> {
		let market = ON_THE_MARKET.iter().map(|threshold| threshold.check(self));
		let echoes = self
			.echoes()
			.into_iter()
			.flat_map(|pair| ON_EACH_ECHO.iter().map(move |threshold| threshold.check(&pair)));
		let copier = ON_THE_COPIER.iter().map(|threshold| threshold.check(self));
		let abstainer = ON_THE_ABSTAINER.iter().map(|threshold| threshold.check(self));
		market.chain(echoes).chain(copier).chain(abstainer).collect()
	}
}

/// The median of `values` (0 when empty).
fn median(values: &mut [f64]) -> f64 {
	values.sort_by(f64::total_cmp);
	match values.len() {
		0 => 0.0,
		n if n % 2 == 1 => values[n / 2],
		n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::nucleus::serving::{Disguise, MODES};
	use bittensor_primitives::epoch::Electorate;

	/// Four honest peers paid 0.25, 0.2, 0.25 and 0.3, then every adversary the market runs,
	/// the echo of honest peer 1 paid as much as it, the others nothing.
	fn market() -> Vec<PeerReport> {
		let honest = [0.25, 0.2, 0.25, 0.3].into_iter().map(|share| (Serving::Model, share));
		let adversaries = MODES
			.iter()
			.flat_map(|mode| mode.benchmarked)
			.map(|serving| (*serving, if serving.copied() == Some(1) { 0.2 } else { 0.0 }));
		honest
			.chain(adversaries)
			.enumerate()
			.map(|(uid, (serving, share))| PeerReport {
				uid: uid as u16,
				name: serving.to_string(),
				serving,
				flagged_by: if matches!(serving, Serving::Leak | Serving::Poison) { 3 } else { 0 },
				score: share,
				own_score: share,
				incentive: vec![1.0, share, share],
			})
			.collect()
	}

	/// The abstention study's outcome under `mechanism` and `electorate`.
	fn abstainer(mechanism: &str, electorate: Electorate, ratio: f64) -> AbstainOutcome {
		AbstainOutcome { mechanism: mechanism.into(), electorate, ratio, uid: 1 }
	}

	/// The copier study's outcome under Yuma 3 after `period` tempos.
	fn yuma3(period: usize, ratio: f64) -> CopierOutcome {
		CopierOutcome { mechanism: "Yuma 3, liquid".into(), period, ratio }
	}

	#[test]
	fn the_checks_are_the_markets_then_two_per_echo_then_the_copiers() {
		let peers = market();
		let poison = PoisonOutcome {
			with_poison: 2.01,
			without_poison: 2.0,
			finite: true,
			poisoner_chosen: 3,
		};
		let copier = [yuma3(0, 1.0), yuma3(2, 0.25)];
		let abstain = [
			abstainer("Yuma-2021", Electorate::Voters, 0.8),
			abstainer("Yuma-2021", Electorate::AllStake, 1.4),
			abstainer("Yuma 3, liquid", Electorate::Voters, 1.06),
		];
		let studies = Studies { copier: &copier, poison: Some(poison), abstain: &abstain };
		let checks = Steady::new(&peers, studies, 3, 0.01, 0.1).checks();
		let names: Vec<&str> = checks.iter().map(|check| check.name.as_str()).collect();
		assert_eq!(
			names.len(),
			25,
			"twelve on the market, two on each of five echoes, the copier's, two abstainer's"
		);
		assert_eq!(names[..2], ["noise / least-paid honest", "least-paid honest / median honest"]);
		assert_eq!(
			names[6..12],
			[
				"memorizer / its n-gram baseline, scores alone",
				"griefer's victim / its score alone",
				"poison / median honest",
				"validators flagging the poison / validators",
				"held-out loss after training beside the poisoner - without, nats (40 steps)",
				"valonly / median honest",
			]
		);
		assert_eq!(
			names[12..16],
			[
				"echo:0 / the peer it copies",
				"(echo:0 + the peer it copies) / the peer it copies alone, scores",
				"echo:1:noisy / the peer it copies",
				"(echo:1:noisy + the peer it copies) / the peer it copies alone, scores",
			]
		);
		assert_eq!(names[20], "griefer:4 / the peer it copies");
		assert_eq!(names[22], "copier / honest per TAO, Yuma 3, reveal after 2 tempos");
		assert_eq!(
			names[23..],
			[
				"abstain / the same peer validating, Yuma-2021",
				"abstain / the same peer validating, Yuma 3"
			]
		);
		let ratio = |index: usize| checks[index].ratio;
		assert_eq!(ratio(1), 0.2 / 0.25, "least over median honest");
		assert_eq!(ratio(3), 1.0, "three validators of three flag the leak");
		assert_eq!(ratio(7), 1.0, "the griefer copies a peer with nothing to lose");
		assert_eq!(ratio(9), 1.0, "three validators of three flag the poison");
		assert!((ratio(10) - 0.01).abs() < 1e-12, "the poisoner cost 0.01 nats");
		assert_eq!(ratio(14), 1.0, "the noisy echo earns what honest peer 1 does");
		// Not grouped, the pair is paid twice what the copied peer would be alone.
		assert_eq!(ratio(15), 2.0);
		assert_eq!(ratio(18), 0.0, "a copy that earns nothing, of a peer that earns nothing");
		assert_eq!(ratio(22), 0.25);
		assert_eq!(ratio(23), 0.8, "under the default electorate, not all the stake");
		let failed: Vec<&str> = checks
			.iter()
			.filter(|check| !check.passed)
			.map(|check| check.name.as_str())
			.collect();
		assert_eq!(
			failed,
			[
				"(echo:1:noisy + the peer it copies) / the peer it copies alone, scores",
				"abstain / the same peer validating, Yuma 3",
			]
		);
		assert_eq!(
			checks[1],
			Check {
				name: "least-paid honest / median honest".into(),
				ratio: 0.8,
				limit: 0.33,
				at_least: true,
				passed: true,
			}
		);
		let echo = Serving::Echo { uid: 1, disguise: Disguise::Noisy };
		assert_eq!(peers[7].serving, echo);
	}

	#[test]
	fn without_the_studies_the_copier_and_the_abstainer_fail() {
		let studies = Studies { copier: &[], poison: None, abstain: &[] };
		let checks = Steady::new(&market(), studies, 3, 0.01, 0.1).checks();
		let last: Vec<(f64, bool)> =
			checks.iter().rev().take(3).map(|check| (check.ratio, check.passed)).collect();
		assert_eq!(last, [(f64::INFINITY, false); 3]);
	}

	#[test]
	fn the_median_is_the_middle_value_or_the_mean_of_the_two() {
		assert_eq!(median(&mut []), 0.0);
		assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
		assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
	}
}
