//! Wallets: a coldkey, which owns stake and is kept encrypted (unencrypted only when its
//! creator asked for that explicitly), and any number of hotkeys, which sign the neuron's
//! day-to-day calls and requests and are kept unencrypted for the running neuron. Every key is
//! an sr25519 key stored as a polkadot.js JSON account ([`KeyFile`]).
//!
//! Layout: `<root>/<wallet>/coldkey` (encrypted), `<root>/<wallet>/coldkeypub.txt` (its
//! address, readable without the password) and `<root>/<wallet>/hotkeys/<name>`.

use std::{
	fs,
	path::{Path, PathBuf},
	time::{SystemTime, UNIX_EPOCH},
};

use sp_core::{crypto::Ss58Codec, sr25519, Pair};

use crate::keys::keyfile::{KeyFile, KeyFileError};

/// What went wrong with a wallet.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
	/// Reading or writing a file failed.
	#[error("{path}: {source}")]
	Io {
		/// The file or directory.
		path: PathBuf,
		/// The error.
		source: std::io::Error,
	},
	/// A key file could not be read or opened.
	#[error("{path}: {source}")]
	KeyFile {
		/// The key file.
		path: PathBuf,
		/// The error.
		source: KeyFileError,
	},
	/// The key already exists and overwriting was not asked for.
	#[error("{0} already exists (pass --overwrite to replace it)")]
	Exists(PathBuf),
	/// The key does not exist.
	#[error("{0} does not exist")]
	NotFound(PathBuf),
	/// A secret that is neither a BIP-39 mnemonic nor a secret URI such as `//Alice`.
	#[error("not a BIP-39 mnemonic or secret URI (like //Alice): {0}")]
	InvalidSecret(String),
}

/// The wallets directory: `$BITTENSOR_WALLETS`, or `~/.bittensor/wallets`.
pub fn default_root() -> PathBuf {
	if let Some(root) = std::env::var_os("BITTENSOR_WALLETS") {
		return PathBuf::from(root);
	}
	let home = std::env::var_os("HOME")
		.map(PathBuf::from)
		.unwrap_or_else(|| PathBuf::from("."));
	home.join(".bittensor").join("wallets")
}

/// A new key and its 12-word BIP-39 mnemonic.
pub fn generate() -> (sr25519::Pair, String) {
	let (pair, phrase, _) = sr25519::Pair::generate_with_phrase(None);
	(pair, phrase)
}

/// The key of a BIP-39 mnemonic or a secret URI, with optional derivation (`//Alice`,
/// `<mnemonic>//hot/1`).
pub fn pair_from_secret(secret: &str) -> Result<sr25519::Pair, WalletError> {
	sr25519::Pair::from_string(secret, None)
		.map_err(|e| WalletError::InvalidSecret(format!("{e:?}")))
}

fn now_ms() -> u64 {
	SystemTime::now()
		.duration_since(UNIX_EPOCH)
		.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
		.unwrap_or(0)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WalletError + '_ {
	move |source| WalletError::Io { path: path.to_path_buf(), source }
}

/// Writes a key file readable by its owner only; an existing file at `path` is an error unless
/// `overwrite`.
pub fn write_key_file(path: &Path, file: &KeyFile, overwrite: bool) -> Result<(), WalletError> {
	// Anything at the path counts, a dangling symbolic link too.
	if path.symlink_metadata().is_ok() && !overwrite {
		return Err(WalletError::Exists(path.to_path_buf()));
	}
	let json = serde_json::to_string_pretty(file).unwrap_or_default();
	write_atomically(path, json.as_bytes(), 0o600)
}

/// Writes `bytes` to `path` as a new file with permissions `mode` from its first byte: a
/// staging file beside it is created exclusively (never opening an existing file or following
/// a symbolic link), written, flushed to disk and renamed over `path`, which replaces whatever
/// was there, a symbolic link included, without writing through it.
fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> Result<(), WalletError> {
	use std::io::Write;
	if let Some(dir) = path.parent() {
		fs::create_dir_all(dir).map_err(io(dir))?;
	}
	let name = path.file_name().map(|name| name.to_string_lossy()).unwrap_or_default();
	let staging = path.with_file_name(format!(".{name}.new"));
	let create = || {
		let mut options = fs::OpenOptions::new();
		options.write(true).create_new(true);
		#[cfg(unix)]
		std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
		#[cfg(not(unix))]
		let _ = mode;
		options.open(&staging)
	};
	// A staging file left by a crash (or planted there) is removed, never written through.
	let mut staged = match create() {
		Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
			fs::remove_file(&staging).map_err(io(&staging))?;
			create()
		},
		result => result,
	}
	.map_err(io(&staging))?;
	staged.write_all(bytes).and_then(|()| staged.sync_all()).map_err(io(&staging))?;
	fs::rename(&staging, path).map_err(io(path))
}

/// Reads a key file.
pub fn read_key_file(path: &Path) -> Result<KeyFile, WalletError> {
	if !path.exists() {
		return Err(WalletError::NotFound(path.to_path_buf()));
	}
	let text = fs::read_to_string(path).map_err(io(path))?;
	serde_json::from_str(&text).map_err(|e| WalletError::KeyFile {
		path: path.to_path_buf(),
		source: KeyFileError::Format(e.to_string()),
	})
}

/// A named wallet under a wallets directory.
#[derive(Clone, Debug)]
pub struct Wallet {
	/// The wallet's name.
	pub name: String,
	dir: PathBuf,
}

impl Wallet {
	/// The wallet `name` under `root` (which may not exist yet).
	pub fn new(root: &Path, name: &str) -> Self {
		Self { name: name.to_string(), dir: root.join(name) }
	}

	/// Path of the coldkey file.
	pub fn coldkey_path(&self) -> PathBuf {
		self.dir.join("coldkey")
	}

	/// Path of the hotkey file `name`.
	pub fn hotkey_path(&self, name: &str) -> PathBuf {
		self.dir.join("hotkeys").join(name)
	}

	/// Path of the file that holds the coldkey's address.
	fn coldkeypub_path(&self) -> PathBuf {
		self.dir.join("coldkeypub.txt")
	}

	/// Saves `pair` as the coldkey, encrypted with `password`, or unencrypted without one.
	pub fn set_coldkey(
		&self,
		pair: &sr25519::Pair,
		password: Option<&str>,
		overwrite: bool,
	) -> Result<(), WalletError> {
		let path = self.coldkey_path();
		let file = KeyFile::encode(pair, password, &format!("{} coldkey", self.name), now_ms())
			.map_err(|source| WalletError::KeyFile { path: path.clone(), source })?;
		write_key_file(&path, &file, overwrite)?;
		write_atomically(&self.coldkeypub_path(), file.address.as_bytes(), 0o644)
	}

	/// Saves `pair` as the hotkey `name`, unencrypted so that the neuron can run unattended.
	pub fn set_hotkey(
		&self,
		name: &str,
		pair: &sr25519::Pair,
		overwrite: bool,
	) -> Result<(), WalletError> {
		let path = self.hotkey_path(name);
		let file = KeyFile::encode(pair, None, &format!("{} hotkey {name}", self.name), now_ms())
			.map_err(|source| WalletError::KeyFile { path: path.clone(), source })?;
		write_key_file(&path, &file, overwrite)
	}

	/// The coldkey's address, read without the password.
	pub fn coldkey_address(&self) -> Result<String, WalletError> {
		Ok(read_key_file(&self.coldkey_path())?.address)
	}

	/// Whether opening the coldkey needs its password.
	pub fn coldkey_is_encrypted(&self) -> Result<bool, WalletError> {
		Ok(read_key_file(&self.coldkey_path())?.is_encrypted())
	}

	/// The coldkey, opened with `password` if it is encrypted.
	pub fn coldkey(&self, password: Option<&str>) -> Result<sr25519::Pair, WalletError> {
		let path = self.coldkey_path();
		read_key_file(&path)?
			.decode(password)
			.map_err(|source| WalletError::KeyFile { path, source })
	}

	/// The coldkey's public key, read without its password: from the coldkey file, else from
	/// `coldkeypub.txt` (all a machine that only runs the neuron needs of the coldkey); `None`
	/// for a wallet with neither, such as the hotkeys-only wallet `neuron localnet` writes.
	pub fn coldkey_public(&self) -> Result<Option<sr25519::Public>, WalletError> {
		let coldkey = self.coldkey_path();
		let coldkeypub = self.coldkeypub_path();
		let (path, address) = if coldkey.exists() {
			let address = read_key_file(&coldkey)?.address;
			(coldkey, address)
		} else if coldkeypub.exists() {
			let text = fs::read_to_string(&coldkeypub).map_err(io(&coldkeypub))?;
			(coldkeypub, text.trim().to_string())
		} else {
			return Ok(None);
		};
		match sr25519::Public::from_ss58check_with_version(&address) {
			Ok((public, _)) => Ok(Some(public)),
			Err(e) => Err(WalletError::KeyFile {
				path,
				source: KeyFileError::Format(format!("{address:?} is not an address: {e}")),
			}),
		}
	}

	/// The hotkey `name`.
	pub fn hotkey(&self, name: &str) -> Result<sr25519::Pair, WalletError> {
		let path = self.hotkey_path(name);
		read_key_file(&path)?
			.decode(None)
			.map_err(|source| WalletError::KeyFile { path, source })
	}

	/// The names of the wallet's hotkeys, sorted.
	pub fn hotkey_names(&self) -> Result<Vec<String>, WalletError> {
		let dir = self.dir.join("hotkeys");
		if !dir.exists() {
			return Ok(Vec::new());
		}
		let mut names: Vec<String> = fs::read_dir(&dir)
			.map_err(io(&dir))?
			.filter_map(Result::ok)
			.filter(|entry| entry.path().is_file())
			.map(|entry| entry.file_name().to_string_lossy().into_owned())
			.collect();
		names.sort();
		Ok(names)
	}
}

/// Every wallet under `root` that has a coldkey, sorted by name.
pub fn list(root: &Path) -> Result<Vec<Wallet>, WalletError> {
	if !root.exists() {
		return Ok(Vec::new());
	}
	let mut wallets: Vec<Wallet> = fs::read_dir(root)
		.map_err(io(root))?
		.filter_map(Result::ok)
		.map(|entry| Wallet::new(root, &entry.file_name().to_string_lossy()))
		.filter(|wallet| wallet.coldkey_path().exists())
		.collect();
	wallets.sort_by(|a, b| a.name.cmp(&b.name));
	Ok(wallets)
}

#[cfg(test)]
mod tests {
	use super::*;

	/// The development mnemonic behind //Alice, //Bob, ...
	const DEV_PHRASE: &str =
		"bottom drive obey lake curtain smoke basket hold race lonely fit walk";

	#[test]
	fn secrets_are_mnemonics_or_uris() {
		let alice = pair_from_secret("//Alice").expect("uri");
		let from_phrase =
			pair_from_secret(&format!("{DEV_PHRASE}//Alice")).expect("mnemonic with derivation");
		assert_eq!(alice.public(), from_phrase.public());
		assert!(matches!(pair_from_secret("not a mnemonic"), Err(WalletError::InvalidSecret(_))));
		let (pair, phrase) = generate();
		assert_eq!(phrase.split_whitespace().count(), 12);
		assert_eq!(pair_from_secret(&phrase).expect("generated phrase").public(), pair.public());
	}

	#[test]
	fn a_wallet_keeps_its_coldkey_encrypted_and_its_hotkeys_open() {
		let root = tempfile::tempdir().expect("temp dir");
		let wallet = Wallet::new(root.path(), "miner");
		let coldkey = pair_from_secret("//Alice").expect("uri");
		let hotkey = pair_from_secret("//Alice//hot").expect("uri");
		wallet.set_coldkey(&coldkey, Some("pw"), false).expect("coldkey");
		wallet.set_hotkey("default", &hotkey, false).expect("hotkey");
		assert!(wallet.coldkey_is_encrypted().expect("read"));

		assert_eq!(
			wallet.coldkey_address().expect("address"),
			"5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
		);
		assert_eq!(wallet.coldkey(Some("pw")).expect("coldkey").public(), coldkey.public());
		assert!(matches!(
			wallet.coldkey(Some("wrong")),
			Err(WalletError::KeyFile { source: KeyFileError::WrongPassword, .. })
		));
		assert!(matches!(
			wallet.coldkey(None),
			Err(WalletError::KeyFile { source: KeyFileError::PasswordRequired, .. })
		));
		assert_eq!(wallet.hotkey("default").expect("hotkey").public(), hotkey.public());
		assert_eq!(wallet.hotkey_names().expect("names"), ["default"]);
		assert!(matches!(wallet.hotkey("missing"), Err(WalletError::NotFound(_))));
		assert!(matches!(
			wallet.set_hotkey("default", &hotkey, false),
			Err(WalletError::Exists(_))
		));
		wallet.set_hotkey("default", &coldkey, true).expect("overwrite");

		let names: Vec<String> =
			list(root.path()).expect("list").into_iter().map(|w| w.name).collect();
		assert_eq!(names, ["miner"]);
		let stored = fs::read_to_string(wallet.coldkey_path()).expect("read");
		assert!(!stored.contains("bottom"), "no mnemonic on disk");
		#[cfg(unix)]
		{
			use std::os::unix::fs::PermissionsExt;
			let mode = fs::metadata(wallet.coldkey_path()).expect("metadata").permissions().mode();
			assert_eq!(mode & 0o777, 0o600);
		}
	}

	#[test]
	fn a_coldkey_without_a_password_is_stored_unencrypted() {
		let root = tempfile::tempdir().expect("temp dir");
		let wallet = Wallet::new(root.path(), "open");
		let coldkey = pair_from_secret("//Bob").expect("uri");
		wallet.set_coldkey(&coldkey, None, false).expect("coldkey");
		assert!(!wallet.coldkey_is_encrypted().expect("read"));
		assert_eq!(wallet.coldkey(None).expect("coldkey").public(), coldkey.public());
	}

	#[test]
	fn the_coldkey_public_key_is_read_without_the_password() {
		let root = tempfile::tempdir().expect("temp dir");
		let wallet = Wallet::new(root.path(), "miner");
		let (hotkey, _) = generate();
		wallet.set_hotkey("default", &hotkey, false).expect("hotkey");
		assert_eq!(wallet.coldkey_public().expect("hotkeys only"), None);

		let coldkey = pair_from_secret("//Alice").expect("uri");
		wallet.set_coldkey(&coldkey, Some("pw"), false).expect("coldkey");
		assert_eq!(wallet.coldkey_public().expect("coldkey"), Some(coldkey.public()));
		// A machine that runs the neuron may hold coldkeypub.txt alone.
		fs::remove_file(wallet.coldkey_path()).expect("remove the coldkey");
		assert_eq!(wallet.coldkey_public().expect("coldkeypub.txt"), Some(coldkey.public()));
		fs::write(wallet.coldkeypub_path(), "not an address").expect("write");
		assert!(matches!(
			wallet.coldkey_public(),
			Err(WalletError::KeyFile { source: KeyFileError::Format(_), .. })
		));
	}

	#[cfg(unix)]
	#[test]
	fn key_files_are_never_written_through_a_symbolic_link() {
		use std::os::unix::fs::{symlink, PermissionsExt};
		let root = tempfile::tempdir().expect("temp dir");
		let wallet = Wallet::new(root.path(), "miner");
		let (hotkey, _) = generate();
		let victim = root.path().join("victim");
		fs::write(&victim, "not a key").expect("write");
		fs::create_dir_all(wallet.hotkey_path("default").parent().expect("dir")).expect("dir");
		symlink(&victim, wallet.hotkey_path("default")).expect("symlink");

		// Without --overwrite a link counts as a key that exists, even a dangling one.
		assert!(matches!(
			wallet.set_hotkey("default", &hotkey, false),
			Err(WalletError::Exists(_))
		));
		symlink(root.path().join("nowhere"), wallet.hotkey_path("dangling")).expect("symlink");
		assert!(matches!(
			wallet.set_hotkey("dangling", &hotkey, false),
			Err(WalletError::Exists(_))
		));

		// With it, the link itself is replaced by a new private file; its target is untouched.
		wallet.set_hotkey("default", &hotkey, true).expect("overwrite");
		assert_eq!(fs::read_to_string(&victim).expect("read"), "not a key");
		let written = fs::symlink_metadata(wallet.hotkey_path("default")).expect("metadata");
		assert!(written.file_type().is_file());
		assert_eq!(written.permissions().mode() & 0o777, 0o600);
		assert_eq!(wallet.hotkey("default").expect("hotkey").public(), hotkey.public());

		// A link planted at the staging path is removed, not followed.
		let staging = wallet.hotkey_path("default").with_file_name(".default.new");
		symlink(&victim, &staging).expect("symlink");
		wallet.set_hotkey("default", &hotkey, true).expect("overwrite again");
		assert_eq!(fs::read_to_string(&victim).expect("read"), "not a key");
		assert!(staging.symlink_metadata().is_err(), "the staging file is gone");
	}
}
