//! `point`: one network trained by an optimiser (maximum likelihood, or MAP with weight decay).
//! Its predictive is the single network in eval mode (dropout off).

use crate::nn::Mode;
use crate::optim::{Optimizer, OptimizerConfig};

use super::{Evaluator, MethodOutput, RunError, RunInput, Trainer, train_loss_row};

/// Trains for `train.epochs`, evaluating on the validation and test parts every
/// `train.eval_every` epochs and after the last.
pub fn run(input: &RunInput, optimizer: &OptimizerConfig) -> Result<MethodOutput, RunError> {
    let config = input.config;
    let data = input.data;
    let mut trainer = Trainer::new(config, &data.train, optimizer.lr());
    let mut opt = Optimizer::new(optimizer, trainer.params.len());
    let epochs = config.train.epochs;
    let mut output = MethodOutput {
        n_params: trainer.params.len() as u64,
        n_samples: 1,
        ..Default::default()
    };
    let mut last = None;
    for epoch in 1..=epochs {
        let loss = trainer.epoch(&data.train, epoch, input.cancel, |p, g, lr, _| {
            opt.step(p, g, lr)
        })?;
        output
            .metrics
            .push(train_loss_row(epoch, trainer.step, loss));
        if epoch % config.train.eval_every == 0 || epoch == epochs {
            let is_last = epoch == epochs;
            let mut eval = Evaluator::new(data, input.grid, is_last && config.predictions);
            let mut rng = trainer.noise_rng().clone();
            eval.add_sample(
                &mut trainer.network,
                &trainer.params,
                Mode::Eval,
                &mut rng,
                data,
                input.grid,
            );
            output.metrics.extend(eval.metric_rows(epoch, trainer.step));
            last = Some(eval);
        }
        (input.on_epoch)();
    }
    if config.predictions
        && let Some(eval) = last
    {
        output.predictions = eval.prediction_rows(data, input.grid);
    }
    Ok(output)
}
