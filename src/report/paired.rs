//! Paired differences: `method` − `baseline` run by run, on the runs both have at the same
//! variant, seed and split. Common random numbers (the same initial weights and batch order at a
//! seed and split, see [`crate::spec::RunConfig::shared_stream_seed`]) make these pairs: the
//! spread of the differences excludes the variation both methods share.
//!
//! For n pairs with differences dᵢ: mean d̄, sample standard deviation s (n − 1 denominator),
//! standard error s/√n, and the 95 % interval d̄ ± t₀.₉₇₅,ₙ₋₁ · s/√n of Student's t (no interval
//! for n < 2); wins counts the pairs where the method is better than the baseline in the metric's
//! direction ([`crate::metrics::higher_is_better`]); ties are no wins.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use statrs::distribution::{ContinuousCDF, StudentsT};

use super::table::{column_decimals, csv_field, final_values, md_escape, mean_std};
use crate::metrics::higher_is_better;
use crate::spec::report::Pair;
use crate::spec::tune::TRIAL_PREFIX;
use crate::store::{Results, RunStatus};

/// One row: a comparison in one variant for one metric.
#[derive(Clone, Debug, PartialEq)]
pub struct PairedRow {
    pub method: String,
    pub baseline: String,
    pub variant: String,
    /// `split.metric`.
    pub metric: String,
    pub n: usize,
    pub mean: f64,
    pub sem: f64,
    /// The 95 % Student-t interval of the mean difference; None for n < 2.
    pub interval: Option<(f64, f64)>,
    pub wins: usize,
}

/// The paired differences of `pairs` for every table metric, variants in `variant_order` (others
/// after, in order of first appearance).
pub fn paired_rows(
    results: &Results,
    pairs: &[Pair],
    metrics: &[String],
    variant_order: &[String],
) -> Vec<PairedRow> {
    let finals = final_values(results);
    // (variant, seed, split) -> method -> run_id, ok runs of the plan only.
    let mut cells: BTreeMap<(&str, u32, u32), BTreeMap<&str, &str>> = BTreeMap::new();
    let mut variants: Vec<&str> = variant_order.iter().map(String::as_str).collect();
    for r in &results.runs {
        if r.status != RunStatus::Ok || r.variant.starts_with(TRIAL_PREFIX) {
            continue;
        }
        if !variants.contains(&r.variant.as_str()) {
            variants.push(&r.variant);
        }
        cells
            .entry((r.variant.as_str(), r.seed, r.split))
            .or_default()
            .insert(r.method.as_str(), r.run_id.as_str());
    }
    let mut rows = Vec::new();
    for pair in pairs {
        for &variant in &variants {
            for metric in metrics {
                let diffs: Vec<f64> = cells
                    .iter()
                    .filter(|((v, _, _), _)| *v == variant)
                    .filter_map(|(_, by_method)| {
                        let a = finals
                            .get(by_method.get(pair.method.as_str())?)?
                            .get(metric)?;
                        let b = finals
                            .get(by_method.get(pair.baseline.as_str())?)?
                            .get(metric)?;
                        Some(a - b)
                    })
                    .collect();
                if diffs.is_empty() {
                    continue;
                }
                rows.push(summarise(pair, variant, metric, &diffs));
            }
        }
    }
    rows
}

fn summarise(pair: &Pair, variant: &str, metric: &str, diffs: &[f64]) -> PairedRow {
    let n = diffs.len();
    let (mean, sd) = mean_std(diffs);
    let sem = sd / (n as f64).sqrt();
    let interval = (n >= 2).then(|| {
        let t = StudentsT::new(0.0, 1.0, (n - 1) as f64)
            .expect("n − 1 ≥ 1 degrees of freedom")
            .inverse_cdf(0.975);
        (mean - t * sem, mean + t * sem)
    });
    let up = higher_is_better(metric);
    let wins = diffs
        .iter()
        .filter(|&&d| if up { d > 0.0 } else { d < 0.0 })
        .count();
    PairedRow {
        method: pair.method.clone(),
        baseline: pair.baseline.clone(),
        variant: variant.to_string(),
        metric: metric.to_string(),
        n,
        mean,
        sem,
        interval,
        wins,
    }
}

/// The rows as a Markdown table with a note on what the numbers are.
pub fn render_markdown(rows: &[PairedRow]) -> String {
    let show_variant = rows.iter().any(|r| r.variant != "default");
    let mut out = String::from("| method − baseline |");
    if show_variant {
        out.push_str(" variant |");
    }
    out.push_str(" metric | mean difference ± s.e. | 95 % interval | wins / n |\n|:--|");
    if show_variant {
        out.push_str(":--|");
    }
    out.push_str(":--|--:|--:|--:|\n");
    let decimals = column_decimals(rows.iter().map(|r| r.sem.max(r.mean.abs() / 100.0)));
    for r in rows {
        let _ = write!(
            out,
            "| {} − {} |",
            md_escape(&r.method),
            md_escape(&r.baseline)
        );
        if show_variant {
            let _ = write!(out, " {} |", md_escape(&r.variant));
        }
        let interval = r.interval.map_or("–".to_string(), |(lo, hi)| {
            format!("[{lo:.decimals$}, {hi:.decimals$}]")
        });
        let _ = writeln!(
            out,
            " {} | {:.decimals$} ± {:.decimals$} | {interval} | {} / {} |",
            md_escape(&r.metric),
            r.mean,
            r.sem,
            r.wins,
            r.n
        );
    }
    out.push_str(
        "\nDifferences of final values, method minus baseline, on the runs both have at the same \
         variant, seed and split (they share initial weights and batch order); s.e. = s/√n; \
         interval from Student's t with n − 1 degrees of freedom; wins = pairs where the method \
         is better in the metric's direction.\n",
    );
    out
}

/// The rows as CSV, one row per comparison, variant and metric.
pub fn render_csv(rows: &[PairedRow]) -> String {
    let mut out = String::from("method,baseline,variant,metric,n,mean,sem,lo95,hi95,wins\n");
    for r in rows {
        let (lo, hi) = r.interval.map_or((String::new(), String::new()), |(l, h)| {
            (l.to_string(), h.to_string())
        });
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{lo},{hi},{}",
            csv_field(&r.method),
            csv_field(&r.baseline),
            csv_field(&r.variant),
            csv_field(&r.metric),
            r.n,
            r.mean,
            r.sem,
            r.wins
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{MetricRow, RunRecord};

    fn add(r: &mut Results, id: &str, method: &str, seed: u32, rmse: f64) {
        r.runs.push(RunRecord {
            run_id: id.into(),
            experiment: "x".into(),
            method: method.into(),
            variant: "default".into(),
            seed,
            split: 0,
            status: RunStatus::Ok,
            error: None,
            duration_s: 0.0,
            n_params: 1,
            n_samples: 1,
            config: "{}".into(),
        });
        r.metrics.push((
            id.into(),
            MetricRow {
                epoch: 1,
                step: 1,
                samples: 1,
                split: "test".into(),
                metric: "rmse".into(),
                value: rmse,
            },
        ));
    }

    #[test]
    fn paired_differences_by_hand() {
        // Differences a − b over seeds 0..3: 1 − 2, 3 − 3, 2 − 5 → −1, 0, −3; seed 3 has only b.
        let mut r = Results::default();
        for (i, (a, b)) in [(1.0, 2.0), (3.0, 3.0), (2.0, 5.0)].into_iter().enumerate() {
            add(&mut r, &format!("a{i}"), "a", i as u32, a);
            add(&mut r, &format!("b{i}"), "b", i as u32, b);
        }
        add(&mut r, "b3", "b", 3, 9.0);
        let pair = Pair {
            method: "a".into(),
            baseline: "b".into(),
        };
        let rows = paired_rows(&r, &[pair], &["test.rmse".into()], &[]);
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        assert_eq!(
            (row.n, row.wins),
            (3, 2),
            "lower RMSE wins; the tie does not"
        );
        assert!((row.mean - (-4.0 / 3.0)).abs() < 1e-12);
        // s² = ((1/3)² + (4/3)² + (5/3)²) / 2 = 7/3; s.e. = √(7/9).
        assert!((row.sem - (7.0f64 / 9.0).sqrt()).abs() < 1e-12);
        // t₀.₉₇₅ with 2 degrees of freedom = 4.302653.
        let (lo, hi) = row.interval.unwrap();
        assert!((hi - lo - 2.0 * 4.302_653 * row.sem).abs() < 1e-5);
        assert!(render_markdown(&rows).contains("| a − b | test.rmse |"));
        assert_eq!(render_csv(&rows).lines().count(), 2);
    }
}
