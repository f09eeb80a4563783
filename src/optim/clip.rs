//! Gradient-norm clipping.

/// Rescales `grads` so that their global L2 norm is at most `max_norm` (gradient-norm clipping of
/// Pascanu, Mikolov & Bengio 2013, "On the difficulty of training recurrent neural networks") and
/// returns the norm before clipping.
///
/// As `torch.nn.utils.clip_grad_norm_`:
/// ```text
/// n = ‖g‖₂ = sqrt(Σ_i g_i²)
/// c = max_norm / (n + 1e-6)
/// if c < 1:  g ← c · g
/// ```
/// The 1e-6 keeps the division finite and leaves the clipped norm just below `max_norm`. The sum
/// of squares is accumulated in f64 (four interleaved partial sums, so it vectorises and its
/// result is fixed for a given input length). A non-finite norm (an `inf` or `NaN` gradient)
/// leaves `grads` untouched and is returned as is, so the caller sees the divergence instead of
/// silently zeroed or NaN-filled gradients.
pub fn clip_grad_norm(grads: &mut [f32], max_norm: f32) -> f64 {
    debug_assert!(max_norm > 0.0, "max_norm must be > 0, got {max_norm}");
    let norm = l2_norm(grads);
    if !norm.is_finite() {
        return norm;
    }
    let coef = f64::from(max_norm) / (norm + 1e-6);
    if coef < 1.0 {
        let coef = coef as f32;
        for g in grads.iter_mut() {
            *g *= coef;
        }
    }
    norm
}

/// ‖x‖₂ accumulated in f64.
fn l2_norm(x: &[f32]) -> f64 {
    let mut acc = [0.0f64; 4];
    let chunks = x.chunks_exact(4);
    let tail = chunks.remainder();
    for chunk in chunks {
        for (a, &v) in acc.iter_mut().zip(chunk) {
            let v = f64::from(v);
            *a += v * v;
        }
    }
    let mut sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for &v in tail {
        let v = f64::from(v);
        sum += v * v;
    }
    sum.sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clips_a_3_4_vector_to_norm_1() {
        // ‖(3, 4)‖ = 5; c = 1 / (5 + 1e-6) = 0.19999996; g = (0.59999988, 0.79999984).
        let mut g = [3.0f32, 4.0];
        let norm = clip_grad_norm(&mut g, 1.0);
        assert_eq!(norm, 5.0);
        // f32 rounding of c and of the products: 2 ulp at ~0.8 is ~1.2e-7.
        assert!((g[0] - 0.599_999_9).abs() < 2e-7, "{g:?}");
        assert!((g[1] - 0.799_999_8).abs() < 2e-7, "{g:?}");
        let clipped = f64::from(g[0]).hypot(f64::from(g[1]));
        assert!(clipped <= 1.0 && clipped > 1.0 - 1e-6, "{clipped}");
    }

    #[test]
    fn leaves_small_gradients_alone() {
        // ‖(1, 2, 2)‖ = 3 < 5: c = 5/3 ≥ 1, nothing changes, bit for bit.
        let mut g = [1.0f32, -2.0, 2.0];
        assert_eq!(clip_grad_norm(&mut g, 5.0), 3.0);
        assert_eq!(g, [1.0, -2.0, 2.0]);
    }

    #[test]
    fn norm_accumulates_in_f64_over_long_vectors() {
        // 1001 entries of 1e-3 (the tail loop runs too): ‖g‖ = 1e-3·sqrt(1001) = 0.0316385840...
        let mut g = vec![1e-3f32; 1001];
        let norm = clip_grad_norm(&mut g, 1.0);
        let want = f64::from(1e-3f32) * 1001f64.sqrt();
        assert!((norm - want).abs() < 1e-15, "{norm} vs {want}");
        // f32 squares summed in f32 would overflow here; in f64 they do not.
        let mut big = vec![1e30f32; 10];
        let norm = clip_grad_norm(&mut big, 1.0);
        assert!((norm - 1e30 * 10f64.sqrt()).abs() / norm < 1e-7, "{norm}");
        assert!(big.iter().all(|&v| (v - 1.0 / 10f32.sqrt()).abs() < 1e-6));
    }

    #[test]
    fn non_finite_norm_is_reported_not_hidden() {
        let mut g = [1.0f32, f32::NAN];
        assert!(clip_grad_norm(&mut g, 1.0).is_nan());
        assert_eq!(g[0], 1.0);
        let mut g = [1.0f32, f32::INFINITY];
        assert_eq!(clip_grad_norm(&mut g, 1.0), f64::INFINITY);
        assert_eq!(g[0], 1.0);
    }
}
