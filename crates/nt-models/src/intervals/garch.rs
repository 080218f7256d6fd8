//! GARCH-width intervals (`"method": "garch"`): the band's width follows a GARCH(1,1)
//! forecast of the model's recent one-step residuals, so it widens after a volatile stretch
//! and narrows after a calm one.
//!
//! Definition. At training, on the calibration segment (the same residuals as the conformal
//! method: held-out tail for a classical model, validation tail for a neural one), the scale of
//! step `h` is `s_h = sqrt(mean(r_h²) / (h · mean(r_1²)))`, the ratio of the `h`-step residuals'
//! mean square to the one-step residuals' mean square cumulated over `h` steps (1 for a random
//! walk on a random walk; below 1 when errors mean-revert). At a forecast, the model forecasts
//! one step from each of the last [`GarchWidths::window`] rows of the given history; a zero-mean
//! GARCH(1,1) with normal innovations (`nt_classical::garch_residual_variance`) is fitted to
//! those one-step residuals and forecasts their variances `σ²_1..σ²_H`; the band at level `L`
//! and step `h` is `point ± z_{(1+L)/2} · s_h · sqrt(σ²_1 + … + σ²_h)`.
//! When the GARCH's variances equal the calibration's mean square, the band's variance is the
//! calibration's `h`-step mean square.

use nt_classical::{garch_residual_variance, GarchConfig};
use nt_core::{Forecast, QuantileBand};
use serde::{Deserialize, Serialize};

use crate::{Error, Forecaster, Result, WindowInputs};

/// One-step residuals a forecast fits its GARCH to (the latest ones of the history).
pub const GARCH_WINDOW: usize = 250;
/// Fewest one-step residuals the GARCH fit takes (`garch_residual_variance`'s minimum).
const GARCH_MIN: usize = 20;

/// What a GARCH-width model stores beside the conformal radii of its calibration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GarchWidths {
    /// `s_h` of each step (see the module's definition), each finite and > 0.
    pub scale: Vec<f64>,
    /// One-step residuals each forecast fits its GARCH to (the history's latest).
    pub window: usize,
}

impl GarchWidths {
    /// The per-step scales from signed calibration residuals (`residuals[h]`: step `h + 1`).
    /// Errors when step 1 has fewer than 20 residuals or all are zero.
    pub fn from_residuals(residuals: &[Vec<f64>]) -> Result<Self> {
        let ms = |r: &[f64]| r.iter().map(|v| v * v).sum::<f64>() / r.len().max(1) as f64;
        let one = residuals.first().map(|r| ms(r)).unwrap_or(0.0);
        if residuals.first().map_or(0, Vec::len) < GARCH_MIN || one.is_nan() || one <= 0.0 {
            return Err(Error::invalid(
                "intervals.method",
                format!("garch widths need at least {GARCH_MIN} non-zero one-step calibration residuals"),
            ));
        }
        let scale = residuals
            .iter()
            .enumerate()
            .map(|(h, r)| {
                (ms(r) / ((h + 1) as f64 * one))
                    .sqrt()
                    .max(f64::MIN_POSITIVE)
            })
            .collect();
        Ok(Self {
            scale,
            window: GARCH_WINDOW,
        })
    }

    /// The one-step residuals of `base` over the last `window` rows of `target` (as many as
    /// its history allows, at least 20).
    pub fn recent_residuals(&self, base: &dyn Forecaster, target: &[f64]) -> Result<Vec<f64>> {
        let need = base.min_history().max(1);
        let n = target.len();
        let first = n.saturating_sub(self.window).max(need);
        if n < first + GARCH_MIN {
            return Err(Error::invalid(
                "history",
                format!(
                    "garch-width intervals need {} values ({need} for the model and {GARCH_MIN} one-step residuals), got {n}",
                    need + GARCH_MIN
                ),
            ));
        }
        let windows: Vec<WindowInputs<'_>> = (first..n)
            .map(|t| WindowInputs {
                target: &target[base.window().map_or(0, |l| t - l)..t],
                hist: Vec::new(),
                futr: Vec::new(),
            })
            .collect();
        let forecasts = base.forecast_batch(&windows, 1)?;
        Ok((first..n)
            .zip(&forecasts)
            .map(|(t, f)| target[t] - f.point_values()[0])
            .collect())
    }

    /// The forecast with `point` and the GARCH-width bands at `levels` from the one-step
    /// `residuals` before it.
    pub fn apply(&self, point: &[f64], residuals: &[f64], levels: &[f64]) -> Result<Forecast> {
        let h = point.len();
        if h > self.scale.len() {
            return Err(Error::invalid(
                "horizon",
                format!(
                    "the intervals are calibrated for 1 to {} steps, {h} asked",
                    self.scale.len()
                ),
            ));
        }
        let var = garch_residual_variance(residuals, &GarchConfig::default(), h)?;
        let mut cum = 0.0;
        let sd: Vec<f64> = var
            .iter()
            .zip(&self.scale)
            .map(|(v, s)| {
                cum += v;
                s * cum.sqrt()
            })
            .collect();
        let mut bands = Vec::with_capacity(2 * levels.len());
        for &level in levels {
            let z = normal_quantile((1.0 + level) / 2.0);
            let [lo, hi] =
                [(1.0 - level) / 2.0, (1.0 + level) / 2.0].map(|q| (q * 1e9).round() / 1e9);
            bands.push(QuantileBand {
                q: lo,
                values: point.iter().zip(&sd).map(|(p, s)| p - z * s).collect(),
            });
            bands.push(QuantileBand {
                q: hi,
                values: point.iter().zip(&sd).map(|(p, s)| p + z * s).collect(),
            });
        }
        Ok(Forecast::new(point.to_vec(), bands)?)
    }
}

/// The standard normal quantile at `p` in (0, 1) (Acklam's rational approximation, relative
/// error below 1.2e-9).
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.38357751867269e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_quantiles_match_the_tables() {
        // scipy.stats.norm.ppf(0.9) = 1.2815515655446004, ppf(0.975) = 1.959963984540054.
        assert!((normal_quantile(0.9) - 1.2815515655446004).abs() < 1e-8);
        assert!((normal_quantile(0.975) - 1.959963984540054).abs() < 1e-8);
        assert!((normal_quantile(0.01) + 2.3263478740408408).abs() < 1e-8);
    }

    #[test]
    fn a_random_walks_step_scales_are_one() {
        // Residuals of step h are sums of h unit one-step errors ±1: mean square h, so s_h = 1.
        let one: Vec<f64> = (0..40)
            .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        let two: Vec<f64> = (0..40)
            .map(|i| {
                if i % 2 == 0 {
                    2f64.sqrt()
                } else {
                    -(2f64.sqrt())
                }
            })
            .collect();
        let g = GarchWidths::from_residuals(&[one, two]).unwrap();
        assert!(
            (g.scale[0] - 1.0).abs() < 1e-12 && (g.scale[1] - 1.0).abs() < 1e-12,
            "{g:?}"
        );
    }
}
