//! The worker side of a batch: runs one run at a time in a worker thread, or, when resuming,
//! hands back the finished one; writes each new run's part and counts what it did. Shared by the
//! plan's runs and by searches' trials, so both resume, fail and cancel the same way.
//!
//! A worker never reads a file: what a resume needs is read once, before the workers start
//! ([`Finished::read`]). (Reading Parquet inside a worker let polars' thread pool make the worker
//! wait on another pool, and a waiting worker starts further runs on its own stack: a resumed
//! batch of a few thousand runs overflowed it.)

use std::collections::{BTreeMap, HashMap};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use indicatif::ProgressBar;

use crate::data::DataCache;
use crate::error::{Error, Result};
use crate::method::{self, Grid, RunError, RunInput};
use crate::spec::RunSpec;
use crate::store::{self, RunOutput, RunRecord, RunStatus};

/// What a resumed batch knows is finished, read once before it starts.
pub(crate) enum Finished {
    /// Not resuming: every run runs.
    Nothing,
    /// The status of each finished run (enough for a plain plan).
    Statuses(BTreeMap<String, RunStatus>),
    /// Finished runs with their metrics (a search reads its trials' objectives back).
    Outputs(HashMap<String, RunOutput>),
}

impl Finished {
    /// Reads what `results` holds: the merged files and the parts since; with `outputs`, the
    /// runs' metrics too.
    pub fn read(results: &Path, outputs: bool) -> Result<Self> {
        Ok(if outputs {
            Finished::Outputs(store::finished_outputs(results, |_| true)?)
        } else {
            Finished::Statuses(store::finished_runs(results)?)
        })
    }

    /// Whether `run_id` finished with status `ok` (then a resume skips it), and its output when
    /// it is known.
    fn ok(&self, run_id: &str) -> Option<Option<&RunOutput>> {
        match self {
            Finished::Nothing => None,
            Finished::Statuses(s) => (s.get(run_id) == Some(&RunStatus::Ok)).then_some(None),
            Finished::Outputs(o) => o
                .get(run_id)
                .filter(|out| out.record.status == RunStatus::Ok)
                .map(Some),
        }
    }
}

/// What [`Worker::run`] did with a run.
pub(crate) enum Outcome<'a> {
    /// The batch is stopping (Ctrl-C, or a part could not be written); nothing was written.
    Stopped,
    /// Finished before (resume); its output when the batch read outputs.
    Skipped(Option<&'a RunOutput>),
    /// Run now, its part written.
    Ran(Box<RunOutput>),
}

impl Outcome<'_> {
    /// The run's output, whether run now or before.
    pub fn output(&self) -> Option<&RunOutput> {
        match self {
            Outcome::Stopped | Outcome::Skipped(None) => None,
            Outcome::Skipped(Some(out)) => Some(out),
            Outcome::Ran(out) => Some(out),
        }
    }
}

/// Runs runs and writes their parts; shared by the plan and by searches. Counts what it did.
pub(crate) struct Worker<'a> {
    pub results: &'a Path,
    pub data: &'a DataCache,
    pub cancel: &'a AtomicBool,
    pub bar: &'a ProgressBar,
    pub progress: bool,
    finished_before: Finished,
    finished: AtomicUsize,
    failed: AtomicUsize,
    skipped: AtomicUsize,
    cancelled: AtomicBool,
    first_error: Mutex<Option<Error>>,
}

impl<'a> Worker<'a> {
    pub fn new(
        results: &'a Path,
        data: &'a DataCache,
        cancel: &'a AtomicBool,
        bar: &'a ProgressBar,
        progress: bool,
        finished_before: Finished,
    ) -> Self {
        Worker {
            results,
            data,
            cancel,
            bar,
            progress,
            finished_before,
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

    /// Runs one run and writes its part, or, when resuming, hands back the finished one.
    pub fn run(&self, run: &RunSpec) -> Outcome<'_> {
        if self.stopping() {
            self.cancelled.store(true, Ordering::Relaxed);
            return Outcome::Stopped;
        }
        if let Some(done) = self.finished_before.ok(&run.run_id) {
            self.skipped.fetch_add(1, Ordering::Relaxed);
            self.bar.inc(run.config.epochs_of_work());
            return Outcome::Skipped(done);
        }
        let tick = || self.bar.inc(1);
        // Only ensembles keep members; other runs touch no checkpoint directory.
        let checkpoints = run
            .config
            .method_config
            .has_members()
            .then(|| store::MemberCheckpoints::new(self.results, &run.run_id).ok())
            .flatten();
        let Some(output) = train_run(run, self.data, self.cancel, &tick, checkpoints.as_ref())
        else {
            self.cancelled.store(true, Ordering::Relaxed);
            return Outcome::Stopped;
        };
        if output.record.status == RunStatus::Failed {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        let n = self.finished.fetch_add(1, Ordering::Relaxed) + 1;
        if self.progress {
            let line = describe(&output, n);
            if self.bar.is_hidden() {
                eprintln!("{line}");
            } else {
                self.bar.println(line);
            }
        }
        if let Err(e) = store::write_part(self.results, &output) {
            self.record_error(e.into());
        } else if let Some(c) = &checkpoints {
            // The part holds the run now; its members' checkpoints are no longer needed.
            let _ = c.remove_all();
        }
        Outcome::Ran(Box::new(output))
    }

    fn record_error(&self, e: Error) {
        self.first_error
            .lock()
            .expect("no panics hold this lock")
            .get_or_insert(e);
    }

    /// The first error, if a part could not be written.
    pub fn take_error(&self) -> Option<Error> {
        self.first_error
            .lock()
            .expect("no panics hold this lock")
            .take()
    }

    /// (ok, failed, skipped, cancelled) of the runs this worker saw.
    pub fn counts(&self) -> (usize, usize, usize, bool) {
        let failed = self.failed.load(Ordering::Relaxed);
        (
            self.finished.load(Ordering::Relaxed) - failed,
            failed,
            self.skipped.load(Ordering::Relaxed),
            self.cancelled.load(Ordering::Relaxed),
        )
    }
}

/// Executes one run and builds its record. `None` when the user cancelled it (nothing is written).
/// The member store of one run: its checkpoint files, if they can be named.
struct MemberFiles<'a> {
    checkpoints: Option<&'a store::MemberCheckpoints>,
}

impl method::ensemble::MemberStore for MemberFiles<'_> {
    fn load(&self, member: usize) -> Option<Vec<u8>> {
        self.checkpoints?.load(member)
    }

    fn save(&self, member: usize, bytes: &[u8]) {
        if let Some(c) = self.checkpoints
            && let Err(e) = c.save(member, bytes)
        {
            eprintln!("warning: {e}; the member is trained again if the run is");
        }
    }
}

fn train_run(
    run: &RunSpec,
    data: &DataCache,
    cancel: &AtomicBool,
    on_epoch: &(dyn Fn() + Sync),
    checkpoints: Option<&store::MemberCheckpoints>,
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
            let store = MemberFiles { checkpoints };
            method::train(&RunInput {
                config,
                data: &prepared,
                grid: grid.as_ref(),
                cancel,
                on_epoch,
                members: Some(&store),
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
        traces: output.traces,
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

thread_local! {
    /// True while this thread executes a run, whose panics are caught and recorded.
    static IN_RUN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Silences the panic message of a panic inside a run (it is caught and recorded as the run's
/// failure reason; printing it over the progress bar would only add noise). Panics elsewhere
/// reach the hook that was installed before.
pub(crate) fn install_quiet_run_panics() {
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
