//! Statistics of a training series: what the registry embeds to find models trained on similar
//! data.

use nt_core::TimeSeries;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Seasonal periods tried by [`DataProfile::from_series`], in steps.
pub const SEASON_CANDIDATES: [usize; 7] = [4, 5, 7, 12, 24, 52, 168];

/// Lags of [`DataProfile::acf`].
pub const ACF_LAGS: [usize; 4] = [1, 2, 5, 10];

/// Statistics of one column of a series. Every field is scale-free (the same for `x` and
/// `a·x + b`, `a > 0`; the return features for `a·x`), so series of different units compare.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataProfile {
    /// Rows.
    pub length: usize,
    /// The most common spacing between timestamps, in seconds (`None` below two rows).
    pub step_seconds: Option<f64>,
    /// Standard deviation of the first differences over that of the levels: near 0 for a smooth
    /// series, near 1.41 for white noise, near 0 for a random walk of long length.
    pub volatility: f64,
    /// Autocorrelation of the levels at lags [`ACF_LAGS`] (1, 2, 5, 10); 0 where the series is
    /// too short.
    pub acf: [f64; 4],
    /// Autocorrelation of the first differences at lag 1.
    pub diff_acf1: f64,
    /// The detected seasonal period: among [`SEASON_CANDIDATES`] shorter than a third of the
    /// series, the shortest lag whose autocorrelation of the first differences is at least 90%
    /// of the highest one, if that highest is at least `max(0.2, 3/√n)`.
    pub season_period: Option<usize>,
    /// `max(0, 1 - var(R) / var(S + R))` of a moving-average decomposition (0 without a period).
    pub seasonal_strength: f64,
    /// `max(0, 1 - var(R) / var(T + R))` of the same decomposition.
    pub trend_strength: f64,
    /// Skewness of the first differences.
    pub diff_skewness: f64,
    /// Excess kurtosis of the first differences.
    pub diff_kurtosis: f64,
    /// Scale-free features of the log returns, when every value is positive (prices): what
    /// tells one random walk from another (a daily stock from daily FX), which the level
    /// features above cannot. `None` for series with zero or negative values, and in profiles
    /// recorded before they existed.
    #[serde(default)]
    pub returns: Option<ReturnProfile>,
}

/// Features of the log returns `ln(x_t / x_{t-1})` of a positive series.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReturnProfile {
    /// Standard deviation of the log returns (per step): about 0.015–0.02 for a daily stock,
    /// 0.005 for daily FX, 0.001 for hourly FX.
    pub volatility: f64,
    /// Excess kurtosis of the log returns (0 for Gaussian returns; fat tails above).
    pub kurtosis: f64,
    /// Autocorrelation of the log returns at lag 1.
    pub acf1: f64,
    /// Autocorrelation of the squared log returns at lag 1 (volatility clustering).
    pub squared_acf1: f64,
}

impl ReturnProfile {
    /// The features of `x`'s log returns, or `None` when a value is not positive or fewer than
    /// 4 returns exist.
    pub fn of(x: &[f64]) -> Option<Self> {
        if x.len() < 5 || x.iter().any(|v| v.is_nan() || *v <= 0.0) {
            return None;
        }
        let r: Vec<f64> = x.windows(2).map(|w| (w[1] / w[0]).ln()).collect();
        if r.iter().any(|v| !v.is_finite()) {
            return None;
        }
        let squared: Vec<f64> = r.iter().map(|v| v * v).collect();
        Some(Self {
            volatility: variance(&r).sqrt(),
            kurtosis: moments(&r).1,
            acf1: acf(&r, 1),
            squared_acf1: acf(&squared, 1),
        })
    }
}

fn mean(x: &[f64]) -> f64 {
    if x.is_empty() {
        0.0
    } else {
        x.iter().sum::<f64>() / x.len() as f64
    }
}

fn variance(x: &[f64]) -> f64 {
    let m = mean(x);
    if x.len() < 2 {
        return 0.0;
    }
    x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / x.len() as f64
}

/// Sample autocorrelation at `lag` (the standard biased estimator); 0 when undefined.
fn acf(x: &[f64], lag: usize) -> f64 {
    if lag == 0 || x.len() <= lag + 1 {
        return 0.0;
    }
    let m = mean(x);
    let denom: f64 = x.iter().map(|v| (v - m) * (v - m)).sum();
    if denom <= f64::EPSILON * x.len() as f64 {
        return 0.0;
    }
    let num: f64 = (lag..x.len()).map(|i| (x[i] - m) * (x[i - lag] - m)).sum();
    num / denom
}

/// Centred moving average of window `w` (2×w for even `w`), extended flat at the ends.
fn moving_average(x: &[f64], w: usize) -> Vec<f64> {
    let n = x.len();
    if w <= 1 || n < w + 1 {
        return vec![mean(x); n];
    }
    let mut prefix = Vec::with_capacity(n + 1);
    prefix.push(0.0);
    for v in x {
        prefix.push(prefix[prefix.len() - 1] + v);
    }
    let window_mean = |start: usize, len: usize| (prefix[start + len] - prefix[start]) / len as f64;
    let mut out = vec![f64::NAN; n];
    if w % 2 == 1 {
        let h = w / 2;
        for (i, o) in out.iter_mut().enumerate().take(n - h).skip(h) {
            *o = window_mean(i - h, w);
        }
    } else {
        let h = w / 2;
        for (i, o) in out.iter_mut().enumerate().take(n - h).skip(h) {
            *o = 0.5 * (window_mean(i - h, w) + window_mean(i + 1 - h, w));
        }
    }
    let first = out.iter().copied().find(|v| v.is_finite()).unwrap_or(0.0);
    let last = out
        .iter()
        .rev()
        .copied()
        .find(|v| v.is_finite())
        .unwrap_or(0.0);
    let mut seen = false;
    for o in out.iter_mut() {
        if o.is_finite() {
            seen = true;
        } else {
            *o = if seen { last } else { first };
        }
    }
    out
}

fn moments(x: &[f64]) -> (f64, f64) {
    let m = mean(x);
    let var = variance(x);
    if var <= f64::EPSILON || x.len() < 4 {
        return (0.0, 0.0);
    }
    let sd = var.sqrt();
    let skew = x.iter().map(|v| ((v - m) / sd).powi(3)).sum::<f64>() / x.len() as f64;
    let kurt = x.iter().map(|v| ((v - m) / sd).powi(4)).sum::<f64>() / x.len() as f64 - 3.0;
    (skew, kurt)
}

impl DataProfile {
    /// Profiles column `target` of `series` (finite values required).
    pub fn from_series(series: &TimeSeries, target: &str) -> Result<Self> {
        let x = series.finite_column(target)?;
        let step_seconds = series.step_ms().map(|ms| ms as f64 / 1000.0);
        Self::from_values(x, step_seconds)
    }

    /// Profiles raw values spaced `step_seconds` apart.
    pub fn from_values(x: &[f64], step_seconds: Option<f64>) -> Result<Self> {
        if x.len() < 3 {
            return Err(Error::invalid(
                "series",
                format!("profiling needs at least 3 rows, got {}", x.len()),
            ));
        }
        if let Some(i) = x.iter().position(|v| !v.is_finite()) {
            return Err(Error::invalid(
                "series",
                format!("value at row {i} is not finite"),
            ));
        }
        let diff: Vec<f64> = x.windows(2).map(|w| w[1] - w[0]).collect();
        let sd_level = variance(x).sqrt();
        let sd_diff = variance(&diff).sqrt();
        let volatility = if sd_level > f64::EPSILON {
            sd_diff / sd_level
        } else {
            0.0
        };
        let acf_levels = ACF_LAGS.map(|l| acf(x, l));
        let diff_acf1 = acf(&diff, 1);
        let scored: Vec<(usize, f64)> = SEASON_CANDIDATES
            .iter()
            .copied()
            .filter(|&p| p * 3 < x.len())
            .map(|p| (p, acf(&diff, p)))
            .collect();
        // Well above the noise of a sample autocorrelation (sd ≈ 1/√n).
        let threshold = (3.0 / (x.len() as f64).sqrt()).max(0.2);
        let top = scored.iter().map(|s| s.1).fold(f64::NEG_INFINITY, f64::max);
        // Multiples of the true period score about as high: take the shortest near the top.
        let season_period = scored
            .iter()
            .find(|&&(_, a)| top >= threshold && a >= 0.9 * top)
            .map(|&(p, _)| p);
        let (seasonal_strength, trend_strength) = decompose_strengths(x, season_period);
        let (diff_skewness, diff_kurtosis) = moments(&diff);
        Ok(Self {
            length: x.len(),
            step_seconds,
            volatility,
            acf: acf_levels,
            diff_acf1,
            season_period,
            seasonal_strength,
            trend_strength,
            diff_skewness,
            diff_kurtosis,
            returns: ReturnProfile::of(x),
        })
    }
}

/// Seasonal and trend strengths (Wang, Smith & Hyndman 2006) from a classical additive
/// decomposition: trend = centred moving average over the period (7 rows without one),
/// seasonal = mean detrended value per phase, remainder = the rest.
fn decompose_strengths(x: &[f64], period: Option<usize>) -> (f64, f64) {
    let w = period.unwrap_or(7);
    let trend = moving_average(x, w);
    let detrended: Vec<f64> = x.iter().zip(&trend).map(|(v, t)| v - t).collect();
    let seasonal: Vec<f64> = match period {
        Some(p) => {
            let mut sums = vec![0.0; p];
            let mut counts = vec![0usize; p];
            for (i, d) in detrended.iter().enumerate() {
                sums[i % p] += d;
                counts[i % p] += 1;
            }
            let phase: Vec<f64> = sums
                .iter()
                .zip(&counts)
                .map(|(s, &c)| if c > 0 { s / c as f64 } else { 0.0 })
                .collect();
            let centre = mean(&phase);
            (0..x.len()).map(|i| phase[i % p] - centre).collect()
        }
        None => vec![0.0; x.len()],
    };
    let remainder: Vec<f64> = detrended
        .iter()
        .zip(&seasonal)
        .map(|(d, s)| d - s)
        .collect();
    let var_r = variance(&remainder);
    let strength = |component: &[f64]| {
        let sum: Vec<f64> = component
            .iter()
            .zip(&remainder)
            .map(|(c, r)| c + r)
            .collect();
        let v = variance(&sum);
        if v <= f64::EPSILON {
            0.0
        } else {
            (1.0 - var_r / v).max(0.0)
        }
    };
    let seasonal_strength = if period.is_some() {
        strength(&seasonal)
    } else {
        0.0
    };
    (seasonal_strength, strength(&trend))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
            })
            .collect()
    }

    #[test]
    fn seasonal_sine_is_detected_and_strong() {
        // A period-24 sine plus small white noise: the profile must find period 24 (not its
        // multiple 168) and call the seasonality strong (> 0.9) and the lag-1 ACF high.
        let e = noise(24 * 40, 7);
        let x: Vec<f64> = (0..24 * 40)
            .map(|i| (i as f64 * std::f64::consts::TAU / 24.0).sin() + 0.05 * e[i])
            .collect();
        let p = DataProfile::from_values(&x, Some(3600.0)).unwrap();
        assert_eq!(p.season_period, Some(24));
        assert!(p.seasonal_strength > 0.9, "{p:?}");
        assert!(p.acf[0] > 0.9, "{p:?}");
    }

    #[test]
    fn linear_trend_has_trend_strength_one_and_no_season() {
        // A straight line plus tiny white noise: trend dominates (strength > 0.99) and no
        // seasonal candidate passes the 0.2 threshold on the (white) differences.
        let e = noise(500, 3);
        let x: Vec<f64> = (0..500).map(|i| i as f64 + 0.01 * e[i]).collect();
        let p = DataProfile::from_values(&x, None).unwrap();
        assert!(p.trend_strength > 0.99, "{p:?}");
        assert_eq!(p.seasonal_strength, 0.0);
    }

    #[test]
    fn scale_free() {
        // Affine rescaling (×1000 + 5) must not change any statistic beyond rounding.
        let x: Vec<f64> = (0..300)
            .map(|i| ((i * 37) % 17) as f64 + i as f64 * 0.1)
            .collect();
        let y: Vec<f64> = x.iter().map(|v| v * 1000.0 + 5.0).collect();
        let a = DataProfile::from_values(&x, None).unwrap();
        let b = DataProfile::from_values(&y, None).unwrap();
        assert!((a.volatility - b.volatility).abs() < 1e-9);
        assert!((a.trend_strength - b.trend_strength).abs() < 1e-9);
        assert!((a.acf[2] - b.acf[2]).abs() < 1e-9);
    }

    #[test]
    fn too_short_or_non_finite_is_refused() {
        assert!(DataProfile::from_values(&[1.0, 2.0], None).is_err());
        assert!(DataProfile::from_values(&[1.0, f64::NAN, 2.0, 3.0], None).is_err());
    }
}
