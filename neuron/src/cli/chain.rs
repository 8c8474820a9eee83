//! The chain and network commands of the `neuron` command line: register, stake, serve and
//! metagraph.

use std::{net::SocketAddr, time::Duration};

use bittensor_neuron::{
	chain::ChainClient,
	keys::wallet::{Wallet, WalletError},
	net::{axon::Peers, served_model::EmbeddingModel},
	runner::{online::Online, RunError},
};
use bittensor_primitives::{
	json::{self, MetagraphJson},
	TOKEN_DECIMALS, TOKEN_SYMBOL,
};
use sp_core::{crypto::AccountId32, Pair};

use super::CliError;

/// A token amount in TAO with up to nine decimals (`1.5`), as rao.
pub fn parse_amount(text: &str) -> Result<u64, String> {
	let invalid = || format!("{text:?} is not an amount of {TOKEN_SYMBOL} (e.g. 1.5)");
	let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
	if whole.is_empty() && fraction.is_empty() || fraction.len() > usize::from(TOKEN_DECIMALS) {
		return Err(invalid());
	}
	let digits = |part: &str| part.is_empty() || part.bytes().all(|b| b.is_ascii_digit());
	if !digits(whole) || !digits(fraction) {
		return Err(invalid());
	}
	let whole: u64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| invalid())? };
	let padded = format!("{fraction:0<width$}", width = usize::from(TOKEN_DECIMALS));
	let fraction: u64 = padded.parse().map_err(|_| invalid())?;
	whole
		.checked_mul(10u64.pow(u32::from(TOKEN_DECIMALS)))
		.and_then(|rao| rao.checked_add(fraction))
		.ok_or_else(invalid)
}

/// Rao as TAO with nine decimals.
pub fn format_amount(rao: u64) -> String {
	let unit = 10u64.pow(u32::from(TOKEN_DECIMALS));
	format!("{}.{:09}", rao / unit, rao % unit)
}

/// The metagraph as a table: one row per peer.
pub fn metagraph_table(metagraph: &MetagraphJson) -> String {
	use bittensor_neuron::report::{Column, Table};

	let mut table = Table::new([
		Column::right("uid", 4),
		Column::left("hotkey", 48).gap(2),
		Column::right("stake", 16).gap(2),
		Column::right("validator", 9).gap(2),
		Column::right("rank", 8).gap(2),
		Column::right("trust", 8).gap(2),
		Column::right("consensus", 9).gap(2),
		Column::right("incentive", 9).gap(2),
		Column::right("dividends", 9).gap(2),
		Column::right("emission", 12).gap(2),
		Column::left("endpoint", 0).gap(2),
	]);
	for neuron in &metagraph.neurons {
		let endpoint = match &neuron.axon {
			Some(axon) if axon.ip.contains(':') => format!("[{}]:{}", axon.ip, axon.port),
			Some(axon) => format!("{}:{}", axon.ip, axon.port),
			None => "-".into(),
		};
		table.row([
			neuron.uid.to_string(),
			neuron.hotkey.clone(),
			format_amount(neuron.stake.parse().unwrap_or(0)),
			if neuron.validator_permit { "yes" } else { "-" }.to_string(),
			format!("{:.5}", neuron.rank),
			format!("{:.5}", neuron.trust),
			format!("{:.5}", neuron.consensus),
			format!("{:.5}", neuron.incentive),
			format!("{:.5}", neuron.dividends),
			format_amount(neuron.emission.parse().unwrap_or(0)),
			endpoint,
		]);
	}
	format!(
		"block {}  peers {}  total stake {} {TOKEN_SYMBOL}  last epoch at {} minted {} {TOKEN_SYMBOL}\n{table}",
		metagraph.block,
		metagraph.neurons.len(),
		format_amount(metagraph.total_stake.parse().unwrap_or(0)),
		metagraph.last_epoch.block,
		format_amount(metagraph.last_epoch.minted.parse().unwrap_or(0)),
	)
}

/// The uid of `hotkey` in `metagraph`.
pub fn uid_of(metagraph: &MetagraphJson, hotkey: &AccountId32) -> Option<u16> {
	metagraph.neuron_by_hotkey(hotkey).map(|neuron| neuron.uid)
}

/// The wallet's coldkey, to check a hotkey's owner against
/// ([`check_owner`](bittensor_neuron::chain::check_owner)): `None` for a
/// wallet without a coldkey or `coldkeypub.txt` (the hotkeys-only wallet of `neuron localnet`),
/// which has nothing to compare.
pub fn wallet_coldkey(wallet: &Wallet) -> Result<Option<AccountId32>, WalletError> {
	Ok(wallet.coldkey_public()?.map(AccountId32::from))
}

/// `neuron register`: the coldkey pays to register the hotkey; prints its uid.
pub async fn register(url: &str, wallet: &Wallet, hotkey: &str) -> Result<(), CliError> {
	let coldkey = super::coldkey(wallet)?;
	let pair = wallet.hotkey(hotkey)?;
	let hotkey = AccountId32::from(pair.public());
	let chain = ChainClient::connect(url).await?;
	chain.register(&coldkey, &pair).await?;
	let metagraph = chain.metagraph_light().await?;
	match uid_of(&metagraph, &hotkey) {
		Some(uid) => println!("registered {} as uid {uid}", json::address(&hotkey)),
		None => println!("registered {}", json::address(&hotkey)),
	}
	Ok(())
}

/// `neuron stake add|remove`: moves `amount` rao between the coldkey and the hotkey's stake.
pub async fn stake(
	url: &str,
	wallet: &Wallet,
	hotkey: &str,
	amount: u64,
	add: bool,
) -> Result<(), CliError> {
	let coldkey = super::coldkey(wallet)?;
	let hotkey = AccountId32::from(wallet.hotkey(hotkey)?.public());
	let chain = ChainClient::connect(url).await?;
	if add {
		chain.add_stake(&coldkey, &hotkey, amount).await
	} else {
		chain.remove_stake(&coldkey, &hotkey, amount).await
	}?;
	let metagraph = chain.metagraph_light().await?;
	let address = json::address(&hotkey);
	let stake = metagraph.neuron_by_hotkey(&hotkey).map(|n| n.stake.clone()).unwrap_or_default();
	println!(
		"{address} now has {} {TOKEN_SYMBOL} staked",
		format_amount(stake.parse().unwrap_or(0))
	);
	Ok(())
}

/// `neuron metagraph`: prints the table.
pub async fn metagraph(url: &str) -> Result<(), CliError> {
	let chain = ChainClient::connect(url).await?;
	let metagraph = chain.metagraph_light().await?;
	print!("{}", metagraph_table(&metagraph));
	Ok(())
}

/// `neuron serve`: publishes the endpoint on chain and serves the fixed embedding model until
/// Ctrl-C, re-reading the registered peers every `refresh`.
pub async fn serve(
	url: &str,
	wallet: &Wallet,
	hotkey: &str,
	listen: SocketAddr,
	external: SocketAddr,
	refresh: Duration,
) -> Result<(), CliError> {
	let hotkey = wallet.hotkey(hotkey)?;
	let coldkey = wallet_coldkey(wallet)?;
	let model = |uid| EmbeddingModel::new(u64::from(uid));
	let (Online { chain, axon, .. }, _) =
		Online::connect(url, &hotkey, coldkey.as_ref(), listen, external, model).await?;
	let mut ticker = tokio::time::interval(refresh);
	// One listener for the whole run, so a signal that arrives during a metagraph read counts.
	let mut interrupted = std::pin::pin!(tokio::signal::ctrl_c());
	loop {
		tokio::select! {
			_ = &mut interrupted => break,
			_ = ticker.tick() => match chain.metagraph_light().await {
				Ok(metagraph) => axon.set_peers(Peers::from_metagraph(&metagraph)),
				Err(error) => eprintln!("warning: keeping the previous peers: {error}"),
			},
		}
	}
	axon.shutdown().await.map_err(RunError::from)?;
	Ok(())
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn amounts_parse_to_rao_and_back() {
		assert_eq!(parse_amount("1"), Ok(1_000_000_000));
		assert_eq!(parse_amount("1.5"), Ok(1_500_000_000));
		assert_eq!(parse_amount(".000000001"), Ok(1));
		assert_eq!(format_amount(1_500_000_000), "1.500000000");
		for bad in ["", ".", "1.0000000001", "-1", "1e3", "abc", "99999999999999999999"] {
			assert!(parse_amount(bad).is_err(), "{bad}");
		}
	}
}
