//! The sampler and prior sections of a spec (`sampler = { kind = "psgld", lr = 1e-3 }`,
//! `prior = { kind = "gaussian", precision = 1.0 }`) and their checks.

use crate::optim::OptimizerConfig;

/// Which SG-MCMC sampler to use and its hyperparameters, as written in an experiment file. The
/// update rules, the meaning of `lr` and the noise conventions are in the [module
/// documentation](super).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SamplerConfig {
    /// Stochastic gradient Langevin dynamics (Welling & Teh 2011).
    Sgld {
        /// The base learning rate γ on the mean loss (the paper's ε = 2γ/N).
        lr: f64,
        /// T: 1 samples the posterior, 0 is SGD.
        #[serde(default = "default_temperature")]
        temperature: f64,
        #[serde(default)]
        noise: NoiseConvention,
    },
    /// Preconditioned SGLD with an RMSprop preconditioner (Li, Chen, Carlson & Carin 2016).
    Psgld {
        lr: f64,
        /// RMSprop's decay α of the running average of squared gradients.
        #[serde(default = "default_alpha")]
        alpha: f64,
        /// The paper's λ: G = 1/(λ + √V); RMSprop's `eps`.
        #[serde(default = "default_lambda")]
        lambda: f64,
        #[serde(default = "default_temperature")]
        temperature: f64,
        #[serde(default)]
        noise: NoiseConvention,
    },
    /// Stochastic gradient Hamiltonian Monte Carlo (Chen, Fox & Guestrin 2014) in the momentum-SGD
    /// parametrisation: friction 1 − μ per step.
    Sghmc {
        lr: f64,
        /// μ in [0, 1): the paper's α = εM⁻¹C is 1 − μ.
        #[serde(default = "default_momentum")]
        momentum: f64,
        /// β̂ in [0, 1 − μ]: the estimated gradient-noise share of the friction (the paper's
        /// β̂ = ½ηV̂); 0 as the paper advises for small steps.
        #[serde(default)]
        beta_hat: f64,
        #[serde(default = "default_temperature")]
        temperature: f64,
        #[serde(default)]
        noise: NoiseConvention,
    },
}

/// How the injected noise is scaled; see the table in the [module documentation](super).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoiseConvention {
    /// The papers' update: the chain targets p(θ | D)^(1/T).
    #[default]
    Posterior,
    /// The authors' published code: noise std divided by √N with a mean-loss gradient, i.e. an
    /// effective temperature T/N.
    ReferenceCode,
}

impl NoiseConvention {
    /// `"posterior"` or `"reference_code"`.
    pub fn name(self) -> &'static str {
        match self {
            NoiseConvention::Posterior => "posterior",
            NoiseConvention::ReferenceCode => "reference_code",
        }
    }

    /// The temperature relative to the posterior that a configured T amounts to with N training
    /// examples: T, or T/N for the reference code.
    pub fn effective_temperature(self, temperature: f64, n_data: usize) -> f64 {
        match self {
            NoiseConvention::Posterior => temperature,
            NoiseConvention::ReferenceCode => temperature / n_data.max(1) as f64,
        }
    }
}

fn default_temperature() -> f64 {
    1.0
}
fn default_alpha() -> f64 {
    0.99
}
fn default_lambda() -> f64 {
    1e-5
}
fn default_momentum() -> f64 {
    0.9
}

impl SamplerConfig {
    /// The spec name: `"sgld"`, `"psgld"` or `"sghmc"`.
    pub fn name(&self) -> &'static str {
        match self {
            SamplerConfig::Sgld { .. } => "sgld",
            SamplerConfig::Psgld { .. } => "psgld",
            SamplerConfig::Sghmc { .. } => "sghmc",
        }
    }

    /// The base learning rate γ (a schedule scales or replaces it step by step).
    pub fn lr(&self) -> f64 {
        match *self {
            SamplerConfig::Sgld { lr, .. }
            | SamplerConfig::Psgld { lr, .. }
            | SamplerConfig::Sghmc { lr, .. } => lr,
        }
    }

    /// The configured temperature T (the driver may pass another per step, e.g. 0 during a
    /// cyclical exploration phase).
    pub fn temperature(&self) -> f64 {
        match *self {
            SamplerConfig::Sgld { temperature, .. }
            | SamplerConfig::Psgld { temperature, .. }
            | SamplerConfig::Sghmc { temperature, .. } => temperature,
        }
    }

    /// The noise convention.
    pub fn noise(&self) -> NoiseConvention {
        match *self {
            SamplerConfig::Sgld { noise, .. }
            | SamplerConfig::Psgld { noise, .. }
            | SamplerConfig::Sghmc { noise, .. } => noise,
        }
    }

    /// The optimizer this sampler equals bit for bit at T = 0 for a posterior with `posterior`'s
    /// prior and data size: SGD (SGLD), RMSprop with `alpha` and `eps = lambda` (pSGLD), SGD with
    /// momentum μ (SGHMC), each with coupled weight decay λ/N. This is the twin a paired
    /// comparison should use.
    pub fn twin(&self, posterior: &Posterior) -> OptimizerConfig {
        let weight_decay = posterior.weight_decay();
        match *self {
            SamplerConfig::Sgld { lr, .. } => OptimizerConfig::Sgd {
                lr,
                momentum: 0.0,
                nesterov: false,
                weight_decay,
            },
            SamplerConfig::Psgld {
                lr, alpha, lambda, ..
            } => OptimizerConfig::Rmsprop {
                lr,
                alpha,
                eps: lambda,
                momentum: 0.0,
                weight_decay,
            },
            SamplerConfig::Sghmc { lr, momentum, .. } => OptimizerConfig::Sgd {
                lr,
                momentum,
                nesterov: false,
                weight_decay,
            },
        }
    }

    /// Checks ranges. On failure returns `(key, message)` with the key relative to the sampler
    /// table, as [`OptimizerConfig::validate`] does. Ranges: `lr > 0`; `temperature ≥ 0`;
    /// `alpha` and `momentum` in [0, 1); `lambda > 0` (at 0 a coordinate whose gradient has always
    /// been 0 gets G = 1/0); `beta_hat` in [0, 1 − momentum] (the injected noise variance
    /// 2(1 − μ − β̂)ηT must not be negative). Every value must be finite.
    pub fn validate(&self) -> Result<(), (String, String)> {
        check_finite("lr", self.lr())?;
        if self.lr() <= 0.0 {
            return fail("lr", format!("must be > 0, got {}", self.lr()));
        }
        check_finite("temperature", self.temperature())?;
        if self.temperature() < 0.0 {
            return fail(
                "temperature",
                format!(
                    "must be >= 0 (1 is the posterior, 0 turns the sampler into its optimizer), got {}",
                    self.temperature()
                ),
            );
        }
        match *self {
            SamplerConfig::Sgld { .. } => Ok(()),
            SamplerConfig::Psgld { alpha, lambda, .. } => {
                check_unit("alpha", alpha)?;
                check_finite("lambda", lambda)?;
                if lambda <= 0.0 {
                    return fail("lambda", format!("must be > 0, got {lambda}"));
                }
                Ok(())
            }
            SamplerConfig::Sghmc {
                momentum, beta_hat, ..
            } => {
                check_unit("momentum", momentum)?;
                check_finite("beta_hat", beta_hat)?;
                if !(0.0..=1.0 - momentum).contains(&beta_hat) {
                    return fail(
                        "beta_hat",
                        format!(
                            "must be in [0, 1 - momentum] = [0, {}], got {beta_hat}",
                            1.0 - momentum
                        ),
                    );
                }
                Ok(())
            }
        }
    }
}

/// The prior over the flat parameter vector, as written in an experiment file.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PriorConfig {
    /// Isotropic Gaussian N(0, λ⁻¹I): −log p(θ) = (λ/2)‖θ‖² + const.
    Gaussian {
        /// The precision λ (1/variance); 0 is the flat (improper) prior.
        #[serde(default = "default_precision")]
        precision: f64,
    },
}

fn default_precision() -> f64 {
    1.0
}

impl Default for PriorConfig {
    fn default() -> Self {
        PriorConfig::Gaussian {
            precision: default_precision(),
        }
    }
}

impl PriorConfig {
    /// The prior precision λ.
    pub fn precision(&self) -> f64 {
        match *self {
            PriorConfig::Gaussian { precision } => precision,
        }
    }

    /// Checks ranges: `precision ≥ 0` and finite. Errors as [`SamplerConfig::validate`].
    pub fn validate(&self) -> Result<(), (String, String)> {
        let precision = self.precision();
        check_finite("precision", precision)?;
        if precision < 0.0 {
            return fail("precision", format!("must be >= 0, got {precision}"));
        }
        Ok(())
    }
}

/// What a sampler needs to know about the posterior besides the gradient: the number N of
/// training examples (later: training tokens) that scales the likelihood, and the prior.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Posterior {
    /// N, the number of training examples; must be ≥ 1.
    pub n_data: usize,
    /// λ, the precision of the isotropic Gaussian prior.
    pub prior_precision: f64,
}

impl Posterior {
    /// The posterior of `n_data` examples under `prior`.
    pub fn new(prior: &PriorConfig, n_data: usize) -> Self {
        Posterior {
            n_data,
            prior_precision: prior.precision(),
        }
    }

    /// λ/N: the coupled weight decay that turns the mean-loss gradient into ∇U/N.
    pub fn weight_decay(&self) -> f64 {
        self.prior_precision / self.n_data.max(1) as f64
    }
}

fn fail(key: &str, message: String) -> Result<(), (String, String)> {
    Err((key.to_string(), message))
}

fn check_finite(key: &str, value: f64) -> Result<(), (String, String)> {
    if value.is_finite() {
        Ok(())
    } else {
        fail(key, format!("must be a finite number, got {value}"))
    }
}

fn check_unit(key: &str, value: f64) -> Result<(), (String, String)> {
    check_finite(key, value)?;
    if (0.0..1.0).contains(&value) {
        Ok(())
    } else {
        fail(key, format!("must be in [0, 1), got {value}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SamplerConfig, toml::de::Error> {
        #[derive(serde::Deserialize)]
        struct Wrap {
            sampler: SamplerConfig,
        }
        toml::from_str::<Wrap>(text).map(|w| w.sampler)
    }

    #[test]
    fn defaults() {
        assert_eq!(
            parse(r#"sampler = { kind = "psgld", lr = 1e-3 }"#).unwrap(),
            SamplerConfig::Psgld {
                lr: 1e-3,
                alpha: 0.99,
                lambda: 1e-5,
                temperature: 1.0,
                noise: NoiseConvention::Posterior
            }
        );
        assert_eq!(
            parse(r#"sampler = { kind = "sghmc", lr = 0.1, noise = "reference_code" }"#).unwrap(),
            SamplerConfig::Sghmc {
                lr: 0.1,
                momentum: 0.9,
                beta_hat: 0.0,
                temperature: 1.0,
                noise: NoiseConvention::ReferenceCode
            }
        );
        let sgld = parse(r#"sampler = { kind = "sgld", lr = 0.5, temperature = 0.5 }"#).unwrap();
        assert_eq!(
            (sgld.name(), sgld.lr(), sgld.temperature()),
            ("sgld", 0.5, 0.5)
        );
        let prior: PriorConfig = toml::from_str(r#"kind = "gaussian""#).unwrap();
        assert_eq!(prior, PriorConfig::default());
        assert_eq!(prior.precision(), 1.0);
    }

    #[test]
    fn unknown_keys_and_kinds_are_refused() {
        assert!(parse(r#"sampler = { kind = "sgld", lr = 1e-3, alpha = 0.9 }"#).is_err());
        assert!(parse(r#"sampler = { kind = "psgld", lr = 1e-3, eps = 1e-8 }"#).is_err());
        assert!(parse(r#"sampler = { kind = "sgld", lr = 1e-3, noise = "paper" }"#).is_err());
        assert!(parse(r#"sampler = { kind = "sgnht", lr = 1e-3 }"#).is_err());
        assert!(parse(r#"sampler = { kind = "sgld" }"#).is_err());
        assert!(toml::from_str::<PriorConfig>(r#"kind = "laplace""#).is_err());
    }

    #[test]
    fn round_trips_through_toml() {
        let config = SamplerConfig::Psgld {
            lr: 0.01,
            alpha: 0.9,
            lambda: 1e-6,
            temperature: 0.25,
            noise: NoiseConvention::ReferenceCode,
        };
        #[derive(serde::Serialize)]
        struct Wrap<'a> {
            sampler: &'a SamplerConfig,
        }
        let text = toml::to_string(&Wrap { sampler: &config }).unwrap();
        assert_eq!(parse(&text).unwrap(), config);
    }

    #[test]
    fn validate_names_the_key() {
        let bad = |text: &str| parse(text).unwrap().validate().unwrap_err();
        assert_eq!(
            bad(r#"sampler = { kind = "sgld", lr = -0.1 }"#),
            ("lr".to_string(), "must be > 0, got -0.1".to_string())
        );
        assert_eq!(
            bad(r#"sampler = { kind = "sgld", lr = 0.1, temperature = -1.0 }"#).0,
            "temperature"
        );
        assert_eq!(bad(r#"sampler = { kind = "sgld", lr = nan }"#).0, "lr");
        assert_eq!(
            bad(r#"sampler = { kind = "psgld", lr = 0.1, alpha = 1.0 }"#).0,
            "alpha"
        );
        assert_eq!(
            bad(r#"sampler = { kind = "psgld", lr = 0.1, lambda = 0.0 }"#).0,
            "lambda"
        );
        assert_eq!(
            bad(r#"sampler = { kind = "sghmc", lr = 0.1, momentum = 1.0 }"#).0,
            "momentum"
        );
        assert_eq!(
            bad(r#"sampler = { kind = "sghmc", lr = 0.1, momentum = 0.5, beta_hat = 0.75 }"#),
            (
                "beta_hat".to_string(),
                "must be in [0, 1 - momentum] = [0, 0.5], got 0.75".to_string()
            )
        );
        for good in [
            r#"sampler = { kind = "sgld", lr = 0.1, temperature = 0.0 }"#,
            r#"sampler = { kind = "psgld", lr = 0.1, alpha = 0.0 }"#,
            r#"sampler = { kind = "sghmc", lr = 0.1, momentum = 0.0, beta_hat = 1.0 }"#,
        ] {
            assert_eq!(parse(good).unwrap().validate(), Ok(()), "{good}");
        }
        let prior: PriorConfig = toml::from_str(
            r#"kind = "gaussian"
precision = -1.0"#,
        )
        .unwrap();
        assert_eq!(prior.validate().unwrap_err().0, "precision");
    }

    #[test]
    fn twins_carry_the_prior_as_weight_decay() {
        let posterior = Posterior {
            n_data: 1000,
            prior_precision: 2.0,
        };
        assert_eq!(posterior.weight_decay(), 0.002);
        let psgld = parse(r#"sampler = { kind = "psgld", lr = 1e-3, alpha = 0.9, lambda = 1e-6 }"#)
            .unwrap();
        assert_eq!(
            psgld.twin(&posterior),
            OptimizerConfig::Rmsprop {
                lr: 1e-3,
                alpha: 0.9,
                eps: 1e-6,
                momentum: 0.0,
                weight_decay: 0.002
            }
        );
        let sghmc = parse(r#"sampler = { kind = "sghmc", lr = 1e-2, momentum = 0.5 }"#).unwrap();
        assert_eq!(sghmc.twin(&posterior).name(), "sgd");
        assert_eq!(
            NoiseConvention::ReferenceCode.effective_temperature(1.0, 1000),
            0.001
        );
    }
}
