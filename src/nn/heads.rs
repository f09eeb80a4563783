//! Heads: the likelihood at the end of a network (formulas on [`HeadKind`]).
//!
//! A head reads the last layer's output `z` (`rows × in_dim`), returns the mean negative
//! log-likelihood per example `L = 1/B Σ_i ℓ_i` (accumulated in f64), and writes `∂L/∂z` and the
//! gradient of its own parameters (the learned noise precision). It also turns `z` into predictive
//! parameters.

use super::gemm::Real;
use super::{HeadKind, HeadOutput, Targets};
use std::ops::Range;

/// `log 2π`.
const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// A loss and its predictive.
pub trait Head<T: Real> {
    /// Network outputs consumed per row.
    fn in_dim(&self) -> usize;
    /// Parameters of the head itself, stored after all layers in the flat buffer.
    fn n_params(&self) -> usize {
        0
    }
    /// Named parameter groups, ranges relative to the head's own slice.
    fn param_groups(&self) -> Vec<(&'static str, Range<usize>)> {
        Vec::new()
    }
    /// Writes initial values into the head's parameter slice.
    fn init_params(&self, _params: &mut [T]) {}
    /// Mean NLL over `rows` rows of `z`. With `d_z`, overwrites it with `∂L/∂z` and `grads` with
    /// `∂L/∂θ_head`. Panics if the targets are of the wrong kind or length.
    fn loss(
        &self,
        params: &[T],
        z: &[T],
        y: Targets<'_>,
        rows: usize,
        d_z: Option<&mut [T]>,
        grads: &mut [T],
    ) -> f64;
    /// Writes the predictive parameters of `rows` rows of `z` into rows `start..start + rows` of
    /// `out`, which has the right variant and size.
    fn predict(&self, params: &[T], z: &[T], rows: usize, out: &mut HeadOutput, start: usize);
}

fn real_targets<'a>(y: Targets<'a>, rows: usize) -> ndarray::ArrayView1<'a, f32> {
    match y {
        Targets::Real(v) => {
            assert_eq!(
                v.len(),
                rows,
                "a Gaussian head needs one real target per row"
            );
            v
        }
        Targets::Class(_) => panic!("a Gaussian head needs real targets, got class indices"),
    }
}

/// Heteroscedastic Gaussian: `z = (μ, s)`, `ℓ = ½(log 2π + s + (y − μ)² e^{−s})`,
/// `∂ℓ/∂μ = −(y − μ) e^{−s}`, `∂ℓ/∂s = ½(1 − (y − μ)² e^{−s})`; predictive `N(μ, e^{s})`.
///
/// The log variance is clamped, `s ← clamp(s, −S, S)` with `S =` [`LOG_VAR_BOUND`] `= 30`, so
/// the variance lies in `[e^{−30}, e^{30}] ≈ [9.4·10⁻¹⁴, 1.1·10¹³]` on the standardised scale
/// (standard deviations from 3·10⁻⁷, about the f32 resolution of a standardised target, to
/// 3·10⁶): without it a saturated output gives `e^{s}` = 0 or ∞ in f32, and the loss, its
/// gradient and the predictive become NaN. Inside the bound nothing changes. Outside it the
/// gradient passes straight through the clamp, `∂ℓ/∂s = ½(1 − (y − μ)² e^{−clamp(s)})`, as
/// PyTorch's `GaussianNLLLoss` clamps its variance without tracking the clamp: the derivative of
/// the clamped loss would be 0 there, and an output beyond the bound would never come back. A
/// NaN `s` stays NaN, so divergence is still detected.
#[derive(Clone, Debug)]
pub struct GaussianHead;

/// The bound `S` of the heteroscedastic head's log variance: `s ∈ [−S, S]` (see [`GaussianHead`]).
pub const LOG_VAR_BOUND: f64 = 30.0;

/// `s` clamped to `[−S, S]`; NaN passes through.
#[inline(always)]
fn clamp_log_var<T: Real>(s: T) -> T {
    let bound = T::from_f(LOG_VAR_BOUND);
    if s < -bound {
        -bound
    } else if s > bound {
        bound
    } else {
        s
    }
}

impl<T: Real> Head<T> for GaussianHead {
    fn in_dim(&self) -> usize {
        2
    }
    fn loss(
        &self,
        _: &[T],
        z: &[T],
        y: Targets<'_>,
        rows: usize,
        d_z: Option<&mut [T]>,
        _: &mut [T],
    ) -> f64 {
        let y = real_targets(y, rows);
        let z = &z[..2 * rows];
        let half = T::from_f(0.5);
        let mut sum = 0.0f64;
        match d_z {
            Some(dz) => {
                let inv_b = T::from_f(1.0 / rows as f64);
                let dz = &mut dz[..2 * rows];
                for ((zr, dr), &yi) in z.chunks_exact(2).zip(dz.chunks_exact_mut(2)).zip(y) {
                    let (mu, s) = (zr[0], clamp_log_var(zr[1]));
                    let r = T::from_f(f64::from(yi)) - mu;
                    let q = r * r * (-s).exp();
                    sum += (s + q).as_f64();
                    dr[0] = -r * (-s).exp() * inv_b;
                    dr[1] = half * (T::one() - q) * inv_b;
                }
            }
            None => {
                for (zr, &yi) in z.chunks_exact(2).zip(y) {
                    let r = T::from_f(f64::from(yi)) - zr[0];
                    let s = clamp_log_var(zr[1]);
                    sum += (s + r * r * (-s).exp()).as_f64();
                }
            }
        }
        0.5 * (LN_2PI + sum / rows as f64)
    }
    fn predict(&self, _: &[T], z: &[T], rows: usize, out: &mut HeadOutput, start: usize) {
        let HeadOutput::Gaussian { mean, var } = out else {
            unreachable!("the network sizes the output for its head")
        };
        for (i, zr) in z[..2 * rows].chunks_exact(2).enumerate() {
            mean[start + i] = zr[0].as_f64() as f32;
            var[start + i] = clamp_log_var(zr[1]).as_f64().exp() as f32;
        }
    }
}

/// Homoscedastic Gaussian with fixed precision `τ`: `ℓ = ½(log 2π − log τ + τ(y − μ)²)`,
/// `∂ℓ/∂μ = −τ(y − μ)`; predictive `N(μ, 1/τ)`.
#[derive(Clone, Debug)]
pub struct GaussianFixedHead {
    pub precision: f64,
}

impl<T: Real> Head<T> for GaussianFixedHead {
    fn in_dim(&self) -> usize {
        1
    }
    fn loss(
        &self,
        _: &[T],
        z: &[T],
        y: Targets<'_>,
        rows: usize,
        d_z: Option<&mut [T]>,
        _: &mut [T],
    ) -> f64 {
        let sq = squared_residuals(z, y, rows, d_z, T::from_f(self.precision));
        0.5 * (LN_2PI - self.precision.ln() + self.precision * sq / rows as f64)
    }
    fn predict(&self, _: &[T], z: &[T], rows: usize, out: &mut HeadOutput, start: usize) {
        write_homoscedastic(z, rows, out, start, 1.0 / self.precision);
    }
}

/// `Σ_i (y_i − μ_i)²` in f64; with `d_z`, writes `∂L/∂μ_i = −τ(y_i − μ_i)/B`.
fn squared_residuals<T: Real>(
    z: &[T],
    y: Targets<'_>,
    rows: usize,
    d_z: Option<&mut [T]>,
    precision: T,
) -> f64 {
    let y = real_targets(y, rows);
    let z = &z[..rows];
    let mut sq = 0.0f64;
    match d_z {
        Some(dz) => {
            let c = -precision / T::from_f(rows as f64);
            for ((d, &mu), &yi) in dz[..rows].iter_mut().zip(z).zip(y) {
                let r = T::from_f(f64::from(yi)) - mu;
                sq += (r * r).as_f64();
                *d = c * r;
            }
        }
        None => {
            for (&mu, &yi) in z.iter().zip(y) {
                let r = T::from_f(f64::from(yi)) - mu;
                sq += (r * r).as_f64();
            }
        }
    }
    sq
}

fn write_homoscedastic<T: Real>(z: &[T], rows: usize, out: &mut HeadOutput, start: usize, v: f64) {
    let HeadOutput::Gaussian { mean, var } = out else {
        unreachable!("the network sizes the output for its head")
    };
    for (i, &mu) in z[..rows].iter().enumerate() {
        mean[start + i] = mu.as_f64() as f32;
        var[start + i] = v as f32;
    }
}

/// Homoscedastic Gaussian with learned log precision `λ` (one parameter):
/// `ℓ = ½(log 2π − λ + e^{λ}(y − μ)²)`, `∂ℓ/∂μ = −e^{λ}(y − μ)`, `∂ℓ/∂λ = ½(e^{λ}(y − μ)² − 1)`;
/// predictive `N(μ, e^{−λ})`.
#[derive(Clone, Debug)]
pub struct GaussianLearnedHead {
    /// Initial precision `τ₀`; `λ` starts at `ln τ₀`.
    pub initial_precision: f64,
}

impl<T: Real> Head<T> for GaussianLearnedHead {
    fn in_dim(&self) -> usize {
        1
    }
    fn n_params(&self) -> usize {
        1
    }
    fn param_groups(&self) -> Vec<(&'static str, Range<usize>)> {
        vec![("log_precision", 0..1)]
    }
    fn init_params(&self, params: &mut [T]) {
        params[0] = T::from_f(self.initial_precision.ln());
    }
    fn loss(
        &self,
        params: &[T],
        z: &[T],
        y: Targets<'_>,
        rows: usize,
        d_z: Option<&mut [T]>,
        grads: &mut [T],
    ) -> f64 {
        let lambda = params[0].as_f64();
        let has_grad = d_z.is_some();
        let tau = params[0].exp();
        let sq = squared_residuals(z, y, rows, d_z, tau);
        let mean_sq = sq / rows as f64;
        let tau = tau.as_f64();
        if has_grad {
            grads[0] = T::from_f(0.5 * (tau * mean_sq - 1.0));
        }
        0.5 * (LN_2PI - lambda + tau * mean_sq)
    }
    fn predict(&self, params: &[T], z: &[T], rows: usize, out: &mut HeadOutput, start: usize) {
        write_homoscedastic(z, rows, out, start, (-params[0].as_f64()).exp());
    }
}

/// Softmax cross-entropy: `ℓ = logsumexp(z) − z_y` with `logsumexp(z) = m + log Σ_j e^{z_j − m}`,
/// `m = max_j z_j` (every exponent ≤ 0, so no overflow; the largest term is 1, so the log is of a
/// number in `[1, C]`); `∂ℓ/∂z_j = softmax(z)_j − [j = y]`; predictive `softmax(z)`.
#[derive(Clone, Debug)]
pub struct SoftmaxHead {
    pub classes: usize,
}

impl<T: Real> Head<T> for SoftmaxHead {
    fn in_dim(&self) -> usize {
        self.classes
    }
    fn loss(
        &self,
        _: &[T],
        z: &[T],
        y: Targets<'_>,
        rows: usize,
        d_z: Option<&mut [T]>,
        _: &mut [T],
    ) -> f64 {
        let Targets::Class(y) = y else {
            panic!("a softmax head needs class indices, got real targets")
        };
        assert_eq!(
            y.len(),
            rows,
            "a softmax head needs one class index per row"
        );
        let c = self.classes;
        let z = &z[..rows * c];
        let mut sum = 0.0f64;
        match d_z {
            Some(dz) => {
                let inv_b = T::from_f(1.0 / rows as f64);
                let dz = &mut dz[..rows * c];
                for ((zr, dr), &yi) in z.chunks_exact(c).zip(dz.chunks_exact_mut(c)).zip(y) {
                    let yi = yi as usize;
                    assert!(yi < c, "class index {yi} out of range for {c} classes");
                    let m = row_max(zr);
                    let mut s = T::zero();
                    for (d, &v) in dr.iter_mut().zip(zr) {
                        let e = (v - m).exp();
                        *d = e;
                        s += e;
                    }
                    sum += (m + s.ln() - zr[yi]).as_f64();
                    let scale = inv_b / s;
                    for d in dr.iter_mut() {
                        *d *= scale;
                    }
                    dr[yi] -= inv_b;
                }
            }
            None => {
                for (zr, &yi) in z.chunks_exact(c).zip(y) {
                    let yi = yi as usize;
                    assert!(yi < c, "class index {yi} out of range for {c} classes");
                    let m = row_max(zr);
                    let s = zr.iter().fold(T::zero(), |s, &v| s + (v - m).exp());
                    sum += (m + s.ln() - zr[yi]).as_f64();
                }
            }
        }
        sum / rows as f64
    }
    fn predict(&self, _: &[T], z: &[T], rows: usize, out: &mut HeadOutput, start: usize) {
        let HeadOutput::Categorical { probs } = out else {
            unreachable!("the network sizes the output for its head")
        };
        let c = self.classes;
        for (i, zr) in z[..rows * c].chunks_exact(c).enumerate() {
            let m = row_max(zr).as_f64();
            let s = zr.iter().fold(0.0, |s, &v| s + (v.as_f64() - m).exp());
            let mut row = probs.row_mut(start + i);
            for (p, &v) in row.iter_mut().zip(zr) {
                *p = (v.as_f64() - m).exp() / s;
            }
        }
    }
}

fn row_max<T: Real>(z: &[T]) -> T {
    z.iter()
        .fold(T::neg_infinity(), |m, &v| if v > m { v } else { m })
}

/// The heads a network can end in; one `match` per call.
#[derive(Clone, Debug)]
pub enum AnyHead {
    Gaussian(GaussianHead),
    GaussianFixed(GaussianFixedHead),
    GaussianLearned(GaussianLearnedHead),
    Softmax(SoftmaxHead),
}

impl AnyHead {
    /// The head of `kind`; `classes` is used by softmax, `noise_precision` by the homoscedastic
    /// Gaussians.
    pub fn new(kind: HeadKind, classes: usize, noise_precision: f64) -> Self {
        match kind {
            HeadKind::Gaussian => AnyHead::Gaussian(GaussianHead),
            HeadKind::GaussianFixed => AnyHead::GaussianFixed(GaussianFixedHead {
                precision: noise_precision,
            }),
            HeadKind::GaussianLearned => AnyHead::GaussianLearned(GaussianLearnedHead {
                initial_precision: noise_precision,
            }),
            HeadKind::Softmax => AnyHead::Softmax(SoftmaxHead { classes }),
        }
    }

    /// An empty output of the right variant for this head.
    pub fn empty_output(&self) -> HeadOutput {
        match self {
            AnyHead::Softmax(h) => HeadOutput::Categorical {
                probs: ndarray::Array2::zeros((0, h.classes)),
            },
            _ => HeadOutput::Gaussian {
                mean: Vec::new(),
                var: Vec::new(),
            },
        }
    }

    /// Makes `out` the right variant with `rows` rows, reusing its storage when it can.
    pub fn size_output(&self, out: &mut HeadOutput, rows: usize) {
        match (self, &mut *out) {
            (AnyHead::Softmax(h), HeadOutput::Categorical { probs }) => {
                if probs.dim() != (rows, h.classes) {
                    *probs = ndarray::Array2::zeros((rows, h.classes));
                }
            }
            (AnyHead::Softmax(_), _) | (_, HeadOutput::Categorical { .. }) => {
                *out = self.empty_output();
                self.size_output(out, rows);
            }
            (_, HeadOutput::Gaussian { mean, var }) => {
                mean.resize(rows, 0.0);
                var.resize(rows, 0.0);
            }
        }
    }
}

macro_rules! dispatch {
    ($self:ident, $h:ident => $e:expr) => {
        match $self {
            AnyHead::Gaussian($h) => $e,
            AnyHead::GaussianFixed($h) => $e,
            AnyHead::GaussianLearned($h) => $e,
            AnyHead::Softmax($h) => $e,
        }
    };
}

impl<T: Real> Head<T> for AnyHead {
    fn in_dim(&self) -> usize {
        dispatch!(self, h => Head::<T>::in_dim(h))
    }
    fn n_params(&self) -> usize {
        dispatch!(self, h => Head::<T>::n_params(h))
    }
    fn param_groups(&self) -> Vec<(&'static str, Range<usize>)> {
        dispatch!(self, h => Head::<T>::param_groups(h))
    }
    fn init_params(&self, params: &mut [T]) {
        dispatch!(self, h => h.init_params(params))
    }
    #[inline]
    fn loss(
        &self,
        params: &[T],
        z: &[T],
        y: Targets<'_>,
        rows: usize,
        d_z: Option<&mut [T]>,
        grads: &mut [T],
    ) -> f64 {
        dispatch!(self, h => h.loss(params, z, y, rows, d_z, grads))
    }
    fn predict(&self, params: &[T], z: &[T], rows: usize, out: &mut HeadOutput, start: usize) {
        dispatch!(self, h => h.predict(params, z, rows, out, start))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array1;

    /// Loss, gradient and predictive of the heteroscedastic head at log variances `s`, mean 0,
    /// targets `y`, in f32 as in training.
    fn gaussian_at(s: &[f32], y: &[f32]) -> (f64, Vec<f32>, HeadOutput) {
        let rows = s.len();
        let z: Vec<f32> = s.iter().flat_map(|&s| [0.0, s]).collect();
        let y = Array1::from(y.to_vec());
        let mut dz = vec![f32::NAN; 2 * rows];
        let loss = GaussianHead.loss(
            &[],
            &z,
            Targets::Real(y.view()),
            rows,
            Some(&mut dz),
            &mut [],
        );
        let forward = GaussianHead.loss(&[], &z, Targets::Real(y.view()), rows, None, &mut []);
        assert!(
            loss == forward || (loss.is_nan() && forward.is_nan()),
            "the loss without gradients is the same: {loss} vs {forward}"
        );
        let mut out = AnyHead::Gaussian(GaussianHead).empty_output();
        AnyHead::Gaussian(GaussianHead).size_output(&mut out, rows);
        GaussianHead.predict(&[], &z, rows, &mut out, 0);
        (loss, dz, out)
    }

    #[test]
    fn a_saturated_gaussian_head_gives_finite_loss_gradients_and_predictive() {
        let huge = [1e4f32, -1e4, 1e30, -1e30, f32::MAX, -f32::MAX, 89.0, -89.0];
        let y = [1.0f32, 1.0, 0.5, 0.5, 2.0, 2.0, 1.0, 1.0];
        let (loss, dz, out) = gaussian_at(&huge, &y);
        assert!(loss.is_finite(), "{loss}");
        assert!(dz.iter().all(|g| g.is_finite()), "{dz:?}");
        let HeadOutput::Gaussian { mean, var } = &out else {
            panic!("a Gaussian output")
        };
        assert!(mean.iter().all(|m| *m == 0.0));
        assert!(var.iter().all(|v| v.is_finite() && *v > 0.0), "{var:?}");
        // Beyond the bound the head, its gradients included, equals the head at the bound: the
        // gradient pulls s back (∂ℓ/∂s > 0 above the bound for a residual of 1, < 0 below).
        let b = LOG_VAR_BOUND as f32;
        let at_bound: Vec<f32> = huge.iter().map(|s| s.clamp(-b, b)).collect();
        let (loss_b, dz_b, out_b) = gaussian_at(&at_bound, &y);
        assert_eq!((loss, &dz, &out), (loss_b, &dz_b, &out_b));
        assert!(dz[1] > 0.0 && dz[3] < 0.0, "{dz:?}");
        // The variance spans [e^-30, e^30].
        assert_eq!(var[1], (-LOG_VAR_BOUND).exp() as f32);
        assert_eq!(var[0], LOG_VAR_BOUND.exp() as f32);
    }

    #[test]
    fn inside_the_bound_the_gaussian_head_is_unclamped() {
        let s = [-29.5f32, -3.0, 0.0, 2.5, 29.5];
        let y = [1e-7f32, 0.5, -1.0, 3.0, 100.0];
        let (loss, dz, out) = gaussian_at(&s, &y);
        let mut want = 0.0f64;
        for (&s, &y) in s.iter().zip(&y) {
            want += f64::from(s + y * y * (-s).exp());
        }
        assert_eq!(loss, 0.5 * (LN_2PI + want / s.len() as f64));
        let inv_b = (1.0 / s.len() as f64) as f32;
        for (i, (&si, &yi)) in s.iter().zip(&y).enumerate() {
            let q = yi * yi * (-si).exp();
            assert_eq!(dz[2 * i + 1], 0.5 * (1.0 - q) * inv_b);
        }
        let HeadOutput::Gaussian { var, .. } = &out else {
            panic!("a Gaussian output")
        };
        for (v, &s) in var.iter().zip(&s) {
            assert_eq!(*v, f64::from(s).exp() as f32);
        }
        // A NaN log variance is not hidden by the clamp.
        assert!(gaussian_at(&[f32::NAN], &[0.0]).0.is_nan());
    }
}
