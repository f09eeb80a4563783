//! Out-of-distribution parts end to end: an MNIST classifier scored on Fashion-MNIST images
//! declared as `[data.ood.fashion_mnist]`, the detection metrics in the evaluator, the OOD rows
//! of the predictions, determinism, and the spec and data errors of bad OOD keys.

use std::sync::atomic::AtomicBool;

use crate::common::*;

const OOD: &str = r#"
name = "ood"
seeds = 1
master_seed = 5
predictions = true

[data]
source = "csv"
path = "data/images/mnist_10k.csv"
header = false
target = "784"
task = "classification"
divide_inputs_by = 255
standardize = false
split = { kind = "random", valid = 0.0, test = 0.05, repeats = 1 }

[data.ood.fashion_mnist]
source = "idx"
path = "data/images/fashion-mnist/t10k-images-idx3-ubyte"
labels = "data/images/fashion-mnist/t10k-labels-idx1-ubyte"
divide_inputs_by = 255
rows = 200

[model]
hidden = [16]
activation = "relu"
init = "he"

[train]
epochs = 2
batch_size = 100

[[methods]]
name = "point"
kind = "point"
optimizer = { kind = "sgd", lr = 0.1 }

[[methods]]
name = "mc_dropout"
kind = "mc_dropout"
optimizer = { kind = "sgd", lr = 0.1 }
passes = 4
model = { dropout = 0.3 }

[[methods]]
name = "seeds"
kind = "seed_ensemble"
optimizer = { kind = "sgd", lr = 0.1 }
members = 2

[report]
metrics = ["test.accuracy", "fashion_mnist.ood_auroc"]
"#;

fn experiment(text: &str, sets: &[&str]) -> Result<bayeslab::spec::Experiment, String> {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    bayeslab::spec::parse("ood.toml", text, &sets).map_err(|e| e.to_string())
}

/// Final metric `metric` of split `split` for `method`'s run.
fn final_value(results: &bayeslab::store::Results, method: &str, split: &str, metric: &str) -> f64 {
    let run = results.runs.iter().find(|r| r.method == method).unwrap();
    results
        .metrics
        .iter()
        .filter(|(id, m)| *id == run.run_id && m.split == split && m.metric == metric)
        .max_by_key(|(_, m)| (m.epoch, m.step, m.samples))
        .map(|(_, m)| m.value)
        .unwrap_or_else(|| panic!("{method}: no {split}.{metric}"))
}

#[test]
fn ood_parts_are_scored_and_predicted_for_every_method_deterministically() {
    let experiment = experiment(OOD, &[]).unwrap();
    let (one, two) = (temp_dir("ood-1"), temp_dir("ood-2"));
    let summary = run(&experiment, &options(&one, 1));
    assert_eq!((summary.ok, summary.failed), (3, 0));
    run(&experiment, &options(&two, 2));
    for file in ["metrics.parquet", "predictions.parquet"] {
        assert_eq!(
            bytes(&one, "ood", file),
            bytes(&two, "ood", file),
            "{file}: --jobs 1 == --jobs 2"
        );
    }
    let results = bayeslab::store::load(&one.join("results/ood")).unwrap();
    for method in ["point", "mc_dropout", "seeds"] {
        for metric in ["ood_auroc", "ood_aupr", "ood_auroc_mi", "ood_aupr_mi"] {
            let v = final_value(&results, method, "fashion_mnist", metric);
            assert!((0.0..=1.0).contains(&v), "{method} {metric} = {v}");
        }
        let fpr = final_value(&results, method, "fashion_mnist", "ood_fpr95");
        assert!((0.0..=1.0).contains(&fpr), "{method}: {fpr}");
        // Fashion-MNIST looks nothing like digits: even two epochs of a small net are less sure
        // of it than of the test digits.
        let auroc = final_value(&results, method, "fashion_mnist", "ood_auroc");
        assert!(auroc > 0.6, "{method}: AUROC {auroc}");
        let test_entropy = final_value(&results, method, "test", "entropy");
        let ood_entropy = final_value(&results, method, "fashion_mnist", "entropy");
        assert!(
            ood_entropy > test_entropy,
            "{method}: {ood_entropy} vs {test_entropy}"
        );
        assert!(
            results
                .metrics
                .iter()
                .all(|(_, m)| m.split != "fashion_mnist"
                    || !["accuracy", "nll", "brier", "ece"].contains(&m.metric.as_str())),
            "an OOD part has no labels to score"
        );
    }
    // One network has no disagreement to measure: MI is 0 everywhere, all MI scores tie.
    assert_eq!(
        final_value(&results, "point", "fashion_mnist", "mutual_information"),
        0.0
    );
    assert_eq!(
        final_value(&results, "point", "fashion_mnist", "ood_auroc_mi"),
        0.5
    );
    for method in ["mc_dropout", "seeds"] {
        let mi = final_value(&results, method, "fashion_mnist", "mutual_information");
        assert!(mi > 0.0, "{method}: MI {mi}");
    }
    // Every run predicts the 200 OOD images (no target) beside its test rows.
    for run in &results.runs {
        let ood: Vec<_> = results
            .predictions
            .iter()
            .filter(|(id, p)| *id == run.run_id && p.split == "fashion_mnist")
            .map(|(_, p)| p)
            .collect();
        assert_eq!(ood.len(), 200, "{}", run.method);
        assert!(
            ood.iter()
                .all(|p| p.target.is_none() && p.entropy.is_some())
        );
        assert!(ood.iter().all(|p| p.mutual_information.is_some()));
    }
}

#[test]
fn bad_ood_keys_are_refused_naming_the_key() {
    let refused = |sets: &[&str]| experiment(OOD, sets).unwrap_err();
    let e = refused(&["data.ood.fashion_mnist.source=\"toy_gap_1d\""]);
    assert!(
        e.contains("data.ood.fashion_mnist.source") && e.contains("idx"),
        "{e}"
    );
    let e = refused(&["data.ood.fashion_mnist.rows=0"]);
    assert!(e.contains("data.ood.fashion_mnist.rows"), "{e}");
    let e = refused(&["data.ood.fashion_mnist.path=\"data/nowhere\""]);
    assert!(e.contains("data.ood.fashion_mnist.path"), "{e}");
    let named = OOD.replace("[data.ood.fashion_mnist]", "[data.ood.Test]");
    let e = experiment(&named, &["report.metrics=[\"test.accuracy\"]"]).unwrap_err();
    assert!(
        e.contains("data.ood.Test") && e.contains("lower-case"),
        "{e}"
    );
    let e = refused(&["report.metrics=[\"fashoin_mnist.ood_auroc\"]"]);
    assert!(
        e.contains("report.metrics[0]") && e.contains("fashion_mnist"),
        "a misspelt part names the parts there are: {e}"
    );
}

/// An OOD file whose inputs do not match the model's is refused before any run, naming the part.
#[test]
fn an_ood_part_with_other_features_is_refused_before_any_run() {
    let text = OOD.replace(
        "source = \"idx\"\npath = \"data/images/fashion-mnist/t10k-images-idx3-ubyte\"\nlabels = \"data/images/fashion-mnist/t10k-labels-idx1-ubyte\"",
        "source = \"csv\"\npath = \"data/uci/boston_housing.csv\"\ntarget = \"medv\"",
    );
    let experiment = experiment(&text, &[]).unwrap();
    let root = temp_dir("ood-features");
    let e = bayeslab::runner::run(&experiment, &options(&root, 1), &AtomicBool::new(false))
        .expect_err("refused");
    assert_eq!(e.exit_code(), 2, "{e}");
    let text = e.to_string();
    assert!(
        text.contains("fashion_mnist") && text.contains("13"),
        "{text}"
    );
    assert!(
        !root.join("results/ood/parts").exists()
            || std::fs::read_dir(root.join("results/ood/parts"))
                .unwrap()
                .count()
                == 0
    );
}
