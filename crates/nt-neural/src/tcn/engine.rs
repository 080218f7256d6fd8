//! The plain TCN (neuralforecast's `CausalConv1d` layers, `residual: false`) on the native
//! engine, with or without exogenous channels: forward and hand-written backward over the
//! flat weights, every product one `gemm` call through [`crate::engine::matmul`].
//!
//! Layout: every encoder activation is kept **step-major over the batch**, `[L, B, C]` (row
//! `t·B + b`). Delaying a channel by `s` steps is then a shift of `s·B` rows, the same for
//! every window, so the copies a convolution reads are whole shifted row blocks.
//!
//! - **Two-tap layers** (the default kernel 2, both taps inside the window, at least
//!   8 input channels) run as Winograd F(2, 2) over the step pairs `(t, t + d)`
//!   ([`wino_inputs`]): three products over half the rows instead of two over all of them, a
//!   quarter fewer multiplications forward and backward; the transformed inputs are kept for
//!   the backward.
//! - **Other layers** gather the taps' delayed copies side by side (`[L·B, T·C_in]`, zeros
//!   before the window) and take one product with the weight packed tap-major `[T·C_in, C]`;
//!   the backward is `dW = colsᵀ · dY`, and `dX` one product of the taps' *advanced* copies of
//!   `dY` with the weight packed `[T·C, C_in]`; a layer with one tap inside the window (delay
//!   0) reads its input as it is.
//!
//! `db` is the column sums of `dY`. The context adapter `Linear(L → H)` over time is one
//! product of `[H, L]` with the last activation seen as `[L, B·C]`, giving `[H, B·C]` = the
//! decoder's `[H·B, C]` rows directly; its backward is two more products on the same views.
//! The decoder MLP (neuralforecast's `MLP`: the activation after every layer but the last)
//! runs over the `H·B` rows; the output is transposed to `[B, H, Q]` at the end.
//!
//! Every product's sums run in `gemm`'s fixed blocked order and the copies are per element,
//! so results do not depend on the thread count.

use rayon::prelude::*;

use super::TcnConfig;
use crate::arch::Architecture;
use crate::config::Activation;
use crate::engine::matmul::{matmul, View, ViewMut};
use crate::engine::{ops, ParamLayout, TrainGraph};

use super::conv_kernels::{
    gather, pack_wino, strided, strided_mut, wino_combine, wino_input_grads, wino_inputs,
    wino_out_grads,
};
use crate::rng::Rng;
use crate::{Error, Result};

/// One causal convolution: its weight (`[C, C_in, K]`) and bias ranges, and the taps that
/// reach inside the window as `(tap, delay in steps)`.
#[derive(Debug, Clone)]
struct Conv {
    w: std::ops::Range<usize>,
    b: std::ops::Range<usize>,
    c_in: usize,
    taps: Vec<(usize, usize)>,
    /// The dilation, when the layer runs as Winograd F(2, 2) (see [`wino_inputs`]): two taps,
    /// both inside the window, and enough input channels for the products to dominate.
    wino: Option<usize>,
}

/// One decoder `nn.Linear(n_in, n_out)`.
#[derive(Debug, Clone)]
struct Dense {
    w: std::ops::Range<usize>,
    b: std::ops::Range<usize>,
    n_in: usize,
    n_out: usize,
}

/// The plain TCN's training graph (see the module doc).
#[derive(Debug, Clone)]
pub(crate) struct TcnGraph {
    l: usize,
    h: usize,
    q: usize,
    c: usize,
    k: usize,
    n_hist: usize,
    n_futr: usize,
    convs: Vec<Conv>,
    ctx_w: std::ops::Range<usize>,
    ctx_b: std::ops::Range<usize>,
    dec: Vec<Dense>,
    enc_act: Activation,
    dec_act: Activation,
    /// Values in the flat weight buffer.
    n_weights: usize,
    /// Windows of the last forward.
    rows: usize,
    /// Encoder input `[L, B, C_in]`.
    x0: Vec<f32>,
    /// Each convolution's output after its activation, `[L, B, C]`.
    acts: Vec<Vec<f32>>,
    /// Context adapter output `[H, B, C]`.
    ctx: Vec<f32>,
    /// Decoder input `[H, B, C + C_futr]` (with future exogenous channels only).
    zin: Vec<f32>,
    /// Each decoder layer's output (after its activation), `[H·B, n_out]`.
    dec_post: Vec<Vec<f32>>,
    /// The `[B, H, Q]` output.
    out: Vec<f32>,
    /// A convolution's gathered delayed copies `[L·B, T·C_in]` (or the advanced copies of its
    /// output gradient, `[L·B, T·C]`).
    cols: Vec<f32>,
    /// A convolution's weight packed tap-major (`[T·C_in, C]` or `[T·C, C_in]`).
    wpack: Vec<f32>,
    /// A convolution's weight gradient, tap-major `[T·C_in, C]`.
    dw: Vec<f32>,
    /// Winograd products `[R, 3, C]` (or their gradients).
    mbuf: Vec<f32>,
    /// Each Winograd layer's transformed inputs `[R, 3, C_in]` (kept for its backward; empty
    /// for the other layers).
    us: Vec<Vec<f32>>,
    /// Gradient scratch.
    ga: Vec<f32>,
    gb: Vec<f32>,
}

impl TcnGraph {
    /// The graph for the plain (non-residual) `cfg` with `n_outputs` outputs per step over the
    /// weights of `layout` (named as [`TcnConfig`]'s `weights()` names them).
    pub(crate) fn new(cfg: &TcnConfig, n_outputs: usize, layout: &ParamLayout) -> Result<Self> {
        cfg.validate_architecture()?;
        if cfg.residual {
            return Err(Error::invalid(
                "residual",
                "the native TCN graph covers the plain layers only",
            ));
        }
        if n_outputs == 0 {
            return Err(Error::invalid("n_outputs", "must be at least 1"));
        }
        let (l, k, c) = (cfg.input_size, cfg.kernel_size, cfg.encoder_hidden_size);
        let convs = cfg
            .dilations
            .iter()
            .enumerate()
            .map(|(i, &d)| {
                let c_in = cfg.layer_in(i);
                let p = format!("hist_encoder.tcn.{i}.conv");
                Ok(Conv {
                    w: layout.find(&format!("{p}.weight"), c * c_in * k)?,
                    b: layout.find(&format!("{p}.bias"), c)?,
                    c_in,
                    taps: (0..k)
                        .map(|tap| (tap, (k - 1 - tap).saturating_mul(d)))
                        .filter(|&(_, s)| s < l)
                        .collect(),
                    wino: (k == 2 && d < l && c_in >= WINO_MIN_CHANNELS).then_some(d),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let dec = cfg
            .decoder_layers_sizes(n_outputs)
            .into_iter()
            .map(|(j, n_in, n_out)| {
                let p = format!("mlp_decoder.layers.{j}");
                Ok(Dense {
                    w: layout.find(&format!("{p}.weight"), n_in * n_out)?,
                    b: layout.find(&format!("{p}.bias"), n_out)?,
                    n_in,
                    n_out,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let n_conv = convs.len();
        let n_dec = dec.len();
        Ok(Self {
            l,
            h: cfg.horizon,
            q: n_outputs,
            c,
            k,
            n_hist: cfg.hist_exog_list.len(),
            n_futr: cfg.futr_exog_list.len(),
            convs,
            ctx_w: layout.find("context_adapter.weight", cfg.horizon * l)?,
            ctx_b: layout.find("context_adapter.bias", cfg.horizon)?,
            dec,
            enc_act: cfg.encoder_activation,
            dec_act: cfg.decoder_activation,
            n_weights: layout.len(),
            rows: 0,
            x0: Vec::new(),
            acts: vec![Vec::new(); n_conv],
            ctx: Vec::new(),
            zin: Vec::new(),
            dec_post: vec![Vec::new(); n_dec],
            out: Vec::new(),
            cols: Vec::new(),
            wpack: Vec::new(),
            dw: Vec::new(),
            mbuf: Vec::new(),
            us: vec![Vec::new(); n_conv],
            ga: Vec::new(),
            gb: Vec::new(),
        })
    }

    /// Encoder input channels.
    fn c0(&self) -> usize {
        1 + self.n_hist + self.n_futr
    }

    /// Writes the encoder input `[L, B, C_in]` (target, historic, future channels) and, with
    /// future channels, their horizon part into the decoder input's last columns.
    fn unpack(&mut self, x: &[f32], b: usize) {
        let (l, h, nh, nf) = (self.l, self.h, self.n_hist, self.n_futr);
        let c0 = self.c0();
        let w = self.input_width();
        self.x0.clear();
        self.x0.resize(l * b * c0, 0.0);
        self.x0
            .par_chunks_mut(b * c0)
            .enumerate()
            .for_each(|(t, rows)| {
                for (row, dst) in x.chunks_exact(w).zip(rows.chunks_exact_mut(c0)) {
                    dst[0] = row[t];
                    dst[1..1 + nh].copy_from_slice(&row[l + t * nh..l + (t + 1) * nh]);
                    let f = l + l * nh + t * nf;
                    dst[1 + nh..].copy_from_slice(&row[f..f + nf]);
                }
            });
        if nf > 0 {
            let wz = self.c + nf;
            self.zin.clear();
            self.zin.resize(h * b * wz, 0.0);
            for (t, rows) in self.zin.chunks_exact_mut(b * wz).enumerate() {
                for (row, dst) in x.chunks_exact(w).zip(rows.chunks_exact_mut(wz)) {
                    let f = l + l * nh + (l + t) * nf;
                    dst[self.c..].copy_from_slice(&row[f..f + nf]);
                }
            }
        }
    }
}

/// The `[C, C_in, K]` weight `w` of `conv` as the tap-major `[T·C_in, C]` matrix of its taps.
fn pack_forward(w: &[f32], conv: &Conv, c: usize, k: usize, out: &mut Vec<f32>) {
    let ci = conv.c_in;
    out.clear();
    out.resize(conv.taps.len() * ci * c, 0.0);
    for (j, &(tap, _)) in conv.taps.iter().enumerate() {
        for cc in 0..ci {
            for o in 0..c {
                out[(j * ci + cc) * c + o] = w[(o * ci + cc) * k + tap];
            }
        }
    }
}

/// The `[C, C_in, K]` weight `w` of `conv` as the tap-major `[T·C, C_in]` matrix of its taps.
fn pack_backward(w: &[f32], conv: &Conv, c: usize, k: usize, out: &mut Vec<f32>) {
    let ci = conv.c_in;
    out.clear();
    out.resize(conv.taps.len() * c * ci, 0.0);
    for (j, &(tap, _)) in conv.taps.iter().enumerate() {
        for o in 0..c {
            for cc in 0..ci {
                out[(j * c + o) * ci + cc] = w[(o * ci + cc) * k + tap];
            }
        }
    }
}

/// Input channels from which a two-tap layer runs as Winograd F(2, 2).
const WINO_MIN_CHANNELS: usize = 8;

/// `out = bias` per row and `+= x · Wᵀ` for a `[rows, n_in]` input.
fn dense_forward(
    weights: &[f32],
    d: &Dense,
    x: &[f32],
    rows: usize,
    out: &mut Vec<f32>,
) -> Result<()> {
    out.clear();
    out.resize(rows * d.n_out, 0.0);
    ops::fill_rows(out, &weights[d.b.clone()]);
    matmul(
        ViewMut::rows(out, rows, d.n_out),
        View::rows(x, rows, d.n_in),
        View {
            data: weights,
            off: d.w.start,
            rows: d.n_out,
            cols: d.n_in,
            rs: d.n_in,
            cs: 1,
        }
        .t(),
        true,
        1.0,
    )
}

impl TrainGraph for TcnGraph {
    fn input_width(&self) -> usize {
        self.l + self.l * self.n_hist + (self.l + self.h) * self.n_futr
    }

    fn output_len(&self) -> usize {
        self.h * self.q
    }

    fn forward(
        &mut self,
        weights: &[f32],
        x: &[f32],
        b: usize,
        _rng: Option<&mut Rng>,
    ) -> Result<&[f32]> {
        let (l, h, c) = (self.l, self.h, self.c);
        if x.len() != b * self.input_width() {
            return Err(Error::invalid(
                "input",
                format!(
                    "expected {b} windows of {} values, got {} values",
                    self.input_width(),
                    x.len()
                ),
            ));
        }
        if weights.len() != self.n_weights {
            return Err(Error::invalid(
                "weights",
                "buffer does not match the layout",
            ));
        }
        self.rows = b;
        self.unpack(x, b);
        let lb = l * b;
        for i in 0..self.convs.len() {
            let conv = self.convs[i].clone();
            let mut y = std::mem::take(&mut self.acts[i]);
            y.clear();
            y.resize(lb * c, 0.0);
            if let Some(d) = conv.wino {
                let input: &[f32] = if i == 0 { &self.x0 } else { &self.acts[i - 1] };
                let ci = conv.c_in;
                let r = wino_inputs(input, ci, l, b, d, &mut self.us[i]);
                pack_wino(&weights[conv.w.clone()], ci, c, &mut self.wpack);
                self.mbuf.resize(r * 3 * c, 0.0);
                for k in 0..3 {
                    matmul(
                        strided_mut(&mut self.mbuf, k * c, r, c, 3 * c),
                        strided(&self.us[i], k * ci, r, ci, 3 * ci),
                        View::rows(&self.wpack[k * ci * c..], ci, c),
                        false,
                        1.0,
                    )?;
                }
                let bias = &weights[conv.b.clone()];
                wino_combine(&self.mbuf, c, l, b, d, bias, self.enc_act, &mut y);
                self.acts[i] = y;
                continue;
            }
            ops::fill_rows(&mut y, &weights[conv.b.clone()]);
            {
                let input: &[f32] = if i == 0 { &self.x0 } else { &self.acts[i - 1] };
                let a: &[f32] = if conv.taps.len() == 1 {
                    // The one tap inside the window has delay 0: the input itself.
                    input
                } else {
                    let offsets: Vec<isize> =
                        conv.taps.iter().map(|&(_, s)| -(s as isize)).collect();
                    gather(input, conv.c_in, l, b, &offsets, &mut self.cols);
                    &self.cols
                };
                let wd = conv.taps.len() * conv.c_in;
                pack_forward(&weights[conv.w.clone()], &conv, c, self.k, &mut self.wpack);
                matmul(
                    ViewMut::rows(&mut y, lb, c),
                    View::rows(a, lb, wd),
                    View::rows(&self.wpack, wd, c),
                    true,
                    1.0,
                )?;
            }
            ops::activate(self.enc_act, &mut y);
            self.acts[i] = y;
        }
        // Context adapter: [H, L] · [L, B·C] + bias per row h.
        let last = self.acts.last().map_or(&self.x0, |a| a);
        let bc = b * c;
        self.ctx.clear();
        self.ctx.resize(h * bc, 0.0);
        let cb = &weights[self.ctx_b.clone()];
        self.ctx
            .par_chunks_mut(bc.max(1))
            .zip(cb.par_iter())
            .for_each(|(row, &v)| row.fill(v));
        matmul(
            ViewMut::rows(&mut self.ctx, h, bc),
            View {
                data: weights,
                off: self.ctx_w.start,
                rows: h,
                cols: l,
                rs: l,
                cs: 1,
            },
            View::rows(last, l, bc),
            true,
            1.0,
        )?;
        // Decoder over the H·B rows (step-major).
        let rows = h * b;
        if self.n_futr > 0 {
            let wz = c + self.n_futr;
            for (dst, src) in self.zin.chunks_exact_mut(wz).zip(self.ctx.chunks_exact(c)) {
                dst[..c].copy_from_slice(src);
            }
        }
        for j in 0..self.dec.len() {
            let d = self.dec[j].clone();
            let mut out = std::mem::take(&mut self.dec_post[j]);
            {
                let input: &[f32] = match j {
                    0 if self.n_futr > 0 => &self.zin,
                    0 => &self.ctx,
                    _ => &self.dec_post[j - 1],
                };
                dense_forward(weights, &d, input, rows, &mut out)?;
            }
            if j + 1 < self.dec.len() {
                ops::activate(self.dec_act, &mut out);
            }
            self.dec_post[j] = out;
        }
        // [H, B, Q] → [B, H, Q].
        let q = self.q;
        let y = self.dec_post.last().map_or(&self.ctx, |v| v);
        self.out.clear();
        self.out.resize(b * h * q, 0.0);
        for (bi, win) in self.out.chunks_exact_mut(h * q).enumerate() {
            for (t, dst) in win.chunks_exact_mut(q).enumerate() {
                let r = (t * b + bi) * q;
                dst.copy_from_slice(&y[r..r + q]);
            }
        }
        Ok(&self.out)
    }

    fn backward(&mut self, weights: &[f32], dout: &mut [f32], grads: &mut [f32]) -> Result<()> {
        let (l, h, c, q, b) = (self.l, self.h, self.c, self.q, self.rows);
        if dout.len() != b * h * q {
            return Err(Error::invalid(
                "engine",
                "output gradient of the wrong size",
            ));
        }
        if grads.len() != self.n_weights
            || weights.len() != self.n_weights
            || self.acts.iter().any(|a| a.len() != l * b * c)
        {
            return Err(Error::invalid("engine", "backward without its forward"));
        }
        let rows = h * b;
        let lb = l * b;
        let mut g = std::mem::take(&mut self.ga);
        let mut g_next = std::mem::take(&mut self.gb);
        // [B, H, Q] → [H, B, Q].
        g.clear();
        g.resize(rows * q, 0.0);
        for (bi, win) in dout.chunks_exact(h * q).enumerate() {
            for (t, src) in win.chunks_exact(q).enumerate() {
                let r = (t * b + bi) * q;
                g[r..r + q].copy_from_slice(src);
            }
        }
        // Decoder, last layer first; the first layer's input gradient is taken for the context
        // adapter's C columns only (the future channels need none).
        for j in (0..self.dec.len()).rev() {
            let d = self.dec[j].clone();
            if j + 1 < self.dec.len() {
                ops::activation_backward(self.dec_act, &self.dec_post[j], &mut g);
            }
            {
                let input: &[f32] = match j {
                    0 if self.n_futr > 0 => &self.zin,
                    0 => &self.ctx,
                    _ => &self.dec_post[j - 1],
                };
                // dWᵀ [n_in, n_out] = Xᵀ · G into the `[n_out, n_in]` gradient.
                matmul(
                    ViewMut {
                        data: &mut grads[d.w.clone()],
                        off: 0,
                        rows: d.n_in,
                        cols: d.n_out,
                        rs: 1,
                        cs: d.n_in,
                    },
                    View::rows(input, rows, d.n_in).t(),
                    View::rows(&g, rows, d.n_out),
                    false,
                    1.0,
                )?;
            }
            ops::column_sums(&g, d.n_out, &mut grads[d.b.clone()]);
            let n_in = if j == 0 { c } else { d.n_in };
            g_next.clear();
            g_next.resize(rows * n_in, 0.0);
            matmul(
                ViewMut::rows(&mut g_next, rows, n_in),
                View::rows(&g, rows, d.n_out),
                View {
                    data: weights,
                    off: d.w.start,
                    rows: d.n_out,
                    cols: n_in,
                    rs: d.n_in,
                    cs: 1,
                },
                false,
                1.0,
            )?;
            std::mem::swap(&mut g, &mut g_next);
        }
        // g: the context output's gradient, [H, B·C].
        let bc = b * c;
        let last = self.acts.last().map_or(&self.x0, |a| a);
        matmul(
            ViewMut::rows(&mut grads[self.ctx_w.clone()], h, l),
            View::rows(&g, h, bc),
            View::rows(last, l, bc).t(),
            false,
            1.0,
        )?;
        let db: Vec<f32> = g
            .par_chunks(bc.max(1))
            .map(|row| row.iter().map(|&v| f64::from(v)).sum::<f64>() as f32)
            .collect();
        grads[self.ctx_b.clone()].copy_from_slice(&db);
        // The last activation's gradient [L, B·C] = Wcᵀ · G.
        g_next.clear();
        g_next.resize(l * bc, 0.0);
        matmul(
            ViewMut::rows(&mut g_next, l, bc),
            View {
                data: weights,
                off: self.ctx_w.start,
                rows: h,
                cols: l,
                rs: l,
                cs: 1,
            }
            .t(),
            View::rows(&g, h, bc),
            false,
            1.0,
        )?;
        std::mem::swap(&mut g, &mut g_next);
        // Encoder, last layer first: g holds the gradient of layer i's activated output.
        for i in (0..self.convs.len()).rev() {
            let conv = self.convs[i].clone();
            ops::activation_backward(self.enc_act, &self.acts[i], &mut g);
            ops::column_sums(&g, c, &mut grads[conv.b.clone()]);
            let input: &[f32] = if i == 0 { &self.x0 } else { &self.acts[i - 1] };
            let (nt, ci) = (conv.taps.len(), conv.c_in);
            if let Some(d) = conv.wino {
                let r = l.div_ceil(2 * d) * d * b;
                if self.us[i].len() != r * 3 * ci {
                    return Err(Error::invalid("engine", "backward without its forward"));
                }
                wino_out_grads(&g, c, l, b, d, &mut self.mbuf);
                // P_k = U_kᵀ · dM_k; dW_0 = P_0 + P_1, dW_1 = P_1 + P_2.
                self.dw.resize(3 * ci * c, 0.0);
                for k in 0..3 {
                    matmul(
                        ViewMut::rows(&mut self.dw[k * ci * c..(k + 1) * ci * c], ci, c),
                        strided(&self.us[i], k * ci, r, ci, 3 * ci).t(),
                        strided(&self.mbuf, k * c, r, c, 3 * c),
                        false,
                        1.0,
                    )?;
                }
                let dw = &mut grads[conv.w.clone()];
                let (p0, rest) = self.dw.split_at(ci * c);
                let (p1, p2) = rest.split_at(ci * c);
                for cc in 0..ci {
                    for o in 0..c {
                        let at = cc * c + o;
                        dw[(o * ci + cc) * 2] = p0[at] + p1[at];
                        dw[(o * ci + cc) * 2 + 1] = p1[at] + p2[at];
                    }
                }
                if i == 0 {
                    break;
                }
                // dU_k = dM_k · W'_kᵀ, then onto the steps.
                pack_wino(&weights[conv.w.clone()], ci, c, &mut self.wpack);
                self.cols.resize(r * 3 * ci, 0.0);
                for k in 0..3 {
                    matmul(
                        strided_mut(&mut self.cols, k * ci, r, ci, 3 * ci),
                        strided(&self.mbuf, k * c, r, c, 3 * c),
                        View::rows(&self.wpack[k * ci * c..], ci, c).t(),
                        false,
                        1.0,
                    )?;
                }
                g_next.clear();
                g_next.resize(lb * ci, 0.0);
                wino_input_grads(&self.cols, ci, l, b, d, &mut g_next);
                std::mem::swap(&mut g, &mut g_next);
                continue;
            }
            let a: &[f32] = if nt == 1 {
                input
            } else {
                let offsets: Vec<isize> = conv.taps.iter().map(|&(_, s)| -(s as isize)).collect();
                gather(input, ci, l, b, &offsets, &mut self.cols);
                &self.cols
            };
            // dW, tap-major [T·C_in, C] = colsᵀ · dY, then into the `[C, C_in, K]` gradient.
            self.dw.clear();
            self.dw.resize(nt * ci * c, 0.0);
            matmul(
                ViewMut::rows(&mut self.dw, nt * ci, c),
                View::rows(a, lb, nt * ci).t(),
                View::rows(&g, lb, c),
                false,
                1.0,
            )?;
            let dw = &mut grads[conv.w.clone()];
            if nt < self.k {
                dw.fill(0.0);
            }
            for (j, &(tap, _)) in conv.taps.iter().enumerate() {
                for cc in 0..ci {
                    let src = &self.dw[(j * ci + cc) * c..(j * ci + cc + 1) * c];
                    for (o, &v) in src.iter().enumerate() {
                        dw[(o * ci + cc) * self.k + tap] = v;
                    }
                }
            }
            if i == 0 {
                break;
            }
            // dX [L·B, C_in] = the taps' advanced copies of dY side by side · the weight
            // packed `[T·C, C_in]`.
            let a: &[f32] = if nt == 1 {
                &g
            } else {
                let offsets: Vec<isize> = conv.taps.iter().map(|&(_, s)| s as isize).collect();
                gather(&g, c, l, b, &offsets, &mut self.cols);
                &self.cols
            };
            pack_backward(&weights[conv.w.clone()], &conv, c, self.k, &mut self.wpack);
            g_next.clear();
            g_next.resize(lb * ci, 0.0);
            matmul(
                ViewMut::rows(&mut g_next, lb, ci),
                View::rows(a, lb, nt * c),
                View::rows(&self.wpack, nt * c, ci),
                false,
                1.0,
            )?;
            std::mem::swap(&mut g, &mut g_next);
        }
        self.ga = g;
        self.gb = g_next;
        Ok(())
    }
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
