//! Acquisition functions for minimisation, as functions of the GP posterior (μ, σ) at a point and
//! the best observed value f⁺ (all on the GP's standardised scale), with their partial derivatives
//! in μ and σ for gradient-based maximisation. Larger is better for every acquisition.
//!
//! With z = (f⁺ − μ)/σ, φ and Φ the standard normal density and distribution function and
//! h(z) = φ(z) + zΦ(z):
//! - `ei`: expected improvement EI = E[max(f⁺ − f, 0)] = σ·h(z) (Jones, Schonlau & Welch 1998);
//! - `log_ei`: ln EI = ln σ + ln h(z), with ln h computed stably far in the tail (Ament et al.
//!   2023, "Unexpected Improvements to Expected Improvement"), so that points whose improvement
//!   underflows EI to 0 are still ranked and have gradients;
//! - `pi`: probability of improvement PI = Φ(z) (Kushner 1964);
//! - `ucb`: the lower confidence bound, negated so that larger is better,
//!   −LCB = −(μ − √β·σ) (Srinivas et al. 2010, with a constant β).

use serde::{Deserialize, Serialize};

use super::special::{d_log_h, h, log_h, norm_cdf, norm_pdf};

fn default_beta() -> f64 {
    2.0
}

/// Which acquisition the Bayesian optimiser maximises.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Acquisition {
    Ei,
    #[default]
    LogEi,
    Pi,
    Ucb {
        #[serde(default = "default_beta")]
        beta: f64,
    },
}

impl Acquisition {
    /// The acquisition value at posterior mean `mu`, standard deviation `sigma` > 0 and best value
    /// `f_best`.
    pub fn value(&self, mu: f64, sigma: f64, f_best: f64) -> f64 {
        let z = (f_best - mu) / sigma;
        match self {
            Acquisition::Ei => sigma * h(z),
            Acquisition::LogEi => sigma.ln() + log_h(z),
            Acquisition::Pi => norm_cdf(z),
            Acquisition::Ucb { beta } => beta.sqrt() * sigma - mu,
        }
    }

    /// (a, ∂a/∂μ, ∂a/∂σ). With h′ = Φ:
    /// EI: ∂/∂μ = −Φ(z), ∂/∂σ = φ(z); log-EI: ∂/∂μ = −(Φ/h)(z)/σ, ∂/∂σ = (1 − z(Φ/h)(z))/σ;
    /// PI: ∂/∂μ = −φ(z)/σ, ∂/∂σ = −zφ(z)/σ; UCB: −1 and √β.
    pub fn value_partials(&self, mu: f64, sigma: f64, f_best: f64) -> (f64, f64, f64) {
        let z = (f_best - mu) / sigma;
        match self {
            Acquisition::Ei => (sigma * h(z), -norm_cdf(z), norm_pdf(z)),
            Acquisition::LogEi => {
                let r = d_log_h(z);
                (sigma.ln() + log_h(z), -r / sigma, (1.0 - z * r) / sigma)
            }
            Acquisition::Pi => {
                let p = norm_pdf(z);
                (norm_cdf(z), -p / sigma, -z * p / sigma)
            }
            Acquisition::Ucb { beta } => (beta.sqrt() * sigma - mu, -1.0, beta.sqrt()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_match_the_formulas() {
        // μ = 0.3, σ = 0.5, f⁺ = 0.1 ⇒ z = −0.4.
        // φ(−0.4) = 0.36827014030332333, Φ(−0.4) = 0.3445782583896758 (tables).
        let (mu, s, fb) = (0.3, 0.5, 0.1);
        let (phi, cdf) = (0.368_270_140_303_323_33, 0.344_578_258_389_675_8);
        let ei = s * (phi - 0.4 * cdf);
        assert!((Acquisition::Ei.value(mu, s, fb) - ei).abs() < 1e-15);
        assert!((Acquisition::LogEi.value(mu, s, fb) - ei.ln()).abs() < 1e-13);
        assert!((Acquisition::Pi.value(mu, s, fb) - cdf).abs() < 1e-15);
        assert!(
            (Acquisition::Ucb { beta: 4.0 }.value(mu, s, fb) - (2.0 * 0.5 - 0.3)).abs() < 1e-15
        );
        // ln h(−3) = −7.869686059603029, ln h(−1) = −2.4851210257126413 (mpmath); both
        // branches of log-h agree with the direct formula around the switch at z = −1.
        assert!((log_h(-3.0) + 7.869686059603029).abs() < 1e-13);
        assert!((log_h(-1.0) + 2.4851210257126413).abs() < 1e-13);
        for z in [3.0, -3.0, -1.0 - 1e-9, -0.999_999] {
            let direct = (norm_pdf(z) + z * norm_cdf(z)).ln();
            assert!((log_h(z) - direct).abs() < 1e-10, "z = {z}");
        }
    }

    #[test]
    fn log_ei_survives_where_ei_underflows() {
        // z = −40: φ(−40) = e^{−800.92} underflows, so naive EI is exactly 0 and ln EI = −∞.
        // ln h(−40) = −808.29856835662 (mpmath, 40 digits); the asymptotic series
        // h(z) = φ(z)(1/z² − 3/z⁴ + 15/z⁶ − 105/z⁸ + …) agrees to 1e-10.
        let (mu, s, fb) = (40.0, 1.0, 0.0);
        assert_eq!(Acquisition::Ei.value(mu, s, fb), 0.0);
        let want = -808.29856835662;
        let got = Acquisition::LogEi.value(mu, s, fb);
        assert!((got - want).abs() < 1e-11, "{got} vs {want}");
        let z: f64 = -40.0;
        let series = -0.5 * z * z - 0.5 * (2.0 * std::f64::consts::PI).ln()
            + (1.0 / z.powi(2) - 3.0 / z.powi(4) + 15.0 / z.powi(6) - 105.0 / z.powi(8)).ln();
        assert!((got - series).abs() < 1e-9);
        // Moderate tail, where EI is still representable: ln h(−5) = −16.74430116266099,
        // ln h(−12) = −77.909100545007348277.
        assert!((log_h(-5.0) + 16.74430116266099).abs() < 1e-12);
        assert!((log_h(-12.0) + 77.90910054500735).abs() < 1e-11);
        assert!((Acquisition::Ei.value(5.0, 1.0, 0.0).ln() + 16.74430116266099).abs() < 1e-9);
        // σ scales EI: ln EI(μ, σ) = ln σ + ln h((f⁺ − μ)/σ).
        let got2 = Acquisition::LogEi.value(80.0, 2.0, 0.0);
        assert!((got2 - (2f64.ln() + want)).abs() < 1e-9);
        // Beyond 1/√ε the asymptote −z²/2 − ln(2π)/2 − 2 ln|z| is used; it is continuous there.
        let zc = -1.0 / f64::EPSILON.sqrt();
        let (a, b) = (log_h(zc * (1.0 - 1e-12)), log_h(zc * (1.0 + 1e-12)));
        assert!(((a - b) / a).abs() < 1e-9);
        // PI in the same regime is tiny but representable through its log, and its gradient in
        // μ has the analytic sign.
        let (_, dmu, dsig) = Acquisition::LogEi.value_partials(mu, s, fb);
        // d ln h/dz → |z| (1 + O(1/z²)): ∂/∂μ ≈ −40, ∂/∂σ ≈ (1 − z·40) ≈ 1601.
        assert!(
            (dmu + 40.0).abs() < 0.2 && (dsig - 1601.0).abs() < 10.0,
            "{dmu} {dsig}"
        );
    }

    #[test]
    fn partials_match_finite_differences() {
        for acq in [
            Acquisition::Ei,
            Acquisition::LogEi,
            Acquisition::Pi,
            Acquisition::Ucb { beta: 2.0 },
        ] {
            for (mu, s) in [(0.2, 0.3), (2.0, 0.1), (-0.5, 1.2), (6.0, 0.2)] {
                let (_, dmu, ds) = acq.value_partials(mu, s, 0.0);
                let h = 1e-6;
                let fmu = (acq.value(mu + h, s, 0.0) - acq.value(mu - h, s, 0.0)) / (2.0 * h);
                let fs = (acq.value(mu, s + h, 0.0) - acq.value(mu, s - h, 0.0)) / (2.0 * h);
                assert!(
                    (fmu - dmu).abs() < 1e-6 * (1.0 + dmu.abs()),
                    "{acq:?} μ {mu} σ {s}"
                );
                assert!(
                    (fs - ds).abs() < 1e-6 * (1.0 + ds.abs()),
                    "{acq:?} μ {mu} σ {s}"
                );
            }
        }
    }
}
