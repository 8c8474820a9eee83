//! What a validator knows of each peer, keyed by (uid, hotkey): a uid that changes hands starts
//! from nothing. Scores are moving averages of the *signed* Shapley values with their spread,
//! and a peer is paid only when its average is confidently above zero: noise averages to zero
//! or below and is paid nothing, where clipping every step at zero would have paid it. A peer
//! whose held-back loss is far above its visible loss is reading the future: it is flagged,
//! paid nothing and left out of the training join while the gap lasts.
//!
//! Peers whose canary answers carry the same information (see `similarity`) form a group that
//! is paid as one peer: the mean of its members' scores (not the best one's: a maximum of noisy
//! estimates is biased upwards), shared equally, since the scores of copies differ but by
//! noise. Being grouped must not be a weapon, though: a griefer that scrambles a victim's
//! answers afresh for every query can look like its copy for a while, yet no probe can use what
//! it serves, and sharing with it would halve the victim's pay. So a member whose own score is
//! not above zero on average, whose answers carry nothing, is left out of its group (and paid
//! nothing, as it would be alone): it takes nothing from the one whose answers do.

use std::collections::{BTreeMap, BTreeSet};

use super::{
	probe::Probe,
	similarity::{groups, Whitener},
};

/// Held-back minus visible cross-entropy (nats per byte) above which a peer is flagged.
pub const LEAK_GAP: f64 = 1.0;

/// Canary similarity (`similarity::Fingerprint`, averaged over cycles) above which two peers are
/// copies. On the market's peers, independent honest models stay below 0.82 and copies (exact,
/// noisy, rotated, linearly disguised, cubed, tanh'd) climb above 0.94 within a few cycles.
pub const COPY_SIMILARITY: f64 = 0.9;

/// Canary similarity below which two peers that were copies are no longer: above the highest
/// two independent models reach, and below [`COPY_SIMILARITY`], so that one unlucky cycle does
/// not part a copy from its original (and pay it alone for an epoch).
pub const UNLINK_SIMILARITY: f64 = 0.85;

/// Share of a peer's recent answers out of the protocol's bounds above which it is flagged as
/// a poisoner (see [`Ledger::observe_bounds`]).
pub const POISON_RATE: f64 = 0.1;

/// Standard errors the mean must clear above zero before a peer is paid.
pub const CONFIDENCE: f64 = 2.0;

/// Weight of the newest query in a peer's availability: a peer is paid for what it serves
/// now, so three missed queries take seven eighths of its weight and three answered ones
/// give it back.
pub const AVAILABILITY_ALPHA: f64 = 0.5;

/// A peer is presumed available until it misses a query.
fn fully_available() -> f64 {
	1.0
}

/// A moving average with its spread: the first observations are averaged equally, later ones
/// with weight `alpha`.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Estimate {
	/// The average.
	pub mean: f64,
	/// The moving variance of the observations.
	pub variance: f64,
	/// Observations so far.
	pub count: u32,
}

impl Estimate {
	/// Adds one observation (non-finite ones are ignored).
	pub fn add(&mut self, value: f64, alpha: f64) {
		if !value.is_finite() {
			return;
		}
		self.count = self.count.saturating_add(1);
		let weight = alpha.max(1.0 / f64::from(self.count));
		let delta = value - self.mean;
		self.mean += weight * delta;
		self.variance = (1.0 - weight) * (self.variance + weight * delta * delta);
	}

	/// The mean minus `z` standard errors, the number of observations capped at what the
	/// moving average remembers (`2/alpha − 1`); −∞ with fewer than two observations.
	pub fn lower_bound(&self, z: f64, alpha: f64) -> f64 {
		if self.count < 2 {
			return f64::NEG_INFINITY;
		}
		let remembered = f64::from(self.count).min(2.0 / alpha - 1.0).max(1.0);
		self.mean - z * (self.variance / remembered).sqrt()
	}
}

/// One peer, as long as one hotkey holds its uid.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PeerRecord {
	/// The hotkey (SS58) the record belongs to.
	pub hotkey: String,
	/// Shapley values on held-back bytes (nats per byte).
	pub score: Estimate,
	/// Held-back minus visible cross-entropy of its probe.
	pub leak_gap: Estimate,
	/// Whether it is flagged for reading the future.
	pub flagged: bool,
	/// Moving average of whether its answers broke the protocol's bound on values
	/// (`protocol::check_answer`: not finite, or beyond ±1e4), poison for whoever trains on
	/// them; above [`POISON_RATE`] it is flagged.
	#[serde(default)]
	pub out_of_bounds: Estimate,
	/// Moving average of whether it answered its queries (1 each answer, 0 each failure).
	#[serde(default = "fully_available")]
	pub availability: f64,
	/// Its probe (not checkpointed: it relearns in a few queries).
	#[serde(skip)]
	pub probe: Option<Probe>,
	/// What whitens its canary answers (not checkpointed: it relearns in a few cycles).
	#[serde(skip)]
	pub whitener: Option<Whitener>,
}

impl PeerRecord {
	/// Whether it is flagged: for reading the future, or for poison.
	pub fn is_flagged(&self) -> bool {
		self.flagged || self.out_of_bounds.mean > POISON_RATE
	}

	fn new(hotkey: &str) -> Self {
		Self {
			hotkey: hotkey.to_string(),
			score: Estimate::default(),
			leak_gap: Estimate::default(),
			flagged: false,
			out_of_bounds: Estimate::default(),
			availability: fully_available(),
			probe: None,
			whitener: None,
		}
	}
}

/// Every peer's record, and how alike the peers' canary answers are.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Ledger {
	/// Weight of the newest observation in every moving average.
	pub alpha: f64,
	/// uid → record.
	pub peers: BTreeMap<u16, PeerRecord>,
	/// (smaller uid, larger uid) → moving average of their canary similarity.
	#[serde(with = "pairs")]
	pub similarity: BTreeMap<(u16, u16), f64>,
	/// The pairs (smaller uid first) found copies: linked when their similarity passes
	/// [`COPY_SIMILARITY`], parted when it falls below [`UNLINK_SIMILARITY`].
	#[serde(default)]
	pub linked: BTreeSet<(u16, u16)>,
}

/// `similarity` as a list, since JSON keys are strings.
mod pairs {
	use std::collections::BTreeMap;

	use serde::{Deserialize, Deserializer, Serialize, Serializer};

	pub fn serialize<S: Serializer>(
		map: &BTreeMap<(u16, u16), f64>,
		serializer: S,
	) -> Result<S::Ok, S::Error> {
		map.iter()
			.map(|((a, b), s)| (*a, *b, *s))
			.collect::<Vec<_>>()
			.serialize(serializer)
	}

	pub fn deserialize<'de, D: Deserializer<'de>>(
		deserializer: D,
	) -> Result<BTreeMap<(u16, u16), f64>, D::Error> {
		let list = Vec::<(u16, u16, f64)>::deserialize(deserializer)?;
		Ok(list.into_iter().map(|(a, b, s)| ((a, b), s)).collect())
	}
}

impl Ledger {
	/// An empty ledger whose moving averages weigh the newest observation by `alpha`.
	pub fn new(alpha: f64) -> Self {
		Self { alpha, peers: BTreeMap::new(), similarity: BTreeMap::new(), linked: BTreeSet::new() }
	}

	/// Follows the metagraph's registered `(uid, hotkey)` pairs: a uid now held by another
	/// hotkey, or no longer registered, loses its record and its similarities. Returns those
	/// uids, for whatever else is kept per peer.
	pub fn follow_registrations<'a>(
		&mut self,
		registered: impl IntoIterator<Item = (u16, &'a str)>,
	) -> Vec<u16> {
		let registered: BTreeMap<u16, &str> = registered.into_iter().collect();
		let stale: Vec<u16> = self
			.peers
			.iter()
			.filter(|(uid, record)| registered.get(uid) != Some(&record.hotkey.as_str()))
			.map(|(uid, _)| *uid)
			.collect();
		for uid in &stale {
			self.peers.remove(uid);
		}
		self.similarity.retain(|(a, b), _| !stale.contains(a) && !stale.contains(b));
		self.linked.retain(|(a, b)| !stale.contains(a) && !stale.contains(b));
		for (uid, hotkey) in registered {
			self.peers.entry(uid).or_insert_with(|| PeerRecord::new(hotkey));
		}
		stale
	}

	/// The record of `uid` (a new one, of an unknown hotkey, if it has none).
	pub fn record(&mut self, uid: u16) -> &mut PeerRecord {
		self.peers.entry(uid).or_insert_with(|| PeerRecord::new(""))
	}

	/// Records one query's outcome for `uid`: its Shapley value (0 when it failed to answer)
	/// and, when it answered, its leak gap. Flags it when the gap's average passes
	/// [`LEAK_GAP`] (and forgets its score), unflags it when the average falls below half.
	pub fn observe(&mut self, uid: u16, shapley: f64, leak_gap: Option<f64>) {
		let alpha = self.alpha;
		let record = self.record(uid);
		let answered = if leak_gap.is_some() { 1.0 } else { 0.0 };
		record.availability += AVAILABILITY_ALPHA * (answered - record.availability);
		if let Some(gap) = leak_gap {
			record.leak_gap.add(gap, alpha);
		}
		let gap = record.leak_gap.mean;
		if !record.flagged && record.leak_gap.count >= 2 && gap > LEAK_GAP {
			record.flagged = true;
			record.score = Estimate::default();
		} else if record.flagged && gap < LEAK_GAP / 2.0 {
			record.flagged = false;
		}
		if !record.flagged {
			record.score.add(shapley, alpha);
		}
	}

	/// Adds one cycle's canary similarity of two peers, and links or parts them.
	pub fn observe_similarity(&mut self, a: u16, b: u16, similarity: f64) {
		let alpha = self.alpha.max(0.3);
		let pair = (a.min(b), a.max(b));
		let entry = self.similarity.entry(pair).or_insert(similarity);
		*entry += alpha * (similarity - *entry);
		if *entry > COPY_SIMILARITY {
			self.linked.insert(pair);
		} else if *entry < UNLINK_SIMILARITY {
			self.linked.remove(&pair);
		}
	}

	/// Whether `uid` is flagged.
	pub fn flagged(&self, uid: u16) -> bool {
		self.peers.get(&uid).is_some_and(PeerRecord::is_flagged)
	}

	/// Records whether an answer of `uid` broke the protocol's bound on values: one that did
	/// weighs half the average (so it flags the peer at once), a clean one `alpha` (so about
	/// fifteen in a row clear it).
	pub fn observe_bounds(&mut self, uid: u16, out_of_bounds: bool) {
		let (value, weight) = if out_of_bounds { (1.0, 0.5) } else { (0.0, self.alpha) };
		self.record(uid).out_of_bounds.add(value, weight);
	}

	/// The groups of peers whose canary answers are copies of each other (groups of one
	/// left out), each in uid order.
	pub fn copies(&self) -> Vec<Vec<u16>> {
		let uids: Vec<u16> = self.peers.keys().copied().collect();
		let index = |uid: &u16| uids.binary_search(uid).ok();
		let linked: Vec<(usize, usize)> = self
			.similarity
			.iter()
			.filter(|(pair, similarity)| {
				**similarity > COPY_SIMILARITY
					|| (self.linked.contains(pair) && **similarity >= UNLINK_SIMILARITY)
			})
			.filter_map(|((a, b), _)| Some((index(a)?, index(b)?)))
			.collect();
		groups(uids.len(), &linked)
			.into_iter()
			.filter(|group| group.len() > 1)
			.map(|group| group.iter().filter_map(|i| uids.get(*i).copied()).collect())
			.collect()
	}

	/// Every peer's score before copies share theirs, what it would be paid alone: its mean
	/// Shapley value when confidently above zero and not flagged, else 0, times its
	/// availability.
	pub fn own_scores(&self) -> BTreeMap<u16, f64> {
		self.peers
			.iter()
			.map(|(uid, record)| {
				let confident = record.score.lower_bound(CONFIDENCE, self.alpha) > 0.0;
				let payable =
					if confident && !record.is_flagged() { record.score.mean } else { 0.0 };
				(*uid, payable * record.availability)
			})
			.collect()
	}

	/// Every peer's payable score: its own ([`Ledger::own_scores`]), but a group of copies
	/// shares one peer's score equally, the mean of its members' (see the module's docs), but
	/// for members whose mean score is not above zero, which are left out.
	pub fn scores(&self) -> BTreeMap<u16, f64> {
		let mut scores = self.own_scores();
		for group in self.copies() {
			let informative: Vec<u16> = group
				.into_iter()
				.filter(|uid| self.peers.get(uid).is_some_and(|record| record.score.mean > 0.0))
				.collect();
			let total: f64 = informative.iter().filter_map(|uid| scores.get(uid)).sum();
			let share = total / (informative.len() * informative.len()).max(1) as f64;
			for uid in informative {
				scores.insert(uid, share);
			}
		}
		scores
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	impl Ledger {
		/// The payable score of `uid`, 0 when unknown.
		fn get(&self, uid: u16) -> f64 {
			self.scores().get(&uid).copied().unwrap_or(0.0)
		}
	}

	#[test]
	fn a_uid_that_changes_hands_starts_from_nothing() {
		let mut ledger = Ledger::new(0.5);
		ledger.follow_registrations([(1, "alice"), (2, "bob")]);
		for _ in 0..4 {
			ledger.observe(1, 0.4, Some(0.0));
			ledger.observe(2, 0.2 + 0.01 * f64::from(ledger.peers[&2].score.count), Some(0.0));
		}
		ledger.observe_similarity(1, 2, 0.5);
		assert!(ledger.get(1) > 0.0 && ledger.get(2) > 0.0);
		// uid 2 is deregistered and taken by carol: bob's record is not hers.
		assert_eq!(ledger.follow_registrations([(1, "alice"), (2, "carol")]), vec![2]);
		assert!(ledger.get(1) > 0.0);
		assert_eq!((ledger.get(2), ledger.peers[&2].score.count), (0.0, 0));
		assert_eq!(ledger.peers[&2].hotkey, "carol");
		assert!(ledger.similarity.is_empty());
		// A checkpointed ledger loads back.
		let text = serde_json::to_string(&ledger).expect("serialise");
		let loaded: Ledger = serde_json::from_str(&text).expect("deserialise");
		assert_eq!(loaded.scores(), ledger.scores());
	}

	#[test]
	fn a_peer_that_stops_answering_loses_its_weight_fast_and_regains_it_fast() {
		let mut ledger = Ledger::new(0.1);
		for _ in 0..20 {
			ledger.observe(1, 0.3, Some(0.0));
			ledger.observe(2, 0.3, Some(0.0));
		}
		let full = ledger.get(1);
		assert!(full > 0.0 && (ledger.get(2) - full).abs() < 1e-12);
		// Three missed queries take seven eighths of its weight, not a tenth each.
		for _ in 0..3 {
			ledger.observe(1, 0.0, None);
		}
		assert!(ledger.get(1) < full / 6.0, "{} of {full}", ledger.get(1));
		for _ in 0..3 {
			ledger.observe(1, 0.3, Some(0.0));
		}
		assert!(ledger.get(1) > full * 0.6, "{} of {full}", ledger.get(1));
		// A ledger checkpointed before availability was kept loads as fully available.
		let mut old = serde_json::to_value(&ledger).expect("serialise");
		old["peers"]["2"].as_object_mut().expect("a record").remove("availability");
		let loaded: Ledger = serde_json::from_value(old).expect("deserialise");
		assert_eq!(loaded.peers[&2].availability, 1.0);
	}

	#[test]
	fn only_confidently_positive_scores_are_paid() {
		let mut ledger = Ledger::new(0.1);
		// Zero-mean noise of large spread, and a small steady gain.
		for step in 0..40 {
			let sign = if step % 2 == 0 { 1.0 } else { -1.0 };
			ledger.observe(1, sign * 0.5 + 0.01, Some(0.0));
			ledger.observe(2, 0.05 + 0.01 * sign, Some(0.0));
			ledger.observe(3, f64::NAN, None);
		}
		assert_eq!(ledger.get(1), 0.0, "noise around zero");
		assert!((ledger.get(2) - 0.05).abs() < 0.01);
		assert_eq!(ledger.get(3), 0.0, "nothing finite observed");
		assert_eq!(ledger.get(9), 0.0, "unknown");
	}

	#[test]
	fn a_peer_that_reads_the_future_is_flagged_until_it_stops() {
		let mut ledger = Ledger::new(0.2);
		for _ in 0..5 {
			ledger.observe(4, 0.3, Some(0.0));
		}
		assert!(ledger.get(4) > 0.0);
		ledger.observe(4, 0.3, Some(3.0));
		ledger.observe(4, 0.3, Some(3.0));
		assert!(ledger.flagged(4));
		assert_eq!((ledger.get(4), ledger.peers[&4].score.count), (0.0, 0));
		for _ in 0..20 {
			ledger.observe(4, 0.3, Some(0.0));
		}
		assert!(!ledger.flagged(4), "honest again");
		assert!(ledger.get(4) > 0.0);
	}

	#[test]
	fn copies_share_one_peers_score() {
		let mut ledger = Ledger::new(0.2);
		for _ in 0..10 {
			ledger.observe(1, 0.4, Some(0.0));
			ledger.observe(2, 0.3, Some(0.0));
			ledger.observe(3, 0.3, Some(0.0));
		}
		ledger.observe_similarity(3, 1, 0.99);
		ledger.observe_similarity(1, 2, 0.7);
		assert_eq!(ledger.copies(), vec![vec![1, 3]]);
		let scores = ledger.scores();
		// One peer's score, the mean of theirs (0.35), split in two.
		assert!((scores[&1] - 0.175).abs() < 1e-9 && (scores[&3] - 0.175).abs() < 1e-9);
		assert!((scores[&2] - 0.3).abs() < 1e-9);
	}

	#[test]
	fn a_copy_stays_linked_through_an_unlucky_cycle_and_a_near_pair_is_never_linked() {
		let mut ledger = Ledger::new(0.1);
		for uid in 1..=4 {
			ledger.observe(uid, 0.3, Some(0.0));
		}
		ledger.observe_similarity(1, 2, 0.97);
		ledger.observe_similarity(3, 4, 0.87);
		assert_eq!(ledger.copies(), vec![vec![1, 2]]);
		// One cycle at 0.7 brings the copy's average to 0.889: below 0.9, above 0.85; it stays
		// linked. The near pair climbs to 0.879 and stays apart.
		ledger.observe_similarity(1, 2, 0.7);
		ledger.observe_similarity(3, 4, 0.9);
		assert!(ledger.similarity[&(1, 2)] < COPY_SIMILARITY);
		assert!(ledger.similarity[&(3, 4)] < COPY_SIMILARITY);
		assert_eq!(ledger.copies(), vec![vec![1, 2]]);
		// Several cycles below: they are parted, and a later 0.88 does not join them again.
		for _ in 0..3 {
			ledger.observe_similarity(1, 2, 0.6);
		}
		assert!(ledger.copies().is_empty());
		for _ in 0..10 {
			ledger.observe_similarity(1, 2, 0.88);
		}
		assert!(ledger.copies().is_empty());
		// A uid that changes hands takes its links with it.
		ledger.observe_similarity(3, 4, 0.99);
		ledger.follow_registrations([(1, ""), (2, ""), (3, "")]);
		assert!(ledger.linked.is_empty() && ledger.copies().is_empty());
	}

	#[test]
	fn a_member_that_carries_nothing_takes_nothing_from_its_group() {
		let mut ledger = Ledger::new(0.1);
		// A victim (1) and an exact copy of it (2) score alike but for noise; a griefer (3)
		// scores nothing on average, a little below zero (it misleads the mixture).
		for step in 0..40 {
			let sign = if step % 2 == 0 { 1.0 } else { -1.0 };
			ledger.observe(1, 0.4 + 0.05 * sign, Some(0.0));
			ledger.observe(2, 0.4 - 0.05 * sign, Some(0.0));
			ledger.observe(3, -0.01 + 0.02 * sign, Some(0.0));
		}
		let alone = ledger.scores();
		assert_eq!(alone[&3], 0.0);
		ledger.observe_similarity(1, 3, 0.99);
		assert_eq!(ledger.copies(), vec![vec![1, 3]]);
		let with_griefer = ledger.scores();
		assert_eq!(with_griefer[&1], alone[&1], "the victim keeps its pay");
		assert_eq!(with_griefer[&3], 0.0);
		// With its copy, the victim shares one peer's score; the griefer changes nothing.
		ledger.observe_similarity(1, 2, 0.99);
		assert_eq!(ledger.copies(), vec![vec![1, 2, 3]]);
		let copied = ledger.scores();
		let share = (alone[&1] + alone[&2]) / 4.0;
		assert!((copied[&1] - share).abs() < 1e-12 && (copied[&2] - share).abs() < 1e-12);
		assert_eq!(copied[&3], 0.0);
	}

	#[test]
	fn a_peer_whose_answers_break_the_bounds_is_flagged_until_they_stop() {
		let mut ledger = Ledger::new(0.1);
		for _ in 0..10 {
			ledger.observe(6, 0.3, Some(0.0));
			ledger.observe_bounds(6, false);
		}
		assert!(!ledger.flagged(6) && ledger.own_scores()[&6] > 0.0);
		ledger.observe_bounds(6, true);
		assert!(ledger.flagged(6), "one poisoned answer flags it");
		assert_eq!(ledger.own_scores()[&6], 0.0);
		for _ in 0..25 {
			ledger.observe_bounds(6, false);
		}
		assert!(!ledger.flagged(6), "clean again");
		// A ledger checkpointed before the bounds were kept loads unflagged.
		let mut old = serde_json::to_value(&ledger).expect("serialise");
		old["peers"]["6"].as_object_mut().expect("a record").remove("out_of_bounds");
		let loaded: Ledger = serde_json::from_value(old).expect("deserialise");
		assert!(!loaded.flagged(6));
	}
}
