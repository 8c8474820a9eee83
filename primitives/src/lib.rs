//! Types shared by every part of BitTensor: the runtime, the node, the RPC and the neuron.
//!
//! Everything here is `no_std` so that the same definitions compile into the wasm runtime.
// Runtime code never panics and never overflows: saturating or checked math, `get` in place
// of indexing, errors in place of `unwrap`/`expect`.
#![deny(
	clippy::arithmetic_side_effects,
	clippy::indexing_slicing,
	clippy::unwrap_used,
	clippy::expect_used
)]
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod epoch;
pub mod fixed_math;
#[cfg(feature = "std")]
pub mod json;
pub mod metagraph;
pub mod weights;
/// Yuma 3 at the path it had before the epoch became a folder.
pub use epoch::yuma3;

use alloc::vec::Vec;
use codec::Encode;
use sp_runtime::{
	traits::{IdentifyAccount, Verify},
	MultiSignature,
};

/// Block number: a `u32` lasts 2^32 blocks, over 800 years at 6 s a block.
pub type BlockNumber = u32;

/// Signature used by accounts on chain (sr25519, ed25519 or ecdsa).
pub type Signature = MultiSignature;

/// An account identifier: the public key behind a [`Signature`].
pub type AccountId = <<Signature as Verify>::Signer as IdentifyAccount>::AccountId;

/// Token amounts in the smallest unit (rao); one token is [`TOKEN`] of them.
pub type Balance = u64;

/// Per-account transaction index.
pub type Nonce = u32;

/// Hash of a block or extrinsic.
pub type Hash = sp_core::H256;

/// Symbol wallets show for the native token.
pub const TOKEN_SYMBOL: &str = "TAO";

/// Number of decimal places of the native token.
pub const TOKEN_DECIMALS: u8 = 9;

/// One whole token, in rao.
pub const TOKEN: Balance = 1_000_000_000;

/// SS58 address prefix (42: the generic Substrate prefix, as the Nakamoto chain used).
pub const SS58_PREFIX: u16 = 42;

/// Target block time in milliseconds.
pub const MILLISECS_PER_BLOCK: u64 = 6000;

/// What a hotkey's registration proof starts with.
pub const REGISTRATION_PROOF_PREFIX: &[u8] = b"bittensor/register";

/// What a hotkey signs to let `coldkey` register it on the chain with `genesis_hash`: the
/// prefix, then the SCALE encodings of both (32 bytes each on this chain). Bound to the
/// coldkey, a proof copied from a pending registration is worthless to anyone else; bound to
/// the genesis hash, it is worthless on another chain.
pub fn registration_message(coldkey: &impl Encode, genesis_hash: &impl Encode) -> Vec<u8> {
	let mut message = REGISTRATION_PROOF_PREFIX.to_vec();
	coldkey.encode_to(&mut message);
	genesis_hash.encode_to(&mut message);
	message
}

/// What a weights commit's hash starts with.
pub const WEIGHTS_COMMIT_PREFIX: &[u8] = b"bittensor/weights";

/// The hash `commit_weights` takes: blake2-256 of the prefix, then the SCALE encodings of the
/// hotkey, the chain's genesis hash, the uids, the weights, the 32-byte salt and the version
/// key, in that order. `reveal_weights` recomputes it from what is revealed. Bound to the
/// hotkey, a commit copied from another validator cannot be revealed by the copier; bound to
/// the genesis hash, it means nothing on another chain; the salt keeps a row that could be
/// guessed (a copy of last epoch's) from being confirmed by hashing guesses.
pub fn weights_commit_hash(
	hotkey: &impl Encode,
	genesis_hash: &impl Encode,
	uids: &[u16],
	weights: &[u16],
	salt: &[u8; 32],
	version_key: u64,
) -> Hash {
	let mut message = WEIGHTS_COMMIT_PREFIX.to_vec();
	hotkey.encode_to(&mut message);
	genesis_hash.encode_to(&mut message);
	uids.encode_to(&mut message);
	weights.encode_to(&mut message);
	salt.encode_to(&mut message);
	version_key.encode_to(&mut message);
	Hash::from(sp_core::hashing::blake2_256(&message))
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn token_matches_decimals() {
		assert_eq!(TOKEN, 10u64.pow(u32::from(TOKEN_DECIMALS)));
	}

	#[test]
	fn weights_commit_hash_binds_every_part() {
		let salt = [7u8; 32];
		let base = weights_commit_hash(&[1u8; 32], &[2u8; 32], &[0, 1], &[10, 20], &salt, 3);
		let variants = [
			weights_commit_hash(&[9u8; 32], &[2u8; 32], &[0, 1], &[10, 20], &salt, 3),
			weights_commit_hash(&[1u8; 32], &[9u8; 32], &[0, 1], &[10, 20], &salt, 3),
			weights_commit_hash(&[1u8; 32], &[2u8; 32], &[0, 2], &[10, 20], &salt, 3),
			weights_commit_hash(&[1u8; 32], &[2u8; 32], &[0, 1], &[10, 21], &salt, 3),
			weights_commit_hash(&[1u8; 32], &[2u8; 32], &[0, 1], &[10, 20], &[8u8; 32], 3),
			weights_commit_hash(&[1u8; 32], &[2u8; 32], &[0, 1], &[10, 20], &salt, 4),
		];
		assert!(variants.iter().all(|hash| *hash != base));
		// A fixed vector, which the README's polkadot.js and Python examples reproduce.
		assert_eq!(
			format!("{base:?}"),
			"0x56b1b343694ae4f040b5966781f08f653c77fb964768a3ab5b75cf76ff0bfcf0"
		);
	}
}
