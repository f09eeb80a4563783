//! Methods: each turns (model, data, training budget, seed) into predictives, scored by
//! [`crate::predictive`]. The training loop ([`Trainer`]) and the evaluation ([`Evaluator`]) live
//! here once; a method only says what one update does and which weights it keeps
//! (argmin's split of solver and executor). Methods never write files.

pub mod driver;
pub mod ensemble;
pub mod mc_dropout;
pub mod point;
pub mod sgmcmc;
pub mod snapshot;

use std::sync::atomic::{AtomicBool, Ordering};

use ndarray::Array2;

use crate::data::{Batcher, Dataset, Prepared, TargetValues};
use crate::nn::{HeadOutput, MlpConfig, Mode, Network};
use crate::optim::{Schedule, clip_grad_norm};
use crate::predictive::{Predictive, Summary};
use crate::rng::{Rng, rng_from_seed};
use crate::spec::{MethodConfig, ModelKind, RunConfig, default_head};
use crate::store::{MetricRow, PredictionRow, TraceRow};

/// Number of points of the plotting grid for 1-D inputs.
pub const GRID_POINTS: usize = 200;

/// A dense grid of 1-D inputs for predictive bands.
#[derive(Clone, Debug)]
pub struct Grid {
    /// Standardised inputs, one column.
    pub x: Array2<f32>,
    /// The same inputs on the original scale.
    pub input: Vec<f64>,
}

impl Grid {
    /// A grid spanning the training inputs' range widened by a quarter on each side, for data with
    /// one input feature; `None` otherwise.
    pub fn for_1d(data: &Prepared) -> Option<Grid> {
        if data.train.n_features() != 1 || data.train.is_empty() {
            return None;
        }
        let (m, s) = (data.scaler.x_mean[0], data.scaler.x_std[0]);
        let original = data.train.x.column(0).mapv(|v| f64::from(v * s + m));
        let lo = original.iter().cloned().fold(f64::INFINITY, f64::min);
        let hi = original.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let pad = 0.25 * (hi - lo).max(1e-6);
        let input: Vec<f64> = (0..GRID_POINTS)
            .map(|i| lo - pad + (hi - lo + 2.0 * pad) * i as f64 / (GRID_POINTS - 1) as f64)
            .collect();
        let x = Array2::from_shape_fn((GRID_POINTS, 1), |(i, _)| ((input[i] as f32) - m) / s);
        Some(Grid { x, input })
    }
}

/// What a run is given.
pub struct RunInput<'a> {
    pub config: &'a RunConfig,
    pub data: &'a Prepared,
    pub grid: Option<&'a Grid>,
    /// Set when the user interrupts: the run stops at the next batch and writes nothing.
    pub cancel: &'a AtomicBool,
    /// Called after every training epoch (progress bars).
    pub on_epoch: &'a (dyn Fn() + Sync),
    /// Where an ensemble keeps its finished members, so that a run that is stopped and run
    /// again trains only the members it lacks; `None` keeps nothing.
    pub members: Option<&'a dyn ensemble::MemberStore>,
}

/// What a run gives back (the runner adds the run record).
#[derive(Clone, Debug, Default)]
pub struct MethodOutput {
    pub metrics: Vec<MetricRow>,
    pub predictions: Vec<PredictionRow>,
    /// Per-sample scalars of each chain (samplers only).
    pub traces: Vec<TraceRow>,
    pub n_params: u64,
    /// Weight samples (or ensemble members, or masks) in the final predictive.
    pub n_samples: u64,
}

/// Why a run did not finish.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(
        "diverged: the training loss became {loss} at epoch {epoch}, step {step}; \
         lower the learning rate or set train.clip_norm"
    )]
    Diverged {
        epoch: usize,
        step: usize,
        loss: f64,
    },
    #[error("cancelled by the user")]
    Cancelled,
    #[error("{0}")]
    Failed(String),
}

/// Runs the method the configuration names.
pub fn train(input: &RunInput) -> Result<MethodOutput, RunError> {
    match &input.config.method_config {
        MethodConfig::Point { optimizer } => point::run(input, optimizer),
        MethodConfig::McDropout { optimizer, passes } => mc_dropout::run(input, optimizer, *passes),
        MethodConfig::SeedEnsemble { optimizer, members } => {
            ensemble::run(input, optimizer, *members, ensemble::Resampling::None)
        }
        MethodConfig::Bagging { optimizer, members } => {
            ensemble::run(input, optimizer, *members, ensemble::Resampling::Bootstrap)
        }
        MethodConfig::SnapshotEnsemble {
            optimizer,
            cycles,
            keep_last,
        } => snapshot::run(input, optimizer, *cycles, keep_last.unwrap_or(*cycles)),
        MethodConfig::Sgmcmc {
            sampler,
            prior,
            burn_in_epochs,
            burn_in_steps,
            thin,
            max_samples,
            chains,
            cyclical,
            samples_per_cycle,
        } => sgmcmc::run(
            input,
            sampler,
            prior,
            &sgmcmc::Collection {
                burn_in: match burn_in_steps {
                    Some(steps) => sgmcmc::BurnIn::Steps(*steps),
                    None => sgmcmc::BurnIn::Epochs(*burn_in_epochs),
                },
                thin: *thin,
                max_samples: *max_samples,
                chains: *chains,
                cyclical: *cyclical,
                samples_per_cycle: *samples_per_cycle,
            },
        ),
    }
}

/// The network a run's model section describes, for this data.
pub fn build_network(config: &RunConfig, train: &Dataset) -> Network {
    let model = &config.model;
    match model.kind {
        ModelKind::Mlp => {}
    }
    let task = config.data.task();
    let head = model.head.unwrap_or(default_head(task));
    let output_dim = match &train.y {
        TargetValues::Real(_) => 1,
        TargetValues::Class { n_classes, .. } => *n_classes,
    };
    Network::mlp(&MlpConfig {
        input_dim: train.n_features(),
        output_dim,
        hidden: model.hidden.clone(),
        activation: model.activation,
        init: model.init,
        dropout: model.dropout as f32,
        head,
        noise_precision: model.noise_precision as f32,
    })
}

/// The training loop, shared by every gradient-based method: seeded shuffling, mini-batches,
/// dropout noise, gradient clipping, the learning-rate schedule and divergence checks.
pub struct Trainer {
    pub network: Network,
    pub params: Vec<f32>,
    grads: Vec<f32>,
    batcher: Batcher,
    batch_rng: Rng,
    noise_rng: Rng,
    schedule: Schedule,
    base_lr: f64,
    clip_norm: Option<f32>,
    /// Optimisation steps taken so far.
    pub step: usize,
    pub steps_per_epoch: usize,
    pub total_steps: usize,
}

impl Trainer {
    /// A freshly initialised network (seeded by the shared `init` stream: every method with the
    /// same data and model starts from the same weights at one seed and split) ready to train.
    pub fn new(config: &RunConfig, train: &Dataset, base_lr: f64) -> Self {
        Trainer::for_chain(config, train, base_lr, 0)
    }

    /// The trainer of chain `chain` of a run: chain 0 is [`Trainer::new`]; every other chain
    /// has its own initial weights, batch order and dropout noise, from streams named after it.
    pub fn for_chain(config: &RunConfig, train: &Dataset, base_lr: f64, chain: usize) -> Self {
        let stream = |purpose: &str| match chain {
            0 => purpose.to_string(),
            c => format!("{purpose}/chain{c}"),
        };
        let network = build_network(config, train);
        let params = network.init_params(&mut rng_from_seed(
            config.shared_stream_seed(&stream("init")),
        ));
        let grads = vec![0.0; params.len()];
        let batch_size = config.train.batch_size.min(train.len().max(1));
        let batcher = Batcher::new(train.len(), batch_size, train.n_features());
        let steps_per_epoch = batcher.n_batches();
        Trainer {
            network,
            params,
            grads,
            batcher,
            batch_rng: rng_from_seed(config.shared_stream_seed(&stream("batches"))),
            noise_rng: rng_from_seed(config.stream_seed(&stream("noise"))),
            schedule: config.train.schedule.clone(),
            base_lr,
            clip_norm: config.train.clip_norm.map(|c| c as f32),
            step: 0,
            steps_per_epoch,
            total_steps: steps_per_epoch * config.train.epochs,
        }
    }

    /// One pass over `train` in a fresh random order: for each mini-batch, the gradient of the
    /// mean loss, clipping, the schedule's learning rate, `rule`'s update, then `after_update`
    /// (which may keep the weights as a sample). Returns the mean training loss (mean NLL per
    /// example). Called only by [`driver::train`].
    pub(crate) fn epoch(
        &mut self,
        train: &Dataset,
        epoch: usize,
        cancel: &AtomicBool,
        rule: &mut dyn driver::StepRule,
        after_update: &mut dyn FnMut(&mut Trainer),
    ) -> Result<f64, RunError> {
        self.batcher.shuffle(&mut self.batch_rng);
        let mut loss_sum = 0.0;
        let mut rows = 0usize;
        for b in 0..self.batcher.n_batches() {
            if cancel.load(Ordering::Relaxed) {
                return Err(RunError::Cancelled);
            }
            let (x, y) = self.batcher.batch(train, b);
            let n = x.nrows();
            let loss = self.network.loss_grad(
                &self.params,
                &mut self.grads,
                x,
                y,
                Mode::Train,
                &mut self.noise_rng,
            );
            if !loss.is_finite() {
                return Err(RunError::Diverged {
                    epoch,
                    step: self.step,
                    loss,
                });
            }
            if let Some(c) = self.clip_norm {
                clip_grad_norm(&mut self.grads, c);
            }
            let lr = self.schedule.lr_at(
                self.base_lr,
                self.step,
                self.steps_per_epoch,
                self.total_steps,
            ) as f32;
            rule.update(&mut self.params, &self.grads, lr, self.step);
            self.step += 1;
            loss_sum += loss * n as f64;
            rows += n;
            after_update(self);
        }
        Ok(loss_sum / rows.max(1) as f64)
    }

    /// The rng that draws dropout masks, for evaluation in `McSample` mode.
    pub fn noise_rng(&mut self) -> &mut Rng {
        &mut self.noise_rng
    }

    /// Replaces the learning-rate schedule (a cyclical chain sets its own).
    pub fn set_schedule(&mut self, schedule: Schedule) {
        self.schedule = schedule;
    }
}

/// Predictives over the validation part, the test part and the plotting grid, fed one sample
/// (weights + mode) at a time.
pub struct Evaluator {
    pub valid: Option<Predictive>,
    pub test: Option<Predictive>,
    pub grid: Option<Predictive>,
    out: HeadOutput,
}

impl Evaluator {
    /// Empty predictives for the data's validation and test parts (skipped when empty) and the
    /// grid when one is given and `with_grid`.
    pub fn new(data: &Prepared, grid: Option<&Grid>, with_grid: bool) -> Self {
        let part = |d: &Dataset| (!d.is_empty()).then(|| Predictive::new(&d.y, &data.scaler));
        let classes = match &data.train.y {
            TargetValues::Real(_) => None,
            TargetValues::Class { n_classes, .. } => Some(*n_classes),
        };
        Evaluator {
            valid: part(&data.valid),
            test: part(&data.test),
            grid: grid
                .filter(|_| with_grid)
                .map(|g| Predictive::unlabelled(g.x.nrows(), classes, &data.scaler)),
            out: HeadOutput::Gaussian {
                mean: Vec::new(),
                var: Vec::new(),
            },
        }
    }

    /// Folds the predictions of one weight vector (in `mode`) into every predictive. With
    /// `scores`, also pushes this one sample's own log-likelihood on each labelled part,
    /// `(split, value)` ([`Predictive::log_likelihood`] of a predictive of this sample alone).
    #[allow(clippy::too_many_arguments)]
    pub fn add_sample(
        &mut self,
        network: &mut Network,
        params: &[f32],
        mode: Mode,
        rng: &mut Rng,
        data: &Prepared,
        grid: Option<&Grid>,
        mut scores: Option<&mut Vec<(&'static str, f64)>>,
    ) {
        for (split, part, predictive) in [
            ("valid", &data.valid, &mut self.valid),
            ("test", &data.test, &mut self.test),
        ] {
            let Some(p) = predictive else { continue };
            network.predict(params, part.x.view(), mode, rng, &mut self.out);
            p.add(&self.out);
            if let Some(scores) = scores.as_deref_mut() {
                let mut alone = Predictive::new(&part.y, &data.scaler);
                alone.add(&self.out);
                if let Some(ll) = alone.log_likelihood() {
                    scores.push((split, ll));
                }
            }
        }
        if let (Some(p), Some(g)) = (&mut self.grid, grid) {
            network.predict(params, g.x.view(), mode, rng, &mut self.out);
            p.add(&self.out);
        }
    }

    /// Metric rows of the validation and test predictives at (epoch, step), each with the number
    /// of samples its predictive holds.
    pub fn metric_rows(&self, epoch: usize, step: usize) -> Vec<MetricRow> {
        let mut rows = Vec::new();
        for (split, p) in [("valid", &self.valid), ("test", &self.test)] {
            if let Some(p) = p {
                for (metric, value) in p.metrics() {
                    rows.push(MetricRow {
                        epoch: epoch as i64,
                        step: step as i64,
                        samples: p.n_samples() as i64,
                        split: split.to_string(),
                        metric: metric.to_string(),
                        value,
                    });
                }
            }
        }
        rows
    }

    /// The outputs of one weight vector (dropout off) on the parts this evaluator scores —
    /// validation, test, grid, in that order; `None` for a part it does not score.
    pub fn outputs(
        &self,
        network: &mut Network,
        params: &[f32],
        data: &Prepared,
        grid: Option<&Grid>,
    ) -> [Option<HeadOutput>; 3] {
        let mut rng = rng_from_seed(0); // eval mode draws nothing
        let mut predict = |scored: bool, x: ndarray::ArrayView2<f32>| {
            scored.then(|| {
                let mut out = HeadOutput::Gaussian {
                    mean: Vec::new(),
                    var: Vec::new(),
                };
                network.predict(params, x, Mode::Eval, &mut rng, &mut out);
                out
            })
        };
        [
            predict(self.valid.is_some(), data.valid.x.view()),
            predict(self.test.is_some(), data.test.x.view()),
            match (&self.grid, grid) {
                (Some(_), Some(g)) => predict(true, g.x.view()),
                _ => None,
            },
        ]
    }

    /// Folds outputs from [`Evaluator::outputs`] (of this evaluator's data) into the
    /// predictives.
    pub fn add_outputs(&mut self, outputs: &[Option<HeadOutput>; 3]) {
        for (p, out) in [&mut self.valid, &mut self.test, &mut self.grid]
            .into_iter()
            .zip(outputs)
        {
            if let (Some(p), Some(out)) = (p, out) {
                p.add(out);
            }
        }
    }

    /// Per-example prediction rows of the test part and the grid.
    pub fn prediction_rows(&self, data: &Prepared, grid: Option<&Grid>) -> Vec<PredictionRow> {
        let mut rows = Vec::new();
        let one_d = data.test.n_features() == 1;
        let (xm, xs) = (
            data.scaler.x_mean.first().copied().unwrap_or(0.0),
            data.scaler.x_std.first().copied().unwrap_or(1.0),
        );
        if let Some(p) = &self.test {
            let targets: Vec<f64> = match &data.test.y {
                TargetValues::Real(y) => y
                    .iter()
                    .map(|&v| f64::from(v) * data.scaler.y_std + data.scaler.y_mean)
                    .collect(),
                TargetValues::Class { labels, .. } => {
                    labels.iter().map(|&l| f64::from(l)).collect()
                }
            };
            for (i, summary) in p.summaries().into_iter().enumerate() {
                let input = one_d.then(|| f64::from(data.test.x[[i, 0]] * xs + xm));
                rows.push(prediction_row("test", i, input, Some(targets[i]), summary));
            }
        }
        if let (Some(p), Some(g)) = (&self.grid, grid) {
            for (i, summary) in p.summaries().into_iter().enumerate() {
                rows.push(prediction_row("grid", i, Some(g.input[i]), None, summary));
            }
        }
        rows
    }
}

fn prediction_row(
    split: &str,
    index: usize,
    input: Option<f64>,
    target: Option<f64>,
    summary: Summary,
) -> PredictionRow {
    let (mean, std, label, confidence) = match summary {
        Summary::Gaussian { mean, std } => (Some(mean), Some(std), None, None),
        Summary::Categorical { label, confidence } => {
            (None, None, Some(i64::from(label)), Some(confidence))
        }
    };
    PredictionRow {
        split: split.to_string(),
        index: index as u32,
        input,
        target,
        mean,
        std,
        label,
        confidence,
    }
}

/// A training-loss metric row (the loss of one weight vector: `samples` = 1).
pub fn train_loss_row(epoch: usize, step: usize, loss: f64) -> MetricRow {
    MetricRow {
        epoch: epoch as i64,
        step: step as i64,
        samples: 1,
        split: "train".into(),
        metric: "loss".into(),
        value: loss,
    }
}
