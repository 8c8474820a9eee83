//! `neuron wallet`: create, list, show, import and export keys.

use std::{
	io::IsTerminal,
	path::{Path, PathBuf},
};

use bittensor_neuron::keys::{
	keyfile::{address_of, KeyFile},
	wallet::{self, read_key_file, write_key_file, Wallet},
};
use clap::Subcommand;
use sp_core::{sr25519, Pair};

use super::CliError;

/// What `neuron wallet` does.
#[derive(Subcommand)]
pub enum WalletCommand {
	/// Create a wallet: a new coldkey (encrypted with a password) and a new hotkey; prints
	/// both mnemonics once.
	New {
		/// The wallet's name.
		#[arg(long, default_value = "default")]
		wallet: String,
		/// The hotkey's name.
		#[arg(long, default_value = "default")]
		hotkey: String,
		/// Replace keys that already exist.
		#[arg(long)]
		overwrite: bool,
		/// Store the coldkey unencrypted, without a password (an empty password is refused).
		#[arg(long)]
		no_password: bool,
	},
	/// List the wallets with their coldkey and hotkey addresses.
	List,
	/// Show one wallet's addresses.
	Show {
		/// The wallet's name.
		#[arg(long, default_value = "default")]
		wallet: String,
	},
	/// Import a coldkey (or, with --hotkey, a hotkey) from a BIP-39 mnemonic or a secret URI
	/// such as //Alice (with optional derivation path), read from --mnemonic-file, else
	/// $BITTENSOR_MNEMONIC, else standard input (typed unseen at a terminal) and never from the
	/// command line; or from a polkadot.js JSON account file.
	Import {
		/// The wallet's name.
		#[arg(long, default_value = "default")]
		wallet: String,
		/// Import a hotkey with this name instead of the coldkey.
		#[arg(long)]
		hotkey: Option<String>,
		/// A file that holds the mnemonic or secret URI.
		#[arg(long, conflicts_with = "json")]
		mnemonic_file: Option<PathBuf>,
		/// A polkadot.js JSON account file (asks for its password if it is encrypted).
		#[arg(long)]
		json: Option<PathBuf>,
		/// Replace a key that already exists.
		#[arg(long)]
		overwrite: bool,
		/// Store the coldkey unencrypted, without a password (an empty password is refused);
		/// hotkeys are always stored unencrypted.
		#[arg(long, conflicts_with = "hotkey")]
		no_password: bool,
	},
	/// Export the coldkey (or, with --hotkey, a hotkey) as a polkadot.js JSON account file,
	/// encrypted with a password (unencrypted only with --no-password).
	Export {
		/// The wallet's name.
		#[arg(long, default_value = "default")]
		wallet: String,
		/// Export this hotkey instead of the coldkey.
		#[arg(long)]
		hotkey: Option<String>,
		/// Where to write the file.
		#[arg(long)]
		out: PathBuf,
		/// Write the file unencrypted, without a password (an empty password is refused).
		#[arg(long)]
		no_password: bool,
	},
}

/// The environment variable through which scripts give the mnemonic or secret URI to import.
const MNEMONIC_VAR: &str = "BITTENSOR_MNEMONIC";

/// The mnemonic or secret URI to import, never taken from the command line (where other users
/// and the shell's history would see it): from `file`, else `$BITTENSOR_MNEMONIC`, else one
/// line of standard input, typed unseen when it is a terminal.
fn read_secret(file: Option<&Path>) -> Result<String, CliError> {
	let (text, source) = match file {
		Some(path) => (
			std::fs::read_to_string(path).map_err(CliError::io(path.display()))?,
			path.display().to_string(),
		),
		None => match std::env::var(MNEMONIC_VAR) {
			Ok(text) => (text, format!("${MNEMONIC_VAR}")),
			Err(std::env::VarError::NotUnicode(_)) => {
				return Err(CliError::Input(format!("${MNEMONIC_VAR} is not UTF-8")))
			},
			Err(std::env::VarError::NotPresent) => (read_stdin()?, "standard input".to_string()),
		},
	};
	secret_in(&text, &source)
}

/// One line of standard input, or, when it is a terminal, a line typed there unseen.
fn read_stdin() -> Result<String, CliError> {
	let stdin = std::io::stdin();
	if stdin.is_terminal() {
		return rpassword::prompt_password("Mnemonic or secret URI: ")
			.map_err(CliError::io("cannot read the mnemonic"));
	}
	let mut line = String::new();
	stdin
		.read_line(&mut line)
		.map_err(CliError::io("cannot read the mnemonic from standard input"))?;
	Ok(line)
}

/// The secret in `text`, read from `source`, without the white space around it; none at all is
/// an error.
fn secret_in(text: &str, source: &str) -> Result<String, CliError> {
	let secret = text.trim();
	if secret.is_empty() {
		return Err(CliError::Input(format!(
			"no mnemonic or secret URI in {source}: give it on standard input, with \
			 --mnemonic-file FILE or in ${MNEMONIC_VAR}"
		)));
	}
	Ok(secret.to_string())
}

/// Runs a `neuron wallet` command.
pub fn run(root: PathBuf, command: WalletCommand) -> Result<(), CliError> {
	match command {
		WalletCommand::New { wallet, hotkey, overwrite, no_password } => {
			new(&root, &Wallet::new(&root, &wallet), &hotkey, overwrite, no_password)
		},
		WalletCommand::List => list(&root),
		WalletCommand::Show { wallet } => show(&Wallet::new(&root, &wallet)),
		WalletCommand::Import { wallet, hotkey, mnemonic_file, json, overwrite, no_password } => {
			let pair = match json {
				Some(path) => open_json(&path)?,
				None => wallet::pair_from_secret(&read_secret(mnemonic_file.as_deref())?)?,
			};
			import(&Wallet::new(&root, &wallet), hotkey.as_deref(), &pair, overwrite, no_password)
		},
		WalletCommand::Export { wallet, hotkey, out, no_password } => {
			export(&Wallet::new(&root, &wallet), hotkey.as_deref(), &out, no_password)
		},
	}
}

/// `wallet new`: a fresh coldkey and hotkey, their mnemonics printed once.
fn new(
	root: &Path,
	wallet: &Wallet,
	hotkey: &str,
	overwrite: bool,
	no_password: bool,
) -> Result<(), CliError> {
	let password = super::new_password("Password for the new coldkey: ", no_password)?;
	let (coldkey, cold_phrase) = wallet::generate();
	let (hot, hot_phrase) = wallet::generate();
	wallet.set_coldkey(&coldkey, password.as_deref(), overwrite)?;
	wallet.set_hotkey(hotkey, &hot, overwrite)?;
	println!("wallet {} in {}", wallet.name, root.display());
	println!(
		"coldkey {}\n  mnemonic (write it down, it is not stored): {cold_phrase}",
		address_of(&coldkey.public())
	);
	println!("hotkey {hotkey} {}\n  mnemonic: {hot_phrase}", address_of(&hot.public()));
	Ok(())
}

/// `wallet list`: every wallet under `root`, with its keys' addresses.
fn list(root: &Path) -> Result<(), CliError> {
	let wallets = wallet::list(root)?;
	if wallets.is_empty() {
		println!("no wallets in {} (create one with `neuron wallet new`)", root.display());
	}
	println!("{:<16} {:<10} {:<16} address", "wallet", "key", "name");
	for wallet in wallets {
		println!("{:<16} {:<10} {:<16} {}", wallet.name, "coldkey", "", wallet.coldkey_address()?);
		for name in wallet.hotkey_names()? {
			let address = read_key_file(&wallet.hotkey_path(&name))?.address;
			println!("{:<16} {:<10} {:<16} {}", "", "hotkey", name, address);
		}
	}
	Ok(())
}

/// `wallet show`: one wallet's addresses.
fn show(wallet: &Wallet) -> Result<(), CliError> {
	println!("wallet   {}", wallet.name);
	println!("coldkey  {}", wallet.coldkey_address()?);
	for name in wallet.hotkey_names()? {
		let address = read_key_file(&wallet.hotkey_path(&name))?.address;
		println!("hotkey   {name:<16} {address}");
	}
	Ok(())
}

/// The key in a polkadot.js JSON file, asking for its password if it has one.
fn open_json(path: &Path) -> Result<sr25519::Pair, CliError> {
	let file: KeyFile = read_key_file(path)?;
	let password = match file.is_encrypted() {
		true => Some(super::password("Password of the JSON file: ")?),
		false => None,
	};
	Ok(file.decode(password.as_deref())?)
}

/// `wallet import`: `pair` as the hotkey `hotkey`, or as the coldkey when none is named.
fn import(
	wallet: &Wallet,
	hotkey: Option<&str>,
	pair: &sr25519::Pair,
	overwrite: bool,
	no_password: bool,
) -> Result<(), CliError> {
	match hotkey {
		Some(name) => {
			wallet.set_hotkey(name, pair, overwrite)?;
			println!("hotkey {name} {}", address_of(&pair.public()));
		},
		None => {
			let password = super::new_password("Password for the coldkey: ", no_password)?;
			wallet.set_coldkey(pair, password.as_deref(), overwrite)?;
			println!("coldkey {}", address_of(&pair.public()));
		},
	}
	Ok(())
}

/// `wallet export`: the hotkey `hotkey` (or the coldkey) as a polkadot.js JSON file at `out`.
fn export(
	wallet: &Wallet,
	hotkey: Option<&str>,
	out: &Path,
	no_password: bool,
) -> Result<(), CliError> {
	let (pair, name) = match hotkey {
		Some(name) => (wallet.hotkey(name)?, format!("{} hotkey {name}", wallet.name)),
		None => (super::coldkey(wallet)?, format!("{} coldkey", wallet.name)),
	};
	let export_password = super::new_password("Password for the exported file: ", no_password)?;
	let now = std::time::SystemTime::now()
		.duration_since(std::time::UNIX_EPOCH)
		.map(|d| d.as_millis() as u64)
		.unwrap_or(0);
	let file = KeyFile::encode(&pair, export_password.as_deref(), &name, now)?;
	write_key_file(out, &file, false)?;
	println!("{} written to {}", file.address, out.display());
	Ok(())
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_secret_is_trimmed_and_never_empty() {
		assert_eq!(secret_in("  //Alice\n", "a file").expect("a secret"), "//Alice");
		let error = secret_in(" \n", "standard input").expect_err("empty").to_string();
		assert!(error.contains("standard input") && error.contains("--mnemonic-file"), "{error}");
	}

	#[test]
	fn a_secret_is_read_from_a_file() {
		let dir = tempfile::tempdir().expect("temp dir");
		let path = dir.path().join("mnemonic");
		std::fs::write(&path, "//Alice\n").expect("write");
		assert_eq!(read_secret(Some(path.as_path())).expect("a secret"), "//Alice");
		let missing = read_secret(Some(dir.path().join("nowhere").as_path()))
			.expect_err("missing")
			.to_string();
		assert!(missing.contains("nowhere"), "{missing}");
	}

	#[test]
	fn the_mnemonic_is_not_a_command_line_argument() {
		use clap::Parser;
		let parsed = super::super::Cli::try_parse_from([
			"neuron", "wallet", "import", "--secret", "//Alice",
		]);
		assert!(parsed.is_err(), "--secret is gone");
		let parsed = super::super::Cli::try_parse_from([
			"neuron",
			"wallet",
			"import",
			"--hotkey",
			"hot",
			"--no-password",
		]);
		assert!(parsed.is_err(), "--no-password is for the coldkey");
	}
}
