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
    /// bfloat16 weights, two per `u32`: word `j` of a row holds weight `2j` in its low half and
    /// weight `2j + 1` in its high half; rows are padded to `ceil(in / 2)` words with zeros.
    Bf16(Vec<u32>),
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
        match &self.w {
            Matrix::F32(w) => arch.dispatch(Matvec {
                w,
                b: &self.b,
                n_in: self.n_in,
                x,
                out,
            }),
            Matrix::Bf16(w) => {
                // De-interleave each input once: the even inputs meet the low halves, the odd
                // the high ones.
                let words = self.n_in.div_ceil(2);
                let mut even = vec![0f32; n * words];
                let mut odd = vec![0f32; n * words];
                for (i, xi) in x.chunks_exact(self.n_in).enumerate() {
                    for (j, pair) in xi.chunks(2).enumerate() {
                        even[i * words + j] = pair[0];
                        odd[i * words + j] = pair.get(1).copied().unwrap_or(0.0);
                    }
                }
                arch.dispatch(MatvecBf16 {
                    w,
                    b: &self.b,
                    words,
                    even: &even,
                    odd: &odd,
                    out,
                })
            }
        }
    }

    /// The layer with bfloat16 weights (rounded from the f32 ones), packed two per word.
    pub(crate) fn to_bf16(&self) -> Self {
        let w = match &self.w {
            Matrix::F32(w) => Matrix::Bf16(
                w.chunks_exact(self.n_in.max(1))
                    .flat_map(|row| {
                        row.chunks(2).map(|pair| {
                            let lo = u32::from(to_bf16(pair[0]));
                            let hi = pair.get(1).map_or(0, |&v| u32::from(to_bf16(v)));
                            lo | (hi << 16)
                        })
                    })
                    .collect(),
            ),
            Matrix::Bf16(w) => Matrix::Bf16(w.clone()),
        };
        Self {
            w,
            b: self.b.clone(),
            n_in: self.n_in,
        }
    }
}

/// A matrix-vector product with bfloat16 weights packed two per `u32`: the high half of a word
/// is already an f32 once the low half is masked off, the low half becomes one after a 16-bit
/// left shift; both multiply-add into f32 accumulators against the de-interleaved input.
struct MatvecBf16<'a> {
    w: &'a [u32],
    b: &'a [f32],
    words: usize,
    even: &'a [f32],
    odd: &'a [f32],
    out: &'a mut [f32],
}

impl pulp::WithSimd for MatvecBf16<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, simd: S) {
        let n_out = self.b.len();
        let high_mask = simd.splat_u32s(0xffff_0000);
        let shift = simd.splat_u32s(16);
        // Per input (even halves, odd halves): vector parts and scalar tails.
        let inputs: Vec<SplitPairs<'_, S>> = self
            .even
            .chunks_exact(self.words)
            .zip(self.odd.chunks_exact(self.words))
            .map(|(e, o)| {
                let (eh, et) = S::as_simd_f32s(e);
                let (oh, ot) = S::as_simd_f32s(o);
                (eh, et, oh, ot)
            })
            .collect();
        // Per input: two accumulator pairs alternating over the words, a horizontal sum, the
        // scalar tail, the bias: the same order whether the input is alone or in a block.
        let finish = |acc: &[S::f32s; 4], row_tail: &[u32], et: &[f32], ot: &[f32], b: f32| {
            let sum = simd.add_f32s(simd.add_f32s(acc[0], acc[1]), simd.add_f32s(acc[2], acc[3]));
            let mut s = simd.reduce_sum_f32s(sum);
            for ((w, e), od) in row_tail.iter().zip(et).zip(ot) {
                s += f32::from_bits(w << 16) * e + f32::from_bits(w & 0xffff_0000) * od;
            }
            s + b
        };
        for (r, (row, &b)) in self.w.chunks_exact(self.words).zip(self.b).enumerate() {
            let (rh, rt) = S::as_simd_u32s(row);
            let mut blocks = inputs.chunks_exact(BLOCK);
            let mut i = 0;
            for block in blocks.by_ref() {
                // BLOCK inputs share each load and widening of the weight words.
                let mut acc = [[simd.splat_f32s(0.0); 4]; BLOCK];
                let mut k = 0;
                for (g, w) in rh.iter().enumerate() {
                    let hi = simd.transmute_f32s_u32s(simd.and_u32s(*w, high_mask));
                    let lo = simd.transmute_f32s_u32s(simd.wrapping_dyn_shl_u32s(*w, shift));
                    for (a, input) in acc.iter_mut().zip(block) {
                        a[k] = simd.mul_add_e_f32s(lo, input.0[g], a[k]);
                        a[k + 1] = simd.mul_add_e_f32s(hi, input.2[g], a[k + 1]);
                    }
                    k ^= 2;
                }
                for (j, (a, input)) in acc.iter().zip(block).enumerate() {
                    self.out[(i + j) * n_out + r] = finish(a, rt, input.1, input.3, b);
                }
                i += BLOCK;
            }
            for input in blocks.remainder() {
                let mut acc = [simd.splat_f32s(0.0); 4];
                let mut k = 0;
                for (g, w) in rh.iter().enumerate() {
                    let hi = simd.transmute_f32s_u32s(simd.and_u32s(*w, high_mask));
                    let lo = simd.transmute_f32s_u32s(simd.wrapping_dyn_shl_u32s(*w, shift));
                    acc[k] = simd.mul_add_e_f32s(lo, input.0[g], acc[k]);
                    acc[k + 1] = simd.mul_add_e_f32s(hi, input.2[g], acc[k + 1]);
                    k ^= 2;
                }
                self.out[i * n_out + r] = finish(&acc, rt, input.1, input.3, b);
                i += 1;
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

/// A de-interleaved input split for SIMD: even halves (vectors, tail), odd halves (vectors,
/// tail).
type SplitPairs<'a, S> = (
    &'a [<S as pulp::Simd>::f32s],
    &'a [f32],
    &'a [<S as pulp::Simd>::f32s],
    &'a [f32],
);

/// How many inputs share each load of a weight vector in [`Matvec`] and [`MatvecBf16`].
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
            layer: self.layer.to_bf16(),
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
}
