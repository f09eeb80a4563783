//! The harness on big batches: for batches of N tiny runs (one split of 20 toy points, a
//! 1-2-1 network, one epoch), how long a fresh batch takes (runs/s, and the harness's own time
//! per run: wall time minus the time spent inside runs), how long a resume of the interrupted
//! batch (parts only) and of the finished batch (merged files) take, how long the merge takes,
//! and how many files each leaves on disk. One worker thread, so the figures are per core.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use crate::error::Result;
use crate::runner::{self, RunOptions};
use crate::store;

/// The tiny experiment, `{seeds}` seeds × 10 splits of one method.
const TINY: &str = r#"
name = "batch_bench"
seeds = {seeds}
master_seed = 1
[data]
source = "toy_gap_1d"
n = 20
noise = 0.1
split = { kind = "random", valid = 0.2, test = 0.2, repeats = 10 }
[model]
hidden = [2]
activation = "tanh"
[train]
epochs = 1
batch_size = 16
[[methods]]
name = "sgd"
kind = "point"
optimizer = { kind = "sgd", lr = 0.01 }
"#;

/// The figures for one batch size.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchFigures {
    pub runs: usize,
    /// Wall time of the fresh batch (all runs, parts written, no merge), seconds.
    pub fresh_s: f64,
    /// Time inside runs (data split, training, evaluation), summed, seconds.
    pub in_runs_s: f64,
    /// Files in `parts/` after the fresh batch.
    pub part_files: usize,
    /// A resume of the interrupted batch (every run a part, none merged; no merge), seconds.
    pub resume_parts_s: f64,
    /// The merge of all parts into the merged files, seconds.
    pub merge_s: f64,
    /// Files in the results directory after the merge, and their bytes.
    pub merged_files: usize,
    pub merged_bytes: u64,
    /// A resume of the finished batch (merged files only), seconds.
    pub resume_merged_s: f64,
}

impl BatchFigures {
    /// Runs per second of the fresh batch.
    pub fn runs_per_s(&self) -> f64 {
        self.runs as f64 / self.fresh_s
    }

    /// Milliseconds per run the harness spends outside runs (planning, scheduling, writing parts).
    pub fn harness_ms_per_run(&self) -> f64 {
        1e3 * (self.fresh_s - self.in_runs_s).max(0.0) / self.runs as f64
    }
}

fn files_in(dir: &Path) -> (usize, u64) {
    let mut count = 0;
    let mut bytes = 0;
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                let (c, b) = files_in(&entry.path());
                count += c;
                bytes += b;
            } else {
                count += 1;
                bytes += meta.len();
            }
        }
    }
    (count, bytes)
}

/// Measures one batch of about `runs` runs (rounded up to a multiple of 10) under `root`.
pub fn measure(runs: usize, root: &Path) -> Result<BatchFigures> {
    let seeds = runs.div_ceil(10).max(1);
    let text = TINY.replace("{seeds}", &seeds.to_string());
    let experiment = crate::spec::parse("<batch bench>", &text, &[])?;
    let _ = std::fs::remove_dir_all(root);
    let cancel = AtomicBool::new(false);
    let options = RunOptions {
        root: root.to_path_buf(),
        jobs: 1,
        resume: false,
        shard: Some((1, 1)),
        progress: false,
        report: false,
    };
    let results = runner::results_dir(root, &experiment.name);

    let start = Instant::now();
    runner::run(&experiment, &options, &cancel)?;
    let fresh_s = start.elapsed().as_secs_f64();
    let (part_files, _) = files_in(&results.join(store::PARTS_DIR));
    let in_runs_s = store::finished_outputs(&results, |_| true)?
        .values()
        .map(|o| o.record.duration_s)
        .sum();

    let start = Instant::now();
    runner::run(
        &experiment,
        &RunOptions {
            resume: true,
            ..options.clone()
        },
        &cancel,
    )?;
    let resume_parts_s = start.elapsed().as_secs_f64();

    let start = Instant::now();
    store::merge(&results)?;
    let merge_s = start.elapsed().as_secs_f64();
    let (merged_files, merged_bytes) = files_in(&results);

    let start = Instant::now();
    runner::run(
        &experiment,
        &RunOptions {
            resume: true,
            shard: None,
            ..options
        },
        &cancel,
    )?;
    let resume_merged_s = start.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(root);
    Ok(BatchFigures {
        runs: experiment.runs.len(),
        fresh_s,
        in_runs_s,
        part_files,
        resume_parts_s,
        merge_s,
        merged_files,
        merged_bytes,
        resume_merged_s,
    })
}

/// Measures each batch size in a fresh directory under the system's temporary directory.
pub fn run_batch_benchmarks(sizes: &[usize]) -> Result<Vec<BatchFigures>> {
    crate::nn::set_blas_threads(1);
    let root: PathBuf =
        std::env::temp_dir().join(format!("bayeslab-batch-bench-{}", std::process::id()));
    sizes.iter().map(|&n| measure(n, &root)).collect()
}

/// The figures as a table, with how each grows from one size to the next (×10 runs ⇒ ×10 time
/// is linear).
pub struct BatchReport<'a>(pub &'a [BatchFigures]);

impl fmt::Display for BatchReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "harness on batches of tiny runs, one worker thread ({} core(s) for reads and merges)",
            std::thread::available_parallelism().map_or(1, |n| n.get())
        )?;
        writeln!(
            f,
            "{:>8} {:>9} {:>8} {:>11} {:>10} {:>11} {:>9} {:>9} {:>12} {:>11}",
            "runs",
            "fresh s",
            "runs/s",
            "harness ms",
            "part files",
            "resume(p) s",
            "merge s",
            "files",
            "bytes",
            "resume(m) s"
        )?;
        for r in self.0 {
            writeln!(
                f,
                "{:>8} {:>9.2} {:>8.0} {:>11.3} {:>10} {:>11.2} {:>9.2} {:>9} {:>12} {:>11.2}",
                r.runs,
                r.fresh_s,
                r.runs_per_s(),
                r.harness_ms_per_run(),
                r.part_files,
                r.resume_parts_s,
                r.merge_s,
                r.merged_files,
                r.merged_bytes,
                r.resume_merged_s
            )?;
        }
        for w in self.0.windows(2) {
            let (a, b) = (&w[0], &w[1]);
            let n = b.runs as f64 / a.runs as f64;
            writeln!(
                f,
                "{} -> {} runs (x{n:.0}): fresh x{:.1}, resume(parts) x{:.1}, merge x{:.1}, resume(merged) x{:.1}",
                a.runs,
                b.runs,
                b.fresh_s / a.fresh_s,
                b.resume_parts_s / a.resume_parts_s,
                b.merge_s / a.merge_s,
                b.resume_merged_s / a.resume_merged_s
            )?;
        }
        writeln!(
            f,
            "harness ms: wall time per run minus the time inside runs; resume(p): an interrupted batch \
             (parts only); resume(m): the finished batch (merged files)"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_batch_is_measured_and_leaves_merged_files_only() {
        let root = std::env::temp_dir().join(format!("bayeslab-bb-test-{}", std::process::id()));
        let figures = measure(20, &root).unwrap();
        assert_eq!(figures.runs, 20);
        assert_eq!(figures.part_files, 20, "one file per run");
        // spec.toml, runs.parquet, metrics.parquet and shards/1-of-1.json, the record of the
        // one shard the batch ran as (no predictions, no manifest without a merge of shards).
        assert_eq!(figures.merged_files, 4);
        assert!(figures.fresh_s > 0.0 && figures.in_runs_s > 0.0);
        assert!(!root.exists(), "the bench cleans up");
    }
}
