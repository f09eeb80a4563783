//! The command line: `run`, `check`, `report`, `list`, `merge`, `bench`.
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
                 bayeslab merge {}",
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
/// estimate of the work (parameters, optimisation steps, floating-point operations ≈ 6 · params ·
/// examples seen, counting the forward pass as 2 and the backward pass as 4 per weight).
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
    let mut total_flop = 0.0;
    for variant in &experiment.variants {
        for method in &experiment.methods {
            let runs: Vec<_> = experiment
                .runs
                .iter()
                .filter(|r| &r.config.variant == variant && &r.config.method == method)
                .collect();
            let config = &runs[0].config;
            let prepared = data.prepare(config)?;
            let n_train = prepared.train.len();
            let params = crate::method::build_network(config, &prepared.train).n_params();
            let epochs = config.epochs_of_work() as usize;
            let steps = epochs * n_train.div_ceil(config.train.batch_size.max(1));
            let flop = 6.0 * params as f64 * (n_train * epochs) as f64;
            total_flop += flop * runs.len() as f64;
            let _ = writeln!(
                out,
                "  {:<16} {:<28} {:>8} {:>7} {:>10} {:>12.3}",
                method,
                variant,
                params,
                epochs,
                steps,
                flop / 1e9
            );
        }
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
        total_flop / 1e9
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
