//! The quickstart end to end, the results contract's schema, and failures that do not stop a batch.

use polars::prelude::*;

use crate::common::*;
use bayeslab::runner::RunOptions;

fn columns(path: &std::path::Path) -> Vec<String> {
    let frame = LazyFrame::scan_parquet(PlRefPath::new(path.to_str().unwrap()), Default::default())
        .unwrap()
        .collect()
        .unwrap();
    frame
        .get_column_names()
        .iter()
        .map(|c| c.to_string())
        .collect()
}

#[test]
fn quickstart_writes_the_results_contract_and_a_report() {
    let experiment = bayeslab::spec::parse("quickstart", bayeslab::spec::QUICKSTART, &[]).unwrap();
    assert_eq!(experiment.runs.len(), 9, "3 methods x 3 seeds");
    let root = temp_dir("quickstart");
    let summary = run(
        &experiment,
        &RunOptions {
            report: true,
            ..options(&root, 2)
        },
    );
    assert_eq!((summary.ok, summary.failed), (9, 0));

    let results = root.join("results/quickstart");
    assert_eq!(
        columns(&results.join("runs.parquet")),
        [
            "run_id",
            "experiment",
            "method",
            "variant",
            "seed",
            "split",
            "status",
            "error",
            "duration_s",
            "n_params",
            "n_samples",
            "config"
        ]
    );
    assert_eq!(
        columns(&results.join("metrics.parquet")),
        [
            "run_id", "epoch", "step", "samples", "split", "metric", "value"
        ]
    );
    let prediction_columns = columns(&results.join("predictions.parquet"));
    for c in ["run_id", "split", "index", "target", "mean", "std"] {
        assert!(
            prediction_columns.iter().any(|p| p == c),
            "{c} in {prediction_columns:?}"
        );
    }
    assert!(results.join("spec.toml").is_file());
    assert!(
        !results.join("search.json").exists(),
        "an experiment without a search has no search plan"
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(results.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["bayeslab_version"], env!("CARGO_PKG_VERSION"));

    let loaded = bayeslab::store::load(&results).unwrap();
    assert_eq!(loaded.runs.len(), 9);
    // Every run evaluated the test part after its last epoch.
    for run in &loaded.runs {
        let last_rmse = loaded
            .metrics
            .iter()
            .filter(|(id, m)| id == &run.run_id && m.split == "test" && m.metric == "rmse")
            .map(|(_, m)| m.epoch)
            .max();
        assert_eq!(last_rmse, Some(300), "{}", run.method);
    }
    // Adam fits y = x³ + N(0, 3²): the best possible test RMSE is the noise's 3, while predicting
    // the mean would give the spread of x³ over [−4, 4] (about 35); 2× the noise bounds it.
    let adam_rmse: Vec<f64> = loaded
        .metrics
        .iter()
        .filter(|(id, m)| {
            m.epoch == 300
                && m.split == "test"
                && m.metric == "rmse"
                && loaded
                    .runs
                    .iter()
                    .any(|r| &r.run_id == id && r.method == "adam")
        })
        .map(|(_, m)| m.value)
        .collect();
    assert_eq!(adam_rmse.len(), 3);
    assert!(adam_rmse.iter().all(|&r| r < 6.0), "{adam_rmse:?}");

    let report = root.join("reports/quickstart");
    for file in [
        "README.md",
        "table.md",
        "table.tex",
        "table.csv",
        "learning_curves.png",
        "learning_curves.svg",
        "uncertainty_1d.png",
        "uncertainty_1d.svg",
    ] {
        let path = report.join(file);
        let len = std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .len();
        assert!(len > 200, "{file} has {len} bytes");
    }
    let table = std::fs::read_to_string(report.join("table.md")).unwrap();
    for method in ["sgd", "rmsprop", "adam"] {
        assert!(table.contains(method), "{table}");
    }
    assert!(table.contains("±"), "{table}");
}

#[test]
fn a_diverging_run_is_recorded_failed_and_the_batch_finishes() {
    let experiment = tiny(&["methods.sgd.optimizer.lr=1e12"]);
    let root = temp_dir("diverge");
    let summary = run(&experiment, &options(&root, 2));
    assert_eq!(summary.failed, 4, "every sgd run diverges");
    assert_eq!(summary.ok, 4, "every adam run finishes");
    let loaded = bayeslab::store::load(&root.join("results/tiny")).unwrap();
    for run in &loaded.runs {
        match run.method.as_str() {
            "sgd" => {
                assert_eq!(run.status, bayeslab::store::RunStatus::Failed);
                let error = run.error.as_deref().unwrap_or("");
                assert!(error.contains("diverged"), "{error}");
            }
            _ => assert_eq!(run.status, bayeslab::store::RunStatus::Ok),
        }
    }
}

#[test]
fn a_run_that_panics_is_recorded_failed_and_the_batch_finishes() {
    // A configuration the spec would refuse (a softmax head on a regression target), forced into
    // the plan to make one run panic inside the network code.
    let mut experiment = tiny(&[]);
    let broken = &mut experiment.runs[0];
    broken.config.model.head = Some(bayeslab::nn::HeadKind::Softmax);
    broken.run_id = broken.config.run_id();
    let broken_id = broken.run_id.clone();
    let root = temp_dir("panic");
    let summary = run(&experiment, &options(&root, 2));
    assert_eq!((summary.ok, summary.failed), (7, 1));
    let loaded = bayeslab::store::load(&root.join("results/tiny")).unwrap();
    let failed = loaded.runs.iter().find(|r| r.run_id == broken_id).unwrap();
    assert_eq!(failed.status, bayeslab::store::RunStatus::Failed);
    assert!(
        failed
            .error
            .as_deref()
            .unwrap_or("")
            .starts_with("panicked: "),
        "{:?}",
        failed.error
    );
}

#[test]
fn a_shipped_experiment_runs_from_any_directory() {
    // uci_point names data/uci/*.csv; outside the source tree those come from the binary.
    let dir = temp_dir("shipped-anywhere");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_bayeslab"))
        .current_dir(&dir)
        .args([
            "run",
            "uci_point",
            "--set",
            "train.epochs=1",
            "--set",
            "data.split.repeats=1",
            "--set",
            "seeds=[0]",
            "--jobs",
            "2",
            "--no-report",
            "--quiet",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let loaded = bayeslab::store::load(&dir.join("results/uci_point")).unwrap();
    // 3 data sets x 3 methods, one seed and one split each.
    assert_eq!(loaded.runs.len(), 9);
    assert!(
        loaded
            .runs
            .iter()
            .all(|r| r.status == bayeslab::store::RunStatus::Ok)
    );

    // A path of the user's own that does not exist is still an error, naming the path.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_bayeslab"))
        .current_dir(&dir)
        .args([
            "check",
            "uci_point",
            "--set",
            "sweep.data=[{name=\"x\", path=\"data/uci/housing.csv\", target=\"medv\"}]",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("data.path") && stderr.contains("no such file: data/uci/housing.csv"),
        "{stderr}"
    );
}
