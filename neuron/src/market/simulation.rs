//! The main market as it runs: built from its fixtures, then epoch by epoch the validators
//! query the peers, turn their ledgers into rows with the chain's rules ([`Validator::row`]),
//! the copier copies the largest one's last row, and the rows go through the project's own
//! epoch ([`run_epoch`], the pallet's code), bonds carried over.

use std::{
	collections::BTreeMap,
	time::{Duration, Instant},
};

use bittensor_primitives::{
	epoch::{run_epoch, EpochInput, EpochOutput, EpochParams},
	json::decimal,
	TOKEN,
};

use super::{
	clock::StepClock,
	config::{row_rules, MarketConfig, MarketError, Row, HONEST_VALIDATORS, VALIDATORS},
	fixtures::{peers, Peer},
	outcome::{PeerReport, ValidatorReport},
};
use crate::{
	data::corpus::{Corpus, DocumentSplit},
	net::served_model::Model,
	scoring::{Ledger, Validator, ValidatorConfig},
};

/// The market: its peers (uids from 0), the text its validators draw rows from, and the
/// honest validators (uids after the peers', the copier last).
pub struct Market {
	/// Every peer.
	pub peers: Vec<Peer>,
	/// The peers' documents, training and held-out parts (the timed steps train on them).
	pub text: Corpus,
	/// The validators' documents, in no peer's copy: the text their rows come from.
	pub challenges: Vec<u8>,
	/// The validators that score, each with its ledger.
	pub validators: Vec<Validator>,
}

/// What the epochs measured.
pub struct Epochs {
	/// Each peer's incentive share, epoch by epoch.
	pub incentive: Vec<Vec<f64>>,
	/// Each validator's dividend share, epoch by epoch.
	pub dividends: Vec<Vec<f64>>,
	/// How long each query took to score.
	pub scoring_times: Vec<Duration>,
	/// How long each timed training step took.
	pub step_times: Vec<Duration>,
}

/// What the chain keeps from one epoch to the next.
struct Chain {
	/// Every uid's stake, in rao: the validators' only.
	stake: Vec<u64>,
	/// Every uid is active.
	active: Vec<bool>,
	/// The bonds of the last epoch.
	bonds: Vec<Vec<(u16, u64)>>,
	/// The rows of the last epoch, which the copier copies.
	last_rows: Vec<Row>,
}

impl Chain {
	/// `peers` peers without stake, then the [`VALIDATORS`] with theirs.
	fn new(peers: usize) -> Self {
		let uids = peers + VALIDATORS.len();
		let mut stake = vec![0u64; peers];
		stake.extend(VALIDATORS.iter().map(|(_, tao)| tao * TOKEN));
		Self {
			stake,
			active: vec![true; uids],
			bonds: vec![Vec::new(); uids],
			last_rows: vec![Vec::new(); uids],
		}
	}

	/// Runs an epoch over `rows` (one per uid), emitting one TAO; keeps its bonds and rows.
	fn epoch(&mut self, rows: Vec<Row>) -> EpochOutput {
		let output = run_epoch(
			&EpochParams::default(),
			&EpochInput {
				stake: &self.stake,
				active: &self.active,
				weights: &rows,
				bonds: &self.bonds,
				emission: TOKEN,
			},
		);
		self.bonds = output.bonds.clone();
		self.last_rows = rows;
		output
	}
}

impl Market {
	/// The peers ([`peers`]), the text and the [`HONEST_VALIDATORS`], seeded from the
	/// market's seed.
	pub fn build(config: &MarketConfig) -> Result<Self, MarketError> {
		let split = DocumentSplit::read(&config.corpus)?;
		let peers = peers(config, &split)?;
		let text = Corpus::slice(&split.peers, 0, 1)
			.ok_or(MarketError::TooFewDocuments { honest: config.honest })?;
		// The validators' rows come from text no peer has: their own documents.
		let challenges = split.challenge_text();
		let validators = (0..HONEST_VALIDATORS)
			.map(|v| {
				let seed = config.seed.wrapping_mul(31).wrapping_add(v as u64);
				Validator::new(ValidatorConfig::default(), challenges.clone(), seed)
			})
			.collect();
		Ok(Self { peers, text, challenges, validators })
	}

	/// The peers' uids.
	fn peer_uids(&self) -> Vec<u16> {
		(0..self.peers.len() as u16).collect()
	}

	/// Validator `v`'s uid.
	fn validator_uid(&self, v: usize) -> u16 {
		(self.peers.len() + v) as u16
	}

	/// Runs `config.epochs` epochs, a burst of timed training steps before each.
	pub fn run_epochs(&mut self, config: &MarketConfig) -> Result<Epochs, MarketError> {
		let mut chain = Chain::new(self.peers.len());
		let mut epochs = Epochs {
			incentive: vec![Vec::new(); self.peers.len()],
			dividends: vec![Vec::new(); VALIDATORS.len()],
			scoring_times: Vec::new(),
			step_times: Vec::new(),
		};
		let mut clock = StepClock::new();
		for epoch in 0..config.epochs {
			clock.burst(&self.text.train);
			self.validate(config.queries_per_epoch, &mut epochs.scoring_times);
			let rows = self.rows(&chain.last_rows)?;
			let output = chain.epoch(rows);
			self.record(&output, &mut epochs);
			self.print_incentive(epoch, config.epochs, &epochs.incentive);
		}
		epochs.step_times = clock.times;
		Ok(epochs)
	}

	/// Each validator makes `queries` queries and scores the answers, each scoring timed.
	fn validate(&mut self, queries: usize, scoring_times: &mut Vec<Duration>) {
		let peer_uids = self.peer_uids();
		for validator in self.validators.iter_mut() {
			for _ in 0..queries {
				let Some(query) = validator.next_query(&peer_uids) else { continue };
				let answers = query.ask(|uid| {
					self.peers.get(usize::from(uid)).map(|peer| &peer.model as &dyn Model)
				});
				let scoring = Instant::now();
				validator.score(&query, &answers);
				scoring_times.push(scoring.elapsed());
			}
		}
	}

	/// Every uid's row this epoch: the validators' own, the copier's a copy of what the
	/// largest validator set in `last_rows`, none for the peers.
	fn rows(&self, last_rows: &[Row]) -> Result<Vec<Row>, MarketError> {
		let peer_uids = self.peer_uids();
		let uids = self.peers.len() + VALIDATORS.len();
		let mut rows: Vec<Row> = vec![Vec::new(); uids];
		for (v, validator) in self.validators.iter().enumerate() {
			let uid = self.validator_uid(v);
			if let Some(row) = validator.row(&peer_uids, &row_rules(uid, uids))? {
				if let Some(slot) = rows.get_mut(usize::from(uid)) {
					*slot = row;
				}
			}
		}
		let copied = last_rows.get(usize::from(self.validator_uid(0))).cloned().unwrap_or_default();
		if let Some(row) = rows.get_mut(usize::from(self.validator_uid(HONEST_VALIDATORS))) {
			*row = copied;
		}
		Ok(rows)
	}

	/// Adds the epoch's incentive of every peer and dividends of every validator.
	fn record(&self, output: &EpochOutput, epochs: &mut Epochs) {
		for (uid, series) in epochs.incentive.iter_mut().enumerate() {
			series.push(output.incentive.get(uid).copied().map_or(0.0, decimal));
		}
		for (v, series) in epochs.dividends.iter_mut().enumerate() {
			let uid = usize::from(self.validator_uid(v));
			series.push(output.dividends.get(uid).copied().map_or(0.0, decimal));
		}
	}

	/// Prints every peer's incentive after `epoch`.
	fn print_incentive(&self, epoch: usize, epochs: usize, incentive: &[Vec<f64>]) {
		let line: Vec<String> = self
			.peers
			.iter()
			.zip(incentive)
			.map(|(peer, series)| {
				format!("{} {:.3}", peer.name, series.last().copied().unwrap_or(0.0))
			})
			.collect();
		println!("[market] epoch {}/{epochs}: incentive {}", epoch + 1, line.join(", "));
	}

	/// Each peer's series, with how many validators flag it at the end.
	pub fn peer_reports(&self, incentive: Vec<Vec<f64>>) -> Vec<PeerReport> {
		self.peers
			.iter()
			.zip(incentive)
			.enumerate()
			.map(|(uid, (peer, incentive))| {
				let uid = uid as u16;
				let validators = self.validators.len().max(1) as f64;
				let mean = |score: fn(&Ledger) -> BTreeMap<u16, f64>| {
					let of = |v: &Validator| score(&v.ledger).get(&uid).copied().unwrap_or(0.0);
					self.validators.iter().map(of).sum::<f64>() / validators
				};
				PeerReport {
					uid,
					name: peer.name.clone(),
					serving: peer.serving,
					flagged_by: self.validators.iter().filter(|v| v.ledger.flagged(uid)).count(),
					score: mean(Ledger::scores),
					own_score: mean(Ledger::own_scores),
					incentive,
				}
			})
			.collect()
	}

	/// Each validator's series.
	pub fn validator_reports(&self, dividends: Vec<Vec<f64>>) -> Vec<ValidatorReport> {
		VALIDATORS
			.iter()
			.zip(dividends)
			.enumerate()
			.map(|(v, ((name, stake), dividends))| ValidatorReport {
				uid: self.validator_uid(v),
				name: name.to_string(),
				stake_tao: *stake,
				dividends,
			})
			.collect()
	}

	/// The highest canary similarity any validator saw between two of the first `honest`
	/// peers.
	pub fn honest_similarity(&self, honest: usize) -> f64 {
		self.validators
			.iter()
			.flat_map(|v| v.ledger.similarity.iter())
			.filter(|((a, b), _)| usize::from(*a) < honest && usize::from(*b) < honest)
			.map(|(_, similarity)| *similarity)
			.fold(0.0, f64::max)
	}

	/// The groups of copies the largest validator found.
	pub fn copy_groups(&self) -> Vec<Vec<u16>> {
		self.validators.first().map(|v| v.ledger.copies()).unwrap_or_default()
	}
}
