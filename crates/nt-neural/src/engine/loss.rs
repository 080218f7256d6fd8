//! The training losses of `crate::losses` with their gradient, in one pass over `[b, H, Q]`
//! predictions, `[b, H]` targets and a `[b, H]` 0/1 mask: the masked mean as neuralforecast
//! takes it (sum over unmasked points divided by their count, 1 when there are none).

use crate::config::Loss;
use crate::{Error, Result};

/// Checks that `kind` fits a model with `q` outputs per step.
pub(crate) fn check(kind: &Loss, q: usize) -> Result<()> {
    match kind {
        Loss::Quantile(levels) if levels.len() != q => Err(Error::invalid(
            "train.loss.quantile",
            format!(
                "model has {q} outputs but the loss has {} levels",
                levels.len()
            ),
        )),
        Loss::Quantile(_) => Ok(()),
        Loss::Distribution { distribution, .. } if distribution.n_params() != q => {
            Err(Error::invalid(
                "train.loss.distribution",
                format!(
                    "the {distribution:?} head needs {} outputs per step, the model has {q}",
                    distribution.n_params()
                ),
            ))
        }
        Loss::Distribution { .. } => Ok(()),
        _ if q != 1 => Err(Error::invalid(
            "train.loss",
            format!("a point loss needs one output per step, the model has {q}"),
        )),
        _ => Ok(()),
    }
}

/// The loss of one point (`e` = prediction − target) at output `o`, and its derivative.
#[inline]
fn point(kind: &Loss, e: f32, o: usize, q: usize) -> (f32, f32) {
    match kind {
        Loss::Mae => (e.abs(), sign(e)),
        Loss::Mse => (e * e, 2.0 * e),
        Loss::Huber { delta } => {
            let d = *delta as f32;
            let a = e.abs();
            if a <= d {
                (0.5 * e * e, e)
            } else {
                (d * (a - 0.5 * d), d * sign(e))
            }
        }
        Loss::Quantile(levels) => {
            let lv = levels[o] as f32;
            let inv_q = 1.0 / q as f32;
            if e < 0.0 {
                (-lv * e * inv_q, -lv * inv_q)
            } else if e > 0.0 {
                ((1.0 - lv) * e * inv_q, (1.0 - lv) * inv_q)
            } else {
                (0.0, 0.0)
            }
        }
        // A distribution head is scored per step, all its outputs together, by `step_loss`.
        Loss::Distribution { .. } => (0.0, 0.0),
    }
}

/// The loss of one step (its `q` outputs `raw` against target `y`) and, with `grad`, its
/// derivative per output: the sum of the per-output point losses, or a distribution's NLL.
#[inline]
fn step_loss(kind: &Loss, raw: &[f32], y: f32, grad: Option<&mut [f32]>) -> f64 {
    match kind {
        Loss::Distribution { distribution, .. } => distribution.nll_and_grad(raw, y, grad),
        Loss::Mae | Loss::Mse | Loss::Huber { .. } | Loss::Quantile(_) => {
            let q = raw.len();
            let mut total = 0f64;
            let mut grad = grad;
            for (o, &p) in raw.iter().enumerate() {
                let (v, d) = point(kind, p - y, o, q);
                total += f64::from(v);
                if let Some(g) = grad.as_deref_mut() {
                    g[o] = d;
                }
            }
            total
        }
    }
}

fn sign(e: f32) -> f32 {
    if e > 0.0 {
        1.0
    } else if e < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// The masked mean loss of `pred` against `target`/`mask`, and, when `grad` is given, its
/// gradient with respect to `pred` (written, same layout).
pub(crate) fn loss_and_grad(
    kind: &Loss,
    pred: &[f32],
    target: &[f32],
    mask: &[f32],
    (h, q): (usize, usize),
    mut grad: Option<&mut [f32]>,
) -> Result<f64> {
    check(kind, q)?;
    if pred.len() != target.len() * q || mask.len() != target.len() || target.len() % h.max(1) != 0
    {
        return Err(Error::invalid("engine", "loss inputs of mismatched sizes"));
    }
    let count: f64 = mask.iter().map(|&m| f64::from(m)).sum();
    let denom = if count > 0.0 { count } else { 1.0 };
    let inv = (1.0 / denom) as f32;
    let mut total = 0f64;
    for (i, (&y, &m)) in target.iter().zip(mask).enumerate() {
        let row = i * q..(i + 1) * q;
        let g = grad.as_deref_mut().map(|g| &mut g[row.clone()]);
        let has_grad = g.is_some();
        let v = step_loss(kind, &pred[row.clone()], y, g);
        total += if m == 0.0 { 0.0 } else { v * f64::from(m) };
        if has_grad {
            if let Some(g) = grad.as_deref_mut() {
                for d in &mut g[row] {
                    *d *= m * inv;
                }
            }
        }
    }
    Ok(total / denom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_match_the_candle_losses_by_hand() {
        // The cases of crate::losses' tests: errors [1, -3, 0.5, 2], the last point masked.
        let pred = [2.0, -1.0, 1.5, 9.0];
        let target = [1.0, 2.0, 1.0, 7.0];
        let mask = [1.0, 1.0, 1.0, 0.0];
        let mut g = [0f32; 4];
        let mae = loss_and_grad(&Loss::Mae, &pred, &target, &mask, (4, 1), Some(&mut g)).unwrap();
        assert!((mae - 1.5).abs() < 1e-6);
        assert_eq!(g, [1.0 / 3.0, -1.0 / 3.0, 1.0 / 3.0, 0.0]);
        let mse = loss_and_grad(&Loss::Mse, &pred, &target, &mask, (4, 1), None).unwrap();
        assert!((mse - 10.25 / 3.0).abs() < 1e-6);
        let hub = loss_and_grad(
            &Loss::Huber { delta: 1.0 },
            &pred,
            &target,
            &mask,
            (4, 1),
            None,
        )
        .unwrap();
        assert!((hub - 3.125 / 3.0).abs() < 1e-6);
        let pin = loss_and_grad(
            &Loss::Quantile(vec![0.1, 0.9]),
            &[0.0, 3.0],
            &[1.0],
            &[1.0],
            (1, 2),
            None,
        )
        .unwrap();
        assert!((pin - 0.15).abs() < 1e-6);
        assert!(loss_and_grad(&Loss::Mae, &[0.0, 3.0], &[1.0], &[1.0], (1, 2), None).is_err());
    }
}
