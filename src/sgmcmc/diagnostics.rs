//! Convergence diagnostics of several chains of one scalar: effective sample size and
//! rank-normalised split-R̂ (Vehtari, Gelman, Simpson, Carpenter & Bürkner 2021, "Rank-
//! normalization, folding, and localization: an improved R̂ for assessing convergence of MCMC",
//! Bayesian Analysis 16(2)), with the estimators of Stan and ArviZ.
//!
//! Input: M chains of one scalar summary of the sampler's state (a sample's test log-likelihood,
//! the weight norm, one weight), as anything that is `AsRef<[f64]>`. Chains of different lengths
//! are cut to the shortest. Results are NaN when a statistic is undefined: fewer than 4 draws per
//! chain, or no variation at all.
//!
//! # Notation
//! After splitting, there are M chains θ_{m,i} of N draws each (i = 1..N), S = MN draws in all:
//! ```text
//! θ̄_m = (1/N) Σ_i θ_{m,i}      s²_m = 1/(N−1) Σ_i (θ_{m,i} − θ̄_m)²      θ̄ = (1/M) Σ_m θ̄_m
//! W = (1/M) Σ_m s²_m           B = N/(M−1) Σ_m (θ̄_m − θ̄)²
//! var⁺ = (N−1)/N · W + B/N     R̂ = √(var⁺/W)
//! ```
//! **Split**: each chain's first and last ⌊n/2⌋ draws become two chains (the middle draw of an
//! odd chain is dropped), so a trend within a chain shows up as disagreement between chains.
//! **Rank normalisation**: pool all S draws, give each its rank r (average ranks for ties), and
//! replace it by z = Φ⁻¹((r − 3/8)/(S + 1/4)) (Blom's offset; Φ⁻¹ the standard normal quantile,
//! from `statrs`). This makes R̂ and ESS well defined for heavy tails and invariant to monotone
//! transformations. **Folding**: ζ = |θ − median(θ)|, which turns differences in scale into
//! differences in location.
//!
//! - [`split_rhat`]: R̂ of the split chains on the raw values (Gelman et al., BDA3, eq. 11.4).
//! - [`rhat`]: the recommended R̂ = max(R̂ of the rank-normalised split chains ("bulk"),
//!   R̂ of the rank-normalised folded split chains ("tail")); Vehtari et al. advise R̂ < 1.01.
//! - [`ess_mean`], [`ess_bulk`], [`ess_tail`]: ESS = S/τ̂ of the split chains, raw,
//!   rank-normalised, and min over the indicators I(θ ≤ q₀.₀₅), I(θ ≤ q₀.₉₅).
//!
//! # ESS by Geyer's initial monotone sequence
//! With the biased autocovariance of chain m at lag t, γ̂_{m,t} = (1/N) Σ_{i=1}^{N−t}
//! (θ_{m,i} − θ̄_m)(θ_{m,i+t} − θ̄_m), the multi-chain autocorrelation is
//! ```text
//! ρ̂_t = 1 − (W − (1/M) Σ_m γ̂_{m,t}) / var⁺            (ρ̂_0 = 1)
//! ```
//! Sums of adjacent pairs P_k = ρ̂_{2k} + ρ̂_{2k+1} are positive and decreasing for a reversible
//! chain (Geyer 1992, "Practical Markov chain Monte Carlo", Statistical Science 7): the sum runs
//! while P_k > 0 (the *initial positive* sequence; pairs are computed while t < N − 3), each P_k is
//! then capped by its predecessor (the *initial monotone* sequence), and with K the last
//! pair kept,
//! ```text
//! τ̂ = −1 + 2 Σ_{t ≤ 2K+1} ρ̂_t + ρ̂_{2K+2}⁺,   τ̂ ≥ 1/log₁₀(S),   ESS = S/τ̂
//! ```
//! where ρ̂_{2K+2}⁺ is the next even-lag autocorrelation if positive (Stan's "improved estimation"
//! of the truncated tail). For iid draws ESS ≈ S (it may exceed S for antithetic chains; the floor
//! on τ̂ bounds it by S·log₁₀ S); for an AR(1) chain with coefficient ρ, ESS ≈ S(1 − ρ)/(1 + ρ).
//! Autocovariances are computed directly up to the truncation lag, O(S·τ̂) work.

use statrs::distribution::{ContinuousCDF, Normal};

/// Summary diagnostics of one scalar over several chains.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChainSummary {
    /// Number of chains (before splitting).
    pub chains: usize,
    /// Draws per chain used (the shortest chain's length).
    pub draws: usize,
    /// Mean of all draws used.
    pub mean: f64,
    /// Standard deviation of all draws used (denominator S − 1).
    pub sd: f64,
    /// [`rhat`].
    pub rhat: f64,
    /// [`ess_bulk`].
    pub ess_bulk: f64,
    /// [`ess_tail`].
    pub ess_tail: f64,
}

/// Mean, sd, R̂, bulk- and tail-ESS of `chains`.
pub fn summarize<C: AsRef<[f64]>>(chains: &[C]) -> ChainSummary {
    let c = equal_length(chains);
    let all: Vec<f64> = c.iter().flatten().copied().collect();
    let s = all.len() as f64;
    let mean = all.iter().sum::<f64>() / s;
    let sd = (all.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (s - 1.0)).sqrt();
    ChainSummary {
        chains: c.len(),
        draws: c.first().map_or(0, Vec::len),
        mean,
        sd,
        rhat: rhat(chains),
        ess_bulk: ess_bulk(chains),
        ess_tail: ess_tail(chains),
    }
}

/// Split-R̂ on the raw values (no rank normalisation): √(var⁺/W) of the split chains.
pub fn split_rhat<C: AsRef<[f64]>>(chains: &[C]) -> f64 {
    rhat_of(&split(&equal_length(chains)))
}

/// Rank-normalised split-R̂ (Vehtari et al. 2021): the larger of the bulk R̂ (rank-normalised
/// split chains) and the tail R̂ (the same after folding about the median).
pub fn rhat<C: AsRef<[f64]>>(chains: &[C]) -> f64 {
    let s = split(&equal_length(chains));
    if s.is_empty() {
        return f64::NAN;
    }
    let bulk = rhat_of(&rank_normalize(&s));
    let median = quantile(&s.concat(), 0.5);
    let folded: Vec<Vec<f64>> = s
        .iter()
        .map(|c| c.iter().map(|x| (x - median).abs()).collect())
        .collect();
    let tail = rhat_of(&rank_normalize(&folded));
    bulk.max(tail)
}

/// ESS of the mean: Geyer's initial monotone sequence on the split chains' raw values.
pub fn ess_mean<C: AsRef<[f64]>>(chains: &[C]) -> f64 {
    ess_of(&split(&equal_length(chains)))
}

/// Bulk-ESS: ESS of the rank-normalised split chains.
pub fn ess_bulk<C: AsRef<[f64]>>(chains: &[C]) -> f64 {
    let s = split(&equal_length(chains));
    if s.is_empty() {
        return f64::NAN;
    }
    ess_of(&rank_normalize(&s))
}

/// Tail-ESS: the smaller ESS of the split-chain indicators I(θ ≤ q₀.₀₅) and I(θ ≤ q₀.₉₅), with
/// q_p the pooled sample quantile (linear interpolation, numpy's default).
pub fn ess_tail<C: AsRef<[f64]>>(chains: &[C]) -> f64 {
    let s = split(&equal_length(chains));
    if s.is_empty() {
        return f64::NAN;
    }
    let all = s.concat();
    [0.05, 0.95]
        .into_iter()
        .map(|p| {
            let q = quantile(&all, p);
            let ind: Vec<Vec<f64>> = s
                .iter()
                .map(|c| c.iter().map(|&x| f64::from(u8::from(x <= q))).collect())
                .collect();
            ess_of(&ind)
        })
        .fold(f64::INFINITY, f64::min)
}

/// The chains cut to the shortest length.
fn equal_length<C: AsRef<[f64]>>(chains: &[C]) -> Vec<Vec<f64>> {
    let n = chains.iter().map(|c| c.as_ref().len()).min().unwrap_or(0);
    chains.iter().map(|c| c.as_ref()[..n].to_vec()).collect()
}

/// Each chain's first and last ⌊n/2⌋ draws; empty if a half would have fewer than 2 draws.
fn split(chains: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let n = chains.first().map_or(0, Vec::len);
    let half = n / 2;
    if chains.is_empty() || half < 2 {
        return Vec::new();
    }
    chains
        .iter()
        .flat_map(|c| [c[..half].to_vec(), c[n - half..].to_vec()])
        .collect()
}

/// z = Φ⁻¹((r − 3/8)/(S + 1/4)) of the pooled average ranks r, in the chains' shape.
fn rank_normalize(chains: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let all = chains.concat();
    let s = all.len();
    let mut order: Vec<usize> = (0..s).collect();
    order.sort_by(|&a, &b| all[a].total_cmp(&all[b]));
    let mut rank = vec![0.0; s];
    let mut i = 0;
    while i < s {
        let mut j = i;
        while j + 1 < s && all[order[j + 1]] == all[order[i]] {
            j += 1;
        }
        // Ranks i + 1 ..= j + 1 are tied: each gets their average.
        let average = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            rank[k] = average;
        }
        i = j + 1;
    }
    let normal = Normal::standard();
    let z: Vec<f64> = rank
        .iter()
        .map(|r| normal.inverse_cdf((r - 0.375) / (s as f64 + 0.25)))
        .collect();
    z.chunks(chains[0].len()).map(<[f64]>::to_vec).collect()
}

/// Sample quantile with linear interpolation between order statistics (Hyndman & Fan type 7).
fn quantile(values: &[f64], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let h = (v.len() - 1) as f64 * p;
    let (lo, frac) = (h.floor() as usize, h - h.floor());
    if lo + 1 < v.len() {
        v[lo] + frac * (v[lo + 1] - v[lo])
    } else {
        v[lo]
    }
}

/// Chain means, W and var⁺ of equal-length chains (N ≥ 2).
struct Variances {
    means: Vec<f64>,
    w: f64,
    var_plus: f64,
}

fn variances(chains: &[Vec<f64>]) -> Variances {
    let m = chains.len() as f64;
    let n = chains[0].len() as f64;
    let means: Vec<f64> = chains.iter().map(|c| c.iter().sum::<f64>() / n).collect();
    let w = chains
        .iter()
        .zip(&means)
        .map(|(c, mu)| c.iter().map(|x| (x - mu).powi(2)).sum::<f64>() / (n - 1.0))
        .sum::<f64>()
        / m;
    let grand = means.iter().sum::<f64>() / m;
    let between_over_n = if chains.len() > 1 {
        means.iter().map(|mu| (mu - grand).powi(2)).sum::<f64>() / (m - 1.0)
    } else {
        0.0
    };
    Variances {
        means,
        w,
        var_plus: (n - 1.0) / n * w + between_over_n,
    }
}

/// √(var⁺/W); NaN when W = 0 or there are no chains.
fn rhat_of(chains: &[Vec<f64>]) -> f64 {
    if chains.is_empty() || chains[0].len() < 2 {
        return f64::NAN;
    }
    let v = variances(chains);
    if v.w > 0.0 {
        (v.var_plus / v.w).sqrt()
    } else {
        f64::NAN
    }
}

/// ESS = S/τ̂ by Geyer's initial monotone sequence (module documentation); S for chains without
/// any variation (as ArviZ), NaN for chains shorter than 2.
fn ess_of(chains: &[Vec<f64>]) -> f64 {
    if chains.is_empty() || chains[0].len() < 2 {
        return f64::NAN;
    }
    let n = chains[0].len();
    let s = (chains.len() * n) as f64;
    let (lo, hi) = chains
        .iter()
        .flatten()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        });
    if hi - lo < 1e-15 {
        return s;
    }
    let v = variances(chains);
    // The mean over chains of the biased autocovariance at lag t.
    let mean_acov = |t: usize| {
        chains
            .iter()
            .zip(&v.means)
            .map(|(c, mu)| {
                c[..n - t]
                    .iter()
                    .zip(&c[t..])
                    .map(|(a, b)| (a - mu) * (b - mu))
                    .sum::<f64>()
                    / n as f64
            })
            .sum::<f64>()
            / chains.len() as f64
    };
    let rho = |t: usize| 1.0 - (v.w - mean_acov(t)) / v.var_plus;
    // ρ̂_0 .. ρ̂_{n+1}; lags not reached stay 0.
    let mut rho_hat = vec![0.0; n + 2];
    rho_hat[0] = 1.0;
    let (mut even, mut odd) = (1.0, rho(1));
    rho_hat[1] = odd;
    // Initial positive sequence: pairs (t + 1, t + 2) for t = 1, 3, … while t < N − 3.
    let mut t = 1;
    while t + 3 < n && even + odd > 0.0 {
        even = rho(t + 1);
        odd = rho(t + 2);
        if even + odd >= 0.0 {
            rho_hat[t + 1] = even;
            rho_hat[t + 2] = odd;
        }
        t += 2;
    }
    // The last lag summed in full is max_t = t − 2 (−1 when no pair was examined).
    let kept = t - 1; // max_t + 1: the number of leading lags summed
    if even > 0.0 {
        rho_hat[kept] = even;
    }
    // Initial monotone sequence: no pair may exceed the one before it.
    let mut t = 1;
    while t + 2 < kept {
        if rho_hat[t + 1] + rho_hat[t + 2] > rho_hat[t - 1] + rho_hat[t] {
            rho_hat[t + 1] = (rho_hat[t - 1] + rho_hat[t]) / 2.0;
            rho_hat[t + 2] = rho_hat[t + 1];
        }
        t += 2;
    }
    let tau = -1.0 + 2.0 * rho_hat[..kept].iter().sum::<f64>() + rho_hat[kept];
    let ess = s / tau.max(1.0 / s.log10());
    if rho_hat.iter().any(|r| r.is_nan()) {
        f64::NAN
    } else {
        ess
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::noise::NormalStream;

    /// `m` chains of `n` iid N(0, 1) draws (chain k is step k of a fixed stream).
    fn iid(m: usize, n: usize, key: u64) -> Vec<Vec<f64>> {
        let s = NormalStream::new(key);
        (0..m as u64)
            .map(|k| (0..n as u64).map(|i| f64::from(s.normal(k, i))).collect())
            .collect()
    }

    fn close(got: f64, want: f64, tol: f64, what: &str) {
        assert!((got - want).abs() <= tol, "{what}: got {got}, want {want}");
    }

    #[test]
    fn split_rhat_by_hand() {
        // Chains (1, 2, 3, 4) and (2, 3, 4, 5) split into (1, 2), (3, 4), (2, 3), (4, 5): N = 2,
        // M = 4; means 1.5, 3.5, 2.5, 4.5 (grand mean 3); each s² = 0.5, so W = 0.5;
        // B = N/(M − 1)·Σ(θ̄_m − 3)² = (2/3)·(2.25 + 0.25 + 0.25 + 2.25) = 10/3;
        // var⁺ = ½·0.5 + (10/3)/2 = 23/12;  R̂ = √(var⁺/W) = √(23/6) = 1.9578900207451218.
        let chains = [[1.0, 2.0, 3.0, 4.0], [2.0, 3.0, 4.0, 5.0]];
        close(
            split_rhat(&chains),
            1.957_890_020_745_121_8,
            1e-12,
            "split R̂",
        );
        // The rank-normalised R̂ of the same chains, as ArviZ 0.22 computes it
        // (`az.rhat(x, method="rank")`).
        close(rhat(&chains), 1.888_500_167_390_613_7, 1e-9, "rank R̂");
    }

    #[test]
    fn ess_by_hand() {
        // One chain (2, 4, 3, 5, 4, 1, 3, 2, 4, 2), split into (2, 4, 3, 5, 4) and (1, 3, 2, 4, 2):
        // N = 5, means 3.6 and 2.4, s² = 5.2/4 = 1.3 each, so W = 1.3; B/N = var(3.6, 2.4) = 0.72;
        // var⁺ = 0.8·1.3 + 0.72 = 1.76.
        // Biased autocovariances at lag 1: (−1.16/5, −2.36/5) = (−0.232, −0.472), mean −0.352;
        // at lag 2: (1.28/5, 1.68/5) = (0.256, 0.336), mean 0.296; lag 3: mean −0.456.
        // ρ̂₁ = 1 − (1.3 + 0.352)/1.76 = 0.0613636;  ρ̂₂ = 1 − (1.3 − 0.296)/1.76 = 0.4295455;
        // ρ̂₃ = 1 − (1.3 + 0.456)/1.76 = 0.0022727.  The first pair (ρ̂₂, ρ̂₃) is examined
        // (t = 1 < N − 3) and kept; the sum stops there, with ρ̂₂ > 0 added for the tail:
        // τ̂ = −1 + 2(ρ̂₀ + ρ̂₁) + ρ̂₂ = −1 + 2·1.0613636 + 0.4295455 = 1.5522727;
        // ESS = 10/τ̂ = 6.4421669 (ArviZ 0.22: 6.4421669106881385).
        let chain = [[2.0, 4.0, 3.0, 5.0, 4.0, 1.0, 3.0, 2.0, 4.0, 2.0]];
        close(ess_mean(&chain), 6.442_166_910_688_138_5, 1e-9, "ESS");
        // Bulk and tail ESS of the same chain, from ArviZ 0.22.
        close(ess_bulk(&chain), 6.201_080_558_751_95, 1e-9, "bulk ESS");
        close(ess_tail(&chain), 10.0, 1e-9, "tail ESS");
    }

    #[test]
    fn iid_chains_have_rhat_one_and_ess_n() {
        // 4 chains of 4,000 iid draws: R̂ − 1 is O(1/N) (its sampling spread here is about
        // 0.001), ESS ≈ S = 16,000; Geyer's truncated sum makes the estimate noisy (a relative
        // spread of several percent: 4 × 1,000 draws of this stream give a bulk-ESS of 3,388,
        // as ArviZ agrees), so the bound is 12%.
        let chains = iid(4, 4000, 1);
        let s = summarize(&chains);
        assert!((s.rhat - 1.0).abs() < 0.01, "R̂ = {}", s.rhat);
        assert!((split_rhat(&chains) - 1.0).abs() < 0.01);
        for (what, ess) in [
            ("bulk", s.ess_bulk),
            ("tail", s.ess_tail),
            ("mean", ess_mean(&chains)),
        ] {
            assert!((ess / 16_000.0 - 1.0).abs() < 0.12, "{what} ESS = {ess}");
        }
        assert_eq!((s.chains, s.draws), (4, 4000));
        assert!(s.mean.abs() < 0.04 && (s.sd - 1.0).abs() < 0.03, "{s:?}");
    }

    #[test]
    fn shifted_chains_have_rhat_above_1_1() {
        // Chain k shifted by 0.5k: the variance of the chain means, 0.417, is 40% of the
        // within-chain variance, so R̂ ≈ √(1 + 0.42) ≈ 1.19.
        let mut chains = iid(4, 1000, 2);
        for (k, c) in chains.iter_mut().enumerate() {
            c.iter_mut().for_each(|x| *x += 0.5 * k as f64);
        }
        let r = rhat(&chains);
        assert!(r > 1.1, "R̂ = {r}");
        assert!(split_rhat(&chains) > 1.1);
        // A trend within one chain shows up through the split: the first half of a single chain
        // at 0, the second at 1.
        let mut one = iid(1, 2000, 3);
        one[0][1000..].iter_mut().for_each(|x| *x += 1.0);
        assert!(rhat(&one) > 1.1, "R̂ of a trending chain = {}", rhat(&one));
    }

    #[test]
    fn rank_normalised_rhat_sees_a_difference_in_scale() {
        // Two chains with sd 1 and two with sd 2, same mean: the split-R̂ of raw values misses it
        // (≈ 1.001), the folded rank-normalised R̂ does not (ArviZ gives about 1.08 for such
        // chains).
        let mut chains = iid(4, 1000, 4);
        for c in &mut chains[2..] {
            c.iter_mut().for_each(|x| *x *= 2.0);
        }
        assert!(
            split_rhat(&chains) < 1.01,
            "split R̂ = {}",
            split_rhat(&chains)
        );
        assert!(rhat(&chains) > 1.03, "R̂ = {}", rhat(&chains));
    }

    #[test]
    fn ar1_chain_has_the_known_ess() {
        // x_t = ρx_{t−1} + √(1 − ρ²)ξ_t has integrated autocorrelation time (1 + ρ)/(1 − ρ), so
        // ESS ≈ S(1 − ρ)/(1 + ρ): 4 chains of 10,000 give 13,333 for ρ = 0.5 and 2,105 for ρ = 0.9.
        // The estimator's relative spread at these sizes is a few percent: 10% tolerance.
        for (rho, key) in [(0.5f64, 10u64), (0.9, 11)] {
            let noise = iid(4, 10_000, key);
            let chains: Vec<Vec<f64>> = noise
                .iter()
                .map(|xi| {
                    let mut x = xi[0];
                    let mut c = Vec::with_capacity(xi.len());
                    c.push(x);
                    for &e in &xi[1..] {
                        x = rho * x + (1.0 - rho * rho).sqrt() * e;
                        c.push(x);
                    }
                    c
                })
                .collect();
            let want = 40_000.0 * (1.0 - rho) / (1.0 + rho);
            for (what, ess) in [("mean", ess_mean(&chains)), ("bulk", ess_bulk(&chains))] {
                assert!(
                    (ess / want - 1.0).abs() < 0.1,
                    "ρ = {rho}: {what} ESS {ess}, want {want}"
                );
            }
            assert!((rhat(&chains) - 1.0).abs() < 0.01);
        }
    }

    #[test]
    fn degenerate_input() {
        // Fewer than 4 draws per chain: undefined.
        assert!(rhat(&[[1.0, 2.0, 3.0]]).is_nan());
        assert!(ess_bulk(&[[1.0, 2.0, 3.0]]).is_nan());
        assert!(rhat::<Vec<f64>>(&[]).is_nan());
        // No variation: R̂ undefined, ESS = S (ArviZ's convention).
        let flat = [[3.0; 10], [3.0; 10]];
        assert!(rhat(&flat).is_nan());
        assert_eq!(ess_mean(&flat), 20.0);
        // Chains of different lengths are cut to the shortest.
        let uneven: Vec<Vec<f64>> = vec![vec![1.0, 2.0, 3.0, 4.0, 9.0], vec![2.0, 3.0, 4.0, 5.0]];
        close(
            split_rhat(&uneven),
            1.957_890_020_745_121_8,
            1e-12,
            "uneven",
        );
    }
}
