//! Stochastic-gradient MCMC: SGLD, pSGLD, SGHMC and the cyclical schedule, as one-step updates
//! over the flat parameter buffer, and the convergence diagnostics of their chains.
//!
//! This module owns the numerics of sampling: the update rules ([`Sampler::step`]), their
//! configuration and checks ([`SamplerConfig`], [`PriorConfig`], [`Posterior`]), the phases of the
//! cyclical schedule ([`CyclicalSchedule`]) and ESS / R̂ ([`diagnostics`]). It must not own a
//! training loop, burn-in, thinning, sample storage or evaluation: the step-level driver calls
//! `step` and decides which states are samples. Step sizes come from
//! [`crate::optim::Schedule`], evaluated by the caller exactly as for optimizers — it already has
//! every schedule the samplers need: `constant`, `polynomial` ε_t = a(b + t)^−γ (Welling & Teh's
//! decreasing steps) and `cyclic_cosine` (the factor of cyclical SG-MCMC); nothing is duplicated
//! here. Noise comes from the counter-based [`crate::noise::NormalStream`].
//!
//! # The target
//! With N training examples, likelihood p(y | x, θ), an isotropic Gaussian prior N(0, λ⁻¹I) of
//! precision λ and temperature T, the samplers target
//! ```text
//! p_T(θ | D) ∝ exp(−U(θ)/T),      U(θ) = −Σᵢ₌₁ᴺ log p(yᵢ | xᵢ, θ) + (λ/2)‖θ‖²
//! ```
//! T = 1 is the Bayesian posterior; T < 1 a "cold" posterior, sharper (variances × T for a
//! Gaussian posterior), its mode as T → 0; T > 1 a warm one.
//!
//! # The parametrisation: `lr` is the optimizer's learning rate
//! The driver hands a sampler exactly what it hands an optimizer: ḡ, the gradient of the *mean*
//! negative log-likelihood over the minibatch B of n examples, and the learning rate γ (the
//! schedule's value at this step). The sampler adds the prior as coupled weight decay λ/N:
//! ```text
//! ḡ = −(1/n) Σ_{i∈B} ∇log p(yᵢ | xᵢ, θ),      g = ḡ + (λ/N)θ,      N·g = ∇Ũ(θ)
//! ```
//! where ∇Ũ is the usual unbiased minibatch estimate of ∇U. The papers write the update with a
//! step size ε and ∇log p̃(θ) = −∇Ũ(θ) = ∇log p(θ) + (N/n) Σ_{i∈B} ∇log p(yᵢ | xᵢ, θ); then
//! ```text
//! ε/2 · ∇log p̃(θ) = −γ·g      ⇔      ε = 2γ/N,   γ = Nε/2
//! ```
//! So `lr` is the same number an optimizer would use on the mean loss, and the papers' ε is
//! 2·lr/N: for MNIST's N = 60,000, lr = 1e-3 is ε = 3.3·10⁻⁸, and the posterior noise
//! √(2γT/N) = √(εT) has standard deviation 1.8·10⁻⁴ per step.
//!
//! # The updates (ξ ~ N(0, I) fresh at every step, all operations elementwise)
//! **SGLD** (Welling & Teh 2011, "Bayesian learning via stochastic gradient Langevin dynamics",
//! eq. 4, tempered): θ ← θ + ε/2·∇log p̃(θ) + N(0, εT), that is
//! ```text
//! θ ← θ − γ·g + √(2γT/N)·ξ
//! ```
//! **pSGLD** (Li, Chen, Carlson & Carin 2016, "Preconditioned stochastic gradient Langevin
//! dynamics for deep neural networks", AAAI, Alg. 1) with RMSprop's decay α and regulariser
//! λ_p (spec keys `alpha`, `lambda`): V ← αV + (1 − α)ḡ⊙ḡ, G = diag(1 ⊘ (λ_p + √V)),
//! θ ← θ + ε/2·(G∇log p̃(θ) + Γ(θ)) + N(0, εTG); with Γ dropped,
//! ```text
//! V ← αV + (1 − α)·g⊙g;      G = 1 ⊘ (λ_p + √V);      θ ← θ − γ·G⊙g + √(2γT/N · G)⊙ξ
//! ```
//! - The Γ term, Γᵢ(θ) = Σⱼ ∂G_ij/∂θⱼ, corrects for the preconditioner's dependence on θ. Li et
//!   al. argue that it is small when α is close to 1 (V then changes slowly and depends on θ only
//!   through a long history) and drop it; so do we. The bias is real when V's memory, 1/(1 − α)
//!   steps, is as short as the chain's mixing time: in the conjugate test it widens the posterior
//!   by 16% at α = 0.99 and by 2% at α = 0.9999.
//! - V averages the squared *full* mean-loss gradient g, prior term included — as RMSprop with
//!   weight decay does and as the authors' code does (it adds the weight decay before updating
//!   V); Alg. 1 writes the likelihood gradient alone, a difference of λθ/N per coordinate.
//! - V starts at 0, as RMSprop's (the authors' MATLAB code starts it at g₁²; the two agree after
//!   a few multiples of 1/(1 − α) steps).
//! - At T > 0, G is computed once per coordinate and the drift as γ·(g·G); it can differ by an
//!   ulp from RMSprop's γ·(g/(λ_p + √V)), which the T = 0 path keeps exactly.
//!
//! **SGHMC** (Chen, Fox & Guestrin 2014, "Stochastic gradient Hamiltonian Monte Carlo", ICML) in
//! the momentum-SGD form of its Sec. 3.3, eq. 15, with friction C and the gradient-noise estimate
//! B̂ (default 0):
//! ```text
//! Δθ = v,      Δv = −η∇Ũ(θ) − αv + N(0, 2(α − β̂)η),      η = ε²M⁻¹,  α = εM⁻¹C,  β̂ = εM⁻¹B̂
//! ```
//! (M the mass; B̂ = ½εV̂ for V̂ the covariance of ∇Ũ's noise, so β̂ = ½ηV̂). Write the velocity in
//! PyTorch's momentum-buffer units, v = −γb, and match η∇Ũ = γg (η = γ/N) and 1 − α = μ. Then
//! Δv's noise N(0, 2(α − β̂)ηT) (tempered) becomes N(0, 2(1 − μ − β̂)T/(γN)) on b:
//! ```text
//! b ← μ·b + g + √(2(1 − μ − β̂)T/(γN))·ξ;      θ ← θ − γ·b
//! ```
//! The friction per step is 1 − μ (= εM⁻¹C); the injected noise on θ is γ times the above,
//! √(2(1 − μ − β̂)γT/N). At μ = 0, β̂ = 0 this is SGLD in distribution (θ ← θ − γg − √(2γT/N)ξ);
//! as μ → 1 the same temperature needs less noise per step because momentum integrates it. The
//! ordering (gradient at the current θ, then the momentum, then θ) is PyTorch's; Chen et al.'s
//! (θ first, then v at the new θ) is the same sequence shifted by half a step. Zhang et al.'s
//! cyclical SGHMC code adds exactly this noise, √(2(1 − μ)T/(γN)) in gradient units. With a
//! learning rate that changes, this form rescales the velocity by γ_t/γ_{t−1} at each step (as
//! PyTorch's momentum SGD does), which matters at a cyclical restart; see
//! [`Sampler::reset_momentum`].
//!
//! **Cyclical SGLD / SGHMC** (Zhang, Li, Zhang, Chen & Wilson 2020, "Cyclical stochastic gradient
//! MCMC for Bayesian deep learning", ICLR): the same updates with the cosine factor of
//! [`CyclicalSchedule`] on `lr`, temperature 0 during each cycle's exploration phase and the
//! configured temperature in its sampling phase, a sample at each cycle's end.
//!
//! # Temperature 0: the optimizer twins, bit for bit
//! With T = 0 the noise term is skipped entirely (no draw) and the update runs the same f32
//! operations in the same order as [`crate::optim::Optimizer`] with the config
//! [`SamplerConfig::twin`] returns — λ/N rounded to f32 from f64, as the optimizer rounds its
//! `weight_decay`:
//!
//! | sampler | twin (`OptimizerConfig`) |
//! |---|---|
//! | `sgld { lr }` | `sgd { lr, weight_decay = λ/N }` |
//! | `psgld { lr, alpha, lambda }` | `rmsprop { lr, alpha, eps = lambda, weight_decay = λ/N }` |
//! | `sghmc { lr, momentum }` | `sgd { lr, momentum, weight_decay = λ/N }` (PyTorch's b ← μb + g) |
//!
//! so "pSGLD vs RMSprop at seed 3" differs only by the noise.
//!
//! # Noise conventions: `noise = "posterior" | "reference_code"`
//! The authors' published code departs from their papers: with a mean-loss gradient it divides
//! the noise standard deviation by N instead of √N, which targets p(θ | D)^(N/T) — for N = 60,000
//! a posterior 60,000 times colder, close to optimisation with a little jitter. Both forms are
//! offered:
//!
//! | `noise` | SGLD noise on θ | pSGLD noise on θ | SGHMC noise on b | effective temperature |
//! |---|---|---|---|---|
//! | `posterior` (default) | √(2γT/N)·ξ | √(2γT·G/N)·ξ | √(2(1−μ−β̂)T/(γN))·ξ | T |
//! | `reference_code` | √(2γT)/N·ξ | √(2γT·G)/N·ξ | √(2(1−μ−β̂)T/γ)/N·ξ | T/N |
//!
//! That is, `reference_code` runs the posterior form at T_eff = T/N. What each published code does,
//! read from the sources (γ its learning rate on a batch-mean loss, N its training-set size):
//!
//! | code | noise | in our terms |
//! |---|---|---|
//! | Li et al., pSGLD MATLAB (`ChunyuanLI/pSGLD`, `SGLD_RMSprop.m`), weight decay 1/N | √(2γG)/N·ξ, G = 1/(λ_p + √V) | `reference_code`, T = 1 (T_eff = 1/N) |
//! | the same repository, `SGLD.m` | √(2γ)/N·ξ | `reference_code`, T = 1 |
//! | Gan et al. 2017, Torch PTB code (`zhegan27/Bayesian_RNN`, `sgld.lua`): the gradient of the per-chunk loss (35 tokens, batch mean), N = the number of chunks | √(2γ)/N·ξ | `reference_code`, T = 1 |
//! | Gan et al. 2017, Theano `pSGLD` (`model/optimizers.py`) | 2√(γ/G̃)/N·ξ, G̃ = √(V + ε) | `reference_code`, T = 2 (T_eff = 2/N) |
//! | Gan et al. 2017, Theano `SGLD` | √(2γ/N)·ξ | `posterior`, T = 1 |
//! | Zhang et al. 2020, cSG-MCMC (`ruqizhang/csgmcmc`), default temperature 1/N | √(2(1−μ)T/(γN)) on b | `posterior` with T = 1/N, i.e. `reference_code`, T = 1 |
//!
//! Beyond the noise scale these codes differ in details this module does not reproduce: Gan's
//! Theano updates use θ − γ(g − θ/N), a prior gradient of the opposite sign to a Gaussian prior's,
//! and precondition by 1/√(V + ε) (ε inside the root, ρ = 0.9); Li's MATLAB starts V at g₁².
//!
//! # References
//! Welling & Teh, ICML 2011. Li, Chen, Carlson & Carin, AAAI 2016. Chen, Fox & Guestrin, ICML 2014.
//! Zhang, Li, Zhang, Chen & Wilson, ICLR 2020. Gan, Li, Chen, Pu, Su & Carin, ACL 2017.
//! Diagnostics: Vehtari, Gelman, Simpson, Carpenter & Bürkner, Bayesian Analysis 2021; Geyer,
//! Statistical Science 1992.

mod config;
mod cyclical;
pub mod diagnostics;
mod sampler;

pub use config::{NoiseConvention, Posterior, PriorConfig, SamplerConfig};
pub use cyclical::{CyclicalSchedule, Phase};
pub use sampler::Sampler;

#[cfg(test)]
mod tests;
