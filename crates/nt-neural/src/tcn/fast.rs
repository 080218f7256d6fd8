//! The plain-Rust CPU inference path of [`super::Tcn`] (target window only, no exogenous
//! channels): per window, each causal convolution gathers the delayed copies of its input
//! (row `t` holds the inputs at `t − (K−1−k)·d` for the taps `k` that reach inside the window,
//! zeros before it) and multiplies them with the weight laid out `[K·C_in, C]` in one product,
//! accumulated into the bias-filled output, time-major; the context adapter is one product, the
//! decoder MLP [`DenseLayer`]s over the `H` steps. The products run on `gemm` through
//! [`crate::engine::matmul`]; every window is its own calls of the same shapes, so its output
//! never depends on the other windows of its batch. The scratch buffers are allocated once per
//! batch, not per layer.

use candle_core::Tensor;

use super::TcnConfig;
use crate::arch::dense::{activate, DenseLayer, Matrix};
use crate::arch::FastForward;
use crate::config::Activation;
use crate::dlinear::named;
use crate::engine::matmul::{matmul, View, ViewMut};
use crate::{Error, Result};

/// One causal convolution: the delays of the taps that reach inside the window, the weights
/// of those taps as one `[T·C_in, C]` row-major matrix (tap-major rows), and the bias.
#[derive(Debug, Clone)]
struct Conv {
    delays: Vec<usize>,
    w: Vec<f32>,
    bias: Vec<f32>,
    c_in: usize,
}

impl Conv {
    /// From PyTorch's `[C, C_in, K]` weight `w` and bias `b`, dilation `d`, for windows of `l`.
    fn new(w: &[f32], b: Vec<f32>, c_in: usize, k: usize, d: usize, l: usize) -> Self {
        let c = b.len();
        let taps: Vec<(usize, usize)> = (0..k)
            .map(|tap| (tap, (k - 1 - tap).saturating_mul(d)))
            .filter(|&(_, s)| s < l)
            .collect();
        let mut wt = vec![0.0f32; taps.len() * c_in * c];
        for (j, &(tap, _)) in taps.iter().enumerate() {
            for ci in 0..c_in {
                for o in 0..c {
                    wt[(j * c_in + ci) * c + o] = w[(o * c_in + ci) * k + tap];
                }
            }
        }
        Self {
            delays: taps.into_iter().map(|(_, s)| s).collect(),
            w: wt,
            bias: b,
            c_in,
        }
    }

    /// Columns needed in the scratch matrix: `T·C_in` per step.
    fn width(&self) -> usize {
        self.delays.len() * self.c_in
    }

    /// `out [L, C] = conv(x [L, C_in])`, the delayed copies gathered in `cols` first.
    fn forward(&self, x: &[f32], cols: &mut [f32], out: &mut [f32], l: usize) -> Result<()> {
        let (c, ci, wd) = (self.bias.len(), self.c_in, self.width());
        for row in out[..l * c].chunks_exact_mut(c) {
            row.copy_from_slice(&self.bias);
        }
        let a: &[f32] = if self.delays == [0] {
            // One tap without delay (a 1×1 convolution): the input as it is.
            &x[..l * ci]
        } else {
            for (t, row) in cols[..l * wd].chunks_exact_mut(wd).enumerate() {
                for (j, &s) in self.delays.iter().enumerate() {
                    let dst = &mut row[j * ci..(j + 1) * ci];
                    if t >= s {
                        dst.copy_from_slice(&x[(t - s) * ci..(t - s + 1) * ci]);
                    } else {
                        dst.fill(0.0);
                    }
                }
            }
            &cols[..l * wd]
        };
        matmul(
            ViewMut::rows(&mut out[..l * c], l, c),
            View::rows(a, l, wd),
            View::rows(&self.w, wd, c),
            true,
            1.0,
        )
    }
}

/// One encoder layer.
#[derive(Debug, Clone)]
enum Layer {
    Plain(Conv),
    Residual {
        conv1: Conv,
        conv2: Conv,
        downsample: Option<Conv>,
    },
}

/// The TCN forward over plain `Vec<f32>` weights.
#[derive(Debug, Clone)]
pub(crate) struct FastTcn {
    layers: Vec<Layer>,
    /// `[H, L]` row-major.
    context_w: Vec<f32>,
    context_b: Vec<f32>,
    decoder: Vec<DenseLayer>,
    encoder_activation: Activation,
    decoder_activation: Activation,
    input_size: usize,
    horizon: usize,
    channels: usize,
    n_outputs: usize,
    arch: pulp::Arch,
}

/// `g · v / ‖v‖` per output channel (`v` `[C, n]` row-major), in f32 as candle computes it.
fn weight_norm(g: &[f32], v: &[f32]) -> Vec<f32> {
    let n = v.len() / g.len().max(1);
    let mut w = Vec::with_capacity(v.len());
    for (gi, row) in g.iter().zip(v.chunks_exact(n.max(1))) {
        let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt();
        let scale = gi / norm;
        w.extend(row.iter().map(|x| x * scale));
    }
    w
}

impl FastTcn {
    /// The path for `cfg` (no exogenous channels) with `n_outputs` outputs per step over the
    /// named `weights` (those of [`TcnConfig`]'s `weights()`).
    pub(crate) fn new(
        cfg: &TcnConfig,
        n_outputs: usize,
        weights: &[(String, Tensor)],
    ) -> Result<Self> {
        if cfg.encoder_input_channels() != 1 {
            return Err(Error::invalid(
                "exog",
                "the plain-Rust TCN path reads the target window only",
            ));
        }
        let get = |name: &str| named(weights, name);
        let (l, k, c) = (cfg.input_size, cfg.kernel_size, cfg.encoder_hidden_size);
        let mut layers = Vec::with_capacity(cfg.dilations.len());
        for (i, &d) in cfg.dilations.iter().enumerate() {
            let c_in = cfg.layer_in(i);
            let p = format!("hist_encoder.tcn.{i}");
            layers.push(if cfg.residual {
                let wn = |name: &str, c_in: usize| -> Result<Conv> {
                    let w = weight_norm(
                        &get(&format!("{p}.{name}.weight_g"))?,
                        &get(&format!("{p}.{name}.weight_v"))?,
                    );
                    Ok(Conv::new(
                        &w,
                        get(&format!("{p}.{name}.bias"))?,
                        c_in,
                        k,
                        d,
                        l,
                    ))
                };
                let downsample = (c_in != c)
                    .then(|| -> Result<Conv> {
                        Ok(Conv::new(
                            &get(&format!("{p}.downsample.weight"))?,
                            get(&format!("{p}.downsample.bias"))?,
                            c_in,
                            1,
                            1,
                            l,
                        ))
                    })
                    .transpose()?;
                Layer::Residual {
                    conv1: wn("conv1", c_in)?,
                    conv2: wn("conv2", c)?,
                    downsample,
                }
            } else {
                Layer::Plain(Conv::new(
                    &get(&format!("{p}.conv.weight"))?,
                    get(&format!("{p}.conv.bias"))?,
                    c_in,
                    k,
                    d,
                    l,
                ))
            });
        }
        let decoder = cfg
            .decoder_layers_sizes(n_outputs)
            .into_iter()
            .map(|(j, fan_in, _)| {
                Ok(DenseLayer {
                    w: Matrix::F32(get(&format!("mlp_decoder.layers.{j}.weight"))?),
                    b: get(&format!("mlp_decoder.layers.{j}.bias"))?,
                    n_in: fan_in,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            layers,
            context_w: get("context_adapter.weight")?,
            context_b: get("context_adapter.bias")?,
            decoder,
            encoder_activation: cfg.encoder_activation,
            decoder_activation: cfg.decoder_activation,
            input_size: l,
            horizon: cfg.horizon,
            channels: c,
            n_outputs,
            arch: pulp::Arch::new(),
        })
    }

    /// One window `x` (`L` values) into `out` (`H·Q` values appended), with scratch `s`.
    fn window(&self, x: &[f32], s: &mut Scratch, out: &mut Vec<f32>) -> Result<()> {
        let (l, c, h) = (self.input_size, self.channels, self.horizon);
        let lc = l * c;
        let Scratch {
            cur,
            next,
            tmp,
            skip,
            cols,
            za,
            zb,
        } = s;
        cur[..l].copy_from_slice(x);
        for layer in &self.layers {
            match layer {
                Layer::Plain(conv) => {
                    conv.forward(cur, cols, next, l)?;
                    activate(self.encoder_activation, &mut next[..lc]);
                }
                Layer::Residual {
                    conv1,
                    conv2,
                    downsample,
                } => {
                    conv1.forward(cur, cols, tmp, l)?;
                    activate(self.encoder_activation, &mut tmp[..lc]);
                    conv2.forward(tmp, cols, next, l)?;
                    activate(self.encoder_activation, &mut next[..lc]);
                    let sk: &[f32] = match downsample {
                        Some(ds) => {
                            ds.forward(cur, cols, skip, l)?;
                            skip
                        }
                        None => cur,
                    };
                    for (o, sv) in next[..lc].iter_mut().zip(sk) {
                        *o = (*o + sv).max(0.0);
                    }
                }
            }
            std::mem::swap(cur, next);
        }
        // Context adapter: [H, L] · [L, C] + bias per row.
        za.clear();
        za.resize(h * c, 0.0);
        matmul(
            ViewMut::rows(za, h, c),
            View::rows(&self.context_w, h, l),
            View::rows(&cur[..lc], l, c),
            false,
            1.0,
        )?;
        for (row, b) in za.chunks_exact_mut(c).zip(&self.context_b) {
            for v in row {
                *v += b;
            }
        }
        let n = self.decoder.len();
        for (i, layer) in self.decoder.iter().enumerate() {
            layer.forward(self.arch, za, h, zb);
            if i + 1 < n {
                activate(self.decoder_activation, zb);
            }
            std::mem::swap(za, zb);
        }
        out.extend_from_slice(&za[..h * self.n_outputs]);
        Ok(())
    }
}

/// The buffers one batch reuses: four `[L, C]` encoder buffers, the delayed copies of a
/// layer's input and two decoder buffers.
struct Scratch {
    cur: Vec<f32>,
    next: Vec<f32>,
    tmp: Vec<f32>,
    skip: Vec<f32>,
    cols: Vec<f32>,
    za: Vec<f32>,
    zb: Vec<f32>,
}

impl FastForward for FastTcn {
    fn forward_batch(&self, x: &[f32], n: usize) -> Vec<f32> {
        let (l, c) = (self.input_size, self.channels);
        let lc = l * c.max(1);
        let mut s = Scratch {
            cur: vec![0.0; lc],
            next: vec![0.0; lc],
            tmp: vec![0.0; lc],
            skip: vec![0.0; lc],
            cols: vec![0.0; l * self.cols_width()],
            za: Vec::new(),
            zb: Vec::new(),
        };
        let mut out = Vec::with_capacity(n * self.horizon * self.n_outputs);
        for w in x.chunks_exact(l).take(n) {
            if self.window(w, &mut s, &mut out).is_err() {
                // Unreachable: every product's shape was fixed when the path was built. Keep
                // the promised length and make the failure visible rather than panic.
                out.resize(out.len() + self.horizon * self.n_outputs, f32::NAN);
            }
        }
        out
    }
}

impl FastTcn {
    /// The widest scratch matrix of delayed copies any convolution needs.
    fn cols_width(&self) -> usize {
        self.layers
            .iter()
            .flat_map(|layer| match layer {
                Layer::Plain(c) => vec![c.width()],
                Layer::Residual {
                    conv1,
                    conv2,
                    downsample,
                } => vec![
                    conv1.width(),
                    conv2.width(),
                    downsample.as_ref().map_or(0, Conv::width),
                ],
            })
            .max()
            .unwrap_or(0)
    }
}
