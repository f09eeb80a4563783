//! The work estimate of an experiment, before anything runs: per method and variant the
//! parameters, epochs, optimisation steps and floating-point operations of one run; for a
//! `[tune]` section the same for its trials and final runs; and a wall time at an assumed rate.
//!
//! `bayeslab check` prints it and `bayeslab slurm` sizes a job array from it. It is arithmetic
//! on the plan and the data's row counts; it runs nothing and measures nothing.
//!
//! FLOP ≈ 6 · parameters · training examples seen: the forward pass costs 2 per weight and
//! example, the backward pass 4. Evaluation, sampling overheads and data handling are not
//! counted. The wall time assumes [`FLOP_PER_CORE_S`] per core plus [`STEP_OVERHEAD_S`] per
//! optimisation step: the second term dominates for small networks, whose steps are cheap in
//! FLOP but not free. Both figures are deliberately cautious guesses for one core of a current
//! server (the quickstart runs at about 6 GFLOP/s on one core of the 2-core development
//! machine); `bayeslab bench` measures the machine at hand.

use crate::data::DataCache;
use crate::error::Result;
use crate::spec::Experiment;

/// Assumed training throughput of one core, FLOP per second.
pub const FLOP_PER_CORE_S: f64 = 4e9;
/// Assumed fixed cost of one optimisation step on one core, seconds.
pub const STEP_OVERHEAD_S: f64 = 50e-6;

/// The work of the runs of one (variant, method) of the plan.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkRow {
    pub method: String,
    pub variant: String,
    /// Runs of the plan with this method and variant.
    pub runs: usize,
    pub params: usize,
    /// Epochs of work of one run (members and chains included).
    pub epochs: usize,
    /// Optimisation steps of one run.
    pub steps: usize,
    /// FLOP of training of one run.
    pub flop: f64,
}

/// The work of a whole experiment.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkEstimate {
    /// One row per (variant, method), in the plan's order.
    pub rows: Vec<WorkRow>,
    /// Runs of the plan.
    pub runs: usize,
    /// Independent searches of the `[tune]` section (0 without one).
    pub searches: usize,
    /// Runs of one search: its trials plus its final runs.
    pub runs_per_search: usize,
    /// Steps and FLOP of one of those runs (the tuned method's first row).
    pub search_run_steps: usize,
    pub search_run_flop: f64,
}

impl WorkEstimate {
    /// Estimates the work of `experiment` (not of a `[benchmark]`: its searches train nothing).
    pub fn of(experiment: &Experiment) -> Result<WorkEstimate> {
        Self::with_data(experiment, &DataCache::load(&experiment.runs)?)
    }

    /// [`WorkEstimate::of`] with the experiment's data already loaded.
    pub fn with_data(experiment: &Experiment, data: &DataCache) -> Result<WorkEstimate> {
        let mut rows = Vec::new();
        for variant in &experiment.variants {
            for method in &experiment.methods {
                let runs: Vec<_> = experiment
                    .runs
                    .iter()
                    .filter(|r| &r.config.variant == variant && &r.config.method == method)
                    .collect();
                let Some(first) = runs.first() else { continue };
                let config = &first.config;
                let prepared = data.prepare(config)?;
                let n_train = prepared.train.len();
                let params = crate::method::build_network(config, &prepared.train).n_params();
                let epochs = config.epochs_of_work() as usize;
                let steps = epochs * n_train.div_ceil(config.train.batch_size.max(1));
                rows.push(WorkRow {
                    method: method.clone(),
                    variant: variant.clone(),
                    runs: runs.len(),
                    params,
                    epochs,
                    steps,
                    flop: 6.0 * params as f64 * (n_train * epochs) as f64,
                });
            }
        }
        let (searches, runs_per_search, search_run_steps, search_run_flop) = match &experiment.tune
        {
            None => (0, 0, 0, 0.0),
            Some(tune) => {
                let tuned = rows.iter().find(|r| r.method == tune.method);
                let finals = if tune.final_runs {
                    experiment
                        .runs
                        .iter()
                        .filter(|r| {
                            r.config.method == tune.method
                                && Some(&r.config.variant) == experiment.variants.first()
                        })
                        .count()
                } else {
                    0
                };
                (
                    tune.strategies.len() * tune.repeats,
                    tune.budget + finals,
                    tuned.map_or(0, |r| r.steps),
                    tuned.map_or(0.0, |r| r.flop),
                )
            }
        };
        Ok(WorkEstimate {
            rows,
            runs: experiment.runs.len(),
            searches,
            runs_per_search,
            search_run_steps,
            search_run_flop,
        })
    }

    /// The independent pieces a batch can be sharded into: the plan's runs and the searches.
    pub fn shard_units(&self) -> usize {
        self.runs + self.searches
    }

    /// FLOP of training of the plan's runs.
    pub fn plan_flop(&self) -> f64 {
        self.rows.iter().map(|r| r.flop * r.runs as f64).sum()
    }

    /// FLOP of training of the plan and every search.
    pub fn total_flop(&self) -> f64 {
        self.plan_flop() + (self.searches * self.runs_per_search) as f64 * self.search_run_flop
    }

    /// Optimisation steps of the plan and every search.
    pub fn total_steps(&self) -> usize {
        self.rows.iter().map(|r| r.steps * r.runs).sum::<usize>()
            + self.searches * self.runs_per_search * self.search_run_steps
    }

    /// Estimated wall seconds of everything on `cores` cores, at the assumed rates.
    pub fn seconds(&self, cores: usize) -> f64 {
        (self.total_flop() / FLOP_PER_CORE_S + self.total_steps() as f64 * STEP_OVERHEAD_S)
            / cores.max(1) as f64
    }
}

/// Seconds as `1.2 s`, `3.4 min` or `5.6 h`.
pub fn human_seconds(s: f64) -> String {
    if s < 90.0 {
        format!("{s:.1} s")
    } else if s < 5400.0 {
        format!("{:.1} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quickstart_estimate_is_six_flop_per_weight_and_example() {
        let experiment = crate::spec::parse("q", crate::spec::QUICKSTART, &[]).unwrap();
        let w = WorkEstimate::of(&experiment).unwrap();
        assert_eq!((w.runs, w.searches, w.shard_units()), (9, 0, 9));
        let row = &w.rows[0];
        // 2752 weights, 300 epochs over the training rows: 6 FLOP per weight and example.
        assert_eq!(row.params, 2752);
        let examples = row.flop / (6.0 * row.params as f64);
        assert_eq!(examples, (examples / 300.0).round() * 300.0);
        assert!((w.total_flop() - 9.0 * row.flop).abs() < 1.0);
        let expected = w.total_flop() / FLOP_PER_CORE_S + (9 * row.steps) as f64 * STEP_OVERHEAD_S;
        assert!((w.seconds(1) - expected).abs() < 1e-9);
        assert!((w.seconds(2) - expected / 2.0).abs() < 1e-9);
    }
}
