//! Regression metrics: scores of a Gaussian or Gaussian-mixture predictive against real targets.

use ndarray::{ArrayView1, ArrayView2};
use statrs::distribution::{Continuous, ContinuousCDF, Normal};

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

/// 1/√π
const FRAC_1_SQRT_PI: f64 = std::f64::consts::FRAC_2_SQRT_PI / 2.0;

/// Continuous ranked probability score of Gaussian predictives, in closed form (Gneiting &
/// Raftery 2007): (1/n) Σ_i σ_i [z_i (2Φ(z_i) − 1) + 2φ(z_i) − 1/√π] with
/// z_i = (y_i − μ_i)/σ_i, where CRPS(F, y) = ∫ (F(x) − 1[x ≥ y])² dx. In the units of y; 0 only
/// for a point mass at y. Variances must be > 0. NaN without examples.
pub fn crps_gaussian(mean: &[f64], var: &[f64], target: &[f64]) -> f64 {
    assert_same_len(mean.len(), target.len(), "means");
    assert_same_len(var.len(), target.len(), "variances");
    let std_normal = Normal::standard();
    let total: f64 = mean
        .iter()
        .zip(var)
        .zip(target)
        .map(|((&m, &v), &y)| {
            let sd = v.sqrt();
            let z = (y - m) / sd;
            sd * (z * (2.0 * std_normal.cdf(z) - 1.0) + 2.0 * std_normal.pdf(z) - FRAC_1_SQRT_PI)
        })
        .sum();
    total / target.len() as f64
}

/// E|X| for X ~ N(μ, s²): s√(2/π) exp(−μ²/(2s²)) + μ(2Φ(μ/s) − 1), written with z = μ/s as
/// s·(2φ(z) + z(2Φ(z) − 1)).
fn expected_abs_normal(std_normal: &Normal, mu: f64, s: f64) -> f64 {
    let z = mu / s;
    s * (2.0 * std_normal.pdf(z) + z * (2.0 * std_normal.cdf(z) - 1.0))
}

/// Continuous ranked probability score of each example's equal mixture of N(μ_si, σ²_si), exact
/// (Grimit et al. 2006, from CRPS(F, y) = E|X − y| − ½ E|X − X'| of Gneiting & Raftery 2007):
/// (1/n) Σ_i [Σ_s w E|X_s − y_i| − ½ Σ_s Σ_t w² E|X_s − X_t|], w = 1/S, where
/// X_s − y ~ N(μ_s − y, σ_s²), X_s − X_t ~ N(μ_s − μ_t, σ_s² + σ_t²) and
/// E|N(μ, s²)| = s√(2/π) exp(−μ²/(2s²)) + μ(2Φ(μ/s) − 1).
///
/// `means` and `vars` are S×n as in [`gaussian_mixture_ll`]; variances must be > 0. S = 1 is
/// [`crps_gaussian`] up to rounding; S equal components give exactly the value of one. The pair
/// term costs O(S²) per example (each pair once, by symmetry).
pub fn crps_mixture(means: ArrayView2<f64>, vars: ArrayView2<f64>, target: &[f64]) -> f64 {
    check_mixture(means, vars);
    let (components, n) = means.dim();
    assert_same_len(n, target.len(), "mixture columns");
    let std_normal = Normal::standard();
    let mut total = 0.0;
    for ((mu, var), &y) in means.columns().into_iter().zip(vars.columns()).zip(target) {
        // Both expectations are running (weighted) means, so S equal components give exactly
        // the value of one: each pair (s, t), t > s, stands for itself and (t, s), weight 2.
        let mut to_target = 0.0;
        let mut between = 0.0;
        let mut pairs = 0.0;
        for s in 0..components {
            let e = expected_abs_normal(&std_normal, mu[s] - y, var[s].sqrt());
            to_target += (e - to_target) / (s + 1) as f64;
            for t in s..components {
                let w = if t == s { 1.0 } else { 2.0 };
                pairs += w;
                let e = expected_abs_normal(&std_normal, mu[s] - mu[t], (var[s] + var[t]).sqrt());
                between += w * (e - between) / pairs;
            }
        }
        total += to_target - 0.5 * between;
    }
    total / n as f64
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

    #[test]
    fn crps_of_a_standard_normal_at_its_mean() {
        // z = 0: σ[0 + 2φ(0) − 1/√π] = 2/√(2π) − 1/√π = (√2 − 1)/√π = 0.23369497725510915
        let want = (2f64.sqrt() - 1.0) / std::f64::consts::PI.sqrt();
        close(want, 0.233_694_977_255_109_15);
        close(crps_gaussian(&[0.0], &[1.0], &[0.0]), want);
        // CRPS is in the units of y: N(3, 4) at y = 3 scores 2·(√2 − 1)/√π.
        close(crps_gaussian(&[3.0], &[4.0], &[3.0]), 2.0 * want);
        close(
            crps_mixture(array![[0.0]].view(), array![[1.0]].view(), &[0.0]),
            want,
        );
    }

    #[test]
    fn crps_gaussian_by_hand_far_from_the_mean() {
        // N(0, 1) at y = 2: z = 2, Φ(2) = 0.9772498680518208, φ(2) = 0.05399096651318806:
        // 2·(2·0.9772498680518208 − 1) + 2·0.05399096651318806 − 0.5641895835477563
        //   = 1.9089994722072832 + 0.10798193302637613 − 0.5641895835477563
        //   = 1.4527918216859033
        // statrs' Φ(2) is 0.9772498680528374, 1.0e-12 above the correctly rounded value, which
        // moves the score by 2·z·1.0e-12 ≈ 4e-12: hence 1e-11 here rather than 1e-12.
        let crps = crps_gaussian(&[0.0], &[1.0], &[2.0]);
        assert!((crps - 1.452_791_821_685_903_3).abs() < 1e-11, "{crps}");
    }

    #[test]
    fn crps_mixture_of_one_is_the_gaussian_closed_form() {
        let mean = [0.3, -1.2, 2.0];
        let var = [0.5, 2.0, 0.1];
        let y = [0.0, -1.0, 2.5];
        let means = Array2::from_shape_vec((1, 3), mean.to_vec()).unwrap();
        let vars = Array2::from_shape_vec((1, 3), var.to_vec()).unwrap();
        close(
            crps_mixture(means.view(), vars.view(), &y),
            crps_gaussian(&mean, &var, &y),
        );
        // Two equal components are the same predictive.
        let means = Array2::from_shape_vec((2, 3), [mean, mean].concat()).unwrap();
        let vars = Array2::from_shape_vec((2, 3), [var, var].concat()).unwrap();
        close(
            crps_mixture(means.view(), vars.view(), &y),
            crps_gaussian(&mean, &var, &y),
        );
    }

    /// Composite Simpson's rule of f over [a, b] with `intervals` (even) subintervals.
    fn simpson(f: impl Fn(f64) -> f64, a: f64, b: f64, intervals: usize) -> f64 {
        let h = (b - a) / intervals as f64;
        let inner: f64 = (1..intervals)
            .map(|i| f(a + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 })
            .sum();
        (f(a) + f(b) + inner) * h / 3.0
    }

    #[test]
    fn crps_mixture_matches_the_integral_of_its_definition() {
        // N(−1, 0.5) and N(2, 1.5) at y = 0.3: CRPS = ∫ (F(x) − 1[x ≥ y])² dx, integrated on
        // [−20, y] and [y, 20] separately, the integrand being smooth on each side of its jump at
        // y. Beyond ±20 it is below (½Φ(−18/√1.5))² ≈ 3e-98. Simpson's error with h ≈ 1e-3 is
        // about h⁴·L·max|f⁗|/180 ≈ 1e-12·20·10/180 ≈ 1e-12, and statrs' Φ is good to about
        // 1e-12 (not 1e-16), at most 4e-11 over the length 40; 1e-10 covers both. Dropping the
        // diagonal or doubling of the pair term moves the exact value by more than 0.1.
        let y = 0.3;
        let f = |x: f64| 0.5 * (phi((x + 1.0) / 0.5f64.sqrt()) + phi((x - 2.0) / 1.5f64.sqrt()));
        let below = simpson(|x| f(x).powi(2), -20.0, y, 20_000);
        let above = simpson(|x| (1.0 - f(x)).powi(2), y, 20.0, 20_000);
        let numeric = below + above;
        let exact = crps_mixture(
            array![[-1.0], [2.0]].view(),
            array![[0.5], [1.5]].view(),
            &[y],
        );
        assert!(
            (exact - numeric).abs() < 1e-10,
            "exact {exact}, numeric {numeric}"
        );
        // The mixture is not the Gaussian of its moments: mean 0.5, variance 1 + 2.25 = 3.25.
        let moment_matched = crps_gaussian(&[0.5], &[3.25], &[y]);
        assert!(
            (exact - moment_matched).abs() > 1e-3,
            "{exact} vs {moment_matched}"
        );
    }

    #[test]
    fn crps_mixture_averages_over_examples() {
        let means = array![[0.0, 1.0], [2.0, -1.0]];
        let vars = array![[1.0, 0.3], [0.5, 2.0]];
        let y = [0.4, 0.0];
        let first = crps_mixture(
            array![[0.0], [2.0]].view(),
            array![[1.0], [0.5]].view(),
            &y[..1],
        );
        let second = crps_mixture(
            array![[1.0], [-1.0]].view(),
            array![[0.3], [2.0]].view(),
            &y[1..],
        );
        close(
            crps_mixture(means.view(), vars.view(), &y),
            (first + second) / 2.0,
        );
    }
}
