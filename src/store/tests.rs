//! Tests of the store: round trips, byte-identical merges, compaction, kills, resume reads.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::*;

/// A fresh, empty directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);
impl TempDir {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("bayeslab-store-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn output(run_id: &str, method: &str, seed: u32, ok: bool) -> RunOutput {
    let metrics = (0..3)
        .flat_map(|epoch| {
            [
                MetricRow {
                    epoch,
                    step: 10 * epoch,
                    samples: 1,
                    split: "train".into(),
                    metric: "loss".into(),
                    value: 1.0 / (epoch as f64 + 1.0) + seed as f64,
                },
                MetricRow {
                    epoch,
                    step: 10 * epoch,
                    samples: 1 + epoch,
                    split: "test".into(),
                    metric: "rmse".into(),
                    value: 0.5 + 0.25 * epoch as f64,
                },
            ]
        })
        .collect();
    let predictions = if ok {
        vec![
            PredictionRow {
                split: "test".into(),
                index: 0,
                input: Some(-1.5),
                target: Some(0.25),
                mean: Some(0.2),
                std: Some(0.1),
                label: None,
                confidence: None,
                entropy: None,
                mutual_information: None,
            },
            PredictionRow {
                split: "grid".into(),
                index: 7,
                input: Some(3.0),
                target: None,
                mean: Some(f64::MAX),
                std: Some(0.0),
                label: Some(2),
                confidence: Some(0.75),
                entropy: Some(0.5),
                mutual_information: Some(1e-300),
            },
        ]
    } else {
        Vec::new()
    };
    // Sampler traces only for the runs of "sgld", two chains of two samples.
    let traces = if ok && method == "sgld" {
        (0..4)
            .map(|i| TraceRow {
                chain: i / 2,
                sample: 1 + i % 2,
                epoch: 1 + i64::from(i % 2),
                step: 5 * (1 + i64::from(i % 2)),
                quantity: "weight_norm".into(),
                value: 1.5 + f64::from(i),
            })
            .collect()
    } else {
        Vec::new()
    };
    RunOutput {
        record: RunRecord {
            run_id: run_id.into(),
            experiment: "quickstart".into(),
            method: method.into(),
            variant: "default".into(),
            seed,
            split: 0,
            status: if ok { RunStatus::Ok } else { RunStatus::Failed },
            error: (!ok).then(|| "loss is NaN at epoch 2".to_string()),
            duration_s: 1.25 * seed as f64,
            n_params: 151,
            n_samples: if ok { 1 } else { 0 },
            config: format!(r#"{{"method":"{method}","seed":{seed}}}"#),
        },
        metrics,
        predictions,
        traces,
    }
}

fn merged_bytes(dir: &Path) -> Vec<Vec<u8>> {
    [RUNS_FILE, METRICS_FILE, PREDICTIONS_FILE, TRACES_FILE]
        .iter()
        // A file that no run needed is absent, in both directories compared.
        .map(|f| fs::read(dir.join(f)).unwrap_or_default())
        .collect()
}

#[test]
fn round_trip_write_merge_load_equals_input() {
    let tmp = TempDir::new("roundtrip");
    let outs = [
        output("b2", "adam", 1, true),
        output("a1", "sgd", 0, false),
        output("c3", "sgld", 2, true),
    ];
    for out in &outs {
        write_part(&tmp.0, out).unwrap();
    }
    let summary = merge(&tmp.0).unwrap();
    assert_eq!(
        summary,
        MergeSummary {
            runs_ok: 2,
            runs_failed: 1,
            metric_rows: 18,
            prediction_rows: 4,
            trace_rows: 4,
        }
    );
    let loaded = load(&tmp.0).unwrap();
    // Sorted by run_id: a1, b2, c3; each run's rows in the order it wrote them.
    let mut sorted: Vec<&RunOutput> = outs.iter().collect();
    sorted.sort_by(|a, b| a.record.run_id.cmp(&b.record.run_id));
    let expected = Results {
        runs: sorted.iter().map(|o| o.record.clone()).collect(),
        metrics: sorted
            .iter()
            .flat_map(|o| {
                o.metrics
                    .iter()
                    .map(|m| (o.record.run_id.clone(), m.clone()))
            })
            .collect(),
        predictions: sorted
            .iter()
            .flat_map(|o| {
                o.predictions
                    .iter()
                    .map(|p| (o.record.run_id.clone(), p.clone()))
            })
            .collect(),
        traces: sorted
            .iter()
            .flat_map(|o| {
                o.traces
                    .iter()
                    .map(|t| (o.record.run_id.clone(), t.clone()))
            })
            .collect(),
    };
    assert_eq!(
        loaded.traces.len(),
        4,
        "the sampler run's traces are merged"
    );
    assert_eq!(loaded, expected);
}

#[test]
fn merge_twice_gives_identical_bytes() {
    let tmp = TempDir::new("twice");
    write_part(&tmp.0, &output("x", "sgld", 0, true)).unwrap();
    write_part(&tmp.0, &output("y", "adam", 1, false)).unwrap();
    merge(&tmp.0).unwrap();
    let first = merged_bytes(&tmp.0);
    merge(&tmp.0).unwrap();
    assert_eq!(first, merged_bytes(&tmp.0));
}

#[test]
fn parts_written_in_another_order_merge_to_identical_bytes() {
    let (t1, t2) = (TempDir::new("order1"), TempDir::new("order2"));
    let outs = [
        output("r1", "sgd", 0, true),
        output("r2", "adam", 1, true),
        output("r3", "sgd", 2, false),
    ];
    for i in [0, 1, 2] {
        write_part(&t1.0, &outs[i]).unwrap();
    }
    for i in [2, 0, 1] {
        write_part(&t2.0, &outs[i]).unwrap();
    }
    merge(&t1.0).unwrap();
    merge(&t2.0).unwrap();
    assert_eq!(merged_bytes(&t1.0), merged_bytes(&t2.0));
}

#[test]
fn leftover_temp_file_is_ignored() {
    let tmp = TempDir::new("leftover");
    write_part(&tmp.0, &output("done", "sgd", 0, true)).unwrap();
    // What a process killed during a rename-less write leaves behind: garbage, hidden.
    let parts = tmp.0.join(PARTS_DIR);
    fs::write(parts.join(".killed.run.parquet.tmp4242"), b"half a file").unwrap();
    fs::write(parts.join(".killed.metrics.parquet.tmp4242"), b"half").unwrap();
    let done = finished_runs(&tmp.0).unwrap();
    assert_eq!(done, BTreeMap::from([("done".to_string(), RunStatus::Ok)]));
    assert_eq!(merge(&tmp.0).unwrap().runs_ok, 1);
}

#[test]
fn part_without_run_row_is_not_completed() {
    let tmp = TempDir::new("norow");
    write_part(&tmp.0, &output("whole", "sgd", 0, false)).unwrap();
    write_part(&tmp.0, &output("killed", "sgd", 1, true)).unwrap();
    fs::remove_file(tmp.0.join(PARTS_DIR).join("killed.ok.parquet")).unwrap();
    assert_eq!(
        finished_runs(&tmp.0).unwrap(),
        BTreeMap::from([("whole".to_string(), RunStatus::Failed)])
    );
    let summary = merge(&tmp.0).unwrap();
    assert_eq!((summary.runs_ok, summary.runs_failed), (0, 1));
    // No complete run has predictions, so no predictions file.
    assert!(!tmp.0.join(PREDICTIONS_FILE).exists());
    assert_eq!(load(&tmp.0).unwrap().runs[0].run_id, "whole");
}

#[test]
fn rewritten_part_replaces_the_old_one() {
    let tmp = TempDir::new("rewrite");
    write_part(&tmp.0, &output("r", "sgd", 0, true)).unwrap();
    let failed = output("r", "sgd", 0, false);
    write_part(&tmp.0, &failed).unwrap();
    assert_eq!(finished_runs(&tmp.0).unwrap()["r"], RunStatus::Failed);
    merge(&tmp.0).unwrap();
    let loaded = load(&tmp.0).unwrap();
    assert_eq!(loaded.runs, vec![failed.record]);
    assert!(loaded.predictions.is_empty(), "stale predictions removed");
}

#[test]
fn no_parts_merge_to_empty_files_and_unsafe_ids_are_refused() {
    let tmp = TempDir::new("empty");
    assert!(finished_runs(&tmp.0).unwrap().is_empty());
    assert_eq!(merge(&tmp.0).unwrap(), MergeSummary::default());
    assert_eq!(load(&tmp.0).unwrap(), Results::default());
    for bad in ["", "../x", ".hidden", "a/b", "a.ok"] {
        let mut out = output("ok", "sgd", 0, true);
        out.record.run_id = bad.into();
        assert!(write_part(&tmp.0, &out).is_err(), "{bad:?} accepted");
    }
    let missing = load(&tmp.0.join("nowhere")).unwrap_err().to_string();
    assert!(missing.contains("bayeslab merge"), "{missing}");
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn a_part_is_one_file_named_by_its_status_plus_its_predictions() {
    let tmp = TempDir::new("layout");
    write_part(&tmp.0, &output("a1", "sgd", 0, true)).unwrap();
    write_part(&tmp.0, &output("b2", "sgd", 1, false)).unwrap();
    assert_eq!(
        file_names(&tmp.0.join(PARTS_DIR)),
        [
            "a1.ok.parquet",
            "a1.predictions.parquet",
            "b2.failed.parquet"
        ]
    );
    // A re-run that succeeds replaces the failed marker.
    write_part(&tmp.0, &output("b2", "sgd", 1, true)).unwrap();
    assert_eq!(finished_runs(&tmp.0).unwrap()["b2"], RunStatus::Ok);
    assert!(!tmp.0.join(PARTS_DIR).join("b2.failed.parquet").exists());
}

#[test]
fn merge_compacts_the_parts_and_merging_in_steps_equals_merging_at_once() {
    let outs: Vec<RunOutput> = (0..6)
        .map(|i| output(&format!("r{i}"), "sgd", i, i % 3 != 2))
        .collect();
    let once = TempDir::new("once");
    for out in &outs {
        write_part(&once.0, out).unwrap();
    }
    merge(&once.0).unwrap();
    assert!(
        file_names(&once.0.join(PARTS_DIR)).is_empty(),
        "parts folded in"
    );

    let steps = TempDir::new("steps");
    for chunk in outs.chunks(2) {
        for out in chunk {
            write_part(&steps.0, out).unwrap();
        }
        merge(&steps.0).unwrap();
    }
    // A run re-run after it was merged: the newer part wins.
    let mut rerun = outs[4].clone();
    rerun.metrics[0].value = -7.0;
    write_part(&steps.0, &rerun).unwrap();
    write_part(&once.0, &rerun).unwrap();
    merge(&steps.0).unwrap();
    merge(&once.0).unwrap();
    assert_eq!(merged_bytes(&once.0), merged_bytes(&steps.0));
    let loaded = load(&steps.0).unwrap();
    assert_eq!(loaded.runs.len(), 6);
    assert!(
        loaded
            .metrics
            .iter()
            .any(|(id, m)| id == "r4" && m.value == -7.0)
    );
    // Everything finished is known from the merged files alone.
    let done = finished_runs(&steps.0).unwrap();
    assert_eq!(done.len(), 6);
    assert_eq!(done["r2"], RunStatus::Failed);
    assert_eq!(done["r1"], RunStatus::Ok);
}

/// A merge killed after any of its file operations: every prefix of the operations a merge
/// performs is replayed by hand, and merging again must give the uninterrupted files.
#[test]
fn a_merge_killed_at_any_point_then_rerun_gives_identical_files() {
    let first: Vec<RunOutput> = (0..3)
        .map(|i| output(&format!("a{i}"), "sgd", i, true))
        .collect();
    let second: Vec<RunOutput> = (0..3)
        .map(|i| output(&format!("b{i}"), "adam", i, i != 1))
        .collect();
    let build = |dir: &Path| {
        for out in &first {
            write_part(dir, out).unwrap();
        }
        merge(dir).unwrap();
        for out in &second {
            write_part(dir, out).unwrap();
        }
    };
    let whole = TempDir::new("kill-whole");
    build(&whole.0);
    merge(&whole.0).unwrap();
    let expected = merged_bytes(&whole.0);

    // The states a killed merge can leave: k of its steps done (metrics, predictions, runs
    // replaced; then the parts removed one file at a time).
    // In the order a merge replaces them (merged_bytes lists runs, metrics, predictions).
    let new_files: Vec<(&str, Vec<u8>)> = vec![
        (METRICS_FILE, expected[1].clone()),
        (PREDICTIONS_FILE, expected[2].clone()),
        (RUNS_FILE, expected[0].clone()),
    ];
    let part_files = {
        let probe = TempDir::new("kill-probe");
        build(&probe.0);
        let parts = parts::list_parts(&probe.0.join(PARTS_DIR)).unwrap();
        parts
            .values()
            .flat_map(|p| {
                p.files()
                    .map(|f| f.file_name().unwrap().to_owned())
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>()
    };
    for k in 0..=(new_files.len() + part_files.len()) {
        let dir = TempDir::new(&format!("kill-{k}"));
        build(&dir.0);
        for (name, bytes) in new_files.iter().take(k) {
            fs::write(dir.0.join(name), bytes).unwrap();
        }
        for name in part_files.iter().take(k.saturating_sub(new_files.len())) {
            fs::remove_file(dir.0.join(PARTS_DIR).join(name)).unwrap();
        }
        // Also a temporary file the killed write left behind.
        fs::write(dir.0.join(".runs.parquet.host.1.tmp"), b"partial").unwrap();
        merge(&dir.0).unwrap();
        assert_eq!(merged_bytes(&dir.0), expected, "killed after step {k}");
    }
}

#[test]
fn parts_of_results_format_1_are_read_and_folded_in() {
    let tmp = TempDir::new("v1");
    let out = output("old1", "sgd", 0, true);
    // Format 1: a run-row file and a metrics file, zstd, no metadata.
    let parts = tmp.0.join(PARTS_DIR);
    fs::create_dir_all(&parts).unwrap();
    let mut runs = frames::runs_df(std::iter::once(&out.record)).unwrap();
    let path = parts.join("old1.run.parquet");
    fs::write(
        &path,
        frames::encode(&mut runs, frames::Encoding::Merged, None, &path).unwrap(),
    )
    .unwrap();
    let mut metrics = frames::metrics_df(out.metrics.iter().map(|m| ("old1", m))).unwrap();
    let path = parts.join("old1.metrics.parquet");
    fs::write(
        &path,
        frames::encode(&mut metrics, frames::Encoding::Merged, None, &path).unwrap(),
    )
    .unwrap();
    assert_eq!(finished_runs(&tmp.0).unwrap()["old1"], RunStatus::Ok);
    write_part(&tmp.0, &output("new2", "sgd", 1, false)).unwrap();
    let summary = merge(&tmp.0).unwrap();
    assert_eq!((summary.runs_ok, summary.runs_failed), (1, 1));
    assert!(file_names(&parts).is_empty());
    let loaded = load(&tmp.0).unwrap();
    assert_eq!(loaded.runs[1].run_id, "old1");
    assert_eq!(loaded.runs[1], out.record);
}

#[test]
fn stale_runs_move_out_of_parts_and_merged_files_and_are_kept() {
    let tmp = TempDir::new("stale");
    for id in ["keep1", "gone2"] {
        write_part(&tmp.0, &output(id, "sgd", 0, true)).unwrap();
    }
    merge(&tmp.0).unwrap();
    write_part(&tmp.0, &output("gone3", "sgd", 1, true)).unwrap();
    let planned = std::collections::BTreeSet::from(["keep1"]);
    assert_eq!(retire_stale(&tmp.0, &planned).unwrap(), 2);
    assert_eq!(
        finished_runs(&tmp.0).unwrap(),
        BTreeMap::from([("keep1".to_string(), RunStatus::Ok)])
    );
    // The stale directory holds complete parts of both, with their predictions.
    let kept = parts::list_parts(&tmp.0.join(STALE_DIR)).unwrap();
    assert_eq!(kept.keys().collect::<Vec<_>>(), ["gone2", "gone3"]);
    assert!(kept.values().all(|p| p.predictions.is_some()));
    assert_eq!(retire_stale(&tmp.0, &planned).unwrap(), 0, "idempotent");
}

#[test]
fn finished_outputs_read_metrics_back_from_merged_files_and_parts() {
    let tmp = TempDir::new("outputs");
    let a = output("a1", "sgd", 0, true);
    let b = output("b2", "adam", 1, true);
    write_part(&tmp.0, &a).unwrap();
    merge(&tmp.0).unwrap();
    write_part(&tmp.0, &b).unwrap();
    let done = finished_outputs(&tmp.0, |_| true).unwrap();
    assert_eq!(done.len(), 2);
    assert_eq!(done["a1"].metrics, a.metrics);
    assert_eq!(done["b2"].record, b.record);
    assert!(
        done["a1"].predictions.is_empty(),
        "a resume needs no predictions"
    );
    let only_b = finished_outputs(&tmp.0, |id| id == "b2").unwrap();
    assert_eq!(only_b.keys().collect::<Vec<_>>(), ["b2"]);
}

#[test]
fn metrics_of_results_format_1_read_with_one_sample() {
    let tmp = TempDir::new("format1");
    let out = output("r1", "sgd", 0, true);
    write_part(&tmp.0, &out).unwrap();
    merge(&tmp.0).unwrap();
    // The same metrics written without the `samples` column, as format 1 wrote them.
    let path = tmp.0.join(METRICS_FILE);
    let mut df = frames::metrics_df(out.metrics.iter().map(|m| ("r1", m))).unwrap();
    df.drop_in_place("samples").unwrap();
    fs::write(
        &path,
        frames::encode(&mut df, frames::Encoding::Merged, None, &path).unwrap(),
    )
    .unwrap();
    let loaded = load(&tmp.0).unwrap();
    assert_eq!(loaded.metrics.len(), out.metrics.len());
    assert!(loaded.metrics.iter().all(|(_, m)| m.samples == 1));
    let with_column = out.metrics.iter().map(|m| m.samples).collect::<Vec<_>>();
    assert!(
        with_column.iter().any(|&s| s > 1),
        "the test data has other counts"
    );
}
