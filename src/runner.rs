//! Plan → runs in parallel → Parquet parts → merged results → report.
//!
//! Each run is independent and seeded from its configuration, so the results do not depend on
//! `--jobs`, the order runs finish in, shards, or resumption. A run that diverges or panics is
//! recorded as `failed` with its reason and the batch goes on. A part is written atomically when
//! its run finishes, so an interrupted batch leaves only complete parts and `--resume` continues.

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

pub use crate::data::DataCache;
use crate::error::{Error, Result, StoreError};
use crate::spec::{Experiment, RunSpec};
use crate::store;
use crate::worker::{Finished, Worker, install_quiet_run_panics};

/// How to execute a plan.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Root under which `results/<name>/` and `reports/<name>/` are written.
    pub root: PathBuf,
    /// Runs executed at once (each single-threaded when more than one).
    pub jobs: usize,
    /// Skip runs whose part is already complete with status `ok`.
    pub resume: bool,
    /// Run only shard K of N (1-based K).
    pub shard: Option<(usize, usize)>,
    /// Show a progress bar (plain lines when stderr is not a terminal).
    pub progress: bool,
    /// Render the report after the batch.
    pub report: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            root: PathBuf::from("."),
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
            resume: false,
            shard: None,
            progress: true,
            report: true,
        }
    }
}

/// What a batch did.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchSummary {
    pub planned: usize,
    /// Runs of this shard.
    pub selected: usize,
    /// Already complete (`--resume`).
    pub skipped: usize,
    pub ok: usize,
    pub failed: usize,
    pub cancelled: bool,
    pub results_dir: PathBuf,
    pub report_dir: Option<PathBuf>,
}

/// `results/<name>` under a root.
pub fn results_dir(root: &Path, name: &str) -> PathBuf {
    root.join("results").join(name)
}

/// `reports/<name>` under a root.
pub fn report_dir(root: &Path, name: &str) -> PathBuf {
    root.join("reports").join(name)
}

/// Whether run `run_id` belongs to shard `k` of `n` (1-based): its id, a hash, modulo n. The same
/// run lands in the same shard on every machine, even after the plan is extended.
pub fn in_shard(run_id: &str, k: usize, n: usize) -> bool {
    let hash = u64::from_str_radix(run_id, 16).unwrap_or(0);
    (hash % n as u64) as usize == k - 1
}

/// Whether search `index` of a `[tune]` section ([`crate::search::searches`]) belongs to shard
/// `k` of `n` (1-based): round robin, so the searches spread evenly over the shards. The same
/// search lands in the same shard on every machine while the section's strategies and repeats
/// stay as they are (and with `--resume` a search that moved shard is replayed from the runs of
/// its trials on disk).
pub fn search_in_shard(index: usize, k: usize, n: usize) -> bool {
    index % n == k - 1
}

/// Runs an experiment's plan (or one shard of it) and its searches (or the shard's), merges the parts and renders
/// the report. A shard only writes its parts and its record (`shards/K-of-N.json`, see
/// [`crate::cluster`]): the shards' parts are merged once, when all are done (`bayeslab merge`),
/// so shards never rewrite the merged files under one another.
pub fn run(
    experiment: &Experiment,
    options: &RunOptions,
    cancel: &AtomicBool,
) -> Result<BatchSummary> {
    let results = results_dir(&options.root, &experiment.name);
    let parts = results.join(store::PARTS_DIR);
    std::fs::create_dir_all(&parts).map_err(|e| io_error(&parts, e))?;
    if let Some(benchmark) = &experiment.benchmark {
        return run_benchmark_experiment(experiment, benchmark, options, cancel, results);
    }
    let data = DataCache::load(&experiment.runs)?;

    if experiment.tune.is_none() {
        // A search's trial runs are not in the plan, so only plain experiments retire runs.
        let planned: BTreeSet<&str> = experiment.runs.iter().map(|r| r.run_id.as_str()).collect();
        let retired = store::retire_stale(&results, &planned)?;
        if retired > 0 {
            eprintln!(
                "{retired} finished run(s) are not in the plan any more (the spec changed): moved to {}",
                results.join(store::STALE_DIR).display()
            );
        }
    }
    let selected: Vec<&RunSpec> = experiment
        .runs
        .iter()
        .filter(|r| options.shard.is_none_or(|(k, n)| in_shard(&r.run_id, k, n)))
        .collect();
    let search = experiment.tune.as_ref();
    let searches = search.map_or(0, |tune| {
        crate::search::searches_of_shard(tune, options.shard).len()
    });
    let shard_record = match options.shard {
        Some(shard) => Some(crate::cluster::ShardRecord::start(
            &results,
            shard,
            selected.len(),
            searches,
        )?),
        None => None,
    };

    let started = SystemTime::now();
    write_text(&results.join("spec.toml"), &experiment.resolved_toml)?;
    if let Some(plan) = crate::spec::SearchPlan::of(experiment) {
        write_text(
            &results.join(crate::spec::SEARCH_PLAN_FILE),
            &plan.to_json(),
        )?;
    }

    let jobs = options.jobs.max(1);
    // One BLAS thread per run when runs share the cores; a lone run may use them all.
    let parallel = selected.len() + searches > 1;
    crate::nn::set_blas_threads(if jobs > 1 && parallel { 1 } else { jobs });

    let mut total_epochs: u64 = selected.iter().map(|r| r.config.epochs_of_work()).sum();
    if let Some(tune) = search {
        total_epochs += crate::search::planned_epochs(experiment, tune, searches);
    }
    let finished_before = if options.resume {
        Finished::read(&results, search.is_some())?
    } else {
        Finished::Nothing
    };
    let bar = progress_bar(options.progress, total_epochs);
    let worker = Worker::new(
        &results,
        &data,
        cancel,
        &bar,
        options.progress,
        finished_before,
    );

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|e| Error::Other(format!("cannot start {jobs} worker threads: {e}")))?;
    install_quiet_run_panics();
    let searched = pool.install(|| {
        selected.par_iter().for_each(|run| {
            worker.run(run);
        });
        search.map(|tune| crate::search::run_searches(tune, &worker, options.shard))
    });
    bar.finish_and_clear();
    if let Some(e) = worker.take_error() {
        return Err(e);
    }
    searched.transpose()?;
    let (ok, failed, skipped, cancelled) = worker.counts();
    let cancelled = cancelled || cancel.load(Ordering::Relaxed);
    if let Some(record) = shard_record {
        record.finish(ok, failed, skipped, cancelled)?;
    }

    let report = if options.shard.is_none() {
        store::merge(&results)?;
        write_manifest(&results, started, None)?;
        if options.report {
            let dir = report_dir(&options.root, &experiment.name);
            crate::report::write_report(&results, &dir)?;
            Some(dir)
        } else {
            None
        }
    } else {
        None
    };
    Ok(BatchSummary {
        planned: experiment.runs.len(),
        selected: selected.len(),
        skipped,
        ok,
        failed,
        cancelled,
        results_dir: results,
        report_dir: report,
    })
}

/// Runs a benchmark experiment (search strategies on test functions): writes `trials.parquet`,
/// empty run and metric files, the manifest and the report.
fn run_benchmark_experiment(
    experiment: &Experiment,
    benchmark: &crate::spec::benchmark::BenchmarkSpec,
    options: &RunOptions,
    cancel: &AtomicBool,
    results: PathBuf,
) -> Result<BatchSummary> {
    let started = SystemTime::now();
    write_text(&results.join("spec.toml"), &experiment.resolved_toml)?;
    if let Some(plan) = crate::spec::SearchPlan::of(experiment) {
        write_text(
            &results.join(crate::spec::SEARCH_PLAN_FILE),
            &plan.to_json(),
        )?;
    }
    let searches = benchmark.functions.len() * benchmark.strategies.len() * benchmark.repeats;
    let bar = progress_bar(options.progress, searches as u64);
    let jobs = options.jobs.max(1);
    crate::nn::set_blas_threads(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|e| Error::Other(format!("cannot start {jobs} worker threads: {e}")))?;
    let tick = || bar.inc(1);
    let trials = pool.install(|| crate::search::run_function_searches(benchmark, cancel, &tick));
    bar.finish_and_clear();
    let cancelled = cancel.load(Ordering::Relaxed);
    if !cancelled {
        store::write_trials(&results, &trials)?;
        store::merge(&results)?;
        write_manifest(&results, started, None)?;
    }
    let report = if options.report && !cancelled {
        let dir = report_dir(&options.root, &experiment.name);
        crate::report::write_report(&results, &dir)?;
        Some(dir)
    } else {
        None
    };
    Ok(BatchSummary {
        planned: searches,
        selected: searches,
        skipped: 0,
        ok: if cancelled { 0 } else { searches },
        failed: 0,
        cancelled,
        results_dir: results,
        report_dir: report,
    })
}

fn progress_bar(show: bool, total_epochs: u64) -> ProgressBar {
    if !show || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total_epochs), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40} {pos}/{len} epochs  {elapsed_precise} elapsed, ETA {eta}",
        )
        .expect("a valid progress template"),
    );
    bar
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::Store(StoreError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Writes a small text file atomically.
pub fn write_text(path: &Path, text: &str) -> Result<()> {
    Ok(store::write_atomic(path, text.as_bytes())?)
}

pub(crate) fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Writes `manifest.json`: bayeslab version, results format, git revision, host, start and end
/// time, command line, and (after a merge of shards) `shards`, the record of each shard.
pub(crate) fn write_manifest(
    results: &Path,
    started: SystemTime,
    shards: Option<serde_json::Value>,
) -> Result<()> {
    let git_revision = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let host = store::host_name();
    let mut manifest = serde_json::json!({
        "bayeslab_version": env!("CARGO_PKG_VERSION"),
        "results_format": store::FORMAT_VERSION,
        "git_revision": git_revision,
        "host": host,
        "start_unix_s": unix_seconds(started),
        "end_unix_s": unix_seconds(SystemTime::now()),
        "command_line": std::env::args().collect::<Vec<_>>(),
    });
    if let Some(shards) = shards {
        manifest["shards"] = shards;
    }
    write_text(
        &results.join("manifest.json"),
        &serde_json::to_string_pretty(&manifest).expect("json serialises"),
    )
}
