//! Relative Strength Index with Wilder's smoothing (as TA-Lib and Wilder, 1978, define it).

/// RSI over `period` price changes, 0–100.
///
/// With changes `d_t = x_t - x_{t-1}`, gains `g_t = max(d_t, 0)` and losses `l_t = max(-d_t, 0)`:
/// the first averages are the simple means of `g_1..=g_n` and `l_1..=l_n` (n = `period`), then
/// Wilder's smoothing `avg_t = (avg_{t-1} * (n - 1) + g_t) / n`; `RSI = 100 - 100 / (1 + G/L)`.
/// When the average loss is 0 the RSI is 100 (50 if the average gain is also 0: a flat series).
///
/// Warm-up: the first `period` values (indices 0..period) are NaN; index `period` is the first
/// value. A NaN input makes every later value NaN (the smoothing is recursive): fill gaps first.
/// `period` must be ≥ 1 ([`Feature`](super::Feature) checks it).
pub fn rsi(values: &[f64], period: usize) -> Vec<f64> {
    let n = period.max(1);
    let mut out = vec![f64::NAN; values.len()];
    if values.len() <= n {
        return out;
    }
    let change = |t: usize| values[t] - values[t - 1];
    let (mut gain, mut loss) = (0.0, 0.0);
    for t in 1..=n {
        let d = change(t);
        gain += d.max(0.0);
        loss += (-d).max(0.0);
        if d.is_nan() {
            gain = f64::NAN;
        }
    }
    let nf = n as f64;
    gain /= nf;
    loss /= nf;
    out[n] = rsi_value(gain, loss);
    for (t, slot) in out.iter_mut().enumerate().skip(n + 1) {
        let d = change(t);
        let (g, l) = if d.is_nan() {
            (f64::NAN, f64::NAN)
        } else {
            (d.max(0.0), (-d).max(0.0))
        };
        gain = (gain * (nf - 1.0) + g) / nf;
        loss = (loss * (nf - 1.0) + l) / nf;
        *slot = rsi_value(gain, loss);
    }
    out
}

fn rsi_value(gain: f64, loss: f64) -> f64 {
    if gain.is_nan() || loss.is_nan() {
        f64::NAN
    } else if loss == 0.0 {
        if gain == 0.0 {
            50.0
        } else {
            100.0
        }
    } else {
        100.0 - 100.0 / (1.0 + gain / loss)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_rsi() {
        // Changes +2, -1, +1 with period 2: first averages gain (2+0)/2 = 1, loss (0+1)/2 = 0.5,
        // RSI = 100 - 100/3 = 66.67; then gain (1*1+1)/2 = 1, loss (0.5*1+0)/2 = 0.25 → RS 4 → 80.
        let r = rsi(&[10.0, 12.0, 11.0, 12.0], 2);
        assert!(r[0].is_nan() && r[1].is_nan());
        assert!((r[2] - (100.0 - 100.0 / 3.0)).abs() < 1e-12, "{}", r[2]);
        assert!((r[3] - 80.0).abs() < 1e-12, "{}", r[3]);
        // Only rises → 100; flat → 50; too short → all NaN.
        assert_eq!(rsi(&[1.0, 2.0, 3.0], 2)[2], 100.0);
        assert_eq!(rsi(&[1.0, 1.0, 1.0], 2)[2], 50.0);
        assert!(rsi(&[1.0, 2.0], 2).iter().all(|v| v.is_nan()));
        // A NaN poisons what follows it.
        let r = rsi(&[1.0, 2.0, 3.0, f64::NAN, 5.0, 6.0], 2);
        assert_eq!(r[2], 100.0);
        assert!(r[3..].iter().all(|v| v.is_nan()));
    }
}
