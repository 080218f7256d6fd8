//! Forecast accuracy metrics over paired `actual` / `forecast` slices.
//!
//! Every function checks that its slices have equal, non-zero length and returns
//! [`Error::LengthMismatch`] or [`Error::InsufficientHistory`] otherwise. Percent metrics are in
//! percent (0–100, sMAPE 0–200).

use crate::{Error, Result};

fn check_pair(what: &str, actual: &[f64], forecast: &[f64]) -> Result<()> {
    if actual.len() != forecast.len() {
        return Err(Error::LengthMismatch {
            what: format!("{what}: forecast against actual"),
            expected: actual.len(),
            got: forecast.len(),
        });
    }
    if actual.is_empty() {
        return Err(Error::InsufficientHistory { needed: 1, got: 0 });
    }
    Ok(())
}

fn mean_of(actual: &[f64], forecast: &[f64], f: impl Fn(f64, f64) -> f64) -> f64 {
    actual
        .iter()
        .zip(forecast)
        .map(|(a, p)| f(*a, *p))
        .sum::<f64>()
        / actual.len() as f64
}

/// Mean absolute error: mean |y − ŷ|.
pub fn mae(actual: &[f64], forecast: &[f64]) -> Result<f64> {
    check_pair("MAE", actual, forecast)?;
    Ok(mean_of(actual, forecast, |a, p| (a - p).abs()))
}

/// Mean squared error: mean (y − ŷ)².
pub fn mse(actual: &[f64], forecast: &[f64]) -> Result<f64> {
    check_pair("MSE", actual, forecast)?;
    Ok(mean_of(actual, forecast, |a, p| (a - p) * (a - p)))
}

/// Root mean squared error: √MSE.
pub fn rmse(actual: &[f64], forecast: &[f64]) -> Result<f64> {
    mse(actual, forecast).map(f64::sqrt)
}

/// Mean absolute percentage error, in percent: 100 · mean |(y − ŷ) / y| over the steps where
/// y ≠ 0 (a percent error is undefined at zero). An error if every actual is zero.
pub fn mape(actual: &[f64], forecast: &[f64]) -> Result<f64> {
    check_pair("MAPE", actual, forecast)?;
    let terms: Vec<f64> = actual
        .iter()
        .zip(forecast)
        .filter(|(a, _)| **a != 0.0)
        .map(|(a, p)| ((a - p) / a).abs())
        .collect();
    if terms.is_empty() {
        return Err(Error::invalid(
            "actual",
            "MAPE is undefined: every actual value is zero",
        ));
    }
    Ok(100.0 * terms.iter().sum::<f64>() / terms.len() as f64)
}

/// Symmetric MAPE, in percent (0–200): 100 · mean 2|y − ŷ| / (|y| + |ŷ|), a term being 0 when
/// both values are 0.
pub fn smape(actual: &[f64], forecast: &[f64]) -> Result<f64> {
    check_pair("sMAPE", actual, forecast)?;
    Ok(100.0
        * mean_of(actual, forecast, |a, p| {
            let denom = a.abs() + p.abs();
            if denom == 0.0 {
                0.0
            } else {
                2.0 * (a - p).abs() / denom
            }
        }))
}

/// The in-sample scale of MASE: mean |y_t − y_{t−season}| over `insample` (the training data).
/// An error when `insample` has no more than `season` values or is constant at that lag.
pub fn seasonal_naive_scale(insample: &[f64], season: usize) -> Result<f64> {
    let season = season.max(1);
    if insample.len() <= season {
        return Err(Error::InsufficientHistory {
            needed: season + 1,
            got: insample.len(),
        });
    }
    let diffs = &insample[season..];
    let scale = diffs
        .iter()
        .zip(insample)
        .map(|(later, earlier)| (later - earlier).abs())
        .sum::<f64>()
        / diffs.len() as f64;
    if scale == 0.0 || !scale.is_finite() {
        return Err(Error::invalid(
            "insample",
            format!(
                "MASE is undefined: the in-sample seasonal-naive error at lag {season} is {scale}"
            ),
        ));
    }
    Ok(scale)
}

/// Mean absolute scaled error (Hyndman & Koehler, 2006): MAE divided by the in-sample MAE of the
/// seasonal naive forecast with period `season` (1 = random walk). Below 1 means the errors are
/// smaller than that naive forecast's one-step errors *inside the training data*; it does not
/// mean the model beats the random walk out of sample (an H-step random walk often scores above
/// or below 1 itself): compare against the random walk's own scores for that.
pub fn mase(actual: &[f64], forecast: &[f64], insample: &[f64], season: usize) -> Result<f64> {
    Ok(mae(actual, forecast)? / seasonal_naive_scale(insample, season)?)
}

/// Counts of correctly predicted directions: for each step, the direction of `actual` relative to
/// `reference` (the last observed value at the forecast origin) against that of `forecast`.
/// Steps where the actual did not move are left out. Returns `(hits, counted)`.
pub fn directional_hits(
    actual: &[f64],
    forecast: &[f64],
    reference: f64,
) -> Result<(usize, usize)> {
    check_pair("directional accuracy", actual, forecast)?;
    let mut hits = 0;
    let mut counted = 0;
    for (a, p) in actual.iter().zip(forecast) {
        let da = a - reference;
        if da == 0.0 {
            continue;
        }
        counted += 1;
        if da.signum() == (p - reference).signum() && p - reference != 0.0 {
            hits += 1;
        }
    }
    Ok((hits, counted))
}

/// Fraction (0–1) of steps whose direction from `reference` the forecast got right; see
/// [`directional_hits`]. An error when the actual never moved.
pub fn directional_accuracy(actual: &[f64], forecast: &[f64], reference: f64) -> Result<f64> {
    let (hits, counted) = directional_hits(actual, forecast, reference)?;
    if counted == 0 {
        return Err(Error::invalid(
            "actual",
            "directional accuracy is undefined: the actual never moved",
        ));
    }
    Ok(hits as f64 / counted as f64)
}

/// Pinball (quantile) loss of the `q`-quantile forecast: mean of max(q·e, (q−1)·e), e = y − ŷ.
pub fn pinball(actual: &[f64], quantile_forecast: &[f64], q: f64) -> Result<f64> {
    check_pair("pinball loss", actual, quantile_forecast)?;
    if !(q > 0.0 && q < 1.0) {
        return Err(Error::invalid(
            "quantile",
            format!("{q} is not strictly between 0 and 1"),
        ));
    }
    Ok(mean_of(actual, quantile_forecast, |a, p| {
        let e = a - p;
        (q * e).max((q - 1.0) * e)
    }))
}

/// Fraction (0–1) of actual values inside `[lower, upper]` (bounds included).
pub fn interval_coverage(actual: &[f64], lower: &[f64], upper: &[f64]) -> Result<f64> {
    check_pair("interval coverage (lower)", actual, lower)?;
    check_pair("interval coverage (upper)", actual, upper)?;
    let inside = actual
        .iter()
        .zip(lower.iter().zip(upper))
        .filter(|(a, (lo, hi))| **lo <= **a && **a <= **hi)
        .count();
    Ok(inside as f64 / actual.len() as f64)
}

/// Continuous ranked probability score of the empirical distribution of `samples` (one draw
/// per sample path at one step) for the observed value `actual`:
/// `CRPS = E|X − y| − ½ E|X − X'|` with X, X' independent draws from the samples (the
/// energy form of Gneiting and Raftery, 2007; the same estimator as `properscoring`'s
/// `crps_ensemble`). It equals the absolute error for a single sample and is in the units of
/// the data; lower is better. Computed in `O(n log n)` from the sorted samples:
/// `E|X − X'| = (2/n²) Σᵢ (2i − n − 1) x₍ᵢ₎` (1-based order statistics).
pub fn crps_samples(samples: &[f64], actual: f64) -> Result<f64> {
    if samples.is_empty() {
        return Err(Error::invalid("samples", "CRPS needs at least one sample"));
    }
    if !actual.is_finite() || samples.iter().any(|v| !v.is_finite()) {
        return Err(Error::invalid(
            "samples",
            "CRPS needs finite samples and a finite actual value",
        ));
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len() as f64;
    let abs_error = sorted.iter().map(|x| (x - actual).abs()).sum::<f64>() / n;
    let spread = sorted
        .iter()
        .enumerate()
        .map(|(i, x)| (2.0 * (i as f64 + 1.0) - n - 1.0) * x)
        .sum::<f64>()
        * 2.0
        / (n * n);
    Ok(abs_error - 0.5 * spread)
}

#[cfg(test)]
mod tests {
    use super::*;

    const Y: [f64; 4] = [1.0, 2.0, 3.0, 4.0];
    const P: [f64; 4] = [1.5, 1.5, 3.0, 6.0];

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    #[test]
    fn point_metrics_match_hand_computation() {
        // errors y - p: -0.5, 0.5, 0, -2
        close(mae(&Y, &P).unwrap(), 3.0 / 4.0);
        close(mse(&Y, &P).unwrap(), (0.25 + 0.25 + 0.0 + 4.0) / 4.0);
        close(rmse(&Y, &P).unwrap(), (4.5f64 / 4.0).sqrt());
        // |e/y|: 0.5, 0.25, 0, 0.5 -> mean 0.3125
        close(mape(&Y, &P).unwrap(), 31.25);
        // 2|e|/(|y|+|p|): 1/2.5, 1/3.5, 0, 4/10
        close(
            smape(&Y, &P).unwrap(),
            100.0 * (0.4 + 1.0 / 3.5 + 0.0 + 0.4) / 4.0,
        );
    }

    #[test]
    fn mape_skips_zero_actuals_and_smape_handles_double_zero() {
        close(mape(&[0.0, 2.0], &[1.0, 1.0]).unwrap(), 50.0);
        assert!(mape(&[0.0], &[1.0]).is_err());
        close(smape(&[0.0, 1.0], &[0.0, 1.0]).unwrap(), 0.0);
    }

    #[test]
    fn mase_scales_by_in_sample_seasonal_naive() {
        // in-sample lag-1 diffs of [1, 3, 2, 6]: 2, 1, 4 -> scale 7/3
        let insample = [1.0, 3.0, 2.0, 6.0];
        close(mase(&Y, &P, &insample, 1).unwrap(), 0.75 / (7.0 / 3.0));
        // lag 2 diffs: |2-1|, |6-3| -> scale 2
        close(mase(&Y, &P, &insample, 2).unwrap(), 0.75 / 2.0);
        assert!(mase(&Y, &P, &[1.0, 1.0, 1.0], 1).is_err());
        assert!(mase(&Y, &P, &[1.0], 1).is_err());
    }

    #[test]
    fn directional_accuracy_counts_moves_from_the_origin() {
        // reference 2: actual moves -, 0 (skipped), +, + ; forecast moves -, -, +, 0
        let (hits, counted) =
            directional_hits(&[1.0, 2.0, 3.0, 4.0], &[1.5, 1.0, 2.5, 2.0], 2.0).unwrap();
        assert_eq!((hits, counted), (2, 3));
        close(
            directional_accuracy(&[1.0, 2.0, 3.0, 4.0], &[1.5, 1.0, 2.5, 2.0], 2.0).unwrap(),
            2.0 / 3.0,
        );
        assert!(directional_accuracy(&[2.0], &[3.0], 2.0).is_err());
    }

    #[test]
    fn pinball_and_coverage() {
        // q = 0.9, e = y - p: -0.5 -> 0.05, 0.5 -> 0.45, 0 -> 0, -2 -> 0.2
        close(
            pinball(&Y, &P, 0.9).unwrap(),
            (0.05 + 0.45 + 0.0 + 0.2) / 4.0,
        );
        // at q = 0.5 pinball is half the MAE
        close(pinball(&Y, &P, 0.5).unwrap(), 0.375);
        close(
            interval_coverage(&Y, &[0.0, 2.0, 3.5, 0.0], &[1.0, 2.5, 4.0, 3.0]).unwrap(),
            0.5,
        );
        assert!(pinball(&Y, &P, 1.0).is_err());
    }

    #[test]
    fn mismatched_or_empty_inputs_are_errors() {
        assert!(mae(&[1.0], &[1.0, 2.0]).is_err());
        assert!(mse(&[], &[]).is_err());
        assert!(interval_coverage(&[1.0], &[0.0], &[]).is_err());
    }

    #[test]
    fn crps_of_samples_matches_the_pairwise_definition() {
        // One sample: the absolute error.
        close(crps_samples(&[2.0], 3.5).unwrap(), 1.5);
        // Samples 0, 1, 3 and y = 2: E|X-y| = (2 + 1 + 1)/3; E|X-X'| over all 9 ordered pairs
        // = 2(1 + 3 + 2)/9 = 12/9; CRPS = 4/3 - 6/9 = 2/3 (the brute-force double sum).
        let s = [3.0, 0.0, 1.0];
        let brute = s.iter().map(|x: &f64| (x - 2.0).abs()).sum::<f64>() / 3.0
            - 0.5
                * s.iter()
                    .flat_map(|a| s.iter().map(move |b| (a - b).abs()))
                    .sum::<f64>()
                / 9.0;
        close(brute, 2.0 / 3.0);
        close(crps_samples(&s, 2.0).unwrap(), 2.0 / 3.0);
        assert!(crps_samples(&[], 1.0).is_err());
        assert!(crps_samples(&[f64::NAN], 1.0).is_err());
    }
}
