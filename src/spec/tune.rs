//! The `[tune]` section: which method's hyperparameters to search, over which space, by which
//! validation metric, with which strategies and budget.
//!
//! ```toml
//! [tune]
//! method = "adam"                       # the method whose keys are searched
//! objective = "valid.gaussian_ll"       # a validation metric, never a test metric
//! direction = "maximize"                # default: from the metric (rmse ↓, gaussian_ll ↑, …)
//! budget = 40                           # trials per search
//! strategies = [{ kind = "random" }, { kind = "bo" }]
//! repeats = 5                           # independent searches per strategy
//! batch = 1                             # trials proposed and run at once within a search
//! final_runs = true                     # re-run each search's best over all seeds and splits
//! warm_start = "results/tune_uci"       # optional: earlier trials of the same method seed it
//!
//! [tune.space]
//! "methods.adam.optimizer.lr" = { kind = "log_uniform", low = 1e-4, high = 0.1 }
//! ```
//!
//! A trial is the experiment with the trial's values set on the dotted keys (as `--set` would),
//! run for the tuned method at the first seed on split 0; it is labelled with the variant
//! `trial:<strategy>:<repeat>:<trial>`. A search's best configuration is re-run over every seed and
//! split as the variant `tuned:<strategy>:<repeat>`.

use serde::Deserialize;
use toml::{Table, Value};

use super::{Experiment, RunSpec, deserialize_at, overrides, parse_table};
use crate::data::{SplitConfig, Task};
use crate::error::SpecError;
use crate::rng::derive_seed;
use crate::tune::{Direction, ParamSpec, SearchSpace, StrategyConfig};

/// Prefix of the variant label of search trials (the report keeps them out of the main table).
pub const TRIAL_PREFIX: &str = "trial:";
/// Prefix of the variant label of the re-runs of a search's best configuration.
pub const TUNED_PREFIX: &str = "tuned:";

/// The section as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TuneSection {
    method: String,
    objective: String,
    #[serde(default)]
    direction: Option<Direction>,
    budget: usize,
    #[serde(default = "default_strategies")]
    strategies: Vec<StrategyConfig>,
    #[serde(default = "one")]
    repeats: usize,
    #[serde(default = "one")]
    batch: usize,
    #[serde(default = "yes")]
    final_runs: bool,
    /// A results directory whose `trials.parquet` trials of the same method seed every search.
    #[serde(default)]
    warm_start: Option<std::path::PathBuf>,
    space: Table,
}

fn default_strategies() -> Vec<StrategyConfig> {
    vec![StrategyConfig::Bo(Default::default())]
}
fn one() -> usize {
    1
}
fn yes() -> bool {
    true
}

/// A validated search.
#[derive(Clone, Debug)]
pub struct TuneSpec {
    pub method: String,
    /// The objective as `valid.<metric>`.
    pub objective: String,
    pub metric: String,
    pub direction: Direction,
    pub budget: usize,
    /// (label, strategy); labels are the strategies' kinds (`grid`, `random`, `sobol`, `lhs`, `bo`).
    pub strategies: Vec<(String, StrategyConfig)>,
    pub repeats: usize,
    pub batch: usize,
    pub final_runs: bool,
    /// A results directory whose finished trials of the same method warm-start every search.
    pub warm_start: Option<std::path::PathBuf>,
    pub space: SearchSpace,
    file: String,
    /// The experiment table without `[tune]`, to which trial values are applied.
    base: Table,
    master_seed: u64,
    experiment: String,
    first_seed: u32,
}

/// The label of a strategy in variants, tables and plots.
pub fn strategy_label(strategy: &StrategyConfig) -> &'static str {
    match strategy {
        StrategyConfig::Grid { .. } => "grid",
        StrategyConfig::Random => "random",
        StrategyConfig::Sobol => "sobol",
        StrategyConfig::Lhs => "lhs",
        StrategyConfig::Bo(_) => "bo",
    }
}

/// Checks the trials per search (1..=100000) and the searches per strategy (1..=10000).
pub fn check_search_size(
    file: &str,
    section: &str,
    budget: usize,
    repeats: usize,
) -> Result<(), SpecError> {
    if !(1..=100_000).contains(&budget) {
        return Err(SpecError::new(
            file,
            format!("{section}.budget"),
            format!("must be in 1..=100000, got {budget}"),
        ));
    }
    if !(1..=10_000).contains(&repeats) {
        return Err(SpecError::new(
            file,
            format!("{section}.repeats"),
            format!("must be in 1..=10000, got {repeats}"),
        ));
    }
    Ok(())
}

/// Labels strategies by kind; the list must be non-empty and each kind may appear once (the
/// label names the searches in variants, tables and plots). `section` prefixes error keys.
pub fn labelled_strategies(
    file: &str,
    section: &str,
    strategies: Vec<StrategyConfig>,
) -> Result<Vec<(String, StrategyConfig)>, SpecError> {
    if strategies.is_empty() {
        return Err(SpecError::new(
            file,
            format!("{section}.strategies"),
            "give at least one strategy, e.g. [{ kind = \"random\" }, { kind = \"bo\" }]",
        ));
    }
    let mut labelled: Vec<(String, StrategyConfig)> = Vec::new();
    for (i, strategy) in strategies.into_iter().enumerate() {
        let label = strategy_label(&strategy).to_string();
        if labelled.iter().any(|(l, _)| *l == label) {
            return Err(SpecError::new(
                file,
                format!("{section}.strategies[{i}]"),
                format!("`{label}` is given twice; each strategy kind may appear once"),
            ));
        }
        labelled.push((label, strategy));
    }
    Ok(labelled)
}

impl TuneSpec {
    /// Checks the section against the experiment it belongs to.
    pub fn from_table(
        file: &str,
        full: &Table,
        section: Table,
        experiment: &Experiment,
    ) -> Result<TuneSpec, SpecError> {
        let err = |key: &str, message: String| SpecError::new(file, format!("tune.{key}"), message);
        let raw: TuneSection = deserialize_at(file, "tune", section)?;
        if !experiment.methods.contains(&raw.method) {
            return Err(err(
                "method",
                format!(
                    "no method named `{}`; the methods are: {}",
                    raw.method,
                    experiment.methods.join(", ")
                ),
            ));
        }
        if experiment.variants.len() > 1 {
            return Err(err(
                "method",
                "a [tune] section and a [sweep] cannot be combined; search the swept keys instead"
                    .into(),
            ));
        }
        let first = &experiment.runs[0].config;
        let (split, metric) = raw.objective.split_once('.').unwrap_or(("", ""));
        if split != "valid" {
            return Err(err(
                "objective",
                format!(
                    "must be a validation metric `valid.<metric>` (a search that sees test \
                     metrics overfits them), got `{}`",
                    raw.objective
                ),
            ));
        }
        let allowed: &[&str] = match first.data.task() {
            Task::Regression => &["rmse", "gaussian_ll"],
            Task::Classification => &["accuracy", "nll", "brier", "ece"],
        };
        if !allowed.contains(&metric) {
            return Err(err(
                "objective",
                format!(
                    "`{metric}` is not a metric of this task; use one of: {}",
                    allowed
                        .iter()
                        .map(|m| format!("valid.{m}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        let has_valid = match &first.data.split {
            SplitConfig::Random { valid, .. } | SplitConfig::Kfold { valid, .. } => *valid > 0.0,
        };
        if !has_valid {
            return Err(SpecError::new(
                file,
                "data.split.valid",
                "a search needs a validation part: set valid > 0, e.g. 0.1",
            ));
        }
        check_search_size(file, "tune", raw.budget, raw.repeats)?;
        if raw.batch == 0 || raw.batch > raw.budget {
            return Err(err(
                "batch",
                format!("must be in 1..=budget ({}), got {}", raw.budget, raw.batch),
            ));
        }
        let strategies = labelled_strategies(file, "tune", raw.strategies)?;
        let mut params = Vec::new();
        for (key, value) in raw.space {
            let at = format!("tune.space.\"{key}\"");
            let table = match value {
                Value::Table(t) => t,
                other => {
                    return Err(SpecError::new(
                        file,
                        at,
                        format!(
                            "must be a table such as {{ kind = \"log_uniform\", low = 1e-4, high = 0.1 }}, got a {}",
                            other.type_str()
                        ),
                    ));
                }
            };
            let spec: ParamSpec = deserialize_at(file, &at, table)?;
            params.push((key, spec));
        }
        let space = SearchSpace { params };
        if let Some(dir) = &raw.warm_start
            && !dir.join(crate::store::TRIALS_FILE).is_file()
        {
            return Err(err(
                "warm_start",
                format!(
                    "{} has no {}: name the results directory of an earlier search, e.g. \
                     \"results/tune_uci\"",
                    dir.display(),
                    crate::store::TRIALS_FILE
                ),
            ));
        }
        space.validate().map_err(|(key, message)| {
            SpecError::new(file, format!("tune.space.\"{key}\""), message)
        })?;

        let mut base = full.clone();
        base.remove("tune");
        use crate::metrics::Direction as Better;
        let direction = match (raw.direction, crate::metrics::direction(metric)) {
            (Some(given), _) => given,
            (None, Some(Better::HigherIsBetter)) => Direction::Maximize,
            (None, Some(Better::LowerIsBetter) | None) => Direction::Minimize,
            (None, Some(Better::CloserTo(_) | Better::Descriptive)) => {
                return Err(err(
                    "direction",
                    format!(
                        "{metric} is best at a nominal value or is descriptive, so no direction \
                         follows from it: set direction = \"maximize\" or \"minimize\", or \
                         search on a score such as gaussian_ll or nll"
                    ),
                ));
            }
        };
        let tune = TuneSpec {
            method: raw.method,
            objective: raw.objective.clone(),
            metric: metric.to_string(),
            direction,
            budget: raw.budget,
            strategies,
            repeats: raw.repeats,
            batch: raw.batch,
            final_runs: raw.final_runs,
            warm_start: raw.warm_start,
            space,
            file: file.to_string(),
            base,
            master_seed: experiment.master_seed,
            experiment: experiment.name.clone(),
            first_seed: experiment.seeds[0],
        };
        tune.check_every_key_matters()?;
        Ok(tune)
    }

    /// Every searched key must be a key of the tuned method's run: setting it to the low and the
    /// high end of its range must give valid, different configurations.
    fn check_every_key_matters(&self) -> Result<(), SpecError> {
        let dim = self.space.dim();
        let lows = self.space.decode(&vec![0.0; dim]);
        let highs = self.space.decode(&vec![1.0; dim]);
        let at_low = self.trial_run(&lows, "check", 0, 0)?;
        for (i, (key, spec)) in self.space.params.iter().enumerate() {
            if spec.dim() == 0 {
                continue;
            }
            let mut values = lows.clone();
            values[i] = match spec {
                // Decoding ties takes the first choice, so the other end is the second choice.
                ParamSpec::Categorical { choices } => (key.clone(), choices[1].clone()),
                _ => highs[i].clone(),
            };
            let run = self.trial_run(&values, "check", 0, 0)?;
            if run.config == at_low.config {
                return Err(SpecError::new(
                    &self.file,
                    format!("tune.space.\"{key}\""),
                    format!(
                        "changing this key does not change the runs of method `{}`; \
                         search a key of that method (e.g. \"methods.{}.optimizer.lr\") or of \
                         [model], [train], [data]",
                        self.method, self.method
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The experiment's runs of the tuned method with `values` set, as variant `variant`.
    fn runs_with(
        &self,
        values: &[(String, Value)],
        variant: &str,
    ) -> Result<Vec<RunSpec>, SpecError> {
        let mut table = self.base.clone();
        for (key, value) in values {
            overrides::set_path(&mut table, key, value.clone())
                .map_err(|m| SpecError::new(&self.file, format!("tune.space.\"{key}\""), m))?;
        }
        let experiment = parse_table(&self.file, &table).map_err(|mut e| {
            e.message = format!("{} (with the search's values {})", e.message, show(values));
            e
        })?;
        Ok(experiment
            .runs
            .into_iter()
            .filter(|r| r.config.method == self.method)
            .map(|mut r| {
                r.config.variant = variant.to_string();
                r.run_id = r.config.run_id();
                r
            })
            .collect())
    }

    /// The run of trial `trial` of search (`strategy`, `repeat`): the tuned method at the first
    /// seed on split 0, with the trial's values.
    pub fn trial_run(
        &self,
        values: &[(String, Value)],
        strategy: &str,
        repeat: usize,
        trial: usize,
    ) -> Result<RunSpec, SpecError> {
        let variant = format!("{TRIAL_PREFIX}{strategy}:{repeat}:{trial:03}");
        self.runs_with(values, &variant)?
            .into_iter()
            .find(|r| r.config.seed == self.first_seed && r.config.split == 0)
            .ok_or_else(|| SpecError::new(&self.file, "tune", "the tuned method has no run"))
    }

    /// The runs that re-evaluate a search's best values over every seed and split.
    pub fn final_runs(
        &self,
        values: &[(String, Value)],
        strategy: &str,
        repeat: usize,
    ) -> Result<Vec<RunSpec>, SpecError> {
        self.runs_with(values, &format!("{TUNED_PREFIX}{strategy}:{repeat}"))
    }

    /// The seed of search (`strategy`, `repeat`).
    pub fn search_seed(&self, strategy: &str, repeat: usize) -> u64 {
        derive_seed(
            self.master_seed,
            &[
                &self.experiment,
                "tune",
                strategy,
                &format!("repeat{repeat}"),
            ],
        )
    }
}

/// `lr = 0.001, dropout = 0.1` for messages.
pub fn show(values: &[(String, Value)]) -> String {
    values
        .iter()
        .map(|(k, v)| format!("{k} = {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}
