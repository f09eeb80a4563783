//! Regression metrics: scores of a Gaussian or Gaussian-mixture predictive against real targets.

use ndarray::{ArrayView1, ArrayView2};
use statrs::distribution::{ContinuousCDF, Normal};

use super::assert_same_len;

/// ln(2π)
const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// Root mean squared error of the predictive mean: sqrt((1/n) Σ_i (μ_i − y_i)²).
pub fn rmse(mean: &[f64], target: &[f64]) -> f64 {
    assert_same_len(mean.len(), target.len(), "means");
    let sse: f64 = mean
        .iter()
        .zip(target)
        .map(|(m, y)| (m - y) * (m - y))
        .sum();
    (sse / target.len() as f64).sqrt()
}

/// Gaussian log density log N(y | μ, σ²) = −½ (ln 2π + ln σ² + (y − μ)²/σ²).
#[inline]
fn log_normal(y: f64, mean: f64, var: f64) -> f64 {
    let r = y - mean;
    -0.5 * (LN_2PI + var.ln() + r * r / var)
}

/// Average log-likelihood of the targets under an equal mixture of S Gaussians per example:
/// (1/n) Σ_i log((1/S) Σ_s N(y_i | μ_si, σ²_si)), the test log-likelihood of Bayesian deep
/// learning papers (Hernández-Lobato & Adams 2015; Gal & Ghahramani 2016;
/// Lakshminarayanan et al. 2017).
///
/// The inner log is computed with log-sum-exp, log Σ_s exp(ℓ_s) = ℓ* + log Σ_s exp(ℓ_s − ℓ*) with
/// ℓ* = max_s ℓ_s, so tiny variances whose densities underflow in f64 still give a finite value.
/// `means` and `vars` are S×n (rows = samples, columns = examples); variances must be > 0.
/// S = 1 is a single Gaussian predictive.
pub fn gaussian_mixture_ll(means: ArrayView2<f64>, vars: ArrayView2<f64>, target: &[f64]) -> f64 {
    check_mixture(means, vars);
    let (s, n) = means.dim();
    assert_same_len(n, target.len(), "mixture columns");
    let log_s = (s as f64).ln();
    let mut terms = vec![0.0f64; s];
    let mut total = 0.0;
    for ((mu, var), &y) in means.columns().into_iter().zip(vars.columns()).zip(target) {
        for ((term, &m), &v) in terms.iter_mut().zip(mu).zip(var) {
            *term = log_normal(y, m, v);
        }
        total += log_sum_exp(&terms) - log_s;
    }
    total / n as f64
}

/// Mixture shapes: S×n means and variances, S ≥ 1.
fn check_mixture(means: ArrayView2<f64>, vars: ArrayView2<f64>) {
    assert_eq!(
        means.dim(),
        vars.dim(),
        "means and variances must have the same shape (samples × examples)"
    );
    assert!(
        means.nrows() >= 1,
        "a mixture needs at least one component, got 0 rows"
    );
}

/// log Σ exp(x) without overflow or underflow (terms are non-empty).
fn log_sum_exp(x: &[f64]) -> f64 {
    let max = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        // All −∞ (every density 0), or a +∞/NaN that must propagate as is.
        return max;
    }
    max + x.iter().map(|v| (v - max).exp()).sum::<f64>().ln()
}

/// Average Gaussian log-likelihood (1/n) Σ_i log N(y_i | μ_i, σ²_i): the S = 1 case of
/// [`gaussian_mixture_ll`]. Variances must be > 0.
pub fn gaussian_ll(mean: &[f64], var: &[f64], target: &[f64]) -> f64 {
    assert_same_len(mean.len(), target.len(), "means");
    assert_same_len(var.len(), target.len(), "variances");
    let total: f64 = mean
        .iter()
        .zip(var)
        .zip(target)
        .map(|((&m, &v), &y)| log_normal(y, m, v))
        .sum();
    total / target.len() as f64
}

/// Bisection stops when the bracket is narrower than this times max(|q|, smallest σ_s): relative
/// accuracy on the quantile, with the scale of the narrowest component as the floor for
/// quantiles near 0.
const QUANTILE_RELATIVE_TOLERANCE: f64 = 1e-10;

/// The central `level` interval of each example's equal mixture of N(μ_si, σ²_si): the
/// ((1 − level)/2, (1 + level)/2) quantiles of the mixture CDF F(x) = (1/S) Σ_s Φ((x − μ_s)/σ_s),
/// per example. `means` and `vars` are S×n as in [`gaussian_mixture_ll`]; variances must be > 0
/// and 0 < level < 1.
///
/// A mixture has no closed-form quantile, so each is found by bisection on F, starting from the
/// smallest and largest component quantiles (the mixture's lies between them: F_s ≤ p at the
/// first for every s, ≥ p at the second) and stopping once the bracket is narrower than
/// 1e-10·max(|q|, min_s σ_s), or no f64 lies strictly inside it. S = 1 (or S equal components)
/// gives statrs' Gaussian quantile without bisecting.
pub fn mixture_interval(
    means: ArrayView2<f64>,
    vars: ArrayView2<f64>,
    level: f64,
) -> Vec<(f64, f64)> {
    check_mixture(means, vars);
    assert!(
        level > 0.0 && level < 1.0,
        "an interval level must be in (0, 1), got {level}"
    );
    let std_normal = Normal::standard();
    let (p_lower, p_upper) = ((1.0 - level) / 2.0, (1.0 + level) / 2.0);
    let mut sds = vec![0.0; means.nrows()];
    means
        .columns()
        .into_iter()
        .zip(vars.columns())
        .map(|(mu, var)| {
            for (sd, &v) in sds.iter_mut().zip(var) {
                *sd = v.sqrt();
            }
            (
                mixture_quantile(&std_normal, mu, &sds, p_lower),
                mixture_quantile(&std_normal, mu, &sds, p_upper),
            )
        })
        .collect()
}

/// The p-quantile of the equal mixture of N(mu_s, sd_s²), by bisection (see [`mixture_interval`]).
fn mixture_quantile(std_normal: &Normal, mu: ArrayView1<f64>, sd: &[f64], p: f64) -> f64 {
    let z = std_normal.inverse_cdf(p);
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for (&m, &s) in mu.iter().zip(sd) {
        let q = m + s * z;
        lo = lo.min(q);
        hi = hi.max(q);
    }
    let min_sd = sd.iter().copied().fold(f64::INFINITY, f64::min);
    let cdf = |x: f64| {
        mu.iter()
            .zip(sd)
            .map(|(&m, &s)| std_normal.cdf((x - m) / s))
            .sum::<f64>()
            / sd.len() as f64
    };
    // Invariant F(lo) ≤ p ≤ F(hi).
    while hi - lo > QUANTILE_RELATIVE_TOLERANCE * lo.abs().max(hi.abs()).max(min_sd) {
        let mid = lo + (hi - lo) / 2.0;
        if mid <= lo || mid >= hi {
            break;
        }
        if cdf(mid) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo + (hi - lo) / 2.0
}

/// Empirical coverage of the central `level` interval of the predictive mixture:
/// (1/n) Σ_i 1[l_i ≤ y_i ≤ u_i], with (l_i, u_i) from [`mixture_interval`] (quantiles to about
/// 1e-10 relative accuracy). A calibrated predictive covers a fraction `level` of the targets
/// (Kuleshov, Fenner & Ermon 2018); less means intervals too narrow. NaN without examples or
/// when any interval is NaN.
pub fn mixture_interval_coverage(
    means: ArrayView2<f64>,
    vars: ArrayView2<f64>,
    target: &[f64],
    level: f64,
) -> f64 {
    check_mixture(means, vars);
    assert_same_len(means.ncols(), target.len(), "mixture columns");
    let intervals = mixture_interval(means, vars, level);
    if intervals.iter().any(|(l, u)| l.is_nan() || u.is_nan()) {
        // A NaN predictive covers nothing, but reporting 0 would hide that it is NaN.
        return f64::NAN;
    }
    let inside = intervals
        .into_iter()
        .zip(target)
        .filter(|&((lower, upper), &y)| lower <= y && y <= upper)
        .count();
    inside as f64 / target.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::close;
    use ndarray::{Array2, array};

    #[test]
    fn rmse_by_hand() {
        // errors (1, −2, 2): sqrt((1 + 4 + 4)/3) = sqrt(3)
        close(rmse(&[1.0, 0.0, 5.0], &[0.0, 2.0, 3.0]), 3f64.sqrt());
        assert_eq!(rmse(&[1.5, -2.0], &[1.5, -2.0]), 0.0);
    }

    #[test]
    fn gaussian_ll_by_hand() {
        // log N(1 | 0, 1) = −½(ln 2π + 1) = −1.4189385332046727
        // log N(0 | 0, 4) = −½(ln 2π + ln 4) = −0.9189385332046727 − 0.6931471805599453
        //                 = −1.612085713764618
        // mean = (−1.4189385332046727 − 1.612085713764618)/2 = −1.5155121234846454
        close(
            gaussian_ll(&[0.0, 0.0], &[1.0, 4.0], &[1.0, 0.0]),
            -1.515_512_123_484_645_4,
        );
    }

    #[test]
    fn two_component_mixture_by_hand() {
        // One example y = 0, components N(0, 1) and N(2, 1):
        // N(0|0,1) = 0.3989422804014327, N(0|2,1) = 0.3989422804014327·e^−2 = 0.05399096651318806
        // log(½(0.3989422804014327 + 0.05399096651318806)) = log(0.22646662345731038)
        //   = −1.4851577027216454
        let means = array![[0.0], [2.0]];
        let vars = array![[1.0], [1.0]];
        close(
            gaussian_mixture_ll(means.view(), vars.view(), &[0.0]),
            -1.485_157_702_721_645_4,
        );
        // A second example y = 1, components N(1, 0.25) and N(1, 1):
        // N(1|1,0.25) = 1/sqrt(2π·0.25) = 0.7978845608028654, N(1|1,1) = 0.3989422804014327
        // log(½·1.1968268412042981) = log(0.5984134206021491) = −0.5134734250965083
        // average over both examples: (−1.4851577027216454 − 0.5134734250965083)/2
        //   = −0.9993155639090768
        let means = array![[0.0, 1.0], [2.0, 1.0]];
        let vars = array![[1.0, 0.25], [1.0, 1.0]];
        close(
            gaussian_mixture_ll(means.view(), vars.view(), &[0.0, 1.0]),
            -0.999_315_563_909_076_8,
        );
    }

    #[test]
    fn mixture_of_one_is_gaussian_ll() {
        let mean = [0.3, -1.2, 2.0];
        let var = [0.5, 2.0, 0.1];
        let y = [0.0, -1.0, 2.5];
        let means = Array2::from_shape_vec((1, 3), mean.to_vec()).unwrap();
        let vars = Array2::from_shape_vec((1, 3), var.to_vec()).unwrap();
        close(
            gaussian_mixture_ll(means.view(), vars.view(), &y),
            gaussian_ll(&mean, &var, &y),
        );
    }

    #[test]
    fn tiny_variances_stay_finite_with_log_sum_exp() {
        // Components N(0, 1e-6) and N(1, 1e-6) at y = 0.1: the log densities are
        // ℓ₁ = −½(ln 2π + ln 1e-6 + 0.01/1e-6) = −½(1.8378770664093453 − 13.815510557964274 + 1e4)
        //    = −4994.011183254223
        // ℓ₂ = −½(1.8378770664093453 − 13.815510557964274 + 0.81/1e-6) = −404994.0111832542
        // exp(ℓ₁) underflows to 0 in f64, so a naive log(mean(exp)) gives −∞; log-sum-exp gives
        // ℓ₁ + log(1 + e^(ℓ₂−ℓ₁)) − ln 2 = −4994.011183254223 − 0.6931471805599453
        //    = −4994.7043304347835
        assert_eq!((-4_994.011_183_254_223f64).exp(), 0.0);
        let means = array![[0.0], [1.0]];
        let vars = array![[1e-6], [1e-6]];
        let ll = gaussian_mixture_ll(means.view(), vars.view(), &[0.1]);
        assert!((ll - -4_994.704_330_434_783_5).abs() < 1e-9, "{ll}");
    }

    /// Φ of the standard normal, for checking quantiles.
    fn phi(x: f64) -> f64 {
        Normal::standard().cdf(x)
    }

    #[test]
    fn coverage_of_a_standard_normal_at_known_quantiles() {
        // Targets at the quantiles p = 0.01, 0.04, 0.06, 0.3, 0.5, 0.7, 0.94, 0.96, 0.99 of
        // N(0, 1). The central 90 % interval is [q(0.05), q(0.95)], which holds p = 0.06 … 0.94:
        // five of nine. The nearest targets are 0.01 in probability (≈ 0.1 σ) from the edges,
        // far beyond the bisection's accuracy.
        let std_normal = Normal::standard();
        let p = [0.01, 0.04, 0.06, 0.3, 0.5, 0.7, 0.94, 0.96, 0.99];
        let y: Vec<f64> = p.iter().map(|&p| std_normal.inverse_cdf(p)).collect();
        let means = Array2::zeros((1, y.len()));
        let vars = Array2::ones((1, y.len()));
        close(
            mixture_interval_coverage(means.view(), vars.view(), &y, 0.9),
            5.0 / 9.0,
        );
        // At level 0.95 ([q(0.025), q(0.975)]) 0.04 and 0.96 are inside too: seven of nine.
        close(
            mixture_interval_coverage(means.view(), vars.view(), &y, 0.95),
            7.0 / 9.0,
        );
        // Three equal components are the same predictive.
        let means = Array2::zeros((3, y.len()));
        let vars = Array2::ones((3, y.len()));
        close(
            mixture_interval_coverage(means.view(), vars.view(), &y, 0.9),
            5.0 / 9.0,
        );
    }

    #[test]
    fn interval_of_one_gaussian_is_its_quantiles() {
        // N(2, 9): 2 ± 3·1.6448536269514722 = (−2.9345608808544164, 6.934560880854416).
        let (lower, upper) = mixture_interval(array![[2.0]].view(), array![[9.0]].view(), 0.9)[0];
        assert!((lower - -2.934_560_880_854_416_4).abs() < 1e-12, "{lower}");
        assert!((upper - 6.934_560_880_854_416).abs() < 1e-12, "{upper}");
    }

    #[test]
    fn mixture_quantiles_hit_their_probabilities() {
        // N(−1, 0.25) and N(3, 4) at level 0.9: F(l) = 0.05 and F(u) = 0.95. The bisection
        // leaves x within 1e-10·max(|q|, 0.5) ≤ 1e-9 of the quantile and the mixture density is
        // below 0.4, so F is within 4e-10 of p; 1e-9 allows for that.
        let means = array![[-1.0], [3.0]];
        let vars = array![[0.25], [4.0]];
        let f = |x: f64| 0.5 * (phi((x + 1.0) / 0.5) + phi((x - 3.0) / 2.0));
        let (lower, upper) = mixture_interval(means.view(), vars.view(), 0.9)[0];
        assert!((f(lower) - 0.05).abs() < 1e-9, "F({lower}) = {}", f(lower));
        assert!((f(upper) - 0.95).abs() < 1e-9, "F({upper}) = {}", f(upper));
        assert!(lower > -1.0 - 0.5 * 1.65 && upper < 3.0 + 2.0 * 1.65);
    }

    #[test]
    fn coverage_of_a_nan_predictive_is_nan() {
        let means = array![[0.0, f64::NAN]];
        let vars = array![[1.0, 1.0]];
        assert!(mixture_interval_coverage(means.view(), vars.view(), &[0.0, 0.0], 0.9).is_nan());
    }

    #[test]
    #[should_panic(expected = "an interval level must be in (0, 1), got 1")]
    fn coverage_level_must_be_a_probability() {
        mixture_interval_coverage(array![[0.0]].view(), array![[1.0]].view(), &[0.0], 1.0);
    }
}
