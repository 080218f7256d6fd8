//! The recurrent layer as a differentiable candle op ([`candle_layer`]: the kernel's forward
//! and backpropagation through time behind a `CustomOp2`), and the same layer written with
//! plain candle ops ([`candle_layer_reference`]: candle's autograd, any device; the tests'
//! reference and the fallback off the CPU).

use std::sync::Mutex;

use candle_core::{CpuStorage, CustomOp2, DType, Device, Layout, Shape, Tensor};

use super::backward::layer_backward;
use super::train::{layer_forward_train, Tape};
use super::{Cell, LayerShape, LayerWeights};
use crate::{Error, Result};

/// Checks `x [B, T, I]` and the weight tensors (`w_ih`, `w_hh`, `b_ih`, `b_hh`, and `w_hr`
/// for a projected LSTM, in PyTorch's shapes) against `shape`; returns `(B, T)`.
fn check(shape: &LayerShape, x: &Tensor, weights: &[Tensor]) -> Result<(usize, usize)> {
    shape.validate()?;
    let (b, t, i) = x
        .dims3()
        .map_err(|_| Error::invalid("recurrent.x", format!("[B, T, I], got {:?}", x.dims())))?;
    if i != shape.input {
        return Err(Error::invalid(
            "recurrent.x",
            format!("{} input features, got {i}", shape.input),
        ));
    }
    let specs = shape.weight_specs("layer", 0);
    if weights.len() != specs.len() {
        return Err(Error::invalid(
            "recurrent.weights",
            format!("{} tensors, got {}", specs.len(), weights.len()),
        ));
    }
    for (w, s) in weights.iter().zip(&specs) {
        if w.dims() != s.shape.as_slice() {
            return Err(Error::invalid(
                "recurrent.weights",
                format!("{} of shape {:?}, got {:?}", s.name, s.shape, w.dims()),
            ));
        }
    }
    Ok((b, t))
}

/// The layer over `x [B, T, I]` (f32) with `weights` = `[w_ih, w_hh, b_ih, b_hh]` (+ `w_hr` for
/// a projected LSTM; e.g. the model's `Var`s), from a zero state, to `y [B, T, out]`,
/// differentiable in `x` and every weight. On the CPU the kernel runs it (forward with a tape,
/// hand-written backward through time); on another device, [`candle_layer_reference`].
/// Errors on shapes that do not match `shape`.
pub fn candle_layer(shape: &LayerShape, x: &Tensor, weights: &[Tensor]) -> Result<Tensor> {
    let (b, t) = check(shape, x, weights)?;
    if !matches!(x.device(), Device::Cpu) {
        return candle_layer_reference(shape, x, weights);
    }
    let flat: Vec<Tensor> = weights
        .iter()
        .map(|w| w.to_dtype(DType::F32)?.flatten_all())
        .collect::<candle_core::Result<_>>()?;
    let flat = Tensor::cat(&flat, 0)?;
    let x = x.to_dtype(DType::F32)?.contiguous()?;
    let op = RecurrentOp {
        shape: *shape,
        b,
        t,
        tape: Mutex::new(None),
    };
    Ok(x.apply_op2(&flat, op)?)
}

/// The candle op: `(x [B, T, I], flat weights) → y [B, T, out]`, keeping the forward's tape for
/// the backward (which recomputes it if it is gone).
struct RecurrentOp {
    shape: LayerShape,
    b: usize,
    t: usize,
    tape: Mutex<Option<Tape>>,
}

fn to_candle(e: Error) -> candle_core::Error {
    candle_core::Error::Msg(format!("recurrent kernel: {e}"))
}

/// The f32 values a CPU storage and layout address (contiguous layouts only).
fn cpu_values<'a>(s: &'a CpuStorage, l: &Layout) -> candle_core::Result<&'a [f32]> {
    let v = match s {
        CpuStorage::F32(v) => v.as_slice(),
        _ => return Err(candle_core::Error::Msg("recurrent kernel: f32 only".into())),
    };
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&v[a..b]),
        None => Err(candle_core::Error::Msg(
            "recurrent kernel: contiguous inputs only".into(),
        )),
    }
}

impl RecurrentOp {
    fn forward(&self, x: &[f32], flat: &[f32], tape: &mut Tape) -> Result<Vec<f32>> {
        let w = LayerWeights::from_flat(&self.shape, flat)?;
        let mut y = vec![0f32; self.b * self.t * self.shape.output()];
        layer_forward_train(&self.shape, &w, x, self.b, self.t, None, None, &mut y, tape)?;
        Ok(y)
    }
}

impl CustomOp2 for RecurrentOp {
    fn name(&self) -> &'static str {
        "recurrent-layer"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (x, flat) = (cpu_values(s1, l1)?, cpu_values(s2, l2)?);
        let mut tape = Tape::new();
        let y = self.forward(x, flat, &mut tape).map_err(to_candle)?;
        if let Ok(mut slot) = self.tape.lock() {
            *slot = Some(tape);
        }
        Ok((
            CpuStorage::F32(y),
            Shape::from((self.b, self.t, self.shape.output())),
        ))
    }

    fn bwd(
        &self,
        x: &Tensor,
        flat: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let wv: Vec<f32> = flat.to_vec1()?;
        let dy: Vec<f32> = grad.flatten_all()?.to_dtype(DType::F32)?.to_vec1()?;
        let saved = self.tape.lock().ok().and_then(|mut s| s.take());
        let mut tape = match saved {
            Some(tape) => tape,
            None => {
                let xv: Vec<f32> = x.flatten_all()?.to_vec1()?;
                let mut tape = Tape::new();
                self.forward(&xv, &wv, &mut tape).map_err(to_candle)?;
                tape
            }
        };
        let w = LayerWeights::from_flat(&self.shape, &wv).map_err(to_candle)?;
        let mut dx = vec![0f32; x.elem_count()];
        let mut dw = vec![0f32; wv.len()];
        layer_backward(&self.shape, &w, &mut tape, &dy, &mut dx, &mut dw).map_err(to_candle)?;
        let dx = Tensor::from_vec(dx, x.shape(), x.device())?;
        let dw = Tensor::from_vec(dw, flat.shape(), flat.device())?;
        Ok((Some(dx), Some(dw)))
    }
}

/// `1 / (1 + e^−x)` in candle ops (differentiable).
fn sigmoid(x: &Tensor) -> candle_core::Result<Tensor> {
    (x.neg()?.exp()? + 1.0)?.recip()
}

/// The same layer as [`candle_layer`] written with plain candle ops (gates by hand, one step at
/// a time), differentiable through candle's autograd on any device: the reference the kernel is
/// tested against, and [`candle_layer`]'s path off the CPU. Same arguments and errors.
pub fn candle_layer_reference(
    shape: &LayerShape,
    x: &Tensor,
    weights: &[Tensor],
) -> Result<Tensor> {
    let (b, t) = check(shape, x, weights)?;
    let (h, r) = (shape.hidden, shape.output());
    let (w_ih, w_hh, b_ih, b_hh) = (&weights[0], &weights[1], &weights[2], &weights[3]);
    let xp = x
        .reshape((b * t, shape.input))?
        .matmul(&w_ih.t()?)?
        .broadcast_add(b_ih)?
        .reshape((b, t, shape.gate_width()))?;
    let mut hs = Tensor::zeros((b, r), x.dtype(), x.device())?;
    let mut cs = Tensor::zeros((b, h), x.dtype(), x.device())?;
    let mut outs = Vec::with_capacity(t);
    for s in 0..t {
        let xs = xp.narrow(1, s, 1)?.squeeze(1)?;
        let hp = hs.matmul(&w_hh.t()?)?.broadcast_add(b_hh)?;
        let part = |v: &Tensor, k: usize| v.narrow(1, k * h, h);
        hs = match shape.cell {
            Cell::Lstm => {
                let g = (&xs + &hp)?;
                let i = sigmoid(&part(&g, 0)?)?;
                let f = sigmoid(&part(&g, 1)?)?;
                let gg = part(&g, 2)?.tanh()?;
                let o = sigmoid(&part(&g, 3)?)?;
                cs = ((f * &cs)? + (i * gg)?)?;
                let m = (o * cs.tanh()?)?;
                if shape.proj > 0 {
                    m.matmul(&weights[4].t()?)?
                } else {
                    m
                }
            }
            Cell::Gru => {
                let rg = sigmoid(&(part(&xs, 0)? + part(&hp, 0)?)?)?;
                let z = sigmoid(&(part(&xs, 1)? + part(&hp, 1)?)?)?;
                let n = (part(&xs, 2)? + (rg * part(&hp, 2)?)?)?.tanh()?;
                (&n + (z * (&hs - &n)?)?)?
            }
        };
        outs.push(hs.clone());
    }
    Ok(Tensor::stack(&outs, 1)?)
}
