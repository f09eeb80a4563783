//! `sgmcmc`: a chain of stochastic-gradient MCMC ([`crate::sgmcmc`]: SGLD, pSGLD, SGHMC) over
//! the network's weights. Its predictive is the posterior predictive of the kept samples: the
//! equal-weight average of each sample's predictive (dropout off), folded in as each is drawn.
//!
//! The chain starts from the same initial weights and sees the same batches as every other
//! method with the same data and model (common random numbers); its noise has its own stream.
//! The weights after `burn_in_epochs` epochs are the first candidates; from then on every
//! `thin`-th update is kept, at most `max_samples` of them.

use crate::noise::NormalStream;
use crate::sgmcmc::{Posterior, PriorConfig, Sampler, SamplerConfig};

use super::driver::{self, Evaluation, SampleSchedule, StepRule};
use super::{MethodOutput, RunError, RunInput, Trainer};

/// A sampler at its configured temperature, as the driver's update.
struct Chain {
    sampler: Sampler,
    temperature: f64,
}

impl StepRule for Chain {
    fn update(&mut self, params: &mut [f32], grads: &[f32], lr: f32, _step: usize) {
        self.sampler.step(params, grads, lr, self.temperature);
    }
}

/// How the chain's samples are collected, as the spec gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Collection {
    pub burn_in_epochs: usize,
    pub thin: usize,
    pub max_samples: Option<usize>,
}

/// Runs one chain for `train.epochs` epochs with the likelihood of the N training examples
/// and the prior, keeping samples as `collection` says.
pub fn run(
    input: &RunInput,
    sampler: &SamplerConfig,
    prior: &PriorConfig,
    collection: Collection,
) -> Result<MethodOutput, RunError> {
    let mut trainer = Trainer::new(input.config, &input.data.train, sampler.lr());
    let posterior = Posterior::new(prior, input.data.train.len());
    let noise = NormalStream::new(input.config.stream_seed("sampler"));
    let mut chain = Chain {
        sampler: Sampler::new(sampler, trainer.params.len(), posterior, noise),
        temperature: sampler.temperature(),
    };
    let schedule = SampleSchedule {
        burn_in: collection.burn_in_epochs * trainer.steps_per_epoch,
        thin: collection.thin,
        max_samples: collection.max_samples,
    };
    driver::train(
        input,
        &mut trainer,
        &mut chain,
        &Evaluation::Samples(schedule),
    )
}
