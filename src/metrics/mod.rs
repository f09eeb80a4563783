//! Every evaluation metric of bayeslab, each with its formula in its doc comment.
//!
//! This module owns scoring a predictive summary against targets. It computes in f64 and takes
//! plain slices and ndarray views; it must not run models, average samples (that is the
//! predictive module's job) or know about splits and storage.
//!
//! It also owns the registry of metric names and which way each improves ([`METRICS`],
//! [`direction`]) and the one rule for which value of a run is its final one ([`final_value`]),
//! so tables, searches and learning curves cannot disagree about either.
//!
//! Shapes are the caller's contract: mismatched lengths or out-of-range labels are programming
//! errors and panic with a message that names the sizes. An empty input gives NaN (0/0), which the
//! runner reports like any non-finite metric.

mod classification;
mod ood;
mod registry;
mod regression;
mod uncertainty;

pub(crate) use classification::calibration_of_confidences;
pub use classification::{
    Calibration, ReliabilityBin, accuracy, brier, brier_per_class, calibration, ece, mce, nll,
    perplexity,
};
pub use ood::{aupr, auroc, fpr_at_95_tpr};
pub use registry::{
    Direction, METRICS, MetricInfo, direction, higher_is_better, is_known_metric, metric_info,
};
pub use regression::{
    crps_gaussian, crps_mixture, gaussian_ll, gaussian_mixture_ll, mixture_interval,
    mixture_interval_coverage, rmse,
};
pub use uncertainty::{entropies, entropy, mutual_information, predictive_entropy};

use ndarray::ArrayView2;

/// The final value of one metric of a run: the value at the run's last (epoch, step).
///
/// A run records a `split.metric` as rows (epoch, step, value), step being the optimiser steps
/// taken when the value was measured. Rows are ordered by epoch, then by step, whatever order
/// they are given in; the final value is the value of the greatest (epoch, step), and of several
/// rows at that position the last one given. None without rows.
///
/// Every reader uses this rule: the results table (a run's value in a cell), a search (a trial's
/// objective) and the learning curves (a run's value at epoch e is the final value of that
/// epoch's rows: the value the run would have ended with had it stopped after epoch e).
pub fn final_value(rows: impl IntoIterator<Item = (i64, i64, f64)>) -> Option<f64> {
    rows.into_iter()
        .max_by_key(|&(epoch, step, _)| (epoch, step))
        .map(|(_, _, value)| value)
}

fn assert_same_len(got: usize, targets: usize, what: &str) {
    assert_eq!(got, targets, "{what}: {got} values for {targets} targets");
}

fn check_classes(probs: ArrayView2<f64>, labels: &[u32]) {
    let (n, k) = probs.dim();
    assert_same_len(n, labels.len(), "probability rows");
    if let Some(&bad) = labels.iter().find(|&&y| y as usize >= k) {
        panic!("label {bad} out of range for {k} classes");
    }
}

/// A handful of f64 operations on O(1) values: 1e-12 absolute is far above their rounding
/// (~1e-16 each) and far below any wrong term.
#[cfg(test)]
fn close(got: f64, want: f64) {
    assert!((got - want).abs() <= 1e-12, "got {got}, want {want}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_final_value_is_at_the_last_epoch_and_step() {
        // Two rows of the last epoch, the later step given first: ordering by epoch alone (or
        // taking the last row of the last epoch) would pick 2.0.
        let rows = [(2, 30, 9.0), (3, 40, 1.0), (3, 35, 2.0), (1, 50, 7.0)];
        assert_eq!(final_value(rows), Some(1.0));
        // Of two rows at the same (epoch, step), the last one given.
        assert_eq!(final_value([(3, 40, 1.0), (3, 40, 5.0)]), Some(5.0));
        assert_eq!(final_value([]), None);
    }
}
