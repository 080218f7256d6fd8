//! DeepAR's inference LSTM on the recurrent kernel (`crate::recurrent`'s `layer_forward` and
//! `layer_step` over plain slices): the encoder once over a window, then one step per horizon
//! step from the kept state, which candle ops would pay for in per-op overhead.

use candle_core::Tensor;

use super::DeepAr;
use crate::recurrent::{layer_forward, LayerShape, LayerWeights, Scratch, State};
use crate::Result;

/// The LSTM stack's weights as flat slices (read from the network's tensors when built, so a
/// network in training is read as it is now).
pub(super) struct PlainStack {
    layers: Vec<(LayerShape, Vec<f32>)>,
    scratch: Scratch,
}

impl PlainStack {
    /// The current weights of `net`'s LSTM layers.
    pub(super) fn new(net: &DeepAr) -> Result<Self> {
        let layers = net
            .layers
            .iter()
            .map(|l| {
                let (g, input) = l.w_ih.dims2()?;
                let shape = LayerShape::lstm(input, g / 4);
                let mut flat = Vec::with_capacity(shape.n_weights());
                for t in [&l.w_ih, &l.w_hh, &l.b_ih, &l.b_hh] {
                    flat.extend(
                        t.flatten_all()?
                            .to_device(&candle_core::Device::Cpu)?
                            .to_vec1::<f32>()?,
                    );
                }
                Ok((shape, flat))
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            layers,
            scratch: Scratch::new(),
        })
    }

    /// Runs the stack over `x` (`[b, t, I]`) from zero states: the top layer's last output
    /// `[b, hidden]` and every layer's state after the last step.
    pub(super) fn encode(
        &mut self,
        x: &[f32],
        b: usize,
        t: usize,
    ) -> Result<(Vec<f32>, Vec<State>)> {
        let mut h = x.to_vec();
        let mut states = Vec::with_capacity(self.layers.len());
        for (shape, flat) in &self.layers {
            let w = LayerWeights::from_flat(shape, flat)?;
            let mut st = State::zeros(shape, b);
            let mut y = vec![0f32; b * t * shape.output()];
            layer_forward(shape, &w, &h, b, t, &mut st, &mut y, &mut self.scratch)?;
            h = y;
            states.push(st);
        }
        let top = states.last().map(|s| s.h.clone()).unwrap_or_default();
        Ok((top, states))
    }

    /// One step of the stack for `b` rows of input `x` (`[b, I]`) from `states` (updated): the
    /// top layer's output `[b, hidden]`.
    pub(super) fn step(&mut self, x: &[f32], b: usize, states: &mut [State]) -> Result<Vec<f32>> {
        let mut h = x.to_vec();
        for ((shape, flat), st) in self.layers.iter().zip(states.iter_mut()) {
            let w = LayerWeights::from_flat(shape, flat)?;
            let mut y = vec![0f32; b * shape.output()];
            layer_forward(shape, &w, &h, b, 1, st, &mut y, &mut self.scratch)?;
            h = y;
        }
        Ok(h)
    }
}

/// The LSTM input rows `[b, I]` of one decoding step: the fed-back values `y` (one per row),
/// zeros for the historic channels, and row `row`'s future channels of the packed window `x`
/// (one window shared by all rows when `x` holds one, else one per row).
pub(super) fn step_rows(net: &DeepAr, x: &[f32], y: &[f32], row: usize) -> Vec<f32> {
    let width = 1 + net.n_hist + net.n_futr;
    let w = net.packed_width(net.horizon_len());
    let l1 = net.input_len();
    let windows = x.len() / w.max(1);
    let mut out = Vec::with_capacity(y.len() * width);
    for (i, &v) in y.iter().enumerate() {
        out.push(v);
        out.extend(std::iter::repeat_n(0.0, net.n_hist));
        if net.n_futr > 0 {
            let win = if windows == 1 { 0 } else { i };
            let at = win * w + l1 + l1 * net.n_hist + row * net.n_futr;
            out.extend_from_slice(&x[at..at + net.n_futr]);
        }
    }
    out
}

/// `[b, hidden]` values as a tensor on `net`'s device, through the decoder: `[b, P]` raw
/// parameters, back as plain values.
pub(super) fn decode_rows(net: &DeepAr, top: &[f32], b: usize) -> Result<Vec<f32>> {
    let device = net.layers[0].w_ih.device();
    let hid = top.len() / b.max(1);
    let t = Tensor::from_slice(top, (b, hid), device)?;
    Ok(net
        .decode(&t)?
        .flatten_all()?
        .to_device(&candle_core::Device::Cpu)?
        .to_vec1()?)
}
