//! Per-run parts: what one finished run leaves in `results/<experiment>/parts/` until a merge
//! folds it into the merged files.
//!
//! A part is at most three files, the marker written last:
//! - `<run_id>.predictions.parquet`, only when the run stored predictions;
//! - `<run_id>.traces.parquet`, only when the run recorded sampler traces;
//! - `<run_id>.ok.parquet` or `<run_id>.failed.parquet`: the run's metric rows, with its run row
//!   (JSON) in the file's key-value metadata. It marks the part complete, and its name gives the
//!   status, so a directory listing says which runs are done without opening a file.
//!
//! Parts of results format 1 (`<run_id>.run.parquet` + `<run_id>.metrics.parquet`) are still
//! read, and the next merge folds them in like the others.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::atomic::{io_err, is_temporary, remove_if_exists, write_atomic};
use super::frames::{
    self, Encoding, metrics_df, metrics_from_df, predictions_df, predictions_from_df, read_df,
    runs_from_df, traces_df, traces_from_df,
};
use super::{PARTS_DIR, RunOutput, RunRecord, RunStatus};
use crate::error::StoreError;

const OK_SUFFIX: &str = ".ok.parquet";
const FAILED_SUFFIX: &str = ".failed.parquet";
const PREDICTIONS_SUFFIX: &str = ".predictions.parquet";
const TRACES_SUFFIX: &str = ".traces.parquet";
const V1_RUN_SUFFIX: &str = ".run.parquet";
const V1_METRICS_SUFFIX: &str = ".metrics.parquet";
/// Key of the run row in a part's key-value metadata.
const RUN_KEY: &str = "bayeslab.run";

pub(super) fn parts_dir(results_dir: &Path) -> PathBuf {
    results_dir.join(PARTS_DIR)
}

/// A run_id becomes a file name: ASCII letters, digits, `-` and `_` only (run ids are hex).
pub(super) fn check_run_id(run_id: &str, dir: &Path) -> Result<(), StoreError> {
    let ok = !run_id.is_empty()
        && run_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::Io {
            path: dir.to_path_buf(),
            message: format!(
                "run_id {run_id:?} cannot name a part file: use only ASCII letters, digits, '-' and '_'"
            ),
        })
    }
}

/// The files of one complete part.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct PartFiles {
    /// The file that marks the part complete.
    pub marker: PathBuf,
    /// `None` for a format-1 part until its run row is read.
    pub status: Option<RunStatus>,
    pub predictions: Option<PathBuf>,
    pub traces: Option<PathBuf>,
    /// The metrics file of a format-1 part.
    pub v1_metrics: Option<PathBuf>,
}

impl PartFiles {
    /// Every file of the part, the marker first (removing it first un-completes the part).
    pub fn files(&self) -> impl Iterator<Item = &PathBuf> {
        std::iter::once(&self.marker)
            .chain(self.v1_metrics.iter())
            .chain(self.predictions.iter())
            .chain(self.traces.iter())
    }
}

/// The complete parts in `dir`, keyed by run_id (sorted); one directory listing.
pub(super) fn list_parts(dir: &Path) -> Result<BTreeMap<String, PartFiles>, StoreError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(io_err(dir, "cannot list", e)),
    };
    let mut markers: BTreeMap<String, PartFiles> = BTreeMap::new();
    let mut predictions: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut traces: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut v1_metrics: BTreeMap<String, PathBuf> = BTreeMap::new();
    for entry in entries {
        let entry = entry.map_err(|e| io_err(dir, "cannot list", e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if is_temporary(name) {
            continue; // a write in progress, or one a killed process left
        }
        let marker = |status| PartFiles {
            marker: entry.path(),
            status,
            predictions: None,
            traces: None,
            v1_metrics: None,
        };
        if let Some(id) = name.strip_suffix(PREDICTIONS_SUFFIX) {
            predictions.insert(id.to_string(), entry.path());
        } else if let Some(id) = name.strip_suffix(TRACES_SUFFIX) {
            traces.insert(id.to_string(), entry.path());
        } else if let Some(id) = name.strip_suffix(V1_METRICS_SUFFIX) {
            v1_metrics.insert(id.to_string(), entry.path());
        } else if let Some(id) = name.strip_suffix(OK_SUFFIX) {
            // Both markers exist only if a re-run was killed between removing one and writing
            // the other, which write_part's order rules out; prefer the successful one.
            markers.insert(id.to_string(), marker(Some(RunStatus::Ok)));
        } else if let Some(id) = name.strip_suffix(FAILED_SUFFIX) {
            markers
                .entry(id.to_string())
                .or_insert_with(|| marker(Some(RunStatus::Failed)));
        } else if let Some(id) = name.strip_suffix(V1_RUN_SUFFIX) {
            markers
                .entry(id.to_string())
                .or_insert_with(|| marker(None));
        }
    }
    for (id, part) in markers.iter_mut() {
        part.predictions = predictions.remove(id);
        part.traces = traces.remove(id);
        if part.status.is_none() {
            part.v1_metrics = v1_metrics.remove(id);
        }
    }
    Ok(markers)
}

/// Writes `parts/<run_id>.*` for a finished run. Any earlier part of the run is un-completed
/// first (its markers removed), then the predictions and traces are written (or stale files
/// removed), then
/// the marker, atomically: a killed process never leaves a part that looks complete.
pub fn write_part(results_dir: &Path, out: &RunOutput) -> Result<(), StoreError> {
    write_part_into(&parts_dir(results_dir), out)
}

/// [`write_part`] into any directory (`parts-stale/` too).
pub(super) fn write_part_into(dir: &Path, out: &RunOutput) -> Result<(), StoreError> {
    let id = &out.record.run_id;
    check_run_id(id, dir)?;
    fs::create_dir_all(dir).map_err(|e| io_err(dir, "cannot create directory", e))?;
    for suffix in [OK_SUFFIX, FAILED_SUFFIX, V1_RUN_SUFFIX, V1_METRICS_SUFFIX] {
        remove_if_exists(&dir.join(format!("{id}{suffix}")))?;
    }
    let predictions_path = dir.join(format!("{id}{PREDICTIONS_SUFFIX}"));
    if out.predictions.is_empty() {
        remove_if_exists(&predictions_path)?;
    } else {
        let mut df = predictions_df(out.predictions.iter().map(|p| (id.as_str(), p)))
            .map_err(frames::pl_err(&predictions_path))?;
        let bytes = frames::encode(&mut df, Encoding::Part, None, &predictions_path)?;
        write_atomic(&predictions_path, &bytes)?;
    }
    let traces_path = dir.join(format!("{id}{TRACES_SUFFIX}"));
    if out.traces.is_empty() {
        remove_if_exists(&traces_path)?;
    } else {
        let mut df = traces_df(out.traces.iter().map(|t| (id.as_str(), t)))
            .map_err(frames::pl_err(&traces_path))?;
        let bytes = frames::encode(&mut df, Encoding::Part, None, &traces_path)?;
        write_atomic(&traces_path, &bytes)?;
    }
    let suffix = match out.record.status {
        RunStatus::Ok => OK_SUFFIX,
        RunStatus::Failed => FAILED_SUFFIX,
    };
    let marker = dir.join(format!("{id}{suffix}"));
    let mut df = metrics_df(out.metrics.iter().map(|m| (id.as_str(), m)))
        .map_err(frames::pl_err(&marker))?;
    let record = serde_json::to_string(&out.record).expect("a run record serialises");
    let bytes = frames::encode(&mut df, Encoding::Part, Some((RUN_KEY, record)), &marker)?;
    write_atomic(&marker, &bytes)
}

/// Reads a complete part: its run row, metrics and (if `with_side_tables`) predictions and
/// traces.
pub(super) fn read_part(
    id: &str,
    part: &PartFiles,
    with_side_tables: bool,
) -> Result<RunOutput, StoreError> {
    let damaged = |path: &Path, what: &str| StoreError::Io {
        path: path.to_path_buf(),
        message: format!("{what}; the part is damaged: delete it and run again with --resume"),
    };
    let (record, metrics) = match &part.v1_metrics {
        None if part.status.is_none() => {
            return Err(damaged(
                &part.marker,
                "the run row has no metrics file beside it",
            ));
        }
        None => {
            let (df, record) = frames::read_df_with_metadata(&part.marker, RUN_KEY)?;
            let record =
                record.ok_or_else(|| damaged(&part.marker, "no run row in its metadata"))?;
            let record: RunRecord = serde_json::from_str(&record)
                .map_err(|e| damaged(&part.marker, &format!("its run row is not valid: {e}")))?;
            (record, metrics_from_df(&df, &part.marker)?)
        }
        Some(metrics_path) => {
            let mut rows = runs_from_df(&read_df(&part.marker, None)?, &part.marker)?;
            if rows.len() != 1 {
                return Err(damaged(
                    &part.marker,
                    "a run file must hold exactly one row",
                ));
            }
            let metrics = metrics_from_df(&read_df(metrics_path, None)?, metrics_path)?;
            (rows.remove(0), metrics)
        }
    };
    if record.run_id != id {
        return Err(damaged(
            &part.marker,
            &format!("its run row names run {:?}", record.run_id),
        ));
    }
    let predictions = match (&part.predictions, with_side_tables) {
        (Some(path), true) => predictions_from_df(&read_df(path, None)?, path)?
            .into_iter()
            .map(|(_, p)| p)
            .collect(),
        _ => Vec::new(),
    };
    let traces = match (&part.traces, with_side_tables) {
        (Some(path), true) => traces_from_df(&read_df(path, None)?, path)?
            .into_iter()
            .map(|(_, t)| t)
            .collect(),
        _ => Vec::new(),
    };
    Ok(RunOutput {
        record,
        metrics: metrics.into_iter().map(|(_, m)| m).collect(),
        predictions,
        traces,
    })
}

/// Threads for reading and removing many parts. File operations on many small files wait on the
/// disk more than they compute (removing 100,000 parts took 18 s in one thread and 9 s in four on
/// the development machine), so this exceeds the number of cores.
const FILE_THREADS: usize = 8;

/// `f` over `items` on up to [`FILE_THREADS`] plain threads (no thread pool is entered, see
/// [`super::frames`]), results in the order of `items`.
pub(super) fn for_each_file<T: Sync, R: Send>(
    items: &[T],
    f: impl Fn(&T) -> Result<R, StoreError> + Sync,
) -> Result<Vec<R>, StoreError> {
    let threads = FILE_THREADS.min(items.len().div_ceil(64)).max(1);
    let chunk = items.len().div_ceil(threads).max(1);
    let f = &f;
    let chunks: Vec<Result<Vec<R>, StoreError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|slice| scope.spawn(move || slice.iter().map(f).collect::<Result<Vec<R>, _>>()))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a file operation does not panic"))
            .collect()
    });
    let mut out = Vec::with_capacity(items.len());
    for c in chunks {
        out.extend(c?);
    }
    Ok(out)
}

/// Reads many parts, in the order given.
pub(super) fn read_parts(
    parts: &[(&String, &PartFiles)],
    with_side_tables: bool,
) -> Result<Vec<RunOutput>, StoreError> {
    for_each_file(parts, |(id, part)| read_part(id, part, with_side_tables))
}
