//! The optimizer state and its one-step update over a flat parameter buffer.

use super::config::OptimizerConfig;

/// An optimizer with its per-parameter state, for one flat parameter buffer.
///
/// Each [`step`](Self::step) applies one update of the configured rule, exactly as `torch.optim`
/// does (t is the step number, 1-based; γ the learning rate passed to `step`; λ the weight decay;
/// every operation is elementwise):
///
/// **SGD** (Robbins & Monro 1951), heavy-ball momentum (Polyak 1964), Nesterov momentum in the
/// form of Sutskever et al. (2013):
/// ```text
/// g ← g + λθ                         (if λ ≠ 0)
/// if μ ≠ 0:  b ← μb + g              (t = 1: b = g)
///            g ← g + μb  if nesterov, else g ← b
/// θ ← θ − γg
/// ```
/// **AdaGrad** (Duchi, Hazan & Singer 2011), accumulator starting at 0:
/// ```text
/// g ← g + λθ;  G ← G + g²;  θ ← θ − γ·g / (√G + ε)
/// ```
/// **RMSprop** (Tieleman & Hinton 2012), non-centred, momentum buffer starting at 0:
/// ```text
/// g ← g + λθ;  v ← αv + (1 − α)g²
/// if μ ≠ 0:  b ← μb + g / (√v + ε);  θ ← θ − γb
/// else:      θ ← θ − γ·g / (√v + ε)
/// ```
/// **Adam** (Kingma & Ba 2015, Alg. 1), moments starting at 0, ε added after the square root of
/// the bias-corrected second moment (Alg. 1 and PyTorch; not TensorFlow's fixed ε̂ added to the
/// raw √v):
/// ```text
/// g ← g + λθ;  m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²
/// m̂ = m / (1 − β₁ᵗ);  v̂ = v / (1 − β₂ᵗ);  θ ← θ − γ·m̂ / (√v̂ + ε)
/// ```
/// Adam is evaluated as θ ← θ − γ_t·m / (√v + ε·√(1 − β₂ᵗ)) with γ_t = γ·√(1 − β₂ᵗ)/(1 − β₁ᵗ),
/// which is the same expression with the per-step constants folded (one division and one square
/// root per coordinate instead of three divisions); results agree with the literal form to f32
/// rounding.
///
/// State is f32 (as PyTorch's for f32 parameters) and serialisable, so a run can resume from a
/// checkpoint bit for bit. One departure from PyTorch, invisible in θ: decaying state (momentum
/// buffers, running averages) below `f32::MIN_POSITIVE` is flushed to zero, because subnormal
/// arithmetic is many times slower. The two state buffers hold, by kind: SGD `buf1` = momentum
/// buffer (empty if μ = 0); AdaGrad `buf1` = G; RMSprop `buf1` = v, `buf2` = momentum buffer
/// (empty if μ = 0); Adam `buf1` = m, `buf2` = v.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "OptimizerRepr")]
pub struct Optimizer {
    config: OptimizerConfig,
    n_params: usize,
    steps: u64,
    buf1: Vec<f32>,
    buf2: Vec<f32>,
}

/// The serialised form, checked on the way in so that a tampered or mismatched checkpoint cannot
/// make `step` silently update only part of the parameters.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct OptimizerRepr {
    config: OptimizerConfig,
    n_params: usize,
    steps: u64,
    buf1: Vec<f32>,
    buf2: Vec<f32>,
}

impl TryFrom<OptimizerRepr> for Optimizer {
    type Error = String;

    fn try_from(r: OptimizerRepr) -> Result<Self, String> {
        let want = buffer_lens(&r.config, r.n_params);
        if (r.buf1.len(), r.buf2.len()) != want {
            return Err(format!(
                "{} optimizer state for {} parameters must have buffers of lengths {} and {}, got {} and {}",
                r.config.name(),
                r.n_params,
                want.0,
                want.1,
                r.buf1.len(),
                r.buf2.len()
            ));
        }
        Ok(Optimizer {
            config: r.config,
            n_params: r.n_params,
            steps: r.steps,
            buf1: r.buf1,
            buf2: r.buf2,
        })
    }
}

/// The lengths of the two state buffers (see [`Optimizer`]) for `n` parameters.
fn buffer_lens(config: &OptimizerConfig, n: usize) -> (usize, usize) {
    let used = |on: bool| if on { n } else { 0 };
    match *config {
        OptimizerConfig::Sgd { momentum, .. } => (used(momentum != 0.0), 0),
        OptimizerConfig::Adagrad { .. } => (n, 0),
        OptimizerConfig::Rmsprop { momentum, .. } => (n, used(momentum != 0.0)),
        OptimizerConfig::Adam { .. } => (n, n),
    }
}

impl Optimizer {
    /// A fresh optimizer (all state zero, no step taken) for `n_params` parameters. The config is
    /// expected to have passed [`OptimizerConfig::validate`].
    pub fn new(config: &OptimizerConfig, n_params: usize) -> Self {
        let (len1, len2) = buffer_lens(config, n_params);
        Optimizer {
            config: config.clone(),
            n_params,
            steps: 0,
            buf1: vec![0.0; len1],
            buf2: vec![0.0; len2],
        }
    }

    /// The configuration this optimizer was built from.
    pub fn config(&self) -> &OptimizerConfig {
        &self.config
    }

    /// The number of parameters this optimizer updates.
    pub fn n_params(&self) -> usize {
        self.n_params
    }

    /// The number of updates applied so far (Adam's t after the last step).
    pub fn steps_taken(&self) -> u64 {
        self.steps
    }

    /// One update θ ← θ − step(g) with learning rate `lr` (the schedule's current value; the
    /// config's `lr` is only the base), following the rules in the type's documentation.
    /// Allocates nothing.
    ///
    /// # Panics
    /// If `params` or `grads` do not have the length given to [`new`](Self::new).
    pub fn step(&mut self, params: &mut [f32], grads: &[f32], lr: f32) {
        assert!(
            params.len() == self.n_params && grads.len() == self.n_params,
            "optimizer built for {} parameters got {} parameters and {} gradients",
            self.n_params,
            params.len(),
            grads.len()
        );
        self.steps += 1;
        match self.config {
            OptimizerConfig::Sgd {
                momentum,
                nesterov,
                weight_decay,
                ..
            } => {
                let wd = weight_decay as f32;
                let mu = momentum as f32;
                match (momentum != 0.0, nesterov, weight_decay != 0.0) {
                    (false, _, false) => sgd::<false>(params, grads, lr, wd),
                    (false, _, true) => sgd::<true>(params, grads, lr, wd),
                    (true, false, false) => {
                        sgd_momentum::<false, false>(params, grads, &mut self.buf1, lr, mu, wd)
                    }
                    (true, false, true) => {
                        sgd_momentum::<true, false>(params, grads, &mut self.buf1, lr, mu, wd)
                    }
                    (true, true, false) => {
                        sgd_momentum::<false, true>(params, grads, &mut self.buf1, lr, mu, wd)
                    }
                    (true, true, true) => {
                        sgd_momentum::<true, true>(params, grads, &mut self.buf1, lr, mu, wd)
                    }
                }
            }
            OptimizerConfig::Adagrad {
                eps, weight_decay, ..
            } => {
                let (eps, wd) = (eps as f32, weight_decay as f32);
                if weight_decay != 0.0 {
                    adagrad::<true>(params, grads, &mut self.buf1, lr, eps, wd);
                } else {
                    adagrad::<false>(params, grads, &mut self.buf1, lr, eps, wd);
                }
            }
            OptimizerConfig::Rmsprop {
                alpha,
                eps,
                momentum,
                weight_decay,
                ..
            } => {
                let h = RmspropHyper {
                    lr,
                    alpha: alpha as f32,
                    one_minus_alpha: (1.0 - alpha) as f32,
                    eps: eps as f32,
                    mu: momentum as f32,
                    wd: weight_decay as f32,
                };
                let (v, b) = (&mut self.buf1, &mut self.buf2);
                match (momentum != 0.0, weight_decay != 0.0) {
                    (false, false) => rmsprop::<false>(params, grads, v, &h),
                    (false, true) => rmsprop::<true>(params, grads, v, &h),
                    (true, false) => rmsprop_momentum::<false>(params, grads, v, b, &h),
                    (true, true) => rmsprop_momentum::<true>(params, grads, v, b, &h),
                }
            }
            OptimizerConfig::Adam {
                beta1,
                beta2,
                eps,
                weight_decay,
                ..
            } => {
                // Per-step constants in f64, as PyTorch computes them in Python floats.
                let t = self.steps as f64;
                let bias1 = 1.0 - beta1.powf(t);
                let bias2_sqrt = (1.0 - beta2.powf(t)).sqrt();
                let h = AdamHyper {
                    beta1: beta1 as f32,
                    one_minus_beta1: (1.0 - beta1) as f32,
                    beta2: beta2 as f32,
                    one_minus_beta2: (1.0 - beta2) as f32,
                    step_size: (f64::from(lr) * bias2_sqrt / bias1) as f32,
                    eps_hat: (eps * bias2_sqrt) as f32,
                    wd: weight_decay as f32,
                };
                let (m, v) = (&mut self.buf1, &mut self.buf2);
                if weight_decay != 0.0 {
                    adam::<true>(params, grads, m, v, &h);
                } else {
                    adam::<false>(params, grads, m, v, &h);
                }
            }
        }
    }
}

// The kernels below are monomorphised on the optional terms, so the loop body has no branch and
// LLVM vectorises it; zipped slice iterators carry no bounds checks.

/// Coupled L2 weight decay: g + λθ.
#[inline(always)]
pub(crate) fn decayed<const WD: bool>(g: f32, p: f32, wd: f32) -> f32 {
    if WD { g + wd * p } else { g }
}

/// Flushes subnormal state to zero. A coordinate whose gradient stays 0 (a dead ReLU unit) has
/// its momentum or average decay geometrically into the subnormal range, where it sticks at the
/// smallest subnormal (0.9 · 1.4e-45 rounds back to 1.4e-45), and arithmetic on subnormals is
/// microcoded on x86: Adam on 751 parameters measured 3× slower. Values below
/// `f32::MIN_POSITIVE` (1.2e-38) change θ by less than f32 resolution unless ε < 1e-18.
#[inline(always)]
pub(crate) fn flush(x: f32) -> f32 {
    if x.abs() < f32::MIN_POSITIVE { 0.0 } else { x }
}

pub(crate) fn sgd<const WD: bool>(params: &mut [f32], grads: &[f32], lr: f32, wd: f32) {
    for (p, &g) in params.iter_mut().zip(grads) {
        *p -= lr * decayed::<WD>(g, *p, wd);
    }
}

/// The buffer starts at zero, so the first step gives b = μ·0 + g = g exactly, PyTorch's
/// initialisation without a first-step branch.
pub(crate) fn sgd_momentum<const WD: bool, const NESTEROV: bool>(
    params: &mut [f32],
    grads: &[f32],
    buf: &mut [f32],
    lr: f32,
    mu: f32,
    wd: f32,
) {
    for ((p, &g), b) in params.iter_mut().zip(grads).zip(buf.iter_mut()) {
        let g = decayed::<WD>(g, *p, wd);
        *b = flush(mu * *b + g);
        let d = if NESTEROV { g + mu * *b } else { *b };
        *p -= lr * d;
    }
}

fn adagrad<const WD: bool>(
    params: &mut [f32],
    grads: &[f32],
    sum: &mut [f32],
    lr: f32,
    eps: f32,
    wd: f32,
) {
    for ((p, &g), s) in params.iter_mut().zip(grads).zip(sum.iter_mut()) {
        let g = decayed::<WD>(g, *p, wd);
        *s += g * g;
        *p -= lr * (g / (s.sqrt() + eps));
    }
}

/// RMSprop's per-step constants (`mu` is used only by the momentum variant).
pub(crate) struct RmspropHyper {
    pub lr: f32,
    pub alpha: f32,
    pub one_minus_alpha: f32,
    pub eps: f32,
    pub mu: f32,
    pub wd: f32,
}

pub(crate) fn rmsprop<const WD: bool>(
    params: &mut [f32],
    grads: &[f32],
    v: &mut [f32],
    h: &RmspropHyper,
) {
    for ((p, &g), v) in params.iter_mut().zip(grads).zip(v.iter_mut()) {
        let g = decayed::<WD>(g, *p, h.wd);
        *v = flush(h.alpha * *v + h.one_minus_alpha * (g * g));
        *p -= h.lr * (g / (v.sqrt() + h.eps));
    }
}

fn rmsprop_momentum<const WD: bool>(
    params: &mut [f32],
    grads: &[f32],
    v: &mut [f32],
    buf: &mut [f32],
    h: &RmspropHyper,
) {
    let lanes = params
        .iter_mut()
        .zip(grads)
        .zip(v.iter_mut())
        .zip(buf.iter_mut());
    for (((p, &g), v), b) in lanes {
        let g = decayed::<WD>(g, *p, h.wd);
        *v = flush(h.alpha * *v + h.one_minus_alpha * (g * g));
        *b = flush(h.mu * *b + g / (v.sqrt() + h.eps));
        *p -= h.lr * *b;
    }
}

struct AdamHyper {
    beta1: f32,
    one_minus_beta1: f32,
    beta2: f32,
    one_minus_beta2: f32,
    /// γ·√(1 − β₂ᵗ)/(1 − β₁ᵗ)
    step_size: f32,
    /// ε·√(1 − β₂ᵗ)
    eps_hat: f32,
    wd: f32,
}

fn adam<const WD: bool>(
    params: &mut [f32],
    grads: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    h: &AdamHyper,
) {
    let lanes = params
        .iter_mut()
        .zip(grads)
        .zip(m.iter_mut())
        .zip(v.iter_mut());
    for (((p, &g), m), v) in lanes {
        let g = decayed::<WD>(g, *p, h.wd);
        *m = flush(h.beta1 * *m + h.one_minus_beta1 * g);
        *v = flush(h.beta2 * *v + h.one_minus_beta2 * (g * g));
        *p -= h.step_size * (*m / (v.sqrt() + h.eps_hat));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// θ₀ and two gradients shared by the golden tests.
    const THETA0: [f32; 3] = [1.0, -2.0, 0.5];
    const G1: [f32; 3] = [0.5, -1.0, 2.0];
    const G2: [f32; 3] = [1.5, 0.0, -1.0];

    /// f32 arithmetic over a few steps of O(1) values: each operation rounds with relative error
    /// ≤ 2⁻²⁴ ≈ 6e-8, a step has under ten of them, so 1e-6 relative (plus 1e-7 absolute for
    /// values near 0) bounds the rounding while catching any wrong term.
    fn assert_close(got: &[f32], want: &[f64], what: &str) {
        assert_eq!(got.len(), want.len());
        for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
            let err = (f64::from(g) - w).abs();
            assert!(
                err <= 1e-6 * w.abs() + 1e-7,
                "{what}[{i}]: got {g}, want {w} (error {err:e})"
            );
        }
    }

    fn run(config: &OptimizerConfig, grads: &[[f32; 3]], lr: f32) -> Vec<Vec<f32>> {
        let mut opt = Optimizer::new(config, 3);
        let mut theta = THETA0;
        grads
            .iter()
            .map(|g| {
                opt.step(&mut theta, g, lr);
                theta.to_vec()
            })
            .collect()
    }

    fn sgd(momentum: f64, nesterov: bool, weight_decay: f64) -> OptimizerConfig {
        OptimizerConfig::Sgd {
            lr: 0.1,
            momentum,
            nesterov,
            weight_decay,
        }
    }

    #[test]
    fn sgd_golden() {
        let t = run(&sgd(0.0, false, 0.0), &[G1, G1], 0.1);
        // θ₁ = θ₀ − 0.1·g = (1 − 0.05, −2 + 0.1, 0.5 − 0.2)
        assert_close(&t[0], &[0.95, -1.9, 0.3], "θ₁");
        // θ₂ = θ₁ − 0.1·g = (0.95 − 0.05, −1.9 + 0.1, 0.3 − 0.2)
        assert_close(&t[1], &[0.9, -1.8, 0.1], "θ₂");
    }

    #[test]
    fn sgd_momentum_golden() {
        let t = run(&sgd(0.9, false, 0.0), &[G1, G1, G1], 0.1);
        // b₁ = g = (0.5, −1, 2);  θ₁ = θ₀ − 0.1·b₁ = (0.95, −1.9, 0.3)
        assert_close(&t[0], &[0.95, -1.9, 0.3], "θ₁");
        // b₂ = 0.9·b₁ + g = 1.9g = (0.95, −1.9, 3.8);  θ₂ = θ₁ − 0.1·b₂ = (0.855, −1.71, −0.08)
        assert_close(&t[1], &[0.855, -1.71, -0.08], "θ₂");
        // b₃ = 0.9·1.9g + g = 2.71g = (1.355, −2.71, 5.42);  θ₃ = θ₂ − 0.1·b₃
        //    = (0.855 − 0.1355, −1.71 + 0.271, −0.08 − 0.542)
        assert_close(&t[2], &[0.7195, -1.439, -0.622], "θ₃");
    }

    #[test]
    fn sgd_nesterov_golden() {
        let t = run(&sgd(0.9, true, 0.0), &[G1, G1, G1], 0.1);
        // b₁ = g;  d₁ = g + 0.9·b₁ = 1.9g = (0.95, −1.9, 3.8);  θ₁ = θ₀ − 0.1·d₁
        assert_close(&t[0], &[0.905, -1.81, 0.12], "θ₁");
        // b₂ = 1.9g;  d₂ = g + 0.9·1.9g = 2.71g = (1.355, −2.71, 5.42);  θ₂ = θ₁ − 0.1·d₂
        assert_close(&t[1], &[0.7695, -1.539, -0.422], "θ₂");
        // b₃ = 2.71g;  d₃ = g + 0.9·2.71g = 3.439g = (1.7195, −3.439, 6.878);  θ₃ = θ₂ − 0.1·d₃
        assert_close(&t[2], &[0.59755, -1.1951, -1.1098], "θ₃");
    }

    #[test]
    fn sgd_weight_decay_golden() {
        let t = run(&sgd(0.0, false, 0.1), &[G1, G1], 0.1);
        // g' = g + 0.1·θ₀ = (0.5 + 0.1, −1 − 0.2, 2 + 0.05) = (0.6, −1.2, 2.05)
        // θ₁ = θ₀ − 0.1·g' = (0.94, −1.88, 0.295)
        assert_close(&t[0], &[0.94, -1.88, 0.295], "θ₁");
        // g' = g + 0.1·θ₁ = (0.594, −1.188, 2.0295);  θ₂ = θ₁ − 0.1·g'
        //    = (0.94 − 0.0594, −1.88 + 0.1188, 0.295 − 0.20295)
        assert_close(&t[1], &[0.8806, -1.7612, 0.09205], "θ₂");
    }

    #[test]
    fn sgd_momentum_weight_decay_golden() {
        let t = run(&sgd(0.5, false, 0.1), &[G1, G1], 0.1);
        // g'₁ = (0.6, −1.2, 2.05) = b₁;  θ₁ = (0.94, −1.88, 0.295)
        assert_close(&t[0], &[0.94, -1.88, 0.295], "θ₁");
        // g'₂ = (0.594, −1.188, 2.0295);  b₂ = 0.5·b₁ + g'₂ = (0.894, −1.788, 3.0545)
        // θ₂ = θ₁ − 0.1·b₂ = (0.8506, −1.7012, −0.01045)
        assert_close(&t[1], &[0.8506, -1.7012, -0.01045], "θ₂");
    }

    #[test]
    fn adagrad_golden() {
        let config = OptimizerConfig::Adagrad {
            lr: 0.1,
            eps: 1e-10,
            weight_decay: 0.0,
        };
        let t = run(&config, &[G1, G2], 0.1);
        // G₁ = g₁² = (0.25, 1, 4);  √G₁ = |g₁|, so θ₁ = θ₀ − 0.1·sign(g₁) (ε = 1e-10 is below f32
        // resolution) = (0.9, −1.9, 0.4)
        assert_close(&t[0], &[0.9, -1.9, 0.4], "θ₁");
        // G₂ = G₁ + g₂² = (0.25 + 2.25, 1 + 0, 4 + 1) = (2.5, 1, 5)
        // θ₂ = θ₁ − 0.1·g₂/√G₂ = (0.9 − 0.15/1.58113883, −1.9 − 0, 0.4 + 0.1/2.23606798)
        //    = (0.9 − 0.09486833, −1.9, 0.4 + 0.04472136)
        assert_close(&t[1], &[0.805_131_670, -1.9, 0.444_721_360], "θ₂");
    }

    fn rmsprop(momentum: f64) -> OptimizerConfig {
        OptimizerConfig::Rmsprop {
            lr: 0.01,
            alpha: 0.9,
            eps: 1e-8,
            momentum,
            weight_decay: 0.0,
        }
    }

    #[test]
    fn rmsprop_golden() {
        let t = run(&rmsprop(0.0), &[G1, G2], 0.01);
        // v₁ = 0.1·g₁² = (0.025, 0.1, 0.4);  g/√v₁ = sign(g)/√0.1 = ±3.16227766
        // θ₁ = θ₀ − 0.01·(±3.16227766) = (1 − 0.0316227766, −2 + 0.0316227766, 0.5 − 0.0316227766)
        assert_close(&t[0], &[0.968_377_223, -1.968_377_223, 0.468_377_223], "θ₁");
        // v₂ = 0.9·v₁ + 0.1·g₂² = (0.0225 + 0.225, 0.09 + 0, 0.36 + 0.1) = (0.2475, 0.09, 0.46)
        // √v₂ = (0.49749372, 0.3, 0.67823300);  θ₂ = θ₁ − 0.01·g₂/√v₂
        //    = (0.968377223 − 0.015/0.49749372, θ₁[1] − 0, 0.468377223 + 0.01/0.67823300)
        //    = (0.968377223 − 0.030151134, −1.968377223, 0.468377223 + 0.014744196)
        assert_close(&t[1], &[0.938_226_089, -1.968_377_223, 0.483_121_419], "θ₂");
    }

    #[test]
    fn rmsprop_momentum_golden() {
        let t = run(&rmsprop(0.5), &[G1, G2], 0.01);
        // b₁ = 0·0.5 + g₁/√v₁ = ±3.16227766 (v₁ as in rmsprop_golden): θ₁ as without momentum
        assert_close(&t[0], &[0.968_377_223, -1.968_377_223, 0.468_377_223], "θ₁");
        // b₂ = 0.5·b₁ + g₂/√v₂
        //    = (1.58113883 + 3.01511345, −1.58113883 + 0, 1.58113883 − 1.47441956)
        //    = (4.59625228, −1.58113883, 0.10671927)
        // θ₂ = θ₁ − 0.01·b₂ = (0.968377223 − 0.045962523, −1.968377223 + 0.015811388,
        //                      0.468377223 − 0.001067193)
        assert_close(&t[1], &[0.922_414_700, -1.952_565_835, 0.467_310_030], "θ₂");
    }

    fn adam(weight_decay: f64) -> OptimizerConfig {
        OptimizerConfig::Adam {
            lr: 0.1,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay,
        }
    }

    #[test]
    fn adam_golden() {
        let t = run(&adam(0.0), &[G1, G2], 0.1);
        // m₁ = 0.1·g₁, v₁ = 0.001·g₁²;  m̂₁ = g₁, v̂₁ = g₁²;  θ₁ = θ₀ − 0.1·g₁/(|g₁| + 1e-8)
        //    = θ₀ − 0.1·sign(g₁) = (0.9, −1.9, 0.4)
        assert_close(&t[0], &[0.9, -1.9, 0.4], "θ₁");
        // m₂ = 0.9·m₁ + 0.1·g₂ = (0.045 + 0.15, −0.09 + 0, 0.18 − 0.1) = (0.195, −0.09, 0.08)
        // v₂ = 0.999·v₁ + 0.001·g₂² = (0.00024975 + 0.00225, 0.000999 + 0, 0.003996 + 0.001)
        //    = (0.00249975, 0.000999, 0.004996)
        // m̂₂ = m₂/(1 − 0.81) = (1.02631579, −0.47368421, 0.42105263)
        // v̂₂ = v₂/(1 − 0.998001) = (1.25050025, 0.49974987, 2.49924962)
        // √v̂₂ = (1.11825765, 0.70692989, 1.58090152)
        // θ₂ = θ₁ − 0.1·m̂₂/(√v̂₂ + 1e-8) = (0.9 − 0.09177811, −1.9 + 0.06700582, 0.4 − 0.02663370)
        assert_close(&t[1], &[0.808_221_891, -1.832_994_177, 0.373_366_297], "θ₂");
    }

    #[test]
    fn adam_weight_decay_is_coupled() {
        // g = (−0.05, −1, 2) at both steps; with λ = 0.1 the decay flips the first coordinate's
        // sign, which decoupled (AdamW) decay would not.
        let g = [-0.05, -1.0, 2.0];
        let t = run(&adam(0.1), &[g, g], 0.1);
        // g'₁ = g + 0.1·θ₀ = (0.05, −1.2, 2.05);  θ₁ = θ₀ − 0.1·sign(g'₁) = (0.9, −1.9, 0.4)
        assert_close(&t[0], &[0.9, -1.9, 0.4], "θ₁");
        // g'₂ = g + 0.1·θ₁ = (0.04, −1.19, 2.04)
        // m₂ = 0.9·0.1·g'₁ + 0.1·g'₂ = (0.0045 + 0.004, −0.108 − 0.119, 0.1845 + 0.204)
        //    = (0.0085, −0.227, 0.3885);  m̂₂ = m₂/0.19 = (0.04473684, −1.19473684, 2.04473684)
        // v₂ = 0.999·0.001·g'₁² + 0.001·g'₂² = (0.0000024975 + 0.0000016, 0.00143856 + 0.0014161,
        //      0.0041982975 + 0.0041616) = (0.0000040975, 0.00285466, 0.0083598975)
        // v̂₂ = v₂/0.001999 = (0.00204977, 1.42804402, 4.18203977)
        // √v̂₂ = (0.04527443, 1.19500796, 2.04500361)
        // θ₂ = θ₁ − 0.1·m̂₂/√v̂₂ = (0.9 − 0.09881254, −1.9 + 0.09997731, 0.4 − 0.09998695)
        assert_close(&t[1], &[0.801_187_461, -1.800_022_689, 0.300_013_046], "θ₂");
    }

    #[test]
    fn eps_is_added_after_the_square_root() {
        // A large ε makes its placement visible (the goldens above use ε below f32 resolution).
        let adagrad = OptimizerConfig::Adagrad {
            lr: 0.1,
            eps: 0.5,
            weight_decay: 0.0,
        };
        // θ₁ = θ₀ − 0.1·g/(√(g²) + 0.5) = (1 − 0.05/1.0, −2 + 0.1/1.5, 0.5 − 0.2/2.5)
        assert_close(
            &run(&adagrad, &[G1], 0.1)[0],
            &[0.95, -1.933_333_333, 0.42],
            "adagrad",
        );
        let rmsprop = OptimizerConfig::Rmsprop {
            lr: 0.01,
            alpha: 0.9,
            eps: 0.5,
            momentum: 0.0,
            weight_decay: 0.0,
        };
        // √v₁ = √(0.1·g²) = (0.15811388, 0.31622777, 0.63245553)
        // θ₁ = θ₀ − 0.01·g/(√v₁ + 0.5) = (1 − 0.005/0.65811388, −2 + 0.01/0.81622777,
        //      0.5 − 0.02/1.13245553) = (1 − 0.00759747, −2 + 0.01225148, 0.5 − 0.01766074)
        let t = run(&rmsprop, &[G1], 0.01);
        assert_close(
            &t[0],
            &[0.992_402_531, -1.987_748_518, 0.482_339_262],
            "rmsprop",
        );
        // With momentum the first buffer is b₁ = g/(√v₁ + 0.5), the same first step.
        let with_momentum = OptimizerConfig::Rmsprop {
            lr: 0.01,
            alpha: 0.9,
            eps: 0.5,
            momentum: 0.9,
            weight_decay: 0.0,
        };
        let t = run(&with_momentum, &[G1], 0.01);
        assert_close(
            &t[0],
            &[0.992_402_531, -1.987_748_518, 0.482_339_262],
            "rmsprop μ",
        );
        let adam = OptimizerConfig::Adam {
            lr: 0.1,
            beta1: 0.9,
            beta2: 0.999,
            eps: 0.1,
            weight_decay: 0.0,
        };
        let t = run(&adam, &[G1, G2], 0.1);
        // ε after the bias-corrected √v̂ (Alg. 1, PyTorch), not a fixed ε̂ after the raw √v:
        // θ₁ = θ₀ − 0.1·g₁/(|g₁| + 0.1) = (1 − 0.05/0.6, −2 + 0.1/1.1, 0.5 − 0.2/2.1)
        assert_close(
            &t[0],
            &[0.916_666_667, -1.909_090_909, 0.404_761_905],
            "adam θ₁",
        );
        // m̂₂, √v̂₂ as in adam_golden: (1.02631579, −0.47368421, 0.42105263),
        // (1.11825769, 0.70692989, 1.58090152);  θ₂ = θ₁ − 0.1·m̂₂/(√v̂₂ + 0.1)
        //    = (0.91666667 − 0.08424456, −1.90909091 + 0.05870203, 0.40476190 − 0.02504921)
        assert_close(
            &t[1],
            &[0.832_422_110, -1.850_388_881, 0.379_712_690],
            "adam θ₂",
        );
    }

    #[test]
    fn weight_decay_equals_gradient_plus_lambda_theta() {
        // For every kind, λ > 0 must equal λ = 0 fed with g + λθ.
        let lambda = 0.05f32;
        let configs = [
            (sgd(0.9, true, 0.05), sgd(0.9, true, 0.0)),
            (
                OptimizerConfig::Adagrad {
                    lr: 0.1,
                    eps: 1e-10,
                    weight_decay: 0.05,
                },
                OptimizerConfig::Adagrad {
                    lr: 0.1,
                    eps: 1e-10,
                    weight_decay: 0.0,
                },
            ),
            (
                OptimizerConfig::Rmsprop {
                    lr: 0.01,
                    alpha: 0.9,
                    eps: 1e-8,
                    momentum: 0.5,
                    weight_decay: 0.05,
                },
                rmsprop(0.5),
            ),
            (adam(0.05), adam(0.0)),
        ];
        for (with, without) in configs {
            let (mut a, mut b) = (Optimizer::new(&with, 3), Optimizer::new(&without, 3));
            let (mut ta, mut tb) = (THETA0, THETA0);
            for g in [G1, G2, G1] {
                a.step(&mut ta, &g, 0.1);
                let gd: Vec<f32> = g.iter().zip(&tb).map(|(g, p)| g + lambda * p).collect();
                b.step(&mut tb, &gd, 0.1);
            }
            assert_eq!(ta, tb, "{}", with.name());
        }
    }

    #[test]
    fn adam_first_step_is_lr_times_sign() {
        // m̂₁ = g and v̂₁ = g², so the first step is lr·g/(|g| + ε) ≈ lr·sign(g) whatever |g|.
        let g = [1e-3f32, -250.0, 3.0, -0.02, 7e4];
        let mut theta = [0.0f32; 5];
        let mut opt = Optimizer::new(&adam(0.0), 5);
        opt.step(&mut theta, &g, 0.01);
        for (&p, &g) in theta.iter().zip(&g) {
            // The step falls short of lr by lr·ε/(|g| + ε) ≤ lr·ε/|g|, plus f32 rounding (1e-6).
            let slack = 0.01 * (1e-8 / f64::from(g.abs()) + 1e-6);
            assert!(
                f64::from(p + 0.01 * g.signum()).abs() <= slack,
                "{p} for g = {g}"
            );
        }
        assert_eq!(opt.steps_taken(), 1);
    }

    #[test]
    fn every_optimizer_minimises_a_quadratic() {
        // f(θ) = ½ Σ aᵢ(θᵢ − cᵢ)², ∇f = a ⊙ (θ − c), an ill-conditioned bowl (a from 0.5 to 4).
        let a = [0.5f32, 1.0, 2.0, 4.0];
        let c = [1.0f32, -2.0, 0.5, 3.0];
        let cases = [
            (sgd(0.0, false, 0.0), 0.2),
            (sgd(0.9, false, 0.0), 0.05),
            (sgd(0.9, true, 0.0), 0.05),
            (
                OptimizerConfig::Adagrad {
                    lr: 1.0,
                    eps: 1e-10,
                    weight_decay: 0.0,
                },
                1.0,
            ),
            (rmsprop(0.0), 0.01),
            (rmsprop(0.9), 0.001),
            (adam(0.0), 0.05),
        ];
        for (config, lr) in cases {
            let mut opt = Optimizer::new(&config, 4);
            let mut theta = [0.0f32; 4];
            let mut grad = [0.0f32; 4];
            for step in 0..3000 {
                // A decaying rate lets the adaptive methods settle instead of circling at ~lr.
                let lr = lr / (1.0 + step as f32 / 100.0).sqrt();
                for (((g, &a), &p), &c) in grad.iter_mut().zip(&a).zip(&theta).zip(&c) {
                    *g = a * (p - c);
                }
                opt.step(&mut theta, &grad, lr);
            }
            let worst = theta
                .iter()
                .zip(&c)
                .map(|(p, c)| (p - c).abs())
                .fold(0.0, f32::max);
            assert!(
                worst < 1e-2,
                "{} ended at {theta:?}, minimum {c:?}",
                config.name()
            );
        }
    }

    #[test]
    fn resumes_bit_for_bit_from_serialised_state() {
        for config in [sgd(0.9, true, 1e-3), rmsprop(0.5), adam(1e-3)] {
            let grads = |k: usize| [0.3 * k as f32 - 1.0, (k as f32).sin(), 0.7];
            let mut straight = Optimizer::new(&config, 3);
            let mut theta = THETA0;
            for k in 0..10 {
                straight.step(&mut theta, &grads(k), 0.05);
            }
            let mut first = Optimizer::new(&config, 3);
            let mut resumed_theta = THETA0;
            for k in 0..4 {
                first.step(&mut resumed_theta, &grads(k), 0.05);
            }
            let json = serde_json::to_string(&first).unwrap();
            let mut second: Optimizer = serde_json::from_str(&json).unwrap();
            assert_eq!(second, first);
            for k in 4..10 {
                second.step(&mut resumed_theta, &grads(k), 0.05);
            }
            assert_eq!(resumed_theta, theta, "{}", config.name());
            assert_eq!(second.steps_taken(), 10);
        }
    }

    #[test]
    fn mismatched_checkpoint_is_refused() {
        let opt = Optimizer::new(&adam(0.0), 3);
        let mut value = serde_json::to_value(&opt).unwrap();
        value["n_params"] = serde_json::json!(4);
        let err = serde_json::from_value::<Optimizer>(value).unwrap_err();
        assert!(
            err.to_string().contains("lengths 4 and 4, got 3 and 3"),
            "{err}"
        );
    }

    #[test]
    fn plain_sgd_keeps_no_state() {
        let opt = Optimizer::new(&sgd(0.0, false, 0.0), 1000);
        assert!(opt.buf1.is_empty() && opt.buf2.is_empty());
        let opt = Optimizer::new(&rmsprop(0.0), 1000);
        assert_eq!((opt.buf1.len(), opt.buf2.len()), (1000, 0));
    }

    #[test]
    fn dead_coordinates_decay_to_exact_zero_not_subnormal() {
        // After one gradient of 1, a coordinate that only sees 0 has m = 0.1·0.9ᵏ (Adam) or
        // b = 0.9ᵏ (momentum), which passes below 1.2e-38 after ~830 steps; without the flush it
        // would stay at a subnormal forever.
        for config in [adam(0.0), sgd(0.9, false, 0.0)] {
            let mut opt = Optimizer::new(&config, 2);
            let mut theta = [0.0f32; 2];
            opt.step(&mut theta, &[1.0, 1.0], 1e-3);
            for _ in 0..1000 {
                opt.step(&mut theta, &[0.0, 1.0], 1e-3);
            }
            assert_eq!(opt.buf1[0], 0.0, "{}", config.name());
            assert!(opt.buf1[1] > 0.0);
        }
    }

    #[test]
    #[should_panic(expected = "optimizer built for 3 parameters")]
    fn wrong_length_panics() {
        let mut opt = Optimizer::new(&adam(0.0), 3);
        opt.step(&mut [0.0; 2], &[0.0; 2], 0.1);
    }
}
