//! The seasonality test and the classical decomposition statsforecast 2.1.1's `auto_theta`
//! applies before fitting a Theta model: a 90% test on the autocorrelation at the seasonal
//! lag (statsmodels `acf`, `fft=False`), then statsmodels' `seasonal_decompose` (a centred
//! moving average of one season, its `2×m` form for even `m`; seasonal indices the per-phase
//! means of the detrended series, normalized to mean 1 or 0).

use serde::{Deserialize, Serialize};

/// How the seasonal component combines with the rest of the series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DecompositionType {
    /// `y = trend × season × rest` (statsforecast's default; falls back to additive when the
    /// data has a value ≤ 0 or a seasonal index below 0.01).
    Multiplicative,
    /// `y = trend + season + rest`.
    Additive,
}

/// `scipy.stats.norm.ppf(0.95)`: the one-sided 95% point, i.e. a two-sided 90% test.
const Z_95: f64 = 1.644_853_626_951_472_2;

/// Sample autocorrelations at lags `1..=nlags` (statsmodels `acf(y, nlags, fft=False)`:
/// demeaned, divided by `n` at every lag).
fn acf(y: &[f64], nlags: usize) -> Vec<f64> {
    let n = y.len();
    let mean = y.iter().sum::<f64>() / n as f64;
    let d: Vec<f64> = y.iter().map(|v| v - mean).collect();
    let c0: f64 = d.iter().map(|v| v * v).sum();
    (1..=nlags)
        .map(|k| {
            let ck: f64 = d[k..].iter().zip(&d[..n - k]).map(|(a, b)| a * b).sum();
            ck / c0
        })
        .collect()
}

/// Whether `auto_theta` decomposes `y` with season `m`: only when `m ≥ 4` and `y` has at
/// least two seasons, when `|r_m|` exceeds 1.645 standard errors
/// `sqrt((1 + 2 Σ_{k<m} r_k²) / n)`. A constant series (undefined autocorrelation) is not
/// seasonal.
pub(crate) fn is_seasonal(y: &[f64], m: usize) -> bool {
    if m < 4 || y.len() < 2 * m {
        return false;
    }
    let r = acf(y, m);
    let stat =
        ((1.0 + 2.0 * r[..m - 1].iter().map(|v| v * v).sum::<f64>()) / y.len() as f64).sqrt();
    // NaN (constant data) compares false, as in numpy.
    r[m - 1].abs() / stat > Z_95
}

/// The seasonal component of `y` (one value per row) by statsmodels' `seasonal_decompose`
/// with `period = m` (needs `y.len() ≥ 2m`, which [`is_seasonal`] guarantees).
pub(crate) fn seasonal_component(y: &[f64], m: usize, kind: DecompositionType) -> Vec<f64> {
    let n = y.len();
    // Centred moving average: weights 1/m over m rows (odd m) or ½,1,…,1,½ over m + 1 rows
    // divided by m (even m); undefined (NaN) where the window leaves the series.
    let (half, weights): (usize, Vec<f64>) = if m % 2 == 0 {
        let mut w = vec![1.0 / m as f64; m + 1];
        w[0] = 0.5 / m as f64;
        w[m] = 0.5 / m as f64;
        (m / 2, w)
    } else {
        (m / 2, vec![1.0 / m as f64; m])
    };
    let mut trend = vec![f64::NAN; n];
    let width = weights.len();
    for (t, slot) in trend
        .iter_mut()
        .enumerate()
        .take(n + half + 1 - width)
        .skip(half)
    {
        let start = t - half;
        *slot = weights
            .iter()
            .zip(&y[start..start + width])
            .map(|(w, v)| w * v)
            .sum();
    }
    let mut sums = vec![0.0; m];
    let mut counts = vec![0usize; m];
    for t in 0..n {
        if trend[t].is_nan() {
            continue;
        }
        let detrended = match kind {
            DecompositionType::Multiplicative => y[t] / trend[t],
            DecompositionType::Additive => y[t] - trend[t],
        };
        sums[t % m] += detrended;
        counts[t % m] += 1;
    }
    let mut means: Vec<f64> = sums
        .iter()
        .zip(&counts)
        .map(|(s, c)| s / *c as f64)
        .collect();
    let overall = means.iter().sum::<f64>() / m as f64;
    for v in &mut means {
        match kind {
            DecompositionType::Multiplicative => *v /= overall,
            DecompositionType::Additive => *v -= overall,
        }
    }
    (0..n).map(|t| means[t % m]).collect()
}

/// What `auto_theta` does to a series before fitting: the decomposition actually used (after
/// its fallbacks to additive) and the seasonal component, or `None` when the test says the
/// series is not seasonal.
pub(crate) fn deseasonalize(
    y: &[f64],
    m: usize,
    requested: DecompositionType,
) -> Option<(DecompositionType, Vec<f64>)> {
    if !is_seasonal(y, m) {
        return None;
    }
    let positive = y.iter().all(|v| *v > 0.0);
    let mut kind = requested;
    if kind == DecompositionType::Multiplicative && !positive {
        kind = DecompositionType::Additive;
    }
    let mut season = seasonal_component(y, m, kind);
    if kind == DecompositionType::Multiplicative && season.iter().any(|s| *s < 0.01) {
        kind = DecompositionType::Additive;
        season = seasonal_component(y, m, kind);
    }
    Some((kind, season))
}

/// `y` with the seasonal component removed.
pub(crate) fn remove(y: &[f64], season: &[f64], kind: DecompositionType) -> Vec<f64> {
    y.iter()
        .zip(season)
        .map(|(v, s)| match kind {
            DecompositionType::Multiplicative => v / s,
            DecompositionType::Additive => v - s,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acf_matches_the_definition() {
        // y = 1, 2, 3, 4: mean 2.5, deviations −1.5, −0.5, 0.5, 1.5, c0 = 5;
        // lag 1: (−1.5·−0.5 + −0.5·0.5 + 0.5·1.5) / 5 = 1.25 / 5 = 0.25.
        let r = acf(&[1.0, 2.0, 3.0, 4.0], 1);
        assert!((r[0] - 0.25).abs() < 1e-15);
    }

    #[test]
    fn a_clear_season_is_detected_and_recovered() {
        // Period 4 multiplicative pattern on a flat level of 10: the test fires and the
        // indices are the pattern normalized to mean 1.
        let pattern = [0.5, 1.0, 1.5, 1.0];
        let y: Vec<f64> = (0..40).map(|t| 10.0 * pattern[t % 4]).collect();
        assert!(is_seasonal(&y, 4));
        let (kind, s) = deseasonalize(&y, 4, DecompositionType::Multiplicative).unwrap();
        assert_eq!(kind, DecompositionType::Multiplicative);
        for t in 0..8 {
            assert!((s[t] - pattern[t % 4]).abs() < 1e-12, "{t}: {}", s[t]);
        }
        // Too short (fewer than two seasons) or season < 4: no test.
        assert!(!is_seasonal(&y[..7], 4));
        assert!(!is_seasonal(&y, 3));
        // Constant data: no season.
        assert!(!is_seasonal(&[3.0; 40], 4));
    }

    #[test]
    fn non_positive_data_falls_back_to_additive() {
        let pattern = [-1.0, 0.0, 1.0, 0.0];
        let y: Vec<f64> = (0..40).map(|t| pattern[t % 4]).collect();
        let (kind, s) = deseasonalize(&y, 4, DecompositionType::Multiplicative).unwrap();
        assert_eq!(kind, DecompositionType::Additive);
        assert!((s[0] + 1.0).abs() < 1e-12);
    }
}
