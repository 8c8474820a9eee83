//! What an epoch reads and what it returns. Every mechanism's parameters live here, beside
//! [`Mechanism`] that holds them, so that the mechanisms depend on these types and never the
//! other way round.

use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use serde::{Deserialize, Serialize};
use sp_arithmetic::Perquintill;
use substrate_fixed::types::{I64F64, U64F64};

/// A peer's uid: its index in the metagraph.
pub type Uid = u16;

/// Which incentive mechanism the epoch runs.
#[derive(
	Clone,
	Copy,
	Debug,
	Default,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Serialize,
	Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub enum Mechanism {
	/// The 2021 paper's mechanism: stake-weighted rank scaled by consensus, with bonds.
	#[default]
	Yuma2021,
	/// The 2019 mechanism: stake flows along out-edges and each peer keeps its self-loop share.
	Attribution2019,
	/// Today's subtensor mechanism ([`crate::yuma3`]): consensus as each column's κ-quantile,
	/// weights clipped to it, per-pair bonds in [0, 1] (so `bonds_mode` does not apply).
	Yuma3(Yuma3Params),
}

impl Mechanism {
	/// Whether bonds are per-pair proportions in units of 2^-64 (Yuma 3) rather than rao
	/// (Yuma-2021 and the 2019 mechanism): bonds stored under one cannot be read by the other.
	pub fn uses_proportional_bonds(self) -> bool {
		match self {
			Self::Yuma2021 | Self::Attribution2019 => false,
			Self::Yuma3(_) => true,
		}
	}
}

/// How bonds accumulate from one epoch to the next.
#[derive(
	Clone,
	Copy,
	Debug,
	Default,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Serialize,
	Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub enum BondsMode {
	/// `B ← B + ΔB` (the paper).
	#[default]
	Cumulative,
	/// `B ← α·B + (1 − α)·ΔB`: old bonds fade at rate `1 − α` each epoch.
	MovingAverage {
		/// The weight `α` of the previous bonds.
		alpha: Perquintill,
	},
}

/// Whose stake judges each peer's column: rank, trust and Yuma 3's consensus are taken over
/// it. A validator never weights itself, so under [`Electorate::AllStake`] its own stake counts
/// as a vote of 0 in its own column while a staked peer that sets no weights loses nothing
/// there: not validating pays. [`Electorate::Voters`] removes that bonus.
#[derive(
	Clone,
	Copy,
	Debug,
	Default,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Serialize,
	Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub enum Electorate {
	/// Every active peer's stake, in every column (`MECHANISM.md`, the 2021 paper): a peer's
	/// own column, and every column a staked peer leaves out of its row, count that stake as a
	/// vote of 0.
	AllStake,
	/// The stake that voted (set a row of weights), other than the peer's own: each column is
	/// the stake-weighted mean of the votes cast on it, so that a validator's own column and
	/// stake that sets no weights are abstentions, not votes of 0.
	#[default]
	Voters,
}

/// Yuma 3's own hyperparameters (κ is the mechanism-wide one).
#[derive(
	Clone,
	Copy,
	Debug,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Serialize,
	Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub struct Yuma3Params {
	/// How far bonds follow the clipped weights rather than the weights as set: 1 bonds only
	/// what consensus supports.
	pub bonds_penalty: Perquintill,
	/// The bond rate α without liquid α, and its least value with it.
	pub alpha_low: Perquintill,
	/// The most liquid α may be.
	pub alpha_high: Perquintill,
	/// Steepness of liquid α's sigmoid in how far a weight is above consensus (or a bond above
	/// its weight).
	pub alpha_sigmoid_steepness: u32,
	/// Whether each pair gets its own rate (liquid α) or every pair moves at `alpha_low`.
	pub liquid_alpha_enabled: bool,
}

/// The steepest liquid α's sigmoid may be: at 1000 it is already a step at `d = ½`.
pub const MAX_ALPHA_SIGMOID_STEEPNESS: u32 = 1000;

impl Default for Yuma3Params {
	fn default() -> Self {
		Self {
			bonds_penalty: Perquintill::one(),
			alpha_low: Perquintill::from_percent(10),
			alpha_high: Perquintill::from_percent(30),
			alpha_sigmoid_steepness: 10,
			liquid_alpha_enabled: false,
		}
	}
}

impl Yuma3Params {
	/// Liquid α at subtensor's rates, from 70 % to 90 % of the way to the bonded weight each
	/// epoch: bonds follow what validators weight now, so that whoever weights a peer first
	/// holds more of it, and a copy of old weights holds little.
	pub fn liquid() -> Self {
		Self {
			alpha_low: Perquintill::from_percent(70),
			alpha_high: Perquintill::from_percent(90),
			liquid_alpha_enabled: true,
			..Self::default()
		}
	}
}

/// The hyperparameters one epoch reads.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochParams {
	/// Mechanism to run.
	pub mechanism: Mechanism,
	/// Bond accumulation rule.
	pub bonds_mode: BondsMode,
	/// Whose stake judges each column.
	pub electorate: Electorate,
	/// Consensus temperature `ρ` (steepness of the sigmoid).
	pub rho: U64F64,
	/// Consensus shift `κ`: the trust at which consensus is one half.
	pub kappa: U64F64,
}

impl Default for EpochParams {
	fn default() -> Self {
		Self {
			mechanism: Mechanism::Yuma2021,
			bonds_mode: BondsMode::Cumulative,
			electorate: Electorate::Voters,
			rho: U64F64::from_num(10),
			kappa: U64F64::from_num(0.5),
		}
	}
}

/// What the epoch computes over: `n = stake.len()` peers with uids `0..n`.
///
/// Shorter `active`, `weights` or `bonds` slices count the missing peers as inactive, with no
/// weights or bonds; entries naming a uid `>= n` are ignored.
#[derive(Clone, Copy, Debug)]
pub struct EpochInput<'a> {
	/// Each peer's stake, in rao.
	pub stake: &'a [u64],
	/// Whether each peer updated within the activity cutoff.
	pub active: &'a [bool],
	/// Each peer's last `set_weights`, as sparse `(uid, weight)` rows (self-weight included).
	pub weights: &'a [Vec<(Uid, u16)>],
	/// Bonds from the previous epoch, sparse rows: `bonds[i]` holds `(j, b_ij)` in rao.
	pub bonds: &'a [Vec<(Uid, u64)>],
	/// `E_epoch`: what this epoch may mint, in rao.
	pub emission: u64,
}

/// Everything an epoch produces, per peer and in total.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EpochOutput {
	/// Active stake, normalized.
	pub stake: Vec<Perquintill>,
	/// `R = normalize(Wᵀ·S)`, each column over its [`Electorate`].
	pub rank: Vec<Perquintill>,
	/// `T_j`: the share of `j`'s [`Electorate`] with an edge to `j`.
	pub trust: Vec<Perquintill>,
	/// `C_j = σ(ρ·(T_j − κ))`.
	pub consensus: Vec<Perquintill>,
	/// `I = normalize(R ∘ C)`.
	pub incentive: Vec<Perquintill>,
	/// `D`, normalized.
	pub dividends: Vec<Perquintill>,
	/// `E_i = D_i · E_epoch`, rounded down, in rao.
	pub emission: Vec<u64>,
	/// Bonds after this epoch, sparse rows in rao.
	pub bonds: Vec<Vec<(Uid, u64)>>,
	/// `L = −Σ_j R_j·(C_j − ½)`: positive when inflation flows to peers without consensus.
	pub loss: I64F64,
	/// `Σ E_i`: exactly what the caller must credit (never more than `E_epoch`).
	pub minted: u64,
}
