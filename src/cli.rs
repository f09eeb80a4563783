//! The command line: `run`, `check`, `report`, `list`, `merge`, `slurm`, `bench`.
//!
//! Argument types (clap) and what each command does, as library functions so tests can call them.
//! `main.rs` only parses, calls [`dispatch`] and maps the result to an exit code.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use clap::{Args, Parser, Subcommand};

use crate::data::DataCache;
use crate::error::{Error, Result, SpecError};
use crate::runner::{self, RunOptions};
use crate::spec::{self, Experiment};

/// Experiments shipped with bayeslab: (name, text). `quickstart` is the default of `run`.
pub const SHIPPED: &[(&str, &str)] = &[
    ("quickstart", spec::QUICKSTART),
    ("uci_point", include_str!("../experiments/uci_point.toml")),
    ("uci_sgmcmc", include_str!("../experiments/uci_sgmcmc.toml")),
    (
        "toy_uncertainty",
        include_str!("../experiments/toy_uncertainty.toml"),
    ),
    (
        "mnist_psgld",
        include_str!("../experiments/mnist_psgld.toml"),
    ),
    ("tune_uci", include_str!("../experiments/tune_uci.toml")),
    (
        "tune_concrete_2d",
        include_str!("../experiments/tune_concrete_2d.toml"),
    ),
    (
        "bo_benchmarks",
        include_str!("../experiments/bo_benchmarks.toml"),
    ),
    (
        "uci_benchmark",
        include_str!("../experiments/uci_benchmark.toml"),
    ),
    (
        "uci_mc_dropout_grid",
        include_str!("../experiments/uci_mc_dropout_grid.toml"),
    ),
    ("mnist_ood", include_str!("../experiments/mnist_ood.toml")),
];

#[derive(Debug, Parser)]
#[command(
    name = "bayeslab",
    version,
    about = "Batch experiments comparing how neural networks are trained and how their uncertainty is estimated",
    long_about = "Batch experiments comparing how neural networks are trained and how their \
                  uncertainty is estimated.\n\nOne TOML file describes an experiment; `bayeslab run` \
                  executes it and writes Parquet results to results/<name>/ and tables and plots \
                  to reports/<name>/."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run an experiment: results/<name>/*.parquet, then reports/<name>/
    Run(RunArgs),
    /// Validate an experiment and print its plan without running it
    Check(CheckArgs),
    /// Render tables and plots from a results directory
    Report(ReportArgs),
    /// List the shipped experiments
    List,
    /// Merge the finished parts of a results directory (after shards) into its Parquet files
    Merge(MergeArgs),
    /// Write (and with --submit, submit) Slurm jobs that run an experiment as a job array of
    /// shards, then merge them and render the report
    Slurm(SlurmArgs),
    /// Measure GEMM throughput and training-step speed on this machine
    Bench(BenchArgs),
}

/// Arguments naming an experiment and overrides.
#[derive(Debug, Args)]
pub struct SpecArgs {
    /// Experiment file, or the name of a shipped one (`bayeslab list`); default: the quickstart
    #[arg(value_name = "EXPERIMENT")]
    pub experiment: Option<String>,
    /// Override a key of the file, with the same checks: --set train.epochs=10,
    /// --set methods.adam.optimizer.lr=1e-3 (repeatable)
    #[arg(long = "set", value_name = "KEY.PATH=VALUE")]
    pub sets: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub spec: SpecArgs,
    /// Write results/<name>/ and reports/<name>/ under this directory
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out: PathBuf,
    /// Runs executed at once (default: all cores)
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Skip runs that already finished successfully
    #[arg(long)]
    pub resume: bool,
    /// Run only shard K of N (1-based), e.g. --shard 2/4; merge the parts afterwards
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    pub shard: Option<(usize, usize)>,
    /// Do not render the report after the batch
    #[arg(long)]
    pub no_report: bool,
    /// No progress bar or per-run lines
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub spec: SpecArgs,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A results directory, e.g. results/quickstart
    pub results_dir: PathBuf,
    /// Where to write the report (default: reports/<name> beside results/)
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// A results directory, e.g. results/quickstart
    pub results_dir: PathBuf,
    /// The batch ran as N shards (--shard K/N): record every shard in manifest.json, name the
    /// shards that did not finish, and exit 1 if any did not or if runs failed
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub shards: Option<u32>,
}

#[derive(Debug, Args)]
pub struct SlurmArgs {
    #[command(flatten)]
    pub spec: SpecArgs,
    /// Array tasks, one shard each (default: from the work estimate, each task at most about an
    /// hour, at most one per run or search)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub tasks: Option<u32>,
    /// Time limit of each array task, HH:MM:SS or D-HH:MM:SS (default: 3 x the estimate per
    /// task, at least 00:10:00)
    #[arg(long, value_name = "HH:MM:SS", value_parser = crate::cluster::WallTime::parse)]
    pub time: Option<crate::cluster::WallTime>,
    /// CPUs of each array task; its runs execute this many at once (--jobs)
    #[arg(long, value_name = "C", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub cpus_per_task: u32,
    /// Memory of each job, in Slurm's form (4G, 500M)
    #[arg(long, value_name = "M")]
    pub mem: Option<String>,
    /// Slurm partition of both jobs
    #[arg(long, value_name = "P")]
    pub partition: Option<String>,
    /// A further `#SBATCH --option` line for both jobs (repeatable), e.g.
    /// --extra '#SBATCH --account=myproject'
    #[arg(long, value_name = "'#SBATCH ...'", allow_hyphen_values = true)]
    pub extra: Vec<String>,
    /// Root of results/<name>/ and reports/<name>/ (as `run --out`); the scripts go to
    /// <DIR>/slurm/<name>/
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out: PathBuf,
    /// The bayeslab binary the jobs run (default: this one)
    #[arg(long, value_name = "PATH")]
    pub bayeslab: Option<PathBuf>,
    /// Submit the array and the merge job with sbatch and print their job ids
    #[arg(long)]
    pub submit: bool,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Thread counts to measure, e.g. --threads 1,2
    #[arg(long, value_delimiter = ',', default_values_t = vec![1, 2])]
    pub threads: Vec<usize>,
    /// Instead: time GP-BO proposals (GP fit + acquisition) on Hartmann-6 up to this many trials
    #[arg(long, value_name = "TRIALS")]
    pub search: Option<usize>,
    /// Instead: time the harness on batches of this many tiny runs (fresh batch, resume, merge,
    /// files on disk), e.g. --batches 1000,10000,100000
    #[arg(long, value_delimiter = ',', value_name = "RUNS")]
    pub batches: Option<Vec<usize>>,
    /// Instead: time SG-MCMC steps (SGLD, pSGLD) against their optimizer twins on the
    /// 784-400-400-10 MLP, and the normal generator
    #[arg(long)]
    pub sampling: bool,
    /// Instead: time MC-dropout evaluation passes (T = 100 over 10k rows of the 784-400-400-10
    /// MLP, dropout 0.5) against plain ones
    #[arg(long)]
    pub mc_dropout: bool,
}

fn parse_shard(text: &str) -> std::result::Result<(usize, usize), String> {
    let (k, n) = text
        .split_once('/')
        .ok_or_else(|| format!("`{text}`: expected K/N, e.g. 1/4"))?;
    let k: usize = k
        .trim()
        .parse()
        .map_err(|_| format!("`{k}` is not a number"))?;
    let n: usize = n
        .trim()
        .parse()
        .map_err(|_| format!("`{n}` is not a number"))?;
    if n == 0 || k == 0 || k > n {
        return Err(format!("`{text}`: need 1 <= K <= N"));
    }
    Ok((k, n))
}

/// What a command ended with: the process exit code (0 ok, 1 some runs failed or were cancelled).
pub type ExitCode = i32;

/// Loads the experiment named on the command line: a file path, a shipped name, or the
/// quickstart when none is given.
pub fn load_experiment(args: &SpecArgs) -> Result<Experiment, SpecError> {
    let Some(given) = &args.experiment else {
        return spec::parse("<embedded quickstart>", spec::QUICKSTART, &args.sets);
    };
    let path = Path::new(given);
    if path.exists() {
        return spec::load_file(path, &args.sets);
    }
    if let Some((name, text)) = SHIPPED.iter().find(|(name, _)| name == given) {
        let local = PathBuf::from(format!("experiments/{name}.toml"));
        if local.is_file() {
            return spec::load_file(&local, &args.sets);
        }
        return spec::parse(&format!("<embedded {name}>"), text, &args.sets);
    }
    let names: Vec<&str> = SHIPPED.iter().map(|(n, _)| *n).collect();
    Err(SpecError::new(
        given,
        "(file)",
        format!(
            "no such file, and not a shipped experiment (those are: {})",
            names.join(", ")
        ),
    ))
}

/// Runs a parsed command line; `cancel` is set by Ctrl-C.
pub fn dispatch(cli: Cli, cancel: &AtomicBool) -> Result<ExitCode> {
    match cli.command {
        Command::Run(args) => run(args, cancel),
        Command::Check(args) => {
            let experiment = load_experiment(&args.spec)?;
            print!("{}", plan_summary(&experiment)?);
            Ok(0)
        }
        Command::Report(args) => {
            let out = match args.out {
                Some(out) => out,
                None => default_report_dir(&args.results_dir)?,
            };
            crate::report::write_report(&args.results_dir, &out)?;
            println!("report written to {}", out.display());
            Ok(0)
        }
        Command::List => {
            for (name, text) in SHIPPED {
                let description = spec::parse(name, text, &[])
                    .map(|e| e.description)
                    .unwrap_or_default();
                println!("{name:<14} {description}");
            }
            Ok(0)
        }
        Command::Merge(args) => {
            if let Some(n) = args.shards {
                return merge_shards(&args.results_dir, n as usize);
            }
            let s = crate::store::merge(&args.results_dir)?;
            println!(
                "{}: merged {} run(s) ({} ok, {} failed), {} metric row(s), {} prediction row(s)",
                args.results_dir.display(),
                s.runs_ok + s.runs_failed,
                s.runs_ok,
                s.runs_failed,
                s.metric_rows,
                s.prediction_rows
            );
            Ok(0)
        }
        Command::Slurm(args) => slurm(args),
        Command::Bench(args) => {
            if let Some(sizes) = &args.batches {
                let figures = crate::bench::batches::run_batch_benchmarks(sizes)?;
                print!("{}", crate::bench::batches::BatchReport(&figures));
            } else if args.mc_dropout {
                let figures = crate::bench::mc_dropout::run_mc_dropout_benchmarks();
                print!("{}", crate::bench::sampling::SamplingReport(&figures));
            } else if args.sampling {
                let figures = crate::bench::sampling::run_sampling_benchmarks();
                print!("{}", crate::bench::sampling::SamplingReport(&figures));
            } else if let Some(trials) = args.search {
                print!("{}", search_bench(trials)?);
            } else {
                crate::bench::print_report(&crate::bench::run_benchmarks(&args.threads));
            }
            Ok(0)
        }
    }
}

fn run(args: RunArgs, cancel: &AtomicBool) -> Result<ExitCode> {
    let experiment = load_experiment(&args.spec)?;
    let options = RunOptions {
        root: args.out,
        jobs: args.jobs.unwrap_or(RunOptions::default().jobs),
        resume: args.resume,
        shard: args.shard,
        progress: !args.quiet,
        report: !args.no_report,
    };
    let summary = runner::run(&experiment, &options, cancel)?;
    if !args.quiet {
        eprintln!(
            "{}: {} run(s) ok, {} failed, {} skipped (already done){}; results in {}{}",
            experiment.name,
            summary.ok,
            summary.failed,
            summary.skipped,
            if summary.cancelled {
                ", interrupted: run again with --resume to finish"
            } else {
                ""
            },
            summary.results_dir.display(),
            summary
                .report_dir
                .as_ref()
                .map(|d| format!(", report in {}", d.display()))
                .unwrap_or_default()
        );
        if let Some((k, n)) = args.shard {
            eprintln!(
                "shard {k}/{n} wrote its parts only; when every shard is done, merge them once: \
                 bayeslab merge {} --shards {n}",
                summary.results_dir.display()
            );
        }
    }
    Ok(if summary.failed > 0 || summary.cancelled {
        1
    } else {
        0
    })
}

/// `bayeslab merge DIR --shards N`: the merge, then what became of each shard.
fn merge_shards(results_dir: &Path, n: usize) -> Result<ExitCode> {
    let m = crate::cluster::merge_shards(results_dir, n)?;
    println!(
        "{}: merged {} run(s) ({} ok, {} failed) of {n} shard(s), {} metric row(s)",
        results_dir.display(),
        m.merge.runs_ok + m.merge.runs_failed,
        m.merge.runs_ok,
        m.merge.runs_failed,
        m.merge.metric_rows
    );
    let list = |ks: &[usize]| {
        ks.iter()
            .map(|k| k.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    if !m.missing.is_empty() {
        eprintln!(
            "shard(s) {} of {n} left no record: they never started",
            list(&m.missing)
        );
    }
    if !m.unfinished.is_empty() {
        eprintln!(
            "shard(s) {} of {n} did not finish (killed, timed out, cancelled, or still running)",
            list(&m.unfinished)
        );
    }
    let rerun = m.to_rerun();
    if !rerun.is_empty() {
        eprintln!(
            "run them again (they resume), e.g. array tasks: sbatch --array={} <array script>; \
             then merge again",
            list(&rerun)
        );
    }
    if m.merge.runs_failed > 0 {
        eprintln!(
            "{} run(s) failed (see the error column of runs.parquet); rerunning their shards \
             retries them",
            m.merge.runs_failed
        );
    }
    Ok(if rerun.is_empty() && m.merge.runs_failed == 0 {
        0
    } else {
        1
    })
}

/// `bayeslab slurm`: checks the options, sizes the array from the work estimate, writes the
/// scripts, prints them, and with `--submit` submits them.
fn slurm(args: SlurmArgs) -> Result<ExitCode> {
    use crate::cluster::{self, SlurmJob};
    let experiment = load_experiment(&args.spec)?;
    if experiment.benchmark.is_some() {
        return Err(Error::Usage(format!(
            "{}: a [benchmark] experiment runs in one process in seconds; run it with `bayeslab run`",
            experiment.file
        )));
    }
    if let Some(mem) = &args.mem {
        cluster::check_mem(mem)?;
    }
    if let Some(partition) = &args.partition {
        cluster::check_partition(partition)?;
    }
    for line in &args.extra {
        cluster::check_extra(line)?;
    }
    let work = crate::estimate::WorkEstimate::of(&experiment)?;
    let cpus = args.cpus_per_task as usize;
    let tasks = match args.tasks {
        Some(t) if t as usize > work.shard_units() => {
            return Err(Error::Usage(format!(
                "--tasks {t}: {} has only {} shard unit(s) ({} run(s), {} search(es)); use --tasks {} or fewer",
                experiment.name,
                work.shard_units(),
                work.runs,
                work.searches,
                work.shard_units()
            )));
        }
        Some(t) => t as usize,
        None => cluster::default_tasks(&work, cpus),
    };
    let absolute = |p: &Path| -> Result<PathBuf> {
        std::path::absolute(p)
            .map_err(|e| Error::Usage(format!("{}: cannot make it absolute: {e}", p.display())))
    };
    let bayeslab = match &args.bayeslab {
        Some(path) if !path.is_file() => {
            return Err(Error::Usage(format!(
                "--bayeslab {}: no such file; give the path of the bayeslab binary the jobs should run",
                path.display()
            )));
        }
        Some(path) => absolute(path)?,
        None => std::env::current_exe().map_err(|e| {
            Error::Usage(format!(
                "cannot find this binary's path ({e}); give it with --bayeslab PATH"
            ))
        })?,
    };
    let given = args
        .spec
        .experiment
        .clone()
        .unwrap_or_else(|| "quickstart".into());
    let experiment_arg = if Path::new(&given).exists() {
        absolute(Path::new(&given))?.display().to_string()
    } else {
        given
    };
    let root = absolute(&args.out)?;
    let job = SlurmJob {
        name: experiment.name.clone(),
        experiment: experiment_arg,
        sets: args.spec.sets.clone(),
        bayeslab,
        workdir: absolute(Path::new("."))?,
        script_dir: root.join("slurm").join(&experiment.name),
        root,
        tasks,
        time: args
            .time
            .unwrap_or_else(|| cluster::default_time(&work, cpus, tasks)),
        time_given: args.time.is_some(),
        cpus_per_task: cpus,
        mem: args.mem.clone(),
        partition: args.partition.clone(),
        extra: args.extra.clone(),
        work,
    };
    let (array, merge) = job.write()?;
    println!("==> {} <==\n{}", array.display(), job.array_script());
    println!("==> {} <==\n{}", merge.display(), job.merge_script());
    if args.submit {
        let (array_id, merge_id) = cluster::submit(&array, &merge)?;
        println!(
            "submitted array job {array_id} ({tasks} task(s), shards 1/{tasks} to {tasks}/{tasks})"
        );
        println!("submitted merge job {merge_id} (after the array job ends: afterany:{array_id})");
    } else {
        println!(
            "submit them with: sbatch {} and then sbatch --dependency=afterany:<array job id> {} \
             (or run this again with --submit)",
            array.display(),
            merge.display()
        );
    }
    Ok(0)
}

/// `results/X` → `reports/X` (sibling of `results/`); other layouts need `--out`.
fn default_report_dir(results_dir: &Path) -> Result<PathBuf> {
    let name = results_dir.file_name();
    let parent = results_dir.parent();
    match (name, parent) {
        (Some(name), Some(parent)) if parent.file_name().is_some_and(|p| p == "results") => {
            Ok(parent
                .parent()
                .unwrap_or(Path::new(""))
                .join("reports")
                .join(name))
        }
        (Some(name), Some(parent)) if parent.as_os_str().is_empty() => {
            Ok(PathBuf::from("reports").join(name))
        }
        _ => Err(Error::Report(format!(
            "{}: not of the form results/<name>; give the report directory with --out",
            results_dir.display()
        ))),
    }
}

/// The plan of an experiment as text: runs per method and variant, seeds, splits, and an
/// estimate of the work ([`crate::estimate`]: parameters, optimisation steps, floating-point
/// operations ≈ 6 · params · examples seen, and a wall time at an assumed rate).
pub fn plan_summary(experiment: &Experiment) -> Result<String> {
    let data = DataCache::load(&experiment.runs)?;
    let mut out = String::new();
    let _ = writeln!(out, "experiment {} ({})", experiment.name, experiment.file);
    if !experiment.description.is_empty() {
        let _ = writeln!(out, "  {}", experiment.description);
    }
    if let Some(b) = &experiment.benchmark {
        let names: Vec<&str> = b.functions.iter().map(|f| f.name).collect();
        let strategies: Vec<&str> = b.strategies.iter().map(|(l, _)| l.as_str()).collect();
        let _ = writeln!(
            out,
            "  benchmark: {} searches = {} function(s) [{}] x {} strateg(ies) [{}] x {} repeat(s), {} evaluations each",
            names.len() * strategies.len() * b.repeats,
            names.len(),
            names.join(", "),
            strategies.len(),
            strategies.join(", "),
            b.repeats,
            b.budget
        );
        return Ok(out);
    }
    let first = &experiment.runs[0].config;
    let n_splits = first.data.split.n_splits();
    let _ = writeln!(
        out,
        "  {} runs = {} method(s) x {} variant(s) x {} seed(s) x {} split(s); master seed {}",
        experiment.runs.len(),
        experiment.methods.len(),
        experiment.variants.len(),
        experiment.seeds.len(),
        n_splits,
        experiment.master_seed
    );
    let set = data.get(first)?;
    let _ = writeln!(
        out,
        "  data: {:?} task, {} rows x {} features",
        first.data.task(),
        set.len(),
        set.n_features()
    );
    let _ = writeln!(
        out,
        "  {:<16} {:<28} {:>8} {:>7} {:>10} {:>12}",
        "method", "variant", "params", "epochs", "steps/run", "GFLOP/run"
    );
    let work = crate::estimate::WorkEstimate::with_data(experiment, &data)?;
    for row in &work.rows {
        let _ = writeln!(
            out,
            "  {:<16} {:<28} {:>8} {:>7} {:>10} {:>12.3}",
            row.method,
            row.variant,
            row.params,
            row.epochs,
            row.steps,
            row.flop / 1e9
        );
    }
    if let Some(tune) = &experiment.tune {
        let strategies: Vec<&str> = tune.strategies.iter().map(|(l, _)| l.as_str()).collect();
        let _ = writeln!(
            out,
            "  search of `{}` by {} ({:?}): {} trial(s) x {} strateg(ies) [{}] x {} repeat(s) over {} key(s){}",
            tune.method,
            tune.objective,
            tune.direction,
            tune.budget,
            strategies.len(),
            strategies.join(", "),
            tune.repeats,
            tune.space.params.len(),
            if tune.final_runs {
                ", then each best over every seed and split"
            } else {
                ""
            }
        );
    }
    let _ = writeln!(
        out,
        "  total: about {:.2} GFLOP of training for the plan (plus evaluation and search)",
        work.plan_flop() / 1e9
    );
    if work.searches > 0 {
        let _ = writeln!(
            out,
            "  search: about {:.2} GFLOP more ({} search(es) x {} run(s))",
            (work.total_flop() - work.plan_flop()) / 1e9,
            work.searches,
            work.runs_per_search
        );
    }
    let _ = writeln!(
        out,
        "  time: about {} on one core, assuming {:.0} GFLOP/s per core plus {:.0} us per step \
         (training only; {} shard unit(s) for --shard and `bayeslab slurm`)",
        crate::estimate::human_seconds(work.seconds(1)),
        crate::estimate::FLOP_PER_CORE_S / 1e9,
        crate::estimate::STEP_OVERHEAD_S * 1e6,
        work.shard_units()
    );
    Ok(out)
}

/// Times GP-BO proposals on Hartmann-6 (one search, one core): median and maximum milliseconds
/// per model-based proposal in windows of 20 trials ending at 80 and at `trials`. The budget
/// exceeds `trials` by a ninth, so that both windows come before the search's end game (its last
/// 10 %, which skips the global acquisition and would be cheaper).
pub fn search_bench(trials: usize) -> Result<String> {
    let trials = trials.max(80);
    crate::nn::set_blas_threads(1);
    let strategy = crate::tune::StrategyConfig::Bo(Default::default());
    let budget = trials + trials.div_ceil(9) + 1;
    let result =
        crate::tune::search_function("hartmann6", &strategy, budget, 1).map_err(Error::Other)?;
    let mut out = String::from(
        "GP-BO on Hartmann-6 (6-D), one core: ms per proposal (GP fit + acquisition)\n",
    );
    for end in [80, trials] {
        let (median, max) = result.proposal_time(end - 20, end);
        let _ = writeln!(
            out,
            "  trials {:>4}..{:<4} median {median:8.2} ms, max {max:8.2} ms",
            end - 20,
            end
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_experiment_parses_and_names_itself() {
        for (name, text) in SHIPPED {
            let experiment = spec::parse(&format!("<embedded {name}>"), text, &[])
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(experiment.name, *name);
        }
    }
}
