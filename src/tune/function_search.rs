//! Searches of a test function with a known minimum by one strategy: seeded repeats of a full ask/tell loop,
//! best-so-far curves and the wall time of each model-based proposal.

use std::fmt::Write as _;
use std::time::Instant;

use super::ask_tell::{Direction, SearchState, StrategyConfig, TrialSource};
use super::functions::TestFunction;

/// Best-so-far curves of every repeat and proposal times.
#[derive(Clone, Debug)]
pub struct FunctionSearches {
    pub function: String,
    pub strategy: StrategyConfig,
    pub budget: usize,
    pub f_star: f64,
    /// `best_so_far[r][t]`: the best objective of repeat r (seed r) after t + 1 evaluations.
    pub best_so_far: Vec<Vec<f64>>,
    /// Milliseconds of each model-based `ask(1)` (GP fit + acquisition), all repeats.
    pub proposal_ms: Vec<f64>,
    /// `proposal_ms_at[t]`: the times of proposals of trial t over repeats (empty in the design
    /// phase).
    pub proposal_ms_at: Vec<Vec<f64>>,
}

/// Summary of the best values of all repeats after some number of evaluations.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    pub evaluations: usize,
    pub median: f64,
    pub q25: f64,
    pub q75: f64,
    /// Repeats whose best is within `tol` of f*.
    pub within: usize,
    pub repeats: usize,
}

/// Linear-interpolation quantile of sorted data (the "type 7" rule of Hyndman & Fan 1996, the
/// default of R and NumPy): position q·(n − 1).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (pos - lo as f64) * (sorted[hi] - sorted[lo])
}

impl FunctionSearches {
    /// Median [25th, 75th percentile] of the best value after `evaluations` evaluations and the
    /// number of repeats within `tol` of f*.
    pub fn summary(&self, evaluations: usize, tol: f64) -> Summary {
        let k = evaluations.clamp(1, self.budget) - 1;
        let mut v: Vec<f64> = self
            .best_so_far
            .iter()
            .map(|c| c[k.min(c.len() - 1)])
            .collect();
        v.sort_by(f64::total_cmp);
        Summary {
            evaluations: k + 1,
            median: quantile(&v, 0.5),
            q25: quantile(&v, 0.25),
            q75: quantile(&v, 0.75),
            within: v.iter().filter(|b| **b - self.f_star <= tol).count(),
            repeats: v.len(),
        }
    }

    /// (median, maximum) milliseconds per model-based proposal, over proposals of trials
    /// `from..to`.
    pub fn proposal_time(&self, from: usize, to: usize) -> (f64, f64) {
        let mut v: Vec<f64> =
            self.proposal_ms_at[from.min(self.budget)..to.min(self.budget)].concat();
        v.sort_by(f64::total_cmp);
        (quantile(&v, 0.5), v.last().copied().unwrap_or(f64::NAN))
    }

    /// A plain-text table: per checkpoint the median [q25, q75] best value, the median simple
    /// regret and the repeats within 0.01 of f*; then proposal times.
    pub fn report(&self, checkpoints: &[usize]) -> String {
        let mut s = String::new();
        let strategy = serde_json::to_string(&self.strategy).unwrap_or_default();
        let _ = writeln!(
            s,
            "{} (f* = {}), strategy {strategy}, {} repeats (seeds 0..{})",
            self.function,
            self.f_star,
            self.best_so_far.len(),
            self.best_so_far.len()
        );
        let _ = writeln!(
            s,
            "{:>6}  {:>12} {:>26}  {:>10}  {:>8}",
            "evals", "median best", "[q25, q75]", "regret", "≤0.01"
        );
        for &c in checkpoints {
            let m = self.summary(c, 0.01);
            let _ = writeln!(
                s,
                "{:>6}  {:>12.6} [{:>11.6}, {:>11.6}]  {:>10.3e}  {:>4}/{}",
                m.evaluations,
                m.median,
                m.q25,
                m.q75,
                m.median - self.f_star,
                m.within,
                m.repeats
            );
        }
        if !self.proposal_ms.is_empty() {
            let mut v = self.proposal_ms.clone();
            v.sort_by(f64::total_cmp);
            let _ = writeln!(
                s,
                "proposal time (model-based): median {:.2} ms, max {:.2} ms over {} proposals",
                quantile(&v, 0.5),
                v[v.len() - 1],
                v.len()
            );
        }
        s
    }
}

/// Runs `repeats` searches (seeds 0..repeats) of `budget` evaluations of a test function by name
/// (see [`TestFunction::by_name`]), minimising over the function's box.
pub fn search_function(
    function: &str,
    strategy: &StrategyConfig,
    budget: usize,
    repeats: usize,
) -> Result<FunctionSearches, String> {
    let tf = TestFunction::by_name(function).ok_or_else(|| {
        let names: Vec<&str> = super::functions::ALL.iter().map(|f| f.name).collect();
        format!(
            "unknown test function {function:?}; known: {}",
            names.join(", ")
        )
    })?;
    let space = tf.space();
    let mut best_so_far = Vec::with_capacity(repeats);
    let mut proposal_ms = Vec::new();
    let mut proposal_ms_at = vec![Vec::new(); budget];
    let mut x = vec![0.0; tf.dim()];
    for seed in 0..repeats {
        let mut search = SearchState::new(
            space.clone(),
            strategy.clone(),
            Direction::Minimize,
            budget,
            seed as u64,
        );
        let mut curve = Vec::with_capacity(budget);
        let mut best = f64::INFINITY;
        for times in proposal_ms_at.iter_mut() {
            let start = Instant::now();
            let proposal = search.ask(1);
            let ms = start.elapsed().as_secs_f64() * 1e3;
            let Some(p) = proposal.into_iter().next() else {
                break;
            };
            if search.trials()[p.trial].source == TrialSource::Model {
                proposal_ms.push(ms);
                times.push(ms);
            }
            for (xi, (_, v)) in x.iter_mut().zip(&p.values) {
                *xi = v.as_float().expect("uniform parameters decode to floats");
            }
            let y = (tf.f)(&x);
            search
                .tell(p.trial, Some(y))
                .expect("a fresh trial can be told");
            best = best.min(y);
            curve.push(best);
        }
        best_so_far.push(curve);
    }
    Ok(FunctionSearches {
        function: tf.name.to_string(),
        strategy: strategy.clone(),
        budget,
        f_star: tf.f_star,
        best_so_far,
        proposal_ms,
        proposal_ms_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_follow_the_linear_rule() {
        let v = [1.0, 2.0, 4.0, 8.0];
        // Position q·(n − 1): 0.75 → between 2 and 4; 2.25 → between 4 and 8.
        assert_eq!(quantile(&v, 0.25), 1.75);
        assert_eq!(quantile(&v, 0.5), 3.0);
        assert_eq!(quantile(&v, 0.75), 5.0);
    }

    #[test]
    fn benchmark_records_monotone_best_so_far_curves() {
        let r = search_function("branin", &StrategyConfig::Random, 10, 3).unwrap();
        assert_eq!(r.best_so_far.len(), 3);
        for c in &r.best_so_far {
            assert_eq!(c.len(), 10);
            assert!(c.windows(2).all(|w| w[1] <= w[0]));
            assert!(c[9] >= r.f_star);
        }
        assert!(
            r.proposal_ms.is_empty(),
            "random search has no model-based proposals"
        );
        let s = r.summary(10, 0.01);
        assert_eq!((s.evaluations, s.repeats), (10, 3));
        assert!(r.report(&[5, 10]).contains("branin"));
        let err = search_function("rosenbrock", &StrategyConfig::Random, 10, 1).unwrap_err();
        assert!(
            err.contains("unknown test function \"rosenbrock\""),
            "{err}"
        );
    }
}
