//! Big batches: resuming thousands of runs, and merges killed by a real signal.

use crate::common::*;
use bayeslab::runner::RunOptions;

/// A batch larger than the size at which resuming once overflowed a worker's stack (about
/// 1,800 runs): 5,000 runs of a one-epoch, 2-unit model, resumed when finished and when half
/// of it is parts not yet merged.
#[test]
fn a_batch_of_5000_runs_resumes() {
    let experiment = tiny(&[
        "seeds=50",
        "data.split.repeats=50",
        "data.n=40",
        "model.hidden=[2]",
        "train.epochs=1",
        "train.eval_every=1",
        "predictions=false",
    ]);
    assert_eq!(experiment.runs.len(), 5000);
    let root = temp_dir("resume-5000");
    let first = run(
        &experiment,
        &RunOptions {
            shard: Some((1, 2)),
            ..options(&root, 2)
        },
    );
    assert!(first.ok > 2000, "{first:?}");
    let resume = || {
        bayeslab::runner::run(
            &experiment,
            &RunOptions {
                resume: true,
                ..options(&root, 2)
            },
            &std::sync::atomic::AtomicBool::new(false),
        )
        .unwrap()
    };
    let second = resume();
    assert_eq!(second.skipped, first.ok);
    assert_eq!(second.skipped + second.ok, 5000);
    let third = resume();
    assert_eq!((third.skipped, third.ok), (5000, 0));
}

/// `bayeslab merge` killed (SIGKILL) at moments spread over a whole merge of 1,200 runs' parts
/// (fractions of the time an uninterrupted merge process took), then merged again: the files
/// equal those of a merge that was never interrupted.
#[test]
fn a_killed_merge_merged_again_gives_identical_files() {
    let experiment = tiny(&[
        "seeds=12",
        "data.split.repeats=50",
        "data.n=40",
        "model.hidden=[2]",
        "train.epochs=1",
        "train.eval_every=1",
    ]);
    let root = temp_dir("kill-merge");
    // A shard writes parts only; 1/1 is the whole plan.
    run(
        &experiment,
        &RunOptions {
            shard: Some((1, 1)),
            ..options(&root, 2)
        },
    );
    let unmerged = root.join("results/tiny");
    let reference = root.join("reference");
    copy_dir(&unmerged, &reference);
    bayeslab::store::merge(&reference).unwrap();
    let expected: Vec<Vec<u8>> = ["runs.parquet", "metrics.parquet", "predictions.parquet"]
        .iter()
        .map(|f| std::fs::read(reference.join(f)).unwrap())
        .collect();
    let merge_process = |dir: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_bayeslab"))
            .arg("merge")
            .arg(dir)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let timed = root.join("timed");
    copy_dir(&unmerged, &timed);
    let start = std::time::Instant::now();
    assert!(merge_process(&timed).wait().unwrap().success());
    let full = start.elapsed();
    let mut states = Vec::new();
    for (i, fraction) in [0.2, 0.5, 0.7, 0.8, 0.9, 0.95].into_iter().enumerate() {
        let dir = root.join(format!("killed-{i}"));
        copy_dir(&unmerged, &dir);
        let mut child = merge_process(&dir);
        let delay_ms = (full.as_secs_f64() * fraction * 1e3) as u64;
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let running = child.try_wait().unwrap().is_none();
        let _ = child.kill();
        child.wait().unwrap();
        let parts_left = std::fs::read_dir(dir.join("parts")).unwrap().count();
        states.push((
            delay_ms,
            running,
            dir.join("metrics.parquet").exists(),
            parts_left,
        ));
        bayeslab::store::merge(&dir).unwrap();
        let got: Vec<Vec<u8>> = ["runs.parquet", "metrics.parquet", "predictions.parquet"]
            .iter()
            .map(|f| std::fs::read(dir.join(f)).unwrap())
            .collect();
        assert!(
            got == expected,
            "merge killed after {delay_ms} ms, merged again"
        );
    }
    // (delay, still running when killed, merged metrics written, parts left)
    eprintln!("killed merges: {states:?}");
    assert!(
        states.iter().any(|s| s.1 && s.3 > 0),
        "at least one kill interrupted a merge: {states:?}"
    );
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
