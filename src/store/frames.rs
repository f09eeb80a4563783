//! DataFrames ⇄ rows, and Parquet bytes ⇄ DataFrames, for every file of the results contract.
//!
//! Merged files are written with zstd (default level), one row group per 512² rows, column
//! statistics and no timestamps, so the same rows always give the same bytes. Parts are written
//! uncompressed (they are read once, by the merge, and creating a zstd context per column costs
//! more than the bytes it saves on a few rows; nor column statistics). Reading never uses polars' thread pool: a part is
//! a few rows, and a read from inside one of the runner's worker threads that waited on another
//! pool would let that worker start further runs while it waits, nesting them on its stack.

use std::fs;
use std::io::Cursor;
use std::path::Path;

use polars::prelude::*;

use super::atomic::io_err;
use super::{MetricRow, PredictionRow, RunRecord, RunStatus, TraceRow, TrialRow};
use crate::error::StoreError;

pub(super) fn pl_err(path: &Path) -> impl FnOnce(PolarsError) -> StoreError + '_ {
    move |source| StoreError::Polars {
        path: path.to_path_buf(),
        source,
    }
}

/// How a Parquet file is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Encoding {
    /// Merged files of the results contract: zstd.
    Merged,
    /// Per-run parts: uncompressed.
    Part,
}

/// Encodes `df` as Parquet bytes, with optional key-value metadata (`key`, `value`).
pub(super) fn encode(
    df: &mut DataFrame,
    encoding: Encoding,
    metadata: Option<(&str, String)>,
    path: &Path,
) -> Result<Vec<u8>, StoreError> {
    let mut bytes = Vec::new();
    // Parts need no column statistics either: nothing filters them by value.
    let (compression, statistics) = match encoding {
        Encoding::Merged => (ParquetCompression::Zstd(None), StatisticsOptions::default()),
        Encoding::Part => (ParquetCompression::Uncompressed, StatisticsOptions::empty()),
    };
    ParquetWriter::new(Cursor::new(&mut bytes))
        .with_compression(compression)
        .with_statistics(statistics)
        .with_row_group_size(None)
        .with_data_page_size(None)
        .with_key_value_metadata(
            metadata.map(|(k, v)| KeyValueMetadata::from_static(vec![(k.to_string(), v)])),
        )
        .set_parallel(false)
        .finish(df)
        .map_err(pl_err(path))?;
    Ok(bytes)
}

/// Reads a whole Parquet file, without polars' thread pool; `columns` limits what is decoded.
pub(super) fn read_df(path: &Path, columns: Option<&[&str]>) -> Result<DataFrame, StoreError> {
    let file = fs::File::open(path).map_err(|e| io_err(path, "cannot open", e))?;
    ParquetReader::new(file)
        .read_parallel(ParallelStrategy::None)
        .with_columns(columns.map(|c| c.iter().map(|s| s.to_string()).collect()))
        .finish()
        .map_err(pl_err(path))
}

/// Reads a Parquet file and the value of one key of its key-value metadata.
pub(super) fn read_df_with_metadata(
    path: &Path,
    key: &str,
) -> Result<(DataFrame, Option<String>), StoreError> {
    let file = fs::File::open(path).map_err(|e| io_err(path, "cannot open", e))?;
    let mut reader = ParquetReader::new(file).read_parallel(ParallelStrategy::None);
    let value = reader
        .get_metadata()
        .map_err(pl_err(path))?
        .key_value_metadata()
        .as_ref()
        .and_then(|kv| kv.iter().find(|e| e.key == key))
        .and_then(|e| e.value.clone());
    let df = reader.finish().map_err(pl_err(path))?;
    Ok((df, value))
}

pub(super) fn runs_df<'a>(
    records: impl Iterator<Item = &'a RunRecord>,
) -> Result<DataFrame, PolarsError> {
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

pub(super) fn metrics_df<'a>(
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
            "samples".into(),
            rows.iter().map(|r| r.1.samples).collect::<Vec<i64>>(),
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

pub(super) fn predictions_df<'a>(
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
        Column::new("entropy".into(), f(|p| p.entropy)),
        Column::new("mutual_information".into(), f(|p| p.mutual_information)),
    ];
    DataFrame::new(rows.len(), columns)
}

pub(super) fn traces_df<'a>(
    rows: impl Iterator<Item = (&'a str, &'a TraceRow)>,
) -> Result<DataFrame, PolarsError> {
    let rows: Vec<(&str, &TraceRow)> = rows.collect();
    let columns = vec![
        Column::new(
            "run_id".into(),
            rows.iter().map(|r| r.0).collect::<Vec<&str>>(),
        ),
        Column::new(
            "chain".into(),
            rows.iter().map(|r| r.1.chain).collect::<Vec<u32>>(),
        ),
        Column::new(
            "sample".into(),
            rows.iter().map(|r| r.1.sample).collect::<Vec<u32>>(),
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
            "quantity".into(),
            rows.iter()
                .map(|r| r.1.quantity.as_str())
                .collect::<Vec<&str>>(),
        ),
        Column::new(
            "value".into(),
            rows.iter().map(|r| r.1.value).collect::<Vec<f64>>(),
        ),
    ];
    DataFrame::new(rows.len(), columns)
}

pub(super) fn traces_from_df(
    df: &DataFrame,
    path: &Path,
) -> Result<Vec<(String, TraceRow)>, StoreError> {
    let run_id = str_col(df, "run_id", path)?;
    let quantity = str_col(df, "quantity", path)?;
    let (chain, sample, epoch, step, value) = (|| {
        Ok((
            df.column("chain")?.u32()?,
            df.column("sample")?.u32()?,
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
                TraceRow {
                    chain: required(chain.get(i), path, "chain", i)?,
                    sample: required(sample.get(i), path, "sample", i)?,
                    epoch: required(epoch.get(i), path, "epoch", i)?,
                    step: required(step.get(i), path, "step", i)?,
                    quantity: required(quantity.get(i), path, "quantity", i)?.to_string(),
                    value: required(value.get(i), path, "value", i)?,
                },
            ))
        })
        .collect()
}

/// A required (non-null) value, or an error naming the file, column and row.
pub(super) fn required<T>(
    v: Option<T>,
    path: &Path,
    column: &str,
    row: usize,
) -> Result<T, StoreError> {
    v.ok_or_else(|| StoreError::Io {
        path: path.to_path_buf(),
        message: format!(
            "column `{column}` row {row} is null; the file is damaged: delete it and run `bayeslab merge` again"
        ),
    })
}

pub(super) fn str_col<'a>(
    df: &'a DataFrame,
    name: &str,
    path: &Path,
) -> Result<&'a StringChunked, StoreError> {
    df.column(name).and_then(|c| c.str()).map_err(pl_err(path))
}

pub(super) fn runs_from_df(df: &DataFrame, path: &Path) -> Result<Vec<RunRecord>, StoreError> {
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

pub(super) fn metrics_from_df(
    df: &DataFrame,
    path: &Path,
) -> Result<Vec<(String, MetricRow)>, StoreError> {
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
    // Results format 1 has no `samples` column: every value scored one model.
    let samples = match df.column("samples") {
        Ok(c) => Some(c.i64().map_err(pl_err(path))?),
        Err(_) => None,
    };
    (0..df.height())
        .map(|i| {
            Ok((
                required(run_id.get(i), path, "run_id", i)?.to_string(),
                MetricRow {
                    epoch: required(epoch.get(i), path, "epoch", i)?,
                    step: required(step.get(i), path, "step", i)?,
                    samples: match samples {
                        Some(s) => required(s.get(i), path, "samples", i)?,
                        None => 1,
                    },
                    split: required(split.get(i), path, "split", i)?.to_string(),
                    metric: required(metric.get(i), path, "metric", i)?.to_string(),
                    value: required(value.get(i), path, "value", i)?,
                },
            ))
        })
        .collect()
}

pub(super) fn predictions_from_df(
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
    // Columns added after the first results format: absent means None.
    let optional = |name: &str| -> Result<Option<&Float64Chunked>, StoreError> {
        match df.column(name) {
            Ok(c) => c.f64().map(Some).map_err(pl_err(path)),
            Err(_) => Ok(None),
        }
    };
    let (entropy, mutual_information) = (optional("entropy")?, optional("mutual_information")?);
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
                    entropy: entropy.and_then(|c| c.get(i)),
                    mutual_information: mutual_information.and_then(|c| c.get(i)),
                },
            ))
        })
        .collect()
}

pub(super) fn trials_df(rows: &[TrialRow]) -> Result<DataFrame, PolarsError> {
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

/// The rows of a `trials.parquet` DataFrame.
pub(super) fn trials_from_df(df: &DataFrame, path: &Path) -> Result<Vec<TrialRow>, StoreError> {
    let problem = str_col(df, "problem", path)?;
    let strategy = str_col(df, "strategy", path)?;
    let run_id = str_col(df, "run_id", path)?;
    let parameters = str_col(df, "parameters", path)?;
    let status = str_col(df, "status", path)?;
    let source = str_col(df, "source", path)?;
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
    .map_err(pl_err(path))?;
    (0..df.height())
        .map(|i| {
            Ok(TrialRow {
                problem: required(problem.get(i), path, "problem", i)?.to_string(),
                strategy: required(strategy.get(i), path, "strategy", i)?.to_string(),
                repeat: required(repeat.get(i), path, "repeat", i)?,
                trial: required(trial.get(i), path, "trial", i)?,
                run_id: required(run_id.get(i), path, "run_id", i)?.to_string(),
                parameters: required(parameters.get(i), path, "parameters", i)?.to_string(),
                objective: objective.get(i),
                best_so_far: best.get(i),
                status: required(status.get(i), path, "status", i)?.to_string(),
                source: required(source.get(i), path, "source", i)?.to_string(),
                proposal_ms: required(proposal_ms.get(i), path, "proposal_ms", i)?,
                wall_s: required(wall_s.get(i), path, "wall_s", i)?,
            })
        })
        .collect()
}

/// `(run_id, status)` of every row of a runs DataFrame read with only those two columns.
pub(super) fn statuses_from_df(
    df: &DataFrame,
    path: &Path,
) -> Result<Vec<(String, RunStatus)>, StoreError> {
    let run_id = str_col(df, "run_id", path)?;
    let status = str_col(df, "status", path)?;
    (0..df.height())
        .map(|i| {
            let id = required(run_id.get(i), path, "run_id", i)?;
            let s = required(status.get(i), path, "status", i)?;
            let s = RunStatus::parse(s).ok_or_else(|| StoreError::Io {
                path: path.to_path_buf(),
                message: format!("column `status` row {i} is {s:?}; expected \"ok\" or \"failed\""),
            })?;
            Ok((id.to_string(), s))
        })
        .collect()
}
