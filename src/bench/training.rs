//! Speed measurements of the numeric core, in one run: the machine's sgemm throughput, and
//! training steps of a wide and a tiny MLP (forward, backward and an Adam update) with 1 and more
//! BLAS threads.
//!
//! Reference figures (PyTorch CPU on the 2-core reference machine): sgemm 214 GFLOP/s;
//! 784-400-400-10 ReLU MLP, batch 100, softmax, Adam: 559 steps/s with 2 threads, 330 with 1;
//! 13-50-1 MLP, batch 32, Adam: 5,086 steps/s.
//!
//! This module only measures; it changes nothing but the BLAS thread count, which it restores.

use crate::nn::{
    Activation, HeadKind, Init, MlpConfig, Mode, Network, Targets, blas_threads, gemm,
    set_blas_threads,
};
use crate::optim::{Optimizer, OptimizerConfig};
use crate::rng::{Rng, rng_from_seed};
use ndarray::{Array1, Array2};
use rand::RngExt;
use std::fmt;
use std::time::{Duration, Instant};

/// One measurement.
#[derive(Clone, Debug, PartialEq)]
pub struct BenchResult {
    /// What was measured, e.g. `mlp 784-400-400-10 b100 softmax adam`.
    pub name: String,
    /// BLAS threads in effect.
    pub threads: usize,
    /// Operations per second in `unit`.
    pub rate: f64,
    /// `steps/s` or `calls/s`.
    pub unit: &'static str,
    /// Floating-point operations per second (multiply-add = 2), in units of 10⁹.
    pub gflops: f64,
    /// `gflops` over the sgemm 1024³ GFLOP/s of [`gemm::sgemm`] (the faster backend here) with the
    /// same thread count.
    pub ratio_to_sgemm: f64,
    /// The reference figure for `rate` (PyTorch CPU), when there is one.
    pub reference: Option<f64>,
}

/// Minimum measuring time per figure.
const MIN_TIME: Duration = Duration::from_millis(1000);

/// Runs `f` repeatedly for at least [`MIN_TIME`] after a warm-up and returns calls per second.
pub(super) fn rate(mut f: impl FnMut()) -> f64 {
    let warm = Instant::now();
    while warm.elapsed() < Duration::from_millis(200) {
        f();
    }
    let start = Instant::now();
    let mut n = 0u64;
    // Check the clock every batch of calls so that timing costs nothing for fast calls.
    let mut batch = 1u64;
    loop {
        for _ in 0..batch {
            f();
        }
        n += batch;
        let t = start.elapsed();
        if t >= MIN_TIME {
            return n as f64 / t.as_secs_f64();
        }
        if t < MIN_TIME / 20 {
            batch *= 2;
        }
    }
}

/// Multiply-adds ×2 of one training step of an MLP with layer widths `dims`: forward `X W` per
/// layer, backward `Xᵀ δ` per layer and `δ Wᵀ` for every layer but the first.
pub fn mlp_step_flops(dims: &[usize], batch: usize) -> f64 {
    let per: Vec<f64> = dims
        .windows(2)
        .map(|w| 2.0 * (batch * w[0] * w[1]) as f64)
        .collect();
    let all: f64 = per.iter().sum();
    2.0 * all + (all - per[0])
}

/// Steps per second of training an MLP: `loss_grad` plus an update of the training optimiser
/// ([`Optimizer`], Adam), on a fixed random batch.
fn mlp_steps(cfg: &MlpConfig, batch: usize, rng: &mut Rng) -> f64 {
    let mut net = Network::mlp(cfg);
    let mut params = net.init_params(rng);
    let mut grads = vec![0.0f32; net.n_params()];
    let config = OptimizerConfig::Adam {
        lr: 1e-4,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.0,
    };
    let mut adam = Optimizer::new(&config, net.n_params());
    let x = Array2::from_shape_fn((batch, cfg.input_dim), |_| rng.random::<f32>());
    let yr = Array1::from_shape_fn(batch, |_| rng.random::<f32>());
    let classes = cfg.output_dim as u32;
    let yc: Vec<u32> = (0..batch).map(|_| rng.random_range(0..classes)).collect();
    let y = if cfg.head == HeadKind::Softmax {
        Targets::Class(&yc)
    } else {
        Targets::Real(yr.view())
    };
    let mut step_rng = rng.clone();
    rate(|| {
        net.loss_grad(&params, &mut grads, x.view(), y, Mode::Train, &mut step_rng);
        adam.step(&mut params, &grads, 1e-4);
    })
}

/// Which GEMM path to measure.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Backend {
    Blas,
    MatrixMultiply,
    /// [`gemm::sgemm`]: the size dispatch the networks use.
    Dispatch,
}

/// sgemm `m×n×k` (row-major, no transposes) GFLOP/s through `backend`.
fn sgemm_gflops(m: usize, n: usize, k: usize, backend: Backend, rng: &mut Rng) -> f64 {
    let a: Vec<f32> = (0..m * k).map(|_| rng.random::<f32>()).collect();
    let b: Vec<f32> = (0..k * n).map(|_| rng.random::<f32>()).collect();
    let mut c = vec![0.0f32; m * n];
    let f = match backend {
        Backend::Blas => gemm::sgemm_blas,
        Backend::MatrixMultiply => gemm::sgemm_mm,
        Backend::Dispatch => gemm::sgemm,
    };
    let r = rate(|| f(false, false, m, n, k, 1.0, &a, k, &b, n, 0.0, &mut c, n));
    r * 2.0 * (m * n * k) as f64 / 1e9
}

/// The wide MLP of the reference: 784-400-400-10, ReLU, softmax.
pub fn wide_mlp() -> MlpConfig {
    MlpConfig {
        input_dim: 784,
        output_dim: 10,
        hidden: vec![400, 400],
        activation: Activation::Relu,
        init: Init::He,
        dropout: 0.0,
        head: HeadKind::Softmax,
        noise_precision: 1.0,
    }
}

/// The tiny MLP of the reference: 13-50-1, ReLU, Gaussian with fixed noise.
pub fn tiny_mlp() -> MlpConfig {
    MlpConfig {
        input_dim: 13,
        output_dim: 1,
        hidden: vec![50],
        activation: Activation::Relu,
        init: Init::He,
        dropout: 0.0,
        head: HeadKind::GaussianFixed,
        noise_precision: 1.0,
    }
}

/// Measures, for each BLAS thread count in `threads`: sgemm 1024³ GFLOP/s (OpenBLAS, and the
/// size dispatch of [`gemm::sgemm`]), the wide
/// MLP (784-400-400-10, batch 100, softmax, Adam) and the tiny MLP (13-50-1, batch 32,
/// gaussian_fixed, Adam) in steps/s, effective GFLOP/s and ratio to sgemm; and, once with one
/// thread, the GEMM shapes of both MLPs through `matrixmultiply` and OpenBLAS (the measurement
/// behind [`gemm::SMALL_WORK`]). Restores the BLAS thread count.
pub fn run_benchmarks(threads: &[usize]) -> Vec<BenchResult> {
    let saved = blas_threads();
    let mut rng = rng_from_seed(2026);
    let mut out = Vec::new();
    let mut gemm_rate_1 = f64::NAN;
    for &t in threads {
        set_blas_threads(t);
        let blas = sgemm_gflops(1024, 1024, 1024, Backend::Blas, &mut rng);
        let peak = sgemm_gflops(1024, 1024, 1024, Backend::Dispatch, &mut rng);
        if t == 1 {
            gemm_rate_1 = peak;
        }
        for (name, gf) in [
            ("sgemm 1024x1024x1024 openblas", blas),
            ("sgemm 1024x1024x1024 nn::gemm::sgemm", peak),
        ] {
            out.push(BenchResult {
                name: name.into(),
                threads: t,
                rate: gf * 1e9 / (2.0 * 1024f64.powi(3)),
                unit: "calls/s",
                gflops: gf,
                ratio_to_sgemm: gf / peak,
                reference: Some(214.0e9 / (2.0 * 1024f64.powi(3))),
            });
        }
        for (name, cfg, batch, reference) in [
            (
                "mlp 784-400-400-10 b100 relu softmax adam",
                wide_mlp(),
                100,
                if t == 1 { 330.0 } else { 559.0 },
            ),
            (
                "mlp 13-50-1 b32 relu gaussian_fixed adam",
                tiny_mlp(),
                32,
                5086.0,
            ),
        ] {
            let steps = mlp_steps(&cfg, batch, &mut rng);
            let mut dims = vec![cfg.input_dim];
            dims.extend(&cfg.hidden);
            dims.push(1.max(cfg.output_dim));
            let gf = steps * mlp_step_flops(&dims, batch) / 1e9;
            out.push(BenchResult {
                name: name.into(),
                threads: t,
                rate: steps,
                unit: "steps/s",
                gflops: gf,
                ratio_to_sgemm: gf / peak,
                reference: Some(reference),
            });
        }
    }
    // Backend crossover on the layer shapes (m, n, k) of both MLPs, one thread.
    set_blas_threads(1);
    for (m, n, k) in [
        (32, 50, 13),
        (13, 50, 32),
        (32, 1, 50),
        (100, 400, 784),
        (784, 400, 100),
        (100, 400, 400),
        (100, 10, 400),
    ] {
        for (backend, label) in [
            (Backend::MatrixMultiply, "matrixmultiply"),
            (Backend::Blas, "openblas"),
        ] {
            let gf = sgemm_gflops(m, n, k, backend, &mut rng);
            out.push(BenchResult {
                name: format!("sgemm {m}x{n}x{k} {label}"),
                threads: 1,
                rate: gf * 1e9 / (2.0 * (m * n * k) as f64),
                unit: "calls/s",
                gflops: gf,
                ratio_to_sgemm: gf / gemm_rate_1,
                reference: None,
            });
        }
    }
    set_blas_threads(saved);
    out
}

/// A table of results, one line each.
pub struct Report<'a>(pub &'a [BenchResult]);

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<46} {:>3} {:>14} {:>9} {:>9} {:>10} {:>8}",
            "benchmark", "thr", "rate", "unit", "GFLOP/s", "/sgemm", "vs ref"
        )?;
        for r in self.0 {
            let vs = r
                .reference
                .map(|x| format!("{:.2}x", r.rate / x))
                .unwrap_or_default();
            writeln!(
                f,
                "{:<46} {:>3} {:>14.1} {:>9} {:>9.1} {:>10.3} {:>8}",
                r.name, r.threads, r.rate, r.unit, r.gflops, r.ratio_to_sgemm, vs
            )?;
        }
        Ok(())
    }
}

/// Prints the table of [`run_benchmarks`] results to standard output.
pub fn print_report(results: &[BenchResult]) {
    print!("{}", Report(results));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_flops_of_the_tiny_mlp() {
        // 13-50-1, batch 32: per layer 2·32·650 = 41,600 and 2·32·50 = 3,200; forward 44,800,
        // weight gradients 44,800, input gradient of the second layer 3,200.
        assert_eq!(mlp_step_flops(&[13, 50, 1], 32), 92_800.0);
    }
}
