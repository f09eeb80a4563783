//! Special functions of the standard normal used by the acquisitions: φ, Φ, log Φ, the scaled
//! complementary error function erfcx and the log-h function of log-EI.
//!
//! Everything here is accurate in the far lower tail (z ≈ −40 and below), where the naive formulas
//! underflow to 0 and their logarithms to −∞.

use std::f64::consts::{FRAC_1_SQRT_2, PI};

/// ln(2π)/2.
const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;
/// ln(π/2)/2.
const HALF_LN_HALF_PI: f64 = 0.225_791_352_644_727_4;

/// Standard normal density φ(z) = exp(−z²/2)/√(2π).
pub fn norm_pdf(z: f64) -> f64 {
    (-0.5 * z * z - HALF_LN_2PI).exp()
}

/// Standard normal distribution function Φ(z) = erfc(−z/√2)/2.
pub fn norm_cdf(z: f64) -> f64 {
    0.5 * erfc(-z * FRAC_1_SQRT_2)
}

/// ln Φ(z), accurate for every finite z: for z < −5 through
/// ln Φ(z) = ln(erfcx(−z/√2)/2) − z²/2, which never underflows; for z > 0 through
/// ln(1 − Φ(−z)) = ln1p(−Φ(−z)).
pub fn log_norm_cdf(z: f64) -> f64 {
    if z < -5.0 {
        (0.5 * erfcx(-z * FRAC_1_SQRT_2)).ln() - 0.5 * z * z
    } else if z > 0.0 {
        (-norm_cdf(-z)).ln_1p()
    } else {
        norm_cdf(z).ln()
    }
}

/// The complementary error function, erfc(x) = erfcx(x)·exp(−x²) for x ≥ 0 and 2 − erfc(−x)
/// below (relative error about 1e-15 over the range where it does not underflow).
pub fn erfc(x: f64) -> f64 {
    if x < 0.0 {
        2.0 - erfc(-x)
    } else {
        erfcx(x) * (-x * x).exp()
    }
}

/// The scaled complementary error function erfcx(x) = exp(x²)·erfc(x), to about 1e-15
/// relative error (checked against 40-digit values):
/// - 0 ≤ x < 1: exp(x²) − (2/√π)·Σₙ 2ⁿ x²ⁿ⁺¹/(2n + 1)!!, the series of exp(x²)·erf(x)·√π/2, whose
///   terms are all positive;
/// - x ≥ 1: the Laplace continued fraction
///   erfcx(x) = 1/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …))))), evaluated bottom-up
///   from a depth (200 to 30 levels, fewer as x grows) at which it has converged;
/// - x < 0: 2·exp(x²) − erfcx(−x).
pub fn erfcx(x: f64) -> f64 {
    if x < 0.0 {
        return 2.0 * (x * x).exp() - erfcx(-x);
    }
    if x < 1.0 {
        let x2 = x * x;
        let (mut term, mut sum, mut n) = (x, x, 0.0);
        while term > 1e-17 * sum {
            n += 1.0;
            term *= 2.0 * x2 / (2.0 * n + 1.0);
            sum += term;
        }
        return x2.exp() - 2.0 / PI.sqrt() * sum;
    }
    let depth = if x < 1.5 {
        200
    } else if x < 2.5 {
        100
    } else if x < 4.0 {
        50
    } else {
        30
    };
    let mut t = x;
    for k in (1..=depth).rev() {
        t = x + 0.5 * f64::from(k) / t;
    }
    1.0 / (PI.sqrt() * t)
}

/// ln(1 − eˣ) for x < 0 (Mächler 2012): ln(−expm1(x)) for x > −ln 2, else ln1p(−eˣ).
pub fn log1mexp(x: f64) -> f64 {
    if x > -std::f64::consts::LN_2 {
        (-x.exp_m1()).ln()
    } else {
        (-x.exp()).ln_1p()
    }
}

/// h(z) = φ(z) + z·Φ(z), the expected improvement of a unit normal over a threshold at
/// standardised distance z (EI = σ·h(z)). Underflows to 0 for z ≲ −38.
pub fn h(z: f64) -> f64 {
    norm_pdf(z) + z * norm_cdf(z)
}

/// ln h(z), computed as in Ament et al. (2023, "Unexpected Improvements to Expected Improvement
/// for Bayesian Optimization", NeurIPS, eq. 9):
/// - z > −1: ln(φ(z) + zΦ(z)) directly;
/// - −1/√ε < z ≤ −1: −z²/2 − ln(2π)/2 + log1mexp(ln(erfcx(−z/√2)·|z|) + ln(π/2)/2);
/// - z ≤ −1/√ε: −z²/2 − ln(2π)/2 − 2 ln|z| (the asymptote h(z) ≈ φ(z)/z²).
pub fn log_h(z: f64) -> f64 {
    if z > -1.0 {
        h(z).ln()
    } else if z > -1.0 / f64::EPSILON.sqrt() {
        -0.5 * z * z - HALF_LN_2PI
            + log1mexp((erfcx(-z * FRAC_1_SQRT_2) * z.abs()).ln() + HALF_LN_HALF_PI)
    } else {
        -0.5 * z * z - HALF_LN_2PI - 2.0 * z.abs().ln()
    }
}

/// d ln h(z)/dz = Φ(z)/h(z) (because h′ = Φ), computed as exp(ln Φ(z) − ln h(z)) so that it stays
/// finite where both underflow (it tends to |z| as z → −∞).
pub fn d_log_h(z: f64) -> f64 {
    if z > -1.0 {
        norm_cdf(z) / h(z)
    } else {
        (log_norm_cdf(z) - log_h(z)).exp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erfcx_matches_40_digit_values() {
        // exp(x²)·erfc(x) from mpmath at 40 digits, rounded to f64.
        let table = [
            (0.0, 1.0),
            (0.3, 0.7345993345676551),
            (1.0, 0.427583576155807),
            (1.7, 0.29166329707534344),
            (3.0, 0.17900115118138996),
            (10.0, 0.05614099274382259),
            (30.0, 0.01879588886141675),
        ];
        for (x, want) in table {
            assert!(
                (erfcx(x) / want - 1.0).abs() < 2e-15,
                "erfcx({x}) = {}",
                erfcx(x)
            );
        }
        // erfc(1) = 0.15729920705028513 and erfc(−1) = 2 − erfc(1).
        assert!((erfc(1.0) / 0.15729920705028513 - 1.0).abs() < 2e-15);
        assert!((erfc(-1.0) - (2.0 - 0.15729920705028513)).abs() < 1e-15);
    }

    #[test]
    fn log_norm_cdf_tail() {
        // ln Φ(−40) = −804.6084420137538 (mpmath, 40 digits).
        assert!((log_norm_cdf(-40.0) + 804.6084420137538).abs() < 1e-12);
        // Φ(−5) = 2.8665157187919391167e-7.
        assert!((log_norm_cdf(-5.0) - 2.866_515_718_791_939e-7f64.ln()).abs() < 1e-14);
        assert!((log_norm_cdf(-2.0) - norm_cdf(-2.0).ln()).abs() < 1e-14);
        assert!((log_norm_cdf(3.0) - norm_cdf(3.0).ln()).abs() < 1e-15);
    }
}
