//! The convolution kernels of the TCN engine over step-major `[L, B, C]` activations: the
//! gather of a layer's delayed copies, strided views for `gemm`, and the Winograd F(2, 2)
//! transforms of two-tap layers (inputs, output combination, and their backward).

use rayon::prelude::*;

use crate::config::Activation;
use crate::engine::matmul::{View, ViewMut};

/// Gathers `src` (`[L, B, w]` step-major) moved by each of `offsets` steps, side by side: block
/// `j` of row `t·B + b` of `dst` (`[L·B, T·w]`) is row `(t + offsets[j])·B + b` of `src`, or
/// zeros where that step is outside the window.
pub(super) fn gather(
    src: &[f32],
    w: usize,
    l: usize,
    b: usize,
    offsets: &[isize],
    dst: &mut Vec<f32>,
) {
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

/// `rows × cols` view of `data` from `off` with row stride `rs`.
pub(super) fn strided(data: &[f32], off: usize, rows: usize, cols: usize, rs: usize) -> View<'_> {
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
pub(super) fn strided_mut(
    data: &mut [f32],
    off: usize,
    rows: usize,
    cols: usize,
    rs: usize,
) -> ViewMut<'_> {
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
pub(super) fn wino_inputs(
    x: &[f32],
    ci: usize,
    l: usize,
    b: usize,
    d: usize,
    u: &mut Vec<f32>,
) -> usize {
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
pub(super) fn wino_combine(
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
pub(super) fn wino_out_grads(g: &[f32], c: usize, l: usize, b: usize, d: usize, dm: &mut Vec<f32>) {
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
pub(super) fn wino_input_grads(
    du: &[f32],
    ci: usize,
    l: usize,
    b: usize,
    d: usize,
    dx: &mut [f32],
) {
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
pub(super) fn pack_wino(w: &[f32], ci: usize, c: usize, out: &mut Vec<f32>) {
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
