//! The results table: final metric values aggregated over seeds and splits per (method, variant),
//! and its Markdown, LaTeX (booktabs) and CSV renderings.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{comparable_variants, pooled_variant};
use crate::metrics::final_value;
use crate::spec::report::{ReportOptions, Spread};
use crate::spec::tune::TUNED_PREFIX;
use crate::store::{Results, RunStatus};

/// Mean and spread of one metric over the ok runs of one (method, variant).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cell {
    pub mean: f64,
    /// Sample std (n − 1 denominator; 0 when n = 1) or s.e.m. = std / √n, per [`Table::spread`].
    pub spread: f64,
    /// Number of ok runs that reported this metric.
    pub n: usize,
}

/// One row: a (method, variant).
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub method: String,
    pub variant: String,
    /// Number of ok runs.
    pub n_ok: usize,
    /// One cell per column of [`Table::metrics`]; None when no ok run reported the metric.
    pub cells: Vec<Option<Cell>>,
}

/// A run excluded from the table because it failed.
#[derive(Clone, Debug, PartialEq)]
pub struct FailedRun {
    pub method: String,
    pub variant: String,
    pub seed: u32,
    pub split: u32,
    pub error: Option<String>,
}

/// The aggregated table, ready to render.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// Columns, as `split.metric`.
    pub metrics: Vec<String>,
    pub spread: Spread,
    /// Rows grouped by variant (variants in order of first appearance in the runs), then in order
    /// of first appearance of (method, variant).
    pub rows: Vec<Row>,
    pub failed: Vec<FailedRun>,
    /// Number of decimals shown per column (consistent within a column).
    pub decimals: Vec<usize>,
}

impl Table {
    /// The variant column is shown only when there is more than one variant.
    pub fn show_variant(&self) -> bool {
        self.rows
            .first()
            .is_some_and(|first| self.rows.iter().any(|r| r.variant != first.variant))
    }

    /// Whether every row is compared with every other for the bold (one variant, or only the
    /// `default` and `tuned:*` variants of a search).
    pub fn one_comparison(&self) -> bool {
        self.rows.first().is_none_or(|f| {
            self.rows
                .iter()
                .all(|r| comparable_variants(&r.variant, &f.variant))
        })
    }

    /// Whether `row` is the first row of its variant's group (rows are grouped by variant).
    pub fn starts_group(&self, row: usize) -> bool {
        row == 0 || self.rows[row - 1].variant != self.rows[row].variant
    }

    /// Whether cell (row, column) holds the best mean of its column among the rows of the same
    /// variant (by the metric's registry direction: max, min or closest to a nominal value; ties
    /// all bold; descriptive metrics such as entropy have none). Methods are compared within a
    /// variant because variants may be different data sets, whose values do not compare; the
    /// `default` and `tuned:<strategy>` variants of a search are one data set and compare.
    pub fn is_best(&self, row: usize, col: usize) -> bool {
        let Some(cell) = self.rows[row].cells[col] else {
            return false;
        };
        let Some(direction) = crate::metrics::direction(bare_metric(&self.metrics[col])) else {
            return false;
        };
        let Some(loss) = direction.loss(cell.mean) else {
            return false;
        };
        let variant = &self.rows[row].variant;
        self.rows
            .iter()
            .filter(|r| comparable_variants(&r.variant, variant))
            .filter_map(|r| r.cells[col])
            .filter_map(|other| direction.loss(other.mean))
            .all(|other| other >= loss)
    }
}

/// The metric name without its split prefix: `test.rmse` → `rmse`.
pub(crate) fn bare_metric(column: &str) -> &str {
    column.split_once('.').map_or(column, |(_, m)| m)
}

/// The rows (epoch, step, value) of one run's `split.metric`.
type MetricSeries = Vec<(i64, i64, f64)>;

/// Final value ([`final_value`]: at the run's last (epoch, step)) of every (split, metric) of
/// every run. Keyed by run_id, then `split.metric`.
pub(crate) fn final_values(results: &Results) -> BTreeMap<&str, BTreeMap<String, f64>> {
    let mut rows: BTreeMap<&str, BTreeMap<String, MetricSeries>> = BTreeMap::new();
    for (run_id, m) in &results.metrics {
        rows.entry(run_id.as_str())
            .or_default()
            .entry(format!("{}.{}", m.split, m.metric))
            .or_default()
            .push((m.epoch, m.step, m.value));
    }
    rows.into_iter()
        .map(|(id, by_metric)| {
            let finals = by_metric
                .into_iter()
                .filter_map(|(key, rows)| Some((key, final_value(rows)?)))
                .collect();
            (id, finals)
        })
        .collect()
}

/// Mean and sample standard deviation s = √(Σ(x − x̄)² / (n − 1)); s = 0 when n = 1.
pub(crate) fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if values.len() < 2 {
        return (mean, 0.0);
    }
    let ss: f64 = values.iter().map(|x| (x - mean) * (x - mean)).sum();
    (mean, (ss / (n - 1.0)).sqrt())
}

/// The columns of the table: `options.metrics`, or else every metric of the test split in order
/// of first appearance.
pub fn table_metrics(results: &Results, options: &ReportOptions) -> Vec<String> {
    if !options.metrics.is_empty() {
        return options.metrics.clone();
    }
    let mut out: Vec<String> = Vec::new();
    for (_, m) in &results.metrics {
        if m.split == "test" {
            let key = format!("test.{}", m.metric);
            if !out.contains(&key) {
                out.push(key);
            }
        }
    }
    out
}

/// Decimals showing about 4 significant digits of the largest |mean| of a column, in 0..=6.
pub(crate) fn column_decimals(means: impl Iterator<Item = f64>) -> usize {
    let max = means
        .filter(|m| m.is_finite())
        .fold(0.0_f64, |acc, m| acc.max(m.abs()));
    if max == 0.0 {
        return 3;
    }
    (3 - max.log10().floor() as i64).clamp(0, 6) as usize
}

/// Aggregates final metric values over the ok runs of each (method, variant).
/// Mean x̄ = Σx/n; spread = sample std (n − 1) or s.e.m. = std/√n; failed runs are excluded and
/// listed in [`Table::failed`]. Search trials (`trial:…`) are left out and the re-runs
/// `tuned:<strategy>:<repeat>` pooled per strategy ([`super::pooled_variant`]).
pub fn table(results: &Results, options: &ReportOptions) -> Table {
    let metrics = table_metrics(results, options);
    let finals = final_values(results);
    let mut groups: Vec<((&str, &str), Vec<&str>)> = Vec::new();
    let mut failed = Vec::new();
    for run in &results.runs {
        let Some(variant) = pooled_variant(&run.variant) else {
            continue;
        };
        let key = (run.method.as_str(), variant);
        let pos = match groups.iter().position(|(k, _)| *k == key) {
            Some(pos) => pos,
            None => {
                groups.push((key, Vec::new()));
                groups.len() - 1
            }
        };
        match run.status {
            RunStatus::Ok => groups[pos].1.push(&run.run_id),
            RunStatus::Failed => failed.push(FailedRun {
                method: run.method.clone(),
                variant: variant.to_string(),
                seed: run.seed,
                split: run.split,
                error: run.error.clone(),
            }),
        }
    }
    // Group rows by variant: methods are compared within a variant.
    let mut variants: Vec<&str> = Vec::new();
    for ((_, variant), _) in &groups {
        if !variants.contains(variant) {
            variants.push(variant);
        }
    }
    groups.sort_by_key(|((_, variant), _)| variants.iter().position(|v| v == variant));
    let rows: Vec<Row> = groups
        .into_iter()
        .map(|((method, variant), ids)| {
            let cells = metrics
                .iter()
                .map(|metric| {
                    let values: Vec<f64> = ids
                        .iter()
                        .filter_map(|id| finals.get(id).and_then(|f| f.get(metric)).copied())
                        .collect();
                    if values.is_empty() {
                        return None;
                    }
                    let (mean, std) = mean_std(&values);
                    let spread = match options.spread {
                        Spread::Std => std,
                        Spread::Sem => std / (values.len() as f64).sqrt(),
                    };
                    Some(Cell {
                        mean,
                        spread,
                        n: values.len(),
                    })
                })
                .collect();
            Row {
                method: method.to_string(),
                variant: variant.to_string(),
                n_ok: ids.len(),
                cells,
            }
        })
        .collect();
    let column_means = |c: usize| rows.iter().filter_map(move |r| r.cells[c].map(|x| x.mean));
    let decimals = (0..metrics.len())
        .map(|c| column_decimals(column_means(c)))
        .collect();
    Table {
        metrics,
        spread: options.spread,
        rows,
        failed,
        decimals,
    }
}

fn spread_name(spread: Spread) -> &'static str {
    match spread {
        Spread::Std => "std",
        Spread::Sem => "s.e.m.",
    }
}

/// What the bold marks: the best mean of a column, or of a column within a variant.
fn best_note(table: &Table) -> &'static str {
    if !table.one_comparison() {
        "best mean per variant in bold"
    } else {
        "best mean in bold"
    }
}

/// The notes under a table: what the numbers are, failed runs, n = 1 rows.
fn notes(table: &Table) -> Vec<String> {
    let what = match table.spread {
        Spread::Std => "sample std (n − 1 denominator)",
        Spread::Sem => "standard error of the mean (sample std / √n)",
    };
    let mut notes = vec![format!(
        "Mean ± {what} of the final value over seeds and splits; {}; n = number of ok runs.",
        best_note(table)
    )];
    if table
        .rows
        .iter()
        .any(|r| r.variant.starts_with(TUNED_PREFIX))
    {
        notes.push(format!(
            "{TUNED_PREFIX}<strategy> pools the re-runs of the best configuration of every repeat \
             of that search strategy over all seeds and splits (mean ± spread over all those \
             runs; n = runs of all repeats); search trials are left out of this table."
        ));
    }
    if table
        .rows
        .iter()
        .any(|r| r.cells.iter().flatten().any(|c| c.n == 1))
    {
        notes.push(format!(
            "Cells from a single run (n = 1) show a {} of 0: one run has no spread.",
            spread_name(table.spread)
        ));
    }
    if !table.failed.is_empty() {
        let total = table.failed.len() + table.rows.iter().map(|r| r.n_ok).sum::<usize>();
        let mut s = format!(
            "{} of {total} runs failed and are excluded from the table:",
            table.failed.len()
        );
        const SHOWN: usize = 10;
        for f in table.failed.iter().take(SHOWN) {
            let _ = write!(s, " {}", f.method);
            if table.show_variant() {
                let _ = write!(s, " ({})", f.variant);
            }
            let _ = write!(s, " seed {} split {}", f.seed, f.split);
            match &f.error {
                Some(e) => {
                    let _ = write!(s, ": {};", e.trim().trim_end_matches('.'));
                }
                None => s.push(';'),
            }
        }
        if table.failed.len() > SHOWN {
            let _ = write!(s, " and {} more;", table.failed.len() - SHOWN);
        }
        s.pop();
        s.push('.');
        notes.push(s);
    }
    notes
}

/// The header mark of a column's direction: ↑, ↓, → 0.9 (closest to a nominal value), or
/// nothing for a descriptive metric.
fn arrow(metric: &str, latex: bool) -> String {
    use crate::metrics::Direction;
    match (crate::metrics::direction(bare_metric(metric)), latex) {
        (Some(Direction::HigherIsBetter), false) => " ↑".into(),
        (Some(Direction::HigherIsBetter), true) => " $\\uparrow$".into(),
        (Some(Direction::CloserTo(nominal)), false) => format!(" → {nominal}"),
        (Some(Direction::CloserTo(nominal)), true) => format!(" $\\to {nominal}$"),
        (Some(Direction::Descriptive), _) => String::new(),
        (_, false) => " ↓".into(),
        (_, true) => " $\\downarrow$".into(),
    }
}

/// Markdown table (GitHub flavour) followed by its notes. With several variants, the variant is
/// the first column, named on the first row of its group only.
pub fn render_markdown(table: &Table) -> String {
    let show_variant = table.show_variant();
    let mut out = String::from("|");
    if show_variant {
        out.push_str(" variant |");
    }
    out.push_str(" method |");
    for m in &table.metrics {
        let _ = write!(out, " {}{} |", md_escape(m), arrow(m, false));
    }
    out.push_str(" n |\n|:--|");
    if show_variant {
        out.push_str(":--|");
    }
    for _ in &table.metrics {
        out.push_str("--:|");
    }
    out.push_str("--:|\n");
    for (r, row) in table.rows.iter().enumerate() {
        out.push('|');
        if show_variant {
            if table.starts_group(r) {
                let _ = write!(out, " {} |", md_escape(&row.variant));
            } else {
                out.push_str(" |");
            }
        }
        let _ = write!(out, " {} |", md_escape(&row.method));
        for (c, cell) in row.cells.iter().enumerate() {
            let d = table.decimals[c];
            match cell {
                Some(cell) if table.is_best(r, c) => {
                    let _ = write!(out, " **{:.d$}** ± {:.d$} |", cell.mean, cell.spread);
                }
                Some(cell) => {
                    let _ = write!(out, " {:.d$} ± {:.d$} |", cell.mean, cell.spread);
                }
                None => out.push_str(" — |"),
            }
        }
        let _ = writeln!(out, " {} |", row.n_ok);
    }
    for note in notes(table) {
        let _ = write!(out, "\n{}\n", md_escape_text(&note));
    }
    out
}

/// Escapes the characters that would break a Markdown table cell.
pub(crate) fn md_escape(s: &str) -> String {
    md_escape_text(s).replace('|', "\\|")
}

pub(crate) fn md_escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if matches!(ch, '*' | '_' | '`' | '<' | '>' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(if ch == '\n' { ' ' } else { ch });
    }
    out
}

/// Escapes LaTeX special characters: `\ & % $ # _ { } ~ ^`.
pub fn latex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\textbackslash{}"),
            '&' | '%' | '$' | '#' | '_' | '{' | '}' => {
                out.push('\\');
                out.push(ch);
            }
            '~' => out.push_str("\\textasciitilde{}"),
            '^' => out.push_str("\\textasciicircum{}"),
            '\n' => out.push(' '),
            _ => out.push(ch),
        }
    }
    out
}

/// LaTeX table with booktabs rules (`\usepackage{booktabs}`), best mean in `\textbf{}`. With
/// several variants, the variant is the first column, named on the first row of its group, and a
/// `\midrule` separates the groups.
pub fn render_latex(table: &Table) -> String {
    let show_variant = table.show_variant();
    let mut out = String::from("\\begin{table}[t]\n\\centering\n");
    let _ = writeln!(
        out,
        "\\caption{{Mean $\\pm$ {} over seeds and splits; {}; $n$ = number of ok runs.}}",
        match table.spread {
            Spread::Std => "sample std",
            Spread::Sem => "s.e.m.",
        },
        best_note(table)
    );
    let cols = format!(
        "l{}{}r",
        if show_variant { "l" } else { "" },
        "r".repeat(table.metrics.len())
    );
    let _ = writeln!(out, "\\begin{{tabular}}{{{cols}}}\n\\toprule");
    if show_variant {
        out.push_str("variant & ");
    }
    out.push_str("method");
    for m in &table.metrics {
        let _ = write!(out, " & {}{}", latex_escape(m), arrow(m, true));
    }
    out.push_str(" & $n$ \\\\\n\\midrule\n");
    for (r, row) in table.rows.iter().enumerate() {
        if show_variant {
            if table.starts_group(r) {
                if r > 0 {
                    out.push_str("\\midrule\n");
                }
                let _ = write!(out, "{} & ", latex_escape(&row.variant));
            } else {
                out.push_str(" & ");
            }
        }
        out.push_str(&latex_escape(&row.method));
        for (c, cell) in row.cells.iter().enumerate() {
            let d = table.decimals[c];
            match cell {
                Some(cell) => {
                    let mean = format!("{:.d$}", cell.mean);
                    let mean = if table.is_best(r, c) {
                        format!("\\textbf{{{mean}}}")
                    } else {
                        mean
                    };
                    let _ = write!(out, " & {mean} $\\pm$ {:.d$}", cell.spread);
                }
                None => out.push_str(" & --"),
            }
        }
        let _ = writeln!(out, " & {} \\\\", row.n_ok);
    }
    out.push_str("\\bottomrule\n\\end{tabular}\n\\end{table}\n");
    for note in notes(table).into_iter().skip(1) {
        let _ = writeln!(out, "% {}", note.replace('\n', " "));
    }
    out
}

pub(crate) fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Long-form CSV: method, variant, metric, mean, spread, n; numbers at full precision (shortest
/// representation that reads back to the same f64).
pub fn render_csv(table: &Table) -> String {
    let mut out = String::from("method,variant,metric,mean,spread,n\n");
    for row in &table.rows {
        for (metric, cell) in table.metrics.iter().zip(&row.cells) {
            if let Some(cell) = cell {
                let _ = writeln!(
                    out,
                    "{},{},{},{:?},{:?},{}",
                    csv_field(&row.method),
                    csv_field(&row.variant),
                    csv_field(metric),
                    cell.mean,
                    cell.spread,
                    cell.n
                );
            }
        }
    }
    out
}
