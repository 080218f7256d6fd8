//! The plain-Rust dense-layer kernel every fast CPU inference path shares: `W x + b` for a few
//! windows at a time with f32 or bfloat16 weights, vectorized with the widest SIMD the CPU has
//! (AVX-512, AVX2+FMA or scalar, picked at run time by `pulp`), each window's sums in one fixed
//! order so a window gets the same bits alone or in any batch. NHITS's block MLPs
//! (`crate::fast`) and the linear architectures' one-layer maps ([`AffineWindow`]) run on it.
//! Hand-written because no crate offers a batch-invariant matvec; the training-engine work may
//! add fused backward kernels beside it.

use super::FastForward;
use crate::config::Activation;

/// A dense layer's weight matrix, row-major `[out, in]`.
#[derive(Debug, Clone)]
pub(crate) enum Matrix {
    F32(Vec<f32>),
    /// bfloat16 weights, two per `u32`, laid out for the SIMD width they were packed for.
    Bf16(Bf16Matrix),
}

/// bfloat16 weights packed two per `u32` so that the kernel needs no shuffles. With `lanes` the
/// f32 vector width of the CPU path chosen at run time (16 with AVX-512, 8 with AVX2, 1 in
/// scalar code), each row holds, in order:
/// - `in / (2·lanes)` groups of `2·lanes` weights in `lanes` words, word `i` of a group holding
///   weight `i` of the group in its low half and weight `lanes + i` in its high half: the low
///   halves of a vector of words meet one vector of the input, the high halves the next;
/// - when at least `lanes` weights remain, a half group: the next `lanes` weights in the low
///   halves of `lanes` words (high halves zero), against one more input vector;
/// - the last (fewer than `lanes`) weights as plain pairs (weight `2j` low, `2j + 1` high, a
///   missing last one zero), computed in scalar code.
#[derive(Debug, Clone)]
pub(crate) struct Bf16Matrix {
    words: Vec<u32>,
    lanes: usize,
    row_words: usize,
}

impl Bf16Matrix {
    /// Packs the `[out, in]` row-major f32 matrix `w` (rounded to nearest even) for `lanes`.
    fn pack(w: &[f32], n_in: usize, lanes: usize) -> Self {
        let (groups, half, tail) = Self::split(n_in, lanes);
        let row_words = (groups + usize::from(half)) * lanes + tail.div_ceil(2);
        let pair = |l: f32, h: Option<&f32>| {
            u32::from(to_bf16(l)) | (h.map_or(0, |&h| u32::from(to_bf16(h))) << 16)
        };
        let mut words = Vec::with_capacity(row_words * (w.len() / n_in.max(1)));
        for row in w.chunks_exact(n_in.max(1)) {
            let (full, rest) = row.split_at(groups * 2 * lanes);
            for g in full.chunks_exact(2 * lanes) {
                let (lo, hi) = g.split_at(lanes);
                words.extend(lo.iter().zip(hi).map(|(&l, h)| pair(l, Some(h))));
            }
            let (half_group, rest) = rest.split_at(if half { lanes } else { 0 });
            words.extend(half_group.iter().map(|&l| pair(l, None)));
            words.extend(rest.chunks(2).map(|p| pair(p[0], p.get(1))));
        }
        Self {
            words,
            lanes,
            row_words,
        }
    }

    /// A row of `n_in` weights at `lanes`: (full groups, whether a half group follows, weights
    /// in the scalar tail).
    fn split(n_in: usize, lanes: usize) -> (usize, bool, usize) {
        let (groups, rest) = (n_in / (2 * lanes), n_in % (2 * lanes));
        let half = rest >= lanes;
        (groups, half, rest - if half { lanes } else { 0 })
    }
}

/// The f32 vector width (lanes) of the SIMD path `arch` runs.
pub(crate) fn f32_lanes(arch: pulp::Arch) -> usize {
    struct Lanes;
    impl pulp::WithSimd for Lanes {
        type Output = usize;
        #[inline(always)]
        fn with_simd<S: pulp::Simd>(self, _: S) -> usize {
            S::F32_LANES
        }
    }
    arch.dispatch(Lanes)
}

/// The bfloat16 nearest to `v` (round to nearest, ties to even; weights are finite).
fn to_bf16(v: f32) -> u16 {
    let bits = v.to_bits();
    let rounded = bits.wrapping_add(0x7fff + ((bits >> 16) & 1));
    (rounded >> 16) as u16
}

#[derive(Debug, Clone)]
pub(crate) struct DenseLayer {
    pub(crate) w: Matrix,
    pub(crate) b: Vec<f32>,
    pub(crate) n_in: usize,
}

impl DenseLayer {
    /// `out_i = W x_i + b` for each of the `n` inputs packed in `x` (`n × in`, row-major) into
    /// `out` (`n × out`), vectorized with the widest SIMD the CPU has (detected at run time).
    /// Each weight row is read once for all `n` inputs, and each input's dot products are
    /// accumulated in the same order whatever `n` is, so an input's result does not depend on
    /// the batch it is in.
    pub(crate) fn forward(&self, arch: pulp::Arch, x: &[f32], n: usize, out: &mut Vec<f32>) {
        let n_out = self.b.len();
        out.clear();
        out.resize(n * n_out, 0.0);
        let x = &x[..n * self.n_in];
        match &self.w {
            Matrix::F32(w) => arch.dispatch(Matvec {
                w,
                b: &self.b,
                n_in: self.n_in,
                x,
                out,
            }),
            Matrix::Bf16(w) => arch.dispatch(MatvecBf16 {
                w,
                b: &self.b,
                n_in: self.n_in,
                x,
                out,
            }),
        }
    }

    /// The layer with bfloat16 weights (rounded from the f32 ones), packed for `arch`'s SIMD
    /// width.
    pub(crate) fn to_bf16(&self, arch: pulp::Arch) -> Self {
        let w = match &self.w {
            Matrix::F32(w) => Matrix::Bf16(Bf16Matrix::pack(w, self.n_in, f32_lanes(arch))),
            Matrix::Bf16(w) => Matrix::Bf16(w.clone()),
        };
        Self {
            w,
            b: self.b.clone(),
            n_in: self.n_in,
        }
    }
}

/// A matrix-vector product with bfloat16 weights in the [`Bf16Matrix`] layout: the high half
/// of a word is already an f32 once the low half is masked off, the low half becomes one after
/// a 16-bit left shift; both multiply-add into f32 accumulators against consecutive input
/// vectors, with no shuffle of the input.
///
/// The order of every (row, input) sum is fixed: one accumulator for the low halves and one
/// for the high halves over the groups in order, their sum reduced horizontally, the tail pairs
/// in order, the bias. Rows are computed [`ROWS`] at a time (sharing each input load; with two
/// accumulators each that is eight independent FMA chains, enough to hide the FMA latency) and
/// the leftover rows one at a time, in the same order, so a window gets the same bits alone or
/// in any batch. A layout packed for another width (not made by this crate's constructors)
/// runs a scalar loop in the same layout.
struct MatvecBf16<'a> {
    w: &'a Bf16Matrix,
    b: &'a [f32],
    n_in: usize,
    x: &'a [f32],
    out: &'a mut [f32],
}

/// How many weight rows the bf16 kernel computes together.
const ROWS: usize = 4;

/// The scalar tail of a bf16 row: plain pairs against the input's last values.
#[inline(always)]
fn bf16_tail(words: &[u32], x: &[f32]) -> f32 {
    let mut s = 0.0;
    for (w, p) in words.iter().zip(x.chunks(2)) {
        s += f32::from_bits(w << 16) * p[0];
        if let Some(&x1) = p.get(1) {
            s += f32::from_bits(w & 0xffff_0000) * x1;
        }
    }
    s
}

impl MatvecBf16<'_> {
    /// The same layout in plain scalar code (any packing width).
    fn scalar(self) {
        let (n_in, n_out, lanes) = (self.n_in, self.b.len(), self.w.lanes);
        let (groups, half, _) = Bf16Matrix::split(n_in, lanes);
        let (vec_words, vec_inputs) = (
            (groups + usize::from(half)) * lanes,
            (2 * groups + usize::from(half)) * lanes,
        );
        for (r, (row, &b)) in self
            .w
            .words
            .chunks_exact(self.w.row_words.max(1))
            .zip(self.b)
            .enumerate()
        {
            let (rg, rt) = row.split_at(vec_words);
            for (i, x) in self.x.chunks_exact(n_in.max(1)).enumerate() {
                let (xg, xt) = x.split_at(vec_inputs);
                let mut s = 0.0;
                for (wg, xg) in rg.chunks(lanes).zip(xg.chunks(2 * lanes)) {
                    for (j, w) in wg.iter().enumerate() {
                        s += f32::from_bits(w << 16) * xg[j];
                        if let Some(&x1) = xg.get(lanes + j) {
                            s += f32::from_bits(w & 0xffff_0000) * x1;
                        }
                    }
                }
                self.out[i * n_out + r] = s + bf16_tail(rt, xt) + b;
            }
        }
    }
}

/// `R` rows of the bf16 kernel against one input: each row's low/high accumulators over the
/// groups, the half group (when `xv` has an odd number of vectors) into the low accumulator,
/// then the fixed finish (see [`MatvecBf16`]).
#[inline(always)]
fn bf16_rows<S: pulp::Simd, const R: usize>(
    simd: S,
    rows: [&[S::u32s]; R],
    tails: [&[u32]; R],
    bias: [f32; R],
    xv: &[S::f32s],
    xt: &[f32],
) -> [f32; R] {
    let (groups, half) = (xv.len() / 2, xv.len() % 2 == 1);
    let high_mask = simd.splat_u32s(0xffff_0000);
    let shift = simd.splat_u32s(16);
    let rows: [&[S::u32s]; R] = std::array::from_fn(|k| &rows[k][..groups + usize::from(half)]);
    let mut lo = [simd.splat_f32s(0.0); R];
    let mut hi = [simd.splat_f32s(0.0); R];
    for g in 0..groups {
        let (x0, x1) = (xv[2 * g], xv[2 * g + 1]);
        for k in 0..R {
            let w = rows[k][g];
            let wl = simd.transmute_f32s_u32s(simd.wrapping_dyn_shl_u32s(w, shift));
            let wh = simd.transmute_f32s_u32s(simd.and_u32s(w, high_mask));
            lo[k] = simd.mul_add_e_f32s(wl, x0, lo[k]);
            hi[k] = simd.mul_add_e_f32s(wh, x1, hi[k]);
        }
    }
    if half {
        let x0 = xv[2 * groups];
        for k in 0..R {
            let wl = simd.transmute_f32s_u32s(simd.wrapping_dyn_shl_u32s(rows[k][groups], shift));
            lo[k] = simd.mul_add_e_f32s(wl, x0, lo[k]);
        }
    }
    std::array::from_fn(|k| {
        simd.reduce_sum_f32s(simd.add_f32s(lo[k], hi[k])) + bf16_tail(tails[k], xt) + bias[k]
    })
}

impl pulp::WithSimd for MatvecBf16<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, simd: S) {
        if self.w.lanes != S::F32_LANES || self.n_in == 0 {
            return self.scalar();
        }
        let (n_in, n_out, row_words) = (self.n_in, self.b.len(), self.w.row_words);
        let lanes = S::F32_LANES;
        let (groups, half, _) = Bf16Matrix::split(n_in, lanes);
        let (vec_words, vec_inputs) = (
            (groups + usize::from(half)) * lanes,
            (2 * groups + usize::from(half)) * lanes,
        );
        fn split<S: pulp::Simd>(row: &[u32], n: usize) -> (&[S::u32s], &[u32]) {
            let (rg, rt) = row.split_at(n);
            (S::as_simd_u32s(rg).0, rt)
        }
        let inputs: Vec<(&[S::f32s], &[f32])> = self
            .x
            .chunks_exact(n_in)
            .map(|x| {
                let (xg, xt) = x.split_at(vec_inputs);
                (S::as_simd_f32s(xg).0, xt)
            })
            .collect();
        let mut row_blocks = self.w.words.chunks_exact(ROWS * row_words);
        let mut r0 = 0;
        for block in row_blocks.by_ref() {
            let parts: [(&[S::u32s], &[u32]); ROWS] = std::array::from_fn(|k| {
                split::<S>(&block[k * row_words..(k + 1) * row_words], vec_words)
            });
            let rows = parts.map(|p| p.0);
            let tails = parts.map(|p| p.1);
            let bias: [f32; ROWS] = std::array::from_fn(|k| self.b[r0 + k]);
            for (i, &(xv, xt)) in inputs.iter().enumerate() {
                let y = bf16_rows::<S, ROWS>(simd, rows, tails, bias, xv, xt);
                self.out[i * n_out + r0..i * n_out + r0 + ROWS].copy_from_slice(&y);
            }
            r0 += ROWS;
        }
        for (k, row) in row_blocks.remainder().chunks_exact(row_words).enumerate() {
            let (rv, rt) = split::<S>(row, vec_words);
            let b = self.b[r0 + k];
            for (i, &(xv, xt)) in inputs.iter().enumerate() {
                self.out[i * n_out + r0 + k] = bf16_rows::<S, 1>(simd, [rv], [rt], [b], xv, xt)[0];
            }
        }
    }
}

/// One matrix-vector product, written once for every SIMD width (`pulp` compiles it per
/// instruction set and picks at run time, all in safe code).
struct Matvec<'a> {
    w: &'a [f32],
    b: &'a [f32],
    n_in: usize,
    x: &'a [f32],
    out: &'a mut [f32],
}

/// An input split for SIMD: groups of 4 vectors, leftover vectors, the scalar tail.
type SplitInput<'a, S> = (
    &'a [[<S as pulp::Simd>::f32s; 4]],
    &'a [<S as pulp::Simd>::f32s],
    &'a [f32],
);

/// How many inputs share each load of a weight vector in [`Matvec`].
const BLOCK: usize = 4;

impl pulp::WithSimd for Matvec<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, simd: S) {
        let (n_out, n_in) = (self.b.len(), self.n_in);
        // Per input: four accumulators over the 4-vector groups (hiding the FMA latency), the
        // leftover vectors into the first, a horizontal sum, the scalar tail, the bias. Every
        // input's sum runs in exactly this order whether it is computed alone or in a block.
        let finish = |acc: &[S::f32s; 4], x_tail: &[f32], row_tail: &[f32], b: f32| -> f32 {
            let sum = simd.add_f32s(simd.add_f32s(acc[0], acc[1]), simd.add_f32s(acc[2], acc[3]));
            let mut s = simd.reduce_sum_f32s(sum);
            for (r, x) in row_tail.iter().zip(x_tail) {
                s += r * x;
            }
            s + b
        };
        for (r, (row, &b)) in self.w.chunks_exact(self.n_in).zip(self.b).enumerate() {
            let (rh, rt) = S::as_simd_f32s(row);
            let (r4, r1) = pulp::as_arrays::<4, _>(rh);
            let mut blocks = self.x.chunks_exact(n_in * BLOCK);
            let mut i = 0;
            for block in blocks.by_ref() {
                // BLOCK inputs share each load of the weight row.
                let split: [SplitInput<'_, S>; BLOCK] = std::array::from_fn(|j| {
                    let (xh, xt) = S::as_simd_f32s(&block[j * n_in..(j + 1) * n_in]);
                    let (x4, x1) = pulp::as_arrays::<4, _>(xh);
                    (x4, x1, xt)
                });
                let mut acc = [[simd.splat_f32s(0.0); 4]; BLOCK];
                for (g, rg) in r4.iter().enumerate() {
                    for (j, a) in acc.iter_mut().enumerate() {
                        let xg = &split[j].0[g];
                        for k in 0..4 {
                            a[k] = simd.mul_add_e_f32s(rg[k], xg[k], a[k]);
                        }
                    }
                }
                for (g, rv) in r1.iter().enumerate() {
                    for (j, a) in acc.iter_mut().enumerate() {
                        a[0] = simd.mul_add_e_f32s(*rv, split[j].1[g], a[0]);
                    }
                }
                for (j, a) in acc.iter().enumerate() {
                    self.out[(i + j) * n_out + r] = finish(a, split[j].2, rt, b);
                }
                i += BLOCK;
            }
            for x in blocks.remainder().chunks_exact(n_in) {
                let (xh, xt) = S::as_simd_f32s(x);
                let (x4, x1) = pulp::as_arrays::<4, _>(xh);
                let mut acc = [simd.splat_f32s(0.0); 4];
                for (rg, xg) in r4.iter().zip(x4) {
                    for k in 0..4 {
                        acc[k] = simd.mul_add_e_f32s(rg[k], xg[k], acc[k]);
                    }
                }
                for (rv, xv) in r1.iter().zip(x1) {
                    acc[0] = simd.mul_add_e_f32s(*rv, *xv, acc[0]);
                }
                self.out[i * n_out + r] = finish(&acc, xt, rt, b);
                i += 1;
            }
        }
    }
}

/// Applies the hidden activation in place (the plain-Rust twin of `nhits::activate`).
pub(crate) fn activate(a: Activation, v: &mut [f32]) {
    for x in v {
        *x = match a {
            Activation::ReLU => x.max(0.0),
            Activation::Tanh => x.tanh(),
            Activation::Sigmoid => 1.0 / (1.0 + (-*x).exp()),
            Activation::Softplus => x.max(0.0) + (-x.abs()).exp().ln_1p(),
            Activation::SELU => {
                let e = if *x > 0.0 {
                    *x
                } else {
                    1.673_263_2 * (x.exp() - 1.0)
                };
                1.050_701 * e
            }
            Activation::LeakyReLU => {
                if *x > 0.0 {
                    *x
                } else {
                    0.01 * *x
                }
            }
        };
    }
}

/// `y = W·(x − s) + b + s` over one window at a time (`s` the window's last value when
/// `subtract_last`, else 0): DLinear (its decomposition folded into `W`) and NLinear.
#[derive(Debug, Clone)]
pub(crate) struct AffineWindow {
    pub(crate) layer: DenseLayer,
    pub(crate) subtract_last: bool,
    pub(crate) arch: pulp::Arch,
}

impl AffineWindow {
    /// The map with f32 weights `w` (`[out, in]`, row-major) and bias `b`.
    pub(crate) fn new(w: Vec<f32>, b: Vec<f32>, n_in: usize, subtract_last: bool) -> Self {
        Self {
            layer: DenseLayer {
                w: Matrix::F32(w),
                b,
                n_in,
            },
            subtract_last,
            arch: pulp::Arch::new(),
        }
    }
}

impl FastForward for AffineWindow {
    fn forward_batch(&self, x: &[f32], n: usize) -> Vec<f32> {
        let n_in = self.layer.n_in;
        let lasts: Vec<f32> = x
            .chunks_exact(n_in)
            .take(n)
            .map(|w| if self.subtract_last { w[n_in - 1] } else { 0.0 })
            .collect();
        let shifted: Vec<f32> = x
            .chunks_exact(n_in)
            .zip(&lasts)
            .flat_map(|(w, s)| w.iter().map(move |v| v - s))
            .collect();
        let mut out = Vec::new();
        self.layer.forward(self.arch, &shifted, n, &mut out);
        let n_out = self.layer.b.len();
        for (row, s) in out.chunks_exact_mut(n_out).zip(&lasts) {
            row.iter_mut().for_each(|v| *v += s);
        }
        out
    }

    fn to_bf16(&self) -> Option<Box<dyn FastForward>> {
        Some(Box::new(Self {
            layer: self.layer.to_bf16(self.arch),
            subtract_last: self.subtract_last,
            arch: self.arch,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_give_the_bits_of_single_windows() {
        let w: Vec<f32> = (0..3 * 7).map(|i| (i as f32 * 0.37).sin()).collect();
        let map = AffineWindow::new(w.clone(), vec![0.1, -0.2, 0.3], 7, true);
        let x: Vec<f32> = (0..5 * 7).map(|i| (i as f32 * 0.11).cos() + 3.0).collect();
        let batch = map.forward_batch(&x, 5);
        for i in 0..5 {
            assert_eq!(
                &batch[i * 3..i * 3 + 3],
                &map.forward_batch(&x[i * 7..i * 7 + 7], 1)[..]
            );
        }
        // y = W (x - last) + b + last, by hand for the first output of the first window.
        let last = x[6];
        let expect: f32 = (0..7).map(|j| w[j] * (x[j] - last)).sum::<f32>() + 0.1 + last;
        assert!((batch[0] - expect).abs() < 1e-5);
    }

    fn rounded(v: f32) -> f64 {
        f64::from(f32::from_bits(u32::from(to_bf16(v)) << 16))
    }

    /// The bf16 kernel against an f64 reference with the same rounded weights, for sizes that
    /// exercise full groups, tails, odd lengths and leftover rows, on the CPU's SIMD path, on
    /// pulp's scalar path and with a packing made for another width (the scalar fallback).
    #[test]
    fn bf16_kernel_matches_the_rounded_reference() {
        let simd = pulp::Arch::new();
        for &(n_in, n_out) in &[
            (1, 1),
            (3, 5),
            (8, 3),
            (12, 6),
            (16, 4),
            (24, 5),
            (17, 9),
            (33, 7),
            (100, 13),
            (512, 8),
        ] {
            let w: Vec<f32> = (0..n_in * n_out)
                .map(|i| (i as f32 * 0.618).sin() * 0.3)
                .collect();
            let b: Vec<f32> = (0..n_out).map(|i| i as f32 * 0.01 - 0.02).collect();
            let n = 5;
            let x: Vec<f32> = (0..n * n_in).map(|i| (i as f32 * 0.37).cos()).collect();
            let dense = DenseLayer {
                w: Matrix::F32(w.clone()),
                b: b.clone(),
                n_in,
            };
            let cases = [
                (simd, dense.to_bf16(simd)),
                (pulp::Arch::Scalar, dense.to_bf16(pulp::Arch::Scalar)),
                // Packed for this CPU's width, run on the scalar path: the layout's scalar loop.
                (pulp::Arch::Scalar, dense.to_bf16(simd)),
            ];
            for (arch, layer) in cases {
                let mut out = Vec::new();
                layer.forward(arch, &x, n, &mut out);
                for i in 0..n {
                    for r in 0..n_out {
                        let xi = &x[i * n_in..(i + 1) * n_in];
                        let row = &w[r * n_in..(r + 1) * n_in];
                        let want: f64 = row
                            .iter()
                            .zip(xi)
                            .map(|(&wv, &xv)| rounded(wv) * f64::from(xv))
                            .sum::<f64>()
                            + f64::from(b[r]);
                        let scale: f64 = row
                            .iter()
                            .zip(xi)
                            .map(|(&wv, &xv)| (rounded(wv) * f64::from(xv)).abs())
                            .sum::<f64>()
                            + 1.0;
                        let got = f64::from(out[i * n_out + r]);
                        assert!(
                            (got - want).abs() <= 1e-6 * scale,
                            "in {n_in} out {n_out} window {i} row {r}: {got} vs {want}"
                        );
                    }
                }
            }
        }
    }

    /// bf16 weights keep batch invariance: every window gets the bits it gets alone.
    #[test]
    fn bf16_batches_give_the_bits_of_single_windows() {
        let arch = pulp::Arch::new();
        let (n_in, n_out, n) = (37, 11, 9);
        let w: Vec<f32> = (0..n_in * n_out).map(|i| (i as f32 * 0.29).sin()).collect();
        let layer = DenseLayer {
            w: Matrix::F32(w),
            b: vec![0.5; n_out],
            n_in,
        }
        .to_bf16(arch);
        let x: Vec<f32> = (0..n * n_in).map(|i| (i as f32 * 0.13).cos()).collect();
        let mut batch = Vec::new();
        layer.forward(arch, &x, n, &mut batch);
        for i in 0..n {
            let mut alone = Vec::new();
            layer.forward(arch, &x[i * n_in..(i + 1) * n_in], 1, &mut alone);
            assert_eq!(&batch[i * n_out..(i + 1) * n_out], &alone[..]);
        }
    }

    /// Raw kernel latency, one window, f32 against bf16, on the CPU's SIMD path and on pulp's
    /// scalar path (what a CPU without AVX2+FMA runs). A report, not a check:
    /// `cargo test -p nt-neural --release --lib kernel_timings -- --ignored --nocapture`.
    #[test]
    #[ignore = "timing report, not a check"]
    fn kernel_timings() {
        for arch in [pulp::Arch::new(), pulp::Arch::Scalar] {
            for &(n_in, n_out) in &[(8, 8), (24, 64), (64, 64), (128, 128), (512, 512)] {
                let w: Vec<f32> = (0..n_in * n_out).map(|i| (i as f32).sin()).collect();
                let f32_layer = DenseLayer {
                    w: Matrix::F32(w),
                    b: vec![0.0; n_out],
                    n_in,
                };
                let bf16_layer = f32_layer.to_bf16(arch);
                let x: Vec<f32> = (0..n_in).map(|i| (i as f32).cos()).collect();
                let reps = (4_000_000 / (n_in * n_out)).clamp(50, 200_000);
                let mut out = Vec::new();
                let mut med = |layer: &DenseLayer| {
                    let mut t = Vec::new();
                    for _ in 0..15 {
                        let s = std::time::Instant::now();
                        for _ in 0..reps {
                            layer.forward(arch, std::hint::black_box(&x), 1, &mut out);
                        }
                        t.push(s.elapsed().as_secs_f64() * 1e9 / reps as f64);
                    }
                    t.sort_by(f64::total_cmp);
                    t[t.len() / 2]
                };
                let (a, b) = (med(&f32_layer), med(&bf16_layer));
                println!(
                    "lanes {:>2} {n_in:>4}x{n_out:<4} f32 {a:>9.1} ns  bf16 {b:>9.1} ns  ratio {:.2}",
                    f32_lanes(arch),
                    b / a
                );
            }
        }
    }
}
