//! Integration tests: the harness end to end through its library API (one test binary).

mod big_batches;
mod cluster;
mod common;
mod data_errors;
mod determinism;
mod end_to_end;
mod ensembles;
mod mc_dropout;
mod ood;
mod search;
mod sgmcmc;
mod snapshot;
mod spec_errors;
