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
    let resume = |root: &std::path::Path| {
        bayeslab::runner::run(
            &experiment,
            &RunOptions {
                resume: true,
                ..options(root, 2)
            },
            &std::sync::atomic::AtomicBool::new(false),
        )
        .unwrap()
    };

    // Interrupted after a merge (Ctrl-C merges what finished): the merged files lack two runs.
    let merged = temp_dir("resume-merged");
    run(&experiment, &options(&merged, 2));
    let results = merged.join("results/tiny");
    let mut planned: std::collections::BTreeSet<&str> =
        experiment.runs.iter().map(|r| r.run_id.as_str()).collect();
    planned.remove(experiment.runs[0].run_id.as_str());
    planned.remove(experiment.runs[5].run_id.as_str());
    assert_eq!(
        bayeslab::store::retire_stale(&results, &planned).unwrap(),
        2
    );
    let resumed = resume(&merged);
    assert_eq!(resumed.skipped, 6, "finished runs are skipped");
    assert_eq!(resumed.ok, 2, "the two missing runs run");
    assert_eq!(
        metrics_and_predictions(&whole),
        metrics_and_predictions(&merged)
    );

    // Killed before any merge: only parts, some missing, plus a leftover temporary file.
    let killed = temp_dir("resume-killed");
    for k in 1..=2 {
        run(
            &experiment,
            &RunOptions {
                shard: Some((k, 2)),
                ..options(&killed, 1)
            },
        );
    }
    let parts = killed.join("results/tiny/parts");
    let mut removed = 0;
    for entry in std::fs::read_dir(&parts).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with(&experiment.runs[1].run_id)
            || name.starts_with(&experiment.runs[6].run_id)
        {
            std::fs::remove_file(entry.path()).unwrap();
            removed += 1;
        }
    }
    assert!(removed > 0);
    std::fs::write(parts.join(".garbage.host.1.tmp"), b"half a file").unwrap();
    let resumed = resume(&killed);
    assert_eq!((resumed.skipped, resumed.ok), (6, 2));
    assert_eq!(
        metrics_and_predictions(&whole),
        metrics_and_predictions(&killed)
    );
    let left: Vec<_> = std::fs::read_dir(&parts)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left.len(), 1, "the merge folded every part in: {left:?}");
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
    let completed = bayeslab::store::finished_runs(&root.join("results/tiny")).unwrap();
    assert!(completed.is_empty());
}

/// Common random numbers: at one seed and split, methods with the same data and model share
/// their initial weights and batch order (not their dropout stream); other seeds, splits or
/// models do not.
#[test]
fn methods_at_one_seed_and_split_share_init_and_batches() {
    let experiment = tiny(&["methods.adam.model.dropout=0.1"]);
    let plain = tiny(&[]);
    let find = |e: &bayeslab::spec::Experiment, method: &str, seed: u32, split: u32| {
        e.runs
            .iter()
            .find(|r| r.config.method == method && r.config.seed == seed && r.config.split == split)
            .unwrap()
            .config
            .clone()
    };
    let (sgd, adam) = (find(&plain, "sgd", 0, 1), find(&plain, "adam", 0, 1));
    for purpose in ["init", "batches"] {
        assert_eq!(
            sgd.shared_stream_seed(purpose),
            adam.shared_stream_seed(purpose)
        );
        assert_ne!(
            sgd.shared_stream_seed(purpose),
            find(&plain, "sgd", 1, 1).shared_stream_seed(purpose),
            "another seed"
        );
        assert_ne!(
            sgd.shared_stream_seed(purpose),
            find(&plain, "sgd", 0, 0).shared_stream_seed(purpose),
            "another split"
        );
        assert_ne!(
            sgd.shared_stream_seed(purpose),
            find(&experiment, "adam", 0, 1).shared_stream_seed(purpose),
            "another model"
        );
    }
    assert_ne!(sgd.stream_seed("noise"), adam.stream_seed("noise"));
    // And the weights really are the same: the first step of both methods starts from them.
    let data = bayeslab::runner::DataCache::load(&plain.runs).unwrap();
    let prepared = data.prepare(&sgd).unwrap();
    let a = bayeslab::method::Trainer::new(&sgd, &prepared.train, 0.01);
    let b = bayeslab::method::Trainer::new(&adam, &prepared.train, 0.01);
    assert_eq!(a.params, b.params);
}
