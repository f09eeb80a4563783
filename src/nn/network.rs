//! The network: a stack of layers and a head over one flat parameter buffer.

use super::gemm::Real;
use super::heads::{AnyHead, Head};
use super::layers::{ActivationLayer, AnyLayer, Dense, Dropout, Layer, Pass};
use super::{HeadKind, HeadOutput, MlpConfig, Mode, Targets};
use crate::rng::Rng;
use ndarray::{ArrayView2, s};
use std::ops::Range;

/// Rows per chunk in [`Net::predict`], so evaluation buffers stay bounded whatever the data size.
pub const PREDICT_CHUNK: usize = 512;

/// A network in the f32 training build.
pub type Network = Net<f32>;

/// A feed-forward stack of [`Layer`]s ending in a [`Head`], generic over the float type so that
/// the gradient checks run the same code in f64.
///
/// Parameters are not stored here: every call takes the flat buffer `params` (layer `i` reads
/// `params[ranges[i]]`, the head reads the tail). Activation and gradient buffers are stored here,
/// allocated on first use and grown only when a larger batch arrives, so training steps allocate
/// nothing.
#[derive(Clone, Debug)]
pub struct Net<T: Real> {
    layers: Vec<AnyLayer>,
    /// Parameter range of each layer in the flat buffer.
    ranges: Vec<Range<usize>>,
    /// Name of each layer's parameters, e.g. `dense0`.
    names: Vec<String>,
    head: AnyHead,
    head_range: Range<usize>,
    n_params: usize,
    input_dim: usize,
    /// Row capacity of the buffers below.
    rows_cap: usize,
    /// Copy of the input when the caller's view is not contiguous row-major.
    input: Vec<T>,
    /// `acts[i]`: output of layer `i`, `rows_cap × out_dim(i)`.
    acts: Vec<Vec<T>>,
    /// `deltas[i]`: `∂L/∂acts[i]`.
    deltas: Vec<Vec<T>>,
}

/// The outputs of a network's deterministic leading layers for one input, shared by the
/// stochastic passes of [`Net::predict_sharing_prefix`].
#[derive(Clone, Debug, Default)]
pub struct SharedPrefix<T> {
    rows: usize,
    width: usize,
    acts: Vec<T>,
}

impl<T: Real> Net<T> {
    /// A multilayer perceptron as described by `cfg`: per hidden width `h`,
    /// dense(`h`) → activation → dropout (when `dropout > 0`); then a dense layer with as many
    /// outputs as the head consumes (2 for `gaussian`, 1 for the homoscedastic Gaussians,
    /// `output_dim` for softmax).
    ///
    /// Panics on an inconsistent configuration (no input, zero widths, softmax with fewer than 2
    /// classes, a Gaussian head with `output_dim ≠ 1`, dropout outside `[0, 1)`, non-positive
    /// noise precision). None reaches it from a spec or a data file: the spec's validation
    /// refuses the widths, dropout and precision, and loading the data refuses a table without a
    /// feature column or with a single class.
    pub fn mlp(cfg: &MlpConfig) -> Self {
        assert!(cfg.input_dim > 0, "mlp: input_dim must be > 0");
        assert!(
            cfg.hidden.iter().all(|&h| h > 0),
            "mlp: hidden widths must be > 0"
        );
        match cfg.head {
            HeadKind::Softmax => assert!(cfg.output_dim >= 2, "mlp: softmax needs ≥ 2 classes"),
            _ => assert_eq!(cfg.output_dim, 1, "mlp: Gaussian heads model one target"),
        }
        if matches!(
            cfg.head,
            HeadKind::GaussianFixed | HeadKind::GaussianLearned
        ) {
            assert!(
                cfg.noise_precision > 0.0 && cfg.noise_precision.is_finite(),
                "mlp: noise_precision must be finite and > 0"
            );
        }
        let head = AnyHead::new(cfg.head, cfg.output_dim, f64::from(cfg.noise_precision));
        let mut layers = Vec::new();
        let mut width = cfg.input_dim;
        for &h in &cfg.hidden {
            layers.push(AnyLayer::Dense(Dense {
                in_dim: width,
                out_dim: h,
                init: cfg.init,
            }));
            layers.push(AnyLayer::Activation(ActivationLayer {
                kind: cfg.activation,
                dim: h,
            }));
            if cfg.dropout > 0.0 {
                layers.push(AnyLayer::Dropout(Dropout::new(cfg.dropout, h)));
            }
            width = h;
        }
        layers.push(AnyLayer::Dense(Dense {
            in_dim: width,
            out_dim: Head::<T>::in_dim(&head),
            init: cfg.init,
        }));
        Self::new(cfg.input_dim, layers, head)
    }

    /// A network from explicit layers and head; consecutive widths must match.
    pub fn new(input_dim: usize, layers: Vec<AnyLayer>, head: AnyHead) -> Self {
        let mut ranges = Vec::with_capacity(layers.len());
        let mut names = Vec::with_capacity(layers.len());
        let mut counts = std::collections::BTreeMap::<&str, usize>::new();
        let mut offset = 0;
        let mut width = input_dim;
        for (i, layer) in layers.iter().enumerate() {
            assert_eq!(
                Layer::<T>::in_dim(layer),
                width,
                "layer {i} expects width {} but receives {width}",
                Layer::<T>::in_dim(layer)
            );
            width = Layer::<T>::out_dim(layer);
            let n = Layer::<T>::n_params(layer);
            ranges.push(offset..offset + n);
            offset += n;
            let count = counts.entry(layer.kind_name()).or_insert(0);
            names.push(format!("{}{}", layer.kind_name(), count));
            *count += 1;
        }
        assert_eq!(
            Head::<T>::in_dim(&head),
            width,
            "the head expects width {} but the last layer gives {width}",
            Head::<T>::in_dim(&head)
        );
        let head_range = offset..offset + Head::<T>::n_params(&head);
        let n_layers = layers.len();
        Net {
            layers,
            ranges,
            names,
            head,
            head_range: head_range.clone(),
            n_params: head_range.end,
            input_dim,
            rows_cap: 0,
            input: Vec::new(),
            acts: vec![Vec::new(); n_layers],
            deltas: vec![Vec::new(); n_layers],
        }
    }

    /// Total number of parameters (length of the flat buffer).
    pub fn n_params(&self) -> usize {
        self.n_params
    }

    /// Input width.
    pub fn input_dim(&self) -> usize {
        self.input_dim
    }

    /// The layers, in order.
    pub fn layers(&self) -> &[AnyLayer] {
        &self.layers
    }

    /// The head.
    pub fn head(&self) -> &AnyHead {
        &self.head
    }

    /// A fresh parameter buffer: weights drawn from each layer's initialisation, biases 0, head
    /// parameters at their initial values.
    pub fn init_params(&self, rng: &mut Rng) -> Vec<T> {
        let mut params = vec![T::zero(); self.n_params];
        for (layer, range) in self.layers.iter().zip(&self.ranges) {
            layer.init_params(&mut params[range.clone()], rng);
        }
        self.head.init_params(&mut params[self.head_range.clone()]);
        params
    }

    /// Names and ranges of the parameter groups in the flat buffer, in order, e.g.
    /// `("dense0.weight", 0..650)`, `("dense0.bias", 650..700)`, …, `("head.log_precision", …)`.
    pub fn param_groups(&self) -> Vec<(String, Range<usize>)> {
        let mut groups = Vec::new();
        for ((layer, range), name) in self.layers.iter().zip(&self.ranges).zip(&self.names) {
            for (group, r) in Layer::<T>::param_groups(layer) {
                groups.push((
                    format!("{name}.{group}"),
                    range.start + r.start..range.start + r.end,
                ));
            }
        }
        for (group, r) in Head::<T>::param_groups(&self.head) {
            let start = self.head_range.start;
            groups.push((format!("head.{group}"), start + r.start..start + r.end));
        }
        groups
    }

    /// Forgets state carried across chunks in every layer (recurrent layers).
    pub fn reset_state(&mut self) {
        for layer in &mut self.layers {
            Layer::<T>::reset_state(layer);
        }
    }

    /// Mean negative log-likelihood per example over the batch, and its gradient with respect to
    /// all parameters written (overwritten, not accumulated) into `grads` (length
    /// [`n_params`](Self::n_params)). Allocates nothing once the buffers have grown to the batch
    /// size.
    #[allow(clippy::too_many_arguments)]
    pub fn loss_grad(
        &mut self,
        params: &[T],
        grads: &mut [T],
        x: ArrayView2<'_, T>,
        y: Targets<'_>,
        mode: Mode,
        rng: &mut Rng,
    ) -> f64 {
        assert_eq!(
            grads.len(),
            self.n_params,
            "grads must have n_params elements"
        );
        let pass = self.forward(params, x, mode, rng);
        let last = self.layers.len() - 1;
        let head_grads = &mut grads[self.head_range.clone()];
        let head_params = &params[self.head_range.clone()];
        let loss = self.head.loss(
            head_params,
            &self.acts[last],
            y,
            pass.rows,
            Some(&mut self.deltas[last]),
            head_grads,
        );
        let input: &[T] = match x.as_slice() {
            Some(s) => s,
            None => &self.input,
        };
        for i in (0..self.layers.len()).rev() {
            let (lower, upper) = self.deltas.split_at_mut(i);
            let d_input = if i == 0 {
                None
            } else {
                lower.last_mut().map(|d| &mut d[..])
            };
            let layer_input = if i == 0 { input } else { &self.acts[i - 1][..] };
            let range = self.ranges[i].clone();
            self.layers[i].backward(
                &params[range.clone()],
                &mut grads[range],
                layer_input,
                &self.acts[i],
                &upper[0],
                d_input,
                &pass,
            );
        }
        loss
    }

    /// The same loss as [`loss_grad`](Self::loss_grad), forward only.
    pub fn loss(
        &mut self,
        params: &[T],
        x: ArrayView2<'_, T>,
        y: Targets<'_>,
        mode: Mode,
        rng: &mut Rng,
    ) -> f64 {
        let pass = self.forward(params, x, mode, rng);
        let last = self.layers.len() - 1;
        let hr = self.head_range.clone();
        self.head
            .loss(&params[hr], &self.acts[last], y, pass.rows, None, &mut [])
    }

    /// Predictive parameters for every row of `x`, written into `out` (resized and re-typed as
    /// needed, its storage reused across calls). Rows are processed in chunks of
    /// [`PREDICT_CHUNK`] so that buffers stay bounded.
    pub fn predict(
        &mut self,
        params: &[T],
        x: ArrayView2<'_, T>,
        mode: Mode,
        rng: &mut Rng,
        out: &mut HeadOutput,
    ) {
        self.predict_chunks(params, x, mode, rng, out, None);
    }

    /// Leading layers that never draw from the generator and keep no state (dense and activation
    /// layers before the first dropout): their outputs do not change between MC-dropout passes.
    fn deterministic_prefix(&self) -> usize {
        self.layers
            .iter()
            .take_while(|l| matches!(l, AnyLayer::Dense(_) | AnyLayer::Activation(_)))
            .count()
            // The last layer feeds the head; a network without stochastic layers has no passes
            // to share.
            .min(self.layers.len() - 1)
    }

    /// [`predict`](Self::predict) for repeated stochastic passes over the same `x` with the same
    /// `params` (MC dropout): the outputs of the deterministic leading layers are computed on
    /// the first call and kept in `prefix`, later calls start at the first stochastic layer. The
    /// results are the bits `predict` gives (the same chunks, the same operations). The caller
    /// keeps `prefix` for one `(params, x)` only; a new `x` shape refills it.
    pub fn predict_sharing_prefix(
        &mut self,
        params: &[T],
        x: ArrayView2<'_, T>,
        mode: Mode,
        rng: &mut Rng,
        out: &mut HeadOutput,
        prefix: &mut SharedPrefix<T>,
    ) {
        let k = self.deterministic_prefix();
        if k == 0 {
            return self.predict(params, x, mode, rng, out);
        }
        let rows = x.nrows();
        let width = Layer::<T>::out_dim(&self.layers[k - 1]);
        let fill = prefix.rows != rows || prefix.width != width;
        if fill {
            prefix.rows = rows;
            prefix.width = width;
            prefix.acts.clear();
            prefix.acts.resize(rows * width, T::zero());
        }
        self.predict_chunks(params, x, mode, rng, out, Some((prefix, k, fill)));
    }

    /// The one chunked prediction loop of [`predict`](Self::predict) and
    /// [`predict_sharing_prefix`](Self::predict_sharing_prefix): per chunk of [`PREDICT_CHUNK`]
    /// rows a whole forward pass, or with `shared = (prefix, k, fill)` one that stores the
    /// outputs of layer k − 1 (`fill`) or starts from them at layer k.
    fn predict_chunks(
        &mut self,
        params: &[T],
        x: ArrayView2<'_, T>,
        mode: Mode,
        rng: &mut Rng,
        out: &mut HeadOutput,
        mut shared: Option<(&mut SharedPrefix<T>, usize, bool)>,
    ) {
        let rows = x.nrows();
        self.head.size_output(out, rows);
        let hr = self.head_range.clone();
        let last = self.layers.len() - 1;
        let mut start = 0;
        while start < rows {
            let end = (start + PREDICT_CHUNK).min(rows);
            let pass = match &mut shared {
                None => self.forward(params, x.slice(s![start..end, ..]), mode, rng),
                Some((prefix, k, true)) => {
                    let pass = self.forward(params, x.slice(s![start..end, ..]), mode, rng);
                    let w = prefix.width;
                    prefix.acts[start * w..end * w]
                        .copy_from_slice(&self.acts[*k - 1][..(end - start) * w]);
                    pass
                }
                Some((prefix, k, false)) => {
                    self.reserve_rows(end - start);
                    let w = prefix.width;
                    self.acts[*k - 1][..(end - start) * w]
                        .copy_from_slice(&prefix.acts[start * w..end * w]);
                    self.forward_from(params, *k, end - start, mode, rng)
                }
            };
            self.head
                .predict(&params[hr.clone()], &self.acts[last], pass.rows, out, start);
            start = end;
        }
    }

    /// Runs layers `from..` on the outputs of layer `from − 1` already in `acts` (`from ≥ 1`).
    fn forward_from(
        &mut self,
        params: &[T],
        from: usize,
        rows: usize,
        mode: Mode,
        rng: &mut Rng,
    ) -> Pass {
        let pass = Pass {
            rows,
            time_steps: 1,
            mode,
        };
        for i in from..self.layers.len() {
            let (lower, upper) = self.acts.split_at_mut(i);
            self.layers[i].forward(
                &params[self.ranges[i].clone()],
                &lower[i - 1][..],
                &mut upper[0],
                &pass,
                rng,
            );
        }
        pass
    }

    /// Grows the buffers to hold `rows` rows (never shrinks).
    fn reserve_rows(&mut self, rows: usize) {
        if rows <= self.rows_cap {
            return;
        }
        self.rows_cap = rows;
        for ((layer, act), delta) in self.layers.iter().zip(&mut self.acts).zip(&mut self.deltas) {
            let n = rows * Layer::<T>::out_dim(layer);
            act.resize(n, T::zero());
            delta.resize(n, T::zero());
        }
    }

    /// Runs every layer on `x`, leaving each layer's output in `acts`.
    fn forward(&mut self, params: &[T], x: ArrayView2<'_, T>, mode: Mode, rng: &mut Rng) -> Pass {
        assert_eq!(
            params.len(),
            self.n_params,
            "params must have n_params elements"
        );
        assert_eq!(
            x.ncols(),
            self.input_dim,
            "input has {} columns, the network expects {}",
            x.ncols(),
            self.input_dim
        );
        let rows = x.nrows();
        assert!(rows > 0, "empty batch");
        self.reserve_rows(rows);
        let pass = Pass {
            rows,
            time_steps: 1,
            mode,
        };
        let input: &[T] = match x.as_slice() {
            Some(s) => s,
            None => {
                self.input.clear();
                self.input.extend(x.iter().copied());
                &self.input
            }
        };
        for i in 0..self.layers.len() {
            let (lower, upper) = self.acts.split_at_mut(i);
            let layer_input = if i == 0 { input } else { &lower[i - 1][..] };
            self.layers[i].forward(
                &params[self.ranges[i].clone()],
                layer_input,
                &mut upper[0],
                &pass,
                rng,
            );
        }
        pass
    }
}
