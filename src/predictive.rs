//! The one path from "a set of weight samples or dropout masks" to averaged predictions and their
//! metrics. Methods never score themselves: they fold each sample's [`HeadOutput`] into a
//! [`Predictive`] as it is drawn and drop it, so memory is O(evaluation outputs), never
//! O(samples × parameters).
//!
//! - Classification: p̄ = 1/S Σ_s p_s; accuracy, NLL = −log p̄(y), Brier, ECE, MCE and the
//!   predictive entropy H[p̄] use p̄. The mutual information H[p̄] − 1/S Σ_s H[p_s] needs the
//!   mean of the samples' own entropies, which no function of p̄ gives, so it is accumulated too
//!   (one entropy per example and sample: O(examples) memory).
//! - Regression: sample s gives N(μ_s, σ_s²) on the standardised scale; mapped to the original
//!   scale (μ·s_y + m_y, σ²·s_y²), the predictive is their equal mixture. RMSE uses the mixture
//!   mean; the log-likelihood is log(1/S Σ_s N(y | μ_s, σ_s²)), accumulated per example with a
//!   running log-sum-exp. Interval coverage and CRPS of a mixture have no streaming form (a
//!   mixture quantile needs every component, its CRPS every pair), so a labelled regression
//!   part keeps the components, S × n means and variances in f32 (8·S·n bytes: 100 samples of
//!   a 1,000-row test part take 0.8 MB), and computes them exactly: quantiles by bisection on
//!   the mixture CDF, CRPS in closed form (see [`metrics::crps_mixture`]).
//!
//! Averages are running means (x̄ ← x̄ + (x − x̄)/n) and the log-sum-exp keeps its maximum apart,
//! so S identical samples give bit for bit the predictive of one: an ensemble of identical
//! members, or MC dropout with p = 0, equals the single network exactly.

use ndarray::{Array2, ArrayView2};

use crate::data::{Standardizer, TargetValues};
use crate::metrics;
use crate::nn::HeadOutput;

/// Bins of the expected calibration error.
pub const ECE_BINS: usize = 15;

/// The running average of a predictive over samples.
#[derive(Clone, Debug)]
pub enum Predictive {
    Gaussian(GaussianMixture),
    Categorical(CategoricalAverage),
}

/// An equal mixture of Gaussians per example, reported on the original target scale.
///
/// The moments are accumulated on the standardised scale, where the means are O(1), and mapped
/// to the original scale once: mixture mean m_y + s_y·μ̄, variance s_y²·(1/S Σ_s σ_s² + 1/S Σ_s
/// (μ_s − μ̄)²), the spread of the means by Welford's update. Forming E[x²] − E[x]² on the
/// original scale instead cancels catastrophically when |m_y| ≫ s_y (a target near 10⁶ with
/// unit noise loses about 12 of the 16 digits).
#[derive(Clone, Debug)]
pub struct GaussianMixture {
    n_samples: usize,
    y_mean: f64,
    y_std: f64,
    /// Running mean of μ_s per example (standardised scale).
    mean: Vec<f64>,
    /// Σ_s (μ_s − μ̄)² per example (standardised scale), by Welford's update.
    m2: Vec<f64>,
    /// Running mean of σ_s² per example (standardised scale).
    mean_var: Vec<f64>,
    /// max_s log N(y | μ_s, σ_s²) per example (empty without targets).
    max_log_lik: Vec<f64>,
    /// Σ_s exp(log N(y | μ_s, σ_s²) − max_log_lik) per example: 1 for one sample, S for S equal.
    sum_lik_ratio: Vec<f64>,
    /// Every sample's μ_s and σ_s² (standardised scale), S × n row-major (empty without
    /// targets): interval coverage and CRPS need the components.
    component_means: Vec<f32>,
    component_vars: Vec<f32>,
    targets: Option<Vec<f64>>,
}

/// The average of categorical distributions per example.
#[derive(Clone, Debug)]
pub struct CategoricalAverage {
    n_samples: usize,
    /// Running mean of p_s per example.
    mean_probs: Array2<f64>,
    /// Running mean of H[p_s] per example, for the mutual information.
    mean_sample_entropy: Vec<f64>,
    labels: Option<Vec<u32>>,
}

/// A per-example summary of a predictive, for `predictions.parquet`.
#[derive(Clone, Debug, PartialEq)]
pub enum Summary {
    /// Mixture mean and standard deviation (original scale).
    Gaussian { mean: f64, std: f64 },
    /// The most probable class, its averaged probability, the predictive entropy H[p̄] and the
    /// mutual information H[p̄] − 1/S Σ_s H[p_s] (nats).
    Categorical {
        label: u32,
        confidence: f64,
        entropy: f64,
        mutual_information: f64,
    },
}

/// A per-example uncertainty score of a categorical predictive, higher meaning less certain:
/// the input of out-of-distribution detection ([`metrics::auroc`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UncertaintyScore {
    /// H[p̄], the total uncertainty.
    Entropy,
    /// H[p̄] − 1/S Σ_s H[p_s], the part from disagreement between samples (epistemic).
    MutualInformation,
}

impl Predictive {
    /// A predictive for examples with these targets (standardised as `scaler` says, for
    /// regression; metrics are then reported on the original scale).
    pub fn new(targets: &TargetValues, scaler: &Standardizer) -> Self {
        match targets {
            TargetValues::Real(y) => {
                let original = y
                    .iter()
                    .map(|&v| f64::from(v) * scaler.y_std + scaler.y_mean)
                    .collect();
                Predictive::Gaussian(GaussianMixture::new(y.len(), scaler, Some(original)))
            }
            TargetValues::Class {
                labels, n_classes, ..
            } => Predictive::Categorical(CategoricalAverage::new(
                labels.len(),
                *n_classes,
                Some(labels.clone()),
            )),
        }
    }

    /// A predictive for `n` unlabelled inputs (a plotting grid).
    pub fn unlabelled(n: usize, classes: Option<usize>, scaler: &Standardizer) -> Self {
        match classes {
            None => Predictive::Gaussian(GaussianMixture::new(n, scaler, None)),
            Some(k) => Predictive::Categorical(CategoricalAverage::new(n, k, None)),
        }
    }

    /// Number of samples folded in so far.
    pub fn n_samples(&self) -> usize {
        match self {
            Predictive::Gaussian(g) => g.n_samples,
            Predictive::Categorical(c) => c.n_samples,
        }
    }

    /// Folds one sample's outputs (one row per example, in the same order) into the average.
    pub fn add(&mut self, output: &HeadOutput) {
        match (self, output) {
            (Predictive::Gaussian(g), HeadOutput::Gaussian { mean, var }) => g.add(mean, var),
            (Predictive::Categorical(c), HeadOutput::Categorical { probs }) => c.add(probs.view()),
            _ => panic!("a regression predictive got a classifier's output, or the reverse"),
        }
    }

    /// The metrics of the averaged predictive: regression `rmse`, `gaussian_ll`, `coverage_90`,
    /// `coverage_95`, `crps` (none without targets); classification `accuracy`, `nll`, `brier`,
    /// `ece`, `mce` (with labels) and `entropy`, `mutual_information` (always). Empty before the
    /// first sample.
    pub fn metrics(&self) -> Vec<(&'static str, f64)> {
        if self.n_samples() == 0 {
            return Vec::new();
        }
        match self {
            Predictive::Gaussian(g) => g.metrics(),
            Predictive::Categorical(c) => c.metrics(),
        }
    }

    /// The mean log predictive density per example: `gaussian_ll` for regression (original
    /// scale), −`nll` for classification; `None` before the first sample or without targets.
    pub fn log_likelihood(&self) -> Option<f64> {
        self.metrics()
            .into_iter()
            .find_map(|(name, value)| match name {
                "gaussian_ll" => Some(value),
                "nll" => Some(-value),
                _ => None,
            })
    }

    /// Per-example uncertainty scores of a categorical predictive; `None` for regression or
    /// before the first sample.
    pub fn scores(&self, score: UncertaintyScore) -> Option<Vec<f64>> {
        match self {
            Predictive::Categorical(c) if c.n_samples > 0 => Some(match score {
                UncertaintyScore::Entropy => metrics::entropies(c.mean_probs.view()),
                UncertaintyScore::MutualInformation => {
                    metrics::mutual_information(c.mean_probs.view(), &c.mean_sample_entropy).1
                }
            }),
            _ => None,
        }
    }

    /// Per-example summaries (empty before the first sample).
    pub fn summaries(&self) -> Vec<Summary> {
        match self {
            Predictive::Gaussian(g) => g.summaries(),
            Predictive::Categorical(c) => c.summaries(),
        }
    }
}

impl GaussianMixture {
    fn new(n: usize, scaler: &Standardizer, targets: Option<Vec<f64>>) -> Self {
        GaussianMixture {
            n_samples: 0,
            y_mean: scaler.y_mean,
            y_std: scaler.y_std,
            mean: vec![0.0; n],
            m2: vec![0.0; n],
            mean_var: vec![0.0; n],
            max_log_lik: if targets.is_some() {
                vec![f64::NEG_INFINITY; n]
            } else {
                Vec::new()
            },
            sum_lik_ratio: if targets.is_some() {
                vec![0.0; n]
            } else {
                Vec::new()
            },
            component_means: Vec::new(),
            component_vars: Vec::new(),
            targets,
        }
    }

    fn add(&mut self, mean: &[f32], var: &[f32]) {
        assert_eq!(mean.len(), self.mean.len(), "one output per example");
        const LOG_2PI: f64 = 1.837_877_066_409_345_3;
        let scale_var = self.y_std * self.y_std;
        let count = (self.n_samples + 1) as f64;
        for i in 0..mean.len() {
            let (mu_std, var_std) = (f64::from(mean[i]), f64::from(var[i]));
            let delta = mu_std - self.mean[i];
            self.mean[i] += delta / count;
            self.m2[i] += delta * (mu_std - self.mean[i]);
            self.mean_var[i] += (var_std - self.mean_var[i]) / count;
            if let Some(targets) = &self.targets {
                let mu = mu_std * self.y_std + self.y_mean;
                let v = var_std * scale_var;
                let r = targets[i] - mu;
                let log_lik = -0.5 * (LOG_2PI + v.ln() + r * r / v);
                let max = self.max_log_lik[i];
                if log_lik > max {
                    self.sum_lik_ratio[i] = self.sum_lik_ratio[i] * (max - log_lik).exp() + 1.0;
                    self.max_log_lik[i] = log_lik;
                } else {
                    self.sum_lik_ratio[i] += (log_lik - max).exp();
                }
            }
        }
        if self.targets.is_some() {
            self.component_means.extend_from_slice(mean);
            self.component_vars.extend_from_slice(var);
        }
        self.n_samples += 1;
    }

    /// Mean and variance of example `i`'s mixture on the original scale.
    fn mixture(&self, i: usize) -> (f64, f64) {
        let s = self.n_samples as f64;
        let mean = self.mean[i] * self.y_std + self.y_mean;
        let var = (self.mean_var[i] + self.m2[i] / s) * (self.y_std * self.y_std);
        (mean, var)
    }

    fn metrics(&self) -> Vec<(&'static str, f64)> {
        let Some(targets) = &self.targets else {
            return Vec::new();
        };
        let means: Vec<f64> = (0..targets.len()).map(|i| self.mixture(i).0).collect();
        let s = self.n_samples as f64;
        let ll = self
            .max_log_lik
            .iter()
            .zip(&self.sum_lik_ratio)
            .map(|(max, ratio)| max + (ratio / s).ln())
            .sum::<f64>()
            / targets.len() as f64;
        // The components on the original scale, S × n.
        let shape = (self.n_samples, targets.len());
        let scale_var = self.y_std * self.y_std;
        let component_means = Array2::from_shape_fn(shape, |(s, i)| {
            f64::from(self.component_means[s * shape.1 + i]) * self.y_std + self.y_mean
        });
        let component_vars = Array2::from_shape_fn(shape, |(s, i)| {
            f64::from(self.component_vars[s * shape.1 + i]) * scale_var
        });
        let (m, v) = (component_means.view(), component_vars.view());
        vec![
            ("rmse", metrics::rmse(&means, targets)),
            ("gaussian_ll", ll),
            (
                "coverage_90",
                metrics::mixture_interval_coverage(m, v, targets, 0.9),
            ),
            (
                "coverage_95",
                metrics::mixture_interval_coverage(m, v, targets, 0.95),
            ),
            ("crps", metrics::crps_mixture(m, v, targets)),
        ]
    }

    fn summaries(&self) -> Vec<Summary> {
        if self.n_samples == 0 {
            return Vec::new();
        }
        (0..self.mean.len())
            .map(|i| {
                let (mean, var) = self.mixture(i);
                Summary::Gaussian {
                    mean,
                    std: var.sqrt(),
                }
            })
            .collect()
    }
}

impl CategoricalAverage {
    fn new(n: usize, classes: usize, labels: Option<Vec<u32>>) -> Self {
        CategoricalAverage {
            n_samples: 0,
            mean_probs: Array2::zeros((n, classes)),
            mean_sample_entropy: vec![0.0; n],
            labels,
        }
    }

    fn add(&mut self, probs: ArrayView2<f64>) {
        assert_eq!(probs.dim(), self.mean_probs.dim(), "one row per example");
        let count = (self.n_samples + 1) as f64;
        self.mean_probs
            .zip_mut_with(&probs, |mean, &p| *mean += (p - *mean) / count);
        for (mean, h) in self
            .mean_sample_entropy
            .iter_mut()
            .zip(metrics::entropies(probs))
        {
            *mean += (h - *mean) / count;
        }
        self.n_samples += 1;
    }

    fn metrics(&self) -> Vec<(&'static str, f64)> {
        let p = &self.mean_probs;
        let mut rows = Vec::new();
        if let Some(labels) = &self.labels {
            let calibration = metrics::calibration(p.view(), labels, ECE_BINS);
            rows.extend([
                ("accuracy", metrics::accuracy(p.view(), labels)),
                ("nll", metrics::nll(p.view(), labels)),
                ("brier", metrics::brier(p.view(), labels)),
                ("ece", calibration.ece),
                ("mce", calibration.mce),
            ]);
        }
        let (mi, _) = metrics::mutual_information(p.view(), &self.mean_sample_entropy);
        rows.extend([
            ("entropy", metrics::predictive_entropy(p.view())),
            ("mutual_information", mi),
        ]);
        rows
    }

    fn summaries(&self) -> Vec<Summary> {
        if self.n_samples == 0 {
            return Vec::new();
        }
        let p = &self.mean_probs;
        let entropies = metrics::entropies(p.view());
        let (_, mutual_information) =
            metrics::mutual_information(p.view(), &self.mean_sample_entropy);
        p.rows()
            .into_iter()
            .zip(entropies.into_iter().zip(mutual_information))
            .map(|(row, (entropy, mutual_information))| {
                let (label, confidence) =
                    row.iter()
                        .enumerate()
                        .fold((0, f64::NEG_INFINITY), |best, (k, &v)| {
                            if v > best.1 { (k, v) } else { best }
                        });
                Summary::Categorical {
                    label: label as u32,
                    confidence,
                    entropy,
                    mutual_information,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, array};

    fn scaler(y_mean: f64, y_std: f64) -> Standardizer {
        Standardizer {
            x_mean: vec![0.0],
            x_std: vec![1.0],
            y_mean,
            y_std,
        }
    }

    #[test]
    fn gaussian_mixture_matches_the_closed_form() {
        // Targets stored standardised with m = 10, s = 2: original y = [10, 14].
        let targets = TargetValues::Real(Array1::from(vec![0.0f32, 2.0]));
        let mut p = Predictive::new(&targets, &scaler(10.0, 2.0));
        p.add(&HeadOutput::Gaussian {
            mean: vec![0.0, 1.0],
            var: vec![1.0, 0.25],
        });
        p.add(&HeadOutput::Gaussian {
            mean: vec![1.0, 2.0],
            var: vec![1.0, 0.25],
        });
        // Original scale: sample 1 gives N(10, 4), N(12, 1); sample 2 gives N(12, 4), N(14, 1).
        let n = |y: f64, mu: f64, var: f64| {
            (-(y - mu).powi(2) / (2.0 * var)).exp() / (2.0 * std::f64::consts::PI * var).sqrt()
        };
        let ll0 = (0.5 * (n(10.0, 10.0, 4.0) + n(10.0, 12.0, 4.0))).ln();
        let ll1 = (0.5 * (n(14.0, 12.0, 1.0) + n(14.0, 14.0, 1.0))).ln();
        let m = p.metrics();
        assert_eq!(m[0].0, "rmse");
        // Mixture means 11 and 13 against 10 and 14: RMSE = 1.
        assert!((m[0].1 - 1.0).abs() < 1e-12);
        assert!((m[1].1 - 0.5 * (ll0 + ll1)).abs() < 1e-12, "{m:?}");
        // Mixture variance: E[σ²] + Var[μ] = 4 + 1 for example 0.
        match &p.summaries()[0] {
            Summary::Gaussian { mean, std } => {
                assert!((mean - 11.0).abs() < 1e-12);
                assert!((std - 5f64.sqrt()).abs() < 1e-12);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn mixture_variance_keeps_its_digits_far_from_zero() {
        // Targets near 10⁶ with unit-scale noise: y_mean = 10⁶ (and 10⁶ + 0.5 with y_std = 2).
        // Var = 1/S Σ σ_s² + 1/S Σ (μ_s − μ̄)², exactly in f64 from the standardised values
        // (the f32 values taken as exact), times y_std².
        let means = [0.3f32, -0.7, 1.1, 0.45];
        let vars = [1.0f32, 2.0, 0.5, 0.75];
        let s = means.len() as f64;
        let mu_bar = means.iter().map(|&m| f64::from(m)).sum::<f64>() / s;
        let spread = means
            .iter()
            .map(|&m| (f64::from(m) - mu_bar).powi(2))
            .sum::<f64>()
            / s;
        let noise = vars.iter().map(|&v| f64::from(v)).sum::<f64>() / s;
        for (y_mean, y_std) in [(1e6, 1.0), (1e6 + 0.5, 2.0), (-3e7, 1.0)] {
            let targets = TargetValues::Real(Array1::from(vec![0.0f32]));
            let mut p = Predictive::new(&targets, &scaler(y_mean, y_std));
            for (&m, &v) in means.iter().zip(&vars) {
                p.add(&HeadOutput::Gaussian {
                    mean: vec![m],
                    var: vec![v],
                });
            }
            let want_var = (noise + spread) * y_std * y_std;
            let want_mean = y_mean + y_std * mu_bar;
            match &p.summaries()[0] {
                Summary::Gaussian { mean, std } => {
                    assert!(
                        (mean - want_mean).abs() <= 1e-15 * want_mean.abs(),
                        "{mean}"
                    );
                    let rel = (std * std - want_var).abs() / want_var;
                    assert!(
                        rel < 1e-14,
                        "y_mean {y_mean}: var {} vs {want_var}",
                        std * std
                    );
                }
                other => panic!("{other:?}"),
            }
        }
        // One sample: the mixture is that Gaussian, its variance σ²·y_std² to the last bit.
        let targets = TargetValues::Real(Array1::from(vec![0.0f32]));
        let mut p = Predictive::new(&targets, &scaler(1e6, 3.0));
        p.add(&HeadOutput::Gaussian {
            mean: vec![0.3],
            var: vec![0.7],
        });
        match &p.summaries()[0] {
            Summary::Gaussian { mean, std } => {
                assert_eq!(*mean, f64::from(0.3f32) * 3.0 + 1e6);
                assert_eq!(*std, (f64::from(0.7f32) * 9.0).sqrt());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn streaming_log_likelihood_equals_the_batch_formula() {
        let targets = TargetValues::Real(Array1::from(vec![0.3f32, -1.0, 2.0]));
        let mut p = Predictive::new(&targets, &scaler(0.0, 1.0));
        let means = array![[0.1, -0.9, 1.0], [0.5, -1.5, 3.0], [0.2, 0.0, 2.2]];
        let vars = array![[0.01, 0.5, 1.0], [0.02, 0.1, 0.3], [1e-4, 2.0, 0.5]];
        for s in 0..3 {
            p.add(&HeadOutput::Gaussian {
                mean: means.row(s).iter().map(|&v| v as f32).collect(),
                var: vars.row(s).iter().map(|&v| v as f32).collect(),
            });
        }
        // Compare with the batch metric on the same f32-rounded inputs.
        let round = |a: &Array2<f64>| a.mapv(|v| f64::from(v as f32));
        let expected = metrics::gaussian_mixture_ll(
            round(&means).view(),
            round(&vars).view(),
            &[0.3f32 as f64, -1.0, 2.0],
        );
        let got = p.metrics()[1].1;
        assert!((got - expected).abs() < 1e-12, "{got} vs {expected}");
    }

    #[test]
    fn categorical_average_of_probabilities() {
        let targets = TargetValues::Class {
            labels: vec![0, 1],
            n_classes: 2,
            names: vec!["a".into(), "b".into()],
        };
        let mut p = Predictive::new(&targets, &scaler(0.0, 1.0));
        p.add(&HeadOutput::Categorical {
            probs: array![[0.9f64, 0.1], [0.6, 0.4]],
        });
        p.add(&HeadOutput::Categorical {
            probs: array![[0.5f64, 0.5], [0.2, 0.8]],
        });
        // p̄ = [[0.7, 0.3], [0.4, 0.6]]: both correct; NLL = −(ln 0.7 + ln 0.6)/2.
        let m = p.metrics();
        assert_eq!(m[0], ("accuracy", 1.0));
        let nll = -(0.7f64.ln() + 0.6f64.ln()) / 2.0;
        assert!((m[1].1 - nll).abs() < 1e-12, "{m:?}");
        // H[p̄] of [0.4, 0.6], minus the mean of H[0.6, 0.4] and H[0.2, 0.8].
        let h = |p: f64| -(p * p.ln() + (1.0 - p) * (1.0 - p).ln());
        let want_mi = h(0.4) - 0.5 * (h(0.6) + h(0.2));
        match p.summaries()[1] {
            Summary::Categorical {
                label,
                confidence,
                entropy,
                mutual_information,
            } => {
                assert_eq!((label, confidence), (1, (0.4 + 0.8) / 2.0));
                assert!((entropy - h(0.4)).abs() < 1e-15, "{entropy}");
                assert!((mutual_information - want_mi).abs() < 1e-15);
                assert!(mutual_information > 0.0);
            }
            ref other => panic!("{other:?}"),
        }
        let mi = p
            .metrics()
            .into_iter()
            .find(|m| m.0 == "mutual_information");
        let want_mean = 0.5 * (h(0.7) - 0.5 * (h(0.9) + h(0.5)) + want_mi);
        assert!((mi.unwrap().1 - want_mean).abs() < 1e-15);
    }

    #[test]
    fn the_log_sum_exp_survives_likelihoods_far_below_underflow() {
        // Residuals of 100 with variance 0.01: log-likelihoods near −5·10⁵, where exp underflows.
        let targets = TargetValues::Real(Array1::from(vec![100.0f32]));
        let mut p = Predictive::new(&targets, &scaler(0.0, 1.0));
        let (means, vars) = (array![[0.0], [0.5]], array![[0.01], [0.02]]);
        for s in 0..2 {
            p.add(&HeadOutput::Gaussian {
                mean: vec![means[[s, 0]] as f32],
                var: vec![vars[[s, 0]] as f32],
            });
        }
        let round = |a: &Array2<f64>| a.mapv(|v| f64::from(v as f32));
        let expected =
            metrics::gaussian_mixture_ll(round(&means).view(), round(&vars).view(), &[100.0]);
        let got = p.metrics()[1].1;
        assert!(got.is_finite() && got < -2e5, "{got}");
        assert!(
            (got - expected).abs() < 1e-9 * expected.abs(),
            "{got} vs {expected}"
        );
    }

    /// Running means and a log-sum-exp that keeps its maximum apart make S copies of one sample
    /// the predictive of that sample, bit for bit (sums would round: 3 × 0.1 / 3 ≠ 0.1).
    #[test]
    fn identical_samples_give_exactly_the_single_sample_predictive() {
        let targets = TargetValues::Real(Array1::from(vec![0.3f32, -1.0, 2.0]));
        let scaler = scaler(10.0, 3.0);
        let out = HeadOutput::Gaussian {
            mean: vec![0.1, -0.7, 1.9],
            var: vec![0.1, 0.3, 0.7],
        };
        let mut one = Predictive::new(&targets, &scaler);
        one.add(&out);
        let mut many = Predictive::new(&targets, &scaler);
        for _ in 0..7 {
            many.add(&out);
        }
        assert_eq!(one.metrics(), many.metrics());
        assert_eq!(one.summaries(), many.summaries());

        let targets = TargetValues::Class {
            labels: vec![0, 2],
            n_classes: 3,
            names: vec!["a".into(), "b".into(), "c".into()],
        };
        let out = HeadOutput::Categorical {
            probs: array![[0.1f64, 0.2, 0.7], [0.3, 0.3, 0.4]],
        };
        let mut one = Predictive::new(&targets, &scaler);
        one.add(&out);
        let mut many = Predictive::new(&targets, &scaler);
        for _ in 0..7 {
            many.add(&out);
        }
        assert_eq!(one.metrics(), many.metrics());
        assert_eq!(one.summaries(), many.summaries());
    }
}
