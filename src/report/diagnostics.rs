//! The convergence-diagnostics table of sampler runs: per (variant, method, traced quantity),
//! how many runs and chains, how many draws, and the bulk-ESS, tail-ESS and rank-normalised
//! split-R̂ of Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021), "Rank-normalization,
//! folding, and localization: an improved R̂ for assessing convergence of MCMC", Bayesian
//! Analysis 16(2).
//!
//! Each statistic is computed per run over that run's chains ([`crate::sgmcmc::diagnostics`]:
//! chains cut to the shortest, each split in halves), then summarised over the runs of the
//! (method, variant): ESS by its mean, R̂ by its mean and its maximum (the worst run). A
//! statistic undefined in a run (NaN: fewer than 4 draws per chain, or a constant chain for R̂)
//! is left out of the summaries and counted. Only the per-sample quantities enter (each
//! `<split>_log_likelihood` and `weight_norm`); the once-per-epoch `train_log_posterior` is not
//! a sequence of draws. This module computes nothing about chains itself.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::plots::groups;
use super::table::{csv_field, md_escape, md_escape_text};
use crate::method::driver::{WEIGHT_NORM, log_likelihood_quantity};
use crate::sgmcmc::diagnostics::{ess_bulk, ess_tail, rhat};
use crate::store::Results;

/// Vehtari et al.'s threshold: R̂ below it before the draws are trusted.
pub const RHAT_ADVICE: f64 = 1.01;

/// Whether a trace quantity has one value per kept sample (and so forms chains of draws).
pub fn is_per_sample(quantity: &str) -> bool {
    quantity == WEIGHT_NORM || quantity.ends_with("_log_likelihood")
}

/// Order of the quantities in the table: test, then valid log-likelihood, other
/// log-likelihoods, then the weight norm.
fn quantity_rank(quantity: &str) -> (u8, &str) {
    let rank = if quantity == log_likelihood_quantity("test") {
        0
    } else if quantity == log_likelihood_quantity("valid") {
        1
    } else if quantity == WEIGHT_NORM {
        3
    } else {
        2
    };
    (rank, quantity)
}

/// The chains of one run's per-sample quantity, in chain order, each in sample order.
pub type Chains = Vec<Vec<f64>>;

/// One quantity's rows of a run by chain: (sample or step, value).
pub(crate) type ByChain<X> = BTreeMap<u32, Vec<(X, f64)>>;

/// Every run's per-sample chains: run_id → quantity → chains.
pub(crate) fn sample_chains(results: &Results) -> BTreeMap<&str, BTreeMap<&str, Chains>> {
    // run_id -> quantity -> chain -> (sample, value)
    let mut rows: BTreeMap<&str, BTreeMap<&str, ByChain<u32>>> = BTreeMap::new();
    for (id, t) in &results.traces {
        if !is_per_sample(&t.quantity) {
            continue;
        }
        rows.entry(id.as_str())
            .or_default()
            .entry(t.quantity.as_str())
            .or_default()
            .entry(t.chain)
            .or_default()
            .push((t.sample, t.value));
    }
    rows.into_iter()
        .map(|(id, by_quantity)| {
            let chains = by_quantity
                .into_iter()
                .map(|(q, by_chain)| {
                    let chains = by_chain
                        .into_values()
                        .map(|mut draws| {
                            draws.sort_by_key(|&(sample, _)| sample);
                            draws.into_iter().map(|(_, v)| v).collect()
                        })
                        .collect();
                    (q, chains)
                })
                .collect();
            (id, chains)
        })
        .collect()
}

/// A statistic over runs: its mean (and maximum) over the runs where it is defined.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OverRuns {
    /// NaN when no run defines it.
    pub mean: f64,
    /// NaN when no run defines it.
    pub max: f64,
    /// Runs where it is defined.
    pub n: usize,
}

impl OverRuns {
    fn of(values: &[f64]) -> OverRuns {
        let defined: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
        if defined.is_empty() {
            return OverRuns {
                mean: f64::NAN,
                max: f64::NAN,
                n: 0,
            };
        }
        OverRuns {
            mean: defined.iter().sum::<f64>() / defined.len() as f64,
            max: defined.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            n: defined.len(),
        }
    }
}

/// One row: a traced quantity of one (method, variant).
#[derive(Clone, Debug, PartialEq)]
pub struct DiagnosticRow {
    /// The pooled variant ([`super::pooled_variant`]).
    pub variant: String,
    pub method: String,
    pub quantity: String,
    /// Ok runs with this quantity traced.
    pub runs: usize,
    /// Fewest and most chains in a run.
    pub chains: (usize, usize),
    /// Median over runs of the draws per chain (the shortest chain's length).
    pub draws: f64,
    pub ess_bulk: OverRuns,
    pub ess_tail: OverRuns,
    pub rhat: OverRuns,
    /// Runs where at least one of the statistics is undefined.
    pub undefined: usize,
}

/// The diagnostics rows: variants in order of first appearance in the runs, then methods in
/// order of first appearance, then quantities (test and valid log-likelihood, weight norm).
/// Empty when no run traced a per-sample quantity.
pub fn diagnostics(results: &Results) -> Vec<DiagnosticRow> {
    let chains = sample_chains(results);
    let mut groups = groups(results);
    let mut variants: Vec<String> = Vec::new();
    for g in &groups {
        if !variants.contains(&g.variant) {
            variants.push(g.variant.clone());
        }
    }
    groups.sort_by_key(|g| variants.iter().position(|v| *v == g.variant));
    let mut rows = Vec::new();
    for g in &groups {
        let mut quantities: Vec<&str> = g
            .runs
            .iter()
            .filter_map(|r| chains.get(r.run_id.as_str()))
            .flat_map(|by_q| by_q.keys().copied())
            .collect();
        quantities.sort_by(|a, b| quantity_rank(a).cmp(&quantity_rank(b)));
        quantities.dedup();
        for q in quantities {
            let per_run: Vec<&Chains> = g
                .runs
                .iter()
                .filter_map(|r| chains.get(r.run_id.as_str())?.get(q))
                .collect();
            rows.push(summarise(&g.variant, &g.method, q, &per_run));
        }
    }
    rows
}

fn summarise(variant: &str, method: &str, quantity: &str, runs: &[&Chains]) -> DiagnosticRow {
    let counts: Vec<usize> = runs.iter().map(|c| c.len()).collect();
    let mut draws: Vec<usize> = runs
        .iter()
        .map(|c| c.iter().map(Vec::len).min().unwrap_or(0))
        .collect();
    draws.sort_unstable();
    let mid = draws.len() / 2;
    let median = if draws.len() % 2 == 1 {
        draws[mid] as f64
    } else {
        (draws[mid - 1] + draws[mid]) as f64 / 2.0
    };
    let bulk: Vec<f64> = runs.iter().map(|c| ess_bulk(c)).collect();
    let tail: Vec<f64> = runs.iter().map(|c| ess_tail(c)).collect();
    let r: Vec<f64> = runs.iter().map(|c| rhat(c)).collect();
    let undefined = (0..runs.len())
        .filter(|&i| bulk[i].is_nan() || tail[i].is_nan() || r[i].is_nan())
        .count();
    DiagnosticRow {
        variant: variant.to_string(),
        method: method.to_string(),
        quantity: quantity.to_string(),
        runs: runs.len(),
        chains: (
            counts.iter().copied().min().unwrap_or(0),
            counts.iter().copied().max().unwrap_or(0),
        ),
        draws: median,
        ess_bulk: OverRuns::of(&bulk),
        ess_tail: OverRuns::of(&tail),
        rhat: OverRuns::of(&r),
        undefined,
    }
}

/// A number with `decimals` decimals, or "–" for NaN.
fn shown(v: f64, decimals: usize) -> String {
    if v.is_nan() {
        "–".to_string()
    } else {
        format!("{v:.decimals$}")
    }
}

/// The chain count of a row: `4`, or `2–4` when runs differ.
fn chains_shown(row: &DiagnosticRow) -> String {
    match row.chains {
        (lo, hi) if lo == hi => lo.to_string(),
        (lo, hi) => format!("{lo}–{hi}"),
    }
}

/// The rows as a Markdown table with a note on what the numbers are. With several variants the
/// variant is the first column; a variant or method is named on the first row of its group only.
pub fn render_markdown(rows: &[DiagnosticRow]) -> String {
    let show_variant = rows
        .first()
        .is_some_and(|f| rows.iter().any(|r| r.variant != f.variant));
    let show_undefined = rows.iter().any(|r| r.undefined > 0);
    let mut out = String::from("|");
    if show_variant {
        out.push_str(" variant |");
    }
    out.push_str(
        " method | quantity | runs | chains | draws | bulk-ESS | tail-ESS | R̂ mean | R̂ max |",
    );
    if show_undefined {
        out.push_str(" undefined |");
    }
    out.push_str("\n|");
    if show_variant {
        out.push_str(":--|");
    }
    out.push_str(":--|:--|--:|--:|--:|--:|--:|--:|--:|");
    if show_undefined {
        out.push_str("--:|");
    }
    out.push('\n');
    for (i, r) in rows.iter().enumerate() {
        let new_variant = i == 0 || rows[i - 1].variant != r.variant;
        let new_method = new_variant || rows[i - 1].method != r.method;
        out.push('|');
        if show_variant {
            if new_variant {
                let _ = write!(out, " {} |", md_escape(&r.variant));
            } else {
                out.push_str(" |");
            }
        }
        // A blank cell is "| |", as in the results table.
        let method = if new_method {
            format!(" {}", md_escape(&r.method))
        } else {
            String::new()
        };
        let draws = if r.draws.fract() == 0.0 { 0 } else { 1 };
        let _ = write!(
            out,
            "{method} | {} | {} | {} | {} | {} | {} | {} | {} |",
            md_escape(&r.quantity),
            r.runs,
            chains_shown(r),
            shown(r.draws, draws),
            shown(r.ess_bulk.mean, 0),
            shown(r.ess_tail.mean, 0),
            shown(r.rhat.mean, 3),
            shown(r.rhat.max, 3),
        );
        if show_undefined {
            let _ = write!(out, " {} |", r.undefined);
        }
        out.push('\n');
    }
    let mut notes = vec![format!(
        "Per run, over its chains cut to the shortest (draws = kept samples per chain, median over \
         runs): bulk-ESS, tail-ESS and the rank-normalised split-R̂ (the larger of the bulk and the \
         folded tail R̂) of Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021), as Stan and ArviZ \
         compute them; then the mean over runs, and for R̂ also the worst run. Vehtari et al. advise \
         R̂ < {RHAT_ADVICE} and a bulk- and tail-ESS above 400 before the draws are summarised. Each \
         chain is split in halves, so a drift within a chain raises R̂."
    )];
    if rows.iter().any(|r| r.chains.0 == 1) {
        notes.push(
            "A run of one chain (chains = 1) is judged by its two halves alone: R̂ then shows a \
             drift, but not a mode the chain never left."
                .into(),
        );
    }
    if show_undefined {
        notes.push(
            "–: undefined in every run. undefined = runs where a statistic is undefined (fewer \
             than 4 draws per chain, or a constant chain for R̂), left out of the means."
                .into(),
        );
    }
    for note in notes {
        let _ = write!(out, "\n{}\n", md_escape_text(&note));
    }
    out
}

/// A number at full precision, or an empty field for NaN.
fn csv_number(v: f64) -> String {
    if v.is_nan() {
        String::new()
    } else {
        format!("{v:?}")
    }
}

/// The rows as CSV, numbers at full precision, undefined values as empty fields.
pub fn render_csv(rows: &[DiagnosticRow]) -> String {
    let mut out = String::from(
        "variant,method,quantity,runs,chains_min,chains_max,draws_median,ess_bulk_mean,\
         ess_tail_mean,rhat_mean,rhat_max,undefined\n",
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{}",
            csv_field(&r.variant),
            csv_field(&r.method),
            csv_field(&r.quantity),
            r.runs,
            r.chains.0,
            r.chains.1,
            csv_number(r.draws),
            csv_number(r.ess_bulk.mean),
            csv_number(r.ess_tail.mean),
            csv_number(r.rhat.mean),
            csv_number(r.rhat.max),
            r.undefined
        );
    }
    out
}
