//! `point`: one network trained by an optimiser (maximum likelihood, or MAP with weight decay).
//! Its predictive is the single network in eval mode (dropout off).

use crate::optim::{Optimizer, OptimizerConfig};

use super::driver::{self, Chain, Evaluation};
use super::{MethodOutput, RunError, RunInput, Trainer};

/// Trains for `train.epochs`, evaluating on the validation and test parts every
/// `train.eval_every` epochs and after the last.
pub fn run(input: &RunInput, optimizer: &OptimizerConfig) -> Result<MethodOutput, RunError> {
    let trainer = Trainer::new(input.config, &input.data.train, optimizer.lr());
    let rule = Box::new(Optimizer::new(optimizer, trainer.params.len()));
    driver::train(
        input,
        &mut [Chain { trainer, rule }],
        &Evaluation::CurrentWeights,
    )
}
