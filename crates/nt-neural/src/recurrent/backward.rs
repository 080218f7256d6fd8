//! Backpropagation through time for one recurrent layer, from the [`Tape`] of its training
//! forward: per step (last to first) one fused pass over the gates and one product with `W_hh`
//! carrying the gradient to the previous step; the weight and input gradients afterwards as
//! single products over all `B·T` rows.

use rayon::prelude::*;

use super::forward::{group_sizes, grow, Buf};
use super::train::Tape;
use super::{check_len, Cell, LayerShape, LayerWeights};
use crate::engine::matmul::{matmul, View, ViewMut};
use crate::{Error, Result};

/// Batches from this size split each step's backward gate pass over rayon's threads.
const PAR_BATCH: usize = 16;

/// The per-window buffers one backward step writes.
#[derive(Default)]
struct BRows<'a> {
    /// Gradient of the input-side pre-activations `[B, T, G·H]`.
    dxp: Buf<'a>,
    /// Gradient of the recurrent-side pre-activations `[B, T, G·H]` (GRU).
    dhp: Buf<'a>,
    /// The gradient reaching `h_t` from step `t + 1`, `[B, out]` (GRU: replaced by the part
    /// reaching `h_{t−1}` directly, before the product with `W_hh` is added).
    carry: Buf<'a>,
    /// The gradient of `c_t` from step `t + 1`, `[B, H]`, replaced by that of `c_{t−1}`.
    dc: Buf<'a>,
}

impl<'a> BRows<'a> {
    fn split(self, nb: usize) -> (Self, Self) {
        let (dxp, dxp2) = self.dxp.split(nb);
        let (dhp, dhp2) = self.dhp.split(nb);
        let (carry, carry2) = self.carry.split(nb);
        let (dc, dc2) = self.dc.split(nb);
        (
            Self {
                dxp,
                dhp,
                carry,
                dc,
            },
            Self {
                dxp: dxp2,
                dhp: dhp2,
                carry: carry2,
                dc: dc2,
            },
        )
    }
}

/// The backward gate pass of step `t` for windows `b0..b0 + nb`.
struct BackPass<'r, 'a> {
    shape: LayerShape,
    t: usize,
    tlen: usize,
    tape: &'r Tape,
    /// `dy [B, T, out]`, or for a projected LSTM the gradient of `o ⊙ tanh c_t` at this step
    /// (`[B, H]`, already through `W_hr`).
    dm: &'r [f32],
    b0: usize,
    nb: usize,
    rows: BRows<'a>,
}

impl pulp::WithSimd for BackPass<'_, '_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        let BackPass {
            shape,
            t,
            tlen,
            tape,
            dm,
            b0,
            nb,
            mut rows,
        } = self;
        let (h, gh, r) = (shape.hidden, shape.gate_width(), shape.output());
        let proj = shape.proj > 0;
        for b in 0..nb {
            let bt = (b0 + b) * tlen + t;
            let a = &tape.acts[bt * gh..(bt + 1) * gh];
            let dg = rows.dxp.row(b, t, gh);
            match shape.cell {
                Cell::Lstm => {
                    let tc = &tape.tanhc[bt * h..(bt + 1) * h];
                    let cp = &tape.cprev[bt * h..(bt + 1) * h];
                    let dc = rows.dc.row(b, 0, h);
                    // dm = dL/d(o ⊙ tanh c_t): through W_hr (given), or dy + the carry.
                    let carry = rows.carry.row(b, 0, r);
                    let dmr: &[f32] = if proj {
                        &dm[(b0 + b) * h..(b0 + b + 1) * h]
                    } else {
                        for (c, d) in carry.iter_mut().zip(&dm[bt * r..(bt + 1) * r]) {
                            *c += d;
                        }
                        carry
                    };
                    let (dgi, rest) = dg.split_at_mut(h);
                    let (dgf, rest) = rest.split_at_mut(h);
                    let (dgg, dgo) = rest.split_at_mut(h);
                    for j in 0..h {
                        let (i, f, g, o) = (a[j], a[h + j], a[2 * h + j], a[3 * h + j]);
                        let (dmj, tcj) = (dmr[j], tc[j]);
                        let dcs = dc[j] + dmj * o * (1.0 - tcj * tcj);
                        dgi[j] = dcs * g * (i * (1.0 - i));
                        dgf[j] = dcs * cp[j] * (f * (1.0 - f));
                        dgg[j] = dcs * i * (1.0 - g * g);
                        dgo[j] = dmj * tcj * (o * (1.0 - o));
                        dc[j] = dcs * f;
                    }
                }
                Cell::Gru => {
                    let hpn = &tape.hpn[bt * h..(bt + 1) * h];
                    let hp = &tape.hprev[bt * h..(bt + 1) * h];
                    let dy = &dm[bt * h..(bt + 1) * h];
                    let carry = rows.carry.row(b, 0, h);
                    let dh2 = rows.dhp.row(b, t, gh);
                    for j in 0..h {
                        let (rg, z, n) = (a[j], a[h + j], a[2 * h + j]);
                        let dh = dy[j] + carry[j];
                        let dan = dh * (1.0 - z) * (1.0 - n * n);
                        let dar = dan * hpn[j] * (rg * (1.0 - rg));
                        let daz = dh * (hp[j] - n) * (z * (1.0 - z));
                        dg[j] = dar;
                        dg[h + j] = daz;
                        dg[2 * h + j] = dan;
                        dh2[j] = dar;
                        dh2[h + j] = daz;
                        dh2[2 * h + j] = dan * rg;
                        carry[j] = dh * z;
                    }
                }
            }
        }
    }
}

/// Backpropagation through time over the forward recorded in `tape` (by
/// [`layer_forward_train`](super::layer_forward_train) with the same `shape` and `w`): from
/// `dy [B, T, out]`, writes `dx [B, T, I]` and adds the weight gradients to `dw` (flat order,
/// [`LayerShape::n_weights`] values, accumulated `+=`); the initial state's gradients are left
/// in [`Tape::dh0`] and [`Tape::dc0`]. Errors when the tape holds no forward of this shape or a
/// length does not match.
pub fn layer_backward(
    shape: &LayerShape,
    w: &LayerWeights<'_>,
    tape: &mut Tape,
    dy: &[f32],
    dx: &mut [f32],
    dw: &mut [f32],
) -> Result<()> {
    w.check(shape)?;
    let (b, t) = match tape.dims {
        Some((s, b, t)) if s == *shape => (b, t),
        _ => {
            return Err(Error::invalid(
                "recurrent.tape",
                format!("a training forward of {shape:?} recorded before the backward"),
            ))
        }
    };
    let (i, h, gh, r) = (
        shape.input,
        shape.hidden,
        shape.gate_width(),
        shape.output(),
    );
    let n = b * t;
    check_len("dy", dy.len(), n * r)?;
    check_len("dx", dx.len(), n * i)?;
    check_len("dw", dw.len(), shape.n_weights())?;
    let lstm = shape.cell == Cell::Lstm;
    let proj = shape.proj > 0;
    let arch = pulp::Arch::new();
    let par = b >= PAR_BATCH;
    let groups = if par {
        group_sizes(b, 2 * rayon::current_num_threads())
    } else {
        vec![b]
    };

    let mut dxp = std::mem::take(&mut tape.dxp);
    let mut dhp = std::mem::take(&mut tape.dhp);
    let mut dhs = std::mem::take(&mut tape.dh);
    grow(&mut dxp, n * gh);
    if !lstm {
        grow(&mut dhp, n * gh);
    }
    if proj {
        grow(&mut dhs, n * r);
    }
    let mut carry = vec![0f32; b * r];
    let mut dc = vec![0f32; if lstm { b * h } else { 0 }];
    let mut dm = vec![0f32; if proj { b * h } else { 0 }];
    for step in (0..t).rev() {
        if proj {
            // dh_t = dy_t + carry, kept for dW_hr; dm = dh_t · W_hr.
            for (bi, c) in carry.chunks_exact_mut(r).enumerate() {
                let o = (bi * t + step) * r;
                for (c, d) in c.iter_mut().zip(&dy[o..o + r]) {
                    *c += d;
                }
                dhs[o..o + r].copy_from_slice(c);
            }
            matmul(
                ViewMut::rows(&mut dm, b, h),
                View::rows(&carry, b, r),
                View::rows(w.w_hr, r, h),
                false,
                1.0,
            )?;
        }
        let rows = BRows {
            dxp: Buf::new(&mut dxp[..n * gh], t * gh, gh),
            dhp: if lstm {
                Buf::default()
            } else {
                Buf::new(&mut dhp[..n * gh], t * gh, gh)
            },
            carry: Buf::new(&mut carry, r, 0),
            dc: Buf::new(&mut dc, h, 0),
        };
        let src: &[f32] = if proj { &dm } else { dy };
        let pass = |b0: usize, nb: usize, rows| BackPass {
            shape: *shape,
            t: step,
            tlen: t,
            tape: &*tape,
            dm: src,
            b0,
            nb,
            rows,
        };
        if par {
            let mut parts = Vec::with_capacity(groups.len());
            let (mut rest, mut b0) = (rows, 0);
            for &nb in &groups {
                let (g, tail) = rest.split(nb);
                parts.push(pass(b0, nb, g));
                rest = tail;
                b0 += nb;
            }
            parts.into_par_iter().for_each(|p| arch.dispatch(p));
        } else {
            arch.dispatch(pass(0, b, rows));
        }
        // The gradient reaching h_{t−1} through W_hh (GRU: added to its direct part z ⊙ dh).
        let rec = if lstm { &dxp } else { &dhp };
        matmul(
            ViewMut::rows(&mut carry, b, r),
            View {
                data: rec,
                off: step * gh,
                rows: b,
                cols: gh,
                rs: t * gh,
                cs: 1,
            },
            View::rows(w.w_hh, gh, r),
            !lstm,
            1.0,
        )?;
    }
    tape.dh0.clear();
    tape.dh0.extend_from_slice(&carry);
    tape.dc0.clear();
    tape.dc0.extend_from_slice(&dc);

    let o = shape.offsets();
    let (dw_ih, rest) = dw.split_at_mut(o[1]);
    let (dw_hh, rest) = rest.split_at_mut(o[2] - o[1]);
    let (db_ih, rest) = rest.split_at_mut(gh);
    let (db_hh, dw_hr) = rest.split_at_mut(gh);
    let gx = &dxp[..n * gh];
    let gr = if lstm { gx } else { &dhp[..n * gh] };
    // dx = dG_x · W_ih; dW_ih += dG_xᵀ · x; dW_hh += dG_hᵀ · h_{t−1}; biases: column sums.
    matmul(
        ViewMut::rows(dx, n, i),
        View::rows(gx, n, gh),
        View::rows(w.w_ih, gh, i),
        false,
        1.0,
    )?;
    matmul(
        ViewMut::rows(dw_ih, gh, i),
        View::rows(gx, n, gh).t(),
        View::rows(&tape.x, n, i),
        true,
        1.0,
    )?;
    matmul(
        ViewMut::rows(dw_hh, gh, r),
        View::rows(gr, n, gh).t(),
        View::rows(&tape.hprev, n, r),
        true,
        1.0,
    )?;
    column_sums(gx, gh, db_ih)?;
    column_sums(gr, gh, db_hh)?;
    if proj {
        matmul(
            ViewMut::rows(dw_hr, r, h),
            View::rows(&dhs[..n * r], n, r).t(),
            View::rows(&tape.m, n, h),
            true,
            1.0,
        )?;
    }
    tape.dxp = dxp;
    tape.dhp = dhp;
    tape.dh = dhs;
    Ok(())
}

/// `acc[j] += Σ_rows m[row·w + j]`: one product `1ᵀ·M` (a single pass over `m`, threaded by
/// `gemm` when large).
fn column_sums(m: &[f32], w: usize, acc: &mut [f32]) -> Result<()> {
    let rows = m.len() / w.max(1);
    let ones = vec![1f32; rows];
    matmul(
        ViewMut::rows(acc, 1, w),
        View::rows(&ones, 1, rows),
        View::rows(m, rows, w),
        true,
        1.0,
    )
}
