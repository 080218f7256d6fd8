//! DeepAR's candle network: the LSTM encoder, the decoder MLP, the teacher-forced training
//! forward and the mean-feedback roll-forward (see the module doc of `crate::deepar`).

use candle_core::{Module, Tensor};
use candle_nn::{Linear, VarBuilder};

use super::{DeepArConfig, Feedback};
use crate::arch::Network;
use crate::config::Activation;
use crate::distribution::{Distribution, Probabilistic};
use crate::rng::Rng;
use crate::{Error, Result};

/// One LSTM layer's weights, PyTorch's layout (gates `i, f, g, o` stacked in rows).
#[derive(Debug, Clone)]
pub(super) struct LstmLayer {
    pub(super) w_ih: Tensor,
    pub(super) w_hh: Tensor,
    pub(super) b_ih: Tensor,
    pub(super) b_hh: Tensor,
}

/// An LSTM layer's state `(h, c)`, each `[B, hidden]`.
pub(super) type State = (Tensor, Tensor);

impl LstmLayer {
    /// One step: gate pre-activations `xw` (`[B, 4·hidden]`, the input product with both
    /// biases) plus `h·W_hhᵀ`, then PyTorch's LSTM cell.
    fn cell(&self, xw: &Tensor, (h, c): &State) -> Result<State> {
        let gates = (xw + h.matmul(&self.w_hh.t()?)?)?;
        let n = gates.dim(1)? / 4;
        let i = candle_nn::ops::sigmoid(&gates.narrow(1, 0, n)?)?;
        let f = candle_nn::ops::sigmoid(&gates.narrow(1, n, n)?)?;
        let g = gates.narrow(1, 2 * n, n)?.tanh()?;
        let o = candle_nn::ops::sigmoid(&gates.narrow(1, 3 * n, n)?)?;
        let c = ((f * c)? + (i * g)?)?;
        let h = (o * c.tanh()?)?;
        Ok((h, c))
    }

    /// The input product of `x` `[B, T, I]` with both biases, `[B, T, 4·hidden]`.
    fn input_product(&self, x: &Tensor) -> Result<Tensor> {
        let (b, t, i) = x.dims3()?;
        let y = x
            .reshape((b * t, i))?
            .matmul(&self.w_ih.t()?)?
            .broadcast_add(&(&self.b_ih + &self.b_hh)?)?;
        Ok(y.reshape((b, t, ()))?)
    }

    /// The layer over `x` `[B, T, I]` from `state` (zeros when `None`): outputs `[B, T, hidden]`
    /// and the final state. Plain candle ops, differentiable in `x` and every weight.
    pub(super) fn forward(&self, x: &Tensor, state: Option<State>) -> Result<(Tensor, State)> {
        let (b, t, _) = x.dims3()?;
        let hid = self.w_hh.dim(1)?;
        let mut st = match state {
            Some(s) => s,
            None => {
                let z = Tensor::zeros((b, hid), x.dtype(), x.device())?;
                (z.clone(), z)
            }
        };
        let xw = self.input_product(x)?;
        let mut outs = Vec::with_capacity(t);
        for step in 0..t {
            st = self.cell(&xw.narrow(1, step, 1)?.squeeze(1)?, &st)?;
            outs.push(st.0.clone());
        }
        Ok((Tensor::stack(&outs, 1)?, st))
    }
}

/// DeepAR's network (candle): training, validation and the reference forward.
#[derive(Debug, Clone)]
pub struct DeepAr {
    pub(super) layers: Vec<LstmLayer>,
    decoder: Vec<Linear>,
    decoder_activation: Activation,
    lstm_dropout: f64,
    /// L (the network reads L + 1 rows).
    input_size: usize,
    horizon: usize,
    h_train: usize,
    pub(super) n_hist: usize,
    pub(super) n_futr: usize,
    pub(super) distribution: Distribution,
    feedback: Feedback,
    samples: usize,
    sample_seed: u64,
}

impl DeepAr {
    /// Builds the network for `cfg` (whose loss must be a distribution loss with `n_outputs`
    /// parameters) from `vb` (root prefix).
    pub fn new(cfg: &DeepArConfig, n_outputs: usize, vb: VarBuilder) -> Result<Self> {
        use crate::arch::Architecture;
        cfg.validate_architecture()?;
        let distribution = cfg
            .train
            .loss
            .distribution()
            .ok_or_else(|| Error::invalid("train.loss", "DeepAR needs a distribution loss"))?;
        if n_outputs != distribution.n_params() {
            return Err(Error::invalid(
                "n_outputs",
                format!(
                    "the {distribution:?} head has {} outputs, {n_outputs} asked",
                    distribution.n_params()
                ),
            ));
        }
        let hid = cfg.lstm_hidden_size;
        let ve = vb.pp("hist_encoder");
        let layers = (0..cfg.lstm_n_layers)
            .map(|k| {
                let fan_in = if k == 0 {
                    cfg.encoder_input_size()
                } else {
                    hid
                };
                Ok(LstmLayer {
                    w_ih: ve.get((4 * hid, fan_in), &format!("weight_ih_l{k}"))?,
                    w_hh: ve.get((4 * hid, hid), &format!("weight_hh_l{k}"))?,
                    b_ih: ve.get(4 * hid, &format!("bias_ih_l{k}"))?,
                    b_hh: ve.get(4 * hid, &format!("bias_hh_l{k}"))?,
                })
            })
            .collect::<Result<_>>()?;
        let vd = vb.pp("decoder").pp("layers");
        let decoder = cfg
            .decoder_sizes(n_outputs)
            .into_iter()
            .map(|(j, fan_in, fan_out)| Ok(candle_nn::linear(fan_in, fan_out, vd.pp(j))?))
            .collect::<Result<_>>()?;
        Ok(Self {
            layers,
            decoder,
            decoder_activation: cfg.decoder_activation,
            lstm_dropout: cfg.lstm_dropout,
            input_size: cfg.input_size,
            horizon: cfg.horizon,
            h_train: cfg.h_train,
            n_hist: cfg.hist_exog_list.len(),
            n_futr: cfg.futr_exog_list.len(),
            distribution,
            feedback: cfg.feedback,
            samples: cfg.samples,
            sample_seed: cfg.sample_seed,
        })
    }

    /// Raw parameters per step.
    pub fn n_outputs(&self) -> usize {
        self.distribution.n_params()
    }

    /// Width of a packed row whose future channels span `L + 1 + h` rows.
    pub(super) fn packed_width(&self, h: usize) -> usize {
        let l1 = self.input_size + 1;
        l1 + l1 * self.n_hist + (l1 + h) * self.n_futr
    }

    /// The LSTM inputs `[B, T, 1 + C_hist + C_futr]` of packed rows `x` (`[B, W]`, future
    /// channels over `L + 1 + h` rows) at positions `0..T`, `T = L + 1 + extra.len()`: position
    /// `j` reads `[y_j, hist_{j+1} (0 from row L + 1), futr_{j+1}]`, with `y` the `L + 1` inputs
    /// then the columns of `extra` (`[B, ·]`, teacher-forced targets).
    pub(super) fn encoder_input(
        &self,
        x: &Tensor,
        h: usize,
        extra: Option<&Tensor>,
    ) -> Result<Tensor> {
        let (b, w) = x.dims2()?;
        let l1 = self.input_size + 1;
        let n_extra = extra.map_or(Ok(0), |e| e.dim(1))?;
        if w < self.packed_width(h) {
            return Err(Error::invalid(
                "input",
                format!(
                    "expected {} values per window, got {w}",
                    self.packed_width(h)
                ),
            ));
        }
        let t = l1 + n_extra;
        let mut y = x.narrow(1, 0, l1)?;
        if let Some(e) = extra {
            y = Tensor::cat(&[&y, e], 1)?;
        }
        let mut parts = vec![y.reshape((b, t, 1))?];
        if self.n_hist > 0 {
            let hist = x
                .narrow(1, l1, l1 * self.n_hist)?
                .reshape((b, l1, self.n_hist))?;
            let zeros = Tensor::zeros((b, t - (l1 - 1), self.n_hist), x.dtype(), x.device())?;
            parts.push(Tensor::cat(&[&hist.narrow(1, 1, l1 - 1)?, &zeros], 1)?);
        }
        if self.n_futr > 0 {
            let futr = x
                .narrow(1, l1 + l1 * self.n_hist, (l1 + h) * self.n_futr)?
                .reshape((b, l1 + h, self.n_futr))?;
            parts.push(futr.narrow(1, 1, t)?);
        }
        Ok(Tensor::cat(&parts, 2)?.contiguous()?)
    }

    /// The future channels of packed rows `x` (inference width) at row `row`, `[B, C_futr]`.
    pub(super) fn futr_row(&self, x: &Tensor, row: usize) -> Result<Tensor> {
        let l1 = self.input_size + 1;
        let start = l1 + l1 * self.n_hist + row * self.n_futr;
        Ok(x.narrow(1, start, self.n_futr)?)
    }

    /// Runs the LSTM stack over `input` `[B, T, I]` from `states` (zeros when `None`): the top
    /// layer's outputs `[B, T, hidden]` and every layer's final state. Dropout between layers
    /// when `rng` is given.
    pub(super) fn encode(
        &self,
        input: &Tensor,
        states: Option<Vec<State>>,
        mut rng: Option<&mut Rng>,
    ) -> Result<(Tensor, Vec<State>)> {
        let mut h = input.clone();
        let mut finals = Vec::with_capacity(self.layers.len());
        let mut states = states.map(Vec::into_iter);
        let n = self.layers.len();
        for (k, layer) in self.layers.iter().enumerate() {
            let init = states.as_mut().and_then(Iterator::next);
            let (y, st) = layer.forward(&h, init)?;
            finals.push(st);
            h = y;
            if k + 1 < n && self.lstm_dropout > 0.0 {
                if let Some(r) = rng.as_deref_mut() {
                    h = crate::layers::dropout(&h, self.lstm_dropout, r)?;
                }
            }
        }
        Ok((h, finals))
    }

    /// The decoder MLP over the last dimension of `h` (`[..., hidden]` to `[..., P]`).
    pub(super) fn decode(&self, h: &Tensor) -> Result<Tensor> {
        let dims = h.dims().to_vec();
        let hid = dims[dims.len() - 1];
        let rows = h.elem_count() / hid.max(1);
        let mut z = h.reshape((rows, hid))?;
        let n = self.decoder.len();
        for (i, layer) in self.decoder.iter().enumerate() {
            z = layer.forward(&z)?;
            if i + 1 < n {
                z = crate::layers::activate(self.decoder_activation, &z)?;
            }
        }
        let mut out = dims;
        let last = out.len() - 1;
        out[last] = self.n_outputs();
        Ok(z.reshape(out)?)
    }

    /// One decoding step for every layer: input `[B, 1, I]` from `states`, the top output
    /// `[B, hidden]`.
    pub(super) fn step(&self, input: &Tensor, states: Vec<State>) -> Result<(Tensor, Vec<State>)> {
        let (top, states) = self.encode(input, Some(states), None)?;
        Ok((top.squeeze(1)?, states))
    }

    /// The LSTM input of one decoding step `[B, 1, I]`: the fed-back (scaled) value `y`
    /// (`[B, 1]`), zeros for the historic channels and the future channels of row `row`.
    pub(super) fn step_input(&self, x: &Tensor, y: &Tensor, row: usize) -> Result<Tensor> {
        let b = y.dim(0)?;
        let mut parts = vec![y.clone()];
        if self.n_hist > 0 {
            parts.push(Tensor::zeros((b, self.n_hist), y.dtype(), y.device())?);
        }
        if self.n_futr > 0 {
            let f = self.futr_row(x, row)?;
            let f = if f.dim(0)? == b {
                f
            } else {
                f.broadcast_as((b, self.n_futr))?.contiguous()?
            };
            parts.push(f);
        }
        Ok(Tensor::cat(&parts, 1)?.unsqueeze(1)?)
    }

    /// The mean of raw parameters `raw` `[B, P]` as a `[B, 1]` tensor (the location).
    fn mean_of(&self, raw: &Tensor) -> Result<Tensor> {
        let loc = match self.distribution {
            Distribution::StudentT => 1,
            Distribution::Normal => 0,
        };
        Ok(raw.narrow(1, loc, 1)?)
    }
}

impl Network for DeepAr {
    fn input_size(&self) -> usize {
        self.input_size + 1
    }
    fn packed_input_size(&self) -> usize {
        self.packed_width(self.horizon)
    }
    fn horizon(&self) -> usize {
        self.horizon
    }
    fn train_horizon(&self) -> usize {
        self.h_train
    }
    fn teacher_forcing(&self) -> bool {
        true
    }
    fn train_packed_input_size(&self) -> usize {
        self.packed_width(self.h_train) + self.h_train - 1
    }

    /// The mean-feedback roll-forward: each step's raw distribution parameters `[B, H, P]`.
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let l1 = self.input_size + 1;
        let input = self.encoder_input(x, self.horizon, None)?;
        let (top, mut states) = self.encode(&input, None, None)?;
        let mut raw = self.decode(&top.narrow(1, l1 - 1, 1)?.squeeze(1)?)?; // [B, P]
        let mut out = vec![raw.clone()];
        for k in 1..self.horizon {
            let y = self.mean_of(&raw)?;
            let inp = self.step_input(x, &y, l1 + k)?;
            let (top, st) = self.step(&inp, states)?;
            states = st;
            raw = self.decode(&top)?;
            out.push(raw.clone());
        }
        Ok(Tensor::stack(&out, 1)?)
    }

    /// Teacher-forced training: rows of [`train_packed_input_size`](Network::train_packed_input_size)
    /// values to the raw parameters of the next `h_train` targets, `[B, h_train, P]`.
    fn forward_train(&self, x: &Tensor, rng: &mut Rng) -> Result<Tensor> {
        let (_, w) = x.dims2()?;
        let base = self.packed_width(self.h_train);
        if w != base + self.h_train - 1 {
            return Err(Error::invalid(
                "input",
                format!(
                    "expected {} values per training row, got {w}",
                    base + self.h_train - 1
                ),
            ));
        }
        let extra = (self.h_train > 1)
            .then(|| x.narrow(1, base, self.h_train - 1))
            .transpose()?;
        let input = self.encoder_input(x, self.h_train, extra.as_ref())?;
        let (top, _) = self.encode(&input, None, Some(rng))?;
        let t = top.dim(1)?;
        self.decode(
            &top.narrow(1, t - self.h_train, self.h_train)?
                .contiguous()?,
        )
    }

    fn probabilistic(&self) -> Option<&dyn Probabilistic> {
        Some(self)
    }
}

impl Probabilistic for DeepAr {
    fn distribution(&self) -> Distribution {
        self.distribution
    }
    fn default_paths(&self) -> Option<(usize, u64)> {
        match self.feedback {
            Feedback::Sample => Some((self.samples, self.sample_seed)),
            Feedback::Mean => None,
        }
    }
    fn sample_paths(&self, x: &[f32], n: usize, samples: usize, seeds: &[u64]) -> Result<Vec<f32>> {
        super::paths::sample_paths(self, x, n, samples, seeds)
    }
}
