//! The `[report]` section: which metrics the tables show, the spread, and which plots to draw.
//!
//! It is part of the experiment spec, validated with the rest of it; the report module reads the
//! validated options and renders them. Nothing here reads results or draws.

use serde::{Deserialize, Serialize};

/// Plot names accepted in `[report] plots`. `reliability` (per method, accuracy against
/// confidence over the `ece` metric's 15 bins, with the bin counts) and `entropy` (per method,
/// histograms of the predictive entropy on the test set and on each `[data.ood.<name>]` part)
/// draw classification prediction rows (`predictions = true`) and are left out with a note
/// without them. `samples`, `traces` and `rhat` draw sampler runs (a metric against kept
/// samples, chain traces, R̂ against draws) and are left out of a report without them.
pub const PLOTS: [&str; 7] = [
    "learning_curves",
    "uncertainty_1d",
    "reliability",
    "entropy",
    "samples",
    "traces",
    "rhat",
];
/// Splits a `split.metric` may name.
const SPLITS: [&str; 3] = ["train", "valid", "test"];

/// What the table's ± shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Spread {
    /// Sample standard deviation, s = √(Σ(x − x̄)² / (n − 1)); 0 when n = 1.
    #[default]
    Std,
    /// Standard error of the mean, s / √n.
    Sem,
}

fn default_plots() -> Vec<String> {
    vec!["learning_curves".to_string()]
}

/// The `[report]` table of a spec.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportOptions {
    /// Table columns as `split.metric`, e.g. `test.rmse`; empty ⇒ every final metric of the test
    /// split.
    #[serde(default)]
    pub metrics: Vec<String>,
    #[serde(default)]
    pub spread: Spread,
    /// Plots to draw, from [`PLOTS`]; default `["learning_curves"]`.
    #[serde(default = "default_plots")]
    pub plots: Vec<String>,
    /// `split.metric`s drawn as learning curves; empty ⇒ `train.loss` and the first table
    /// column.
    #[serde(default)]
    pub curve_metrics: Vec<String>,
    /// Paired differences of every other method against this one (`baseline = "sgd"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<String>,
    /// Paired differences of chosen methods against chosen baselines, e.g.
    /// `paired = [{ method = "sgld", baseline = "sgd" }, { method = "psgld", baseline = "rmsprop" }]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paired: Vec<Pair>,
    /// Published numbers to show beside this experiment's (`[[report.published]]`), each from one
    /// paper and compared with one method.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub published: Vec<Published>,
    /// Model selection over a sweep: per value of the `per` keys, the variant with the best
    /// mean `by` (`select = { by = "valid.gaussian_ll", per = ["data"] }`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select: Option<Selection>,
}

/// `[report] select`: which metric chooses among a sweep's variants, and within which groups.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Selection {
    /// The `split.metric` whose mean over a variant's runs is compared, normally a validation
    /// metric.
    pub by: String,
    /// Sweep keys whose values form the groups, e.g. `["data"]`: one choice per data set.
    #[serde(default)]
    pub per: Vec<String>,
}

/// Numbers a paper published for one method, as `[[report.published]]`:
/// `source = "Gal & Ghahramani 2016"`, `method = "mc_dropout"`,
/// `rows = [{ variant = "data=boston", metric = "test.rmse", mean = 2.97, se = 0.19 }]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Published {
    /// The paper, as the report cites it.
    pub source: String,
    /// This experiment's method the numbers are set beside.
    pub method: String,
    pub rows: Vec<PublishedRow>,
}

/// One published number: the mean and standard error of `metric` on `variant`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishedRow {
    /// The variant label of this experiment the number belongs to (`default` without a sweep).
    #[serde(default = "default_variant")]
    pub variant: String,
    /// As `split.metric`, e.g. `test.rmse`.
    pub metric: String,
    pub mean: f64,
    /// Standard error of the published mean.
    pub se: f64,
}

fn default_variant() -> String {
    "default".into()
}

/// One comparison of the paired-differences table: `method` − `baseline`, run by run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pair {
    pub method: String,
    pub baseline: String,
}

impl Default for ReportOptions {
    fn default() -> Self {
        Self {
            metrics: Vec::new(),
            spread: Spread::Std,
            plots: default_plots(),
            curve_metrics: Vec::new(),
            baseline: None,
            paired: Vec::new(),
            published: Vec::new(),
            select: None,
        }
    }
}

fn check_split_metric(key: String, value: &str) -> Result<(), (String, String)> {
    match value.split_once('.') {
        Some((split, metric))
            if (SPLITS.contains(&split) || super::OodConfig::valid_name(split))
                && !metric.is_empty() =>
        {
            if crate::metrics::is_known_metric(metric) {
                Ok(())
            } else {
                let known: Vec<&str> = crate::metrics::METRICS.iter().map(|m| m.name).collect();
                Err((
                    key,
                    format!(
                        "unknown metric {metric:?} in {value:?}; known metrics: {}",
                        known.join(", ")
                    ),
                ))
            }
        }
        _ => Err((
            key,
            format!(
                "{value:?} is not `split.metric`: write e.g. \"test.rmse\", with split one of {} \
                 or an out-of-distribution part of [data.ood]",
                SPLITS.join(", ")
            ),
        )),
    }
}

impl ReportOptions {
    /// Checks plot names and `split.metric` keys. The error is (key path inside `[report]`,
    /// message), e.g. (`plots[1]`, `unknown plot "foo"; allowed: learning_curves, uncertainty_1d,
    /// reliability, entropy, samples, traces, rhat`).
    pub fn validate(&self) -> Result<(), (String, String)> {
        for (i, plot) in self.plots.iter().enumerate() {
            if !PLOTS.contains(&plot.as_str()) {
                return Err((
                    format!("plots[{i}]"),
                    format!("unknown plot {plot:?}; allowed: {}", PLOTS.join(", ")),
                ));
            }
        }
        for (i, m) in self.metrics.iter().enumerate() {
            check_split_metric(format!("metrics[{i}]"), m)?;
        }
        for (i, m) in self.curve_metrics.iter().enumerate() {
            check_split_metric(format!("curve_metrics[{i}]"), m)?;
        }
        if let Some(select) = &self.select {
            check_split_metric("select.by".into(), &select.by)?;
            let direction = crate::metrics::direction(&select.by);
            if matches!(direction, Some(crate::metrics::Direction::Descriptive)) {
                return Err((
                    "select.by".into(),
                    format!(
                        "{} describes, it does not score: choose by e.g. valid.gaussian_ll",
                        select.by
                    ),
                ));
            }
        }
        for (i, published) in self.published.iter().enumerate() {
            for (j, row) in published.rows.iter().enumerate() {
                let at = |key: &str| format!("published[{i}].rows[{j}].{key}");
                check_split_metric(at("metric"), &row.metric)?;
                if !(row.mean.is_finite() && row.se.is_finite() && row.se >= 0.0) {
                    return Err((
                        at("se"),
                        format!(
                            "mean must be finite and se finite and >= 0, got {} ± {}",
                            row.mean, row.se
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Checks that every `split.metric` names train, valid, test or one of the experiment's
    /// out-of-distribution parts (`ood`), so a misspelt part is an error, not an empty column.
    pub fn validate_parts(&self, ood: &[&str]) -> Result<(), (String, String)> {
        let lists = [
            ("metrics", &self.metrics),
            ("curve_metrics", &self.curve_metrics),
        ];
        for (list, metrics) in lists {
            for (i, m) in metrics.iter().enumerate() {
                let split = m.split_once('.').map_or(m.as_str(), |(split, _)| split);
                if !SPLITS.contains(&split) && !ood.contains(&split) {
                    let mut parts: Vec<&str> = SPLITS.to_vec();
                    parts.extend(ood);
                    return Err((
                        format!("{list}[{i}]"),
                        format!(
                            "{m:?} names the part {split:?}, which this experiment does not \
                             have; parts: {} (out-of-distribution parts come from [data.ood])",
                            parts.join(", ")
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Checks that `baseline` and every `paired` entry name methods of the experiment.
    pub fn validate_methods(&self, methods: &[String]) -> Result<(), (String, String)> {
        let known = |key: String, name: &str| {
            if methods.iter().any(|m| m == name) {
                Ok(())
            } else {
                Err((
                    key,
                    format!(
                        "{name:?} is not a method of this experiment; methods: {}",
                        methods.join(", ")
                    ),
                ))
            }
        };
        if let Some(b) = &self.baseline {
            known("baseline".into(), b)?;
        }
        for (i, p) in self.paired.iter().enumerate() {
            known(format!("paired[{i}].method"), &p.method)?;
            known(format!("paired[{i}].baseline"), &p.baseline)?;
            if p.method == p.baseline {
                return Err((format!("paired[{i}]"), "a method paired with itself".into()));
            }
        }
        for (i, p) in self.published.iter().enumerate() {
            known(format!("published[{i}].method"), &p.method)?;
        }
        Ok(())
    }

    /// The comparisons of the paired-differences table: `paired`, then every other method
    /// against `baseline`, in `methods` order, without repeats.
    pub fn pairs(&self, methods: &[String]) -> Vec<Pair> {
        let mut out = self.paired.clone();
        if let Some(b) = &self.baseline {
            for m in methods.iter().filter(|m| *m != b) {
                let pair = Pair {
                    method: m.clone(),
                    baseline: b.clone(),
                };
                if !out.contains(&pair) {
                    out.push(pair);
                }
            }
        }
        out
    }

    /// The learning-curve metrics: `curve_metrics`, or `train.loss` and the first table column.
    pub fn resolved_curve_metrics(&self, table_metrics: &[String]) -> Vec<String> {
        if !self.curve_metrics.is_empty() {
            return self.curve_metrics.clone();
        }
        let mut out = vec!["train.loss".to_string()];
        if let Some(first) = table_metrics.first()
            && !out.contains(first)
        {
            out.push(first.clone());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_plot_and_malformed_metrics_are_refused() {
        let mut o = ReportOptions::default();
        assert_eq!(o.validate(), Ok(()));
        o.plots = PLOTS.map(String::from).to_vec();
        assert_eq!(o.validate(), Ok(()));
        o.plots = vec!["learning_curves".into(), "trace".into()];
        let (key, msg) = o.validate().unwrap_err();
        assert_eq!(key, "plots[1]");
        assert!(msg.contains("unknown plot \"trace\""), "{msg}");
        assert!(
            msg.contains(
                "allowed: learning_curves, uncertainty_1d, reliability, entropy, samples, traces, rhat"
            ),
            "{msg}"
        );
        let o = ReportOptions {
            metrics: vec!["rmse".into()],
            ..ReportOptions::default()
        };
        assert_eq!(o.validate().unwrap_err().0, "metrics[0]");
        let bad: Result<ReportOptions, _> = toml::from_str("plot = [\"x\"]");
        assert!(bad.is_err(), "unknown keys are refused");
        let o: ReportOptions = toml::from_str(
            "baseline = \"sgd\"\npaired = [{ method = \"psgld\", baseline = \"rmsprop\" }]",
        )
        .unwrap();
        let methods: Vec<String> = ["sgd", "rmsprop", "psgld"].map(String::from).to_vec();
        assert_eq!(o.validate_methods(&methods), Ok(()));
        let pairs: Vec<(String, String)> = o
            .pairs(&methods)
            .into_iter()
            .map(|p| (p.method, p.baseline))
            .collect();
        let expect = [("psgld", "rmsprop"), ("rmsprop", "sgd"), ("psgld", "sgd")];
        assert_eq!(pairs, expect.map(|(a, b)| (a.to_string(), b.to_string())));
        let only = ["sgd".to_string()];
        assert_eq!(o.validate_methods(&only).unwrap_err().0, "paired[0].method");
        let parsed: ReportOptions = toml::from_str("spread = \"sem\"").unwrap();
        assert_eq!(parsed.spread, Spread::Sem);
        assert_eq!(parsed.plots, ["learning_curves"]);
    }
}
