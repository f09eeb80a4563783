//! Same spec, same build ⇒ bitwise-identical metrics and predictions, whatever `--jobs`, shards or
//! resumption did.

use crate::common::*;
use bayeslab::runner::RunOptions;

fn metrics_and_predictions(root: &std::path::Path) -> (Vec<u8>, Vec<u8>) {
    (
        bytes(root, "tiny", "metrics.parquet"),
        bytes(root, "tiny", "predictions.parquet"),
    )
}

#[test]
fn same_seed_same_results_and_jobs_do_not_matter() {
    let experiment = tiny(&[]);
    let a = temp_dir("det-a");
    let b = temp_dir("det-b");
    let c = temp_dir("det-c");
    assert_eq!(run(&experiment, &options(&a, 1)).ok, 8);
    assert_eq!(run(&experiment, &options(&b, 1)).ok, 8);
    assert_eq!(run(&experiment, &options(&c, 2)).ok, 8);
    let first = metrics_and_predictions(&a);
    assert!(first.0.len() > 100, "metrics were written");
    assert_eq!(
        first,
        metrics_and_predictions(&b),
        "two runs with the same seed"
    );
    assert_eq!(first, metrics_and_predictions(&c), "--jobs 1 vs --jobs 2");

    let other_seed = tiny(&["master_seed=8"]);
    let d = temp_dir("det-d");
    run(&other_seed, &options(&d, 2));
    assert_ne!(
        first.0,
        bytes(&d, "tiny", "metrics.parquet"),
        "another master seed gives other numbers"
    );
}

#[test]
fn resumed_equals_uninterrupted() {
    let experiment = tiny(&[]);
    let whole = temp_dir("resume-whole");
    run(&experiment, &options(&whole, 2));

    // An interrupted batch: only some parts finished (a killed process leaves complete parts
    // only), plus a leftover temporary file.
    let partial = temp_dir("resume-partial");
    run(&experiment, &options(&partial, 2));
    let parts = partial.join("results/tiny/parts");
    let mut removed = 0;
    for entry in std::fs::read_dir(&parts).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with(&experiment.runs[0].run_id)
            || name.starts_with(&experiment.runs[5].run_id)
        {
            std::fs::remove_file(entry.path()).unwrap();
            removed += 1;
        }
    }
    assert!(removed > 0);
    std::fs::write(parts.join("garbage.tmp"), b"half a file").unwrap();

    let resumed = bayeslab::runner::run(
        &experiment,
        &RunOptions {
            resume: true,
            ..options(&partial, 2)
        },
        &std::sync::atomic::AtomicBool::new(false),
    )
    .unwrap();
    assert_eq!(resumed.skipped, 6, "finished runs are skipped");
    assert_eq!(resumed.ok, 2, "the two missing runs run");
    assert_eq!(
        metrics_and_predictions(&whole),
        metrics_and_predictions(&partial)
    );
}

#[test]
fn shards_merged_equal_the_whole() {
    let experiment = tiny(&[]);
    let whole = temp_dir("shard-whole");
    run(&experiment, &options(&whole, 2));
    let sharded = temp_dir("shard-parts");
    let mut selected = 0;
    for k in 1..=2 {
        let summary = run(
            &experiment,
            &RunOptions {
                shard: Some((k, 2)),
                ..options(&sharded, 1)
            },
        );
        selected += summary.selected;
    }
    assert_eq!(
        selected,
        experiment.runs.len(),
        "the shards partition the plan"
    );
    bayeslab::store::merge(&sharded.join("results/tiny")).unwrap();
    assert_eq!(
        metrics_and_predictions(&whole),
        metrics_and_predictions(&sharded)
    );
}

#[test]
fn a_cancelled_batch_writes_no_part() {
    let experiment = tiny(&[]);
    let root = temp_dir("cancel");
    let summary = bayeslab::runner::run(
        &experiment,
        &options(&root, 1),
        &std::sync::atomic::AtomicBool::new(true),
    )
    .unwrap();
    assert!(summary.cancelled);
    assert_eq!(summary.ok + summary.failed, 0);
    let completed = bayeslab::store::completed_runs(&root.join("results/tiny")).unwrap();
    assert!(completed.is_empty());
}
