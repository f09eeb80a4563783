//! Hyperparameter search: search spaces ([`space`]), space-filling designs ([`design`]), Gaussian
//! process Bayesian optimisation ([`gp`], [`acquisition`], [`bo`]) behind an ask/tell interface
//! ([`ask_tell`]), and searches of test functions with known minima ([`functions`], [`function_search`]).
//!
//! This module proposes points and records trials; it never runs an experiment itself (the
//! runner evaluates proposals and tells the objectives back).

pub mod acquisition;
pub mod ask_tell;
pub mod bo;
pub mod design;
pub mod function_search;
pub mod functions;
pub mod gp;
pub mod lbfgs;
pub mod space;
pub mod special;

pub use acquisition::Acquisition;
pub use ask_tell::{
    BoConfig, Direction, InitialDesign, OutputTransform, Proposal, SearchState, StrategyConfig,
    Trial, TrialSource, TrialStatus, WarmTrial,
};
pub use function_search::{FunctionSearches, search_function};
pub use space::{ParamSpec, SearchSpace};
