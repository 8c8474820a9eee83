//! The network layer between neurons: the wire protocol ([`protocol`]), every request signed
//! by the caller's hotkey ([`auth`]), the axon that serves a model to registered peers
//! ([`axon`]) under the limits it is started with ([`admission`]), behind a door that judges
//! each request before reading it ([`gate`]) and holds its slots until it is answered
//! ([`slots`]), on connections that must speak promptly ([`connection`]), the dendrite that
//! queries peers under one deadline ([`dendrite`]), what an axon serves ([`served_model`]), and
//! the rate limiter they share ([`rate`]).

pub mod admission;
pub mod auth;
pub mod axon;
pub mod connection;
pub mod dendrite;
pub mod gate;
pub mod protocol;
pub mod rate;
pub mod served_model;
pub mod slots;
