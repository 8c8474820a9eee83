//! The metagraph as JSON, as the node's `metagraph_*` RPC methods return it and clients read
//! it: normalized values as decimals, token amounts (rao) as decimal strings so that
//! JavaScript's numbers lose nothing, keys as SS58 addresses and endpoints as IP addresses.
//!
//! `std` only: the runtime never compiles this module, and its decimals (`f64`) are for people
//! and scripts to read; the chain keeps fixed point.

use crate::{
	epoch::{BondsMode, Electorate, Mechanism, Uid},
	metagraph::{AxonInfo, EpochSummary, Hyperparameters, Metagraph, NeuronInfo, IP_V4, IP_V6},
	AccountId, BlockNumber, SS58_PREFIX,
};
use serde::{Deserialize, Serialize};
use sp_arithmetic::{PerThing, Perbill, Perquintill};
use sp_core::crypto::{Ss58AddressFormat, Ss58Codec};
use std::net::{Ipv4Addr, Ipv6Addr};

/// The whole metagraph at one block.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetagraphJson {
	/// Number of the block it was read at.
	pub block: BlockNumber,
	/// Every hyperparameter.
	pub hyperparameters: HyperparametersJson,
	/// The least number of non-self weights `set_weights` accepts now (after the loss peg).
	pub min_allowed_weights: u16,
	/// Sum of all stake, in rao.
	pub total_stake: String,
	/// What the last epoch did.
	pub last_epoch: EpochJson,
	/// Every peer, in uid order.
	pub neurons: Vec<NeuronJson>,
}

/// One peer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NeuronJson {
	/// Index in the metagraph.
	pub uid: Uid,
	/// SS58 address of the key the peer signs with.
	pub hotkey: String,
	/// SS58 address of the key that owns its stake.
	pub coldkey: String,
	/// Stake, in rao.
	pub stake: String,
	/// Whether it updated within `activityCutoff` blocks.
	pub active: bool,
	/// Whether it holds a validator permit: only then do its weights count.
	pub validator_permit: bool,
	/// Block of its last weights or registration.
	pub last_update: BlockNumber,
	/// Block it registered at.
	pub registered_at: BlockNumber,
	/// Rank at the last epoch, in [0, 1].
	pub rank: f64,
	/// Trust at the last epoch, in [0, 1].
	pub trust: f64,
	/// Consensus at the last epoch, in [0, 1].
	pub consensus: f64,
	/// Incentive at the last epoch, in [0, 1].
	pub incentive: f64,
	/// Dividends at the last epoch, in [0, 1].
	pub dividends: f64,
	/// Rao credited at the last epoch.
	pub emission: String,
	/// Its served endpoint, if any.
	pub axon: Option<AxonJson>,
	/// `[uid, weight]` pairs, sorted by uid; weights are the raw `u16` values set.
	pub weights: Vec<(Uid, u16)>,
	/// `[uid, bond]` pairs, sorted by uid; bonds in rao-weighted units, as strings.
	pub bonds: Vec<(Uid, String)>,
}

/// A served endpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AxonJson {
	/// IPv4 or IPv6 address, as text.
	pub ip: String,
	/// TCP port.
	pub port: u16,
	/// 4 or 6.
	pub ip_type: u8,
	/// Wire protocol (0: gRPC).
	pub protocol: u8,
	/// The neuron's software version.
	pub version: u32,
	/// Block it was served at.
	pub block: BlockNumber,
}

/// What an epoch did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EpochJson {
	/// Block it ran at (0: no epoch yet).
	pub block: BlockNumber,
	/// Its loss `L = −Σ R·(C − ½)`.
	pub loss: f64,
	/// Rao it minted.
	pub minted: String,
}

/// How bonds accumulate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum BondsModeJson {
	/// `B ← B + ΔB`.
	Cumulative,
	/// `B ← α·B + (1 − α)·ΔB`.
	MovingAverage {
		/// The weight of the previous bonds, in [0, 1].
		alpha: f64,
	},
}

/// Which mechanism the epoch runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MechanismJson {
	/// The 2021 paper's.
	Yuma2021,
	/// The 2019 attribution flow.
	Attribution2019,
	/// Today's subtensor mechanism, with its own hyperparameters.
	#[serde(rename_all = "camelCase")]
	Yuma3 {
		/// How far bonds follow clipped rather than set weights, in [0, 1].
		bonds_penalty: f64,
		/// The bond rate (or its least value with liquid α), in (0, 1].
		alpha_low: f64,
		/// The most liquid α may be, in [`alpha_low`, 1].
		alpha_high: f64,
		/// Steepness of liquid α's sigmoid.
		alpha_sigmoid_steepness: u32,
		/// Whether each pair gets its own rate.
		liquid_alpha_enabled: bool,
	},
}

impl From<Mechanism> for MechanismJson {
	fn from(mechanism: Mechanism) -> Self {
		match mechanism {
			Mechanism::Yuma2021 => Self::Yuma2021,
			Mechanism::Attribution2019 => Self::Attribution2019,
			Mechanism::Yuma3(y) => Self::Yuma3 {
				bonds_penalty: decimal(y.bonds_penalty),
				alpha_low: decimal(y.alpha_low),
				alpha_high: decimal(y.alpha_high),
				alpha_sigmoid_steepness: y.alpha_sigmoid_steepness,
				liquid_alpha_enabled: y.liquid_alpha_enabled,
			},
		}
	}
}

/// Every hyperparameter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HyperparametersJson {
	/// Blocks between two epochs.
	pub tempo: u32,
	/// Consensus temperature `ρ`.
	pub rho: u32,
	/// Consensus shift `κ`, in [0, 1].
	pub kappa: f64,
	/// Rao minted per block.
	pub block_emission: String,
	/// Blocks after which a peer that has not updated is inactive.
	pub activity_cutoff: u32,
	/// The floor of `MinAllowedWeights` under the loss peg.
	pub min_allowed_weights: u16,
	/// Largest share of a row one weight may take, in (0, 1].
	pub max_weight_limit: f64,
	/// Most peers.
	pub max_allowed_uids: u16,
	/// Blocks of protection from replacement after registering.
	pub immunity_period: u32,
	/// Rao burned to register.
	pub registration_cost: String,
	/// Blocks between two `set_weights` of one peer.
	pub weights_set_rate_limit: u32,
	/// Oldest accepted weights version key.
	pub weights_version_key: u64,
	/// Most registrations per block.
	pub max_registrations_per_block: u16,
	/// Most registrations per interval.
	pub max_registrations_per_interval: u16,
	/// Blocks in a registration interval.
	pub registration_interval: u32,
	/// How bonds accumulate.
	pub bonds_mode: BondsModeJson,
	/// `"yuma2021"`, `"attribution2019"` or `{"yuma3": {...}}`.
	pub mechanism: MechanismJson,
	/// Most validator permits.
	pub max_allowed_validators: u16,
	/// Whether weights are committed and revealed rather than set.
	pub commit_reveal_enabled: bool,
	/// Blocks from a commit to its reveal window, and the window's length.
	pub commit_reveal_period: u32,
	/// Whose stake judges each column: `"voters"` or `"allStake"`.
	#[serde(default)]
	pub electorate: Electorate,
}

/// A fraction as a decimal in [0, 1].
pub fn decimal<P: PerThing>(fraction: P) -> f64
where
	P::Inner: Into<u64>,
{
	let parts: u64 = fraction.deconstruct().into();
	let one: u64 = P::ACCURACY.into();
	parts as f64 / one as f64
}

impl NeuronJson {
	/// A peer as it is right after registering at `uid`: no stake, scores, endpoint, weights or
	/// bonds yet.
	pub fn newly_registered(uid: Uid, hotkey: &AccountId, coldkey: &AccountId) -> Self {
		Self {
			uid,
			hotkey: address(hotkey),
			coldkey: address(coldkey),
			stake: "0".into(),
			active: true,
			validator_permit: false,
			last_update: 0,
			registered_at: 0,
			rank: 0.0,
			trust: 0.0,
			consensus: 0.0,
			incentive: 0.0,
			dividends: 0.0,
			emission: "0".into(),
			axon: None,
			weights: Vec::new(),
			bonds: Vec::new(),
		}
	}
}

impl MetagraphJson {
	/// The peer registered with `hotkey`, if any.
	pub fn neuron_by_hotkey(&self, hotkey: &AccountId) -> Option<&NeuronJson> {
		let address = address(hotkey);
		self.neurons.iter().find(|neuron| neuron.hotkey == address)
	}
}

/// An account as an SS58 address with the chain's prefix.
pub fn address(account: &AccountId) -> String {
	account.to_ss58check_with_version(Ss58AddressFormat::custom(SS58_PREFIX))
}

/// An endpoint's address as text; an unknown address family shows the raw number.
pub fn ip_text(ip: u128, ip_type: u8) -> String {
	match ip_type {
		IP_V4 => Ipv4Addr::from(u32::try_from(ip).unwrap_or(u32::MAX)).to_string(),
		IP_V6 => Ipv6Addr::from(ip).to_string(),
		_ => ip.to_string(),
	}
}

impl From<Hyperparameters> for HyperparametersJson {
	fn from(h: Hyperparameters) -> Self {
		Self {
			tempo: h.tempo,
			rho: h.rho,
			kappa: decimal::<Perquintill>(h.kappa),
			block_emission: h.block_emission.to_string(),
			activity_cutoff: h.activity_cutoff,
			min_allowed_weights: h.min_allowed_weights,
			max_weight_limit: decimal::<Perbill>(h.max_weight_limit),
			max_allowed_uids: h.max_allowed_uids,
			immunity_period: h.immunity_period,
			registration_cost: h.registration_cost.to_string(),
			weights_set_rate_limit: h.weights_set_rate_limit,
			weights_version_key: h.weights_version_key,
			max_registrations_per_block: h.max_registrations_per_block,
			max_registrations_per_interval: h.max_registrations_per_interval,
			registration_interval: h.registration_interval,
			bonds_mode: match h.bonds_mode {
				BondsMode::Cumulative => BondsModeJson::Cumulative,
				BondsMode::MovingAverage { alpha } => {
					BondsModeJson::MovingAverage { alpha: decimal(alpha) }
				},
			},
			mechanism: h.mechanism.into(),
			max_allowed_validators: h.max_allowed_validators,
			commit_reveal_enabled: h.commit_reveal_enabled,
			commit_reveal_period: h.commit_reveal_period,
			electorate: h.electorate,
		}
	}
}

impl From<EpochSummary<BlockNumber>> for EpochJson {
	fn from(e: EpochSummary<BlockNumber>) -> Self {
		Self { block: e.block, loss: e.loss as f64 / 1e18, minted: e.minted.to_string() }
	}
}

impl From<AxonInfo<BlockNumber>> for AxonJson {
	fn from(a: AxonInfo<BlockNumber>) -> Self {
		Self {
			ip: ip_text(a.ip, a.ip_type),
			port: a.port,
			ip_type: a.ip_type,
			protocol: a.protocol,
			version: a.version,
			block: a.block,
		}
	}
}

impl From<NeuronInfo<AccountId, BlockNumber>> for NeuronJson {
	fn from(n: NeuronInfo<AccountId, BlockNumber>) -> Self {
		Self {
			uid: n.uid,
			hotkey: address(&n.hotkey),
			coldkey: address(&n.coldkey),
			stake: n.stake.to_string(),
			active: n.active,
			validator_permit: n.validator_permit,
			last_update: n.last_update,
			registered_at: n.registered_at,
			rank: decimal(n.rank),
			trust: decimal(n.trust),
			consensus: decimal(n.consensus),
			incentive: decimal(n.incentive),
			dividends: decimal(n.dividends),
			emission: n.emission.to_string(),
			axon: n.axon.map(AxonJson::from),
			weights: n.weights,
			bonds: n.bonds.into_iter().map(|(uid, bond)| (uid, bond.to_string())).collect(),
		}
	}
}

impl From<Metagraph<AccountId, BlockNumber>> for MetagraphJson {
	fn from(m: Metagraph<AccountId, BlockNumber>) -> Self {
		Self {
			block: m.block,
			hyperparameters: m.hyperparameters.into(),
			min_allowed_weights: m.min_allowed_weights,
			total_stake: m.total_stake.to_string(),
			last_epoch: m.last_epoch.into(),
			neurons: m.neurons.into_iter().map(NeuronJson::from).collect(),
		}
	}
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
	use super::*;
	use sp_core::crypto::AccountId32;

	fn alice() -> AccountId {
		AccountId32::from_ss58check("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY").unwrap()
	}

	fn neuron() -> NeuronInfo<AccountId, BlockNumber> {
		NeuronInfo {
			uid: 3,
			hotkey: alice(),
			coldkey: alice(),
			stake: u64::MAX,
			active: true,
			validator_permit: true,
			last_update: 7,
			registered_at: 2,
			rank: Perquintill::from_percent(25),
			trust: Perquintill::one(),
			consensus: Perquintill::from_parts(1),
			incentive: Perquintill::zero(),
			dividends: Perquintill::from_percent(50),
			emission: 1_000_000_000,
			axon: Some(AxonInfo {
				block: 5,
				version: 1,
				ip: 0x7f00_0001,
				port: 8091,
				ip_type: IP_V4,
				protocol: 0,
			}),
			weights: vec![(0, 65535)],
			bonds: vec![(0, u64::MAX)],
		}
	}

	#[test]
	fn neuron_json_is_readable() {
		let json = serde_json::to_value(NeuronJson::from(neuron())).unwrap();
		assert_eq!(json["hotkey"], "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY");
		assert_eq!(json["stake"], "18446744073709551615");
		assert_eq!(json["rank"], 0.25);
		assert_eq!(json["trust"], 1.0);
		assert_eq!(json["consensus"], 1e-18);
		assert_eq!(json["incentive"], 0.0);
		assert_eq!(json["emission"], "1000000000");
		assert_eq!(json["lastUpdate"], 7);
		assert_eq!(json["axon"]["ip"], "127.0.0.1");
		assert_eq!(json["axon"]["port"], 8091);
		assert_eq!(json["weights"], serde_json::json!([[0, 65535]]));
		assert_eq!(json["bonds"], serde_json::json!([[0, "18446744073709551615"]]));
	}

	#[test]
	fn hyperparameters_json_uses_decimals_and_strings() {
		let hyperparameters = Hyperparameters {
			bonds_mode: BondsMode::MovingAverage { alpha: Perquintill::from_percent(90) },
			..Hyperparameters::default()
		};
		let json = serde_json::to_value(HyperparametersJson::from(hyperparameters)).unwrap();
		assert_eq!(json["kappa"], 0.5);
		assert_eq!(json["maxWeightLimit"], 1.0);
		assert_eq!(json["blockEmission"], "1000000000");
		assert_eq!(json["bondsMode"], serde_json::json!({ "movingAverage": { "alpha": 0.9 } }));
		assert_eq!(json["mechanism"], "yuma2021");
		assert_eq!(json["commitRevealEnabled"], false);
		assert_eq!(json["commitRevealPeriod"], 360);
		assert_eq!(json["electorate"], "voters");
	}

	#[test]
	fn yuma3_parameters_are_decimals() {
		let mechanism = Mechanism::Yuma3(crate::yuma3::Yuma3Params {
			alpha_low: Perquintill::from_rational(1u64, 3),
			..Default::default()
		});
		let json = serde_json::to_value(MechanismJson::from(mechanism)).unwrap();
		assert_eq!(
			json,
			serde_json::json!({ "yuma3": {
				"bondsPenalty": 1.0,
				"alphaLow": 1.0 / 3.0,
				"alphaHigh": 0.3,
				"alphaSigmoidSteepness": 10,
				"liquidAlphaEnabled": false,
			}})
		);
	}

	#[test]
	fn epoch_loss_is_a_signed_decimal() {
		let json =
			EpochJson::from(EpochSummary { block: 10, loss: -250_000_000_000_000_000, minted: 5 });
		assert_eq!(json, EpochJson { block: 10, loss: -0.25, minted: "5".into() });
	}

	#[test]
	fn ipv6_and_unknown_families_show_as_text() {
		assert_eq!(ip_text(1, IP_V6), "::1");
		assert_eq!(ip_text(42, 9), "42");
	}
}
