//! Shared helpers: temporary directories and tiny experiments that run in well under a second.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use bayeslab::runner::{self, BatchSummary, RunOptions};
use bayeslab::spec::{self, Experiment};

/// A fresh, empty directory under the system temp dir, unique to this test.
pub fn temp_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bayeslab-test-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A small regression experiment: 2 methods x 2 seeds x 2 splits = 8 runs.
pub const TINY: &str = r#"
name = "tiny"
seeds = 2
master_seed = 7
predictions = true

[data]
source = "toy_gap_1d"
n = 80
noise = 3.0
split = { kind = "random", valid = 0.2, test = 0.2, repeats = 2 }

[model]
hidden = [16]
activation = "tanh"
init = "xavier"
head = "gaussian"

[train]
epochs = 6
batch_size = 16
eval_every = 2

[[methods]]
name = "sgd"
kind = "point"
optimizer = { kind = "sgd", lr = 0.01, momentum = 0.9 }

[[methods]]
name = "adam"
kind = "point"
optimizer = { kind = "adam", lr = 0.01 }

[report]
metrics = ["test.rmse", "test.gaussian_ll"]
plots = ["learning_curves", "uncertainty_1d"]
"#;

pub fn tiny(sets: &[&str]) -> Experiment {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    spec::parse("tiny.toml", TINY, &sets).expect("the tiny experiment is valid")
}

pub fn options(root: &Path, jobs: usize) -> RunOptions {
    RunOptions {
        root: root.to_path_buf(),
        jobs,
        resume: false,
        shard: None,
        progress: false,
        report: false,
    }
}

pub fn run(experiment: &Experiment, options: &RunOptions) -> BatchSummary {
    runner::run(experiment, options, &AtomicBool::new(false)).expect("the batch runs")
}

/// The bytes of a merged results file.
pub fn bytes(root: &Path, name: &str, file: &str) -> Vec<u8> {
    std::fs::read(root.join("results").join(name).join(file))
        .unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// `(metric, value, samples)` of a run's test rows at its last (epoch, step, samples).
/// Metrics of one regression evaluation: rmse, gaussian_ll, coverage_90, coverage_95, crps.
pub const REGRESSION_METRICS: usize = 5;

pub fn final_test_metrics(
    results: &bayeslab::store::Results,
    method: &str,
    seed: u32,
) -> Vec<(String, f64, i64)> {
    let run = results
        .runs
        .iter()
        .find(|r| r.method == method && r.seed == seed)
        .unwrap();
    let rows: Vec<_> = results
        .metrics
        .iter()
        .filter(|(id, m)| *id == run.run_id && m.split == "test")
        .map(|(_, m)| m)
        .collect();
    let last = rows
        .iter()
        .map(|m| (m.epoch, m.step, m.samples))
        .max()
        .unwrap();
    rows.iter()
        .filter(|m| (m.epoch, m.step, m.samples) == last)
        .map(|m| (m.metric.clone(), m.value, m.samples))
        .collect()
}
