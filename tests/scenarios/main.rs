//! Every end-to-end scenario, in one test binary. Each module starts its own processes on
//! ports the system picks and in its own temporary directory, so nextest runs them side by side
//! (`.config/nextest.toml`); most of their time is spent waiting for blocks.

mod chain_spec;
mod clients;
mod dev_chain;
mod local_testnet;
mod localnet;
mod market;
mod network;
mod neurons;
mod wallet_cli;
mod zombienet;
