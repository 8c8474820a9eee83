//! Validation, apart from training: which peers to query next and what their answers are
//! worth. Peers are queried in a random permutation cycle, `peers_per_query` at a time, so each
//! is measured as often as the others whatever the gate thinks of it. Each query is a
//! [`Challenge`]; each answer goes through the peer's probe; the held-back bytes give every
//! answering peer its Shapley value in the query, and the gap between held-back and visible
//! loss its leak signal. Each peer's canary answers leave a fingerprint (its probe's predictions
//! there, and the answers whitened by their running covariance), and at the end of a cycle the
//! fingerprints of every pair of peers are compared for copies.

use std::collections::{BTreeMap, BTreeSet};

use bittensor_primitives::weights::RowRules;

use super::{
	challenge::{Challenge, ChallengeMaker},
	ledger::Ledger,
	probe::Probe,
	row::{row_from_scores, WeightsError},
	shapley::{mixture_shapley, MAX_PLAYERS},
	similarity::{Fingerprint, Whitener, COMPARED_BYTES},
};
use crate::{
	data::{corpus::DEFAULT_BATCH_SHAPE, rng::Rng},
	net::{
		dendrite::ForwardResults,
		protocol::{check_answer, REPRESENTATION_DIM, VOCAB_SIZE},
		served_model::Model,
	},
};

/// How a validator queries and learns.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidatorConfig {
	/// Rows per query (one scored byte each). By default rows and bytes per row are a training
	/// batch's ([`DEFAULT_BATCH_SHAPE`]), so that no peer can tell validation from training by
	/// its shape.
	pub rows: usize,
	/// Bytes per row.
	pub seq: usize,
	/// Rows of every query that are the cycle's canaries.
	pub canaries: usize,
	/// Peers per query (at most [`MAX_PLAYERS`]).
	pub peers_per_query: usize,
	/// Visible positions each answering peer's probe learns from per query.
	pub probe_samples: usize,
	/// The probes' learning rate.
	pub probe_rate: f32,
	/// Weight of the newest observation in the moving averages.
	pub alpha: f64,
}

impl Default for ValidatorConfig {
	fn default() -> Self {
		Self {
			rows: DEFAULT_BATCH_SHAPE.0,
			seq: DEFAULT_BATCH_SHAPE.1,
			canaries: 2,
			peers_per_query: 4,
			probe_samples: 192,
			probe_rate: 0.5,
			alpha: 0.1,
		}
	}
}

/// The peers to query next and the rows to send them.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
	/// The peers' uids.
	pub uids: Vec<u16>,
	/// The rows.
	pub challenge: Challenge,
}

impl Query {
	/// Asks each peer of the query, through `model_of` (its uid → the model answering for it,
	/// `None` when unreachable), for its answer to the rows; a failure is `None`.
	pub fn ask<'a>(
		&self,
		model_of: impl Fn(u16) -> Option<&'a dyn Model>,
	) -> Vec<Option<Vec<f32>>> {
		let challenge = &self.challenge;
		self.uids
			.iter()
			.map(|uid| {
				model_of(*uid)?.forward(&challenge.inputs, challenge.rows, challenge.seq).ok()
			})
			.collect()
	}
}

/// One peer's outcome in one query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
	/// The peer.
	pub uid: u16,
	/// Its Shapley value in the query (nats per held-back byte); 0 when it failed.
	pub shapley: f64,
	/// Held-back minus visible cross-entropy of its probe, when it answered.
	pub leak_gap: Option<f64>,
}

/// A validator's state: its ledger, its challenges and where it is in the cycle.
#[derive(Debug, Clone)]
pub struct Validator {
	config: ValidatorConfig,
	/// What it knows of every peer.
	pub ledger: Ledger,
	maker: ChallengeMaker,
	/// Byte frequencies of the validator's text: the baseline every peer is measured against.
	prior: Vec<f64>,
	/// The bytes whose predictions fingerprints compare: the prior's likeliest.
	compared: Vec<u8>,
	/// Peers still to query in this cycle, next first.
	cycle: Vec<u16>,
	/// This cycle's canary answers, per peer.
	fingerprints: BTreeMap<u16, Fingerprint>,
	rng: Rng,
}

impl Validator {
	/// A validator that draws its rows from `text` (which the peers should not have chosen).
	pub fn new(config: ValidatorConfig, text: Vec<u8>, seed: u64) -> Self {
		let mut counts = vec![1.0; VOCAB_SIZE];
		for byte in &text {
			if let Some(count) = counts.get_mut(usize::from(*byte)) {
				*count += 1.0;
			}
		}
		let total: f64 = counts.iter().sum();
		let mut compared: Vec<u8> = (0..=u8::MAX).collect();
		compared.sort_by(|a, b| {
			let count = |byte: &u8| counts.get(usize::from(*byte)).copied().unwrap_or(0.0);
			count(b).total_cmp(&count(a)).then(a.cmp(b))
		});
		compared.truncate(COMPARED_BYTES);
		let maker = ChallengeMaker::new(text, config.rows, config.seq, config.canaries, seed);
		Self {
			ledger: Ledger::new(config.alpha),
			maker,
			prior: counts.into_iter().map(|c| c / total).collect(),
			compared,
			cycle: Vec::new(),
			fingerprints: BTreeMap::new(),
			rng: Rng::new(seed ^ 0xc1c1e),
			config,
		}
	}

	/// The next peers of the cycle among `candidates` (a new cycle, in a fresh random order
	/// with fresh canaries, when this one is done), with the rows to send them; `None`
	/// without candidates.
	pub fn next_query(&mut self, candidates: &[u16]) -> Option<Query> {
		if candidates.is_empty() {
			return None;
		}
		let present: BTreeSet<u16> = candidates.iter().copied().collect();
		self.cycle.retain(|uid| present.contains(uid));
		if self.cycle.is_empty() {
			self.end_cycle();
			let mut order = candidates.to_vec();
			for i in (1..order.len()).rev() {
				order.swap(i, self.rng.below(i + 1));
			}
			self.cycle = order;
		}
		let take = self.config.peers_per_query.clamp(1, MAX_PLAYERS).min(self.cycle.len());
		let uids: Vec<u16> = self.cycle.drain(..take).collect();
		Some(Query { uids, challenge: self.maker.draw() })
	}

	/// The validator's weight row now: the score of every `registered` uid other than its own
	/// (`rules.own_uid`; 0 for a peer not scored yet) into the chain's weights under `rules`;
	/// `None` while no other peer scores above zero.
	pub fn row(
		&self,
		registered: &[u16],
		rules: &RowRules,
	) -> Result<Option<Vec<(u16, u16)>>, WeightsError> {
		let scores = self.ledger.scores();
		let others: Vec<(u16, f64)> = registered
			.iter()
			.filter(|uid| **uid != rules.own_uid)
			.map(|uid| (*uid, scores.get(uid).copied().unwrap_or(0.0)))
			.collect();
		row_from_scores(&others, rules)
	}

	/// Compares the canary answers of every pair of peers seen in the cycle, and draws new
	/// canaries.
	fn end_cycle(&mut self) {
		let prints: Vec<(u16, Fingerprint)> =
			std::mem::take(&mut self.fingerprints).into_iter().collect();
		for (i, (a, first)) in prints.iter().enumerate() {
			for (b, second) in prints.iter().skip(i + 1) {
				self.ledger.observe_similarity(*a, *b, first.similarity(second));
			}
		}
		self.maker.new_cycle();
	}

	/// Scores the dendrite's `results` for `query` (one per uid, in order) as [`Self::score`]
	/// does, with every answer the dendrite refused for its values
	/// ([`broke_bounds`](crate::net::dendrite::Outcome::broke_bounds)) held against its peer
	/// as one handed over beyond the bounds would be: a poisoner is flagged on a real network
	/// too, not merely unpaid.
	pub fn score_forward(&mut self, query: &Query, results: ForwardResults) -> Vec<Outcome> {
		for (uid, outcome) in query.uids.iter().zip(&results.outcomes) {
			if outcome.broke_bounds() {
				self.ledger.observe_bounds(*uid, true);
			}
		}
		let answers: Vec<Option<Vec<f32>>> = results
			.outcomes
			.iter()
			.zip(results.representations)
			.map(|(outcome, answer)| (!outcome.is_masked()).then_some(answer))
			.collect();
		self.score(query, &answers)
	}

	/// Scores `answers` (per uid of `query`, its representation [rows, seq, d], or `None` when
	/// it failed) and records the outcomes in the ledger. An answer of the wrong size or with
	/// a non-finite value counts as a failure.
	pub fn score(&mut self, query: &Query, answers: &[Option<Vec<f32>>]) -> Vec<Outcome> {
		let challenge = &query.challenge;
		let size = challenge.rows * challenge.seq * REPRESENTATION_DIM;
		let scored = challenge.scored();
		let visible = challenge.visible();
		let prior_of_truth: Vec<f64> = scored
			.iter()
			.map(|(_, byte)| self.prior.get(usize::from(*byte)).copied().unwrap_or(1e-6))
			.collect();
		// The canary rows' positions and the bytes shown there, the same for every answer.
		let canary: Vec<usize> = challenge
			.canary_rows
			.iter()
			.flat_map(|row| row * challenge.seq..(row + 1) * challenge.seq)
			.collect();
		let shown: Vec<u8> = canary
			.iter()
			.map(|position| challenge.inputs.get(*position).copied().unwrap_or(0) as u8)
			.collect();
		let mut answered: Vec<(u16, Vec<f64>, f64)> = Vec::new();
		let mut outcomes = Vec::new();
		for (uid, answer) in query.uids.iter().zip(answers) {
			// An answer beyond the protocol's bounds would poison whoever trains on it.
			let answer = answer.as_ref().filter(|a| a.len() == size);
			if let Some(answer) = answer {
				self.ledger.observe_bounds(*uid, check_answer(answer).is_err());
			}
			let answer = answer.filter(|a| check_answer(a).is_ok());
			let Some(answer) = answer else {
				outcomes.push(Outcome { uid: *uid, shapley: 0.0, leak_gap: None });
				continue;
			};
			let at = |position: usize| {
				answer
					.get(position * REPRESENTATION_DIM..(position + 1) * REPRESENTATION_DIM)
					.unwrap_or(&[])
			};
			let sample: Vec<(&[f32], u8)> = (0..self.config.probe_samples.min(visible.len()))
				.filter_map(|_| visible.get(self.rng.below(visible.len())))
				.map(|(position, byte)| (at(*position), *byte))
				.collect();
			let prior = &self.prior;
			let probe = self.ledger.record(*uid).probe.get_or_insert_with(|| Probe::new(prior));
			let truth: Vec<f64> = scored
				.iter()
				.map(|(position, byte)| {
					probe
						.probabilities(at(*position))
						.get(usize::from(*byte))
						.copied()
						.unwrap_or(0.0)
				})
				.collect();
			let held_back =
				truth.iter().map(|p| -p.max(1e-12).ln()).sum::<f64>() / truth.len().max(1) as f64;
			let visible_loss = probe.train(sample, self.config.probe_rate);
			answered.push((*uid, truth, held_back - visible_loss));
			if canary.is_empty() {
				continue;
			}
			let log_odds: Vec<Vec<f64>> = canary
				.iter()
				.map(|position| probe.log_odds(at(*position), &self.compared))
				.collect();
			let answers: Vec<&[f32]> = canary.iter().map(|position| at(*position)).collect();
			let print = self
				.ledger
				.record(*uid)
				.whitener
				.get_or_insert_with(|| Whitener::new(REPRESENTATION_DIM))
				.fingerprint(&answers)
				.with_predictions(&log_odds, &shown);
			self.fingerprints.insert(*uid, print);
		}
		let players: Vec<Vec<f64>> = answered.iter().map(|(_, truth, _)| truth.clone()).collect();
		let values = mixture_shapley(&prior_of_truth, &players);
		for ((uid, _, gap), shapley) in answered.iter().zip(values) {
			outcomes.push(Outcome { uid: *uid, shapley, leak_gap: Some(*gap) });
		}
		for outcome in &outcomes {
			self.ledger.observe(outcome.uid, outcome.shapley, outcome.leak_gap);
		}
		outcomes
	}
}

#[cfg(test)]
mod tests {
	use std::sync::{Arc, Mutex};

	use bittensor_primitives::weights::Perbill;

	use super::*;
	use crate::{
		data::corpus::Corpus,
		net::served_model::{EmbeddingModel, ModelError},
		scoring::similarity::tests::{apply, gaussian, spread_map},
	};

	/// Contexts a synthetic model tells apart among the two bytes before a position.
	const BUCKETS: usize = 12;

	/// A synthetic model: at each position, a code of the byte shown plus a code of what it
	/// makes of the two bytes before, hashed into [`BUCKETS`] its own way. Two of them know
	/// the byte shown alike and the context differently, as independent models do.
	struct Synthetic {
		shown: EmbeddingModel,
		context: EmbeddingModel,
		seed: u64,
	}

	impl Synthetic {
		fn new(seed: u64) -> Arc<Self> {
			Arc::new(Self {
				shown: EmbeddingModel::new(seed),
				context: EmbeddingModel::new(seed ^ 0xc0de),
				seed,
			})
		}
	}

	impl Model for Synthetic {
		fn forward(
			&self,
			tokens: &[i64],
			batch: usize,
			seq: usize,
		) -> Result<Vec<f32>, ModelError> {
			let buckets: Vec<i64> = tokens
				.chunks(seq.max(1))
				.flat_map(|row| {
					(0..row.len()).map(move |t| {
						let before = |k: usize| t.checked_sub(k).and_then(|i| row.get(i)).copied();
						let (one, two) = (before(1).unwrap_or(-1), before(2).unwrap_or(-1));
						let mut rng =
							Rng::new(self.seed ^ ((one as u64) << 16) ^ ((two as u64) << 32));
						rng.below(BUCKETS) as i64
					})
				})
				.collect();
			let shown = self.shown.forward(tokens, batch, seq)?;
			let context = self.context.forward(&buckets, batch, seq)?;
			Ok(shown.iter().zip(context).map(|(a, b)| a + 0.8 * b).collect())
		}
	}

	/// How a copier disguises the answers of the model it copies.
	enum Disguise {
		/// A fixed invertible linear map, singular values from 0.1 to 10.
		Linear(Vec<f32>),
		/// x³, elementwise.
		Cube,
		/// tanh(3x), elementwise.
		Tanh,
		/// A fresh random signed permutation of the dimensions for every query.
		Griefer(Mutex<Rng>),
	}

	/// A copier of `of`.
	struct Copy {
		of: Arc<Synthetic>,
		disguise: Disguise,
	}

	impl Model for Copy {
		fn forward(
			&self,
			tokens: &[i64],
			batch: usize,
			seq: usize,
		) -> Result<Vec<f32>, ModelError> {
			let answer = self.of.forward(tokens, batch, seq)?;
			let d = REPRESENTATION_DIM;
			Ok(match &self.disguise {
				Disguise::Linear(map) => apply(map, &answer, d),
				Disguise::Cube => answer.iter().map(|v| v.powi(3)).collect(),
				Disguise::Tanh => answer.iter().map(|v| (3.0 * v).tanh()).collect(),
				Disguise::Griefer(rng) => {
					let mut rng = rng.lock().map_err(|_| ModelError::Failed("poisoned".into()))?;
					let mut order: Vec<usize> = (0..d).collect();
					for i in (1..d).rev() {
						order.swap(i, rng.below(i + 1));
					}
					let signs: Vec<f32> =
						(0..d).map(|_| if rng.below(2) == 0 { -1.0 } else { 1.0 }).collect();
					answer
						.chunks_exact(d)
						.flat_map(|x| order.iter().zip(&signs).map(|(from, sign)| sign * x[*from]))
						.collect()
				},
			})
		}
	}

	/// Fresh noise.
	struct Noise(Mutex<Rng>);

	impl Model for Noise {
		fn forward(&self, _: &[i64], batch: usize, seq: usize) -> Result<Vec<f32>, ModelError> {
			let mut rng = self.0.lock().map_err(|_| ModelError::Failed("poisoned".into()))?;
			Ok((0..batch * seq * REPRESENTATION_DIM).map(|_| gaussian(&mut rng)).collect())
		}
	}

	#[test]
	fn copies_are_found_whatever_the_disguise_and_a_griefer_costs_its_victim_nothing() {
		let (first, second) = (Synthetic::new(1), Synthetic::new(2));
		let copy = |of: &Arc<Synthetic>, disguise| Copy { of: Arc::clone(of), disguise };
		let map = spread_map(REPRESENTATION_DIM, 0.1, 10.0, &mut Rng::new(3));
		let peers: Vec<Arc<dyn Model>> = vec![
			first.clone(),
			second.clone(),
			Arc::new(copy(&first, Disguise::Linear(map))),
			Arc::new(copy(&first, Disguise::Cube)),
			Arc::new(copy(&second, Disguise::Tanh)),
			Arc::new(copy(&first, Disguise::Griefer(Mutex::new(Rng::new(4))))),
			Arc::new(Noise(Mutex::new(Rng::new(5)))),
		];
		let (victim, griefer) = (0u16, 5u16);
		let uids: Vec<u16> = (0..peers.len() as u16).collect();
		let config = ValidatorConfig { rows: 8, seq: 64, canaries: 2, ..Default::default() };
		let mut validator = Validator::new(config, Corpus::synthetic(60_000, 3).train, 6);
		for _ in 0..80 {
			let query = validator.next_query(&uids).expect("a query");
			let answers = query.ask(|uid| peers.get(usize::from(uid)).map(|model| model.as_ref()));
			validator.score(&query, &answers);
		}
		let ledger = &validator.ledger;
		let copies = ledger.copies();
		let group_of = |uid: u16| copies.iter().find(|group| group.contains(&uid)).cloned();
		let first_group = group_of(0).expect("the first model's copies");
		assert!([2, 3].iter().all(|uid| first_group.contains(uid)), "{copies:?}");
		assert_eq!(group_of(1).map(|group| group.contains(&4)), Some(true), "{copies:?}");
		assert!(!first_group.contains(&1), "independent models are not copies: {copies:?}");
		assert_eq!(group_of(6), None, "noise copies nobody: {copies:?}");
		// Grouped with its victim or not, the griefer takes nothing from it.
		let scores = ledger.scores();
		let mut without = ledger.clone();
		without.similarity.retain(|(a, b), _| *a != griefer && *b != griefer);
		let unharmed = without.scores()[&victim];
		assert!(scores[&victim] >= 0.9 * unharmed && unharmed > 0.0, "{scores:?}, {unharmed}");
		assert_eq!(scores[&griefer], 0.0);
	}

	#[test]
	fn a_row_weighs_every_registered_peer_but_the_validator() {
		let mut validator = Validator::new(ValidatorConfig::default(), b"some text".repeat(99), 1);
		let rules = RowRules {
			own_uid: 0,
			peers: 4,
			min_allowed_weights: 3,
			max_weight_limit: Perbill::one(),
		};
		let registered = [0, 1, 2, 3];
		// Its own score counts for nothing.
		for _ in 0..10 {
			validator.ledger.observe(0, 0.9, Some(0.0));
		}
		assert_eq!(validator.row(&registered, &rules), Ok(None), "no other peer scored");
		for _ in 0..10 {
			validator.ledger.observe(2, 0.3, Some(0.0));
		}
		let row = validator.row(&registered, &rules).expect("a valid row").expect("a row");
		// The peers not scored yet get the floor that meets `MinAllowedWeights`.
		assert_eq!(row.iter().map(|(uid, _)| *uid).collect::<Vec<_>>(), vec![1, 2, 3]);
		assert_eq!(row.get(1), Some(&(2, u16::MAX)));
	}

	#[test]
	fn an_answer_beyond_the_bounds_fails_and_flags_its_peer() {
		let text: Vec<u8> = b"to be or not to be, that is the question. ".repeat(60);
		let mut validator = Validator::new(ValidatorConfig::default(), text, 3);
		let query = validator.next_query(&[0, 1]).expect("a query");
		let size = query.challenge.rows * query.challenge.seq * REPRESENTATION_DIM;
		let poison = vec![3e38f32; size];
		let plain: Vec<f32> = (0..size).map(|i| (i % 7) as f32 / 7.0).collect();
		let outcomes = validator.score(&query, &[Some(poison), Some(plain)]);
		let poisoned = outcomes.iter().find(|o| o.uid == query.uids[0]).expect("an outcome");
		assert_eq!((poisoned.shapley, poisoned.leak_gap), (0.0, None), "scored as a failure");
		assert!(validator.ledger.flagged(query.uids[0]));
		assert!(!validator.ledger.flagged(query.uids[1]));
	}
}
