//! Uncertainty scores of categorical predictives (n×K probabilities, rows = examples): the
//! predictive entropy and its epistemic part, the mutual information between label and weights.
//! Per example, either is a score for out-of-distribution detection ([`super::ood`]).

use ndarray::ArrayView2;

/// Rounding allowance of [`mutual_information`], in nats. The rounding of H(p̄) (a mean of S
/// probabilities, a sum of K terms) and of a mean of S entropies is at worst about
/// 2(S + K)·ε·(ln K + 1) ≈ 2e-10 for S = K = 10⁴, so anything more negative than 1e-9 is not
/// rounding.
const MI_ROUNDING_TOLERANCE: f64 = 1e-9;

/// Shannon entropy −Σ_k p_k ln p_k of one categorical distribution, in nats, with 0·ln 0 = 0 (the
/// limit). A negative or NaN probability gives NaN, so invalid input shows.
pub fn entropy(p: impl IntoIterator<Item = f64>) -> f64 {
    // Folding from +0 (not negating a sum) keeps a one-hot row at 0 rather than −0.
    p.into_iter()
        .fold(0.0, |h, p| if p == 0.0 { h } else { h - p * p.ln() })
}

/// Per-example predictive entropy H(p_i) = −Σ_k p_ik ln p_ik in nats (Shannon 1948), 0·ln 0 = 0,
/// between 0 (one-hot) and ln K (uniform). Higher means less certain, the direction
/// out-of-distribution detection metrics ([`super::auroc`], [`super::aupr`],
/// [`super::fpr_at_95_tpr`]) expect of their scores.
pub fn entropies(probs: ArrayView2<f64>) -> Vec<f64> {
    probs
        .rows()
        .into_iter()
        .map(|row| entropy(row.iter().copied()))
        .collect()
}

/// Mean predictive entropy (1/n) Σ_i H(p_i), H(p) = −Σ_k p_k ln p_k in nats with 0·ln 0 = 0, of
/// the averaged predictive p̄ of an ensemble or sampler (the total uncertainty of Depeweg et al.
/// 2018). ln K for the uniform distribution; NaN without examples.
pub fn predictive_entropy(probs: ArrayView2<f64>) -> f64 {
    let h = entropies(probs);
    h.iter().sum::<f64>() / h.len() as f64
}

/// Mutual information between the label and the weights, the BALD score (Houlsby et al. 2011;
/// Gal 2016): per example I_i = H(p̄_i) − (1/S) Σ_s H(p_si), with p̄_i = (1/S) Σ_s p_si,
/// the part of the predictive entropy that comes from disagreement between samples. Returns the
/// mean over examples (NaN without examples) and the per-example values.
///
/// `mean_probs` is p̄ (n×K) and `mean_sample_entropy[i]` is (1/S) Σ_s H(p_si), which a streaming
/// predictive accumulates sample by sample (with [`entropies`]) without keeping the samples.
///
/// I ≥ 0 exactly (entropy is concave, Jensen's inequality), so a value in [−1e-9, 0) is rounding
/// and is set to 0. A more negative one is kept as it is: it means the two inputs do not belong
/// together, and clamping it would read as "no epistemic uncertainty".
pub fn mutual_information(
    mean_probs: ArrayView2<f64>,
    mean_sample_entropy: &[f64],
) -> (f64, Vec<f64>) {
    assert_eq!(
        mean_sample_entropy.len(),
        mean_probs.nrows(),
        "mutual information: {} mean sample entropies for {} rows of probabilities",
        mean_sample_entropy.len(),
        mean_probs.nrows(),
    );
    let per_example: Vec<f64> = entropies(mean_probs)
        .into_iter()
        .zip(mean_sample_entropy)
        .map(|(total, &aleatoric)| {
            let mi = total - aleatoric;
            if (-MI_ROUNDING_TOLERANCE..0.0).contains(&mi) {
                0.0
            } else {
                mi
            }
        })
        .collect();
    let mean = per_example.iter().sum::<f64>() / per_example.len() as f64;
    (mean, per_example)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::close;
    use ndarray::{Array2, array};
    use std::f64::consts::LN_2;

    #[test]
    fn entropy_of_uniform_is_ln_k_and_of_one_hot_zero() {
        for k in [1, 2, 3, 10] {
            let uniform = Array2::from_elem((2, k), 1.0 / k as f64);
            for h in entropies(uniform.view()) {
                close(h, (k as f64).ln());
            }
        }
        // 0·ln 0 = 0: a one-hot row has entropy exactly 0, not NaN.
        let one_hot = array![[0.0, 1.0, 0.0]];
        let h = entropies(one_hot.view());
        assert!(h[0] == 0.0 && h[0].is_sign_positive(), "{h:?}");
    }

    #[test]
    fn entropy_by_hand() {
        // (½, ¼, ¼): −(½ ln ½ + 2·¼ ln ¼) = ½ ln 2 + ½·2 ln 2 = 1.5 ln 2 = 1.0397207708399179
        // (½, ½, 0): ln 2 = 0.6931471805599453; mean = 1.25 ln 2 = 0.8664339756999316
        let probs = array![[0.5, 0.25, 0.25], [0.5, 0.5, 0.0]];
        let h = entropies(probs.view());
        close(h[0], 1.039_720_770_839_917_9);
        close(h[1], LN_2);
        close(predictive_entropy(probs.view()), 0.866_433_975_699_931_6);
        assert!(predictive_entropy(Array2::<f64>::zeros((0, 3)).view()).is_nan());
    }

    /// p̄ and (1/S) Σ_s H(p_s) as a streaming predictive would accumulate them.
    fn average(samples: &[Array2<f64>]) -> (Array2<f64>, Vec<f64>) {
        let s = samples.len() as f64;
        let mean_probs = samples
            .iter()
            .fold(Array2::zeros(samples[0].dim()), |acc, p| acc + p)
            / s;
        let mut mean_entropy = vec![0.0; samples[0].nrows()];
        for p in samples {
            for (m, h) in mean_entropy.iter_mut().zip(entropies(p.view())) {
                *m += h / s;
            }
        }
        (mean_probs, mean_entropy)
    }

    #[test]
    fn mutual_information_is_zero_when_samples_agree() {
        // Three identical samples: p̄ = p and H(p̄) = (1/3)·3·H(p), up to rounding of the mean
        // (≈ 1e-16), which the tolerance sets to 0.
        let p = array![[0.7, 0.2, 0.1], [0.3, 0.3, 0.4]];
        let (mean_probs, mean_entropy) = average(&[p.clone(), p.clone(), p]);
        let (mean, per_example) = mutual_information(mean_probs.view(), &mean_entropy);
        assert!(mean.abs() < 1e-15, "{mean}");
        assert!(
            per_example.iter().all(|mi| mi.abs() < 1e-15),
            "{per_example:?}"
        );
    }

    #[test]
    fn mutual_information_of_confident_disagreement_is_ln_2() {
        // Samples (1, 0) and (0, 1): p̄ = (½, ½), H(p̄) = ln 2, each H(p_s) = 0, so I = ln 2,
        // the most two classes allow. A second example on which both samples say (1, 0): I = 0.
        let a = array![[1.0, 0.0], [1.0, 0.0]];
        let b = array![[0.0, 1.0], [1.0, 0.0]];
        let (mean_probs, mean_entropy) = average(&[a, b]);
        let (mean, per_example) = mutual_information(mean_probs.view(), &mean_entropy);
        close(per_example[0], LN_2);
        close(per_example[1], 0.0);
        close(mean, LN_2 / 2.0);
    }

    #[test]
    fn only_rounding_is_clamped() {
        let uniform = array![[0.5, 0.5], [0.5, 0.5]];
        // H(p̄) = ln 2; a mean sample entropy 1e-13 above it is rounding → 0; 0.1 above it is not
        // and stays −0.1.
        let (_, mi) = mutual_information(uniform.view(), &[LN_2 + 1e-13, LN_2 + 0.1]);
        assert_eq!(mi[0], 0.0);
        close(mi[1], -0.1);
        let (mean, mi) = mutual_information(Array2::<f64>::zeros((0, 2)).view(), &[]);
        assert!(mean.is_nan() && mi.is_empty());
    }

    #[test]
    #[should_panic(expected = "1 mean sample entropies for 2 rows of probabilities")]
    fn mutual_information_checks_lengths() {
        let uniform = array![[0.5, 0.5], [0.5, 0.5]];
        mutual_information(uniform.view(), &[LN_2]);
    }
}
