//! The BitTensor neuron: the off-chain peer of the market. It holds a wallet of sr25519 keys
//! (a coldkey that owns stake, hotkeys that sign the neuron's calls), talks to the chain, serves
//! its model to other peers and queries theirs over the wire protocol of [`protocol`].

pub mod keyfile;
pub mod protocol;
pub mod wallet;
