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
use crate::predictive::{Predictive, Summary, UncertaintyScore};
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
        MethodConfig::SeedEnsemble { optimizer, members } => ensemble::run(
            input,
            &ensemble::same_members(input.config, optimizer, *members),
            ensemble::Resampling::None,
        ),
        MethodConfig::Bagging { optimizer, members } => ensemble::run(
            input,
            &ensemble::same_members(input.config, optimizer, *members),
            ensemble::Resampling::Bootstrap,
        ),
        MethodConfig::ConfigEnsemble { members } => ensemble::run(
            input,
            &ensemble::config_members(input.config, members),
            ensemble::Resampling::None,
        ),
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
        debug_assert_eq!(
            steps_per_epoch * config.train.epochs,
            Trainer::steps_of(config, train)
        );
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

    /// The updates a run of `config` takes on `train` without building it: epochs × ⌈n / batch⌉
    /// (the batch no larger than the part, and at least one row).
    pub fn steps_of(config: &RunConfig, train: &Dataset) -> usize {
        let batch_size = config.train.batch_size.min(train.len().max(1));
        train.len().div_ceil(batch_size) * config.train.epochs
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

/// Which inputs an evaluation part predicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PartRole {
    Valid,
    Test,
    /// The i-th out-of-distribution part of [`Prepared::ood`].
    Ood(usize),
    Grid,
}

/// One evaluation part: its split name in the results, its inputs and its predictive.
#[derive(Clone, Debug)]
struct EvalPart {
    name: String,
    role: PartRole,
    predictive: Predictive,
    /// The deterministic leading layers' outputs on this part, kept across the passes of
    /// [`Evaluator::add_mc_pass`].
    prefix: crate::nn::SharedPrefix<f32>,
}

/// The predictives of a run's evaluation parts — validation, test, each out-of-distribution part
/// (`[data.ood.<name>]`, split = its name) and the plotting grid, in that order — fed one sample
/// (weights + mode) at a time. Metrics that compare two parts (OOD detection) are computed here,
/// once, from the parts' predictives, never by a method.
pub struct Evaluator {
    parts: Vec<EvalPart>,
    out: HeadOutput,
}

/// The OOD detection metrics of an OOD part against the test part, with the uncertainty score
/// each uses: `ood_*` by predictive entropy, `ood_*_mi` by mutual information.
const OOD_METRICS: [(UncertaintyScore, [&str; 3]); 2] = [
    (
        UncertaintyScore::Entropy,
        ["ood_auroc", "ood_aupr", "ood_fpr95"],
    ),
    (
        UncertaintyScore::MutualInformation,
        ["ood_auroc_mi", "ood_aupr_mi", "ood_fpr95_mi"],
    ),
];

impl Evaluator {
    /// Empty predictives for the data's validation and test parts (skipped when empty), its OOD
    /// parts, and the grid when one is given and `with_grid`.
    pub fn new(data: &Prepared, grid: Option<&Grid>, with_grid: bool) -> Self {
        let classes = match &data.train.y {
            TargetValues::Real(_) => None,
            TargetValues::Class { n_classes, .. } => Some(*n_classes),
        };
        let mut parts = Vec::new();
        for (name, role, d) in [
            ("valid", PartRole::Valid, &data.valid),
            ("test", PartRole::Test, &data.test),
        ] {
            if !d.is_empty() {
                parts.push(EvalPart {
                    name: name.into(),
                    role,
                    predictive: Predictive::new(&d.y, &data.scaler),
                    prefix: Default::default(),
                });
            }
        }
        for (i, (name, x)) in data.ood.iter().enumerate() {
            parts.push(EvalPart {
                name: name.clone(),
                role: PartRole::Ood(i),
                predictive: Predictive::unlabelled(x.nrows(), classes, &data.scaler),
                prefix: Default::default(),
            });
        }
        if let Some(g) = grid.filter(|_| with_grid) {
            parts.push(EvalPart {
                name: "grid".into(),
                role: PartRole::Grid,
                predictive: Predictive::unlabelled(g.x.nrows(), classes, &data.scaler),
                prefix: Default::default(),
            });
        }
        Evaluator {
            parts,
            out: HeadOutput::Gaussian {
                mean: Vec::new(),
                var: Vec::new(),
            },
        }
    }

    /// The inputs of a part.
    fn inputs<'d>(
        role: PartRole,
        data: &'d Prepared,
        grid: Option<&'d Grid>,
    ) -> ndarray::ArrayView2<'d, f32> {
        match role {
            PartRole::Valid => data.valid.x.view(),
            PartRole::Test => data.test.x.view(),
            PartRole::Ood(i) => data.ood[i].1.view(),
            PartRole::Grid => grid.expect("a grid part has its grid").x.view(),
        }
    }

    fn part(&self, role: PartRole) -> Option<&Predictive> {
        self.parts
            .iter()
            .find(|p| p.role == role)
            .map(|p| &p.predictive)
    }

    /// The test part's predictive, if the data have a test part.
    pub fn test(&self) -> Option<&Predictive> {
        self.part(PartRole::Test)
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
        for part in &mut self.parts {
            let x = Self::inputs(part.role, data, grid);
            network.predict(params, x, mode, rng, &mut self.out);
            part.predictive.add(&self.out);
            let labelled = match part.role {
                PartRole::Valid => Some(("valid", &data.valid)),
                PartRole::Test => Some(("test", &data.test)),
                PartRole::Ood(_) | PartRole::Grid => None,
            };
            if let (Some(scores), Some((split, d))) = (scores.as_deref_mut(), labelled) {
                let mut alone = Predictive::new(&d.y, &data.scaler);
                alone.add(&self.out);
                if let Some(ll) = alone.log_likelihood() {
                    scores.push((split, ll));
                }
            }
        }
    }

    /// One MC-dropout pass (`Mode::McSample`) on every part, as [`add_sample`](Self::add_sample)
    /// gives it, bit for bit, but with the outputs of the layers before the first dropout
    /// computed on the first pass and shared by the later ones (two thirds of the products of
    /// a 784-400-400-10 MLP). Every call on one evaluator must pass the same `params`: the MC
    /// passes of one evaluation of one network.
    pub fn add_mc_pass(
        &mut self,
        network: &mut Network,
        params: &[f32],
        rng: &mut Rng,
        data: &Prepared,
        grid: Option<&Grid>,
    ) {
        for part in &mut self.parts {
            let x = Self::inputs(part.role, data, grid);
            network.predict_sharing_prefix(
                params,
                x,
                Mode::McSample,
                rng,
                &mut self.out,
                &mut part.prefix,
            );
            part.predictive.add(&self.out);
        }
    }

    /// Metric rows of the validation, test and OOD predictives at (epoch, step), each with the
    /// number of samples its predictive holds; for each OOD part also its detection against the
    /// test part by entropy and by mutual information ([`OOD_METRICS`]; split = the OOD part).
    pub fn metric_rows(&self, epoch: usize, step: usize) -> Vec<MetricRow> {
        let mut rows = Vec::new();
        let row = |split: &str, metric: &str, samples: usize, value: f64| MetricRow {
            epoch: epoch as i64,
            step: step as i64,
            samples: samples as i64,
            split: split.to_string(),
            metric: metric.to_string(),
            value,
        };
        for part in self.parts.iter().filter(|p| p.role != PartRole::Grid) {
            let p = &part.predictive;
            for (metric, value) in p.metrics() {
                rows.push(row(&part.name, metric, p.n_samples(), value));
            }
            if !matches!(part.role, PartRole::Ood(_)) {
                continue;
            }
            let Some(test) = self.test() else { continue };
            for (score, names) in OOD_METRICS {
                let (Some(inside), Some(outside)) = (test.scores(score), p.scores(score)) else {
                    continue;
                };
                let values = [
                    crate::metrics::auroc(&inside, &outside),
                    crate::metrics::aupr(&inside, &outside),
                    crate::metrics::fpr_at_95_tpr(&inside, &outside),
                ];
                for (name, value) in names.into_iter().zip(values) {
                    rows.push(row(&part.name, name, p.n_samples(), value));
                }
            }
        }
        rows
    }

    /// The outputs of one weight vector (dropout off) on every part this evaluator scores, in
    /// its order (see [`Evaluator::add_outputs`]).
    pub fn outputs(
        &self,
        network: &mut Network,
        params: &[f32],
        data: &Prepared,
        grid: Option<&Grid>,
    ) -> Vec<HeadOutput> {
        let mut rng = rng_from_seed(0); // eval mode draws nothing
        self.parts
            .iter()
            .map(|part| {
                let mut out = HeadOutput::Gaussian {
                    mean: Vec::new(),
                    var: Vec::new(),
                };
                let x = Self::inputs(part.role, data, grid);
                network.predict(params, x, Mode::Eval, &mut rng, &mut out);
                out
            })
            .collect()
    }

    /// How many parts this evaluator scores (the length [`Evaluator::outputs`] gives).
    pub fn n_parts(&self) -> usize {
        self.parts.len()
    }

    /// Folds outputs from [`Evaluator::outputs`] (of this evaluator's data) into the
    /// predictives.
    pub fn add_outputs(&mut self, outputs: &[HeadOutput]) {
        assert_eq!(outputs.len(), self.parts.len(), "one output per part");
        for (part, out) in self.parts.iter_mut().zip(outputs) {
            part.predictive.add(out);
        }
    }

    /// Per-example prediction rows of the test part, the OOD parts and the grid.
    pub fn prediction_rows(&self, data: &Prepared, grid: Option<&Grid>) -> Vec<PredictionRow> {
        let mut rows = Vec::new();
        let one_d = data.test.n_features() == 1;
        let (xm, xs) = (
            data.scaler.x_mean.first().copied().unwrap_or(0.0),
            data.scaler.x_std.first().copied().unwrap_or(1.0),
        );
        for part in &self.parts {
            let summaries = part.predictive.summaries();
            match part.role {
                PartRole::Valid => {}
                PartRole::Test => {
                    let targets: Vec<f64> = match &data.test.y {
                        TargetValues::Real(y) => y
                            .iter()
                            .map(|&v| f64::from(v) * data.scaler.y_std + data.scaler.y_mean)
                            .collect(),
                        TargetValues::Class { labels, .. } => {
                            labels.iter().map(|&l| f64::from(l)).collect()
                        }
                    };
                    for (i, summary) in summaries.into_iter().enumerate() {
                        let input = one_d.then(|| f64::from(data.test.x[[i, 0]] * xs + xm));
                        rows.push(prediction_row("test", i, input, Some(targets[i]), summary));
                    }
                }
                PartRole::Ood(_) => {
                    for (i, summary) in summaries.into_iter().enumerate() {
                        rows.push(prediction_row(&part.name, i, None, None, summary));
                    }
                }
                PartRole::Grid => {
                    let g = grid.expect("a grid part has its grid");
                    for (i, summary) in summaries.into_iter().enumerate() {
                        rows.push(prediction_row("grid", i, Some(g.input[i]), None, summary));
                    }
                }
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
    let (mean, std, label, confidence, entropy, mutual_information) = match summary {
        Summary::Gaussian { mean, std } => (Some(mean), Some(std), None, None, None, None),
        Summary::Categorical {
            label,
            confidence,
            entropy,
            mutual_information,
        } => (
            None,
            None,
            Some(i64::from(label)),
            Some(confidence),
            Some(entropy),
            Some(mutual_information),
        ),
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
        entropy,
        mutual_information,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Standardizer;
    use ndarray::array;

    fn classes(x: Array2<f32>, labels: Vec<u32>) -> Dataset {
        Dataset {
            feature_names: vec!["x".into()],
            target_name: "y".into(),
            y: TargetValues::Class {
                labels,
                n_classes: 2,
                names: vec!["a".into(), "b".into()],
            },
            x,
        }
    }

    /// OOD detection is scored in the evaluator from the test and OOD predictives:
    /// entropies in = [H(0.9), H(0.6)] = [0.325, 0.673], out = [H(0.5), H(0.7)] = [0.693, 0.611]:
    /// 3 of the 4 (out, in) pairs have the OOD input less certain, AUROC = 3/4. One sample has no
    /// disagreement: every MI is 0, all scores tie and the MI-scored AUROC is ½.
    #[test]
    fn ood_parts_are_scored_against_the_test_part_once_in_the_evaluator() {
        let part = |n: usize| classes(Array2::zeros((n, 1)), vec![0; n]);
        let data = Prepared {
            train: part(2),
            valid: part(0),
            test: part(2),
            scaler: Standardizer::identity(1),
            ood: vec![("far".into(), Array2::zeros((2, 1)))],
        };
        let mut eval = Evaluator::new(&data, None, false);
        assert_eq!(eval.n_parts(), 2, "test and the OOD part; valid is empty");
        eval.add_outputs(&[
            HeadOutput::Categorical {
                probs: array![[0.9, 0.1], [0.6, 0.4]],
            },
            HeadOutput::Categorical {
                probs: array![[0.5, 0.5], [0.7, 0.3]],
            },
        ]);
        let rows = eval.metric_rows(3, 7);
        let value = |split: &str, metric: &str| {
            rows.iter()
                .find(|r| r.split == split && r.metric == metric)
                .map(|r| r.value)
                .unwrap_or_else(|| panic!("no {split}.{metric} in {rows:?}"))
        };
        assert_eq!(value("far", "ood_auroc"), 0.75);
        assert_eq!(value("far", "ood_auroc_mi"), 0.5);
        let h = |p: f64| -(p * p.ln() + (1.0 - p) * (1.0 - p).ln());
        assert!((value("far", "entropy") - 0.5 * (h(0.5) + h(0.7))).abs() < 1e-15);
        assert_eq!(value("far", "mutual_information"), 0.0);
        assert_eq!(value("test", "accuracy"), 1.0);
        assert!(
            rows.iter()
                .all(|r| r.split != "far" || r.metric != "accuracy"),
            "an OOD part has no labels to score"
        );
        // At the 95 % TPR threshold (the lower OOD entropy, 0.611) one test input of two is
        // flagged.
        assert_eq!(value("far", "ood_fpr95"), 0.5);
        assert!(
            rows.iter()
                .all(|r| (r.epoch, r.step, r.samples) == (3, 7, 1))
        );
        // A second, disagreeing sample makes the MI positive on the OOD part.
        eval.add_outputs(&[
            HeadOutput::Categorical {
                probs: array![[0.9, 0.1], [0.6, 0.4]],
            },
            HeadOutput::Categorical {
                probs: array![[0.1, 0.9], [0.7, 0.3]],
            },
        ]);
        let rows = eval.metric_rows(4, 8);
        let mi = rows
            .iter()
            .find(|r| r.split == "far" && r.metric == "mutual_information")
            .unwrap();
        // Row 0: p̄ = (0.3, 0.7) from (0.5, 0.5) and (0.1, 0.9); row 1 is the same twice, MI 0.
        let expected = (h(0.3) - 0.5 * (h(0.5) + h(0.1))) / 2.0;
        // The probabilities are f32: 1e-6 covers their rounding.
        assert!((mi.value - expected).abs() < 1e-6, "{mi:?} vs {expected}");
        assert_eq!(mi.samples, 2);
    }
}
