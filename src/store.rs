//! Parquet results store: the schemas of the results contract, atomic per-run part files, and the
//! merge of parts into `runs.parquet`, `metrics.parquet` and `predictions.parquet`.
//!
//! Layout under `results/<experiment>/`:
//! - `parts/<run_id>.metrics.parquet`, `parts/<run_id>.predictions.parquet` (only when the run
//!   has predictions), and `parts/<run_id>.run.parquet`, the run's row, written **last**: a part
//!   is complete exactly when its run-row file exists.
//! - `runs.parquet`, `metrics.parquet`, `predictions.parquet`: the merged files.
//!
//! Every file is written to a hidden temporary name in its final directory and renamed, so a
//! killed process leaves either the old file, the new file, or an ignored temporary file.
//! Parquet bytes are deterministic: zstd (default level) compression, one row group per 512²
//! rows, column statistics, no timestamps; merged rows are ordered by `run_id`, then in the order
//! the run wrote them, so the same parts always merge to byte-identical files.
//!
//! This module knows nothing about methods or metrics; it must not compute anything.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::error::StoreError;

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

    fn parse(s: &str) -> Option<Self> {
        match s {
            "ok" => Some(RunStatus::Ok),
            "failed" => Some(RunStatus::Failed),
            _ => None,
        }
    }
}

/// One row of `runs.parquet`.
#[derive(Clone, Debug, PartialEq)]
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

/// One row of `metrics.parquet` (without its `run_id`).
#[derive(Clone, Debug, PartialEq)]
pub struct MetricRow {
    pub epoch: i64,
    pub step: i64,
    /// `train`, `valid` or `test`.
    pub split: String,
    pub metric: String,
    pub value: f64,
}

/// One row of predictions for plots. Regression: mean/std of the predictive (original target
/// scale), label/confidence None. Classification: label = predicted class, confidence = its
/// probability, mean/std None. `input` is the first input feature (original scale) when the data
/// are 1-D, else None. Split may be "test", "valid", or "grid" (a dense grid for 1-D bands,
/// target None).
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
}

/// Everything one run produces.
#[derive(Clone, Debug, PartialEq)]
pub struct RunOutput {
    pub record: RunRecord,
    pub metrics: Vec<MetricRow>,
    pub predictions: Vec<PredictionRow>,
}

/// What [`merge`] wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MergeSummary {
    pub runs_ok: usize,
    pub runs_failed: usize,
    pub metric_rows: usize,
    pub prediction_rows: usize,
}

/// Merged results, as read by [`load`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Results {
    pub runs: Vec<RunRecord>,
    /// `(run_id, row)`.
    pub metrics: Vec<(String, MetricRow)>,
    /// `(run_id, row)`.
    pub predictions: Vec<(String, PredictionRow)>,
}

/// Version of the results contract (file layout, columns, types). Bump it on any change a reader
/// could notice; readers refuse nothing yet, `manifest.json` records it.
pub const FORMAT_VERSION: u32 = 1;

/// Merged file names inside `results/<experiment>/`.
pub const RUNS_FILE: &str = "runs.parquet";
pub const METRICS_FILE: &str = "metrics.parquet";
pub const PREDICTIONS_FILE: &str = "predictions.parquet";
/// Directory of per-run parts inside `results/<experiment>/`.
pub const PARTS_DIR: &str = "parts";

const RUN_SUFFIX: &str = ".run.parquet";
const METRICS_SUFFIX: &str = ".metrics.parquet";
const PREDICTIONS_SUFFIX: &str = ".predictions.parquet";

fn parts_dir(results_dir: &Path) -> PathBuf {
    results_dir.join(PARTS_DIR)
}

fn io_err(path: &Path, what: &str, e: std::io::Error) -> StoreError {
    StoreError::Io {
        path: path.to_path_buf(),
        message: format!("{what}: {e}"),
    }
}

fn pl_err(path: &Path) -> impl FnOnce(PolarsError) -> StoreError + '_ {
    move |source| StoreError::Polars {
        path: path.to_path_buf(),
        source,
    }
}

/// A run_id becomes a file name, so it must be a plain, non-hidden name.
fn check_run_id(run_id: &str, dir: &Path) -> Result<(), StoreError> {
    let ok = !run_id.is_empty()
        && !run_id.starts_with('.')
        && run_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::Io {
            path: dir.to_path_buf(),
            message: format!(
                "run_id {run_id:?} cannot name a part file: use only ASCII letters, digits, '-', '_' and '.' (not first)"
            ),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// DataFrame <-> rows

fn runs_df<'a>(records: impl Iterator<Item = &'a RunRecord>) -> Result<DataFrame, PolarsError> {
    let records: Vec<&RunRecord> = records.collect();
    let s = |f: fn(&RunRecord) -> &str| -> Vec<&str> { records.iter().map(|r| f(r)).collect() };
    let columns = vec![
        Column::new("run_id".into(), s(|r| &r.run_id)),
        Column::new("experiment".into(), s(|r| &r.experiment)),
        Column::new("method".into(), s(|r| &r.method)),
        Column::new("variant".into(), s(|r| &r.variant)),
        Column::new(
            "seed".into(),
            records.iter().map(|r| r.seed).collect::<Vec<u32>>(),
        ),
        Column::new(
            "split".into(),
            records.iter().map(|r| r.split).collect::<Vec<u32>>(),
        ),
        Column::new("status".into(), s(|r| r.status.as_str())),
        Column::new(
            "error".into(),
            records
                .iter()
                .map(|r| r.error.as_deref())
                .collect::<Vec<Option<&str>>>(),
        ),
        Column::new(
            "duration_s".into(),
            records.iter().map(|r| r.duration_s).collect::<Vec<f64>>(),
        ),
        Column::new(
            "n_params".into(),
            records.iter().map(|r| r.n_params).collect::<Vec<u64>>(),
        ),
        Column::new(
            "n_samples".into(),
            records.iter().map(|r| r.n_samples).collect::<Vec<u64>>(),
        ),
        Column::new("config".into(), s(|r| &r.config)),
    ];
    DataFrame::new(records.len(), columns)
}

fn metrics_df<'a>(
    rows: impl Iterator<Item = (&'a str, &'a MetricRow)>,
) -> Result<DataFrame, PolarsError> {
    let rows: Vec<(&str, &MetricRow)> = rows.collect();
    let columns = vec![
        Column::new(
            "run_id".into(),
            rows.iter().map(|r| r.0).collect::<Vec<&str>>(),
        ),
        Column::new(
            "epoch".into(),
            rows.iter().map(|r| r.1.epoch).collect::<Vec<i64>>(),
        ),
        Column::new(
            "step".into(),
            rows.iter().map(|r| r.1.step).collect::<Vec<i64>>(),
        ),
        Column::new(
            "split".into(),
            rows.iter()
                .map(|r| r.1.split.as_str())
                .collect::<Vec<&str>>(),
        ),
        Column::new(
            "metric".into(),
            rows.iter()
                .map(|r| r.1.metric.as_str())
                .collect::<Vec<&str>>(),
        ),
        Column::new(
            "value".into(),
            rows.iter().map(|r| r.1.value).collect::<Vec<f64>>(),
        ),
    ];
    DataFrame::new(rows.len(), columns)
}

fn predictions_df<'a>(
    rows: impl Iterator<Item = (&'a str, &'a PredictionRow)>,
) -> Result<DataFrame, PolarsError> {
    let rows: Vec<(&str, &PredictionRow)> = rows.collect();
    let f = |g: fn(&PredictionRow) -> Option<f64>| -> Vec<Option<f64>> {
        rows.iter().map(|r| g(r.1)).collect()
    };
    let columns = vec![
        Column::new(
            "run_id".into(),
            rows.iter().map(|r| r.0).collect::<Vec<&str>>(),
        ),
        Column::new(
            "split".into(),
            rows.iter()
                .map(|r| r.1.split.as_str())
                .collect::<Vec<&str>>(),
        ),
        Column::new(
            "index".into(),
            rows.iter().map(|r| r.1.index).collect::<Vec<u32>>(),
        ),
        Column::new("input".into(), f(|p| p.input)),
        Column::new("target".into(), f(|p| p.target)),
        Column::new("mean".into(), f(|p| p.mean)),
        Column::new("std".into(), f(|p| p.std)),
        Column::new(
            "label".into(),
            rows.iter().map(|r| r.1.label).collect::<Vec<Option<i64>>>(),
        ),
        Column::new("confidence".into(), f(|p| p.confidence)),
    ];
    DataFrame::new(rows.len(), columns)
}

/// A required (non-null) value, or an error naming the file, column and row.
fn required<T>(v: Option<T>, path: &Path, column: &str, row: usize) -> Result<T, StoreError> {
    v.ok_or_else(|| StoreError::Io {
        path: path.to_path_buf(),
        message: format!(
            "column `{column}` row {row} is null; the file is damaged: delete it and run `bayeslab merge` again"
        ),
    })
}

fn str_col<'a>(
    df: &'a DataFrame,
    name: &str,
    path: &Path,
) -> Result<&'a StringChunked, StoreError> {
    df.column(name).and_then(|c| c.str()).map_err(pl_err(path))
}

fn runs_from_df(df: &DataFrame, path: &Path) -> Result<Vec<RunRecord>, StoreError> {
    let pe = pl_err(path);
    let run_id = str_col(df, "run_id", path)?;
    let experiment = str_col(df, "experiment", path)?;
    let method = str_col(df, "method", path)?;
    let variant = str_col(df, "variant", path)?;
    let status = str_col(df, "status", path)?;
    let error = str_col(df, "error", path)?;
    let config = str_col(df, "config", path)?;
    let (seed, split, duration_s, n_params, n_samples) = (|| {
        Ok((
            df.column("seed")?.u32()?,
            df.column("split")?.u32()?,
            df.column("duration_s")?.f64()?,
            df.column("n_params")?.u64()?,
            df.column("n_samples")?.u64()?,
        ))
    })()
    .map_err(pe)?;
    (0..df.height())
        .map(|i| {
            let status_str = required(status.get(i), path, "status", i)?;
            let status = RunStatus::parse(status_str).ok_or_else(|| StoreError::Io {
                path: path.to_path_buf(),
                message: format!(
                    "column `status` row {i} is {status_str:?}; expected \"ok\" or \"failed\""
                ),
            })?;
            Ok(RunRecord {
                run_id: required(run_id.get(i), path, "run_id", i)?.to_string(),
                experiment: required(experiment.get(i), path, "experiment", i)?.to_string(),
                method: required(method.get(i), path, "method", i)?.to_string(),
                variant: required(variant.get(i), path, "variant", i)?.to_string(),
                seed: required(seed.get(i), path, "seed", i)?,
                split: required(split.get(i), path, "split", i)?,
                status,
                error: error.get(i).map(str::to_string),
                duration_s: required(duration_s.get(i), path, "duration_s", i)?,
                n_params: required(n_params.get(i), path, "n_params", i)?,
                n_samples: required(n_samples.get(i), path, "n_samples", i)?,
                config: required(config.get(i), path, "config", i)?.to_string(),
            })
        })
        .collect()
}

fn metrics_from_df(df: &DataFrame, path: &Path) -> Result<Vec<(String, MetricRow)>, StoreError> {
    let run_id = str_col(df, "run_id", path)?;
    let split = str_col(df, "split", path)?;
    let metric = str_col(df, "metric", path)?;
    let (epoch, step, value) = (|| {
        Ok((
            df.column("epoch")?.i64()?,
            df.column("step")?.i64()?,
            df.column("value")?.f64()?,
        ))
    })()
    .map_err(pl_err(path))?;
    (0..df.height())
        .map(|i| {
            Ok((
                required(run_id.get(i), path, "run_id", i)?.to_string(),
                MetricRow {
                    epoch: required(epoch.get(i), path, "epoch", i)?,
                    step: required(step.get(i), path, "step", i)?,
                    split: required(split.get(i), path, "split", i)?.to_string(),
                    metric: required(metric.get(i), path, "metric", i)?.to_string(),
                    value: required(value.get(i), path, "value", i)?,
                },
            ))
        })
        .collect()
}

fn predictions_from_df(
    df: &DataFrame,
    path: &Path,
) -> Result<Vec<(String, PredictionRow)>, StoreError> {
    let run_id = str_col(df, "run_id", path)?;
    let split = str_col(df, "split", path)?;
    let (index, input, target, mean, std, label, confidence) = (|| {
        Ok((
            df.column("index")?.u32()?,
            df.column("input")?.f64()?,
            df.column("target")?.f64()?,
            df.column("mean")?.f64()?,
            df.column("std")?.f64()?,
            df.column("label")?.i64()?,
            df.column("confidence")?.f64()?,
        ))
    })()
    .map_err(pl_err(path))?;
    (0..df.height())
        .map(|i| {
            Ok((
                required(run_id.get(i), path, "run_id", i)?.to_string(),
                PredictionRow {
                    split: required(split.get(i), path, "split", i)?.to_string(),
                    index: required(index.get(i), path, "index", i)?,
                    input: input.get(i),
                    target: target.get(i),
                    mean: mean.get(i),
                    std: std.get(i),
                    label: label.get(i),
                    confidence: confidence.get(i),
                },
            ))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Files

/// Writes `df` to `path` through a temporary file in the same directory and a rename.
fn write_atomic(path: &Path, df: &mut DataFrame) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Hidden and pid-suffixed: never mistaken for a part, never shared by two processes.
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let result = (|| {
        let mut file = fs::File::create(&tmp).map_err(|e| io_err(&tmp, "cannot create", e))?;
        ParquetWriter::new(&mut file)
            .with_compression(ParquetCompression::Zstd(None))
            .with_statistics(StatisticsOptions::default())
            .with_row_group_size(None)
            .with_data_page_size(None)
            .set_parallel(false)
            .finish(df)
            .map_err(pl_err(&tmp))?;
        // No fsync: the rename protects against a killed process, which is what resuming needs;
        // syncing every part costs tens of milliseconds per file on ordinary disks.
        file.flush().map_err(|e| io_err(&tmp, "cannot write", e))?;
        fs::rename(&tmp, path).map_err(|e| io_err(path, "cannot rename temporary file onto", e))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn read_df(path: &Path) -> Result<DataFrame, StoreError> {
    let file = fs::File::open(path).map_err(|e| io_err(path, "cannot open", e))?;
    ParquetReader::new(file).finish().map_err(pl_err(path))
}

fn remove_if_exists(path: &Path) -> Result<(), StoreError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(path, "cannot remove", e)),
    }
}

/// Writes results/<exp>/parts/<run_id>.* atomically: each file written to a temporary name in the
/// same directory and renamed; the run's row (the file that marks the part complete) is renamed
/// LAST, so a killed process never leaves a part that looks complete.
///
/// Rewriting an existing part (a re-run) first removes its run row, so the part counts as
/// incomplete until the new one is whole.
pub fn write_part(results_dir: &Path, out: &RunOutput) -> Result<(), StoreError> {
    let dir = parts_dir(results_dir);
    let id = &out.record.run_id;
    check_run_id(id, &dir)?;
    fs::create_dir_all(&dir).map_err(|e| io_err(&dir, "cannot create directory", e))?;
    remove_if_exists(&dir.join(format!("{id}{RUN_SUFFIX}")))?;

    let metrics_path = dir.join(format!("{id}{METRICS_SUFFIX}"));
    let mut df =
        metrics_df(out.metrics.iter().map(|m| (id.as_str(), m))).map_err(pl_err(&metrics_path))?;
    write_atomic(&metrics_path, &mut df)?;

    let predictions_path = dir.join(format!("{id}{PREDICTIONS_SUFFIX}"));
    if out.predictions.is_empty() {
        remove_if_exists(&predictions_path)?;
    } else {
        let mut df = predictions_df(out.predictions.iter().map(|p| (id.as_str(), p)))
            .map_err(pl_err(&predictions_path))?;
        write_atomic(&predictions_path, &mut df)?;
    }

    let run_path = dir.join(format!("{id}{RUN_SUFFIX}"));
    let mut df = runs_df(std::iter::once(&out.record)).map_err(pl_err(&run_path))?;
    write_atomic(&run_path, &mut df)
}

/// Paths of complete parts' run rows, keyed by run_id (sorted).
fn complete_parts(results_dir: &Path) -> Result<BTreeMap<String, PathBuf>, StoreError> {
    let dir = parts_dir(results_dir);
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(io_err(&dir, "cannot list", e)),
    };
    let mut parts = BTreeMap::new();
    for entry in entries {
        let entry = entry.map_err(|e| io_err(&dir, "cannot list", e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with('.') {
            continue; // temporary file of a write in progress or killed
        }
        if let Some(id) = name.strip_suffix(RUN_SUFFIX) {
            parts.insert(id.to_string(), entry.path());
        }
    }
    Ok(parts)
}

/// Reads one complete part's run row and checks it names its own run.
fn read_run_row(id: &str, path: &Path) -> Result<RunRecord, StoreError> {
    let mut rows = runs_from_df(&read_df(path)?, path)?;
    if rows.len() != 1 || rows[0].run_id != id {
        return Err(StoreError::Io {
            path: path.to_path_buf(),
            message: format!(
                "a part's run file must hold exactly one row with run_id {id:?}; delete this part and re-run with --resume"
            ),
        });
    }
    Ok(rows.remove(0))
}

/// run_ids whose part is complete (any status), with their status; those with status Ok are the
/// runs a resume skips.
pub fn completed_runs(results_dir: &Path) -> Result<BTreeMap<String, RunStatus>, StoreError> {
    complete_parts(results_dir)?
        .into_iter()
        .map(|(id, path)| {
            let status = read_run_row(&id, &path)?.status;
            Ok((id, status))
        })
        .collect()
}

/// Reads every complete part and writes the merged runs.parquet, metrics.parquet and (only if
/// any run has predictions) predictions.parquet, rows sorted by run_id then in each run's own
/// order, so the same parts always give byte-identical files, whatever order they were written
/// in. Each file is replaced atomically; a stale predictions.parquet is removed when no run has
/// predictions.
pub fn merge(results_dir: &Path) -> Result<MergeSummary, StoreError> {
    let dir = parts_dir(results_dir);
    let mut runs = Vec::new();
    let mut metrics = Vec::new();
    let mut predictions = Vec::new();
    for (id, run_path) in complete_parts(results_dir)? {
        runs.push(read_run_row(&id, &run_path)?);
        let metrics_path = dir.join(format!("{id}{METRICS_SUFFIX}"));
        metrics.extend(metrics_from_df(&read_df(&metrics_path)?, &metrics_path)?);
        let predictions_path = dir.join(format!("{id}{PREDICTIONS_SUFFIX}"));
        if predictions_path.exists() {
            predictions.extend(predictions_from_df(
                &read_df(&predictions_path)?,
                &predictions_path,
            )?);
        }
    }
    let summary = MergeSummary {
        runs_ok: runs.iter().filter(|r| r.status == RunStatus::Ok).count(),
        runs_failed: runs
            .iter()
            .filter(|r| r.status == RunStatus::Failed)
            .count(),
        metric_rows: metrics.len(),
        prediction_rows: predictions.len(),
    };

    let path = results_dir.join(METRICS_FILE);
    let mut df =
        metrics_df(metrics.iter().map(|(id, m)| (id.as_str(), m))).map_err(pl_err(&path))?;
    write_atomic(&path, &mut df)?;
    let path = results_dir.join(PREDICTIONS_FILE);
    if predictions.is_empty() {
        remove_if_exists(&path)?;
    } else {
        let mut df = predictions_df(predictions.iter().map(|(id, p)| (id.as_str(), p)))
            .map_err(pl_err(&path))?;
        write_atomic(&path, &mut df)?;
    }
    // runs.parquet last: a reader that finds it finds the files it describes.
    let path = results_dir.join(RUNS_FILE);
    let mut df = runs_df(runs.iter()).map_err(pl_err(&path))?;
    write_atomic(&path, &mut df)?;
    Ok(summary)
}

/// Loads merged results (for the report and tests). `predictions.parquet` is optional.
pub fn load(results_dir: &Path) -> Result<Results, StoreError> {
    let runs_path = results_dir.join(RUNS_FILE);
    if !runs_path.exists() {
        return Err(StoreError::Io {
            path: runs_path,
            message: "no merged results here: run the experiment (`bayeslab run`) or merge its parts (`bayeslab merge`) first".into(),
        });
    }
    let runs = runs_from_df(&read_df(&runs_path)?, &runs_path)?;
    let metrics_path = results_dir.join(METRICS_FILE);
    let metrics = metrics_from_df(&read_df(&metrics_path)?, &metrics_path)?;
    let predictions_path = results_dir.join(PREDICTIONS_FILE);
    let predictions = if predictions_path.exists() {
        predictions_from_df(&read_df(&predictions_path)?, &predictions_path)?
    } else {
        Vec::new()
    };
    Ok(Results {
        runs,
        metrics,
        predictions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh, empty directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);
    impl TempDir {
        fn new(name: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("bayeslab-store-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn output(run_id: &str, method: &str, seed: u32, ok: bool) -> RunOutput {
        let metrics = (0..3)
            .flat_map(|epoch| {
                [
                    MetricRow {
                        epoch,
                        step: 10 * epoch,
                        split: "train".into(),
                        metric: "loss".into(),
                        value: 1.0 / (epoch as f64 + 1.0) + seed as f64,
                    },
                    MetricRow {
                        epoch,
                        step: 10 * epoch,
                        split: "test".into(),
                        metric: "rmse".into(),
                        value: 0.5 + 0.25 * epoch as f64,
                    },
                ]
            })
            .collect();
        let predictions = if ok {
            vec![
                PredictionRow {
                    split: "test".into(),
                    index: 0,
                    input: Some(-1.5),
                    target: Some(0.25),
                    mean: Some(0.2),
                    std: Some(0.1),
                    label: None,
                    confidence: None,
                },
                PredictionRow {
                    split: "grid".into(),
                    index: 7,
                    input: Some(3.0),
                    target: None,
                    mean: Some(f64::MAX),
                    std: Some(0.0),
                    label: Some(2),
                    confidence: Some(0.75),
                },
            ]
        } else {
            Vec::new()
        };
        RunOutput {
            record: RunRecord {
                run_id: run_id.into(),
                experiment: "quickstart".into(),
                method: method.into(),
                variant: "default".into(),
                seed,
                split: 0,
                status: if ok { RunStatus::Ok } else { RunStatus::Failed },
                error: (!ok).then(|| "loss is NaN at epoch 2".to_string()),
                duration_s: 1.25 * seed as f64,
                n_params: 151,
                n_samples: if ok { 1 } else { 0 },
                config: format!(r#"{{"method":"{method}","seed":{seed}}}"#),
            },
            metrics,
            predictions,
        }
    }

    fn merged_bytes(dir: &Path) -> Vec<Vec<u8>> {
        [RUNS_FILE, METRICS_FILE, PREDICTIONS_FILE]
            .iter()
            .map(|f| fs::read(dir.join(f)).unwrap())
            .collect()
    }

    #[test]
    fn round_trip_write_merge_load_equals_input() {
        let tmp = TempDir::new("roundtrip");
        let outs = [
            output("b2", "adam", 1, true),
            output("a1", "sgd", 0, false),
            output("c3", "sgd", 2, true),
        ];
        for out in &outs {
            write_part(&tmp.0, out).unwrap();
        }
        let summary = merge(&tmp.0).unwrap();
        assert_eq!(
            summary,
            MergeSummary {
                runs_ok: 2,
                runs_failed: 1,
                metric_rows: 18,
                prediction_rows: 4
            }
        );
        let loaded = load(&tmp.0).unwrap();
        // Sorted by run_id: a1, b2, c3; each run's rows in the order it wrote them.
        let mut sorted: Vec<&RunOutput> = outs.iter().collect();
        sorted.sort_by(|a, b| a.record.run_id.cmp(&b.record.run_id));
        let expected = Results {
            runs: sorted.iter().map(|o| o.record.clone()).collect(),
            metrics: sorted
                .iter()
                .flat_map(|o| {
                    o.metrics
                        .iter()
                        .map(|m| (o.record.run_id.clone(), m.clone()))
                })
                .collect(),
            predictions: sorted
                .iter()
                .flat_map(|o| {
                    o.predictions
                        .iter()
                        .map(|p| (o.record.run_id.clone(), p.clone()))
                })
                .collect(),
        };
        assert_eq!(loaded, expected);
    }

    #[test]
    fn merge_twice_gives_identical_bytes() {
        let tmp = TempDir::new("twice");
        write_part(&tmp.0, &output("x", "sgd", 0, true)).unwrap();
        write_part(&tmp.0, &output("y", "adam", 1, false)).unwrap();
        merge(&tmp.0).unwrap();
        let first = merged_bytes(&tmp.0);
        merge(&tmp.0).unwrap();
        assert_eq!(first, merged_bytes(&tmp.0));
    }

    #[test]
    fn parts_written_in_another_order_merge_to_identical_bytes() {
        let (t1, t2) = (TempDir::new("order1"), TempDir::new("order2"));
        let outs = [
            output("r1", "sgd", 0, true),
            output("r2", "adam", 1, true),
            output("r3", "sgd", 2, false),
        ];
        for i in [0, 1, 2] {
            write_part(&t1.0, &outs[i]).unwrap();
        }
        for i in [2, 0, 1] {
            write_part(&t2.0, &outs[i]).unwrap();
        }
        merge(&t1.0).unwrap();
        merge(&t2.0).unwrap();
        assert_eq!(merged_bytes(&t1.0), merged_bytes(&t2.0));
    }

    #[test]
    fn leftover_temp_file_is_ignored() {
        let tmp = TempDir::new("leftover");
        write_part(&tmp.0, &output("done", "sgd", 0, true)).unwrap();
        // What a process killed during a rename-less write leaves behind: garbage, hidden.
        let parts = tmp.0.join(PARTS_DIR);
        fs::write(parts.join(".killed.run.parquet.tmp4242"), b"half a file").unwrap();
        fs::write(parts.join(".killed.metrics.parquet.tmp4242"), b"half").unwrap();
        let done = completed_runs(&tmp.0).unwrap();
        assert_eq!(done, BTreeMap::from([("done".to_string(), RunStatus::Ok)]));
        assert_eq!(merge(&tmp.0).unwrap().runs_ok, 1);
    }

    #[test]
    fn part_without_run_row_is_not_completed() {
        let tmp = TempDir::new("norow");
        write_part(&tmp.0, &output("whole", "sgd", 0, false)).unwrap();
        write_part(&tmp.0, &output("killed", "sgd", 1, true)).unwrap();
        fs::remove_file(tmp.0.join(PARTS_DIR).join("killed.run.parquet")).unwrap();
        assert_eq!(
            completed_runs(&tmp.0).unwrap(),
            BTreeMap::from([("whole".to_string(), RunStatus::Failed)])
        );
        let summary = merge(&tmp.0).unwrap();
        assert_eq!((summary.runs_ok, summary.runs_failed), (0, 1));
        // No complete run has predictions, so no predictions file.
        assert!(!tmp.0.join(PREDICTIONS_FILE).exists());
        assert_eq!(load(&tmp.0).unwrap().runs[0].run_id, "whole");
    }

    #[test]
    fn rewritten_part_replaces_the_old_one() {
        let tmp = TempDir::new("rewrite");
        write_part(&tmp.0, &output("r", "sgd", 0, true)).unwrap();
        let failed = output("r", "sgd", 0, false);
        write_part(&tmp.0, &failed).unwrap();
        assert_eq!(completed_runs(&tmp.0).unwrap()["r"], RunStatus::Failed);
        merge(&tmp.0).unwrap();
        let loaded = load(&tmp.0).unwrap();
        assert_eq!(loaded.runs, vec![failed.record]);
        assert!(loaded.predictions.is_empty(), "stale predictions removed");
    }

    #[test]
    fn no_parts_merge_to_empty_files_and_unsafe_ids_are_refused() {
        let tmp = TempDir::new("empty");
        assert!(completed_runs(&tmp.0).unwrap().is_empty());
        assert_eq!(merge(&tmp.0).unwrap(), MergeSummary::default());
        assert_eq!(load(&tmp.0).unwrap(), Results::default());
        for bad in ["", "../x", ".hidden", "a/b"] {
            let mut out = output("ok", "sgd", 0, true);
            out.record.run_id = bad.into();
            assert!(write_part(&tmp.0, &out).is_err(), "{bad:?} accepted");
        }
        let missing = load(&tmp.0.join("nowhere")).unwrap_err().to_string();
        assert!(missing.contains("bayeslab merge"), "{missing}");
    }
}

/// Reads a complete part back (its run row and metrics; predictions are not needed to resume).
/// `None` when the run has no complete part.
pub fn read_part(results_dir: &Path, run_id: &str) -> Result<Option<RunOutput>, StoreError> {
    let dir = parts_dir(results_dir);
    check_run_id(run_id, &dir)?;
    let run_path = dir.join(format!("{run_id}{RUN_SUFFIX}"));
    if !run_path.exists() {
        return Ok(None);
    }
    let record = read_run_row(run_id, &run_path)?;
    let metrics_path = dir.join(format!("{run_id}{METRICS_SUFFIX}"));
    let metrics = metrics_from_df(&read_df(&metrics_path)?, &metrics_path)?
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    Ok(Some(RunOutput {
        record,
        metrics,
        predictions: Vec::new(),
    }))
}

/// File of the trials of hyperparameter searches inside `results/<experiment>/`.
pub const TRIALS_FILE: &str = "trials.parquet";

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

fn trials_df(rows: &[TrialRow]) -> Result<DataFrame, PolarsError> {
    let strs = |f: fn(&TrialRow) -> &str| rows.iter().map(f).collect::<Vec<&str>>();
    let columns = vec![
        Column::new("problem".into(), strs(|r| &r.problem)),
        Column::new("strategy".into(), strs(|r| &r.strategy)),
        Column::new(
            "repeat".into(),
            rows.iter().map(|r| r.repeat).collect::<Vec<u32>>(),
        ),
        Column::new(
            "trial".into(),
            rows.iter().map(|r| r.trial).collect::<Vec<u32>>(),
        ),
        Column::new("run_id".into(), strs(|r| &r.run_id)),
        Column::new("parameters".into(), strs(|r| &r.parameters)),
        Column::new(
            "objective".into(),
            rows.iter()
                .map(|r| r.objective)
                .collect::<Vec<Option<f64>>>(),
        ),
        Column::new(
            "best_so_far".into(),
            rows.iter()
                .map(|r| r.best_so_far)
                .collect::<Vec<Option<f64>>>(),
        ),
        Column::new("status".into(), strs(|r| &r.status)),
        Column::new("source".into(), strs(|r| &r.source)),
        Column::new(
            "proposal_ms".into(),
            rows.iter().map(|r| r.proposal_ms).collect::<Vec<f64>>(),
        ),
        Column::new(
            "wall_s".into(),
            rows.iter().map(|r| r.wall_s).collect::<Vec<f64>>(),
        ),
    ];
    DataFrame::new(rows.len(), columns)
}

/// Writes `trials.parquet` atomically (rows in the given order).
pub fn write_trials(results_dir: &Path, rows: &[TrialRow]) -> Result<(), StoreError> {
    let path = results_dir.join(TRIALS_FILE);
    let mut df = trials_df(rows).map_err(pl_err(&path))?;
    write_atomic(&path, &mut df)
}

/// Reads `trials.parquet`; empty when the experiment has no search.
pub fn load_trials(results_dir: &Path) -> Result<Vec<TrialRow>, StoreError> {
    let path = results_dir.join(TRIALS_FILE);
    if !path.exists() {
        return Ok(Vec::new());
    }
    let df = read_df(&path)?;
    let problem = str_col(&df, "problem", &path)?;
    let strategy = str_col(&df, "strategy", &path)?;
    let run_id = str_col(&df, "run_id", &path)?;
    let parameters = str_col(&df, "parameters", &path)?;
    let status = str_col(&df, "status", &path)?;
    let source = str_col(&df, "source", &path)?;
    let (repeat, trial, objective, best, proposal_ms, wall_s) = (|| {
        Ok((
            df.column("repeat")?.u32()?,
            df.column("trial")?.u32()?,
            df.column("objective")?.f64()?,
            df.column("best_so_far")?.f64()?,
            df.column("proposal_ms")?.f64()?,
            df.column("wall_s")?.f64()?,
        ))
    })()
    .map_err(pl_err(&path))?;
    (0..df.height())
        .map(|i| {
            Ok(TrialRow {
                problem: required(problem.get(i), &path, "problem", i)?.to_string(),
                strategy: required(strategy.get(i), &path, "strategy", i)?.to_string(),
                repeat: required(repeat.get(i), &path, "repeat", i)?,
                trial: required(trial.get(i), &path, "trial", i)?,
                run_id: required(run_id.get(i), &path, "run_id", i)?.to_string(),
                parameters: required(parameters.get(i), &path, "parameters", i)?.to_string(),
                objective: objective.get(i),
                best_so_far: best.get(i),
                status: required(status.get(i), &path, "status", i)?.to_string(),
                source: required(source.get(i), &path, "source", i)?.to_string(),
                proposal_ms: required(proposal_ms.get(i), &path, "proposal_ms", i)?,
                wall_s: required(wall_s.get(i), &path, "wall_s", i)?,
            })
        })
        .collect()
}
