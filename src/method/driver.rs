//! The one training loop (argmin's Executor): epochs, steps, the evaluation schedule, sample
//! collection at step granularity, progress, cancellation and divergence. A method supplies only
//! its update ([`StepRule`]: an optimizer or sampler step) and says how its predictive is formed
//! ([`Evaluation`]): from the current weights, or from the weights kept as samples. No method
//! writes its own epoch loop.

use crate::nn::Mode;

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

/// Which weights are samples of a chain: after `burn_in` updates, every `thin`-th update, at
/// most `max_samples` of them.
///
/// With updates counted from 1, the weights after update t are kept when t > burn_in and
/// (t − burn_in) is a multiple of thin, while fewer than `max_samples` are kept: burn_in = 10,
/// thin = 5 keeps the weights after updates 15, 20, 25, …
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SampleSchedule {
    pub burn_in: usize,
    pub thin: usize,
    pub max_samples: Option<usize>,
}

impl SampleSchedule {
    /// Whether the weights after update `t` (1-based) are kept, `kept` samples being kept so far.
    pub fn keeps(&self, t: usize, kept: usize) -> bool {
        t > self.burn_in
            && (t - self.burn_in).is_multiple_of(self.thin.max(1))
            && self.max_samples.is_none_or(|m| kept < m)
    }
}

/// How a method's predictive is formed and when it is scored.
#[derive(Clone, Debug, PartialEq)]
pub enum Evaluation {
    /// The current weights in eval mode (dropout off), every `train.eval_every` epochs and after
    /// the last.
    CurrentWeights,
    /// The equal-weight average of the kept samples' predictives (dropout off in each), folded in
    /// as each is drawn: scored after 1, 2, 4, 8, … samples and after the last.
    Samples(SampleSchedule),
}

/// Trains with `rule` for `train.epochs` epochs and scores the predictive `evaluation` names.
pub fn train(
    input: &RunInput,
    trainer: &mut Trainer,
    rule: &mut dyn StepRule,
    evaluation: &Evaluation,
) -> Result<MethodOutput, RunError> {
    let config = input.config;
    let data = input.data;
    let epochs = config.train.epochs;
    let mut output = MethodOutput {
        n_params: trainer.params.len() as u64,
        n_samples: 0,
        ..Default::default()
    };
    let mut last: Option<Evaluator> = None;
    let mut samples = match evaluation {
        Evaluation::Samples(_) => Some(Evaluator::new(data, input.grid, config.predictions)),
        Evaluation::CurrentWeights => None,
    };
    let mut kept = 0usize;
    for epoch in 1..=epochs {
        let mut on_update = |trainer: &mut Trainer| {
            let (Evaluation::Samples(schedule), Some(eval)) = (evaluation, samples.as_mut()) else {
                return;
            };
            if !schedule.keeps(trainer.step, kept) {
                return;
            }
            add_current_weights(eval, trainer, input);
            kept += 1;
            if kept.is_power_of_two() {
                output.metrics.extend(eval.metric_rows(epoch, trainer.step));
            }
        };
        let loss = trainer.epoch(&data.train, epoch, input.cancel, rule, &mut on_update)?;
        output
            .metrics
            .push(train_loss_row(epoch, trainer.step, loss));
        if *evaluation == Evaluation::CurrentWeights
            && (epoch % config.train.eval_every == 0 || epoch == epochs)
        {
            let is_last = epoch == epochs;
            let mut eval = Evaluator::new(data, input.grid, is_last && config.predictions);
            add_current_weights(&mut eval, trainer, input);
            output.metrics.extend(eval.metric_rows(epoch, trainer.step));
            last = Some(eval);
        }
        (input.on_epoch)();
    }
    match evaluation {
        Evaluation::CurrentWeights => output.n_samples = 1,
        Evaluation::Samples(_) => {
            output.n_samples = kept as u64;
            if kept == 0 {
                return Err(RunError::Failed(
                    "no weights were kept as samples: the burn-in is longer than the run, or \
                     thin exceeds the updates after it; shorten burn_in or train longer"
                        .into(),
                ));
            }
            let eval = samples.expect("a sample evaluator exists");
            if !kept.is_power_of_two() {
                output
                    .metrics
                    .extend(eval.metric_rows(epochs, trainer.step));
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

/// Folds the current weights, dropout off, into `eval`'s predictives.
fn add_current_weights(eval: &mut Evaluator, trainer: &mut Trainer, input: &RunInput) {
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
        };
        assert!((1..=5).all(|t| every.keeps(t, t - 1)));
        assert!(!every.keeps(0, 0), "the initial weights are never a sample");
    }
}
