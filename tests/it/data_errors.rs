//! Bad data is refused before any run starts, exit code 2, with the file, the line or column and
//! the fix; never a panic inside a run.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use crate::common::*;

/// The tiny experiment reading `path` (target `y`) instead of its toy data.
fn csv_experiment(path: &Path, sets: &[&str]) -> bayeslab::spec::Experiment {
    csv_experiment_split(
        path,
        "{ kind = \"random\", valid = 0.2, test = 0.2, repeats = 2 }",
        sets,
    )
}

/// [`csv_experiment`] with another `data.split`.
fn csv_experiment_split(path: &Path, split: &str, sets: &[&str]) -> bayeslab::spec::Experiment {
    let text = TINY.replace(
        "source = \"toy_gap_1d\"\nn = 80\nnoise = 3.0",
        &format!(
            "source = \"csv\"\npath = \"{}\"\ntarget = \"y\"",
            path.display()
        ),
    );
    let text = text.replace(
        "split = { kind = \"random\", valid = 0.2, test = 0.2, repeats = 2 }",
        &format!("split = {split}"),
    );
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    bayeslab::spec::parse("tiny.toml", &text, &sets).expect("the spec itself is valid")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs the batch, expects it refused with exit code 2, checks that no part was written, and
/// returns the message; `bayeslab check` refuses it the same way.
fn refused(experiment: &bayeslab::spec::Experiment, root: &Path) -> String {
    let e = bayeslab::runner::run(experiment, &options(root, 1), &AtomicBool::new(false))
        .expect_err("bad data is refused");
    assert_eq!(e.exit_code(), 2, "{e}");
    let parts = root.join("results/tiny/parts");
    let written = std::fs::read_dir(&parts).map_or(0, |d| d.count());
    assert_eq!(written, 0, "no run started");
    let check = bayeslab::cli::plan_summary(experiment).expect_err("check refuses it too");
    assert_eq!(check.to_string(), e.to_string());
    e.to_string()
}

#[test]
fn a_single_class_target_is_refused_naming_the_file_and_column() {
    let dir = temp_dir("data-one-class");
    let rows: String = (0..40).map(|i| format!("{i},yes\n")).collect();
    let path = write(&dir, "one_class.csv", &format!("x,y\n{rows}"));
    let experiment = csv_experiment(
        &path,
        &["data.task=\"classification\"", "model.head=\"softmax\""],
    );
    let msg = refused(&experiment, &dir.join("out"));
    assert!(msg.contains("one_class.csv"), "{msg}");
    assert!(msg.contains("column 'y'"), "{msg}");
    assert!(msg.contains("at least 2 classes"), "{msg}");
}

#[test]
fn a_headerless_csv_is_refused_and_reads_with_header_false() {
    let dir = temp_dir("data-headerless");
    let rows: String = (0..40)
        .map(|i| format!("{},{}\n", i as f64 / 10.0, i % 7))
        .collect();
    let path = write(&dir, "no_header.csv", &rows);
    let msg = refused(&csv_experiment(&path, &[]), &dir.join("out"));
    assert!(msg.contains("no_header.csv:1:"), "{msg}");
    assert!(msg.contains("no header row"), "{msg}");
    assert!(msg.contains("header = false"), "{msg}");

    let experiment = csv_experiment(&path, &["data.header=false", "data.target=\"1\""]);
    let summary = run(&experiment, &options(&dir.join("ok"), 2));
    assert_eq!((summary.ok, summary.failed), (8, 0));
}

#[test]
fn a_split_that_leaves_a_part_empty_is_refused_before_any_run() {
    let root = temp_dir("data-split");
    // 10 rows: test = 0.04 rounds to 0 rows.
    let experiment = tiny(&["data.n=10", "data.split.test=0.04"]);
    let msg = refused(&experiment, &root);
    assert!(msg.contains("toy_gap_1d (n = 10)"), "{msg}");
    assert!(msg.contains("data.split.test = 0.04 of 10 rows"), "{msg}");
    // A 12-row CSV under 20-fold cross-validation.
    let rows: String = (0..12).map(|i| format!("{i},{}\n", i * i)).collect();
    let path = write(&root, "small.csv", &format!("x,y\n{rows}"));
    let experiment = csv_experiment_split(&path, "{ kind = \"kfold\", k = 20 }", &[]);
    let msg = refused(&experiment, &root.join("kfold"));
    assert!(msg.contains("small.csv, 12 rows"), "{msg}");
    assert!(msg.contains("at least 20 rows"), "{msg}");
}

/// The shipped MNIST images: a headerless CSV of 784 pixels and the digit, read from the binary
/// from any directory.
#[test]
fn the_shipped_mnist_images_read_as_a_headerless_classification_csv() {
    let text = r#"
name = "mnist"
seeds = 1
[data]
source = "csv"
path = "data/images/mnist_10k.csv"
header = false
target = "784"
task = "classification"
split = { kind = "random", valid = 0.1, test = 0.2, repeats = 1 }
[model]
hidden = [8]
head = "softmax"
[train]
epochs = 1
[[methods]]
name = "sgd"
kind = "point"
optimizer = { kind = "sgd", lr = 0.1 }
"#;
    let experiment = bayeslab::spec::parse("mnist.toml", text, &[]).unwrap();
    let data = bayeslab::data::DataCache::load(&experiment.runs).unwrap();
    let set = data.get(&experiment.runs[0].config).unwrap();
    assert_eq!((set.len(), set.n_features()), (10_000, 784));
    match &set.y {
        bayeslab::data::TargetValues::Class {
            n_classes, labels, ..
        } => {
            assert_eq!(*n_classes, 10);
            // Ordered by digit: 1,001 zeros first, the last image a nine.
            assert_eq!((labels[1000], labels[1001], labels[9999]), (0, 1, 9));
        }
        other => panic!("not a classification target: {other:?}"),
    }
}
