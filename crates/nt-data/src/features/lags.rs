//! Lagged copies of a column.

/// `x[t - k]` at each index `t`. Warm-up: the first `k` values are NaN. `k = 0` returns the
/// input unchanged ([`Feature`](super::Feature) requires `k ≥ 1`).
pub fn lag(values: &[f64], k: usize) -> Vec<f64> {
    (0..values.len())
        .map(|t| if t < k { f64::NAN } else { values[t - k] })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifts_by_k() {
        let l = lag(&[1.0, 2.0, 3.0, 4.0], 2);
        assert!(l[0].is_nan() && l[1].is_nan());
        assert_eq!(&l[2..], &[1.0, 2.0]);
        assert!(lag(&[1.0], 3)[0].is_nan());
    }
}
