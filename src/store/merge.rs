//! The merge: folds the finished parts into the merged files and removes them (compaction), so a
//! results directory holds a few files however many runs it has; and what a resume reads.
//!
//! The merged files and the parts written since the last merge together are the record of what
//! finished: a part overrides a merged run with the same id (it is newer: a re-run). The merged
//! content is a function of that record alone, rows ordered by run_id and then in each run's own
//! order, so merging all at once or in many steps gives byte-identical files.
//!
//! A merge is safe to kill at any point: the merged files are replaced one by one (atomically,
//! `runs.parquet` last) before any part is removed, and merged metric and prediction rows count
//! only for runs listed in `runs.parquet`. A killed merge therefore leaves either the old merged
//! files or the new ones, plus parts that are still authoritative, and running it again gives
//! the same files as an uninterrupted merge.
//!
//! Many processes may write parts into one directory at once (shards, array tasks of a cluster
//! job); whatever rewrites the merged files holds the directory's [`MergeLock`], so two merges
//! (or a merge and a retirement of stale runs) never interleave. The trials of searches are
//! folded in too ([`super::trial_parts`]).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs;
use std::path::Path;

use super::atomic::{io_err, remove_if_exists, write_atomic};
use super::frames::{
    self, Encoding, metrics_df, metrics_from_df, predictions_df, predictions_from_df, read_df,
    runs_df, runs_from_df, statuses_from_df, traces_df, traces_from_df,
};
use super::lock::MergeLock;
use super::parts::{
    PartFiles, for_each_file, list_parts, parts_dir, read_part, read_parts, write_part_into,
};
use super::{
    METRICS_FILE, MergeSummary, MetricRow, PREDICTIONS_FILE, PredictionRow, RUNS_FILE, RunOutput,
    RunStatus, TRACES_FILE, TraceRow,
};
use crate::error::StoreError;

/// Directory that receives the finished runs a changed spec no longer plans.
pub const STALE_DIR: &str = "parts-stale";

/// Everything the merged files hold, grouped by run.
struct Merged {
    runs: BTreeMap<String, RunOutput>,
}

impl Merged {
    /// Reads the merged files (empty when there are none). Metric and prediction rows of runs
    /// that `runs.parquet` does not list are left out (a killed merge can leave such rows).
    fn read(results_dir: &Path, with_side_tables: bool) -> Result<Self, StoreError> {
        let runs_path = results_dir.join(RUNS_FILE);
        if !runs_path.exists() {
            return Ok(Merged {
                runs: BTreeMap::new(),
            });
        }
        let mut runs: BTreeMap<String, RunOutput> =
            runs_from_df(&read_df(&runs_path, None)?, &runs_path)?
                .into_iter()
                .map(|record| {
                    (
                        record.run_id.clone(),
                        RunOutput {
                            record,
                            metrics: Vec::new(),
                            predictions: Vec::new(),
                            traces: Vec::new(),
                        },
                    )
                })
                .collect();
        let metrics_path = results_dir.join(METRICS_FILE);
        if metrics_path.exists() {
            for (id, row) in metrics_from_df(&read_df(&metrics_path, None)?, &metrics_path)? {
                if let Some(run) = runs.get_mut(&id) {
                    run.metrics.push(row);
                }
            }
        }
        let predictions_path = results_dir.join(PREDICTIONS_FILE);
        if with_side_tables && predictions_path.exists() {
            for (id, row) in
                predictions_from_df(&read_df(&predictions_path, None)?, &predictions_path)?
            {
                if let Some(run) = runs.get_mut(&id) {
                    run.predictions.push(row);
                }
            }
        }
        let traces_path = results_dir.join(TRACES_FILE);
        if with_side_tables && traces_path.exists() {
            for (id, row) in traces_from_df(&read_df(&traces_path, None)?, &traces_path)? {
                if let Some(run) = runs.get_mut(&id) {
                    run.traces.push(row);
                }
            }
        }
        Ok(Merged { runs })
    }

    /// Writes the merged files atomically, `runs.parquet` last (a reader that finds it finds the
    /// rows it lists); `predictions.parquet` and `traces.parquet` only when a run has such rows.
    fn write(&self, results_dir: &Path) -> Result<MergeSummary, StoreError> {
        let metrics: Vec<(&str, &MetricRow)> = self
            .runs
            .iter()
            .flat_map(|(id, run)| run.metrics.iter().map(move |m| (id.as_str(), m)))
            .collect();
        let predictions: Vec<(&str, &PredictionRow)> = self
            .runs
            .iter()
            .flat_map(|(id, run)| run.predictions.iter().map(move |p| (id.as_str(), p)))
            .collect();
        let traces: Vec<(&str, &TraceRow)> = self
            .runs
            .iter()
            .flat_map(|(id, run)| run.traces.iter().map(move |t| (id.as_str(), t)))
            .collect();
        let summary = MergeSummary {
            runs_ok: self
                .runs
                .values()
                .filter(|r| r.record.status == RunStatus::Ok)
                .count(),
            runs_failed: self
                .runs
                .values()
                .filter(|r| r.record.status == RunStatus::Failed)
                .count(),
            metric_rows: metrics.len(),
            prediction_rows: predictions.len(),
            trace_rows: traces.len(),
        };
        let path = results_dir.join(METRICS_FILE);
        let mut df = metrics_df(metrics.into_iter()).map_err(frames::pl_err(&path))?;
        write_atomic(
            &path,
            &frames::encode(&mut df, Encoding::Merged, None, &path)?,
        )?;
        let path = results_dir.join(PREDICTIONS_FILE);
        if predictions.is_empty() {
            remove_if_exists(&path)?;
        } else {
            let mut df = predictions_df(predictions.into_iter()).map_err(frames::pl_err(&path))?;
            write_atomic(
                &path,
                &frames::encode(&mut df, Encoding::Merged, None, &path)?,
            )?;
        }
        let path = results_dir.join(TRACES_FILE);
        if traces.is_empty() {
            remove_if_exists(&path)?;
        } else {
            let mut df = traces_df(traces.into_iter()).map_err(frames::pl_err(&path))?;
            write_atomic(
                &path,
                &frames::encode(&mut df, Encoding::Merged, None, &path)?,
            )?;
        }
        let path = results_dir.join(RUNS_FILE);
        let mut df =
            runs_df(self.runs.values().map(|r| &r.record)).map_err(frames::pl_err(&path))?;
        write_atomic(
            &path,
            &frames::encode(&mut df, Encoding::Merged, None, &path)?,
        )?;
        Ok(summary)
    }
}

/// Folds every complete part into `runs.parquet`, `metrics.parquet` and (only if some run has
/// such rows) `predictions.parquet` and `traces.parquet`, and the trial parts of searches into
/// `trials.parquet`, then removes the parts it folded in. Idempotent: with no parts and merged
/// files present it changes nothing; with neither it writes empty files. Holds the directory's
/// merge lock while it works.
pub fn merge(results_dir: &Path) -> Result<MergeSummary, StoreError> {
    if !results_dir.is_dir() {
        return Err(StoreError::Io {
            path: results_dir.to_path_buf(),
            message: "no such results directory: run the experiment (`bayeslab run`) first".into(),
        });
    }
    let _lock = MergeLock::acquire(results_dir)?;
    super::trial_parts::merge_trials(results_dir, &strategy_order(results_dir))?;
    let parts = list_parts(&parts_dir(results_dir))?;
    if parts.is_empty() && results_dir.join(RUNS_FILE).exists() {
        return merged_summary(results_dir);
    }
    let mut merged = Merged::read(results_dir, true)?;
    let list: Vec<(&String, &PartFiles)> = parts.iter().collect();
    for run in read_parts(&list, true)? {
        merged.runs.insert(run.record.run_id.clone(), run);
    }
    let summary = merged.write(results_dir)?;
    // Each part's marker goes first, so a part is never left complete without its predictions.
    let parts: Vec<&PartFiles> = parts.values().collect();
    for_each_file(&parts, |part| {
        part.files().try_for_each(|file| remove_if_exists(file))
    })?;
    Ok(summary)
}

/// The strategies of the directory's search plan (`search.json`), in its order; none without
/// one.
fn strategy_order(results_dir: &Path) -> Vec<String> {
    fs::read_to_string(results_dir.join(crate::spec::SEARCH_PLAN_FILE))
        .ok()
        .and_then(|text| crate::spec::SearchPlan::from_json(&text).ok())
        .map(|plan| plan.strategy_labels())
        .unwrap_or_default()
}

/// The counts of the merged files as they are.
fn merged_summary(results_dir: &Path) -> Result<MergeSummary, StoreError> {
    let runs_path = results_dir.join(RUNS_FILE);
    let statuses = statuses_from_df(
        &read_df(&runs_path, Some(&["run_id", "status"]))?,
        &runs_path,
    )?;
    let rows = |file: &str, column: &str| -> Result<usize, StoreError> {
        let path = results_dir.join(file);
        if !path.exists() {
            return Ok(0);
        }
        Ok(read_df(&path, Some(&["run_id", column]))?.height())
    };
    Ok(MergeSummary {
        runs_ok: statuses.iter().filter(|s| s.1 == RunStatus::Ok).count(),
        runs_failed: statuses.iter().filter(|s| s.1 == RunStatus::Failed).count(),
        metric_rows: rows(METRICS_FILE, "value")?,
        prediction_rows: rows(PREDICTIONS_FILE, "index")?,
        trace_rows: rows(TRACES_FILE, "value")?,
    })
}

/// Every finished run with its status: the merged runs, overridden by the parts written since.
/// One read of two columns of `runs.parquet` and one directory listing.
pub fn finished_runs(results_dir: &Path) -> Result<BTreeMap<String, RunStatus>, StoreError> {
    let mut done = BTreeMap::new();
    let runs_path = results_dir.join(RUNS_FILE);
    if runs_path.exists() {
        done.extend(statuses_from_df(
            &read_df(&runs_path, Some(&["run_id", "status"]))?,
            &runs_path,
        )?);
    }
    let parts = list_parts(&parts_dir(results_dir))?;
    let unknown: Vec<(&String, &PartFiles)> =
        parts.iter().filter(|(_, p)| p.status.is_none()).collect();
    for run in read_parts(&unknown, false)? {
        done.insert(run.record.run_id, run.record.status);
    }
    for (id, part) in &parts {
        if let Some(status) = part.status {
            done.insert(id.clone(), status);
        }
    }
    Ok(done)
}

/// The run rows and metrics (no predictions) of the finished runs whose ids `wanted` accepts,
/// merged runs overridden by parts. A search reads its finished trials back from these.
pub fn finished_outputs(
    results_dir: &Path,
    wanted: impl Fn(&str) -> bool,
) -> Result<HashMap<String, RunOutput>, StoreError> {
    let mut out: HashMap<String, RunOutput> = Merged::read(results_dir, false)?
        .runs
        .into_iter()
        .filter(|(id, _)| wanted(id))
        .collect();
    let parts = list_parts(&parts_dir(results_dir))?;
    let list: Vec<(&String, &PartFiles)> = parts.iter().filter(|(id, _)| wanted(id)).collect();
    let read = for_each_file(&list, |(id, part)| match read_part(id, part, false) {
        Ok(run) => Ok(Some(run)),
        // Replaced between the listing and the read: another shard re-ran the run (each run
        // belongs to one shard, so it is not one the reader needs).
        Err(_) if !part.marker.exists() => Ok(None),
        Err(e) => Err(e),
    })?;
    for run in read.into_iter().flatten() {
        out.insert(run.record.run_id.clone(), run);
    }
    Ok(out)
}

/// Moves the finished runs that `planned` does not contain (the spec changed) to
/// `parts-stale/`, as parts, holding the merge lock, so the merged files show only runs of the spec as it is now and
/// nothing written is lost. Returns how many runs moved.
///
/// Stale runs of the merged files are written to `parts-stale/` before the merged files are
/// rewritten without them; a kill in between leaves them in both places, and the next call
/// writes the same stale parts again.
pub fn retire_stale(results_dir: &Path, planned: &BTreeSet<&str>) -> Result<usize, StoreError> {
    // Shards starting at once all retire: one at a time, and the later ones find nothing left.
    let _lock = MergeLock::acquire(results_dir)?;
    let stale_dir = results_dir.join(STALE_DIR);
    let mut moved: HashSet<String> = HashSet::new();
    for (id, part) in list_parts(&parts_dir(results_dir))? {
        if planned.contains(id.as_str()) {
            continue;
        }
        fs::create_dir_all(&stale_dir)
            .map_err(|e| io_err(&stale_dir, "cannot create directory", e))?;
        // The marker moves last, so the part is complete in exactly one place at any time
        // except for the instant of its own rename.
        let mut files: Vec<&std::path::PathBuf> = part.files().collect();
        files.rotate_left(1);
        for file in files {
            let to = stale_dir.join(file.file_name().expect("a part file has a name"));
            fs::rename(file, &to).map_err(|e| io_err(&to, "cannot move a stale part to", e))?;
        }
        moved.insert(id);
    }
    let runs_path = results_dir.join(RUNS_FILE);
    if runs_path.exists() {
        let statuses = statuses_from_df(
            &read_df(&runs_path, Some(&["run_id", "status"]))?,
            &runs_path,
        )?;
        if statuses
            .iter()
            .any(|(id, _)| !planned.contains(id.as_str()))
        {
            let mut merged = Merged::read(results_dir, true)?;
            let stale: Vec<String> = merged
                .runs
                .keys()
                .filter(|id| !planned.contains(id.as_str()))
                .cloned()
                .collect();
            for id in &stale {
                let run = merged.runs.remove(id).expect("listed above");
                write_part_into(&stale_dir, &run)?;
                moved.insert(id.clone());
            }
            merged.write(results_dir)?;
        }
    }
    Ok(moved.len())
}
