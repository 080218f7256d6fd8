//! MACD: difference of two exponential moving averages, its signal line and histogram.

/// Exponential moving average as pandas `ewm(span, adjust=False).mean()`: `alpha = 2/(span+1)`,
/// `y_0 = x_0`, `y_t = (1 - alpha) y_{t-1} + alpha x_t`. Defined from index 0 (no warm-up of its
/// own); a NaN input makes every later value NaN. `span` must be ≥ 1.
pub fn ema(values: &[f64], span: usize) -> Vec<f64> {
    let alpha = 2.0 / (span.max(1) as f64 + 1.0);
    let mut out = Vec::with_capacity(values.len());
    let mut prev = f64::NAN;
    for (t, &x) in values.iter().enumerate() {
        prev = if t == 0 {
            x
        } else {
            (1.0 - alpha) * prev + alpha * x
        };
        out.push(prev);
    }
    out
}

/// The three MACD series, one value per input row.
#[derive(Debug, Clone, PartialEq)]
pub struct Macd {
    /// `EMA(fast) - EMA(slow)`.
    pub line: Vec<f64>,
    /// `EMA(signal)` of the (unmasked) line.
    pub signal: Vec<f64>,
    /// `line - signal`.
    pub histogram: Vec<f64>,
}

/// MACD with pandas-style EMAs (see [`ema`]; the usual 12, 26, 9).
///
/// The EMAs start at the first value, exactly as `ewm(span, adjust=False)`, but values computed
/// from too little history are masked: warm-up is `slow - 1` NaN values for the line and
/// `slow + signal - 2` for the signal and histogram. The signal EMA runs over the unmasked line
/// from index 0 (as pandas computes it), so masking changes no later value. Requires
/// `1 ≤ fast < slow` and `signal ≥ 1` ([`Feature`](super::Feature) checks it).
pub fn macd(values: &[f64], fast: usize, slow: usize, signal: usize) -> Macd {
    let f = ema(values, fast);
    let s = ema(values, slow);
    let mut line: Vec<f64> = f.iter().zip(&s).map(|(a, b)| a - b).collect();
    let mut sig = ema(&line, signal);
    let mut histogram: Vec<f64> = line.iter().zip(&sig).map(|(m, g)| m - g).collect();
    let line_warmup = slow.saturating_sub(1).min(values.len());
    let signal_warmup = (slow + signal).saturating_sub(2).min(values.len());
    line[..line_warmup].fill(f64::NAN);
    sig[..signal_warmup].fill(f64::NAN);
    histogram[..signal_warmup].fill(f64::NAN);
    Macd {
        line,
        signal: sig,
        histogram,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ema_matches_the_recursion() {
        // span 3 → alpha 0.5: 1, (1+3)/2 = 2, (2+5)/2 = 3.5.
        assert_eq!(ema(&[1.0, 3.0, 5.0], 3), vec![1.0, 2.0, 3.5]);
        assert!(ema(&[], 3).is_empty());
    }

    #[test]
    fn macd_masks_warm_up_and_keeps_identities() {
        let x: Vec<f64> = (0..40)
            .map(|i| 100.0 + (i as f64 * 0.3).sin() * 5.0)
            .collect();
        let m = macd(&x, 3, 6, 4);
        assert!(m.line[..5].iter().all(|v| v.is_nan()) && !m.line[5].is_nan());
        assert!(m.signal[..8].iter().all(|v| v.is_nan()) && !m.signal[8].is_nan());
        for t in 8..x.len() {
            assert!((m.histogram[t] - (m.line[t] - m.signal[t])).abs() < 1e-12);
        }
        // A constant series has a zero MACD once defined.
        let c = macd(&[7.0; 30], 12, 26, 3);
        assert_eq!(c.line[25], 0.0);
        assert_eq!(c.histogram[27], 0.0);
    }
}
