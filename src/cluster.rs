//! Batches on a cluster: the record each shard leaves, the merge of all shards, and Slurm job
//! scripts that run an experiment as a job array (one shard per array task) followed by a merge
//! job.
//!
//! A shard (`bayeslab run --shard K/N`) writes its parts and, beside them,
//! `results/<name>/shards/K-of-N.json`: host, process, start and end time, what it ran and
//! whether it finished. [`merge_shards`] merges the parts once, when the array is done, records
//! every shard in `manifest.json`, and names the shards that did not finish, so the user reruns
//! exactly those array tasks (they resume). This module writes scripts and calls `sbatch`; it
//! never schedules anything itself.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::estimate::{self, WorkEstimate};
use crate::runner::{unix_seconds, write_text};
use crate::store::{self, MergeSummary};

/// Directory of the shard records inside `results/<name>/`.
pub const SHARDS_DIR: &str = "shards";

/// The record file of shard `k` of `n`: `shards/K-of-N.json`.
pub fn shard_record_path(results: &Path, k: usize, n: usize) -> PathBuf {
    results.join(SHARDS_DIR).join(format!("{k}-of-{n}.json"))
}

/// The record of one shard in progress: written when it starts (`state` = `running`) and again
/// when it ends (`done`, or `interrupted` when it was cancelled).
pub struct ShardRecord {
    path: PathBuf,
    record: Value,
}

impl ShardRecord {
    /// Writes the record of shard `(k, n)` that is starting with `runs` runs of the plan and
    /// `searches` searches.
    pub fn start(
        results: &Path,
        (k, n): (usize, usize),
        runs: usize,
        searches: usize,
    ) -> Result<ShardRecord> {
        let env = |name: &str| std::env::var(name).ok();
        let record = json!({
            "shard": format!("{k}/{n}"),
            "state": "running",
            "host": store::host_name(),
            "pid": std::process::id(),
            "start_unix_s": unix_seconds(SystemTime::now()),
            "end_unix_s": null,
            "runs": runs,
            "searches": searches,
            "slurm_job_id": env("SLURM_JOB_ID"),
            "slurm_array_job_id": env("SLURM_ARRAY_JOB_ID"),
            "slurm_array_task_id": env("SLURM_ARRAY_TASK_ID"),
            "bayeslab_version": env!("CARGO_PKG_VERSION"),
            "command_line": std::env::args().collect::<Vec<_>>(),
        });
        let path = shard_record_path(results, k, n);
        let dir = results.join(SHARDS_DIR);
        std::fs::create_dir_all(&dir).map_err(|e| {
            Error::Store(crate::error::StoreError::Io {
                path: dir.clone(),
                message: format!("cannot create directory: {e}"),
            })
        })?;
        let shard = ShardRecord { path, record };
        shard.write()?;
        Ok(shard)
    }

    /// Rewrites the record of a shard that ended: what its worker counted.
    pub fn finish(
        mut self,
        ok: usize,
        failed: usize,
        skipped: usize,
        cancelled: bool,
    ) -> Result<()> {
        let r = &mut self.record;
        r["state"] = json!(if cancelled { "interrupted" } else { "done" });
        r["end_unix_s"] = json!(unix_seconds(SystemTime::now()));
        r["ok"] = json!(ok);
        r["failed"] = json!(failed);
        r["skipped"] = json!(skipped);
        self.write()
    }

    fn write(&self) -> Result<()> {
        write_text(
            &self.path,
            &serde_json::to_string_pretty(&self.record).expect("json serialises"),
        )
    }
}

/// What [`merge_shards`] found and did.
#[derive(Clone, Debug, PartialEq)]
pub struct ShardsMerged {
    pub merge: MergeSummary,
    /// Shards without a record: never started (or their task never ran).
    pub missing: Vec<usize>,
    /// Shards whose record says `running` or `interrupted`: killed, timed out, cancelled, or
    /// still running.
    pub unfinished: Vec<usize>,
}

impl ShardsMerged {
    /// Shards to run again (missing or unfinished), in order.
    pub fn to_rerun(&self) -> Vec<usize> {
        let mut k: Vec<usize> = self
            .missing
            .iter()
            .chain(&self.unfinished)
            .copied()
            .collect();
        k.sort_unstable();
        k
    }
}

/// Merges the parts of all `n` shards of a results directory once, writes `manifest.json` with
/// every shard's record (`shards`; `start_unix_s` is the first shard's start), and reports the shards that did not finish. Merges whatever
/// is there even then: a rerun of the missing shards and another merge complete the directory.
pub fn merge_shards(results: &Path, n: usize) -> Result<ShardsMerged> {
    let started = SystemTime::now();
    let merge = store::merge(results)?;
    let mut records = Vec::new();
    let mut missing = Vec::new();
    let mut unfinished = Vec::new();
    for k in 1..=n {
        let path = shard_record_path(results, k, n);
        let Ok(text) = std::fs::read_to_string(&path) else {
            missing.push(k);
            continue;
        };
        let record: Value = serde_json::from_str(&text).map_err(|e| {
            Error::Other(format!(
                "{}: not a shard record ({e}); delete it and run shard {k}/{n} again",
                path.display()
            ))
        })?;
        if record["state"] != "done" {
            unfinished.push(k);
        }
        records.push(record);
    }
    // The batch started when its first shard did.
    let first = records
        .iter()
        .filter_map(|r| r["start_unix_s"].as_u64())
        .min()
        .map_or(started, |s| {
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(s)
        });
    crate::runner::write_manifest(results, first, Some(Value::Array(records)))?;
    Ok(ShardsMerged {
        merge,
        missing,
        unfinished,
    })
}

/// A wall-time limit of a Slurm job, in seconds; written `HH:MM:SS` or `D-HH:MM:SS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WallTime(pub u64);

impl WallTime {
    /// Parses `HH:MM:SS` or `D-HH:MM:SS` (minutes and seconds below 60, not zero in all).
    pub fn parse(text: &str) -> std::result::Result<WallTime, String> {
        let bad =
            || format!("`{text}`: expected HH:MM:SS or D-HH:MM:SS, e.g. 02:00:00 or 1-12:00:00");
        let (days, clock) = match text.split_once('-') {
            Some((d, rest)) => (d.parse::<u64>().map_err(|_| bad())?, rest),
            None => (0, text),
        };
        let fields: Vec<&str> = clock.split(':').collect();
        let [h, m, s] = fields[..] else {
            return Err(bad());
        };
        let num = |f: &str| {
            (!f.is_empty() && f.len() <= 3 && f.chars().all(|c| c.is_ascii_digit()))
                .then(|| f.parse::<u64>().ok())
                .flatten()
                .ok_or_else(bad)
        };
        let (h, m, s) = (num(h)?, num(m)?, num(s)?);
        if m >= 60 || s >= 60 || (days > 0 && h >= 24) {
            return Err(bad());
        }
        let total = ((days * 24 + h) * 60 + m) * 60 + s;
        if total == 0 {
            return Err(format!("`{text}`: a time limit must be longer than zero"));
        }
        Ok(WallTime(total))
    }

    /// `HH:MM:SS` below a day, `D-HH:MM:SS` from one day on.
    pub fn slurm(self) -> String {
        let (d, rest) = (self.0 / 86400, self.0 % 86400);
        let (h, m, s) = (rest / 3600, rest % 3600 / 60, rest % 60);
        if d > 0 {
            format!("{d}-{h:02}:{m:02}:{s:02}")
        } else {
            format!("{h:02}:{m:02}:{s:02}")
        }
    }
}

/// Wall time of one array task: the estimate's seconds per task times this factor, because the
/// estimate's rates are guesses and shards by run id are not perfectly even.
pub const TIME_SAFETY: f64 = 3.0;
/// The shortest time limit `bayeslab slurm` writes by default.
pub const MIN_TIME_S: u64 = 600;
/// What one array task should last at most, by default: enough tasks that each stays below.
pub const TARGET_TASK_S: f64 = 3600.0;
/// The merge job's time limit (a merge and a report take seconds to minutes).
pub const MERGE_TIME: WallTime = WallTime(1800);

/// The default number of array tasks: enough that each lasts at most [`TARGET_TASK_S`] by the
/// estimate, at least 1, at most one per shard unit.
pub fn default_tasks(work: &WorkEstimate, cpus: usize) -> usize {
    let tasks = (work.seconds(cpus) / TARGET_TASK_S).ceil() as usize;
    tasks.clamp(1, work.shard_units().max(1))
}

/// The default time limit of an array task: [`TIME_SAFETY`] × the estimate per task, rounded
/// up to whole minutes, at least [`MIN_TIME_S`].
pub fn default_time(work: &WorkEstimate, cpus: usize, tasks: usize) -> WallTime {
    let per_task = work.seconds(cpus) / tasks.max(1) as f64;
    let minutes = (TIME_SAFETY * per_task / 60.0).ceil() as u64;
    WallTime((minutes * 60).max(MIN_TIME_S))
}

/// Everything the two job scripts say. Paths are absolute: a job runs on another node, maybe
/// with another working directory.
#[derive(Clone, Debug, PartialEq)]
pub struct SlurmJob {
    /// The experiment's name (`results/<name>/`).
    pub name: String,
    /// The experiment as `bayeslab run` takes it: an absolute file path or a shipped name.
    pub experiment: String,
    /// `--set` overrides, as given.
    pub sets: Vec<String>,
    /// The bayeslab binary the jobs run.
    pub bayeslab: PathBuf,
    /// The directory the jobs `cd` to (where `bayeslab slurm` ran).
    pub workdir: PathBuf,
    /// Root of `results/` and `reports/` (`run --out`).
    pub root: PathBuf,
    /// Where the scripts, logs and `merge.exit` go.
    pub script_dir: PathBuf,
    pub tasks: usize,
    pub time: WallTime,
    /// True when `--time` was given (else it came from the estimate).
    pub time_given: bool,
    pub cpus_per_task: usize,
    pub mem: Option<String>,
    pub partition: Option<String>,
    /// Further `#SBATCH ...` lines, as given.
    pub extra: Vec<String>,
    pub work: WorkEstimate,
}

/// The name of the job array's script in [`SlurmJob::script_dir`].
pub const ARRAY_SCRIPT: &str = "array.sh";
/// The name of the merge job's script.
pub const MERGE_SCRIPT: &str = "merge.sh";
/// The file the merge job writes its exit code to.
pub const MERGE_EXIT_FILE: &str = "merge.exit";

/// Quotes a word for a POSIX shell (as is when it has nothing the shell would interpret).
pub fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./=:@%+,-".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

fn path_word(p: &Path) -> String {
    shell_quote(&p.display().to_string())
}

impl SlurmJob {
    fn results(&self) -> PathBuf {
        self.root.join("results").join(&self.name)
    }

    fn common_lines(&self, out: &mut String) {
        if let Some(mem) = &self.mem {
            let _ = writeln!(out, "#SBATCH --mem={mem}");
        }
        if let Some(partition) = &self.partition {
            let _ = writeln!(out, "#SBATCH --partition={partition}");
        }
        for line in &self.extra {
            let _ = writeln!(out, "{line}");
        }
    }

    /// The job array's script: array task K runs shard K of N with `--resume`, so a requeued or
    /// re-submitted task continues where it stopped.
    pub fn array_script(&self) -> String {
        let w = &self.work;
        let per_task = w.seconds(self.cpus_per_task) / self.tasks as f64;
        let mut out = String::new();
        let _ = writeln!(out, "#!/bin/bash");
        let _ = writeln!(
            out,
            "# bayeslab: experiment `{}` as a Slurm job array, one shard per array task.",
            self.name
        );
        let _ = writeln!(
            out,
            "# Written by `bayeslab slurm`. Submit it, then {MERGE_SCRIPT} after it:\n\
             #   sbatch {}\n\
             #   sbatch --dependency=afterany:<array job id> {}\n\
             # (`bayeslab slurm --submit` does both). Rerun unfinished tasks with\n\
             #   sbatch --array=<K,...> {}",
            path_word(&self.script_dir.join(ARRAY_SCRIPT)),
            path_word(&self.script_dir.join(MERGE_SCRIPT)),
            path_word(&self.script_dir.join(ARRAY_SCRIPT)),
        );
        let _ = writeln!(out, "# and they resume: finished runs are skipped.");
        let _ = writeln!(out, "#");
        let _ = writeln!(
            out,
            "# Work (`bayeslab check`): {} run(s) and {} search(es) = {} shard unit(s) over {} task(s);",
            w.runs,
            w.searches,
            w.shard_units(),
            self.tasks
        );
        let _ = writeln!(
            out,
            "# about {:.2} GFLOP of training in {} optimisation steps. At an assumed {:.0} GFLOP/s",
            w.total_flop() / 1e9,
            w.total_steps(),
            estimate::FLOP_PER_CORE_S / 1e9
        );
        let _ = writeln!(
            out,
            "# per core plus {:.0} microseconds per step (a cautious guess; `bayeslab bench` measures),",
            estimate::STEP_OVERHEAD_S * 1e6
        );
        let _ = writeln!(
            out,
            "# about {} per task on {} CPU(s).",
            estimate::human_seconds(per_task),
            self.cpus_per_task
        );
        if self.time_given {
            let _ = writeln!(out, "# Time limit as given (--time {}).", self.time.slurm());
        } else {
            let _ = writeln!(
                out,
                "# Time limit: {TIME_SAFETY} x that, rounded up to whole minutes, at least {} minutes.",
                MIN_TIME_S / 60
            );
        }
        let _ = writeln!(out, "#SBATCH --job-name=bayeslab-{}", self.name);
        let _ = writeln!(out, "#SBATCH --array=1-{}", self.tasks);
        let _ = writeln!(out, "#SBATCH --ntasks=1");
        let _ = writeln!(out, "#SBATCH --cpus-per-task={}", self.cpus_per_task);
        let _ = writeln!(out, "#SBATCH --time={}", self.time.slurm());
        self.common_lines(&mut out);
        let _ = writeln!(
            out,
            "#SBATCH --output={}",
            self.script_dir.join("logs/array-%A_%a.out").display()
        );
        let _ = writeln!(out, "#SBATCH --open-mode=append");
        let _ = writeln!(out, "#SBATCH --requeue");
        let _ = writeln!(out, "set -euo pipefail");
        let _ = writeln!(out, "cd {}", path_word(&self.workdir));
        let mut command = format!(
            "exec {} run {}",
            path_word(&self.bayeslab),
            shell_quote(&self.experiment)
        );
        for set in &self.sets {
            let _ = write!(command, " --set {}", shell_quote(set));
        }
        let _ = writeln!(out, "{command} \\");
        let _ = writeln!(out, "  --out {} \\", path_word(&self.root));
        let _ = writeln!(
            out,
            "  --shard \"${{SLURM_ARRAY_TASK_ID}}/{}\" --jobs \"${{SLURM_CPUS_PER_TASK:-{}}}\" \\",
            self.tasks, self.cpus_per_task
        );
        let _ = writeln!(out, "  --resume --no-report");
        out
    }

    /// The merge job's script: merges all shards once (`bayeslab merge --shards N`), renders the
    /// report, lists the shards that did not finish and exits 1 if any did not; writes its exit
    /// code to `merge.exit` beside the scripts.
    pub fn merge_script(&self) -> String {
        let results = path_word(&self.results());
        let reports = path_word(&self.root.join("reports").join(&self.name));
        let bin = path_word(&self.bayeslab);
        let exit_file = path_word(&self.script_dir.join(MERGE_EXIT_FILE));
        let mut out = String::new();
        let _ = writeln!(out, "#!/bin/bash");
        let _ = writeln!(
            out,
            "# bayeslab: merge the {} shard(s) of `{}` and render its report, after the job array.",
            self.tasks, self.name
        );
        let _ = writeln!(
            out,
            "# Submit it with --dependency=afterany:<array job id>: it runs however the tasks ended,\n\
             # names the shards that did not finish (from their records in {}/shards/),\n\
             # exits 1 if any did not or if runs failed, and writes its exit code to {}.",
            self.results().display(),
            self.script_dir.join(MERGE_EXIT_FILE).display()
        );
        let _ = writeln!(out, "#SBATCH --job-name=bayeslab-{}-merge", self.name);
        let _ = writeln!(out, "#SBATCH --ntasks=1");
        let _ = writeln!(out, "#SBATCH --cpus-per-task=1");
        let _ = writeln!(out, "#SBATCH --time={}", MERGE_TIME.slurm());
        self.common_lines(&mut out);
        let _ = writeln!(
            out,
            "#SBATCH --output={}",
            self.script_dir.join("logs/merge-%j.out").display()
        );
        let _ = writeln!(out, "set -uo pipefail");
        let _ = writeln!(out, "cd {}", path_word(&self.workdir));
        let _ = writeln!(out, "status=0");
        let _ = writeln!(
            out,
            "{bin} merge {results} --shards {} || status=$?",
            self.tasks
        );
        let _ = writeln!(out, "if [ \"$status\" -le 1 ]; then");
        let _ = writeln!(out, "  {bin} report {results} --out {reports} || status=$?");
        let _ = writeln!(out, "fi");
        let _ = writeln!(out, "if [ \"$status\" -ne 0 ]; then");
        let _ = writeln!(
            out,
            "  echo \"rerun the shards named above: sbatch --array=<K,...> {}, then this script\" >&2",
            path_word(&self.script_dir.join(ARRAY_SCRIPT))
        );
        let _ = writeln!(out, "fi");
        let _ = writeln!(out, "echo \"$status\" > {exit_file}");
        let _ = writeln!(out, "exit \"$status\"");
        out
    }

    /// Writes both scripts (executable) and the log directory; removes a `merge.exit` of an
    /// earlier submission.
    pub fn write(&self) -> Result<(PathBuf, PathBuf)> {
        let logs = self.script_dir.join("logs");
        std::fs::create_dir_all(&logs)
            .map_err(|e| Error::Other(format!("{}: cannot create: {e}", logs.display())))?;
        let array = self.script_dir.join(ARRAY_SCRIPT);
        let merge = self.script_dir.join(MERGE_SCRIPT);
        write_text(&array, &self.array_script())?;
        write_text(&merge, &self.merge_script())?;
        #[cfg(unix)]
        for path in [&array, &merge] {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755));
        }
        let _ = std::fs::remove_file(self.script_dir.join(MERGE_EXIT_FILE));
        Ok((array, merge))
    }
}

/// Checks `--mem`: a number with an optional unit K, M, G or T (Slurm's form).
pub fn check_mem(mem: &str) -> Result<()> {
    let digits = mem.trim_end_matches(['K', 'M', 'G', 'T', 'k', 'm', 'g', 't']);
    if digits.is_empty()
        || !digits.chars().all(|c| c.is_ascii_digit())
        || mem.len() > digits.len() + 1
    {
        return Err(Error::Usage(format!(
            "--mem `{mem}`: expected a size such as 4G, 500M or 16000 (megabytes)"
        )));
    }
    Ok(())
}

/// Checks `--partition`: one word.
pub fn check_partition(partition: &str) -> Result<()> {
    if partition.is_empty() || partition.chars().any(|c| c.is_whitespace() || c == '#') {
        return Err(Error::Usage(format!(
            "--partition `{partition}`: expected one partition name (see `sinfo`), e.g. --partition batch"
        )));
    }
    Ok(())
}

/// Checks an `--extra` line: one `#SBATCH ...` directive.
pub fn check_extra(line: &str) -> Result<()> {
    if !line.starts_with("#SBATCH --") || line.contains('\n') || line.contains('\r') {
        return Err(Error::Usage(format!(
            "--extra `{line}`: expected one `#SBATCH --option` line, e.g. --extra '#SBATCH --account=myproject'"
        )));
    }
    Ok(())
}

/// Submits the array script, then the merge script depending on it (`afterany`, so it runs
/// however the tasks end and names those that did not finish). Returns (array id, merge id).
pub fn submit(array: &Path, merge: &Path) -> Result<(String, String)> {
    let array_id = sbatch(&[], array)?;
    let merge_id = sbatch(&[format!("--dependency=afterany:{array_id}")], merge)?;
    Ok((array_id, merge_id))
}

/// Runs `sbatch --parsable [args] script` and returns the job id.
fn sbatch(args: &[String], script: &Path) -> Result<String> {
    let output = Command::new("sbatch")
        .arg("--parsable")
        .args(args)
        .arg(script)
        .output()
        .map_err(|e| {
            Error::Usage(if e.kind() == std::io::ErrorKind::NotFound {
                format!(
                    "--submit: `sbatch` is not on PATH; run this on a Slurm login node, or submit the \
                     written scripts there yourself: sbatch {}",
                    script.display()
                )
            } else {
                format!("--submit: cannot run sbatch: {e}")
            })
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let id = stdout.trim().split(';').next().unwrap_or("").to_string();
    if !output.status.success() || id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        return Err(Error::Usage(format!(
            "--submit: sbatch refused {} ({}): {}{}",
            script.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim(),
            stdout.trim()
        )));
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_times_parse_and_print_in_slurms_forms() {
        assert_eq!(WallTime::parse("00:10:00"), Ok(WallTime(600)));
        assert_eq!(WallTime::parse("1-02:03:04").unwrap().0, 93784);
        assert_eq!(WallTime(93784).slurm(), "1-02:03:04");
        assert_eq!(WallTime(600).slurm(), "00:10:00");
        assert_eq!(WallTime::parse("36:00:00").unwrap().slurm(), "1-12:00:00");
        for bad in [
            "10",
            "1h",
            "00:60:00",
            "00:00:61",
            "1-24:00:00",
            "a:b:c",
            "",
            "00:00:00",
        ] {
            let e = WallTime::parse(bad).unwrap_err();
            assert!(e.contains("HH:MM:SS") || e.contains("zero"), "{bad}: {e}");
        }
    }

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_quote("train.epochs=10"), "train.epochs=10");
        assert_eq!(shell_quote("/a b/c"), "'/a b/c'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn options_that_sbatch_would_reject_are_refused_first() {
        assert!(check_mem("4G").is_ok() && check_mem("16000").is_ok());
        for bad in ["4GB", "G", "-1", "4 G"] {
            assert!(check_mem(bad).is_err(), "{bad}");
        }
        assert!(check_extra("#SBATCH --account=x").is_ok());
        assert!(check_extra("--account=x").is_err());
        assert!(check_extra("#SBATCH --a\nrm -rf /").is_err());
        assert!(check_partition("batch").is_ok());
        assert!(check_partition("a b").is_err());
    }
}
