//! Key files in the polkadot.js JSON account format (version 3), so that a key made here
//! opens in polkadot.js apps and the polkadot.js keyring, and the other way round.
//!
//! `encoded` is base64 of the PKCS#8-style payload `header ‖ secret (64) ‖ divider ‖ public
//! (32)`; with a password it is first sealed with NaCl's secretbox (XSalsa20-Poly1305) under a
//! key derived by scrypt, and prefixed by `salt (32) ‖ N ‖ p ‖ r (u32 little endian) ‖ nonce
//! (24)`. The sr25519 secret is schnorrkel's 64-byte key in its Ed25519-compatible form, as
//! polkadot.js stores it.

use base64::{engine::general_purpose::STANDARD as BASE64, Engine};
use crypto_secretbox::{
	aead::{Aead, KeyInit},
	XSalsa20Poly1305,
};
use serde::{Deserialize, Serialize};
use sp_core::{
	crypto::{Ss58AddressFormat, Ss58Codec},
	sr25519, Pair,
};

use bittensor_primitives::SS58_PREFIX;

/// What went wrong reading or writing a key file.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
	/// The file is not JSON of the expected shape.
	#[error("not a polkadot.js account file: {0}")]
	Format(String),
	/// The key is encrypted and no password was given.
	#[error("the key is encrypted: a password is needed")]
	PasswordRequired,
	/// The password does not open the key.
	#[error("wrong password, or a damaged key file")]
	WrongPassword,
	/// A key type other than sr25519.
	#[error("unsupported key type {0}: only sr25519 keys are used")]
	UnsupportedKeyType(String),
	/// The operating system's random source failed.
	#[error("no randomness from the operating system: {0}")]
	Random(String),
	/// scrypt parameters outside the set polkadot.js accepts, refused before scrypt runs (a key
	/// file claiming a huge N, p or r would otherwise take memory and time without bound).
	#[error(
		"scrypt parameters N = {n}, p = {p}, r = {r} refused: polkadot.js accepts only \
		 N = 2^13, p = 10; N = 2^14, p = 5; N = 2^15, p = 3 or 1; N = 2^16, p = 2; N = 2^17, \
		 p = 1; each with r = 8"
	)]
	UnsafeScrypt {
		/// The cost N the file claims.
		n: u32,
		/// The parallelism p it claims.
		p: u32,
		/// The block size r it claims.
		r: u32,
	},
}

/// `content` and `type` of a key file's encoding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Encoding {
	/// `["pkcs8", "sr25519"]`.
	pub content: Vec<String>,
	/// `["scrypt", "xsalsa20-poly1305"]` when encrypted, `["none"]` when not.
	#[serde(rename = "type")]
	pub kind: Vec<String>,
	/// Format version: `"3"`.
	pub version: String,
}

/// Name and creation time, as polkadot.js keeps them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
	/// The account's name.
	#[serde(default)]
	pub name: String,
	/// Milliseconds since the Unix epoch.
	#[serde(default)]
	pub when_created: u64,
}

/// A key file: a polkadot.js JSON account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyFile {
	/// Base64 of the (possibly encrypted) key.
	pub encoded: String,
	/// How `encoded` is encoded.
	pub encoding: Encoding,
	/// SS58 address of the public key.
	pub address: String,
	/// Name and creation time.
	#[serde(default)]
	pub meta: Meta,
}

const PKCS8_HEADER: [u8; 16] = [48, 83, 2, 1, 1, 48, 5, 6, 3, 43, 101, 112, 4, 34, 4, 32];
const PKCS8_DIVIDER: [u8; 5] = [161, 35, 3, 33, 0];
const SECRET_LEN: usize = 64;
const PUBLIC_LEN: usize = 32;
const SALT_LEN: usize = 32;
const NONCE_LEN: usize = 24;
/// scrypt cost parameters polkadot.js writes: N = 2^15, p = 1, r = 8.
const SCRYPT_LOG_N: u8 = 15;
const SCRYPT_P: u32 = 1;
const SCRYPT_R: u32 = 8;
/// The scrypt parameters `(log2 N, p, r)` polkadot.js reads (`ALLOWED_PARAMS` in
/// util-crypto's `scrypt/fromU8a.js`); a key file with any others is refused.
const SCRYPT_ALLOWED: [(u8, u32, u32); 6] =
	[(13, 10, 8), (14, 5, 8), (15, 3, 8), (15, 1, 8), (16, 2, 8), (17, 1, 8)];

/// The SS58 address of a public key with the chain's prefix.
pub fn address_of(public: &sr25519::Public) -> String {
	public.to_ss58check_with_version(Ss58AddressFormat::custom(SS58_PREFIX))
}

fn random<const N: usize>() -> Result<[u8; N], KeyFileError> {
	let mut bytes = [0u8; N];
	getrandom::getrandom(&mut bytes).map_err(|e| KeyFileError::Random(e.to_string()))?;
	Ok(bytes)
}

/// `log2 N` of scrypt parameters polkadot.js accepts, or [`KeyFileError::UnsafeScrypt`].
fn scrypt_log_n(n: u32, p: u32, r: u32) -> Result<u8, KeyFileError> {
	SCRYPT_ALLOWED
		.iter()
		.find(|&&(log_n, allowed_p, allowed_r)| {
			1u32 << log_n == n && allowed_p == p && allowed_r == r
		})
		.map(|&(log_n, _, _)| log_n)
		.ok_or(KeyFileError::UnsafeScrypt { n, p, r })
}

fn secretbox_key(
	password: &str,
	salt: &[u8],
	log_n: u8,
	p: u32,
	r: u32,
) -> Result<[u8; 32], KeyFileError> {
	let params = scrypt::Params::new(log_n, r, p, 32)
		.map_err(|e| KeyFileError::Format(format!("scrypt parameters: {e}")))?;
	let mut key = [0u8; 32];
	scrypt::scrypt(password.as_bytes(), salt, &params, &mut key)
		.map_err(|e| KeyFileError::Format(format!("scrypt: {e}")))?;
	Ok(key)
}

impl KeyFile {
	/// Writes `pair` as a key file named `name`, encrypted with `password` if there is one.
	pub fn encode(
		pair: &sr25519::Pair,
		password: Option<&str>,
		name: &str,
		when_created: u64,
	) -> Result<Self, KeyFileError> {
		let keypair: &schnorrkel::Keypair = pair.as_ref();
		let mut payload =
			Vec::with_capacity(PKCS8_HEADER.len() + SECRET_LEN + PKCS8_DIVIDER.len() + PUBLIC_LEN);
		payload.extend_from_slice(&PKCS8_HEADER);
		payload.extend_from_slice(&keypair.secret.to_ed25519_bytes());
		payload.extend_from_slice(&PKCS8_DIVIDER);
		payload.extend_from_slice(&keypair.public.to_bytes());

		let (encoded, kind) = match password {
			Some(password) => {
				let salt: [u8; SALT_LEN] = random()?;
				let nonce: [u8; NONCE_LEN] = random()?;
				let key = secretbox_key(password, &salt, SCRYPT_LOG_N, SCRYPT_P, SCRYPT_R)?;
				let sealed = XSalsa20Poly1305::new(&key.into())
					.encrypt(&nonce.into(), payload.as_slice())
					.map_err(|_| KeyFileError::Format("encryption failed".into()))?;
				let mut out = Vec::with_capacity(SALT_LEN + 12 + NONCE_LEN + sealed.len());
				out.extend_from_slice(&salt);
				out.extend_from_slice(&(1u32 << SCRYPT_LOG_N).to_le_bytes());
				out.extend_from_slice(&SCRYPT_P.to_le_bytes());
				out.extend_from_slice(&SCRYPT_R.to_le_bytes());
				out.extend_from_slice(&nonce);
				out.extend_from_slice(&sealed);
				(out, vec!["scrypt".to_string(), "xsalsa20-poly1305".to_string()])
			},
			None => (payload, vec!["none".to_string()]),
		};
		Ok(Self {
			encoded: BASE64.encode(encoded),
			encoding: Encoding {
				content: vec!["pkcs8".into(), "sr25519".into()],
				kind,
				version: "3".into(),
			},
			address: address_of(&pair.public()),
			meta: Meta { name: name.to_string(), when_created },
		})
	}

	/// Whether opening the key needs a password.
	pub fn is_encrypted(&self) -> bool {
		self.encoding.kind.iter().any(|kind| kind == "xsalsa20-poly1305")
	}

	/// Opens the key, with `password` if it is encrypted.
	pub fn decode(&self, password: Option<&str>) -> Result<sr25519::Pair, KeyFileError> {
		if let Some(key_type) = self.encoding.content.get(1).filter(|t| t.as_str() != "sr25519") {
			return Err(KeyFileError::UnsupportedKeyType(key_type.clone()));
		}
		if self.encoding.version != "3" {
			return Err(KeyFileError::Format(format!(
				"version {} (only 3 is read)",
				self.encoding.version
			)));
		}
		let encoded = BASE64
			.decode(&self.encoded)
			.map_err(|e| KeyFileError::Format(format!("base64: {e}")))?;
		let payload = if self.is_encrypted() {
			let too_short = || KeyFileError::Format("encrypted key too short".into());
			let (salt, rest) = encoded.split_at_checked(SALT_LEN).ok_or_else(too_short)?;
			let (params, rest) = rest.split_at_checked(12).ok_or_else(too_short)?;
			let (nonce, sealed) = rest.split_at_checked(NONCE_LEN).ok_or_else(too_short)?;
			let word = |i: usize| -> u32 {
				let mut bytes = [0u8; 4];
				bytes.copy_from_slice(params.get(i * 4..i * 4 + 4).unwrap_or(&[0; 4]));
				u32::from_le_bytes(bytes)
			};
			// Checked before the password and before scrypt, which would allocate 128·r·N bytes
			// and run p times over them.
			let (n, p, r) = (word(0), word(1), word(2));
			let log_n = scrypt_log_n(n, p, r)?;
			let password = password.ok_or(KeyFileError::PasswordRequired)?;
			let key = secretbox_key(password, salt, log_n, p, r)?;
			let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| too_short())?;
			XSalsa20Poly1305::new(&key.into())
				.decrypt(&nonce.into(), sealed)
				.map_err(|_| KeyFileError::WrongPassword)?
		} else {
			encoded
		};
		let secret = payload
			.strip_prefix(&PKCS8_HEADER[..])
			.and_then(|rest| rest.get(..SECRET_LEN))
			.ok_or_else(|| KeyFileError::Format("no PKCS#8 header".into()))?;
		let secret = schnorrkel::SecretKey::from_ed25519_bytes(secret)
			.map_err(|e| KeyFileError::Format(format!("sr25519 secret: {e}")))?;
		let pair = sr25519::Pair::from(secret);
		if address_of(&pair.public()) != self.address {
			return Err(KeyFileError::Format(format!(
				"the key does not match the address {}",
				self.address
			)));
		}
		Ok(pair)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";

	fn alice() -> sr25519::Pair {
		sr25519::Pair::from_string("//Alice", None).expect("dev key")
	}

	#[test]
	fn encrypted_round_trip_keeps_the_key() {
		let file = KeyFile::encode(&alice(), Some("hunter2"), "alice", 1).expect("encode");
		assert!(file.is_encrypted());
		assert_eq!(file.address, ALICE);
		assert_eq!(file.encoding.kind, ["scrypt", "xsalsa20-poly1305"]);
		let pair = file.decode(Some("hunter2")).expect("decode");
		assert_eq!(pair.public(), alice().public());
		let signature = pair.sign(b"message");
		assert!(sr25519::Pair::verify(&signature, b"message", &alice().public()));
	}

	#[test]
	fn wrong_or_missing_password_is_a_named_error() {
		let file = KeyFile::encode(&alice(), Some("hunter2"), "alice", 1).expect("encode");
		assert!(matches!(file.decode(Some("hunter3")), Err(KeyFileError::WrongPassword)));
		assert!(matches!(file.decode(None), Err(KeyFileError::PasswordRequired)));
	}

	#[test]
	fn unencrypted_files_open_without_a_password() {
		let file = KeyFile::encode(&alice(), None, "hot", 1).expect("encode");
		assert!(!file.is_encrypted());
		assert_eq!(file.decode(None).expect("decode").public(), alice().public());
	}

	#[test]
	fn damaged_files_are_rejected() {
		let mut file = KeyFile::encode(&alice(), None, "hot", 1).expect("encode");
		file.address = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty".into();
		assert!(matches!(file.decode(None), Err(KeyFileError::Format(_))));
		file.encoded = "not base64!".into();
		assert!(matches!(file.decode(None), Err(KeyFileError::Format(_))));
		file.encoding.content[1] = "ed25519".into();
		assert!(matches!(file.decode(None), Err(KeyFileError::UnsupportedKeyType(_))));
	}

	#[test]
	fn only_polkadot_js_scrypt_parameters_are_accepted() {
		for (log_n, p, r) in SCRYPT_ALLOWED {
			assert_eq!(scrypt_log_n(1u32 << log_n, p, r).expect("allowed"), log_n);
		}
		assert_eq!(scrypt_log_n(1u32 << SCRYPT_LOG_N, SCRYPT_P, SCRYPT_R).expect("ours"), 15);
		for (n, p, r) in [(1 << 14, 1, 8), (1 << 15, 2, 8), (1 << 15, 1, 16), (3, 1, 8), (0, 0, 0)]
		{
			assert!(matches!(scrypt_log_n(n, p, r), Err(KeyFileError::UnsafeScrypt { .. })));
		}
	}

	/// Alice's key file, marked encrypted, claiming scrypt parameters `(n, p, r)`; its sealed
	/// part is garbage, so no password could open it.
	fn claiming(n: u32, p: u32, r: u32) -> KeyFile {
		let mut file = KeyFile::encode(&alice(), None, "alice", 1).expect("encode");
		let mut encoded = vec![7u8; SALT_LEN];
		for word in [n, p, r] {
			encoded.extend_from_slice(&word.to_le_bytes());
		}
		encoded.extend_from_slice(&[9u8; NONCE_LEN]);
		encoded.extend_from_slice(&[1u8; 128]);
		file.encoded = BASE64.encode(encoded);
		file.encoding.kind = vec!["scrypt".into(), "xsalsa20-poly1305".into()];
		file
	}

	#[test]
	fn huge_scrypt_parameters_are_refused_at_once() {
		for (n, p, r) in [(1 << 30, 1, 8), (1 << 15, u32::MAX, 8), (1 << 15, 1, u32::MAX)] {
			let file = claiming(n, p, r);
			assert!(file.is_encrypted());
			let start = std::time::Instant::now();
			let result = file.decode(Some("hunter2"));
			let elapsed = start.elapsed();
			match result {
				Err(KeyFileError::UnsafeScrypt { n: got_n, p: got_p, r: got_r }) => {
					assert_eq!((got_n, got_p, got_r), (n, p, r));
				},
				Err(other) => panic!("({n}, {p}, {r}): {other}"),
				Ok(_) => panic!("({n}, {p}, {r}) was decrypted"),
			}
			assert!(elapsed < std::time::Duration::from_millis(100), "{elapsed:?}");
			// Refused before the password is even asked for.
			assert!(matches!(file.decode(None), Err(KeyFileError::UnsafeScrypt { .. })));
		}
		let message = KeyFileError::UnsafeScrypt { n: 1 << 30, p: 1, r: 8 }.to_string();
		assert!(message.contains("N = 1073741824, p = 1, r = 8"), "{message}");
		assert!(message.contains("polkadot.js accepts only"), "{message}");
	}

	#[test]
	fn the_json_has_polkadot_js_field_names() {
		let file =
			KeyFile::encode(&alice(), Some("pw"), "alice", 1_700_000_000_000).expect("encode");
		let json = serde_json::to_value(&file).expect("json");
		assert_eq!(json["encoding"]["type"], serde_json::json!(["scrypt", "xsalsa20-poly1305"]));
		assert_eq!(json["encoding"]["content"], serde_json::json!(["pkcs8", "sr25519"]));
		assert_eq!(json["encoding"]["version"], "3");
		assert_eq!(json["meta"]["whenCreated"], 1_700_000_000_000u64);
	}
}
