//! Speed of SG-MCMC against its optimizer twins (`bayeslab bench --sampling`): full training
//! steps (forward, backward, update) of the pSGLD paper's 784-400-400-10 ReLU MLP, batch 100, with
//! SGD, SGLD, RMSprop and pSGLD on one BLAS thread; the updates alone on its 478,410 parameters;
//! and the normal generator's rate.
//!
//! Targets (issue 10): a pSGLD step ≤ 1.2× an RMSprop step, an SGLD step ≤ 1.1× an SGD step, and
//! normals ≥ 2.5× PyTorch's `torch.randn` (about 400 M/s on one thread of the reference machine;
//! `scripts/torch_sgmcmc_bench.py` measures it and the PyTorch steps here, to be run beside this).
//! The machines are shared, so each sampler is timed in slices alternating with its twin's and
//! only the ratios of one run compare.
//!
//! This module only measures; it changes nothing but the BLAS thread count, which it restores.

use super::training::{rate, wide_mlp};
use crate::nn::{Mode, Network, Targets, blas_threads, set_blas_threads};
use crate::noise::{Isa, NormalStream};
use crate::optim::{Optimizer, OptimizerConfig};
use crate::rng::rng_from_seed;
use crate::sgmcmc::{NoiseConvention, Posterior, Sampler, SamplerConfig};
use ndarray::Array2;
use rand::RngExt;
use std::fmt;
use std::time::{Duration, Instant};

/// One figure: a rate, or a ratio of step times with its target.
#[derive(Clone, Debug, PartialEq)]
pub struct SamplingFigure {
    /// What was measured, e.g. `mlp step psgld`.
    pub name: String,
    /// The rate (per second) or the ratio.
    pub value: f64,
    /// `steps/s`, `updates/s`, `normals/s` or `x` (a ratio of times).
    pub unit: &'static str,
    /// For ratios: the largest value the target allows (`≤`); for the generator: the smallest
    /// (`≥`, in normals/s).
    pub target: Option<Target>,
}

/// A target a figure must meet.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Target {
    AtMost(f64),
    AtLeast(f64),
}

impl Target {
    /// Whether `value` meets the target.
    pub fn met(self, value: f64) -> bool {
        match self {
            Target::AtMost(t) => value <= t,
            Target::AtLeast(t) => value >= t,
        }
    }
}

/// The MNIST experiment's posterior size: N = 60,000.
const N_DATA: usize = 60_000;
/// PyTorch's `torch.randn` rate on one thread of the reference machine (issue 10).
const TORCH_RANDN: f64 = 400e6;

/// The optimizers and samplers timed, with the paper's hyperparameters (lr 1e-3, α = 0.99,
/// λ = 1e-5) and the prior as weight decay 1/N.
fn methods() -> Vec<(&'static str, Method)> {
    let posterior = Posterior {
        n_data: N_DATA,
        prior_precision: 1.0,
    };
    let sgld = SamplerConfig::Sgld {
        lr: 1e-3,
        temperature: 1.0,
        noise: NoiseConvention::Posterior,
    };
    let psgld = SamplerConfig::Psgld {
        lr: 1e-3,
        alpha: 0.99,
        lambda: 1e-5,
        temperature: 1.0,
        noise: NoiseConvention::Posterior,
    };
    vec![
        ("sgd", Method::Optimizer(sgld.twin(&posterior))),
        ("sgld", Method::Sampler(sgld, posterior)),
        ("rmsprop", Method::Optimizer(psgld.twin(&posterior))),
        ("psgld", Method::Sampler(psgld, posterior)),
    ]
}

#[derive(Clone)]
enum Method {
    Optimizer(OptimizerConfig),
    Sampler(SamplerConfig, Posterior),
}

/// An update of either kind over the flat parameters.
enum Update {
    Optimizer(Optimizer),
    Sampler(Box<Sampler>),
}

impl Update {
    fn new(method: &Method, n: usize) -> Self {
        match method {
            Method::Optimizer(c) => Update::Optimizer(Optimizer::new(c, n)),
            Method::Sampler(c, p) => {
                Update::Sampler(Box::new(Sampler::new(c, n, *p, NormalStream::new(17))))
            }
        }
    }

    fn step(&mut self, params: &mut [f32], grads: &[f32]) {
        match self {
            Update::Optimizer(o) => o.step(params, grads, 1e-3),
            Update::Sampler(s) => s.step(params, grads, 1e-3, 1.0),
        }
    }
}

/// Calls per second of `f(0)` and `f(1)`, timed in alternating slices of about 20 ms for at least
/// 3 s in all, so that both see the same background load: the ratio of the two is then fair on a
/// shared machine even when the absolute rates drift.
pub(crate) fn paired_rates(mut f: impl FnMut(usize)) -> [f64; 2] {
    let warm = Instant::now();
    while warm.elapsed() < Duration::from_millis(300) {
        f(0);
        f(1);
    }
    let per_call = |f: &mut dyn FnMut(usize), which| {
        let t = Instant::now();
        f(which);
        t.elapsed().as_secs_f64()
    };
    let slice = 0.02 / per_call(&mut f, 0).max(per_call(&mut f, 1)).max(1e-9);
    let k = (slice as usize).max(1);
    let (mut time, mut calls) = ([0.0f64; 2], [0usize; 2]);
    while time[0] + time[1] < 3.0 {
        for which in 0..2 {
            let t = Instant::now();
            for _ in 0..k {
                f(which);
            }
            time[which] += t.elapsed().as_secs_f64();
            calls[which] += k;
        }
    }
    [calls[0] as f64 / time[0], calls[1] as f64 / time[1]]
}

/// Measures everything (about 15 s): for each twin and sampler, full training steps and the
/// updates alone, paired (`paired_rates`); then the generator.
pub fn run_sampling_benchmarks() -> Vec<SamplingFigure> {
    let saved = blas_threads();
    set_blas_threads(1);
    let cfg = wide_mlp();
    let mut rng = rng_from_seed(2026);
    let mut net = Network::mlp(&cfg);
    let init = net.init_params(&mut rng);
    let n = net.n_params();
    let batch = 100;
    let x = Array2::from_shape_fn((batch, cfg.input_dim), |_| rng.random::<f32>());
    let y: Vec<u32> = (0..batch).map(|_| rng.random_range(0..10u32)).collect();
    let methods = methods();
    let mut step_rates = vec![0.0f64; methods.len()];
    let mut update_rates = vec![0.0f64; methods.len()];
    for pair in [[0, 1], [2, 3]] {
        let mut params = [init.clone(), init.clone()];
        let mut grads = vec![0.0f32; n];
        let mut updates = pair.map(|k| Update::new(&methods[k].1, n));
        let mut step_rng = rng.clone();
        let steps = paired_rates(|which| {
            net.loss_grad(
                &params[which],
                &mut grads,
                x.view(),
                Targets::Class(&y),
                Mode::Train,
                &mut step_rng,
            );
            updates[which].step(&mut params[which], &grads);
        });
        let alone = paired_rates(|which| updates[which].step(&mut params[which], &grads));
        for (i, &k) in pair.iter().enumerate() {
            step_rates[k] = steps[i];
            update_rates[k] = alone[i];
        }
    }
    set_blas_threads(saved);
    let stream = NormalStream::new(5);
    let mut buf = vec![0.0f32; 1 << 20];
    let mut t = 0u64;
    let fill = rate(|| {
        stream.fill(t, &mut buf);
        t += 1;
    }) * buf.len() as f64;
    let add = rate(|| {
        stream.add_scaled(t, &mut buf, 1e-3);
        t += 1;
    }) * buf.len() as f64;

    let mut out = Vec::new();
    let isa = Isa::detect().name();
    out.push(SamplingFigure {
        name: format!("normals NormalStream::fill 1M ({isa})"),
        value: fill,
        unit: "normals/s",
        target: Some(Target::AtLeast(2.5 * TORCH_RANDN)),
    });
    out.push(SamplingFigure {
        name: format!("normals NormalStream::add_scaled 1M ({isa})"),
        value: add,
        unit: "normals/s",
        target: None,
    });
    for ((name, _), &steps) in methods.iter().zip(&step_rates) {
        out.push(SamplingFigure {
            name: format!("mlp 784-400-400-10 b100 step {name}"),
            value: steps,
            unit: "steps/s",
            target: None,
        });
    }
    for ((name, _), &updates) in methods.iter().zip(&update_rates) {
        out.push(SamplingFigure {
            name: format!("update only, {n} params, {name}"),
            value: updates,
            unit: "updates/s",
            target: None,
        });
    }
    // Ratios of times: time(sampler)/time(twin) = rate(twin)/rate(sampler).
    for (sampler, twin, limit) in [(1, 0, 1.1), (3, 2, 1.2)] {
        out.push(SamplingFigure {
            name: format!("step time {} / {}", methods[sampler].0, methods[twin].0),
            value: step_rates[twin] / step_rates[sampler],
            unit: "x",
            target: Some(Target::AtMost(limit)),
        });
    }
    for (sampler, twin) in [(1, 0), (3, 2)] {
        out.push(SamplingFigure {
            name: format!("update time {} / {}", methods[sampler].0, methods[twin].0),
            value: update_rates[twin] / update_rates[sampler],
            unit: "x",
            target: None,
        });
    }
    out
}

/// A table of figures, one line each, with the target and whether it is met.
pub struct SamplingReport<'a>(pub &'a [SamplingFigure]);

impl fmt::Display for SamplingReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<52} {:>14} {:>10} {:>16}",
            "benchmark", "value", "unit", "target"
        )?;
        for r in self.0 {
            let target = match r.target {
                Some(t @ Target::AtMost(x)) => format!("<= {x} {}", verdict(t, r.value)),
                Some(t @ Target::AtLeast(x)) if r.unit == "normals/s" => {
                    format!(">= {:.0}M {}", x / 1e6, verdict(t, r.value))
                }
                Some(t @ Target::AtLeast(x)) => format!(">= {x} {}", verdict(t, r.value)),
                None => String::new(),
            };
            let value = if r.unit == "x" {
                format!("{:.3}", r.value)
            } else if r.unit == "normals/s" {
                format!("{:.0}M", r.value / 1e6)
            } else {
                format!("{:.1}", r.value)
            };
            writeln!(
                f,
                "{:<52} {:>14} {:>10} {:>16}",
                r.name, value, r.unit, target
            )?;
        }
        Ok(())
    }
}

fn verdict(target: Target, value: f64) -> &'static str {
    if target.met(value) { "ok" } else { "MISSED" }
}
