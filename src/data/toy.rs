//! Seeded toy data sets: 1-D regression with a gap (for uncertainty bands), two moons and K-arm
//! spirals (for decision boundaries and predictive entropy).
//!
//! Rows come out in generation order (not shuffled); splits and batching shuffle them.

use ndarray::{Array1, Array2};

use super::random::{normal, unit};
use super::{Dataset, TargetValues};
use crate::rng::Rng;

/// The two input clusters of [`toy_gap_1d`]: [−4, −2] and [2, 4].
const GAP_CLUSTERS: [(f64, f64); 2] = [(-4.0, -2.0), (2.0, 4.0)];

/// The half-width of the plotting grid of [`toy_gap_1d_grid`]: [−6, 6].
const GAP_GRID_HALF_WIDTH: f64 = 6.0;

/// The true function of [`toy_gap_1d`]: f(x) = x³.
pub fn toy_gap_1d_f(x: f64) -> f64 {
    x * x * x
}

/// 1-D regression with a gap in the inputs: the cubic of Hernández-Lobato & Adams (2015,
/// "Probabilistic Backpropagation", §5: y = x³ + ε, ε ~ N(0, 3²), x ~ U[−4, 4]) with the middle
/// [−2, 2] removed, so that a good posterior is uncertain between the clusters ("in-between
/// uncertainty", Foong et al. 2019).
///
/// Row i has x ~ U[−4, −2] for even i and x ~ U[2, 4] for odd i (so the clusters hold ⌈n/2⌉ and
/// ⌊n/2⌋ points), and y = x³ + noise · z with z ~ N(0, 1); `noise = 3.0` is the paper's setting.
/// Each row draws its uniform, then its normal.
pub fn toy_gap_1d(n: usize, noise: f64, rng: &mut Rng) -> Dataset {
    let mut x = Array2::zeros((n, 1));
    let mut y = Array1::zeros(n);
    for i in 0..n {
        let (lo, hi) = GAP_CLUSTERS[i % 2];
        let xi = lo + (hi - lo) * unit(rng);
        x[[i, 0]] = xi as f32;
        y[i] = (toy_gap_1d_f(xi) + noise * normal(rng)) as f32;
    }
    Dataset {
        x,
        y: TargetValues::Real(y),
        feature_names: vec!["x".into()],
        target_name: "y".into(),
    }
}

/// `n` evenly spaced inputs on [−6, 6] (the data span [−4, 4], the gap and 2 units beyond each
/// side), as an `n × 1` matrix, with the noise-free f(x) = x³ at each. `n = 1` gives x = −6.
pub fn toy_gap_1d_grid(n: usize) -> (Array2<f32>, Vec<f64>) {
    let xs = linspace(-GAP_GRID_HALF_WIDTH, GAP_GRID_HALF_WIDTH, n);
    let f = xs.iter().map(|&x| toy_gap_1d_f(x)).collect();
    let x = Array2::from_shape_fn((n, 1), |(i, _)| xs[i] as f32);
    (x, f)
}

/// Two interleaving half circles, scikit-learn's `make_moons` construction: ⌊n/2⌋ points of class
/// 0 on the outer moon (cos t, sin t) and the other ⌈n/2⌉ of class 1 on the inner moon
/// (1 − cos t, 1/2 − sin t), t evenly spaced on [0, π] within each moon; then every coordinate
/// gets independent N(0, noise²) noise (drawn row by row, x₁ then x₂).
pub fn two_moons(n: usize, noise: f64, rng: &mut Rng) -> Dataset {
    let n_outer = n / 2;
    let n_inner = n - n_outer;
    let mut x = Array2::zeros((n, 2));
    let mut labels = Vec::with_capacity(n);
    let outer = linspace(0.0, std::f64::consts::PI, n_outer);
    let inner = linspace(0.0, std::f64::consts::PI, n_inner);
    let points = outer
        .iter()
        .map(|&t| (t.cos(), t.sin(), 0))
        .chain(inner.iter().map(|&t| (1.0 - t.cos(), 0.5 - t.sin(), 1)));
    for (i, (a, b, label)) in points.enumerate() {
        x[[i, 0]] = (a + noise * normal(rng)) as f32;
        x[[i, 1]] = (b + noise * normal(rng)) as f32;
        labels.push(label);
    }
    Dataset {
        x,
        y: TargetValues::Class {
            labels,
            n_classes: 2,
            names: vec!["0".into(), "1".into()],
        },
        feature_names: vec!["x1".into(), "x2".into()],
        target_name: "class".into(),
    }
}

/// K interleaved spiral arms, the construction of the Stanford CS231n notes ("Putting it
/// together: minimal neural network case study"): arm j has m points with radius r evenly
/// spaced on [0, 1] and angle t evenly spaced on [4j, 4(j+1)] plus N(0, noise²) noise
/// (the notes use noise = 0.2), at (r sin t, r cos t).
///
/// `n` is the total number of points: arm j gets ⌊n/K⌋ points, plus one for j < n mod K.
/// Panics if `classes` is 0.
pub fn spirals(n: usize, classes: usize, noise: f64, rng: &mut Rng) -> Dataset {
    assert!(classes > 0, "spirals: at least one class is needed");
    let mut x = Array2::zeros((n, 2));
    let mut labels = Vec::with_capacity(n);
    let mut i = 0;
    for j in 0..classes {
        let m = n / classes + usize::from(j < n % classes);
        let radii = linspace(0.0, 1.0, m);
        let angles = linspace(4.0 * j as f64, 4.0 * (j + 1) as f64, m);
        for (r, t) in radii.into_iter().zip(angles) {
            let t = t + noise * normal(rng);
            x[[i, 0]] = (r * t.sin()) as f32;
            x[[i, 1]] = (r * t.cos()) as f32;
            labels.push(j as u32);
            i += 1;
        }
    }
    Dataset {
        x,
        y: TargetValues::Class {
            labels,
            n_classes: classes,
            names: (0..classes).map(|j| j.to_string()).collect(),
        },
        feature_names: vec!["x1".into(), "x2".into()],
        target_name: "class".into(),
    }
}

/// `m` evenly spaced values from `a` to `b` inclusive (numpy's `linspace`); `[a]` when m = 1.
fn linspace(a: f64, b: f64, m: usize) -> Vec<f64> {
    match m {
        0 => Vec::new(),
        1 => vec![a],
        _ => (0..m)
            .map(|i| a + (b - a) * i as f64 / (m - 1) as f64)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::rng_from_seed;

    fn labels(d: &Dataset) -> &[u32] {
        match &d.y {
            TargetValues::Class { labels, .. } => labels,
            TargetValues::Real(_) => panic!("classes expected"),
        }
    }

    #[test]
    fn gap_1d_has_two_clusters_and_follows_the_cubic() {
        let d = toy_gap_1d(101, 3.0, &mut rng_from_seed(11));
        assert_eq!((d.len(), d.n_features()), (101, 1));
        let xs = d.x.column(0);
        assert_eq!(
            xs.iter().filter(|&&v| (-4.0..=-2.0).contains(&v)).count(),
            51
        );
        assert_eq!(xs.iter().filter(|&&v| (2.0..=4.0).contains(&v)).count(), 50);
        // Residuals y − x³ are N(0, 9): over 101 rows their mean has sd 0.3 and their variance
        // sd ≈ 1.27, so |mean| < 1.2 and |var − 9| < 5 are about 4 sd wide.
        let TargetValues::Real(y) = &d.y else {
            panic!("real targets expected")
        };
        let r: Vec<f64> = xs
            .iter()
            .zip(y)
            .map(|(&x, &y)| f64::from(y) - toy_gap_1d_f(f64::from(x)))
            .collect();
        let mean = r.iter().sum::<f64>() / r.len() as f64;
        let var = r.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / r.len() as f64;
        assert!(mean.abs() < 1.2 && (var - 9.0).abs() < 5.0, "{mean} {var}");
        // Without noise the targets are exactly the cubic (up to f32 rounding of x and y).
        let d = toy_gap_1d(10, 0.0, &mut rng_from_seed(11));
        let TargetValues::Real(y) = &d.y else {
            panic!("real targets expected")
        };
        for (x, y) in d.x.column(0).iter().zip(y) {
            // |x| ≤ 4: rounding x to f32 moves x³ by ≤ 3·16·2⁻²² ≈ 1.1e-5 and rounding y by
            // ≤ 64·2⁻²⁴ ≈ 3.8e-6.
            assert!((f64::from(*y) - toy_gap_1d_f(f64::from(*x))).abs() < 2e-5);
        }
    }

    #[test]
    fn gap_grid_spans_beyond_the_data() {
        let (x, f) = toy_gap_1d_grid(121);
        assert_eq!(x.dim(), (121, 1));
        assert_eq!((x[[0, 0]], x[[60, 0]], x[[120, 0]]), (-6.0, 0.0, 6.0));
        assert_eq!((f[0], f[60], f[120]), (-216.0, 0.0, 216.0));
        assert!((x[[1, 0]] - (-5.9)).abs() < 1e-6);
    }

    #[test]
    fn toys_are_seeded_and_reproducible() {
        let a = two_moons(50, 0.1, &mut rng_from_seed(3));
        let b = two_moons(50, 0.1, &mut rng_from_seed(3));
        let c = two_moons(50, 0.1, &mut rng_from_seed(4));
        assert_eq!(a.x, b.x);
        assert_ne!(a.x, c.x);
        let a = spirals(60, 3, 0.2, &mut rng_from_seed(3));
        assert_eq!(a.x, spirals(60, 3, 0.2, &mut rng_from_seed(3)).x);
        assert_ne!(a.x, spirals(60, 3, 0.2, &mut rng_from_seed(4)).x);
        let a = toy_gap_1d(20, 3.0, &mut rng_from_seed(3));
        assert_eq!(a.x, toy_gap_1d(20, 3.0, &mut rng_from_seed(3)).x);
    }

    #[test]
    fn moons_without_noise_lie_on_the_two_half_circles() {
        let d = two_moons(7, 0.0, &mut rng_from_seed(0));
        assert_eq!((d.len(), d.n_features(), d.n_classes()), (7, 2, Some(2)));
        // 3 outer points at t = 0, π/2, π; 4 inner at t = 0, π/3, 2π/3, π.
        assert_eq!(labels(&d), &[0, 0, 0, 1, 1, 1, 1]);
        let expect = [
            (1.0, 0.0),
            (0.0, 1.0),
            (-1.0, 0.0),
            (0.0, 0.5),
            (0.5, 0.5 - 0.75f64.sqrt()),
            (1.5, 0.5 - 0.75f64.sqrt()),
            (2.0, 0.5),
        ];
        for (i, (a, b)) in expect.into_iter().enumerate() {
            assert!((f64::from(d.x[[i, 0]]) - a).abs() < 1e-6, "row {i}");
            assert!((f64::from(d.x[[i, 1]]) - b).abs() < 1e-6, "row {i}");
        }
        let d = two_moons(1000, 0.1, &mut rng_from_seed(1));
        assert_eq!(labels(&d).iter().filter(|&&l| l == 1).count(), 500);
    }

    #[test]
    fn spirals_are_balanced_and_on_their_arms() {
        let d = spirals(100, 3, 0.2, &mut rng_from_seed(2));
        assert_eq!((d.len(), d.n_features(), d.n_classes()), (100, 2, Some(3)));
        let counts: Vec<usize> = (0..3)
            .map(|k| labels(&d).iter().filter(|&&l| l == k).count())
            .collect();
        assert_eq!(counts, [34, 33, 33]);
        // Noise moves only the angle: the radius of point i in arm j is i/(m − 1).
        let d = spirals(9, 3, 0.0, &mut rng_from_seed(2));
        for (i, row) in d.x.rows().into_iter().enumerate() {
            let r = f64::from(row[0]).hypot(f64::from(row[1]));
            assert!((r - (i % 3) as f64 / 2.0).abs() < 1e-6, "row {i}: r = {r}");
        }
        // Arm 1, last point: r = 1, t = 8 → (sin 8, cos 8).
        assert!((f64::from(d.x[[5, 0]]) - 8f64.sin()).abs() < 1e-6);
        assert!((f64::from(d.x[[5, 1]]) - 8f64.cos()).abs() < 1e-6);
    }
}
