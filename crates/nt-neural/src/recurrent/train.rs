//! The training forward of a recurrent layer: [`layer_forward_train`] runs the same recursion as
//! [`super::layer_forward`] (same bits) and records in a [`Tape`] what backpropagation through
//! time needs; [`layer_backward`] (in `backward.rs`) reads it.

use super::forward::{check_args, grow, run, Scratch, State, TapeBufs};
use super::{check_len, Cell, LayerShape, LayerWeights};
use crate::Result;

/// What a training forward saved for the backward, plus the buffers the backward reuses. One
/// tape serves any number of forward/backward pairs (buffers grow, never shrink); each
/// [`layer_forward_train`] overwrites it.
#[derive(Debug, Clone, Default)]
pub struct Tape {
    /// The shape, batch and length of the recorded forward (`None` before the first).
    pub(super) dims: Option<(LayerShape, usize, usize)>,
    /// The inputs `x [B, T, I]`.
    pub(super) x: Vec<f32>,
    /// Gate activations `[B, T, G·H]` (LSTM: i, f, g, o after σ/tanh; GRU: r, z, n).
    pub(super) acts: Vec<f32>,
    /// `tanh c_t` `[B, T, H]` (LSTM).
    pub(super) tanhc: Vec<f32>,
    /// `c_{t−1}` `[B, T, H]` (LSTM).
    pub(super) cprev: Vec<f32>,
    /// `h_{t−1}` `[B, T, out]`.
    pub(super) hprev: Vec<f32>,
    /// `W_hn h_{t−1} + b_hn` `[B, T, H]` (GRU).
    pub(super) hpn: Vec<f32>,
    /// `o ⊙ tanh c_t` `[B, T, H]` (projected LSTM).
    pub(super) m: Vec<f32>,
    /// The state after the last step.
    pub(super) last: Option<State>,
    /// Gradient of the loss with respect to `h0` `[B, out]` (after a backward).
    pub(super) dh0: Vec<f32>,
    /// Gradient with respect to `c0` `[B, H]` (LSTM, after a backward).
    pub(super) dc0: Vec<f32>,
    /// Backward buffers: gradients of the input-side pre-activations `[B, T, G·H]`, of the
    /// recurrent-side ones (GRU; the LSTM's are the same), of `h_t` (projected LSTM).
    pub(super) dxp: Vec<f32>,
    pub(super) dhp: Vec<f32>,
    pub(super) dh: Vec<f32>,
    pub(super) scratch: Option<Scratch>,
}

impl Tape {
    /// An empty tape.
    pub fn new() -> Self {
        Self::default()
    }

    /// The state after the recorded forward's last step (`None` before a forward).
    pub fn last_state(&self) -> Option<&State> {
        self.last.as_ref()
    }

    /// The gradient of the loss with respect to the initial `h0 [B, out]`, set by
    /// [`layer_backward`](super::layer_backward) (empty before).
    pub fn dh0(&self) -> &[f32] {
        &self.dh0
    }

    /// The gradient with respect to the initial `c0 [B, H]` (LSTM; empty for GRU or before a
    /// backward).
    pub fn dc0(&self) -> &[f32] {
        &self.dc0
    }
}

/// The training forward: [`super::layer_forward`]'s `y` (the same bits) from `h0`/`c0` (zeros
/// when `None`; `[B, out]` and `[B, H]`), recording in `tape` the inputs, gate activations,
/// `tanh c_t`, `c_{t−1}`, `h_{t−1}` (and the GRU's `W_hn h + b_hn`, the projected LSTM's
/// `o ⊙ tanh c`). Errors when a length does not match `shape`, `b` and `t`, or `c0` is given
/// for a GRU.
#[allow(clippy::too_many_arguments)]
pub fn layer_forward_train(
    shape: &LayerShape,
    w: &LayerWeights<'_>,
    x: &[f32],
    b: usize,
    t: usize,
    h0: Option<&[f32]>,
    c0: Option<&[f32]>,
    y: &mut [f32],
    tape: &mut Tape,
) -> Result<()> {
    check_args(shape, w, x, b, t, y)?;
    let mut state = State::zeros(shape, b);
    if let Some(h0) = h0 {
        check_len("h0", h0.len(), state.h.len())?;
        state.h.copy_from_slice(h0);
    }
    if let Some(c0) = c0 {
        check_len("c0", c0.len(), state.c.len())?;
        state.c.copy_from_slice(c0);
    }
    let (h, gh, r) = (shape.hidden, shape.gate_width(), shape.output());
    let n = b * t;
    let lstm = shape.cell == Cell::Lstm;
    tape.x.clear();
    tape.x.extend_from_slice(x);
    grow(&mut tape.acts, n * gh);
    grow(&mut tape.hprev, n * r);
    if lstm {
        grow(&mut tape.tanhc, n * h);
        grow(&mut tape.cprev, n * h);
    } else {
        grow(&mut tape.hpn, n * h);
    }
    if shape.proj > 0 {
        grow(&mut tape.m, n * h);
    }
    let mut scratch = tape.scratch.take().unwrap_or_default();
    let bufs = TapeBufs {
        acts: &mut tape.acts[..n * gh],
        tanhc: if lstm {
            &mut tape.tanhc[..n * h]
        } else {
            &mut []
        },
        cprev: if lstm {
            &mut tape.cprev[..n * h]
        } else {
            &mut []
        },
        hprev: &mut tape.hprev[..n * r],
        hpn: if lstm {
            &mut []
        } else {
            &mut tape.hpn[..n * h]
        },
        m: if shape.proj > 0 {
            &mut tape.m[..n * h]
        } else {
            &mut []
        },
    };
    let res = run(shape, w, x, b, t, &mut state, y, &mut scratch, Some(bufs));
    tape.scratch = Some(scratch);
    res?;
    tape.dims = Some((*shape, b, t));
    tape.last = Some(state);
    Ok(())
}
