//! Finite-difference gradient checks of every layer, every head and whole networks, plus the
//! behavioural tests of the network (dropout, chunked prediction, allocation-free steps).
//!
//! Checks run on the f64 build of the same generic code: with step `h = 1e−5`, the central
//! difference `(f(θ+h) − f(θ−h)) / 2h` has truncation error `h²·|f'''|/6 ≈ 1e−10` and rounding error
//! `≈ ε₆₄·|f|/h ≈ 1e−11` for the O(1) losses used here, so analytic and numeric derivatives must
//! agree to `1e−7·max(1, |g|)`: a wrong factor, sign or index misses that by orders of magnitude.

use super::heads::{AnyHead, Head};
use super::layers::{ActivationLayer, AnyLayer, Dense, Dropout, Layer, Pass};
use super::*;
use crate::rng::{Rng, rng_from_seed};
use ndarray::{Array1, Array2};
use rand::RngExt;

const H: f64 = 1e-5;
const TOL: f64 = 1e-7;

fn uniform(n: usize, lo: f64, hi: f64, rng: &mut Rng) -> Vec<f64> {
    (0..n)
        .map(|_| lo + (hi - lo) * rng.random::<f64>())
        .collect()
}

/// Asserts `analytic ≈ ∂f/∂v_i` by central differences for every coordinate `i` of `v`.
fn assert_matches_fd(
    what: &str,
    v: &mut [f64],
    analytic: &[f64],
    mut f: impl FnMut(&[f64]) -> f64,
) {
    assert_eq!(v.len(), analytic.len());
    for i in 0..v.len() {
        let keep = v[i];
        v[i] = keep + H;
        let up = f(v);
        v[i] = keep - H;
        let down = f(v);
        v[i] = keep;
        let numeric = (up - down) / (2.0 * H);
        let err = (numeric - analytic[i]).abs();
        assert!(
            err <= TOL * analytic[i].abs().max(1.0),
            "{what}[{i}]: analytic {} vs numeric {numeric}",
            analytic[i]
        );
    }
}

/// Checks one layer with the linear probe `L = Σ w ⊙ layer(x)` (`w` fixed and random), whose
/// gradient with respect to the output is `w`: compares `∂L/∂θ` and `∂L/∂x` from `backward` with
/// central differences. The RNG is re-created for every forward, so a dropout mask is the same
/// in all evaluations (a fixed mask).
fn check_layer(layer: AnyLayer, x_lo: f64, x_hi: f64, mode: Mode) {
    let rows = 5;
    let (n_in, n_out) = (Layer::<f64>::in_dim(&layer), Layer::<f64>::out_dim(&layer));
    let mut setup = rng_from_seed(11);
    let mut params = vec![0.0; Layer::<f64>::n_params(&layer)];
    layer.init_params(&mut params, &mut setup);
    // Non-zero biases, so that their gradient path is exercised from a generic point.
    for p in params.iter_mut() {
        *p += 0.1 * (setup.random::<f64>() - 0.5);
    }
    let mut x = uniform(rows * n_in, x_lo, x_hi, &mut setup);
    let w = uniform(rows * n_out, -1.0, 1.0, &mut setup);
    let pass = Pass {
        rows,
        time_steps: 1,
        mode,
    };
    let probe = |layer: &mut AnyLayer, params: &[f64], x: &[f64]| {
        let mut y = vec![0.0; rows * n_out];
        layer.forward(params, x, &mut y, &pass, &mut rng_from_seed(5));
        y.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>()
    };
    let mut l = layer.clone();
    let mut y = vec![0.0; rows * n_out];
    l.forward(&params, &x, &mut y, &pass, &mut rng_from_seed(5));
    let mut grads = vec![f64::NAN; params.len()];
    let mut dx = vec![f64::NAN; rows * n_in];
    l.backward(&params, &mut grads, &x, &y, &w, Some(&mut dx), &pass);
    let x0 = x.clone();
    let mut lp = layer.clone();
    assert_matches_fd("param", &mut params.clone(), &grads, |p| {
        probe(&mut lp, p, &x0)
    });
    let mut lx = layer.clone();
    assert_matches_fd("input", &mut x, &dx, |xv| probe(&mut lx, &params, xv));
}

#[test]
fn dense_gradient_matches_finite_differences() {
    for init in [Init::He, Init::Xavier] {
        check_layer(
            AnyLayer::Dense(Dense {
                in_dim: 4,
                out_dim: 3,
                init,
            }),
            -1.0,
            1.0,
            Mode::Train,
        );
    }
}

#[test]
fn activation_gradients_match_finite_differences() {
    for kind in [Activation::Tanh, Activation::Sigmoid, Activation::Identity] {
        check_layer(
            AnyLayer::Activation(ActivationLayer { kind, dim: 4 }),
            -3.0,
            3.0,
            Mode::Train,
        );
    }
}

#[test]
fn relu_gradient_matches_finite_differences_away_from_the_kink() {
    // ReLU is not differentiable at 0: inputs on both sides, farther than h from it.
    let relu = || {
        AnyLayer::Activation(ActivationLayer {
            kind: Activation::Relu,
            dim: 4,
        })
    };
    check_layer(relu(), 0.01, 2.0, Mode::Train);
    check_layer(relu(), -2.0, -0.01, Mode::Train);
    let mut setup = rng_from_seed(3);
    let x: Vec<f64> = uniform(20, 0.01, 2.0, &mut setup)
        .into_iter()
        .enumerate()
        .map(|(i, v)| if i % 2 == 0 { v } else { -v })
        .collect();
    // Mixed signs: the analytic gradient passes exactly the positive entries.
    let mut y = vec![0.0; 20];
    let pass = Pass {
        rows: 5,
        time_steps: 1,
        mode: Mode::Eval,
    };
    let mut l = relu();
    l.forward(&[], &x, &mut y, &pass, &mut setup);
    let mut dx = vec![0.0; 20];
    l.backward(&[], &mut [], &x, &y, &[1.0; 20], Some(&mut dx), &pass);
    for (i, (&d, &xi)) in dx.iter().zip(&x).enumerate() {
        assert_eq!(d, if xi > 0.0 { 1.0 } else { 0.0 }, "element {i}");
    }
}

#[test]
fn dropout_gradient_with_a_fixed_mask_matches_finite_differences() {
    for mode in [Mode::Train, Mode::McSample, Mode::Eval] {
        check_layer(AnyLayer::Dropout(Dropout::new(0.4, 6)), -1.0, 1.0, mode);
    }
}

#[test]
fn dropout_is_identity_in_eval_and_drops_p_scaled_by_inverse_keep_in_train() {
    let (rows, dim, p) = (200, 500, 0.3f32);
    let n = rows * dim;
    let x = vec![1.0f32; n];
    let mut y = vec![0.0f32; n];
    let mut layer = Dropout::new(p, dim);
    let mut rng = rng_from_seed(9);
    let eval = Pass {
        rows,
        time_steps: 1,
        mode: Mode::Eval,
    };
    let xs: Vec<f32> = (0..n).map(|i| i as f32 * 0.001).collect();
    Layer::<f32>::forward(&mut layer, &[], &xs, &mut y, &eval, &mut rng);
    assert_eq!(y, xs);
    for mode in [Mode::Train, Mode::McSample] {
        let pass = Pass { mode, ..eval };
        Layer::<f32>::forward(&mut layer, &[], &x, &mut y, &pass, &mut rng);
        let scale = 1.0 / (1.0 - p);
        assert!(
            y.iter().all(|&v| v == 0.0 || v == scale),
            "values are 0 or 1/(1−p)"
        );
        let dropped = y.iter().filter(|&&v| v == 0.0).count() as f64 / n as f64;
        // Binomial proportion: sd = √(p(1−p)/n) = 0.0014; 5 sd.
        let sd = (0.3 * 0.7 / n as f64).sqrt();
        assert!(
            (dropped - 0.3).abs() < 5.0 * sd,
            "dropped fraction {dropped}"
        );
        // Inverted dropout keeps the mean: E[y] = x = 1 (sd of the mean ≈ √(p/(1−p)/n) = 0.0015).
        let mean = y.iter().map(|&v| f64::from(v)).sum::<f64>() / n as f64;
        assert!(
            (mean - 1.0).abs() < 5.0 * (0.3f64 / 0.7 / n as f64).sqrt(),
            "mean {mean}"
        );
    }
}

/// Checks a head: `∂L/∂z` and `∂L/∂θ_head` against central differences, for `z` drawn in
/// `[lo, hi]`.
fn check_head(head: AnyHead, y: Targets<'_>, rows: usize, lo: f64, hi: f64) {
    let mut setup = rng_from_seed(21);
    let w = Head::<f64>::in_dim(&head);
    let z = uniform(rows * w, lo, hi, &mut setup);
    let mut params = vec![0.0; Head::<f64>::n_params(&head)];
    head.init_params(&mut params);
    for p in params.iter_mut() {
        *p += 0.3;
    }
    let mut dz = vec![f64::NAN; rows * w];
    let mut grads = vec![f64::NAN; params.len()];
    let loss = head.loss(&params, &z, y, rows, Some(&mut dz), &mut grads);
    assert_eq!(loss, head.loss(&params, &z, y, rows, None, &mut []));
    let p0 = params.clone();
    assert_matches_fd("z", &mut z.clone(), &dz, |zv| {
        head.loss(&p0, zv, y, rows, None, &mut [])
    });
    assert_matches_fd("head param", &mut params, &grads, |p| {
        head.loss(p, &z, y, rows, None, &mut [])
    });
}

#[test]
fn every_head_gradient_matches_finite_differences() {
    let yr = Array1::from(vec![0.5f32, -1.0, 2.0, 0.0]);
    let yc = [0u32, 3, 1, 3];
    check_head(
        AnyHead::new(HeadKind::Gaussian, 1, 1.0),
        Targets::Real(yr.view()),
        4,
        -1.5,
        1.5,
    );
    check_head(
        AnyHead::new(HeadKind::GaussianFixed, 1, 2.5),
        Targets::Real(yr.view()),
        4,
        -2.0,
        2.0,
    );
    check_head(
        AnyHead::new(HeadKind::GaussianLearned, 1, 2.5),
        Targets::Real(yr.view()),
        4,
        -2.0,
        2.0,
    );
    check_head(
        AnyHead::new(HeadKind::Softmax, 4, 1.0),
        Targets::Class(&yc),
        4,
        -3.0,
        3.0,
    );
}

#[test]
fn head_losses_equal_hand_computed_values() {
    let ln2pi = (2.0 * std::f64::consts::PI).ln();
    let y = Array1::from(vec![2.0f32]);
    let t = Targets::Real(y.view());
    // Heteroscedastic: μ = 1, s = ln 4 → ½(ln 2π + ln 4 + 1·¼).
    let h = AnyHead::new(HeadKind::Gaussian, 1, 1.0);
    let z = [1.0, 4.0f64.ln()];
    let want = 0.5 * (ln2pi + 4.0f64.ln() + 0.25);
    assert!((h.loss(&[], &z, t, 1, None, &mut []) - want).abs() < 1e-15);
    // Fixed τ = 4, μ = 1 → ½(ln 2π − ln 4 + 4).
    let h = AnyHead::new(HeadKind::GaussianFixed, 1, 4.0);
    let want = 0.5 * (ln2pi - 4.0f64.ln() + 4.0);
    assert!((h.loss(&[], &[1.0f64], t, 1, None, &mut []) - want).abs() < 1e-15);
    // Learned, initialised at ln τ₀ = ln 4: the same value as fixed τ = 4, and ∂/∂λ = ½(4 − 1).
    let h = AnyHead::new(HeadKind::GaussianLearned, 1, 4.0);
    let mut p = [0.0f64];
    h.init_params(&mut p);
    assert!((p[0] - 4.0f64.ln()).abs() < 1e-15);
    let mut g = [0.0];
    let l = h.loss(&p, &[1.0f64], t, 1, Some(&mut [0.0]), &mut g);
    assert!((l - want).abs() < 1e-14);
    assert!((g[0] - 1.5).abs() < 1e-14);
    // Softmax with logits (0, ln 3), class 1: −ln(3/4).
    let h = AnyHead::new(HeadKind::Softmax, 2, 1.0);
    let l = h.loss(
        &[],
        &[0.0, 3.0f64.ln()],
        Targets::Class(&[1]),
        1,
        None,
        &mut [],
    );
    assert!((l + 0.75f64.ln()).abs() < 1e-15);
}

/// A confidently wrong prediction keeps a probability that scores its NLL as the logit gap: at
/// a gap of 200, e^-200 ≈ 1.4e-87 rounds to 0 in f32 (whose smallest value is 1.4e-45), which
/// would cost the clamp's 708 instead of 200.
#[test]
fn softmax_probabilities_of_a_confident_error_survive_for_the_nll() {
    let h = AnyHead::new(HeadKind::Softmax, 3, 1.0);
    let z = [0.0f32, 200.0, 0.0];
    let mut out = h.empty_output();
    h.size_output(&mut out, 1);
    Head::<f32>::predict(&h, &[], &z, 1, &mut out, 0);
    let HeadOutput::Categorical { probs } = out else {
        panic!()
    };
    assert!(probs[[0, 0]] > 0.0);
    let nll = crate::metrics::nll(probs.view(), &[0]);
    assert!((nll - 200.0).abs() < 1e-9, "{nll}");
    let loss = h.loss(&[], &z, Targets::Class(&[0]), 1, None, &mut []);
    assert!(
        (loss - nll).abs() < 1e-9,
        "the training loss agrees: {loss}"
    );
}

#[test]
fn softmax_cross_entropy_is_stable_for_logits_of_1e4() {
    let h = AnyHead::new(HeadKind::Softmax, 3, 1.0);
    let z = [1e4f32, 0.0, -1e4];
    let mut dz = [0.0f32; 3];
    // Correct class with a huge margin: loss exactly 0 (e^{−1e4} underflows, log 1 = 0).
    let l = h.loss(&[], &z, Targets::Class(&[0]), 1, Some(&mut dz), &mut []);
    assert_eq!(l, 0.0);
    assert_eq!(dz, [0.0, 0.0, 0.0]);
    // Wrong class: loss is the margin 1e4, gradient softmax − onehot = (1, −1, 0), all finite.
    let l = h.loss(&[], &z, Targets::Class(&[1]), 1, Some(&mut dz), &mut []);
    assert_eq!(l, 1e4);
    assert_eq!(dz, [1.0, -1.0, 0.0]);
    let mut out = h.empty_output();
    h.size_output(&mut out, 1);
    Head::<f32>::predict(&h, &[], &z, 1, &mut out, 0);
    let HeadOutput::Categorical { probs } = out else {
        panic!()
    };
    assert_eq!(probs.row(0).to_vec(), vec![1.0, 0.0, 0.0]);
}

fn mlp_config(head: HeadKind, activation: Activation, dropout: f32) -> MlpConfig {
    MlpConfig {
        input_dim: 3,
        output_dim: if head == HeadKind::Softmax { 4 } else { 1 },
        hidden: vec![5, 4],
        activation,
        init: Init::Xavier,
        dropout,
        head,
        noise_precision: 2.0,
    }
}

fn batch(rows: usize, head: HeadKind, seed: u64) -> (Array2<f64>, Array1<f32>, Vec<u32>) {
    let mut rng = rng_from_seed(seed);
    let x = Array2::from_shape_vec((rows, 3), uniform(rows * 3, -2.0, 2.0, &mut rng)).unwrap();
    let yr = Array1::from(
        uniform(rows, -1.0, 1.0, &mut rng)
            .into_iter()
            .map(|v| v as f32)
            .collect::<Vec<_>>(),
    );
    let k = if head == HeadKind::Softmax { 4 } else { 1 };
    let yc = (0..rows).map(|i| (i % k) as u32).collect();
    (x, yr, yc)
}

#[test]
fn whole_mlp_gradient_matches_finite_differences_for_every_head() {
    // ReLU's kink is met with probability ~h per unit; these seeds put no pre-activation within
    // 1e−5 of 0 (the check is deterministic).
    for (head, act) in [
        (HeadKind::Gaussian, Activation::Tanh),
        (HeadKind::GaussianFixed, Activation::Sigmoid),
        (HeadKind::GaussianLearned, Activation::Tanh),
        (HeadKind::Softmax, Activation::Identity),
        (HeadKind::GaussianFixed, Activation::Relu),
        (HeadKind::Softmax, Activation::Relu),
    ] {
        let cfg = mlp_config(head, act, 0.25);
        let mut net = Net::<f64>::mlp(&cfg);
        let mut params = net.init_params(&mut rng_from_seed(1));
        for p in params.iter_mut() {
            *p += 0.05;
        }
        let (x, yr, yc) = batch(6, head, 4);
        let y = if head == HeadKind::Softmax {
            Targets::Class(&yc)
        } else {
            Targets::Real(yr.view())
        };
        let mut grads = vec![f64::NAN; net.n_params()];
        // Same seed for every evaluation: the same dropout masks (Train mode, p = 0.25).
        let loss = net.loss_grad(
            &params,
            &mut grads,
            x.view(),
            y,
            Mode::Train,
            &mut rng_from_seed(8),
        );
        let again = net.loss(&params, x.view(), y, Mode::Train, &mut rng_from_seed(8));
        assert_eq!(loss, again);
        let mut probe = net.clone();
        assert_matches_fd(&format!("{head:?} mlp"), &mut params, &grads, |p| {
            probe.loss(p, x.view(), y, Mode::Train, &mut rng_from_seed(8))
        });
    }
}

#[test]
fn f32_build_agrees_with_f64_build() {
    // The f64 build is the one checked by finite differences; the f32 build runs the same code,
    // so it must agree up to f32 rounding (ε₃₂ = 1.2e−7 per operation, a few dozen operations
    // deep): 1e−4 relative.
    let cfg = mlp_config(HeadKind::Softmax, Activation::Relu, 0.2);
    let net64 = Net::<f64>::mlp(&cfg);
    let mut net32 = Network::mlp(&cfg);
    let mut net64 = net64;
    let p64 = net64.init_params(&mut rng_from_seed(3));
    let p32: Vec<f32> = p64.iter().map(|&v| v as f32).collect();
    let (x, _, yc) = batch(7, HeadKind::Softmax, 5);
    let x32 = x.mapv(|v| v as f32);
    let mut g64 = vec![0.0; net64.n_params()];
    let mut g32 = vec![0.0f32; net32.n_params()];
    let y = Targets::Class(&yc);
    let l64 = net64.loss_grad(
        &p64,
        &mut g64,
        x.view(),
        y,
        Mode::Train,
        &mut rng_from_seed(2),
    );
    let l32 = net32.loss_grad(
        &p32,
        &mut g32,
        x32.view(),
        y,
        Mode::Train,
        &mut rng_from_seed(2),
    );
    assert!((l64 - l32).abs() < 1e-4 * l64.abs(), "{l64} vs {l32}");
    let scale = g64.iter().fold(0.0f64, |m, &g| m.max(g.abs()));
    for (a, b) in g64.iter().zip(&g32) {
        assert!((a - f64::from(*b)).abs() < 1e-4 * scale, "{a} vs {b}");
    }
}

#[test]
fn param_groups_cover_the_flat_buffer_in_order() {
    let cfg = MlpConfig {
        input_dim: 13,
        output_dim: 1,
        hidden: vec![50],
        activation: Activation::Relu,
        init: Init::He,
        dropout: 0.1,
        head: HeadKind::GaussianLearned,
        noise_precision: 4.0,
    };
    let net = Network::mlp(&cfg);
    let groups = net.param_groups();
    let want: Vec<(String, std::ops::Range<usize>)> = vec![
        ("dense0.weight".into(), 0..650),
        ("dense0.bias".into(), 650..700),
        ("dense1.weight".into(), 700..750),
        ("dense1.bias".into(), 750..751),
        ("head.log_precision".into(), 751..752),
    ];
    assert_eq!(groups, want);
    assert_eq!(net.n_params(), 752);
    let p = net.init_params(&mut rng_from_seed(0));
    assert!(
        p[650..700].iter().all(|&b| b == 0.0) && p[750] == 0.0,
        "biases start at 0"
    );
    assert!((p[751] - 4.0f32.ln()).abs() < 1e-7);
}

#[test]
fn grads_are_overwritten_and_inputs_need_not_be_contiguous() {
    let cfg = mlp_config(HeadKind::Gaussian, Activation::Relu, 0.0);
    let mut net = Network::mlp(&cfg);
    let params = net.init_params(&mut rng_from_seed(1));
    let (x, yr, _) = batch(8, HeadKind::Gaussian, 2);
    let x = x.mapv(|v| v as f32);
    // The same values in a view with row stride 6 (not contiguous).
    let mut wide = Array2::<f32>::zeros((8, 6));
    wide.slice_mut(ndarray::s![.., ..3]).assign(&x);
    let x_strided = wide.slice(ndarray::s![.., ..3]);
    assert!(x_strided.as_slice().is_none());
    let y = Targets::Real(yr.view());
    let mut g1 = vec![f32::NAN; net.n_params()];
    let mut g2 = vec![1e30f32; net.n_params()];
    let mut rng = rng_from_seed(0);
    let l1 = net.loss_grad(&params, &mut g1, x.view(), y, Mode::Eval, &mut rng);
    let l2 = net.loss_grad(&params, &mut g2, x_strided, y, Mode::Eval, &mut rng);
    assert_eq!(l1, l2);
    assert_eq!(g1, g2);
    assert!(g1.iter().all(|g| g.is_finite()));
}

#[test]
fn predict_in_chunks_matches_row_by_row_and_mc_samples_differ() {
    let cfg = mlp_config(HeadKind::Softmax, Activation::Relu, 0.3);
    let mut net = Network::mlp(&cfg);
    let params = net.init_params(&mut rng_from_seed(1));
    let rows = network::PREDICT_CHUNK * 2 + 37;
    let (x, _, _) = batch(rows, HeadKind::Softmax, 3);
    let x = x.mapv(|v| v as f32);
    let mut rng = rng_from_seed(0);
    let mut out = HeadOutput::Gaussian {
        mean: vec![],
        var: vec![],
    };
    net.predict(&params, x.view(), Mode::Eval, &mut rng, &mut out);
    let HeadOutput::Categorical { probs } = &out else {
        panic!("wrong variant")
    };
    assert_eq!(probs.dim(), (rows, 4));
    let mut one = HeadOutput::Categorical {
        probs: Array2::zeros((0, 4)),
    };
    for i in [0, 511, 512, rows - 1] {
        net.predict(
            &params,
            x.slice(ndarray::s![i..i + 1, ..]),
            Mode::Eval,
            &mut rng,
            &mut one,
        );
        let HeadOutput::Categorical { probs: p1 } = &one else {
            panic!()
        };
        assert_eq!(p1.row(0), probs.row(i));
        assert!((p1.row(0).sum() - 1.0).abs() < 1e-6);
    }
    // MC dropout: two samples differ; Eval is deterministic.
    let mut a = out.clone();
    let mut b = out.clone();
    net.predict(&params, x.view(), Mode::McSample, &mut rng, &mut a);
    net.predict(&params, x.view(), Mode::McSample, &mut rng, &mut b);
    assert_ne!(a, b);
    net.predict(&params, x.view(), Mode::Eval, &mut rng, &mut a);
    assert_eq!(a, out);
}

#[test]
fn gaussian_predict_gives_mean_and_noise_variance() {
    let mut cfg = mlp_config(HeadKind::GaussianFixed, Activation::Tanh, 0.0);
    cfg.noise_precision = 4.0;
    let mut net = Network::mlp(&cfg);
    let params = net.init_params(&mut rng_from_seed(1));
    let (x, _, _) = batch(3, HeadKind::GaussianFixed, 3);
    let x = x.mapv(|v| v as f32);
    let mut out = HeadOutput::Gaussian {
        mean: vec![],
        var: vec![],
    };
    let mut rng = rng_from_seed(0);
    net.predict(&params, x.view(), Mode::Eval, &mut rng, &mut out);
    let HeadOutput::Gaussian { mean, var } = &out else {
        panic!()
    };
    assert_eq!(var, &vec![0.25; 3]);
    // The mean is the network output: the fixed-noise NLL of target = mean is ½(ln 2π − ln 4).
    let y = Array1::from(mean.clone());
    let l = net.loss(
        &params,
        x.view(),
        Targets::Real(y.view()),
        Mode::Eval,
        &mut rng,
    );
    assert!((l - 0.5 * ((2.0 * std::f64::consts::PI).ln() - 4.0f64.ln())).abs() < 1e-6);
}

mod alloc_count {
    //! Counts heap allocations made by the current thread while counting is switched on.
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    pub struct Counting;

    thread_local! {
        static ON: Cell<bool> = const { Cell::new(false) };
        static COUNT: Cell<usize> = const { Cell::new(0) };
    }

    // SAFETY: forwards to the system allocator; the thread-locals are const-initialised Cells
    // without destructors, so touching them never allocates.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            if ON.with(Cell::get) {
                COUNT.with(|c| c.set(c.get() + 1));
            }
            unsafe { System.alloc(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            unsafe { System.dealloc(ptr, layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            if ON.with(Cell::get) {
                COUNT.with(|c| c.set(c.get() + 1));
            }
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    #[global_allocator]
    static GLOBAL: Counting = Counting;

    /// Number of allocations `f` makes on this thread.
    pub fn count(f: impl FnOnce()) -> usize {
        COUNT.with(|c| c.set(0));
        ON.with(|o| o.set(true));
        f();
        ON.with(|o| o.set(false));
        COUNT.with(Cell::get)
    }
}

/// Products below `gemm::SMALL_WORK` (all of this small network's) go to OpenBLAS, which keeps
/// its buffers; larger ones go to `matrixmultiply`, which allocates one packing buffer inside each
/// call (a library internal, reused by the system allocator, negligible next to such a product).
/// Everything bayeslab itself does in a step is covered here.
#[test]
fn loss_grad_allocates_nothing_in_steady_state() {
    for (head, dropout) in [(HeadKind::Softmax, 0.5), (HeadKind::GaussianLearned, 0.0)] {
        let cfg = mlp_config(head, Activation::Relu, dropout);
        let mut net = Network::mlp(&cfg);
        let params = net.init_params(&mut rng_from_seed(1));
        let mut grads = vec![0.0f32; net.n_params()];
        let (x, yr, yc) = batch(32, head, 3);
        let x = x.mapv(|v| v as f32);
        let y = if head == HeadKind::Softmax {
            Targets::Class(&yc)
        } else {
            Targets::Real(yr.view())
        };
        let mut rng = rng_from_seed(0);
        // The first call grows the buffers; later calls (same or smaller batches) must not.
        net.loss_grad(&params, &mut grads, x.view(), y, Mode::Train, &mut rng);
        let n = alloc_count::count(|| {
            for _ in 0..3 {
                net.loss_grad(&params, &mut grads, x.view(), y, Mode::Train, &mut rng);
            }
        });
        assert_eq!(n, 0, "{head:?}: loss_grad allocated {n} times");
    }
}

/// An MC-dropout pass of the evaluator (masks drawn, forward, folded into the categorical
/// predictives of the test and an OOD part) allocates nothing once the buffers exist: T passes
/// cost T forwards, not T allocations.
#[test]
fn mc_dropout_evaluation_passes_allocate_nothing_after_the_first() {
    use crate::data::{Dataset, Prepared, Standardizer, TargetValues};
    use crate::method::Evaluator;
    let cfg = mlp_config(HeadKind::Softmax, Activation::Relu, 0.5);
    let mut net = Network::mlp(&cfg);
    let params = net.init_params(&mut rng_from_seed(1));
    let (x, _, labels) = batch(24, HeadKind::Softmax, 3);
    let x = x.mapv(|v| v as f32);
    let part = |x: Array2<f32>, labels: Vec<u32>| Dataset {
        feature_names: (0..3).map(|k| k.to_string()).collect(),
        target_name: "y".into(),
        y: TargetValues::Class {
            labels,
            n_classes: 4,
            names: (0..4).map(|k| k.to_string()).collect(),
        },
        x,
    };
    let data = Prepared {
        train: part(x.clone(), labels.clone()),
        valid: part(Array2::zeros((0, 3)), Vec::new()),
        test: part(x.clone(), labels),
        scaler: Standardizer::identity(3),
        ood: vec![("far".into(), x.mapv(|v| v + 3.0))],
    };
    let mut eval = Evaluator::new(&data, None, false);
    let mut rng = rng_from_seed(0);
    let mut pass = |eval: &mut Evaluator| {
        eval.add_sample(
            &mut net,
            &params,
            Mode::McSample,
            &mut rng,
            &data,
            None,
            None,
        );
        eval.add_mc_pass(&mut net, &params, &mut rng, &data, None);
    };
    pass(&mut eval);
    let n = alloc_count::count(|| {
        for _ in 0..5 {
            pass(&mut eval);
        }
    });
    assert_eq!(n, 0, "5 MC-dropout passes allocated {n} times");
}

/// Passes that share the deterministic prefix give the bits of passes that recompute it, over
/// several chunks of rows (1,100 rows = 3 chunks of at most [`PREDICT_CHUNK`]), and draw the same
/// masks; a new input shape refills the prefix.
#[test]
fn mc_passes_sharing_the_prefix_equal_passes_recomputing_it() {
    let cfg = mlp_config(HeadKind::Softmax, Activation::Relu, 0.5);
    let mut net = Network::mlp(&cfg);
    let params = net.init_params(&mut rng_from_seed(1));
    let mut prefix = SharedPrefix::default();
    for rows in [1100, 7] {
        let (x, _, _) = batch(rows, HeadKind::Softmax, rows as u64);
        let x = x.mapv(|v| v as f32);
        let (mut a, mut b) = (rng_from_seed(5), rng_from_seed(5));
        let mut recomputed = HeadOutput::Categorical {
            probs: Array2::zeros((0, 0)),
        };
        let mut shared = recomputed.clone();
        for _ in 0..3 {
            net.predict(&params, x.view(), Mode::McSample, &mut a, &mut recomputed);
            net.predict_sharing_prefix(
                &params,
                x.view(),
                Mode::McSample,
                &mut b,
                &mut shared,
                &mut prefix,
            );
            assert_eq!(recomputed, shared, "{rows} rows");
        }
        assert_eq!(
            rand::Rng::next_u64(&mut a),
            rand::Rng::next_u64(&mut b),
            "the same masks were drawn"
        );
    }
}

#[test]
fn xavier_and_he_layers_use_fan_in_and_fan_out() {
    // Whole-network init: the second dense layer (5 → 4) of the Xavier MLP lies in ±√(6/9).
    let net = Network::mlp(&mlp_config(HeadKind::Softmax, Activation::Relu, 0.0));
    let p = net.init_params(&mut rng_from_seed(7));
    let groups = net.param_groups();
    let (_, r) = groups.iter().find(|(n, _)| n == "dense1.weight").unwrap();
    let a = (6.0f32 / 9.0).sqrt();
    assert!(p[r.clone()].iter().all(|w| w.abs() <= a));
    assert!(p[r.clone()].iter().any(|w| w.abs() > 0.5 * a));
}

#[test]
fn network_is_send_and_clone_and_clones_are_independent() {
    fn assert_send_clone<N: Send + Clone>() {}
    assert_send_clone::<Network>();
    let cfg = mlp_config(HeadKind::Softmax, Activation::Relu, 0.5);
    let mut net = Network::mlp(&cfg);
    let params = net.init_params(&mut rng_from_seed(1));
    let (x, _, yc) = batch(4, HeadKind::Softmax, 3);
    let x = x.mapv(|v| v as f32);
    let y = Targets::Class(&yc);
    let mut grads = vec![0.0f32; net.n_params()];
    // A training step fills the buffers and the dropout masks the clone starts from.
    let loss = net.loss_grad(
        &params,
        &mut grads,
        x.view(),
        y,
        Mode::Train,
        &mut rng_from_seed(4),
    );
    let before = format!("{net:?}");

    // A clone moved to another thread computes the same loss, then takes a step of its own on a
    // larger batch (its buffers grow, its masks are redrawn).
    let mut moved = net.clone();
    let (x8, _, yc8) = batch(8, HeadKind::Softmax, 5);
    let x8 = x8.mapv(|v| v as f32);
    let (p, xv, x8v) = (&params, x.view(), x8.view());
    let (there, moved_state) = std::thread::scope(|scope| {
        scope
            .spawn(move || {
                let there = moved.loss(p, xv, y, Mode::Train, &mut rng_from_seed(4));
                let mut g = vec![0.0f32; moved.n_params()];
                let y8 = Targets::Class(&yc8);
                moved.loss_grad(p, &mut g, x8v, y8, Mode::Train, &mut rng_from_seed(9));
                (there, format!("{moved:?}"))
            })
            .join()
            .unwrap()
    });
    assert_eq!(there, loss);
    assert_ne!(moved_state, before, "the clone's state changed");
    // The original is untouched: same state, same step.
    assert_eq!(format!("{net:?}"), before);
    let mut again = vec![0.0f32; net.n_params()];
    let loss_again = net.loss_grad(
        &params,
        &mut again,
        x.view(),
        y,
        Mode::Train,
        &mut rng_from_seed(4),
    );
    assert_eq!((loss_again, again), (loss, grads));
}
