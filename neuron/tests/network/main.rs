//! The network layer over loopback, a module per theme: the axon's answers and refusals
//! ([`axon`]), hostile traffic at its gate ([`gate`]) and the dendrite's queries ([`dendrite`]),
//! with their shared helpers ([`common`]). One test binary, so that they link once.

mod axon;
mod common;
mod dendrite;
mod gate;
