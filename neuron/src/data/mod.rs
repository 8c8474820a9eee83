//! What a nucleus learns from: the corpus, its held-out split and batches ([`corpus`]), and the
//! random numbers that draw them ([`rng`]).

pub mod corpus;
pub mod rng;
