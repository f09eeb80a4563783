//! The `[report]` section: which metrics the tables show, the spread, and which plots to draw.
//!
//! It is part of the experiment spec, validated with the rest of it; the report module reads the
//! validated options and renders them. Nothing here reads results or draws.

use serde::{Deserialize, Serialize};

/// Plot names accepted in `[report] plots`.
pub const PLOTS: [&str; 2] = ["learning_curves", "uncertainty_1d"];
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
}

impl Default for ReportOptions {
    fn default() -> Self {
        Self {
            metrics: Vec::new(),
            spread: Spread::Std,
            plots: default_plots(),
            curve_metrics: Vec::new(),
        }
    }
}

fn check_split_metric(key: String, value: &str) -> Result<(), (String, String)> {
    match value.split_once('.') {
        Some((split, metric)) if SPLITS.contains(&split) && !metric.is_empty() => Ok(()),
        _ => Err((
            key,
            format!(
                "{value:?} is not `split.metric`: write e.g. \"test.rmse\", with split one of {}",
                SPLITS.join(", ")
            ),
        )),
    }
}

impl ReportOptions {
    /// Checks plot names and `split.metric` keys. The error is (key path inside `[report]`,
    /// message), e.g. (`plots[1]`, `unknown plot "foo"; allowed: learning_curves, uncertainty_1d`).
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
        Ok(())
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
        o.plots = vec!["learning_curves".into(), "violin".into()];
        let (key, msg) = o.validate().unwrap_err();
        assert_eq!(key, "plots[1]");
        assert!(msg.contains("learning_curves, uncertainty_1d"), "{msg}");
        let o = ReportOptions {
            metrics: vec!["rmse".into()],
            ..ReportOptions::default()
        };
        assert_eq!(o.validate().unwrap_err().0, "metrics[0]");
        let bad: Result<ReportOptions, _> = toml::from_str("plot = [\"x\"]");
        assert!(bad.is_err(), "unknown keys are refused");
        let parsed: ReportOptions = toml::from_str("spread = \"sem\"").unwrap();
        assert_eq!(parsed.spread, Spread::Sem);
        assert_eq!(parsed.plots, ["learning_curves"]);
    }
}
