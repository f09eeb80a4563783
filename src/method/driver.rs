//! The one training loop (argmin's Executor): epochs, steps, the evaluation schedule, sample
//! collection at step granularity, progress, cancellation and divergence. A method supplies only
//! its update ([`StepRule`]: an optimizer or sampler step) and says how its predictive is formed
//! ([`Evaluation`]): from the current weights, or from the weights kept as samples. No method
//! writes its own epoch loop.

use crate::nn::Mode;
use crate::rng::rng_from_seed;
use crate::sgmcmc::{CyclicalSchedule, Phase, Posterior};
use crate::store::TraceRow;

use super::{Evaluator, MethodOutput, RunError, RunInput, Trainer, train_loss_row};

/// One update of the weights, given the minibatch gradient of the mean loss (what an optimizer
/// gets), the learning rate of the schedule at this step, and the step number (0-based).
pub trait StepRule {
    fn update(&mut self, params: &mut [f32], grads: &[f32], lr: f32, step: usize);
}

impl StepRule for crate::optim::Optimizer {
    fn update(&mut self, params: &mut [f32], grads: &[f32], lr: f32, _step: usize) {
        self.step(params, grads, lr);
    }
}

/// Which weights are samples of a chain.
///
/// With updates counted from 1, the weights after update t are kept while fewer than
/// `max_samples` are kept and:
/// - without `cycles`: t > burn_in and (t − burn_in) is a multiple of thin: burn_in = 10,
///   thin = 5 keeps the weights after updates 15, 20, 25, …;
/// - with `cycles` (cyclical SG-MCMC, snapshot ensembles): t > burn_in, step k = t − 1 is in
///   its cycle's sampling phase and
///   d = (the cycle's last step) − k is a multiple of thin with d/thin < per_cycle: the last
///   update of each cycle and the `per_cycle − 1` updates thin, 2·thin, … before it.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleSchedule {
    pub burn_in: usize,
    pub thin: usize,
    pub max_samples: Option<usize>,
    pub cycles: Option<CycleSampling>,
}

/// Where a cyclical chain takes its samples: see [`SampleSchedule`].
#[derive(Clone, Debug, PartialEq)]
pub struct CycleSampling {
    pub schedule: CyclicalSchedule,
    /// K, the chain's number of updates.
    pub total_steps: usize,
    pub per_cycle: usize,
}

impl SampleSchedule {
    /// Whether the weights after update `t` (1-based) are kept, `kept` samples being kept so far.
    pub fn keeps(&self, t: usize, kept: usize) -> bool {
        if t == 0 || self.max_samples.is_some_and(|m| kept >= m) {
            return false;
        }
        let thin = self.thin.max(1);
        match &self.cycles {
            None => t > self.burn_in && (t - self.burn_in).is_multiple_of(thin),
            Some(c) => {
                if t <= self.burn_in {
                    return false;
                }
                let k = t - 1;
                if k >= c.total_steps || c.schedule.phase(k, c.total_steps) != Phase::Sampling {
                    return false;
                }
                let len = c.total_steps.div_ceil(c.schedule.cycles.max(1));
                let cycle_last = (k - k % len + len - 1).min(c.total_steps - 1);
                let d = cycle_last - k;
                d.is_multiple_of(thin) && d / thin < c.per_cycle
            }
        }
    }
}

/// How a method's predictive is formed and when it is scored.
#[derive(Clone, Debug, PartialEq)]
pub enum Evaluation {
    /// The current weights in eval mode (dropout off), every `train.eval_every` epochs and after
    /// the last.
    CurrentWeights,
    /// The average of `passes` forward passes of the current weights with dropout on (masks
    /// from the run's `mc_dropout/epoch<e>` stream), on the same schedule; the last evaluation
    /// is also scored after 1, 2, 4, … passes.
    McDropout { passes: usize },
    /// No evaluation: only training losses (an ensemble member, scored by its ensemble).
    TrainOnly,
    /// The equal-weight average of the kept samples' predictives (dropout off in each), over all
    /// chains, folded in as each is drawn: scored after 1, 2, 4, 8, … samples and after the
    /// last. Each chain's samples are traced ([`TraceRow`]): their own validation and test
    /// log-likelihoods and weight norm; and, for a sampler, at each epoch's end the chain's
    /// training log posterior under `posterior`.
    Samples {
        schedule: SampleSchedule,
        posterior: Option<Posterior>,
    },
}

/// One chain of a run: its weights, batches and dropout noise (the trainer) and its update.
pub struct Chain<'a> {
    pub trainer: Trainer,
    pub rule: Box<dyn StepRule + 'a>,
}

/// Trace quantities, as named in `traces.parquet`.
pub const TRAIN_LOG_POSTERIOR: &str = "train_log_posterior";
pub const WEIGHT_NORM: &str = "weight_norm";

/// The trace name of a part's per-sample log-likelihood: `valid_log_likelihood`,
/// `test_log_likelihood`.
pub fn log_likelihood_quantity(split: &str) -> String {
    format!("{split}_log_likelihood")
}

/// Trains every chain for `train.epochs` epochs (each epoch: chain 0's pass, then chain 1's, …)
/// and scores the predictive `evaluation` names. `CurrentWeights` and `McDropout` use the first
/// chain only.
pub fn train(
    input: &RunInput,
    chains: &mut [Chain],
    evaluation: &Evaluation,
) -> Result<MethodOutput, RunError> {
    let config = input.config;
    let data = input.data;
    let epochs = config.train.epochs;
    assert!(!chains.is_empty(), "a run trains at least one chain");
    let single = !matches!(evaluation, Evaluation::Samples { .. });
    let chains = if single { &mut chains[..1] } else { chains };
    let mut output = MethodOutput {
        n_params: chains[0].trainer.params.len() as u64,
        n_samples: 0,
        ..Default::default()
    };
    let mut last: Option<Evaluator> = None;
    let mut samples = match evaluation {
        Evaluation::Samples { .. } => Some(Evaluator::new(data, input.grid, config.predictions)),
        Evaluation::CurrentWeights | Evaluation::McDropout { .. } | Evaluation::TrainOnly => None,
    };
    let mut kept = vec![0usize; chains.len()];
    let mut kept_total = 0usize;
    for epoch in 1..=epochs {
        let mut loss_sum = 0.0;
        let mut step = 0;
        let all_updates: usize = chains.iter().map(|c| c.trainer.step).sum();
        for (c, Chain { trainer, rule }) in chains.iter_mut().enumerate() {
            // The pooled predictive's rows count the updates of every chain so far, so their
            // step grows with its samples however the chains interleave (one chain: its step).
            let others = all_updates - trainer.step + c * trainer.steps_per_epoch;
            let mut on_update = |trainer: &mut Trainer| {
                let (Evaluation::Samples { schedule, .. }, Some(eval)) =
                    (evaluation, samples.as_mut())
                else {
                    return;
                };
                if !schedule.keeps(trainer.step, kept[c]) {
                    return;
                }
                kept[c] += 1;
                kept_total += 1;
                let mut scores = Vec::new();
                add_current_weights(eval, trainer, input, Some(&mut scores));
                let row = |quantity: String, value: f64| TraceRow {
                    chain: c as u32,
                    sample: kept[c] as u32,
                    epoch: epoch as i64,
                    step: trainer.step as i64,
                    quantity,
                    value,
                };
                for (split, ll) in scores {
                    output.traces.push(row(log_likelihood_quantity(split), ll));
                }
                output
                    .traces
                    .push(row(WEIGHT_NORM.into(), l2_norm(&trainer.params)));
                if kept_total.is_power_of_two() {
                    let pooled_step = others + trainer.step;
                    output.metrics.extend(eval.metric_rows(epoch, pooled_step));
                }
            };
            let loss = trainer.epoch(
                &data.train,
                epoch,
                input.cancel,
                rule.as_mut(),
                &mut on_update,
            )?;
            loss_sum += loss;
            step = trainer.step;
            if let Evaluation::Samples {
                posterior: Some(posterior),
                ..
            } = evaluation
            {
                output.traces.push(TraceRow {
                    chain: c as u32,
                    sample: kept[c] as u32,
                    epoch: epoch as i64,
                    step: trainer.step as i64,
                    quantity: TRAIN_LOG_POSTERIOR.into(),
                    value: log_posterior_estimate(posterior, &trainer.params, loss),
                });
            }
        }
        output
            .metrics
            .push(train_loss_row(epoch, step, loss_sum / chains.len() as f64));
        let scored = *evaluation != Evaluation::TrainOnly;
        if single && scored && (epoch % config.train.eval_every == 0 || epoch == epochs) {
            let is_last = epoch == epochs;
            let trainer = &mut chains[0].trainer;
            let mut eval = Evaluator::new(data, input.grid, is_last && config.predictions);
            match *evaluation {
                Evaluation::McDropout { passes } => {
                    let stream = config.stream_seed(&format!("mc_dropout/epoch{epoch}"));
                    let mut rng = rng_from_seed(stream);
                    for pass in 1..=passes {
                        eval.add_mc_pass(
                            &mut trainer.network,
                            &trainer.params,
                            &mut rng,
                            data,
                            input.grid,
                        );
                        if is_last && pass.is_power_of_two() && pass < passes {
                            output.metrics.extend(eval.metric_rows(epoch, trainer.step));
                        }
                    }
                }
                _ => add_current_weights(&mut eval, trainer, input, None),
            }
            output.metrics.extend(eval.metric_rows(epoch, trainer.step));
            last = Some(eval);
        }
        (input.on_epoch)();
    }
    match *evaluation {
        Evaluation::CurrentWeights | Evaluation::TrainOnly => output.n_samples = 1,
        Evaluation::McDropout { passes } => output.n_samples = passes as u64,
        Evaluation::Samples { .. } => {
            output.n_samples = kept_total as u64;
            if kept.contains(&0) {
                return Err(RunError::Failed(
                    "no weights were kept as samples: the burn-in is longer than the run, or \
                     thin exceeds the updates after it; shorten burn_in or train longer"
                        .into(),
                ));
            }
            let eval = samples.expect("a sample evaluator exists");
            if !kept_total.is_power_of_two() {
                let all_updates = chains.iter().map(|c| c.trainer.step).sum();
                output.metrics.extend(eval.metric_rows(epochs, all_updates));
            }
            last = Some(eval);
        }
    }
    if config.predictions
        && let Some(eval) = last
    {
        output.predictions = eval.prediction_rows(data, input.grid);
    }
    Ok(output)
}

/// ‖θ‖₂, accumulated in f64.
fn l2_norm(params: &[f32]) -> f64 {
    params
        .iter()
        .map(|&p| f64::from(p) * f64::from(p))
        .sum::<f64>()
        .sqrt()
}

/// The training log posterior up to its normalising constant, log p(θ) + Σᵢ log p(yᵢ | xᵢ, θ)
/// = −(λ/2)‖θ‖² − N·ℓ̄, with the likelihood term estimated by the epoch's mean minibatch loss
/// ℓ̄ (each minibatch at the weights before its update, as training sees them) and the prior at
/// the epoch's last weights.
fn log_posterior_estimate(posterior: &Posterior, params: &[f32], mean_loss: f64) -> f64 {
    let norm = l2_norm(params);
    -0.5 * posterior.prior_precision * norm * norm - posterior.n_data as f64 * mean_loss
}

/// Folds the current weights, dropout off, into `eval`'s predictives (and, with `scores`, this
/// sample's own log-likelihoods).
fn add_current_weights(
    eval: &mut Evaluator,
    trainer: &mut Trainer,
    input: &RunInput,
    scores: Option<&mut Vec<(&'static str, f64)>>,
) {
    // Eval mode draws no masks; the generator is a copy so that scoring never moves the
    // training stream.
    let mut rng = trainer.noise_rng().clone();
    eval.add_sample(
        &mut trainer.network,
        &trainer.params,
        Mode::Eval,
        &mut rng,
        input.data,
        input.grid,
        scores,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burn_in_and_thinning_keep_exactly_the_documented_updates() {
        let schedule = SampleSchedule {
            burn_in: 10,
            thin: 5,
            max_samples: Some(3),
            cycles: None,
        };
        let mut kept = Vec::new();
        for t in 1..=100 {
            if schedule.keeps(t, kept.len()) {
                kept.push(t);
            }
        }
        assert_eq!(kept, [15, 20, 25]);
        let every = SampleSchedule {
            burn_in: 0,
            thin: 1,
            max_samples: None,
            cycles: None,
        };
        assert!((1..=5).all(|t| every.keeps(t, t - 1)));
        assert!(!every.keeps(0, 0), "the initial weights are never a sample");
    }

    #[test]
    fn cyclical_chains_keep_the_last_updates_of_each_sampling_phase() {
        let keeps = |total_steps, cycles, exploration, per_cycle, thin| {
            let schedule = SampleSchedule {
                burn_in: 0,
                thin,
                max_samples: None,
                cycles: Some(CycleSampling {
                    schedule: CyclicalSchedule {
                        cycles,
                        exploration,
                    },
                    total_steps,
                    per_cycle,
                }),
            };
            let mut kept = Vec::new();
            for t in 1..=total_steps + 5 {
                if schedule.keeps(t, kept.len()) {
                    kept.push(t);
                }
            }
            kept
        };
        // L = 25: sampling from position 20 of each cycle; the cycle's last update and the one
        // two before it.
        assert_eq!(keeps(100, 4, 0.8, 2, 2), [23, 25, 48, 50, 73, 75, 98, 100]);
        // L = 4 for 10 updates: the short last cycle (steps 8, 9) never reaches its sampling
        // phase, so it gives no sample.
        assert_eq!(keeps(10, 3, 0.5, 1, 1), [4, 8]);
        // More samples per cycle than the sampling phase holds: only those inside it.
        assert_eq!(keeps(20, 2, 0.8, 5, 1), [9, 10, 19, 20]);
    }
}
