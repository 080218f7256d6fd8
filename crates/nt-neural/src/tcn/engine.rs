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

/// Gathers `src` (`[L, B, w]` step-major) moved by each of `offsets` steps, side by side: block
/// `j` of row `t·B + b` of `dst` (`[L·B, T·w]`) is row `(t + offsets[j])·B + b` of `src`, or
/// zeros where that step is outside the window.
fn gather(src: &[f32], w: usize, l: usize, b: usize, offsets: &[isize], dst: &mut Vec<f32>) {
    let tw = offsets.len() * w;
    dst.resize(l * b * tw, 0.0);
    if tw == 0 || b == 0 {
        return;
    }
    dst.par_chunks_mut(b * tw)
        .enumerate()
        .for_each(|(t, rows)| {
            for (j, &o) in offsets.iter().enumerate() {
                let st = t as isize + o;
                let blocks = rows
                    .chunks_exact_mut(tw)
                    .map(|r| &mut r[j * w..(j + 1) * w]);
                if st < 0 || st >= l as isize {
                    blocks.for_each(|d| d.fill(0.0));
                } else {
                    let from = &src[st as usize * b * w..(st as usize + 1) * b * w];
                    blocks
                        .zip(from.chunks_exact(w))
                        .for_each(|(d, s)| d.copy_from_slice(s));
                }
            }
        });
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

/// `rows × cols` view of `data` from `off` with row stride `rs`.
fn strided(data: &[f32], off: usize, rows: usize, cols: usize, rs: usize) -> View<'_> {
    View {
        data,
        off,
        rows,
        cols,
        rs,
        cs: 1,
    }
}

/// Writable [`strided`].
fn strided_mut(data: &mut [f32], off: usize, rows: usize, cols: usize, rs: usize) -> ViewMut<'_> {
    ViewMut {
        data,
        off,
        rows,
        cols,
        rs,
        cs: 1,
    }
}

/// Winograd F(2, 2) for a two-tap convolution of dilation `d` (`y[t] = x[t−d]·W₀ + x[t]·W₁`):
/// the steps pair up as `(t, t + d)` for the "first" steps `t = 2d·j + u`, `u < d`, and per
/// pair `y[t] = U₀·W₀ + U₁·(W₀ + W₁)`, `y[t + d] = U₁·(W₀ + W₁) + U₂·W₁` with `U₀ = x[t−d] − x[t]`,
/// `U₁ = x[t]`, `U₂ = x[t+d] − x[t]`: three products over half the rows instead of two over
/// all of them (a quarter fewer multiplications). Writes `[U₀ U₁ U₂]` of every pair as row
/// `(j·d + u)·B + b` of `u` (`[R, 3·C_in]`, steps past the window read as zeros) and returns
/// the row count `R`.
fn wino_inputs(x: &[f32], ci: usize, l: usize, b: usize, d: usize, u: &mut Vec<f32>) -> usize {
    let rows = l.div_ceil(2 * d) * d * b;
    u.resize(rows * 3 * ci, 0.0);
    if rows == 0 || ci == 0 {
        return rows;
    }
    let zeros = vec![0f32; ci];
    u.par_chunks_mut(d * b * 3 * ci)
        .enumerate()
        .for_each(|(j, ub)| {
            let step = |s: usize, bi: usize| -> &[f32] {
                if s < l {
                    &x[(s * b + bi) * ci..(s * b + bi + 1) * ci]
                } else {
                    &zeros
                }
            };
            for (r, dst) in ub.chunks_exact_mut(3 * ci).enumerate() {
                let (uu, bi) = (r / b, r % b);
                let t = 2 * d * j + uu;
                let xt = step(t, bi);
                let xp = if t >= d { step(t - d, bi) } else { &zeros };
                let xn = step(t + d, bi);
                let (u0, rest) = dst.split_at_mut(ci);
                let (u1, u2) = rest.split_at_mut(ci);
                u1.copy_from_slice(xt);
                for (a, (&p, &t)) in u0.iter_mut().zip(xp.iter().zip(xt)) {
                    *a = p - t;
                }
                for (a, (&n, &t)) in u2.iter_mut().zip(xn.iter().zip(xt)) {
                    *a = n - t;
                }
            }
        });
    rows
}

/// The layer's activated output `y` (`[L·B, C]`) from the pairs' products `m` (`[R, 3·C]`,
/// `[M₀ M₁ M₂]`): `y[t] = act(b + M₀ + M₁)`, `y[t + d] = act(b + M₁ + M₂)`.
#[allow(clippy::too_many_arguments)]
fn wino_combine(
    m: &[f32],
    c: usize,
    l: usize,
    b: usize,
    d: usize,
    bias: &[f32],
    act: Activation,
    y: &mut [f32],
) {
    if b == 0 || c == 0 || l == 0 {
        return;
    }
    y.par_chunks_mut(2 * d * b * c)
        .enumerate()
        .for_each(|(j, yb)| {
            let mb = &m[j * d * b * 3 * c..];
            for r in 0..d * b {
                let mr = &mb[r * 3 * c..(r + 1) * 3 * c];
                let (m0, rest) = mr.split_at(c);
                let (m1, m2) = rest.split_at(c);
                for (row, other) in [(r, m0), (d * b + r, m2)] {
                    if let Some(dst) = yb.get_mut(row * c..(row + 1) * c) {
                        for (v, ((&bv, &ov), &mv)) in
                            dst.iter_mut().zip(bias.iter().zip(other).zip(m1))
                        {
                            *v = bv + ov + mv;
                        }
                        crate::arch::dense::activate(act, dst);
                    }
                }
            }
        });
}

/// The pairs' product gradients `dm` (`[R, 3·C]`) from the output gradient `g` (`[L·B, C]`):
/// `dM₀ = g[t]`, `dM₂ = g[t + d]`, `dM₁ = dM₀ + dM₂` (zeros past the window).
fn wino_out_grads(g: &[f32], c: usize, l: usize, b: usize, d: usize, dm: &mut Vec<f32>) {
    let rows = l.div_ceil(2 * d) * d * b;
    dm.resize(rows * 3 * c, 0.0);
    if rows == 0 || c == 0 {
        return;
    }
    let zeros = vec![0f32; c];
    dm.par_chunks_mut(d * b * 3 * c)
        .enumerate()
        .for_each(|(j, db)| {
            let step = |s: usize, bi: usize| -> &[f32] {
                if s < l {
                    &g[(s * b + bi) * c..(s * b + bi + 1) * c]
                } else {
                    &zeros
                }
            };
            for (r, dst) in db.chunks_exact_mut(3 * c).enumerate() {
                let (uu, bi) = (r / b, r % b);
                let t = 2 * d * j + uu;
                let (g0, g2) = (step(t, bi), step(t + d, bi));
                let (d0, rest) = dst.split_at_mut(c);
                let (d1, d2) = rest.split_at_mut(c);
                d0.copy_from_slice(g0);
                d2.copy_from_slice(g2);
                for (v, (&a, &z)) in d1.iter_mut().zip(g0.iter().zip(g2)) {
                    *v = a + z;
                }
            }
        });
}

/// The layer input's gradient `dx` (`[L·B, C_in]`) from the pairs' input gradients `du`
/// (`[R, 3·C_in]`): `dx[t] = dU₁ − dU₀ − dU₂`, `dx[t + d] = dU₂ + dU₀` of the next pair
/// (`t + 2d`, whose `U₀` reads `x[t + d]`).
fn wino_input_grads(du: &[f32], ci: usize, l: usize, b: usize, d: usize, dx: &mut [f32]) {
    if b == 0 || ci == 0 || l == 0 {
        return;
    }
    let pair_rows = d * b;
    let total = du.len() / (3 * ci);
    dx.par_chunks_mut(2 * d * b * ci)
        .enumerate()
        .for_each(|(j, xb)| {
            for r in 0..pair_rows {
                let at = j * pair_rows + r;
                let dr = &du[at * 3 * ci..(at + 1) * 3 * ci];
                let (u0, rest) = dr.split_at(ci);
                let (u1, u2) = rest.split_at(ci);
                if let Some(dst) = xb.get_mut(r * ci..(r + 1) * ci) {
                    for (v, ((&a, &p), &z)) in dst.iter_mut().zip(u1.iter().zip(u0).zip(u2)) {
                        *v = a - p - z;
                    }
                }
                let next = at + pair_rows;
                if let Some(dst) = xb.get_mut((pair_rows + r) * ci..(pair_rows + r + 1) * ci) {
                    if next < total {
                        let n0 = &du[next * 3 * ci..next * 3 * ci + ci];
                        for (v, (&z, &n)) in dst.iter_mut().zip(u2.iter().zip(n0)) {
                            *v = z + n;
                        }
                    } else {
                        dst.copy_from_slice(u2);
                    }
                }
            }
        });
}

/// The two-tap `[C, C_in, 2]` weight as `[W₀, W₀ + W₁, W₁]`, each `[C_in, C]`.
fn pack_wino(w: &[f32], ci: usize, c: usize, out: &mut Vec<f32>) {
    out.clear();
    out.resize(3 * ci * c, 0.0);
    let (a, rest) = out.split_at_mut(ci * c);
    let (s, z) = rest.split_at_mut(ci * c);
    for cc in 0..ci {
        for o in 0..c {
            let (w0, w1) = (w[(o * ci + cc) * 2], w[(o * ci + cc) * 2 + 1]);
            a[cc * c + o] = w0;
            s[cc * c + o] = w0 + w1;
            z[cc * c + o] = w1;
        }
    }
}

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
mod tests {
    //! The graph against the candle network ([`super::super::Tcn`], proven equal to PyTorch by
    //! `tests/tcn_parity.rs`) on the same weights: outputs to 1e-5, every gradient to 1e-4 of
    //! its tensor's largest magnitude; against the neuralforecast fixtures directly; and the same
    //! bits on one and two threads.
    use candle_core::{DType, Device, Tensor};
    use candle_nn::{VarBuilder, VarMap};

    use super::*;
    use crate::arch::NeuralSpec;
    use crate::config::Loss;

    /// The flat weights, the candle network holding the same values, and its variables.
    type Setup = (
        Vec<f32>,
        Box<dyn crate::arch::Network>,
        Vec<(String, candle_core::Var)>,
    );

    /// Random weights (name order) for `spec`, set into a fresh candle network too.
    fn weights_and_net(spec: &NeuralSpec, seed: u64) -> Setup {
        let dev = Device::Cpu;
        let varmap = VarMap::new();
        let net = spec
            .build(VarBuilder::from_varmap(&varmap, DType::F32, &dev))
            .unwrap();
        let mut vars: Vec<_> = varmap
            .data()
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        let mut rng = Rng::new(seed);
        let mut flat = Vec::new();
        for (_, v) in &vars {
            let dims = v.as_tensor().dims().to_vec();
            let n: usize = dims.iter().product();
            let vals: Vec<f32> = (0..n)
                .map(|_| (rng.next_f64() as f32 - 0.5) * 0.6)
                .collect();
            flat.extend_from_slice(&vals);
            v.set(&Tensor::from_vec(vals, dims.as_slice(), &dev).unwrap())
                .unwrap();
        }
        (flat, net, vars)
    }

    fn packed_inputs(b: usize, w: usize, l: usize) -> Vec<f32> {
        (0..b * w)
            .map(|i| ((i as f32) * 0.37).sin() + (i / w) as f32 * 0.05 + (i % w / l) as f32 * 0.3)
            .collect()
    }

    /// One forward + loss + backward both ways on `b` windows.
    fn compare(cfg: &TcnConfig, b: usize, seed: u64) {
        let spec = NeuralSpec::Tcn(cfg.clone());
        let (flat, net, vars) = weights_and_net(&spec, seed);
        let (mut graph, layout) = spec.native_graph().unwrap().expect("native graph");
        assert_eq!(layout.len(), flat.len());
        let (l, h) = (cfg.input_size, cfg.horizon);
        let w = cfg.packed_input_size();
        assert_eq!(graph.input_width(), w);
        let q = cfg.train.loss.n_outputs();
        let x = packed_inputs(b, w, l);
        let y: Vec<f32> = (0..b * h).map(|i| ((i as f32) * 0.23).cos()).collect();
        let mask: Vec<f32> = (0..b * h)
            .map(|i| if i % 7 == 3 { 0.0 } else { 1.0 })
            .collect();
        let dev = Device::Cpu;
        let xt = Tensor::from_vec(x.clone(), (b, w), &dev).unwrap();
        let yt = Tensor::from_vec(y.clone(), (b, h), &dev).unwrap();
        let mt = Tensor::from_vec(mask.clone(), (b, h), &dev).unwrap();
        let pred = net.forward_train(&xt, &mut Rng::new(9)).unwrap();
        let loss = crate::losses::loss(&cfg.train.loss, &pred, &yt, &mt).unwrap();
        let grads = loss.backward().unwrap();
        let pred_c = pred.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let out = graph
            .forward(&flat, &x, b, Some(&mut Rng::new(9)))
            .unwrap()
            .to_vec();
        assert_eq!(out.len(), pred_c.len());
        for (i, (a, e)) in out.iter().zip(&pred_c).enumerate() {
            assert!(
                (a - e).abs() <= 1e-5 * (1.0 + e.abs()),
                "{cfg:?}: output {i}: {a} vs {e}"
            );
        }
        let mut dout = vec![0f32; out.len()];
        let value = crate::engine::loss::loss_and_grad(
            &cfg.train.loss,
            &out,
            &y,
            &mask,
            (h, q),
            Some(&mut dout),
        )
        .unwrap();
        let candle_value = f64::from(loss.to_scalar::<f32>().unwrap());
        assert!((value - candle_value).abs() <= 1e-5 * (1.0 + candle_value.abs()));
        let mut g = vec![f32::NAN; flat.len()];
        graph.backward(&flat, &mut dout, &mut g).unwrap();
        for (i, (name, var)) in vars.iter().enumerate() {
            let expect = grads
                .get(var.as_tensor())
                .map(|t| t.flatten_all().unwrap().to_vec1::<f32>().unwrap())
                .unwrap_or_else(|| vec![0.0; layout.range(i).len()]);
            let got = &g[layout.range(i)];
            assert_eq!(got.len(), expect.len(), "{name}");
            let scale = expect.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
            for (j, (a, e)) in got.iter().zip(&expect).enumerate() {
                assert!(
                    (a - e).abs() <= 1e-4 * scale,
                    "{cfg:?}: {name}[{j}]: native {a} vs candle {e} (scale {scale})"
                );
            }
        }
    }

    fn small() -> TcnConfig {
        TcnConfig {
            input_size: 13,
            horizon: 5,
            kernel_size: 2,
            // 16 reaches past the window's start (its delayed tap is dropped).
            dilations: vec![1, 2, 4, 8, 16],
            encoder_hidden_size: 8,
            decoder_hidden_size: 7,
            ..TcnConfig::default()
        }
    }

    #[test]
    fn plain_tcn_matches_candle_over_kernels_decoders_activations_and_losses() {
        let cases: Vec<(usize, Vec<usize>, usize, Activation, Activation, Loss)> = vec![
            (
                2,
                vec![1, 2, 4, 8, 16],
                2,
                Activation::ReLU,
                Activation::ReLU,
                Loss::Mae,
            ),
            (
                3,
                vec![1, 3, 5, 9],
                1,
                Activation::Tanh,
                Activation::ReLU,
                Loss::Mse,
            ),
            (
                3,
                vec![2, 4],
                3,
                Activation::SELU,
                Activation::Softplus,
                Loss::Quantile(vec![0.1, 0.5, 0.9]),
            ),
            (
                1,
                vec![1, 1],
                2,
                Activation::LeakyReLU,
                Activation::Sigmoid,
                Loss::Huber { delta: 0.5 },
            ),
            (2, vec![7], 3, Activation::ReLU, Activation::Tanh, Loss::Mae),
        ];
        for (i, (k, dilations, layers, enc, dec, loss)) in cases.into_iter().enumerate() {
            let mut cfg = small();
            cfg.kernel_size = k;
            cfg.dilations = dilations;
            cfg.decoder_layers = layers;
            cfg.encoder_activation = enc;
            cfg.decoder_activation = dec;
            cfg.train.loss = loss;
            // 70 windows: more than one parallel chunk of rows in the row kernels.
            compare(&cfg, if i == 0 { 70 } else { 17 }, i as u64 + 1);
        }
    }

    #[test]
    fn exogenous_tcn_matches_candle() {
        let mut cfg = small();
        cfg.hist_exog_list = vec!["h1".into(), "h2".into()];
        cfg.futr_exog_list = vec!["f1".into()];
        compare(&cfg, 19, 21);
        cfg.kernel_size = 3;
        cfg.decoder_layers = 1;
        cfg.hist_exog_list.clear();
        cfg.futr_exog_list = vec!["f1".into(), "f2".into()];
        cfg.train.loss = Loss::Quantile(vec![0.2, 0.8]);
        compare(&cfg, 11, 22);
        cfg.futr_exog_list.clear();
        cfg.hist_exog_list = vec!["h".into()];
        cfg.decoder_layers = 3;
        compare(&cfg, 9, 23);
    }

    #[test]
    fn two_tap_layers_run_as_winograd_and_the_rest_gathered() {
        // small(): L 13, so dilations 8 (last pair cut by the window's end) and 16 (its delayed
        // tap dropped: a 1×1 layer) are the edge cases; layer 0 (one input channel) gathers.
        let cfg = small();
        let spec = NeuralSpec::Tcn(cfg.clone());
        let layout = ParamLayout::new(&spec.weight_specs());
        let g = TcnGraph::new(&cfg, 1, &layout).unwrap();
        let wino: Vec<Option<usize>> = g.convs.iter().map(|c| c.wino).collect();
        assert_eq!(wino, [None, Some(2), Some(4), Some(8), None]);
        assert_eq!(g.convs[4].taps, [(1, 0)]);
    }

    #[test]
    fn residual_tcn_keeps_candle() {
        let mut cfg = small();
        cfg.residual = true;
        assert!(NeuralSpec::Tcn(cfg).native_graph().unwrap().is_none());
    }

    /// Forward output and gradients of one step on `threads` threads.
    fn run_on(threads: usize, cfg: &TcnConfig, b: usize) -> (Vec<f32>, Vec<f32>) {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let spec = NeuralSpec::Tcn(cfg.clone());
            let (mut graph, layout) = spec.native_graph().unwrap().unwrap();
            let mut rng = Rng::new(5);
            let w: Vec<f32> = (0..layout.len())
                .map(|_| (rng.next_f64() as f32 - 0.5) * 0.3)
                .collect();
            let x = packed_inputs(b, cfg.packed_input_size(), cfg.input_size);
            let out = graph.forward(&w, &x, b, Some(&mut rng)).unwrap().to_vec();
            let mut dout: Vec<f32> = out.iter().map(|v| v.signum() * 0.01).collect();
            let mut g = vec![0f32; layout.len()];
            graph.backward(&w, &mut dout, &mut g).unwrap();
            (out, g)
        })
    }

    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        // Sizes past the matmul's threading threshold and the row kernels' chunk size.
        let cfg = TcnConfig {
            input_size: 48,
            horizon: 12,
            dilations: vec![1, 2, 4],
            encoder_hidden_size: 64,
            decoder_hidden_size: 64,
            futr_exog_list: vec!["f".into()],
            ..TcnConfig::default()
        };
        let one = run_on(1, &cfg, 96);
        let two = run_on(2, &cfg, 96);
        assert!(one.0 == two.0, "outputs differ between 1 and 2 threads");
        assert!(one.1 == two.1, "gradients differ between 1 and 2 threads");
    }

    fn fixture(name: &str) -> std::path::PathBuf {
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name)
    }

    fn load(name: &str) -> std::collections::HashMap<String, Tensor> {
        candle_core::safetensors::load(fixture(name), &Device::Cpu)
            .unwrap_or_else(|e| panic!("fixture {name} must exist: {e}"))
    }

    fn to_vec(t: &Tensor) -> Vec<f32> {
        t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
    }

    fn flat_of(layout: &ParamLayout, get: &dyn Fn(&str) -> Vec<f32>) -> Vec<f32> {
        let mut flat = vec![0f32; layout.len()];
        for (i, name) in layout.names().iter().enumerate() {
            flat[layout.range(i)].copy_from_slice(&get(name));
        }
        flat
    }

    #[test]
    fn native_forward_matches_neuralforecast_fixtures() {
        for case in ["tcn_small", "tcn_quantile", "tcn_exog"] {
            let spec: NeuralSpec =
                serde_json::from_slice(&std::fs::read(fixture(&format!("{case}.json"))).unwrap())
                    .unwrap();
            let weights = load(&format!("{case}.safetensors"));
            let io = load(&format!("{case}_io.safetensors"));
            let (mut graph, layout) = spec.native_graph().unwrap().expect("native graph");
            let flat = flat_of(&layout, &|n| to_vec(&weights[n]));
            let input = &io["input"];
            let b = input.dims()[0];
            let x = if case == "tcn_exog" {
                Tensor::cat(
                    &[
                        input.clone(),
                        io["hist"].reshape((b, ())).unwrap(),
                        io["futr"].reshape((b, ())).unwrap(),
                    ],
                    1,
                )
                .unwrap()
            } else {
                input.clone()
            };
            let out = graph.forward(&flat, &to_vec(&x), b, None).unwrap();
            let expect = to_vec(&io["output"]);
            assert_eq!(out.len(), expect.len(), "{case}");
            let diff = out
                .iter()
                .zip(&expect)
                .fold(0f32, |m, (a, e)| m.max((a - e).abs()));
            assert!(
                diff < 1e-5,
                "{case}: max |native - neuralforecast| = {diff}"
            );
        }
    }

    #[test]
    fn native_loss_and_gradients_match_torch_steps() {
        // From torch's weights before each of the fixture's three Adam steps: the MAE matches
        // torch's to 1e-5 and every gradient to 1e-6 + 1e-4 of its largest magnitude (the
        // tolerances of `tests/tcn_parity.rs` for candle's autograd).
        let case = "tcn_small";
        let spec: NeuralSpec =
            serde_json::from_slice(&std::fs::read(fixture(&format!("{case}.json"))).unwrap())
                .unwrap();
        let initial = load(&format!("{case}.safetensors"));
        let io = load(&format!("{case}_io.safetensors"));
        let (mut graph, layout) = spec.native_graph().unwrap().expect("native graph");
        let x = to_vec(&io["input"]);
        let y = to_vec(&io["train_y"]);
        let b = io["input"].dims()[0];
        let h = spec.horizon();
        let mask = vec![1f32; y.len()];
        let torch_losses = to_vec(&io["train_losses"]);
        assert_eq!(torch_losses.len(), 3);
        for (k, torch_loss) in torch_losses.iter().enumerate() {
            let step = k + 1;
            let before = if k == 0 {
                flat_of(&layout, &|n| to_vec(&initial[n]))
            } else {
                flat_of(&layout, &|n| to_vec(&io[&format!("step{k}.{n}")]))
            };
            let out = graph.forward(&before, &x, b, None).unwrap().to_vec();
            let mut dout = vec![0f32; out.len()];
            let l = crate::engine::loss::loss_and_grad(
                &Loss::Mae,
                &out,
                &y,
                &mask,
                (h, 1),
                Some(&mut dout),
            )
            .unwrap();
            assert!(
                (l - f64::from(*torch_loss)).abs() < 1e-5,
                "step {step}: loss {l} vs torch {torch_loss}"
            );
            let mut g = vec![f32::NAN; layout.len()];
            graph.backward(&before, &mut dout, &mut g).unwrap();
            for (i, name) in layout.names().iter().enumerate() {
                let theirs = to_vec(&io[&format!("grad{step}.{name}")]);
                let scale = theirs.iter().fold(0f32, |m, v| m.max(v.abs()));
                let tol = 1e-6 + 1e-4 * scale;
                let diff = g[layout.range(i)]
                    .iter()
                    .zip(&theirs)
                    .fold(0f32, |m, (a, e)| m.max((a - e).abs()));
                assert!(
                    diff < tol,
                    "step {step}: gradient of {name} differs from torch by {diff} (tolerance {tol})"
                );
            }
        }
    }
}

/// The forward and backward time of one default-size step (L 480, H 96, 128 windows).
#[cfg(test)]
mod timing {
    use super::*;
    use crate::arch::NeuralSpec;

    /// This process's user + system CPU seconds.
    fn cpu() -> f64 {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        let after = stat.rsplit(')').next().unwrap_or("");
        let f: Vec<f64> = after
            .split_whitespace()
            .skip(11)
            .take(2)
            .filter_map(|v| v.parse().ok())
            .collect();
        f.iter().sum::<f64>() / 100.0
    }

    #[test]
    #[ignore = "timing; run with --ignored --nocapture"]
    fn default_step_phases() {
        let cfg = TcnConfig {
            input_size: 480,
            horizon: 96,
            ..TcnConfig::default()
        };
        let spec = NeuralSpec::Tcn(cfg.clone());
        let (mut graph, layout) = spec.native_graph().unwrap().unwrap();
        let mut rng = Rng::new(5);
        let w: Vec<f32> = (0..layout.len())
            .map(|_| (rng.next_f64() as f32 - 0.5) * 0.1)
            .collect();
        let b = 128;
        let x: Vec<f32> = (0..b * 480).map(|i| (i as f32 * 0.01).sin()).collect();
        let mut g = vec![0f32; layout.len()];
        for _ in 0..4 {
            let (t, c0) = (std::time::Instant::now(), cpu());
            let out = graph.forward(&w, &x, b, None).unwrap().to_vec();
            let (f, fc) = (t.elapsed().as_secs_f64(), cpu() - c0);
            let mut dout: Vec<f32> = out.iter().map(|v| v.signum() * 1e-3).collect();
            let (t, c0) = (std::time::Instant::now(), cpu());
            graph.backward(&w, &mut dout, &mut g).unwrap();
            let (bw, bc) = (t.elapsed().as_secs_f64(), cpu() - c0);
            println!(
                "forward {:.0} ms ({:.0} ms cpu), backward {:.0} ms ({:.0} ms cpu)",
                f * 1e3,
                fc * 1e3,
                bw * 1e3,
                bc * 1e3
            );
        }
    }
}
