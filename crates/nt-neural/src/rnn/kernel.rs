//! The recurrent layer as the candle network differentiates it: PyTorch's `nn.LSTM` (gates
//! `i, f, g, o`, optional projection `h = W_hr (o ⊙ tanh c)`) and `nn.GRU` (gates `r, z, n`,
//! `n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))`) from a zero state, written with plain candle
//! ops: the input products for all steps in one matrix product, then one small product per
//! step. candle has no recurrent layer with PyTorch's weight layout and autograd, hence this.

use candle_core::Tensor;

use super::config::CellKind;
use super::network::LayerVars;
use crate::Result;

/// One layer over `x [B, T, I]` to `[B, T, out]` (out: the projection width, else C).
pub(crate) fn candle_layer(cell: CellKind, layer: &LayerVars, x: &Tensor) -> Result<Tensor> {
    let (b, t, i) = x.dims3()?;
    let c = layer.dims.hidden;
    let g = cell.gates() * c;
    let mut xi = x.reshape((b * t, i))?.matmul(&layer.w_ih.t()?)?;
    if let Some((b_ih, _)) = &layer.bias {
        xi = xi.broadcast_add(b_ih)?;
    }
    let xi = xi.reshape((b, t, g))?;
    let w_hh = layer.w_hh.t()?;
    let w_hr = layer.w_hr.as_ref().map(Tensor::t).transpose()?;
    let mut h = Tensor::zeros((b, layer.dims.output()), x.dtype(), x.device())?;
    let mut cs = Tensor::zeros((b, c), x.dtype(), x.device())?;
    let mut outs = Vec::with_capacity(t);
    let sig = candle_nn::ops::sigmoid;
    for step in 0..t {
        let xt = xi.narrow(1, step, 1)?.squeeze(1)?;
        let mut hh = h.matmul(&w_hh)?;
        if let Some((_, b_hh)) = &layer.bias {
            hh = hh.broadcast_add(b_hh)?;
        }
        match cell {
            CellKind::Lstm => {
                let gates = (xt + hh)?;
                let ig = sig(&gates.narrow(1, 0, c)?)?;
                let fg = sig(&gates.narrow(1, c, c)?)?;
                let gg = gates.narrow(1, 2 * c, c)?.tanh()?;
                let og = sig(&gates.narrow(1, 3 * c, c)?)?;
                cs = ((fg * &cs)? + (ig * gg)?)?;
                let hn = (og * cs.tanh()?)?;
                h = match &w_hr {
                    Some(w) => hn.matmul(w)?,
                    None => hn,
                };
            }
            CellKind::Gru => {
                let r = sig(&(xt.narrow(1, 0, c)? + hh.narrow(1, 0, c)?)?)?;
                let z = sig(&(xt.narrow(1, c, c)? + hh.narrow(1, c, c)?)?)?;
                let n = (xt.narrow(1, 2 * c, c)? + (r * hh.narrow(1, 2 * c, c)?)?)?.tanh()?;
                // h' = (1 − z) ⊙ n + z ⊙ h = n + z ⊙ (h − n)
                h = (&n + (z * (&h - &n)?)?)?;
            }
        }
        outs.push(h.clone());
    }
    Ok(Tensor::stack(&outs, 1)?)
}
