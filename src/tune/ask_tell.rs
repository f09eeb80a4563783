//! The ask/tell search loop: strategies, trials, and the explicit serialisable state of one
//! search ([`SearchState`]).
//!
//! Determinism: every random draw comes from a generator derived from the search's seed and a
//! label that names its purpose (`["tune", "design"]` for the space-filling design,
//! `["tune", "proposal", i]` for proposal i). The state is therefore plain data (trials, the
//! last GP hyperparameters used as the next warm start, counters): a search serialised after k
//! tells and resumed proposes exactly what an uninterrupted one would. Floats of the state are
//! serialised as their shortest round-trip decimal strings, so a JSON round trip is exact.
//!
//! Rules:
//! - internally the objective is always minimised (a maximised objective is negated);
//! - a failed trial (`tell(i, None)` or a non-finite value) is never best; for the GP it is
//!   imputed as the worst finished objective so the model learns to avoid its region;
//! - `budget` caps the number of proposals of the search (warm-start trials do not count);
//! - Bayesian optimisation: after the initial design (`n_initial` points of a Sobol or Latin
//!   hypercube design), each proposal fits the GP ([`super::gp`]) to every finished trial and
//!   maximises the acquisition (default log-EI, [`super::acquisition`]) as described in
//!   [`super::bo`]. Integer and categorical coordinates are optimised in the relaxed cube and the
//!   proposal is rounded to the value it decodes to ([`SearchSpace::snap`]), which is what the GP
//!   sees afterwards;
//! - local model (trust region): the global GP's lengthscales are a compromise over the whole
//!   space, and once a search has converged in one basin they describe that basin; a newly found
//!   basin of another shape (Hartmann-6's global minimum is narrow in x₅, its −3.203 local one is
//!   flat there) is then refined slowly. So once there are more than k = 4·d finished points, each
//!   proposal also fits a local GP, with its own hyperparameters, to the k points nearest
//!   (Euclidean, unit cube) to the incumbent and maximises the acquisition over their bounding
//!   box. When the global proposal falls within that box, the local proposal replaces it (unless
//!   it is within 10⁻⁶ of a known point: a noisy local fit can keep proposing one point). This is
//!   the local phase of TuRBO (Eriksson et al. 2019, "Scalable global optimization via local
//!   Bayesian optimization"), with the box given by the data rather than a success counter;
//! - escape from a converged basin (secondary search): the basin is converged when the local
//!   model's expected improvement at its proposal is below 3·10⁻³ standard deviations of the
//!   better half of the finished values (that half, so that huge values far from any minimum do
//!   not inflate the scale). Then the proposal maximises the acquisition over the region outside
//!   the incumbent's basin, the ellipsoid Σ_d ((x_d − x*_d)/ℓ_d)² < 1.5² (ℓ the global GP's
//!   lengthscales), using a second GP fitted only to the observations outside it, improvement
//!   measured against the best of them; a proposal that falls within the local box of that best
//!   outside point is again made by a local model around it. It is a TuRBO restart that keeps all
//!   the data: the global GP is dominated by the many points spent in the converged basin, the
//!   second one learns the rest of the space on its own terms. A better point found anywhere
//!   becomes the incumbent, and refinement moves there. The last 10 % of the budget refines the
//!   incumbent: each of those proposals is the local model's. On Hartmann-6 (80 evaluations)
//!   this took the share of searches ending within 0.01 of the minimum from 67.5 %
//!   (stall-triggered alternation with one global model) to 95.4 % over seeds 0–239, on which
//!   the constants were chosen, 92.5 % over seeds 240–479 and 95.0 % over seeds 480–719;
//! - a batch `ask(n)` with the GP uses the kriging believer (Ginsbourger, Le Riche & Carraro 2010):
//!   each pending point (asked, not told yet) is added to the GP with its posterior mean as a
//!   fantasy value, hyperparameters kept, so the next point of the batch goes elsewhere.

use serde::{Deserialize, Serialize};

use super::acquisition::Acquisition;
use super::bo::{AcqProblem, AcqSearch, AcqWorkspace, maximize};
use super::design::{SOBOL_MAX_DIM, Sobol, grid, lhs};
use super::gp::{FitOptions, Gp, PredictWorkspace};
use super::space::SearchSpace;
use crate::rng::{Rng, rng_for};
use rand::RngExt;

/// Points of the local model per dimension of the space.
const LOCAL_POINTS_PER_DIM: usize = 4;
/// A basin is converged when the local model's expected improvement is below this many standard
/// deviations of the better half of the finished values.
const CONVERGED_EI: f64 = 3e-3;
/// The final fraction of the budget refines the incumbent instead of searching elsewhere.
const END_GAME_FRACTION: f64 = 0.1;
/// Radius of the incumbent's basin in lengthscales.
const BASIN_RADIUS: f64 = 1.5;

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

/// A monotone transform of the (internal, minimised) objective values before the GP sees them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputTransform {
    /// The values as they are (standardised by the GP).
    #[default]
    None,
    /// y′ = ln((y − y_min)/(y_max − y_min) + 10⁻³), recomputed at each fit: for objectives that
    /// span orders of magnitude (losses, perplexities, Goldstein–Price), where a GP on the raw
    /// values spends its budget on the huge values. It is monotone, so the best point is kept.
    Log,
}

impl OutputTransform {
    /// Applies the transform to all values.
    pub fn apply(&self, y: &[f64]) -> Vec<f64> {
        match self {
            OutputTransform::None => y.to_vec(),
            OutputTransform::Log => {
                let lo = y.iter().cloned().fold(f64::INFINITY, f64::min);
                let hi = y.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let range = if hi > lo { hi - lo } else { 1.0 };
                y.iter().map(|v| ((v - lo) / range + 1e-3).ln()).collect()
            }
        }
    }
}

/// Settings of GP Bayesian optimisation; every field has a default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoConfig {
    /// Default `log_ei`.
    #[serde(default)]
    pub acquisition: Acquisition,
    /// Size of the initial design; default max(⌈1.5·d⌉ + 1, 5) with d = [`SearchSpace::dim`]
    /// (10 in 6-D, 5 in 2-D).
    #[serde(default)]
    pub n_initial: Option<usize>,
    #[serde(default)]
    pub initial_design: InitialDesign,
    /// Default `none`.
    #[serde(default)]
    pub output_transform: OutputTransform,
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
            output_transform: OutputTransform::None,
            candidates: None,
        }
    }
}

impl BoConfig {
    /// The initial design size for a space of `dim` coordinates.
    pub fn n_initial(&self, dim: usize) -> usize {
        self.n_initial.unwrap_or(((3 * dim).div_ceil(2) + 1).max(5))
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

/// An earlier finished trial for [`SearchState::warm_start`]: its assignment and its objective
/// (`None` if it failed).
pub type WarmTrial = (Vec<(String, toml::Value)>, Option<f64>);

/// A point to evaluate.
#[derive(Clone, Debug, PartialEq)]
pub struct Proposal {
    pub trial: usize,
    pub unit: Vec<f64>,
    pub values: Vec<(String, toml::Value)>,
}

/// The state of one search over a [`SearchSpace`]: its strategy, direction, budget and seed,
/// and the trials so far. [`ask`](Self::ask) proposes points, [`tell`](Self::tell) records
/// their objectives.
///
/// Serialised as plain data; on deserialisation each trial's `values` are recomputed from its
/// exact `unit` point (they are always its decoding), so that floats in the values, which a JSON
/// parser may round differently in the last digit, cannot make a resumed search differ.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(from = "SearchStateData")]
pub struct SearchState {
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

/// The serialised form of a [`SearchState`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchStateData {
    space: SearchSpace,
    strategy: StrategyConfig,
    direction: Direction,
    budget: usize,
    seed: u64,
    trials: Vec<Trial>,
    proposed: usize,
    #[serde(with = "exact::option_vec")]
    gp_theta: Option<Vec<f64>>,
}

impl From<SearchStateData> for SearchState {
    fn from(d: SearchStateData) -> Self {
        let mut trials = d.trials;
        for t in &mut trials {
            if t.unit.len() == d.space.dim() {
                t.values = d.space.decode(&t.unit);
            }
        }
        SearchState {
            space: d.space,
            strategy: d.strategy,
            direction: d.direction,
            budget: d.budget,
            seed: d.seed,
            trials,
            proposed: d.proposed,
            gp_theta: d.gp_theta,
        }
    }
}

impl SearchState {
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
            if let (TrialStatus::Complete, Some(v)) = (t.status, t.objective)
                && best.is_none_or(|(_, b)| self.internal(v) < self.internal(b))
            {
                best = Some((t.trial, v));
            }
        }
        best
    }

    /// Adds earlier finished trials (assignment, objective or `None` if failed).
    pub fn warm_start(&mut self, trials: &[WarmTrial]) -> Result<(), String> {
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

    /// The GP the next model-based proposal would fit, evaluated at each unit-cube point of
    /// `units`: (posterior mean, posterior std, acquisition value). None for strategies other than
    /// `bo`, in the design phase and with fewer than 2 complete trials.
    ///
    /// The fit is the proposal's own: the same data (failed trials imputed as the worst value,
    /// pending ones as kriging-believer fantasies), output transform, warm-started hyperparameters
    /// and random generator, so the model is the one the next `ask` maximises over (the local
    /// and secondary models of the module documentation are not shown). Mean and std are on the
    /// user's scale: the GP's standardisation m = ȳ + s_y·μ, s = s_y·σ is undone, then the log
    /// output transform through its inverse y = y_min + (y_max − y_min)(e^m − 10⁻³) (the median of the
    /// back-transformed posterior) with the delta-method std (y_max − y_min)·e^m·s, then the sign
    /// of a maximised objective. The acquisition is on the GP's standardised scale (larger is
    /// better), relative to the best finished value, as the proposal maximises it.
    pub fn surrogate(&self, units: &[Vec<f64>]) -> Option<Vec<(f64, f64, f64)>> {
        let StrategyConfig::Bo(cfg) = &self.strategy else {
            return None;
        };
        let data = self.model_data(cfg)?;
        let (gp, _) = self.fit_model(&data, &mut self.proposal_rng());
        let ModelData { y_raw, y, .. } = data;
        let mut ws = PredictWorkspace::default();
        let best = y.iter().cloned().fold(f64::INFINITY, f64::min);
        let f_best = (best - gp.y_mean) / gp.y_std;
        let lo = y_raw.iter().cloned().fold(f64::INFINITY, f64::min);
        let hi = y_raw.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let range = if hi > lo { hi - lo } else { 1.0 };
        let sign = self.internal(1.0);
        Some(
            units
                .iter()
                .map(|u| {
                    let (mu, var) = gp.predict(u, &mut ws);
                    let sigma = var.sqrt();
                    let acq = cfg.acquisition.value(mu, sigma, f_best);
                    let (m, s) = (gp.y_mean + gp.y_std * mu, gp.y_std * sigma);
                    let (mean, std) = match cfg.output_transform {
                        OutputTransform::None => (m, s),
                        OutputTransform::Log => {
                            (lo + range * (m.exp() - 1e-3), range * m.exp() * s)
                        }
                    };
                    (sign * mean, std, acq)
                })
                .collect(),
        )
    }

    /// The data of the next model-based proposal; None in the design phase (fewer proposals and
    /// warm-start trials than the initial design, or fewer than 2 complete trials). Failed trials
    /// are imputed as the worst complete value.
    fn model_data(&self, cfg: &BoConfig) -> Option<ModelData> {
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
        if self.proposed + warm < cfg.n_initial(self.space.dim()) || finite.len() < 2 {
            return None;
        }
        let worst = finite.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let mut x = Vec::new();
        let mut y_raw = Vec::new();
        let mut pending = Vec::new();
        for t in &self.trials {
            match (t.status, t.objective) {
                (TrialStatus::Complete, Some(v)) => {
                    x.extend_from_slice(&t.unit);
                    y_raw.push(self.internal(v));
                }
                (TrialStatus::Pending, _) => pending.extend_from_slice(&t.unit),
                _ => {
                    x.extend_from_slice(&t.unit);
                    y_raw.push(worst);
                }
            }
        }
        let y = cfg.output_transform.apply(&y_raw);
        Some(ModelData {
            x,
            y_raw,
            y,
            pending,
        })
    }

    /// Fits the GP to `data` (warm-started from the last fit's hyperparameters) and adds the
    /// pending points at their kriging-believer values; returns the GP and those values.
    fn fit_model(&self, data: &ModelData, rng: &mut Rng) -> (Gp, Vec<f64>) {
        let dim = self.space.dim();
        let gp = Gp::fit(
            &data.x,
            &data.y,
            dim,
            self.gp_theta.as_deref(),
            &FitOptions::default(),
            rng,
        );
        let mut pred = PredictWorkspace::default();
        let fantasy: Vec<f64> = data
            .pending
            .chunks(dim)
            .map(|p| gp.y_mean + gp.y_std * gp.predict(p, &mut pred).0)
            .collect();
        if data.pending.is_empty() {
            (gp, fantasy)
        } else {
            (gp.with_points(&data.pending, &fantasy), fantasy)
        }
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

    fn next_bo_point(&mut self, cfg: &BoConfig) -> (Vec<f64>, TrialSource) {
        let dim = self.space.dim();
        let Some(data) = self.model_data(cfg) else {
            let n_init = cfg.n_initial(dim);
            return (
                self.design_point(cfg.initial_design, self.proposed, n_init),
                TrialSource::Design,
            );
        };
        let mut rng = self.proposal_rng();
        let fit = FitOptions::default();
        let (gp, fantasy) = self.fit_model(&data, &mut rng);
        self.gp_theta = Some(gp.theta.clone());
        let ModelData { x, y, pending, .. } = data;
        // Every point the next one should keep away from: observed, then pending ones at their
        // kriging-believer values.
        let x_all = [x.as_slice(), pending.as_slice()].concat();
        let y_all = [y.as_slice(), fantasy.as_slice()].concat();
        // Observed points, best first.
        let mut order: Vec<usize> = (0..y.len()).collect();
        order.sort_by(|&a, &b| y[a].total_cmp(&y[b]).then(a.cmp(&b)));
        let point_of = |i: usize| &x[i * dim..(i + 1) * dim];
        let search = AcqSearch {
            candidates: cfg.candidates.unwrap_or(1024),
            ..AcqSearch::default()
        };
        let mut ws = AcqWorkspace::default();
        let ls = gp.lengthscales();
        let centre = point_of(order[0]).to_vec();
        let outside = |p: &[f64]| -> bool {
            let d2: f64 = p
                .iter()
                .zip(&centre)
                .zip(&ls)
                .map(|((a, b), l)| ((a - b) / l).powi(2))
                .sum();
            d2 >= BASIN_RADIUS * BASIN_RADIUS
        };
        let far: Vec<usize> = order
            .iter()
            .copied()
            .filter(|&i| outside(point_of(i)))
            .collect();
        let k = LOCAL_POINTS_PER_DIM * dim;
        let local_model = y.len() > k;
        // The local model's proposal when `p` falls within its box and is new.
        let localise = |p: Vec<f64>, local: &LocalProposal| -> Vec<f64> {
            if local.contains(&p) && is_new(&local.point, &x_all, 1e-6) {
                local.point.clone()
            } else {
                p
            }
        };
        let global = |rng: &mut Rng, ws: &mut AcqWorkspace| -> Vec<f64> {
            let incumbents: Vec<&[f64]> = order.iter().map(|&i| point_of(i)).collect();
            let problem = AcqProblem {
                gp: &gp,
                acq: &cfg.acquisition,
                f_best: (y[order[0]] - gp.y_mean) / gp.y_std,
                feasible: None,
                bounds: None,
            };
            maximize(&problem, &incumbents, &search, rng, ws).0
        };
        let secondary = |rng: &mut Rng, ws: &mut AcqWorkspace| -> Vec<f64> {
            let fx: Vec<f64> = far.iter().flat_map(|&i| point_of(i).to_vec()).collect();
            let fy: Vec<f64> = far.iter().map(|&i| y[i]).collect();
            let gp_far = Gp::fit(&fx, &fy, dim, Some(&gp.theta), &fit, rng);
            let incumbents: Vec<&[f64]> = far.iter().map(|&i| point_of(i)).collect();
            let problem = AcqProblem {
                gp: &gp_far,
                acq: &cfg.acquisition,
                f_best: (fy[0] - gp_far.y_mean) / gp_far.y_std,
                feasible: Some(&outside),
                bounds: None,
            };
            let p = maximize(&problem, &incumbents, &search, rng, ws).0;
            if !local_model {
                return p;
            }
            let local = LocalProposal::new(&x_all, &y_all, dim, far[0], k, cfg, &search, rng, ws);
            if outside(&local.point) {
                localise(p, &local)
            } else {
                p
            }
        };
        let end_game = self.proposed as f64 >= (1.0 - END_GAME_FRACTION) * self.budget as f64;
        let point = if local_model {
            let local = LocalProposal::new(
                &x_all, &y_all, dim, order[0], k, cfg, &search, &mut rng, &mut ws,
            );
            let converged = local.expected_improvement < CONVERGED_EI * better_half_sd(&y);
            if converged && far.len() >= 3 && !end_game {
                secondary(&mut rng, &mut ws)
            } else if end_game && is_new(&local.point, &x_all, 1e-6) {
                // The last proposals refine the incumbent with its own model: the global GP may
                // still place them in an older basin.
                local.point.clone()
            } else {
                let main = global(&mut rng, &mut ws);
                localise(main, &local)
            }
        } else {
            global(&mut rng, &mut ws)
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

/// The observations a model-based proposal fits its GP to (internal direction, minimised).
struct ModelData {
    /// Finished points (failed ones included), flattened.
    x: Vec<f64>,
    /// Their values, failed ones imputed as the worst.
    y_raw: Vec<f64>,
    /// `y_raw` after the output transform.
    y: Vec<f64>,
    /// Pending points, flattened.
    pending: Vec<f64>,
}

/// Whether `p` is farther than `tol` (Euclidean) from every point of `points` (flattened).
fn is_new(p: &[f64], points: &[f64], tol: f64) -> bool {
    points
        .chunks(p.len())
        .all(|q| q.iter().zip(p).map(|(a, b)| (a - b).powi(2)).sum::<f64>() > tol * tol)
}

/// Population standard deviation of the better (smaller) half of `y`: the scale of the values
/// a search cares about, unaffected by the huge values of the worst regions (Branin's reach 300
/// where its minimum is 0.4).
fn better_half_sd(y: &[f64]) -> f64 {
    let mut v = y.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v.truncate(v.len().div_ceil(2));
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    (v.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / n).sqrt()
}

/// The proposal of a local model around one observed point (see the module documentation): a GP
/// fitted to the `k` points nearest to it (Euclidean, unit cube), maximised over their bounding
/// box.
struct LocalProposal {
    point: Vec<f64>,
    lower: Vec<f64>,
    upper: Vec<f64>,
    /// EI of `point` under the local GP, on the scale of the values.
    expected_improvement: f64,
}

impl LocalProposal {
    /// `x` (flattened) and `y` are the points and their values, `centre` the index of the point.
    #[allow(clippy::too_many_arguments)]
    fn new(
        x: &[f64],
        y: &[f64],
        dim: usize,
        centre: usize,
        k: usize,
        cfg: &BoConfig,
        search: &AcqSearch,
        rng: &mut Rng,
        ws: &mut AcqWorkspace,
    ) -> Self {
        let point_of = |i: usize| &x[i * dim..(i + 1) * dim];
        let c = point_of(centre);
        let mut near: Vec<(f64, usize)> = (0..y.len())
            .map(|i| {
                let d2: f64 = point_of(i)
                    .iter()
                    .zip(c)
                    .map(|(a, b)| (a - b).powi(2))
                    .sum();
                (d2, i)
            })
            .collect();
        near.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        near.truncate(k);
        let mut lower = c.to_vec();
        let mut upper = c.to_vec();
        for &(_, i) in &near {
            for (d, v) in point_of(i).iter().enumerate() {
                lower[d] = lower[d].min(*v);
                upper[d] = upper[d].max(*v);
            }
        }
        // Best first, so the candidates perturb the best local points.
        near.sort_by(|a, b| y[a.1].total_cmp(&y[b.1]).then(a.1.cmp(&b.1)));
        let lx: Vec<f64> = near
            .iter()
            .flat_map(|&(_, i)| point_of(i).to_vec())
            .collect();
        let ly: Vec<f64> = near.iter().map(|&(_, i)| y[i]).collect();
        let gp = Gp::fit(&lx, &ly, dim, None, &FitOptions::default(), rng);
        let incumbents: Vec<&[f64]> = lx.chunks(dim).collect();
        let f_best = (y[centre] - gp.y_mean) / gp.y_std;
        let problem = AcqProblem {
            gp: &gp,
            acq: &cfg.acquisition,
            f_best,
            feasible: None,
            bounds: Some((&lower, &upper)),
        };
        let point = maximize(&problem, &incumbents, search, rng, ws).0;
        let (mu, var) = gp.predict(&point, &mut PredictWorkspace::default());
        let expected_improvement = Acquisition::Ei.value(mu, var.sqrt(), f_best) * gp.y_std;
        LocalProposal {
            point,
            lower,
            upper,
            expected_improvement,
        }
    }

    fn contains(&self, p: &[f64]) -> bool {
        p.iter()
            .zip(self.lower.iter().zip(&self.upper))
            .all(|(v, (a, b))| a <= v && v <= b)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tune::functions::{branin, quadratic1d};
    use crate::tune::space::ParamSpec;

    /// x uniform on [−3, 5], the box of the 1-D quadratic.
    fn line_space() -> SearchSpace {
        SearchSpace {
            params: vec![(
                "x".into(),
                ParamSpec::Uniform {
                    low: -3.0,
                    high: 5.0,
                },
            )],
        }
    }

    fn branin_space() -> SearchSpace {
        SearchSpace {
            params: vec![
                (
                    "x0".into(),
                    ParamSpec::Uniform {
                        low: -5.0,
                        high: 10.0,
                    },
                ),
                (
                    "x1".into(),
                    ParamSpec::Uniform {
                        low: 0.0,
                        high: 15.0,
                    },
                ),
            ],
        }
    }

    fn floats(values: &[(String, toml::Value)]) -> Vec<f64> {
        values
            .iter()
            .map(|(_, v)| v.as_float().expect("uniform decodes to a float"))
            .collect()
    }

    /// Runs rounds of the loop used by the resume test: a batch of 2 on even rounds (the second
    /// point of round 4, trial 7, fails), single points otherwise.
    fn drive(search: &mut SearchState, rounds: std::ops::Range<usize>) {
        for round in rounds {
            let batch = search.ask(if round % 2 == 0 { 2 } else { 1 });
            for (k, p) in batch.iter().enumerate() {
                let y = branin(&floats(&p.values));
                let y = if round == 4 && k == 1 { None } else { Some(y) };
                search.tell(p.trial, y).unwrap();
            }
        }
    }

    #[test]
    fn resume_from_json_equals_uninterrupted_search() {
        let strategy = StrategyConfig::Bo(BoConfig::default());
        let mut whole =
            SearchState::new(branin_space(), strategy.clone(), Direction::Minimize, 40, 7);
        drive(&mut whole, 0..12);
        let mut first =
            SearchState::new(branin_space(), strategy.clone(), Direction::Minimize, 40, 7);
        drive(&mut first, 0..6);
        let json = serde_json::to_string(&first).unwrap();
        let mut resumed: SearchState = serde_json::from_str(&json).unwrap();
        assert_eq!(resumed, first, "the JSON round trip is exact");
        drive(&mut resumed, 6..12);
        assert_eq!(resumed, whole);
        assert!(
            whole
                .trials()
                .iter()
                .filter(|t| t.source == TrialSource::Model)
                .count()
                > 5
        );
        assert_eq!(whole.trials()[7].status, TrialStatus::Failed);
        // Same seed, same proposals; another seed, other proposals.
        let mut again =
            SearchState::new(branin_space(), strategy.clone(), Direction::Minimize, 40, 7);
        drive(&mut again, 0..12);
        assert_eq!(again.trials(), whole.trials());
        let mut other = SearchState::new(branin_space(), strategy, Direction::Minimize, 40, 8);
        drive(&mut other, 0..2);
        assert_ne!(other.trials()[0].unit, whole.trials()[0].unit);
    }

    #[test]
    fn bayesian_optimisation_finds_the_minimum_of_a_1d_quadratic() {
        let space = line_space();
        let mut search = SearchState::new(
            space,
            StrategyConfig::Bo(BoConfig::default()),
            Direction::Minimize,
            15,
            0,
        );
        while let Some(p) = search.ask(1).pop() {
            search
                .tell(p.trial, Some(quadratic1d(&floats(&p.values))))
                .unwrap();
        }
        let (trial, best) = search.best().unwrap();
        // f = (x − 1.234)² + 1: a best within 1e-6 of 1 puts x within 1e-3 of 1.234.
        assert!(best - 1.0 < 1e-6, "best {best}");
        let x = floats(&search.trials()[trial].values)[0];
        assert!((x - 1.234).abs() < 1e-3, "x {x}");
        assert_eq!(search.trials().len(), 15);
        assert!(search.ask(1).is_empty(), "the budget is spent");
    }

    #[test]
    fn maximisation_failures_and_tell_errors() {
        let space = SearchSpace {
            params: vec![(
                "x".into(),
                ParamSpec::Uniform {
                    low: 0.0,
                    high: 1.0,
                },
            )],
        };
        let mut search = SearchState::new(
            space,
            StrategyConfig::Bo(BoConfig::default()),
            Direction::Maximize,
            12,
            3,
        );
        let mut values = Vec::new();
        while let Some(p) = search.ask(1).pop() {
            let x = floats(&p.values)[0];
            // A failed region: x > 0.9 diverges.
            let y = if x > 0.9 {
                None
            } else {
                Some(-(x - 0.3).powi(2))
            };
            values.push(y);
            search.tell(p.trial, y).unwrap();
        }
        let (trial, best) = search.best().unwrap();
        let max = values
            .iter()
            .flatten()
            .cloned()
            .fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(best, max);
        assert_eq!(search.trials()[trial].status, TrialStatus::Complete);
        assert!(best > -1e-4, "the maximum at x = 0.3 is found, got {best}");
        assert_eq!(
            search.tell(trial, Some(1.0)).unwrap_err(),
            format!("trial {trial} was already told")
        );
        assert_eq!(
            search.tell(99, Some(1.0)).unwrap_err(),
            "trial 99 was never asked"
        );
        // NaN is a failure, never a best.
        let mut t2 = SearchState::new(
            search.space().clone(),
            StrategyConfig::Random,
            Direction::Minimize,
            3,
            0,
        );
        let p = t2.ask(2);
        t2.tell(p[0].trial, Some(f64::NAN)).unwrap();
        t2.tell(p[1].trial, Some(5.0)).unwrap();
        assert_eq!(t2.trials()[0].status, TrialStatus::Failed);
        assert_eq!(t2.best(), Some((1, 5.0)));
    }

    #[test]
    fn a_batch_spreads_out_also_where_the_local_model_proposes() {
        // 20 sequential Branin trials: past 4·d = 8 points, so proposals near the incumbent come
        // from the local model, which must see the pending points of the batch too.
        let mut search = SearchState::new(
            branin_space(),
            StrategyConfig::Bo(BoConfig::default()),
            Direction::Minimize,
            30,
            4,
        );
        for _ in 0..20 {
            let p = search.ask(1).pop().unwrap();
            search
                .tell(p.trial, Some(branin(&floats(&p.values))))
                .unwrap();
        }
        let batch = search.ask(4);
        assert_eq!(batch.len(), 4);
        for (i, a) in batch.iter().enumerate() {
            for b in &batch[..i] {
                let d = a
                    .unit
                    .iter()
                    .zip(&b.unit)
                    .map(|(x, y)| (x - y).powi(2))
                    .sum::<f64>()
                    .sqrt();
                // Well apart compared with the 1e-6 below which a point counts as a repeat.
                assert!(
                    d > 1e-4,
                    "batch points {} and {} are {d} apart",
                    b.trial,
                    a.trial
                );
            }
        }
    }

    #[test]
    fn design_strategies_fill_the_budget() {
        for strategy in [
            StrategyConfig::Random,
            StrategyConfig::Sobol,
            StrategyConfig::Lhs,
        ] {
            let mut search =
                SearchState::new(branin_space(), strategy.clone(), Direction::Minimize, 16, 1);
            let all = search.ask(100);
            assert_eq!(all.len(), 16, "{strategy:?}");
            assert!(
                all.iter()
                    .all(|p| p.unit.iter().all(|u| (0.0..=1.0).contains(u)))
            );
            assert!(search.ask(1).is_empty());
        }
        // 16 Sobol points stratify each coordinate into 16 cells.
        let mut search = SearchState::new(
            branin_space(),
            StrategyConfig::Sobol,
            Direction::Minimize,
            16,
            1,
        );
        let mut cells: Vec<usize> = search
            .ask(16)
            .iter()
            .map(|p| (p.unit[0] * 16.0) as usize)
            .collect();
        cells.sort();
        assert_eq!(cells, (0..16).collect::<Vec<_>>());
        // The grid stops at its size: 3 × 3 points with a budget of 20.
        let mut grid = SearchState::new(
            branin_space(),
            StrategyConfig::Grid {
                points_per_dim: Some(3),
            },
            Direction::Minimize,
            20,
            1,
        );
        let g = grid.ask(100);
        assert_eq!(g.len(), 9);
        assert_eq!(floats(&g[8].values), vec![10.0, 15.0]);
    }

    #[test]
    fn warm_start_counts_as_data() {
        let space = line_space();
        let mut search = SearchState::new(
            space,
            StrategyConfig::Bo(BoConfig::default()),
            Direction::Minimize,
            3,
            0,
        );
        let old: Vec<WarmTrial> = [-2.0, 0.0, 2.0, 4.0, 1.0]
            .iter()
            .map(|&x| {
                (
                    vec![("x".to_string(), toml::Value::Float(x))],
                    Some(quadratic1d(&[x])),
                )
            })
            .collect();
        search.warm_start(&old).unwrap();
        // Five warm trials cover the initial design of 5: the first proposal is model-based.
        let p = search.ask(1).pop().unwrap();
        assert_eq!(p.trial, 5);
        assert_eq!(search.trials()[5].source, TrialSource::Model);
        let bad = vec![(vec![("x".to_string(), toml::Value::Float(9.0))], Some(1.0))];
        assert_eq!(
            search.warm_start(&bad).unwrap_err(),
            "warm-start trial 0: x: 9 is outside [-3, 5]"
        );
    }

    #[test]
    fn surrogate_interpolates_the_told_values() {
        let space = line_space();
        for direction in [Direction::Minimize, Direction::Maximize] {
            let sign = if direction == Direction::Minimize {
                1.0
            } else {
                -1.0
            };
            let mut search = SearchState::new(
                space.clone(),
                StrategyConfig::Bo(BoConfig::default()),
                direction,
                20,
                0,
            );
            let grid: Vec<Vec<f64>> = (0..=200).map(|i| vec![i as f64 / 200.0]).collect();
            let mut told = Vec::new();
            for step in 0..7 {
                // The design phase (5 points in 1-D) has no model.
                assert_eq!(search.surrogate(&grid).is_none(), step < 5, "step {step}");
                let p = search.ask(1).pop().unwrap();
                let y = sign * quadratic1d(&floats(&p.values));
                search.tell(p.trial, Some(y)).unwrap();
                told.push((p.unit, y));
            }
            let units: Vec<Vec<f64>> = told.iter().map(|(u, _)| u.clone()).collect();
            let at_told = search.surrogate(&units).unwrap();
            let values: Vec<f64> = told.iter().map(|t| t.1).collect();
            let spread = values.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
                - values.iter().cloned().fold(f64::INFINITY, f64::min);
            let far = search.surrogate(&grid).unwrap();
            let max_far = far.iter().map(|p| p.1).fold(0.0, f64::max);
            for ((mean, std, _), y) in at_told.iter().zip(&values) {
                // Noise-free data: the fitted noise is tiny, so the posterior mean interpolates
                // to well within 1% of the spread of the values.
                assert!(
                    (mean - y).abs() < 1e-2 * spread,
                    "{direction:?}: mean {mean} at a told {y}"
                );
                assert!(
                    *std < 0.1 * max_far,
                    "{direction:?}: std {std} vs {max_far}"
                );
            }
            // The surrogate is the model the next proposal maximises the acquisition of, so that
            // proposal scores at least as well as every grid point, up to the optimiser's
            // tolerance, unless it fell among the 4 points nearest to the incumbent, where the
            // local model makes the proposal instead.
            let before = search.clone();
            let next = search.ask(1).pop().unwrap();
            let a_next = before.surrogate(std::slice::from_ref(&next.unit)).unwrap()[0].2;
            let a_grid = far.iter().map(|p| p.2).fold(f64::NEG_INFINITY, f64::max);
            let best = told
                .iter()
                .min_by(|a, b| (sign * a.1).total_cmp(&(sign * b.1)))
                .unwrap()
                .0[0];
            let mut near: Vec<f64> = told.iter().map(|t| t.0[0]).collect();
            near.sort_by(|a, b| (a - best).abs().total_cmp(&(b - best).abs()));
            near.truncate(4);
            let (lo, hi) = near
                .iter()
                .fold((best, best), |(l, h), &v| (l.min(v), h.max(v)));
            let local = lo <= next.unit[0] && next.unit[0] <= hi;
            assert!(
                a_next >= a_grid - 1e-3 || local,
                "{a_next} < {a_grid} at {} outside [{lo}, {hi}]",
                next.unit[0]
            );
        }
        let random = SearchState::new(space, StrategyConfig::Random, Direction::Minimize, 5, 0);
        assert!(random.surrogate(&[vec![0.5]]).is_none());
    }

    #[test]
    fn better_half_sd_and_is_new() {
        // Better half of (5, 1, 300, 3) is (1, 3): mean 2, population sd 1.
        assert!((better_half_sd(&[5.0, 1.0, 300.0, 3.0]) - 1.0).abs() < 1e-15);
        // Odd length keeps the middle value: (1, 2, 6) of (6, 1, 100, 2, 50) → sd √(14/3).
        assert!(
            (better_half_sd(&[6.0, 1.0, 100.0, 2.0, 50.0]) - (14.0f64 / 3.0).sqrt()).abs() < 1e-12
        );
        let pts = [0.0, 0.0, 1.0, 1.0];
        assert!(!is_new(&[0.0, 5e-7], &pts, 1e-6));
        assert!(is_new(&[0.0, 2e-6], &pts, 1e-6));
    }

    #[test]
    fn local_model_stays_in_its_box_and_sees_convergence() {
        // f(x) = Σ (x_d − 0.3)² in 2-D, minimum 0 at (0.3, 0.3).
        let f = |p: &[f64]| p.iter().map(|v| (v - 0.3).powi(2)).sum::<f64>();
        let cfg = BoConfig::default();
        let search = AcqSearch::default();
        let mut ws = AcqWorkspace::default();
        let mut rng = rng_for(3, &["local"]);
        // Far from converged: 10 points on a coarse ring around (0.45, 0.45) plus the centre.
        let mut coarse = vec![0.45, 0.45];
        for i in 0..10 {
            let a = i as f64 * std::f64::consts::TAU / 10.0;
            coarse.extend([0.45 + 0.2 * a.cos(), 0.45 + 0.2 * a.sin()]);
        }
        let y: Vec<f64> = coarse.chunks(2).map(f).collect();
        let k = 8;
        let local = LocalProposal::new(&coarse, &y, 2, 0, k, &cfg, &search, &mut rng, &mut ws);
        // The box is the bounding box of the 8 nearest points: the centre and 7 of the ring.
        for d in 0..2 {
            assert!(local.lower[d] >= 0.25 - 1e-12 && local.upper[d] <= 0.65 + 1e-12);
            assert!(local.lower[d] <= local.point[d] && local.point[d] <= local.upper[d]);
        }
        assert!(local.contains(&local.point));
        assert!(!local.contains(&[0.9, 0.9]));
        // It moves towards the minimum, and expects to improve by a good part of f(centre) = 0.045.
        assert!(f(&local.point) < 0.045, "{:?}", local.point);
        assert!(
            local.expected_improvement > 1e-3,
            "{}",
            local.expected_improvement
        );
        // Converged: the minimum itself and a tight ring of radius 0.01 around it.
        let mut tight = vec![0.3, 0.3];
        for i in 0..10 {
            let a = i as f64 * std::f64::consts::TAU / 10.0;
            tight.extend([0.3 + 0.01 * a.cos(), 0.3 + 0.01 * a.sin()]);
        }
        let y: Vec<f64> = tight.chunks(2).map(f).collect();
        let local = LocalProposal::new(&tight, &y, 2, 0, k, &cfg, &search, &mut rng, &mut ws);
        // The ring's values are 1e-4; an improvement below the minimum 0 is impossible, and the
        // model, which interpolates the bowl, expects less than 1 % of that spread.
        assert!(
            local.expected_improvement < 1e-6,
            "{}",
            local.expected_improvement
        );
    }

    #[test]
    fn log_output_transform_is_monotone_and_scale_free() {
        // y = (3, 4, 1003): (y − 3)/1000 + 1e-3 = (0.001, 0.002, 1.001).
        let t = OutputTransform::Log.apply(&[3.0, 4.0, 1003.0]);
        let want = [0.001f64.ln(), 0.002f64.ln(), 1.001f64.ln()];
        for (a, b) in t.iter().zip(want) {
            assert!((a - b).abs() < 1e-12);
        }
        let scaled = OutputTransform::Log.apply(&[30.0, 40.0, 10030.0]);
        assert!(t.iter().zip(&scaled).all(|(a, b)| (a - b).abs() < 1e-12));
        assert_eq!(OutputTransform::None.apply(&[2.0, 1.0]), vec![2.0, 1.0]);
        let cfg: StrategyConfig =
            toml::from_str("kind = \"bo\"\noutput_transform = \"log\"").unwrap();
        assert!(matches!(
            cfg,
            StrategyConfig::Bo(BoConfig {
                output_transform: OutputTransform::Log,
                ..
            })
        ));
    }

    #[test]
    fn strategy_configs_parse_with_defaults_and_refuse_unknown_keys() {
        let bo: StrategyConfig = toml::from_str("kind = \"bo\"").unwrap();
        assert_eq!(bo, StrategyConfig::Bo(BoConfig::default()));
        let ucb: StrategyConfig = toml::from_str(
            "kind = \"bo\"\nn_initial = 8\nacquisition = { kind = \"ucb\", beta = 3.0 }",
        )
        .unwrap();
        let StrategyConfig::Bo(cfg) = ucb else {
            panic!("not bo")
        };
        assert_eq!(cfg.acquisition, Acquisition::Ucb { beta: 3.0 });
        assert_eq!(cfg.n_initial(2), 8);
        assert_eq!(BoConfig::default().n_initial(6), 10);
        assert_eq!(BoConfig::default().n_initial(3), 6);
        assert_eq!(BoConfig::default().n_initial(2), 5);
        let grid: StrategyConfig = toml::from_str("kind = \"grid\"\npoints_per_dim = 4").unwrap();
        assert_eq!(
            grid,
            StrategyConfig::Grid {
                points_per_dim: Some(4)
            }
        );
        let err = toml::from_str::<StrategyConfig>("kind = \"bo\"\ninitial = 3")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `initial`"), "{err}");
        let err = toml::from_str::<StrategyConfig>("kind = \"tpe\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown variant `tpe`"), "{err}");
    }
}
