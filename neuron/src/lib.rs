//! The BitTensor neuron: the off-chain peer of the market, in layers, each a folder with one
//! door:
//!
//! - [`keys`]: the wallet of sr25519 keys (a coldkey that owns stake, hotkeys that sign the
//!   neuron's calls) in polkadot.js key files;
//! - [`chain`]: the node, through subxt;
//! - [`net`]: the wire protocol between peers, its signed requests, the axon that serves a model
//!   and the dendrite that queries others;
//! - [`data`]: the text a nucleus learns from;
//! - [`nucleus`]: the model that learns, and how the axon serves it;
//! - [`scoring`]: what peers are worth, measured on rows they cannot cheat on, into chain weights;
//! - [`runner`]: a whole neuron (`neuron run`), which joins the layers above;
//! - [`localnet`]: a whole network on one machine (`neuron localnet`);
//! - [`market`]: the whole market in one process, measured (`neuron bench-market`);
//! - [`network_bench`]: what the network teaches a neuron, measured (`neuron bench-network`);
//! - [`report`]: the charts and tables that the commands above show their results in;
//! - [`sync`]: locks that outlive a panicking holder.

#![warn(missing_docs)]

pub mod chain;
pub mod data;
pub mod keys;
pub mod localnet;
pub mod market;
pub mod net;
pub mod network_bench;
pub mod nucleus;
pub mod report;
pub mod runner;
pub mod scoring;
pub mod sync;
