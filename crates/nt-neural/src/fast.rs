//! A single-threaded, allocation-light NHITS forward for a few windows at a time, in plain Rust.
//!
//! At batch 1 the cost of candle's CPU path is dominated by per-op overhead and by rayon's pool
//! (see `shared/STACK.md`: 4-5x slower than one thread for a small MLP), while the arithmetic is
//! a handful of matrix-vector products that stream the weights once. This path computes exactly
//! the network of [`crate::nhits::Nhits`] (same weights, same order of blocks) and is used by
//! `predict` for small batches; tests check it against the candle path and neuralforecast.

use candle_core::Tensor;

use crate::config::{Activation, NhitsConfig, Pooling};
use crate::resample::{avg_pool_matrix, interpolation_matrix};
use crate::Result;

/// How the single-window path stores the weights of its dense layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// 32-bit floats: the exact network (default).
    #[default]
    F32,
    /// bfloat16 weights (round to nearest even) with f32 activations and f32 accumulation:
    /// half the bytes streamed per forward, which is what bounds single-window latency; forecasts
    /// differ from the f32 network by about 2^-9 of the weights' relative precision.
    Bf16,
}

/// A dense layer's weight matrix, row-major `[out, in]`.
#[derive(Debug, Clone)]
enum Matrix {
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
struct DenseLayer {
    w: Matrix,
    b: Vec<f32>,
    n_in: usize,
}

impl DenseLayer {
    /// `out_i = W x_i + b` for each of the `n` inputs packed in `x` (`n × in`, row-major) into
    /// `out` (`n × out`), vectorized with the widest SIMD the CPU has (detected at run time).
    /// Each weight row is read once for all `n` inputs, and each input's dot products are
    /// accumulated in the same order whatever `n` is, so an input's result does not depend on
    /// the batch it is in.
    fn forward(&self, arch: pulp::Arch, x: &[f32], n: usize, out: &mut Vec<f32>) {
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
    fn to_bf16(&self) -> Self {
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

fn activate(a: Activation, v: &mut [f32]) {
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

#[derive(Debug, Clone)]
enum FastPool {
    Identity,
    Max(usize),
    /// `[L, out]` row-major.
    Avg(Vec<f32>, usize),
}

#[derive(Debug, Clone)]
struct FastBlock {
    pool: FastPool,
    layers: Vec<DenseLayer>,
    n_knots: usize,
    /// `[n_knots, H]` row-major.
    interp: Vec<f32>,
}

/// The NHITS forward for one window at a time, on the CPU, without candle or threads.
#[derive(Debug, Clone)]
pub(crate) struct FastNhits {
    arch: pulp::Arch,
    blocks: Vec<FastBlock>,
    activation: Activation,
    input_size: usize,
    horizon: usize,
    n_outputs: usize,
}

impl FastNhits {
    /// Copies the weights (named as in [`crate::nhits::nhits_weight_shapes`]) out of `weights`.
    pub(crate) fn new(
        cfg: &NhitsConfig,
        n_outputs: usize,
        weights: &[(String, Tensor)],
    ) -> Result<Self> {
        let get = |name: &str| -> Result<Vec<f32>> {
            let t = weights
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, t)| t)
                .ok_or_else(|| crate::Error::Checkpoint {
                    path: "weights".into(),
                    reason: format!("missing tensor `{name}`"),
                })?;
            Ok(t.flatten_all()?
                .to_dtype(candle_core::DType::F32)?
                .to_vec1()?)
        };
        let idx = crate::nhits::linear_layer_indices(cfg.mlp_units.len(), cfg.dropout > 0.0);
        let mut blocks = Vec::new();
        for (stack, &n_blocks) in cfg.stacks.iter().enumerate() {
            let k = cfg
                .n_pool_kernel_size
                .get(stack)
                .copied()
                .unwrap_or(1)
                .max(1);
            for _ in 0..n_blocks {
                let bi = blocks.len();
                let mut layers = Vec::with_capacity(idx.len());
                for &j in &idx {
                    let w = get(&format!("blocks.{bi}.layers.{j}.weight"))?;
                    let b = get(&format!("blocks.{bi}.layers.{j}.bias"))?;
                    let n_in = w.len() / b.len().max(1);
                    layers.push(DenseLayer {
                        w: Matrix::F32(w),
                        b,
                        n_in,
                    });
                }
                let pool = if k == 1 {
                    FastPool::Identity
                } else {
                    match cfg.pooling {
                        Pooling::Max => FastPool::Max(k),
                        Pooling::Avg => FastPool::Avg(
                            avg_pool_matrix(cfg.input_size, k),
                            cfg.pooled_size(stack),
                        ),
                    }
                };
                let n_knots = cfg.n_knots(stack);
                blocks.push(FastBlock {
                    pool,
                    layers,
                    n_knots,
                    interp: interpolation_matrix(cfg.interpolation, n_knots, cfg.horizon),
                });
            }
        }
        Ok(Self {
            arch: pulp::Arch::new(),
            blocks,
            activation: cfg.activation,
            input_size: cfg.input_size,
            horizon: cfg.horizon,
            n_outputs,
        })
    }

    /// The same network with its dense weights rounded to bfloat16.
    pub(crate) fn to_bf16(&self) -> Self {
        let mut out = self.clone();
        for block in &mut out.blocks {
            for layer in &mut block.layers {
                *layer = layer.to_bf16();
            }
        }
        out
    }

    /// The forecasts of the `n` windows packed in `xs` (`n × input_size`, each oldest first),
    /// `n × [H, Q]` row-major like the candle path's `[n, H, Q]` output. Each window's forecast
    /// has the bits it gets alone (every per-window sum runs in the same order whatever `n`),
    /// while each weight matrix is streamed once for the whole batch.
    pub(crate) fn forward_batch(&self, xs: &[f32], n: usize) -> Vec<f32> {
        let (l, h, q) = (self.input_size, self.horizon, self.n_outputs);
        let mut residual: Vec<f32> = xs
            .chunks_exact(l)
            .flat_map(|x| x.iter().rev().copied())
            .collect();
        let mut forecast: Vec<f32> = xs
            .chunks_exact(l)
            .flat_map(|x| std::iter::repeat_n(x[l - 1], h * q))
            .collect();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let mut pooled = Vec::with_capacity(n * l);
        for block in &self.blocks {
            pooled.clear();
            for res in residual.chunks_exact(l) {
                match &block.pool {
                    FastPool::Identity => pooled.extend_from_slice(res),
                    FastPool::Max(k) => pooled.extend(
                        res.chunks(*k)
                            .map(|c| c.iter().copied().fold(f32::NEG_INFINITY, f32::max)),
                    ),
                    FastPool::Avg(m, out) => {
                        let start = pooled.len();
                        pooled.resize(start + out, 0.0);
                        for (i, r) in res.iter().enumerate() {
                            for (p, w) in pooled[start..].iter_mut().zip(&m[i * out..(i + 1) * out])
                            {
                                *p += r * w;
                            }
                        }
                    }
                }
            }
            let n_layers = block.layers.len();
            block.layers[0].forward(self.arch, &pooled, n, &mut a);
            for layer in &block.layers[1..n_layers - 1] {
                layer.forward(self.arch, &a, n, &mut b);
                activate(self.activation, &mut b);
                std::mem::swap(&mut a, &mut b);
            }
            block.layers[n_layers - 1].forward(self.arch, &a, n, &mut b);
            let n_theta = b.len() / n.max(1);
            let nk = block.n_knots;
            for ((theta, res), fc) in b
                .chunks_exact(n_theta)
                .zip(residual.chunks_exact_mut(l))
                .zip(forecast.chunks_exact_mut(h * q))
            {
                for (r, bc) in res.iter_mut().zip(&theta[..l]) {
                    *r -= bc;
                }
                for out in 0..q {
                    let knots = &theta[l + out * nk..l + (out + 1) * nk];
                    for (kk, &kv) in knots.iter().enumerate() {
                        let row = &block.interp[kk * h..(kk + 1) * h];
                        for (t, &w) in row.iter().enumerate() {
                            if w != 0.0 {
                                fc[t * q + out] += kv * w;
                            }
                        }
                    }
                }
            }
        }
        forecast
    }
}

impl crate::arch::FastForward for FastNhits {
    fn forward_batch(&self, x: &[f32], n: usize) -> Vec<f32> {
        FastNhits::forward_batch(self, x, n)
    }
    fn to_bf16(&self) -> Option<Box<dyn crate::arch::FastForward>> {
        Some(Box::new(FastNhits::to_bf16(self)))
    }
}
