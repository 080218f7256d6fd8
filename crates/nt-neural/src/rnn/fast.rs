//! The plain-Rust inference engine of LSTM and GRU, one window at a time: the recurrent layers
//! over the window (then, in recurrent mode, one step per horizon step with the forecast fed
//! back, continuing each layer's state and the attention's key/value cache), the attention
//! head, and the decoder MLP (direct mode) or the output map (recurrent mode) on the dense
//! kernel of `crate::arch::dense`; the recurrent layers run on the kernel of
//! `crate::recurrent` (`layer_forward` at batch 1, continued step by step). Each window runs alone on the calling thread, so its output
//! never depends on the other windows of its batch. It serves the CPU fast path (target-only
//! configs) and the candle network's recurrent-mode forecast (any config).

use candle_core::Tensor;

use super::attention::{KvCache, RustAttention};
use super::config::RnnParams;
use crate::arch::dense::{DenseLayer, Matrix};
use crate::arch::FastForward;
use crate::dlinear::named;
use crate::recurrent::{layer_forward, LayerShape, LayerWeights, Scratch, State};
use crate::{Error, Result};

/// One recurrent layer: its kernel shape and weights in PyTorch's layout (zero biases when
/// the layer has none).
#[derive(Debug, Clone)]
struct Layer {
    shape: LayerShape,
    w_ih: Vec<f32>,
    w_hh: Vec<f32>,
    b_ih: Vec<f32>,
    b_hh: Vec<f32>,
    w_hr: Vec<f32>,
}

impl Layer {
    fn zero_state(&self) -> State {
        State::zeros(&self.shape, 1)
    }

    fn weights(&self) -> LayerWeights<'_> {
        LayerWeights {
            w_ih: &self.w_ih,
            w_hh: &self.w_hh,
            b_ih: &self.b_ih,
            b_hh: &self.b_hh,
            w_hr: &self.w_hr,
        }
    }

    /// `t` steps of one window over `x [T, I]` to `y [T, out]`, continuing `st`: the kernel's
    /// `layer_forward` at batch 1 (the calling thread only, batch-invariant bits).
    fn run(
        &self,
        x: &[f32],
        t: usize,
        st: &mut State,
        y: &mut [f32],
        sc: &mut Scratch,
    ) -> Result<()> {
        layer_forward(&self.shape, &self.weights(), x, 1, t, st, y, sc)
    }
}

/// The whole inference network in plain Rust.
#[derive(Debug, Clone)]
pub(crate) struct Engine {
    p: RnnParams,
    q: usize,
    layers: Vec<Layer>,
    attention: Option<RustAttention>,
    upsample: Option<(Vec<f32>, Vec<f32>)>,
    decoder: Vec<DenseLayer>,
    proj: Option<DenseLayer>,
    arch: pulp::Arch,
}

/// A dense layer from its `prefix.weight` `[out, in]` and `prefix.bias`.
fn dense(weights: &[(String, Tensor)], prefix: &str) -> Result<DenseLayer> {
    let w = named(weights, &format!("{prefix}.weight"))?;
    let b = named(weights, &format!("{prefix}.bias"))?;
    let n_in = w.len() / b.len().max(1);
    Ok(DenseLayer {
        w: Matrix::F32(w),
        b,
        n_in,
    })
}

impl Engine {
    /// The engine for `p` with `q` outputs per step over the named weights (those of
    /// `p.weights(q)`).
    pub(crate) fn new(p: &RnnParams, q: usize, weights: &[(String, Tensor)]) -> Result<Self> {
        let get = |name: &str| named(weights, name);
        let mut layers = Vec::new();
        for (k, dims) in p.layer_dims(q).into_iter().enumerate() {
            let g = p.cell.gates() * dims.hidden;
            let (b_ih, b_hh) = if p.bias {
                (
                    get(&format!("hist_encoder.bias_ih_l{k}"))?,
                    get(&format!("hist_encoder.bias_hh_l{k}"))?,
                )
            } else {
                (vec![0.0; g], vec![0.0; g])
            };
            layers.push(Layer {
                shape: dims.shape(p.cell),
                w_ih: get(&format!("hist_encoder.weight_ih_l{k}"))?,
                w_hh: get(&format!("hist_encoder.weight_hh_l{k}"))?,
                b_ih,
                b_hh,
                w_hr: if dims.proj > 0 {
                    get(&format!("hist_encoder.weight_hr_l{k}"))?
                } else {
                    Vec::new()
                },
            });
        }
        let attention = if p.heads > 0 {
            let map = |n: &str| -> Result<(Vec<f32>, Vec<f32>)> {
                Ok((
                    get(&format!("attention.{n}.weight"))?,
                    get(&format!("attention.{n}.bias"))?,
                ))
            };
            Some(RustAttention::new(
                p.heads,
                [map("query")?, map("key")?, map("value")?, map("out")?],
                get("attention.norm.weight")?,
                get("attention.norm.bias")?,
            ))
        } else {
            None
        };
        let upsample = if p.upsamples() {
            Some((
                get("upsample_sequence.weight")?,
                get("upsample_sequence.bias")?,
            ))
        } else {
            None
        };
        let decoder = if p.recurrent {
            Vec::new()
        } else {
            p.decoder_sizes(q)
                .into_iter()
                .map(|(j, _, _)| dense(weights, &format!("mlp_decoder.layers.{j}")))
                .collect::<Result<_>>()?
        };
        let proj = if p.has_proj() {
            Some(dense(weights, "proj")?)
        } else {
            None
        };
        Ok(Self {
            p: p.clone(),
            q,
            layers,
            attention,
            upsample,
            decoder,
            proj,
            arch: pulp::Arch::new(),
        })
    }

    /// Forecasts `b` packed rows (`p.packed_input_size()` values each) to `[b, H, Q]`.
    pub(crate) fn forward_rows(&self, rows: &[f32], b: usize) -> Result<Vec<f32>> {
        let w = self.p.packed_input_size();
        if rows.len() != b * w {
            return Err(Error::invalid(
                "input",
                format!("expected {b} rows of {w} values, got {}", rows.len()),
            ));
        }
        let mut out = Vec::with_capacity(b * self.p.horizon * self.q);
        let mut sc = Scratch::new();
        for row in rows.chunks_exact(w) {
            if self.p.recurrent {
                self.recurrent_window(row, &mut out, &mut sc)?;
            } else {
                self.direct_window(row, &mut out, &mut sc)?;
            }
        }
        Ok(out)
    }

    /// The encoder input rows `[T, 1 + C_hist + C_futr]` from a target value per row and the
    /// exogenous values per row.
    fn input_row(&self, y: f32, hist: &[f32], futr: &[f32], out: &mut Vec<f32>) {
        out.push(y);
        out.extend_from_slice(hist);
        out.extend_from_slice(futr);
    }

    /// Runs the layers and the attention over `x [T, C_in]` from `states`/`cache`, returning
    /// the attended last-layer states `[T, C]` (or `[T, Q]`, projected LSTM).
    fn encode(
        &self,
        x: &[f32],
        t: usize,
        states: &mut [State],
        cache: &mut KvCache,
        sc: &mut Scratch,
    ) -> Result<Vec<f32>> {
        let mut cur = x.to_vec();
        for (layer, st) in self.layers.iter().zip(states.iter_mut()) {
            let mut y = vec![0.0f32; t * layer.shape.output()];
            layer.run(&cur, t, st, &mut y, sc)?;
            cur = y;
        }
        if let Some(a) = &self.attention {
            let c = self.p.hidden;
            for row in cur.chunks_exact_mut(c) {
                a.step(row, cache);
            }
        }
        Ok(cur)
    }

    fn direct_window(&self, row: &[f32], out: &mut Vec<f32>, sc: &mut Scratch) -> Result<()> {
        let (l, h, nh, nf) = (
            self.p.input_size,
            self.p.horizon,
            self.p.n_hist,
            self.p.n_futr,
        );
        let (hist, futr) = (&row[l..l + l * nh], &row[l + l * nh..]);
        let mut x = Vec::with_capacity(l * self.p.encoder_input_channels());
        for t in 0..l {
            self.input_row(
                row[t],
                &hist[t * nh..(t + 1) * nh],
                &futr[t * nf..(t + 1) * nf],
                &mut x,
            );
        }
        let mut states: Vec<State> = self.layers.iter().map(Layer::zero_state).collect();
        let enc = self.encode(&x, l, &mut states, &mut KvCache::default(), sc)?;
        let c = self.p.hidden;
        let selected: Vec<f32> = match &self.upsample {
            Some((w, b)) => {
                // [H, C]: out[j, ch] = b[j] + Σ_t w[j, t] enc[t, ch]
                let mut z = vec![0.0f32; h * c];
                for j in 0..h {
                    for ch in 0..c {
                        z[j * c + ch] =
                            b[j] + (0..l).map(|t| w[j * l + t] * enc[t * c + ch]).sum::<f32>();
                    }
                }
                z
            }
            None => enc[(l - h) * c..].to_vec(),
        };
        let width = c + nf;
        let mut z = Vec::with_capacity(h * width);
        for j in 0..h {
            z.extend_from_slice(&selected[j * c..(j + 1) * c]);
            z.extend_from_slice(&futr[(l + j) * nf..(l + j + 1) * nf]);
        }
        let n = self.decoder.len();
        let mut next = Vec::new();
        for (i, layer) in self.decoder.iter().enumerate() {
            layer.forward(self.arch, &z, h, &mut next);
            if i + 1 < n {
                crate::arch::dense::activate(self.p.decoder_activation, &mut next);
            }
            std::mem::swap(&mut z, &mut next);
        }
        out.extend_from_slice(&z);
        Ok(())
    }

    /// The forecast (`Q` values) of the last step of `enc` (`[T, width]`).
    fn head_last(&self, enc: &[f32]) -> Vec<f32> {
        match &self.proj {
            Some(p) => {
                let mut y = Vec::new();
                p.forward(self.arch, &enc[enc.len() - p.n_in..], 1, &mut y);
                y
            }
            None => enc[enc.len() - self.q..].to_vec(),
        }
    }

    /// Recurrent mode (neuralforecast's `_predict_step_recurrent_batch`): the `n` window rows
    /// (target, historic channels shifted a row ahead with the row after the window zero,
    /// future channels shifted a row ahead) give the first forecast; each later step reads the
    /// mean of the previous forecast's outputs, zero historic channels and the next future
    /// row, continuing the layers' states.
    fn recurrent_window(&self, row: &[f32], out: &mut Vec<f32>, sc: &mut Scratch) -> Result<()> {
        let (n, h, nh, nf) = (
            self.p.window(),
            self.p.horizon,
            self.p.n_hist,
            self.p.n_futr,
        );
        let (hist, futr) = (&row[n..n + n * nh], &row[n + n * nh..]);
        let zeros = vec![0.0f32; nh];
        let mut x = Vec::with_capacity(n * self.p.encoder_input_channels());
        for t in 0..n {
            let ht = if t + 1 < n {
                &hist[(t + 1) * nh..(t + 2) * nh]
            } else {
                &zeros[..]
            };
            self.input_row(row[t], ht, &futr[(t + 1) * nf..(t + 2) * nf], &mut x);
        }
        let mut states: Vec<State> = self.layers.iter().map(Layer::zero_state).collect();
        let mut cache = KvCache::default();
        let enc = self.encode(&x, n, &mut states, &mut cache, sc)?;
        let mut y = self.head_last(&enc);
        out.extend_from_slice(&y);
        for tau in 1..h {
            let fed = y.iter().sum::<f32>() / y.len() as f32;
            x.clear();
            self.input_row(
                fed,
                &zeros,
                &futr[(n + tau) * nf..(n + tau + 1) * nf],
                &mut x,
            );
            let enc = self.encode(&x, 1, &mut states, &mut cache, sc)?;
            y = self.head_last(&enc);
            out.extend_from_slice(&y);
        }
        Ok(())
    }
}

/// The fast path for target-only configs (the model hands the fast path target windows only).
pub(crate) fn fast_path(
    p: &RnnParams,
    q: usize,
    weights: &[(String, Tensor)],
) -> Result<Option<Box<dyn FastForward>>> {
    if p.n_hist > 0 || p.n_futr > 0 {
        return Ok(None);
    }
    Ok(Some(Box::new(Engine::new(p, q, weights)?)))
}

impl FastForward for Engine {
    fn forward_batch(&self, x: &[f32], n: usize) -> Vec<f32> {
        let w = self.p.packed_input_size();
        match self.forward_rows(&x[..(n * w).min(x.len())], n) {
            Ok(y) => y,
            // Unreachable through the model (it packs rows of this width); keep the promised
            // length and make the failure visible rather than panic.
            Err(_) => vec![f32::NAN; n * self.p.horizon * self.q],
        }
    }
}
