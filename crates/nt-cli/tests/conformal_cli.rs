//! `nt train --intervals conformal` end to end: the model directory holds the calibration,
//! `nt predict` and `nt serve` answer with the conformal bands (the point ± the stored radius),
//! registration keeps them, and misuse of the flags exits 2 naming the flag.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

mod common;
use common::{http, nt, ok_json, stderr};

/// An hourly series with a daily cycle and a deterministic wiggle (so residuals differ).
fn value(i: usize) -> f64 {
    common::daily_sine(i) + ((i * 7919) % 13) as f64 / 13.0
}

#[test]
fn conformal_naive_predicts_registers_and_serves_the_calibrated_bands() {
    let dir = tempfile::tempdir().unwrap();
    let data = common::hourly_load_csv(dir.path(), 20, value);
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
        "naive",
        "--horizon",
        "4",
        "--intervals",
        "conformal",
        "--level",
        "80,95",
        "--calibration-rows",
        "100",
        "--out",
        out_s,
        "--register",
        "load",
        "--registry",
        reg_s,
        "--json",
    ]);
    let summary = ok_json(&o);
    // 100 calibration rows, H = 4: step h has 101 − h residuals.
    assert_eq!(
        summary["intervals"]["windows_per_step"],
        serde_json::json!([100, 99, 98, 97])
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("model.json")).unwrap()).unwrap();
    assert_eq!(manifest["spec"]["intervals"]["method"], "conformal");
    let radius = manifest["calibration"]["radius"].clone();
    let r = |level: usize, step: usize| radius[level][step].as_f64().unwrap();

    // nt predict: point = the last value (random walk); bands = point ∓ radius.
    let o = nt(&[
        "predict", "--model", out_s, "--data", data_s, "--format", "json",
    ]);
    let p = ok_json(&o);
    let f = &p["forecasts"][0];
    let last = value(20 * 24 - 1);
    for step in 0..4 {
        let at = |k: &str| {
            f["quantiles"][k][step]
                .as_f64()
                .unwrap_or_else(|| panic!("{k}: {p}"))
        };
        assert!(
            (f["point"][step].as_f64().unwrap() - last).abs() < 1e-9,
            "{p}"
        );
        assert!((at("0.1") - (last - r(0, step))).abs() < 1e-9, "{p}");
        assert!((at("0.975") - (last + r(1, step))).abs() < 1e-9, "{p}");
    }

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
    let req = r#"{"history":{"values":[50.0, 51.0, 52.5]},"horizon":4}"#;
    let (s, body) = http(&addr, "POST", "/v1/models/load/predict", Some(req), None);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(s, 200, "{body}");
    let j: serde_json::Value = serde_json::from_str(&body).unwrap();
    let q = &j["quantiles"];
    // Levels 0.8 (radius row 0) and 0.95 (row 1): bands 0.1/0.9 and 0.025/0.975 around 52.5.
    for step in 0..4 {
        let band = |k: &str| {
            q[k][step]
                .as_f64()
                .unwrap_or_else(|| panic!("{k} in {body}"))
        };
        assert!((band("0.1") - (52.5 - r(0, step))).abs() < 1e-9, "{body}");
        assert!((band("0.9") - (52.5 + r(0, step))).abs() < 1e-9, "{body}");
        assert!((band("0.025") - (52.5 - r(1, step))).abs() < 1e-9, "{body}");
        assert!((band("0.975") - (52.5 + r(1, step))).abs() < 1e-9, "{body}");
        assert!(r(1, step) >= r(0, step), "the 95% band holds the 80% one");
    }
}

#[test]
fn misused_interval_flags_exit_2_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let data = common::hourly_load_csv(dir.path(), 5, value);
    let out = dir.path().join("m");
    let base = [
        "train",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    let cases: [(&[&str], &str); 3] = [
        // Calibration rows without conformal intervals.
        (
            &["--model", "naive", "--calibration-rows", "50"],
            "--calibration-rows",
        ),
        // A neural model calibrates on its validation tail, not on held-out rows.
        (
            &[
                "--model",
                "dlinear",
                "--input-size",
                "24",
                "--horizon",
                "4",
                "--intervals",
                "conformal",
                "--calibration-rows",
                "50",
            ],
            "--calibration-rows",
        ),
        // 99% needs 99 windows per step; 30 calibration rows give at most 30.
        (
            &[
                "--model",
                "naive",
                "--horizon",
                "4",
                "--intervals",
                "conformal",
                "--level",
                "99",
                "--calibration-rows",
                "30",
            ],
            "99 calibration windows",
        ),
    ];
    for (extra, expected) in cases {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        let o = nt(&args);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {e}");
        assert!(e.contains(expected), "{args:?}: {e}");
    }
}

#[test]
fn garch_width_intervals_train_and_predict_and_backtests_refuse_them() {
    let dir = tempfile::tempdir().unwrap();
    let data = common::hourly_load_csv(dir.path(), 20, value);
    let out = dir.path().join("g");
    let (data_s, out_s) = (data.to_str().unwrap(), out.to_str().unwrap());
    let o = nt(&[
        "train",
        "--data",
        data_s,
        "--model",
        "naive",
        "--horizon",
        "4",
        "--intervals",
        "garch",
        "--out",
        out_s,
        "--json",
    ]);
    assert_eq!(ok_json(&o)["intervals"]["method"], "garch");
    let p = ok_json(&nt(&[
        "predict", "--model", out_s, "--data", data_s, "--format", "json",
    ]));
    let f = &p["forecasts"][0];
    // Bands around the point, wider at 95% than at 80%, and wider at step 4 than at step 1.
    let w = |lo: &str, hi: &str, step: usize| {
        f["quantiles"][hi][step].as_f64().unwrap() - f["quantiles"][lo][step].as_f64().unwrap()
    };
    assert!(
        w("0.025", "0.975", 0) > w("0.1", "0.9", 0) && w("0.1", "0.9", 0) > 0.0,
        "{p}"
    );
    assert!(w("0.1", "0.9", 3) > w("0.1", "0.9", 0), "{p}");
    let o = nt(&[
        "backtest",
        "--data",
        data_s,
        "--models",
        "naive",
        "--intervals",
        "garch",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--intervals garch"), "{}", stderr(&o));
}
