//! A bounded quasi-Newton minimiser: projected L-BFGS with an active set, used to fit the GP
//! hyperparameters and to polish acquisition maxima. It owns no model knowledge.
//!
//! Each iteration (Nocedal & Wright 2006, §7.2 two-loop recursion; bounds handled as in projected
//! Newton methods, Bertsekas 1982):
//! 1. the active set A = {i : xᵢ = loᵢ ∧ gᵢ > 0} ∪ {i : xᵢ = hiᵢ ∧ gᵢ < 0} is frozen;
//! 2. the L-BFGS direction d = −H·g is computed on the free coordinates (H from the last `memory`
//!    pairs sᵢ = xᵢ₊₁ − xᵢ, yᵢ = gᵢ₊₁ − gᵢ with sᵢ·yᵢ > 0, initial scaling γ = s·y / y·y);
//! 3. a backtracking line search along the projected path x(t) = P(x + t·d) accepts the first t
//!    (1, ½, ¼, …) with f(x(t)) ≤ f(x) + 10⁻⁴·g·(x(t) − x) (Armijo).
//!
//! It stops when the projected gradient ‖P(x − g) − x‖∞ < `gtol`, when the relative decrease is
//! below `ftol`, or after `max_iter` iterations.

/// Stopping rules and the first-step length of [`minimize_box`].
#[derive(Clone, Copy, Debug)]
pub struct LbfgsOptions {
    pub max_iter: usize,
    pub memory: usize,
    pub gtol: f64,
    pub ftol: f64,
    /// Largest coordinate change of the first (steepest-descent) step.
    pub first_step: f64,
}

impl Default for LbfgsOptions {
    fn default() -> Self {
        Self {
            max_iter: 100,
            memory: 8,
            gtol: 1e-6,
            ftol: 1e-10,
            first_step: 0.5,
        }
    }
}

/// Reusable buffers of [`minimize_box`], so repeated minimisations allocate nothing.
#[derive(Clone, Debug, Default)]
pub struct LbfgsWorkspace {
    s: Vec<Vec<f64>>,
    y: Vec<Vec<f64>>,
    rho: Vec<f64>,
    alpha: Vec<f64>,
    g: Vec<f64>,
    d: Vec<f64>,
    x_new: Vec<f64>,
    g_new: Vec<f64>,
    free: Vec<bool>,
}

impl LbfgsWorkspace {
    fn prepare(&mut self, n: usize, memory: usize) {
        if self.s.len() != memory || self.g.len() != n {
            self.s = vec![vec![0.0; n]; memory];
            self.y = vec![vec![0.0; n]; memory];
            self.rho = vec![0.0; memory];
            self.alpha = vec![0.0; memory];
            self.g = vec![0.0; n];
            self.d = vec![0.0; n];
            self.x_new = vec![0.0; n];
            self.g_new = vec![0.0; n];
            self.free = vec![true; n];
        }
    }
}

/// Minimises `f` over the box [lo, hi] from `x` (overwritten with the minimiser); `f(x, grad)`
/// returns the value and writes the gradient. Non-finite values are treated as +∞ by the line
/// search. Returns the final value and the number of evaluations.
pub fn minimize_box<F: FnMut(&[f64], &mut [f64]) -> f64>(
    mut f: F,
    x: &mut [f64],
    lo: &[f64],
    hi: &[f64],
    opts: &LbfgsOptions,
    ws: &mut LbfgsWorkspace,
) -> (f64, usize) {
    let n = x.len();
    let m = opts.memory.max(1);
    ws.prepare(n, m);
    for ((xi, l), h) in x.iter_mut().zip(lo).zip(hi) {
        *xi = xi.clamp(*l, *h);
    }
    let mut fx = f(x, &mut ws.g);
    let mut evals = 1;
    if !fx.is_finite() {
        return (fx, evals);
    }
    let (mut stored, mut head) = (0usize, 0usize);
    for _ in 0..opts.max_iter {
        let mut pg = 0.0f64;
        for i in 0..n {
            let p = (x[i] - ws.g[i]).clamp(lo[i], hi[i]) - x[i];
            pg = pg.max(p.abs());
            ws.free[i] = !((x[i] <= lo[i] && ws.g[i] > 0.0) || (x[i] >= hi[i] && ws.g[i] < 0.0));
        }
        if pg < opts.gtol {
            break;
        }
        // Two-loop recursion on the free coordinates.
        for i in 0..n {
            ws.d[i] = if ws.free[i] { ws.g[i] } else { 0.0 };
        }
        for k in 0..stored {
            let j = (head + m - 1 - k) % m;
            let a = ws.rho[j] * dot_masked(&ws.s[j], &ws.d, &ws.free);
            ws.alpha[j] = a;
            for i in 0..n {
                if ws.free[i] {
                    ws.d[i] -= a * ws.y[j][i];
                }
            }
        }
        if stored > 0 {
            let j = (head + m - 1) % m;
            let gamma = 1.0 / (ws.rho[j] * dot(&ws.y[j], &ws.y[j]));
            ws.d.iter_mut().for_each(|v| *v *= gamma);
        }
        for k in (0..stored).rev() {
            let j = (head + m - 1 - k) % m;
            let b = ws.rho[j] * dot_masked(&ws.y[j], &ws.d, &ws.free);
            for i in 0..n {
                if ws.free[i] {
                    ws.d[i] += ws.s[j][i] * (ws.alpha[j] - b);
                }
            }
        }
        ws.d.iter_mut().for_each(|v| *v = -*v);
        let gd = dot(&ws.g, &ws.d);
        let dnorm = ws.d.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        if stored == 0 || gd >= 0.0 || !gd.is_finite() {
            // Steepest descent on the free set, first step limited to `first_step`.
            stored = 0;
            let gmax =
                ws.g.iter()
                    .zip(&ws.free)
                    .filter(|(_, f)| **f)
                    .fold(0.0f64, |a, (v, _)| a.max(v.abs()));
            let scale = if gmax > 0.0 {
                opts.first_step / gmax
            } else {
                0.0
            };
            for i in 0..n {
                ws.d[i] = if ws.free[i] { -ws.g[i] * scale } else { 0.0 };
            }
        } else if dnorm == 0.0 {
            break;
        }
        // Backtracking Armijo search along the projected path.
        let mut t = 1.0;
        let mut accepted = false;
        let mut f_new = f64::INFINITY;
        for _ in 0..40 {
            for i in 0..n {
                ws.x_new[i] = (x[i] + t * ws.d[i]).clamp(lo[i], hi[i]);
            }
            f_new = f(&ws.x_new, &mut ws.g_new);
            evals += 1;
            let decrease: f64 = (0..n).map(|i| ws.g[i] * (ws.x_new[i] - x[i])).sum();
            if f_new.is_finite() && f_new <= fx + 1e-4 * decrease {
                accepted = true;
                break;
            }
            t *= 0.5;
        }
        if !accepted {
            break;
        }
        let j = head;
        let mut sy = 0.0;
        let mut yy = 0.0;
        let pairs = ws.s[j].iter_mut().zip(ws.y[j].iter_mut());
        let news = ws
            .x_new
            .iter()
            .zip(x.iter())
            .zip(ws.g_new.iter().zip(&ws.g));
        for ((si, yi), ((xn, xo), (gn, go))) in pairs.zip(news) {
            *si = xn - xo;
            *yi = gn - go;
            sy += *si * *yi;
            yy += *yi * *yi;
        }
        if sy > 1e-12 * yy && sy > 0.0 {
            ws.rho[j] = 1.0 / sy;
            head = (head + 1) % m;
            stored = (stored + 1).min(m);
        }
        let rel = (fx - f_new) / fx.abs().max(f_new.abs()).max(1.0);
        x.copy_from_slice(&ws.x_new);
        ws.g.copy_from_slice(&ws.g_new);
        fx = f_new;
        if rel < opts.ftol {
            break;
        }
    }
    (fx, evals)
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn dot_masked(a: &[f64], b: &[f64], mask: &[bool]) -> f64 {
    a.iter()
        .zip(b)
        .zip(mask)
        .filter(|(_, m)| **m)
        .map(|((x, y), _)| x * y)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rosenbrock_unconstrained_and_bounded() {
        let rosen = |x: &[f64], g: &mut [f64]| {
            let (a, b) = (x[0], x[1]);
            g[0] = -2.0 * (1.0 - a) - 400.0 * a * (b - a * a);
            g[1] = 200.0 * (b - a * a);
            (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2)
        };
        let mut ws = LbfgsWorkspace::default();
        let opts = LbfgsOptions {
            max_iter: 500,
            gtol: 1e-9,
            ftol: 0.0,
            ..Default::default()
        };
        let mut x = [-1.2, 1.0];
        minimize_box(rosen, &mut x, &[-5.0, -5.0], &[5.0, 5.0], &opts, &mut ws);
        assert!(
            (x[0] - 1.0).abs() < 1e-6 && (x[1] - 1.0).abs() < 1e-6,
            "{x:?}"
        );
        // With b ≤ 0.5 the minimiser is on the bound: b = 0.5, a solves
        // ∂f/∂a = 0 ⇒ −2(1 − a) − 400a(0.5 − a²) = 0, whose root near 0.7 is a = 0.70653...
        let mut x = [0.0, 0.0];
        minimize_box(rosen, &mut x, &[-5.0, -5.0], &[5.0, 0.5], &opts, &mut ws);
        assert_eq!(x[1], 0.5);
        let a = x[0];
        assert!(
            (-2.0 * (1.0 - a) - 400.0 * a * (0.5 - a * a)).abs() < 1e-6,
            "{x:?}"
        );
    }
}
