//! The search part of a report: how the best objective of hyperparameter searches (`[tune]`) or
//! of strategy benchmarks on test functions (`[benchmark]`) improves with the number of trials.
//!
//! Reads only `trials.parquet` rows ([`TrialRow`]) and the search settings of the run's
//! `search.json` ([`SearchSetup`] of a [`SearchPlan`]); it never re-runs a trial. Data are plain
//! structs ([`convergence`], [`search_table`]) so they are testable without drawing;
//! [`super::plots`] draws them.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::table::{column_decimals, csv_field, md_escape, md_escape_text};
use crate::spec::SearchPlan;
use crate::store::TrialRow;
use crate::tune::functions::TestFunction;
use crate::tune::{BoConfig, Direction, SearchSpace};

/// Simple regret below this is drawn and tabulated at this value, so a search that hits f*
/// exactly stays on a log axis.
pub const REGRET_FLOOR: f64 = 1e-8;
/// A benchmark search "finds" the minimum when |best − f*| ≤ this.
pub const WITHIN: f64 = 0.01;
/// Best configurations listed per strategy in the best-configurations table.
pub const TOP_CONFIGS: usize = 3;

/// What kind of search the trials come from.
#[derive(Clone, Debug, PartialEq)]
pub enum SearchKind {
    /// Hyperparameter searches of an experiment's `[tune]` section: `objective` is a validation
    /// metric (`valid.gaussian_ll`).
    Tune {
        objective: String,
        higher_is_better: bool,
    },
    /// Strategies on test functions of known minimum f* (`[benchmark]`): minimisation.
    Benchmark,
}

/// The search settings the report needs, from the run's [`SearchPlan`] (or inferred from the
/// trials when there is none).
#[derive(Clone, Debug, PartialEq)]
pub struct SearchSetup {
    pub kind: SearchKind,
    /// Trials per search.
    pub budget: usize,
    /// Trial counts at which the table shows the best value, sorted: a benchmark's
    /// `checkpoints` (the budget always among them), half the budget and the budget for a tune.
    pub checkpoints: Vec<usize>,
    /// Strategy labels in spec order: the colours and the row order.
    pub strategies: Vec<String>,
    /// The searched space of a `[tune]` section (None for benchmarks and without a plan), for
    /// the GP view.
    pub space: Option<SearchSpace>,
    /// The settings of the plan's first `bo` strategy (default without one), for the GP view.
    pub bo: BoConfig,
}

impl SearchSetup {
    /// The setup of a search as the run validated it.
    pub fn from_plan(plan: &SearchPlan) -> SearchSetup {
        let (kind, checkpoints, space) = match plan {
            SearchPlan::Tune(tune) => (
                SearchKind::Tune {
                    objective: tune.objective.clone(),
                    higher_is_better: tune.direction == Direction::Maximize,
                },
                tune_checkpoints(tune.budget),
                Some(tune.space.clone()),
            ),
            SearchPlan::Benchmark(benchmark) => {
                (SearchKind::Benchmark, benchmark.checkpoints.clone(), None)
            }
        };
        SearchSetup {
            kind,
            budget: plan.budget(),
            checkpoints,
            strategies: plan.strategy_labels(),
            space,
            bo: plan.bo().cloned().unwrap_or_default(),
        }
    }

    /// Setup inferred from trials alone (no spec): maximise unless the trials look like a
    /// benchmark (every problem is a known test function), budget = the longest search.
    pub fn infer(trials: &[TrialRow]) -> SearchSetup {
        let benchmark = !trials.is_empty()
            && trials
                .iter()
                .all(|t| TestFunction::by_name(&t.problem).is_some());
        let budget = trials
            .iter()
            .map(|t| t.trial as usize + 1)
            .max()
            .unwrap_or(0);
        let mut strategies: Vec<String> = Vec::new();
        for t in trials {
            if !strategies.contains(&t.strategy) {
                strategies.push(t.strategy.clone());
            }
        }
        SearchSetup {
            kind: if benchmark {
                SearchKind::Benchmark
            } else {
                SearchKind::Tune {
                    objective: "objective".into(),
                    higher_is_better: true,
                }
            },
            budget,
            checkpoints: if benchmark {
                vec![budget]
            } else {
                tune_checkpoints(budget)
            },
            strategies,
            space: None,
            bo: BoConfig::default(),
        }
    }

    pub fn is_benchmark(&self) -> bool {
        self.kind == SearchKind::Benchmark
    }

    /// Whether a larger objective is better (false for benchmarks: minimisation).
    pub fn higher_is_better(&self) -> bool {
        match self.kind {
            SearchKind::Tune {
                higher_is_better, ..
            } => higher_is_better,
            SearchKind::Benchmark => false,
        }
    }

    /// The objective's name: the validation metric, or `f(x)` for a benchmark.
    pub fn objective(&self) -> &str {
        match &self.kind {
            SearchKind::Tune { objective, .. } => objective,
            SearchKind::Benchmark => "f(x)",
        }
    }
}

/// Half the budget (rounded down) and the budget.
fn tune_checkpoints(budget: usize) -> Vec<usize> {
    let mut c = vec![budget / 2, budget];
    c.retain(|&c| c >= 1);
    c.dedup();
    c
}

/// Median and quartiles of a sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quantiles {
    pub median: f64,
    pub q25: f64,
    pub q75: f64,
    /// Sample size.
    pub n: usize,
}

/// The p-quantile of sorted values by linear interpolation between order statistics (Hyndman &
/// Fan 1996, type 7, the default of R and NumPy): with h = (n − 1)·p,
/// Q(p) = x₍⌊h⌋₎ + (h − ⌊h⌋)·(x₍⌊h⌋+1₎ − x₍⌊h⌋₎) (0-based order statistics).
pub fn quantile(sorted: &[f64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Median, 25th and 75th percentiles ([`quantile`]) of the finite values; None when there are
/// none.
pub fn quantiles(values: &[f64]) -> Option<Quantiles> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    Some(Quantiles {
        median: quantile(&sorted, 0.5),
        q25: quantile(&sorted, 0.25),
        q75: quantile(&sorted, 0.75),
        n: sorted.len(),
    })
}

/// All searches of one (problem, strategy).
struct Searches<'a> {
    problem: &'a str,
    strategy: &'a str,
    /// (repeat, best-so-far after trial t = index) per repeat, in order of first appearance.
    traces: Vec<(u32, Vec<Option<f64>>)>,
    /// The trials, in input order.
    rows: Vec<&'a TrialRow>,
}

impl Searches<'_> {
    /// The longest search: the x range of its convergence line.
    fn length(&self) -> usize {
        self.traces.iter().map(|(_, t)| t.len()).max().unwrap_or(0)
    }

    /// Best so far of each repeat after `evaluations` trials; a search that stopped earlier keeps
    /// its final best (it found nothing better within that many evaluations). None: no complete
    /// trial yet.
    fn best_after(&self, evaluations: usize) -> impl Iterator<Item = Option<f64>> + '_ {
        self.traces.iter().map(move |(_, t)| {
            t.get(evaluations.min(t.len()).checked_sub(1)?)
                .copied()
                .flatten()
        })
    }
}

/// Groups trials by (problem, strategy) (problems in order of first appearance, strategies in
/// `order` then first appearance) and computes every repeat's best-so-far trace: after trial t,
/// the best finite objective among trials 0..=t (max or min by `higher`); failed trials (no
/// objective) leave it unchanged.
fn searches<'a>(trials: &'a [TrialRow], order: &'a [String], higher: bool) -> Vec<Searches<'a>> {
    let mut problems: Vec<&str> = Vec::new();
    let mut by_key: BTreeMap<(&str, &str), Vec<&TrialRow>> = BTreeMap::new();
    let mut strategies: Vec<&str> = order.iter().map(String::as_str).collect();
    for t in trials {
        if !problems.contains(&t.problem.as_str()) {
            problems.push(&t.problem);
        }
        if !strategies.contains(&t.strategy.as_str()) {
            strategies.push(&t.strategy);
        }
        by_key.entry((&t.problem, &t.strategy)).or_default().push(t);
    }
    let better = |a: f64, b: f64| if higher { a > b } else { a < b };
    let mut out = Vec::new();
    for &problem in &problems {
        for &strategy in &strategies {
            let Some(rows) = by_key.remove(&(problem, strategy)) else {
                continue;
            };
            let mut repeats: Vec<(u32, Vec<&TrialRow>)> = Vec::new();
            for &t in &rows {
                match repeats.iter_mut().find(|(r, _)| *r == t.repeat) {
                    Some((_, list)) => list.push(t),
                    None => repeats.push((t.repeat, vec![t])),
                }
            }
            let traces = repeats
                .into_iter()
                .map(|(repeat, mut list)| {
                    list.sort_by_key(|t| t.trial);
                    let mut best: Option<f64> = None;
                    let trace = list
                        .iter()
                        .map(|t| {
                            if let Some(v) = t.objective.filter(|v| v.is_finite())
                                && best.is_none_or(|b| better(v, b))
                            {
                                best = Some(v);
                            }
                            best
                        })
                        .collect();
                    (repeat, trace)
                })
                .collect();
            out.push(Searches {
                problem,
                strategy,
                traces,
                rows,
            });
        }
    }
    out
}

/// The known minimum of a benchmark problem; None for a tune or an unknown function.
fn f_star(setup: &SearchSetup, problem: &str) -> Option<f64> {
    if setup.is_benchmark() {
        TestFunction::by_name(problem).map(|f| f.f_star)
    } else {
        None
    }
}

/// Simple regret r = max(best − f*, [`REGRET_FLOOR`]): how far the best value found is above
/// the known minimum, floored so it stays drawable on a log axis.
pub fn regret(best: f64, f_star: f64) -> f64 {
    (best - f_star).max(REGRET_FLOOR)
}

/// One point of a convergence line: quantiles over repeats after `trial` trials.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ConvergencePoint {
    /// Trials done, from 1.
    pub trial: usize,
    pub q: Quantiles,
}

/// One strategy's line in a panel.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvergenceLine {
    pub strategy: String,
    /// Position of the strategy in the spec (then first appearance): its colour in every panel.
    pub strategy_index: usize,
    pub points: Vec<ConvergencePoint>,
}

/// One panel: one problem (tuned method or test function).
#[derive(Clone, Debug, PartialEq)]
pub struct ConvergencePanel {
    pub problem: String,
    /// The y axis: the best objective, or the simple regret of a benchmark.
    pub y_label: String,
    /// Regret of a benchmark: drawn on a log10 axis.
    pub log_y: bool,
    pub lines: Vec<ConvergenceLine>,
}

/// Convergence data: per problem and strategy, the median and quartiles ([`quantiles`]) over
/// repeats of the best objective after t = 1, 2, … trials — for a benchmark of the simple regret
/// [`regret`] instead. Repeats without a complete trial yet are left out of a point (its n says
/// how many remain).
pub fn convergence(trials: &[TrialRow], setup: &SearchSetup) -> Vec<ConvergencePanel> {
    let all = searches(trials, &setup.strategies, setup.higher_is_better());
    let strategy_order = strategy_order(&all, &setup.strategies);
    let mut panels: Vec<ConvergencePanel> = Vec::new();
    for s in &all {
        let f_star = f_star(setup, s.problem);
        let points = (1..=s.length())
            .filter_map(|t| {
                let values: Vec<f64> = s
                    .best_after(t)
                    .flatten()
                    .map(|b| f_star.map_or(b, |f| regret(b, f)))
                    .collect();
                Some(ConvergencePoint {
                    trial: t,
                    q: quantiles(&values)?,
                })
            })
            .collect();
        let line = ConvergenceLine {
            strategy: s.strategy.to_string(),
            strategy_index: strategy_order
                .iter()
                .position(|x| *x == s.strategy)
                .unwrap_or(0),
            points,
        };
        match panels.iter_mut().find(|p| p.problem == s.problem) {
            Some(panel) => panel.lines.push(line),
            None => panels.push(ConvergencePanel {
                problem: s.problem.to_string(),
                y_label: match f_star {
                    Some(_) => "simple regret best − f*".to_string(),
                    None => format!(
                        "best {} ({} is better)",
                        setup.objective(),
                        if setup.higher_is_better() {
                            "higher"
                        } else {
                            "lower"
                        }
                    ),
                },
                log_y: f_star.is_some(),
                lines: vec![line],
            }),
        }
    }
    panels
}

/// Strategies in spec order, then in order of first appearance.
fn strategy_order<'a>(all: &[Searches<'a>], spec: &'a [String]) -> Vec<&'a str> {
    let mut out: Vec<&str> = spec.iter().map(String::as_str).collect();
    for s in all {
        if !out.contains(&s.strategy) {
            out.push(s.strategy);
        }
    }
    out
}

/// The best value of one (problem, strategy) after a number of evaluations.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckpointStats {
    pub evaluations: usize,
    /// Quantiles over repeats of the best objective.
    pub best: Option<Quantiles>,
    /// Benchmarks: quantiles over repeats of the simple regret ([`regret`]).
    pub regret: Option<Quantiles>,
    /// Benchmarks: (repeats with |best − f*| ≤ [`WITHIN`], repeats).
    pub within: Option<(usize, usize)>,
}

/// One row of the search table: a (problem, strategy).
#[derive(Clone, Debug, PartialEq)]
pub struct SearchRow {
    pub problem: String,
    pub strategy: String,
    pub repeats: usize,
    /// Trials of the longest search.
    pub trials: usize,
    pub failed: usize,
    /// One entry per [`SearchTable::checkpoints`].
    pub checkpoints: Vec<CheckpointStats>,
    /// (median, max) proposal time in ms over model-based proposals (`source == "model"`);
    /// None when the strategy proposes without a model.
    pub proposal_ms: Option<(f64, f64)>,
}

/// The best trial of one search.
#[derive(Clone, Debug, PartialEq)]
pub struct BestConfig {
    pub problem: String,
    pub strategy: String,
    pub repeat: u32,
    /// Trial number, from 0.
    pub trial: u32,
    pub objective: f64,
    /// (key, value) pairs of the trial's parameters, values formatted for reading.
    pub parameters: Vec<(String, String)>,
}

/// The search table, ready to render.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchTable {
    pub setup: SearchSetup,
    /// Evaluation counts of the checkpoint columns.
    pub checkpoints: Vec<usize>,
    pub rows: Vec<SearchRow>,
    /// Searches only: the best trial of each repeat, best first, at most [`TOP_CONFIGS`] per
    /// (problem, strategy).
    pub best: Vec<BestConfig>,
    /// Total number of trials and of failed trials.
    pub trials: usize,
    pub failed: usize,
}

impl SearchTable {
    /// Whether the median of `pick` in row `row` is the best among the rows of its problem
    /// (ties all bold).
    fn is_best(&self, row: usize, pick: impl Fn(&SearchRow) -> Option<f64>, higher: bool) -> bool {
        let Some(value) = pick(&self.rows[row]) else {
            return false;
        };
        let problem = &self.rows[row].problem;
        self.rows
            .iter()
            .filter(|r| &r.problem == problem)
            .filter_map(pick)
            .all(|other| {
                if higher {
                    other <= value
                } else {
                    other >= value
                }
            })
    }

    fn multiple_problems(&self) -> bool {
        self.rows.iter().any(|r| r.problem != self.rows[0].problem)
    }
}

/// The search table: per (problem, strategy), quantiles over repeats of the best objective at
/// each checkpoint; for benchmarks also the regret and the repeats within [`WITHIN`] of f*; the
/// model-based proposal time; for searches the best configuration of each repeat.
pub fn search_table(trials: &[TrialRow], setup: &SearchSetup) -> SearchTable {
    let higher = setup.higher_is_better();
    let all = searches(trials, &setup.strategies, higher);
    let longest = all.iter().map(Searches::length).max().unwrap_or(0);
    let mut checkpoints = setup.checkpoints.clone();
    if checkpoints.is_empty() && longest > 0 {
        checkpoints = if setup.is_benchmark() {
            vec![longest]
        } else {
            tune_checkpoints(longest)
        };
    }
    let mut rows = Vec::new();
    let mut best = Vec::new();
    for s in &all {
        let f_star = f_star(setup, s.problem);
        let stats = checkpoints
            .iter()
            .map(|&c| {
                let values: Vec<Option<f64>> = s.best_after(c).collect();
                let found: Vec<f64> = values.iter().flatten().copied().collect();
                CheckpointStats {
                    evaluations: c,
                    best: quantiles(&found),
                    regret: f_star.and_then(|f| {
                        quantiles(&found.iter().map(|&b| regret(b, f)).collect::<Vec<_>>())
                    }),
                    within: f_star.map(|f| {
                        let k = found.iter().filter(|&&b| (b - f).abs() <= WITHIN).count();
                        (k, values.len())
                    }),
                }
            })
            .collect();
        let model_ms: Vec<f64> = s
            .rows
            .iter()
            .filter(|t| t.source == "model")
            .map(|t| t.proposal_ms)
            .collect();
        let proposal_ms = quantiles(&model_ms).map(|q| {
            let max = model_ms
                .iter()
                .copied()
                .filter(|v| v.is_finite())
                .fold(f64::NEG_INFINITY, f64::max);
            (q.median, max)
        });
        rows.push(SearchRow {
            problem: s.problem.to_string(),
            strategy: s.strategy.to_string(),
            repeats: s.traces.len(),
            trials: s.length(),
            failed: s.rows.iter().filter(|t| t.objective.is_none()).count(),
            checkpoints: stats,
            proposal_ms,
        });
        if !setup.is_benchmark() {
            best.extend(best_configs(s, higher));
        }
    }
    SearchTable {
        setup: setup.clone(),
        checkpoints,
        rows,
        best,
        trials: trials.len(),
        failed: trials.iter().filter(|t| t.objective.is_none()).count(),
    }
}

/// The best trial of each repeat of `s` (earliest on ties), best first, at most [`TOP_CONFIGS`].
fn best_configs(s: &Searches, higher: bool) -> Vec<BestConfig> {
    let mut per_repeat: Vec<(u32, &TrialRow, f64)> = Vec::new();
    for &t in &s.rows {
        let Some(v) = t.objective.filter(|v| v.is_finite()) else {
            continue;
        };
        let better = |b: f64| if higher { v > b } else { v < b };
        match per_repeat.iter_mut().find(|(r, _, _)| *r == t.repeat) {
            Some(slot) if better(slot.2) || (v == slot.2 && t.trial < slot.1.trial) => {
                *slot = (t.repeat, t, v);
            }
            Some(_) => {}
            None => per_repeat.push((t.repeat, t, v)),
        }
    }
    per_repeat.sort_by(|a, b| {
        let by_value = if higher {
            b.2.total_cmp(&a.2)
        } else {
            a.2.total_cmp(&b.2)
        };
        by_value.then(a.0.cmp(&b.0))
    });
    per_repeat
        .into_iter()
        .take(TOP_CONFIGS)
        .map(|(repeat, t, objective)| BestConfig {
            problem: s.problem.to_string(),
            strategy: s.strategy.to_string(),
            repeat,
            trial: t.trial,
            objective,
            parameters: parameters(&t.parameters),
        })
        .collect()
}

/// About 4 significant digits; scientific notation outside [1e-3, 1e5).
pub fn fmt_sig(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let a = x.abs();
    if !(1e-3..1e5).contains(&a) {
        return format!("{x:.3e}");
    }
    let d = (3 - a.log10().floor() as i64).clamp(0, 6) as usize;
    format!("{x:.d$}")
}

fn fmt_json(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(f)) => fmt_sig(f),
            _ => n.to_string(),
        },
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(items) => format!(
            "[{}]",
            items.iter().map(fmt_json).collect::<Vec<_>>().join(", ")
        ),
        other => other.to_string(),
    }
}

/// A trial's parameters as (key, value) pairs: the keys of a JSON object (sorted), or
/// `x` for a JSON array (a benchmark's point); unparsable text is kept whole under `parameters`.
pub fn parameters(json: &str) -> Vec<(String, String)> {
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(serde_json::Value::Object(map)) => {
            map.iter().map(|(k, v)| (k.clone(), fmt_json(v))).collect()
        }
        Ok(v @ serde_json::Value::Array(_)) => vec![("x".into(), fmt_json(&v))],
        _ => vec![("parameters".into(), json.to_string())],
    }
}

/// `median [q25, q75]` with `d` decimals, the median in bold when `bold`.
fn fmt_q(q: &Quantiles, d: usize, bold: bool) -> String {
    let m = format!("{:.d$}", q.median);
    let m = if bold { format!("**{m}**") } else { m };
    format!("{m} [{:.d$}, {:.d$}]", q.q25, q.q75)
}

/// A Markdown code span for a table cell (pipes escaped, backticks dropped).
fn code(s: &str) -> String {
    format!("`{}`", s.replace('`', "").replace('|', "\\|"))
}

/// The search table in Markdown, its notes, and (searches) the best configurations.
pub fn render_search_markdown(table: &SearchTable) -> String {
    let setup = &table.setup;
    let bench = setup.is_benchmark();
    let higher = setup.higher_is_better();
    let n_ck = table.checkpoints.len();
    let mut out = String::new();
    let _ = write!(
        out,
        "| {} | strategy | repeats | trials |",
        if bench { "function" } else { "method" }
    );
    for (i, c) in table.checkpoints.iter().enumerate() {
        if i == 0 {
            let _ = write!(
                out,
                " best {} {} after {c} |",
                md_escape(setup.objective()),
                if higher { "↑" } else { "↓" }
            );
        } else {
            let _ = write!(out, " after {c} |");
        }
    }
    if bench {
        out.push_str(" within 0.01 of f\\* ↑ | median regret ↓ |");
    }
    out.push_str(" proposal ms (median / max) |\n|:--|:--|--:|--:|");
    let extra = n_ck + if bench { 2 } else { 0 } + 1;
    out.push_str(&"--:|".repeat(extra));
    out.push('\n');
    // Decimals per problem, shared by its checkpoint columns (values of one problem compare).
    let mut decimals: BTreeMap<&str, usize> = BTreeMap::new();
    for row in &table.rows {
        let values = table
            .rows
            .iter()
            .filter(|r| r.problem == row.problem)
            .flat_map(|r| r.checkpoints.iter().filter_map(|c| c.best))
            .flat_map(|q| [q.median, q.q25, q.q75]);
        decimals
            .entry(row.problem.as_str())
            .or_insert_with(|| column_decimals(values));
    }
    let last = n_ck.saturating_sub(1);
    for (r, row) in table.rows.iter().enumerate() {
        let first = r == 0 || table.rows[r - 1].problem != row.problem;
        let d = decimals[row.problem.as_str()];
        let name = if first {
            match f_star(setup, &row.problem) {
                Some(f) => format!("{} (f\\* = {})", md_escape(&row.problem), fmt_sig(f)),
                None => md_escape(&row.problem),
            }
        } else {
            String::new()
        };
        let _ = write!(
            out,
            "| {name} | {} | {} | {} |",
            md_escape(&row.strategy),
            row.repeats,
            row.trials
        );
        for (i, c) in row.checkpoints.iter().enumerate() {
            match &c.best {
                Some(q) => {
                    let bold =
                        table.is_best(r, |x| x.checkpoints[i].best.map(|q| q.median), higher);
                    let _ = write!(out, " {} |", fmt_q(q, d, bold));
                }
                None => out.push_str(" — |"),
            }
        }
        if bench {
            let at_budget = &row.checkpoints[last];
            match at_budget.within {
                Some((k, n)) => {
                    let frac = |x: &SearchRow| {
                        x.checkpoints[last]
                            .within
                            .filter(|&(_, n)| n > 0)
                            .map(|(k, n)| k as f64 / n as f64)
                    };
                    let cell = format!("{k}/{n}");
                    // No bold when no strategy found the minimum.
                    if k > 0 && table.is_best(r, frac, true) {
                        let _ = write!(out, " **{cell}** |");
                    } else {
                        let _ = write!(out, " {cell} |");
                    }
                }
                None => out.push_str(" — |"),
            }
            match at_budget.regret {
                Some(q) => {
                    let pick = |x: &SearchRow| x.checkpoints[last].regret.map(|q| q.median);
                    let cell = fmt_sig(q.median);
                    if table.is_best(r, pick, false) {
                        let _ = write!(out, " **{cell}** |");
                    } else {
                        let _ = write!(out, " {cell} |");
                    }
                }
                None => out.push_str(" — |"),
            }
        }
        match row.proposal_ms {
            Some((median, max)) => {
                let _ = writeln!(out, " {} / {} |", fmt_sig(median), fmt_sig(max));
            }
            None => out.push_str(" — |\n"),
        }
    }
    for note in search_notes(table) {
        let _ = write!(out, "\n{}\n", md_escape_text(&note));
    }
    if !table.best.is_empty() {
        out.push_str(&render_best_configs(table));
    }
    out
}

/// What the search table's numbers are.
fn search_notes(table: &SearchTable) -> Vec<String> {
    let setup = &table.setup;
    let unit = if table.multiple_problems() {
        if setup.is_benchmark() {
            " within each function"
        } else {
            " within each method"
        }
    } else {
        ""
    };
    let mut notes = vec![format!(
        "Best {} found within the first k trials (\"after k\"): median [25th, 75th percentile] over \
         the repeats (independent searches), percentiles by linear interpolation; a search \
         shorter than k counts with its final best. Best median per column in bold{unit}.",
        setup.objective()
    )];
    if setup.is_benchmark() {
        notes.push(format!(
            "At the budget: within 0.01 of f* = searches with |best − f*| ≤ {WITHIN}; median regret \
             = median of best − f* (floored at {REGRET_FLOOR:.0e})."
        ));
    }
    notes.push(
        "Proposal time: median / max over the proposals of a fitted model (Bayesian \
         optimisation: GP fit and acquisition); — for strategies without a model."
            .into(),
    );
    if table.failed > 0 {
        notes.push(format!(
            "{} of {} trials failed (no objective); a failed trial leaves the best so far unchanged.",
            table.failed, table.trials
        ));
    }
    notes
}

/// The best configuration of the top repeats of each strategy.
fn render_best_configs(table: &SearchTable) -> String {
    let many = table.multiple_problems();
    let mut out = format!(
        "\n### Best configurations\n\nThe best trial of each search, top {TOP_CONFIGS} searches per strategy by {}.\n\n|",
        md_escape_text(table.setup.objective())
    );
    if many {
        out.push_str(" method |");
    }
    out.push_str(" strategy | repeat | trial | objective | parameters |\n|");
    if many {
        out.push_str(":--|");
    }
    out.push_str(":--|--:|--:|--:|:--|\n");
    for b in &table.best {
        out.push('|');
        if many {
            let _ = write!(out, " {} |", md_escape(&b.problem));
        }
        let params: Vec<String> = b
            .parameters
            .iter()
            .map(|(k, v)| code(&format!("{k} = {v}")))
            .collect();
        let _ = writeln!(
            out,
            " {} | {} | {} | {} | {} |",
            md_escape(&b.strategy),
            b.repeat,
            b.trial,
            fmt_sig(b.objective),
            params.join(", ")
        );
    }
    out
}

fn csv_opt(v: Option<f64>) -> String {
    v.map_or(String::new(), |v| format!("{v:?}"))
}

/// Long-form CSV: one line per (problem, strategy, checkpoint), numbers at full precision; empty
/// fields where a statistic does not apply.
pub fn render_search_csv(table: &SearchTable) -> String {
    let mut out = String::from(
        "problem,strategy,repeats,evaluations,n,median,q25,q75,regret_median,within_0.01,proposal_ms_median,proposal_ms_max\n",
    );
    for row in &table.rows {
        for c in &row.checkpoints {
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{},{},{},{},{},{}",
                csv_field(&row.problem),
                csv_field(&row.strategy),
                row.repeats,
                c.evaluations,
                c.best.map_or(0, |q| q.n),
                csv_opt(c.best.map(|q| q.median)),
                csv_opt(c.best.map(|q| q.q25)),
                csv_opt(c.best.map(|q| q.q75)),
                csv_opt(c.regret.map(|q| q.median)),
                c.within.map_or(String::new(), |(k, _)| k.to_string()),
                csv_opt(row.proposal_ms.map(|p| p.0)),
                csv_opt(row.proposal_ms.map(|p| p.1)),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::search_plan::{BenchmarkPlan, TunePlan};
    use crate::tune::{ParamSpec, StrategyConfig};

    fn assert_close(got: f64, want: f64) {
        // Quantiles of a handful of O(1) values: rounding stays below 1e-12.
        assert!((got - want).abs() < 1e-12, "got {got}, want {want}");
    }

    fn assert_q(q: Quantiles, median: f64, q25: f64, q75: f64, n: usize) {
        assert_close(q.median, median);
        assert_close(q.q25, q25);
        assert_close(q.q75, q75);
        assert_eq!(q.n, n);
    }

    fn trial(
        problem: &str,
        strategy: &str,
        repeat: u32,
        trial: u32,
        objective: Option<f64>,
    ) -> TrialRow {
        TrialRow {
            problem: problem.into(),
            strategy: strategy.into(),
            repeat,
            trial,
            run_id: String::new(),
            parameters: format!("{{\"lr\": 0.001, \"layers\": {}}}", trial + 1),
            objective,
            best_so_far: None,
            status: if objective.is_some() {
                "complete".into()
            } else {
                "failed".into()
            },
            source: "design".into(),
            proposal_ms: 0.0,
            wall_s: 1.0,
        }
    }

    /// random, 4 repeats of 3 trials (None = failed):
    /// r0 [1, 3, 2] → best [1, 3, 3]; r1 [2, –, 4] → [2, 2, 4]; r2 [0, 5, 1] → [0, 5, 5];
    /// r3 [–, 1, 6] → [–, 1, 6]. bo, 1 repeat: [2 (design), 2.5 (model, 10 ms), 1 (model, 30 ms)].
    fn tune_trials() -> Vec<TrialRow> {
        let random = [
            [Some(1.0), Some(3.0), Some(2.0)],
            [Some(2.0), None, Some(4.0)],
            [Some(0.0), Some(5.0), Some(1.0)],
            [None, Some(1.0), Some(6.0)],
        ];
        let mut out = Vec::new();
        for (r, values) in random.iter().enumerate() {
            for (t, &v) in values.iter().enumerate() {
                out.push(trial("adam", "random", r as u32, t as u32, v));
            }
        }
        for (t, (v, source, ms)) in [
            (2.0, "design", 0.5),
            (2.5, "model", 10.0),
            (1.0, "model", 30.0),
        ]
        .into_iter()
        .enumerate()
        {
            let mut row = trial("adam", "bo", 0, t as u32, Some(v));
            row.source = source.into();
            row.proposal_ms = ms;
            out.push(row);
        }
        out
    }

    fn tune_setup(higher_is_better: bool) -> SearchSetup {
        SearchSetup {
            kind: SearchKind::Tune {
                objective: "valid.gaussian_ll".into(),
                higher_is_better,
            },
            budget: 3,
            checkpoints: tune_checkpoints(3),
            strategies: vec!["random".into(), "bo".into()],
            space: None,
            bo: BoConfig::default(),
        }
    }

    #[test]
    fn quantiles_interpolate_linearly_between_order_statistics() {
        // [0, 1, 2]: h = 2p → Q(.25) = 0.5, Q(.5) = 1, Q(.75) = 1.5.
        assert_q(quantiles(&[2.0, 0.0, 1.0]).unwrap(), 1.0, 0.5, 1.5, 3);
        // [1, 2, 3, 5]: h = 3p → Q(.25) = 1.75, Q(.5) = 2.5, Q(.75) = 3 + 0.25·2 = 3.5.
        assert_q(quantiles(&[5.0, 1.0, 3.0, 2.0]).unwrap(), 2.5, 1.75, 3.5, 4);
        assert_q(quantiles(&[7.0, f64::NAN]).unwrap(), 7.0, 7.0, 7.0, 1);
        assert_eq!(quantiles(&[]), None);
    }

    #[test]
    fn convergence_is_median_and_quartiles_of_best_so_far_over_repeats() {
        let panels = convergence(&tune_trials(), &tune_setup(true));
        assert_eq!(panels.len(), 1);
        let p = &panels[0];
        assert_eq!(p.problem, "adam");
        assert_eq!(p.y_label, "best valid.gaussian_ll (higher is better)");
        assert!(!p.log_y);
        let random = &p.lines[0];
        assert_eq!(
            (random.strategy.as_str(), random.strategy_index),
            ("random", 0)
        );
        assert_eq!(random.points.len(), 3);
        // t = 1: {1, 2, 0}; r3 has no complete trial yet.
        assert_eq!(random.points[0].trial, 1);
        assert_q(random.points[0].q, 1.0, 0.5, 1.5, 3);
        // t = 2: {3, 2, 5, 1}: the failed trial of r1 keeps its best of 2.
        assert_q(random.points[1].q, 2.5, 1.75, 3.5, 4);
        // t = 3: {3, 4, 5, 6} → 4.5 [3.75, 5.25].
        assert_q(random.points[2].q, 4.5, 3.75, 5.25, 4);
        let bo = &p.lines[1];
        assert_eq!((bo.strategy.as_str(), bo.strategy_index), ("bo", 1));
        let medians: Vec<f64> = bo.points.iter().map(|x| x.q.median).collect();
        assert_eq!(medians, [2.0, 2.5, 2.5]);

        // Minimising the same trials: t = 2 is {1, 2, 0, 1} → 1 [0.75, 1.25].
        let panels = convergence(&tune_trials(), &tune_setup(false));
        assert_eq!(
            panels[0].y_label,
            "best valid.gaussian_ll (lower is better)"
        );
        assert_q(panels[0].lines[0].points[1].q, 1.0, 0.75, 1.25, 4);
    }

    #[test]
    fn search_table_checkpoints_proposal_times_and_best_configurations() {
        let t = search_table(&tune_trials(), &tune_setup(true));
        assert_eq!(t.checkpoints, [1, 3]);
        assert_eq!((t.trials, t.failed), (15, 2));
        let [random, bo] = &t.rows[..] else {
            panic!("two rows expected: {:?}", t.rows)
        };
        assert_eq!((random.repeats, random.trials, random.failed), (4, 3, 2));
        assert_q(random.checkpoints[0].best.unwrap(), 1.0, 0.5, 1.5, 3);
        assert_q(random.checkpoints[1].best.unwrap(), 4.5, 3.75, 5.25, 4);
        assert_eq!(random.checkpoints[1].within, None);
        assert_eq!(random.proposal_ms, None);
        // Model proposals only: {10, 30} → median 20, max 30.
        assert_eq!(bo.proposal_ms, Some((20.0, 30.0)));
        // Bold: after 1 trial bo's 2 beats random's 1; after 3, random's 4.5 beats bo's 2.5.
        let md = render_search_markdown(&t);
        assert!(
            md.contains(
                "| adam | random | 4 | 3 | 1.000 [0.500, 1.500] | **4.500** [3.750, 5.250] | — |"
            ),
            "{md}"
        );
        assert!(md.contains("|  | bo | 1 | 3 | **2.000** [2.000, 2.000] | 2.500 [2.500, 2.500] | 20.00 / 30.00 |"), "{md}");
        assert!(md.contains("2 of 15 trials failed"), "{md}");
        // Top 3 repeats of random by their best trial: r3 (6), r2 (5), r1 (4); then bo's only.
        let best: Vec<(&str, u32, u32, f64)> = t
            .best
            .iter()
            .map(|b| (b.strategy.as_str(), b.repeat, b.trial, b.objective))
            .collect();
        assert_eq!(
            best,
            [
                ("random", 3, 2, 6.0),
                ("random", 2, 1, 5.0),
                ("random", 1, 2, 4.0),
                ("bo", 0, 1, 2.5)
            ]
        );
        assert_eq!(
            t.best[0].parameters,
            [
                ("layers".to_string(), "3".to_string()),
                ("lr".to_string(), "0.001000".to_string())
            ]
        );
        assert!(
            md.contains("| random | 3 | 2 | 6.000 | `layers = 3`, `lr = 0.001000` |"),
            "{md}"
        );
        let csv = render_search_csv(&t);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 5);
        assert_eq!(lines[2], "adam,random,4,3,4,4.5,3.75,5.25,,,,");
        assert_eq!(lines[4], "adam,bo,1,3,1,2.5,2.5,2.5,,,20.0,30.0");
    }

    #[test]
    fn regret_is_floored_so_a_log_axis_can_show_it() {
        assert_eq!(regret(1.5, 0.5), 1.0);
        assert_eq!(regret(0.5, 0.5), REGRET_FLOOR);
        // Rounding can put the best a hair below f*: still the floor, never ≤ 0.
        assert_eq!(regret(0.5 - 1e-12, 0.5), REGRET_FLOOR);
    }

    /// branin, random, 4 repeats of 2 trials: r0 [f*+1, f*+0.005], r1 [f*+2, f*],
    /// r2 [f*+0.5, –], r3 [–, –].
    fn benchmark_trials() -> (Vec<TrialRow>, f64) {
        let f = TestFunction::by_name("branin").unwrap().f_star;
        let repeats = [
            [Some(f + 1.0), Some(f + 0.005)],
            [Some(f + 2.0), Some(f)],
            [Some(f + 0.5), None],
            [None, None],
        ];
        let mut out = Vec::new();
        for (r, values) in repeats.iter().enumerate() {
            for (t, &v) in values.iter().enumerate() {
                let mut row = trial("branin", "random", r as u32, t as u32, v);
                row.parameters = "[1.5, 2.25]".into();
                out.push(row);
            }
        }
        (out, f)
    }

    fn benchmark_setup() -> SearchSetup {
        SearchSetup::from_plan(&SearchPlan::Benchmark(BenchmarkPlan {
            functions: vec!["branin".into()],
            strategies: vec![
                StrategyConfig::Grid {
                    points_per_dim: None,
                },
                StrategyConfig::Random,
            ],
            budget: 2,
            repeats: 4,
            checkpoints: vec![1, 2],
        }))
    }

    #[test]
    fn benchmark_counts_searches_within_a_hundredth_of_f_star() {
        let (trials, f) = benchmark_trials();
        let setup = benchmark_setup();
        assert_eq!(setup.checkpoints, [1, 2]);
        assert_eq!(setup.strategies, ["grid", "random"]);
        let t = search_table(&trials, &setup);
        let row = &t.rows[0];
        assert_eq!((row.repeats, row.trials), (4, 2));
        let [after1, after2] = &row.checkpoints[..] else {
            panic!("{:?}", row.checkpoints)
        };
        // After 1: regrets {1, 2, 0.5}, none within 0.01; the empty r3 counts in n.
        assert_eq!(after1.within, Some((0, 4)));
        let q = after1.regret.unwrap();
        assert!((q.median - 1.0).abs() < 1e-12 && q.n == 3, "{q:?}");
        // After 2: {0.005, floor, 0.5}: r0 and r1 within 0.01.
        assert_eq!(after2.within, Some((2, 4)));
        let q = after2.regret.unwrap();
        assert!((q.median - 0.005).abs() < 1e-12, "{q:?}");
        assert!(
            (q.q25 - (REGRET_FLOOR + 0.005) / 2.0).abs() < 1e-12,
            "{q:?}"
        );
        assert!((after2.best.unwrap().median - (f + 0.005)).abs() < 1e-12);
        let md = render_search_markdown(&t);
        assert!(md.starts_with("| function | strategy |"), "{md}");
        assert!(
            md.contains("| branin (f\\* = 0.3979) | random | 4 | 2 |"),
            "{md}"
        );
        assert!(md.contains("| **2/4** | **0.005000** | — |"), "{md}");
        assert!(!md.contains("Best configurations"), "{md}");

        let panels = convergence(&trials, &setup);
        let p = &panels[0];
        assert!(p.log_y);
        assert_eq!(p.y_label, "simple regret best − f*");
        // Colour index follows the spec's strategies: grid 0 (absent here), random 1.
        assert_eq!(p.lines[0].strategy_index, 1);
        let q = p.lines[0].points[1].q;
        assert!((q.median - 0.005).abs() < 1e-12, "{q:?}");
    }

    /// A `[tune]` plan of `adam` by `valid.rmse` with the given direction and strategies.
    fn tune_plan(
        direction: Direction,
        budget: usize,
        strategies: Vec<StrategyConfig>,
    ) -> SearchPlan {
        let lr = ParamSpec::LogUniform {
            low: 1e-4,
            high: 0.1,
        };
        SearchPlan::Tune(TunePlan {
            method: "adam".into(),
            objective: "valid.rmse".into(),
            direction,
            budget,
            strategies,
            repeats: 1,
            batch: 1,
            final_runs: true,
            warm_start: None,
            space: SearchSpace {
                params: vec![("methods.adam.optimizer.lr".into(), lr)],
            },
        })
    }

    #[test]
    fn tune_setup_is_read_from_the_plan() {
        let s = SearchSetup::from_plan(&tune_plan(
            Direction::Minimize,
            41,
            vec![
                StrategyConfig::Random,
                StrategyConfig::Bo(BoConfig::default()),
            ],
        ));
        assert_eq!(s.objective(), "valid.rmse");
        assert!(!s.higher_is_better());
        assert_eq!(s.checkpoints, [20, 41]);
        assert_eq!(s.strategies, ["random", "bo"]);
        assert_eq!(s.bo, BoConfig::default());
        let space = s.space.unwrap();
        assert_eq!(space.params[0].0, "methods.adam.optimizer.lr");
        let bo = BoConfig {
            n_initial: Some(4),
            ..BoConfig::default()
        };
        let s = SearchSetup::from_plan(&tune_plan(
            Direction::Maximize,
            1,
            vec![StrategyConfig::Sobol, StrategyConfig::Bo(bo.clone())],
        ));
        assert!(s.higher_is_better());
        assert_eq!(s.bo, bo, "the first bo strategy's settings");
        assert_eq!(
            (s.checkpoints.clone(), s.strategies.clone()),
            (vec![1], vec!["sobol".to_string(), "bo".to_string()])
        );
    }
}
