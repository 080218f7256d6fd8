//! The fused dense stack: neuralforecast's block MLP (`Linear`, then per hidden layer `Linear` +
//! activation (+ dropout), then the output `Linear`; no activation after the first layer), with
//! a hand-written backward. Forward per layer: the bias written into the output rows, one
//! `gemm` accumulating `X · Wᵀ` onto it, the activation in place. Backward per layer: the
//! activation's derivative (from its output) and the dropout mask applied to the incoming
//! gradient, then `dW = Gᵀ X` and `dX = G W` as two `gemm` calls on transposed views (no
//! copies), `db` as column sums; the gradient buffers are overwritten, never zero-filled first.

use super::matmul::{matmul, View, ViewMut};
use super::{ops, ParamLayout};
use crate::config::Activation;
use crate::layers::{block_mlp_sizes, linear_layer_indices};
use crate::rng::Rng;
use crate::Result;

/// One `nn.Linear(n_in, n_out)`: where its weight (`[n_out, n_in]`) and bias live.
#[derive(Debug, Clone)]
struct Linear {
    w: std::ops::Range<usize>,
    b: std::ops::Range<usize>,
    n_in: usize,
    n_out: usize,
}

/// A block MLP over the engine's flat weights, with the buffers its backward needs.
#[derive(Debug, Clone)]
pub(crate) struct Mlp {
    layers: Vec<Linear>,
    activation: Activation,
    dropout: f64,
    /// Output of each layer (after its activation), `[b, n_out]`.
    post: Vec<Vec<f32>>,
    /// Dropout keep-scales of each hidden layer (empty when not dropping).
    mask: Vec<Vec<f32>>,
    /// Each hidden layer's output after dropout (the next layer's input; empty when not
    /// dropping).
    dropped: Vec<Vec<f32>>,
    /// Gradient scratch.
    g: Vec<f32>,
    g_next: Vec<f32>,
    /// Rows of the last forward.
    rows: usize,
    /// Whether the matmuls see bf16-rounded operands (weights, inputs, gradients).
    bf16: bool,
    /// Leading outputs of the last layer that nobody reads (the last block's backcast): not
    /// computed, and their gradient is known to be zero.
    unused: usize,
    /// The bf16-rounded weights and layer inputs of the last forward, and a rounded gradient.
    wq: Vec<Vec<f32>>,
    xq: Vec<Vec<f32>>,
    gq: Vec<f32>,
}

impl Mlp {
    /// The MLP from `n_in` through `mlp_units` to `n_out` whose weights are named
    /// `{prefix}.layers.{j}.weight`/`.bias` in `layout` (the candle path's names).
    pub(crate) fn new(
        layout: &ParamLayout,
        prefix: &str,
        n_in: usize,
        mlp_units: &[[usize; 2]],
        n_out: usize,
        activation: Activation,
        dropout: f64,
    ) -> Result<Self> {
        let idx = linear_layer_indices(mlp_units.len(), dropout > 0.0);
        let layers = idx
            .iter()
            .zip(block_mlp_sizes(n_in, mlp_units, n_out))
            .map(|(j, (fan_in, fan_out))| {
                Ok(Linear {
                    w: layout.find(&format!("{prefix}.layers.{j}.weight"), fan_in * fan_out)?,
                    b: layout.find(&format!("{prefix}.layers.{j}.bias"), fan_out)?,
                    n_in: fan_in,
                    n_out: fan_out,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let n = layers.len();
        Ok(Self {
            layers,
            activation,
            dropout,
            post: vec![Vec::new(); n],
            mask: vec![Vec::new(); n],
            dropped: vec![Vec::new(); n],
            g: Vec::new(),
            g_next: Vec::new(),
            rows: 0,
            bf16: false,
            unused: 0,
            wq: vec![Vec::new(); n],
            xq: vec![Vec::new(); n],
            gq: Vec::new(),
        })
    }

    /// Runs the matmuls on bf16-rounded operands (f32 accumulation, f32 master weights and
    /// biases, f32 activations between layers) or, with `false`, in plain f32.
    pub(crate) fn set_bf16(&mut self, on: bool) {
        self.bf16 = on;
    }

    /// Declares the first `n` outputs unread: the forward leaves them at the bias and skips
    /// their products, and the backward takes their gradient as zero (the caller guarantees
    /// it is) and skips their products too.
    pub(crate) fn set_unused_leading_outputs(&mut self, n: usize) {
        self.unused = n.min(self.n_out());
    }

    /// Width of the output.
    pub(crate) fn n_out(&self) -> usize {
        self.layers.last().map_or(0, |l| l.n_out)
    }

    /// Whether layer `i` has the activation (the hidden layers: not the first, not the last).
    fn is_hidden(&self, i: usize) -> bool {
        i >= 1 && i + 1 < self.layers.len()
    }

    /// Forward of `b` rows of `input` (`[b, n_in]`); dropout drawn from `rng` when given, in
    /// the candle path's order (row-major, one draw per element). Returns the `[b, n_out]`
    /// output.
    pub(crate) fn forward(
        &mut self,
        weights: &[f32],
        input: &[f32],
        b: usize,
        mut rng: Option<&mut Rng>,
    ) -> Result<&[f32]> {
        self.rows = b;
        for i in 0..self.layers.len() {
            let layer = self.layers[i].clone();
            let mut out = std::mem::take(&mut self.post[i]);
            out.resize(b * layer.n_out, 0.0);
            ops::fill_rows(&mut out, &weights[layer.b.clone()]);
            let skip = if i + 1 == self.layers.len() {
                self.unused
            } else {
                0
            };
            let kept = layer.n_out - skip;
            let dst = ViewMut {
                data: &mut out,
                off: skip,
                rows: b,
                cols: kept,
                rs: layer.n_out,
                cs: 1,
            };
            if self.bf16 {
                let mut xq = std::mem::take(&mut self.xq[i]);
                ops::round_bf16(self.layer_input(i, input), &mut xq);
                ops::round_bf16(&weights[layer.w.clone()], &mut self.wq[i]);
                let w = View::rows(&self.wq[i][skip * layer.n_in..], kept, layer.n_in);
                matmul(dst, View::rows(&xq, b, layer.n_in), w.t(), true, 1.0)?;
                self.xq[i] = xq;
            } else {
                let x = self.layer_input(i, input);
                let w = &weights[layer.w.start + skip * layer.n_in..layer.w.end];
                let w = View::rows(w, kept, layer.n_in);
                matmul(dst, View::rows(x, b, layer.n_in), w.t(), true, 1.0)?;
            }
            let hidden = self.is_hidden(i);
            if hidden {
                ops::activate(self.activation, &mut out);
            }
            self.mask[i].clear();
            self.dropped[i].clear();
            if hidden && self.dropout > 0.0 {
                if let Some(r) = rng.as_deref_mut() {
                    let keep = (1.0 / (1.0 - self.dropout)) as f32;
                    let p = self.dropout;
                    self.mask[i].extend((0..out.len()).map(|_| {
                        if r.next_f64() < p {
                            0.0
                        } else {
                            keep
                        }
                    }));
                    self.dropped[i].extend(out.iter().zip(&self.mask[i]).map(|(a, m)| a * m));
                }
            }
            self.post[i] = out;
        }
        Ok(&self.post[self.layers.len() - 1])
    }

    /// The input of layer `i` in the last forward.
    fn layer_input<'s>(&'s self, i: usize, input: &'s [f32]) -> &'s [f32] {
        if i == 0 {
            input
        } else if !self.dropped[i - 1].is_empty() {
            &self.dropped[i - 1]
        } else {
            &self.post[i - 1]
        }
    }

    /// Backward of the last forward (whose input was `input`): `dout` (`[b, n_out]`) is the
    /// gradient of the output; writes every layer's weight and bias gradient into `grads` and,
    /// when `dinput` is given, the input's gradient (`[b, n_in]`) into it.
    pub(crate) fn backward(
        &mut self,
        weights: &[f32],
        input: &[f32],
        dout: &[f32],
        grads: &mut [f32],
        dinput: Option<&mut Vec<f32>>,
    ) -> Result<()> {
        let b = self.rows;
        let mut g = std::mem::take(&mut self.g);
        let mut g_next = std::mem::take(&mut self.g_next);
        g.clear();
        g.extend_from_slice(dout);
        let mut dinput = dinput;
        for i in (0..self.layers.len()).rev() {
            let layer = self.layers[i].clone();
            if self.is_hidden(i) {
                if !self.mask[i].is_empty() {
                    ops::mul_in_place(&mut g, &self.mask[i]);
                }
                ops::activation_backward(self.activation, &self.post[i], &mut g);
            }
            // bf16: the matmuls read the rounded gradient, input and weights.
            let mut gq = std::mem::take(&mut self.gq);
            if self.bf16 {
                ops::round_bf16(&g, &mut gq);
            }
            let (gm, x, w): (&[f32], &[f32], &[f32]) = if self.bf16 {
                (&gq, &self.xq[i], &self.wq[i])
            } else {
                (&g, self.layer_input(i, input), &weights[layer.w.clone()])
            };
            let skip = if i + 1 == self.layers.len() {
                self.unused
            } else {
                0
            };
            let kept = layer.n_out - skip;
            let g_kept = View {
                data: gm,
                off: skip,
                rows: b,
                cols: kept,
                rs: layer.n_out,
                cs: 1,
            };
            // dW [n_out, n_in] = Gᵀ [n_out, b] · X [b, n_in], written as its transpose
            // dWᵀ = Xᵀ G into a column-major view (gemm runs this layout 5-10% faster); the
            // unread outputs' rows are zero.
            let (dw_unused, dw_kept) = grads[layer.w.clone()].split_at_mut(skip * layer.n_in);
            dw_unused.fill(0.0);
            matmul(
                ViewMut {
                    data: dw_kept,
                    off: 0,
                    rows: layer.n_in,
                    cols: kept,
                    rs: 1,
                    cs: layer.n_in,
                },
                View::rows(x, b, layer.n_in).t(),
                g_kept,
                false,
                1.0,
            )?;
            ops::column_sums(&g, layer.n_out, &mut grads[layer.b.clone()]);
            let target: Option<&mut Vec<f32>> = if i > 0 {
                Some(&mut g_next)
            } else {
                dinput.as_deref_mut()
            };
            if let Some(t) = target {
                t.resize(b * layer.n_in, 0.0);
                // dX [b, n_in] = G [b, n_out] · W [n_out, n_in] (the read outputs only)
                matmul(
                    ViewMut::rows(t, b, layer.n_in),
                    g_kept,
                    View::rows(&w[skip * layer.n_in..], kept, layer.n_in),
                    false,
                    1.0,
                )?;
            }
            self.gq = gq;
            if i > 0 {
                std::mem::swap(&mut g, &mut g_next);
            }
        }
        self.g = g;
        self.g_next = g_next;
        Ok(())
    }
}
