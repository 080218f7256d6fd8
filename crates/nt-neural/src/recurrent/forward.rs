//! The forward recursion of a recurrent layer: [`layer_forward`] over a sequence and
//! [`layer_step`] for one step, both over a reusable [`Scratch`]; the same step pass records the
//! training tape (`train.rs`) when given one.

use rayon::prelude::*;

use super::act::{sigmoid_all, tanh_all};
use super::kernel::affine;
use super::{check_len, Cell, LayerShape, LayerWeights, SMALL_BATCH};
use crate::Result;

/// Batches from this size split each step's gate pass over rayon's threads.
const PAR_BATCH: usize = 16;

/// The recurrent state of a batch: `h [B, out]` and, for an LSTM, `c [B, hidden]` (empty for a
/// GRU), batch-major. [`layer_forward`] and [`layer_step`] update it in place, so a caller can
/// continue a sequence where it stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// Hidden state `h [B, out]` (the layer's last output).
    pub h: Vec<f32>,
    /// Cell state `c [B, hidden]` (LSTM; empty for GRU).
    pub c: Vec<f32>,
}

impl State {
    /// The zero state of `b` windows (what PyTorch starts from without `h0`/`c0`).
    pub fn zeros(shape: &LayerShape, b: usize) -> Self {
        let c = match shape.cell {
            Cell::Lstm => vec![0.0; b * shape.hidden],
            Cell::Gru => Vec::new(),
        };
        Self {
            h: vec![0.0; b * shape.output()],
            c,
        }
    }

    /// Checks the lengths against `shape` at batch `b`.
    pub(super) fn check(&self, shape: &LayerShape, b: usize) -> Result<()> {
        check_len("state.h", self.h.len(), b * shape.output())?;
        let c = match shape.cell {
            Cell::Lstm => b * shape.hidden,
            Cell::Gru => 0,
        };
        check_len("state.c", self.c.len(), c)
    }
}

/// Every buffer the forward needs, allocated on first use and reused (grown, never shrunk) by
/// later calls of any size.
#[derive(Debug, Clone)]
pub struct Scratch {
    arch: pulp::Arch,
    /// Input projections `x W_ihᵀ + b_ih`, `[B·T, G·H]`.
    xp: Vec<f32>,
    /// Recurrent products `h W_hhᵀ + b_hh` of the current step, `[B, G·H]`.
    hp: Vec<f32>,
    /// Gate activations of the current step, `[B, G·H]` (inference).
    a: Vec<f32>,
    /// `tanh c` of the current step, `[B, H]` (inference).
    tc: Vec<f32>,
    /// `o ⊙ tanh c` before the projection, `[B, H]`.
    m: Vec<f32>,
    /// Zeros, the projection's absent bias, `[P]`.
    zeros: Vec<f32>,
}

impl Default for Scratch {
    fn default() -> Self {
        Self::new()
    }
}

impl Scratch {
    /// Empty buffers (they grow on first use).
    pub fn new() -> Self {
        Self {
            arch: pulp::Arch::new(),
            xp: Vec::new(),
            hp: Vec::new(),
            a: Vec::new(),
            tc: Vec::new(),
            m: Vec::new(),
            zeros: Vec::new(),
        }
    }

    fn reserve(&mut self, shape: &LayerShape, b: usize, t: usize, tape: bool) {
        let (gh, h) = (shape.gate_width(), shape.hidden);
        grow(&mut self.xp, b * t * gh);
        grow(&mut self.hp, b * gh);
        if !tape {
            grow(&mut self.a, b * gh);
            grow(&mut self.tc, b * h);
        }
        if shape.proj > 0 {
            grow(&mut self.m, b * h);
            self.zeros.clear();
            self.zeros.resize(shape.proj, 0.0);
        }
    }
}

/// Grows `v` to at least `n` values.
pub(super) fn grow(v: &mut Vec<f32>, n: usize) {
    if v.len() < n {
        v.resize(n, 0.0);
    }
}

/// A batch-major buffer: row `(b, t)` starts at `b·sb + t·st`.
#[derive(Debug, Default)]
pub(super) struct Buf<'a> {
    d: &'a mut [f32],
    sb: usize,
    st: usize,
}

impl<'a> Buf<'a> {
    pub(super) fn new(d: &'a mut [f32], sb: usize, st: usize) -> Self {
        Self { d, sb, st }
    }

    /// The first `nb` windows and the rest.
    pub(super) fn split(self, nb: usize) -> (Self, Self) {
        let at = (nb * self.sb).min(self.d.len());
        let (l, r) = self.d.split_at_mut(at);
        (
            Self {
                d: l,
                sb: self.sb,
                st: self.st,
            },
            Self {
                d: r,
                sb: self.sb,
                st: self.st,
            },
        )
    }

    #[inline(always)]
    pub(super) fn row(&mut self, b: usize, t: usize, len: usize) -> &mut [f32] {
        let o = b * self.sb + t * self.st;
        &mut self.d[o..o + len]
    }
}

/// The buffers one step's gate pass writes (empty ones where the case has none).
#[derive(Debug, Default)]
pub(super) struct Rows<'a> {
    /// State `h` (`[B, out]`), read (GRU) and written (no projection).
    pub(super) h: Buf<'a>,
    /// State `c` (LSTM).
    pub(super) c: Buf<'a>,
    /// Gate activations: scratch `[B, GH]` or the tape's `[B, T, GH]`.
    pub(super) a: Buf<'a>,
    /// `tanh c` (LSTM): scratch or tape.
    pub(super) tc: Buf<'a>,
    /// `o ⊙ tanh c` before the projection (`[B, H]`).
    pub(super) m: Buf<'a>,
    /// The output `y [B, T, out]` (written here without a projection).
    pub(super) y: Buf<'a>,
    /// Tape: `c_{t−1}` (LSTM).
    pub(super) cprev: Buf<'a>,
    /// Tape: `h_{t−1}`.
    pub(super) hprev: Buf<'a>,
    /// Tape: `W_hn h + b_hn` (GRU).
    pub(super) hpn: Buf<'a>,
    /// Tape: `o ⊙ tanh c` (projected LSTM).
    pub(super) mt: Buf<'a>,
}

impl<'a> Rows<'a> {
    fn split(self, nb: usize) -> (Self, Self) {
        let (h, h2) = self.h.split(nb);
        let (c, c2) = self.c.split(nb);
        let (a, a2) = self.a.split(nb);
        let (tc, tc2) = self.tc.split(nb);
        let (m, m2) = self.m.split(nb);
        let (y, y2) = self.y.split(nb);
        let (cprev, cprev2) = self.cprev.split(nb);
        let (hprev, hprev2) = self.hprev.split(nb);
        let (hpn, hpn2) = self.hpn.split(nb);
        let (mt, mt2) = self.mt.split(nb);
        (
            Self {
                h,
                c,
                a,
                tc,
                m,
                y,
                cprev,
                hprev,
                hpn,
                mt,
            },
            Self {
                h: h2,
                c: c2,
                a: a2,
                tc: tc2,
                m: m2,
                y: y2,
                cprev: cprev2,
                hprev: hprev2,
                hpn: hpn2,
                mt: mt2,
            },
        )
    }
}

/// Splits `n` windows into at most `parts` contiguous groups of near-equal size.
pub(super) fn group_sizes(n: usize, parts: usize) -> Vec<usize> {
    let parts = parts.clamp(1, n.max(1));
    (0..parts)
        .map(|g| (g + 1) * n / parts - g * n / parts)
        .collect()
}

/// The gate pass of step `t` for windows `b0..b0 + nb` (their rows of `rows`).
struct StepPass<'r, 'a> {
    shape: LayerShape,
    t: usize,
    /// Sequence length of the `[B, T, ·]` buffers.
    tlen: usize,
    xp: &'r [f32],
    hp: &'r [f32],
    b0: usize,
    nb: usize,
    tape: bool,
    rows: Rows<'a>,
}

impl pulp::WithSimd for StepPass<'_, '_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        let StepPass {
            shape,
            t,
            tlen,
            xp,
            hp,
            b0,
            nb,
            tape,
            mut rows,
        } = self;
        let (h, gh, r) = (shape.hidden, shape.gate_width(), shape.output());
        let proj = shape.proj > 0;
        for b in 0..nb {
            let xo = ((b0 + b) * tlen + t) * gh;
            let (xp, hp) = (&xp[xo..xo + gh], &hp[(b0 + b) * gh..(b0 + b + 1) * gh]);
            if tape {
                rows.hprev.row(b, t, r).copy_from_slice(rows.h.row(b, 0, r));
            }
            let a = rows.a.row(b, t, gh);
            match shape.cell {
                Cell::Lstm => {
                    if tape {
                        rows.cprev.row(b, t, h).copy_from_slice(rows.c.row(b, 0, h));
                    }
                    for ((a, x), p) in a.iter_mut().zip(xp).zip(hp) {
                        *a = x + p;
                    }
                    sigmoid_all(&mut a[..2 * h]);
                    tanh_all(&mut a[2 * h..3 * h]);
                    sigmoid_all(&mut a[3 * h..]);
                    let (ig, rest) = a.split_at(h);
                    let (fg, rest) = rest.split_at(h);
                    let (gg, og) = rest.split_at(h);
                    let c = rows.c.row(b, 0, h);
                    for (j, c) in c.iter_mut().enumerate() {
                        *c = fg[j] * *c + ig[j] * gg[j];
                    }
                    let tc = rows.tc.row(b, t, h);
                    tc.copy_from_slice(c);
                    tanh_all(tc);
                    let out = if proj {
                        rows.m.row(b, 0, h)
                    } else {
                        rows.h.row(b, 0, h)
                    };
                    for ((o, g), v) in out.iter_mut().zip(og).zip(tc.iter()) {
                        *o = g * v;
                    }
                    if proj {
                        if tape {
                            rows.mt.row(b, t, h).copy_from_slice(out);
                        }
                    } else {
                        rows.y.row(b, t, h).copy_from_slice(out);
                    }
                }
                Cell::Gru => {
                    if tape {
                        rows.hpn.row(b, t, h).copy_from_slice(&hp[2 * h..]);
                    }
                    for ((a, x), p) in a[..2 * h].iter_mut().zip(xp).zip(hp) {
                        *a = x + p;
                    }
                    sigmoid_all(&mut a[..2 * h]);
                    let (rz, n) = a.split_at_mut(2 * h);
                    for (j, n) in n.iter_mut().enumerate() {
                        *n = xp[2 * h + j] + rz[j] * hp[2 * h + j];
                    }
                    tanh_all(n);
                    let z = &rz[h..];
                    let hs = rows.h.row(b, 0, h);
                    for ((hv, z), n) in hs.iter_mut().zip(z).zip(n.iter()) {
                        *hv = n + z * (*hv - n);
                    }
                    rows.y.row(b, t, h).copy_from_slice(hs);
                }
            }
        }
    }
}

/// Where one run of the recursion writes its activations: the scratch (inference) or a tape.
pub(super) struct TapeBufs<'a> {
    pub(super) acts: &'a mut [f32],
    pub(super) tanhc: &'a mut [f32],
    pub(super) cprev: &'a mut [f32],
    pub(super) hprev: &'a mut [f32],
    pub(super) hpn: &'a mut [f32],
    pub(super) m: &'a mut [f32],
}

/// The recursion over `t` steps of `b` windows (lengths already checked): the input projection
/// of every step in one product, then per step the recurrent product, the gate pass and, with a
/// projection, the product with `W_hr`.
#[allow(clippy::too_many_arguments)]
pub(super) fn run(
    shape: &LayerShape,
    w: &LayerWeights<'_>,
    x: &[f32],
    b: usize,
    t: usize,
    state: &mut State,
    y: &mut [f32],
    scratch: &mut Scratch,
    mut tape: Option<TapeBufs<'_>>,
) -> Result<()> {
    scratch.reserve(shape, b, t, tape.is_some());
    let (i, h, gh, r) = (
        shape.input,
        shape.hidden,
        shape.gate_width(),
        shape.output(),
    );
    let small = b <= SMALL_BATCH;
    let taped = tape.is_some();
    let par = b >= PAR_BATCH;
    let arch = scratch.arch;
    let Scratch {
        xp,
        hp,
        a,
        tc,
        m,
        zeros,
        ..
    } = scratch;
    let (xp, hp) = (&mut xp[..b * t * gh], &mut hp[..b * gh]);
    affine(small, arch, w.w_ih, w.b_ih, i, x, b * t, xp)?;
    let groups = if par {
        group_sizes(b, 2 * rayon::current_num_threads())
    } else {
        vec![b]
    };
    for step in 0..t {
        affine(small, arch, w.w_hh, w.b_hh, r, &state.h, b, hp)?;
        let rows = {
            let (ta, ttc, tcp, thp, thpn, tm) = match &mut tape {
                Some(tb) => (
                    Buf::new(tb.acts, t * gh, gh),
                    Buf::new(tb.tanhc, t * h, h),
                    Buf::new(tb.cprev, t * h, h),
                    Buf::new(tb.hprev, t * r, r),
                    Buf::new(tb.hpn, t * h, h),
                    Buf::new(tb.m, t * h, h),
                ),
                None => (
                    Buf::new(a, gh, 0),
                    Buf::new(tc, h, 0),
                    Buf::default(),
                    Buf::default(),
                    Buf::default(),
                    Buf::default(),
                ),
            };
            Rows {
                h: Buf::new(&mut state.h, r, 0),
                c: Buf::new(&mut state.c, h, 0),
                a: ta,
                tc: ttc,
                m: Buf::new(m, h, 0),
                y: Buf::new(y, t * r, r),
                cprev: tcp,
                hprev: thp,
                hpn: thpn,
                mt: tm,
            }
        };
        let pass = |b0: usize, nb: usize, rows| StepPass {
            shape: *shape,
            t: step,
            tlen: t,
            xp,
            hp,
            b0,
            nb,
            tape: taped,
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
        if shape.proj > 0 {
            affine(small, arch, w.w_hr, zeros, h, m, b, &mut state.h)?;
            for (bi, hb) in state.h.chunks_exact(r).enumerate() {
                let o = (bi * t + step) * r;
                y[o..o + r].copy_from_slice(hb);
            }
        }
    }
    Ok(())
}

/// Checks the common arguments of the forward entry points.
pub(super) fn check_args(
    shape: &LayerShape,
    w: &LayerWeights<'_>,
    x: &[f32],
    b: usize,
    t: usize,
    y: &[f32],
) -> Result<()> {
    w.check(shape)?;
    check_len("x", x.len(), b * t * shape.input)?;
    check_len("y", y.len(), b * t * shape.output())
}

/// Runs the layer over `t` steps of `b` windows: `x [B, T, I]` batch-major to `y [B, T, out]`,
/// starting from `state` and leaving the state after the last step in it. The input
/// projections of all steps are one product (`[B·T, I] × [I, G·H]`); each step is one product
/// of `h` with `W_hh` and one fused pass over the gates. At most [`SMALL_BATCH`] windows run on
/// the calling thread only, with batch-invariant bits; larger batches use `gemm` and rayon.
/// Errors when a length does not match `shape`, `b` and `t`.
#[allow(clippy::too_many_arguments)]
pub fn layer_forward(
    shape: &LayerShape,
    w: &LayerWeights<'_>,
    x: &[f32],
    b: usize,
    t: usize,
    state: &mut State,
    y: &mut [f32],
    scratch: &mut Scratch,
) -> Result<()> {
    check_args(shape, w, x, b, t, y)?;
    state.check(shape, b)?;
    run(shape, w, x, b, t, state, y, scratch, None)
}

/// One step for `b` windows: `x [B, I]` to `y [B, out]` (also left in `state.h`), for
/// autoregressive decoding. Repeating it over a sequence gives [`layer_forward`]'s bits at up
/// to [`SMALL_BATCH`] windows (larger batches: equal up to float rounding of the input product).
pub fn layer_step(
    shape: &LayerShape,
    w: &LayerWeights<'_>,
    x: &[f32],
    b: usize,
    state: &mut State,
    y: &mut [f32],
    scratch: &mut Scratch,
) -> Result<()> {
    layer_forward(shape, w, x, b, 1, state, y, scratch)
}
