//! The sgmcmc method through the whole harness: its temperature-zero twin, sample collection and
//! the `samples` column, and its spec checks.

use crate::common::*;

/// 48 training rows, batch 16: 3 updates an epoch.
const CHAINS: &str = r#"
name = "chains"
seeds = 2
master_seed = 5

[data]
source = "toy_gap_1d"
n = 80
noise = 0.3
split = { kind = "random", valid = 0.2, test = 0.2, repeats = 1 }

[model]
hidden = [8]
activation = "tanh"
head = "gaussian"

[train]
epochs = 6
batch_size = 16

[[methods]]
name = "sgd"
kind = "point"
optimizer = { kind = "sgd", lr = 0.01 }

[[methods]]
name = "sgld_cold"
kind = "sgmcmc"
sampler = { kind = "sgld", lr = 0.01, temperature = 0.0 }
prior = { kind = "gaussian", precision = 0.0 }
burn_in_epochs = 5
thin = 3
max_samples = 1

[[methods]]
name = "sgld"
kind = "sgmcmc"
sampler = { kind = "sgld", lr = 0.01 }
prior = { kind = "gaussian", precision = 1.0 }
burn_in_epochs = 2
thin = 1
"#;

fn chains(sets: &[&str]) -> bayeslab::spec::Experiment {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    bayeslab::spec::parse("chains.toml", CHAINS, &sets).unwrap()
}

fn final_test_metrics(
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

/// SGLD at T = 0 with a flat prior is SGD: from the same initial weights and batches (common
/// random numbers), keeping only the last weights, its test metrics equal SGD's bit for bit.
#[test]
fn sgld_at_temperature_zero_is_its_sgd_twin_through_the_harness() {
    let root = temp_dir("sgmcmc-twin");
    let experiment = chains(&[]);
    let summary = run(&experiment, &options(&root, 2));
    assert_eq!((summary.ok, summary.failed), (6, 0));
    let results = bayeslab::store::load(&root.join("results/chains")).unwrap();
    for seed in 0..2 {
        let sgd = final_test_metrics(&results, "sgd", seed);
        let cold = final_test_metrics(&results, "sgld_cold", seed);
        assert!(!sgd.is_empty());
        assert_eq!(sgd, cold, "seed {seed}");
        assert_ne!(
            sgd,
            final_test_metrics(&results, "sgld", seed),
            "the warm chain differs"
        );
    }
}

/// A chain keeps the documented updates and scores its predictive after 1, 2, 4, … samples and
/// after the last: 6 epochs of 3 updates with a burn-in of 2 epochs and thin 1 keep 12 samples.
#[test]
fn a_chain_is_scored_after_1_2_4_8_and_all_its_samples() {
    let root = temp_dir("sgmcmc-samples");
    let experiment = chains(&[]);
    run(&experiment, &options(&root, 1));
    let results = bayeslab::store::load(&root.join("results/chains")).unwrap();
    let run = results
        .runs
        .iter()
        .find(|r| r.method == "sgld" && r.seed == 0)
        .unwrap();
    assert_eq!(run.n_samples, 12);
    let mut counts: Vec<(i64, i64)> = results
        .metrics
        .iter()
        .filter(|(id, m)| *id == run.run_id && m.split == "test" && m.metric == "rmse")
        .map(|(_, m)| (m.samples, m.step))
        .collect();
    counts.dedup();
    // Sample k is the weights after update 6 + k.
    assert_eq!(counts, [(1, 7), (2, 8), (4, 10), (8, 14), (12, 18)]);
}

#[test]
fn sgmcmc_keys_are_checked() {
    let refused = |sets: &[&str]| {
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        bayeslab::spec::parse("chains.toml", CHAINS, &sets)
            .unwrap_err()
            .to_string()
    };
    let e = refused(&["methods.sgld.burn_in_epochs=6"]);
    assert!(
        e.contains("methods[2].burn_in_epochs") && e.contains("< train.epochs"),
        "{e}"
    );
    let e = refused(&["methods.sgld.thin=0"]);
    assert!(e.contains("methods[2].thin"), "{e}");
    let e = refused(&["methods.sgld.sampler.lr=-1"]);
    assert!(e.contains("methods[2].sampler.lr"), "{e}");
    let e = refused(&["methods.sgld.optimizer={kind=\"sgd\", lr=0.1}"]);
    assert!(
        e.contains("methods[2].optimizer") && e.contains("sampler"),
        "{e}"
    );
    let e = refused(&["methods.sgd.thin=2"]);
    assert!(e.contains("methods[0].thin") && e.contains("sgmcmc"), "{e}");
}
