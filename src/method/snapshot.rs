//! `snapshot_ensemble`: snapshot ensembles (Huang, Li, Pleiss, Liu, Hopcroft & Weinberger 2017,
//! "Snapshot ensembles: train 1, get M for free", ICLR). One network is trained by an optimiser
//! with the cyclic cosine learning rate, per iteration,
//!
//! ```text
//! α(t) = α₀/2 · (cos(π · mod(t − 1, ⌈T/M⌉) / ⌈T/M⌉) + 1)      t = 1..T iterations, M cycles
//! ```
//!
//! ([`crate::optim::Schedule::CyclicCosine`] with `min_factor = 0`; α₀ is the optimizer's `lr`).
//! The weights at the end of each cycle are a snapshot; the predictive averages the last
//! `keep_last` of them (the paper's m), folded in as each is taken and scored after 1, 2, 4, …
//! snapshots and after the last (`samples` column). Each snapshot is traced like a sampler's
//! sample (its own log-likelihoods, its weight norm).

use crate::optim::{Optimizer, OptimizerConfig, Schedule};
use crate::sgmcmc::CyclicalSchedule;

use super::driver::{self, Chain, CycleSampling, Evaluation, SampleSchedule};
use super::{MethodOutput, RunError, RunInput, Trainer};

/// Trains for `train.epochs` with `cycles` cosine cycles and averages the last `keep_last`
/// snapshots.
pub fn run(
    input: &RunInput,
    optimizer: &OptimizerConfig,
    cycles: usize,
    keep_last: usize,
) -> Result<MethodOutput, RunError> {
    let mut trainer = Trainer::new(input.config, &input.data.train, optimizer.lr());
    let schedule = Schedule::CyclicCosine {
        cycles,
        min_factor: 0.0,
    };
    let total_steps = trainer.total_steps;
    let cycle_len = total_steps.div_ceil(cycles.max(1));
    let snapshots = schedule.cycles_in(total_steps);
    trainer.set_schedule(schedule);
    let rule = Box::new(Optimizer::new(optimizer, trainer.params.len()));
    let collection = SampleSchedule {
        // Skip the cycles before the last `keep_last`.
        burn_in: snapshots.saturating_sub(keep_last) * cycle_len,
        thin: 1,
        max_samples: None,
        cycles: Some(CycleSampling {
            schedule: CyclicalSchedule {
                cycles,
                exploration: 0.0,
            },
            total_steps,
            per_cycle: 1,
        }),
    };
    driver::train(
        input,
        &mut [Chain { trainer, rule }],
        &Evaluation::Samples {
            schedule: collection,
            posterior: None,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Huang et al.'s α(t) at the cycle boundaries, t 1-based (the schedule's step is t − 1):
    /// α₀ at each cycle's first iteration, α₀/2 half-way, and α₀/2·(cos(π(L−1)/L) + 1) at its
    /// last; snapshots at t = L, 2L, …, T.
    #[test]
    fn the_snapshot_schedule_matches_the_paper_at_the_cycle_boundaries() {
        let (a0, total, m) = (0.2, 40usize, 4usize);
        let l = total.div_ceil(m); // 10
        let schedule = Schedule::CyclicCosine {
            cycles: m,
            min_factor: 0.0,
        };
        let paper = |t: usize| {
            let x = ((t - 1) % l) as f64 / l as f64;
            a0 / 2.0 * ((std::f64::consts::PI * x).cos() + 1.0)
        };
        for t in 1..=total {
            let got = schedule.lr_at(a0, t - 1, 1, total);
            assert!(
                (got - paper(t)).abs() < 1e-15,
                "t = {t}: {got} vs {}",
                paper(t)
            );
        }
        for cycle in 0..m {
            let first = cycle * l + 1;
            assert!((schedule.lr_at(a0, first - 1, 1, total) - a0).abs() < 1e-15);
            assert!((schedule.lr_at(a0, first + l / 2 - 1, 1, total) - a0 / 2.0).abs() < 1e-15);
        }
        let ends: Vec<usize> = (1..=total)
            .filter(|&t| schedule.is_cycle_end(t - 1, total))
            .collect();
        assert_eq!(ends, [10, 20, 30, 40]);
    }
}
