//! Same spec, same build ⇒ bitwise-identical metrics and predictions, whatever `--jobs`, shards or
//! resumption did.

use crate::common::*;
use bayeslab::runner::RunOptions;

fn metrics_and_predictions(root: &std::path::Path) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    (
        bytes(root, "tiny", "metrics.parquet"),
        bytes(root, "tiny", "predictions.parquet"),
        bytes(root, "tiny", "traces.parquet"),
    )
}

/// The tiny experiment with its adam method replaced by two chains of SGLD, so that traces are
/// written too: still 8 runs.
fn tiny_with_chains(sets: &[&str]) -> bayeslab::spec::Experiment {
    let adam = "[[methods]]\nname = \"adam\"\nkind = \"point\"\noptimizer = { kind = \"adam\", lr = 0.01 }\n";
    assert!(TINY.contains(adam));
    let sgld = "[[methods]]\nname = \"sgld\"\nkind = \"sgmcmc\"\n\
                sampler = { kind = \"sgld\", lr = 0.01 }\nburn_in_epochs = 2\nthin = 2\nchains = 2\n";
    let text = TINY.replace(adam, sgld);
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    bayeslab::spec::parse("tiny.toml", &text, &sets).unwrap()
}

#[test]
fn same_seed_same_results_and_jobs_do_not_matter() {
    let experiment = tiny_with_chains(&[]);
    let a = temp_dir("det-a");
    let b = temp_dir("det-b");
    let c = temp_dir("det-c");
    assert_eq!(run(&experiment, &options(&a, 1)).ok, 8);
    assert_eq!(run(&experiment, &options(&b, 1)).ok, 8);
    assert_eq!(run(&experiment, &options(&c, 2)).ok, 8);
    let first = metrics_and_predictions(&a);
    assert!(first.0.len() > 100, "metrics were written");
    assert!(first.2.len() > 100, "traces were written");
    assert_eq!(
        first,
        metrics_and_predictions(&b),
        "two runs with the same seed"
    );
    assert_eq!(first, metrics_and_predictions(&c), "--jobs 1 vs --jobs 2");

    let other_seed = tiny_with_chains(&["master_seed=8"]);
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
    let experiment = tiny_with_chains(&[]);
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
    let experiment = tiny_with_chains(&[]);
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
    let data = bayeslab::data::DataCache::load(&plain.runs).unwrap();
    let prepared = data.prepare(&sgd).unwrap();
    let a = bayeslab::method::Trainer::new(&sgd, &prepared.train, 0.01);
    let b = bayeslab::method::Trainer::new(&adam, &prepared.train, 0.01);
    assert_eq!(a.params, b.params);
}

#[test]
fn dropout_masks_do_not_depend_on_jobs() {
    // Dropout draws a mask per training step from the run's noise stream (sampler chains
    // included).
    let experiment = tiny_with_chains(&["model.dropout=0.3"]);
    let a = temp_dir("det-dropout-1");
    let b = temp_dir("det-dropout-2");
    assert_eq!(run(&experiment, &options(&a, 1)).ok, 8);
    assert_eq!(run(&experiment, &options(&b, 2)).ok, 8);
    assert_eq!(
        metrics_and_predictions(&a),
        metrics_and_predictions(&b),
        "--jobs 1 vs --jobs 2 with dropout"
    );
    let c = temp_dir("det-dropout-0");
    run(&tiny_with_chains(&[]), &options(&c, 2));
    assert_ne!(
        bytes(&a, "tiny", "metrics.parquet"),
        bytes(&c, "tiny", "metrics.parquet"),
        "dropout changes the numbers, so the masks were drawn"
    );
}

/// One run, large enough that its matrix products are split over BLAS threads.
const ONE_WIDE_RUN: &str = r#"
name = "wide"
seeds = 1
master_seed = 11

[data]
source = "toy_gap_1d"
n = 600
split = { kind = "random", valid = 0.2, test = 0.2, repeats = 1 }

[model]
hidden = [512, 512]
dropout = 0.2

[train]
epochs = 3
batch_size = 320

[[methods]]
name = "adam"
kind = "point"
optimizer = { kind = "adam", lr = 0.001 }
"#;

#[test]
fn a_single_run_on_two_blas_threads_equals_one_thread() {
    // A lone run gets --jobs BLAS threads. Its 320 x 512 x 512 products (batch x width x width,
    // forward and backward) reach the size from which a product is split over the threads.
    const { assert!(320 * 512 * 512 >= bayeslab::nn::gemm::PARALLEL_WORK) };
    let experiment = bayeslab::spec::parse("wide.toml", ONE_WIDE_RUN, &[]).unwrap();
    assert_eq!(experiment.runs.len(), 1);
    let dir = temp_dir("det-blas-threads");
    std::fs::write(dir.join("wide.toml"), ONE_WIDE_RUN).unwrap();
    // Separate processes: the BLAS thread count is global to a process, and other tests in this
    // one set it too.
    let mut results = Vec::new();
    for jobs in ["1", "2"] {
        let out = dir.join(format!("jobs{jobs}"));
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_bayeslab"))
            .current_dir(&dir)
            .args(["run", "wide.toml", "--no-report", "--quiet", "--jobs", jobs])
            .arg("--out")
            .arg(&out)
            .status()
            .unwrap();
        assert!(status.success());
        results.push(bytes(&out, "wide", "metrics.parquet"));
    }
    assert_eq!(results[0], results[1], "--jobs 1 vs --jobs 2 for one run");
}

#[test]
fn a_run_cancelled_during_training_writes_no_part() {
    // Two runs on one worker: a one-epoch sgd run, then an adam run far too long to finish.
    // Once sgd's part is on disk, adam is training; the flag is set then.
    let experiment = tiny(&[
        "seeds=1",
        "data.split.repeats=1",
        "methods.sgd.train.epochs=1",
        "methods.adam.train.epochs=1000000",
        "methods.adam.train.eval_every=1000000",
    ]);
    assert_eq!(experiment.runs.len(), 2);
    let (quick, slow) = (&experiment.runs[0], &experiment.runs[1]);
    assert_eq!(
        (quick.config.method.as_str(), slow.config.method.as_str()),
        ("sgd", "adam")
    );
    let root = temp_dir("cancel-mid-run");
    let results = root.join("results/tiny");
    let cancel = std::sync::atomic::AtomicBool::new(false);
    let summary = std::thread::scope(|scope| {
        scope.spawn(|| {
            let started = std::time::Instant::now();
            while !bayeslab::store::finished_runs(&results)
                .is_ok_and(|done| done.contains_key(&quick.run_id))
            {
                assert!(
                    started.elapsed().as_secs() < 60,
                    "the first run never finished"
                );
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            // Well into the second run's first epochs.
            std::thread::sleep(std::time::Duration::from_millis(200));
            cancel.store(true, std::sync::atomic::Ordering::Relaxed);
        });
        bayeslab::runner::run(&experiment, &options(&root, 1), &cancel).unwrap()
    });
    assert!(summary.cancelled, "the batch reports the cancel");
    assert_eq!((summary.ok, summary.failed), (1, 0), "only sgd finished");
    let completed = bayeslab::store::finished_runs(&results).unwrap();
    assert_eq!(completed.keys().collect::<Vec<_>>(), [&quick.run_id]);
    for entry in std::fs::read_dir(results.join("parts")).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        assert!(
            !name.starts_with(&slow.run_id),
            "{name} of the cancelled run"
        );
    }
}
