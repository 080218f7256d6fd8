//! Returns: simple (`x_t / x_{t-1} - 1`, pandas `pct_change`) and log (`ln(x_t / x_{t-1})`).

/// Simple returns `x[t] / x[t-1] - 1`. Warm-up: index 0 is NaN (no previous value). A zero
/// previous value gives ±inf or NaN, as pandas does; a NaN input makes its own and the next
/// return NaN.
pub fn simple_returns(values: &[f64]) -> Vec<f64> {
    let mut out = Vec::with_capacity(values.len());
    if !values.is_empty() {
        out.push(f64::NAN);
    }
    out.extend(values.windows(2).map(|w| w[1] / w[0] - 1.0));
    out
}

/// Log returns `ln(x[t] / x[t-1])`. Warm-up: index 0 is NaN. Non-positive prices give NaN or
/// ±inf (the logarithm is undefined there).
pub fn log_returns(values: &[f64]) -> Vec<f64> {
    let mut out = Vec::with_capacity(values.len());
    if !values.is_empty() {
        out.push(f64::NAN);
    }
    out.extend(values.windows(2).map(|w| (w[1] / w[0]).ln()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use nt_testing::assert_all_close;

    #[test]
    fn hand_computed_returns() {
        // 100 → 110 is +10%, 110 → 99 is -10%.
        let x = [100.0, 110.0, 99.0];
        assert_all_close(&simple_returns(&x), &[f64::NAN, 0.1, -0.1], 1e-12, 0.0);
        assert_all_close(
            &log_returns(&x),
            &[f64::NAN, 1.1f64.ln(), 0.9f64.ln()],
            1e-12,
            0.0,
        );
        assert!(simple_returns(&[]).is_empty());
        assert_eq!(log_returns(&[5.0]).len(), 1);
    }
}
