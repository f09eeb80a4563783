//! The few random draws the data layer needs, written out on top of the raw 64-bit ChaCha stream.
//!
//! `rand`'s own helpers (`random_range`, `SliceRandom::shuffle`, `StandardNormal`) may change
//! their algorithm between releases; splits and toy data sets are part of stored results, so the
//! exact algorithms are fixed here instead.

use rand::Rng as _;

use crate::rng::Rng;

/// A uniform integer in `0..bound` without bias, by Lemire's multiply-and-reject method
/// (D. Lemire, "Fast random integer generation in an interval", ACM TOMACS 2019): take the high
/// 64 bits of `u · bound` for a uniform 64-bit `u`, rejecting the `2⁶⁴ mod bound` low values
/// that would make some results more likely. Panics if `bound == 0`.
pub fn below(rng: &mut Rng, bound: u64) -> u64 {
    assert!(bound > 0, "below: the bound must be at least 1");
    let mut m = u128::from(rng.next_u64()) * u128::from(bound);
    if (m as u64) < bound {
        let threshold = bound.wrapping_neg() % bound;
        while (m as u64) < threshold {
            m = u128::from(rng.next_u64()) * u128::from(bound);
        }
    }
    (m >> 64) as u64
}

/// A uniform `f64` in `[0, 1)`: the top 53 bits of one 64-bit draw times 2⁻⁵³.
pub fn unit(rng: &mut Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A standard normal draw by the Box–Muller transform (Box & Muller 1958):
/// z = √(−2 ln u₁) · cos(2π u₂) with u₁ ∈ (0, 1] and u₂ ∈ [0, 1); the sine partner is discarded,
/// which keeps the stream position independent of call history.
pub fn normal(rng: &mut Rng) -> f64 {
    let u1 = 1.0 - unit(rng);
    let u2 = unit(rng);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Shuffles `items` in place by the Fisher–Yates algorithm (Durstenfeld's version, Knuth TAOCP
/// vol. 2, Algorithm P): for i = n−1 down to 1, swap item i with item j, j uniform in `0..=i`
/// drawn by [`below`]. Every permutation is equally likely.
pub fn shuffle<T>(items: &mut [T], rng: &mut Rng) {
    for i in (1..items.len()).rev() {
        let j = below(rng, i as u64 + 1) as usize;
        items.swap(i, j);
    }
}

/// A uniformly random permutation of `0..n`.
pub fn permutation(n: usize, rng: &mut Rng) -> Vec<usize> {
    let mut p: Vec<usize> = (0..n).collect();
    shuffle(&mut p, rng);
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::rng_from_seed;

    #[test]
    fn below_is_in_range_and_roughly_uniform() {
        // 60,000 draws over 6 values: each count is Binomial(60000, 1/6) with sd ≈ 91, so ±500
        // (5.5 sd) fails only if the method is biased.
        let mut rng = rng_from_seed(1);
        let mut counts = [0usize; 6];
        for _ in 0..60_000 {
            counts[below(&mut rng, 6) as usize] += 1;
        }
        for c in counts {
            assert!((c as i64 - 10_000).abs() < 500, "{counts:?}");
        }
        assert_eq!(below(&mut rng, 1), 0);
    }

    #[test]
    fn normal_has_mean_zero_and_unit_variance() {
        // 100,000 draws: the sample mean has sd 0.0032 and the sample variance sd ≈ 0.0045, so
        // the tolerances 0.015 and 0.02 are over 4 sd.
        let mut rng = rng_from_seed(2);
        let n = 100_000;
        let z: Vec<f64> = (0..n).map(|_| normal(&mut rng)).collect();
        let mean = z.iter().sum::<f64>() / n as f64;
        let var = z.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.015, "mean {mean}");
        assert!((var - 1.0).abs() < 0.02, "var {var}");
    }

    #[test]
    fn shuffle_is_a_permutation_and_reaches_every_order() {
        // All 6 orders of 3 items must occur in 6,000 shuffles (each has probability 1/6).
        let mut rng = rng_from_seed(3);
        let mut seen = std::collections::BTreeMap::new();
        for _ in 0..6_000 {
            *seen.entry(permutation(3, &mut rng)).or_insert(0usize) += 1;
        }
        assert_eq!(seen.len(), 6);
        for (p, c) in &seen {
            assert!((*c as i64 - 1_000).abs() < 150, "{p:?}: {c}");
        }
    }
}
