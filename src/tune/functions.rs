//! Standard test functions of global optimisation with their known minima (Dixon & Szegö 1978;
//! Surjanovic & Bingham, "Virtual Library of Simulation Experiments"), used to benchmark the
//! search strategies. Each is defined on its usual box; the benchmark searches that box.

use std::f64::consts::PI;

/// A test function on a box with its known global minimum.
#[derive(Clone, Copy, Debug)]
pub struct TestFunction {
    pub name: &'static str,
    /// (low, high) of every coordinate.
    pub bounds: &'static [(f64, f64)],
    pub f_star: f64,
    /// One global minimiser.
    pub x_star: &'static [f64],
    pub f: fn(&[f64]) -> f64,
}

impl TestFunction {
    pub fn dim(&self) -> usize {
        self.bounds.len()
    }

    /// The search space of the function: `x0`, `x1`, … uniform over its box.
    pub fn space(&self) -> super::space::SearchSpace {
        super::space::SearchSpace {
            params: self
                .bounds
                .iter()
                .enumerate()
                .map(|(i, &(low, high))| {
                    (
                        format!("x{i}"),
                        super::space::ParamSpec::Uniform { low, high },
                    )
                })
                .collect(),
        }
    }

    /// Looks a function up by name: `branin`, `hartmann3`, `hartmann6`, `goldstein_price`,
    /// `quadratic1d`.
    pub fn by_name(name: &str) -> Option<TestFunction> {
        ALL.iter().find(|f| f.name == name).copied()
    }
}

/// Every built-in test function.
pub const ALL: [TestFunction; 5] = [
    TestFunction {
        name: "branin",
        bounds: &[(-5.0, 10.0), (0.0, 15.0)],
        f_star: 0.397_887_357_729_738_1,
        x_star: &[PI, 2.275],
        f: branin,
    },
    TestFunction {
        name: "hartmann3",
        bounds: &[(0.0, 1.0); 3],
        f_star: -3.862_78,
        x_star: &[0.114_614, 0.555_649, 0.852_547],
        f: hartmann3,
    },
    TestFunction {
        name: "hartmann6",
        bounds: &[(0.0, 1.0); 6],
        f_star: -3.322_37,
        x_star: &[
            0.201_69, 0.150_011, 0.476_874, 0.275_332, 0.311_652, 0.657_3,
        ],
        f: hartmann6,
    },
    TestFunction {
        name: "goldstein_price",
        bounds: &[(-2.0, 2.0), (-2.0, 2.0)],
        f_star: 3.0,
        x_star: &[0.0, -1.0],
        f: goldstein_price,
    },
    TestFunction {
        name: "quadratic1d",
        bounds: &[(-3.0, 5.0)],
        f_star: 1.0,
        x_star: &[1.234],
        f: quadratic1d,
    },
];

/// Branin–Hoo: f = a(x₂ − b x₁² + c x₁ − r)² + s(1 − t) cos x₁ + s with a = 1, b = 5.1/(4π²),
/// c = 5/π, r = 6, s = 10, t = 1/(8π), on [−5, 10] × [0, 15]; three global minima
/// (−π, 12.275), (π, 2.275), (9.42478, 2.475) with f* = 5/(4π) = 0.397887…
pub fn branin(x: &[f64]) -> f64 {
    let (b, c, t) = (5.1 / (4.0 * PI * PI), 5.0 / PI, 1.0 / (8.0 * PI));
    let u = x[1] - b * x[0] * x[0] + c * x[0] - 6.0;
    u * u + 10.0 * (1.0 - t) * x[0].cos() + 10.0
}

const HARTMANN_ALPHA: [f64; 4] = [1.0, 1.2, 3.0, 3.2];

/// Hartmann-3: f = −Σᵢ αᵢ exp(−Σⱼ Aᵢⱼ (xⱼ − Pᵢⱼ)²) on [0,1]³; f* = −3.86278 at
/// (0.114614, 0.555649, 0.852547).
pub fn hartmann3(x: &[f64]) -> f64 {
    const A: [[f64; 3]; 4] = [
        [3.0, 10.0, 30.0],
        [0.1, 10.0, 35.0],
        [3.0, 10.0, 30.0],
        [0.1, 10.0, 35.0],
    ];
    const P: [[f64; 3]; 4] = [
        [0.3689, 0.1170, 0.2673],
        [0.4699, 0.4387, 0.7470],
        [0.1091, 0.8732, 0.5547],
        [0.0381, 0.5743, 0.8828],
    ];
    -(0..4)
        .map(|i| {
            HARTMANN_ALPHA[i]
                * (-(0..3)
                    .map(|j| A[i][j] * (x[j] - P[i][j]).powi(2))
                    .sum::<f64>())
                .exp()
        })
        .sum::<f64>()
}

/// Hartmann-6: f = −Σᵢ αᵢ exp(−Σⱼ Aᵢⱼ (xⱼ − Pᵢⱼ)²) on [0,1]⁶; f* = −3.32237 at
/// (0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573); a local minimum of about −3.203
/// near (0.405, 0.882, 0.846, 0.574, 0.139, 0.038).
pub fn hartmann6(x: &[f64]) -> f64 {
    const A: [[f64; 6]; 4] = [
        [10.0, 3.0, 17.0, 3.5, 1.7, 8.0],
        [0.05, 10.0, 17.0, 0.1, 8.0, 14.0],
        [3.0, 3.5, 1.7, 10.0, 17.0, 8.0],
        [17.0, 8.0, 0.05, 10.0, 0.1, 14.0],
    ];
    const P: [[f64; 6]; 4] = [
        [0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
        [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
        [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650],
        [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381],
    ];
    -(0..4)
        .map(|i| {
            HARTMANN_ALPHA[i]
                * (-(0..6)
                    .map(|j| A[i][j] * (x[j] - P[i][j]).powi(2))
                    .sum::<f64>())
                .exp()
        })
        .sum::<f64>()
}

/// Goldstein–Price on [−2, 2]²: f = [1 + (x₁ + x₂ + 1)²(19 − 14x₁ + 3x₁² − 14x₂ + 6x₁x₂ + 3x₂²)]
/// · [30 + (2x₁ − 3x₂)²(18 − 32x₁ + 12x₁² + 48x₂ − 36x₁x₂ + 27x₂²)]; f* = 3 at (0, −1).
pub fn goldstein_price(x: &[f64]) -> f64 {
    let (a, b) = (x[0], x[1]);
    let p = 1.0
        + (a + b + 1.0).powi(2)
            * (19.0 - 14.0 * a + 3.0 * a * a - 14.0 * b + 6.0 * a * b + 3.0 * b * b);
    let q = 30.0
        + (2.0 * a - 3.0 * b).powi(2)
            * (18.0 - 32.0 * a + 12.0 * a * a + 48.0 * b - 36.0 * a * b + 27.0 * b * b);
    p * q
}

/// A 1-D quadratic f = (x − 1.234)² + 1 on [−3, 5] (sanity check of the whole loop).
pub fn quadratic1d(x: &[f64]) -> f64 {
    (x[0] - 1.234).powi(2) + 1.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_minima_are_minima() {
        for tf in ALL {
            let fx = (tf.f)(tf.x_star);
            // The published minimisers have 6 digits, so f(x*) matches f* to about 1e-5.
            assert!(
                (fx - tf.f_star).abs() < 2e-5,
                "{}: f(x*) = {fx}, f* = {}",
                tf.name,
                tf.f_star
            );
            // No coordinate step of 1e-3 improves on x* by more than the rounding of x*.
            let mut x = tf.x_star.to_vec();
            for j in 0..tf.dim() {
                for h in [-1e-3, 1e-3] {
                    x[j] += h;
                    assert!((tf.f)(&x) > fx - 1e-6, "{}: step {j} {h} improves", tf.name);
                    x[j] -= h;
                }
            }
        }
        // Branin's three minimisers share the same value exactly.
        let f1 = branin(&[-PI, 12.275]);
        let f3 = branin(&[3.0 * PI, 2.475]);
        assert!((f1 - 5.0 / (4.0 * PI)).abs() < 1e-12 && (f3 - 5.0 / (4.0 * PI)).abs() < 1e-12);
        // Hartmann-6's local minimum (the trap of GP-BO) is at about −3.2032.
        let local = hartmann6(&[0.40465, 0.88244, 0.84610, 0.57399, 0.13893, 0.0385]);
        assert!((local + 3.2032).abs() < 1e-3, "{local}");
    }
}
