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

    /// Rows a window reads, L + 1.
    pub(super) fn input_len(&self) -> usize {
        self.input_size + 1
    }

    /// Horizon H.
    pub(super) fn horizon_len(&self) -> usize {
        self.horizon
    }

    /// The training LSTM stack over `input` `[B, T, I]` from zero states: the recurrent
    /// kernel's differentiable candle op per layer, dropout between layers.
    fn encode_train(&self, input: &Tensor, rng: &mut Rng) -> Result<Tensor> {
        let mut h = input.clone();
        let n = self.layers.len();
        for (k, l) in self.layers.iter().enumerate() {
            let (g, fan_in) = l.w_ih.dims2()?;
            let shape = crate::recurrent::LayerShape::lstm(fan_in, g / 4);
            h = crate::recurrent::candle_layer(
                &shape,
                &h,
                &[
                    l.w_ih.clone(),
                    l.w_hh.clone(),
                    l.b_ih.clone(),
                    l.b_hh.clone(),
                ],
            )?;
            if k + 1 < n && self.lstm_dropout > 0.0 {
                h = crate::layers::dropout(&h, self.lstm_dropout, rng)?;
            }
        }
        Ok(h)
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

    /// The mean-feedback roll-forward: each step's raw distribution parameters `[B, H, P]`
    /// (the LSTM on the recurrent kernel, state kept between steps).
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (b, _) = x.dims2()?;
        let (l1, p) = (self.input_size + 1, self.n_outputs());
        let input = self.encoder_input(x, self.horizon, None)?;
        let input: Vec<f32> = input
            .flatten_all()?
            .to_device(&candle_core::Device::Cpu)?
            .to_vec1()?;
        let xs: Vec<f32> = x
            .flatten_all()?
            .to_device(&candle_core::Device::Cpu)?
            .to_vec1()?;
        let mut stack = super::plain::PlainStack::new(self)?;
        let (top, mut states) = stack.encode(&input, b, l1)?;
        let mut raw = super::plain::decode_rows(self, &top, b)?;
        let mut out = vec![0f32; b * self.horizon * p];
        let loc = self
            .distribution
            .param_names()
            .iter()
            .position(|n| *n == "loc")
            .unwrap_or(0);
        for k in 0..self.horizon {
            for i in 0..b {
                out[(i * self.horizon + k) * p..][..p].copy_from_slice(&raw[i * p..(i + 1) * p]);
            }
            if k + 1 == self.horizon {
                break;
            }
            let means: Vec<f32> = (0..b).map(|i| raw[i * p + loc]).collect();
            let rows = super::plain::step_rows(self, &xs, &means, l1 + k + 1);
            let top = stack.step(&rows, b, &mut states)?;
            raw = super::plain::decode_rows(self, &top, b)?;
        }
        Ok(Tensor::from_vec(out, (b, self.horizon, p), x.device())?)
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
        let top = self.encode_train(&input, rng)?;
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
