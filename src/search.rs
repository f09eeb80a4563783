//! Runs an experiment's `[tune]` section: one independent search per (strategy, repeat), the
//! searches in parallel, and each search a shard unit (`--shard K/N` runs some of them); within a search, ask the [`SearchState`] for `batch` points, run them as
//! trials, tell it their validation objective, until the budget is spent; then re-run the best
//! configuration over every seed and split.
//!
//! Every search is a deterministic function of its seed and the trials' results, and every trial
//! is a run with a stable id. Resuming therefore replays each search: a trial whose part is
//! already on disk is read back instead of run, so a resumed search proposes exactly the points
//! of an uninterrupted one. Results do not depend on `--jobs` (only `batch` changes proposals).
//!
//! Failed trials (a run that diverged, or values the spec refuses) are recorded with status
//! `failed`, told to the tuner as failures (it never picks them as best; the GP sees them as the
//! worst value observed so far, see [`crate::tune`]) and the search goes on.

use std::time::Instant;

use std::sync::atomic::AtomicBool;

use rayon::prelude::*;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::spec::benchmark::BenchmarkSpec;
use crate::spec::tune::TuneSpec;
use crate::spec::{Experiment, RunSpec};
use crate::store;
use crate::store::{RunOutput, RunStatus, TrialRow};
use crate::tune::functions::TestFunction;
use crate::tune::{Direction, SearchState, StrategyConfig, TrialSource, WarmTrial};
use crate::worker::{Outcome, Worker};

/// The independent searches of a `[tune]` section, in order: every repeat of the first strategy,
/// then of the next. Search `i` of this list is the `i`-th shard unit of the section.
pub fn searches(tune: &TuneSpec) -> Vec<(&str, &StrategyConfig, usize)> {
    tune.strategies
        .iter()
        .flat_map(|(label, strategy)| (0..tune.repeats).map(move |r| (label.as_str(), strategy, r)))
        .collect()
}

/// The searches that shard `k` of `n` runs (all without a shard): search `i` belongs to shard
/// `i mod n + 1`, so N searches over N shards give one each.
pub fn searches_of_shard(
    tune: &TuneSpec,
    shard: Option<(usize, usize)>,
) -> Vec<(&str, &StrategyConfig, usize)> {
    searches(tune)
        .into_iter()
        .enumerate()
        .filter(|(i, _)| shard.is_none_or(|(k, n)| crate::runner::search_in_shard(*i, k, n)))
        .map(|(_, search)| search)
        .collect()
}

/// Training epochs of `searches` searches of the section, for the progress bar.
pub fn planned_epochs(experiment: &Experiment, tune: &TuneSpec, searches: usize) -> u64 {
    let runs: Vec<&RunSpec> = experiment
        .runs
        .iter()
        .filter(|r| r.config.method == tune.method)
        .collect();
    let epochs = runs.first().map_or(0, |r| r.config.epochs_of_work());
    let finals = if tune.final_runs {
        runs.len() as u64
    } else {
        0
    };
    epochs * searches as u64 * (tune.budget as u64 + finals)
}

/// The final value of `split.metric` in a run's output ([`crate::metrics::final_value`]: its
/// value at the run's last (epoch, step)); None if the run failed or the value is not finite.
pub fn final_value(output: &RunOutput, split: &str, metric: &str) -> Option<f64> {
    if output.record.status != RunStatus::Ok {
        return None;
    }
    let rows = output
        .metrics
        .iter()
        .filter(|m| m.split == split && m.metric == metric)
        .map(|m| (m.epoch, m.step, m.value));
    crate::metrics::final_value(rows).filter(|v| v.is_finite())
}

/// Runs the searches of the section that belong to `shard` (all without one); each writes its
/// trials as a trial part when it ends ([`store::write_search_trials`]), and the merge puts them
/// into `trials.parquet`. Returns how many searches ran.
pub(crate) fn run_searches(
    tune: &TuneSpec,
    worker: &Worker,
    shard: Option<(usize, usize)>,
) -> Result<usize> {
    let searches = searches_of_shard(tune, shard);
    let done: Vec<Result<()>> = searches
        .par_iter()
        .map(|&(label, strategy, repeat)| {
            let rows = one_search(tune, label, strategy, repeat, worker)?;
            Ok(store::write_search_trials(
                worker.results,
                label,
                repeat,
                &rows,
            )?)
        })
        .collect();
    done.into_iter().collect::<Result<Vec<()>>>()?;
    Ok(searches.len())
}

/// The finished trials of `method` stored in an earlier results directory, as (values,
/// objective) pairs for [`SearchState::warm_start`].
pub fn earlier_trials(dir: &std::path::Path, method: &str) -> Result<Vec<WarmTrial>> {
    let mut out = Vec::new();
    for row in store::load_trials(dir)? {
        if row.problem != method || row.objective.is_none() {
            continue;
        }
        let bad = |e: String| {
            Error::Other(format!(
                "{}: trial {} of {}: parameters {}: {e}",
                dir.display(),
                row.trial,
                row.strategy,
                row.parameters
            ))
        };
        let json: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&row.parameters).map_err(|e| bad(e.to_string()))?;
        let values = json
            .into_iter()
            .map(|(k, v)| {
                toml::Value::deserialize(v)
                    .map(|v| (k, v))
                    .map_err(|e| bad(e.to_string()))
            })
            .collect::<Result<Vec<_>>>()?;
        out.push((values, row.objective));
    }
    Ok(out)
}

fn better(direction: Direction, a: f64, b: f64) -> bool {
    match direction {
        Direction::Minimize => a < b,
        Direction::Maximize => a > b,
    }
}

/// `design`, `model` or `warm_start`: the serde name of a trial's source.
fn source_name(source: TrialSource) -> String {
    crate::spec::serde_name(&source)
}

fn one_search(
    tune: &TuneSpec,
    label: &str,
    strategy: &StrategyConfig,
    repeat: usize,
    worker: &Worker,
) -> Result<Vec<TrialRow>> {
    let mut tuner = SearchState::new(
        tune.space.clone(),
        strategy.clone(),
        tune.direction,
        tune.budget,
        tune.search_seed(label, repeat),
    );
    if let Some(dir) = &tune.warm_start {
        tuner
            .warm_start(&earlier_trials(dir, &tune.method)?)
            .map_err(|e| Error::Other(format!("tune.warm_start {}: {e}", dir.display())))?;
    }
    let mut rows = Vec::new();
    let mut best: Option<f64> = None;
    while tuner.remaining() > 0 && !worker.stopping() {
        let start = Instant::now();
        let proposals = tuner.ask(tune.batch);
        let proposal_ms = start.elapsed().as_secs_f64() * 1e3 / proposals.len().max(1) as f64;
        let runs: Vec<Option<RunSpec>> = proposals
            .iter()
            .map(|p| tune.trial_run(&p.values, label, repeat, p.trial).ok())
            .collect();
        let outcomes: Vec<Option<Outcome>> = runs
            .par_iter()
            .map(|run| run.as_ref().map(|r| worker.run(r)))
            .collect();
        for ((proposal, run), outcome) in proposals.iter().zip(&runs).zip(&outcomes) {
            let (objective, run_id, wall_s) = match (run, outcome.as_ref().map(Outcome::output)) {
                // The spec refused the values: a failed trial without a run.
                (None, _) => (None, String::new(), 0.0),
                (Some(_), Some(None)) | (Some(_), None) => return Ok(rows), // stopping
                (Some(run), Some(Some(out))) => (
                    final_value(out, "valid", &tune.metric),
                    run.run_id.clone(),
                    out.record.duration_s,
                ),
            };
            tuner
                .tell(proposal.trial, objective)
                .expect("each proposal is told once");
            if let Some(v) = objective
                && best.is_none_or(|b| better(tune.direction, v, b))
            {
                best = Some(v);
            }
            let parameters: serde_json::Map<String, serde_json::Value> = proposal
                .values
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap_or_default()))
                .collect();
            rows.push(TrialRow {
                problem: tune.method.clone(),
                strategy: label.to_string(),
                repeat: repeat as u32,
                trial: proposal.trial as u32,
                run_id,
                parameters: serde_json::Value::Object(parameters).to_string(),
                objective,
                best_so_far: best,
                status: if objective.is_some() {
                    "complete"
                } else {
                    "failed"
                }
                .into(),
                source: source_name(tuner.trials()[proposal.trial].source),
                proposal_ms,
                wall_s,
            });
        }
    }
    if tune.final_runs
        && !worker.stopping()
        && let Some((trial, _)) = tuner.best()
    {
        let values = tuner.trials()[trial].values.clone();
        let runs = tune.final_runs(&values, label, repeat)?;
        runs.par_iter().for_each(|run| {
            worker.run(run);
        });
    }
    Ok(rows)
}

/// Runs a benchmark: every (function, strategy, repeat) search, in parallel, each minimising the
/// function over its box with `ask(1)`/`tell`; search r of every strategy is seeded with r.
pub fn run_function_searches(
    benchmark: &BenchmarkSpec,
    cancel: &AtomicBool,
    on_search: &(dyn Fn() + Sync),
) -> Vec<TrialRow> {
    let searches: Vec<(&TestFunction, &str, &StrategyConfig, usize)> = benchmark
        .functions
        .iter()
        .flat_map(|f| {
            benchmark.strategies.iter().flat_map(move |(label, s)| {
                (0..benchmark.repeats).map(move |r| (f, label.as_str(), s, r))
            })
        })
        .collect();
    let per_search: Vec<Vec<TrialRow>> = searches
        .par_iter()
        .map(|&(function, label, strategy, repeat)| {
            if cancel.load(std::sync::atomic::Ordering::Relaxed) {
                return Vec::new();
            }
            let rows = one_function_search(function, label, strategy, repeat, benchmark.budget);
            on_search();
            rows
        })
        .collect();
    per_search.into_iter().flatten().collect()
}

fn one_function_search(
    function: &TestFunction,
    label: &str,
    strategy: &StrategyConfig,
    repeat: usize,
    budget: usize,
) -> Vec<TrialRow> {
    let mut tuner = SearchState::new(
        function.space(),
        strategy.clone(),
        Direction::Minimize,
        budget,
        repeat as u64,
    );
    let mut rows = Vec::with_capacity(budget);
    let mut best = f64::INFINITY;
    let mut x = vec![0.0; function.dim()];
    while tuner.remaining() > 0 {
        let start = Instant::now();
        let Some(p) = tuner.ask(1).pop() else { break };
        let proposal_ms = start.elapsed().as_secs_f64() * 1e3;
        for (xi, (_, v)) in x.iter_mut().zip(&p.values) {
            *xi = v.as_float().unwrap_or(f64::NAN);
        }
        let start = Instant::now();
        let y = (function.f)(&x);
        let wall_s = start.elapsed().as_secs_f64();
        tuner
            .tell(p.trial, Some(y))
            .expect("each proposal is told once");
        best = best.min(y);
        rows.push(TrialRow {
            problem: function.name.to_string(),
            strategy: label.to_string(),
            repeat: repeat as u32,
            trial: p.trial as u32,
            run_id: String::new(),
            parameters: serde_json::to_string(&x).unwrap_or_default(),
            objective: Some(y),
            best_so_far: Some(best),
            status: "complete".into(),
            source: source_name(tuner.trials()[p.trial].source),
            proposal_ms,
            wall_s,
        });
    }
    rows
}
