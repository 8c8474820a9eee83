//! What a nucleus learns from: the corpus, its held-out split and batches ([`corpus`]), the
//! corpora of different kinds ([`domains`]), and the random numbers that draw them ([`rng`]).

pub mod corpus;
pub mod domains;
pub mod rng;
