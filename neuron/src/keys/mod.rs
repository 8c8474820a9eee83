//! Keys: wallets of sr25519 keys ([`wallet`]) stored as polkadot.js JSON key files
//! ([`keyfile`]), so that a key made here opens in polkadot.js and back.

pub mod keyfile;
pub mod wallet;
