//! Bollinger %b: where a value sits within its Bollinger bands.

use super::rolling::{rolling, sample_std};

/// `%b = (x - lower) / (upper - lower)` with `middle` the rolling mean over `window`,
/// `upper/lower = middle ± k · std` and `std` the rolling sample standard deviation (ddof = 1, as
/// pandas `rolling(w).std()`): 0 on the lower band, 1 on the upper, 0.5 on the middle.
///
/// Warm-up: the first `window - 1` values are NaN. A window of identical values (zero width
/// bands) gives NaN. Requires `window ≥ 2` and `k > 0` ([`Feature`](super::Feature) checks it).
pub fn percent_b(values: &[f64], window: usize, k: f64) -> Vec<f64> {
    rolling(values, window, |w| {
        let mean = w.iter().sum::<f64>() / w.len() as f64;
        let sd = sample_std(w);
        let x = w[w.len() - 1];
        let lower = mean - k * sd;
        let upper = mean + k * sd;
        if sd == 0.0 {
            f64::NAN
        } else {
            (x - lower) / (upper - lower)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_percent_b() {
        // Window (1, 3): mean 2, sample std sqrt(2); with k = 1 the bands are 2 ± 1.414, and
        // x = 3 sits at (3 - 0.586) / 2.828 = 0.8536.
        let b = percent_b(&[1.0, 3.0], 2, 1.0);
        assert!(b[0].is_nan());
        let expected = (3.0 - (2.0 - 2f64.sqrt())) / (2.0 * 2f64.sqrt());
        assert!((b[1] - expected).abs() < 1e-12, "{}", b[1]);
        assert!(percent_b(&[2.0, 2.0, 2.0], 2, 2.0)[2].is_nan());
    }
}
