//! The mc_dropout method through the harness: p = 0 is the point method exactly, masks are
//! scored after 1, 2, 4, … passes, and its keys are checked.

use crate::common::*;

const DROPOUT: &str = r#"
name = "dropout"
seeds = 2
master_seed = 9

[data]
source = "toy_gap_1d"
n = 80
noise = 0.3
split = { kind = "random", valid = 0.2, test = 0.2, repeats = 1 }

[model]
hidden = [16]
activation = "relu"
head = "gaussian_fixed"
noise_precision = 4.0
dropout = 0.0

[train]
epochs = 4
batch_size = 16

[[methods]]
name = "point"
kind = "point"
optimizer = { kind = "adam", lr = 0.01 }

[[methods]]
name = "mc"
kind = "mc_dropout"
optimizer = { kind = "adam", lr = 0.01 }
passes = 12
"#;

fn experiment(sets: &[&str]) -> bayeslab::spec::Experiment {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    bayeslab::spec::parse("dropout.toml", DROPOUT, &sets).unwrap()
}

/// `(samples, metric, value)` of the last epoch's test rows of one run, in their order.
fn last_test_rows(
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
        .filter(|(id, m)| *id == run.run_id && m.split == "test" && m.epoch == 4)
        .map(|(_, m)| (m.samples, m.metric.clone(), m.value))
        .collect()
}

/// Without dropout every pass is the trained network, so the 12-pass predictive equals the
/// point method's bit for bit (same initial weights and batches: common random numbers).
#[test]
fn mc_dropout_without_dropout_is_the_point_method_exactly() {
    let root = temp_dir("mc-dropout-p0");
    let summary = run(&experiment(&[]), &options(&root, 2));
    assert_eq!((summary.ok, summary.failed), (4, 0));
    let results = bayeslab::store::load(&root.join("results/dropout")).unwrap();
    for seed in 0..2 {
        let point = last_test_rows(&results, "point", seed);
        let mc = last_test_rows(&results, "mc", seed);
        assert_eq!(point.len(), REGRESSION_METRICS);
        let final_mc: Vec<_> = mc.iter().filter(|r| r.0 == 12).cloned().collect();
        let as_point: Vec<_> = point.iter().map(|r| (12, r.1.clone(), r.2)).collect();
        assert_eq!(final_mc, as_point, "seed {seed}");
    }
}

/// With dropout the passes differ: the predictive is scored after 1, 2, 4, 8 and all 12 passes,
/// the 12-pass one last (the run's final value), and the values change with the passes.
#[test]
fn mc_dropout_is_scored_after_1_2_4_8_and_all_passes() {
    let root = temp_dir("mc-dropout-passes");
    run(&experiment(&["model.dropout=0.2"]), &options(&root, 2));
    let results = bayeslab::store::load(&root.join("results/dropout")).unwrap();
    let run = results.runs.iter().find(|r| r.method == "mc").unwrap();
    assert_eq!(run.n_samples, 12);
    let rmse: Vec<(i64, f64)> = last_test_rows(&results, "mc", 0)
        .into_iter()
        .filter(|r| r.1 == "rmse")
        .map(|r| (r.0, r.2))
        .collect();
    let samples: Vec<i64> = rmse.iter().map(|r| r.0).collect();
    assert_eq!(samples, [1, 2, 4, 8, 12]);
    assert_ne!(rmse[0].1, rmse[4].1, "the passes differ");
    let earlier: Vec<(i64, i64)> = results
        .metrics
        .iter()
        .filter(|(id, m)| *id == run.run_id && m.split == "test" && m.epoch < 4)
        .map(|(_, m)| (m.epoch, m.samples))
        .collect();
    assert!(
        earlier.iter().all(|&(_, s)| s == 12),
        "earlier evaluations use all passes: {earlier:?}"
    );
}

#[test]
fn mc_dropout_keys_are_checked() {
    let refused = |sets: &[&str]| {
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        bayeslab::spec::parse("dropout.toml", DROPOUT, &sets)
            .unwrap_err()
            .to_string()
    };
    let e = refused(&["methods.mc.passes=0"]);
    assert!(
        e.contains("methods[1].passes") && e.contains("1..=100000"),
        "{e}"
    );
    let e = refused(&["methods.point.passes=10"]);
    assert!(
        e.contains("methods[0].passes") && e.contains("mc_dropout"),
        "{e}"
    );
    let e = refused(&["methods.mc.thin=2"]);
    assert!(
        e.contains("methods[1].thin") && e.contains("mc_dropout method"),
        "{e}"
    );
    let e = refused(&["methods.mc.optimizer="]);
    assert!(e.contains("methods[1].optimizer"), "{e}");
}
