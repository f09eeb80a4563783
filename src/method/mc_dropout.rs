//! `mc_dropout`: Monte Carlo dropout (Gal & Ghahramani 2016, "Dropout as a Bayesian
//! approximation: representing model uncertainty in deep learning", ICML). The network trains
//! exactly as a point method with dropout (`model.dropout`); its predictive keeps dropout on
//! and averages T stochastic forward passes,
//!
//! ```text
//! p(y | x) ≈ 1/T Σ_t p(y | x, θ ⊙ m_t),     m_t ~ Bernoulli(1 − p) masks, fresh per pass
//! ```
//!
//! folded into the predictive one pass at a time (`passes` = T, default 100). For regression
//! each pass is a Gaussian, so the predictive is their equal mixture: with the fixed-precision
//! head (`head = "gaussian_fixed"`, `model.noise_precision` = τ) its variance is τ⁻¹ plus the spread of
//! the passes' means, the paper's estimator; the learned and heteroscedastic heads work too.
//!
//! The evaluation masks come from their own stream (named after the evaluation epoch), never
//! the training one, so scoring does not move training and the same masks are drawn however
//! often a run is evaluated. At the last evaluation the predictive is also scored after 1, 2, 4,
//! … passes (`samples` column). With `dropout = 0` every pass is the same network and the
//! predictive equals the point method's exactly.

use crate::optim::{Optimizer, OptimizerConfig};

use super::driver::{self, Chain, Evaluation};
use super::{MethodOutput, RunError, RunInput, Trainer};

/// Trains for `train.epochs` as [`super::point`] does and evaluates with `passes` dropout
/// passes every `train.eval_every` epochs and after the last.
pub fn run(
    input: &RunInput,
    optimizer: &OptimizerConfig,
    passes: usize,
) -> Result<MethodOutput, RunError> {
    let trainer = Trainer::new(input.config, &input.data.train, optimizer.lr());
    let rule = Box::new(Optimizer::new(optimizer, trainer.params.len()));
    driver::train(
        input,
        &mut [Chain { trainer, rule }],
        &Evaluation::McDropout { passes },
    )
}

#[cfg(test)]
mod tests {
    use ndarray::Array2;

    use crate::data::Standardizer;
    use crate::nn::{Activation, HeadKind, HeadOutput, Init, MlpConfig, Mode, Network};
    use crate::predictive::{Predictive, Summary};
    use crate::rng::rng_from_seed;

    const TAU: f32 = 4.0;

    /// A 1-16-16-1 tanh network with the fixed-precision head and dropout `p`, random weights
    /// (every one non-zero, the output layer's too), and 5 inputs.
    fn network(p: f32) -> (Network, Vec<f32>, Array2<f32>) {
        let net = Network::mlp(&MlpConfig {
            input_dim: 1,
            output_dim: 1,
            hidden: vec![16, 16],
            activation: Activation::Tanh,
            init: Init::Xavier,
            dropout: p,
            head: HeadKind::GaussianFixed,
            noise_precision: TAU,
        });
        let params: Vec<f32> = (0..net.n_params())
            .map(|i| ((i * 7919 % 101) as f32 / 101.0 - 0.5) * 1.5)
            .collect();
        let x = Array2::from_shape_fn((5, 1), |(i, _)| i as f32 - 2.0);
        (net, params, x)
    }

    /// The predictive of `passes` dropout passes with masks from `seed`: per example (mean, std).
    fn mc_predictive(p: f32, passes: usize, seed: u64) -> Vec<(f64, f64)> {
        let (mut net, params, x) = network(p);
        let scaler = Standardizer {
            x_mean: vec![0.0],
            x_std: vec![1.0],
            y_mean: 0.0,
            y_std: 1.0,
        };
        let mut predictive = Predictive::unlabelled(5, None, &scaler);
        let mut out = HeadOutput::Gaussian {
            mean: Vec::new(),
            var: Vec::new(),
        };
        let mut rng = rng_from_seed(seed);
        for _ in 0..passes {
            net.predict(&params, x.view(), Mode::McSample, &mut rng, &mut out);
            predictive.add(&out);
        }
        predictive
            .summaries()
            .into_iter()
            .map(|s| match s {
                Summary::Gaussian { mean, std } => (mean, std),
                Summary::Categorical { .. } => unreachable!("a regression head"),
            })
            .collect()
    }

    #[test]
    fn without_dropout_the_passes_are_the_network_and_with_it_they_spread() {
        let noise_std = f64::from(1.0 / TAU).sqrt();
        let (mut net, params, x) = network(0.0);
        let mut out = HeadOutput::Gaussian {
            mean: Vec::new(),
            var: Vec::new(),
        };
        net.predict(
            &params,
            x.view(),
            Mode::Eval,
            &mut rng_from_seed(0),
            &mut out,
        );
        let HeadOutput::Gaussian { mean, .. } = &out else {
            unreachable!()
        };
        let exact: Vec<(f64, f64)> = mean.iter().map(|&m| (f64::from(m), noise_std)).collect();
        let p0 = mc_predictive(0.0, 50, 3);
        for (got, want) in p0.iter().zip(&exact) {
            assert_eq!(got.0, want.0, "p = 0: the mean is the network's");
            assert!(
                (got.1 - want.1).abs() < 1e-7,
                "p = 0: only the noise, {got:?}"
            );
        }
        // p > 0: the passes disagree, so the predictive std exceeds the noise's 1/sqrt(tau).
        for (mean, std) in mc_predictive(0.3, 50, 3) {
            assert!(mean.is_finite());
            assert!(std > noise_std * (1.0 + 1e-3), "{std} vs {noise_std}");
        }
    }

    /// The Monte Carlo error of the predictive mean falls like 1/T: over 40 independent mask
    /// streams, the variance of example 0's mean at T = 64 is about 1/16 of that at T = 4. The
    /// bound 1/4 leaves room for the sampling error of two 40-draw variance estimates (their
    /// ratio stays below 4× its expectation with overwhelming probability).
    #[test]
    fn the_monte_carlo_error_shrinks_as_passes_grow() {
        let spread = |passes: usize| {
            let means: Vec<f64> = (0..40)
                .map(|seed| mc_predictive(0.3, passes, 100 + seed)[0].0)
                .collect();
            let m = means.iter().sum::<f64>() / means.len() as f64;
            means.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (means.len() - 1) as f64
        };
        let (few, many) = (spread(4), spread(64));
        assert!(few > 0.0);
        assert!(many < few / 4.0, "T = 4: {few}, T = 64: {many}");
    }
}
