//! The Diebold–Mariano test and the Student-t tail against numpy/scipy reference values produced by
//! `tools/reference/dm/dm_reference.py` (fixture `tests/fixtures/dm_reference.json`).
#![allow(clippy::unwrap_used)]

use nt_eval::dm::{diebold_mariano, student_t_two_sided};
use serde_json::Value;

fn fixture() -> Value {
    let text = include_str!("fixtures/dm_reference.json");
    serde_json::from_str(text).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn dm_statistic_and_p_value_match_scipy() {
    let fx = fixture();
    for case in fx["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let h = case["h"].as_u64().unwrap() as usize;
        let model = floats(&case["loss_model"]);
        let reference = floats(&case["loss_ref"]);
        let d: Vec<f64> = model.iter().zip(&reference).map(|(m, r)| m - r).collect();
        let dm = diebold_mariano(&d, h, "squared").unwrap();
        let stat = case["statistic"].as_f64().unwrap();
        let p = case["p_value"].as_f64().unwrap();
        // The statistic is a few sums: equal to ~1e-12 relative. The p-value goes through the
        // incomplete beta (continued fraction) and spans 0.67 down to 1.6e-19: 1e-9 relative.
        assert!(
            (dm.statistic - stat).abs() <= 1e-12 * stat.abs().max(1.0),
            "{name}: {} vs {stat}",
            dm.statistic
        );
        assert!(
            (dm.p_value - p).abs() <= 1e-9 * p,
            "{name}: p {} vs {p}",
            dm.p_value
        );
        assert_eq!((dm.n, dm.lags), (d.len(), h - 1), "{name}");
    }
}

#[test]
fn student_t_tail_matches_scipy() {
    let fx = fixture();
    for row in fx["t_tail"].as_array().unwrap() {
        let (t, df, p) = (
            row["t"].as_f64().unwrap(),
            row["df"].as_f64().unwrap(),
            row["p"].as_f64().unwrap(),
        );
        let ours = student_t_two_sided(t, df);
        assert!(
            (ours - p).abs() <= 1e-11 * p.max(1e-300),
            "t {t} df {df}: {ours} vs scipy {p}"
        );
    }
}
