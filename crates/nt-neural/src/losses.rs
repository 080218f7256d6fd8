//! Training losses on `[B, H, Q]` predictions against `[B, H]` targets with a `[B, H]` 0/1 mask,
//! reduced as neuralforecast's `_weighted_mean`: the sum over unmasked points divided by their
//! count (0 when nothing is unmasked).

use candle_core::Tensor;

use crate::config::Loss;
use crate::Result;

/// The loss of `pred` (`[B, H, Q]`) against `target` and `mask` (`[B, H]`), a scalar tensor.
///
/// For [`Loss::Quantile`] the `Q` outputs are the levels in order and the result is the mean over
/// levels of the masked mean pinball loss (neuralforecast's `MQLoss`); for
/// [`Loss::Distribution`] the `Q` outputs are the raw parameters of each step and the result is
/// the masked mean negative log-likelihood of the (scaled) targets; point losses need `Q = 1`.
pub fn loss(kind: &Loss, pred: &Tensor, target: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let (b, h, q) = pred.dims3()?;
    let denom = mask
        .sum_all()?
        .to_dtype(candle_core::DType::F64)?
        .to_scalar::<f64>()?;
    let denom = if denom > 0.0 { denom } else { 1.0 };
    let target3 = target.reshape((b, h, 1))?;
    let mask3 = mask.reshape((b, h, 1))?;
    let err = pred.broadcast_sub(&target3)?;
    let per_point = match kind {
        Loss::Mae => {
            check_point(q)?;
            err.abs()?
        }
        Loss::Mse => {
            check_point(q)?;
            err.sqr()?
        }
        Loss::Huber { delta } => {
            check_point(q)?;
            // min(|e|, d) * (|e| - min(|e|, d) / 2): 0.5 e² inside, d (|e| - d / 2) outside.
            let a = err.abs()?;
            let m = a.clamp(0.0, *delta)?;
            (&m * (a - (&m * 0.5)?)?)?
        }
        Loss::Quantile(levels) => {
            if levels.len() != q {
                return Err(crate::Error::invalid(
                    "train.loss.quantile",
                    format!(
                        "model has {q} outputs but the loss has {} levels",
                        levels.len()
                    ),
                ));
            }
            let lv: Vec<f32> = levels.iter().map(|&l| l as f32).collect();
            let lv = Tensor::from_vec(lv, (1, 1, q), pred.device())?;
            // error = yhat - y; q * max(-e, 0) + (1 - q) * max(e, 0)
            let under = err.neg()?.relu()?.broadcast_mul(&lv)?;
            let over = err.relu()?.broadcast_mul(&(lv.neg()? + 1.0)?)?;
            ((under + over)? / q as f64)?
        }
        Loss::Distribution { distribution, .. } => {
            // Q = the distribution's parameters; one NLL per point.
            distribution.nll_tensor(pred, target)?.reshape((b, h, 1))?
        }
    };
    Ok((per_point.broadcast_mul(&mask3)?.sum_all()? / denom)?)
}

fn check_point(q: usize) -> Result<()> {
    if q != 1 {
        return Err(crate::Error::invalid(
            "train.loss",
            format!("a point loss needs one output per step, the model has {q}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn t(v: &[f32], shape: &[usize]) -> Tensor {
        Tensor::from_vec(v.to_vec(), shape, &Device::Cpu).unwrap()
    }

    fn scalar(x: Tensor) -> f32 {
        x.to_scalar::<f32>().unwrap()
    }

    #[test]
    fn point_losses_by_hand() {
        // errors (pred - target) = [1, -3, 0.5, 2]; the last point is masked out.
        let pred = t(&[2.0, -1.0, 1.5, 9.0], &[1, 4, 1]);
        let target = t(&[1.0, 2.0, 1.0, 7.0], &[1, 4]);
        let mask = t(&[1.0, 1.0, 1.0, 0.0], &[1, 4]);
        // MAE = (1 + 3 + 0.5) / 3 = 1.5
        assert!((scalar(loss(&Loss::Mae, &pred, &target, &mask).unwrap()) - 1.5).abs() < 1e-6);
        // MSE = (1 + 9 + 0.25) / 3
        let mse = scalar(loss(&Loss::Mse, &pred, &target, &mask).unwrap());
        assert!((mse - 10.25 / 3.0).abs() < 1e-6);
        // Huber(1): 0.5 (|e| <= 1), 1 * (3 - 0.5) = 2.5, 0.5 * 0.25 = 0.125 -> 3.125 / 3
        let hub = scalar(loss(&Loss::Huber { delta: 1.0 }, &pred, &target, &mask).unwrap());
        assert!((hub - 3.125 / 3.0).abs() < 1e-6);
    }

    #[test]
    fn pinball_by_hand() {
        // One point, target 1; predictions 0 (q=0.1) and 3 (q=0.9).
        // q=0.1: under by 1 -> 0.1 * 1 = 0.1; q=0.9: over by 2 -> 0.1 * 2 = 0.2; mean = 0.15.
        let pred = t(&[0.0, 3.0], &[1, 1, 2]);
        let l = loss(
            &Loss::Quantile(vec![0.1, 0.9]),
            &pred,
            &t(&[1.0], &[1, 1]),
            &t(&[1.0], &[1, 1]),
        );
        assert!((scalar(l.unwrap()) - 0.15).abs() < 1e-6);
        assert!(loss(&Loss::Mae, &pred, &t(&[1.0], &[1, 1]), &t(&[1.0], &[1, 1])).is_err());
    }
}
