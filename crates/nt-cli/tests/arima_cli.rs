//! `nt` with ARIMA on a small hourly series (20 days, a daily sine on a slow trend): train a
//! fixed-order seasonal ARIMA from a `--config` file and save it, predict from the saved
//! directory, forecast and backtest by name, and the exit-2 error on an invalid order.
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
    let config = dir.path().join("arima.json");
    // ARIMA(1,1,0)(1,0,0)[24]: one difference for the trend, a seasonal AR for the cycle.
    std::fs::write(
        &config,
        r#"{"model": "arima", "order": [1, 1, 0], "seasonal_order": [1, 0, 0], "season_length": 24}"#,
    )
    .unwrap();
    let model = dir.path().join("m");
    let model_s = model.to_str().unwrap();
    let o = nt(&[
        "train",
        "--data",
        data_s,
        "--config",
        config.to_str().unwrap(),
        "--out",
        model_s,
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

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
    // The next hours continue the level and the daily cycle (the jitter is below 1).
    for (j, p) in point.iter().enumerate() {
        let truth = load(480 + j);
        assert!((p - truth).abs() < 3.0, "step {j}: {p} vs {truth}");
    }
    let lo95 = f["intervals"][1]["lower"][0].as_f64().unwrap();
    let hi95 = f["intervals"][1]["upper"][0].as_f64().unwrap();
    assert!(lo95 < point[0] && point[0] < hi95);

    // Forecast by name (the default AR(1) with mean) fits and forecasts in one go.
    let o = nt(&[
        "forecast", "--data", data_s, "--model", "arima", "-H", "5", "--format", "json",
    ]);
    let doc = ok_json(&o);
    assert_eq!(doc["forecasts"][0]["point"].as_array().unwrap().len(), 5);

    // Backtest by name on the last three days: it scores without an error.
    let o = nt(&[
        "backtest",
        "--data",
        data_s,
        "--models",
        "arima",
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
    let m = models.iter().find(|m| m["name"] == "arima").unwrap();
    assert!(m["error"].is_null(), "{}", m["error"]);
    assert!(m["scores"]["mae"].as_f64().unwrap().is_finite());
}

#[test]
fn an_invalid_order_exits_2_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let data = hourly_load_csv(dir.path(), 10, load);
    let config = dir.path().join("bad.json");
    // A drift needs exactly one difference.
    std::fs::write(
        &config,
        r#"{"model": "arima", "order": [1, 0, 0], "include_drift": true}"#,
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
    assert!(stderr(&o).contains("include_drift"), "{}", stderr(&o));
}

#[test]
fn autoarima_trains_predicts_and_backtests_by_name() {
    let dir = tempfile::tempdir().unwrap();
    // 10 days of hourly rows; the season (24) comes from the time step.
    let data = hourly_load_csv(dir.path(), 10, load);
    let data_s = data.to_str().unwrap();
    let model = dir.path().join("auto");
    let model_s = model.to_str().unwrap();
    let o = nt(&[
        "train",
        "--data",
        data_s,
        "--model",
        "autoarima",
        "--out",
        model_s,
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    // Loading the directory checks the fitted tag against the spec name.
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
    let point: Vec<f64> = p["forecasts"][0]["point"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(point.len(), 5);
    // The next hours stay within the series' daily swing (amplitude 5) of the truth.
    for (j, p) in point.iter().enumerate() {
        let truth = load(240 + j);
        assert!((p - truth).abs() < 5.0, "step {j}: {p} vs {truth}");
    }

    let o = nt(&[
        "backtest",
        "--data",
        data_s,
        "--models",
        "autoarima",
        "-H",
        "24",
        "--split",
        "rolling",
        "--windows",
        "2",
        "--step",
        "24",
        "--format",
        "json",
    ]);
    let doc = ok_json(&o);
    let models = doc["targets"][0]["models"].as_array().unwrap();
    let m = models.iter().find(|m| m["name"] == "autoarima").unwrap();
    assert!(m["error"].is_null(), "{}", m["error"]);
    assert!(m["scores"]["mae"].as_f64().unwrap().is_finite());
}

#[test]
fn approximation_reaches_autoarima_and_is_refused_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let data = hourly_load_csv(dir.path(), 10, load);
    let data_s = data.to_str().unwrap();
    let model = dir.path().join("auto_off");
    let o = nt(&[
        "train",
        "--data",
        data_s,
        "--model",
        "autoarima",
        "--approximation",
        "off",
        "--out",
        model.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // The saved spec records the choice, so the registry and a reload know how it was searched.
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(model.join("model.json")).unwrap()).unwrap();
    assert_eq!(manifest["spec"]["approximation"], false, "{manifest}");
    // For any other model the flag is a usage error (exit 2) naming it, not silently ignored.
    let o = nt(&[
        "train",
        "--data",
        data_s,
        "--model",
        "ets",
        "--approximation",
        "on",
        "--out",
        dir.path().join("ets").to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--approximation"), "{}", stderr(&o));
}
