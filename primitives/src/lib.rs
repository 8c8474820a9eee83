//! Types shared by every part of BitTensor: the runtime, the node, the RPC and the neuron.
//!
//! Everything here is `no_std` so that the same definitions compile into the wasm runtime.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod epoch;
pub mod fixed_math;
#[cfg(feature = "std")]
pub mod json;
pub mod metagraph;
pub mod yuma3;

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

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn token_matches_decimals() {
		assert_eq!(TOKEN, 10u64.pow(u32::from(TOKEN_DECIMALS)));
	}
}
