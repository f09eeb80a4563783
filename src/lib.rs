//! bayeslab: batch experiments that compare how neural networks are trained and how their
//! uncertainty is estimated.
//!
//! The flow of one experiment: a TOML spec ([`spec`]) is validated into a plan of runs; the
//! [`runner`] executes each run's [`method`] in parallel; every method yields a predictive
//! ([`predictive`]) scored by [`metrics`]; the [`store`] writes Parquet; [`report`] renders tables
//! and plots.

pub mod bench;
pub mod cli;
pub mod cluster;
pub mod data;
pub mod error;
pub mod estimate;
pub mod method;
pub mod metrics;
pub mod nn;
pub mod noise;
pub mod optim;
pub mod predictive;
pub mod report;
pub mod rng;
pub mod runner;
pub mod search;
pub mod sgmcmc;
pub mod spec;
pub mod store;
pub mod tune;
pub mod worker;

pub use error::{Error, Result};
