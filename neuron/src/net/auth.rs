//! Request signing between neurons. Every Forward and Backward request carries, in its gRPC
//! metadata, the caller's hotkey, a nonce and an sr25519 signature by that hotkey over
//!
//! ```text
//! "bittensor.neuron.v1" ‖ method ‖ target hotkey (32 bytes) ‖ nonce (u64, LE) ‖ blake2-256(body)
//! ```
//!
//! where `body` is the request message in its protobuf encoding (fields in order, packed,
//! defaults omitted: what prost writes). The nonce is the caller's clock in nanoseconds since
//! the Unix epoch; the axon accepts each nonce once, and only within a window around its own
//! clock, so a captured request cannot be replayed, nor sent to another axon.

use std::time::{SystemTime, UNIX_EPOCH};

use sp_core::{
	crypto::{AccountId32, Ss58Codec},
	hashing::blake2_256,
	sr25519, Pair,
};
use tonic::metadata::MetadataMap;

/// Metadata key of the caller's hotkey (an SS58 address).
pub const HOTKEY_HEADER: &str = "bt-hotkey";
/// Metadata key of the nonce (decimal).
pub const NONCE_HEADER: &str = "bt-nonce";
/// Metadata key of the signature (128 hex digits).
pub const SIGNATURE_HEADER: &str = "bt-signature";

/// Domain separator at the start of every signed message.
const DOMAIN: &[u8] = b"bittensor.neuron.v1";

/// The signed message for one request.
pub fn signing_payload(method: &str, target: &AccountId32, nonce: u64, body: &[u8]) -> Vec<u8> {
	let mut message = Vec::with_capacity(DOMAIN.len() + method.len() + 32 + 8 + 32);
	message.extend_from_slice(DOMAIN);
	message.extend_from_slice(method.as_bytes());
	message.extend_from_slice(target.as_ref());
	message.extend_from_slice(&nonce.to_le_bytes());
	message.extend_from_slice(&blake2_256(body));
	message
}

/// Nanoseconds since the Unix epoch: the nonce of a request sent now.
pub fn now_nanos() -> u64 {
	SystemTime::now()
		.duration_since(UNIX_EPOCH)
		.map(|elapsed| u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX))
		.unwrap_or(0)
}

/// Writes the caller's hotkey, `nonce` and signature of `body` for `target` into `metadata`.
pub fn sign_request(
	metadata: &mut MetadataMap,
	signer: &sr25519::Pair,
	method: &str,
	target: &AccountId32,
	nonce: u64,
	body: &[u8],
) {
	let signature = signer.sign(&signing_payload(method, target, nonce, body));
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
}

/// Why a request's signature was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AuthError {
	/// A header is absent or unreadable.
	#[error("missing or malformed {0} header")]
	BadHeader(&'static str),
	/// The signature does not match the hotkey, target, nonce and body.
	#[error("bad signature")]
	BadSignature,
}

/// The signed parts of a request, read from its metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedRequest {
	/// The caller's hotkey.
	pub hotkey: AccountId32,
	/// The request's nonce.
	pub nonce: u64,
	signature: sr25519::Signature,
}

impl SignedRequest {
	/// Reads the hotkey, nonce and signature headers.
	pub fn from_metadata(metadata: &MetadataMap) -> Result<Self, AuthError> {
		let text = |key: &'static str| {
			metadata
				.get(key)
				.and_then(|value| value.to_str().ok())
				.ok_or(AuthError::BadHeader(key))
		};
		let hotkey = AccountId32::from_ss58check(text(HOTKEY_HEADER)?)
			.map_err(|_| AuthError::BadHeader(HOTKEY_HEADER))?;
		let nonce = text(NONCE_HEADER)?.parse().map_err(|_| AuthError::BadHeader(NONCE_HEADER))?;
		let signature = hex_decode(text(SIGNATURE_HEADER)?)
			.and_then(|bytes| <[u8; 64]>::try_from(bytes).ok())
			.map(sr25519::Signature::from_raw)
			.ok_or(AuthError::BadHeader(SIGNATURE_HEADER))?;
		Ok(Self { hotkey, nonce, signature })
	}

	/// Checks the signature over `method`, `target` and `body`.
	pub fn verify(&self, method: &str, target: &AccountId32, body: &[u8]) -> Result<(), AuthError> {
		let public = sr25519::Public::from_raw(*self.hotkey.as_ref());
		let payload = signing_payload(method, target, self.nonce, body);
		if sr25519::Pair::verify(&self.signature, payload, &public) {
			Ok(())
		} else {
			Err(AuthError::BadSignature)
		}
	}
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

	fn pair(uri: &str) -> sr25519::Pair {
		sr25519::Pair::from_string(uri, None).unwrap()
	}

	#[test]
	fn a_signed_request_verifies_only_for_its_target_method_and_body() {
		let (alice, bob) = (pair("//Alice"), pair("//Bob"));
		let target = AccountId32::from(bob.public());
		let mut metadata = MetadataMap::new();
		sign_request(&mut metadata, &alice, "Forward", &target, 7, b"body");
		let request = SignedRequest::from_metadata(&metadata).unwrap();
		assert_eq!(request.hotkey, AccountId32::from(alice.public()));
		assert_eq!(request.nonce, 7);
		assert_eq!(request.verify("Forward", &target, b"body"), Ok(()));
		assert_eq!(request.verify("Forward", &target, b"other body"), Err(AuthError::BadSignature));
		assert_eq!(request.verify("Backward", &target, b"body"), Err(AuthError::BadSignature));
		let elsewhere = AccountId32::from(alice.public());
		assert_eq!(request.verify("Forward", &elsewhere, b"body"), Err(AuthError::BadSignature));
	}

	#[test]
	fn missing_or_malformed_headers_are_named() {
		let mut metadata = MetadataMap::new();
		assert_eq!(
			SignedRequest::from_metadata(&metadata),
			Err(AuthError::BadHeader(HOTKEY_HEADER))
		);
		sign_request(
			&mut metadata,
			&pair("//Alice"),
			"Forward",
			&AccountId32::new([0; 32]),
			1,
			b"",
		);
		metadata.insert(NONCE_HEADER, "soon".parse().unwrap());
		assert_eq!(
			SignedRequest::from_metadata(&metadata),
			Err(AuthError::BadHeader(NONCE_HEADER))
		);
		metadata.insert(NONCE_HEADER, "1".parse().unwrap());
		metadata.insert(SIGNATURE_HEADER, "abc".parse().unwrap());
		assert_eq!(
			SignedRequest::from_metadata(&metadata),
			Err(AuthError::BadHeader(SIGNATURE_HEADER))
		);
	}

	#[test]
	fn hex_round_trips() {
		assert_eq!(hex_decode(&hex_encode(&[0, 1, 0xab, 0xff])), Some(vec![0, 1, 0xab, 0xff]));
		assert_eq!(hex_decode("zz"), None);
	}
}
