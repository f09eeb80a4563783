//! Trial parts: the trials of one search (a strategy and repeat of a `[tune]` section), written
//! by the process that ran it to `parts/trials/<strategy>.<repeat>.parquet`, until a merge folds
//! them into `trials.parquet`.
//!
//! Searches are independent, so the shards of a batch (array tasks of a cluster job) each run
//! some of them; every search's trials land in its own part, and the merge puts them together.
//! A part replaces every merged row of its search (a re-run search is newer). Merged rows are
//! ordered by strategy in the order of the search plan (`search.json`), then by repeat and
//! trial, which is the order one unsharded batch produces: sharded or not, `trials.parquet` lists
//! the same trials in the same order.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::atomic::{io_err, is_temporary, remove_if_exists, write_atomic};
use super::frames::{self, Encoding};
use super::parts::parts_dir;
use super::{TrialRow, load_trials};
use crate::error::StoreError;

/// The directory of trial parts inside `parts/`.
pub const TRIAL_PARTS_DIR: &str = "trials";

fn trial_parts_dir(results_dir: &Path) -> PathBuf {
    parts_dir(results_dir).join(TRIAL_PARTS_DIR)
}

/// Writes the trials of search (`strategy`, `repeat`) as its part, atomically, replacing an
/// earlier part of the same search.
pub fn write_search_trials(
    results_dir: &Path,
    strategy: &str,
    repeat: usize,
    rows: &[TrialRow],
) -> Result<(), StoreError> {
    super::parts::check_run_id(strategy, results_dir)?;
    let dir = trial_parts_dir(results_dir);
    fs::create_dir_all(&dir).map_err(|e| io_err(&dir, "cannot create directory", e))?;
    let path = dir.join(format!("{strategy}.{repeat}.parquet"));
    let mut df = frames::trials_df(rows).map_err(frames::pl_err(&path))?;
    write_atomic(
        &path,
        &frames::encode(&mut df, Encoding::Part, None, &path)?,
    )
}

/// The trial parts present: (strategy, repeat) → file.
fn list_trial_parts(results_dir: &Path) -> Result<BTreeMap<(String, u32), PathBuf>, StoreError> {
    let dir = trial_parts_dir(results_dir);
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(io_err(&dir, "cannot list", e)),
    };
    let mut out = BTreeMap::new();
    for entry in entries {
        let entry = entry.map_err(|e| io_err(&dir, "cannot list", e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if is_temporary(name) {
            continue;
        }
        let key = name
            .strip_suffix(".parquet")
            .and_then(|stem| stem.rsplit_once('.'))
            .and_then(|(strategy, repeat)| Some((strategy.to_string(), repeat.parse().ok()?)));
        if let Some(key) = key {
            out.insert(key, entry.path());
        }
    }
    Ok(out)
}

/// Folds the trial parts into `trials.parquet` and removes them; nothing to do without parts.
/// `strategy_order` lists the strategies in the search plan's order (unknown ones go last, in
/// the order met). The caller holds the merge lock.
pub(super) fn merge_trials(
    results_dir: &Path,
    strategy_order: &[String],
) -> Result<usize, StoreError> {
    let parts = list_trial_parts(results_dir)?;
    if parts.is_empty() {
        return Ok(0);
    }
    let mut searches: Vec<((String, u32), Vec<TrialRow>)> = Vec::new();
    for row in load_trials(results_dir)? {
        let key = (row.strategy.clone(), row.repeat);
        match searches.iter_mut().find(|(k, _)| *k == key) {
            Some((_, rows)) => rows.push(row),
            None => searches.push((key, vec![row])),
        }
    }
    for (key, path) in &parts {
        let rows = frames::trials_from_df(&frames::read_df(path, None)?, path)?;
        match searches.iter_mut().find(|(k, _)| k == key) {
            Some((_, old)) => *old = rows,
            None => searches.push((key.clone(), rows)),
        }
    }
    let mut met: Vec<&str> = strategy_order.iter().map(String::as_str).collect();
    for ((strategy, _), _) in &searches {
        if !met.contains(&strategy.as_str()) {
            met.push(strategy);
        }
    }
    let rank = |s: &str| met.iter().position(|m| *m == s).unwrap_or(usize::MAX);
    let mut order: Vec<usize> = (0..searches.len()).collect();
    order.sort_by_key(|&i| (rank(&searches[i].0.0), searches[i].0.1));
    let mut rows: Vec<TrialRow> = Vec::new();
    for i in order {
        let mut search = std::mem::take(&mut searches[i].1);
        search.sort_by_key(|r| r.trial);
        rows.extend(search);
    }
    super::write_trials(results_dir, &rows)?;
    for path in parts.values() {
        remove_if_exists(path)?;
    }
    Ok(parts.len())
}
