//! The candle network of LSTM and GRU (training, and the direct-mode reference forward).
//!
//! Direct mode differentiates the whole forward in candle. Recurrent mode trains in candle on
//! teacher-forced rows and forecasts through the plain-Rust engine of `super::fast` (the
//! encoder over the window, then one step per horizon step with the forecast fed back), over
//! the current values of the same variables.

use candle_core::{Module, Tensor, D};
use candle_nn::{Linear, VarBuilder};

use super::attention::Attention;
use super::config::{LayerDims, RnnParams};
use crate::arch::Network;
use crate::rng::Rng;
use crate::{Error, Result};

/// One recurrent layer's variables in PyTorch's layout.
#[derive(Debug, Clone)]
pub(crate) struct LayerVars {
    pub(crate) dims: LayerDims,
    pub(crate) w_ih: Tensor,
    pub(crate) w_hh: Tensor,
    pub(crate) bias: Option<(Tensor, Tensor)>,
    pub(crate) w_hr: Option<Tensor>,
}

/// The LSTM/GRU network: `[B, W]` packed rows to `[B, H, Q]` (see [`Network`]).
#[derive(Debug, Clone)]
pub struct Rnn {
    p: RnnParams,
    n_outputs: usize,
    layers: Vec<LayerVars>,
    attention: Option<Attention>,
    upsample: Option<Linear>,
    decoder: Vec<Linear>,
    proj: Option<Linear>,
    /// Every variable by name (what the recurrent forecast engine is built from).
    named: Vec<(String, Tensor)>,
}

/// The packed parts of a row batch: target `[B, n]`, historic `[B, n, C_hist]`, future
/// `[B, n + hz, C_futr]` and the forced targets `[B, forced]`.
struct Parts {
    y: Tensor,
    hist: Option<Tensor>,
    futr: Option<Tensor>,
    forced: Option<Tensor>,
}

impl Rnn {
    /// Builds the network for `p` with `n_outputs` outputs per step, variables from `vb` under
    /// neuralforecast's names.
    pub(crate) fn new(p: RnnParams, n_outputs: usize, vb: VarBuilder) -> Result<Self> {
        p.validate()?;
        if n_outputs == 0 {
            return Err(Error::invalid("n_outputs", "must be at least 1"));
        }
        let mut named = Vec::new();
        for w in p.weights(n_outputs) {
            let t = vb.get(w.shape.as_slice(), &w.name)?;
            named.push((w.name, t));
        }
        let get = |name: &str| -> Result<Tensor> {
            named
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, t)| t.clone())
                .ok_or_else(|| Error::invalid("weights", format!("missing `{name}`")))
        };
        let linear = |prefix: &str| -> Result<Linear> {
            Ok(Linear::new(
                get(&format!("{prefix}.weight"))?,
                Some(get(&format!("{prefix}.bias"))?),
            ))
        };
        let mut layers = Vec::new();
        for (k, dims) in p.layer_dims(n_outputs).into_iter().enumerate() {
            let e = |n: &str| get(&format!("hist_encoder.{n}_l{k}"));
            layers.push(LayerVars {
                dims,
                w_ih: e("weight_ih")?,
                w_hh: e("weight_hh")?,
                bias: if p.bias {
                    Some((e("bias_ih")?, e("bias_hh")?))
                } else {
                    None
                },
                w_hr: if dims.proj > 0 {
                    Some(e("weight_hr")?)
                } else {
                    None
                },
            });
        }
        let attention = if p.heads > 0 {
            Some(Attention::new(
                p.heads,
                [
                    linear("attention.query")?,
                    linear("attention.key")?,
                    linear("attention.value")?,
                    linear("attention.out")?,
                ],
                get("attention.norm.weight")?,
                get("attention.norm.bias")?,
            ))
        } else {
            None
        };
        let upsample = if p.upsamples() {
            Some(linear("upsample_sequence")?)
        } else {
            None
        };
        let decoder = if p.recurrent {
            Vec::new()
        } else {
            p.decoder_sizes(n_outputs)
                .into_iter()
                .map(|(j, _, _)| linear(&format!("mlp_decoder.layers.{j}")))
                .collect::<Result<_>>()?
        };
        let proj = if p.has_proj() {
            Some(linear("proj")?)
        } else {
            None
        };
        Ok(Self {
            p,
            n_outputs,
            layers,
            attention,
            upsample,
            decoder,
            proj,
            named,
        })
    }

    /// Outputs per step Q.
    pub fn n_outputs(&self) -> usize {
        self.n_outputs
    }

    /// Whether the network forecasts recursively (recurrent mode).
    pub fn is_recurrent(&self) -> bool {
        self.p.recurrent
    }

    /// Splits `[B, W]` rows whose future channels span `n + hz` rows and that end with
    /// `forced` extra values.
    fn split(&self, x: &Tensor, hz: usize, forced: usize) -> Result<Parts> {
        let (b, w) = x.dims2()?;
        let (n, nh, nf) = (self.p.window(), self.p.n_hist, self.p.n_futr);
        let want = n + n * nh + (n + hz) * nf + forced;
        if w != want {
            return Err(Error::invalid(
                "input",
                format!("expected {want} values per window, got {w}"),
            ));
        }
        let y = x.narrow(1, 0, n)?;
        let hist = (nh > 0)
            .then(|| -> Result<Tensor> { Ok(x.narrow(1, n, n * nh)?.reshape((b, n, nh))?) })
            .transpose()?;
        let at = n + n * nh;
        let futr = (nf > 0)
            .then(|| -> Result<Tensor> {
                Ok(x.narrow(1, at, (n + hz) * nf)?.reshape((b, n + hz, nf))?)
            })
            .transpose()?;
        let forced = (forced > 0)
            .then(|| x.narrow(1, at + (n + hz) * nf, forced))
            .transpose()?;
        Ok(Parts {
            y,
            hist,
            futr,
            forced,
        })
    }

    /// The stacked recurrent layers over `[B, T, C_in]` (dropout between layers when `rng`
    /// is given), then the attention when there is one: `[B, T, C]` (or `[B, T, Q]` for the
    /// projected recurrent LSTM).
    pub(crate) fn encode(&self, input: &Tensor, mut rng: Option<&mut Rng>) -> Result<Tensor> {
        let mut h = input.clone();
        let n = self.layers.len();
        for (k, layer) in self.layers.iter().enumerate() {
            h = recurrent_layer(self.p.cell, layer, &h)?;
            if k + 1 < n && self.p.dropout > 0.0 {
                if let Some(r) = rng.as_deref_mut() {
                    h = crate::layers::dropout(&h, self.p.dropout, r)?;
                }
            }
        }
        match &self.attention {
            Some(a) => a.forward(&h),
            None => Ok(h),
        }
    }

    /// Direct mode: the encoder over the `L` input rows, the last `H` states (or the
    /// `Linear(L → H)` adapter over time when `H > L`), the future channels of the horizon,
    /// the MLP decoder.
    fn direct(&self, x: &Tensor, rng: Option<&mut Rng>) -> Result<Tensor> {
        let (l, h) = (self.p.input_size, self.p.horizon);
        let parts = self.split(x, h, 0)?;
        let b = parts.y.dim(0)?;
        let mut cols = vec![parts.y.reshape((b, l, 1))?];
        cols.extend(parts.hist.clone());
        if let Some(f) = &parts.futr {
            cols.push(f.narrow(1, 0, l)?);
        }
        let states = self.encode(&Tensor::cat(&cols, 2)?, rng)?; // [B, L, C]
        let c = states.dim(2)?;
        let mut z = match &self.upsample {
            Some(up) => {
                let t = states.transpose(1, 2)?.contiguous()?.reshape((b * c, l))?;
                up.forward(&t)?
                    .reshape((b, c, h))?
                    .transpose(1, 2)?
                    .contiguous()?
            }
            None => states.narrow(1, l - h, h)?,
        };
        if let Some(f) = &parts.futr {
            z = Tensor::cat(&[&z, &f.narrow(1, l, h)?], D::Minus1)?;
        }
        let mut z = z.reshape((b * h, ()))?;
        let n = self.decoder.len();
        for (i, layer) in self.decoder.iter().enumerate() {
            z = layer.forward(&z)?;
            if i + 1 < n {
                z = crate::layers::activate(self.p.decoder_activation, &z)?;
            }
        }
        Ok(z.reshape((b, h, self.n_outputs))?)
    }

    /// Recurrent mode, training: the sequence of `T = n + h_train − 1` inputs (the window's
    /// `n` targets then the `h_train − 1` forced ones; the historic channels shifted one row
    /// ahead, zero from the first horizon row on; the future channels shifted one row ahead),
    /// the encoder, the output map, the outputs of the last `h_train` steps `[B, h_train, Q]`
    /// (step `t` forecasts row `t + 1`).
    fn recurrent_train(&self, x: &Tensor, rng: Option<&mut Rng>) -> Result<Tensor> {
        let (n, ht) = (self.p.window(), self.p.h_train);
        let parts = self.split(x, ht, ht - 1)?;
        let input = shifted_input(&parts, n, ht)?;
        let out = self.head(&self.encode(&input, rng)?)?;
        Ok(out.narrow(1, n - 1, ht)?)
    }

    /// Recurrent mode's output map over `[B, T, ·]` states: `proj`, or nothing for the
    /// projected LSTM.
    pub(crate) fn head(&self, states: &Tensor) -> Result<Tensor> {
        match &self.proj {
            Some(p) => {
                let (b, t, c) = states.dims3()?;
                Ok(p.forward(&states.reshape((b * t, c))?)?
                    .reshape((b, t, self.n_outputs))?)
            }
            None => Ok(states.clone()),
        }
    }

    /// Recurrent mode, inference: the plain-Rust engine over the current weights.
    fn recurrent_forecast(&self, x: &Tensor) -> Result<Tensor> {
        let (b, w) = x.dims2()?;
        if w != self.p.packed_input_size() {
            return Err(Error::invalid(
                "input",
                format!(
                    "expected {} values per window, got {w}",
                    self.p.packed_input_size()
                ),
            ));
        }
        let engine = super::fast::Engine::new(&self.p, self.n_outputs, &self.named)?;
        let rows: Vec<f32> = x
            .to_dtype(candle_core::DType::F32)?
            .flatten_all()?
            .to_vec1()?;
        let y = engine.forward_rows(&rows, b)?;
        Ok(
            Tensor::from_vec(y, (b, self.p.horizon, self.n_outputs), x.device())?
                .to_dtype(x.dtype())?,
        )
    }
}

/// The recurrent-mode encoder input `[B, T, 1 + C_hist + C_futr]`, `T = n + ht − 1`, from a
/// training row's parts (neuralforecast's `_parse_windows` with `RECURRENT`).
fn shifted_input(parts: &Parts, n: usize, ht: usize) -> Result<Tensor> {
    let b = parts.y.dim(0)?;
    let t = n + ht - 1;
    let y = match &parts.forced {
        Some(f) => Tensor::cat(&[&parts.y, f], 1)?,
        None => parts.y.clone(),
    };
    let mut cols = vec![y.reshape((b, t, 1))?];
    if let Some(hist) = &parts.hist {
        let nh = hist.dim(2)?;
        let zeros = Tensor::zeros((b, ht, nh), hist.dtype(), hist.device())?;
        cols.push(if n > 1 {
            Tensor::cat(&[&hist.narrow(1, 1, n - 1)?, &zeros], 1)?
        } else {
            zeros
        });
    }
    if let Some(futr) = &parts.futr {
        cols.push(futr.narrow(1, 1, t)?);
    }
    Ok(Tensor::cat(&cols, 2)?)
}

/// One recurrent layer over `[B, T, I]` to `[B, T, out]` from a zero state, PyTorch's
/// equations: the recurrent kernel's candle op (one op per layer, hand-written BPTT); a layer
/// without biases gets constant zero ones.
fn recurrent_layer(cell: super::config::CellKind, layer: &LayerVars, x: &Tensor) -> Result<Tensor> {
    let shape = layer.dims.shape(cell);
    let mut w = vec![layer.w_ih.clone(), layer.w_hh.clone()];
    match &layer.bias {
        Some((b_ih, b_hh)) => w.extend([b_ih.clone(), b_hh.clone()]),
        None => {
            let z = Tensor::zeros(shape.gate_width(), x.dtype(), x.device())?;
            w.extend([z.clone(), z]);
        }
    }
    w.extend(layer.w_hr.clone());
    crate::recurrent::candle_layer(&shape, x, &w)
}

impl Network for Rnn {
    fn input_size(&self) -> usize {
        self.p.window()
    }
    fn packed_input_size(&self) -> usize {
        self.p.packed_input_size()
    }
    fn horizon(&self) -> usize {
        self.p.horizon
    }
    fn train_horizon(&self) -> usize {
        self.p.train_horizon()
    }
    fn teacher_forcing(&self) -> bool {
        self.p.recurrent
    }
    fn train_packed_input_size(&self) -> usize {
        self.p.train_packed_input_size()
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if self.p.recurrent {
            self.recurrent_forecast(x)
        } else {
            self.direct(x, None)
        }
    }
    fn forward_train(&self, x: &Tensor, rng: &mut Rng) -> Result<Tensor> {
        if self.p.recurrent {
            self.recurrent_train(x, Some(rng))
        } else {
            self.direct(x, Some(rng))
        }
    }
}

impl Rnn {
    /// Recurrent mode: the training forward without dropout (`[B, h_train, Q]` for training
    /// rows), what the parity tests compare with neuralforecast's training-step forward.
    pub fn forward_teacher_forced(&self, x: &Tensor) -> Result<Tensor> {
        if !self.p.recurrent {
            return Err(Error::invalid("recurrent", "the model is in direct mode"));
        }
        self.recurrent_train(x, None)
    }
}
