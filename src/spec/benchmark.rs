//! Benchmark experiments: search strategies on standard test functions with known minima.
//!
//! ```toml
//! name = "bo_benchmarks"
//! [benchmark]
//! functions = ["branin", "hartmann6", "goldstein_price"]
//! strategies = [{ kind = "grid" }, { kind = "random" }, { kind = "bo" }]
//! budget = 80                 # evaluations per search
//! repeats = 20                # searches per (function, strategy), seeded 0, 1, …, repeats − 1
//! checkpoints = [20, 40, 80]  # evaluations at which the report tabulates the best value
//! ```
//! Each search minimises the function over its usual box; every evaluation is a row of
//! `trials.parquet` (problem = the function).

use serde::Deserialize;
use toml::Table;

use super::deserialize_at;
use super::tune::{check_search_size, labelled_strategies};
use crate::error::SpecError;
use crate::tune::StrategyConfig;
use crate::tune::functions::{ALL, TestFunction};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BenchmarkSection {
    functions: Vec<String>,
    strategies: Vec<StrategyConfig>,
    budget: usize,
    #[serde(default = "default_repeats")]
    repeats: usize,
    #[serde(default)]
    checkpoints: Vec<usize>,
}

fn default_repeats() -> usize {
    20
}

/// A validated benchmark.
#[derive(Clone, Debug)]
pub struct BenchmarkSpec {
    pub functions: Vec<TestFunction>,
    /// (label, strategy).
    pub strategies: Vec<(String, StrategyConfig)>,
    pub budget: usize,
    pub repeats: usize,
    /// Sorted, within 1..=budget; the budget itself is always one.
    pub checkpoints: Vec<usize>,
}

impl BenchmarkSpec {
    pub fn from_table(file: &str, section: Table) -> Result<BenchmarkSpec, SpecError> {
        let err = |key: &str, m: String| SpecError::new(file, format!("benchmark.{key}"), m);
        let raw: BenchmarkSection = deserialize_at(file, "benchmark", section)?;
        let mut functions = Vec::new();
        for (i, name) in raw.functions.iter().enumerate() {
            let f = TestFunction::by_name(name).ok_or_else(|| {
                err(
                    &format!("functions[{i}]"),
                    format!(
                        "unknown test function `{name}`; known: {}",
                        ALL.iter().map(|f| f.name).collect::<Vec<_>>().join(", ")
                    ),
                )
            })?;
            functions.push(f);
        }
        if functions.is_empty() {
            return Err(err("functions", "name at least one test function".into()));
        }
        let strategies = labelled_strategies(file, "benchmark", raw.strategies)?;
        check_search_size(file, "benchmark", raw.budget, raw.repeats)?;
        let mut checkpoints = raw.checkpoints;
        if let Some(&c) = checkpoints.iter().find(|&&c| c == 0 || c > raw.budget) {
            return Err(err(
                "checkpoints",
                format!("each must be in 1..=budget ({}), got {c}", raw.budget),
            ));
        }
        checkpoints.push(raw.budget);
        checkpoints.sort_unstable();
        checkpoints.dedup();
        Ok(BenchmarkSpec {
            functions,
            strategies,
            budget: raw.budget,
            repeats: raw.repeats,
            checkpoints,
        })
    }
}
