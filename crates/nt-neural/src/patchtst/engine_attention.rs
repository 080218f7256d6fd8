//! The core of PatchTST's multi-head self-attention on the native engine, per window and head:
//! `S = Q·Kᵀ·dk^-½ (+ prev)`, `P = softmax(S)`, `ctx = drop(P)·V`, and its backward
//! `dS = P ⊙ (dP − rowsum(dP ⊙ P))`. The products are tiny (`N × dk · dk × N` with `dk` 8 at
//! the defaults), so instead of thousands of `gemm` calls each window runs cache-resident loops
//! that vectorize over the key index (against a transposed per-head copy of K or V) or over the
//! head's channels. Windows are independent and each is computed by one thread in one order,
//! so results do not depend on the thread count or on how the batch is split.

use rayon::prelude::*;

/// The attention's sizes.
#[derive(Debug, Clone, Copy)]
pub(super) struct Dims {
    /// Patches (tokens) per window.
    pub(super) n: usize,
    /// Heads.
    pub(super) heads: usize,
    /// Channels per head.
    pub(super) dk: usize,
    /// Channels of a token (`heads · dk`).
    pub(super) d: usize,
}

impl Dims {
    /// Values of one window's scores, `[heads, n, n]`.
    pub(super) fn scores_len(&self) -> usize {
        self.heads * self.n * self.n
    }

    fn scale(&self) -> f32 {
        (self.dk as f64).powf(-0.5) as f32
    }

    /// `t[c·n + j] = x[j·d + h·dk + c]`: head `h`'s channels of the window's `n` tokens,
    /// transposed.
    fn transpose_head(&self, x: &[f32], h: usize, t: &mut [f32]) {
        let (n, d, dk) = (self.n, self.d, self.dk);
        for j in 0..n {
            let row = &x[j * d + h * dk..j * d + h * dk + dk];
            for (c, &v) in row.iter().enumerate() {
                t[c * n + j] = v;
            }
        }
    }
}

/// Forward over every window of the `[b·n, d]` token rows `q`, `k`, `v`: writes the
/// pre-softmax scores (with `prev` added when given) into `scores`, the softmax into `probs`
/// (both `[b, heads, n, n]`) and `drop(P)·V` into `ctx` (`[b·n, d]`, heads side by side);
/// `mask` (same layout as `probs`) is the attention dropout's keep-scales when dropping.
#[allow(clippy::too_many_arguments)]
pub(super) fn forward(
    dims: Dims,
    q: &[f32],
    k: &[f32],
    v: &[f32],
    prev: Option<&[f32]>,
    mask: Option<&[f32]>,
    scores: &mut [f32],
    probs: &mut [f32],
    ctx: &mut [f32],
) {
    let (n, d, dk) = (dims.n, dims.d, dims.dk);
    let (sl, tl) = (dims.scores_len(), n * d);
    let scale = dims.scale();
    scores
        .par_chunks_mut(sl)
        .zip(probs.par_chunks_mut(sl))
        .zip(ctx.par_chunks_mut(tl))
        .enumerate()
        .for_each_init(
            || vec![0f32; dk * n],
            |kt, (w, ((s, p), c))| {
                let (qw, kw, vw) = (&q[w * tl..][..tl], &k[w * tl..][..tl], &v[w * tl..][..tl]);
                for h in 0..dims.heads {
                    dims.transpose_head(kw, h, kt);
                    for i in 0..n {
                        let at = (h * n + i) * n;
                        let srow = &mut s[at..at + n];
                        srow.fill(0.0);
                        for c in 0..dk {
                            let qc = qw[i * d + h * dk + c];
                            for (sv, &kv) in srow.iter_mut().zip(&kt[c * n..c * n + n]) {
                                *sv += qc * kv;
                            }
                        }
                        match prev {
                            Some(prev) => {
                                let pr = &prev[w * sl + at..w * sl + at + n];
                                srow.iter_mut()
                                    .zip(pr)
                                    .for_each(|(s, &p)| *s = *s * scale + p);
                            }
                            None => srow.iter_mut().for_each(|s| *s *= scale),
                        }
                        let prow = &mut p[at..at + n];
                        let m = srow.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
                        let mut sum = 0f32;
                        for (p, &s) in prow.iter_mut().zip(srow.iter()) {
                            *p = (s - m).exp();
                            sum += *p;
                        }
                        prow.iter_mut().for_each(|p| *p /= sum);
                        let crow = &mut c[i * d + h * dk..i * d + h * dk + dk];
                        crow.fill(0.0);
                        let mrow = mask.map(|m| &m[w * sl + at..w * sl + at + n]);
                        for j in 0..n {
                            let pj = match mrow {
                                Some(m) => prow[j] * m[j],
                                None => prow[j],
                            };
                            let vr = &vw[j * d + h * dk..j * d + h * dk + dk];
                            crow.iter_mut().zip(vr).for_each(|(c, &v)| *c += pj * v);
                        }
                    }
                }
            },
        );
}

/// How the scores' gradient meets the residual attention: whether the next layer's scores
/// gradient (in `carry`) is added to this layer's, and whether this layer's total is left in
/// `carry` for the previous layer.
#[derive(Debug, Clone, Copy)]
pub(super) struct Carry {
    /// Add `carry` (the next layer's scores gradient) to this layer's.
    pub(super) add: bool,
    /// Leave this layer's scores gradient in `carry`.
    pub(super) keep: bool,
}

/// Backward of [`forward`] for the context gradient `dctx`: writes the gradients of `q`, `k`
/// and `v` into `dq`, `dk`, `dv` (all `[b·n, d]`, overwritten), reading and writing the scores
/// gradient `carry` (`[b, heads, n, n]`) as `flow` says.
#[allow(clippy::too_many_arguments)]
pub(super) fn backward(
    dims: Dims,
    q: &[f32],
    k: &[f32],
    v: &[f32],
    probs: &[f32],
    mask: Option<&[f32]>,
    dctx: &[f32],
    flow: Carry,
    carry: &mut [f32],
    dq: &mut [f32],
    dk_out: &mut [f32],
    dv: &mut [f32],
) {
    let (n, d, dk) = (dims.n, dims.d, dims.dk);
    let (sl, tl) = (dims.scores_len(), n * d);
    let scale = dims.scale();
    dq.par_chunks_mut(tl)
        .zip(dk_out.par_chunks_mut(tl))
        .zip(dv.par_chunks_mut(tl))
        .zip(carry.par_chunks_mut(sl))
        .enumerate()
        .for_each_init(
            || (vec![0f32; dk * n], vec![0f32; n]),
            |(vt, dp), (w, (((dqw, dkw), dvw), cw))| {
                let (qw, kw, vw) = (&q[w * tl..][..tl], &k[w * tl..][..tl], &v[w * tl..][..tl]);
                let gw = &dctx[w * tl..][..tl];
                let pw = &probs[w * sl..][..sl];
                let mw = mask.map(|m| &m[w * sl..][..sl]);
                dqw.fill(0.0);
                dkw.fill(0.0);
                dvw.fill(0.0);
                for h in 0..dims.heads {
                    dims.transpose_head(vw, h, vt);
                    let hc = h * dk..h * dk + dk;
                    for i in 0..n {
                        let at = (h * n + i) * n;
                        let prow = &pw[at..at + n];
                        let mrow = mw.map(|m| &m[at..at + n]);
                        let g = &gw[i * d + hc.start..i * d + hc.end];
                        // dP = dctx · Vᵀ; dV += drop(P)ᵀ · dctx.
                        dp.fill(0.0);
                        for (c, &gc) in g.iter().enumerate() {
                            for (x, &vv) in dp.iter_mut().zip(&vt[c * n..c * n + n]) {
                                *x += gc * vv;
                            }
                        }
                        for j in 0..n {
                            let pj = match mrow {
                                Some(m) => prow[j] * m[j],
                                None => prow[j],
                            };
                            let dvr = &mut dvw[j * d + hc.start..j * d + hc.end];
                            dvr.iter_mut().zip(g).for_each(|(x, &gc)| *x += pj * gc);
                        }
                        if let Some(m) = mrow {
                            dp.iter_mut().zip(m).for_each(|(x, &m)| *x *= m);
                        }
                        // dS = P ⊙ (dP − rowsum(dP ⊙ P)) (+ the next layer's).
                        let dot: f32 = dp.iter().zip(prow).map(|(a, b)| a * b).sum();
                        let crow = &mut cw[at..at + n];
                        for j in 0..n {
                            let mut s = prow[j] * (dp[j] - dot);
                            if flow.add {
                                s += crow[j];
                            }
                            if flow.keep {
                                crow[j] = s;
                            }
                            dp[j] = s * scale;
                        }
                        // dQ = dS·K·scale; dK += dSᵀ·Q·scale.
                        let qr = &qw[i * d + hc.start..i * d + hc.end];
                        let dqr = &mut dqw[i * d + hc.start..i * d + hc.end];
                        for j in 0..n {
                            let s = dp[j];
                            let kr = &kw[j * d + hc.start..j * d + hc.end];
                            dqr.iter_mut().zip(kr).for_each(|(x, &kv)| *x += s * kv);
                            let dkr = &mut dkw[j * d + hc.start..j * d + hc.end];
                            dkr.iter_mut().zip(qr).for_each(|(x, &qv)| *x += s * qv);
                        }
                    }
                }
            },
        );
}
