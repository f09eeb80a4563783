//! Neural-network core: layers, heads (losses), initialisation, the flat parameter buffer and
//! gradient checks.
//!
//! A [`Network`] is a stack of [`Layer`]s ending in a [`Head`]. All its parameters live in one flat
//! `f32` buffer owned by the caller (an optimizer step is one loop over one slice; a snapshot is one
//! copy); each layer reads its own range of it. Backward passes are written by hand per layer and
//! checked by finite differences in the tests, on the f64 build of the same generic code ([`Net`]).
//!
//! This module computes losses, gradients and predictive parameters; it does not own training
//! loops, optimizers, priors or metrics.

pub mod gemm;
mod heads;
mod init;
mod layers;
mod network;

#[cfg(test)]
mod gradcheck;

pub use gemm::{Real, blas_threads, set_blas_threads};
pub use heads::{
    AnyHead, GaussianFixedHead, GaussianHead, GaussianLearnedHead, Head, LOG_VAR_BOUND, SoftmaxHead,
};
pub use init::fill_weights;
pub use layers::{ActivationLayer, AnyLayer, Dense, Dropout, Layer, Pass};
pub use network::{Net, Network, PREDICT_CHUNK, SharedPrefix};

use ndarray::ArrayView1;

/// The targets of a mini-batch, borrowed: real values for regression, class indices for
/// classification and language modelling.
#[derive(Clone, Copy, Debug)]
pub enum Targets<'a> {
    Real(ArrayView1<'a, f32>),
    Class(&'a [u32]),
}

/// What a forward pass is for. Dropout is active in `Train` and `McSample` (Monte Carlo dropout,
/// Gal & Ghahramani 2016: a fresh mask per predictive sample), off in `Eval`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Train,
    Eval,
    McSample,
}

impl Mode {
    /// Whether stochastic layers (dropout) draw masks in this mode.
    pub fn stochastic(self) -> bool {
        !matches!(self, Mode::Eval)
    }
}

/// Element-wise nonlinearity after each hidden dense layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// `max(x, 0)`.
    Relu,
    /// `tanh(x)`.
    Tanh,
    /// `1 / (1 + e^{−x})`.
    Sigmoid,
    /// `x`.
    Identity,
}

/// Weight initialisation of dense layers (biases start at 0). `fan_in`, `fan_out` are the input
/// and output widths of the layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Init {
    /// Glorot & Bengio (2010, "Understanding the difficulty of training deep feedforward neural
    /// networks", eq. 16), "normalized initialization": `W ~ U[−a, a]`,
    /// `a = √(6 / (fan_in + fan_out))`, so `Var W = 2 / (fan_in + fan_out)`.
    Xavier,
    /// He et al. (2015, "Delving Deep into Rectifiers", eq. 10): `W ~ N(0, 2 / fan_in)`.
    He,
}

/// The likelihood at the end of the network, which defines the loss (mean negative log-likelihood
/// per example) and the predictive parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeadKind {
    /// Heteroscedastic Gaussian: two outputs per target, mean `μ` and log variance `s`;
    /// `NLL = ½(log 2π + s + (y − μ)² e^{−s})` (Nix & Weigend 1994; Lakshminarayanan et al. 2017),
    /// with `s` clamped to `[−30, 30]` so that `e^{s}` stays finite and non-zero in f32.
    Gaussian,
    /// Homoscedastic Gaussian with fixed noise precision `τ` ([`MlpConfig::noise_precision`]):
    /// `NLL = ½(log 2π − log τ + τ (y − μ)²)`.
    GaussianFixed,
    /// Homoscedastic Gaussian with learned log precision `λ = log τ`, one extra parameter at the
    /// end of the flat buffer, initialised at `ln(noise_precision)`:
    /// `NLL = ½(log 2π − λ + e^{λ} (y − μ)²)`.
    GaussianLearned,
    /// Softmax cross-entropy over `output_dim` classes: `NLL = logsumexp(z) − z_y`, computed with
    /// the maximum subtracted so that large logits neither overflow nor lose the answer.
    Softmax,
}

/// A multilayer perceptron: `input_dim → hidden[0] → … → output`, each hidden layer being
/// dense → activation → (inverted) dropout when `dropout > 0`.
#[derive(Clone, Debug, PartialEq)]
pub struct MlpConfig {
    pub input_dim: usize,
    /// Number of classes for [`HeadKind::Softmax`]; 1 for the Gaussian heads.
    pub output_dim: usize,
    pub hidden: Vec<usize>,
    pub activation: Activation,
    pub init: Init,
    /// Dropout probability `p ∈ [0, 1)` after every hidden activation.
    pub dropout: f32,
    pub head: HeadKind,
    /// Noise precision `τ > 0` of the homoscedastic Gaussian heads (fixed, or initial value).
    pub noise_precision: f32,
}

/// Predictive parameters, one entry per input row.
#[derive(Clone, Debug, PartialEq)]
pub enum HeadOutput {
    /// Gaussian mean and variance; the variance is the model's noise variance (`e^{s}`, `1/τ`).
    Gaussian { mean: Vec<f32>, var: Vec<f32> },
    /// Class probabilities, rows × classes, each row summing to 1. In f64, evaluated from the
    /// logits in f64: a confidently wrong class keeps its probability (down to e^-708) instead
    /// of rounding to 0 in f32 at a logit gap of about 100, which would make its NLL the clamp's
    /// 708 rather than the gap.
    Categorical { probs: ndarray::Array2<f64> },
}

impl HeadOutput {
    /// Number of rows held.
    pub fn len(&self) -> usize {
        match self {
            HeadOutput::Gaussian { mean, .. } => mean.len(),
            HeadOutput::Categorical { probs } => probs.nrows(),
        }
    }

    /// Whether no row is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
