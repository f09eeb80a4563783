//! The registry of every metric the harness reports: its name, which way is better, the tasks it
//! applies to and its formula, in one place for reports, searches and spec checks to share.

use crate::data::Task;

/// Which way a metric improves.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Direction {
    HigherIsBetter,
    LowerIsBetter,
    /// Best at a nominal value, e.g. 0.9 for the coverage of a 90 % interval: both over- and
    /// under-coverage are miscalibration.
    CloserTo(f64),
    /// A description, not a score: predictive entropy is wanted high on out-of-distribution
    /// inputs and low on test inputs, so no value is "best" on its own.
    Descriptive,
}

impl Direction {
    /// The quantity this direction minimises: −v, v, |v − nominal|; None when nothing is best.
    pub fn loss(self, value: f64) -> Option<f64> {
        match self {
            Direction::HigherIsBetter => Some(-value),
            Direction::LowerIsBetter => Some(value),
            Direction::CloserTo(nominal) => Some((value - nominal).abs()),
            Direction::Descriptive => None,
        }
    }
}

/// One metric the harness reports.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MetricInfo {
    /// The metric part of a `split.metric` name, e.g. `nll` in `test.nll`.
    pub name: &'static str,
    pub direction: Direction,
    /// The tasks whose runs report it.
    pub tasks: &'static [Task],
    /// Formula, source and direction in one or two sentences, ending with "Higher is better." or
    /// "Lower is better."
    pub doc: &'static str,
}

const BOTH: &[Task] = &[Task::Regression, Task::Classification];
const REGRESSION: &[Task] = &[Task::Regression];
const CLASSIFICATION: &[Task] = &[Task::Classification];

/// Every metric the harness reports, each name once.
pub const METRICS: &[MetricInfo] = &[
    MetricInfo {
        name: "loss",
        direction: Direction::LowerIsBetter,
        tasks: BOTH,
        doc: "Training loss: the mean negative log-likelihood per example over an epoch's \
              mini-batches, as the optimiser saw it. Lower is better.",
    },
    MetricInfo {
        name: "rmse",
        direction: Direction::LowerIsBetter,
        tasks: REGRESSION,
        doc: "Root mean squared error of the predictive mean, sqrt((1/n) Σ_i (μ_i − y_i)²). \
              Lower is better.",
    },
    MetricInfo {
        name: "gaussian_ll",
        direction: Direction::HigherIsBetter,
        tasks: REGRESSION,
        doc: "Test log-likelihood of an equal Gaussian mixture, (1/n) Σ_i log((1/S) Σ_s \
              N(y_i | μ_si, σ²_si)) (Hernández-Lobato & Adams 2015). Higher is better.",
    },
    MetricInfo {
        name: "accuracy",
        direction: Direction::HigherIsBetter,
        tasks: CLASSIFICATION,
        doc: "Fraction of examples whose most probable class is the label. Higher is better.",
    },
    MetricInfo {
        name: "nll",
        direction: Direction::LowerIsBetter,
        tasks: CLASSIFICATION,
        doc: "Negative log-likelihood of the labels, −(1/n) Σ_i log p̄_{i,y_i}. Lower is better.",
    },
    MetricInfo {
        name: "brier",
        direction: Direction::LowerIsBetter,
        tasks: CLASSIFICATION,
        doc: "Brier score summed over classes, (1/n) Σ_i Σ_k (p̄_ik − 1[k = y_i])², in [0, 2] \
              (Brier 1950). Lower is better.",
    },
    MetricInfo {
        name: "ece",
        direction: Direction::LowerIsBetter,
        tasks: CLASSIFICATION,
        doc: "Expected calibration error over equal-width confidence bins, \
              Σ_b (|B_b|/n)·|acc(B_b) − conf(B_b)| (Naeini et al. 2015; Guo et al. 2017). \
              Lower is better.",
    },
    MetricInfo {
        name: "mce",
        direction: Direction::LowerIsBetter,
        tasks: CLASSIFICATION,
        doc: "Maximum calibration error, max_b |acc(B_b) − conf(B_b)| over non-empty bins \
              (Naeini et al. 2015; Guo et al. 2017). Lower is better.",
    },
    MetricInfo {
        name: "entropy",
        direction: Direction::Descriptive,
        tasks: CLASSIFICATION,
        doc: "Mean predictive entropy, (1/n) Σ_i −Σ_k p̄_ik ln p̄_ik, in nats. Reported as an \
              uncertainty score on inputs the model should be unsure of (out-of-distribution \
              data), where it should be high, and on test data, where it should be low; \
              neither is better on its own.",
    },
    MetricInfo {
        name: "mutual_information",
        direction: Direction::Descriptive,
        tasks: CLASSIFICATION,
        doc: "Mean mutual information between label and weights, H(p̄) − (1/S) Σ_s H(p_s) \
              (Houlsby et al. 2011; Gal 2016), the epistemic part of the entropy. Reported on \
              out-of-distribution data, where it should be high; neither direction is better \
              on its own.",
    },
    MetricInfo {
        name: "ood_auroc",
        direction: Direction::HigherIsBetter,
        tasks: CLASSIFICATION,
        doc: "Area under the ROC curve for telling out-of-distribution inputs from test inputs by \
              predictive entropy, P(s_out > s_in) + ½ P(s_out = s_in) (Hendrycks & Gimpel 2017). \
              Higher is better.",
    },
    MetricInfo {
        name: "ood_aupr",
        direction: Direction::HigherIsBetter,
        tasks: CLASSIFICATION,
        doc: "Average precision for detecting out-of-distribution inputs (the positive class) by \
              predictive entropy, Σ_n (R_n − R_{n−1}) P_n (Hendrycks & Gimpel 2017). \
              Higher is better.",
    },
    MetricInfo {
        name: "ood_fpr95",
        direction: Direction::LowerIsBetter,
        tasks: CLASSIFICATION,
        doc: "Fraction of test inputs flagged as out-of-distribution at the entropy threshold \
              that flags 95 % of out-of-distribution inputs (Liang et al. 2018). \
              Lower is better.",
    },
    MetricInfo {
        name: "ood_auroc_mi",
        direction: Direction::HigherIsBetter,
        tasks: CLASSIFICATION,
        doc: "OOD AUROC as `ood_auroc`, with the mutual information (the epistemic part) as \
              the score instead of the entropy. Higher is better.",
    },
    MetricInfo {
        name: "ood_aupr_mi",
        direction: Direction::HigherIsBetter,
        tasks: CLASSIFICATION,
        doc: "OOD average precision as `ood_aupr`, scored by mutual information. \
              Higher is better.",
    },
    MetricInfo {
        name: "ood_fpr95_mi",
        direction: Direction::LowerIsBetter,
        tasks: CLASSIFICATION,
        doc: "FPR at 95 % TPR as `ood_fpr95`, scored by mutual information. Lower is better.",
    },
    MetricInfo {
        name: "coverage_90",
        direction: Direction::CloserTo(0.9),
        tasks: REGRESSION,
        doc: "Fraction of targets inside the central 90 % interval of the predictive mixture; \
              0.9 when calibrated; closer to 0.9 is better (under-coverage is overconfidence, \
              over-coverage underconfidence).",
    },
    MetricInfo {
        name: "coverage_95",
        direction: Direction::CloserTo(0.95),
        tasks: REGRESSION,
        doc: "Fraction of targets inside the central 95 % interval of the predictive mixture; \
              0.95 when calibrated; closer to 0.95 is better.",
    },
    MetricInfo {
        name: "crps",
        direction: Direction::LowerIsBetter,
        tasks: REGRESSION,
        doc: "Continuous ranked probability score of the predictive mixture, \
              (1/n) Σ_i ∫ (F_i(x) − 1[x ≥ y_i])² dx, exact for Gaussian mixtures \
              (Gneiting & Raftery 2007; Grimit et al. 2006). Lower is better.",
    },
    MetricInfo {
        name: "perplexity",
        direction: Direction::LowerIsBetter,
        tasks: CLASSIFICATION,
        doc: "Language-model perplexity, exp of the mean token negative log-likelihood in nats \
              (Gan et al. 2017). Lower is better.",
    },
];

/// The registry entry of `metric`, a bare name (`nll`) or a `split.metric` name (`test.nll`,
/// the split before the first dot being ignored). None for a name the harness does not report.
pub fn metric_info(metric: &str) -> Option<&'static MetricInfo> {
    let name = metric.split_once('.').map_or(metric, |(_, name)| name);
    METRICS.iter().find(|info| info.name == name)
}

/// Whether the harness reports `metric` (bare or `split.metric`).
pub fn is_known_metric(metric: &str) -> bool {
    metric_info(metric).is_some()
}

/// Which way `metric` improves; None for an unknown name, so a caller can refuse it instead of
/// guessing.
pub fn direction(metric: &str) -> Option<Direction> {
    metric_info(metric).map(|info| info.direction)
}

/// Whether a larger value of `metric` is better (bare or `split.metric`), from the registry.
/// Unknown names → false. The report module uses this to put the best value in bold.
pub fn higher_is_better(metric: &str) -> bool {
    direction(metric) == Some(Direction::HigherIsBetter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// Every name the harness reports, with the direction its metric's definition implies.
    const EXPECTED: &[(&str, Direction)] = &[
        ("loss", Direction::LowerIsBetter),
        ("rmse", Direction::LowerIsBetter),
        ("gaussian_ll", Direction::HigherIsBetter),
        ("accuracy", Direction::HigherIsBetter),
        ("nll", Direction::LowerIsBetter),
        ("brier", Direction::LowerIsBetter),
        ("ece", Direction::LowerIsBetter),
        ("mce", Direction::LowerIsBetter),
        ("entropy", Direction::Descriptive),
        ("mutual_information", Direction::Descriptive),
        ("ood_auroc", Direction::HigherIsBetter),
        ("ood_aupr", Direction::HigherIsBetter),
        ("ood_fpr95", Direction::LowerIsBetter),
        ("ood_auroc_mi", Direction::HigherIsBetter),
        ("ood_aupr_mi", Direction::HigherIsBetter),
        ("ood_fpr95_mi", Direction::LowerIsBetter),
        ("coverage_90", Direction::CloserTo(0.9)),
        ("coverage_95", Direction::CloserTo(0.95)),
        ("crps", Direction::LowerIsBetter),
        ("perplexity", Direction::LowerIsBetter),
    ];

    #[test]
    fn every_name_is_listed_exactly_once() {
        let mut seen = HashSet::new();
        for info in METRICS {
            assert!(seen.insert(info.name), "{} listed twice", info.name);
        }
        let expected: HashSet<&str> = EXPECTED.iter().map(|(name, _)| *name).collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn directions_match_the_docs() {
        for info in METRICS {
            let doc = info.doc.to_lowercase();
            let from_doc = match (
                doc.contains("higher is better"),
                doc.contains("lower is better"),
                doc.find("closer to "),
                doc.contains("neither"),
            ) {
                (true, false, None, false) => Direction::HigherIsBetter,
                (false, true, None, false) => Direction::LowerIsBetter,
                (false, false, Some(at), false) => {
                    let nominal: String = doc[at + "closer to ".len()..]
                        .chars()
                        .take_while(|c| c.is_ascii_digit() || *c == '.')
                        .collect();
                    Direction::CloserTo(nominal.parse().unwrap())
                }
                (false, false, None, true) => Direction::Descriptive,
                _ => panic!("{}: the doc must name exactly one direction", info.name),
            };
            assert_eq!(info.direction, from_doc, "{}", info.name);
            let expected = EXPECTED
                .iter()
                .find(|(name, _)| *name == info.name)
                .unwrap()
                .1;
            assert_eq!(info.direction, expected, "{}", info.name);
            assert!(!info.tasks.is_empty(), "{}", info.name);
        }
    }

    #[test]
    fn split_prefixes_are_ignored_and_unknown_names_refused() {
        assert_eq!(metric_info("test.nll").unwrap().name, "nll");
        assert_eq!(direction("valid.crps"), Some(Direction::LowerIsBetter));
        assert_eq!(direction("ood_auroc"), Some(Direction::HigherIsBetter));
        assert!(is_known_metric("train.loss"));
        assert!(!is_known_metric("test.f1"));
        assert_eq!(direction("unknown"), None);
        // Only the part before the first dot is a split.
        assert_eq!(direction("a.b.nll"), None);
        assert!(metric_info("test.").is_none());
    }

    #[test]
    fn the_minimised_quantity_follows_the_direction() {
        assert_eq!(Direction::HigherIsBetter.loss(0.5), Some(-0.5));
        assert_eq!(Direction::LowerIsBetter.loss(0.5), Some(0.5));
        // Over- and under-coverage by the same amount are equally bad.
        // 0.5 ± 0.25 is exact in binary, so the two distances are equal bit for bit.
        let nominal = Direction::CloserTo(0.5);
        assert_eq!(nominal.loss(0.25), nominal.loss(0.75));
        assert_eq!(nominal.loss(0.5), Some(0.0));
        assert!(nominal.loss(0.5).unwrap() < nominal.loss(0.75).unwrap());
        assert_eq!(Direction::Descriptive.loss(1.0), None);
        assert_eq!(
            direction("test.coverage_95"),
            Some(Direction::CloserTo(0.95))
        );
        assert_eq!(direction("far.entropy"), Some(Direction::Descriptive));
    }

    #[test]
    fn which_way_is_better() {
        for up in [
            "gaussian_ll",
            "accuracy",
            "test.accuracy",
            "valid.gaussian_ll",
            "test.ood_auroc",
        ] {
            assert!(higher_is_better(up), "{up}");
        }
        for down in [
            "rmse",
            "nll",
            "brier",
            "perplexity",
            "ece",
            "mce",
            "crps",
            "loss",
            "test.rmse",
            "test.ood_fpr95",
            "unknown",
        ] {
            assert!(!higher_is_better(down), "{down}");
        }
    }
}
