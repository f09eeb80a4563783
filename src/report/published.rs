//! Published numbers beside this experiment's (`[[report.published]]`): for each published row,
//! the paper's mean ± s.e., ours (mean ± s.e.m. over the method's ok runs of that variant), and
//! their difference in units of the combined standard error,
//!
//! ```text
//! z = (ours − published) / √(se_ours² + se_published²)
//! ```
//!
//! |z| ≤ 2 is marked as agreeing within two standard errors. The z-score assumes independent
//! estimates; the splits differ between us and the paper, so it is a guide, not a test.

use std::fmt::Write as _;

use super::table::{Cell, table};
use crate::spec::report::{ReportOptions, Spread};
use crate::store::Results;

/// One line of the comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    pub source: String,
    pub method: String,
    pub variant: String,
    pub metric: String,
    pub published_mean: f64,
    pub published_se: f64,
    /// Ours, with the s.e.m. as spread; None when the method has no ok run of the variant
    /// reporting the metric.
    pub ours: Option<Cell>,
}

impl Comparison {
    /// (ours − published) / √(se_ours² + se_published²); None without ours or with both
    /// standard errors 0.
    pub fn z(&self) -> Option<f64> {
        let ours = self.ours?;
        let se = (ours.spread.powi(2) + self.published_se.powi(2)).sqrt();
        (se > 0.0).then(|| (ours.mean - self.published_mean) / se)
    }
}

/// Every published row of `options`, with ours beside it, in the order written.
pub fn comparisons(results: &Results, options: &ReportOptions) -> Vec<Comparison> {
    let mut metrics: Vec<String> = Vec::new();
    for row in options.published.iter().flat_map(|p| &p.rows) {
        if !metrics.contains(&row.metric) {
            metrics.push(row.metric.clone());
        }
    }
    let ours = table(
        results,
        &ReportOptions {
            metrics: metrics.clone(),
            spread: Spread::Sem,
            ..ReportOptions::default()
        },
    );
    let mut out = Vec::new();
    for published in &options.published {
        for row in &published.rows {
            let column = metrics.iter().position(|m| *m == row.metric);
            let cell = ours
                .rows
                .iter()
                .find(|r| r.method == published.method && r.variant == row.variant)
                .and_then(|r| column.and_then(|c| r.cells[c]));
            out.push(Comparison {
                source: published.source.clone(),
                method: published.method.clone(),
                variant: row.variant.clone(),
                metric: row.metric.clone(),
                published_mean: row.mean,
                published_se: row.se,
                ours: cell,
            });
        }
    }
    out
}

/// The comparison as a Markdown table with its note; empty when nothing is published.
pub fn render_markdown(rows: &[Comparison]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "| variant | metric | method | ours | n | published | source | z |\n\
         |:--|:--|:--|--:|--:|--:|:--|--:|\n",
    );
    for r in rows {
        let ours = r.ours.map_or("—".to_string(), |c| {
            format!("{:.3} ± {:.3}", c.mean, c.spread)
        });
        let n = r.ours.map_or(0, |c| c.n);
        let z = r.z().map_or("—".to_string(), |z| {
            format!("{z:+.1}{}", if z.abs() <= 2.0 { "" } else { " (outside)" })
        });
        let _ = writeln!(
            out,
            "| {} | {} | {} | {ours} | {n} | {:.3} ± {:.3} | {} | {z} |",
            r.variant, r.metric, r.method, r.published_mean, r.published_se, r.source
        );
    }
    out.push_str(
        "\nOurs: mean ± standard error of the mean over the method's ok runs (its splits and \
         seeds). Published: mean ± standard error as the paper gives it. z = (ours − published) \
         / √(se_ours² + se_published²); \"outside\" marks |z| > 2. The splits are not the \
         paper's, so z is a guide, not a test.\n",
    );
    out
}

/// The comparison as CSV (one header line, `,`-separated, empty cells for missing values).
pub fn render_csv(rows: &[Comparison]) -> String {
    let mut out = String::from(
        "variant,metric,method,ours_mean,ours_se,n,published_mean,published_se,source,z\n",
    );
    for r in rows {
        let (mean, se, n) = r.ours.map_or((String::new(), String::new(), 0), |c| {
            (c.mean.to_string(), c.spread.to_string(), c.n)
        });
        let z = r.z().map_or(String::new(), |z| z.to_string());
        let _ = writeln!(
            out,
            "{},{},{},{mean},{se},{n},{},{},\"{}\",{z}",
            r.variant,
            r.metric,
            r.method,
            r.published_mean,
            r.published_se,
            r.source.replace('"', "\"\"")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::report::{Published, PublishedRow};
    use crate::store::{MetricRow, RunRecord};

    fn run(id: &str, method: &str, variant: &str, split: u32) -> RunRecord {
        crate::report::ok_run(id, method, variant, split)
    }

    fn rmse(value: f64) -> MetricRow {
        MetricRow {
            epoch: 40,
            step: 100,
            split: "test".into(),
            metric: "rmse".into(),
            value,
            samples: 1,
        }
    }

    /// Two runs with RMSE 3 and 5: mean 4, std √2, s.e.m. 1; published 2.97 ± 0.19 gives
    /// z = 1.03 / √(1 + 0.0361).
    #[test]
    fn ours_is_the_mean_and_sem_of_the_method_and_z_combines_both_errors() {
        let results = Results {
            runs: vec![
                run("a", "mc_dropout", "data=boston", 0),
                run("b", "mc_dropout", "data=boston", 1),
                run("c", "point", "data=boston", 0),
            ],
            metrics: vec![
                ("a".into(), rmse(3.0)),
                ("b".into(), rmse(5.0)),
                ("c".into(), rmse(100.0)),
            ],
            ..Results::default()
        };
        let options = ReportOptions {
            published: vec![Published {
                source: "Gal & Ghahramani 2016".into(),
                method: "mc_dropout".into(),
                rows: vec![
                    PublishedRow {
                        variant: "data=boston".into(),
                        metric: "test.rmse".into(),
                        mean: 2.97,
                        se: 0.19,
                    },
                    PublishedRow {
                        variant: "data=wine_red".into(),
                        metric: "test.rmse".into(),
                        mean: 0.62,
                        se: 0.01,
                    },
                ],
            }],
            ..ReportOptions::default()
        };
        let rows = comparisons(&results, &options);
        assert_eq!(rows.len(), 2);
        let ours = rows[0].ours.unwrap();
        assert_eq!((ours.mean, ours.n), (4.0, 2));
        assert!((ours.spread - 1.0).abs() < 1e-12, "{ours:?}");
        let z = rows[0].z().unwrap();
        assert!(
            (z - 1.03 / (1.0f64 + 0.19 * 0.19).sqrt()).abs() < 1e-12,
            "{z}"
        );
        assert_eq!(rows[1].ours, None, "no run of that variant");
        assert_eq!(rows[1].z(), None);
        let md = render_markdown(&rows);
        assert!(md.contains("| data=boston | test.rmse | mc_dropout | 4.000 ± 1.000 | 2 | 2.970 ± 0.190 | Gal & Ghahramani 2016 | +1.0 |"), "{md}");
        assert!(
            md.contains("| data=wine_red | test.rmse | mc_dropout | — | 0 |"),
            "{md}"
        );
        let csv = render_csv(&rows);
        assert_eq!(csv.lines().count(), 3, "{csv}");
        assert!(
            csv.lines()
                .nth(1)
                .unwrap()
                .starts_with("data=boston,test.rmse,mc_dropout,4,1,2,2.97,0.19,"),
            "{csv}"
        );
    }

    #[test]
    fn far_values_are_marked_outside_and_nothing_published_renders_nothing() {
        let far = Comparison {
            source: "s".into(),
            method: "m".into(),
            variant: "default".into(),
            metric: "test.rmse".into(),
            published_mean: 0.0,
            published_se: 0.0,
            ours: Some(Cell {
                mean: 3.0,
                spread: 1.0,
                n: 5,
            }),
        };
        assert_eq!(far.z(), Some(3.0));
        assert!(render_markdown(std::slice::from_ref(&far)).contains("+3.0 (outside)"));
        assert_eq!(render_markdown(&[]), "");
    }
}
