//! Per-window scalers (neuralforecast's `scaler_type`): statistics from a window's input values
//! only, applied to its inputs and targets; forecasts are mapped back with the same statistics.

use crate::config::ScalerType;

/// A window's shift and scale: `scaled = (x - shift) / scale`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowScale {
    /// Subtracted first.
    pub shift: f32,
    /// Divided by next (never 0).
    pub scale: f32,
}

impl WindowScale {
    /// The identity transform.
    pub const IDENTITY: WindowScale = WindowScale {
        shift: 0.0,
        scale: 1.0,
    };

    /// `(x - shift) / scale`.
    pub fn apply(&self, x: f32) -> f32 {
        (x - self.shift) / self.scale
    }

    /// `z * scale + shift`.
    pub fn invert(&self, z: f32) -> f32 {
        z * self.scale + self.shift
    }
}

const EPS: f64 = 1e-6;

/// Statistics of `input` for `kind`, as neuralforecast computes them: standard =
/// mean and population std (1 when 0) + 1e-6; robust = lower median and lower-median absolute
/// deviation (0.6745·std when 0, then 1 when still 0) + 1e-6.
pub fn window_scale(kind: ScalerType, input: &[f32]) -> WindowScale {
    if input.is_empty() {
        return WindowScale::IDENTITY;
    }
    let n = input.len() as f64;
    let mean = input.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let std = (input
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n)
        .sqrt();
    match kind {
        ScalerType::Identity => WindowScale::IDENTITY,
        ScalerType::Standard => WindowScale {
            shift: mean as f32,
            scale: (if std == 0.0 { 1.0 } else { std } + EPS) as f32,
        },
        ScalerType::Robust => {
            let median = lower_median(input.iter().map(|&v| f64::from(v)).collect());
            let mut mad = lower_median(
                input
                    .iter()
                    .map(|&v| (f64::from(v) - median).abs())
                    .collect(),
            );
            if mad == 0.0 {
                mad = std * 0.674_489_750_196_081_7;
            }
            if mad == 0.0 {
                mad = 1.0;
            }
            WindowScale {
                shift: median as f32,
                scale: (mad + EPS) as f32,
            }
        }
    }
}

/// torch's `median`: the lower of the two middle values for an even count.
fn lower_median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[(v.len() - 1) / 2]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_by_hand_and_round_trip() {
        let x = [1.0f32, 2.0, 3.0, 10.0];
        assert_eq!(
            window_scale(ScalerType::Identity, &x),
            WindowScale::IDENTITY
        );
        // mean 4, population variance (9 + 4 + 1 + 36) / 4 = 12.5
        let s = window_scale(ScalerType::Standard, &x);
        assert!((s.shift - 4.0).abs() < 1e-6 && (s.scale - (12.5f32.sqrt() + 1e-6)).abs() < 1e-5);
        // lower median 2; deviations [1, 0, 1, 8] -> lower median 1
        let r = window_scale(ScalerType::Robust, &x);
        assert!((r.shift - 2.0).abs() < 1e-6 && (r.scale - 1.000001).abs() < 1e-6);
        for v in [-3.0f32, 0.5, 42.0] {
            assert!((s.invert(s.apply(v)) - v).abs() < 1e-4);
            assert!((r.invert(r.apply(v)) - v).abs() < 1e-4);
        }
        // A constant window: std 0 -> scale 1 (+eps), never a division by zero.
        let c = window_scale(ScalerType::Robust, &[5.0; 6]);
        assert!((c.scale - 1.000001).abs() < 1e-6 && c.shift == 5.0);
    }
}
