//! `nt train --model hybrid` end to end: the model directory holds the hybrid spec beside the
//! neural weights, `nt predict` answers the same bits from the directory, the registry and
//! `nt serve`, `nt backtest` scores it, misused flags exit 2 naming the flag, and a backtest
//! refitted at every origin gives the same forecasts when every value after an origin is
//! perturbed (no look-ahead).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

mod common;
use common::{http, nt, ok_json, stderr};

/// Days of hourly rows: 31 (744 rows), more than the hybrid's window of 4 weeks (672 rows).
const DAYS: usize = 31;

/// An hourly load with a daily cycle, a weekly one and a deterministic wiggle.
fn value(i: usize) -> f64 {
    common::daily_sine(i)
        + 2.0 * (i as f64 * std::f64::consts::TAU / 168.0).cos()
        + ((i * 7919) % 13) as f64 / 13.0
}

#[test]
fn a_hybrid_trains_registers_predicts_and_serves_the_same_bits() {
    let dir = tempfile::tempdir().unwrap();
    let data = common::hourly_load_csv(dir.path(), DAYS, value);
    let (out, reg) = (dir.path().join("m"), dir.path().join("reg"));
    let (data_s, out_s, reg_s) = (
        data.to_str().unwrap(),
        out.to_str().unwrap(),
        reg.to_str().unwrap(),
    );
    let o = nt(&[
        "train",
        "--data",
        data_s,
        "--model",
        "hybrid",
        "--neural",
        "dlinear",
        "--horizon",
        "6",
        "--input-size",
        "24",
        "--max-steps",
        "10",
        "--out",
        out_s,
        "--register",
        "load",
        "--registry",
        reg_s,
        "--json",
        "--quiet",
    ]);
    let summary = ok_json(&o);
    assert_eq!(summary["model"], "hybrid", "{summary}");
    assert_eq!(summary["steps"], 10, "{summary}");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("model.json")).unwrap()).unwrap();
    let spec = &manifest["spec"];
    // Hourly data: the day and the week, from the time step.
    assert_eq!(
        spec["decompose"]["mstl"]["seasons"],
        serde_json::json!([24, 168])
    );
    assert_eq!(spec["neural"]["model"], "dlinear", "{spec}");
    assert_eq!(spec["neural"]["train"]["max_steps"], 10, "{spec}");
    // One payload: the neural weights.
    assert_eq!(manifest["weights_file"], "weights.safetensors");

    let o = nt(&[
        "predict", "--model", out_s, "--data", data_s, "--format", "json",
    ]);
    let from_dir = ok_json(&o);
    let o = nt(&[
        "predict",
        "--model",
        "load@1",
        "--registry",
        reg_s,
        "--data",
        data_s,
        "--format",
        "json",
    ]);
    let from_registry = ok_json(&o);
    let point = from_dir["forecasts"][0]["point"].clone();
    assert_eq!(point.as_array().map(Vec::len), Some(6), "{from_dir}");
    assert_eq!(point, from_registry["forecasts"][0]["point"]);

    // nt serve: the last 700 values (the window reads 672 of them) give the same forecast.
    let o = nt(&["registry", "--registry", reg_s, "promote", "load@1"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut child = Command::new(env!("CARGO_BIN_EXE_nt"))
        .args(["serve", "--registry", reg_s, "--addr", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines() {
            let line = line.unwrap_or_default();
            if let Some(a) = line.split("listening on http://").nth(1) {
                let _ = tx.send(a.trim().to_string());
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the server reports its address");
    let start = Instant::now();
    while http(&addr, "GET", "/ready", None, None).0 != 200 {
        assert!(start.elapsed() < Duration::from_secs(30), "never ready");
        std::thread::sleep(Duration::from_millis(50));
    }
    let n = 24 * DAYS;
    let values: Vec<f64> = (n - 700..n).map(value).collect();
    let req = serde_json::json!({"history": {"values": values}, "horizon": 6}).to_string();
    let (s, body) = http(&addr, "POST", "/v1/models/load/predict", Some(&req), None);
    // 100 values are fewer than the window: refused as bad input.
    let short = serde_json::json!({"history": {"values": &values[..100]}, "horizon": 6});
    let (s_short, body_short) = http(
        &addr,
        "POST",
        "/v1/models/load/predict",
        Some(&short.to_string()),
        None,
    );
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(s, 200, "{body}");
    let j: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(j["point"], point, "{body}");
    assert!((400..500).contains(&s_short), "{s_short}: {body_short}");
}

#[test]
fn backtest_and_forecast_take_the_hybrid_flags_and_misuse_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let data = common::hourly_load_csv(dir.path(), DAYS, value);
    let data_s = data.to_str().unwrap();
    let o = nt(&[
        "backtest",
        "--data",
        data_s,
        "--models",
        "naive,hybrid",
        "--neural",
        "dlinear",
        "--seasons",
        "24",
        "--horizon",
        "6",
        "--input-size",
        "24",
        "--max-steps",
        "5",
        "--split",
        "rolling",
        "--windows",
        "4",
        "--format",
        "json",
        "--quiet",
    ]);
    let r = ok_json(&o);
    let text = r.to_string();
    assert!(text.contains("\"hybrid\""), "{text}");
    let out = dir.path().join("m");
    let train = [
        "train",
        "--data",
        data_s,
        "--out",
        out.to_str().unwrap(),
        "--horizon",
        "6",
        "--input-size",
        "24",
    ];
    let backtest = ["backtest", "--data", data_s, "--horizon", "6"];
    let cases: [(&[&str], &[&str], &str); 5] = [
        // The hybrid's flags without the hybrid.
        (
            &train,
            &["--model", "dlinear", "--neural", "nhits"],
            "--neural",
        ),
        (
            &backtest,
            &["--models", "naive", "--seasons", "24,168"],
            "--seasons",
        ),
        // A season of one row, a classical "neural" model, the hybrid inside itself.
        (
            &train,
            &["--model", "hybrid", "--seasons", "1,24"],
            "--seasons",
        ),
        (
            &train,
            &["--model", "hybrid", "--neural", "ets"],
            "--neural ets",
        ),
        (
            &train,
            &["--model", "hybrid", "--neural", "hybrid"],
            "--neural hybrid",
        ),
    ];
    for (base, extra, expected) in cases {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        let o = nt(&args);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {e}");
        assert!(e.contains(expected), "{args:?}: {e}");
    }
    // hybrid is in the model lists of --help.
    let o = nt(&["train", "--help"]);
    assert!(common::stdout(&o).contains("hybrid"));
    let o = nt(&["backtest", "--help"]);
    assert!(common::stdout(&o).contains("hybrid"));
}

#[test]
fn perturbing_every_value_after_an_origin_leaves_its_hybrid_forecasts_unchanged() {
    use nt_core::{Column, TimeSeries};
    use nt_eval::{backtest, no_progress, BacktestConfig, NamedModel, Refit, Split};
    use nt_models::ModelSpec;

    let n = 24 * 20;
    let ts: Vec<i64> = (0..n as i64).map(|i| i * 3_600_000).collect();
    let series = |y: Vec<f64>| {
        TimeSeries::new(
            ts.clone(),
            vec![Column {
                name: "y".into(),
                values: y,
            }],
        )
        .unwrap()
    };
    let y: Vec<f64> = (0..n).map(value).collect();
    // A daily season (window max(24, 4 × 24) = 96 rows), DLinear trained 5 steps, refitted at
    // every one of the 6 origins.
    let spec: ModelSpec = serde_json::from_value(serde_json::json!({
        "model": "hybrid", "decompose": {"mstl": {"seasons": [24]}},
        "neural": {"model": "dlinear", "input_size": 24, "horizon": 4,
            "train": {"max_steps": 5, "seed": 3}}
    }))
    .unwrap();
    let cfg = BacktestConfig {
        horizon: 4,
        split: Split::Rolling {
            windows: 6,
            test_fraction: None,
        },
        refit: Refit::Every(1),
        keep_forecasts: true,
        ..BacktestConfig::default()
    };
    let models = [NamedModel::new("hybrid", &spec)];
    let before = backtest(&series(y.clone()), "y", &models, &cfg, &no_progress).unwrap();
    let origins: Vec<usize> = before
        .forecasts_of("hybrid")
        .map(|f| f.origin_index)
        .collect();
    assert_eq!(origins.len(), 6, "{origins:?}");
    let origin = origins[2];
    // Every value after the third origin moved by +100 (about 15 times the series' range).
    let mut perturbed = y;
    for v in perturbed.iter_mut().skip(origin + 1) {
        *v += 100.0;
    }
    let after = backtest(&series(perturbed), "y", &models, &cfg, &no_progress).unwrap();
    let kept = |r: &nt_eval::BacktestReport, later: bool| -> Vec<Vec<f64>> {
        r.forecasts_of("hybrid")
            .filter(|f| (f.origin_index > origin) == later)
            .map(|f| f.point.clone())
            .collect()
    };
    assert_eq!(kept(&before, false).len(), 3);
    assert_eq!(kept(&before, false), kept(&after, false));
    // The perturbation reaches the later origins (the comparison above can fail).
    assert_ne!(kept(&before, true), kept(&after, true));
}
