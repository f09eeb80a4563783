//! `sgmcmc`: chains of stochastic-gradient MCMC ([`crate::sgmcmc`]: SGLD, pSGLD, SGHMC, and
//! their cyclical forms) over the network's weights. Its predictive is the posterior predictive
//! of the kept samples of all chains: the equal-weight average of each sample's predictive
//! (dropout off), folded in as each is drawn.
//!
//! Chain 0 starts from the same initial weights and sees the same batches as every other
//! method with the same data and model (common random numbers); every further chain has its own
//! initial weights and batch order, and every chain its own noise stream. The weights after the
//! burn-in (`burn_in_epochs` epochs or `burn_in_steps` updates) are the first candidates; from
//! then on every `thin`-th update is kept, at most `max_samples` per chain. A cyclical chain
//! (`cyclical = { cycles, exploration }`, Zhang et al. 2020) instead follows the cosine step
//! size of its cycles, runs at temperature 0 while exploring, and keeps the last
//! `samples_per_cycle` updates of each cycle, `thin` apart.

use crate::noise::NormalStream;
use crate::sgmcmc::{CyclicalSchedule, Posterior, PriorConfig, Sampler, SamplerConfig};

use super::driver::{self, Chain, CycleSampling, Evaluation, SampleSchedule, StepRule};
use super::{MethodOutput, RunError, RunInput, Trainer};

/// A sampler as the driver's update: at its configured temperature, or at the temperature of
/// the cyclical phase of each step.
struct SamplerStep {
    sampler: Sampler,
    temperature: f64,
    cyclical: Option<(CyclicalSchedule, usize)>,
}

impl StepRule for SamplerStep {
    fn update(&mut self, params: &mut [f32], grads: &[f32], lr: f32, step: usize) {
        let temperature = match self.cyclical {
            Some((schedule, total_steps)) => {
                schedule.temperature(step, total_steps, self.temperature)
            }
            None => self.temperature,
        };
        self.sampler.step(params, grads, lr, temperature);
    }
}

/// When the burn-in ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BurnIn {
    Epochs(usize),
    Steps(usize),
}

/// How the chains' samples are collected, as the spec gives it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Collection {
    pub burn_in: BurnIn,
    pub thin: usize,
    pub max_samples: Option<usize>,
    pub chains: usize,
    pub cyclical: Option<CyclicalSchedule>,
    pub samples_per_cycle: usize,
}

/// Runs `collection.chains` chains for `train.epochs` epochs with the likelihood of the N
/// training examples and the prior, keeping samples as `collection` says.
pub fn run(
    input: &RunInput,
    sampler: &SamplerConfig,
    prior: &PriorConfig,
    collection: &Collection,
) -> Result<MethodOutput, RunError> {
    let posterior = Posterior::new(prior, input.data.train.len());
    let mut chains: Vec<Chain> = (0..collection.chains.max(1))
        .map(|c| {
            let mut trainer = Trainer::for_chain(input.config, &input.data.train, sampler.lr(), c);
            if let Some(cyclical) = collection.cyclical {
                trainer.set_schedule(cyclical.schedule());
            }
            let key = match c {
                0 => "sampler".to_string(),
                c => format!("sampler/chain{c}"),
            };
            let noise = NormalStream::new(input.config.stream_seed(&key));
            let rule = SamplerStep {
                sampler: Sampler::new(sampler, trainer.params.len(), posterior, noise),
                temperature: sampler.temperature(),
                cyclical: collection.cyclical.map(|s| (s, trainer.total_steps)),
            };
            Chain {
                trainer,
                rule: Box::new(rule),
            }
        })
        .collect();
    let first = &chains[0].trainer;
    let schedule = SampleSchedule {
        burn_in: match collection.burn_in {
            BurnIn::Epochs(epochs) => epochs * first.steps_per_epoch,
            BurnIn::Steps(steps) => steps,
        },
        thin: collection.thin,
        max_samples: collection.max_samples,
        cycles: collection.cyclical.map(|schedule| CycleSampling {
            schedule,
            total_steps: first.total_steps,
            per_cycle: collection.samples_per_cycle,
        }),
    };
    driver::train(
        input,
        &mut chains,
        &Evaluation::Samples {
            schedule,
            posterior: Some(posterior),
        },
    )
}
