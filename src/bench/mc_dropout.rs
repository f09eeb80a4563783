//! Speed of MC-dropout evaluation (`bayeslab bench --mc-dropout`): forward passes of the
//! 784-400-400-10 ReLU MLP with dropout 0.5 after each hidden layer over 10,000 test rows, on one
//! BLAS thread, in `Eval` mode (a plain pass, no masks) and in `McSample` mode (a fresh mask per
//! element, Gal & Ghahramani 2016) as the evaluator runs it (the first layer's outputs, which no
//! mask touches, shared between passes) and with every layer recomputed, each also folded into
//! the categorical predictive as the evaluator does.
//!
//! Targets (issue 11): T = 100 MC-dropout passes ≤ 1.3× the time of 100 plain passes, and
//! MC-dropout passes/s ≥ 2× PyTorch's (5.4 passes/s on one thread of the reference machine,
//! `net.train()` under `torch.no_grad()`; `scripts/torch_sgmcmc_bench.py` measures it here, to be
//! run beside this). The two modes are timed in alternating slices so they see the same load.
//!
//! This module only measures; it changes nothing but the BLAS thread count, which it restores.

use super::sampling::{SamplingFigure, Target, paired_rates};
use super::training::wide_mlp;
use crate::data::{Standardizer, TargetValues};
use crate::nn::{HeadOutput, Mode, Network, SharedPrefix, blas_threads, set_blas_threads};
use crate::predictive::Predictive;
use crate::rng::rng_from_seed;
use ndarray::Array2;
use rand::RngExt;

/// PyTorch's MC-dropout passes per second over 10k rows of this network, one thread of the
/// reference machine (issue 11).
pub const TORCH_MC_PASSES_PER_S: f64 = 5.4;
/// Rows of the test set each pass predicts.
pub const ROWS: usize = 10_000;

/// Passes per second in both modes, the predictive fold's cost, and the ratios against the
/// targets.
pub fn run_mc_dropout_benchmarks() -> Vec<SamplingFigure> {
    let saved = blas_threads();
    set_blas_threads(1);
    let mut cfg = wide_mlp();
    cfg.dropout = 0.5;
    let mut rng = rng_from_seed(2016);
    let mut net = Network::mlp(&cfg);
    let params = net.init_params(&mut rng);
    let x = Array2::from_shape_fn((ROWS, cfg.input_dim), |_| rng.random::<f32>());
    let labels: Vec<u32> = (0..ROWS).map(|_| rng.random_range(0..10u32)).collect();
    let targets = TargetValues::Class {
        labels,
        n_classes: 10,
        names: (0..10).map(|k| k.to_string()).collect(),
    };
    let mut out = HeadOutput::Categorical {
        probs: Array2::zeros((0, 0)),
    };
    let mut mask_rng = rng_from_seed(7);
    let mut predictive = Predictive::new(&targets, &Standardizer::identity(cfg.input_dim));
    // The evaluator's MC pass shares the deterministic first layer's outputs between passes.
    let mut prefix = SharedPrefix::default();
    let mut pass = |net: &mut Network, which: usize, out: &mut HeadOutput| match which {
        0 => net.predict(&params, x.view(), Mode::Eval, &mut mask_rng, out),
        1 => net.predict_sharing_prefix(
            &params,
            x.view(),
            Mode::McSample,
            &mut mask_rng,
            out,
            &mut prefix,
        ),
        _ => net.predict(&params, x.view(), Mode::McSample, &mut mask_rng, out),
    };
    let passes = paired_rates(|which| pass(&mut net, which, &mut out));
    let unshared = paired_rates(|which| pass(&mut net, 2 * which, &mut out));
    let folded = paired_rates(|which| {
        pass(&mut net, which, &mut out);
        predictive.add(&out);
    });
    set_blas_threads(saved);
    vec![
        SamplingFigure {
            name: format!("plain pass (eval), {ROWS} rows"),
            value: passes[0],
            unit: "passes/s",
            target: None,
        },
        SamplingFigure {
            name: format!("mc-dropout pass, {ROWS} rows"),
            value: passes[1],
            unit: "passes/s",
            target: Some(Target::AtLeast(2.0 * TORCH_MC_PASSES_PER_S)),
        },
        SamplingFigure {
            name: "mc-dropout pass, every layer recomputed".into(),
            value: unshared[1],
            unit: "passes/s",
            target: None,
        },
        SamplingFigure {
            name: "mc-dropout pass + predictive fold".into(),
            value: folded[1],
            unit: "passes/s",
            target: None,
        },
        SamplingFigure {
            name: "T=100 mc-dropout / 100 plain passes".into(),
            value: passes[0] / passes[1],
            unit: "x",
            target: Some(Target::AtMost(1.3)),
        },
        SamplingFigure {
            name: "the same, each folded into the predictive".into(),
            value: folded[0] / folded[1],
            unit: "x",
            target: Some(Target::AtMost(1.3)),
        },
        SamplingFigure {
            name: "mc-dropout passes/s / PyTorch (reference machine)".into(),
            value: passes[1] / TORCH_MC_PASSES_PER_S,
            unit: "x",
            target: Some(Target::AtLeast(2.0)),
        },
    ]
}
