//! Space-filling designs on the unit cube: grid, uniform random, Sobol (with a random digital
//! shift) and Latin hypercube. They know nothing of the objective; the optimiser draws from them.

use rand::RngExt;

use super::space::SearchSpace;
use crate::rng::Rng;

/// Largest dimension with built-in Sobol direction numbers.
pub const SOBOL_MAX_DIM: usize = 21;

/// Joe & Kuo (2008, "Constructing Sobol sequences with better two-dimensional projections", SIAM
/// J. Sci. Comput. 30, file new-joe-kuo-6.21201) for dimensions 2..=21: (s, a, m₁..mₛ), s the
/// degree of the primitive polynomial, a its inner coefficients, mᵢ the initial direction integers.
const JOE_KUO: [(u32, u32, &[u32]); SOBOL_MAX_DIM - 1] = [
    (1, 0, &[1]),
    (2, 1, &[1, 3]),
    (3, 1, &[1, 3, 1]),
    (3, 2, &[1, 1, 1]),
    (4, 1, &[1, 1, 3, 3]),
    (4, 4, &[1, 3, 5, 13]),
    (5, 2, &[1, 1, 5, 5, 17]),
    (5, 4, &[1, 1, 5, 5, 5]),
    (5, 7, &[1, 1, 7, 11, 19]),
    (5, 11, &[1, 1, 5, 1, 1]),
    (5, 13, &[1, 1, 1, 3, 11]),
    (5, 14, &[1, 3, 5, 5, 31]),
    (6, 1, &[1, 3, 3, 9, 7, 49]),
    (6, 13, &[1, 1, 1, 15, 21, 21]),
    (6, 16, &[1, 3, 1, 13, 27, 49]),
    (6, 19, &[1, 1, 1, 15, 7, 5]),
    (6, 22, &[1, 3, 1, 15, 13, 25]),
    (6, 25, &[1, 1, 5, 5, 19, 61]),
    (7, 1, &[1, 3, 7, 11, 23, 15, 103]),
    (7, 4, &[1, 3, 7, 13, 13, 15, 69]),
];

/// The Sobol sequence (Sobol' 1967) in base 2 with 32-bit direction numbers vⱼ,ₖ, randomised by
/// a digital shift: point i is xᵢ,ⱼ = (⊕ₖ bₖ(gray(i))·vⱼ,ₖ ⊕ shiftⱼ) / 2³², with gray(i) = i ⊕ (i ≫ 1).
/// A digital shift keeps the (t, m, s)-net structure of every block of 2ᵐ points (Owen 2003).
#[derive(Clone, Debug)]
pub struct Sobol {
    dirs: Vec<[u32; 32]>,
    shift: Vec<u32>,
}

impl Sobol {
    /// `dim` ≤ [`SOBOL_MAX_DIM`]; `shift = None` gives the unshifted sequence (starting at 0).
    pub fn new(dim: usize, shift: Option<&mut Rng>) -> Self {
        assert!(
            dim <= SOBOL_MAX_DIM,
            "Sobol directions are built in for at most 21 dimensions"
        );
        let mut dirs = Vec::with_capacity(dim);
        for j in 0..dim {
            let mut v = [0u32; 32];
            if j == 0 {
                for (k, vk) in v.iter_mut().enumerate() {
                    *vk = 1u32 << (31 - k);
                }
            } else {
                let (s, a, m) = JOE_KUO[j - 1];
                let s = s as usize;
                for k in 0..s.min(32) {
                    v[k] = m[k] << (31 - k);
                }
                for k in s..32 {
                    let mut x = v[k - s] ^ (v[k - s] >> s);
                    for i in 1..s {
                        if (a >> (s - 1 - i)) & 1 == 1 {
                            x ^= v[k - i];
                        }
                    }
                    v[k] = x;
                }
            }
            dirs.push(v);
        }
        let shift = match shift {
            Some(rng) => (0..dim).map(|_| rng.random::<u32>()).collect(),
            None => vec![0; dim],
        };
        Self { dirs, shift }
    }

    /// Writes point `index` of the sequence into `out` (len = dim).
    pub fn point(&self, index: u64, out: &mut [f64]) {
        let gray = (index ^ (index >> 1)) as u32;
        for (j, o) in out.iter_mut().enumerate() {
            let mut x = self.shift[j];
            let mut g = gray;
            let mut k = 0;
            while g != 0 {
                if g & 1 == 1 {
                    x ^= self.dirs[j][k];
                }
                g >>= 1;
                k += 1;
            }
            // Centre of the 2⁻³² cell, so that no coordinate is exactly 0 or 1.
            *o = (f64::from(x) + 0.5) / 4_294_967_296.0;
        }
    }
}

/// `n` points of the randomly shifted Sobol sequence (rows of length `dim`); above
/// [`SOBOL_MAX_DIM`] dimensions the remaining coordinates are uniform random.
pub fn sobol(n: usize, dim: usize, rng: &mut Rng) -> Vec<Vec<f64>> {
    let d = dim.min(SOBOL_MAX_DIM);
    let seq = Sobol::new(d, Some(rng));
    (0..n)
        .map(|i| {
            let mut p = vec![0.0; dim];
            seq.point(i as u64, &mut p[..d]);
            for v in &mut p[d..] {
                *v = rng.random::<f64>();
            }
            p
        })
        .collect()
}

/// `n` independent uniform points of [0,1]^dim.
pub fn random(n: usize, dim: usize, rng: &mut Rng) -> Vec<Vec<f64>> {
    (0..n)
        .map(|_| (0..dim).map(|_| rng.random::<f64>()).collect())
        .collect()
}

/// Latin hypercube sample (McKay, Beckman & Conover 1979): uᵢⱼ = (πⱼ(i) + Uᵢⱼ)/n with πⱼ an
/// independent random permutation per coordinate, so each coordinate has exactly one point in
/// each of the n strata. The best of `tries` samples by the maximin criterion (largest smallest
/// pairwise distance, Morris & Mitchell 1995) is returned.
pub fn lhs(n: usize, dim: usize, tries: usize, rng: &mut Rng) -> Vec<Vec<f64>> {
    let mut best: Vec<Vec<f64>> = Vec::new();
    let mut best_score = f64::NEG_INFINITY;
    let mut perm: Vec<usize> = (0..n).collect();
    for _ in 0..tries.max(1) {
        let mut pts = vec![vec![0.0; dim]; n];
        for j in 0..dim {
            for (i, p) in perm.iter_mut().enumerate() {
                *p = i;
            }
            for i in (1..n).rev() {
                let k = rng.random_range(0..=i);
                perm.swap(i, k);
            }
            for (p, &k) in pts.iter_mut().zip(&perm) {
                p[j] = (k as f64 + rng.random::<f64>()) / n as f64;
            }
        }
        let mut score = f64::INFINITY;
        for a in 0..n {
            for b in a + 1..n {
                let d2: f64 = pts[a]
                    .iter()
                    .zip(&pts[b])
                    .map(|(x, y)| (x - y) * (x - y))
                    .sum();
                score = score.min(d2);
            }
        }
        if score > best_score {
            best_score = score;
            best = pts;
        }
    }
    best
}

/// The full factorial grid of a space, in row-major order (the last parameter varies fastest).
/// Continuous parameters get `points_per_dim` levels (default: the largest m with
/// m^(number of continuous parameters) · (levels of the discrete ones) ≤ `budget`, at least 2);
/// integers all their values when there are at most `points_per_dim` of them (64 by default),
/// categoricals all choices.
pub fn grid(space: &SearchSpace, points_per_dim: Option<usize>, budget: usize) -> Vec<Vec<f64>> {
    let n_cont = space
        .params
        .iter()
        .filter(|(_, p)| {
            matches!(
                p,
                super::ParamSpec::Uniform { .. } | super::ParamSpec::LogUniform { .. }
            )
        })
        .count();
    let default_points = if n_cont == 0 {
        2
    } else {
        let discrete: usize = space
            .params
            .iter()
            .filter(|(_, p)| {
                !matches!(
                    p,
                    super::ParamSpec::Uniform { .. } | super::ParamSpec::LogUniform { .. }
                )
            })
            .map(|(_, p)| p.grid_levels(points_per_dim, 2).len())
            .product();
        let per = (budget.max(1) as f64 / discrete.max(1) as f64).powf(1.0 / n_cont as f64);
        let mut m = per.floor().max(2.0) as usize;
        // Guard against pow rounding just below an integer.
        while ((m + 1) as f64).powi(n_cont as i32) * discrete as f64 <= budget as f64 {
            m += 1;
        }
        m
    };
    let levels: Vec<Vec<Vec<f64>>> = space
        .params
        .iter()
        .map(|(_, p)| p.grid_levels(points_per_dim, default_points))
        .collect();
    let mut out = vec![Vec::with_capacity(space.dim())];
    for lv in &levels {
        let mut next = Vec::with_capacity(out.len() * lv.len());
        for prefix in &out {
            for l in lv {
                let mut p = prefix.clone();
                p.extend_from_slice(l);
                next.push(p);
            }
        }
        out = next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::rng_from_seed;
    use crate::tune::ParamSpec;

    #[test]
    fn sobol_unshifted_starts_like_the_reference() {
        // The first points of the Joe–Kuo sequence in 3-D: 0, (½,½,½), (¾,¼,¼), (¼,¾,¾),
        // (⅜,⅜,⅝) (centre offset 2⁻³³ removed).
        let s = Sobol::new(3, None);
        let mut p = [0.0; 3];
        let want = [
            [0.0, 0.0, 0.0],
            [0.5, 0.5, 0.5],
            [0.75, 0.25, 0.25],
            [0.25, 0.75, 0.75],
            [0.375, 0.375, 0.625],
        ];
        for (i, w) in want.iter().enumerate() {
            s.point(i as u64, &mut p);
            for j in 0..3 {
                assert!((p[j] - w[j]).abs() < 1e-9, "point {i}: {p:?}");
            }
        }
    }

    #[test]
    fn shifted_sobol_blocks_are_nets() {
        // Every block of 2^m points stratifies each coordinate into 2^m cells, and the first two
        // coordinates form a (0, m, 2)-net: one point in each 2^-k × 2^-(m-k) box.
        let mut rng = rng_from_seed(3);
        let m = 8;
        let pts = sobol(1 << m, SOBOL_MAX_DIM, &mut rng);
        for j in 0..SOBOL_MAX_DIM {
            let mut seen = vec![false; 1 << m];
            for p in &pts {
                let c = (p[j] * f64::from(1u32 << m)) as usize;
                assert!(!seen[c], "coordinate {j} repeats cell {c}");
                seen[c] = true;
            }
        }
        for k in 0..=m {
            let mut seen = vec![false; 1 << m];
            for p in &pts {
                let a = (p[0] * f64::from(1u32 << k)) as usize;
                let b = (p[1] * f64::from(1u32 << (m - k))) as usize;
                let c = (a << (m - k)) | b;
                assert!(!seen[c]);
                seen[c] = true;
            }
        }
    }

    #[test]
    fn lhs_stratifies_each_coordinate() {
        let mut rng = rng_from_seed(1);
        let pts = lhs(10, 4, 5, &mut rng);
        for j in 0..4 {
            let mut cells: Vec<usize> = pts.iter().map(|p| (p[j] * 10.0) as usize).collect();
            cells.sort();
            assert_eq!(cells, (0..10).collect::<Vec<_>>());
        }
    }

    #[test]
    fn grid_levels_and_size() {
        let space = SearchSpace {
            params: vec![
                (
                    "a".into(),
                    ParamSpec::Uniform {
                        low: 0.0,
                        high: 1.0,
                    },
                ),
                (
                    "b".into(),
                    ParamSpec::LogUniform {
                        low: 1e-3,
                        high: 1.0,
                    },
                ),
                (
                    "c".into(),
                    ParamSpec::Categorical {
                        choices: vec!["x".into(), "y".into()],
                    },
                ),
            ],
        };
        // budget 50 with 2 categorical levels: m² · 2 ≤ 50 ⇒ m = 5.
        let g = grid(&space, None, 50);
        assert_eq!(g.len(), 50);
        let v = space.decode(&g[1]);
        assert_eq!(v[0].1, toml::Value::Float(0.0));
        assert_eq!(v[1].1, toml::Value::Float(1e-3));
        assert_eq!(v[2].1, toml::Value::from("y"));
        let g = grid(&space, Some(3), 50);
        assert_eq!(g.len(), 18);
        assert_eq!(space.decode(&g[17])[1].1, toml::Value::Float(1.0));
    }
}
