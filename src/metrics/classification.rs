//! Classification metrics: scores of categorical probabilities (n×K, rows = examples) against
//! class labels.

use ndarray::ArrayView2;

use super::check_classes;

/// The predicted class of one row of probabilities: argmax_k p_k, ties broken towards the lowest
/// index (NaN entries never win).
fn argmax(row: impl IntoIterator<Item = f64>) -> (usize, f64) {
    let mut best = (0, f64::NEG_INFINITY);
    for (k, p) in row.into_iter().enumerate() {
        if p > best.1 {
            best = (k, p);
        }
    }
    best
}

/// Classification accuracy (1/n) Σ_i 1[argmax_k p_ik = y_i], ties going to the lowest class
/// index. `probs` is n×K (rows = examples).
pub fn accuracy(probs: ArrayView2<f64>, labels: &[u32]) -> f64 {
    check_classes(probs, labels);
    let correct = probs
        .rows()
        .into_iter()
        .zip(labels)
        .filter(|(row, y)| argmax(row.iter().copied()).0 == **y as usize)
        .count();
    correct as f64 / labels.len() as f64
}

/// Negative log-likelihood (cross-entropy) of the labels: −(1/n) Σ_i log p_{i,y_i}.
///
/// p is clamped below at `f64::MIN_POSITIVE` (≈ 2.2e-308), so a zero probability on the true class
/// costs −ln(MIN_POSITIVE) ≈ 708.4 instead of making the mean infinite; a model must still pay
/// dearly for certainty in the wrong class, and one such example does not hide all the others.
pub fn nll(probs: ArrayView2<f64>, labels: &[u32]) -> f64 {
    check_classes(probs, labels);
    let total: f64 = probs
        .rows()
        .into_iter()
        .zip(labels)
        .map(|(row, &y)| -row[y as usize].max(f64::MIN_POSITIVE).ln())
        .sum();
    total / labels.len() as f64
}

/// Brier score (Brier 1950) in its original multi-class form, summed over classes and averaged
/// over examples: (1/n) Σ_i Σ_k (p_ik − 1[k = y_i])². It ranges over [0, 2]; a one-hot correct
/// prediction scores 0, a one-hot wrong one 2 and the uniform distribution over K classes
/// (K − 1)/K. This is the `brier` the harness reports. Some libraries divide by K as well
/// ([`brier_per_class`]) or score only the positive class in binary problems; this one does not.
pub fn brier(probs: ArrayView2<f64>, labels: &[u32]) -> f64 {
    check_classes(probs, labels);
    let total: f64 = probs
        .rows()
        .into_iter()
        .zip(labels)
        .map(|(row, &y)| {
            row.iter()
                .enumerate()
                .map(|(k, &p)| {
                    let d = p - if k == y as usize { 1.0 } else { 0.0 };
                    d * d
                })
                .sum::<f64>()
        })
        .sum();
    total / labels.len() as f64
}

/// Brier score divided by the number of classes K: (1/n) Σ_i (1/K) Σ_k (p_ik − 1[k = y_i])², the
/// mean squared error over all n·K probabilities, in [0, 2/K]. Equal to [`brier`] / K; named so
/// that the two conventions cannot be confused in a table.
pub fn brier_per_class(probs: ArrayView2<f64>, labels: &[u32]) -> f64 {
    brier(probs, labels) / probs.ncols() as f64
}

/// Perplexity of a language model, exp(mean token NLL) (natural log), as reported by Gan et al.
/// (2017) and the PTB literature.
pub fn perplexity(mean_token_nll: f64) -> f64 {
    mean_token_nll.exp()
}

/// One bin of a reliability diagram.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ReliabilityBin {
    /// Lower edge of the bin (exclusive, except that the first bin also holds confidence 0).
    pub lower: f64,
    /// Upper edge of the bin (inclusive).
    pub upper: f64,
    /// Mean confidence conf(B) = (1/|B|) Σ_{i∈B} max_k p_ik; 0 for an empty bin.
    pub confidence: f64,
    /// Accuracy acc(B) = (1/|B|) Σ_{i∈B} 1[ŷ_i = y_i]; 0 for an empty bin.
    pub accuracy: f64,
    /// |B|, the number of examples in the bin. Plots should skip bins with count 0.
    pub count: usize,
}

/// ECE, MCE and the reliability diagram of one set of predictions, from one binning pass.
#[derive(Clone, Debug, PartialEq)]
pub struct Calibration {
    /// Expected calibration error, as in [`ece`].
    pub ece: f64,
    /// Maximum calibration error, as in [`mce`].
    pub mce: f64,
    /// The reliability diagram: `bins` bins, lowest confidence first, empty ones included.
    pub bins: Vec<ReliabilityBin>,
}

/// Expected calibration error with `bins` equal-width confidence bins (Naeini, Cooper & Hauskrecht
/// 2015; Guo et al. 2017): ECE = Σ_b (|B_b|/n)·|acc(B_b) − conf(B_b)|.
///
/// The confidence of example i is max_k p_ik and its prediction the argmax (ties to the lowest
/// index, as in [`accuracy`]). As in Guo et al., bin b (0-based) holds confidences in
/// (b/M, (b+1)/M]; confidence 0 goes to the first bin. Also returns the per-bin
/// (confidence, accuracy, count) for reliability diagrams. [`calibration`] gives ECE and MCE
/// together.
pub fn ece(probs: ArrayView2<f64>, labels: &[u32], bins: usize) -> (f64, Vec<ReliabilityBin>) {
    let Calibration { ece, bins, .. } = calibration(probs, labels, bins);
    (ece, bins)
}

/// Maximum calibration error (Naeini, Cooper & Hauskrecht 2015; Guo et al. 2017):
/// MCE = max_b |acc(B_b) − conf(B_b)| over the non-empty bins B_b, binned as in [`ece`]. The
/// worst-calibrated bin, however few examples it holds; NaN without examples.
pub fn mce(probs: ArrayView2<f64>, labels: &[u32], bins: usize) -> f64 {
    calibration(probs, labels, bins).mce
}

/// ECE, MCE and the reliability diagram with `bins` equal-width bins, binned as in [`ece`].
pub fn calibration(probs: ArrayView2<f64>, labels: &[u32], bins: usize) -> Calibration {
    check_classes(probs, labels);
    calibration_of_confidences(
        probs.rows().into_iter().zip(labels).map(|(row, &y)| {
            let (pred, conf) = argmax(row.iter().copied());
            (conf, pred == y as usize)
        }),
        bins,
    )
}

/// ECE, MCE and the reliability diagram of examples given as (confidence max_k p_ik, whether the
/// prediction is right), binned as in [`ece`]: the one binning pass behind [`calibration`], for
/// callers that hold confidences and correctness rather than probabilities (the report's
/// reliability diagram, from stored prediction rows).
pub(crate) fn calibration_of_confidences(
    examples: impl IntoIterator<Item = (f64, bool)>,
    bins: usize,
) -> Calibration {
    assert!(bins >= 1, "calibration needs at least one bin, got 0");
    let m = bins as f64;
    let mut conf_sum = vec![0.0f64; bins];
    let mut correct = vec![0usize; bins];
    let mut count = vec![0usize; bins];
    for (conf, right) in examples {
        let b = bin_of(conf, bins);
        conf_sum[b] += conf;
        count[b] += 1;
        if right {
            correct[b] += 1;
        }
    }
    let n = count.iter().sum::<usize>() as f64;
    let mut ece = 0.0;
    // None until a non-empty bin is seen: MCE without examples is NaN, not 0.
    let mut mce: Option<f64> = None;
    let table = (0..bins)
        .map(|b| {
            let (confidence, accuracy) = if count[b] == 0 {
                (0.0, 0.0)
            } else {
                let c = count[b] as f64;
                (conf_sum[b] / c, correct[b] as f64 / c)
            };
            let gap = (accuracy - confidence).abs();
            ece += count[b] as f64 / n * gap;
            if count[b] > 0 {
                // A NaN gap, once seen, stays the maximum rather than being skipped by `max`.
                mce = Some(match mce {
                    Some(worst) if worst.is_nan() || gap <= worst => worst,
                    _ => gap,
                });
            }
            ReliabilityBin {
                lower: b as f64 / m,
                upper: (b + 1) as f64 / m,
                confidence,
                accuracy,
                count: count[b],
            }
        })
        .collect();
    Calibration {
        ece,
        mce: mce.unwrap_or(f64::NAN),
        bins: table,
    }
}

/// The bin b with b/M < conf ≤ (b+1)/M. The guess ⌈conf·M⌉ − 1 is corrected by comparing with the
/// edges b/M that `ece` reports, so an example's bin never disagrees with the edges shown, whatever
/// the rounding of conf·M.
fn bin_of(conf: f64, bins: usize) -> usize {
    let m = bins as f64;
    let mut b = ((conf * m).ceil() as usize).saturating_sub(1).min(bins - 1);
    while b > 0 && conf <= b as f64 / m {
        b -= 1;
    }
    while b + 1 < bins && conf > (b + 1) as f64 / m {
        b += 1;
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::close;
    use ndarray::{Array2, array};

    #[test]
    fn accuracy_with_ties_to_lowest_index() {
        let probs = array![
            [0.7, 0.2, 0.1], // predicts 0, label 0: correct
            [0.4, 0.4, 0.2], // tie 0/1 → predicts 0, label 1: wrong
            [0.3, 0.3, 0.4], // predicts 2, label 2: correct
            [0.5, 0.5, 0.0], // tie → predicts 0, label 0: correct
        ];
        close(accuracy(probs.view(), &[0, 1, 2, 0]), 0.75);
    }

    #[test]
    fn nll_by_hand_and_clamped() {
        let probs = array![[0.5, 0.5], [0.1, 0.9]];
        // −(ln 0.5 + ln 0.9)/2 = (0.6931471805599453 + 0.10536051565782628)/2 = 0.3992538481088858
        close(nll(probs.view(), &[0, 1]), 0.399_253_848_108_885_8);
        // p = 0 on the true class costs −ln(f64::MIN_POSITIVE) = 708.3964185322641, not ∞.
        let certain_wrong = array![[1.0, 0.0]];
        let v = nll(certain_wrong.view(), &[1]);
        assert!((v - 708.396_418_532_264_1).abs() < 1e-9, "{v}");
    }

    #[test]
    fn brier_extremes_and_by_hand() {
        // One-hot correct predictions score 0.
        let one_hot = array![[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]];
        assert_eq!(brier(one_hot.view(), &[1, 0]), 0.0);
        // Uniform over K = 4: (1 − ¼)² + 3·(¼)² = 9/16 + 3/16 = 3/4 = (K − 1)/K.
        let uniform = Array2::from_elem((5, 4), 0.25);
        close(brier(uniform.view(), &[0, 1, 2, 3, 0]), 0.75);
        // (0.7, 0.2, 0.1) with label 1: 0.49 + 0.64 + 0.01 = 1.14; a confidently wrong one-hot: 2.
        let probs = array![[0.7, 0.2, 0.1], [0.0, 0.0, 1.0]];
        close(brier(probs.view(), &[1, 0]), (1.14 + 2.0) / 2.0);
        // Per class, over K = 3: (1.14 + 2)/2/3 = 0.5233…; uniform over 4: 3/4/4 = 3/16.
        close(brier_per_class(probs.view(), &[1, 0]), (1.14 + 2.0) / 6.0);
        close(brier_per_class(uniform.view(), &[0, 1, 2, 3, 0]), 0.1875);
    }

    #[test]
    fn perplexity_is_exp() {
        close(perplexity(0.0), 1.0);
        // A uniform model over 10,000 words has perplexity 10,000.
        let ppl = perplexity(10_000f64.ln());
        assert!((ppl - 10_000.0).abs() < 1e-8, "{ppl}");
    }

    #[test]
    fn ece_of_a_perfectly_calibrated_predictor_is_zero() {
        // Ten examples at confidence 0.8 of which eight are right, five at 0.6 of which three are.
        let mut rows = Vec::new();
        let mut labels = Vec::new();
        for i in 0..10 {
            rows.extend([0.8, 0.2]);
            labels.push(if i < 8 { 0 } else { 1 });
        }
        for i in 0..5 {
            rows.extend([0.4, 0.6]);
            labels.push(if i < 3 { 1 } else { 0 });
        }
        let probs = Array2::from_shape_vec((15, 2), rows).unwrap();
        let (e, bins) = ece(probs.view(), &labels, 10);
        assert!(e.abs() < 1e-12, "{e}");
        let worst = mce(probs.view(), &labels, 10);
        assert!(worst.abs() < 1e-12, "{worst}");
        // 0.8 falls in (0.7, 0.8], bin 7; 0.6 in (0.5, 0.6], bin 5.
        assert_eq!(bins[7].count, 10);
        assert_eq!(bins[5].count, 5);
        close(bins[7].accuracy, 0.8);
        close(bins[5].confidence, 0.6);
        assert_eq!(bins.iter().map(|b| b.count).sum::<usize>(), 15);
        assert_eq!(bins[0].count, 0);
        assert_eq!((bins[0].confidence, bins[0].accuracy), (0.0, 0.0));
        close(bins[9].lower, 0.9);
        close(bins[9].upper, 1.0);
    }

    #[test]
    fn ece_by_hand() {
        // Two bins (0, 0.5], (0.5, 1]:
        //   bin 1: confidences 0.9 (right), 0.7 (wrong), 1.0 (right): conf = 2.6/3, acc = 2/3
        //   bin 0: confidence 0.5 (tie at 0.5 → class 0, label 0: right): conf 0.5, acc 1
        // ECE = 3/4·|2/3 − 2.6/3| + 1/4·|1 − 0.5| = 3/4·0.2 + 0.125 = 0.15 + 0.125 = 0.275
        let probs = array![[0.9, 0.1], [0.3, 0.7], [0.0, 1.0], [0.5, 0.5]];
        let (e, bins) = ece(probs.view(), &[0, 0, 1, 0], 2);
        close(e, 0.275);
        // MCE = max(|2/3 − 2.6/3|, |1 − 0.5|) = max(0.2, 0.5) = 0.5: the single example of bin 0
        // weighs as much as the three of bin 1.
        close(mce(probs.view(), &[0, 0, 1, 0], 2), 0.5);
        assert_eq!((bins[0].count, bins[1].count), (1, 3));
        close(bins[1].confidence, 2.6 / 3.0);
        close(bins[1].accuracy, 2.0 / 3.0);
        close(bins[0].accuracy, 1.0);
    }

    #[test]
    fn confident_and_right_is_perfectly_calibrated() {
        // Confidence 1 on the right class everywhere: acc = conf = 1 in the last bin.
        let probs = array![[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]];
        let c = calibration(probs.view(), &[0, 2], 15);
        assert_eq!((c.ece, c.mce), (0.0, 0.0));
        assert_eq!(c.bins[14].count, 2);
        // Confidence 1 and wrong: acc 0, conf 1, so ECE = MCE = 1.
        let c = calibration(probs.view(), &[1, 0], 15);
        assert_eq!((c.ece, c.mce), (1.0, 1.0));
    }

    #[test]
    fn one_bin_ece_equals_mce() {
        // One bin holds everything: predictions 0, 0, 1 with confidences 0.9, 0.6, 0.7 and
        // labels 0, 1, 1, so acc = 2/3, conf = 2.2/3 and ECE = MCE = |2/3 − 2.2/3| = 0.2/3.
        let probs = array![[0.9, 0.1], [0.6, 0.4], [0.3, 0.7]];
        let c = calibration(probs.view(), &[0, 1, 1], 1);
        close(c.ece, 0.2 / 3.0);
        close(c.mce, 0.2 / 3.0);
        assert_eq!(c.bins.len(), 1);
        assert_eq!((c.bins[0].lower, c.bins[0].upper), (0.0, 1.0));
    }

    #[test]
    fn a_single_class_is_always_right_and_calibrated() {
        // K = 1: every confidence is 1 and every prediction the only label.
        let probs = Array2::from_elem((4, 1), 1.0);
        let c = calibration(probs.view(), &[0; 4], 10);
        assert_eq!((c.ece, c.mce), (0.0, 0.0));
        assert_eq!(accuracy(probs.view(), &[0; 4]), 1.0);
        assert_eq!(brier(probs.view(), &[0; 4]), 0.0);
    }

    #[test]
    fn calibration_without_examples_is_nan() {
        let probs = Array2::<f64>::zeros((0, 3));
        let c = calibration(probs.view(), &[], 10);
        assert!(c.ece.is_nan() && c.mce.is_nan(), "{c:?}");
        assert!(c.bins.iter().all(|b| b.count == 0));
    }

    #[test]
    fn ece_bin_edges_are_right_closed() {
        // Guo et al.: bin b holds (b/M, (b+1)/M]: 0.3 lands in (0.2, 0.3], the next f64 above it
        // in (0.3, 0.4]; 1.0 in the last bin; 0 in the first.
        assert_eq!(bin_of(0.3, 10), 2);
        assert_eq!(bin_of(0.7, 10), 6);
        assert_eq!(bin_of(0.30000000000000004, 10), 3);
        assert_eq!(bin_of(1.0, 10), 9);
        assert_eq!(bin_of(0.0, 10), 0);
        assert_eq!(bin_of(0.05, 10), 0);
        assert_eq!(bin_of(0.5, 1), 0);
        assert_eq!(bin_of(1.0 / 3.0, 3), 0);
        assert_eq!(bin_of(2.0 / 3.0, 3), 1);
    }

    #[test]
    #[should_panic(expected = "label 3 out of range for 3 classes")]
    fn out_of_range_label_panics() {
        let probs = array![[0.2, 0.3, 0.5]];
        nll(probs.view(), &[3]);
    }
}
