//! Plan → runs in parallel → Parquet parts → merged results → report.
//!
//! Each run is independent and seeded from its configuration, so the results do not depend on
//! `--jobs`, the order runs finish in, shards, or resumption. A run that diverges or panics is
//! recorded as `failed` with its reason and the batch goes on. A part is written atomically when
//! its run finishes, so an interrupted batch leaves only complete parts and `--resume` continues.

use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

use crate::data::{self, Dataset, Prepared, load_dataset};
use crate::error::{DataError, Error, Result, StoreError};
use crate::method::{self, Grid, RunError, RunInput};
use crate::spec::{Experiment, RunConfig, RunSpec};
use crate::store::{self, RunOutput, RunRecord, RunStatus};

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

/// Data sets of a batch, loaded once each (keyed by the data section and its seed), on first
/// use; search trials may ask for new ones.
#[derive(Default)]
pub struct DataCache {
    sets: Mutex<BTreeMap<String, Arc<Dataset>>>,
}

impl DataCache {
    /// Loads every distinct data set the runs use; a missing or malformed file is an error here,
    /// before any run starts.
    pub fn load(runs: &[RunSpec]) -> Result<Self, DataError> {
        let cache = DataCache::default();
        for run in runs {
            cache.get(&run.config)?;
        }
        Ok(cache)
    }

    fn key(config: &RunConfig) -> String {
        format!(
            "{}#{}",
            serde_json::to_string(&config.data).unwrap_or_default(),
            config.data_seed()
        )
    }

    /// The data set of a run (loaded now if it was not yet).
    pub fn get(&self, config: &RunConfig) -> Result<Arc<Dataset>, DataError> {
        let key = Self::key(config);
        if let Some(set) = self
            .sets
            .lock()
            .expect("no panics hold this lock")
            .get(&key)
        {
            return Ok(Arc::clone(set));
        }
        let set = Arc::new(load_dataset(&config.data, config.data_seed())?);
        self.sets
            .lock()
            .expect("no panics hold this lock")
            .insert(key, Arc::clone(&set));
        Ok(set)
    }

    /// The standardised train/valid/test parts of a run's split.
    pub fn prepare(&self, config: &RunConfig) -> Result<Prepared, DataError> {
        let set = self.get(config)?;
        let split = data::make_split(
            set.len(),
            &config.data.split,
            config.split as usize,
            config.split_seed(),
        )?;
        Ok(data::prepare(&set, &split, config.data.standardize))
    }
}

/// Executes runs and writes their parts; shared by the plan and by searches. Counts what it did.
pub(crate) struct Executor<'a> {
    pub results: &'a Path,
    pub data: &'a DataCache,
    pub cancel: &'a AtomicBool,
    pub bar: &'a ProgressBar,
    pub progress: bool,
    /// Reuse complete parts with status `ok` instead of running again.
    pub resume: bool,
    finished: AtomicUsize,
    failed: AtomicUsize,
    skipped: AtomicUsize,
    cancelled: AtomicBool,
    first_error: Mutex<Option<Error>>,
}

impl<'a> Executor<'a> {
    pub fn new(
        results: &'a Path,
        data: &'a DataCache,
        cancel: &'a AtomicBool,
        bar: &'a ProgressBar,
        progress: bool,
        resume: bool,
    ) -> Self {
        Executor {
            results,
            data,
            cancel,
            bar,
            progress,
            resume,
            finished: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            skipped: AtomicUsize::new(0),
            cancelled: AtomicBool::new(false),
            first_error: Mutex::new(None),
        }
    }

    /// Whether the batch should stop (Ctrl-C, or a part could not be written).
    pub fn stopping(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
            || self.cancelled.load(Ordering::Relaxed)
            || self
                .first_error
                .lock()
                .expect("no panics hold this lock")
                .is_some()
    }

    /// Runs one run and writes its part, or, when resuming, reads its finished part. `None` when
    /// the batch is stopping or the run was cancelled (nothing is written then).
    pub fn run(&self, run: &RunSpec) -> Option<RunOutput> {
        if self.stopping() {
            self.cancelled.store(true, Ordering::Relaxed);
            return None;
        }
        if self.resume {
            match store::read_part(self.results, &run.run_id) {
                Ok(Some(done)) if done.record.status == RunStatus::Ok => {
                    self.skipped.fetch_add(1, Ordering::Relaxed);
                    self.bar.inc(run.config.train.epochs as u64);
                    return Some(done);
                }
                Ok(_) => {}
                Err(e) => {
                    self.record_error(e.into());
                    return None;
                }
            }
        }
        let tick = || self.bar.inc(1);
        let Some(output) = execute_run(run, self.data, self.cancel, &tick) else {
            self.cancelled.store(true, Ordering::Relaxed);
            return None;
        };
        if output.record.status == RunStatus::Failed {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        let n = self.finished.fetch_add(1, Ordering::Relaxed) + 1;
        let line = describe(&output, n);
        if self.bar.is_hidden() {
            if self.progress {
                eprintln!("{line}");
            }
        } else {
            self.bar.println(line);
        }
        if let Err(e) = store::write_part(self.results, &output) {
            self.record_error(e.into());
        }
        Some(output)
    }

    fn record_error(&self, e: Error) {
        self.first_error
            .lock()
            .expect("no panics hold this lock")
            .get_or_insert(e);
    }

    /// The first error, if a part could not be written or read.
    pub fn take_error(&self) -> Option<Error> {
        self.first_error
            .lock()
            .expect("no panics hold this lock")
            .take()
    }
}

/// Runs an experiment's plan (or one shard of it) and its search, merges the parts and renders
/// the report.
pub fn run(
    experiment: &Experiment,
    options: &RunOptions,
    cancel: &AtomicBool,
) -> Result<BatchSummary> {
    let results = results_dir(&options.root, &experiment.name);
    let parts = results.join("parts");
    std::fs::create_dir_all(&parts).map_err(|e| io_error(&parts, e))?;
    if let Some(benchmark) = &experiment.benchmark {
        return run_benchmark(experiment, benchmark, options, cancel, results);
    }
    let data = DataCache::load(&experiment.runs)?;

    let planned: BTreeSet<&str> = experiment.runs.iter().map(|r| r.run_id.as_str()).collect();
    if experiment.tune.is_none() {
        // A search's trial runs are not in the plan, so only plain experiments retire parts.
        retire_stale_parts(&results, &planned)?;
    }
    let selected: Vec<&RunSpec> = experiment
        .runs
        .iter()
        .filter(|r| options.shard.is_none_or(|(k, n)| in_shard(&r.run_id, k, n)))
        .collect();
    let search = experiment.tune.as_ref().filter(|_| options.shard.is_none());

    let started = SystemTime::now();
    write_text(&results.join("spec.toml"), &experiment.resolved_toml)?;

    let jobs = options.jobs.max(1);
    // One BLAS thread per run when runs share the cores; a lone run may use them all.
    let parallel = selected.len() > 1 || search.is_some();
    crate::nn::set_blas_threads(if jobs > 1 && parallel { 1 } else { jobs });

    let mut total_epochs: u64 = selected.iter().map(|r| r.config.train.epochs as u64).sum();
    if let Some(tune) = search {
        total_epochs += crate::search::planned_epochs(experiment, tune);
    }
    let bar = progress_bar(options.progress, total_epochs);
    let executor = Executor::new(
        &results,
        &data,
        cancel,
        &bar,
        options.progress,
        options.resume,
    );

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|e| Error::Other(format!("cannot start {jobs} worker threads: {e}")))?;
    install_quiet_run_panics();
    let searched = pool.install(|| {
        selected.par_iter().for_each(|run| {
            executor.run(run);
        });
        search.map(|tune| crate::search::run_searches(tune, &executor))
    });
    bar.finish_and_clear();
    if let Some(e) = executor.take_error() {
        return Err(e);
    }
    if let Some(trials) = searched.transpose()? {
        store::write_trials(&results, &trials)?;
    }

    store::merge(&results)?;
    write_manifest(&results, started)?;
    let report = if options.report && options.shard.is_none() {
        let dir = report_dir(&options.root, &experiment.name);
        crate::report::write_report(&results, &dir)?;
        Some(dir)
    } else {
        None
    };
    let failed = executor.failed.into_inner();
    let skipped = executor.skipped.into_inner();
    Ok(BatchSummary {
        planned: experiment.runs.len(),
        selected: selected.len(),
        skipped,
        ok: executor.finished.into_inner() - failed,
        failed,
        cancelled: executor.cancelled.into_inner() || cancel.load(Ordering::Relaxed),
        results_dir: results,
        report_dir: report,
    })
}

/// Runs a benchmark experiment (search strategies on test functions): writes `trials.parquet`,
/// empty run and metric files, the manifest and the report.
fn run_benchmark(
    experiment: &Experiment,
    benchmark: &crate::spec::benchmark::BenchmarkSpec,
    options: &RunOptions,
    cancel: &AtomicBool,
    results: PathBuf,
) -> Result<BatchSummary> {
    let started = SystemTime::now();
    write_text(&results.join("spec.toml"), &experiment.resolved_toml)?;
    let searches = benchmark.functions.len() * benchmark.strategies.len() * benchmark.repeats;
    let bar = progress_bar(options.progress, searches as u64);
    let jobs = options.jobs.max(1);
    crate::nn::set_blas_threads(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|e| Error::Other(format!("cannot start {jobs} worker threads: {e}")))?;
    let tick = || bar.inc(1);
    let trials = pool.install(|| crate::search::run_benchmark(benchmark, cancel, &tick));
    bar.finish_and_clear();
    let cancelled = cancel.load(Ordering::Relaxed);
    if !cancelled {
        store::write_trials(&results, &trials)?;
        store::merge(&results)?;
        write_manifest(&results, started)?;
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

/// Executes one run and builds its record. `None` when the user cancelled it (nothing is written).
fn execute_run(
    run: &RunSpec,
    data: &DataCache,
    cancel: &AtomicBool,
    on_epoch: &(dyn Fn() + Sync),
) -> Option<RunOutput> {
    let start = Instant::now();
    let config = &run.config;
    IN_RUN.with(|flag| flag.set(true));
    let result = catch_unwind(AssertUnwindSafe(
        || -> Result<method::MethodOutput, RunError> {
            let prepared = data
                .prepare(config)
                .map_err(|e| RunError::Failed(e.to_string()))?;
            let grid = Grid::for_1d(&prepared);
            method::execute(&RunInput {
                config,
                data: &prepared,
                grid: grid.as_ref(),
                cancel,
                on_epoch,
            })
        },
    ))
    .unwrap_or_else(|panic| {
        Err(RunError::Failed(format!(
            "panicked: {}",
            panic_text(&panic)
        )))
    });
    IN_RUN.with(|flag| flag.set(false));
    let (status, error, output) = match result {
        Ok(output) => (RunStatus::Ok, None, output),
        Err(RunError::Cancelled) => return None,
        Err(e) => (RunStatus::Failed, Some(e.to_string()), Default::default()),
    };
    Some(RunOutput {
        record: RunRecord {
            run_id: run.run_id.clone(),
            experiment: config.experiment.clone(),
            method: config.method.clone(),
            variant: config.variant.clone(),
            seed: config.seed,
            split: config.split,
            status,
            error,
            duration_s: start.elapsed().as_secs_f64(),
            n_params: output.n_params,
            n_samples: output.n_samples,
            config: serde_json::to_string(config).expect("a run configuration serialises"),
        },
        metrics: output.metrics,
        predictions: output.predictions,
    })
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// One line per finished run: `[3] adam seed 1 split 0: ok in 1.2 s, test.rmse 0.53`.
fn describe(output: &RunOutput, n: usize) -> String {
    let r = &output.record;
    let variant = if r.variant == "default" {
        String::new()
    } else {
        format!(" [{}]", r.variant)
    };
    let status = match (&r.status, &r.error) {
        (RunStatus::Ok, _) => {
            let last_test = output
                .metrics
                .iter()
                .rev()
                .find(|m| m.split == "test")
                .map(|m| format!(", test.{} {:.4}", m.metric, m.value))
                .unwrap_or_default();
            format!("ok in {:.1} s{last_test}", r.duration_s)
        }
        (RunStatus::Failed, e) => format!("FAILED: {}", e.as_deref().unwrap_or("")),
    };
    format!(
        "[{n}] {}{variant} seed {} split {}: {status}",
        r.method, r.seed, r.split
    )
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

thread_local! {
    /// True while this thread executes a run, whose panics are caught and recorded.
    static IN_RUN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Silences the panic message of a panic inside a run (it is caught and recorded as the run's
/// failure reason; printing it over the progress bar would only add noise). Panics elsewhere
/// reach the hook that was installed before.
fn install_quiet_run_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !IN_RUN.with(|flag| flag.get()) {
                previous(info);
            }
        }));
    });
}

/// Moves parts whose run is not in the current plan (the spec changed) to `parts-stale/`, so the
/// merged tables show only the runs of the spec as it is now, and nothing written is lost.
fn retire_stale_parts(results: &Path, planned: &BTreeSet<&str>) -> Result<()> {
    let completed = store::completed_runs(results)?;
    let stale: Vec<&String> = completed
        .keys()
        .filter(|id| !planned.contains(id.as_str()))
        .collect();
    if stale.is_empty() {
        return Ok(());
    }
    let parts = results.join("parts");
    let retired = results.join("parts-stale");
    std::fs::create_dir_all(&retired).map_err(|e| io_error(&retired, e))?;
    let entries = std::fs::read_dir(&parts).map_err(|e| io_error(&parts, e))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if stale.iter().any(|id| name.starts_with(id.as_str())) {
            let to = retired.join(&name);
            std::fs::rename(entry.path(), &to).map_err(|e| io_error(&to, e))?;
        }
    }
    eprintln!(
        "{} finished run(s) are not in the plan any more (the spec changed): moved to {}",
        stale.len(),
        retired.display()
    );
    Ok(())
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::Store(StoreError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Writes a small text file atomically (temporary name, then rename).
pub fn write_text(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(|e| io_error(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io_error(path, e))
}

fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn write_manifest(results: &Path, started: SystemTime) -> Result<()> {
    let git_revision = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    let manifest = serde_json::json!({
        "bayeslab_version": env!("CARGO_PKG_VERSION"),
        "results_format": store::FORMAT_VERSION,
        "git_revision": git_revision,
        "host": host,
        "start_unix_s": unix_seconds(started),
        "end_unix_s": unix_seconds(SystemTime::now()),
        "command_line": std::env::args().collect::<Vec<_>>(),
    });
    write_text(
        &results.join("manifest.json"),
        &serde_json::to_string_pretty(&manifest).expect("json serialises"),
    )
}
