//! Every feature on the first 300 rows of GOOG's Close, compared to pandas.
//!
//! The expected values come from `tools/reference/features/make_features.py` (pandas 3.1.1,
//! numpy 2.4.6), stored in `tests/fixtures/goog_features.csv`; regenerate them with that script.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use nt_data::{add_features, load, Feature, LoadOptions};
use nt_testing::assert_all_close;

const FEATURES: &[&str] = &[
    "return",
    "log_return",
    "rolling_mean:5",
    "rolling_std:5",
    "rolling_mean:20",
    "rolling_std:20",
    "rsi:14",
    "macd:12:26:9",
    "bollinger:20:2",
    "lag:3",
    "hour",
    "dow",
    "month",
];

/// The fixture as (header, columns); empty cells are NaN.
fn fixture() -> (Vec<String>, Vec<Vec<f64>>) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/goog_features.csv");
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    let mut cols = vec![Vec::new(); header.len()];
    for line in lines {
        for (k, cell) in line.split(',').enumerate().skip(1) {
            cols[k].push(if cell.is_empty() {
                f64::NAN
            } else {
                cell.parse().unwrap()
            });
        }
    }
    (header, cols)
}

#[test]
fn features_match_pandas_on_goog_close() {
    let goog = nt_testing::shared_data("GOOG.csv");
    let series = load(&goog, &LoadOptions::default()).unwrap().head(300);
    let features: Vec<Feature> = FEATURES.iter().map(|s| s.parse().unwrap()).collect();
    let out = add_features(&series, "Close", &features).unwrap();
    let (header, cols) = fixture();
    assert_eq!(header.len(), 17, "date, Close and 15 feature columns");
    // Same input: the fixture's Close is GOOG's first 300 closes.
    assert_all_close(out.column("Close").unwrap(), &cols[1], 0.0, 0.0);
    // Every fixture column has a Rust counterpart, and vice versa (5 OHLCV + 15 features).
    assert_eq!(out.columns().len(), 5 + 15);
    for (name, expected) in header.iter().zip(&cols).skip(2) {
        let actual = out.column(name).unwrap();
        // 1e-9 absolute: prices are ~100-300, so this is ~1e-11 relative; NaN warm-ups must
        // coincide exactly (assert_all_close treats NaN as equal only to NaN).
        assert_all_close(actual, expected, 1e-9, 0.0);
        let worst = actual
            .iter()
            .zip(expected)
            .filter(|(a, e)| a.is_finite() && e.is_finite())
            .map(|(a, e)| (a - e).abs())
            .fold(0.0f64, f64::max);
        eprintln!("{name}: max |rust - pandas| = {worst:.3e}");
        assert!(
            expected.iter().any(|v| v.is_finite()),
            "{name} has values to compare"
        );
    }
}
