//! The optimizer section of a spec (`optimizer = { kind = "adam", lr = 1e-3 }`) and its checks.

/// Which optimizer to use and its hyperparameters, as written in an experiment file.
///
/// `weight_decay` is always *coupled* L2 decay, as in `torch.optim`: the gradient becomes
/// g ← g + λθ before any other use (not AdamW's decoupled decay). Defaults are PyTorch's.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum OptimizerConfig {
    /// Stochastic gradient descent (Robbins & Monro 1951) with heavy-ball momentum (Polyak 1964)
    /// or Nesterov momentum in the form of Sutskever et al. (2013); see [`super::Optimizer`].
    Sgd {
        lr: f64,
        /// Momentum μ in [0, 1); 0 disables the momentum buffer.
        #[serde(default)]
        momentum: f64,
        /// Nesterov momentum; requires `momentum > 0`.
        #[serde(default)]
        nesterov: bool,
        #[serde(default)]
        weight_decay: f64,
    },
    /// AdaGrad (Duchi, Hazan & Singer 2011).
    Adagrad {
        lr: f64,
        #[serde(default = "default_adagrad_eps")]
        eps: f64,
        #[serde(default)]
        weight_decay: f64,
    },
    /// RMSprop (Tieleman & Hinton 2012, Coursera lecture 6.5), non-centred.
    Rmsprop {
        lr: f64,
        /// Smoothing constant α of the running average of squared gradients.
        #[serde(default = "default_rmsprop_alpha")]
        alpha: f64,
        #[serde(default = "default_eps")]
        eps: f64,
        #[serde(default)]
        momentum: f64,
        #[serde(default)]
        weight_decay: f64,
    },
    /// Adam (Kingma & Ba 2015) with bias correction.
    Adam {
        lr: f64,
        #[serde(default = "default_beta1")]
        beta1: f64,
        #[serde(default = "default_beta2")]
        beta2: f64,
        #[serde(default = "default_eps")]
        eps: f64,
        #[serde(default)]
        weight_decay: f64,
    },
}

fn default_adagrad_eps() -> f64 {
    1e-10
}
fn default_rmsprop_alpha() -> f64 {
    0.99
}
fn default_eps() -> f64 {
    1e-8
}
fn default_beta1() -> f64 {
    0.9
}
fn default_beta2() -> f64 {
    0.999
}

impl OptimizerConfig {
    /// The base learning rate (a schedule scales or replaces it step by step).
    pub fn lr(&self) -> f64 {
        match *self {
            OptimizerConfig::Sgd { lr, .. }
            | OptimizerConfig::Adagrad { lr, .. }
            | OptimizerConfig::Rmsprop { lr, .. }
            | OptimizerConfig::Adam { lr, .. } => lr,
        }
    }

    /// The spec name of the optimizer: `"sgd"`, `"adagrad"`, `"rmsprop"` or `"adam"`.
    pub fn name(&self) -> &'static str {
        match self {
            OptimizerConfig::Sgd { .. } => "sgd",
            OptimizerConfig::Adagrad { .. } => "adagrad",
            OptimizerConfig::Rmsprop { .. } => "rmsprop",
            OptimizerConfig::Adam { .. } => "adam",
        }
    }

    /// The coupled L2 weight-decay coefficient λ.
    pub fn weight_decay(&self) -> f64 {
        match *self {
            OptimizerConfig::Sgd { weight_decay, .. }
            | OptimizerConfig::Adagrad { weight_decay, .. }
            | OptimizerConfig::Rmsprop { weight_decay, .. }
            | OptimizerConfig::Adam { weight_decay, .. } => weight_decay,
        }
    }

    /// Checks ranges. On failure returns `(key, message)` with the key relative to the optimizer
    /// table, for example `("lr", "must be > 0, got -0.1")`.
    ///
    /// Ranges: `lr > 0`; `weight_decay ≥ 0`; momentum, `alpha`, `beta1`, `beta2` in [0, 1) (at 1
    /// the averages never forget, or in RMSprop's case never grow from 0); `eps > 0` (PyTorch
    /// accepts 0, but then a coordinate whose gradient has always been 0 gets 0/0 = NaN);
    /// `nesterov` needs `momentum > 0`, as in PyTorch. Every value must be finite.
    pub fn validate(&self) -> Result<(), (String, String)> {
        check_positive("lr", self.lr())?;
        check_non_negative("weight_decay", self.weight_decay())?;
        match *self {
            OptimizerConfig::Sgd {
                momentum, nesterov, ..
            } => {
                check_unit("momentum", momentum)?;
                if nesterov && momentum <= 0.0 {
                    return Err((
                        "nesterov".into(),
                        "Nesterov momentum needs momentum > 0; set momentum (e.g. 0.9) or nesterov = false".into(),
                    ));
                }
            }
            OptimizerConfig::Adagrad { eps, .. } => check_positive("eps", eps)?,
            OptimizerConfig::Rmsprop {
                alpha,
                eps,
                momentum,
                ..
            } => {
                check_unit("alpha", alpha)?;
                check_positive("eps", eps)?;
                check_unit("momentum", momentum)?;
            }
            OptimizerConfig::Adam {
                beta1, beta2, eps, ..
            } => {
                check_unit("beta1", beta1)?;
                check_unit("beta2", beta2)?;
                check_positive("eps", eps)?;
            }
        }
        Ok(())
    }
}

fn check_positive(key: &str, value: f64) -> Result<(), (String, String)> {
    check_finite(key, value)?;
    if value > 0.0 {
        Ok(())
    } else {
        Err((key.into(), format!("must be > 0, got {value}")))
    }
}

fn check_non_negative(key: &str, value: f64) -> Result<(), (String, String)> {
    check_finite(key, value)?;
    if value >= 0.0 {
        Ok(())
    } else {
        Err((key.into(), format!("must be >= 0, got {value}")))
    }
}

fn check_finite(key: &str, value: f64) -> Result<(), (String, String)> {
    if value.is_finite() {
        Ok(())
    } else {
        Err((key.into(), format!("must be a finite number, got {value}")))
    }
}

fn check_unit(key: &str, value: f64) -> Result<(), (String, String)> {
    if (0.0..1.0).contains(&value) {
        Ok(())
    } else {
        Err((key.into(), format!("must be in [0, 1), got {value}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<OptimizerConfig, toml::de::Error> {
        #[derive(serde::Deserialize)]
        struct Wrap {
            optimizer: OptimizerConfig,
        }
        toml::from_str::<Wrap>(text).map(|w| w.optimizer)
    }

    #[test]
    fn defaults_are_pytorchs() {
        assert_eq!(
            parse(r#"optimizer = { kind = "adam", lr = 1e-3 }"#).unwrap(),
            OptimizerConfig::Adam {
                lr: 1e-3,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: 0.0
            }
        );
        assert_eq!(
            parse(r#"optimizer = { kind = "rmsprop", lr = 1e-2 }"#).unwrap(),
            OptimizerConfig::Rmsprop {
                lr: 1e-2,
                alpha: 0.99,
                eps: 1e-8,
                momentum: 0.0,
                weight_decay: 0.0
            }
        );
        assert_eq!(
            parse(r#"optimizer = { kind = "adagrad", lr = 1e-2 }"#).unwrap(),
            OptimizerConfig::Adagrad {
                lr: 1e-2,
                eps: 1e-10,
                weight_decay: 0.0
            }
        );
        assert_eq!(
            parse(r#"optimizer = { kind = "sgd", lr = 0.1, momentum = 0.9, nesterov = true }"#)
                .unwrap(),
            OptimizerConfig::Sgd {
                lr: 0.1,
                momentum: 0.9,
                nesterov: true,
                weight_decay: 0.0
            }
        );
    }

    #[test]
    fn unknown_keys_and_kinds_are_refused() {
        assert!(parse(r#"optimizer = { kind = "adam", lr = 1e-3, beta = 0.9 }"#).is_err());
        assert!(parse(r#"optimizer = { kind = "sgd", lr = 0.1, alpha = 0.9 }"#).is_err());
        assert!(parse(r#"optimizer = { kind = "lbfgs", lr = 0.1 }"#).is_err());
        assert!(parse(r#"optimizer = { kind = "sgd" }"#).is_err());
    }

    #[test]
    fn round_trips_through_toml() {
        let config = OptimizerConfig::Rmsprop {
            lr: 0.01,
            alpha: 0.9,
            eps: 1e-6,
            momentum: 0.5,
            weight_decay: 1e-4,
        };
        #[derive(serde::Serialize)]
        struct Wrap<'a> {
            optimizer: &'a OptimizerConfig,
        }
        let text = toml::to_string(&Wrap { optimizer: &config }).unwrap();
        assert_eq!(parse(&text).unwrap(), config);
    }

    #[test]
    fn name_and_lr() {
        let config = parse(r#"optimizer = { kind = "adagrad", lr = 0.5 }"#).unwrap();
        assert_eq!(config.name(), "adagrad");
        assert_eq!(config.lr(), 0.5);
    }

    #[test]
    fn validate_names_the_key() {
        let bad = |text: &str| parse(text).unwrap().validate().unwrap_err();
        assert_eq!(
            bad(r#"optimizer = { kind = "sgd", lr = -0.1 }"#),
            ("lr".to_string(), "must be > 0, got -0.1".to_string())
        );
        assert_eq!(
            bad(r#"optimizer = { kind = "adam", lr = 0.1, beta1 = 1.2 }"#),
            (
                "beta1".to_string(),
                "must be in [0, 1), got 1.2".to_string()
            )
        );
        assert_eq!(
            bad(r#"optimizer = { kind = "adam", lr = 0.1, beta2 = 1.0 }"#).0,
            "beta2"
        );
        assert_eq!(
            bad(r#"optimizer = { kind = "adam", lr = 0.1, eps = 0.0 }"#).0,
            "eps"
        );
        assert_eq!(bad(r#"optimizer = { kind = "adagrad", lr = nan }"#).0, "lr");
        assert_eq!(bad(r#"optimizer = { kind = "adagrad", lr = inf }"#).0, "lr");
        assert_eq!(
            bad(r#"optimizer = { kind = "rmsprop", lr = 0.1, alpha = -0.5 }"#).0,
            "alpha"
        );
        assert_eq!(
            bad(r#"optimizer = { kind = "rmsprop", lr = 0.1, momentum = 1.0 }"#).0,
            "momentum"
        );
        assert_eq!(
            bad(r#"optimizer = { kind = "sgd", lr = 0.1, weight_decay = -1e-4 }"#).0,
            "weight_decay"
        );
        assert_eq!(
            bad(r#"optimizer = { kind = "sgd", lr = 0.1, nesterov = true }"#).0,
            "nesterov"
        );
        for good in [
            r#"optimizer = { kind = "sgd", lr = 0.1, momentum = 0.9, nesterov = true, weight_decay = 5e-4 }"#,
            r#"optimizer = { kind = "adagrad", lr = 0.1 }"#,
            r#"optimizer = { kind = "rmsprop", lr = 0.1, alpha = 0.0 }"#,
            r#"optimizer = { kind = "adam", lr = 0.1, beta1 = 0.0 }"#,
        ] {
            assert_eq!(parse(good).unwrap().validate(), Ok(()), "{good}");
        }
    }
}
