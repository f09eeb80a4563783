//! Batches on a cluster: the Slurm scripts `bayeslab slurm` writes, shards of the built binary
//! writing into one results directory at once, and searches sharded by search. (The run on a
//! real Slurm is `scripts/slurm_test.sh`.)

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use bayeslab::cluster::{self, SlurmJob, WallTime};
use bayeslab::estimate::{WorkEstimate, WorkRow};
use bayeslab::runner::RunOptions;
use bayeslab::spec;
use bayeslab::store;

use crate::common::*;

fn bayeslab(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bayeslab"))
        .args(args)
        .current_dir(dir)
        .env("OPENBLAS_NUM_THREADS", "1")
        .output()
        .expect("the binary starts")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const GOLDEN_ARRAY: &str = r#"#!/bin/bash
# bayeslab: experiment `quickstart` as a Slurm job array, one shard per array task.
# Written by `bayeslab slurm`. Submit it, then merge.sh after it:
#   sbatch /cluster/lab/slurm/quickstart/array.sh
#   sbatch --dependency=afterany:<array job id> /cluster/lab/slurm/quickstart/merge.sh
# (`bayeslab slurm --submit` does both). Rerun unfinished tasks with
#   sbatch --array=<K,...> /cluster/lab/slurm/quickstart/array.sh
# and they resume: finished runs are skipped.
#
# Work (`bayeslab check`): 9 run(s) and 0 search(es) = 9 shard unit(s) over 3 task(s);
# about 1.90 GFLOP of training in 3600 optimisation steps. At an assumed 4 GFLOP/s
# per core plus 50 microseconds per step (a cautious guess; `bayeslab bench` measures),
# about 0.1 s per task on 2 CPU(s).
# Time limit: 3 x that, rounded up to whole minutes, at least 10 minutes.
#SBATCH --job-name=bayeslab-quickstart
#SBATCH --array=1-3
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=2
#SBATCH --time=00:10:00
#SBATCH --mem=4G
#SBATCH --partition=batch
#SBATCH --account=lab
#SBATCH --output=/cluster/lab/slurm/quickstart/logs/array-%A_%a.out
#SBATCH --open-mode=append
#SBATCH --requeue
set -euo pipefail
cd '/home/ana/my study'
exec /opt/bayeslab/bin/bayeslab run quickstart --set train.epochs=100 --set methods.adam.optimizer.lr=1e-3 \
  --out /cluster/lab \
  --shard "${SLURM_ARRAY_TASK_ID}/3" --jobs "${SLURM_CPUS_PER_TASK:-2}" \
  --resume --no-report
"#;

const GOLDEN_MERGE: &str = r#"#!/bin/bash
# bayeslab: merge the 3 shard(s) of `quickstart` and render its report, after the job array.
# Submit it with --dependency=afterany:<array job id>: it runs however the tasks ended,
# names the shards that did not finish (from their records in /cluster/lab/results/quickstart/shards/),
# exits 1 if any did not or if runs failed, and writes its exit code to /cluster/lab/slurm/quickstart/merge.exit.
#SBATCH --job-name=bayeslab-quickstart-merge
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=1
#SBATCH --time=00:30:00
#SBATCH --mem=4G
#SBATCH --partition=batch
#SBATCH --account=lab
#SBATCH --output=/cluster/lab/slurm/quickstart/logs/merge-%j.out
set -uo pipefail
cd '/home/ana/my study'
status=0
/opt/bayeslab/bin/bayeslab merge /cluster/lab/results/quickstart --shards 3 || status=$?
if [ "$status" -le 1 ]; then
  /opt/bayeslab/bin/bayeslab report /cluster/lab/results/quickstart --out /cluster/lab/reports/quickstart || status=$?
fi
if [ "$status" -ne 0 ]; then
  echo "rerun the shards named above: sbatch --array=<K,...> /cluster/lab/slurm/quickstart/array.sh, then this script" >&2
fi
echo "$status" > /cluster/lab/slurm/quickstart/merge.exit
exit "$status"
"#;

#[test]
fn the_scripts_for_the_quickstart_are_as_written_here_estimate_included() {
    let sets = [
        "train.epochs=100".to_string(),
        "methods.adam.optimizer.lr=1e-3".to_string(),
    ];
    let experiment = spec::parse("<embedded quickstart>", spec::QUICKSTART, &sets).unwrap();
    let work = WorkEstimate::of(&experiment).unwrap();
    // 9 runs of 2752 weights, 100 epochs of 4 steps over the training rows: 6 FLOP per weight
    // and example seen.
    assert_eq!((work.runs, work.total_steps()), (9, 3600));
    let time = cluster::default_time(&work, 2, 3);
    assert_eq!(time, WallTime(600), "a tiny plan gets the minimum");
    let job = SlurmJob {
        name: experiment.name.clone(),
        experiment: "quickstart".into(),
        sets: sets.to_vec(),
        bayeslab: "/opt/bayeslab/bin/bayeslab".into(),
        workdir: "/home/ana/my study".into(),
        root: "/cluster/lab".into(),
        script_dir: "/cluster/lab/slurm/quickstart".into(),
        tasks: 3,
        time,
        time_given: false,
        cpus_per_task: 2,
        mem: Some("4G".into()),
        partition: Some("batch".into()),
        extra: vec!["#SBATCH --account=lab".into()],
        work,
    };
    assert_eq!(job.array_script(), GOLDEN_ARRAY);
    assert_eq!(job.merge_script(), GOLDEN_MERGE);
}

#[test]
fn tasks_and_time_default_from_the_estimate() {
    // 40 runs of 72 TFLOP and 600,000 steps each: at 4 GFLOP/s plus 50 us a step, 18,030 s a
    // run on one core, 721,200 s in all; on 4 CPUs a task, 180,300 s.
    let work = WorkEstimate {
        rows: vec![WorkRow {
            method: "psgld".into(),
            variant: "default".into(),
            runs: 40,
            params: 1,
            epochs: 1,
            steps: 600_000,
            flop: 7.2e13,
        }],
        runs: 40,
        searches: 0,
        runs_per_search: 0,
        search_run_steps: 0,
        search_run_flop: 0.0,
    };
    assert!((work.seconds(4) - 180_300.0).abs() < 1e-6);
    // Hour-long tasks would need 51; there are only 40 runs to spread.
    assert_eq!(cluster::default_tasks(&work, 4), 40);
    // 4,507.5 s a task, times 3, rounded up to the minute: 226 minutes.
    assert_eq!(cluster::default_time(&work, 4, 40).slurm(), "03:46:00");
    assert_eq!(
        cluster::default_tasks(&work, 400),
        1,
        "1,803 s on 400 CPUs: one task"
    );
}

#[test]
fn bad_options_are_refused_with_the_option_named() {
    let dir = temp_dir("slurm-bad");
    let o = bayeslab(&["slurm", "quickstart", "--time", "90m"], &dir);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("HH:MM:SS"), "{}", stderr(&o));
    let o = bayeslab(&["slurm", "quickstart", "--tasks", "10"], &dir);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--tasks 9 or fewer"), "{}", stderr(&o));
    let o = bayeslab(&["slurm", "quickstart", "--extra", "--account=x"], &dir);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("#SBATCH"), "{}", stderr(&o));
    // No sbatch on PATH: the scripts are written, the submission is refused.
    let o = Command::new(env!("CARGO_BIN_EXE_bayeslab"))
        .args(["slurm", "quickstart", "--submit"])
        .current_dir(&dir)
        .env("PATH", dir.join("no-bin"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("`sbatch` is not on PATH"),
        "{}",
        stderr(&o)
    );
    assert!(dir.join("slurm/quickstart/array.sh").is_file());
    assert!(dir.join("slurm/quickstart/logs").is_dir());
}

/// Runs `shards` shards of `file` as concurrent processes of the built binary into `root`.
fn run_shards_at_once(file: &Path, root: &Path, shards: usize) {
    let children: Vec<_> = (1..=shards)
        .map(|k| {
            Command::new(env!("CARGO_BIN_EXE_bayeslab"))
                .arg("run")
                .arg(file)
                .arg("--out")
                .arg(root)
                .args(["--shard", &format!("{k}/{shards}")])
                .args(["--jobs", "1", "--resume", "--no-report", "--quiet"])
                .env("OPENBLAS_NUM_THREADS", "1")
                .spawn()
                .expect("the binary starts")
        })
        .collect();
    for mut child in children {
        let status = child.wait().unwrap();
        assert!(status.success(), "a shard failed: {status}");
    }
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn shards_writing_into_one_directory_at_once_merge_into_the_unsharded_results() {
    let dir = temp_dir("shards-at-once");
    let file = dir.join("tiny.toml");
    std::fs::write(&file, TINY).unwrap();
    let whole = dir.join("whole");
    run(&tiny(&[]), &options(&whole, 2));

    // Earlier batches of other specs (fewer epochs) left merged runs and parts the new plan
    // does not have: every shard starts by retiring them, all at once.
    let shared = dir.join("shared");
    run(&tiny(&["train.epochs=4"]), &options(&shared, 2));
    run(
        &tiny(&["train.epochs=1", "seeds=30"]),
        &RunOptions {
            shard: Some((1, 1)),
            ..options(&shared, 2)
        },
    );
    std::fs::remove_dir_all(shared.join("results/tiny/shards")).unwrap();
    run_shards_at_once(&file, &shared, 6);

    let results = shared.join("results/tiny");
    let o = bayeslab(&["merge", results.to_str().unwrap(), "--shards", "6"], &dir);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for file in ["metrics.parquet", "predictions.parquet"] {
        assert!(
            bytes(&whole, "tiny", file) == bytes(&shared, "tiny", file),
            "{file} of 6 concurrent shards equals the unsharded run's, byte for byte"
        );
    }
    let runs = store::load(&results).unwrap().runs;
    assert_eq!(runs.len(), 8);
    assert_eq!(files_in(&results.join("parts")), Vec::<String>::new());
    assert_eq!(
        files_in(&results.join(store::STALE_DIR))
            .iter()
            .filter(|n| n.ends_with(".ok.parquet"))
            .count(),
        8 + 120,
        "the 128 runs of the old specs were retired once each, none lost"
    );
    // No temporary file or lock is left anywhere.
    for d in [&results, &results.join("shards")] {
        assert!(
            files_in(d).iter().all(|n| !n.starts_with('.')),
            "{d:?}: {:?}",
            files_in(d)
        );
    }
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(results.join("manifest.json")).unwrap())
            .unwrap();
    let shards = manifest["shards"].as_array().unwrap();
    assert_eq!(shards.len(), 6);
    let mut ran = 0;
    for (k, s) in shards.iter().enumerate() {
        assert_eq!(s["shard"], format!("{}/6", k + 1));
        assert_eq!(s["state"], "done");
        assert_eq!(s["host"], store::host_name());
        assert!(s["end_unix_s"].as_u64() >= s["start_unix_s"].as_u64());
        ran += s["ok"].as_u64().unwrap();
    }
    assert_eq!(ran, 8, "every run ran in exactly one shard");

    // A shard that never ran is named, and the merge says so with its exit code.
    std::fs::remove_file(results.join("shards/3-of-6.json")).unwrap();
    let o = bayeslab(&["merge", results.to_str().unwrap(), "--shards", "6"], &dir);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("shard(s) 3 of 6 left no record"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("--array=3"), "{}", stderr(&o));
}

fn tiny_search() -> String {
    format!(
        "{TINY}\n[tune]\nmethod = \"adam\"\nobjective = \"valid.gaussian_ll\"\nbudget = 5\n\
         strategies = [{{ kind = \"random\" }}, {{ kind = \"bo\" }}]\nrepeats = 2\n\
         [tune.space]\n\"methods.adam.optimizer.lr\" = {{ kind = \"log_uniform\", low = 1e-4, high = 0.1 }}\n"
    )
}

#[test]
fn a_search_sharded_by_search_equals_the_unsharded_search() {
    let experiment = spec::parse("tiny.toml", &tiny_search(), &[]).unwrap();
    let whole = temp_dir("search-unsharded");
    run(&experiment, &options(&whole, 2));

    // 4 searches (2 strategies x 2 repeats) over 3 shards: 2, 1 and 1 of them.
    let sharded = temp_dir("search-sharded");
    for k in [3, 1, 2] {
        let summary = run(
            &experiment,
            &RunOptions {
                shard: Some((k, 3)),
                ..options(&sharded, 2)
            },
        );
        assert_eq!(summary.failed, 0);
    }
    let results = sharded.join("results/tiny");
    let trial_parts = files_in(&results.join("parts").join(store::TRIAL_PARTS_DIR));
    assert_eq!(
        trial_parts,
        [
            "bo.0.parquet",
            "bo.1.parquet",
            "random.0.parquet",
            "random.1.parquet"
        ]
    );
    let merged = cluster::merge_shards(&results, 3).unwrap();
    assert!(merged.to_rerun().is_empty(), "{merged:?}");

    let key = |t: &store::TrialRow| {
        (
            t.problem.clone(),
            t.strategy.clone(),
            t.repeat,
            t.trial,
            t.run_id.clone(),
            t.parameters.clone(),
            t.objective,
            t.best_so_far,
            t.status.clone(),
            t.source.clone(),
        )
    };
    let trials = |root: &PathBuf| {
        store::load_trials(&root.join("results/tiny"))
            .unwrap()
            .iter()
            .map(key)
            .collect::<Vec<_>>()
    };
    let expected = trials(&whole);
    assert_eq!(expected.len(), 2 * 2 * 5);
    assert_eq!(
        trials(&sharded),
        expected,
        "the same trials in the same order (wall times aside)"
    );
    assert_eq!(
        bytes(&whole, "tiny", "metrics.parquet"),
        bytes(&sharded, "tiny", "metrics.parquet"),
        "trials, final runs and plan runs score the same, byte for byte"
    );
    let ids = |root: &PathBuf| {
        let mut ids: Vec<String> = store::load(&root.join("results/tiny"))
            .unwrap()
            .runs
            .into_iter()
            .map(|r| r.run_id)
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&whole), ids(&sharded));
}
