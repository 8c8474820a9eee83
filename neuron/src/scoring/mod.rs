//! Scoring: what a peer's answers are worth, measured apart from training, and how that becomes
//! chain weights. The market pays for what a validator can measure and a peer cannot fake, so
//! every part here assumes the peer is an adversary:
//!
//! - [`challenge`]: rows whose scored byte was never sent (a secret cut, a decoy after it), with
//!   secret canary rows shared by every peer of a cycle;
//! - [`probe`]: a small per-peer map from its answers to next-byte probabilities, the common space
//!   where answers are mixed and compared;
//! - [`shapley`]: exact Shapley values of the peers of a query in that space;
//! - [`similarity`]: copies found on the canary rows;
//! - [`ledger`]: signed moving averages with their spread, keyed by (uid, hotkey), leak flags and
//!   copy groups;
//! - [`validator`]: the cycle of queries that ties them together;
//! - [`weights`]: scores into a row the chain accepts (checked with the chain's own rules).

pub mod challenge;
pub mod ledger;
pub mod probe;
pub mod row;
pub mod shapley;
pub mod similarity;
pub mod validator;

pub use ledger::Ledger;
pub use row::{chain_weights, row_from_scores, WeightsError};
pub use validator::{Outcome, Query, Validator, ValidatorConfig};
