//! Rolling mean and standard deviation over a trailing window (pandas `rolling(w)`).

/// Mean of the `window` values ending at each index (`x[t-w+1..=t]`). Warm-up: the first
/// `window - 1` values are NaN; a window containing a NaN gives NaN (pandas' default
/// `min_periods = window`). Each window is summed afresh (O(n·w)), so no rounding error
/// accumulates along the series. `window` must be ≥ 1 ([`Feature`](super::Feature) checks it).
pub fn rolling_mean(values: &[f64], window: usize) -> Vec<f64> {
    rolling(values, window, |w| w.iter().sum::<f64>() / w.len() as f64)
}

/// Sample standard deviation (ddof = 1, as pandas `rolling(w).std()`) of the `window` values
/// ending at each index. Warm-up: the first `window - 1` values are NaN; with `window == 1` every
/// value is NaN (one value has no sample spread), as in pandas.
pub fn rolling_std(values: &[f64], window: usize) -> Vec<f64> {
    rolling(values, window, sample_std)
}

/// Sample standard deviation (ddof = 1) of `w`, two-pass; NaN for fewer than two values.
pub(crate) fn sample_std(w: &[f64]) -> f64 {
    if w.len() < 2 {
        return f64::NAN;
    }
    let mean = w.iter().sum::<f64>() / w.len() as f64;
    let ss = w.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>();
    (ss / (w.len() - 1) as f64).sqrt()
}

/// Applies `f` to every trailing window of length `window`; NaN before the first full window.
pub(crate) fn rolling(values: &[f64], window: usize, f: impl Fn(&[f64]) -> f64) -> Vec<f64> {
    let window = window.max(1);
    (0..values.len())
        .map(|t| {
            if t + 1 < window {
                f64::NAN
            } else {
                f(&values[t + 1 - window..=t])
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use nt_testing::assert_all_close;

    #[test]
    fn hand_computed_windows() {
        let x = [1.0, 2.0, 4.0, 8.0];
        let nan = f64::NAN;
        // Means of (1,2,4) and (2,4,8): 7/3 and 14/3.
        assert_all_close(
            &rolling_mean(&x, 3),
            &[nan, nan, 7.0 / 3.0, 14.0 / 3.0],
            1e-12,
            0.0,
        );
        // Sample std of (1,2): sqrt(0.5); of (2,4): sqrt(2); of (4,8): sqrt(8).
        assert_all_close(
            &rolling_std(&x, 2),
            &[nan, 0.5f64.sqrt(), 2f64.sqrt(), 8f64.sqrt()],
            1e-12,
            0.0,
        );
        assert!(rolling_std(&x, 1).iter().all(|v| v.is_nan()));
        assert_eq!(rolling_mean(&x, 1), x.to_vec());
        // A NaN inside the window poisons exactly the windows containing it.
        let m = rolling_mean(&[1.0, nan, 3.0, 5.0], 2);
        assert!(m[1].is_nan() && m[2].is_nan() && m[3] == 4.0);
    }
}
