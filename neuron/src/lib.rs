//! The BitTensor neuron: the off-chain peer of the market. It holds a wallet of sr25519 keys
//! (a coldkey that owns stake, hotkeys that sign the neuron's calls), talks to the chain
//! ([`chain`]), serves its model to other peers ([`axon`]) and queries theirs ([`dendrite`])
//! over the wire protocol of [`protocol`], every request signed as [`auth`] describes.

pub mod auth;
pub mod axon;
pub mod chain;
pub mod corpus;
pub mod dendrite;
pub mod keyfile;
pub mod localnet;
pub mod model;
pub mod nucleus;
pub mod plot;
pub mod protocol;
pub mod runner;
pub mod scoring;
pub mod served;
pub mod wallet;
