//! Shared helpers of the integration tests: the ETTh1 file and the statsforecast fixture.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;

use nt_core::{Column, TimeSeries};

/// ETTh1's `OT` column as an hourly series (timestamps from 2016-07-01 00:00 UTC); panics
/// naming the expected path when the shared file is absent.
pub(crate) fn etth1_ot() -> TimeSeries {
    let path = nt_testing::shared_data("ETTh1.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let ot = header.iter().position(|h| *h == "OT").unwrap();
    let values: Vec<f64> = lines
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').nth(ot).unwrap().parse().unwrap())
        .collect();
    let start = 1_467_331_200_000i64; // 2016-07-01T00:00:00Z
    let timestamps = (0..values.len() as i64)
        .map(|i| start + i * 3_600_000)
        .collect();
    TimeSeries::new(
        timestamps,
        vec![Column {
            name: "OT".into(),
            values,
        }],
    )
    .unwrap()
}

/// The fixture written by tools/reference/statsforecast/make_reference.py.
pub(crate) fn statsforecast_fixture() -> serde_json::Value {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/statsforecast_etth1.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A JSON array of numbers as a vector.
pub(crate) fn floats(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}
