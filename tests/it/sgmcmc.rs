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
    chains_without_burn_in("burn_in_epochs = 2", sets)
}

/// The experiment with the warm chain's `burn_in_epochs = 2` line replaced by `line`.
fn chains_without_burn_in(line: &str, sets: &[&str]) -> bayeslab::spec::Experiment {
    let text = sgld_burn_in(line);
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    bayeslab::spec::parse("chains.toml", &text, &sets).unwrap()
}

fn sgld_burn_in(line: &str) -> String {
    let burn_in = "burn_in_epochs = 2\nthin = 1\n";
    assert!(CHAINS.ends_with(burn_in));
    CHAINS.replace(burn_in, &format!("{line}\nthin = 1\n"))
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

/// The trace rows of one run, `(chain, sample, step, quantity, value)`.
fn traces_of(
    results: &bayeslab::store::Results,
    method: &str,
    seed: u32,
) -> Vec<(u32, u32, i64, String, f64)> {
    let run = results
        .runs
        .iter()
        .find(|r| r.method == method && r.seed == seed)
        .unwrap();
    results
        .traces
        .iter()
        .filter(|(id, _)| *id == run.run_id)
        .map(|(_, t)| (t.chain, t.sample, t.step, t.quantity.clone(), t.value))
        .collect()
}

/// Three chains: chain 0 is the one-chain run exactly (it keeps the shared streams); the others
/// differ; the pooled predictive holds every chain's samples, chain 0's first (each epoch runs
/// chain 0, then 1, then 2), and each kept sample is traced once per quantity.
#[test]
fn chains_pool_into_one_predictive_and_chain_zero_is_the_single_chain() {
    let root = temp_dir("sgmcmc-chains");
    let one = chains(&[]);
    run(&one, &options(&root, 2));
    let single = bayeslab::store::load(&root.join("results/chains")).unwrap();
    let root3 = temp_dir("sgmcmc-chains3");
    let three = chains(&["methods.sgld.chains=3"]);
    run(&three, &options(&root3, 2));
    let pooled = bayeslab::store::load(&root3.join("results/chains")).unwrap();

    let run3 = pooled
        .runs
        .iter()
        .find(|r| r.method == "sgld" && r.seed == 0);
    assert_eq!(
        run3.unwrap().n_samples,
        36,
        "12 samples from each of 3 chains"
    );
    let t1 = traces_of(&single, "sgld", 0);
    let t3 = traces_of(&pooled, "sgld", 0);
    let chain0: Vec<_> = t3.iter().filter(|t| t.0 == 0).cloned().collect();
    assert_eq!(t1, chain0, "chain 0 of three is the single chain");
    for c in 0..3 {
        let per_sample: Vec<u32> = t3
            .iter()
            .filter(|t| t.0 == c && t.3 == "weight_norm")
            .map(|t| t.1)
            .collect();
        assert_eq!(per_sample, (1..=12).collect::<Vec<u32>>(), "chain {c}");
        let log_post: Vec<(u32, i64)> = t3
            .iter()
            .filter(|t| t.0 == c && t.3 == "train_log_posterior")
            .map(|t| (t.1, t.2))
            .collect();
        // One per epoch; `sample` counts the chain's samples so far (burn-in: 2 epochs).
        assert_eq!(
            log_post,
            [(0, 3), (0, 6), (3, 9), (6, 12), (9, 15), (12, 18)],
            "chain {c}"
        );
    }
    let norm = |c: u32| {
        t3.iter()
            .find(|t| t.0 == c && t.1 == 1 && t.3 == "weight_norm")
            .unwrap()
            .4
    };
    assert_ne!(norm(0), norm(1), "chains start from their own weights");
    assert_ne!(norm(1), norm(2));

    let test_ll = |r: &bayeslab::store::Results, samples: i64| {
        let id = &r
            .runs
            .iter()
            .find(|x| x.method == "sgld" && x.seed == 0)
            .unwrap()
            .run_id;
        r.metrics
            .iter()
            .find(|(i, m)| {
                i == id && m.split == "test" && m.metric == "gaussian_ll" && m.samples == samples
            })
            .map(|(_, m)| m.value)
    };
    // The first two pooled samples are chain 0's first two, as in the single chain.
    assert_eq!(test_ll(&pooled, 1), test_ll(&single, 1));
    assert_eq!(test_ll(&pooled, 2), test_ll(&single, 2));
    assert_ne!(test_ll(&pooled, 4), test_ll(&single, 4));
    assert!(
        test_ll(&pooled, 36).is_some(),
        "scored after the last sample"
    );
    // The pooled rows' step counts every chain's updates (3 an epoch in each of 3 chains), so it
    // grows with the samples: sample 16 is chain 2's first update of epoch 4, after 9 updates of
    // each chain and 3 more of chains 0 and 1: 27 + 6 + 1.
    let id = &run3.unwrap().run_id;
    let steps: Vec<(i64, i64)> = pooled
        .metrics
        .iter()
        .filter(|(i, m)| i == id && m.split == "test" && m.metric == "rmse")
        .map(|(_, m)| (m.samples, m.step))
        .collect();
    assert_eq!(
        steps,
        [
            (1, 19),
            (2, 20),
            (4, 22),
            (8, 26),
            (16, 34),
            (32, 50),
            (36, 54)
        ]
    );
    // A sample's own test log-likelihood is the pooled predictive's after one sample.
    let first = t3
        .iter()
        .find(|t| t.0 == 0 && t.1 == 1 && t.3 == "test_log_likelihood")
        .unwrap()
        .4;
    assert_eq!(Some(first), test_ll(&pooled, 1));
    assert!(t3.iter().any(|t| t.3 == "valid_log_likelihood"));
}

/// A cyclical chain of 18 updates in 3 cycles (6 updates each, the second half sampling) keeps
/// the last two updates of each cycle; a burn-in in steps starts keeping right after it.
#[test]
fn cyclical_chains_and_burn_in_steps_keep_the_documented_updates() {
    let root = temp_dir("sgmcmc-cyclical");
    let experiment = chains_without_burn_in(
        "cyclical = { cycles = 3, exploration = 0.5 }\nsamples_per_cycle = 2",
        &[],
    );
    run(&experiment, &options(&root, 2));
    let results = bayeslab::store::load(&root.join("results/chains")).unwrap();
    let steps: Vec<i64> = traces_of(&results, "sgld", 0)
        .into_iter()
        .filter(|t| t.3 == "weight_norm")
        .map(|t| t.2)
        .collect();
    assert_eq!(steps, [5, 6, 11, 12, 17, 18]);

    let root = temp_dir("sgmcmc-burn-steps");
    let experiment = chains_without_burn_in("burn_in_steps = 7", &["methods.sgld.thin=4"]);
    run(&experiment, &options(&root, 2));
    let results = bayeslab::store::load(&root.join("results/chains")).unwrap();
    let steps: Vec<i64> = traces_of(&results, "sgld", 0)
        .into_iter()
        .filter(|t| t.3 == "weight_norm")
        .map(|t| t.2)
        .collect();
    assert_eq!(steps, [11, 15]);
}

#[test]
fn chain_and_cycle_keys_are_checked() {
    let refused_with = |line: &str, sets: &[&str]| {
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        bayeslab::spec::parse("chains.toml", &sgld_burn_in(line), &sets)
            .unwrap_err()
            .to_string()
    };
    let refused = |sets: &[&str]| refused_with("burn_in_epochs = 2", sets);
    let e = refused(&["methods.sgld.chains=0"]);
    assert!(e.contains("methods[2].chains") && e.contains(">= 1"), "{e}");
    let e = refused(&["methods.sgld.burn_in_steps=3"]);
    assert!(
        e.contains("methods[2].burn_in_steps") && e.contains("not both"),
        "{e}"
    );
    let e = refused(&["methods.sgld.cyclical={cycles=2, exploration=0.5}"]);
    assert!(
        e.contains("methods[2].burn_in_epochs") && e.contains("no burn-in"),
        "{e}"
    );
    let e = refused(&["methods.sgld.samples_per_cycle=2"]);
    assert!(
        e.contains("methods[2].samples_per_cycle") && e.contains("cyclical"),
        "{e}"
    );
    let e = refused_with("cyclical = { cycles = 2, exploration = 1.5 }", &[]);
    assert!(e.contains("methods[2].cyclical.exploration"), "{e}");
    let e = refused_with(
        "cyclical = { cycles = 2, exploration = 0.5 }",
        &["methods.sgld.train.schedule={kind=\"cosine\"}"],
    );
    assert!(
        e.contains("methods[2].cyclical") && e.contains("schedule"),
        "{e}"
    );
    let e = refused(&["methods.sgd.chains=2"]);
    assert!(
        e.contains("methods[0].chains") && e.contains("sgmcmc"),
        "{e}"
    );
}
