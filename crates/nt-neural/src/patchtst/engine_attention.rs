//! The core of PatchTST's multi-head self-attention on the native engine, per window and head:
//! `S = Q·Kᵀ·dk^-½ (+ prev)`, `P = softmax(S)`, `ctx = drop(P)·V`, and its backward
//! `dS = P ⊙ (dP − rowsum(dP ⊙ P))`. The products are tiny (`N × dk · dk × N` with `dk` 8 at
//! the defaults), so instead of thousands of `gemm` calls each window copies a head's Q, K, V
//! into contiguous blocks (widths padded to 8 lanes with zeros) and runs the six products of
//! forward and backward through [`small_mm`], whose eight-wide accumulators stay in registers.
//! Each window's loops are compiled for the CPU's widest SIMD (`pulp` dispatch; the sums keep
//! their order, so every width gives the same bits). Windows are independent and each is computed by one thread in one order, so results do not
//! depend on the thread count or on how the batch is split.

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
}

/// Lanes of the small products' accumulators.
const LANES: usize = 8;

/// `x` rounded up to a multiple of [`LANES`].
fn padded(x: usize) -> usize {
    x.div_ceil(LANES) * LANES
}

/// `out[i·np + j] = Σ_p a[i·k + p] · b[p·np + j]` for `m` rows, `np` (a multiple of [`LANES`])
/// columns: each eight-column block's sum runs in a register over `p` in order.
#[inline(always)]
fn small_mm(a: &[f32], b: &[f32], m: usize, k: usize, np: usize, out: &mut [f32]) {
    for (arow, orow) in a.chunks_exact(k).take(m).zip(out.chunks_exact_mut(np)) {
        for (jb, oblk) in orow.chunks_exact_mut(LANES).enumerate() {
            let mut acc = [0f32; LANES];
            for (p, &av) in arow.iter().enumerate() {
                let brow = &b[p * np + jb * LANES..p * np + jb * LANES + LANES];
                for l in 0..LANES {
                    acc[l] += av * brow[l];
                }
            }
            oblk.copy_from_slice(&acc);
        }
    }
}

/// `Σ f(i)` over `0..n` as eight interleaved partial sums added in a fixed order (no serial
/// chain of dependent additions; the same bits at every SIMD width).
#[inline(always)]
fn sum8(n: usize, f: impl Fn(usize) -> f32) -> f32 {
    let mut acc = [0f32; LANES];
    let full = n / LANES * LANES;
    for base in (0..full).step_by(LANES) {
        for (l, a) in acc.iter_mut().enumerate() {
            *a += f(base + l);
        }
    }
    for (l, i) in (full..n).enumerate() {
        acc[l] += f(i);
    }
    ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
}

/// `t[j·cols + i] = x[i·cols_in + j]` for an `rows × cols_in` block `x` (`cols ≥ rows`; the
/// rest of each row of `t` is left as it is).
#[inline(always)]
fn transpose(x: &[f32], rows: usize, cols_in: usize, t: &mut [f32], cols: usize) {
    for i in 0..rows {
        for j in 0..cols_in {
            t[j * cols + i] = x[i * cols_in + j];
        }
    }
}

/// Per-window scratch: a head's blocks, padded (`np = padded(n)`, `kp = padded(dk)`).
#[derive(Debug)]
struct Blocks {
    /// `[n, kp]` each.
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    g: Vec<f32>,
    /// `[kp, np]`: Kᵀ (forward) or Vᵀ (backward).
    t: Vec<f32>,
    /// `[n, np]` products, `[n, n]` probabilities (or scores gradients) and their transposes.
    s: Vec<f32>,
    p: Vec<f32>,
    pt: Vec<f32>,
    /// `[n, kp]` results.
    r: Vec<f32>,
}

impl Blocks {
    fn new(dims: &Dims) -> Self {
        let (np, kp, n) = (padded(dims.n), padded(dims.dk), dims.n);
        Self {
            q: vec![0.0; n * kp],
            k: vec![0.0; n * kp],
            v: vec![0.0; n * kp],
            g: vec![0.0; n * kp],
            t: vec![0.0; kp * np],
            s: vec![0.0; n * np],
            p: vec![0.0; n * n],
            pt: vec![0.0; n * np],
            r: vec![0.0; n * kp],
        }
    }
}

impl Dims {
    /// Copies head `h`'s channels of the window's `[n, d]` rows `x` into `[n, kp]` `out`.
    #[inline(always)]
    fn gather(&self, x: &[f32], h: usize, out: &mut [f32]) {
        let kp = padded(self.dk);
        for (row, o) in x.chunks_exact(self.d).zip(out.chunks_exact_mut(kp)) {
            o[..self.dk].copy_from_slice(&row[h * self.dk..(h + 1) * self.dk]);
        }
    }

    /// Writes (or adds, with `add`) the `[n, kp]` block `r` into head `h`'s channels of `x`.
    #[inline(always)]
    fn scatter(&self, r: &[f32], h: usize, x: &mut [f32], add: bool) {
        let kp = padded(self.dk);
        for (row, o) in x.chunks_exact_mut(self.d).zip(r.chunks_exact(kp)) {
            let dst = &mut row[h * self.dk..(h + 1) * self.dk];
            if add {
                dst.iter_mut().zip(o).for_each(|(d, v)| *d += v);
            } else {
                dst.copy_from_slice(&o[..self.dk]);
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
    let (np, kp) = (padded(n), padded(dk));
    let (sl, tl) = (dims.scores_len(), n * d);
    let scale = dims.scale();
    let arch = pulp::Arch::new();
    scores
        .par_chunks_mut(sl)
        .zip(probs.par_chunks_mut(sl))
        .zip(ctx.par_chunks_mut(tl))
        .enumerate()
        .for_each_init(
            || Blocks::new(&dims),
            |bl, (w, ((s, p), c))| {
                arch.dispatch(
                    #[inline(always)]
                    || {
                        let (qw, kw, vw) =
                            (&q[w * tl..][..tl], &k[w * tl..][..tl], &v[w * tl..][..tl]);
                        for h in 0..dims.heads {
                            dims.gather(qw, h, &mut bl.q);
                            dims.gather(kw, h, &mut bl.k);
                            dims.gather(vw, h, &mut bl.v);
                            transpose(&bl.k, n, kp, &mut bl.t, np);
                            small_mm(&bl.q, &bl.t, n, kp, np, &mut bl.s);
                            for i in 0..n {
                                let at = (h * n + i) * n;
                                let raw = &bl.s[i * np..i * np + n];
                                let srow = &mut s[at..at + n];
                                match prev {
                                    Some(prev) => {
                                        let pr = &prev[w * sl + at..w * sl + at + n];
                                        for ((s, &r), &p) in srow.iter_mut().zip(raw).zip(pr) {
                                            *s = r * scale + p;
                                        }
                                    }
                                    None => {
                                        srow.iter_mut().zip(raw).for_each(|(s, &r)| *s = r * scale)
                                    }
                                }
                                let prow = &mut p[at..at + n];
                                let m = srow.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
                                for (p, &s) in prow.iter_mut().zip(srow.iter()) {
                                    *p = (s - m).exp();
                                }
                                let sum = sum8(n, |j| prow[j]);
                                let inv = 1.0 / sum;
                                let local = &mut bl.p[i * n..i * n + n];
                                match mask {
                                    Some(mk) => {
                                        let mrow = &mk[w * sl + at..w * sl + at + n];
                                        for ((p, l), &m) in
                                            prow.iter_mut().zip(local.iter_mut()).zip(mrow)
                                        {
                                            *p *= inv;
                                            *l = *p * m;
                                        }
                                    }
                                    None => {
                                        for (p, l) in prow.iter_mut().zip(local.iter_mut()) {
                                            *p *= inv;
                                            *l = *p;
                                        }
                                    }
                                }
                            }
                            small_mm(&bl.p, &bl.v, n, n, kp, &mut bl.r);
                            dims.scatter(&bl.r, h, c, false);
                        }
                    },
                )
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
    let (np, kp) = (padded(n), padded(dk));
    let (sl, tl) = (dims.scores_len(), n * d);
    let scale = dims.scale();
    let arch = pulp::Arch::new();
    dq.par_chunks_mut(tl)
        .zip(dk_out.par_chunks_mut(tl))
        .zip(dv.par_chunks_mut(tl))
        .zip(carry.par_chunks_mut(sl))
        .enumerate()
        .for_each_init(
            || Blocks::new(&dims),
            |bl, (w, (((dqw, dkw), dvw), cw))| {
                arch.dispatch(
                    #[inline(always)]
                    || {
                        let (qw, kw, vw) =
                            (&q[w * tl..][..tl], &k[w * tl..][..tl], &v[w * tl..][..tl]);
                        let gw = &dctx[w * tl..][..tl];
                        let pw = &probs[w * sl..][..sl];
                        let mw = mask.map(|m| &m[w * sl..][..sl]);
                        for h in 0..dims.heads {
                            dims.gather(qw, h, &mut bl.q);
                            dims.gather(kw, h, &mut bl.k);
                            dims.gather(vw, h, &mut bl.v);
                            dims.gather(gw, h, &mut bl.g);
                            // dP = dctx · Vᵀ.
                            transpose(&bl.v, n, kp, &mut bl.t, np);
                            small_mm(&bl.g, &bl.t, n, kp, np, &mut bl.s);
                            // dV = drop(P)ᵀ · dctx.
                            let ph = &pw[h * n * n..(h + 1) * n * n];
                            match mw {
                                Some(m) => {
                                    let mh = &m[h * n * n..(h + 1) * n * n];
                                    for (l, (&p, &m)) in bl.p.iter_mut().zip(ph.iter().zip(mh)) {
                                        *l = p * m;
                                    }
                                }
                                None => bl.p.copy_from_slice(ph),
                            }
                            transpose(&bl.p, n, n, &mut bl.pt, n);
                            small_mm(&bl.pt, &bl.g, n, n, kp, &mut bl.r);
                            dims.scatter(&bl.r, h, dvw, false);
                            // dS = P ⊙ (dP − rowsum(dP ⊙ P)) (+ the next layer's), scaled; into bl.p.
                            for i in 0..n {
                                let at = (h * n + i) * n;
                                let prow = &pw[at..at + n];
                                let dp = &mut bl.s[i * np..i * np + n];
                                if let Some(m) = mw {
                                    dp.iter_mut()
                                        .zip(&m[at..at + n])
                                        .for_each(|(x, &m)| *x *= m);
                                }
                                let dot = sum8(n, |j| dp[j] * prow[j]);
                                let crow = &mut cw[at..at + n];
                                let out = &mut bl.p[i * n..i * n + n];
                                for j in 0..n {
                                    let mut s = prow[j] * (dp[j] - dot);
                                    if flow.add {
                                        s += crow[j];
                                    }
                                    if flow.keep {
                                        crow[j] = s;
                                    }
                                    out[j] = s * scale;
                                }
                            }
                            // dQ = dS·K; dK = dSᵀ·Q.
                            small_mm(&bl.p, &bl.k, n, n, kp, &mut bl.r);
                            dims.scatter(&bl.r, h, dqw, false);
                            transpose(&bl.p, n, n, &mut bl.pt, n);
                            small_mm(&bl.pt, &bl.q, n, n, kp, &mut bl.r);
                            dims.scatter(&bl.r, h, dkw, false);
                        }
                    },
                )
            },
        );
}
