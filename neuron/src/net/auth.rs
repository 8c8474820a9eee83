//! Request signing between neurons. Every Forward and Backward request carries, in its gRPC
//! metadata, the caller's hotkey, a nonce, the hash of its body and an sr25519 signature by that
//! hotkey over
//!
//! ```text
//! "bittensor.neuron.v1" ‖ genesis hash (32 bytes) ‖ method ‖ target hotkey (32 bytes)
//!     ‖ nonce (u64, LE) ‖ blake2-256(body)
//! ```
//!
//! where `body` is the request message exactly as it travels, the payload of its one gRPC
//! frame. The body's hash travels in a header too, so the axon checks the signature before it
//! reads a byte of the body (a stranger who names a registered hotkey is refused at once, and
//! cannot hold that caller's slots while it trickles a body), then hashes the bytes it
//! received, never a re-encoding, against the signed hash. The nonce is the caller's clock in
//! nanoseconds since the Unix epoch; the axon accepts each nonce once, and only within a window
//! around its own clock, so a captured request cannot be replayed, nor sent to another axon,
//! nor to the same hotkey's axon on another chain.

use std::time::{SystemTime, UNIX_EPOCH};

use sp_core::{
	crypto::{AccountId32, Ss58Codec},
	hashing::blake2_256,
	sr25519, Pair,
};
use tonic::metadata::MetadataMap;

use crate::net::protocol::Method;

/// Metadata key of the caller's hotkey (an SS58 address).
pub const HOTKEY_HEADER: &str = "bt-hotkey";
/// Metadata key of the nonce (decimal).
pub const NONCE_HEADER: &str = "bt-nonce";
/// Metadata key of the signature (128 hex digits).
pub const SIGNATURE_HEADER: &str = "bt-signature";
/// Metadata key of the body's blake2-256 hash (64 hex digits).
pub const BODY_HASH_HEADER: &str = "bt-body-hash";

/// Domain separator at the start of every signed message.
const DOMAIN: &[u8] = b"bittensor.neuron.v1";

/// The hash of a chain's genesis block: which network a request belongs to.
pub type GenesisHash = [u8; 32];

/// The signed message for one request whose body hashes to `body_hash`.
pub fn signing_payload(
	genesis: &GenesisHash,
	method: Method,
	target: &AccountId32,
	nonce: u64,
	body_hash: &[u8; 32],
) -> Vec<u8> {
	let method = method.name().as_bytes();
	let mut message = Vec::with_capacity(DOMAIN.len() + 32 + method.len() + 32 + 8 + 32);
	message.extend_from_slice(DOMAIN);
	message.extend_from_slice(genesis);
	message.extend_from_slice(method);
	message.extend_from_slice(target.as_ref());
	message.extend_from_slice(&nonce.to_le_bytes());
	message.extend_from_slice(body_hash);
	message
}

/// Nanoseconds since the Unix epoch: the nonce of a request sent now.
pub fn now_nanos() -> u64 {
	SystemTime::now()
		.duration_since(UNIX_EPOCH)
		.map(|elapsed| u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX))
		.unwrap_or(0)
}

/// Writes the caller's hotkey, `nonce`, the hash of `body` and the signature of them all for
/// `method` of `target` on the chain `genesis` into `metadata`.
pub fn sign_request(
	metadata: &mut MetadataMap,
	signer: &sr25519::Pair,
	genesis: &GenesisHash,
	method: Method,
	target: &AccountId32,
	nonce: u64,
	body: &[u8],
) {
	let body_hash = blake2_256(body);
	let signature = signer.sign(&signing_payload(genesis, method, target, nonce, &body_hash));
	let hotkey = AccountId32::from(signer.public()).to_ss58check();
	// SS58, decimal and hex text are always valid ASCII metadata values.
	if let Ok(value) = hotkey.parse() {
		metadata.insert(HOTKEY_HEADER, value);
	}
	if let Ok(value) = nonce.to_string().parse() {
		metadata.insert(NONCE_HEADER, value);
	}
	if let Ok(value) = hex_encode(&signature.0).parse() {
		metadata.insert(SIGNATURE_HEADER, value);
	}
	if let Ok(value) = hex_encode(&body_hash).parse() {
		metadata.insert(BODY_HASH_HEADER, value);
	}
}

/// Why a request's signature was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AuthError {
	/// A header is absent or unreadable.
	#[error("missing or malformed {0} header")]
	BadHeader(&'static str),
	/// The signature does not match the hotkey, chain, method, target, nonce and body hash.
	#[error("bad signature")]
	BadSignature,
	/// The body is not the one whose hash was signed.
	#[error("the body does not match its signed hash")]
	BodyMismatch,
}

/// The signed parts of a request, read from its metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedRequest {
	/// The caller's hotkey.
	pub hotkey: AccountId32,
	/// The request's nonce.
	pub nonce: u64,
	body_hash: [u8; 32],
	signature: sr25519::Signature,
}

impl SignedRequest {
	/// Reads the hotkey, nonce, body hash and signature headers: their shape only, nothing is
	/// verified.
	pub fn from_headers(headers: &http::HeaderMap) -> Result<Self, AuthError> {
		let text = |key: &'static str| {
			headers
				.get(key)
				.and_then(|value| value.to_str().ok())
				.ok_or(AuthError::BadHeader(key))
		};
		let hotkey = AccountId32::from_ss58check(text(HOTKEY_HEADER)?)
			.map_err(|_| AuthError::BadHeader(HOTKEY_HEADER))?;
		let nonce = text(NONCE_HEADER)?.parse().map_err(|_| AuthError::BadHeader(NONCE_HEADER))?;
		let signature = hex_array::<64>(text(SIGNATURE_HEADER)?)
			.map(sr25519::Signature::from_raw)
			.ok_or(AuthError::BadHeader(SIGNATURE_HEADER))?;
		let body_hash = hex_array::<32>(text(BODY_HASH_HEADER)?)
			.ok_or(AuthError::BadHeader(BODY_HASH_HEADER))?;
		Ok(Self { hotkey, nonce, body_hash, signature })
	}

	/// Checks the signature over the chain `genesis`, `method`, `target` and the signed body
	/// hash: everything but the body, which [`SignedRequest::check_body`] then checks.
	pub fn verify(
		&self,
		genesis: &GenesisHash,
		method: Method,
		target: &AccountId32,
	) -> Result<(), AuthError> {
		let public = sr25519::Public::from_raw(*self.hotkey.as_ref());
		let payload = signing_payload(genesis, method, target, self.nonce, &self.body_hash);
		if sr25519::Pair::verify(&self.signature, payload, &public) {
			Ok(())
		} else {
			Err(AuthError::BadSignature)
		}
	}

	/// Checks that `body`, as received, is the one whose hash was signed.
	pub fn check_body(&self, body: &[u8]) -> Result<(), AuthError> {
		if blake2_256(body) == self.body_hash {
			Ok(())
		} else {
			Err(AuthError::BodyMismatch)
		}
	}
}

/// `N` bytes from exactly `2 N` hex digits.
fn hex_array<const N: usize>(text: &str) -> Option<[u8; N]> {
	if text.len() != N.checked_mul(2)? {
		return None;
	}
	hex_decode(text)?.try_into().ok()
}

fn hex_encode(bytes: &[u8]) -> String {
	bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn hex_decode(text: &str) -> Option<Vec<u8>> {
	if !text.len().is_multiple_of(2) {
		return None;
	}
	(0..text.len())
		.step_by(2)
		.map(|at| text.get(at..at + 2).and_then(|pair| u8::from_str_radix(pair, 16).ok()))
		.collect()
}

#[cfg(test)]
mod tests {
	use super::*;

	const CHAIN: GenesisHash = [7; 32];

	fn pair(uri: &str) -> sr25519::Pair {
		sr25519::Pair::from_string(uri, None).unwrap()
	}

	fn parse(metadata: MetadataMap) -> Result<SignedRequest, AuthError> {
		SignedRequest::from_headers(&metadata.into_headers())
	}

	#[test]
	fn a_signed_request_verifies_only_for_its_chain_target_method_and_body() {
		let (alice, bob) = (pair("//Alice"), pair("//Bob"));
		let target = AccountId32::from(bob.public());
		let mut metadata = MetadataMap::new();
		sign_request(&mut metadata, &alice, &CHAIN, Method::Forward, &target, 7, b"body");
		let request = parse(metadata).unwrap();
		assert_eq!(request.hotkey, AccountId32::from(alice.public()));
		assert_eq!(request.nonce, 7);
		assert_eq!(request.verify(&CHAIN, Method::Forward, &target), Ok(()));
		assert_eq!(request.check_body(b"body"), Ok(()));
		assert_eq!(request.check_body(b"other body"), Err(AuthError::BodyMismatch));
		let bad = Err(AuthError::BadSignature);
		assert_eq!(request.verify(&CHAIN, Method::Backward, &target), bad);
		assert_eq!(request.verify(&[8; 32], Method::Forward, &target), bad);
		let elsewhere = AccountId32::from(alice.public());
		assert_eq!(request.verify(&CHAIN, Method::Forward, &elsewhere), bad);
		// A body hash swapped for another one's breaks the signature.
		let mut metadata = MetadataMap::new();
		sign_request(&mut metadata, &alice, &CHAIN, Method::Forward, &target, 7, b"body");
		let other_hash = hex_encode(&blake2_256(b"other body"));
		metadata.insert(BODY_HASH_HEADER, other_hash.parse().unwrap());
		let swapped = parse(metadata).unwrap();
		assert_eq!(swapped.check_body(b"other body"), Ok(()));
		assert_eq!(swapped.verify(&CHAIN, Method::Forward, &target), bad);
	}

	#[test]
	fn missing_or_malformed_headers_are_named() {
		let mut metadata = MetadataMap::new();
		assert_eq!(parse(metadata.clone()), Err(AuthError::BadHeader(HOTKEY_HEADER)));
		let nobody = AccountId32::new([0; 32]);
		sign_request(&mut metadata, &pair("//Alice"), &CHAIN, Method::Forward, &nobody, 1, b"");
		metadata.insert(NONCE_HEADER, "soon".parse().unwrap());
		assert_eq!(parse(metadata.clone()), Err(AuthError::BadHeader(NONCE_HEADER)));
		metadata.insert(NONCE_HEADER, "1".parse().unwrap());
		metadata.insert(SIGNATURE_HEADER, "abc".parse().unwrap());
		assert_eq!(parse(metadata.clone()), Err(AuthError::BadHeader(SIGNATURE_HEADER)));
		metadata.insert(SIGNATURE_HEADER, "ab".repeat(65).parse().unwrap());
		assert_eq!(parse(metadata.clone()), Err(AuthError::BadHeader(SIGNATURE_HEADER)));
		metadata.insert(SIGNATURE_HEADER, "ab".repeat(64).parse().unwrap());
		metadata.insert(BODY_HASH_HEADER, "ab".repeat(31).parse().unwrap());
		assert_eq!(parse(metadata), Err(AuthError::BadHeader(BODY_HASH_HEADER)));
	}

	#[test]
	fn hex_round_trips() {
		assert_eq!(hex_decode(&hex_encode(&[0, 1, 0xab, 0xff])), Some(vec![0, 1, 0xab, 0xff]));
		assert_eq!(hex_decode("zz"), None);
	}
}
