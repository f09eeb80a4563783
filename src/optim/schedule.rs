//! Learning-rate (step-size) schedules: the learning rate of optimisation step t, a function of t.
//!
//! A schedule is pure: `lr_at` reads only its arguments, so a resumed run recomputes its rates.
//! Steps are 0-based and counted over the whole run; an epoch is `steps_per_epoch` steps.

/// A learning-rate schedule, as written in an experiment file
/// (`schedule = { kind = "cyclic_cosine", cycles = 5 }`).
///
/// All kinds but `polynomial` multiply the optimizer's base rate α₀ by a factor; `polynomial` is
/// an absolute step size that ignores α₀. Notation: t = step (0-based), T = total steps,
/// e = ⌊t / steps_per_epoch⌋ the 0-based epoch.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Schedule {
    /// α_t = α₀.
    #[default]
    Constant,
    /// Step decay (as `torch.optim.lr_scheduler.StepLR` stepped once per epoch):
    /// α_t = α₀ · γ^⌊e / every_epochs⌋.
    Step { every_epochs: usize, gamma: f64 },
    /// Exponential decay per whole epoch (as `ExponentialLR` stepped once per epoch):
    /// α_t = α₀ · γ^e. The epoch is an integer, so the rate is constant within an epoch and a
    /// run's rates do not depend on where inside an epoch a step falls.
    Exponential { gamma: f64 },
    /// Cosine annealing over the whole run, without restarts (Loshchilov & Hutter 2017, SGDR,
    /// eq. 5, with T_i = T and T_cur = t, updated every step):
    /// α_t = α_min + ½(α₀ − α_min)(1 + cos(π t / T)), α_min = min_factor · α₀.
    /// Steps past T stay at α_min.
    Cosine {
        #[serde(default)]
        min_factor: f64,
    },
    /// Cyclic cosine annealing of snapshot ensembles (Huang et al. 2017), M = `cycles`:
    /// α_t = α_min + ½(α₀ − α_min)(cos(π · mod(t, ⌈T/M⌉) / ⌈T/M⌉) + 1), α_min = min_factor · α₀
    /// (the paper has min_factor = 0; t is 0-based here, the paper's t − 1).
    ///
    /// Each cycle lasts L = ⌈T/M⌉ steps and a snapshot is taken at its last step
    /// ([`Schedule::is_cycle_end`]). When M does not divide T the last cycle is shorter, and for
    /// some (T, M), e.g. T = 10, M = 6 (L = 2), there are only ⌈T/L⌉ < M cycles;
    /// [`Schedule::cycles_in`] gives the actual count.
    CyclicCosine {
        cycles: usize,
        #[serde(default)]
        min_factor: f64,
    },
    /// Polynomially decaying step size of SGLD (Welling & Teh 2011):
    /// ε_t = a · (b + t)^(−γ), with t the 0-based step, so the first step size is a·b^(−γ).
    /// This is an absolute step size: the optimizer's or sampler's base rate is ignored.
    /// γ ∈ (0.5, 1] satisfies the Robbins–Monro conditions Σ ε_t = ∞, Σ ε_t² < ∞ that the
    /// paper's convergence argument needs; other γ ≥ 0 are accepted for experiments.
    Polynomial { a: f64, b: f64, gamma: f64 },
}

impl Schedule {
    /// The learning rate at optimisation step `step` (0-based) of a run of `total_steps`, given the
    /// base rate and the number of steps per epoch (0 is treated as 1).
    pub fn lr_at(
        &self,
        base_lr: f64,
        step: usize,
        steps_per_epoch: usize,
        total_steps: usize,
    ) -> f64 {
        let epoch = step / steps_per_epoch.max(1);
        match *self {
            Schedule::Constant => base_lr,
            Schedule::Step {
                every_epochs,
                gamma,
            } => base_lr * pow_count(gamma, epoch / every_epochs.max(1)),
            Schedule::Exponential { gamma } => base_lr * pow_count(gamma, epoch),
            Schedule::Cosine { min_factor } => {
                if total_steps == 0 {
                    return base_lr;
                }
                let progress = step.min(total_steps) as f64 / total_steps as f64;
                base_lr * cosine_factor(progress, min_factor)
            }
            Schedule::CyclicCosine { cycles, min_factor } => {
                let len = cycle_len(total_steps, cycles);
                if len == 0 {
                    return base_lr;
                }
                let progress = (step % len) as f64 / len as f64;
                base_lr * cosine_factor(progress, min_factor)
            }
            Schedule::Polynomial { a, b, gamma } => a * (b + step as f64).powf(-gamma),
        }
    }

    /// Checks ranges. On failure returns `(key, message)` with the key relative to the schedule
    /// table. Ranges: `every_epochs ≥ 1`, `cycles ≥ 1`; decay factors `gamma` of `step` and
    /// `exponential` in (0, 1] (above 1 the rate would grow without bound); `min_factor` in [0, 1];
    /// polynomial `a > 0`, `b > 0` (so that the first step size a·b^(−γ) is finite), `gamma ≥ 0`.
    /// Every value must be finite.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let fail = |key: &str, message: String| Err((key.to_string(), message));
        let decay = |gamma: f64| {
            if gamma > 0.0 && gamma <= 1.0 {
                Ok(())
            } else {
                fail("gamma", format!("must be in (0, 1], got {gamma}"))
            }
        };
        let min = |min_factor: f64| {
            if (0.0..=1.0).contains(&min_factor) {
                Ok(())
            } else {
                fail("min_factor", format!("must be in [0, 1], got {min_factor}"))
            }
        };
        match *self {
            Schedule::Constant => Ok(()),
            Schedule::Step {
                every_epochs,
                gamma,
            } => {
                if every_epochs == 0 {
                    return fail("every_epochs", "must be >= 1, got 0".into());
                }
                decay(gamma)
            }
            Schedule::Exponential { gamma } => decay(gamma),
            Schedule::Cosine { min_factor } => min(min_factor),
            Schedule::CyclicCosine { cycles, min_factor } => {
                if cycles == 0 {
                    return fail("cycles", "must be >= 1, got 0".into());
                }
                min(min_factor)
            }
            Schedule::Polynomial { a, b, gamma } => {
                if !(a.is_finite() && a > 0.0) {
                    return fail("a", format!("must be > 0 and finite, got {a}"));
                }
                if !(b.is_finite() && b > 0.0) {
                    return fail(
                        "b",
                        format!(
                            "must be > 0 and finite (the first step size is a·b^-gamma), got {b}"
                        ),
                    );
                }
                if !(gamma.is_finite() && gamma >= 0.0) {
                    return fail("gamma", format!("must be >= 0 and finite, got {gamma}"));
                }
                Ok(())
            }
        }
    }

    /// For cyclic schedules: true when `step` is the last step of a cycle, where a snapshot
    /// ensemble saves a model: (t + 1) is a multiple of ⌈T/M⌉, or t = T − 1 (the end of a shorter
    /// last cycle). Always false for other schedules and for steps outside the run.
    pub fn is_cycle_end(&self, step: usize, total_steps: usize) -> bool {
        match *self {
            Schedule::CyclicCosine { cycles, .. } => {
                let len = cycle_len(total_steps, cycles);
                len > 0
                    && step < total_steps
                    && ((step + 1).is_multiple_of(len) || step + 1 == total_steps)
            }
            _ => false,
        }
    }

    /// The number of cycle ends (snapshots) in a run of `total_steps`: ⌈T / ⌈T/M⌉⌉ for
    /// `cyclic_cosine`, which is M unless M is large relative to T; 0 for other schedules.
    pub fn cycles_in(&self, total_steps: usize) -> usize {
        match *self {
            Schedule::CyclicCosine { cycles, .. } => {
                let len = cycle_len(total_steps, cycles);
                if len == 0 {
                    0
                } else {
                    total_steps.div_ceil(len)
                }
            }
            _ => 0,
        }
    }
}

/// ⌈T/M⌉ (0 when T = 0).
fn cycle_len(total_steps: usize, cycles: usize) -> usize {
    total_steps.div_ceil(cycles.max(1))
}

/// min + ½(1 − min)(1 + cos(π·progress)), progress in [0, 1].
fn cosine_factor(progress: f64, min_factor: f64) -> f64 {
    min_factor + 0.5 * (1.0 - min_factor) * (1.0 + (std::f64::consts::PI * progress).cos())
}

/// γ^k for a count k, saturating k (γ ≤ 1 makes a huge power 0 anyway).
fn pow_count(gamma: f64, k: usize) -> f64 {
    gamma.powi(i32::try_from(k).unwrap_or(i32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Schedules are a handful of f64 operations: 1e-12 relative is far above their rounding and
    /// far below any wrong term.
    fn close(got: f64, want: f64) {
        assert!(
            (got - want).abs() <= 1e-12 * want.abs().max(1e-300),
            "got {got}, want {want}"
        );
    }

    fn parse(text: &str) -> Result<Schedule, toml::de::Error> {
        #[derive(serde::Deserialize)]
        struct Wrap {
            schedule: Schedule,
        }
        toml::from_str::<Wrap>(text).map(|w| w.schedule)
    }

    #[test]
    fn constant() {
        assert_eq!(Schedule::default(), Schedule::Constant);
        assert_eq!(Schedule::Constant.lr_at(0.3, 12345, 10, 100), 0.3);
    }

    #[test]
    fn step_decay() {
        let s = Schedule::Step {
            every_epochs: 2,
            gamma: 0.5,
        };
        // 10 steps per epoch: steps 0..19 are epochs 0–1 → 0.1; step 20 is epoch 2 → 0.1·0.5;
        // step 45 is epoch 4 → 0.1·0.5² = 0.025.
        close(s.lr_at(0.1, 0, 10, 100), 0.1);
        close(s.lr_at(0.1, 19, 10, 100), 0.1);
        close(s.lr_at(0.1, 20, 10, 100), 0.05);
        close(s.lr_at(0.1, 45, 10, 100), 0.025);
    }

    #[test]
    fn exponential_decay_per_whole_epoch() {
        let s = Schedule::Exponential { gamma: 0.9 };
        // step 25 with 10 steps per epoch is epoch 2: 0.1·0.9² = 0.081; step 29 too.
        close(s.lr_at(0.1, 25, 10, 100), 0.081);
        close(s.lr_at(0.1, 29, 10, 100), 0.081);
        close(s.lr_at(0.1, 30, 10, 100), 0.0729);
        // steps_per_epoch = 0 counts each step as an epoch: 0.9³ = 0.729.
        close(s.lr_at(1.0, 3, 0, 100), 0.729);
    }

    #[test]
    fn cosine_annealing() {
        let s = Schedule::Cosine { min_factor: 0.1 };
        // t = 0: 0.1 + 0.45·(1 + 1) = 1
        close(s.lr_at(1.0, 0, 10, 100), 1.0);
        // t = 25: 0.1 + 0.45·(1 + cos(π/4)) = 0.1 + 0.45·1.7071067811865475 = 0.8681980515339464
        close(s.lr_at(1.0, 25, 10, 100), 0.868_198_051_533_946_4);
        // t = 50: 0.1 + 0.45·(1 + 0) = 0.55
        close(s.lr_at(1.0, 50, 10, 100), 0.55);
        // t ≥ T: α_min = 0.1
        close(s.lr_at(1.0, 100, 10, 100), 0.1);
        close(s.lr_at(1.0, 500, 10, 100), 0.1);
        let plain = Schedule::Cosine { min_factor: 0.0 };
        // t = 75: 0.5·(1 + cos(3π/4)) = 0.5·(1 − 0.7071067811865476) = 0.1464466094067262
        close(plain.lr_at(2.0, 75, 10, 100), 2.0 * 0.146_446_609_406_726_2);
    }

    #[test]
    fn cyclic_cosine_follows_huang_et_al() {
        let s = Schedule::CyclicCosine {
            cycles: 4,
            min_factor: 0.0,
        };
        // T = 100, M = 4: L = 25.  t = 0 → α₀ = 0.2
        close(s.lr_at(0.2, 0, 10, 100), 0.2);
        // t = 24: 0.1·(cos(24π/25) + 1) = 0.1·(1 − 0.9921147013144779) = 7.885298685522e-4
        close(s.lr_at(0.2, 24, 10, 100), 7.885_298_685_522_1e-4);
        // t = 25 restarts at α₀; t = 37: 0.1·(cos(12π/25) + 1) = 0.1·1.0627905195293135
        close(s.lr_at(0.2, 25, 10, 100), 0.2);
        close(s.lr_at(0.2, 37, 10, 100), 0.106_279_051_952_931_35);
        let floor = Schedule::CyclicCosine {
            cycles: 4,
            min_factor: 0.5,
        };
        // t = 12.5 of 25 is not a step; t = 50 + 12 → 0.5 + 0.25·(1 + cos(12π/25))
        //    = 0.5 + 0.25·1.0627905195293135 = 0.7656976298823284
        close(floor.lr_at(1.0, 62, 10, 100), 0.765_697_629_882_328_4);
    }

    #[test]
    fn cycle_ends_are_snapshot_points() {
        let s = Schedule::CyclicCosine {
            cycles: 4,
            min_factor: 0.0,
        };
        let ends: Vec<usize> = (0..100).filter(|&t| s.is_cycle_end(t, 100)).collect();
        assert_eq!(ends, [24, 49, 74, 99]);
        assert_eq!(s.cycles_in(100), 4);
        assert!(!s.is_cycle_end(124, 100));
        // T = 10, M = 3: L = ⌈10/3⌉ = 4; cycles [0, 4), [4, 8), [8, 10).
        let s = Schedule::CyclicCosine {
            cycles: 3,
            min_factor: 0.0,
        };
        let ends: Vec<usize> = (0..10).filter(|&t| s.is_cycle_end(t, 10)).collect();
        assert_eq!(ends, [3, 7, 9]);
        assert_eq!(s.cycles_in(10), 3);
        // T = 10, M = 6: L = 2, only 5 cycles fit.
        let s = Schedule::CyclicCosine {
            cycles: 6,
            min_factor: 0.0,
        };
        assert_eq!(s.cycles_in(10), 5);
        assert_eq!((0..10).filter(|&t| s.is_cycle_end(t, 10)).count(), 5);
        // Non-cyclic schedules have no cycle ends.
        assert!(!Schedule::Cosine { min_factor: 0.0 }.is_cycle_end(99, 100));
        assert_eq!(Schedule::Constant.cycles_in(100), 0);
    }

    #[test]
    fn polynomial_is_absolute() {
        let s = Schedule::Polynomial {
            a: 0.01,
            b: 1.0,
            gamma: 0.55,
        };
        // t = 0: 0.01·1^−0.55 = 0.01, whatever the base rate.
        close(s.lr_at(123.0, 0, 10, 100), 0.01);
        // t = 99: 0.01·100^−0.55 = 0.01·10^−1.1 = 7.943282347242815e-4
        close(s.lr_at(123.0, 99, 10, 100), 7.943_282_347_242_815e-4);
        let s = Schedule::Polynomial {
            a: 2.0,
            b: 4.0,
            gamma: 0.5,
        };
        // t = 5: 2·(4 + 5)^−½ = 2/3
        close(s.lr_at(1.0, 5, 10, 100), 2.0 / 3.0);
    }

    #[test]
    fn parses_and_validates() {
        assert_eq!(
            parse(r#"schedule = { kind = "cyclic_cosine", cycles = 5 }"#).unwrap(),
            Schedule::CyclicCosine {
                cycles: 5,
                min_factor: 0.0
            }
        );
        assert_eq!(
            parse(r#"schedule = { kind = "constant" }"#).unwrap(),
            Schedule::Constant
        );
        assert!(parse(r#"schedule = { kind = "cosine", min = 0.1 }"#).is_err());
        assert!(parse(r#"schedule = { kind = "step", gamma = 0.1 }"#).is_err());
        let bad = |text: &str| parse(text).unwrap().validate().unwrap_err();
        assert_eq!(
            bad(r#"schedule = { kind = "step", every_epochs = 0, gamma = 0.5 }"#),
            (
                "every_epochs".to_string(),
                "must be >= 1, got 0".to_string()
            )
        );
        assert_eq!(
            bad(r#"schedule = { kind = "exponential", gamma = 1.5 }"#),
            (
                "gamma".to_string(),
                "must be in (0, 1], got 1.5".to_string()
            )
        );
        assert_eq!(
            bad(r#"schedule = { kind = "exponential", gamma = 0.0 }"#).0,
            "gamma"
        );
        assert_eq!(
            bad(r#"schedule = { kind = "cosine", min_factor = 1.1 }"#).0,
            "min_factor"
        );
        assert_eq!(
            bad(r#"schedule = { kind = "cosine", min_factor = nan }"#).0,
            "min_factor"
        );
        assert_eq!(
            bad(r#"schedule = { kind = "cyclic_cosine", cycles = 0 }"#).0,
            "cycles"
        );
        assert_eq!(
            bad(r#"schedule = { kind = "polynomial", a = 0.01, b = 0.0, gamma = 0.55 }"#).0,
            "b"
        );
        assert_eq!(
            bad(r#"schedule = { kind = "polynomial", a = -1.0, b = 1.0, gamma = 0.55 }"#).0,
            "a"
        );
        assert_eq!(
            bad(r#"schedule = { kind = "polynomial", a = 1.0, b = 1.0, gamma = -0.5 }"#).0,
            "gamma"
        );
        for good in [
            r#"schedule = { kind = "step", every_epochs = 3, gamma = 1.0 }"#,
            r#"schedule = { kind = "cosine" }"#,
            r#"schedule = { kind = "cyclic_cosine", cycles = 1, min_factor = 1.0 }"#,
            r#"schedule = { kind = "polynomial", a = 0.01, b = 1.0, gamma = 0.55 }"#,
        ] {
            assert_eq!(parse(good).unwrap().validate(), Ok(()), "{good}");
        }
    }
}
