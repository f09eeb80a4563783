//! Search spaces as data: each parameter of an experiment (a dotted key) gets a distribution, and
//! every parameter maps to coordinates of the unit cube seen by the designs and the GP.
//!
//! Encoding (one rule per kind, so that a point of the cube always decodes to a legal value):
//! - `uniform`: 1 coordinate, v = low + u·(high − low);
//! - `log_uniform`: 1 coordinate, ln v = ln low + u·(ln high − ln low);
//! - `int`: 1 ordinal coordinate. Linear: the cube is cut into high − low + 1 equal bins,
//!   v = low + ⌊u·(high − low + 1)⌋ (clamped), and v encodes to its bin centre, so uniform u gives
//!   uniform integers. Log: ln v = ln(low − ½) + u·(ln(high + ½) − ln(low − ½)), rounded to the nearest
//!   integer (needs low ≥ 1); v encodes to (ln v − ln(low − ½))/(ln(high + ½) − ln(low − ½));
//! - `categorical` with k ≥ 2 choices: k one-hot coordinates; decoding takes the arg-max (the first
//!   on ties), so the GP optimises the relaxation and the proposal is the rounded point;
//!   with one choice it is a constant;
//! - `fixed`: no coordinate.

use serde::{Deserialize, Serialize};

/// The distribution of one searched parameter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ParamSpec {
    Uniform {
        low: f64,
        high: f64,
    },
    LogUniform {
        low: f64,
        high: f64,
    },
    Int {
        low: i64,
        high: i64,
        #[serde(default)]
        log: bool,
    },
    Categorical {
        choices: Vec<toml::Value>,
    },
    Fixed {
        value: toml::Value,
    },
}

impl ParamSpec {
    /// Number of unit-cube coordinates of this parameter.
    pub fn dim(&self) -> usize {
        match self {
            ParamSpec::Uniform { .. } | ParamSpec::LogUniform { .. } | ParamSpec::Int { .. } => 1,
            ParamSpec::Categorical { choices } if choices.len() >= 2 => choices.len(),
            ParamSpec::Categorical { .. } | ParamSpec::Fixed { .. } => 0,
        }
    }

    /// Checks the bounds; the message says what is allowed.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            ParamSpec::Uniform { low, high } => {
                if !low.is_finite() || !high.is_finite() {
                    return Err(format!(
                        "bounds must be finite, got low = {low}, high = {high}"
                    ));
                }
                if low >= high {
                    return Err(format!("needs low < high, got low = {low}, high = {high}"));
                }
            }
            ParamSpec::LogUniform { low, high } => {
                if !(low.is_finite() && *low > 0.0 && high.is_finite()) {
                    return Err(format!(
                        "a log scale needs finite bounds with 0 < low < high, got low = {low}, high = {high}"
                    ));
                }
                if low >= high {
                    return Err(format!("needs low < high, got low = {low}, high = {high}"));
                }
            }
            ParamSpec::Int { low, high, log } => {
                if low >= high {
                    return Err(format!(
                        "needs low < high (use kind = \"fixed\" for one value), got low = {low}, high = {high}"
                    ));
                }
                if *log && *low < 1 {
                    return Err(format!("a log-scale int needs low >= 1, got low = {low}"));
                }
            }
            ParamSpec::Categorical { choices } => {
                if choices.is_empty() {
                    return Err("categorical needs at least one choice, got choices = []".into());
                }
                for (i, c) in choices.iter().enumerate() {
                    if choices[..i].contains(c) {
                        return Err(format!("categorical choice {c} is listed twice"));
                    }
                }
            }
            ParamSpec::Fixed { .. } => {}
        }
        Ok(())
    }

    fn decode(&self, u: &[f64]) -> toml::Value {
        match self {
            ParamSpec::Uniform { low, high } => {
                toml::Value::Float(low + u[0].clamp(0.0, 1.0) * (high - low))
            }
            ParamSpec::LogUniform { low, high } => {
                // The ends map exactly to the bounds (exp∘ln is not exact).
                let (a, b, u) = (low.ln(), high.ln(), u[0].clamp(0.0, 1.0));
                let v = match u {
                    0.0 => *low,
                    1.0 => *high,
                    _ => (a + u * (b - a)).exp().clamp(*low, *high),
                };
                toml::Value::Float(v)
            }
            ParamSpec::Int {
                low,
                high,
                log: false,
            } => {
                let bins = (high - low + 1) as f64;
                let k = ((u[0].clamp(0.0, 1.0) * bins).floor() as i64).min(high - low);
                toml::Value::Integer(low + k)
            }
            ParamSpec::Int {
                low,
                high,
                log: true,
            } => {
                let (a, b) = ((*low as f64 - 0.5).ln(), (*high as f64 + 0.5).ln());
                let v = (a + u[0].clamp(0.0, 1.0) * (b - a)).exp().round() as i64;
                toml::Value::Integer(v.clamp(*low, *high))
            }
            ParamSpec::Categorical { choices } => {
                let mut best = 0;
                for (i, v) in u.iter().enumerate() {
                    if *v > u[best] {
                        best = i;
                    }
                }
                choices[best].clone()
            }
            ParamSpec::Fixed { value } => value.clone(),
        }
    }

    fn encode(&self, value: &toml::Value, out: &mut Vec<f64>) -> Result<(), String> {
        let float = |v: &toml::Value| match v {
            toml::Value::Float(f) => Some(*f),
            toml::Value::Integer(i) => Some(*i as f64),
            _ => None,
        };
        match self {
            ParamSpec::Uniform { low, high } => {
                let v = float(value).ok_or_else(|| format!("expected a number, got {value}"))?;
                if v < *low || v > *high {
                    return Err(format!("{v} is outside [{low}, {high}]"));
                }
                out.push((v - low) / (high - low));
            }
            ParamSpec::LogUniform { low, high } => {
                let v = float(value).ok_or_else(|| format!("expected a number, got {value}"))?;
                if v < *low || v > *high {
                    return Err(format!("{v} is outside [{low}, {high}]"));
                }
                out.push((v.ln() - low.ln()) / (high.ln() - low.ln()));
            }
            ParamSpec::Int { low, high, log } => {
                let v = match value {
                    toml::Value::Integer(i) => *i,
                    toml::Value::Float(f) if f.fract() == 0.0 => *f as i64,
                    _ => return Err(format!("expected an integer, got {value}")),
                };
                if v < *low || v > *high {
                    return Err(format!("{v} is outside [{low}, {high}]"));
                }
                if *log {
                    let (a, b) = ((*low as f64 - 0.5).ln(), (*high as f64 + 0.5).ln());
                    out.push(((v as f64).ln() - a) / (b - a));
                } else {
                    out.push(((v - low) as f64 + 0.5) / ((high - low + 1) as f64));
                }
            }
            ParamSpec::Categorical { choices } => {
                let k = choices
                    .iter()
                    .position(|c| c == value)
                    .ok_or_else(|| format!("{value} is not one of the choices"))?;
                if choices.len() >= 2 {
                    out.extend((0..choices.len()).map(|i| if i == k { 1.0 } else { 0.0 }));
                }
            }
            ParamSpec::Fixed { value: fixed } => {
                if fixed != value {
                    return Err(format!("is fixed to {fixed}, got {value}"));
                }
            }
        }
        Ok(())
    }

    /// Grid levels of this parameter, each a list of its unit coordinates: `points` evenly spaced
    /// levels (ends included) on the (log-)scale; all integers when there are at most `points`
    /// (or when `points` is unset, up to 64) and all choices of a categorical.
    pub(crate) fn grid_levels(
        &self,
        points: Option<usize>,
        default_points: usize,
    ) -> Vec<Vec<f64>> {
        let even = |m: usize| -> Vec<Vec<f64>> {
            if m <= 1 {
                vec![vec![0.5]]
            } else {
                (0..m).map(|i| vec![i as f64 / (m - 1) as f64]).collect()
            }
        };
        match self {
            ParamSpec::Uniform { .. } | ParamSpec::LogUniform { .. } => {
                even(points.unwrap_or(default_points))
            }
            ParamSpec::Int { low, high, .. } => {
                let count = (high - low + 1) as usize;
                let limit = points.unwrap_or(64);
                if count <= limit {
                    (*low..=*high)
                        .map(|v| {
                            let mut out = Vec::new();
                            self.encode(&toml::Value::Integer(v), &mut out)
                                .expect("in range");
                            out
                        })
                        .collect()
                } else {
                    // Evenly spaced integers: decode evenly spaced ends-included points, dedupe.
                    let mut levels: Vec<Vec<f64>> = Vec::new();
                    for u in even(limit) {
                        let v = self.decode(&u);
                        let mut out = Vec::new();
                        self.encode(&v, &mut out)
                            .expect("decoded value is in range");
                        if levels.last() != Some(&out) {
                            levels.push(out);
                        }
                    }
                    levels
                }
            }
            ParamSpec::Categorical { choices } if choices.len() >= 2 => (0..choices.len())
                .map(|k| {
                    (0..choices.len())
                        .map(|i| if i == k { 1.0 } else { 0.0 })
                        .collect()
                })
                .collect(),
            ParamSpec::Categorical { .. } | ParamSpec::Fixed { .. } => vec![vec![]],
        }
    }

    fn is_continuous(&self) -> bool {
        matches!(
            self,
            ParamSpec::Uniform { .. } | ParamSpec::LogUniform { .. }
        )
    }
}

/// The searched parameters: (dotted key of the experiment, distribution), in a fixed order that
/// defines the layout of the unit cube.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchSpace {
    pub params: Vec<(String, ParamSpec)>,
}

impl SearchSpace {
    /// Checks every parameter and that keys are non-empty and unique; the error is
    /// (key, message).
    pub fn validate(&self) -> Result<(), (String, String)> {
        for (i, (key, spec)) in self.params.iter().enumerate() {
            if key.is_empty() {
                return Err((
                    key.clone(),
                    "parameter keys must be non-empty dotted keys".into(),
                ));
            }
            if self.params[..i].iter().any(|(k, _)| k == key) {
                return Err((key.clone(), "this key is searched twice".into()));
            }
            spec.validate().map_err(|m| (key.clone(), m))?;
        }
        if self.dim() == 0 {
            return Err((
                String::new(),
                "the search space has no searched parameter".into(),
            ));
        }
        Ok(())
    }

    /// Number of unit-cube coordinates (see the module documentation for each kind).
    pub fn dim(&self) -> usize {
        self.params.iter().map(|(_, p)| p.dim()).sum()
    }

    /// Unit-cube point → concrete assignment (ints rounded, categoricals chosen by arg-max).
    pub fn decode(&self, unit: &[f64]) -> Vec<(String, toml::Value)> {
        assert_eq!(unit.len(), self.dim(), "unit point has the wrong dimension");
        let mut at = 0;
        self.params
            .iter()
            .map(|(key, spec)| {
                let d = spec.dim();
                let v = spec.decode(&unit[at..at + d]);
                at += d;
                (key.clone(), v)
            })
            .collect()
    }

    /// Assignment → unit-cube point; every key of the space must be given exactly once (order
    /// free), no other key.
    pub fn encode(&self, values: &[(String, toml::Value)]) -> Result<Vec<f64>, String> {
        let mut out = Vec::with_capacity(self.dim());
        for (key, spec) in &self.params {
            let mut found = values.iter().filter(|(k, _)| k == key);
            let (_, v) = found
                .next()
                .ok_or_else(|| format!("{key}: missing from the trial"))?;
            if found.next().is_some() {
                return Err(format!("{key}: given twice"));
            }
            spec.encode(v, &mut out)
                .map_err(|m| format!("{key}: {m}"))?;
        }
        if let Some((k, _)) = values
            .iter()
            .find(|(k, _)| !self.params.iter().any(|(p, _)| p == k))
        {
            return Err(format!("{k}: not a parameter of this search space"));
        }
        Ok(out)
    }

    /// Rounds a relaxed point to the encoding of the value it decodes to (what is actually
    /// evaluated, hence what the GP must see).
    pub fn snap(&self, unit: &[f64]) -> Vec<f64> {
        let mut out = Vec::with_capacity(unit.len());
        let mut at = 0;
        for (_, spec) in &self.params {
            let d = spec.dim();
            if spec.is_continuous() {
                out.push(unit[at].clamp(0.0, 1.0));
            } else {
                let v = spec.decode(&unit[at..at + d]);
                spec.encode(&v, &mut out).expect("a decoded value encodes");
            }
            at += d;
        }
        out
    }

    /// Whether any coordinate is discrete (int or categorical).
    pub fn has_discrete(&self) -> bool {
        self.params
            .iter()
            .any(|(_, p)| p.dim() > 0 && !p.is_continuous())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space() -> SearchSpace {
        SearchSpace {
            params: vec![
                (
                    "lr".into(),
                    ParamSpec::LogUniform {
                        low: 1e-4,
                        high: 1e-1,
                    },
                ),
                (
                    "momentum".into(),
                    ParamSpec::Uniform {
                        low: 0.0,
                        high: 0.9,
                    },
                ),
                (
                    "layers".into(),
                    ParamSpec::Int {
                        low: 1,
                        high: 4,
                        log: false,
                    },
                ),
                (
                    "width".into(),
                    ParamSpec::Int {
                        low: 8,
                        high: 512,
                        log: true,
                    },
                ),
                (
                    "act".into(),
                    ParamSpec::Categorical {
                        choices: vec!["relu".into(), "tanh".into(), "gelu".into()],
                    },
                ),
                (
                    "epochs".into(),
                    ParamSpec::Fixed {
                        value: toml::Value::Integer(10),
                    },
                ),
            ],
        }
    }

    #[test]
    fn decode_encode_round_trip() {
        let s = space();
        s.validate().unwrap();
        assert_eq!(s.dim(), 1 + 1 + 1 + 1 + 3);
        let v = s.decode(&[0.5, 1.0, 0.99, 0.0, 0.1, 0.7, 0.3]);
        assert_eq!(
            v[0].1,
            toml::Value::Float((1e-4f64.ln() * 0.5 + 1e-1f64.ln() * 0.5).exp())
        );
        assert_eq!(v[1].1, toml::Value::Float(0.9));
        assert_eq!(v[2].1, toml::Value::Integer(4));
        assert_eq!(v[3].1, toml::Value::Integer(8));
        assert_eq!(v[4].1, toml::Value::from("tanh"));
        assert_eq!(v[5].1, toml::Value::Integer(10));
        let u = s.encode(&v).unwrap();
        assert_eq!(s.decode(&u), v);
        assert_eq!(u[2], 3.5 / 4.0);
        assert_eq!(&u[4..], &[0.0, 1.0, 0.0]);
        // Uniform u gives each of the 4 integers a quarter of the cube.
        let layers = |u: f64| s.params[2].1.decode(&[u]);
        assert_eq!(layers(0.2499), toml::Value::Integer(1));
        assert_eq!(layers(0.25), toml::Value::Integer(2));
        assert_eq!(layers(1.0), toml::Value::Integer(4));
    }

    #[test]
    fn bad_spaces_are_refused_with_their_key() {
        let one = |spec: ParamSpec| {
            SearchSpace {
                params: vec![("a.b".into(), spec)],
            }
            .validate()
        };
        let e = one(ParamSpec::Uniform {
            low: 1.0,
            high: 1.0,
        })
        .unwrap_err();
        assert_eq!(e.0, "a.b");
        assert!(e.1.contains("low < high"), "{}", e.1);
        let e = one(ParamSpec::LogUniform {
            low: 0.0,
            high: 1.0,
        })
        .unwrap_err();
        assert!(e.1.contains("0 < low"), "{}", e.1);
        let e = one(ParamSpec::LogUniform {
            low: -1.0,
            high: 1.0,
        })
        .unwrap_err();
        assert!(e.1.contains("0 < low"), "{}", e.1);
        let e = one(ParamSpec::Int {
            low: 0,
            high: 5,
            log: true,
        })
        .unwrap_err();
        assert!(e.1.contains("low >= 1"), "{}", e.1);
        let e = one(ParamSpec::Int {
            low: 5,
            high: 2,
            log: false,
        })
        .unwrap_err();
        assert!(e.1.contains("low < high"), "{}", e.1);
        let e = one(ParamSpec::Categorical { choices: vec![] }).unwrap_err();
        assert!(e.1.contains("at least one"), "{}", e.1);
        let twice = SearchSpace {
            params: vec![
                (
                    "x".into(),
                    ParamSpec::Uniform {
                        low: 0.0,
                        high: 1.0,
                    },
                ),
                (
                    "x".into(),
                    ParamSpec::Uniform {
                        low: 0.0,
                        high: 2.0,
                    },
                ),
            ],
        };
        assert_eq!(
            twice.validate().unwrap_err(),
            ("x".into(), "this key is searched twice".into())
        );
        // Unknown kinds and unknown fields are refused by serde.
        let err = toml::from_str::<ParamSpec>("kind = \"normal\"\nlow = 0.0\nhigh = 1.0")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown variant `normal`"), "{err}");
        let err =
            toml::from_str::<ParamSpec>("kind = \"uniform\"\nlow = 0.0\nhigh = 1.0\nlog = true")
                .unwrap_err()
                .to_string();
        assert!(err.contains("unknown field `log`"), "{err}");
        let ok: ParamSpec =
            toml::from_str("kind = \"int\"\nlow = 1\nhigh = 8\nlog = true").unwrap();
        assert_eq!(
            ok,
            ParamSpec::Int {
                low: 1,
                high: 8,
                log: true
            }
        );
    }

    #[test]
    fn encode_rejects_foreign_values() {
        let s = space();
        let mut v = s.decode(&[0.5; 7]);
        v[1].1 = toml::Value::Float(2.0);
        assert!(
            s.encode(&v)
                .unwrap_err()
                .starts_with("momentum: 2 is outside")
        );
        let mut v = s.decode(&[0.5; 7]);
        v.push(("extra".into(), toml::Value::Integer(1)));
        assert!(s.encode(&v).unwrap_err().starts_with("extra:"));
    }
}
