//! `bayeslab bench`: speed measurements, each reported beside a baseline measured in the same
//! run (these machines are shared and differ from day to day, so only ratios compare).
//!
//! - [`training`]: the machine's sgemm throughput and training steps of two MLPs;
//! - [`batches`]: the harness itself on batches of 1,000 to 100,000 tiny runs (runs/s, resume,
//!   merge, files on disk);
//! - [`sampling`]: SG-MCMC steps against their optimizer twins, and the noise generator;
//! - [`mc_dropout`]: MC-dropout evaluation passes against plain ones.
//!
//! This module only measures.

pub mod batches;
pub mod mc_dropout;
pub mod sampling;
pub mod training;

pub use training::{
    BenchResult, Report, mlp_step_flops, print_report, run_benchmarks, tiny_mlp, wide_mlp,
};
