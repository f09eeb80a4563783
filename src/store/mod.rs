//! Parquet results store: the schemas of the results contract, per-run parts, and the merge
//! that folds parts into `runs.parquet`, `metrics.parquet`, `predictions.parquet` and
//! `traces.parquet`.
//!
//! Layout under `results/<experiment>/`:
//! - `runs.parquet`, `metrics.parquet`, `predictions.parquet`, `traces.parquet`: the merged
//!   files (the last two only when some run has such rows);
//! - `parts/`: the runs finished since the last merge, one part each ([`parts`]), and in
//!   `parts/trials/` the trials of each search finished since ([`trial_parts`]);
//! - `trials.parquet`: the trials of searches;
//! - `checkpoints/`: the finished members of ensemble runs still in progress ([`checkpoints`]).
//!
//! Every file is written through [`atomic::write_atomic`]. A resume reads what is done once
//! ([`finished_runs`]: two columns of `runs.parquet` and a listing of `parts/`), never one file
//! per run. This module knows nothing about methods or metrics; it must not compute anything.

mod atomic;
mod checkpoints;
mod frames;
mod lock;
mod merge;
mod parts;
mod trial_parts;

use std::path::Path;

#[cfg(test)]
mod tests;

use crate::error::StoreError;

pub use atomic::{host_name, temporary_path, write_atomic};
pub use checkpoints::{CHECKPOINTS_DIR, MemberCheckpoints};
pub use lock::{LOCK_FILE, MergeLock};
pub use merge::{STALE_DIR, finished_outputs, finished_runs, merge, retire_stale};
pub use parts::write_part;
pub use trial_parts::{TRIAL_PARTS_DIR, write_search_trials};

/// Final status of one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Ok,
    Failed,
}

impl RunStatus {
    /// The string stored in the `status` column: `ok` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Ok => "ok",
            RunStatus::Failed => "failed",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "ok" => Some(RunStatus::Ok),
            "failed" => Some(RunStatus::Failed),
            _ => None,
        }
    }
}

/// One row of `runs.parquet`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunRecord {
    pub run_id: String,
    pub experiment: String,
    pub method: String,
    pub variant: String,
    pub seed: u32,
    pub split: u32,
    pub status: RunStatus,
    pub error: Option<String>,
    pub duration_s: f64,
    pub n_params: u64,
    pub n_samples: u64,
    /// JSON of the resolved run configuration.
    pub config: String,
}

/// One row of `metrics.parquet` (without its `run_id`): `run_id, epoch, step, samples, split,
/// metric, value`.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricRow {
    pub epoch: i64,
    pub step: i64,
    /// Weight samples, ensemble members or stochastic passes folded into the predictive this
    /// value scores: 1 for a point estimate (and for training losses). Results format 2; files
    /// of format 1 lack the column and read as 1.
    pub samples: i64,
    /// `train`, `valid` or `test`.
    pub split: String,
    pub metric: String,
    pub value: f64,
}

/// One row of predictions for plots. Regression: mean/std of the predictive (original target
/// scale), label/confidence None. Classification: label = predicted class, confidence = its
/// probability, entropy and mutual information its uncertainty, mean/std None. `input` is the
/// first input feature (original scale) when the data are 1-D, else None. Split may be "test",
/// "grid" (a dense grid for 1-D bands, target None) or an out-of-distribution part's name
/// (target None). Files written before `entropy` and `mutual_information` existed read as None.
#[derive(Clone, Debug, PartialEq)]
pub struct PredictionRow {
    pub split: String,
    pub index: u32,
    pub input: Option<f64>,
    pub target: Option<f64>,
    pub mean: Option<f64>,
    pub std: Option<f64>,
    pub label: Option<i64>,
    pub confidence: Option<f64>,
    /// Classification: the predictive entropy H[p̄] of the example (nats).
    pub entropy: Option<f64>,
    /// Classification: the mutual information H[p̄] − 1/S Σ_s H[p_s] (nats).
    pub mutual_information: Option<f64>,
}

/// One row of `traces.parquet` (without its `run_id`): a scalar summary of one kept sample of
/// one chain of a sampler, the input of convergence diagnostics (ESS, R̂) and trace plots.
/// Results format 2.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceRow {
    /// Which chain of the run, from 0.
    pub chain: u32,
    /// Which kept sample of that chain, from 1.
    pub sample: u32,
    pub epoch: i64,
    /// Updates of the chain so far when the sample was kept.
    pub step: i64,
    /// What is summarised, e.g. `test_log_likelihood` (mean per example of this one sample's
    /// predictive) or `weight_norm` (‖θ‖₂).
    pub quantity: String,
    pub value: f64,
}

/// Everything one run produces.
#[derive(Clone, Debug, PartialEq)]
pub struct RunOutput {
    pub record: RunRecord,
    pub metrics: Vec<MetricRow>,
    pub predictions: Vec<PredictionRow>,
    pub traces: Vec<TraceRow>,
}

/// What [`merge`] wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MergeSummary {
    pub runs_ok: usize,
    pub runs_failed: usize,
    pub metric_rows: usize,
    pub prediction_rows: usize,
    pub trace_rows: usize,
}

/// Merged results, as read by [`load`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Results {
    pub runs: Vec<RunRecord>,
    /// `(run_id, row)`.
    pub metrics: Vec<(String, MetricRow)>,
    /// `(run_id, row)`.
    pub predictions: Vec<(String, PredictionRow)>,
    /// `(run_id, row)`.
    pub traces: Vec<(String, TraceRow)>,
}

/// Version of the results contract (file layout, columns, types). Bump it on any change a reader
/// could notice; readers refuse nothing yet, `manifest.json` records it. (Parts are not part of
/// the contract: their layout may change without a bump, and parts of older layouts are read.)
pub const FORMAT_VERSION: u32 = 2;

/// Merged file names inside `results/<experiment>/`.
pub const RUNS_FILE: &str = "runs.parquet";
pub const METRICS_FILE: &str = "metrics.parquet";
pub const PREDICTIONS_FILE: &str = "predictions.parquet";
pub const TRACES_FILE: &str = "traces.parquet";
/// Directory of per-run parts inside `results/<experiment>/`.
pub const PARTS_DIR: &str = "parts";
/// File of the trials of hyperparameter searches inside `results/<experiment>/`.
pub const TRIALS_FILE: &str = "trials.parquet";

/// Loads merged results (for the report and tests). `predictions.parquet` and `traces.parquet`
/// are optional. Parts not
/// merged yet are not included.
pub fn load(results_dir: &Path) -> Result<Results, StoreError> {
    let runs_path = results_dir.join(RUNS_FILE);
    if !runs_path.exists() {
        return Err(StoreError::Io {
            path: runs_path,
            message: "no merged results here: run the experiment (`bayeslab run`) or merge its parts (`bayeslab merge`) first".into(),
        });
    }
    let runs = frames::runs_from_df(&frames::read_df(&runs_path, None)?, &runs_path)?;
    let metrics_path = results_dir.join(METRICS_FILE);
    let metrics = frames::metrics_from_df(&frames::read_df(&metrics_path, None)?, &metrics_path)?;
    let predictions_path = results_dir.join(PREDICTIONS_FILE);
    let predictions = if predictions_path.exists() {
        frames::predictions_from_df(
            &frames::read_df(&predictions_path, None)?,
            &predictions_path,
        )?
    } else {
        Vec::new()
    };
    let traces_path = results_dir.join(TRACES_FILE);
    let traces = if traces_path.exists() {
        frames::traces_from_df(&frames::read_df(&traces_path, None)?, &traces_path)?
    } else {
        Vec::new()
    };
    Ok(Results {
        runs,
        metrics,
        predictions,
        traces,
    })
}

/// One trial of a search (a row of `trials.parquet`).
#[derive(Clone, Debug, PartialEq)]
pub struct TrialRow {
    /// What was searched: the tuned method of an experiment, or a benchmark's test function.
    pub problem: String,
    /// The strategy (`grid`, `random`, `sobol`, `lhs`, `bo`).
    pub strategy: String,
    /// Which independent search of that strategy.
    pub repeat: u32,
    /// Trial number within the search, from 0.
    pub trial: u32,
    pub run_id: String,
    /// The trial's values as a JSON object of dotted key → value.
    pub parameters: String,
    /// The objective (a validation metric); None for a failed trial.
    pub objective: Option<f64>,
    /// The best objective of the search so far (in its direction).
    pub best_so_far: Option<f64>,
    /// `complete` or `failed`.
    pub status: String,
    /// `design`, `model` or `warm_start`.
    pub source: String,
    /// Wall time of the proposal (model fit + acquisition), milliseconds.
    pub proposal_ms: f64,
    /// Wall time of the trial's run, seconds.
    pub wall_s: f64,
}

/// Writes `trials.parquet` atomically (rows in the given order).
pub fn write_trials(results_dir: &Path, rows: &[TrialRow]) -> Result<(), StoreError> {
    let path = results_dir.join(TRIALS_FILE);
    let mut df = frames::trials_df(rows).map_err(frames::pl_err(&path))?;
    write_atomic(
        &path,
        &frames::encode(&mut df, frames::Encoding::Merged, None, &path)?,
    )
}

/// Reads `trials.parquet`; empty when the experiment has no search.
pub fn load_trials(results_dir: &Path) -> Result<Vec<TrialRow>, StoreError> {
    let path = results_dir.join(TRIALS_FILE);
    if !path.exists() {
        return Ok(Vec::new());
    }
    frames::trials_from_df(&frames::read_df(&path, None)?, &path)
}
