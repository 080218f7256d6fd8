//! `nt` with the Theta models on a small hourly series (20 days, a daily sine on a slow trend):
//! train and save, predict from the saved directory, forecast by name, backtest all four, and
//! the exit-2 error on a configuration statsforecast does not allow.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{hourly_load_csv, nt, ok_json, stderr};

/// Row `i`: 50 + 0.05 i + 5 sin(2π i / 24) + a deterministic jitter in [0, 1).
fn load(i: usize) -> f64 {
    50.0 + 0.05 * i as f64
        + 5.0 * (i as f64 * std::f64::consts::TAU / 24.0).sin()
        + ((i * 7919) % 13) as f64 / 13.0
}

#[test]
fn train_predict_forecast_and_backtest() {
    let dir = tempfile::tempdir().unwrap();
    let data = hourly_load_csv(dir.path(), 20, load);
    let data_s = data.to_str().unwrap();
    let model = dir.path().join("m");
    let model_s = model.to_str().unwrap();

    let o = nt(&[
        "train",
        "--data",
        data_s,
        "--model",
        "optimized-theta",
        "--out",
        model_s,
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let manifest = std::fs::read_to_string(model.join("model.json")).unwrap();
    // The season comes from the hourly time step.
    assert!(manifest.contains("\"season_length\": 24"), "{manifest}");

    let o = nt(&[
        "predict",
        "--model",
        model_s,
        "--data",
        data_s,
        "--horizon",
        "5",
        "--format",
        "json",
    ]);
    let p = ok_json(&o);
    let f = &p["forecasts"][0];
    let point: Vec<f64> = f["point"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(point.len(), 5);
    // The last row is i = 479 (value ≈ 74 + the sine): the next hours continue the level
    // and its daily cycle, within the 80% band, which lies inside the 95% band.
    let band = |k: usize, side: &str| -> Vec<f64> {
        f["intervals"][k][side]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect()
    };
    let (lo80, hi80, lo95, hi95) = (
        band(0, "lower"),
        band(0, "upper"),
        band(1, "lower"),
        band(1, "upper"),
    );
    for j in 0..5 {
        let truth = load(480 + j);
        assert!(
            (point[j] - truth).abs() < 3.0,
            "step {j}: {} vs {truth}",
            point[j]
        );
        assert!(lo95[j] <= lo80[j] && lo80[j] <= point[j] + 0.5, "step {j}");
        assert!(point[j] - 0.5 <= hi80[j] && hi80[j] <= hi95[j], "step {j}");
    }

    // Forecast by name fits and forecasts in one go.
    let o = nt(&[
        "forecast", "--data", data_s, "--model", "theta", "-H", "5", "--format", "json",
    ]);
    let doc = ok_json(&o);
    assert_eq!(doc["forecasts"][0]["point"].as_array().unwrap().len(), 5);

    // Backtest every Theta model on the last three days: each scores and beats the random
    // walk by a wide margin on this strongly seasonal series.
    let o = nt(&[
        "backtest",
        "--data",
        data_s,
        "--models",
        "theta,optimized-theta,dynamic-theta,dynamic-optimized-theta",
        "-H",
        "24",
        "--split",
        "rolling",
        "--windows",
        "3",
        "--step",
        "24",
        "--format",
        "json",
    ]);
    let doc = ok_json(&o);
    let models = doc["targets"][0]["models"].as_array().unwrap();
    for name in [
        "theta",
        "optimized-theta",
        "dynamic-theta",
        "dynamic-optimized-theta",
    ] {
        let m = models
            .iter()
            .find(|m| m["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing from {models:?}"));
        assert!(m["error"].is_null(), "{name}: {}", m["error"]);
        let skill = m["scores"]["skill_mae"].as_f64().unwrap();
        assert!(skill > 0.5, "{name}: skill {skill}");
    }
}

#[test]
fn a_fixed_theta_on_the_standard_model_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let data = hourly_load_csv(dir.path(), 10, load);
    let config = dir.path().join("bad.json");
    std::fs::write(
        &config,
        r#"{"model": "theta", "season_length": 24, "theta": 3.0}"#,
    )
    .unwrap();
    let o = nt(&[
        "train",
        "--data",
        data.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--out",
        dir.path().join("m").to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let text = stderr(&o);
    assert!(
        text.contains("theta") && text.contains("optimized-theta"),
        "{text}"
    );
}
