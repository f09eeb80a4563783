//! Reports: tables (Markdown, LaTeX booktabs, CSV) and plots (PNG and SVG) from merged results.
//!
//! Owns the presentation of results only: it reads `results/<name>/` (merged Parquet,
//! `spec.toml` and, after a search, the run's plan of it `search.json`) and writes
//! `reports/<name>/`; it never runs or re-scores anything. Everything is a
//! function of in-memory [`Results`] ([`table::table`], [`plots::learning_curves`], ...), with
//! [`write_report`] a thin wrapper that reads and writes files. Output is deterministic: the same
//! results give the same bytes.

pub mod classification;
pub mod diagnostics;
pub mod gp_view;
pub mod paired;
pub mod plots;
pub mod published;
pub mod sampling;
pub mod search;
pub mod selection;
pub mod table;

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, SpecError};
use crate::spec::report::{ReportOptions, Spread};
use crate::spec::tune::{TRIAL_PREFIX, TUNED_PREFIX};
use crate::spec::{SEARCH_PLAN_FILE, SearchPlan};
use crate::store::{self, Results, RunStatus, TrialRow};

pub use plots::{BandPanel, Curve, CurvePanel, CurvePoint};
pub use search::{
    ConvergencePanel, Quantiles, SearchKind, SearchSetup, SearchTable, convergence, search_table,
};
pub use table::{Cell, FailedRun, Row, Table};

/// The variant under which a run enters the main table and the learning curves: None for a
/// search trial (`trial:<strategy>:<repeat>:<trial>`, shown in the search part instead),
/// `tuned:<strategy>` for a re-run of a search's best (`tuned:<strategy>:<repeat>`, so all
/// repeats of a strategy pool into one row), the variant itself otherwise.
pub fn pooled_variant(variant: &str) -> Option<&str> {
    if variant.starts_with(TRIAL_PREFIX) {
        return None;
    }
    if let Some(rest) = variant.strip_prefix(TUNED_PREFIX)
        && let Some((strategy, repeat)) = rest.rsplit_once(':')
        && !strategy.is_empty()
        && !repeat.is_empty()
        && repeat.bytes().all(|b| b.is_ascii_digit())
    {
        return Some(&variant[..TUNED_PREFIX.len() + strategy.len()]);
    }
    Some(variant)
}

/// Whether two (pooled) variants hold comparable values: the same variant, or the `default` and
/// `tuned:*` configurations of one search experiment (one data set, different hyperparameters).
pub fn comparable_variants(a: &str, b: &str) -> bool {
    let searched = |v: &str| v == "default" || v.starts_with(TUNED_PREFIX);
    a == b || (searched(a) && searched(b))
}

/// Title, description and options of a report, read from `spec.toml`.
#[derive(Clone, Debug, PartialEq)]
pub struct ReportMeta {
    pub name: String,
    pub description: Option<String>,
    pub options: ReportOptions,
    /// Method names in the order of the spec's `[[methods]]`; table rows and plot panels follow
    /// it (runs of other methods come after, in order of first appearance). Empty: first
    /// appearance in the runs.
    pub method_order: Vec<String>,
    /// Variant labels in plan order (the spec's `[sweep]` expanded); table rows are grouped by
    /// variant in this order. Empty: first appearance in the runs.
    pub variant_order: Vec<String>,
    /// The command that regenerates the report, shown in its README.
    pub command: String,
    /// The run's plan of its `[tune]` or `[benchmark]` search (`search.json`); None for an
    /// experiment without a search.
    pub search: Option<SearchSetup>,
}

/// What [`write_report`] wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct ReportSummary {
    pub out_dir: PathBuf,
    /// Every file written, in order.
    pub files: Vec<PathBuf>,
    pub runs_ok: usize,
    pub runs_failed: usize,
    /// Requested plots that were skipped, with the reason.
    pub skipped: Vec<String>,
}

/// Reads the search plan (`search.json`) of a results directory; None when there is none.
fn read_search_plan(results_dir: &Path) -> Result<Option<SearchPlan>, Error> {
    let path = results_dir.join(SEARCH_PLAN_FILE);
    match fs::read_to_string(&path) {
        Ok(text) => SearchPlan::from_json(&text).map(Some).map_err(|e| {
            Error::Report(format!(
                "{}: not a search plan: {e}; run the experiment again to rewrite it",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::Report(format!(
            "{}: cannot read: {e}",
            path.display()
        ))),
    }
}

/// Reads `spec.toml` of a results directory (`name`, `description`, the `[report]` table, the
/// method and variant order) and the run's search plan `search.json`. Without a spec, the name is
/// the directory's and the options are the defaults.
///
/// The search settings come from the plan only, never from the spec's `[tune]` or `[benchmark]`
/// section: a spec with such a section but no plan beside it (results written before runs
/// recorded the plan) is an error that says how to write the plan.
pub fn read_meta(results_dir: &Path) -> Result<ReportMeta, Error> {
    let dir_name = results_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "results".into());
    let command = format!("bayeslab report results/{dir_name}");
    let plan = read_search_plan(results_dir)?;
    let path = results_dir.join("spec.toml");
    let file = path.display().to_string();
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(ReportMeta {
                name: dir_name,
                description: None,
                options: ReportOptions::default(),
                method_order: Vec::new(),
                variant_order: Vec::new(),
                command,
                search: plan.as_ref().map(SearchSetup::from_plan),
            });
        }
        Err(e) => return Err(Error::Report(format!("{file}: cannot read: {e}"))),
    };
    let mut spec: toml::Table = toml::from_str(&text)
        .map_err(|e| SpecError::new(&file, "(syntax)", format!("not valid TOML: {e}")))?;
    let string = |spec: &toml::Table, key: &str| -> Result<Option<String>, Error> {
        match spec.get(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(SpecError::new(&file, key, "must be a string").into()),
        }
    };
    let name = string(&spec, "name")?.unwrap_or(dir_name);
    let description = string(&spec, "description")?;
    let options = match spec.remove("report") {
        None => ReportOptions::default(),
        Some(value) => value
            .try_into::<ReportOptions>()
            .map_err(|e| SpecError::new(&file, "report", e.to_string().trim().to_string()))?,
    };
    options
        .validate()
        .map_err(|(key, message)| SpecError::new(&file, format!("report.{key}"), message))?;
    let method_order = match spec.get("methods") {
        Some(toml::Value::Array(methods)) => methods
            .iter()
            .filter_map(|m| m.get("name").and_then(|n| n.as_str()).map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    let search = match &plan {
        Some(plan) => Some(SearchSetup::from_plan(plan)),
        None => match ["tune", "benchmark"]
            .into_iter()
            .find(|k| spec.contains_key(*k))
        {
            Some(section) => return Err(missing_plan(results_dir, section)),
            None => None,
        },
    };
    let mut variant_order = if spec.contains_key("benchmark") {
        Vec::new()
    } else {
        crate::spec::variant_labels(&spec)
    };
    // A search's re-runs follow the plain plan, in the spec's strategy order.
    if let Some(s) = &search {
        variant_order.extend(s.strategies.iter().map(|k| format!("{TUNED_PREFIX}{k}")));
    }
    Ok(ReportMeta {
        name,
        description,
        options,
        method_order,
        variant_order,
        command,
        search,
    })
}

/// The error for results of a search without its plan: which file is missing and how to write it.
fn missing_plan(results_dir: &Path, section: &str) -> Error {
    Error::Report(format!(
        "{}: spec.toml has a [{section}] section but there is no {SEARCH_PLAN_FILE} beside it \
         (these results were written before runs recorded their search plan, and the report \
         reads the search from that file); run the experiment again to write it, e.g. \
         `bayeslab run <experiment file> --resume`, which reads finished runs back from parts/ \
         instead of training them again",
        results_dir.display()
    ))
}

/// Reads results_dir (merged parquet, `trials.parquet` and `search.json` if any, and spec.toml,
/// whose `[report]` table, if any, is [`ReportOptions`], and whose `name`/`description` titles
/// the report) and writes out_dir/{README.md, table.md, table.tex, table.csv} and the plots asked
/// for (learning_curves, uncertainty_1d, reliability, entropy, samples, traces, rhat:
/// `<name>.png/svg`), plus paired.md/csv with `baseline` or `paired`, diagnostics.md/csv when
/// runs traced their chains, and search.md, search.csv and search_convergence.png/svg when the
/// experiment searched. A benchmark (trials, no runs) gets only the search part.
pub fn write_report(results_dir: &Path, out_dir: &Path) -> Result<ReportSummary, Error> {
    let meta = read_meta(results_dir)?;
    let results = store::load(results_dir)?;
    let trials = store::load_trials(results_dir)?;
    render_report(&results, &trials, &meta, out_dir)
}

fn write_text(path: &Path, text: &str, files: &mut Vec<PathBuf>) -> Result<(), Error> {
    store::write_atomic(path, text.as_bytes())?;
    files.push(path.to_path_buf());
    Ok(())
}

/// Writes the whole report of in-memory results and search trials into `out_dir`.
pub fn render_report(
    results: &Results,
    trials: &[TrialRow],
    meta: &ReportMeta,
    out_dir: &Path,
) -> Result<ReportSummary, Error> {
    meta.options
        .validate()
        .map_err(|(key, message)| SpecError::new("spec.toml", format!("report.{key}"), message))?;
    fs::create_dir_all(out_dir).map_err(|e| {
        Error::Report(format!(
            "{}: cannot create directory: {e}",
            out_dir.display()
        ))
    })?;
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    // runs.parquet is ordered by run_id (a hash); the spec's variant and method order reads
    // better.
    let ordered;
    let results = if meta.method_order.is_empty() && meta.variant_order.is_empty() {
        results
    } else {
        let rank =
            |order: &[String], x: &str| order.iter().position(|o| o == x).unwrap_or(order.len());
        let mut runs = results.runs.clone();
        runs.sort_by_key(|r| {
            (
                rank(
                    &meta.variant_order,
                    pooled_variant(&r.variant).unwrap_or(&r.variant),
                ),
                rank(&meta.method_order, &r.method),
            )
        });
        ordered = Results {
            runs,
            metrics: results.metrics.clone(),
            predictions: results.predictions.clone(),
            traces: results.traces.clone(),
        };
        &ordered
    };

    let search = if trials.is_empty() {
        None
    } else {
        Some(render_search(
            trials,
            meta,
            out_dir,
            &mut files,
            &mut skipped,
        )?)
    };
    // A benchmark of search strategies: trials but no runs, so no main table and no curves.
    if let (true, Some(search)) = (results.runs.is_empty(), &search) {
        let mut readme = format!("# {}\n\n", meta.name);
        if let Some(d) = &meta.description {
            let _ = writeln!(readme, "{}\n", d.trim());
        }
        let _ = write!(
            readme,
            "## Search\n\n{search}\n---\n\nRegenerate this report with:\n\n```sh\n{}\n```\n",
            meta.command
        );
        write_text(&out_dir.join("README.md"), &readme, &mut files)?;
        return Ok(ReportSummary {
            out_dir: out_dir.to_path_buf(),
            files,
            runs_ok: 0,
            runs_failed: 0,
            skipped,
        });
    }

    let table = table::table(results, &meta.options);
    let table_md = table::render_markdown(&table);
    write_text(&out_dir.join("table.md"), &table_md, &mut files)?;
    write_text(
        &out_dir.join("table.tex"),
        &table::render_latex(&table),
        &mut files,
    )?;
    write_text(
        &out_dir.join("table.csv"),
        &table::render_csv(&table),
        &mut files,
    )?;

    let pairs = meta.options.pairs(&meta.method_order);
    let paired_rows = paired::paired_rows(results, &pairs, &table.metrics, &meta.variant_order);
    let paired_md = if paired_rows.is_empty() {
        None
    } else {
        let md = paired::render_markdown(&paired_rows);
        write_text(&out_dir.join("paired.md"), &md, &mut files)?;
        write_text(
            &out_dir.join("paired.csv"),
            &paired::render_csv(&paired_rows),
            &mut files,
        )?;
        Some(md)
    };

    let selection_md = match &meta.options.select {
        Some(select) => {
            let (choices, all) = selection::choose(results, &meta.options, select);
            let md = selection::render_markdown(&choices, &all, select);
            write_text(&out_dir.join("selection.md"), &md, &mut files)?;
            Some(md)
        }
        None => None,
    };

    let published_rows = published::comparisons(results, &meta.options);
    let published_md = if published_rows.is_empty() {
        None
    } else {
        let md = published::render_markdown(&published_rows);
        write_text(&out_dir.join("published.md"), &md, &mut files)?;
        write_text(
            &out_dir.join("published.csv"),
            &published::render_csv(&published_rows),
            &mut files,
        )?;
        Some(md)
    };

    let diagnostic_rows = diagnostics::diagnostics(results);
    let diagnostics_md = if diagnostic_rows.is_empty() {
        None
    } else {
        let md = diagnostics::render_markdown(&diagnostic_rows);
        write_text(&out_dir.join("diagnostics.md"), &md, &mut files)?;
        write_text(
            &out_dir.join("diagnostics.csv"),
            &diagnostics::render_csv(&diagnostic_rows),
            &mut files,
        )?;
        Some(md)
    };

    let spread = match meta.options.spread {
        Spread::Std => "1 std",
        Spread::Sem => "1 s.e.m.",
    };
    let mut figures = String::new();
    for plot in &meta.options.plots {
        match plot.as_str() {
            "learning_curves" => {
                let metrics = meta.options.resolved_curve_metrics(&table.metrics);
                let panels = plots::learning_curves(results, &metrics);
                if panels.is_empty() {
                    skipped.push(format!(
                        "learning_curves: no values of {} in these results",
                        metrics.join(", ")
                    ));
                    continue;
                }
                let title = format!("{}: learning curves (mean ± 1 std over runs)", meta.name);
                files.extend(plots::write_learning_curves(out_dir, &title, &panels)?);
                let _ = write!(
                    figures,
                    "\n## Learning curves\n\nMean over seeds and splits per epoch, band ±1 std.\n\n![learning curves](learning_curves.png)\n"
                );
            }
            "uncertainty_1d" => {
                let panels = plots::uncertainty_1d(results);
                if panels.is_empty() {
                    skipped.push(
                        "uncertainty_1d: no grid predictions in these results (stored only for regression with 1-D input)".into(),
                    );
                    continue;
                }
                let title = format!("{}: predictive mean ± 2 std", meta.name);
                files.extend(plots::write_uncertainty_1d(out_dir, &title, &panels)?);
                let _ = write!(
                    figures,
                    "\n## Predictive uncertainty\n\nFirst seed's run of each method: test points, predictive mean and ±2 std band on a dense grid.\n\n![uncertainty 1d](uncertainty_1d.png)\n"
                );
            }
            "reliability" => {
                let panels = classification::reliability(results);
                if panels.is_empty() {
                    skipped.push(
                        "reliability: no classification test predictions in these results (stored with `predictions = true`)".into(),
                    );
                    continue;
                }
                let title = format!("{}: reliability on the test set (runs pooled)", meta.name);
                files.extend(classification::write_reliability(out_dir, &title, &panels)?);
                let _ = write!(
                    figures,
                    "\n## Reliability\n\nTest predictions of all ok runs of each method, pooled, in {bins} equal-width bins of confidence max_k p̄_k, bin b holding (b/{bins}, (b+1)/{bins}] as the `ece` metric bins them: bars show the accuracy of each bin, points its mean confidence against its accuracy, the dashed diagonal perfect calibration; empty bins are not drawn. The panel title gives the ECE of the pooled predictions, Σ_b (|B_b|/n)·|acc(B_b) − conf(B_b)| (the table's `ece` is the mean over runs of each run's own), and n. Below each panel, the number of predictions per bin on a log10 axis.\n\n![reliability](reliability.png)\n",
                    bins = crate::predictive::ECE_BINS
                );
            }
            "entropy" => {
                let Some(figure) =
                    classification::entropy_histograms(results, classification::ENTROPY_BINS)
                        .filter(|f| !f.panels.is_empty())
                else {
                    skipped.push(
                        "entropy: no predictive entropies of classification in these results (stored with `predictions = true`)".into(),
                    );
                    continue;
                };
                let ood = figure.ood_parts();
                let title = if ood.is_empty() {
                    format!("{}: predictive entropy on the test set", meta.name)
                } else {
                    format!(
                        "{}: predictive entropy, test vs out of distribution",
                        meta.name
                    )
                };
                files.extend(classification::write_entropy(out_dir, &title, &figure)?);
                let parts = if ood.is_empty() {
                    "the test inputs (the experiment declares no `[data.ood.<name>]` part)"
                        .to_string()
                } else {
                    let names: Vec<String> = ood.iter().map(|p| format!("`{p}`")).collect();
                    format!(
                        "the test inputs and of the out-of-distribution part{} {}",
                        if ood.len() == 1 { "" } else { "s" },
                        names.join(", ")
                    )
                };
                let auroc = if ood.is_empty() {
                    String::new()
                } else {
                    " How well this entropy tells each part from the test inputs is that part's `ood_auroc`: the table's `<part>.ood_auroc` column when `[report] metrics` lists it, and per run in `metrics.parquet` (split = the part's name).".to_string()
                };
                let classes = figure.classes;
                let range = if figure.upper_is_ln_k() {
                    format!("ln K for K = {classes} classes, the entropy of a uniform prediction")
                } else {
                    format!("the largest entropy, above ln K for the K = {classes} classes seen")
                };
                let _ = write!(
                    figures,
                    "\n## Predictive entropy\n\nPredictive entropy H[p̄] = −Σ_k p̄_k ln p̄_k (nats) of {parts}, pooled over all ok runs of each method, in {bins} equal-width bins over [0, {upper:.3}] ({range}). Each histogram shows the fraction of its part's inputs in each bin (its bars sum to 1).{auroc}\n\n![entropy](entropy.png)\n",
                    bins = figure.bins,
                    upper = figure.upper,
                );
            }
            // Without sampler runs there is nothing to draw: left out without a note, so one
            // `[report]` can serve experiments with and without samplers.
            "samples" => {
                let metrics: Vec<String> = table
                    .metrics
                    .iter()
                    .filter(|m| !m.starts_with("train."))
                    .cloned()
                    .collect();
                let panels = sampling::samples_curves(results, &metrics, meta.options.spread);
                if panels.is_empty() {
                    continue;
                }
                let title = format!(
                    "{}: metric against kept samples (mean ± {spread} over runs)",
                    meta.name
                );
                files.extend(sampling::write_samples(out_dir, &title, &panels)?);
                let _ = write!(
                    figures,
                    "\n## Metrics against the number of samples\n\nEach sampler's posterior predictive (all chains pooled) after 1, 2, 4, … kept samples and after the last, mean over runs with a ±{spread} band; a point method is a dashed line at its final value.\n\n![samples](samples.png)\n"
                );
            }
            "traces" => {
                let panels = sampling::traces(results);
                if panels.is_empty() {
                    continue;
                }
                let title = format!("{}: chain traces of each sampler's first run", meta.name);
                files.extend(sampling::write_traces(out_dir, &title, &panels)?);
                let _ = write!(
                    figures,
                    "\n## Chain traces\n\nFirst run (lowest seed, then split) of each sampler: the training log posterior at each epoch's end and each kept sample's own log-likelihood against the step, one line per chain.\n\n![traces](traces.png)\n"
                );
            }
            "rhat" => {
                let panels = sampling::rhat_curves(results);
                if panels.is_empty() {
                    continue;
                }
                let title = format!(
                    "{}: {} on each chain's first n draws (mean over runs)",
                    meta.name,
                    sampling::RHAT_TEXT
                );
                files.extend(sampling::write_rhat(out_dir, &title, &panels)?);
                let _ = write!(
                    figures,
                    "\n## R̂ against draws\n\nR̂ of each sample's test log-likelihood (validation if there is no test split) on the first n draws of every chain, mean over runs; dashed lines at 1.01 and 1.1, values above {} drawn at the top edge.\n\n![rhat](rhat.png)\n",
                    sampling::RHAT_TOP
                );
            }
            // validate() refused anything else above.
            _ => {}
        }
    }

    let runs_ok = results
        .runs
        .iter()
        .filter(|r| r.status == RunStatus::Ok)
        .count();
    let runs_failed = results.runs.len() - runs_ok;
    let mut readme = format!("# {}\n\n", meta.name);
    if let Some(d) = &meta.description {
        let _ = writeln!(readme, "{}\n", d.trim());
    }
    let n_trials = results
        .runs
        .iter()
        .filter(|r| pooled_variant(&r.variant).is_none())
        .count();
    let _ = write!(readme, "{} runs", results.runs.len());
    if n_trials > 0 {
        let _ = write!(readme, " ({n_trials} of them search trials)");
    }
    let _ = write!(
        readme,
        ": {runs_ok} ok, {runs_failed} failed. Tables: [Markdown](table.md), [LaTeX](table.tex), [CSV](table.csv).\n\n## Results\n\n{table_md}"
    );
    if let Some(md) = &selection_md {
        let _ = write!(readme, "\n## Chosen by validation\n\n{md}");
    }
    if let Some(md) = &published_md {
        let _ = write!(
            readme,
            "\n## Published numbers beside ours\n\n[Markdown](published.md), [CSV](published.csv).\n\n{md}"
        );
    }
    if let Some(md) = &paired_md {
        let _ = write!(readme, "\n## Paired differences\n\n{md}");
    }
    if let Some(md) = &diagnostics_md {
        let _ = write!(
            readme,
            "\n## Convergence diagnostics\n\nOf each sampler's chains, from their traces: [Markdown](diagnostics.md), [CSV](diagnostics.csv).\n\n{md}"
        );
    }
    if let Some(search) = &search {
        let _ = write!(readme, "\n## Search\n\n{search}");
    }
    readme.push_str(&figures);
    for s in &skipped {
        let _ = write!(readme, "\nNot drawn: {s}.\n");
    }
    let _ = write!(
        readme,
        "\n---\n\nRegenerate this report with:\n\n```sh\n{}\n```\n",
        meta.command
    );
    write_text(&out_dir.join("README.md"), &readme, &mut files)?;
    Ok(ReportSummary {
        out_dir: out_dir.to_path_buf(),
        files,
        runs_ok,
        runs_failed,
        skipped,
    })
}

/// Writes search.md, search.csv and search_convergence.png/svg; returns the README's search
/// section (without its heading).
fn render_search(
    trials: &[TrialRow],
    meta: &ReportMeta,
    out_dir: &Path,
    files: &mut Vec<PathBuf>,
    skipped: &mut Vec<String>,
) -> Result<String, Error> {
    let setup = meta
        .search
        .clone()
        .unwrap_or_else(|| SearchSetup::infer(trials));
    let table = search::search_table(trials, &setup);
    let md = search::render_search_markdown(&table);
    write_text(&out_dir.join("search.md"), &md, files)?;
    write_text(
        &out_dir.join("search.csv"),
        &search::render_search_csv(&table),
        files,
    )?;
    let panels = search::convergence(trials, &setup);
    let repeats = table.rows.iter().map(|r| r.repeats).max().unwrap_or(0);
    let (title, what) = if setup.is_benchmark() {
        (
            format!(
                "{}: simple regret best − f* (median over {repeats} repeats, band 25th–75th percentile)",
                meta.name
            ),
            "Simple regret best − f\\* (log scale, floored at 1e-8) of the best value found after each trial",
        )
    } else {
        (
            format!(
                "{}: best {} so far (median over {repeats} repeats, band 25th–75th percentile)",
                meta.name,
                setup.objective()
            ),
            "Best objective found after each trial",
        )
    };
    files.extend(plots::write_search_convergence(out_dir, &title, &panels)?);
    let searches: usize = table.rows.iter().map(|r| r.repeats).sum();
    let mut section = format!(
        "{} trials in {searches} searches. Search table: [Markdown](search.md), [CSV](search.csv).\n\n{md}\n{what}: median over the repeats of each strategy, band between the 25th and 75th percentiles.\n\n![search convergence](search_convergence.png)\n",
        trials.len()
    );
    match gp_view::gp_views(trials, &setup) {
        Ok(views) => {
            files.extend(gp_view::write_gp_views(out_dir, &meta.name, &views)?);
            section.push_str(&gp_view::readme_section(&views));
        }
        // The view exists for benchmarks of test functions only: a missing one is worth a note
        // there, and would only be noise under a hyperparameter search.
        Err(reason) if setup.is_benchmark() => skipped.push(reason),
        Err(_) => {}
    }
    Ok(section)
}

/// An ok run record for report tests: run `id` of `method` on `variant` and `split`, seed 0.
#[cfg(test)]
pub(crate) fn ok_run(id: &str, method: &str, variant: &str, split: u32) -> crate::store::RunRecord {
    crate::store::RunRecord {
        run_id: id.into(),
        experiment: "e".into(),
        method: method.into(),
        variant: variant.into(),
        seed: 0,
        split,
        status: crate::store::RunStatus::Ok,
        error: None,
        duration_s: 0.0,
        n_params: 0,
        n_samples: 1,
        config: String::new(),
    }
}

#[cfg(test)]
mod sampler_tests;
#[cfg(test)]
mod tests {
    use super::table::{latex_escape, render_csv, render_latex, render_markdown};
    use super::*;
    use crate::store::{MetricRow, PredictionRow, RunRecord, TrialRow};

    /// A fresh directory under the system temp dir, removed on drop.
    pub(super) struct TempDir(pub PathBuf);
    impl TempDir {
        pub(super) fn new(name: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("bayeslab-report-{name}-{}", std::process::id()));
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

    pub(super) fn run(id: &str, method: &str, variant: &str, seed: u32, ok: bool) -> RunRecord {
        RunRecord {
            run_id: id.into(),
            experiment: "toy".into(),
            method: method.into(),
            variant: variant.into(),
            seed,
            split: 0,
            status: if ok { RunStatus::Ok } else { RunStatus::Failed },
            error: (!ok).then(|| "loss is NaN at epoch 1.".to_string()),
            duration_s: 1.0,
            n_params: 10,
            n_samples: 1,
            config: "{}".into(),
        }
    }

    fn metric(id: &str, epoch: i64, split: &str, name: &str, value: f64) -> (String, MetricRow) {
        (
            id.into(),
            MetricRow {
                epoch,
                step: 10 * epoch,
                samples: 1,
                split: split.into(),
                metric: name.into(),
                value,
            },
        )
    }

    /// sgd: final test.rmse 1, 2, 4 and test.gaussian_ll −1, −2, −3 (three seeds);
    /// adam: final rmse 3, 5 and ll −0.5, −1.5 (two ok seeds) plus one failed seed.
    /// Earlier epochs hold other values (listed after the final ones), which must be ignored.
    pub(super) fn synthetic() -> Results {
        let runs = vec![
            run("s0", "sgd", "default", 0, true),
            run("s1", "sgd", "default", 1, true),
            run("s2", "sgd", "default", 2, true),
            run("a0", "adam", "default", 0, true),
            run("a1", "adam", "default", 1, true),
            run("a2", "adam", "default", 2, false),
        ];
        let finals = [
            ("s0", 1.0, -1.0),
            ("s1", 2.0, -2.0),
            ("s2", 4.0, -3.0),
            ("a0", 3.0, -0.5),
            ("a1", 5.0, -1.5),
        ];
        let mut metrics = Vec::new();
        for (id, rmse, ll) in finals {
            metrics.push(metric(id, 2, "test", "rmse", rmse));
            metrics.push(metric(id, 2, "test", "gaussian_ll", ll));
            metrics.push(metric(id, 0, "test", "rmse", 100.0));
            metrics.push(metric(id, 1, "test", "gaussian_ll", 100.0));
            for epoch in 0..3 {
                metrics.push(metric(
                    id,
                    epoch,
                    "train",
                    "loss",
                    1.0 / (1.0 + epoch as f64),
                ));
            }
        }
        metrics.push(metric("a2", 1, "test", "rmse", f64::NAN));
        Results {
            runs,
            metrics,
            ..Default::default()
        }
    }

    fn options(spread: Spread) -> ReportOptions {
        ReportOptions {
            metrics: vec!["test.rmse".into(), "test.gaussian_ll".into()],
            spread,
            ..ReportOptions::default()
        }
    }

    pub(super) fn assert_close(got: f64, want: f64) {
        // Sums of a handful of O(1) numbers: rounding stays below 1e-14.
        assert!((got - want).abs() < 1e-12, "got {got}, want {want}");
    }

    #[test]
    fn table_mean_and_sample_std_match_hand_computation() {
        let t = table::table(&synthetic(), &options(Spread::Std));
        assert_eq!(t.metrics, ["test.rmse", "test.gaussian_ll"]);
        let [sgd, adam] = &t.rows[..] else {
            panic!("two rows expected, got {:?}", t.rows)
        };
        assert_eq!((sgd.method.as_str(), sgd.n_ok), ("sgd", 3));
        assert_eq!((adam.method.as_str(), adam.n_ok), ("adam", 2));
        // sgd rmse {1, 2, 4}: mean 7/3, Σ(x − x̄)² = 42/9, s² = 21/9 = 7/3.
        let c = sgd.cells[0].unwrap();
        assert_close(c.mean, 7.0 / 3.0);
        assert_close(c.spread, (7.0_f64 / 3.0).sqrt());
        assert_eq!(c.n, 3);
        // sgd ll {−1, −2, −3}: mean −2, s = 1.
        let c = sgd.cells[1].unwrap();
        assert_close(c.mean, -2.0);
        assert_close(c.spread, 1.0);
        // adam rmse {3, 5}: mean 4, s = √2; the failed seed's NaN is excluded.
        let c = adam.cells[0].unwrap();
        assert_close(c.mean, 4.0);
        assert_close(c.spread, 2.0_f64.sqrt());
        assert_eq!(c.n, 2);
        // adam ll {−0.5, −1.5}: mean −1, s = √0.5.
        let c = adam.cells[1].unwrap();
        assert_close(c.mean, -1.0);
        assert_close(c.spread, 0.5_f64.sqrt());
        assert_eq!(t.failed.len(), 1);
        assert_eq!((t.failed[0].method.as_str(), t.failed[0].seed), ("adam", 2));
    }

    #[test]
    fn sem_is_std_over_root_n() {
        let t = table::table(&synthetic(), &options(Spread::Sem));
        assert_close(
            t.rows[0].cells[0].unwrap().spread,
            (7.0_f64 / 3.0).sqrt() / 3.0_f64.sqrt(),
        );
        assert_close(
            t.rows[1].cells[0].unwrap().spread,
            2.0_f64.sqrt() / 2.0_f64.sqrt(),
        );
        assert_close(t.rows[0].cells[0].unwrap().mean, 7.0 / 3.0);
    }

    #[test]
    fn one_run_has_zero_std_and_says_so() {
        let mut r = synthetic();
        r.runs.retain(|x| x.run_id == "s0");
        let t = table::table(&r, &options(Spread::Std));
        let c = t.rows[0].cells[0].unwrap();
        assert_eq!((c.mean, c.spread, c.n), (1.0, 0.0, 1));
        assert!(render_markdown(&t).contains("(n = 1) show a std of 0"));
    }

    #[test]
    fn bold_goes_to_min_rmse_and_max_gaussian_ll() {
        let t = table::table(&synthetic(), &options(Spread::Std));
        // rmse: sgd 2.333 < adam 4; gaussian_ll: adam −1 > sgd −2.
        assert!(t.is_best(0, 0) && !t.is_best(1, 0));
        assert!(t.is_best(1, 1) && !t.is_best(0, 1));
        let md = render_markdown(&t);
        let expected = "\
| method | test.rmse ↓ | test.gaussian\\_ll ↑ | n |
|:--|--:|--:|--:|
| sgd | **2.333** ± 1.528 | -2.000 ± 1.000 | 3 |
| adam | 4.000 ± 1.414 | **-1.000** ± 0.707 | 2 |
";
        assert!(md.starts_with(expected), "{md}");
        assert!(
            md.contains("1 of 6 runs failed and are excluded from the table: adam seed 2 split 0: loss is NaN at epoch 1."),
            "{md}"
        );
    }

    #[test]
    fn default_columns_are_the_test_metrics_and_variant_column_appears_with_two_variants() {
        let mut r = synthetic();
        let t = table::table(&r, &ReportOptions::default());
        assert_eq!(t.metrics, ["test.rmse", "test.gaussian_ll"]);
        assert!(!t.show_variant());
        r.runs[1].variant = "lr=0.1".into();
        let t = table::table(&r, &ReportOptions::default());
        assert!(t.show_variant());
        assert_eq!(t.rows.len(), 3);
        assert!(render_markdown(&t).starts_with("| variant | method |"));
    }

    /// Two variants (different data sets) whose best method differs: variant `data=a` has sgd
    /// rmse {1} and adam {2}; `data=b` has sgd {10} and adam {5}. Runs come interleaved.
    fn two_data_sets() -> Results {
        let mut r = Results::default();
        for (id, method, variant, rmse) in [
            ("sa", "sgd", "data=a", 1.0),
            ("sb", "sgd", "data=b", 10.0),
            ("aa", "adam", "data=a", 2.0),
            ("ab", "adam", "data=b", 5.0),
        ] {
            r.runs.push(run(id, method, variant, 0, true));
            r.metrics.push(metric(id, 1, "test", "rmse", rmse));
        }
        r
    }

    #[test]
    fn bold_is_chosen_per_variant_and_rows_are_grouped_by_variant() {
        let o = ReportOptions {
            metrics: vec!["test.rmse".into()],
            ..ReportOptions::default()
        };
        let t = table::table(&two_data_sets(), &o);
        let keys: Vec<(&str, &str)> = t
            .rows
            .iter()
            .map(|r| (r.variant.as_str(), r.method.as_str()))
            .collect();
        assert_eq!(
            keys,
            [
                ("data=a", "sgd"),
                ("data=a", "adam"),
                ("data=b", "sgd"),
                ("data=b", "adam")
            ]
        );
        // Column decimals follow the largest mean (10: 2 decimals). Across all rows sgd on data=a (1) would be the only best; per variant, adam wins data=b.
        let best: Vec<bool> = (0..4).map(|r| t.is_best(r, 0)).collect();
        assert_eq!(best, [true, false, false, true]);
        let md = render_markdown(&t);
        let expected = "\
| variant | method | test.rmse ↓ | n |
|:--|:--|--:|--:|
| data=a | sgd | **1.00** ± 0.00 | 1 |
| | adam | 2.00 ± 0.00 | 1 |
| data=b | sgd | 10.00 ± 0.00 | 1 |
| | adam | **5.00** ± 0.00 | 1 |

Mean ± sample std (n − 1 denominator) of the final value over seeds and splits; best mean per variant in bold; n = number of ok runs.
";
        assert!(md.starts_with(expected), "{md}");
    }

    #[test]
    fn latex_puts_a_midrule_between_variant_groups() {
        let o = ReportOptions {
            metrics: vec!["test.rmse".into()],
            ..ReportOptions::default()
        };
        let tex = render_latex(&table::table(&two_data_sets(), &o));
        let expected = "\
\\toprule
variant & method & test.rmse $\\downarrow$ & $n$ \\\\
\\midrule
data=a & sgd & \\textbf{1.00} $\\pm$ 0.00 & 1 \\\\
 & adam & 2.00 $\\pm$ 0.00 & 1 \\\\
\\midrule
data=b & sgd & 10.00 $\\pm$ 0.00 & 1 \\\\
 & adam & \\textbf{5.00} $\\pm$ 0.00 & 1 \\\\
\\bottomrule
";
        assert!(tex.contains(expected), "{tex}");
        assert!(tex.contains("best mean per variant in bold"), "{tex}");
        // One variant: no variant column, a single \midrule under the header, the usual note.
        let mut r = two_data_sets();
        r.runs.retain(|x| x.variant == "data=a");
        let tex = render_latex(&table::table(&r, &o));
        assert_eq!(tex.matches("\\midrule").count(), 1, "{tex}");
        assert!(tex.contains("; best mean in bold;"), "{tex}");
        assert!(tex.contains("\nsgd & \\textbf{1.000}"), "{tex}");
    }

    #[test]
    fn latex_uses_booktabs_escapes_and_bold() {
        assert_eq!(
            latex_escape(r"a_b&c%d$e#f{g}h~i^j\k"),
            r"a\_b\&c\%d\$e\#f\{g\}h\textasciitilde{}i\textasciicircum{}j\textbackslash{}k"
        );
        let mut r = synthetic();
        for x in &mut r.runs {
            if x.method == "sgd" {
                x.method = "mc_dropout".into();
            }
        }
        let tex = render_latex(&table::table(&r, &options(Spread::Std)));
        for needle in [
            "\\toprule",
            "\\midrule",
            "\\bottomrule",
            "method & test.rmse $\\downarrow$ & test.gaussian\\_ll $\\uparrow$ & $n$ \\\\",
            "mc\\_dropout & \\textbf{2.333} $\\pm$ 1.528 & -2.000 $\\pm$ 1.000 & 3 \\\\",
            "adam & 4.000 $\\pm$ 1.414 & \\textbf{-1.000} $\\pm$ 0.707 & 2 \\\\",
        ] {
            assert!(tex.contains(needle), "missing {needle:?} in\n{tex}");
        }
    }

    #[test]
    fn csv_is_long_form_at_full_precision() {
        let csv = render_csv(&table::table(&synthetic(), &options(Spread::Std)));
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "method,variant,metric,mean,spread,n");
        assert_eq!(lines.len(), 5);
        let f: Vec<&str> = lines[1].split(',').collect();
        assert_eq!(&f[..3], ["sgd", "default", "test.rmse"]);
        assert_eq!(f[3].parse::<f64>().unwrap(), 7.0 / 3.0, "full precision");
        assert_close(f[4].parse().unwrap(), (7.0_f64 / 3.0).sqrt());
        assert_eq!(f[5], "3");
        assert_eq!(
            lines[4],
            "adam,default,test.gaussian_ll,-1.0,0.7071067811865476,2"
        );
    }

    #[test]
    fn table_curves_and_search_objective_agree_on_the_final_value() {
        // The last epoch holds two evaluations, the later step stored first: the final value is
        // the one at (2, 25), for the table, the curve's last point and a trial's objective.
        let mut r = Results::default();
        r.runs.push(run("a", "adam", "default", 0, true));
        for (epoch, step, value) in [(1, 10, 4.0), (2, 25, 1.0), (2, 20, 2.0)] {
            let row = MetricRow {
                epoch,
                step,
                samples: 1,
                split: "valid".into(),
                metric: "rmse".into(),
                value,
            };
            r.metrics.push(("a".into(), row));
        }
        let o = ReportOptions {
            metrics: vec!["valid.rmse".into()],
            ..ReportOptions::default()
        };
        assert_eq!(table::table(&r, &o).rows[0].cells[0].unwrap().mean, 1.0);
        let panels = plots::learning_curves(&r, &["valid.rmse".into()]);
        let points = &panels[0].curves[0].points;
        assert_eq!((points[1].epoch, points[1].mean), (2, 1.0));
        let output = store::RunOutput {
            record: r.runs[0].clone(),
            metrics: r.metrics.iter().map(|(_, m)| m.clone()).collect(),
            predictions: Vec::new(),
            traces: Vec::new(),
        };
        assert_eq!(
            crate::search::final_value(&output, "valid", "rmse"),
            Some(1.0)
        );
    }

    #[test]
    fn learning_curve_points_are_mean_and_std_over_runs() {
        let panels =
            plots::learning_curves(&synthetic(), &["train.loss".into(), "test.rmse".into()]);
        assert_eq!(panels.len(), 2);
        let sgd = &panels[0].curves[0];
        assert_eq!(sgd.label, "sgd");
        assert_eq!(sgd.points.len(), 3);
        assert_close(sgd.points[1].mean, 0.5);
        assert_eq!((sgd.points[1].std, sgd.points[1].n), (0.0, 3));
        // test.rmse at epoch 2 over sgd's seeds: the table's final values.
        let p = panels[1].curves[0]
            .points
            .iter()
            .find(|p| p.epoch == 2)
            .unwrap();
        assert_close(p.mean, 7.0 / 3.0);
        assert_close(p.std, (7.0_f64 / 3.0).sqrt());
    }

    /// A richer experiment: three methods, three seeds, 30 epochs, 1-D predictions.
    fn toy_experiment() -> Results {
        let mut r = Results::default();
        let methods = ["sgd", "adam", "psgld"];
        for (m, method) in methods.iter().enumerate() {
            for seed in 0..3u32 {
                let id = format!("{method}{seed}");
                r.runs.push(run(&id, method, "default", seed, true));
                for epoch in 0..30i64 {
                    let t = epoch as f64;
                    let wobble = 0.05 * ((seed as f64 + 1.0) * (t + m as f64)).sin();
                    let loss = 2.0 * (-(t / (6.0 + 4.0 * m as f64))).exp() + 0.3 + wobble;
                    r.metrics.push(metric(&id, epoch, "train", "loss", loss));
                    r.metrics
                        .push(metric(&id, epoch, "test", "rmse", 0.6 + 0.8 * loss));
                }
                // Uncertainty grows inside the gap |x| < 1 and beyond the data |x| > 4.
                let gap = |x: f64| (1.0 - x.abs()).max(0.0);
                for i in 0..40u32 {
                    let x = -4.0 + 8.0 * i as f64 / 39.0;
                    if x.abs() < 1.0 {
                        continue;
                    }
                    r.predictions.push((
                        id.clone(),
                        PredictionRow {
                            split: "test".into(),
                            index: i,
                            input: Some(x),
                            target: Some(x.sin() + 0.1 * (7.0 * x).cos()),
                            mean: Some(x.sin()),
                            std: Some(0.1),
                            label: None,
                            confidence: None,
                            entropy: None,
                            mutual_information: None,
                        },
                    ));
                }
                for i in 0..200u32 {
                    let x = -5.0 + 10.0 * i as f64 / 199.0;
                    let edge = (x.abs() - 4.0).max(0.0);
                    r.predictions.push((
                        id.clone(),
                        PredictionRow {
                            split: "grid".into(),
                            index: i,
                            input: Some(x),
                            target: None,
                            mean: Some(x.sin() * (1.0 - 0.2 * m as f64)),
                            std: Some(0.1 + (0.3 + 0.2 * m as f64) * (gap(x) + edge)),
                            label: None,
                            confidence: None,
                            entropy: None,
                            mutual_information: None,
                        },
                    ));
                }
            }
        }
        r
    }

    pub(super) fn assert_plot_files(dir: &Path, stem: &str) {
        let png = fs::read(dir.join(format!("{stem}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "PNG magic bytes");
        assert!(png.len() > 20_000, "{stem}.png is only {} bytes", png.len());
        let svg = fs::read_to_string(dir.join(format!("{stem}.svg"))).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..40.min(svg.len())]);
        assert!(svg.contains("font-family=\"DejaVu Sans, sans-serif\""));
        assert!(svg.len() > 5_000, "{stem}.svg is only {} bytes", svg.len());
    }

    /// Width and height of a PNG, from its IHDR chunk (bytes 16..24, big-endian).
    pub(super) fn png_size(path: &Path) -> (u32, u32) {
        let png = fs::read(path).unwrap();
        let be = |b: &[u8]| u32::from_be_bytes(b.try_into().unwrap());
        (be(&png[16..20]), be(&png[20..24]))
    }

    /// [`toy_experiment`] on two data sets: `data=a` as is, `data=b` with every value ×10.
    fn toy_two_data_sets() -> Results {
        let a = toy_experiment();
        let mut r = a.clone();
        for x in &mut r.runs {
            x.variant = "data=a".into();
        }
        for x in &a.runs {
            let mut b = x.clone();
            b.run_id = format!("{}-b", x.run_id);
            b.variant = "data=b".into();
            r.runs.push(b);
        }
        for (id, m) in &a.metrics {
            let mut m = m.clone();
            m.value *= 10.0;
            r.metrics.push((format!("{id}-b"), m));
        }
        let scale = |v: Option<f64>| v.map(|v| 10.0 * v);
        for (id, p) in &a.predictions {
            let mut p = p.clone();
            (p.target, p.mean, p.std) = (scale(p.target), scale(p.mean), scale(p.std));
            r.predictions.push((format!("{id}-b"), p));
        }
        r
    }

    #[test]
    fn several_variants_are_drawn_as_one_row_per_variant() {
        let tmp = TempDir::new("facets");
        let single = tmp.0.join("single");
        let facets = tmp.0.join("facets");
        fs::create_dir_all(&single).unwrap();
        fs::create_dir_all(&facets).unwrap();
        let metrics = ["train.loss".to_string(), "test.rmse".to_string()];
        let r = toy_experiment();
        plots::write_learning_curves(&single, "one", &plots::learning_curves(&r, &metrics))
            .unwrap();
        plots::write_uncertainty_1d(&single, "one", &plots::uncertainty_1d(&r)).unwrap();
        let r = toy_two_data_sets();
        let curves = plots::learning_curves(&r, &metrics);
        assert_eq!(curves[0].curves.len(), 6);
        assert_eq!(
            (
                curves[0].curves[3].method.as_str(),
                curves[0].curves[3].variant.as_str()
            ),
            ("sgd", "data=b")
        );
        // Colour follows the method, not the (method, variant).
        assert_eq!(curves[0].curves[3].method_index, 0);
        assert_eq!(curves[0].curves[5].method_index, 2);
        plots::write_learning_curves(&facets, "two", &curves).unwrap();
        let bands = plots::uncertainty_1d(&r);
        assert_eq!(bands.len(), 6);
        plots::write_uncertainty_1d(&facets, "two", &bands).unwrap();
        assert_plot_files(&facets, "learning_curves");
        assert_plot_files(&facets, "uncertainty_1d");
        // Single variant: 2 panels side by side, 40 + 520 px; 3 band panels in one row,
        // 40 + 440 px. Faceted: 80 px of title and legend, then 320 (curves) or 340 (bands) per
        // variant row.
        assert_eq!(png_size(&single.join("learning_curves.png")), (1300, 560));
        assert_eq!(png_size(&facets.join("learning_curves.png")), (1300, 720));
        assert_eq!(png_size(&single.join("uncertainty_1d.png")), (1500, 480));
        assert_eq!(png_size(&facets.join("uncertainty_1d.png")), (1500, 760));
        // Rows are titled by variant; the legend names methods only. (The SVG backend writes each
        // text on a line of its own.)
        let svg = fs::read_to_string(facets.join("learning_curves.svg")).unwrap();
        for needle in ["data=a", "data=b", "sgd", "adam", "psgld"] {
            assert!(svg.contains(&format!(">\n{needle}\n<")), "missing {needle}");
        }
        assert!(
            !svg.contains("sgd (data=a)"),
            "legend lists (method, variant)"
        );
        let svg = fs::read_to_string(facets.join("uncertainty_1d.svg")).unwrap();
        for needle in ["data=a", "data=b", "psgld (seed 0)"] {
            assert!(svg.contains(&format!(">\n{needle}\n<")), "missing {needle}");
        }
    }

    #[test]
    fn plots_are_written_as_png_and_svg() {
        let tmp = TempDir::new("plots");
        let r = toy_experiment();
        let bands = plots::uncertainty_1d(&r);
        assert_eq!(bands.len(), 3);
        assert_eq!((bands[0].label.as_str(), bands[0].seed), ("sgd", 0));
        assert_eq!((bands[0].points.len(), bands[0].grid.len()), (30, 200));
        let curves = plots::learning_curves(&r, &["train.loss".into(), "test.rmse".into()]);
        plots::write_learning_curves(&tmp.0, "toy: learning curves", &curves).unwrap();
        plots::write_uncertainty_1d(&tmp.0, "toy: predictive mean ± 2 std", &bands).unwrap();
        assert_plot_files(&tmp.0, "learning_curves");
        assert_plot_files(&tmp.0, "uncertainty_1d");
        let leftovers: Vec<_> = fs::read_dir(&tmp.0)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    }

    #[test]
    fn one_panel_of_few_epochs_with_two_variants_is_drawn() {
        let tmp = TempDir::new("few");
        let mut r = synthetic();
        r.runs[1].variant = "lr=0.1".into();
        let curves = plots::learning_curves(&r, &["test.gaussian_ll".into()]);
        assert_eq!(curves.len(), 1);
        assert_eq!(curves[0].curves[1].label, "sgd (lr=0.1)");
        plots::write_learning_curves(&tmp.0, "few epochs", &curves).unwrap();
        assert_plot_files(&tmp.0, "learning_curves");
    }

    #[test]
    fn write_report_reads_spec_and_results_and_writes_everything() {
        let tmp = TempDir::new("full");
        let results_dir = tmp.0.join("results").join("toy");
        let r = toy_experiment();
        for rec in &r.runs {
            let out = crate::store::RunOutput {
                record: rec.clone(),
                metrics: r
                    .metrics
                    .iter()
                    .filter(|m| m.0 == rec.run_id)
                    .map(|m| m.1.clone())
                    .collect(),
                predictions: r
                    .predictions
                    .iter()
                    .filter(|p| p.0 == rec.run_id)
                    .map(|p| p.1.clone())
                    .collect(),
                traces: r
                    .traces
                    .iter()
                    .filter(|t| t.0 == rec.run_id)
                    .map(|t| t.1.clone())
                    .collect(),
            };
            store::write_part(&results_dir, &out).unwrap();
        }
        store::merge(&results_dir).unwrap();
        fs::write(
            results_dir.join("spec.toml"),
            "name = \"toy\"\ndescription = \"Toy 1-D regression with a gap\"\n\
             [[methods]]\nname = \"sgd\"\n[[methods]]\nname = \"adam\"\n[[methods]]\nname = \"psgld\"\n\
             [report]\nmetrics = [\"test.rmse\"]\nplots = [\"learning_curves\", \"uncertainty_1d\"]\n",
        )
        .unwrap();
        let out_dir = tmp.0.join("reports").join("toy");
        let summary = write_report(&results_dir, &out_dir).unwrap();
        assert_eq!((summary.runs_ok, summary.runs_failed), (9, 0));
        assert!(summary.skipped.is_empty());
        for f in ["README.md", "table.md", "table.tex", "table.csv"] {
            assert!(out_dir.join(f).exists(), "{f}");
        }
        assert_plot_files(&out_dir, "learning_curves");
        assert_plot_files(&out_dir, "uncertainty_1d");
        let readme = fs::read_to_string(out_dir.join("README.md")).unwrap();
        // Rows follow the spec's method order, not the run_id order of runs.parquet.
        let (sgd, adam, psgld) = (
            readme.find("| sgd |").unwrap(),
            readme.find("| adam |").unwrap(),
            readme.find("| psgld |").unwrap(),
        );
        assert!(sgd < adam && adam < psgld, "{readme}");
        for needle in [
            "# toy\n\nToy 1-D regression with a gap\n",
            "| method | test.rmse ↓ | n |",
            "![learning curves](learning_curves.png)",
            "![uncertainty 1d](uncertainty_1d.png)",
            "bayeslab report results/toy",
        ] {
            assert!(readme.contains(needle), "missing {needle:?} in\n{readme}");
        }
        // Same results, same bytes.
        let before = fs::read(out_dir.join("learning_curves.png")).unwrap();
        write_report(&results_dir, &out_dir).unwrap();
        assert_eq!(
            before,
            fs::read(out_dir.join("learning_curves.png")).unwrap()
        );

        fs::write(
            results_dir.join("spec.toml"),
            "[report]\nplots = [\"violin\"]\n",
        )
        .unwrap();
        let err = write_report(&results_dir, &out_dir)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("report.plots[0]") && err.contains("uncertainty_1d"),
            "{err}"
        );
    }

    #[test]
    fn pooled_variant_drops_trials_and_pools_tuned_repeats() {
        assert_eq!(pooled_variant("trial:bo:0:003"), None);
        assert_eq!(pooled_variant("tuned:bo:12"), Some("tuned:bo"));
        assert_eq!(pooled_variant("tuned:random:0"), Some("tuned:random"));
        assert_eq!(pooled_variant("tuned:bo"), Some("tuned:bo"));
        assert_eq!(pooled_variant("default"), Some("default"));
        assert_eq!(pooled_variant("lr=0.1"), Some("lr=0.1"));
        assert!(comparable_variants("default", "tuned:bo"));
        assert!(!comparable_variants("data=a", "data=b"));
    }

    /// A search experiment: `default` rmse {1, 3}; trials (rmse 100, 200) that must not show;
    /// `tuned:bo` repeat 0 {2, 4} and repeat 1 {6, 8}; `tuned:random` repeat 0 {0.5}.
    fn searched() -> Results {
        let mut r = Results::default();
        for (id, variant, seed, rmse) in [
            ("d0", "default", 0, 1.0),
            ("d1", "default", 1, 3.0),
            ("t0", "trial:bo:0:000", 0, 100.0),
            ("t1", "trial:random:0:000", 0, 200.0),
            ("b00", "tuned:bo:0", 0, 2.0),
            ("b01", "tuned:bo:0", 1, 4.0),
            ("b10", "tuned:bo:1", 0, 6.0),
            ("b11", "tuned:bo:1", 1, 8.0),
            ("r00", "tuned:random:0", 0, 0.5),
        ] {
            r.runs.push(run(id, "adam", variant, seed, true));
            r.metrics.push(metric(id, 1, "test", "rmse", rmse));
            r.metrics.push(metric(id, 0, "test", "rmse", 2.0 * rmse));
        }
        r
    }

    #[test]
    fn trials_are_left_out_and_tuned_repeats_pooled_per_strategy() {
        let o = ReportOptions {
            metrics: vec!["test.rmse".into()],
            ..ReportOptions::default()
        };
        let t = table::table(&searched(), &o);
        let rows: Vec<(&str, usize)> = t
            .rows
            .iter()
            .map(|r| (r.variant.as_str(), r.n_ok))
            .collect();
        assert_eq!(rows, [("default", 2), ("tuned:bo", 4), ("tuned:random", 1)]);
        // tuned:bo pools both repeats: {2, 4, 6, 8} → mean 5, s² = (9 + 1 + 1 + 9)/3 = 20/3.
        let c = t.rows[1].cells[0].unwrap();
        assert_close(c.mean, 5.0);
        assert_close(c.spread, (20.0_f64 / 3.0).sqrt());
        assert_eq!(c.n, 4);
        // default and tuned:* are one data set: a single best over all rows.
        let best: Vec<bool> = (0..3).map(|r| t.is_best(r, 0)).collect();
        assert_eq!(best, [false, false, true]);
        let md = render_markdown(&t);
        assert!(!md.contains("trial:"), "{md}");
        assert!(md.contains("; best mean in bold;"), "{md}");
        assert!(
            md.contains("tuned:\\<strategy\\> pools the re-runs"),
            "{md}"
        );

        let panels = plots::learning_curves(&searched(), &["test.rmse".into()]);
        let curves: Vec<(&str, &str, usize)> = panels[0]
            .curves
            .iter()
            .map(|c| (c.label.as_str(), c.facet.as_str(), c.method_index))
            .collect();
        assert_eq!(
            curves,
            [
                ("adam (default)", "", 0),
                ("adam (tuned:bo)", "", 1),
                ("adam (tuned:random)", "", 2)
            ]
        );
        let p = panels[0].curves[1].points[1];
        assert_eq!((p.epoch, p.n), (1, 4));
        assert_close(p.mean, 5.0);
    }

    fn bench_trial(strategy: &str, repeat: u32, trial: u32, value: f64) -> TrialRow {
        TrialRow {
            problem: "branin".into(),
            strategy: strategy.into(),
            repeat,
            trial,
            run_id: String::new(),
            parameters: "[0.5, 1.5]".into(),
            objective: Some(value),
            best_so_far: Some(value),
            status: "complete".into(),
            source: if strategy == "bo" && trial > 4 {
                "model".into()
            } else {
                "design".into()
            },
            proposal_ms: 3.0,
            wall_s: 0.0,
        }
    }

    #[test]
    fn benchmark_report_renders_without_runs() {
        let tmp = TempDir::new("bench");
        let results_dir = tmp.0.join("results").join("bench");
        fs::create_dir_all(&results_dir).unwrap();
        let f = crate::tune::functions::TestFunction::by_name("branin")
            .unwrap()
            .f_star;
        let mut trials = Vec::new();
        for (s, strategy) in ["random", "bo"].iter().enumerate() {
            for repeat in 0..4u32 {
                for t in 0..30u32 {
                    let gap = 10.0 * (-(t as f64) * (0.1 + 0.2 * s as f64)).exp();
                    trials.push(bench_trial(
                        strategy,
                        repeat,
                        t,
                        f + gap * (1.0 + repeat as f64),
                    ));
                }
            }
        }
        store::write_trials(&results_dir, &trials).unwrap();
        store::merge(&results_dir).unwrap();
        let spec = "name = \"bench\"\ndescription = \"Branin: random vs bo\"\n[benchmark]\n\
                    functions = [\"branin\"]\nbudget = 30\nrepeats = 4\ncheckpoints = [10]\n\
                    [[benchmark.strategies]]\nkind = \"random\"\n\
                    [[benchmark.strategies]]\nkind = \"bo\"\n";
        fs::write(results_dir.join("spec.toml"), spec).unwrap();
        let out_dir = tmp.0.join("reports").join("bench");
        // Results of a search without the run's plan of it: refused, with the way out.
        let err = write_report(&results_dir, &out_dir)
            .unwrap_err()
            .to_string();
        for needle in ["[benchmark]", "no search.json", "--resume"] {
            assert!(err.contains(needle), "missing {needle:?} in {err}");
        }
        // What the run writes beside spec.toml.
        let experiment = crate::spec::parse("bench.toml", spec, &[]).unwrap();
        let plan = SearchPlan::of(&experiment).unwrap();
        fs::write(results_dir.join(SEARCH_PLAN_FILE), plan.to_json()).unwrap();
        let summary = write_report(&results_dir, &out_dir).unwrap();
        assert_eq!((summary.runs_ok, summary.runs_failed), (0, 0));
        for f in ["README.md", "search.md", "search.csv"] {
            assert!(out_dir.join(f).exists(), "{f}");
        }
        for f in ["table.md", "table.tex", "learning_curves.png"] {
            assert!(!out_dir.join(f).exists(), "{f} written for a benchmark");
        }
        assert_plot_files(&out_dir, "search_convergence");
        let readme = fs::read_to_string(out_dir.join("README.md")).unwrap();
        for needle in [
            "# bench\n\nBranin: random vs bo\n\n## Search\n",
            "| function | strategy | repeats | trials | best f(x) ↓ after 10 | after 30 |",
            "![search convergence](search_convergence.png)",
            "bayeslab report results/bench",
        ] {
            assert!(readme.contains(needle), "missing {needle:?} in\n{readme}");
        }
        assert!(!readme.contains("## Results"), "{readme}");
        let svg = fs::read_to_string(out_dir.join("search_convergence.svg")).unwrap();
        for needle in ["branin", "random (median)", "bo (median)", "trial"] {
            assert!(svg.contains(&format!(">\n{needle}\n<")), "missing {needle}");
        }
    }
}
