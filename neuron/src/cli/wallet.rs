//! `neuron wallet`: create, list, show, import and export keys.

use std::path::PathBuf;

use bittensor_neuron::keys::{
	keyfile::{address_of, KeyFile},
	wallet::{self, read_key_file, Wallet, WalletError},
};
use clap::Subcommand;
use sp_core::{sr25519, Pair};

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
	},
	/// List the wallets with their coldkey and hotkey addresses.
	List,
	/// Show one wallet's addresses.
	Show {
		/// The wallet's name.
		#[arg(long, default_value = "default")]
		wallet: String,
	},
	/// Import a coldkey (or, with --hotkey, a hotkey) from a mnemonic, a secret URI such as
	/// //Alice, or a polkadot.js JSON account file.
	Import {
		/// The wallet's name.
		#[arg(long, default_value = "default")]
		wallet: String,
		/// Import a hotkey with this name instead of the coldkey.
		#[arg(long)]
		hotkey: Option<String>,
		/// A BIP-39 mnemonic or secret URI, with optional derivation path.
		#[arg(long, conflicts_with = "json", required_unless_present = "json")]
		secret: Option<String>,
		/// A polkadot.js JSON account file (asks for its password if it is encrypted).
		#[arg(long)]
		json: Option<PathBuf>,
		/// Replace a key that already exists.
		#[arg(long)]
		overwrite: bool,
	},
	/// Export the coldkey (or, with --hotkey, a hotkey) as a polkadot.js JSON account file,
	/// encrypted with a password.
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
	},
}

fn error(e: WalletError) -> String {
	e.to_string()
}

/// Runs a `neuron wallet` command.
pub fn run(root: PathBuf, command: WalletCommand) -> Result<(), String> {
	match command {
		WalletCommand::New { wallet, hotkey, overwrite } => {
			let wallet = Wallet::new(&root, &wallet);
			let (coldkey, cold_phrase) = wallet::generate();
			let (hot, hot_phrase) = wallet::generate();
			let password = super::password("Password for the new coldkey: ", true)?;
			wallet.set_coldkey(&coldkey, &password, overwrite).map_err(error)?;
			wallet.set_hotkey(&hotkey, &hot, overwrite).map_err(error)?;
			println!("wallet {} in {}", wallet.name, root.display());
			println!(
				"coldkey {}\n  mnemonic (write it down, it is not stored): {cold_phrase}",
				address_of(&coldkey.public())
			);
			println!("hotkey {hotkey} {}\n  mnemonic: {hot_phrase}", address_of(&hot.public()));
		},
		WalletCommand::List => {
			let wallets = wallet::list(&root).map_err(error)?;
			if wallets.is_empty() {
				println!("no wallets in {} (create one with `neuron wallet new`)", root.display());
			}
			println!("{:<16} {:<10} {:<16} address", "wallet", "key", "name");
			for wallet in wallets {
				println!(
					"{:<16} {:<10} {:<16} {}",
					wallet.name,
					"coldkey",
					"",
					wallet.coldkey_address().map_err(error)?
				);
				for name in wallet.hotkey_names().map_err(error)? {
					let address = read_key_file(&wallet.hotkey_path(&name)).map_err(error)?.address;
					println!("{:<16} {:<10} {:<16} {}", "", "hotkey", name, address);
				}
			}
		},
		WalletCommand::Show { wallet } => {
			let wallet = Wallet::new(&root, &wallet);
			println!("wallet   {}", wallet.name);
			println!("coldkey  {}", wallet.coldkey_address().map_err(error)?);
			for name in wallet.hotkey_names().map_err(error)? {
				let address = read_key_file(&wallet.hotkey_path(&name)).map_err(error)?.address;
				println!("hotkey   {name:<16} {address}");
			}
		},
		WalletCommand::Import { wallet, hotkey, secret, json, overwrite } => {
			let wallet = Wallet::new(&root, &wallet);
			let pair: sr25519::Pair = match (secret, json) {
				(Some(secret), _) => wallet::pair_from_secret(&secret).map_err(error)?,
				(None, Some(path)) => {
					let file: KeyFile = read_key_file(&path).map_err(error)?;
					let password = if file.is_encrypted() {
						Some(super::password("Password of the JSON file: ", false)?)
					} else {
						None
					};
					file.decode(password.as_deref())
						.map_err(|e| format!("{}: {e}", path.display()))?
				},
				(None, None) => return Err("give --secret or --json".into()),
			};
			match hotkey {
				Some(name) => {
					wallet.set_hotkey(&name, &pair, overwrite).map_err(error)?;
					println!("hotkey {name} {}", address_of(&pair.public()));
				},
				None => {
					let password = super::password("Password for the coldkey: ", true)?;
					wallet.set_coldkey(&pair, &password, overwrite).map_err(error)?;
					println!("coldkey {}", address_of(&pair.public()));
				},
			}
		},
		WalletCommand::Export { wallet, hotkey, out } => {
			let wallet = Wallet::new(&root, &wallet);
			let (pair, name) = match &hotkey {
				Some(name) => {
					(wallet.hotkey(name).map_err(error)?, format!("{} hotkey {name}", wallet.name))
				},
				None => (
					wallet
						.coldkey(&super::password("Password of the coldkey: ", false)?)
						.map_err(error)?,
					format!("{} coldkey", wallet.name),
				),
			};
			let export_password =
				super::password("Password for the exported file: ", hotkey.is_some())?;
			let now = std::time::SystemTime::now()
				.duration_since(std::time::UNIX_EPOCH)
				.map(|d| d.as_millis() as u64)
				.unwrap_or(0);
			let file = KeyFile::encode(&pair, Some(&export_password), &name, now)
				.map_err(|e| e.to_string())?;
			let json = serde_json::to_string_pretty(&file).map_err(|e| e.to_string())?;
			std::fs::write(&out, json).map_err(|e| format!("{}: {e}", out.display()))?;
			println!("{} written to {}", file.address, out.display());
		},
	}
	Ok(())
}
