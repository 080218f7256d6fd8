//! The native CPU training engine: the layers every architecture is built from, each with a
//! hand-written backward, over one flat buffer of f32 weights and one of gradients.
//!
//! Why not candle's autograd on the CPU: profiling a default NHITS step (issue 11's breakdown,
//! in the training-engine note) put most of the time outside the matmuls — every gradient
//! starting as `zeros_like`, `narrow` backpropagating by padding and concatenating, max-pool
//! backward through equality masks, elementwise and reduction ops on one core, and an
//! optimizer that copied each weight in and out. Here:
//!
//! - `matmul` hands every product to the `gemm` crate's run-time-dispatched microkernels
//!   (AVX-512 or AVX2 + FMA) on all cores, through strided views, so a column range of a matrix
//!   (the backcast and forecast parts of `theta`) is read and written in place;
//! - `mlp` is the fused dense stack (linear + bias + activation + dropout) forward and
//!   backward; `stack` the doubly residual block stack of NHITS and N-BEATS (pooling,
//!   backcast and forecast heads as fixed linear maps, two heads instead of a split);
//! - `linear` is the LTSF-Linear family (DLinear, NLinear): sums of linear maps of the window;
//! - `loss` gives the loss and its gradient in one pass; `adam` updates the flat weights in
//!   place; `ops` holds the elementwise kernels, split over rayon's threads in fixed chunks.
//!
//! Architectures opt in through `Architecture::native_graph`; the rest (and every GPU run) keep
//! candle's autograd. Tests check each graph's outputs and gradients against candle's autograd on
//! the same weights, and the parity fixtures against PyTorch.

pub(crate) mod adam;
pub(crate) mod linear;
pub(crate) mod loss;
pub(crate) mod matmul;
pub(crate) mod mlp;
pub(crate) mod ops;
pub(crate) mod stack;

use crate::arch::WeightSpec;
use crate::rng::Rng;
use crate::{Error, Result};

/// Why `train.precision = "bf16"` trains in f32 on this build: a bf16 step only beats f32 with
/// a native bf16 matmul (AVX512-BF16's `vdpbf16ps`, AMX), and neither `gemm` nor this crate has
/// one yet; on AVX2 + FMA, converting operands costs more than halving their bytes saves, since
/// the training matmuls are compute-bound. Falling back keeps bf16 from ever being slower.
pub(crate) fn bf16_fallback_reason() -> &'static str {
    if crate::cpu::features().avx512_bf16 {
        "bf16 asked: this CPU has AVX512-BF16, but the native engine has no bf16 matmul kernel yet; trained in f32"
    } else {
        "bf16 asked: this CPU has no native bf16 arithmetic (AVX512-BF16), so bf16 matmuls cannot beat f32 here; trained in f32"
    }
}

/// Where each weight lives in the flat buffer: names sorted (the order training initializes
/// them in), shapes, offsets.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamLayout {
    names: Vec<String>,
    shapes: Vec<Vec<usize>>,
    offsets: Vec<usize>,
}

impl ParamLayout {
    /// The layout of `specs`, sorted by name.
    pub(crate) fn new(specs: &[WeightSpec]) -> Self {
        let mut sorted: Vec<&WeightSpec> = specs.iter().collect();
        sorted.sort_by(|a, b| a.name.cmp(&b.name));
        let mut offsets = Vec::with_capacity(sorted.len() + 1);
        let mut total = 0;
        for s in &sorted {
            offsets.push(total);
            total += s.len();
        }
        offsets.push(total);
        Self {
            names: sorted.iter().map(|s| s.name.clone()).collect(),
            shapes: sorted.iter().map(|s| s.shape.clone()).collect(),
            offsets,
        }
    }

    /// Total number of weights.
    pub(crate) fn len(&self) -> usize {
        self.offsets.last().copied().unwrap_or(0)
    }

    /// The names, in buffer order.
    pub(crate) fn names(&self) -> &[String] {
        &self.names
    }

    /// Shape of weight `i`.
    pub(crate) fn shape(&self, i: usize) -> &[usize] {
        &self.shapes[i]
    }

    /// The buffer range of weight `i`.
    pub(crate) fn range(&self, i: usize) -> std::ops::Range<usize> {
        self.offsets[i]..self.offsets[i + 1]
    }

    /// The buffer range of the weight named `name`, checked to have `len` values.
    pub(crate) fn find(&self, name: &str, len: usize) -> Result<std::ops::Range<usize>> {
        let i = self
            .names
            .binary_search_by(|n| n.as_str().cmp(name))
            .map_err(|_| Error::invalid("weights", format!("no weight named `{name}`")))?;
        let r = self.range(i);
        if r.len() != len {
            return Err(Error::invalid(
                "weights",
                format!("weight `{name}` has {} values, expected {len}", r.len()),
            ));
        }
        Ok(r)
    }
}

/// A network the native engine can train: its forward keeps what its backward needs in the
/// graph's own scratch buffers, which are reused from step to step (no allocation once the
/// largest batch has been seen).
pub trait TrainGraph: Send + Sync + std::fmt::Debug {
    /// Width of one packed input row.
    fn input_width(&self) -> usize;
    /// Values per window of the output (`H · Q`, laid out `[H, Q]`).
    fn output_len(&self) -> usize;
    /// Forward of the `b` windows packed in `x`; dropout (when the graph has it) is drawn from
    /// `rng` only when one is given (training). Returns the `[b, H, Q]` output.
    fn forward(
        &mut self,
        weights: &[f32],
        x: &[f32],
        b: usize,
        rng: Option<&mut Rng>,
    ) -> Result<&[f32]>;
    /// Backward of the last forward: `dout` is the loss gradient with respect to its output
    /// (consumed as scratch); writes every weight's gradient into `grads` (same layout as
    /// `weights`; each weight's gradient is overwritten, not accumulated).
    fn backward(&mut self, weights: &[f32], dout: &mut [f32], grads: &mut [f32]) -> Result<()>;
    /// Writes the non-trainable buffers that the last training forward moved (BatchNorm's
    /// running statistics, which live in the flat weights) into `weights`; the trainer calls it
    /// once after each training step's backward. Nothing by default.
    fn update_buffers(&mut self, weights: &mut [f32]) {
        let _ = weights;
    }
    /// The ranges of the flat weights that are buffers, not parameters: their gradient is
    /// always zero and the optimizer (weight decay included) leaves them alone. None by
    /// default.
    fn buffer_ranges(&self) -> Vec<std::ops::Range<usize>> {
        Vec::new()
    }
    /// Switches the graph's large matmuls to bf16 numerics (operands rounded to bfloat16, f32
    /// accumulation) and returns whether the graph has them; none by default.
    fn set_bf16(&mut self, on: bool) -> bool {
        let _ = on;
        false
    }
}

#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
mod tests;
