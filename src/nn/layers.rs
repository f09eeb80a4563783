//! Layers: the [`Layer`] trait and its implementations (dense, activation, dropout).
//!
//! Data flow is row-major matrices in flat slices: a layer maps `rows × in_dim` to
//! `rows × out_dim`. The network owns each layer's input and output buffers and hands them to
//! `backward`; anything else backward needs (a dropout mask, recurrent gates) the layer caches
//! itself during `forward`, in buffers that only grow. Parameters and gradients are the layer's
//! own range of the network's flat buffers.
//!
//! **Recurrent layers** (LSTM) fit this contract as follows: a sequence chunk of `T` time steps
//! for a batch of `B` sequences is `T·B` rows in *time-major* order (row `t·B + b` is step `t` of
//! sequence `b`), and [`Pass::time_steps`] is `T` (so `B = rows / T`). The layer walks the steps
//! itself, caches gates and states for backward, and keeps the last hidden and cell state of each
//! sequence to start the next chunk (truncated backpropagation through time: gradients stop at the
//! chunk boundary). [`Layer::reset_state`] zeroes that state at sequence (epoch) boundaries. An
//! embedding layer reads token ids stored as floats (exact in f32 below 2²⁴).

use super::gemm::Real;
use super::init::fill_weights;
use super::{Activation, Init, Mode};
use crate::rng::Rng;
use std::ops::Range;

/// Shape and purpose of one forward/backward pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pass {
    /// Number of rows (`T·B` for sequences).
    pub rows: usize,
    /// Time steps per chunk: 1 for feed-forward data; `T` for time-major sequence chunks.
    pub time_steps: usize,
    pub mode: Mode,
}

/// One differentiable layer.
///
/// `forward` reads `input` (`rows × in_dim`) and its parameters and writes `output`
/// (`rows × out_dim`). `backward`, called after the `forward` of the same batch, reads
/// `d_output = ∂L/∂output`, *overwrites* its parameter gradients `grads` (same layout as its
/// parameters) and, when `d_input` is given, overwrites it with `∂L/∂input`. Neither allocates once
/// its buffers have reached the largest batch size.
pub trait Layer<T: Real> {
    fn in_dim(&self) -> usize;
    fn out_dim(&self) -> usize;
    /// Number of parameters (the length of this layer's range in the flat buffer).
    fn n_params(&self) -> usize {
        0
    }
    /// Named parameter groups, ranges relative to this layer's own slice.
    fn param_groups(&self) -> Vec<(&'static str, Range<usize>)> {
        Vec::new()
    }
    /// Writes initial values into this layer's parameter slice.
    fn init_params(&self, _params: &mut [T], _rng: &mut Rng) {}
    fn forward(&mut self, params: &[T], input: &[T], output: &mut [T], pass: &Pass, rng: &mut Rng);
    #[allow(clippy::too_many_arguments)]
    fn backward(
        &mut self,
        params: &[T],
        grads: &mut [T],
        input: &[T],
        output: &[T],
        d_output: &[T],
        d_input: Option<&mut [T]>,
        pass: &Pass,
    );
    /// Forgets state carried across chunks (recurrent layers); a no-op for stateless layers.
    fn reset_state(&mut self) {}
}

/// Fully connected layer `Y = X W + 1 bᵀ`, `W` stored `in_dim × out_dim` row-major, then `b`.
///
/// Backward: `∂L/∂W = Xᵀ ∂L/∂Y`, `∂L/∂b = Σ_rows ∂L/∂Y`, `∂L/∂X = ∂L/∂Y Wᵀ`.
#[derive(Clone, Debug)]
pub struct Dense {
    pub in_dim: usize,
    pub out_dim: usize,
    pub init: Init,
}

impl<T: Real> Layer<T> for Dense {
    fn in_dim(&self) -> usize {
        self.in_dim
    }
    fn out_dim(&self) -> usize {
        self.out_dim
    }
    fn n_params(&self) -> usize {
        self.in_dim * self.out_dim + self.out_dim
    }
    fn param_groups(&self) -> Vec<(&'static str, Range<usize>)> {
        let w = self.in_dim * self.out_dim;
        vec![("weight", 0..w), ("bias", w..w + self.out_dim)]
    }
    fn init_params(&self, params: &mut [T], rng: &mut Rng) {
        let (w, b) = params.split_at_mut(self.in_dim * self.out_dim);
        fill_weights(w, self.init, self.in_dim, self.out_dim, rng);
        b.fill(T::zero());
    }
    fn forward(&mut self, params: &[T], input: &[T], output: &mut [T], pass: &Pass, _: &mut Rng) {
        let (n_in, n_out, rows) = (self.in_dim, self.out_dim, pass.rows);
        let (w, b) = params.split_at(n_in * n_out);
        let out = &mut output[..rows * n_out];
        for row in out.chunks_exact_mut(n_out) {
            row.copy_from_slice(b);
        }
        T::gemm(
            false,
            false,
            rows,
            n_out,
            n_in,
            T::one(),
            input,
            n_in,
            w,
            n_out,
            T::one(),
            out,
            n_out,
        );
    }
    fn backward(
        &mut self,
        params: &[T],
        grads: &mut [T],
        input: &[T],
        _output: &[T],
        d_output: &[T],
        d_input: Option<&mut [T]>,
        pass: &Pass,
    ) {
        let (n_in, n_out, rows) = (self.in_dim, self.out_dim, pass.rows);
        let (gw, gb) = grads.split_at_mut(n_in * n_out);
        let dy = &d_output[..rows * n_out];
        T::gemm(
            true,
            false,
            n_in,
            n_out,
            rows,
            T::one(),
            input,
            n_in,
            dy,
            n_out,
            T::zero(),
            gw,
            n_out,
        );
        let gb = &mut gb[..n_out];
        gb.fill(T::zero());
        for row in dy.chunks_exact(n_out) {
            for (g, &d) in gb.iter_mut().zip(row) {
                *g += d;
            }
        }
        if let Some(dx) = d_input {
            let w = &params[..n_in * n_out];
            T::gemm(
                false,
                true,
                rows,
                n_in,
                n_out,
                T::one(),
                dy,
                n_out,
                w,
                n_out,
                T::zero(),
                dx,
                n_in,
            );
        }
    }
}

/// Element-wise nonlinearity (formulas on [`Activation`]). Backward uses only the output:
/// ReLU `∂y/∂x = [y > 0]`, tanh `1 − y²`, sigmoid `y(1 − y)`, identity `1`.
#[derive(Clone, Debug)]
pub struct ActivationLayer {
    pub kind: Activation,
    pub dim: usize,
}

impl<T: Real> Layer<T> for ActivationLayer {
    fn in_dim(&self) -> usize {
        self.dim
    }
    fn out_dim(&self) -> usize {
        self.dim
    }
    fn forward(&mut self, _: &[T], input: &[T], output: &mut [T], pass: &Pass, _: &mut Rng) {
        let n = pass.rows * self.dim;
        let (x, y) = (&input[..n], &mut output[..n]);
        // One match per call, then a plain loop the compiler vectorises.
        match self.kind {
            Activation::Relu => {
                let zero = T::zero();
                for (y, &x) in y.iter_mut().zip(x) {
                    *y = if x > zero { x } else { zero };
                }
            }
            Activation::Tanh => {
                for (y, &x) in y.iter_mut().zip(x) {
                    *y = x.tanh();
                }
            }
            Activation::Sigmoid => {
                let one = T::one();
                for (y, &x) in y.iter_mut().zip(x) {
                    *y = one / (one + (-x).exp());
                }
            }
            Activation::Identity => y.copy_from_slice(x),
        }
    }
    fn backward(
        &mut self,
        _: &[T],
        _: &mut [T],
        _: &[T],
        output: &[T],
        d_output: &[T],
        d_input: Option<&mut [T]>,
        pass: &Pass,
    ) {
        let Some(dx) = d_input else { return };
        let n = pass.rows * self.dim;
        let (y, dy, dx) = (&output[..n], &d_output[..n], &mut dx[..n]);
        let one = T::one();
        match self.kind {
            Activation::Relu => {
                let zero = T::zero();
                for ((dx, &dy), &y) in dx.iter_mut().zip(dy).zip(y) {
                    *dx = if y > zero { dy } else { zero };
                }
            }
            Activation::Tanh => {
                for ((dx, &dy), &y) in dx.iter_mut().zip(dy).zip(y) {
                    *dx = dy * (one - y * y);
                }
            }
            Activation::Sigmoid => {
                for ((dx, &dy), &y) in dx.iter_mut().zip(dy).zip(y) {
                    *dx = dy * y * (one - y);
                }
            }
            Activation::Identity => dx.copy_from_slice(dy),
        }
    }
}

/// Inverted dropout (Srivastava et al. 2014): in `Train` and `McSample` each element is kept with
/// probability `1 − p` and scaled by `1/(1 − p)`, `y = x·m`, `m ∈ {0, 1/(1 − p)}`, so
/// `E[y] = x`; in `Eval`, `y = x`. Backward: `∂L/∂x = m·∂L/∂y` with the mask of the forward pass.
///
/// A mask element keeps when a uniform 32-bit draw `u ≥ p·2³²`, so the drop probability is `p`
/// up to 2⁻³².
#[derive(Clone, Debug)]
pub struct Dropout {
    pub p: f32,
    pub dim: usize,
    /// `0` or `1/(1−p)` in f32 (one layer type serves the f32 and f64 builds).
    mask: Vec<f32>,
    /// The 32-bit draws of the last mask, filled in one bulk call of the generator (the same
    /// words, in the same order, as one draw per element would take).
    draws: Vec<u32>,
    /// Whether the last forward applied a mask (stochastic mode and `p > 0`).
    active: bool,
}

impl Dropout {
    pub fn new(p: f32, dim: usize) -> Self {
        assert!(
            (0.0..1.0).contains(&p),
            "dropout probability must be in [0, 1), got {p}"
        );
        Dropout {
            p,
            dim,
            mask: Vec::new(),
            draws: Vec::new(),
            active: false,
        }
    }
}

impl<T: Real> Layer<T> for Dropout {
    fn in_dim(&self) -> usize {
        self.dim
    }
    fn out_dim(&self) -> usize {
        self.dim
    }
    fn forward(&mut self, _: &[T], input: &[T], output: &mut [T], pass: &Pass, rng: &mut Rng) {
        let n = pass.rows * self.dim;
        let (x, y) = (&input[..n], &mut output[..n]);
        self.active = pass.mode.stochastic() && self.p > 0.0;
        if !self.active {
            y.copy_from_slice(x);
            return;
        }
        if self.mask.len() < n {
            self.mask.resize(n, 0.0);
            self.draws.resize(n, 0);
        }
        let threshold = (f64::from(self.p) * 4_294_967_296.0).round() as u64;
        let scale = 1.0 / (1.0 - self.p);
        let (mask, draws) = (&mut self.mask[..n], &mut self.draws[..n]);
        // One bulk fill: ChaCha's words in stream order, as next_u32 would give them one by one.
        rand::RngExt::fill(rng, draws);
        let scale_t = T::from_f(f64::from(scale));
        for (((y, &x), m), &u) in y.iter_mut().zip(x).zip(mask.iter_mut()).zip(draws.iter()) {
            let keep = u64::from(u) >= threshold;
            *m = if keep { scale } else { 0.0 };
            // x · 0 as before, not a literal 0, so a negative input keeps its signed zero.
            *y = x * if keep { scale_t } else { T::zero() };
        }
    }
    fn backward(
        &mut self,
        _: &[T],
        _: &mut [T],
        _: &[T],
        _: &[T],
        d_output: &[T],
        d_input: Option<&mut [T]>,
        pass: &Pass,
    ) {
        let Some(dx) = d_input else { return };
        let n = pass.rows * self.dim;
        let (dy, dx) = (&d_output[..n], &mut dx[..n]);
        if !self.active {
            dx.copy_from_slice(dy);
            return;
        }
        for ((dx, &dy), &m) in dx.iter_mut().zip(dy).zip(&self.mask[..n]) {
            *dx = dy * T::from_f(f64::from(m));
        }
    }
}

/// The layers a network can hold; static dispatch per layer call (one `match`), never per element.
#[derive(Clone, Debug)]
pub enum AnyLayer {
    Dense(Dense),
    Activation(ActivationLayer),
    Dropout(Dropout),
}

macro_rules! dispatch {
    ($self:ident, $l:ident => $e:expr) => {
        match $self {
            AnyLayer::Dense($l) => $e,
            AnyLayer::Activation($l) => $e,
            AnyLayer::Dropout($l) => $e,
        }
    };
}

impl AnyLayer {
    /// Name prefix of this layer kind in [`super::Network::param_groups`].
    pub fn kind_name(&self) -> &'static str {
        match self {
            AnyLayer::Dense(_) => "dense",
            AnyLayer::Activation(_) => "activation",
            AnyLayer::Dropout(_) => "dropout",
        }
    }
}

impl<T: Real> Layer<T> for AnyLayer {
    fn in_dim(&self) -> usize {
        dispatch!(self, l => Layer::<T>::in_dim(l))
    }
    fn out_dim(&self) -> usize {
        dispatch!(self, l => Layer::<T>::out_dim(l))
    }
    fn n_params(&self) -> usize {
        dispatch!(self, l => Layer::<T>::n_params(l))
    }
    fn param_groups(&self) -> Vec<(&'static str, Range<usize>)> {
        dispatch!(self, l => Layer::<T>::param_groups(l))
    }
    fn init_params(&self, params: &mut [T], rng: &mut Rng) {
        dispatch!(self, l => l.init_params(params, rng))
    }
    #[inline]
    fn forward(&mut self, params: &[T], input: &[T], output: &mut [T], pass: &Pass, rng: &mut Rng) {
        dispatch!(self, l => l.forward(params, input, output, pass, rng))
    }
    #[inline]
    fn backward(
        &mut self,
        params: &[T],
        grads: &mut [T],
        input: &[T],
        output: &[T],
        d_output: &[T],
        d_input: Option<&mut [T]>,
        pass: &Pass,
    ) {
        dispatch!(self, l => l.backward(params, grads, input, output, d_output, d_input, pass))
    }
    fn reset_state(&mut self) {
        dispatch!(self, l => Layer::<T>::reset_state(l))
    }
}

#[cfg(test)]
mod tests {
    use crate::rng::rng_from_seed;
    use rand::Rng as _;

    /// The mask's bulk fill takes the generator's words in the order one 64-bit draw per pair of
    /// elements (low word first) and one 32-bit draw for an odd last element would: masks, and
    /// so every dropout result, do not depend on how the words are fetched.
    #[test]
    fn bulk_draws_are_the_words_of_one_draw_at_a_time() {
        for n in [1usize, 2, 7, 64, 1001] {
            let mut bulk = rng_from_seed(3);
            let mut one = bulk.clone();
            let mut words = vec![0u32; n];
            rand::RngExt::fill(&mut bulk, &mut words[..]);
            let mut expected = Vec::with_capacity(n);
            for _ in 0..n / 2 {
                let r = one.next_u64();
                expected.extend([(r & 0xffff_ffff) as u32, (r >> 32) as u32]);
            }
            if n % 2 == 1 {
                expected.push(one.next_u32());
            }
            assert_eq!(words, expected, "n = {n}");
            assert_eq!(
                bulk.next_u64(),
                one.next_u64(),
                "the streams continue alike"
            );
        }
    }
}
