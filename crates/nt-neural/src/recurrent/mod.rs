//! The recurrent kernel: LSTM and GRU layers in plain Rust (PyTorch's `nn.LSTM`/`nn.GRU`
//! equations and weight layout), with backpropagation through time, shared by the LSTM, GRU
//! and DeepAR architectures.
//!
//! # Equations (PyTorch's, exactly)
//! - LSTM, gates in the order i, f, g, o: `i, f, o = σ(·)`, `g = tanh(·)` of
//!   `W_ih x_t + b_ih + W_hh h_{t−1} + b_hh`; `c_t = f ⊙ c_{t−1} + i ⊙ g`,
//!   `h_t = o ⊙ tanh(c_t)`; with `proj_size` P > 0, `h_t = W_hr (o ⊙ tanh c_t)` (width P, and
//!   `W_hh` is `[4H, P]`).
//! - GRU, gates in the order r, z, n: `r, z = σ(W_i· x + b_i· + W_h· h + b_h·)`,
//!   `n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))`, `h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}`
//!   (computed as torch does, `n + z ⊙ (h − n)`).
//!
//! # Layout
//! A layer's weights are one flat `f32` slice in the order `w_ih [G·H, I]`, `w_hh [G·H, R]`,
//! `b_ih [G·H]`, `b_hh [G·H]` and, for a projected LSTM, `w_hr [P, H]`, each row-major (R is the
//! recurrent width: P with a projection, H otherwise; G is 4 for LSTM, 3 for GRU). These are
//! PyTorch's `state_dict` tensors `weight_ih_l{k}`, `weight_hh_l{k}`, `bias_ih_l{k}`,
//! `bias_hh_l{k}`, `weight_hr_l{k}` ([`LayerShape::weight_specs`]). Sequences are batch-major:
//! `x [B, T, I]`, `y [B, T, out]` (PyTorch's `batch_first=True`).
//!
//! # API
//! - [`LayerShape`], [`Cell`], [`LayerWeights`]: what a layer is and a view of its weights.
//! - Inference: [`layer_forward`] over a whole sequence (one product for the input projections
//!   of all steps, then per step one product with `W_hh` and one fused pass over the gates) and
//!   [`layer_step`] for one step (autoregressive decoding); both update a [`State`] in place and
//!   reuse a [`Scratch`]. `layer_step` repeated T times gives `layer_forward`'s bits.
//! - Training: [`layer_forward_train`] records a [`Tape`]; [`layer_backward`] runs
//!   backpropagation through time from it (input and weight gradients, the latter accumulated),
//!   and leaves the initial state's gradient in the tape ([`Tape::dh0`], [`Tape::dc0`]).
//! - candle: [`candle_layer`] is a differentiable candle op over a `[B, T, I]` tensor and the
//!   layer's weight tensors (the kernel on the CPU, [`candle_layer_reference`], plain candle
//!   ops, elsewhere).
//!
//! # Threads
//! At small batches ([`SMALL_BATCH`] windows or fewer) inference runs on the calling thread
//! only: its products go through a hand-written matrix-vector kernel, never rayon's pool. Larger
//! batches use `gemm` (threaded for large products) and split the gate passes over the batch on
//! rayon's threads. Each output row of a window depends only on that window, and its sums run in
//! the same order whatever the batch at small batches (batch invariance, bit for bit there).

mod act;
mod backward;
mod candle_op;
mod forward;
mod kernel;
mod train;

#[cfg(test)]
mod tests;

pub use backward::layer_backward;
pub use candle_op::{candle_layer, candle_layer_reference};
pub use forward::{layer_forward, layer_step, Scratch, State};
pub use train::{layer_forward_train, Tape};

use crate::arch::{Init, WeightSpec};
use crate::{Error, Result};

/// Batches of at most this many windows run inference on the calling thread through the
/// hand-written products (no rayon, batch-invariant bits); larger ones use `gemm` and rayon.
pub const SMALL_BATCH: usize = 8;

/// The recurrent cell of a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cell {
    /// `nn.LSTM`: four gates i, f, g, o and a cell state.
    Lstm,
    /// `nn.GRU`: three gates r, z, n, no cell state.
    Gru,
}

/// The sizes of one recurrent layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LayerShape {
    /// LSTM or GRU.
    pub cell: Cell,
    /// Input width I per step.
    pub input: usize,
    /// Hidden width H (gate and cell width).
    pub hidden: usize,
    /// LSTM `proj_size` P (0 = none; must be 0 for GRU and below `hidden` otherwise).
    pub proj: usize,
}

impl LayerShape {
    /// An LSTM layer without projection.
    pub fn lstm(input: usize, hidden: usize) -> Self {
        Self {
            cell: Cell::Lstm,
            input,
            hidden,
            proj: 0,
        }
    }

    /// A GRU layer.
    pub fn gru(input: usize, hidden: usize) -> Self {
        Self {
            cell: Cell::Gru,
            input,
            hidden,
            proj: 0,
        }
    }

    /// Checks the sizes (what PyTorch accepts): input and hidden at least 1, a projection only on
    /// an LSTM and smaller than its hidden width.
    pub fn validate(&self) -> Result<()> {
        if self.input == 0 {
            return Err(Error::invalid("recurrent.input", "at least 1"));
        }
        if self.hidden == 0 {
            return Err(Error::invalid("recurrent.hidden", "at least 1"));
        }
        if self.proj > 0 {
            if self.cell == Cell::Gru {
                return Err(Error::invalid(
                    "recurrent.proj",
                    "a projection (proj_size) exists only for LSTM",
                ));
            }
            if self.proj >= self.hidden {
                return Err(Error::invalid(
                    "recurrent.proj",
                    format!("below hidden ({}), got {}", self.hidden, self.proj),
                ));
            }
        }
        Ok(())
    }

    /// Number of gates G: 4 (LSTM) or 3 (GRU).
    pub fn gates(&self) -> usize {
        match self.cell {
            Cell::Lstm => 4,
            Cell::Gru => 3,
        }
    }

    /// Output width per step: the projection P when there is one, else H. Also the width of the
    /// recurrent state `h` fed back into `W_hh`.
    pub fn output(&self) -> usize {
        if self.proj > 0 {
            self.proj
        } else {
            self.hidden
        }
    }

    /// G·H, the width of the stacked gate pre-activations.
    pub fn gate_width(&self) -> usize {
        self.gates() * self.hidden
    }

    /// The layer's tensors in flat order, PyTorch's `state_dict` names for layer `layer` of a
    /// module named `prefix` (`{prefix}.weight_ih_l{layer}`, ...), shapes, and PyTorch's
    /// initialization `U(±1/sqrt(hidden))` for every tensor.
    pub fn weight_specs(&self, prefix: &str, layer: usize) -> Vec<WeightSpec> {
        let init = Init::Uniform {
            bound: 1.0 / (self.hidden.max(1) as f64).sqrt(),
        };
        let (gh, r) = (self.gate_width(), self.output());
        let mut v = vec![
            (format!("{prefix}.weight_ih_l{layer}"), vec![gh, self.input]),
            (format!("{prefix}.weight_hh_l{layer}"), vec![gh, r]),
            (format!("{prefix}.bias_ih_l{layer}"), vec![gh]),
            (format!("{prefix}.bias_hh_l{layer}"), vec![gh]),
        ];
        if self.proj > 0 {
            v.push((
                format!("{prefix}.weight_hr_l{layer}"),
                vec![self.proj, self.hidden],
            ));
        }
        v.into_iter()
            .map(|(name, shape)| WeightSpec { name, shape, init })
            .collect()
    }

    /// Number of weights of the layer (the flat slice's length).
    pub fn n_weights(&self) -> usize {
        let (gh, r) = (self.gate_width(), self.output());
        gh * self.input + gh * r + 2 * gh + self.proj * self.hidden
    }

    /// Offsets of `w_ih`, `w_hh`, `b_ih`, `b_hh`, `w_hr` and the end in the flat slice.
    pub(crate) fn offsets(&self) -> [usize; 6] {
        let (gh, r) = (self.gate_width(), self.output());
        let o1 = gh * self.input;
        let o2 = o1 + gh * r;
        let o3 = o2 + gh;
        let o4 = o3 + gh;
        [0, o1, o2, o3, o4, o4 + self.proj * self.hidden]
    }
}

/// A view of one layer's weights, in PyTorch's layouts (see the module doc).
#[derive(Debug, Clone, Copy)]
pub struct LayerWeights<'a> {
    /// `weight_ih [G·H, I]` row-major.
    pub w_ih: &'a [f32],
    /// `weight_hh [G·H, out]` row-major.
    pub w_hh: &'a [f32],
    /// `bias_ih [G·H]`.
    pub b_ih: &'a [f32],
    /// `bias_hh [G·H]`.
    pub b_hh: &'a [f32],
    /// `weight_hr [P, H]` row-major (empty without a projection).
    pub w_hr: &'a [f32],
}

impl<'a> LayerWeights<'a> {
    /// The tensors of `shape` from one flat slice in the flat order (its length must be
    /// [`LayerShape::n_weights`]).
    pub fn from_flat(shape: &LayerShape, flat: &'a [f32]) -> Result<Self> {
        shape.validate()?;
        let o = shape.offsets();
        if flat.len() != o[5] {
            return Err(Error::invalid(
                "recurrent.weights",
                format!("{} values for {shape:?}, got {}", o[5], flat.len()),
            ));
        }
        Ok(Self {
            w_ih: &flat[o[0]..o[1]],
            w_hh: &flat[o[1]..o[2]],
            b_ih: &flat[o[2]..o[3]],
            b_hh: &flat[o[3]..o[4]],
            w_hr: &flat[o[4]..o[5]],
        })
    }

    /// Checks that every tensor has the length `shape` gives it.
    pub fn check(&self, shape: &LayerShape) -> Result<()> {
        shape.validate()?;
        let o = shape.offsets();
        let parts = [
            ("w_ih", self.w_ih.len()),
            ("w_hh", self.w_hh.len()),
            ("b_ih", self.b_ih.len()),
            ("b_hh", self.b_hh.len()),
            ("w_hr", self.w_hr.len()),
        ];
        for (k, (name, len)) in parts.into_iter().enumerate() {
            let want = o[k + 1] - o[k];
            if len != want {
                return Err(Error::invalid(
                    format!("recurrent.{name}"),
                    format!("{want} values for {shape:?}, got {len}"),
                ));
            }
        }
        Ok(())
    }
}

/// `Err` unless `len == want` (`what` names the buffer).
pub(crate) fn check_len(what: &str, len: usize, want: usize) -> Result<()> {
    if len == want {
        Ok(())
    } else {
        Err(Error::invalid(
            format!("recurrent.{what}"),
            format!("{want} values, got {len}"),
        ))
    }
}
