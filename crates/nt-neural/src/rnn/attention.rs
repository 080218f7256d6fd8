//! The optional attention head: causal multi-head self-attention over the last recurrent
//! layer's states, with a residual connection and a LayerNorm.
//!
//! For states `S [T, C]` and `N` heads of width `d = C / N`:
//! `Q = S W_qᵀ + b_q`, `K = S W_kᵀ + b_k`, `V = S W_vᵀ + b_v` (each `nn.Linear(C, C)`, named
//! `attention.query`, `attention.key`, `attention.value`), per head
//! `A = softmax(Q_h K_hᵀ / √d + M)` with the causal mask `M[i, j] = −∞` for `j > i` (step `i`
//! attends to steps `0..=i` only: never to a later state, so its own step's future stays
//! unseen, which the recurrent mode's step-by-step forecast relies on), `O = concat_h(A V_h)
//! W_oᵀ + b_o` (`attention.out`), and the output `LayerNorm(S + O)` over the channels
//! (`attention.norm.weight`, `.bias`, ε = 1e-5, biased variance: `nn.LayerNorm(C)`).
//! Neither neuralforecast nor PyTorch's `nn.MultiheadAttention` names these weights this way;
//! the reference script holds the PyTorch module it is tested against.
//!
//! [`Attention`] is the candle version (training); [`RustAttention`] the plain-Rust one for
//! inference, one step at a time over a key/value cache, so a sequence and its step-by-step
//! continuation give the same numbers.

use candle_core::{Module, Tensor, D};
use candle_nn::Linear;

use crate::Result;

/// LayerNorm's ε (PyTorch's default).
const EPS: f64 = 1e-5;

/// The candle attention head.
#[derive(Debug, Clone)]
pub(crate) struct Attention {
    heads: usize,
    query: Linear,
    key: Linear,
    value: Linear,
    out: Linear,
    norm_w: Tensor,
    norm_b: Tensor,
}

impl Attention {
    /// From the four linear maps (query, key, value, out) and the LayerNorm weights.
    pub(crate) fn new(heads: usize, maps: [Linear; 4], norm_w: Tensor, norm_b: Tensor) -> Self {
        let [query, key, value, out] = maps;
        Self {
            heads,
            query,
            key,
            value,
            out,
            norm_w,
            norm_b,
        }
    }

    /// `[B, T, C]` states to `[B, T, C]`.
    pub(crate) fn forward(&self, s: &Tensor) -> Result<Tensor> {
        let (b, t, c) = s.dims3()?;
        let (n, d) = (self.heads, c / self.heads);
        let s2 = s.reshape((b * t, c))?;
        let split = |m: &Linear| -> Result<Tensor> {
            Ok(m.forward(&s2)?
                .reshape((b, t, n, d))?
                .transpose(1, 2)?
                .contiguous()?)
        };
        let (q, k, v) = (split(&self.query)?, split(&self.key)?, split(&self.value)?);
        let scores = (q.matmul(&k.t()?.contiguous()?)? * (1.0 / (d as f64).sqrt()))?;
        let mask: Vec<f32> = (0..t * t)
            .map(|ij| {
                if ij % t > ij / t {
                    f32::NEG_INFINITY
                } else {
                    0.0
                }
            })
            .collect();
        let mask = Tensor::from_vec(mask, (t, t), s.device())?.to_dtype(s.dtype())?;
        let p = candle_nn::ops::softmax(&scores.broadcast_add(&mask)?, D::Minus1)?;
        let o = p
            .matmul(&v)?
            .transpose(1, 2)?
            .contiguous()?
            .reshape((b * t, c))?;
        let z = (s2 + self.out.forward(&o)?)?;
        let mean = z.mean_keepdim(D::Minus1)?;
        let centered = z.broadcast_sub(&mean)?;
        let var = centered.sqr()?.mean_keepdim(D::Minus1)?;
        let normed = centered.broadcast_div(&(var + EPS)?.sqrt()?)?;
        let y = normed
            .broadcast_mul(&self.norm_w)?
            .broadcast_add(&self.norm_b)?;
        Ok(y.reshape((b, t, c))?)
    }
}

/// A `nn.Linear(C, C)` in plain Rust: `[C, C]` row-major weight and bias.
#[derive(Debug, Clone)]
struct Map {
    w: Vec<f32>,
    b: Vec<f32>,
}

impl Map {
    /// `out = W x + b`, sums in index order.
    fn apply(&self, x: &[f32], out: &mut [f32]) {
        let n = x.len();
        for (o, (row, b)) in out.iter_mut().zip(self.w.chunks_exact(n).zip(&self.b)) {
            *o = b + row.iter().zip(x).map(|(w, v)| w * v).sum::<f32>();
        }
    }
}

/// The plain-Rust attention head, for inference.
#[derive(Debug, Clone)]
pub(crate) struct RustAttention {
    heads: usize,
    c: usize,
    maps: [Map; 4],
    norm_w: Vec<f32>,
    norm_b: Vec<f32>,
}

/// The keys and values of the steps seen so far (`[T, C]` each, row-major).
#[derive(Debug, Clone, Default)]
pub(crate) struct KvCache {
    k: Vec<f32>,
    v: Vec<f32>,
}

impl RustAttention {
    /// From `(weight, bias)` of query, key, value and out, and the LayerNorm weight and bias.
    pub(crate) fn new(
        heads: usize,
        maps: [(Vec<f32>, Vec<f32>); 4],
        norm_w: Vec<f32>,
        norm_b: Vec<f32>,
    ) -> Self {
        let c = norm_w.len();
        Self {
            heads,
            c,
            maps: maps.map(|(w, b)| Map { w, b }),
            norm_w,
            norm_b,
        }
    }

    /// The output for state `s` (`C` values) of the next step, attending to the cached steps
    /// and itself; appends its key and value to `cache`. Overwrites `s` with the output.
    pub(crate) fn step(&self, s: &mut [f32], cache: &mut KvCache) {
        let (c, n) = (self.c, self.heads);
        let d = c / n;
        let mut q = vec![0.0f32; c];
        let mut kv = vec![0.0f32; c];
        self.maps[0].apply(s, &mut q);
        self.maps[1].apply(s, &mut kv);
        cache.k.extend_from_slice(&kv);
        self.maps[2].apply(s, &mut kv);
        cache.v.extend_from_slice(&kv);
        let t = cache.k.len() / c;
        let scale = 1.0 / (d as f32).sqrt();
        let mut o = vec![0.0f32; c];
        let mut p = vec![0.0f32; t];
        for h in 0..n {
            let qh = &q[h * d..(h + 1) * d];
            for (j, pj) in p.iter_mut().enumerate() {
                let kj = &cache.k[j * c + h * d..j * c + (h + 1) * d];
                *pj = qh.iter().zip(kj).map(|(a, b)| a * b).sum::<f32>() * scale;
            }
            let max = p.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut sum = 0.0f32;
            for pj in p.iter_mut() {
                *pj = (*pj - max).exp();
                sum += *pj;
            }
            let oh = &mut o[h * d..(h + 1) * d];
            for (j, pj) in p.iter().enumerate() {
                let vj = &cache.v[j * c + h * d..j * c + (h + 1) * d];
                for (a, v) in oh.iter_mut().zip(vj) {
                    *a += pj / sum * v;
                }
            }
        }
        let mut proj = vec![0.0f32; c];
        self.maps[3].apply(&o, &mut proj);
        for (z, p) in s.iter_mut().zip(&proj) {
            *z += p;
        }
        let mean = s.iter().sum::<f32>() / c as f32;
        let var = s.iter().map(|z| (z - mean) * (z - mean)).sum::<f32>() / c as f32;
        let inv = 1.0 / (var + EPS as f32).sqrt();
        for ((z, w), b) in s.iter_mut().zip(&self.norm_w).zip(&self.norm_b) {
            *z = (*z - mean) * inv * w + b;
        }
    }
}
