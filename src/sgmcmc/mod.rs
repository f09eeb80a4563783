//! Stochastic-gradient MCMC: samplers as one-step updates over the flat parameter buffer, and the
//! convergence diagnostics of their chains.
//!
//! This module owns the numerics of sampling. It must not own a training loop, burn-in, thinning,
//! sample storage or evaluation: the step-level driver does. So far it holds the diagnostics
//! ([`diagnostics`]): effective sample size and rank-normalised split-R̂ over several chains.

pub mod diagnostics;
