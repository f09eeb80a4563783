//! The sampler state and its one-step update over a flat parameter buffer.

use super::config::{Posterior, SamplerConfig};
use crate::noise::{BLOCK, Gen, Isa, Kernel, NormalStream, dispatch};
use crate::optim::optimizer::{RmspropHyper, decayed, flush, rmsprop, sgd, sgd_momentum};

/// An SG-MCMC sampler with its per-parameter state, for one flat parameter buffer and one chain.
///
/// [`step`](Self::step) applies one update of the configured rule (the formulas are in the
/// [module documentation](super)); the noise of element i at update t (0-based: the number of
/// updates before this one) is `NormalStream::new(key).normal(t, i)`, so a chain is a pure
/// function of its key, its starting point and its gradients, and a resumed chain continues bit
/// for bit. At temperature 0 no noise is drawn and the update is the twin optimizer's
/// ([`SamplerConfig::twin`]) operation for operation.
///
/// State (f32, serialisable): pSGLD's running average V and SGHMC's momentum buffer b, both
/// starting at zero and flushed to zero below `f32::MIN_POSITIVE` exactly as
/// [`crate::optim::Optimizer`] does; SGLD keeps none.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "SamplerRepr")]
pub struct Sampler {
    config: SamplerConfig,
    posterior: Posterior,
    noise: NormalStream,
    n_params: usize,
    steps: u64,
    buf: Vec<f32>,
}

/// The serialised form, checked on the way in (as the optimizer's).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SamplerRepr {
    config: SamplerConfig,
    posterior: Posterior,
    noise: NormalStream,
    n_params: usize,
    steps: u64,
    buf: Vec<f32>,
}

impl TryFrom<SamplerRepr> for Sampler {
    type Error = String;

    fn try_from(r: SamplerRepr) -> Result<Self, String> {
        let want = buffer_len(&r.config, r.n_params);
        if r.buf.len() != want {
            return Err(format!(
                "{} sampler state for {} parameters must have a buffer of length {want}, got {}",
                r.config.name(),
                r.n_params,
                r.buf.len()
            ));
        }
        Ok(Sampler {
            config: r.config,
            posterior: r.posterior,
            noise: r.noise,
            n_params: r.n_params,
            steps: r.steps,
            buf: r.buf,
        })
    }
}

fn buffer_len(config: &SamplerConfig, n: usize) -> usize {
    match config {
        SamplerConfig::Sgld { .. } => 0,
        SamplerConfig::Psgld { .. } | SamplerConfig::Sghmc { .. } => n,
    }
}

impl Sampler {
    /// A fresh chain (state zero, no step taken) for `n_params` parameters of a model with
    /// `posterior`'s data size and prior, drawing its noise from `noise`. The config is expected
    /// to have passed [`SamplerConfig::validate`].
    pub fn new(
        config: &SamplerConfig,
        n_params: usize,
        posterior: Posterior,
        noise: NormalStream,
    ) -> Self {
        Sampler {
            config: config.clone(),
            posterior,
            noise,
            n_params,
            steps: 0,
            buf: vec![0.0; buffer_len(config, n_params)],
        }
    }

    /// The configuration this sampler was built from.
    pub fn config(&self) -> &SamplerConfig {
        &self.config
    }

    /// The data size and prior.
    pub fn posterior(&self) -> &Posterior {
        &self.posterior
    }

    /// The noise stream.
    pub fn noise(&self) -> NormalStream {
        self.noise
    }

    /// The number of parameters this sampler updates.
    pub fn n_params(&self) -> usize {
        self.n_params
    }

    /// The number of updates applied so far (the noise counter of the next update).
    pub fn steps_taken(&self) -> u64 {
        self.steps
    }

    /// Zeroes SGHMC's momentum buffer (no effect on SGLD and pSGLD), e.g. at the restart of a
    /// cyclical schedule. In the momentum-buffer form the noise held in b scales as 1/√γ (it is
    /// the velocity divided by γ), so when the learning rate jumps from the end of one cycle to
    /// the start of the next, the leftover noise is amplified by γ_new/γ_old in the first steps;
    /// Zhang et al.'s code keeps the buffer (and hides the kick by its cold default T = 1/N).
    pub fn reset_momentum(&mut self) {
        if let SamplerConfig::Sghmc { .. } = self.config {
            self.buf.fill(0.0);
        }
    }

    /// The standard deviation σ of the injected noise at learning rate `lr` and temperature T
    /// (with T_eff = T, or T/N for `noise = "reference_code"`):
    /// SGLD √(2γT_eff/N) on θ; pSGLD √(2γT_eff/N) on θ, times √G per coordinate; SGHMC
    /// √(2(1 − μ − β̂)T_eff/(γN)) on the momentum buffer (γσ on θ). 0 when `lr` ≤ 0: a step
    /// that does not move θ draws no noise.
    pub fn noise_scale(&self, lr: f32, temperature: f64) -> f64 {
        noise_scale(&self.config, &self.posterior, lr, temperature)
    }

    /// One update with learning rate `lr` (the schedule's current value) and temperature
    /// `temperature` (normally [`SamplerConfig::temperature`]; 0 during a cyclical exploration
    /// phase), from `grads` = ∇ of the mean minibatch loss, exactly what an optimizer gets. At
    /// T = 0 (or lr = 0) no noise is drawn and the twin optimizer's update runs. Allocates
    /// nothing.
    ///
    /// # Panics
    /// If `params` or `grads` do not have the length given to [`new`](Self::new), or the
    /// temperature is negative or not finite.
    pub fn step(&mut self, params: &mut [f32], grads: &[f32], lr: f32, temperature: f64) {
        self.step_with(Isa::detect(), params, grads, lr, temperature);
    }

    /// [`step`](Self::step) through a given instruction set (all give the same bits).
    pub(crate) fn step_with(
        &mut self,
        isa: Isa,
        params: &mut [f32],
        grads: &[f32],
        lr: f32,
        temperature: f64,
    ) {
        assert!(
            params.len() == self.n_params && grads.len() == self.n_params,
            "sampler built for {} parameters got {} parameters and {} gradients",
            self.n_params,
            params.len(),
            grads.len()
        );
        assert!(
            temperature.is_finite() && temperature >= 0.0,
            "temperature must be finite and >= 0, got {temperature}"
        );
        let t = self.steps;
        self.steps += 1;
        let weight_decay = self.posterior.weight_decay();
        let has_wd = weight_decay != 0.0;
        let wd = weight_decay as f32;
        let base = self.noise.base(t);
        let sigma = noise_scale(&self.config, &self.posterior, lr, temperature) as f32;
        let noisy = temperature > 0.0 && lr > 0.0;
        match self.config {
            SamplerConfig::Sgld { .. } => match (noisy, has_wd) {
                (false, false) => sgd::<false>(params, grads, lr, wd),
                (false, true) => sgd::<true>(params, grads, lr, wd),
                (true, false) => {
                    let u = Sgld::<false> { lr, wd, sigma };
                    dispatch(isa, fused(params, grads, &mut [], base, u));
                }
                (true, true) => {
                    let u = Sgld::<true> { lr, wd, sigma };
                    dispatch(isa, fused(params, grads, &mut [], base, u));
                }
            },
            SamplerConfig::Psgld { alpha, lambda, .. } => {
                let h = PsgldHyper {
                    lr,
                    alpha: alpha as f32,
                    one_minus_alpha: (1.0 - alpha) as f32,
                    eps: lambda as f32,
                    wd,
                    sigma,
                };
                let twin = RmspropHyper {
                    lr,
                    alpha: h.alpha,
                    one_minus_alpha: h.one_minus_alpha,
                    eps: h.eps,
                    mu: 0.0,
                    wd,
                };
                let v = &mut self.buf;
                match (noisy, has_wd) {
                    (false, false) => rmsprop::<false>(params, grads, v, &twin),
                    (false, true) => rmsprop::<true>(params, grads, v, &twin),
                    (true, false) => {
                        dispatch(isa, fused(params, grads, v, base, Psgld::<false>(h)))
                    }
                    (true, true) => dispatch(isa, fused(params, grads, v, base, Psgld::<true>(h))),
                }
            }
            SamplerConfig::Sghmc { momentum, .. } => {
                let mu = momentum as f32;
                let b = &mut self.buf;
                match (noisy, has_wd) {
                    (false, false) => sgd_momentum::<false, false>(params, grads, b, lr, mu, wd),
                    (false, true) => sgd_momentum::<true, false>(params, grads, b, lr, mu, wd),
                    (true, false) => {
                        let u = Sghmc::<false> { lr, mu, wd, sigma };
                        dispatch(isa, fused(params, grads, b, base, u));
                    }
                    (true, true) => {
                        let u = Sghmc::<true> { lr, mu, wd, sigma };
                        dispatch(isa, fused(params, grads, b, base, u));
                    }
                }
            }
        }
    }
}

/// σ of [`Sampler::noise_scale`], in f64 from the f32 learning rate.
fn noise_scale(config: &SamplerConfig, posterior: &Posterior, lr: f32, temperature: f64) -> f64 {
    let n = posterior.n_data.max(1) as f64;
    let t = config
        .noise()
        .effective_temperature(temperature, posterior.n_data);
    let lr = f64::from(lr);
    if lr <= 0.0 {
        return 0.0;
    }
    match *config {
        SamplerConfig::Sgld { .. } | SamplerConfig::Psgld { .. } => (2.0 * lr * t / n).sqrt(),
        SamplerConfig::Sghmc {
            momentum, beta_hat, ..
        } => (2.0 * (1.0 - momentum - beta_hat).max(0.0) * t / (lr * n)).sqrt(),
    }
}

// Temperature 0 runs the optimizer twins' own kernels (src/optim/optimizer.rs: `sgd`,
// `rmsprop`, `sgd_momentum` without Nesterov), so that the results are identical.

/// pSGLD's per-step constants: RMSprop's, and the noise scale σ.
#[derive(Clone, Copy)]
struct PsgldHyper {
    lr: f32,
    alpha: f32,
    one_minus_alpha: f32,
    eps: f32,
    wd: f32,
    sigma: f32,
}

fn fused<'a, U>(
    params: &'a mut [f32],
    grads: &'a [f32],
    state: &'a mut [f32],
    base: u64,
    update: U,
) -> Fused<'a, U> {
    Fused {
        params,
        grads,
        state,
        base,
        update,
    }
}

// Temperature > 0: the same updates plus noise, fused with the generation of each block of 32
// normals (one pass, no noise buffer) and compiled per instruction set by `dispatch`.

/// One coordinate's noisy update: θ, its gradient, its state (V or b; unused by SGLD) and ξ.
trait Elementwise: Copy {
    /// Whether the update has a state buffer.
    const STATEFUL: bool;
    fn update(self, p: &mut f32, g: f32, state: &mut f32, z: f32);
}

/// An [`Elementwise`] update over the whole buffer, block by block.
struct Fused<'a, U> {
    params: &'a mut [f32],
    grads: &'a [f32],
    /// Empty when the update is stateless.
    state: &'a mut [f32],
    base: u64,
    update: U,
}

impl<U: Elementwise> Kernel for Fused<'_, U> {
    #[inline(always)]
    fn run<G: Gen>(self) {
        let Fused {
            params,
            grads,
            state,
            base,
            update,
        } = self;
        let n = params.len();
        assert!(grads.len() == n && (!U::STATEFUL || state.len() == n));
        let mut z = [0.0f32; BLOCK];
        let mut unused = [0.0f32; BLOCK];
        let full = n / BLOCK;
        // Whole blocks as fixed-size arrays, so that the loop over a block is fully vectorised.
        for b in 0..full {
            G::normals(base, b as u64, &mut z);
            let r = b * BLOCK..(b + 1) * BLOCK;
            let p: &mut [f32; BLOCK] = (&mut params[r.clone()]).try_into().unwrap();
            let g: &[f32; BLOCK] = grads[r.clone()].try_into().unwrap();
            let s: &mut [f32; BLOCK] = if U::STATEFUL {
                (&mut state[r]).try_into().unwrap()
            } else {
                &mut unused
            };
            for i in 0..BLOCK {
                update.update(&mut p[i], g[i], &mut s[i], z[i]);
            }
        }
        let start = full * BLOCK;
        if start < n {
            G::normals(base, full as u64, &mut z);
            for i in start..n {
                let s = if U::STATEFUL {
                    &mut state[i]
                } else {
                    &mut unused[0]
                };
                update.update(&mut params[i], grads[i], s, z[i - start]);
            }
        }
    }
}

/// SGLD: θ ← (θ − γ(ḡ + λθ/N)) + σξ.
#[derive(Clone, Copy)]
struct Sgld<const WD: bool> {
    lr: f32,
    wd: f32,
    sigma: f32,
}

impl<const WD: bool> Elementwise for Sgld<WD> {
    const STATEFUL: bool = false;
    #[inline(always)]
    fn update(self, p: &mut f32, g: f32, _: &mut f32, z: f32) {
        let g = decayed::<WD>(g, *p, self.wd);
        *p = (*p - self.lr * g) + self.sigma * z;
    }
}

/// pSGLD: V ← αV + (1 − α)g²; G = 1/(λ_p + √V); θ ← (θ − γ(g·G)) + σ(√G·ξ).
#[derive(Clone, Copy)]
struct Psgld<const WD: bool>(PsgldHyper);

impl<const WD: bool> Elementwise for Psgld<WD> {
    const STATEFUL: bool = true;
    #[inline(always)]
    fn update(self, p: &mut f32, g: f32, v: &mut f32, z: f32) {
        let h = self.0;
        let g = decayed::<WD>(g, *p, h.wd);
        *v = flush(h.alpha * *v + h.one_minus_alpha * (g * g));
        let precond = 1.0 / (v.sqrt() + h.eps);
        *p = (*p - h.lr * (g * precond)) + h.sigma * (precond.sqrt() * z);
    }
}

/// SGHMC: b ← (μb + g) + σξ; θ ← θ − γb.
#[derive(Clone, Copy)]
struct Sghmc<const WD: bool> {
    lr: f32,
    mu: f32,
    wd: f32,
    sigma: f32,
}

impl<const WD: bool> Elementwise for Sghmc<WD> {
    const STATEFUL: bool = true;
    #[inline(always)]
    fn update(self, p: &mut f32, g: f32, b: &mut f32, z: f32) {
        let g = decayed::<WD>(g, *p, self.wd);
        *b = flush((self.mu * *b + g) + self.sigma * z);
        *p -= self.lr * *b;
    }
}
