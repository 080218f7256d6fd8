//! The PatchTST training graph's encoder layers: one post-norm or pre-norm Transformer encoder
//! layer's forward (attention, residuals, BatchNorm, the feed-forward pair, dropout) and its
//! hand-written backward, over the graph's flat weights and the buffers `engine.rs` owns. The
//! embedding, the head and the [`TrainGraph`](crate::engine::TrainGraph) driver are in
//! `engine.rs`; the attention kernels in `engine_attention.rs`.

use super::super::PatchTstActivation;
use super::attention::{self, Carry};
use super::layers::{activate, activation_backward, draw_mask, zip3, zip_apply, Bn, BnState};
use super::PatchTstGraph;
use crate::rng::Rng;
use crate::Result;

impl PatchTstGraph {
    /// Forward of encoder layer `i` (its input is the previous layer's output or `s0`).
    pub(super) fn layer_forward(
        &mut self,
        weights: &[f32],
        i: usize,
        rng: Option<&mut Rng>,
    ) -> Result<()> {
        let c = &self.cfg;
        let (rows, d, pre, training) =
            (self.rows, self.dims.d, c.batch_normalization, self.training);
        let lw = &self.layers[i];
        let (before, rest) = self.states.split_at_mut(i);
        let st = &mut rest[0];
        let input: &[f32] = before.last().map_or(&self.s0, |s| &s.out);
        let bn = |bn: &Bn, state: &mut BnState, x: &[f32], y: &mut Vec<f32>| {
            if training {
                bn.train(weights, x, d, state, y);
            } else {
                bn.eval(weights, x, d, y);
            }
        };
        // Masks in the candle network's draw order.
        let p = c.dropout;
        st.attn_mask.clear();
        st.o_mask.clear();
        st.h_mask.clear();
        st.f_mask.clear();
        if let Some(r) = rng {
            let sl = self.dims.scores_len() * (rows / self.dims.n);
            if c.attn_dropout > 0.0 {
                draw_mask(r, sl, c.attn_dropout, &mut st.attn_mask, false);
            }
            if p > 0.0 {
                draw_mask(r, rows * d, p, &mut st.o_mask, false);
                draw_mask(r, rows * d, p, &mut st.o_mask, true);
                draw_mask(r, rows * c.linear_hidden_size, p, &mut st.h_mask, false);
                draw_mask(r, rows * d, p, &mut st.f_mask, false);
            }
        }
        if pre {
            bn(&lw.norm_attn, &mut st.bn_attn, input, &mut st.x_attn);
        }
        let xa: &[f32] = if pre { &st.x_attn } else { input };
        lw.q.forward(weights, xa, rows, &mut st.q)?;
        lw.k.forward(weights, xa, rows, &mut st.k)?;
        lw.v.forward(weights, xa, rows, &mut st.v)?;
        let sl = self.dims.scores_len() * (rows / self.dims.n);
        st.probs.resize(sl, 0.0);
        st.ctx.resize(rows * d, 0.0);
        let (a, b) = self.scores.split_at_mut(1);
        let (cur, prev) = if i % 2 == 0 {
            (&mut a[0], &b[0])
        } else {
            (&mut b[0], &a[0])
        };
        cur.resize(sl, 0.0);
        let prev = (c.res_attention && i > 0).then_some(prev.as_slice());
        let mask = (!st.attn_mask.is_empty()).then_some(st.attn_mask.as_slice());
        attention::forward(
            self.dims,
            &st.q,
            &st.k,
            &st.v,
            prev,
            mask,
            cur,
            &mut st.probs,
            &mut st.ctx,
        );
        lw.o.forward(weights, &st.ctx, rows, &mut st.t1)?;
        if !st.o_mask.is_empty() {
            zip_apply(&mut st.t1, &st.o_mask, |a, m| a * m);
        }
        // The residual adds the branch's input (pre-norm: the normalized one, as candle and
        // neuralforecast do).
        zip_apply(&mut st.t1, xa, |a, s| s + a);
        if pre {
            bn(&lw.norm_ffn, &mut st.bn_ffn, &st.t1, &mut st.x_ffn);
        } else {
            bn(&lw.norm_attn, &mut st.bn_attn, &st.t1, &mut st.r2);
        }
        let xf: &[f32] = if pre { &st.x_ffn } else { &st.r2 };
        lw.ff0.forward(weights, xf, rows, &mut st.h_pre)?;
        activate(
            c.activation == PatchTstActivation::Gelu,
            &st.h_pre,
            &mut st.h_act,
        );
        if !st.h_mask.is_empty() {
            zip_apply(&mut st.h_act, &st.h_mask, |a, m| a * m);
        }
        lw.ff3.forward(weights, &st.h_act, rows, &mut st.out)?;
        if !st.f_mask.is_empty() {
            zip_apply(&mut st.out, &st.f_mask, |a, m| a * m);
        }
        zip_apply(&mut st.out, xf, |a, s| s + a);
        if !pre {
            bn(&lw.norm_ffn, &mut st.bn_ffn, &st.out, &mut self.bn_tmp);
            std::mem::swap(&mut st.out, &mut self.bn_tmp);
        }
        Ok(())
    }

    /// Backward of encoder layer `i`; `g` holds the gradient of its output and leaves with
    /// the gradient of its input.
    pub(super) fn layer_backward(
        &mut self,
        weights: &[f32],
        i: usize,
        grads: &mut [f32],
        g: &mut Vec<f32>,
    ) -> Result<()> {
        let c = &self.cfg;
        let (rows, d, pre) = (self.rows, self.dims.d, c.batch_normalization);
        let lw = &self.layers[i];
        let st = &self.states[i];
        let input: &[f32] = if i == 0 {
            &self.s0
        } else {
            &self.states[i - 1].out
        };
        let sc = &mut self.scratch;
        // The feed-forward branch: dt is the gradient of `base + branch`.
        if !pre {
            lw.norm_ffn
                .backward(weights, &st.bn_ffn, g, d, grads, &mut sc.dt);
        }
        let dt: &[f32] = if pre { g } else { &sc.dt };
        let gf: &[f32] = if st.f_mask.is_empty() {
            dt
        } else {
            zip3(&mut sc.gm, dt, &st.f_mask, |a, m| a * m);
            &sc.gm
        };
        lw.ff3.backward(
            weights,
            &st.h_act,
            gf,
            rows,
            grads,
            Some((&mut sc.dh, false)),
        )?;
        if !st.h_mask.is_empty() {
            zip_apply(&mut sc.dh, &st.h_mask, |a, m| a * m);
        }
        activation_backward(
            c.activation == PatchTstActivation::Gelu,
            &st.h_pre,
            &mut sc.dh,
        );
        let xf: &[f32] = if pre { &st.x_ffn } else { &st.r2 };
        lw.ff0
            .backward(weights, xf, &sc.dh, rows, grads, Some((&mut sc.dxf, false)))?;
        // g becomes the gradient of t1 (the feed-forward's input is its residual too).
        zip_apply(&mut sc.dxf, dt, |a, b| a + b);
        if pre {
            lw.norm_ffn
                .backward(weights, &st.bn_ffn, &sc.dxf, d, grads, g);
        } else {
            lw.norm_attn
                .backward(weights, &st.bn_attn, &sc.dxf, d, grads, g);
        }
        // The attention branch.
        let go: &[f32] = if st.o_mask.is_empty() {
            g
        } else {
            zip3(&mut sc.gm, g, &st.o_mask, |a, m| a * m);
            &sc.gm
        };
        lw.o.backward(
            weights,
            &st.ctx,
            go,
            rows,
            grads,
            Some((&mut sc.dctx, false)),
        )?;
        let sl = self.dims.scores_len() * (rows / self.dims.n);
        sc.carry.resize(sl, 0.0);
        for buf in [&mut sc.dq, &mut sc.dk, &mut sc.dv] {
            buf.resize(rows * d, 0.0);
        }
        let flow = Carry {
            add: c.res_attention && i + 1 < self.layers.len(),
            keep: c.res_attention && i > 0,
        };
        let mask = (!st.attn_mask.is_empty()).then_some(st.attn_mask.as_slice());
        attention::backward(
            self.dims,
            &st.q,
            &st.k,
            &st.v,
            &st.probs,
            mask,
            &sc.dctx,
            flow,
            &mut sc.carry,
            &mut sc.dq,
            &mut sc.dk,
            &mut sc.dv,
        );
        let xa: &[f32] = if pre { &st.x_attn } else { input };
        lw.q.backward(weights, xa, &sc.dq, rows, grads, Some((&mut sc.dxa, false)))?;
        lw.k.backward(weights, xa, &sc.dk, rows, grads, Some((&mut sc.dxa, true)))?;
        lw.v.backward(weights, xa, &sc.dv, rows, grads, Some((&mut sc.dxa, true)))?;
        // The attention's input is its residual too.
        zip_apply(&mut sc.dxa, g, |a, b| a + b);
        if pre {
            lw.norm_attn
                .backward(weights, &st.bn_attn, &sc.dxa, d, grads, g);
        } else {
            std::mem::swap(g, &mut sc.dxa);
        }
        Ok(())
    }
}
