//! The plan of a search as the run validated it: a `[tune]` or `[benchmark]` section with every
//! default filled in.
//!
//! The run writes it beside `spec.toml` as `results/<name>/search.json` ([`SEARCH_PLAN_FILE`]);
//! the report reads it there instead of parsing the spec a second time, so it shows the search
//! that ran, with the run's defaults. The JSON is the serde form of [`SearchPlan`]: an object
//! with `kind` = `tune` or `benchmark` and the fields of [`TunePlan`] or [`BenchmarkPlan`];
//! strategies, the space and the direction in the serde forms of their [`crate::tune`] types.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::Experiment;
use super::benchmark::BenchmarkSpec;
use super::tune::{TuneSpec, strategy_label};
use crate::tune::{BoConfig, Direction, SearchSpace, StrategyConfig};

/// The plan's file name in a results directory.
pub const SEARCH_PLAN_FILE: &str = "search.json";

/// The validated search of an experiment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SearchPlan {
    /// Hyperparameter searches of one method of the experiment (`[tune]`).
    Tune(TunePlan),
    /// Search strategies on test functions of known minimum (`[benchmark]`).
    Benchmark(BenchmarkPlan),
}

/// A validated `[tune]` section (see [`super::tune`] for the meaning of each key).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TunePlan {
    /// The method whose keys are searched.
    pub method: String,
    /// The searched validation metric, `valid.<metric>`.
    pub objective: String,
    /// As given, or the metric's own direction (`gaussian_ll` up, `rmse` down, …).
    pub direction: Direction,
    /// Trials per search.
    pub budget: usize,
    /// In spec order; each kind at most once, so its label ([`strategy_label`]) names it.
    pub strategies: Vec<StrategyConfig>,
    /// Independent searches per strategy.
    pub repeats: usize,
    /// Trials proposed and run at once within a search.
    pub batch: usize,
    /// Whether each search's best configuration is re-run over every seed and split.
    pub final_runs: bool,
    /// The results directory whose trials warm-started every search.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warm_start: Option<PathBuf>,
    /// The searched keys, in the order of the unit cube's coordinates.
    pub space: SearchSpace,
}

/// A validated `[benchmark]` section (see [`super::benchmark`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BenchmarkPlan {
    /// Names of the test functions.
    pub functions: Vec<String>,
    /// In spec order; each kind at most once.
    pub strategies: Vec<StrategyConfig>,
    /// Evaluations per search.
    pub budget: usize,
    /// Searches per (function, strategy).
    pub repeats: usize,
    /// Evaluations at which the report tabulates the best value: sorted, within 1..=budget, the
    /// budget among them.
    pub checkpoints: Vec<usize>,
}

impl From<&TuneSpec> for TunePlan {
    fn from(tune: &TuneSpec) -> Self {
        TunePlan {
            method: tune.method.clone(),
            objective: tune.objective.clone(),
            direction: tune.direction,
            budget: tune.budget,
            strategies: tune.strategies.iter().map(|(_, s)| s.clone()).collect(),
            repeats: tune.repeats,
            batch: tune.batch,
            final_runs: tune.final_runs,
            warm_start: tune.warm_start.clone(),
            space: tune.space.clone(),
        }
    }
}

impl From<&BenchmarkSpec> for BenchmarkPlan {
    fn from(benchmark: &BenchmarkSpec) -> Self {
        BenchmarkPlan {
            functions: benchmark
                .functions
                .iter()
                .map(|f| f.name.to_string())
                .collect(),
            strategies: benchmark
                .strategies
                .iter()
                .map(|(_, s)| s.clone())
                .collect(),
            budget: benchmark.budget,
            repeats: benchmark.repeats,
            checkpoints: benchmark.checkpoints.clone(),
        }
    }
}

impl SearchPlan {
    /// The plan of an experiment's `[tune]` or `[benchmark]` section; None without either.
    pub fn of(experiment: &Experiment) -> Option<SearchPlan> {
        match (&experiment.tune, &experiment.benchmark) {
            (Some(tune), _) => Some(SearchPlan::Tune(tune.into())),
            (None, Some(benchmark)) => Some(SearchPlan::Benchmark(benchmark.into())),
            (None, None) => None,
        }
    }

    /// The plan as the text of [`SEARCH_PLAN_FILE`]: pretty-printed JSON and a final newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a search plan serialises");
        text.push('\n');
        text
    }

    /// Reads the text of [`SEARCH_PLAN_FILE`].
    pub fn from_json(text: &str) -> Result<SearchPlan, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Trials (evaluations) per search.
    pub fn budget(&self) -> usize {
        match self {
            SearchPlan::Tune(t) => t.budget,
            SearchPlan::Benchmark(b) => b.budget,
        }
    }

    /// The strategies in spec order.
    pub fn strategies(&self) -> &[StrategyConfig] {
        match self {
            SearchPlan::Tune(t) => &t.strategies,
            SearchPlan::Benchmark(b) => &b.strategies,
        }
    }

    /// The strategies' labels in spec order, as in trials, variants, tables and plots.
    pub fn strategy_labels(&self) -> Vec<String> {
        self.strategies()
            .iter()
            .map(|s| strategy_label(s).to_string())
            .collect()
    }

    /// The settings of the first `bo` strategy, if any.
    pub fn bo(&self) -> Option<&BoConfig> {
        self.strategies().iter().find_map(|s| match s {
            StrategyConfig::Bo(cfg) => Some(cfg),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tune::{Acquisition, ParamSpec};

    #[test]
    fn a_tune_plan_holds_the_validated_section_and_round_trips_through_json() {
        let text = "name = \"toy\"\nseeds = 1\n[data]\nsource = \"toy_gap_1d\"\n\
                    [train]\nepochs = 2\n[[methods]]\nname = \"adam\"\nkind = \"point\"\n\
                    optimizer = { kind = \"adam\", lr = 0.001 }\n\
                    [tune]\nmethod = \"adam\"\nobjective = \"valid.rmse\"\nbudget = 9\n\
                    strategies = [{ kind = \"random\" }, { kind = \"bo\", n_initial = 4 }]\n\
                    [tune.space]\n\
                    \"model.dropout\" = { kind = \"uniform\", low = 0.0, high = 0.5 }\n\
                    \"methods.adam.optimizer.lr\" = \
                    { kind = \"log_uniform\", low = 1e-4, high = 0.1 }\n";
        let experiment = super::super::parse("toy.toml", text, &[]).unwrap();
        let plan = SearchPlan::of(&experiment).unwrap();
        let SearchPlan::Tune(tune) = &plan else {
            panic!("{plan:?}")
        };
        // Defaults filled in: rmse is minimised, one repeat, batch 1, final runs.
        assert_eq!(tune.direction, Direction::Minimize);
        assert_eq!((tune.repeats, tune.batch, tune.final_runs), (1, 1, true));
        assert_eq!(plan.strategy_labels(), ["random", "bo"]);
        assert_eq!(plan.bo().unwrap().n_initial, Some(4));
        assert_eq!(plan.bo().unwrap().acquisition, Acquisition::LogEi);
        // The space in the run's order: the table's (sorted) key order.
        assert_eq!(tune.space.params[0].0, "methods.adam.optimizer.lr");
        assert_eq!(
            tune.space.params[1].1,
            ParamSpec::Uniform {
                low: 0.0,
                high: 0.5
            }
        );
        let json = plan.to_json();
        assert!(json.contains("\"kind\": \"tune\""), "{json}");
        assert!(json.contains("\"direction\": \"minimize\""), "{json}");
        assert!(!json.contains("warm_start"), "{json}");
        assert_eq!(SearchPlan::from_json(&json).unwrap(), plan);
    }

    #[test]
    fn a_benchmark_plan_names_its_functions_and_sorted_checkpoints() {
        let text = "name = \"bench\"\n[benchmark]\nfunctions = [\"branin\", \"hartmann6\"]\n\
                    strategies = [{ kind = \"grid\" }, { kind = \"bo\" }]\nbudget = 30\n\
                    checkpoints = [20, 10]\n";
        let experiment = super::super::parse("bench.toml", text, &[]).unwrap();
        let plan = SearchPlan::of(&experiment).unwrap();
        let SearchPlan::Benchmark(b) = &plan else {
            panic!("{plan:?}")
        };
        assert_eq!(b.functions, ["branin", "hartmann6"]);
        assert_eq!((b.budget, b.repeats), (30, 20));
        assert_eq!(b.checkpoints, [10, 20, 30]);
        assert_eq!(plan.strategy_labels(), ["grid", "bo"]);
        assert_eq!(plan.bo(), Some(&BoConfig::default()));
        assert_eq!(SearchPlan::from_json(&plan.to_json()).unwrap(), plan);
    }

    #[test]
    fn an_experiment_without_a_search_has_no_plan() {
        let experiment = super::super::parse("<quickstart>", super::super::QUICKSTART, &[]);
        assert_eq!(SearchPlan::of(&experiment.unwrap()), None);
    }
}
