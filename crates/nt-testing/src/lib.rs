#![doc = include_str!("../README.md")]

pub mod synthetic;

/// Panics, naming the first differing index, unless `actual` and `expected` have the same length
/// and every pair satisfies `|a - e| <= atol + rtol * |e|`. NaN equals NaN.
#[track_caller]
pub fn assert_all_close(actual: &[f64], expected: &[f64], atol: f64, rtol: f64) {
    assert_eq!(
        actual.len(),
        expected.len(),
        "length differs: actual {} vs expected {}",
        actual.len(),
        expected.len()
    );
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        let both_nan = a.is_nan() && e.is_nan();
        let close = (a - e).abs() <= atol + rtol * e.abs();
        assert!(
            both_nan || close,
            "index {i}: actual {a} vs expected {e} (|diff| {} > atol {atol} + rtol {rtol} * |e|)",
            (a - e).abs()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_values_pass() {
        assert_all_close(&[1.0, f64::NAN], &[1.0 + 1e-12, f64::NAN], 1e-9, 0.0);
    }

    #[test]
    #[should_panic(expected = "index 1")]
    fn a_far_value_names_its_index() {
        assert_all_close(&[1.0, 2.0], &[1.0, 2.1], 1e-6, 1e-6);
    }
}
