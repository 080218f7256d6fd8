//! The doubly residual block stack of NHITS and N-BEATS on the native engine.
//!
//! The input window is time-reversed into the residual; the forecast starts at the window's
//! last value. Each block pools the residual, maps it through its [`Mlp`] to `theta`, subtracts
//! its backcast head's map of `theta` from the residual and adds its forecast head's map to the
//! forecast. The two heads read their own column ranges of `theta` through strided views (no
//! `narrow`, no copies), and their backward writes straight into the same ranges of `dtheta`.
//! The forecast is kept `[b, H, Q]` throughout.

use rayon::prelude::*;

use super::matmul::{matmul, View, ViewMut};
use super::mlp::Mlp;
use super::TrainGraph;
use crate::rng::Rng;
use crate::{Error, Result};

/// How a block pools the residual (`L` steps, kernel and stride `k`, ceil mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pool {
    /// The residual as is.
    Identity,
    /// The maximum of each window (the first one on ties; its position kept for the backward).
    Max(usize),
    /// The mean of each window (the last, partial one over the values inside).
    Avg(usize),
}

/// How `theta`'s first columns become the backcast (`L` values).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Backcast {
    /// `theta[.., 0..L]` is the backcast.
    Direct,
    /// `theta[.., 0..p] · basis` with a fixed `[p, L]` basis.
    Basis { p: usize, basis: Vec<f32> },
}

/// How the columns after the backcast become the `[H, Q]` forecast.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Forecast {
    /// Output `q`'s `p` coefficients are contiguous (`theta[off + q·p + j]`: NHITS knots), times
    /// a fixed `[p, H]` map (the interpolation).
    PerOutput { p: usize, map: Vec<f32> },
    /// Coefficient `j` of every output together (`theta[off + j·Q + q]`: N-BEATS bases), times
    /// a fixed `[p, H]` basis.
    Interleaved { p: usize, map: Vec<f32> },
    /// `theta[off + h·Q + q]` is the forecast (N-BEATS generic blocks).
    Direct,
}

/// One block: pooling, MLP, the two heads, and the buffers of its last forward.
#[derive(Debug, Clone)]
pub(crate) struct Block {
    pub(crate) pool: Pool,
    pub(crate) mlp: Mlp,
    pub(crate) backcast: Backcast,
    pub(crate) forecast: Forecast,
    /// The pooled residual of the last forward (the MLP's input).
    pooled: Vec<f32>,
    /// Max pooling's winning positions.
    argmax: Vec<u32>,
    /// Gradient of the pooled residual.
    dpooled: Vec<f32>,
    /// Gradient of theta.
    dtheta: Vec<f32>,
}

impl Block {
    /// A block from its parts.
    pub(crate) fn new(pool: Pool, mlp: Mlp, backcast: Backcast, forecast: Forecast) -> Self {
        Self {
            pool,
            mlp,
            backcast,
            forecast,
            pooled: Vec::new(),
            argmax: Vec::new(),
            dpooled: Vec::new(),
            dtheta: Vec::new(),
        }
    }

    fn backcast_width(&self, l: usize) -> usize {
        match &self.backcast {
            Backcast::Direct => l,
            Backcast::Basis { p, .. } => *p,
        }
    }
}

/// The stack: blocks over the reversed window, and the residual and forecast buffers.
#[derive(Debug, Clone)]
pub(crate) struct ResidualStack {
    input_size: usize,
    horizon: usize,
    n_outputs: usize,
    blocks: Vec<Block>,
    residual: Vec<f32>,
    out: Vec<f32>,
    dresidual: Vec<f32>,
    rows: usize,
}

impl ResidualStack {
    /// The stack over windows of `input_size` with `[horizon, n_outputs]` outputs; checks
    /// that every block's MLP output is as wide as its two heads read.
    pub(crate) fn new(
        input_size: usize,
        horizon: usize,
        n_outputs: usize,
        blocks: Vec<Block>,
    ) -> Result<Self> {
        for (i, blk) in blocks.iter().enumerate() {
            let fore = match &blk.forecast {
                Forecast::PerOutput { p, map } | Forecast::Interleaved { p, map } => {
                    if map.len() != p * horizon {
                        return Err(Error::invalid("engine", format!("block {i}: bad map")));
                    }
                    p * n_outputs
                }
                Forecast::Direct => horizon * n_outputs,
            };
            if let Backcast::Basis { p, basis } = &blk.backcast {
                if basis.len() != p * input_size {
                    return Err(Error::invalid("engine", format!("block {i}: bad basis")));
                }
            }
            if blk.mlp.n_out() != blk.backcast_width(input_size) + fore {
                return Err(Error::invalid(
                    "engine",
                    format!(
                        "block {i}: theta has {} values, the heads read {}",
                        blk.mlp.n_out(),
                        blk.backcast_width(input_size) + fore
                    ),
                ));
            }
        }
        let mut blocks = blocks;
        // The last block's backcast feeds nothing: its outputs are neither computed nor
        // backpropagated (their gradient is zero).
        if let Some(last) = blocks.last_mut() {
            let unused = last.backcast_width(input_size);
            last.mlp.set_unused_leading_outputs(unused);
        }
        Ok(Self {
            input_size,
            horizon,
            n_outputs,
            blocks,
            residual: Vec::new(),
            out: Vec::new(),
            dresidual: Vec::new(),
            rows: 0,
        })
    }
}

/// Rows per parallel task of the stack's row-wise kernels.
const ROWS: usize = 64;

/// Width of a pooled row.
fn pooled_len(pool: Pool, l: usize) -> usize {
    match pool {
        Pool::Identity => l,
        Pool::Max(k) | Pool::Avg(k) => l.div_ceil(k),
    }
}

/// Pools each `l`-wide row of `residual` into `pooled` (and the winners into `argmax`), rows
/// split over rayon's threads.
fn pool_forward(
    pool: Pool,
    residual: &[f32],
    l: usize,
    pooled: &mut Vec<f32>,
    argmax: &mut Vec<u32>,
) {
    let rows = residual.len() / l.max(1);
    let out = pooled_len(pool, l);
    pooled.clear();
    pooled.resize(rows * out, 0.0);
    argmax.clear();
    match pool {
        Pool::Identity => pooled.copy_from_slice(residual),
        Pool::Max(k) => {
            argmax.resize(rows * out, 0);
            pooled
                .par_chunks_mut(out * ROWS)
                .zip(argmax.par_chunks_mut(out * ROWS))
                .zip(residual.par_chunks(l * ROWS))
                .for_each(|((p, a), r)| {
                    for ((p, a), row) in p.chunks_mut(out).zip(a.chunks_mut(out)).zip(r.chunks(l)) {
                        for (w, win) in row.chunks(k).enumerate() {
                            let mut best = 0;
                            for (i, &v) in win.iter().enumerate() {
                                if v > win[best] {
                                    best = i;
                                }
                            }
                            p[w] = win[best];
                            a[w] = (w * k + best) as u32;
                        }
                    }
                });
        }
        Pool::Avg(k) => pooled
            .par_chunks_mut(out * ROWS)
            .zip(residual.par_chunks(l * ROWS))
            .for_each(|(p, r)| {
                for (p, row) in p.chunks_mut(out).zip(r.chunks(l)) {
                    for (p, win) in p.iter_mut().zip(row.chunks(k)) {
                        *p = win.iter().sum::<f32>() * (1.0 / win.len() as f32);
                    }
                }
            }),
    }
}

/// Adds the pooling's backward of `dpooled` to `dresidual`, rows split over rayon's threads.
fn pool_backward(pool: Pool, dpooled: &[f32], argmax: &[u32], l: usize, dresidual: &mut [f32]) {
    let out = pooled_len(pool, l);
    let chunks = dresidual
        .par_chunks_mut(l * ROWS)
        .zip(dpooled.par_chunks(out * ROWS));
    match pool {
        Pool::Identity => chunks.for_each(|(d, g)| d.iter_mut().zip(g).for_each(|(d, g)| *d += g)),
        Pool::Max(_) => chunks
            .zip(argmax.par_chunks(out * ROWS))
            .for_each(|((d, g), a)| {
                for ((drow, grow), arow) in d.chunks_mut(l).zip(g.chunks(out)).zip(a.chunks(out)) {
                    for (g, &at) in grow.iter().zip(arow) {
                        drow[at as usize] += g;
                    }
                }
            }),
        Pool::Avg(k) => chunks.for_each(|(d, g)| {
            for (drow, grow) in d.chunks_mut(l).zip(g.chunks(out)) {
                for (win, g) in drow.chunks_mut(k).zip(grow) {
                    let g = g * (1.0 / win.len() as f32);
                    win.iter_mut().for_each(|d| *d += g);
                }
            }
        }),
    }
}

/// `dst[r][range] op= src[r][..]` style row kernel over rayon's threads: calls `f(dst_row,
/// src_row)` for each of the rows of `dst` (`dw` wide) and `src` (`sw` wide).
fn rows_zip(
    dst: &mut [f32],
    dw: usize,
    src: &[f32],
    sw: usize,
    f: impl Fn(&mut [f32], &[f32]) + Sync,
) {
    dst.par_chunks_mut(dw * ROWS)
        .zip(src.par_chunks(sw * ROWS))
        .for_each(|(d, s)| {
            d.chunks_mut(dw)
                .zip(s.chunks(sw))
                .for_each(|(d, s)| f(d, s))
        });
}

impl TrainGraph for ResidualStack {
    fn input_width(&self) -> usize {
        self.input_size
    }

    fn output_len(&self) -> usize {
        self.horizon * self.n_outputs
    }

    fn forward(
        &mut self,
        weights: &[f32],
        x: &[f32],
        b: usize,
        mut rng: Option<&mut Rng>,
    ) -> Result<&[f32]> {
        let (l, h, q) = (self.input_size, self.horizon, self.n_outputs);
        if x.len() != b * l {
            return Err(Error::invalid(
                "input",
                format!("expected {b} windows of {l} values, got {} values", x.len()),
            ));
        }
        self.rows = b;
        // The residual starts as the reversed window, the forecast at its last value.
        self.residual.clear();
        self.residual.resize(b * l, 0.0);
        rows_zip(&mut self.residual, l, x, l, |r, w| {
            r.iter_mut().zip(w.iter().rev()).for_each(|(r, v)| *r = *v)
        });
        self.out.clear();
        self.out.resize(b * h * q, 0.0);
        rows_zip(&mut self.out, h * q, x, l, |o, w| o.fill(w[l - 1]));
        let n_blocks = self.blocks.len();
        for (k, blk) in self.blocks.iter_mut().enumerate() {
            pool_forward(
                blk.pool,
                &self.residual,
                l,
                &mut blk.pooled,
                &mut blk.argmax,
            );
            let t = blk.mlp.n_out();
            let bw = blk.backcast_width(l);
            let theta = blk
                .mlp
                .forward(weights, &blk.pooled, b, rng.as_deref_mut())?;
            let theta_view = |off: usize, cols: usize, cs: usize| View {
                data: theta,
                off,
                rows: b,
                cols,
                rs: t,
                cs,
            };
            // The last block's backcast feeds nothing (its MLP did not compute it).
            if k + 1 < n_blocks {
                match &blk.backcast {
                    Backcast::Direct => rows_zip(&mut self.residual, l, theta, t, |r, th| {
                        r.iter_mut().zip(&th[..l]).for_each(|(r, v)| *r -= v)
                    }),
                    Backcast::Basis { p, basis } => matmul(
                        ViewMut::rows(&mut self.residual, b, l),
                        theta_view(0, *p, 1),
                        View::rows(basis, *p, l),
                        true,
                        -1.0,
                    )?,
                }
            }
            match &blk.forecast {
                Forecast::PerOutput { p, map } | Forecast::Interleaved { p, map } => {
                    let per_output = matches!(blk.forecast, Forecast::PerOutput { .. });
                    for o in 0..q {
                        let coef = if per_output {
                            theta_view(bw + o * p, *p, 1)
                        } else {
                            theta_view(bw + o, *p, q)
                        };
                        let dst = ViewMut {
                            data: &mut self.out,
                            off: o,
                            rows: b,
                            cols: h,
                            rs: h * q,
                            cs: q,
                        };
                        matmul(dst, coef, View::rows(map, *p, h), true, 1.0)?;
                    }
                }
                Forecast::Direct => rows_zip(&mut self.out, h * q, theta, t, |o, th| {
                    o.iter_mut()
                        .zip(&th[bw..bw + h * q])
                        .for_each(|(o, v)| *o += v)
                }),
            }
        }
        Ok(&self.out)
    }

    fn set_bf16(&mut self, on: bool) -> bool {
        // The blocks' MLPs hold all but a sliver of the arithmetic; the fixed heads stay f32.
        for blk in &mut self.blocks {
            blk.mlp.set_bf16(on);
        }
        true
    }

    fn backward(&mut self, weights: &[f32], dout: &mut [f32], grads: &mut [f32]) -> Result<()> {
        let (l, h, q, b) = (self.input_size, self.horizon, self.n_outputs, self.rows);
        if dout.len() != b * h * q {
            return Err(Error::invalid(
                "engine",
                "output gradient of the wrong size",
            ));
        }
        // Gradient of the residual after the block being processed (the last residual feeds
        // nothing).
        self.dresidual.clear();
        self.dresidual.resize(b * l, 0.0);
        let n_blocks = self.blocks.len();
        for k in (0..n_blocks).rev() {
            let blk = &mut self.blocks[k];
            let t = blk.mlp.n_out();
            let bw = blk.backcast_width(l);
            blk.dtheta.clear();
            blk.dtheta.resize(b * t, 0.0);
            // Backcast head: residual -= f(theta), so dtheta = -f'ᵀ dresidual; zero for the last
            // block, whose backcast feeds nothing.
            if k + 1 < n_blocks {
                match &blk.backcast {
                    Backcast::Direct => {
                        rows_zip(&mut blk.dtheta, t, &self.dresidual, l, |dt, dr| {
                            dt[..l].iter_mut().zip(dr).for_each(|(d, g)| *d = -g)
                        })
                    }
                    Backcast::Basis { p, basis } => {
                        let dst = ViewMut {
                            data: &mut blk.dtheta,
                            off: 0,
                            rows: b,
                            cols: *p,
                            rs: t,
                            cs: 1,
                        };
                        matmul(
                            dst,
                            View::rows(&self.dresidual, b, l),
                            View::rows(basis, *p, l).t(),
                            false,
                            -1.0,
                        )?;
                    }
                }
            }
            // Forecast head: out += f(theta), so dtheta = f'ᵀ dout.
            match &blk.forecast {
                Forecast::PerOutput { p, map } | Forecast::Interleaved { p, map } => {
                    let per_output = matches!(blk.forecast, Forecast::PerOutput { .. });
                    for o in 0..q {
                        let (off, cs) = if per_output {
                            (bw + o * p, 1)
                        } else {
                            (bw + o, q)
                        };
                        let dst = ViewMut {
                            data: &mut blk.dtheta,
                            off,
                            rows: b,
                            cols: *p,
                            rs: t,
                            cs,
                        };
                        let g = View {
                            data: dout,
                            off: o,
                            rows: b,
                            cols: h,
                            rs: h * q,
                            cs: q,
                        };
                        matmul(dst, g, View::rows(map, *p, h).t(), false, 1.0)?;
                    }
                }
                Forecast::Direct => rows_zip(&mut blk.dtheta, t, dout, h * q, |dt, g| {
                    dt[bw..bw + h * q].copy_from_slice(g)
                }),
            }
            let need_input = k > 0;
            let mut dpooled = std::mem::take(&mut blk.dpooled);
            blk.mlp.backward(
                weights,
                &blk.pooled,
                &blk.dtheta,
                grads,
                need_input.then_some(&mut dpooled),
            )?;
            if need_input {
                pool_backward(blk.pool, &dpooled, &blk.argmax, l, &mut self.dresidual);
            }
            blk.dpooled = dpooled;
        }
        Ok(())
    }
}
