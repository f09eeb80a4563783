//! Gaussian-process regression for Bayesian optimisation: a Matérn-5/2 ARD kernel, a zero mean on
//! standardised outputs, a learned noise, and type-II maximum a posteriori hyperparameters. It
//! knows nothing of acquisitions or search spaces: inputs are points of the unit cube.
//!
//! Model (Rasmussen & Williams 2006, ch. 2, 4, 5):
//! - outputs are standardised each fit, ỹ = (y − ȳ)/s_y, and modelled as ỹ = m + f(x) + ε with
//!   f ~ GP(0, k), ε ~ N(0, σₙ²) and a constant mean m profiled out at its generalised-least-squares
//!   value m̂ = 1ᵀK⁻¹ỹ / 1ᵀK⁻¹1 (R&W §2.7). Unlike the plain mean ȳ, m̂ down-weights clusters of
//!   correlated points, so the many evaluations a search spends near its incumbent do not make
//!   unexplored regions look as good as the incumbent's neighbourhood;
//! - k(x, x′) = σ_f² (1 + √5 r + 5r²/3) exp(−√5 r), r² = Σ_d (x_d − x′_d)²/ℓ_d² (Matérn ν = 5/2, ARD);
//! - θ = (ln ℓ₁, …, ln ℓ_D, ln σ_f², ln σₙ²) maximises ln p(ỹ | θ, m̂(θ)) + ln p(θ) with
//!   ln p(ỹ | θ, m) = −½ rᵀK⁻¹r − ½ ln|K| − (n/2) ln 2π, r = ỹ − m1, K = k(X, X) + σₙ² I,
//!   and gradient ∂/∂θⱼ = ½ tr((ααᵀ − K⁻¹) ∂K/∂θⱼ), α = K⁻¹r (R&W eq. 5.9; m̂ maximises the
//!   likelihood for each θ, so its own dependence on θ does not enter the gradient), where
//!   ∂k/∂ln ℓ_d = σ_f² (5/3)(1 + √5 r) exp(−√5 r) (x_d − x′_d)²/ℓ_d², ∂K/∂ln σ_f² = K − σₙ²I,
//!   ∂K/∂ln σₙ² = σₙ² I;
//! - weak priors, in the spirit of BoTorch's and Optuna's defaults (the log-priors are added to the
//!   log likelihood): ln ℓ_d ~ N(μ_ℓ, 1.5²) with μ_ℓ = ln(0.25) + ½ ln D (lengthscales grow with
//!   the dimension as in Hvarfner et al. 2024, "Vanilla Bayesian optimization performs great in
//!   high dimensions"); ln σ_f² ~ N(0, 2²); σₙ² ~ Gamma(1.1, rate 30) (Optuna's GPSampler choice),
//!   i.e. a preference for small noise on noiseless objectives;
//! - box bounds: ℓ ∈ [0.01, 20], σ_f² ∈ [0.05, 20], σₙ² ∈ [1e-10, 1] (on the standardised scale:
//!   1e-10 is the noise floor for deterministic objectives; a floor of 1e-6 would blur differences
//!   below 1e-3 standard deviations, which limits the final precision on smooth functions);
//! - Cholesky factorisation by LAPACK (dpotrf through ndarray-linalg) with a jitter ladder: on
//!   failure, 1e-10, 1e-8, 1e-6, 1e-4 times the mean diagonal is added until it succeeds.

use ndarray_linalg::{Lapack, MatrixLayout, UPLO};
use rand::RngExt;
use rand_distr::StandardNormal;

use super::lbfgs::{LbfgsOptions, LbfgsWorkspace, minimize_box};
use crate::rng::Rng;

const SQRT5: f64 = 2.236_067_977_499_79;
const LN_2PI: f64 = 1.837_877_066_409_345_5;
/// Bounds of ln ℓ, ln σ_f², ln σₙ².
pub const LOG_LENGTHSCALE_BOUNDS: (f64, f64) = (-4.605_170_185_988_091, 2.995_732_273_553_991);
pub const LOG_SIGNAL_BOUNDS: (f64, f64) = (-2.995_732_273_553_991, 2.995_732_273_553_991);
pub const LOG_NOISE_BOUNDS: (f64, f64) = (-23.025_850_929_940_457, 0.0);
const PRIOR_LS_SD: f64 = 1.5;
const PRIOR_SIGNAL_SD: f64 = 2.0;
const NOISE_GAMMA_SHAPE: f64 = 1.1;
const NOISE_GAMMA_RATE: f64 = 30.0;

/// Mean of the log-normal prior on the lengthscales, ln(0.25) + ½ ln D.
pub fn prior_log_lengthscale(dim: usize) -> f64 {
    0.25f64.ln() + 0.5 * (dim as f64).ln()
}

/// Matérn-5/2 correlation and its radial factor: returns (k/σ_f², g) with
/// g = (5/3)(1 + √5 r) exp(−√5 r), so that ∂k/∂(r²) = −σ_f² g/2 and ∂k/∂ln ℓ_d = σ_f² g Δ_d²/ℓ_d².
#[inline]
pub fn matern52(r2: f64) -> (f64, f64) {
    let r = r2.sqrt();
    let e = (-SQRT5 * r).exp();
    (
        (1.0 + SQRT5 * r + 5.0 / 3.0 * r2) * e,
        5.0 / 3.0 * (1.0 + SQRT5 * r) * e,
    )
}

/// Factorises the symmetric matrix held in `a` (row-major n×n, both triangles) in place; on
/// return the lower triangle of `a` is L with A + jitter·I = LLᵀ (the strict upper triangle is
/// left as it was). `scratch` (n×n) keeps a copy for retries. Returns the jitter used.
pub fn cholesky_jitter(a: &mut [f64], scratch: &mut [f64], n: usize) -> Option<f64> {
    scratch.copy_from_slice(a);
    let mean_diag = (0..n).map(|i| a[i * n + i]).sum::<f64>() / n.max(1) as f64;
    // Column-major upper = row-major lower: LAPACK's U in F layout is our L in C layout.
    let layout = MatrixLayout::F {
        col: n as i32,
        lda: n as i32,
    };
    for (step, rel) in [0.0, 1e-10, 1e-8, 1e-6, 1e-4].into_iter().enumerate() {
        if step > 0 {
            a.copy_from_slice(scratch);
            for i in 0..n {
                a[i * n + i] += rel * mean_diag;
            }
        }
        if <f64 as Lapack>::cholesky(layout, UPLO::Upper, a).is_ok() {
            return Some(rel * mean_diag);
        }
    }
    None
}

/// Solves L z = b in place (L row-major lower triangle of `l`).
pub fn forward_solve(l: &[f64], n: usize, b: &mut [f64]) {
    for i in 0..n {
        let row = &l[i * n..i * n + i];
        let s: f64 = row.iter().zip(&b[..i]).map(|(a, c)| a * c).sum();
        b[i] = (b[i] - s) / l[i * n + i];
    }
}

/// Solves Lᵀ x = b in place.
pub fn backward_solve(l: &[f64], n: usize, b: &mut [f64]) {
    for i in (0..n).rev() {
        b[i] /= l[i * n + i];
        let bi = b[i];
        for j in 0..i {
            b[j] -= l[i * n + j] * bi;
        }
    }
}

/// The negative log posterior of the hyperparameters and its gradient, with every buffer
/// allocated once per data set.
pub struct Marginal<'a> {
    x: &'a [f64],
    y: &'a [f64],
    n: usize,
    dim: usize,
    diff2: Vec<f64>,
    pair_g: Vec<f64>,
    pair_k: Vec<f64>,
    k: Vec<f64>,
    scratch: Vec<f64>,
    alpha: Vec<f64>,
    ones: Vec<f64>,
    inv_ls2: Vec<f64>,
    prior_ls: f64,
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

impl<'a> Marginal<'a> {
    /// `x` row-major n×dim, `y` the standardised outputs.
    pub fn new(x: &'a [f64], y: &'a [f64], dim: usize) -> Self {
        let n = y.len();
        let pairs = n * (n.saturating_sub(1)) / 2;
        let mut diff2 = Vec::with_capacity(pairs * dim);
        for i in 0..n {
            for j in 0..i {
                for d in 0..dim {
                    let t = x[i * dim + d] - x[j * dim + d];
                    diff2.push(t * t);
                }
            }
        }
        Self {
            x,
            y,
            n,
            dim,
            diff2,
            pair_g: vec![0.0; pairs],
            pair_k: vec![0.0; pairs],
            k: vec![0.0; n * n],
            scratch: vec![0.0; n * n],
            alpha: vec![0.0; n],
            ones: vec![0.0; n],
            inv_ls2: vec![0.0; dim],
            prior_ls: prior_log_lengthscale(dim),
        }
    }

    /// −ln p(ỹ | θ) − ln p(θ) (up to the priors' constants), and its gradient in `grad`.
    /// Returns +∞ if K cannot be factorised even with jitter.
    pub fn value_grad(&mut self, theta: &[f64], grad: &mut [f64]) -> f64 {
        let (n, dim) = (self.n, self.dim);
        for (inv, t) in self.inv_ls2.iter_mut().zip(theta) {
            *inv = (-2.0 * t).exp();
        }
        let s2 = theta[dim].exp();
        let sn2 = theta[dim + 1].exp();
        let mut p = 0;
        for i in 0..n {
            for j in 0..i {
                let r2: f64 = (0..dim)
                    .map(|d| self.diff2[p * dim + d] * self.inv_ls2[d])
                    .sum();
                let (c, g) = matern52(r2);
                self.pair_k[p] = s2 * c;
                self.pair_g[p] = s2 * g;
                self.k[i * n + j] = s2 * c;
                self.k[j * n + i] = s2 * c;
                p += 1;
            }
            self.k[i * n + i] = s2 + sn2;
        }
        if cholesky_jitter(&mut self.k, &mut self.scratch, n).is_none() {
            return f64::INFINITY;
        }
        // Generalised-least-squares constant mean m̂ = 1ᵀK⁻¹ỹ / 1ᵀK⁻¹1 (profiled out).
        self.ones.iter_mut().for_each(|v| *v = 1.0);
        forward_solve(&self.k, n, &mut self.ones);
        self.alpha.copy_from_slice(self.y);
        forward_solve(&self.k, n, &mut self.alpha);
        let m = dot(&self.ones, &self.alpha) / dot(&self.ones, &self.ones);
        for i in 0..n {
            self.alpha[i] -= m * self.ones[i];
        }
        let quad: f64 = self.alpha.iter().map(|a| a * a).sum();
        backward_solve(&self.k, n, &mut self.alpha);
        let logdet: f64 = (0..n).map(|i| self.k[i * n + i].ln()).sum::<f64>() * 2.0;
        let mut nll = 0.5 * quad + 0.5 * logdet + 0.5 * n as f64 * LN_2PI;
        // K⁻¹ into the lower triangle of `k` (dpotri on the factor).
        let layout = MatrixLayout::F {
            col: n as i32,
            lda: n as i32,
        };
        if <f64 as Lapack>::inv_cholesky(layout, UPLO::Upper, &mut self.k).is_err() {
            return f64::INFINITY;
        }
        grad.iter_mut().for_each(|g| *g = 0.0);
        // Off-diagonal pairs: W_ij = α_i α_j − K⁻¹_ij enters twice (i<j and j<i).
        let mut p = 0;
        for i in 0..n {
            for j in 0..i {
                let w = self.alpha[i] * self.alpha[j] - self.k[i * n + j];
                let wg = w * self.pair_g[p];
                for (g, d2) in grad.iter_mut().zip(&self.diff2[p * dim..(p + 1) * dim]) {
                    *g -= wg * d2;
                }
                grad[dim] -= w * self.pair_k[p];
                p += 1;
            }
        }
        for (g, inv) in grad.iter_mut().zip(&self.inv_ls2) {
            *g *= inv;
        }
        let mut wdiag = 0.0;
        for i in 0..n {
            wdiag += self.alpha[i] * self.alpha[i] - self.k[i * n + i];
        }
        grad[dim] -= 0.5 * wdiag * s2;
        grad[dim + 1] -= 0.5 * wdiag * sn2;
        // Priors.
        for d in 0..dim {
            let z = (theta[d] - self.prior_ls) / PRIOR_LS_SD;
            nll += 0.5 * z * z;
            grad[d] += z / PRIOR_LS_SD;
        }
        let zs = theta[dim] / PRIOR_SIGNAL_SD;
        nll += 0.5 * zs * zs;
        grad[dim] += zs / PRIOR_SIGNAL_SD;
        // −ln Gamma(σₙ² | a, b) = −(a − 1) ln σₙ² + b σₙ² (+ const); d/d ln σₙ² = −(a − 1) + b σₙ².
        nll += -(NOISE_GAMMA_SHAPE - 1.0) * theta[dim + 1] + NOISE_GAMMA_RATE * sn2;
        grad[dim + 1] += -(NOISE_GAMMA_SHAPE - 1.0) + NOISE_GAMMA_RATE * sn2;
        let _ = self.x;
        nll
    }
}

/// Lower and upper bounds of θ for `dim` inputs.
pub fn theta_bounds(dim: usize) -> (Vec<f64>, Vec<f64>) {
    let mut lo = vec![LOG_LENGTHSCALE_BOUNDS.0; dim];
    let mut hi = vec![LOG_LENGTHSCALE_BOUNDS.1; dim];
    lo.extend([LOG_SIGNAL_BOUNDS.0, LOG_NOISE_BOUNDS.0]);
    hi.extend([LOG_SIGNAL_BOUNDS.1, LOG_NOISE_BOUNDS.1]);
    (lo, hi)
}

/// The default starting point: lengthscales at the prior mean, σ_f² = 1, σₙ² = 1e-4.
pub fn default_theta(dim: usize) -> Vec<f64> {
    let mut t = vec![prior_log_lengthscale(dim); dim];
    t.extend([0.0, (1e-4f64).ln()]);
    t
}

/// From this many points on, a fit with a warm start refines only the warm start.
pub const WARM_ONLY_ABOVE: usize = 100;

/// How hard to fit the hyperparameters.
#[derive(Clone, Copy, Debug)]
pub struct FitOptions {
    /// Random starts drawn from the prior (clamped to the bounds), besides the warm start and the
    /// default start.
    pub random_starts: usize,
    pub max_iter: usize,
}

impl Default for FitOptions {
    fn default() -> Self {
        Self {
            random_starts: 1,
            max_iter: 60,
        }
    }
}

/// A fitted GP posterior.
#[derive(Clone, Debug)]
pub struct Gp {
    pub dim: usize,
    pub n: usize,
    x: Vec<f64>,
    /// Standardised outputs.
    y: Vec<f64>,
    pub y_mean: f64,
    pub y_std: f64,
    /// The GLS constant mean m̂ on the standardised scale.
    pub mean: f64,
    pub theta: Vec<f64>,
    inv_ls2: Vec<f64>,
    pub signal: f64,
    pub noise: f64,
    chol: Vec<f64>,
    alpha: Vec<f64>,
}

/// Reusable buffers for predictions.
#[derive(Clone, Debug, Default)]
pub struct PredictWorkspace {
    kstar: Vec<f64>,
    c: Vec<f64>,
    v: Vec<f64>,
}

impl Gp {
    /// Standardises `y`, fits θ by multi-start bounded L-BFGS on the negative log posterior
    /// (starts: `warm` if given, the default start, `opts.random_starts` draws from the prior;
    /// from [`WARM_ONLY_ABOVE`] points on, the warm start alone when there is one),
    /// and conditions on the data. `x` is row-major n×dim. Needs n ≥ 1.
    pub fn fit(
        x: &[f64],
        y: &[f64],
        dim: usize,
        warm: Option<&[f64]>,
        opts: &FitOptions,
        rng: &mut Rng,
    ) -> Gp {
        let n = y.len();
        let y_mean = y.iter().sum::<f64>() / n as f64;
        let var = y.iter().map(|v| (v - y_mean).powi(2)).sum::<f64>() / n as f64;
        let y_std = if var > 0.0 { var.sqrt() } else { 1.0 };
        let ys: Vec<f64> = y.iter().map(|v| (v - y_mean) / y_std).collect();
        let (lo, hi) = theta_bounds(dim);
        let mut starts = Vec::new();
        if let Some(w) = warm
            && w.len() == dim + 2
        {
            starts.push(w.to_vec());
        }
        // With many points the posterior moves little between proposals: refining the warm start
        // alone keeps a proposal fast (a fit costs O(n³) per likelihood evaluation).
        let extra_starts = starts.is_empty() || n < WARM_ONLY_ABOVE;
        if extra_starts {
            starts.push(default_theta(dim));
        }
        let prior_ls = prior_log_lengthscale(dim);
        for _ in 0..if extra_starts { opts.random_starts } else { 0 } {
            let mut t: Vec<f64> = (0..dim)
                .map(|_| prior_ls + PRIOR_LS_SD * rng.sample::<f64, _>(StandardNormal))
                .collect();
            t.push(PRIOR_SIGNAL_SD * 0.5 * rng.sample::<f64, _>(StandardNormal));
            t.push(rng.random_range(LOG_NOISE_BOUNDS.0..-4.0));
            starts.push(t);
        }
        let mut marginal = Marginal::new(x, &ys, dim);
        let lopts = LbfgsOptions {
            max_iter: opts.max_iter,
            gtol: 1e-5,
            ftol: 1e-9,
            first_step: 1.0,
            memory: 8,
        };
        let mut ws = LbfgsWorkspace::default();
        let mut best = (f64::INFINITY, default_theta(dim));
        for mut t in starts {
            let (v, _) = minimize_box(
                |th, g| marginal.value_grad(th, g),
                &mut t,
                &lo,
                &hi,
                &lopts,
                &mut ws,
            );
            if v < best.0 {
                best = (v, t);
            }
        }
        Gp::condition(x.to_vec(), ys, y_mean, y_std, dim, best.1)
    }

    /// The posterior for fixed θ on standardised outputs `ys` (with the given standardisation).
    pub fn condition(
        x: Vec<f64>,
        ys: Vec<f64>,
        y_mean: f64,
        y_std: f64,
        dim: usize,
        theta: Vec<f64>,
    ) -> Gp {
        let n = ys.len();
        let inv_ls2: Vec<f64> = theta[..dim].iter().map(|t| (-2.0 * t).exp()).collect();
        let signal = theta[dim].exp();
        let noise = theta[dim + 1].exp();
        let mut k = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..i {
                let r2: f64 = (0..dim)
                    .map(|d| (x[i * dim + d] - x[j * dim + d]).powi(2) * inv_ls2[d])
                    .sum();
                let v = signal * matern52(r2).0;
                k[i * n + j] = v;
                k[j * n + i] = v;
            }
            k[i * n + i] = signal + noise;
        }
        let mut scratch = vec![0.0; n * n];
        if cholesky_jitter(&mut k, &mut scratch, n).is_none() {
            // Last resort: a diagonal that certainly factorises (the points are then treated
            // as independent); never reached with noise ≥ 1e-6 and jitter up to 1e-4.
            k.iter_mut().for_each(|v| *v = 0.0);
            for i in 0..n {
                k[i * n + i] = (signal + noise + 1e-4 * signal).sqrt();
            }
        }
        let mut ones = vec![1.0; n];
        forward_solve(&k, n, &mut ones);
        let mut alpha = ys.clone();
        forward_solve(&k, n, &mut alpha);
        let mean = dot(&ones, &alpha) / dot(&ones, &ones);
        for i in 0..n {
            alpha[i] -= mean * ones[i];
        }
        backward_solve(&k, n, &mut alpha);
        Gp {
            dim,
            n,
            x,
            y: ys,
            y_mean,
            y_std,
            mean,
            theta,
            inv_ls2,
            signal,
            noise,
            chol: k,
            alpha,
        }
    }

    /// The same hyperparameters and standardisation, conditioned on extra points with given raw
    /// (unstandardised) outputs (kriging believer fantasies).
    pub fn with_points(&self, extra_x: &[f64], extra_y: &[f64]) -> Gp {
        let mut x = self.x.clone();
        x.extend_from_slice(extra_x);
        let mut y = self.y.clone();
        y.extend(extra_y.iter().map(|v| (v - self.y_mean) / self.y_std));
        Gp::condition(x, y, self.y_mean, self.y_std, self.dim, self.theta.clone())
    }

    /// Lengthscales ℓ_d.
    pub fn lengthscales(&self) -> Vec<f64> {
        self.theta[..self.dim].iter().map(|t| t.exp()).collect()
    }

    /// Standardised outputs the GP was conditioned on.
    pub fn y_standardised(&self) -> &[f64] {
        &self.y
    }

    fn kernel_row(&self, xq: &[f64], ws: &mut PredictWorkspace) {
        let (n, dim) = (self.n, self.dim);
        ws.kstar.resize(n, 0.0);
        ws.c.resize(n, 0.0);
        ws.v.resize(n, 0.0);
        for i in 0..n {
            let xi = &self.x[i * dim..(i + 1) * dim];
            let r2: f64 = (0..dim)
                .map(|d| (xq[d] - xi[d]).powi(2) * self.inv_ls2[d])
                .sum();
            let (c, g) = matern52(r2);
            ws.kstar[i] = self.signal * c;
            ws.c[i] = self.signal * g;
        }
    }

    /// Posterior mean and variance of the latent f at `xq`, on the standardised scale:
    /// μ = k*ᵀα, σ² = σ_f² − vᵀv with v = L⁻¹k* (floored at 1e-12·σ_f²).
    pub fn predict(&self, xq: &[f64], ws: &mut PredictWorkspace) -> (f64, f64) {
        self.kernel_row(xq, ws);
        let mu = self.mean + dot(&ws.kstar, &self.alpha);
        ws.v.copy_from_slice(&ws.kstar);
        forward_solve(&self.chol, self.n, &mut ws.v);
        let var = self.signal - ws.v.iter().map(|a| a * a).sum::<f64>();
        (mu, var.max(1e-12 * self.signal))
    }

    /// The kernel k(a, b) with the fitted hyperparameters.
    pub fn kernel(&self, a: &[f64], b: &[f64]) -> f64 {
        let r2: f64 = (0..self.dim)
            .map(|d| (a[d] - b[d]).powi(2) * self.inv_ls2[d])
            .sum();
        self.signal * matern52(r2).0
    }

    /// As [`Gp::predict`], plus ∂μ/∂x and ∂σ²/∂x: with ∂k*ᵢ/∂x_d = −σ_f² gᵢ (x_d − xᵢ_d)/ℓ_d²,
    /// ∂μ/∂x_d = Σᵢ αᵢ ∂k*ᵢ/∂x_d and ∂σ²/∂x_d = −2 Σᵢ wᵢ ∂k*ᵢ/∂x_d, w = K⁻¹k* = L⁻ᵀv. On the
    /// variance floor the variance gradient is 0.
    pub fn predict_grad(
        &self,
        xq: &[f64],
        ws: &mut PredictWorkspace,
        dmu: &mut [f64],
        dvar: &mut [f64],
    ) -> (f64, f64) {
        let (n, dim) = (self.n, self.dim);
        self.kernel_row(xq, ws);
        let mu = self.mean + dot(&ws.kstar, &self.alpha);
        ws.v.copy_from_slice(&ws.kstar);
        forward_solve(&self.chol, n, &mut ws.v);
        let raw_var = self.signal - ws.v.iter().map(|a| a * a).sum::<f64>();
        backward_solve(&self.chol, n, &mut ws.v);
        dmu.iter_mut().for_each(|v| *v = 0.0);
        dvar.iter_mut().for_each(|v| *v = 0.0);
        for i in 0..n {
            let xi = &self.x[i * dim..(i + 1) * dim];
            let (a, w) = (self.alpha[i] * ws.c[i], ws.v[i] * ws.c[i]);
            for d in 0..dim {
                let t = xq[d] - xi[d];
                dmu[d] -= a * t;
                dvar[d] += 2.0 * w * t;
            }
        }
        for d in 0..dim {
            dmu[d] *= self.inv_ls2[d];
            dvar[d] *= self.inv_ls2[d];
        }
        let floor = 1e-12 * self.signal;
        if raw_var < floor {
            dvar.iter_mut().for_each(|v| *v = 0.0);
        }
        (mu, raw_var.max(floor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::rng_from_seed;

    #[test]
    fn posterior_of_two_points_matches_the_2x2_algebra() {
        // 1-D, ℓ = 0.5, σ_f² = 2, σₙ² = 0.1, X = {0, 0.5}, ỹ = (1, −1), x* = 0.25.
        // k(0, 0.5): r = 1 ⇒ ρ₁ = (1 + √5 + 5/3) e^{−√5}; k(x*, xᵢ): r = ½ ⇒
        // ρ½ = (1 + √5/2 + 5/12) e^{−√5/2}, the same for both points by symmetry.
        // K = [[2.1, 2ρ₁], [2ρ₁, 2.1]], K⁻¹ = [[2.1, −2ρ₁], [−2ρ₁, 2.1]]/(2.1² − 4ρ₁²).
        // μ = k*ᵀK⁻¹ỹ = 2ρ½ (1, 1)·K⁻¹(1, −1) = 0 (the data are antisymmetric about x*);
        // σ² = 2 − k*ᵀK⁻¹k* = 2 − 2·(2ρ½)²/(2.1 + 2ρ₁) (as (1,1) is an eigenvector of K
        // with eigenvalue 2.1 + 2ρ₁).
        let s5 = 5f64.sqrt();
        let rho1 = (1.0 + s5 + 5.0 / 3.0) * (-s5).exp();
        let rho_half = (1.0 + s5 / 2.0 + 5.0 / 12.0) * (-s5 / 2.0).exp();
        let theta = vec![0.5f64.ln(), 2f64.ln(), 0.1f64.ln()];
        let gp = Gp::condition(vec![0.0, 0.5], vec![1.0, -1.0], 0.0, 1.0, 1, theta.clone());
        let mut ws = PredictWorkspace::default();
        let (mu, var) = gp.predict(&[0.25], &mut ws);
        assert!(mu.abs() < 1e-14, "{mu}");
        let want = 2.0 - 2.0 * (2.0 * rho_half).powi(2) / (2.1 + 2.0 * rho1);
        assert!((var - want).abs() < 1e-13, "{var} vs {want}");
        // Off-centre: x* = 0 (a training point). μ = k*ᵀK⁻¹ỹ with k* = (2, 2ρ₁):
        // K⁻¹ỹ = (2.1 + 2ρ₁, −2.1 − 2ρ₁)/det = (1, −1)/(2.1 − 2ρ₁).
        let (mu0, var0) = gp.predict(&[0.0], &mut ws);
        let want_mu = (2.0 - 2.0 * rho1) / (2.1 - 2.0 * rho1);
        assert!((mu0 - want_mu).abs() < 1e-13);
        // σ² = 2 − k*ᵀK⁻¹k* with the explicit inverse:
        let det = 2.1 * 2.1 - 4.0 * rho1 * rho1;
        let ks = [2.0, 2.0 * rho1];
        let quad =
            (2.1 * ks[0] * ks[0] - 2.0 * 2.0 * rho1 * ks[0] * ks[1] + 2.1 * ks[1] * ks[1]) / det;
        assert!((var0 - (2.0 - quad)).abs() < 1e-12);
    }

    #[test]
    fn gls_mean_of_two_points_is_their_average() {
        // K has equal diagonals, so K⁻¹1 ∝ (1, 1) and m̂ = 1ᵀK⁻¹ỹ/1ᵀK⁻¹1 = (ỹ₁ + ỹ₂)/2 = 1 for
        // ỹ = (2, 0); far from the data (r → ∞, k* → 0) the prediction reverts to m̂ with the
        // prior variance σ_f².
        let theta = vec![0.1f64.ln(), 1.5f64.ln(), 0.01f64.ln()];
        let gp = Gp::condition(vec![0.2, 0.3], vec![2.0, 0.0], 0.0, 1.0, 1, theta);
        assert!((gp.mean - 1.0).abs() < 1e-14);
        let mut ws = PredictWorkspace::default();
        let (mu, var) = gp.predict(&[50.0], &mut ws);
        assert!((mu - 1.0).abs() < 1e-14 && (var - 1.5).abs() < 1e-14);
        // Midway, by antisymmetry of ỹ − m̂ = (1, −1), the mean is m̂ exactly.
        assert!((gp.predict(&[0.25], &mut ws).0 - 1.0).abs() < 1e-14);
    }

    #[test]
    fn log_marginal_gradient_matches_finite_differences() {
        let mut rng = rng_from_seed(5);
        let (n, dim) = (12, 3);
        let x: Vec<f64> = (0..n * dim).map(|_| rng.random::<f64>()).collect();
        let y: Vec<f64> = (0..n)
            .map(|i| (3.0 * x[i * dim]).sin() + x[i * dim + 1] * x[i * dim + 2])
            .collect();
        let mean = y.iter().sum::<f64>() / n as f64;
        let ys: Vec<f64> = y.iter().map(|v| v - mean).collect();
        let mut m = Marginal::new(&x, &ys, dim);
        let theta = vec![-0.7, 0.2, -1.5, 0.3, -3.0];
        let mut g = vec![0.0; dim + 2];
        let f0 = m.value_grad(&theta, &mut g);
        assert!(f0.is_finite());
        let mut scratch = vec![0.0; dim + 2];
        for j in 0..dim + 2 {
            let h = 1e-5;
            let mut tp = theta.clone();
            tp[j] += h;
            let fp = m.value_grad(&tp, &mut scratch);
            tp[j] -= 2.0 * h;
            let fm = m.value_grad(&tp, &mut scratch);
            let fd = (fp - fm) / (2.0 * h);
            // Central differences: truncation O(h²) ≈ 1e-10, rounding ≈ 1e-16·|f|/h ≈ 1e-10.
            assert!(
                (fd - g[j]).abs() < 1e-6 * (1.0 + g[j].abs()),
                "θ{j}: fd {fd} vs {}",
                g[j]
            );
        }
        // The likelihood part alone: ln p(ỹ|θ) at a known θ equals the direct formula.
        let gp = Gp::condition(x.clone(), ys.clone(), 0.0, 1.0, dim, theta.clone());
        let mut quad: Vec<f64> = ys.iter().map(|v| v - gp.mean).collect();
        forward_solve(&gp.chol, n, &mut quad);
        let direct = 0.5 * quad.iter().map(|v| v * v).sum::<f64>()
            + (0..n).map(|i| gp.chol[i * n + i].ln()).sum::<f64>()
            + 0.5 * n as f64 * LN_2PI;
        let z = |t: f64, mu: f64, sd: f64| 0.5 * ((t - mu) / sd).powi(2);
        let prior: f64 = (0..dim)
            .map(|d| z(theta[d], prior_log_lengthscale(dim), PRIOR_LS_SD))
            .sum::<f64>()
            + z(theta[dim], 0.0, PRIOR_SIGNAL_SD)
            - 0.1 * theta[dim + 1]
            + 30.0 * theta[dim + 1].exp();
        assert!((f0 - direct - prior).abs() < 1e-10);
    }

    #[test]
    fn predictive_gradients_match_finite_differences() {
        let mut rng = rng_from_seed(9);
        let (n, dim) = (10, 2);
        let x: Vec<f64> = (0..n * dim).map(|_| rng.random::<f64>()).collect();
        let y: Vec<f64> = (0..n)
            .map(|i| (4.0 * x[i * dim]).cos() - x[i * dim + 1])
            .collect();
        let gp = Gp::fit(&x, &y, dim, None, &FitOptions::default(), &mut rng);
        let mut ws = PredictWorkspace::default();
        let (mut dmu, mut dvar) = (vec![0.0; dim], vec![0.0; dim]);
        let xq = [0.37, 0.61];
        gp.predict_grad(&xq, &mut ws, &mut dmu, &mut dvar);
        for d in 0..dim {
            let h = 1e-6;
            let mut p = xq;
            p[d] += h;
            let (mp, vp) = gp.predict(&p, &mut ws);
            p[d] -= 2.0 * h;
            let (mm, vm) = gp.predict(&p, &mut ws);
            assert!(((mp - mm) / (2.0 * h) - dmu[d]).abs() < 1e-6 * (1.0 + dmu[d].abs()));
            assert!(((vp - vm) / (2.0 * h) - dvar[d]).abs() < 1e-6 * (1.0 + dvar[d].abs()));
        }
    }
}
