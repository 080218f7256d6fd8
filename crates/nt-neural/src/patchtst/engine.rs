//! PatchTST on the native training engine: the candle network's (`network.rs`) training and
//! inference forward with a hand-written backward, over the engine's flat weights.
//!
//! Every token-level linear layer (`W_P`, Q/K/V, the output projection, the feed-forward pair)
//! and the flatten head is one `gemm` product each way over all `b · patch_num` token rows;
//! the encoder layers' forward and backward are in `engine_encoder.rs`, the attention itself
//! runs per window in `engine_attention.rs`; BatchNorm, dropout and the
//! activations are in `engine_layers.rs`. Forward keeps what backward needs in buffers reused
//! from step to step.
//!
//! Semantics, as `network.rs`: RevIN's statistics are constants for the gradient; BatchNorm
//! normalizes with the batch's statistics in training (running statistics in inference), and
//! its running statistics — weights without a gradient — move only through
//! [`TrainGraph::update_buffers`]; dropout masks are drawn from the given generator in the
//! candle network's order (the embedding, then per layer the attention weights, the output
//! projection, the attention residual, the hidden feed-forward layer and the feed-forward
//! residual, then the head), so with the same generator the two draw the same masks. Every
//! config option the candle network has is covered.

#[path = "engine_attention.rs"]
mod attention;
#[path = "engine_encoder.rs"]
mod encoder;
#[path = "engine_layers.rs"]
mod layers;

use rayon::prelude::*;

use self::attention::Dims;
use self::layers::{draw_mask, zip_apply, Bn, BnState, Lin};
use super::network::{patch_source, EPS};
use super::{layer_prefix, PatchTstConfig};
use crate::arch::Architecture;
use crate::engine::matmul::{matmul, View, ViewMut};
use crate::engine::{ops, ParamLayout, TrainGraph};
use crate::rng::Rng;
use crate::{Error, Result};

/// One encoder layer's weights.
#[derive(Debug, Clone)]
struct LayerWeights {
    q: Lin,
    k: Lin,
    v: Lin,
    o: Lin,
    norm_attn: Bn,
    ff0: Lin,
    ff3: Lin,
    norm_ffn: Bn,
}

/// What one encoder layer's forward keeps for its backward.
#[derive(Debug, Clone, Default)]
struct LayerState {
    /// Pre-norm: the attention's input `BN_attn(src)` (post-norm reads the layer input).
    x_attn: Vec<f32>,
    bn_attn: BnState,
    bn_ffn: BnState,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    /// Softmax of the scores, `[b, heads, n, n]`.
    probs: Vec<f32>,
    attn_mask: Vec<f32>,
    /// `drop(P)·V`, heads side by side, `[b·n, d]`.
    ctx: Vec<f32>,
    /// The keep-scales of the output projection's and the residual's dropout, multiplied.
    o_mask: Vec<f32>,
    /// `src + drop(attention)`.
    t1: Vec<f32>,
    /// Post-norm: `BN_attn(t1)` (the feed-forward's input and residual).
    r2: Vec<f32>,
    /// Pre-norm: `BN_ffn(t1)` (the feed-forward's input).
    x_ffn: Vec<f32>,
    h_pre: Vec<f32>,
    /// The activation's output after dropout (the second linear's input).
    h_act: Vec<f32>,
    h_mask: Vec<f32>,
    f_mask: Vec<f32>,
    /// The layer's output.
    out: Vec<f32>,
}

/// Backward scratch.
#[derive(Debug, Clone, Default)]
struct Scratch {
    g: Vec<f32>,
    dt: Vec<f32>,
    gm: Vec<f32>,
    dh: Vec<f32>,
    dxf: Vec<f32>,
    dctx: Vec<f32>,
    dq: Vec<f32>,
    dk: Vec<f32>,
    dv: Vec<f32>,
    dxa: Vec<f32>,
    carry: Vec<f32>,
    dhead: Vec<f32>,
    dpatch: Vec<f32>,
}

/// The PatchTST training graph.
#[derive(Debug, Clone)]
pub(crate) struct PatchTstGraph {
    cfg: PatchTstConfig,
    /// Head outputs per window (`horizon · n_outputs`).
    out_len: usize,
    patch_len: usize,
    dims: Dims,
    /// Window index of each patch value, `[n · patch_len]`.
    index: Vec<usize>,
    revin_affine: Option<(usize, usize)>,
    w_p: Lin,
    w_pos: std::ops::Range<usize>,
    layers: Vec<LayerWeights>,
    head: Lin,
    // Forward state.
    rows: usize,
    training: bool,
    pending_update: bool,
    /// Per window: RevIN's centre and standard deviation.
    stats: Vec<(f32, f32)>,
    zhat: Vec<f32>,
    patches: Vec<f32>,
    emb_mask: Vec<f32>,
    s0: Vec<f32>,
    states: Vec<LayerState>,
    scores: [Vec<f32>; 2],
    /// The head weight with its inputs reordered patch-major (`[out, n·d]`).
    head_w: Vec<f32>,
    head_mask: Vec<f32>,
    /// The head's output after dropout, before RevIN's denormalization.
    head_y: Vec<f32>,
    out: Vec<f32>,
    bn_tmp: Vec<f32>,
    scratch: Scratch,
}

impl PatchTstGraph {
    /// The graph of `cfg` with `n_outputs` outputs per step, over the weights in `layout`.
    pub(crate) fn new(
        cfg: &PatchTstConfig,
        n_outputs: usize,
        layout: &ParamLayout,
    ) -> Result<Self> {
        cfg.validate_architecture()?;
        let (d, f) = (cfg.hidden_size, cfg.linear_hidden_size);
        let (p, n, l) = (cfg.effective_patch_len(), cfg.patch_num(), cfg.input_size);
        let revin_affine = if cfg.revin && cfg.revin_affine {
            let w = layout.find("model.revin_layer.affine_weight", 1)?;
            let b = layout.find("model.revin_layer.affine_bias", 1)?;
            Some((w.start, b.start))
        } else {
            None
        };
        let layers = (0..cfg.encoder_layers)
            .map(|i| {
                let pre = layer_prefix(i);
                let a = |name: &str| Lin::find(layout, &format!("{pre}.self_attn.{name}"), d, d);
                Ok(LayerWeights {
                    q: a("W_Q")?,
                    k: a("W_K")?,
                    v: a("W_V")?,
                    o: a("to_out.0")?,
                    norm_attn: Bn::find(layout, &format!("{pre}.norm_attn.1"), d)?,
                    ff0: Lin::find(layout, &format!("{pre}.ff.0"), d, f)?,
                    ff3: Lin::find(layout, &format!("{pre}.ff.3"), f, d)?,
                    norm_ffn: Bn::find(layout, &format!("{pre}.norm_ffn.1"), d)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let out_len = cfg.horizon * n_outputs;
        Ok(Self {
            out_len,
            patch_len: p,
            dims: Dims {
                n,
                heads: cfg.n_heads,
                dk: cfg.head_dim(),
                d,
            },
            index: (0..n)
                .flat_map(|k| (0..p).map(move |i| patch_source(k, i, cfg.stride, l)))
                .collect(),
            revin_affine,
            w_p: Lin::find(layout, "model.backbone.W_P", p, d)?,
            w_pos: layout.find("model.backbone.W_pos", n * d)?,
            head: Lin::find(layout, "model.head.linear", d * n, out_len)?,
            states: vec![LayerState::default(); layers.len()],
            layers,
            cfg: cfg.clone(),
            rows: 0,
            training: false,
            pending_update: false,
            stats: Vec::new(),
            zhat: Vec::new(),
            patches: Vec::new(),
            emb_mask: Vec::new(),
            s0: Vec::new(),
            scores: [Vec::new(), Vec::new()],
            head_w: Vec::new(),
            head_mask: Vec::new(),
            head_y: Vec::new(),
            out: Vec::new(),
            bn_tmp: Vec::new(),
            scratch: Scratch::default(),
        })
    }

    /// RevIN, patching, `W_P`, the positional embedding and its dropout into `s0`.
    fn embed(&mut self, weights: &[f32], x: &[f32], b: usize, rng: Option<&mut Rng>) -> Result<()> {
        let (l, p, n, d) = (
            self.cfg.input_size,
            self.patch_len,
            self.dims.n,
            self.dims.d,
        );
        self.stats.clear();
        self.zhat.clear();
        for w in x.chunks_exact(l) {
            let (centre, stdev) = if self.cfg.revin {
                let mean = w.iter().sum::<f32>() / l as f32;
                let var = w.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / l as f32;
                let stdev = (var + EPS as f32).sqrt();
                let centre = if self.cfg.revin_subtract_last {
                    w[l - 1]
                } else {
                    mean
                };
                (centre, stdev)
            } else {
                (0.0, 1.0)
            };
            self.stats.push((centre, stdev));
            if self.cfg.revin {
                self.zhat.extend(w.iter().map(|v| (v - centre) / stdev));
            } else {
                self.zhat.extend_from_slice(w);
            }
        }
        let (aw, ab) = self.affine(weights);
        self.patches.resize(b * n * p, 0.0);
        let (zhat, index) = (&self.zhat, &self.index);
        self.patches
            .par_chunks_mut(n * p)
            .zip(zhat.par_chunks(l))
            .for_each(|(pt, z)| {
                for (v, &src) in pt.iter_mut().zip(index) {
                    *v = z[src] * aw + ab;
                }
            });
        self.w_p
            .forward(weights, &self.patches, b * n, &mut self.s0)?;
        let pos = &weights[self.w_pos.clone()];
        self.s0
            .par_chunks_mut(n * d)
            .for_each(|w| w.iter_mut().zip(pos).for_each(|(s, &p)| *s += p));
        match rng {
            Some(r) if self.cfg.dropout > 0.0 => {
                draw_mask(
                    r,
                    self.s0.len(),
                    self.cfg.dropout,
                    &mut self.emb_mask,
                    false,
                );
                zip_apply(&mut self.s0, &self.emb_mask, |s, m| s * m);
            }
            _ => self.emb_mask.clear(),
        }
        Ok(())
    }

    /// RevIN's affine weight and bias (1 and 0 without them).
    fn affine(&self, weights: &[f32]) -> (f32, f32) {
        self.revin_affine
            .map_or((1.0, 0.0), |(w, b)| (weights[w], weights[b]))
    }

    /// The flatten head, its dropout and RevIN's denormalization into `out`.
    fn head_forward(&mut self, weights: &[f32], b: usize, rng: Option<&mut Rng>) -> Result<()> {
        let (n, d, o) = (self.dims.n, self.dims.d, self.out_len);
        // head_w[o][k·d + c] = W[o][c·n + k]: the encoder's [n, d] rows read as they lie.
        let w = &weights[self.head.w.clone()];
        self.head_w.resize(o * n * d, 0.0);
        self.head_w
            .par_chunks_mut(n * d)
            .zip(w.par_chunks(n * d))
            .for_each(|(dst, src)| {
                for k in 0..n {
                    for c in 0..d {
                        dst[k * d + c] = src[c * n + k];
                    }
                }
            });
        let enc: &[f32] = self.states.last().map_or(&self.s0, |s| &s.out);
        self.head_y.resize(b * o, 0.0);
        ops::fill_rows(&mut self.head_y, &weights[self.head.b.clone()]);
        matmul(
            ViewMut::rows(&mut self.head_y, b, o),
            View::rows(enc, b, n * d),
            View::rows(&self.head_w, o, n * d).t(),
            true,
            1.0,
        )?;
        match rng {
            Some(r) if self.cfg.head_dropout > 0.0 => {
                draw_mask(r, b * o, self.cfg.head_dropout, &mut self.head_mask, false);
                zip_apply(&mut self.head_y, &self.head_mask, |a, m| a * m);
            }
            _ => self.head_mask.clear(),
        }
        let (aw, ab) = self.affine(weights);
        let affine = self.revin_affine.is_some();
        let denom = aw + (EPS * EPS) as f32;
        self.out.clear();
        for (row, &(centre, stdev)) in self.head_y.chunks_exact(o).zip(&self.stats) {
            self.out.extend(row.iter().map(|&y| {
                let y = if affine { (y - ab) / denom } else { y };
                y * stdev + centre
            }));
        }
        Ok(())
    }
}

impl TrainGraph for PatchTstGraph {
    fn input_width(&self) -> usize {
        self.cfg.input_size
    }

    fn output_len(&self) -> usize {
        self.out_len
    }

    fn forward(
        &mut self,
        weights: &[f32],
        x: &[f32],
        b: usize,
        mut rng: Option<&mut Rng>,
    ) -> Result<&[f32]> {
        let l = self.cfg.input_size;
        if x.len() != b * l {
            return Err(Error::invalid(
                "input",
                format!("expected {b} windows of {l} values, got {} values", x.len()),
            ));
        }
        self.training = rng.is_some();
        self.rows = b * self.dims.n;
        if self.training && self.rows < 2 && !self.layers.is_empty() {
            return Err(Error::invalid(
                "windows_batch_size",
                "BatchNorm needs more than one value per channel when training",
            ));
        }
        self.embed(weights, x, b, rng.as_deref_mut())?;
        for i in 0..self.layers.len() {
            self.layer_forward(weights, i, rng.as_deref_mut())?;
        }
        self.head_forward(weights, b, rng)?;
        self.pending_update = self.training;
        Ok(&self.out)
    }

    fn backward(&mut self, weights: &[f32], dout: &mut [f32], grads: &mut [f32]) -> Result<()> {
        let (n, d, o) = (self.dims.n, self.dims.d, self.out_len);
        let b = self.rows / n.max(1);
        if dout.len() != b * o || !self.training {
            return Err(Error::invalid(
                "engine",
                "backward needs the output gradient of a training forward",
            ));
        }
        grads.fill(0.0);
        // RevIN's denormalization: y = ((h − ab)/(aw + eps²))·stdev + centre.
        let (aw, ab) = self.affine(weights);
        let denom = aw + (EPS * EPS) as f32;
        let (mut daw, mut dab) = (0f64, 0f64);
        for (row, &(_, stdev)) in dout.chunks_exact_mut(o).zip(&self.stats) {
            row.iter_mut().for_each(|g| *g *= stdev);
        }
        if self.revin_affine.is_some() {
            for (g, &h) in dout.iter_mut().zip(&self.head_y) {
                let gy = f64::from(*g) / f64::from(denom);
                dab -= gy;
                daw -= gy * f64::from(h - ab) / f64::from(denom);
                *g /= denom;
            }
        }
        if !self.head_mask.is_empty() {
            zip_apply(dout, &self.head_mask, |a, m| a * m);
        }
        // The head: dW'ᵀ = encᵀ·G reordered back to W's layout, db, d(enc) = G·W'.
        let mut sc = std::mem::take(&mut self.scratch);
        let enc: &[f32] = self.states.last().map_or(&self.s0, |s| &s.out);
        sc.dhead.resize(o * n * d, 0.0);
        matmul(
            ViewMut::rows(&mut sc.dhead, o, n * d),
            View::rows(dout, b, o).t(),
            View::rows(enc, b, n * d),
            false,
            1.0,
        )?;
        grads[self.head.w.clone()]
            .par_chunks_mut(n * d)
            .zip(sc.dhead.par_chunks(n * d))
            .for_each(|(dst, src)| {
                for k in 0..n {
                    for c in 0..d {
                        dst[c * n + k] = src[k * d + c];
                    }
                }
            });
        ops::column_sums(dout, o, &mut grads[self.head.b.clone()]);
        let mut g = std::mem::take(&mut sc.g);
        g.resize(b * n * d, 0.0);
        matmul(
            ViewMut::rows(&mut g, b, n * d),
            View::rows(dout, b, o),
            View::rows(&self.head_w, o, n * d),
            false,
            1.0,
        )?;
        self.scratch = sc;
        for i in (0..self.layers.len()).rev() {
            self.layer_backward(weights, i, grads, &mut g)?;
        }
        // The embedding.
        if !self.emb_mask.is_empty() {
            zip_apply(&mut g, &self.emb_mask, |a, m| a * m);
        }
        if self.cfg.learn_pos_embed {
            ops::column_sums(&g, n * d, &mut grads[self.w_pos.clone()]);
        }
        let mut dpatch = std::mem::take(&mut self.scratch.dpatch);
        let dx = self.revin_affine.map(|_| (&mut dpatch, false));
        self.w_p
            .backward(weights, &self.patches, &g, self.rows, grads, dx)?;
        if let Some((wi, bi)) = self.revin_affine {
            // z = zhat·aw + ab feeds every patch value.
            for (pt, z) in dpatch
                .chunks_exact(n * self.patch_len)
                .zip(self.zhat.chunks_exact(self.cfg.input_size))
            {
                for (&gv, &src) in pt.iter().zip(&self.index) {
                    dab += f64::from(gv);
                    daw += f64::from(gv) * f64::from(z[src]);
                }
            }
            grads[wi] = daw as f32;
            grads[bi] = dab as f32;
        }
        self.scratch.dpatch = dpatch;
        self.scratch.g = g;
        Ok(())
    }

    fn update_buffers(&mut self, weights: &mut [f32]) {
        if !self.pending_update {
            return;
        }
        self.pending_update = false;
        for (lw, st) in self.layers.iter().zip(&self.states) {
            lw.norm_attn.update_running(weights, &st.bn_attn);
            lw.norm_ffn.update_running(weights, &st.bn_ffn);
        }
    }

    fn buffer_ranges(&self) -> Vec<std::ops::Range<usize>> {
        self.layers
            .iter()
            .flat_map(|l| [&l.norm_attn, &l.norm_ffn])
            .flat_map(|bn| [bn.rm.clone(), bn.rv.clone()])
            .collect()
    }
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
