//! Weight initialisation (formulas and papers on [`Init`]).

use super::{Init, Real};
use crate::rng::Rng;
use rand::RngExt;
use rand_distr::StandardNormal;

/// Fills `weights` (a `fan_in × fan_out` matrix) with draws from the `init` distribution.
///
/// Xavier: `U[−a, a]` with `a = √(6 / (fan_in + fan_out))`; He: `N(0, 2 / fan_in)`. Draws are made
/// in f64 and rounded, so the f32 and f64 builds of a network start from the same values (up to
/// rounding).
pub fn fill_weights<T: Real>(
    weights: &mut [T],
    init: Init,
    fan_in: usize,
    fan_out: usize,
    rng: &mut Rng,
) {
    match init {
        Init::Xavier => {
            let a = (6.0 / (fan_in + fan_out).max(1) as f64).sqrt();
            for w in weights {
                let u: f64 = rng.random();
                *w = T::from_f(a * (2.0 * u - 1.0));
            }
        }
        Init::He => {
            let std = (2.0 / fan_in.max(1) as f64).sqrt();
            for w in weights {
                let z: f64 = rng.sample(StandardNormal);
                *w = T::from_f(std * z);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::rng_from_seed;

    /// Sample mean and variance.
    fn moments(x: &[f32]) -> (f64, f64) {
        let n = x.len() as f64;
        let mean = x.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let var = x
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / (n - 1.0);
        (mean, var)
    }

    #[test]
    fn xavier_is_uniform_with_variance_two_over_fan_sum() {
        let (fan_in, fan_out) = (300, 100);
        let mut w = vec![0.0f32; fan_in * fan_out];
        fill_weights(&mut w, Init::Xavier, fan_in, fan_out, &mut rng_from_seed(1));
        let var = 2.0 / 400.0;
        let a = (6.0f64 / 400.0).sqrt();
        let (mean, v) = moments(&w);
        let n = w.len() as f64;
        // Tolerances are 5 standard errors. For U[−a, a]: sd(mean) = √(var/n); the sample variance
        // has sd ≈ var·√((κ − 1)/n) with kurtosis κ = 9/5, i.e. var·√(0.8/n).
        assert!(mean.abs() < 5.0 * (var / n).sqrt(), "mean {mean}");
        assert!(
            (v - var).abs() < 5.0 * var * (0.8 / n).sqrt(),
            "var {v} vs {var}"
        );
        // Support is exactly [−a, a], and the bounds are approached.
        let max = w.iter().fold(0.0f64, |m, &x| m.max(f64::from(x).abs()));
        assert!(max <= a && max > 0.999 * a, "max {max}, a {a}");
    }

    #[test]
    fn he_is_normal_with_variance_two_over_fan_in() {
        let (fan_in, fan_out) = (200, 150);
        let mut w = vec![0.0f32; fan_in * fan_out];
        fill_weights(&mut w, Init::He, fan_in, fan_out, &mut rng_from_seed(2));
        let var = 2.0 / 200.0;
        let (mean, v) = moments(&w);
        let n = w.len() as f64;
        // 5 standard errors: sd(mean) = √(var/n); for a normal, sd(sample var) = var·√(2/(n−1)).
        assert!(mean.abs() < 5.0 * (var / n).sqrt(), "mean {mean}");
        assert!(
            (v - var).abs() < 5.0 * var * (2.0 / (n - 1.0)).sqrt(),
            "var {v} vs {var}"
        );
        // Normal, not uniform: excess kurtosis ≈ 0 (uniform would give −1.2); sd ≈ √(24/n).
        let m4 = w
            .iter()
            .map(|&x| (f64::from(x) - mean).powi(4))
            .sum::<f64>()
            / n;
        let excess = m4 / (v * v) - 3.0;
        assert!(
            excess.abs() < 5.0 * (24.0 / n).sqrt(),
            "excess kurtosis {excess}"
        );
    }
}
