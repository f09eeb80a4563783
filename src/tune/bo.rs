//! One Bayesian-optimisation proposal: maximise an acquisition of a fitted GP over a box of the
//! unit cube (the whole cube, or a local trust region).
//!
//! Method (in the spirit of BoTorch's `optimize_acqf` and Optuna's GPSampler): score a set of raw
//! candidates — a randomly shifted Sobol set plus Gaussian perturbations of the best observed
//! points at two scales (σ_d = 0.1·ℓ_d and 0.01·ℓ_d, clamped to [1e-4, 0.2], ℓ the GP lengthscales)
//! — then polish the best few by bounded L-BFGS with the analytic gradient
//! ∂a/∂x = ∂a/∂μ·∂μ/∂x + ∂a/∂σ·∂σ²/∂x/(2σ), and return the best polished point. Defaults
//! ([`AcqSearch`]): 1024 Sobol candidates, 32 perturbations per scale of the 3 best points, 4
//! polished starts of at most 60 iterations.

use rand::RngExt;
use rand_distr::StandardNormal;

use super::acquisition::Acquisition;
use super::design::{SOBOL_MAX_DIM, Sobol};
use super::gp::{Gp, PredictWorkspace};
use super::lbfgs::{LbfgsOptions, LbfgsWorkspace, minimize_box};
use crate::rng::Rng;

/// Sizes of the acquisition search.
#[derive(Clone, Copy, Debug)]
pub struct AcqSearch {
    /// Sobol raw candidates.
    pub candidates: usize,
    /// Perturbations per incumbent per scale.
    pub perturbations: usize,
    /// Best observed points perturbed.
    pub incumbents: usize,
    /// Candidates polished by L-BFGS.
    pub restarts: usize,
    pub max_iter: usize,
}

impl Default for AcqSearch {
    fn default() -> Self {
        Self {
            candidates: 1024,
            perturbations: 32,
            incumbents: 3,
            restarts: 4,
            max_iter: 60,
        }
    }
}

/// Reusable state of the acquisition search.
#[derive(Default)]
pub struct AcqWorkspace {
    pred: PredictWorkspace,
    dmu: Vec<f64>,
    dvar: Vec<f64>,
    lbfgs: LbfgsWorkspace,
    cand: Vec<f64>,
    scores: Vec<(f64, usize)>,
}

/// Acquisition value at `x` (standardised scale).
pub fn acq_value(
    gp: &Gp,
    acq: &Acquisition,
    f_best: f64,
    x: &[f64],
    ws: &mut PredictWorkspace,
) -> f64 {
    let (mu, var) = gp.predict(x, ws);
    acq.value(mu, var.sqrt(), f_best)
}

/// A region of the unit cube given by its indicator.
pub type Region<'a> = &'a dyn Fn(&[f64]) -> bool;

/// What to maximise: an acquisition of a GP posterior relative to the best value `f_best`
/// (standardised scale), over a box of the unit cube (the whole cube when `bounds` is `None`),
/// optionally restricted to a region.
pub struct AcqProblem<'a> {
    pub gp: &'a Gp,
    pub acq: &'a Acquisition,
    pub f_best: f64,
    pub feasible: Option<Region<'a>>,
    /// (lower, upper) corners of the box.
    pub bounds: Option<(&'a [f64], &'a [f64])>,
}

/// Maximises the acquisition of `problem` over its box (within its region if any);
/// `incumbents` are observed points, best first. Returns the maximiser and its acquisition value.
pub fn maximize(
    problem: &AcqProblem,
    incumbents: &[&[f64]],
    search: &AcqSearch,
    rng: &mut Rng,
    ws: &mut AcqWorkspace,
) -> (Vec<f64>, f64) {
    let AcqProblem {
        gp,
        acq,
        f_best,
        feasible,
        bounds,
    } = *problem;
    let allowed = |x: &[f64]| feasible.is_none_or(|f| f(x));
    let dim = gp.dim;
    let ls = gp.lengthscales();
    let (lo, hi) = match bounds {
        Some((lo, hi)) => (lo.to_vec(), hi.to_vec()),
        None => (vec![0.0; dim], vec![1.0; dim]),
    };
    ws.dmu.resize(dim, 0.0);
    ws.dvar.resize(dim, 0.0);
    ws.cand.clear();
    let sob_dim = dim.min(SOBOL_MAX_DIM);
    let sobol = Sobol::new(sob_dim, Some(rng));
    let mut p = vec![0.0; dim];
    for i in 0..search.candidates {
        sobol.point(i as u64, &mut p[..sob_dim]);
        for v in &mut p[sob_dim..] {
            *v = rng.random::<f64>();
        }
        for d in 0..dim {
            p[d] = lo[d] + (hi[d] - lo[d]) * p[d];
        }
        ws.cand.extend_from_slice(&p);
    }
    for inc in incumbents.iter().take(search.incumbents) {
        for scale in [0.1, 0.01] {
            for _ in 0..search.perturbations {
                for d in 0..dim {
                    let sd = (scale * ls[d]).clamp(1e-4, 0.2);
                    let z: f64 = rng.sample(StandardNormal);
                    p[d] = (inc[d] + sd * z).clamp(lo[d], hi[d]);
                }
                ws.cand.extend_from_slice(&p);
            }
        }
    }
    let n_cand = ws.cand.len() / dim;
    ws.scores.clear();
    for i in 0..n_cand {
        let c = &ws.cand[i * dim..(i + 1) * dim];
        let v = if allowed(c) {
            acq_value(gp, acq, f_best, c, &mut ws.pred)
        } else {
            f64::NEG_INFINITY
        };
        ws.scores
            .push((if v.is_nan() { f64::NEG_INFINITY } else { v }, i));
    }
    // Largest first; ties by index keep it deterministic.
    ws.scores
        .sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let opts = LbfgsOptions {
        max_iter: search.max_iter,
        gtol: 1e-7,
        ftol: 1e-12,
        first_step: 0.05,
        memory: 6,
    };
    let mut best = (
        ws.cand[ws.scores[0].1 * dim..(ws.scores[0].1 + 1) * dim].to_vec(),
        ws.scores[0].0,
    );
    let AcqWorkspace {
        pred,
        dmu,
        dvar,
        lbfgs,
        cand,
        scores,
    } = ws;
    for &(_, idx) in scores.iter().take(search.restarts) {
        let mut x = cand[idx * dim..(idx + 1) * dim].to_vec();
        let objective = |x: &[f64], g: &mut [f64]| -> f64 {
            let (mu, var) = gp.predict_grad(x, pred, dmu, dvar);
            let s = var.sqrt();
            let (a, da_dmu, da_ds) = acq.value_partials(mu, s, f_best);
            for d in 0..dim {
                g[d] = -(da_dmu * dmu[d] + da_ds * dvar[d] / (2.0 * s));
            }
            if a.is_finite() { -a } else { f64::INFINITY }
        };
        let (v, _) = minimize_box(objective, &mut x, &lo, &hi, &opts, lbfgs);
        if -v > best.1 && allowed(&x) {
            best = (x, -v);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::rng_from_seed;
    use crate::tune::gp::FitOptions;

    #[test]
    fn acquisition_gradient_matches_finite_differences() {
        let mut rng = rng_from_seed(2);
        let (n, dim) = (15, 3);
        let x: Vec<f64> = (0..n * dim).map(|_| rng.random::<f64>()).collect();
        let y: Vec<f64> = (0..n)
            .map(|i| (5.0 * x[i * dim]).sin() + x[i * dim + 1] - x[i * dim + 2].powi(2))
            .collect();
        let gp = Gp::fit(&x, &y, dim, None, &FitOptions::default(), &mut rng);
        let f_best = gp
            .y_standardised()
            .iter()
            .cloned()
            .fold(f64::INFINITY, f64::min);
        let mut pred = PredictWorkspace::default();
        let (mut dmu, mut dvar) = (vec![0.0; dim], vec![0.0; dim]);
        for acq in [
            Acquisition::Ei,
            Acquisition::LogEi,
            Acquisition::Pi,
            Acquisition::Ucb { beta: 2.0 },
        ] {
            let xq = [0.31, 0.77, 0.52];
            let (mu, var) = gp.predict_grad(&xq, &mut pred, &mut dmu, &mut dvar);
            let s = var.sqrt();
            let (_, a_mu, a_s) = acq.value_partials(mu, s, f_best);
            for d in 0..dim {
                let g = a_mu * dmu[d] + a_s * dvar[d] / (2.0 * s);
                let h = 1e-6;
                let mut p = xq;
                p[d] += h;
                let fp = acq_value(&gp, &acq, f_best, &p, &mut pred);
                p[d] -= 2.0 * h;
                let fm = acq_value(&gp, &acq, f_best, &p, &mut pred);
                let fd = (fp - fm) / (2.0 * h);
                assert!(
                    (fd - g).abs() < 1e-5 * (1.0 + g.abs()),
                    "{acq:?} d{d}: {fd} vs {g}"
                );
            }
        }
    }
}
