//! The token-level pieces of the PatchTST training graph: linear layers over `[rows, n_in]`
//! token rows (one `gemm` each way), BatchNorm1d over the channels with batch statistics (and
//! its backward), dropout masks drawn in candle's order, the feed-forward activations, and the
//! elementwise helpers, all split over rayon's threads in fixed chunks so every value is
//! computed the same way whatever the thread count.

use std::ops::Range;

use rayon::prelude::*;

use crate::engine::matmul::{matmul, View, ViewMut};
use crate::engine::{ops, ParamLayout};
use crate::rng::Rng;
use crate::Result;

use super::super::network::EPS;

/// Elements per parallel chunk of the elementwise kernels.
const CHUNK: usize = 8192;
/// Rows per partial sum of the column reductions (fixed: sums do not depend on threads).
const ROWS: usize = 256;

/// Runs `f` compiled for the CPU's widest SIMD (`pulp` dispatch; loops keep their order of
/// sums, so every width gives the same bits).
#[inline(always)]
fn simd<R>(f: impl FnOnce() -> R) -> R {
    pulp::Arch::new().dispatch(f)
}

/// `1 / sqrt(2π)`.
const INV_SQRT_2PI: f32 = 0.398_942_3;

/// One `nn.Linear(n_in, n_out)` in the flat buffer: weight `[n_out, n_in]` and bias.
#[derive(Debug, Clone)]
pub(super) struct Lin {
    pub(super) w: Range<usize>,
    pub(super) b: Range<usize>,
    pub(super) n_in: usize,
    pub(super) n_out: usize,
}

impl Lin {
    /// The linear layer named `prefix` (`{prefix}.weight`, `{prefix}.bias`).
    pub(super) fn find(
        layout: &ParamLayout,
        prefix: &str,
        n_in: usize,
        n_out: usize,
    ) -> Result<Self> {
        Ok(Self {
            w: layout.find(&format!("{prefix}.weight"), n_in * n_out)?,
            b: layout.find(&format!("{prefix}.bias"), n_out)?,
            n_in,
            n_out,
        })
    }

    /// `out = x · Wᵀ + b` over `rows` rows.
    pub(super) fn forward(
        &self,
        weights: &[f32],
        x: &[f32],
        rows: usize,
        out: &mut Vec<f32>,
    ) -> Result<()> {
        out.resize(rows * self.n_out, 0.0);
        ops::fill_rows(out, &weights[self.b.clone()]);
        matmul(
            ViewMut::rows(out, rows, self.n_out),
            View::rows(x, rows, self.n_in),
            View::rows(&weights[self.w.clone()], self.n_out, self.n_in).t(),
            true,
            1.0,
        )
    }

    /// Backward of `forward(x)` for the output gradient `g`: writes the weight and bias
    /// gradients into `grads` and, when `dx` is given, `g · W` into it (added to what it
    /// holds with `accumulate`).
    pub(super) fn backward(
        &self,
        weights: &[f32],
        x: &[f32],
        g: &[f32],
        rows: usize,
        grads: &mut [f32],
        dx: Option<(&mut Vec<f32>, bool)>,
    ) -> Result<()> {
        // dWᵀ = Xᵀ G into a column-major view of dW (gemm runs this layout faster).
        matmul(
            ViewMut {
                data: &mut grads[self.w.clone()],
                off: 0,
                rows: self.n_in,
                cols: self.n_out,
                rs: 1,
                cs: self.n_in,
            },
            View::rows(x, rows, self.n_in).t(),
            View::rows(g, rows, self.n_out),
            false,
            1.0,
        )?;
        ops::column_sums(g, self.n_out, &mut grads[self.b.clone()]);
        if let Some((dx, accumulate)) = dx {
            dx.resize(rows * self.n_in, 0.0);
            matmul(
                ViewMut::rows(dx, rows, self.n_in),
                View::rows(g, rows, self.n_out),
                View::rows(&weights[self.w.clone()], self.n_out, self.n_in),
                accumulate,
                1.0,
            )?;
        }
        Ok(())
    }
}

/// A `BatchNorm1d(d)` in the flat buffer.
#[derive(Debug, Clone)]
pub(super) struct Bn {
    pub(super) w: Range<usize>,
    pub(super) b: Range<usize>,
    pub(super) rm: Range<usize>,
    pub(super) rv: Range<usize>,
}

/// What BatchNorm's training forward keeps for its backward and the running statistics.
#[derive(Debug, Clone, Default)]
pub(super) struct BnState {
    /// The normalized input `(x − mean) / sqrt(var + eps)`, `[rows, d]`.
    pub(super) xhat: Vec<f32>,
    /// `1 / sqrt(var + eps)` per channel.
    inv_std: Vec<f32>,
    /// The batch mean and biased variance per channel.
    mean: Vec<f32>,
    var: Vec<f32>,
    /// Rows of the last training forward (0: not trained since).
    rows: usize,
}

/// Column sums of `f(row_start, j, a[row_start + j])` over the `width`-wide rows of `a`, in
/// f64, as partial sums over fixed row blocks added in order.
fn column_sums_f64<F>(a: &[f32], width: usize, f: F) -> Vec<f64>
where
    F: Fn(usize, usize, f32) -> f64 + Sync,
{
    let partial: Vec<Vec<f64>> = a
        .par_chunks(width * ROWS)
        .enumerate()
        .map(|(c, chunk)| {
            simd(
                #[inline(always)]
                || {
                    let mut acc = vec![0f64; width];
                    for (r, row) in chunk.chunks_exact(width).enumerate() {
                        let base = (c * ROWS + r) * width;
                        for (j, (s, &v)) in acc.iter_mut().zip(row).enumerate() {
                            *s += f(base, j, v);
                        }
                    }
                    acc
                },
            )
        })
        .collect();
    let mut total = vec![0f64; width];
    for p in &partial {
        total.iter_mut().zip(p).for_each(|(t, v)| *t += v);
    }
    total
}

impl Bn {
    /// The BatchNorm named `prefix` over `d` channels.
    pub(super) fn find(layout: &ParamLayout, prefix: &str, d: usize) -> Result<Self> {
        let f = |n: &str| layout.find(&format!("{prefix}.{n}"), d);
        Ok(Self {
            w: f("weight")?,
            b: f("bias")?,
            rm: f("running_mean")?,
            rv: f("running_var")?,
        })
    }

    /// Training: `y = (x − mean)/sqrt(var + eps) · w + b` with the batch's mean and biased
    /// variance over the rows.
    pub(super) fn train(
        &self,
        weights: &[f32],
        x: &[f32],
        d: usize,
        st: &mut BnState,
        y: &mut Vec<f32>,
    ) {
        let rows = x.len() / d.max(1);
        let n = rows as f64;
        let mean: Vec<f64> = column_sums_f64(x, d, |_, _, v| f64::from(v))
            .into_iter()
            .map(|s| s / n)
            .collect();
        let var: Vec<f64> = column_sums_f64(x, d, |_, j, v| {
            let c = f64::from(v) - mean[j];
            c * c
        })
        .into_iter()
        .map(|s| s / n)
        .collect();
        st.mean = mean.iter().map(|&m| m as f32).collect();
        st.var = var.iter().map(|&v| v as f32).collect();
        st.inv_std = st
            .var
            .iter()
            .map(|&v| 1.0 / (v + EPS as f32).sqrt())
            .collect();
        st.rows = rows;
        st.xhat.resize(x.len(), 0.0);
        y.resize(x.len(), 0.0);
        let (w, b) = (&weights[self.w.clone()], &weights[self.b.clone()]);
        let (mean, inv) = (&st.mean, &st.inv_std);
        st.xhat
            .par_chunks_mut(d * ROWS)
            .zip(y.par_chunks_mut(d * ROWS))
            .zip(x.par_chunks(d * ROWS))
            .for_each(|((xh, y), x)| {
                simd(
                    #[inline(always)]
                    || {
                        for ((xh, y), x) in xh
                            .chunks_exact_mut(d)
                            .zip(y.chunks_exact_mut(d))
                            .zip(x.chunks_exact(d))
                        {
                            for j in 0..d {
                                let v = (x[j] - mean[j]) * inv[j];
                                xh[j] = v;
                                y[j] = v * w[j] + b[j];
                            }
                        }
                    },
                );
            });
    }

    /// Inference: the running statistics instead of the batch's.
    pub(super) fn eval(&self, weights: &[f32], x: &[f32], d: usize, y: &mut Vec<f32>) {
        let (w, b) = (&weights[self.w.clone()], &weights[self.b.clone()]);
        let rm = &weights[self.rm.clone()];
        let scale: Vec<f32> = weights[self.rv.clone()]
            .iter()
            .zip(w)
            .map(|(&v, &w)| w / (v + EPS as f32).sqrt())
            .collect();
        y.resize(x.len(), 0.0);
        y.par_chunks_mut(d * ROWS)
            .zip(x.par_chunks(d * ROWS))
            .for_each(|(y, x)| {
                simd(
                    #[inline(always)]
                    || {
                        for (y, x) in y.chunks_exact_mut(d).zip(x.chunks_exact(d)) {
                            for j in 0..d {
                                y[j] = (x[j] - rm[j]) * scale[j] + b[j];
                            }
                        }
                    },
                );
            });
    }

    /// Moves the running statistics towards the last training forward's batch statistics
    /// (momentum 0.1; the variance unbiased), as PyTorch does.
    pub(super) fn update_running(&self, weights: &mut [f32], st: &BnState) {
        if st.rows < 2 {
            return;
        }
        let m = 0.1f32;
        let unbiased = st.rows as f64 / (st.rows as f64 - 1.0);
        let mv = (0.1 * unbiased) as f32;
        for (r, &v) in weights[self.rm.clone()].iter_mut().zip(&st.mean) {
            *r = *r * (1.0 - m) + v * m;
        }
        for (r, &v) in weights[self.rv.clone()].iter_mut().zip(&st.var) {
            *r = *r * (1.0 - m) + v * mv;
        }
    }

    /// Backward of the last training forward for the output gradient `dy`: the weight and
    /// bias gradients into `grads`, the input gradient into `dx`.
    pub(super) fn backward(
        &self,
        weights: &[f32],
        st: &BnState,
        dy: &[f32],
        d: usize,
        grads: &mut [f32],
        dx: &mut Vec<f32>,
    ) {
        let xhat = &st.xhat;
        let db = column_sums_f64(dy, d, |_, _, v| f64::from(v));
        let dw = column_sums_f64(dy, d, |base, j, v| f64::from(v) * f64::from(xhat[base + j]));
        for (g, v) in grads[self.b.clone()].iter_mut().zip(&db) {
            *g = *v as f32;
        }
        for (g, v) in grads[self.w.clone()].iter_mut().zip(&dw) {
            *g = *v as f32;
        }
        let n = st.rows.max(1) as f64;
        let w = &weights[self.w.clone()];
        // dx = w·inv_std · (dy − mean(dy) − xhat · mean(dy·xhat))
        let k: Vec<f32> = (0..d).map(|j| w[j] * st.inv_std[j]).collect();
        let mdb: Vec<f32> = db.iter().map(|&v| (v / n) as f32).collect();
        let mdw: Vec<f32> = dw.iter().map(|&v| (v / n) as f32).collect();
        dx.resize(dy.len(), 0.0);
        dx.par_chunks_mut(d * ROWS)
            .zip(dy.par_chunks(d * ROWS))
            .zip(xhat.par_chunks(d * ROWS))
            .for_each(|((dx, dy), xh)| {
                simd(
                    #[inline(always)]
                    || {
                        for ((dx, dy), xh) in dx
                            .chunks_exact_mut(d)
                            .zip(dy.chunks_exact(d))
                            .zip(xh.chunks_exact(d))
                        {
                            for j in 0..d {
                                dx[j] = k[j] * (dy[j] - mdb[j] - xh[j] * mdw[j]);
                            }
                        }
                    },
                );
            });
    }
}

/// Draws a dropout mask of `n` keep-scales (0 or `1/(1−p)`) from `rng` in element order, as
/// `crate::layers::dropout` does, multiplying it into `mask` when `combine` (which then must
/// hold `n` values) or replacing it otherwise.
pub(super) fn draw_mask(rng: &mut Rng, n: usize, p: f64, mask: &mut Vec<f32>, combine: bool) {
    let keep = (1.0 / (1.0 - p)) as f32;
    if combine {
        for m in mask.iter_mut() {
            if rng.next_f64() < p {
                *m = 0.0;
            } else {
                *m *= keep;
            }
        }
    } else {
        mask.clear();
        mask.extend((0..n).map(|_| if rng.next_f64() < p { 0.0 } else { keep }));
    }
}

/// `dst[i] = f(dst[i], src[i])` over rayon's threads in fixed chunks.
pub(super) fn zip_apply(dst: &mut [f32], src: &[f32], f: impl Fn(f32, f32) -> f32 + Sync + Send) {
    dst.par_chunks_mut(CHUNK)
        .zip(src.par_chunks(CHUNK))
        .for_each(|(d, s)| {
            simd(
                #[inline(always)]
                || d.iter_mut().zip(s).for_each(|(d, &s)| *d = f(*d, s)),
            )
        });
}

/// `dst[i] = f(a[i], b[i])` over rayon's threads in fixed chunks.
pub(super) fn zip3(
    dst: &mut Vec<f32>,
    a: &[f32],
    b: &[f32],
    f: impl Fn(f32, f32) -> f32 + Sync + Send,
) {
    dst.resize(a.len(), 0.0);
    dst.par_chunks_mut(CHUNK)
        .zip(a.par_chunks(CHUNK))
        .zip(b.par_chunks(CHUNK))
        .for_each(|((d, a), b)| {
            simd(
                #[inline(always)]
                || {
                    d.iter_mut()
                        .zip(a)
                        .zip(b)
                        .for_each(|((d, &a), &b)| *d = f(a, b))
                },
            )
        });
}

/// The exact GELU's `Φ(x) = (1 + erf(x/√2)) / 2`.
#[inline]
fn cdf(x: f32) -> f32 {
    (candle_core::cpu::erf::erf_f32(x * std::f32::consts::FRAC_1_SQRT_2) + 1.0) * 0.5
}

/// `y = act(x)` (GELU or ReLU); `x` is kept for the backward.
pub(super) fn activate(gelu: bool, x: &[f32], y: &mut Vec<f32>) {
    y.resize(x.len(), 0.0);
    y.par_chunks_mut(CHUNK)
        .zip(x.par_chunks(CHUNK))
        .for_each(|(y, x)| {
            for (y, &x) in y.iter_mut().zip(x) {
                *y = if gelu { cdf(x) * x } else { x.max(0.0) };
            }
        });
}

/// `g *= act'(x)` for the pre-activation `x`.
pub(super) fn activation_backward(gelu: bool, x: &[f32], g: &mut [f32]) {
    g.par_chunks_mut(CHUNK)
        .zip(x.par_chunks(CHUNK))
        .for_each(|(g, x)| {
            for (g, &x) in g.iter_mut().zip(x) {
                let slope = if gelu {
                    cdf(x) + x * INV_SQRT_2PI * (-0.5 * x * x).exp()
                } else if x >= 0.0 {
                    1.0
                } else {
                    0.0
                };
                *g *= slope;
            }
        });
}
