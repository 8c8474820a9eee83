//! The network layer between neurons: the wire protocol ([`protocol`]), every request signed
//! by the caller's hotkey ([`auth`]), the axon that serves a model to registered peers
//! ([`axon`]), the dendrite that queries peers under one deadline ([`dendrite`]), and what an
//! axon serves ([`served_model`]).

pub mod auth;
pub mod axon;
pub mod dendrite;
pub mod protocol;
pub mod served_model;
