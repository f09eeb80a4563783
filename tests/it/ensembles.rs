//! seed_ensemble and bagging through the harness: one member is the point method exactly,
//! members are scored after 1, 2, 4, … and all M, and a stopped run keeps its finished members.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::common::*;
use bayeslab::method::ensemble::MemberStore;

const ENSEMBLES: &str = r#"
name = "ensembles"
seeds = 2
master_seed = 12

[data]
source = "toy_gap_1d"
n = 80
noise = 0.3
split = { kind = "random", valid = 0.2, test = 0.2, repeats = 1 }

[model]
hidden = [16]
activation = "tanh"
head = "gaussian"

[train]
epochs = 5
batch_size = 16

[[methods]]
name = "point"
kind = "point"
optimizer = { kind = "adam", lr = 0.01 }

[[methods]]
name = "one"
kind = "seed_ensemble"
optimizer = { kind = "adam", lr = 0.01 }
members = 1

[[methods]]
name = "seeds"
kind = "seed_ensemble"
optimizer = { kind = "adam", lr = 0.01 }
members = 5

[[methods]]
name = "bagging"
kind = "bagging"
optimizer = { kind = "adam", lr = 0.01 }
members = 3
"#;

fn experiment(sets: &[&str]) -> bayeslab::spec::Experiment {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    bayeslab::spec::parse("ensembles.toml", ENSEMBLES, &sets).unwrap()
}

/// `(samples, metric, value)` of a run's test rows, in order.
fn test_rows(
    results: &bayeslab::store::Results,
    method: &str,
    seed: u32,
) -> Vec<(i64, String, f64)> {
    let run = results
        .runs
        .iter()
        .find(|r| r.method == method && r.seed == seed)
        .unwrap();
    results
        .metrics
        .iter()
        .filter(|(id, m)| *id == run.run_id && m.split == "test")
        .map(|(_, m)| (m.samples, m.metric.clone(), m.value))
        .collect()
}

#[test]
fn one_member_is_the_point_method_and_members_are_scored_as_they_join() {
    let root = temp_dir("ensembles");
    let summary = run(&experiment(&[]), &options(&root, 2));
    assert_eq!((summary.ok, summary.failed), (8, 0));
    let results = bayeslab::store::load(&root.join("results/ensembles")).unwrap();
    const M: usize = REGRESSION_METRICS;
    for seed in 0..2 {
        // The point method's last evaluation (epoch 5) against the one-member ensemble.
        let point: Vec<_> = test_rows(&results, "point", seed).split_off(4 * M);
        assert_eq!(point, test_rows(&results, "one", seed), "seed {seed}");
        let seeds = test_rows(&results, "seeds", seed);
        let samples: Vec<i64> = seeds.iter().map(|r| r.0).step_by(M).collect();
        assert_eq!(samples, [1, 2, 4, 5]);
        assert_eq!(seeds[..M], point[..], "member 0 is the point method");
        assert_ne!(seeds[M..2 * M], point[..], "member 1 has other weights");
        let bagging = test_rows(&results, "bagging", seed);
        let samples: Vec<i64> = bagging.iter().map(|r| r.0).step_by(M).collect();
        assert_eq!(samples, [1, 2, 3]);
        assert_ne!(bagging[..M], point[..], "member 0 trains on a resample");
    }
    assert!(
        !root.join("results/ensembles/checkpoints").exists(),
        "checkpoints are removed once the parts are written"
    );
}

/// Keeps members in memory; stops the run (through its cancel flag) once `stop_after` members
/// are saved.
struct Memory<'a> {
    saved: Mutex<BTreeMap<usize, Vec<u8>>>,
    stop_after: Option<usize>,
    cancel: &'a AtomicBool,
}

impl MemberStore for Memory<'_> {
    fn load(&self, member: usize) -> Option<Vec<u8>> {
        self.saved.lock().unwrap().get(&member).cloned()
    }
    fn save(&self, member: usize, bytes: &[u8]) {
        let mut saved = self.saved.lock().unwrap();
        saved.insert(member, bytes.to_vec());
        if self.stop_after == Some(saved.len()) {
            self.cancel.store(true, Ordering::Relaxed);
        }
    }
}

/// A run stopped after member 3 of 5 and run again trains members 4 and 5 only, and gives the
/// same metrics and predictions bit for bit as a run that was never stopped.
#[test]
fn a_stopped_ensemble_resumes_from_its_finished_members() {
    let experiment = experiment(&["predictions=true"]);
    let spec = experiment
        .runs
        .iter()
        .find(|r| r.config.method == "seeds")
        .unwrap();
    let data = bayeslab::data::DataCache::load(&experiment.runs).unwrap();
    let prepared = data.prepare(&spec.config).unwrap();
    let grid = bayeslab::method::Grid::for_1d(&prepared);
    let train = |store: &Memory, cancel: &AtomicBool| {
        bayeslab::method::train(&bayeslab::method::RunInput {
            config: &spec.config,
            data: &prepared,
            grid: grid.as_ref(),
            cancel,
            on_epoch: &|| {},
            members: Some(store),
        })
    };
    let whole_cancel = AtomicBool::new(false);
    let whole_store = Memory {
        saved: Mutex::default(),
        stop_after: None,
        cancel: &whole_cancel,
    };
    let whole = train(&whole_store, &whole_cancel).unwrap();

    let cancel = AtomicBool::new(false);
    let store = Memory {
        saved: Mutex::default(),
        stop_after: Some(3),
        cancel: &cancel,
    };
    let stopped = train(&store, &cancel);
    assert!(
        matches!(stopped, Err(bayeslab::method::RunError::Cancelled)),
        "stopped during member 4"
    );
    assert_eq!(store.saved.lock().unwrap().len(), 3);
    cancel.store(false, Ordering::Relaxed);
    let store = Memory {
        stop_after: None,
        ..store
    };
    let resumed = train(&store, &cancel).unwrap();
    assert_eq!(store.saved.lock().unwrap().len(), 5);
    assert_eq!(resumed.metrics, whole.metrics);
    assert_eq!(resumed.predictions, whole.predictions);
    assert!(!whole.predictions.is_empty());
    assert_eq!(
        *store.saved.lock().unwrap(),
        *whole_store.saved.lock().unwrap(),
        "the members trained after the stop are the uninterrupted run's"
    );
}

#[test]
fn ensemble_keys_are_checked() {
    let refused = |sets: &[&str]| {
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        bayeslab::spec::parse("ensembles.toml", ENSEMBLES, &sets)
            .unwrap_err()
            .to_string()
    };
    let e = refused(&["methods.seeds.members=0"]);
    assert!(
        e.contains("methods[2].members") && e.contains("1..=10000"),
        "{e}"
    );
    let e = refused(&["methods.point.members=3"]);
    assert!(
        e.contains("methods[0].members") && e.contains("seed_ensemble and bagging"),
        "{e}"
    );
    let e = refused(&["methods.bagging.passes=3"]);
    assert!(
        e.contains("methods[3].passes") && e.contains("mc_dropout"),
        "{e}"
    );
}

/// Two config ensembles beside the ensembles above: one member at the point method's settings,
/// and the four variants of a 2 × 2 sweep over the learning rate and dropout.
fn config_ensembles() -> bayeslab::spec::Experiment {
    let text = format!(
        "{ENSEMBLES}\n\
         [[methods]]\n\
         name = \"config_one\"\n\
         kind = \"config_ensemble\"\n\
         optimizer = {{ kind = \"adam\", lr = 0.01 }}\n\
         members = {{ \"optimizer.lr\" = [0.01] }}\n\
         \n\
         [[methods]]\n\
         name = \"config_four\"\n\
         kind = \"config_ensemble\"\n\
         optimizer = {{ kind = \"adam\", lr = 0.01 }}\n\
         members = {{ \"optimizer.lr\" = [0.01, 0.03], \"model.dropout\" = [0.0, 0.1] }}\n"
    );
    bayeslab::spec::parse("config.toml", &text, &[]).unwrap()
}

/// A config ensemble's members are the sweep's variants, each resolved as a point method; one
/// member at the point method's settings is the point method exactly, and four are scored after
/// 1, 2 and 4 members.
#[test]
fn config_ensemble_members_are_the_variants_of_its_sweep() {
    let experiment = config_ensembles();
    let four = experiment
        .runs
        .iter()
        .find(|r| r.config.method == "config_four")
        .unwrap();
    let bayeslab::spec::MethodConfig::ConfigEnsemble { members } = &four.config.method_config
    else {
        panic!("{:?}", four.config.method_config)
    };
    let labels: Vec<&str> = members.iter().map(|m| m.label.as_str()).collect();
    assert_eq!(labels.len(), 4, "{labels:?}");
    assert!(labels[0].contains("model.dropout=0") && labels[0].contains("optimizer.lr=0.01"));
    let dropouts: Vec<f64> = members.iter().map(|m| m.model.dropout).collect();
    let rates: Vec<f64> = members.iter().map(|m| m.optimizer.lr()).collect();
    let mut pairs: Vec<(f64, f64)> = dropouts.into_iter().zip(rates).collect();
    pairs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    assert_eq!(pairs, [(0.0, 0.01), (0.0, 0.03), (0.1, 0.01), (0.1, 0.03)]);
    assert_eq!(
        four.config.epochs_of_work(),
        4 * 5,
        "progress counts members' epochs"
    );

    let root = temp_dir("config_ensembles");
    let summary = run(&experiment, &options(&root, 2));
    assert_eq!((summary.ok, summary.failed), (12, 0));
    let results = bayeslab::store::load(&root.join("results/ensembles")).unwrap();
    const M: usize = REGRESSION_METRICS;
    for seed in 0..2 {
        let point: Vec<_> = test_rows(&results, "point", seed).split_off(4 * M);
        assert_eq!(
            point,
            test_rows(&results, "config_one", seed),
            "seed {seed}"
        );
        let four = test_rows(&results, "config_four", seed);
        let samples: Vec<i64> = four.iter().map(|r| r.0).step_by(M).collect();
        assert_eq!(samples, [1, 2, 4]);
        assert_ne!(
            four[M..2 * M],
            point[..],
            "member 1 has another configuration"
        );
    }
}

#[test]
fn config_ensemble_keys_are_checked() {
    let refused = |members: &str| {
        let text = format!(
            "{ENSEMBLES}\n[[methods]]\nname = \"c\"\nkind = \"config_ensemble\"\n\
             optimizer = {{ kind = \"adam\", lr = 0.01 }}\n{members}\n"
        );
        bayeslab::spec::parse("config.toml", &text, &[])
            .unwrap_err()
            .to_string()
    };
    let e = refused("");
    assert!(
        e.contains("methods[4].members") && e.contains("optimizer.lr"),
        "{e}"
    );
    let e = refused("members = { \"sampler.lr\" = [0.1] }");
    assert!(
        e.contains("methods[4].members.\"sampler.lr\"") && e.contains("optimizer.*"),
        "{e}"
    );
    let e = refused("members = { \"optimizer.lr\" = [] }");
    assert!(
        e.contains("methods[4].members") && e.contains("non-empty array"),
        "{e}"
    );
    let e = refused("members = { \"optimizer.lr\" = [0.01, -1.0] }");
    assert!(
        e.contains("methods[4].optimizer.lr") && e.contains("member optimizer.lr=-1"),
        "{e}"
    );
}
