//! The LTSF-Linear family on the native engine: a sum of linear maps of the window (or of
//! fixed linear transforms of it), optionally taken relative to the window's last value.
//! NLinear is one map of `x − last` plus `last`; DLinear is one map of the moving-average trend
//! `x·A` and one of the remainder `x − x·A`. Only the weights need gradients (the input has
//! none), so the backward is `dW = Gᵀ·input` and `db = Σ G` per map.

use super::matmul::{matmul, View, ViewMut};
use super::{ops, ParamLayout, TrainGraph};
use crate::rng::Rng;
use crate::{Error, Result};

/// What a map reads.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum MapInput {
    /// The window itself.
    Window,
    /// `window · A` for a fixed `[L, L]` matrix `A` (DLinear's moving-average trend).
    Transformed(Vec<f32>),
    /// `window − window · A` (DLinear's remainder).
    Remainder(Vec<f32>),
}

#[derive(Debug, Clone)]
struct Map {
    input: MapInput,
    w: std::ops::Range<usize>,
    b: std::ops::Range<usize>,
    /// The map's input in the last forward, `[b, L]`.
    x: Vec<f32>,
}

/// A sum of linear maps with `[H, Q]` outputs per window.
#[derive(Debug, Clone)]
pub(crate) struct LinearSum {
    input_size: usize,
    out_len: usize,
    subtract_last: bool,
    maps: Vec<Map>,
    base: Vec<f32>,
    out: Vec<f32>,
    rows: usize,
}

impl LinearSum {
    /// Maps named `(prefix, input)`: weights `{prefix}.weight [out_len, L]` and `{prefix}.bias`
    /// in `layout`.
    pub(crate) fn new(
        layout: &ParamLayout,
        input_size: usize,
        out_len: usize,
        subtract_last: bool,
        maps: Vec<(&str, MapInput)>,
    ) -> Result<Self> {
        let maps = maps
            .into_iter()
            .map(|(prefix, input)| {
                if let MapInput::Transformed(a) | MapInput::Remainder(a) = &input {
                    if a.len() != input_size * input_size {
                        return Err(Error::invalid("engine", "transform of the wrong size"));
                    }
                }
                Ok(Map {
                    input,
                    w: layout.find(&format!("{prefix}.weight"), out_len * input_size)?,
                    b: layout.find(&format!("{prefix}.bias"), out_len)?,
                    x: Vec::new(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            input_size,
            out_len,
            subtract_last,
            maps,
            base: Vec::new(),
            out: Vec::new(),
            rows: 0,
        })
    }
}

impl TrainGraph for LinearSum {
    fn input_width(&self) -> usize {
        self.input_size
    }

    fn output_len(&self) -> usize {
        self.out_len
    }

    fn forward(
        &mut self,
        weights: &[f32],
        x: &[f32],
        b: usize,
        _rng: Option<&mut Rng>,
    ) -> Result<&[f32]> {
        let (l, n) = (self.input_size, self.out_len);
        if x.len() != b * l {
            return Err(Error::invalid(
                "input",
                format!("expected {b} windows of {l} values, got {} values", x.len()),
            ));
        }
        self.rows = b;
        self.base.clear();
        for w in x.chunks_exact(l) {
            let s = if self.subtract_last { w[l - 1] } else { 0.0 };
            self.base.extend(w.iter().map(|v| v - s));
        }
        self.out.clear();
        self.out.resize(b * n, 0.0);
        for map in &mut self.maps {
            map.x.clear();
            match &map.input {
                MapInput::Window => map.x.extend_from_slice(&self.base),
                MapInput::Transformed(a) | MapInput::Remainder(a) => {
                    map.x.resize(b * l, 0.0);
                    matmul(
                        ViewMut::rows(&mut map.x, b, l),
                        View::rows(&self.base, b, l),
                        View::rows(a, l, l),
                        false,
                        1.0,
                    )?;
                    if matches!(map.input, MapInput::Remainder(_)) {
                        map.x
                            .iter_mut()
                            .zip(&self.base)
                            .for_each(|(t, v)| *t = v - *t);
                    }
                }
            }
            let bias = &weights[map.b.clone()];
            for row in self.out.chunks_exact_mut(n) {
                row.iter_mut().zip(bias).for_each(|(o, v)| *o += v);
            }
            matmul(
                ViewMut::rows(&mut self.out, b, n),
                View::rows(&map.x, b, l),
                View::rows(&weights[map.w.clone()], n, l).t(),
                true,
                1.0,
            )?;
        }
        if self.subtract_last {
            for (row, w) in self.out.chunks_exact_mut(n).zip(x.chunks_exact(l)) {
                let s = w[l - 1];
                row.iter_mut().for_each(|o| *o += s);
            }
        }
        Ok(&self.out)
    }

    fn backward(&mut self, _weights: &[f32], dout: &mut [f32], grads: &mut [f32]) -> Result<()> {
        let (l, n, b) = (self.input_size, self.out_len, self.rows);
        if dout.len() != b * n {
            return Err(Error::invalid(
                "engine",
                "output gradient of the wrong size",
            ));
        }
        for map in &self.maps {
            matmul(
                ViewMut::rows(&mut grads[map.w.clone()], n, l),
                View::rows(dout, b, n).t(),
                View::rows(&map.x, b, l),
                false,
                1.0,
            )?;
            ops::column_sums(dout, n, &mut grads[map.b.clone()]);
        }
        Ok(())
    }
}
