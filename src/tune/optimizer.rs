//! The ask/tell search loop: strategies, trials, and an explicit serialisable state.
//!
//! Determinism: every random draw comes from a generator derived from the tuner's seed and a
//! label that names its purpose (`["tune", "design"]` for the space-filling design,
//! `["tune", "proposal", i]` for proposal i). The state is therefore plain data (trials, the
//! last GP hyperparameters used as the next warm start, counters): a tuner serialised after k
//! tells and resumed proposes exactly what an uninterrupted one would. Floats of the state are
//! serialised as their shortest round-trip decimal strings, so a JSON round trip is exact.
//!
//! Rules:
//! - internally the objective is always minimised (a maximised objective is negated);
//! - a failed trial (`tell(i, None)` or a non-finite value) is never best; for the GP it is
//!   imputed as the worst finished objective so the model learns to avoid its region;
//! - `budget` caps the number of proposals of this tuner (warm-start trials do not count);
//! - a batch `ask(n)` with the GP uses the kriging believer (Ginsbourger, Le Riche & Carraro 2010):
//!   each pending point (asked, not told yet) is added to the GP with its posterior mean as a
//!   fantasy value, hyperparameters kept, so the next point of the batch goes elsewhere.

use serde::{Deserialize, Serialize};

use super::acquisition::Acquisition;
use super::bo::{AcqSearch, AcqWorkspace, maximize};
use super::design::{SOBOL_MAX_DIM, Sobol, grid, lhs};
use super::gp::{FitOptions, Gp, PredictWorkspace};
use super::space::SearchSpace;
use crate::rng::{Rng, rng_for};
use rand::RngExt;

/// Whether the objective is minimised or maximised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Minimize,
    Maximize,
}

/// The space-filling design of the first trials of a Bayesian optimisation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InitialDesign {
    #[default]
    Sobol,
    Lhs,
    Random,
}

/// Settings of GP Bayesian optimisation; every field has a default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoConfig {
    /// Default `log_ei`.
    #[serde(default)]
    pub acquisition: Acquisition,
    /// Size of the initial design; default max(d + 1, 5) with d = [`SearchSpace::dim`].
    #[serde(default)]
    pub n_initial: Option<usize>,
    #[serde(default)]
    pub initial_design: InitialDesign,
    /// Raw Sobol candidates scored per proposal before local polishing (default 1024).
    #[serde(default)]
    pub candidates: Option<usize>,
}

impl Default for BoConfig {
    fn default() -> Self {
        Self {
            acquisition: Acquisition::LogEi,
            n_initial: None,
            initial_design: InitialDesign::Sobol,
            candidates: None,
        }
    }
}

impl BoConfig {
    /// The initial design size for a space of `dim` coordinates.
    pub fn n_initial(&self, dim: usize) -> usize {
        self.n_initial.unwrap_or((dim + 1).max(5))
    }
}

/// How proposals are made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum StrategyConfig {
    /// Full factorial grid in row-major order, truncated to the budget.
    Grid {
        #[serde(default)]
        points_per_dim: Option<usize>,
    },
    /// Independent uniform points of the unit cube.
    Random,
    /// The randomly shifted Sobol sequence.
    Sobol,
    /// One maximin Latin hypercube of `budget` points.
    Lhs,
    /// GP Bayesian optimisation.
    Bo(BoConfig),
}

/// Where a trial's point came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrialSource {
    Design,
    Model,
    WarmStart,
}

/// The state of a trial.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrialStatus {
    Pending,
    Complete,
    Failed,
}

/// One trial: its point, its values, and once told, its objective (as reported, in the user's
/// direction).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    pub trial: usize,
    #[serde(with = "exact::vec")]
    pub unit: Vec<f64>,
    pub values: Vec<(String, toml::Value)>,
    #[serde(with = "exact::option")]
    pub objective: Option<f64>,
    pub status: TrialStatus,
    pub source: TrialSource,
}

/// A point to evaluate.
#[derive(Clone, Debug, PartialEq)]
pub struct Proposal {
    pub trial: usize,
    pub unit: Vec<f64>,
    pub values: Vec<(String, toml::Value)>,
}

/// An ask/tell optimiser over a [`SearchSpace`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tuner {
    space: SearchSpace,
    strategy: StrategyConfig,
    direction: Direction,
    budget: usize,
    seed: u64,
    trials: Vec<Trial>,
    /// Proposals made so far (the index of the next one).
    proposed: usize,
    /// GP hyperparameters of the last fit (warm start of the next).
    #[serde(with = "exact::option_vec")]
    gp_theta: Option<Vec<f64>>,
}

impl Tuner {
    /// A new search. The space should have been validated ([`SearchSpace::validate`]).
    pub fn new(
        space: SearchSpace,
        strategy: StrategyConfig,
        direction: Direction,
        budget: usize,
        seed: u64,
    ) -> Self {
        Self {
            space,
            strategy,
            direction,
            budget,
            seed,
            trials: Vec::new(),
            proposed: 0,
            gp_theta: None,
        }
    }

    pub fn space(&self) -> &SearchSpace {
        &self.space
    }

    pub fn strategy(&self) -> &StrategyConfig {
        &self.strategy
    }

    pub fn trials(&self) -> &[Trial] {
        &self.trials
    }

    /// Proposals left within the budget.
    pub fn remaining(&self) -> usize {
        let cap = match &self.strategy {
            StrategyConfig::Grid { points_per_dim } => {
                grid(&self.space, *points_per_dim, self.budget)
                    .len()
                    .min(self.budget)
            }
            _ => self.budget,
        };
        cap.saturating_sub(self.proposed)
    }

    /// Proposes up to `n` points (fewer when the budget or the grid runs out). A batch is made
    /// sequentially; with the GP each new point sees the earlier pending ones through the kriging
    /// believer (see the module documentation).
    pub fn ask(&mut self, n: usize) -> Vec<Proposal> {
        let n = n.min(self.remaining());
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let (unit, source) = self.next_point();
            let unit = self.space.snap(&unit);
            let values = self.space.decode(&unit);
            let trial = self.trials.len();
            self.trials.push(Trial {
                trial,
                unit: unit.clone(),
                values: values.clone(),
                objective: None,
                status: TrialStatus::Pending,
                source,
            });
            self.proposed += 1;
            out.push(Proposal {
                trial,
                unit,
                values,
            });
        }
        out
    }

    /// Reports the objective of a pending trial; `None` (or a non-finite value) marks it failed.
    pub fn tell(&mut self, trial: usize, objective: Option<f64>) -> Result<(), String> {
        let t = self
            .trials
            .get_mut(trial)
            .ok_or_else(|| format!("trial {trial} was never asked"))?;
        if t.status != TrialStatus::Pending {
            return Err(format!("trial {trial} was already told"));
        }
        match objective.filter(|v| v.is_finite()) {
            Some(v) => {
                t.objective = Some(v);
                t.status = TrialStatus::Complete;
            }
            None => {
                t.objective = None;
                t.status = TrialStatus::Failed;
            }
        }
        Ok(())
    }

    /// The best finished trial and its objective (never a failed one).
    pub fn best(&self) -> Option<(usize, f64)> {
        let mut best: Option<(usize, f64)> = None;
        for t in &self.trials {
            if let (TrialStatus::Complete, Some(v)) = (t.status, t.objective) {
                if best.is_none_or(|(_, b)| self.internal(v) < self.internal(b)) {
                    best = Some((t.trial, v));
                }
            }
        }
        best
    }

    /// Adds earlier finished trials (assignment, objective or `None` if failed).
    pub fn warm_start(
        &mut self,
        trials: &[(Vec<(String, toml::Value)>, Option<f64>)],
    ) -> Result<(), String> {
        let mut new = Vec::with_capacity(trials.len());
        for (i, (values, objective)) in trials.iter().enumerate() {
            let unit = self
                .space
                .encode(values)
                .map_err(|e| format!("warm-start trial {i}: {e}"))?;
            let objective = objective.filter(|v| v.is_finite());
            new.push(Trial {
                trial: self.trials.len() + i,
                values: self.space.decode(&unit),
                unit,
                objective,
                status: if objective.is_some() {
                    TrialStatus::Complete
                } else {
                    TrialStatus::Failed
                },
                source: TrialSource::WarmStart,
            });
        }
        self.trials.extend(new);
        Ok(())
    }

    fn internal(&self, v: f64) -> f64 {
        match self.direction {
            Direction::Minimize => v,
            Direction::Maximize => -v,
        }
    }

    fn proposal_rng(&self) -> Rng {
        rng_for(self.seed, &["tune", "proposal", &self.proposed.to_string()])
    }

    /// The `index`-th point of a space-filling design of `total` points.
    fn design_point(&self, kind: InitialDesign, index: usize, total: usize) -> Vec<f64> {
        let dim = self.space.dim();
        let mut design_rng = rng_for(self.seed, &["tune", "design"]);
        match kind {
            InitialDesign::Sobol => {
                let sd = dim.min(SOBOL_MAX_DIM);
                let seq = Sobol::new(sd, Some(&mut design_rng));
                let mut p = vec![0.0; dim];
                seq.point(index as u64, &mut p[..sd]);
                let mut rng = self.proposal_rng();
                for v in &mut p[sd..] {
                    *v = rng.random::<f64>();
                }
                p
            }
            InitialDesign::Lhs => {
                let tries = if total <= 200 { 20 } else { 1 };
                lhs(total.max(index + 1), dim, tries, &mut design_rng).swap_remove(index)
            }
            InitialDesign::Random => {
                let mut rng = self.proposal_rng();
                (0..dim).map(|_| rng.random::<f64>()).collect()
            }
        }
    }

    fn next_point(&mut self) -> (Vec<f64>, TrialSource) {
        let index = self.proposed;
        match self.strategy.clone() {
            StrategyConfig::Grid { points_per_dim } => (
                grid(&self.space, points_per_dim, self.budget).swap_remove(index),
                TrialSource::Design,
            ),
            StrategyConfig::Random => (
                self.design_point(InitialDesign::Random, index, self.budget),
                TrialSource::Design,
            ),
            StrategyConfig::Sobol => (
                self.design_point(InitialDesign::Sobol, index, self.budget),
                TrialSource::Design,
            ),
            StrategyConfig::Lhs => (
                self.design_point(InitialDesign::Lhs, index, self.budget),
                TrialSource::Design,
            ),
            StrategyConfig::Bo(cfg) => self.next_bo_point(&cfg),
        }
    }

    /// Model-based trials since the best finished value last improved by more than 1e-3 standard
    /// deviations of the finished values `y_all` (internal direction).
    fn stalled_model_trials(&self, y_all: &[f64]) -> usize {
        let n = y_all.len() as f64;
        let mean = y_all.iter().sum::<f64>() / n;
        let sd = (y_all.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
        let tol = super::knob("STALLTOL", 1e-3) * sd;
        let mut best = f64::INFINITY;
        let mut since = 0;
        for t in &self.trials {
            let Some(v) = t.objective.filter(|_| t.status == TrialStatus::Complete) else { continue };
            let v = self.internal(v);
            if v < best - tol {
                since = 0;
            } else if t.source == TrialSource::Model {
                since += 1;
            }
            best = best.min(v);
        }
        since
    }

    fn next_bo_point(&mut self, cfg: &BoConfig) -> (Vec<f64>, TrialSource) {
        let dim = self.space.dim();
        let n_init = cfg.n_initial(dim);
        let warm = self
            .trials
            .iter()
            .filter(|t| t.source == TrialSource::WarmStart)
            .count();
        let finite: Vec<f64> = self
            .trials
            .iter()
            .filter(|t| t.status == TrialStatus::Complete)
            .filter_map(|t| t.objective.map(|v| self.internal(v)))
            .collect();
        if self.proposed + warm < n_init || finite.len() < 2 {
            return (
                self.design_point(cfg.initial_design, self.proposed, n_init),
                TrialSource::Design,
            );
        }
        let worst = finite.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let mut x = Vec::new();
        let mut y = Vec::new();
        let mut pending = Vec::new();
        for t in &self.trials {
            match t.status {
                TrialStatus::Complete => {
                    x.extend_from_slice(&t.unit);
                    y.push(self.internal(t.objective.expect("complete trials have an objective")));
                }
                TrialStatus::Failed => {
                    x.extend_from_slice(&t.unit);
                    y.push(worst);
                }
                TrialStatus::Pending => pending.extend_from_slice(&t.unit),
            }
        }
        let mut rng = self.proposal_rng();
        let ytr = super::knob("YTR", 0.0) as i32;
        if ytr == 1 {
            // log transform
            let ymin = y.iter().cloned().fold(f64::INFINITY, f64::min);
            let ymax = y.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let delta = super::knob("YDELTA", 0.01) * (ymax - ymin).max(1e-12);
            y.iter_mut().for_each(|v| *v = (*v - ymin + delta).ln());
        } else if ytr == 2 {
            // copula
            let n = y.len();
            let mut idx: Vec<usize> = (0..n).collect();
            idx.sort_by(|&a, &b| y[a].total_cmp(&y[b]));
            let mut z = vec![0.0; n];
            for (r, &i) in idx.iter().enumerate() {
                z[i] = statrs::distribution::ContinuousCDF::inverse_cdf(
                    &statrs::distribution::Normal::standard(),
                    (r as f64 + 0.5) / n as f64,
                );
            }
            y = z;
        }
        let gp = Gp::fit(
            &x,
            &y,
            dim,
            self.gp_theta.as_deref(),
            &FitOptions::default(),
            &mut rng,
        );
        self.gp_theta = Some(gp.theta.clone());
        let gp = if pending.is_empty() {
            gp
        } else {
            let mut ws = PredictWorkspace::default();
            let fantasy: Vec<f64> = pending
                .chunks(dim)
                .map(|p| gp.y_mean + gp.y_std * gp.predict(p, &mut ws).0)
                .collect();
            gp.with_points(&pending, &fantasy)
        };
        // Incumbents: observed points, best first.
        let mut order: Vec<usize> = (0..y.len()).collect();
        order.sort_by(|&a, &b| y[a].total_cmp(&y[b]).then(a.cmp(&b)));
        let search = AcqSearch {
            candidates: cfg.candidates.unwrap_or(super::knob("CAND", 1024.0) as usize),
            restarts: super::knob("RESTARTS", 4.0) as usize,
            ..AcqSearch::default()
        };
        let mut ws = AcqWorkspace::default();
        let stalled = self.stalled_model_trials(&y);
        let f0 = super::knob("F0", 1e9) as usize;
        let explore = stalled >= f0 && (stalled - f0) % 2 == 0;
        let ls = gp.lengthscales();
        let centre = x[order[0] * dim..(order[0] + 1) * dim].to_vec();
        let radius2 = super::knob("RADIUS", 1.5).powi(2);
        let outside = |p: &[f64]| -> bool {
            p.iter().zip(&centre).zip(&ls).map(|((a, b), l)| ((a - b) / l).powi(2)).sum::<f64>() >= radius2
        };
        let far: Vec<usize> = order.iter().copied().filter(|&i| outside(&x[i * dim..(i + 1) * dim])).collect();
        let expl = super::knob("EXPL", 0.0) as i32;
        if explore && expl == 1 {
            return (self.design_point(InitialDesign::Sobol, self.proposed, n_init), TrialSource::Model);
        }
        if explore && expl == 2 {
            let m = super::knob("TSM", 256.0) as usize;
            let mut cands = Vec::with_capacity(m * dim);
            for _ in 0..m * 20 {
                let p: Vec<f64> = (0..dim).map(|_| rng.random::<f64>()).collect();
                if outside(&p) {
                    cands.extend(p);
                }
                if cands.len() >= m * dim {
                    break;
                }
            }
            if cands.is_empty() {
                cands.extend((0..dim).map(|_| rng.random::<f64>()));
            }
            let i = super::bo::thompson_argmin(&gp, &cands, &mut rng);
            return (cands[i * dim..(i + 1) * dim].to_vec(), TrialSource::Model);
        }
        let (point, _) = if explore && !far.is_empty() {
            let incumbents: Vec<&[f64]> = far.iter().map(|&i| &x[i * dim..(i + 1) * dim]).collect();
            let f_best = (y[far[0]] - gp.y_mean) / gp.y_std;
            maximize(&gp, &cfg.acquisition, f_best, &incumbents, &search, Some(&outside), &mut rng, &mut ws)
        } else {
            let incumbents: Vec<&[f64]> = order.iter().map(|&i| &x[i * dim..(i + 1) * dim]).collect();
            let f_best = (y[order[0]] - gp.y_mean) / gp.y_std - super::knob("XI", 0.0);
            maximize(&gp, &cfg.acquisition, f_best, &incumbents, &search, None, &mut rng, &mut ws)
        };
        // A point already evaluated (possible after rounding integers/categoricals) teaches
        // nothing: fall back to a uniform random point.
        let snapped = self.space.snap(&point);
        let duplicate = self.trials.iter().any(|t| {
            t.unit
                .iter()
                .zip(&snapped)
                .all(|(a, b)| (a - b).abs() < 1e-12)
        });
        if duplicate {
            return (
                (0..dim).map(|_| rng.random::<f64>()).collect(),
                TrialSource::Model,
            );
        }
        (point, TrialSource::Model)
    }
}

/// Exact serde for floats: the shortest decimal string that parses back to the same f64
/// (Rust's `{:?}` formatting and `str::parse` are both correctly rounded). Numbers are accepted
/// on input too.
mod exact {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Num {
        Text(String),
        Float(f64),
    }

    fn parse<E: Error>(n: Num) -> Result<f64, E> {
        match n {
            Num::Float(v) => Ok(v),
            Num::Text(s) => s
                .parse::<f64>()
                .map_err(|e| E::custom(format!("bad float {s:?}: {e}"))),
        }
    }

    pub mod vec {
        use super::*;
        pub fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(v.iter().map(|x| format!("{x:?}")))
        }
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
            Vec::<Num>::deserialize(d)?.into_iter().map(parse).collect()
        }
    }

    pub mod option {
        use super::*;
        pub fn serialize<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
            match v {
                Some(x) => s.serialize_some(&format!("{x:?}")),
                None => s.serialize_none(),
            }
        }
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
            Option::<Num>::deserialize(d)?.map(parse).transpose()
        }
    }

    pub mod option_vec {
        use super::*;
        pub fn serialize<S: Serializer>(v: &Option<Vec<f64>>, s: S) -> Result<S::Ok, S::Error> {
            match v {
                Some(x) => {
                    s.serialize_some(&x.iter().map(|x| format!("{x:?}")).collect::<Vec<_>>())
                }
                None => s.serialize_none(),
            }
        }
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<f64>>, D::Error> {
            Option::<Vec<Num>>::deserialize(d)?
                .map(|v| v.into_iter().map(parse).collect())
                .transpose()
        }
    }
}
