//! The snapshot_ensemble method through the harness: its snapshots are the cycle ends, and its
//! last snapshot alone is the point method with the same cyclic schedule.

use crate::common::*;

/// 48 training rows, batch 16: 3 updates an epoch, 12 in 4 epochs; 3 cycles of 4 updates.
const SNAPSHOTS: &str = r#"
name = "snapshots"
seeds = 2
master_seed = 4

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
epochs = 4
batch_size = 16

[[methods]]
name = "point_cyclic"
kind = "point"
optimizer = { kind = "sgd", lr = 0.05, momentum = 0.9 }
train = { schedule = { kind = "cyclic_cosine", cycles = 3 } }

[[methods]]
name = "last"
kind = "snapshot_ensemble"
optimizer = { kind = "sgd", lr = 0.05, momentum = 0.9 }
cycles = 3
keep_last = 1

[[methods]]
name = "two"
kind = "snapshot_ensemble"
optimizer = { kind = "sgd", lr = 0.05, momentum = 0.9 }
cycles = 3
keep_last = 2
"#;

fn experiment(sets: &[&str]) -> bayeslab::spec::Experiment {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    bayeslab::spec::parse("snapshots.toml", SNAPSHOTS, &sets).unwrap()
}

#[test]
fn snapshots_are_the_cycle_ends_and_the_last_one_is_the_point_method() {
    let root = temp_dir("snapshots");
    let summary = run(&experiment(&[]), &options(&root, 2));
    assert_eq!((summary.ok, summary.failed), (6, 0));
    let results = bayeslab::store::load(&root.join("results/snapshots")).unwrap();
    for seed in 0..2 {
        let point = final_test_metrics(&results, "point_cyclic", seed);
        assert_eq!(point.len(), REGRESSION_METRICS);
        assert_eq!(
            point,
            final_test_metrics(&results, "last", seed),
            "seed {seed}"
        );
        assert_ne!(
            point,
            final_test_metrics(&results, "two", seed),
            "seed {seed}"
        );
    }
    let two = results.runs.iter().find(|r| r.method == "two").unwrap();
    assert_eq!(two.n_samples, 2);
    let steps: Vec<i64> = results
        .traces
        .iter()
        .filter(|(id, t)| *id == two.run_id && t.quantity == "weight_norm")
        .map(|(_, t)| t.step)
        .collect();
    assert_eq!(steps, [8, 12], "the last two of the cycle ends 4, 8, 12");
    assert!(
        results
            .traces
            .iter()
            .all(|(_, t)| t.quantity != "train_log_posterior"),
        "an optimizer has no posterior to trace"
    );
}

#[test]
fn snapshot_keys_are_checked() {
    let refused = |sets: &[&str]| {
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        bayeslab::spec::parse("snapshots.toml", SNAPSHOTS, &sets)
            .unwrap_err()
            .to_string()
    };
    let e = refused(&["methods.two.keep_last=4"]);
    assert!(
        e.contains("methods[2].keep_last") && e.contains("1..=3"),
        "{e}"
    );
    let e = refused(&["methods.two.cycles=0"]);
    assert!(e.contains("methods[2].cycles") && e.contains(">= 1"), "{e}");
    let e = refused(&["methods.two.train.schedule={kind=\"cosine\"}"]);
    assert!(
        e.contains("methods[2].cycles") && e.contains("schedule"),
        "{e}"
    );
    let e = refused(&["methods.point_cyclic.cycles=3"]);
    assert!(
        e.contains("methods[0].cycles") && e.contains("snapshot_ensemble"),
        "{e}"
    );
}
