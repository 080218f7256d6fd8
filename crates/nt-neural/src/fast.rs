//! A single-threaded, allocation-light NHITS forward for a few windows at a time, in plain Rust.
//!
//! At batch 1 the cost of candle's CPU path is dominated by per-op overhead and by rayon's pool
//! (see `shared/STACK.md`: 4-5x slower than one thread for a small MLP), while the arithmetic is
//! a handful of matrix-vector products that stream the weights once. This path computes exactly
//! the network of [`crate::nhits::Nhits`] (same weights, same order of blocks) and is used by
//! `predict` for small batches; tests check it against the candle path and neuralforecast.

use candle_core::Tensor;

use crate::arch::dense::{activate, DenseLayer, Matrix};
use crate::config::{Activation, NhitsConfig, Pooling};
use crate::resample::{avg_pool_matrix, interpolation_matrix};
use crate::Result;

/// Reduced or full precision: how the single-window inference path stores the weights of its
/// dense layers, and (as `train.precision`) the arithmetic of the training matmuls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// 32-bit floats: the exact network (default).
    #[default]
    F32,
    /// bfloat16 weights (round to nearest even) with f32 activations and f32 accumulation:
    /// half the bytes streamed per forward, which is what bounds single-window latency; forecasts
    /// differ from the f32 network by about 2^-9 of the weights' relative precision.
    Bf16,
}

impl Precision {
    /// Whether this is [`Precision::F32`].
    pub fn is_f32(&self) -> bool {
        *self == Precision::F32
    }

    /// The lowercase name (`f32`, `bf16`).
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
        }
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
        let idx = crate::layers::linear_layer_indices(cfg.mlp_units.len(), cfg.dropout > 0.0);
        let mut blocks = Vec::new();
        for (stack, &n_blocks) in cfg.stacks.iter().enumerate() {
            let k = cfg.pool_kernel(stack);
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
                *layer = layer.to_bf16(self.arch);
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
