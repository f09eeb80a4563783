//! Regression metrics: scores of a Gaussian or Gaussian-mixture predictive against real targets.

use ndarray::ArrayView2;

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
    assert_eq!(
        means.dim(),
        vars.dim(),
        "means and variances must have the same shape (samples × examples)"
    );
    let (s, n) = means.dim();
    assert!(s >= 1, "a mixture needs at least one component, got 0 rows");
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
}
