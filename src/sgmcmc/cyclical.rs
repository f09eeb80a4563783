//! The cyclical step-size schedule of cyclical SG-MCMC (Zhang, Li, Zhang, Chen & Wilson, ICLR
//! 2020): which phase a step is in, its step-size factor, and where a cycle ends.

use crate::optim::Schedule;

/// Cyclical SGLD / SGHMC (Zhang et al. 2020, Alg. 1) as a schedule: K total steps split into M
/// cycles of L = ⌈K/M⌉ steps; with k the 0-based step (the paper's k − 1),
///
/// ```text
/// α_k = α₀/2 · (cos(π · mod(k, L)/L) + 1)        the step size (here: a factor on lr)
/// r(k) = mod(k, L)/L                              the position in the cycle, in [0, 1)
/// r(k) < β: exploration — an optimizer step, no noise (temperature 0)
/// r(k) ≥ β: sampling    — an SG-MCMC step at the configured temperature
/// ```
/// and the sampler's state is taken as a sample at the last step of each cycle (the paper
/// collects samples during the sampling phase; its experiments keep the last few of each cycle,
/// e.g. the published CIFAR scripts explore for 45 of every 50 epochs, β = 0.9, and save the last
/// 3). The factor is [`Schedule::CyclicCosine`] with `min_factor = 0` (the same formula as
/// snapshot ensembles), and cycle ends are [`Schedule::is_cycle_end`]: this type adds only the
/// phases. When M does not divide K the last cycle is shorter, as there.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CyclicalSchedule {
    /// M, the number of cycles.
    pub cycles: usize,
    /// β, the fraction of each cycle spent exploring, in [0, 1).
    pub exploration: f64,
}

/// The phase of a step in its cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// r(k) < β: large steps, no noise.
    Exploration,
    /// r(k) ≥ β: small steps with noise.
    Sampling,
}

impl CyclicalSchedule {
    /// The optimizer schedule that gives the step-size factor.
    pub fn schedule(&self) -> Schedule {
        Schedule::CyclicCosine {
            cycles: self.cycles,
            min_factor: 0.0,
        }
    }

    /// α_k/α₀ at 0-based step `step` of `total_steps`.
    pub fn lr_factor(&self, step: usize, total_steps: usize) -> f64 {
        self.schedule().lr_at(1.0, step, 1, total_steps)
    }

    /// r(k) = mod(k, L)/L, the position of `step` in its cycle (0 at a cycle's first step).
    pub fn position(&self, step: usize, total_steps: usize) -> f64 {
        let len = total_steps.div_ceil(self.cycles.max(1));
        if len == 0 {
            return 0.0;
        }
        (step % len) as f64 / len as f64
    }

    /// Exploration if r(k) < β, else sampling.
    pub fn phase(&self, step: usize, total_steps: usize) -> Phase {
        if self.position(step, total_steps) < self.exploration {
            Phase::Exploration
        } else {
            Phase::Sampling
        }
    }

    /// The temperature to pass to [`super::Sampler::step`]: 0 while exploring, else `temperature`.
    pub fn temperature(&self, step: usize, total_steps: usize, temperature: f64) -> f64 {
        match self.phase(step, total_steps) {
            Phase::Exploration => 0.0,
            Phase::Sampling => temperature,
        }
    }

    /// Whether `step` is the last of its cycle, where a sample is taken.
    pub fn is_cycle_end(&self, step: usize, total_steps: usize) -> bool {
        self.schedule().is_cycle_end(step, total_steps)
    }

    /// The number of cycles (and samples) in a run of `total_steps`.
    pub fn cycles_in(&self, total_steps: usize) -> usize {
        self.schedule().cycles_in(total_steps)
    }

    /// Checks ranges: `cycles ≥ 1`, `exploration` in [0, 1). Errors as
    /// [`super::SamplerConfig::validate`].
    pub fn validate(&self) -> Result<(), (String, String)> {
        if self.cycles == 0 {
            return Err(("cycles".into(), "must be >= 1, got 0".into()));
        }
        if !(0.0..1.0).contains(&self.exploration) {
            return Err((
                "exploration".into(),
                format!(
                    "must be in [0, 1) (the fraction of each cycle without noise), got {}",
                    self.exploration
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ½(cos(π·mod(k, L)/L) + 1), written out independently of `Schedule`.
    fn paper_factor(k: usize, total: usize, cycles: usize) -> f64 {
        let len = total.div_ceil(cycles);
        0.5 * ((std::f64::consts::PI * (k % len) as f64 / len as f64).cos() + 1.0)
    }

    #[test]
    fn cycle_boundaries_follow_the_formula() {
        // K = 1000, M = 4: L = 250; β = 0.8 explores steps 0..199 of each cycle.
        let s = CyclicalSchedule {
            cycles: 4,
            exploration: 0.8,
        };
        let total = 1000;
        for k in [
            0, 1, 124, 125, 199, 200, 249, 250, 251, 449, 450, 499, 500, 749, 750, 999,
        ] {
            let got = s.lr_factor(k, total);
            assert!(
                (got - paper_factor(k, total, 4)).abs() < 1e-15,
                "k = {k}: {got}"
            );
        }
        // Hand values: k = 0 and 250 start a cycle at 1; k = 125 is mid-cycle, ½(cos(π/2) + 1)
        // = 0.5; k = 200 (r = 0.8): ½(cos(0.8π) + 1) = ½(1 − 0.8090169943749475) = 0.0954915028125263;
        // k = 249: ½(cos(249π/250) + 1) = 3.9477898e-5.
        assert_eq!(s.lr_factor(0, total), 1.0);
        assert_eq!(s.lr_factor(250, total), 1.0);
        assert!((s.lr_factor(125, total) - 0.5).abs() < 1e-15);
        assert!((s.lr_factor(200, total) - 0.095_491_502_812_526_33).abs() < 1e-15);
        assert!((s.lr_factor(249, total) - 3.947_789_809_194_413e-5).abs() < 1e-15);
        // Phases: r(199) = 0.796 < 0.8 explores, r(200) = 0.8 samples, the next cycle explores.
        assert_eq!(s.phase(0, total), Phase::Exploration);
        assert_eq!(s.phase(199, total), Phase::Exploration);
        assert_eq!(s.phase(200, total), Phase::Sampling);
        assert_eq!(s.phase(249, total), Phase::Sampling);
        assert_eq!(s.phase(250, total), Phase::Exploration);
        assert_eq!(s.temperature(199, total, 1.0), 0.0);
        assert_eq!(s.temperature(200, total, 0.5), 0.5);
        // Samples at steps 249, 499, 749, 999 only.
        let ends: Vec<usize> = (0..total).filter(|&k| s.is_cycle_end(k, total)).collect();
        assert_eq!(ends, vec![249, 499, 749, 999]);
        assert_eq!(s.cycles_in(total), 4);
    }

    #[test]
    fn a_shorter_last_cycle_ends_at_the_last_step() {
        // K = 10, M = 3: L = 4, cycles start at 0, 4, 8; the last has two steps.
        let s = CyclicalSchedule {
            cycles: 3,
            exploration: 0.5,
        };
        let ends: Vec<usize> = (0..10).filter(|&k| s.is_cycle_end(k, 10)).collect();
        assert_eq!(ends, vec![3, 7, 9]);
        // r(8) = 0 explores; r(9) = 1/4 < 0.5 explores too: that cycle never samples.
        assert_eq!(s.phase(9, 10), Phase::Exploration);
        assert_eq!(s.phase(6, 10), Phase::Sampling);
        assert!((s.lr_factor(9, 10) - paper_factor(9, 10, 3)).abs() < 1e-15);
    }

    #[test]
    fn validate_names_the_key() {
        let bad = |cycles, exploration| {
            CyclicalSchedule {
                cycles,
                exploration,
            }
            .validate()
            .unwrap_err()
            .0
        };
        assert_eq!(bad(0, 0.5), "cycles");
        assert_eq!(bad(2, 1.0), "exploration");
        assert_eq!(bad(2, -0.1), "exploration");
        assert!(
            CyclicalSchedule {
                cycles: 1,
                exploration: 0.0
            }
            .validate()
            .is_ok()
        );
        let parsed: CyclicalSchedule = toml::from_str("cycles = 4\nexploration = 0.9").unwrap();
        assert_eq!(
            parsed,
            CyclicalSchedule {
                cycles: 4,
                exploration: 0.9
            }
        );
        assert!(toml::from_str::<CyclicalSchedule>("cycles = 4").is_err());
    }
}
