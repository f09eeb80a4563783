//! Out-of-distribution detection: how well a per-example score separates out-of-distribution
//! inputs (the positive class) from in-distribution ones. A higher score must mean "more likely
//! out of distribution", as the predictive entropy or the mutual information do.
//!
//! Each function takes the scores of the two groups, in any order. An empty group or a NaN score
//! gives NaN: neither has a meaningful ranking.

/// Whether the scores of either group are unusable.
fn unrankable(in_scores: &[f64], out_scores: &[f64]) -> bool {
    in_scores.is_empty()
        || out_scores.is_empty()
        || in_scores.iter().chain(out_scores).any(|s| s.is_nan())
}

/// Area under the ROC curve of detecting out-of-distribution inputs by score, as the
/// Mann–Whitney statistic (Hendrycks & Gimpel 2017): AUROC = P(s_out > s_in) + ½ P(s_out = s_in)
/// over all (in, out) pairs, ties counted half. 1 separates perfectly, 0.5 is chance (and the
/// value when every score is equal), 0 ranks every OOD input below every in-distribution one.
/// Exact: twice the pair count is an integer. O((m + n) log m).
pub fn auroc(in_scores: &[f64], out_scores: &[f64]) -> f64 {
    if unrankable(in_scores, out_scores) {
        return f64::NAN;
    }
    let mut sorted_in = in_scores.to_vec();
    sorted_in.sort_unstable_by(f64::total_cmp);
    // 2·#(s_out > s_in) + #(s_out = s_in), summed over out-of-distribution scores.
    let twice_wins: u128 = out_scores
        .iter()
        .map(|&s| {
            let below = sorted_in.partition_point(|&x| x < s);
            let not_above = sorted_in.partition_point(|&x| x <= s);
            (below + not_above) as u128
        })
        .sum();
    twice_wins as f64 / (2.0 * in_scores.len() as f64 * out_scores.len() as f64)
}

/// Area under the precision–recall curve with out-of-distribution inputs as the positive class
/// (Hendrycks & Gimpel 2017), as average precision AP = Σ_n (R_n − R_{n−1}) P_n: inputs with score
/// ≥ t are flagged, t running down the distinct score values, so tied scores enter together
/// (R_n, P_n: recall and precision at the n-th threshold, R_0 = 0). 1 separates perfectly; with
/// every score equal AP is the fraction of OOD inputs, n_out/(n_in + n_out).
pub fn aupr(in_scores: &[f64], out_scores: &[f64]) -> f64 {
    if unrankable(in_scores, out_scores) {
        return f64::NAN;
    }
    let mut scored: Vec<(f64, bool)> = in_scores
        .iter()
        .map(|&s| (s, false))
        .chain(out_scores.iter().map(|&s| (s, true)))
        .collect();
    scored.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
    let n_out = out_scores.len() as f64;
    let (mut flagged, mut true_positives) = (0usize, 0usize);
    let mut ap = 0.0;
    for tied in scored.chunk_by(|a, b| a.0 == b.0) {
        let new_positives = tied.iter().filter(|(_, is_out)| *is_out).count();
        flagged += tied.len();
        true_positives += new_positives;
        let precision = true_positives as f64 / flagged as f64;
        ap += new_positives as f64 / n_out * precision;
    }
    ap
}

/// False positive rate at 95 % true positive rate (Liang et al. 2018): the fraction of
/// in-distribution inputs flagged at the threshold that flags at least 95 % of out-of-distribution
/// ones. An input is flagged when its score is ≥ t, and t is the largest such threshold, the
/// ⌈0.95·n_out⌉-th largest OOD score; in-distribution scores equal to t count as false positives.
/// No interpolation between thresholds. 0 is best.
pub fn fpr_at_95_tpr(in_scores: &[f64], out_scores: &[f64]) -> f64 {
    if unrankable(in_scores, out_scores) {
        return f64::NAN;
    }
    // ⌈0.95·n⌉ in integers: 0.95 has no exact f64, and 0.95·20 must give 19, not 20.
    let k = (95 * out_scores.len()).div_ceil(100);
    let mut sorted_out = out_scores.to_vec();
    let (_, &mut threshold, _) = sorted_out.select_nth_unstable_by(k - 1, |a, b| b.total_cmp(a));
    let false_positives = in_scores.iter().filter(|&&s| s >= threshold).count();
    false_positives as f64 / in_scores.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::close;

    #[test]
    fn auroc_counts_ties_half() {
        // in = [0.1, 0.5, 0.5], out = [0.5, 0.9]; six pairs:
        //   out 0.5: beats 0.1 (1), ties both 0.5 (½ + ½) → 2
        //   out 0.9: beats all three → 3
        // AUROC = 5/6
        let (inn, out) = ([0.1, 0.5, 0.5], [0.5, 0.9]);
        close(auroc(&inn, &out), 5.0 / 6.0);
        // Swapping the groups reverses every comparison: 1 − 5/6.
        close(auroc(&out, &inn), 1.0 / 6.0);
    }

    #[test]
    fn auroc_extremes() {
        assert_eq!(auroc(&[0.3; 4], &[0.3; 7]), 0.5);
        assert_eq!(auroc(&[0.1, 0.2], &[0.3, 0.4, 0.5]), 1.0);
        assert_eq!(auroc(&[0.3, 0.4, 0.5], &[0.1, 0.2]), 0.0);
    }

    #[test]
    fn aupr_by_hand() {
        // in = [0.1, 0.3, 0.6], out = [0.2, 0.6, 0.9]; thresholds down the distinct scores:
        //   t = 0.9: TP 1, FP 0 → R = 1/3, P = 1       → (1/3)·1
        //   t = 0.6: TP 2, FP 1 (tie enters together) → R = 2/3, P = 2/3 → (1/3)·(2/3)
        //   t = 0.3: TP 2, FP 2 → R unchanged        → 0
        //   t = 0.2: TP 3, FP 2 → R = 1, P = 3/5     → (1/3)·(3/5)
        //   t = 0.1: TP 3, FP 3 → R unchanged        → 0
        // AP = 1/3 + 2/9 + 1/5 = (15 + 10 + 9)/45 = 34/45
        close(aupr(&[0.1, 0.3, 0.6], &[0.2, 0.6, 0.9]), 34.0 / 45.0);
    }

    #[test]
    fn aupr_extremes() {
        assert_eq!(aupr(&[0.1, 0.2], &[0.3, 0.4]), 1.0);
        // All scores equal: one threshold, R = 1, P = 1/3 (one OOD input among three).
        close(aupr(&[0.5, 0.5], &[0.5]), 1.0 / 3.0);
        // All OOD below all in: R jumps only at the last two thresholds, where P = 1/3 and 2/4
        // (in = [3, 4], out = [1, 2]): AP = ½·(1/3) + ½·(2/4) = 5/12.
        close(aupr(&[3.0, 4.0], &[1.0, 2.0]), 5.0 / 12.0);
    }

    #[test]
    fn fpr_at_95_tpr_by_hand() {
        // 20 OOD scores 1, 2, …, 20: ⌈0.95·20⌉ = 19 must be flagged, so t = the 19th largest = 2.
        // In-distribution [0.5, 1.5, 2, 2.5, 3]: 2 (a tie with t), 2.5 and 3 are flagged → 3/5.
        let out: Vec<f64> = (1..=20).map(f64::from).collect();
        close(fpr_at_95_tpr(&[0.5, 1.5, 2.0, 2.5, 3.0], &out), 0.6);
        // Only the lowest OOD score may be missed: in = [0.5, 1.5] is all below t = 2 → 0.
        assert_eq!(fpr_at_95_tpr(&[0.5, 1.5], &out), 0.0);
        // Three OOD scores: ⌈2.85⌉ = 3, so t = 0.2, the smallest; in [0.1, 0.3, 0.6] → 2/3.
        close(fpr_at_95_tpr(&[0.1, 0.3, 0.6], &[0.2, 0.6, 0.9]), 2.0 / 3.0);
    }

    #[test]
    fn a_missing_group_or_nan_score_is_nan() {
        for f in [auroc, aupr, fpr_at_95_tpr] {
            assert!(f(&[], &[0.5]).is_nan());
            assert!(f(&[0.5], &[]).is_nan());
            assert!(f(&[0.5, f64::NAN], &[0.7]).is_nan());
        }
    }
}
