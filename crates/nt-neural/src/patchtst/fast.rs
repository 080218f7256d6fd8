//! The plain-Rust CPU inference path of PatchTST: the same function as the candle network's
//! inference forward. The per-token linear layers (W_P; W_Q, W_K and W_V fused into one
//! `D → 3D` layer; the output projection; the feed-forward pair) run over the token rows of all
//! windows at once on the register-tiled, batch-invariant kernel of `rows.rs` (the shared
//! [`DenseLayer`] matvec, which pays a horizontal sum per output, took twice as long at 42
//! tokens a window); the head (one long row per window) runs on [`DenseLayer`]. BatchNorm is
//! folded into a per-channel scale and shift, and attention is computed per window, all heads in
//! one pass. Buffers are allocated once per call and reused by every layer. Nothing mixes
//! windows: a window's output has the same bits whatever batch it is in. No bf16 variant.

use candle_core::Tensor;

use super::network::{patch_source, EPS};
use super::rows::RowsLayer;
use super::{layer_prefix, PatchTstActivation, PatchTstConfig};
use crate::arch::dense::{DenseLayer, Matrix};
use crate::arch::FastForward;
use crate::dlinear::named;
use crate::Result;

/// A BatchNorm in inference folded to `y = x · scale + shift` per channel.
#[derive(Debug, Clone)]
struct Affine {
    scale: Vec<f32>,
    shift: Vec<f32>,
}

impl Affine {
    fn apply(&self, rows: &mut [f32]) {
        let d = self.scale.len();
        for row in rows.chunks_exact_mut(d) {
            for ((v, s), t) in row.iter_mut().zip(&self.scale).zip(&self.shift) {
                *v = *v * s + t;
            }
        }
    }
}

#[derive(Debug, Clone)]
struct FastLayer {
    qkv: RowsLayer,
    to_out: RowsLayer,
    norm_attn: Affine,
    ff0: RowsLayer,
    ff3: RowsLayer,
    norm_ffn: Affine,
}

/// PatchTST's fast CPU forward (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct PatchTstFast {
    arch: pulp::Arch,
    cfg: PatchTstConfig,
    n_outputs: usize,
    patch_len: usize,
    patch_num: usize,
    /// RevIN's affine weight and bias when learnable.
    revin_affine: Option<(f32, f32)>,
    w_p: RowsLayer,
    w_pos: Vec<f32>,
    layers: Vec<FastLayer>,
    head: DenseLayer,
}

fn dense(weights: &[(String, Tensor)], prefix: &str, n_in: usize) -> Result<DenseLayer> {
    Ok(DenseLayer {
        w: Matrix::F32(named(weights, &format!("{prefix}.weight"))?),
        b: named(weights, &format!("{prefix}.bias"))?,
        n_in,
    })
}

fn rows(weights: &[(String, Tensor)], prefix: &str, n_in: usize) -> Result<RowsLayer> {
    let w = named(weights, &format!("{prefix}.weight"))?;
    Ok(RowsLayer::new(
        &w,
        named(weights, &format!("{prefix}.bias"))?,
        n_in,
    ))
}

fn batch_norm(weights: &[(String, Tensor)], prefix: &str) -> Result<Affine> {
    let get = |n: &str| named(weights, &format!("{prefix}.{n}"));
    let (w, b, m, v) = (
        get("weight")?,
        get("bias")?,
        get("running_mean")?,
        get("running_var")?,
    );
    let scale: Vec<f32> = w
        .iter()
        .zip(&v)
        .map(|(w, v)| w / (v + EPS as f32).sqrt())
        .collect();
    let shift = b
        .iter()
        .zip(&m)
        .zip(&scale)
        .map(|((b, m), s)| b - m * s)
        .collect();
    Ok(Affine { scale, shift })
}

impl PatchTstFast {
    /// The fast path of `cfg` with `n_outputs` outputs per step over `weights`.
    pub(crate) fn new(
        cfg: &PatchTstConfig,
        n_outputs: usize,
        weights: &[(String, Tensor)],
    ) -> Result<Self> {
        let (d, f) = (cfg.hidden_size, cfg.linear_hidden_size);
        let (p, n) = (cfg.effective_patch_len(), cfg.patch_num());
        let revin_affine = if cfg.revin && cfg.revin_affine {
            let w = named(weights, "model.revin_layer.affine_weight")?;
            let b = named(weights, "model.revin_layer.affine_bias")?;
            Some((w[0], b[0]))
        } else {
            None
        };
        let layers = (0..cfg.encoder_layers)
            .map(|i| {
                let l = layer_prefix(i);
                let (mut w, mut b) = (Vec::with_capacity(3 * d * d), Vec::with_capacity(3 * d));
                for proj in ["W_Q", "W_K", "W_V"] {
                    w.extend(named(weights, &format!("{l}.self_attn.{proj}.weight"))?);
                    b.extend(named(weights, &format!("{l}.self_attn.{proj}.bias"))?);
                }
                Ok(FastLayer {
                    qkv: RowsLayer::new(&w, b, d),
                    to_out: rows(weights, &format!("{l}.self_attn.to_out.0"), d)?,
                    norm_attn: batch_norm(weights, &format!("{l}.norm_attn.1"))?,
                    ff0: rows(weights, &format!("{l}.ff.0"), d)?,
                    ff3: rows(weights, &format!("{l}.ff.3"), f)?,
                    norm_ffn: batch_norm(weights, &format!("{l}.norm_ffn.1"))?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            arch: pulp::Arch::new(),
            cfg: cfg.clone(),
            n_outputs,
            patch_len: p,
            patch_num: n,
            revin_affine,
            w_p: rows(weights, "model.backbone.W_P", p)?,
            w_pos: named(weights, "model.backbone.W_pos")?,
            layers,
            head: dense(weights, "model.head.linear", d * n)?,
        })
    }

    /// Multi-head self-attention of `windows` windows' tokens: `qkv` `[windows·N, 3D]` (Q, K,
    /// V side by side), pre-softmax scores written to `scores` `[windows, heads, N, N]` (with
    /// `prev` added when given), the heads' outputs to `out` `[windows·N, D]`. Per window, all
    /// heads in one pass over the tokens: K is transposed to `[D, N]` and V kept `[N, D]`, so a
    /// query's scores are `head_dim` contiguous multiply-adds over the keys and its output
    /// `N` over the value channels.
    fn attention(
        &self,
        qkv: &[f32],
        windows: usize,
        prev: Option<&[f32]>,
        scores: &mut [f32],
        scratch: &mut Vec<f32>,
        out: &mut [f32],
    ) {
        let (n, h, dk, d) = (
            self.patch_num,
            self.cfg.n_heads,
            self.cfg.head_dim(),
            self.cfg.hidden_size,
        );
        let scale = (dk as f32).powf(-0.5);
        scratch.resize(d * n, 0.0);
        for w in 0..windows {
            let tokens = &qkv[w * n * 3 * d..(w + 1) * n * 3 * d];
            // Kᵀ [D, N].
            for (j, t) in tokens.chunks_exact(3 * d).enumerate() {
                for (c, &k) in t[d..2 * d].iter().enumerate() {
                    scratch[c * n + j] = k;
                }
            }
            for hh in 0..h {
                for i in 0..n {
                    let q = &tokens[i * 3 * d + hh * dk..i * 3 * d + (hh + 1) * dk];
                    let base = ((w * h + hh) * n + i) * n;
                    let row = &mut scores[base..base + n];
                    row.fill(0.0);
                    for (c, &qc) in q.iter().enumerate() {
                        let kt = &scratch[(hh * dk + c) * n..(hh * dk + c + 1) * n];
                        for (s, &k) in row.iter_mut().zip(kt) {
                            *s += qc * k;
                        }
                    }
                    match prev {
                        Some(prev) => {
                            for (s, p) in row.iter_mut().zip(&prev[base..base + n]) {
                                *s = *s * scale + p;
                            }
                        }
                        None => row.iter_mut().for_each(|s| *s *= scale),
                    }
                    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    let o = &mut out[(w * n + i) * d + hh * dk..(w * n + i) * d + (hh + 1) * dk];
                    o.fill(0.0);
                    let mut sum = 0.0f32;
                    for (j, &s) in row.iter().enumerate() {
                        let e = (s - max).exp();
                        sum += e;
                        let v =
                            &tokens[j * 3 * d + 2 * d + hh * dk..j * 3 * d + 2 * d + (hh + 1) * dk];
                        for (o, &v) in o.iter_mut().zip(v) {
                            *o += e * v;
                        }
                    }
                    let inv = 1.0 / sum;
                    o.iter_mut().for_each(|o| *o *= inv);
                }
            }
        }
    }
}

impl FastForward for PatchTstFast {
    fn forward_batch(&self, x: &[f32], windows: usize) -> Vec<f32> {
        let c = &self.cfg;
        let (l, s, p, n, d) = (
            c.input_size,
            c.stride,
            self.patch_len,
            self.patch_num,
            c.hidden_size,
        );
        let rows = windows * n;
        // RevIN statistics per window (f64 sums), the patches of the normalized, end-padded
        // windows.
        let mut stats = Vec::with_capacity(windows);
        let mut patches = vec![0.0f32; rows * p];
        let mut z = vec![0.0f32; l];
        for w in 0..windows {
            let xw = &x[w * l..(w + 1) * l];
            let (centre, stdev) = if c.revin {
                let mean = xw.iter().map(|&v| f64::from(v)).sum::<f64>() / l as f64;
                let var = xw
                    .iter()
                    .map(|&v| (f64::from(v) - mean).powi(2))
                    .sum::<f64>()
                    / l as f64;
                let stdev = (var as f32 + EPS as f32).sqrt();
                let centre = if c.revin_subtract_last {
                    xw[l - 1]
                } else {
                    mean as f32
                };
                (centre, stdev)
            } else {
                (0.0, 1.0)
            };
            stats.push((centre, stdev));
            for (zi, &v) in z.iter_mut().zip(xw) {
                *zi = if c.revin { (v - centre) / stdev } else { v };
                if let Some((aw, ab)) = self.revin_affine {
                    *zi = *zi * aw + ab;
                }
            }
            for k in 0..n {
                let row = &mut patches[(w * n + k) * p..(w * n + k + 1) * p];
                for (i, v) in row.iter_mut().enumerate() {
                    *v = z[patch_source(k, i, s, l)];
                }
            }
        }
        let mut src = Vec::new();
        self.w_p.forward(self.arch, &patches, rows, &mut src);
        for row in src.chunks_exact_mut(n * d) {
            for (v, e) in row.iter_mut().zip(&self.w_pos) {
                *v += e;
            }
        }
        // Buffers reused by every layer.
        let (mut qkv, mut attn, mut branch, mut hidden) =
            (Vec::new(), vec![0.0f32; rows * d], Vec::new(), Vec::new());
        let n_scores = windows * c.n_heads * n * n;
        let (mut scores, mut prev) = (vec![0.0f32; n_scores], vec![0.0f32; n_scores]);
        let mut softmax_row = Vec::new();
        let mut have_prev = false;
        let pre = c.batch_normalization;
        for layer in &self.layers {
            if pre {
                layer.norm_attn.apply(&mut src);
            }
            layer.qkv.forward(self.arch, &src, rows, &mut qkv);
            let carried = (have_prev && c.res_attention).then_some(prev.as_slice());
            self.attention(
                &qkv,
                windows,
                carried,
                &mut scores,
                &mut softmax_row,
                &mut attn,
            );
            std::mem::swap(&mut scores, &mut prev);
            have_prev = true;
            layer.to_out.forward(self.arch, &attn, rows, &mut branch);
            src.iter_mut().zip(&branch).for_each(|(v, b)| *v += b);
            if pre {
                layer.norm_ffn.apply(&mut src);
            } else {
                layer.norm_attn.apply(&mut src);
            }
            layer.ff0.forward(self.arch, &src, rows, &mut hidden);
            match c.activation {
                PatchTstActivation::Gelu => hidden.iter_mut().for_each(|v| {
                    *v = (candle_core::cpu::erf::erf_f32(*v * std::f32::consts::FRAC_1_SQRT_2)
                        + 1.0)
                        * 0.5
                        * *v
                }),
                PatchTstActivation::Relu => hidden.iter_mut().for_each(|v| *v = v.max(0.0)),
            }
            layer.ff3.forward(self.arch, &hidden, rows, &mut branch);
            src.iter_mut().zip(&branch).for_each(|(v, b)| *v += b);
            if !pre {
                layer.norm_ffn.apply(&mut src);
            }
        }
        // Flatten head: channel-major, patch index fastest.
        let mut flat = vec![0.0f32; windows * d * n];
        for w in 0..windows {
            for k in 0..n {
                for j in 0..d {
                    flat[w * d * n + j * n + k] = src[(w * n + k) * d + j];
                }
            }
        }
        let mut y = Vec::new();
        self.head.forward(self.arch, &flat, windows, &mut y);
        let out = c.horizon * self.n_outputs;
        for (row, &(centre, stdev)) in y.chunks_exact_mut(out).zip(&stats) {
            for v in row.iter_mut() {
                if let Some((aw, ab)) = self.revin_affine {
                    *v = (*v - ab) / (aw + (EPS * EPS) as f32);
                }
                if c.revin {
                    *v = *v * stdev + centre;
                }
            }
        }
        y
    }
}
