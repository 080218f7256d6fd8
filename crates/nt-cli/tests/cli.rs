//! End-to-end tests of the `nt` binary: exit codes (0 ok, 2 bad input), output formats, plots.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

mod common;
use common::{nt, stderr, stdout};

/// A shared data set; panics naming the expected path when it is absent.
fn shared(name: &str) -> PathBuf {
    nt_testing::shared_data(name)
}

/// Writes `text` to a file in a fresh temp dir and returns both (the dir must outlive the test).
fn file(name: &str, text: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

/// An hourly CSV of `n` rows with a daily sine, as a user might export it.
fn hourly_csv(n: usize) -> String {
    let mut s = String::from("timestamp,price\n");
    for i in 0..n {
        let day = 1 + i / 24;
        let v = 100.0 + (i as f64 * std::f64::consts::TAU / 24.0).sin() + 0.01 * i as f64;
        s.push_str(&format!("2024-01-{:02} {:02}:00:00,{v}\n", day, i % 24));
    }
    s
}

#[test]
fn demo_runs_offline_and_writes_a_plot() {
    let dir = tempfile::tempdir().unwrap();
    let plot = dir.path().join("demo.svg");
    let o = nt(&[
        "demo",
        "--rows",
        "1500",
        "--windows",
        "4",
        "--quiet",
        "--plot",
        plot.to_str().unwrap(),
        "--registry",
        dir.path().join("registry").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let out = stdout(&o);
    // The leaderboard lists the random walk as the baseline and every other model.
    assert!(out.contains("baseline"), "{out}");
    for model in [
        "seasonal-naive",
        "ets",
        "mstl",
        "elasticnet",
        "drift",
        "nhits",
    ] {
        assert!(out.contains(model), "{model} missing from\n{out}");
    }
    assert!(std::fs::read_to_string(&plot).unwrap().starts_with("<svg"));
}

#[test]
fn backtest_json_has_the_documented_shape() {
    let (_dir, path) = file("h.csv", hourly_csv(24 * 30).as_bytes());
    let o = nt(&[
        "backtest",
        "--data",
        path.to_str().unwrap(),
        "--horizon",
        "12",
        "--models",
        "naive,seasonal-naive,drift",
        "--split",
        "rolling",
        "--windows",
        "5",
        "--step",
        "12",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(doc["tool"], "nt");
    assert_eq!(doc["leaderboard"].as_array().unwrap().len(), 3);
    let report = &doc["targets"][0];
    assert_eq!(report["data"]["target"], "price");
    assert_eq!(report["data"]["origins"], 5);
    assert_eq!(report["data"]["fingerprint"].as_str().unwrap().len(), 64);
    // On a clean daily sine, seasonal naive (season inferred as 24 from the hourly step) beats the
    // random walk: its MASE against the random walk's in-sample scale is well below 1.
    let snaive = doc["pooled"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "seasonal-naive")
        .unwrap();
    assert!(
        snaive["scores"]["skill_mae"].as_f64().unwrap() > 0.5,
        "{snaive}"
    );
}

#[test]
fn backtest_csv_and_table_formats() {
    let (_dir, path) = file("h.csv", hourly_csv(24 * 20).as_bytes());
    let args = |fmt: &'static str| {
        vec![
            "backtest".to_string(),
            "--data".into(),
            path.to_str().unwrap().into(),
            "--horizon".into(),
            "6".into(),
            "--models".into(),
            "naive,mean".into(),
            "--split".into(),
            "rolling".into(),
            "--windows".into(),
            "3".into(),
            "--format".into(),
            fmt.into(),
            "--quiet".into(),
        ]
    };
    let o = Command::new(env!("CARGO_BIN_EXE_nt"))
        .args(args("csv"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let csv = stdout(&o);
    assert!(csv.starts_with("target,model,windows,mae"), "{csv}");
    assert_eq!(csv.lines().count(), 3, "{csv}");
    let o = Command::new(env!("CARGO_BIN_EXE_nt"))
        .args(args("table"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    assert!(stdout(&o).contains("Theil U"));
}

#[test]
fn forecast_prints_intervals_after_the_last_timestamp() {
    let (dir, path) = file("h.csv", hourly_csv(24 * 10).as_bytes());
    let plot = dir.path().join("f.png");
    let o = nt(&[
        "forecast",
        "--data",
        path.to_str().unwrap(),
        "--model",
        "seasonal-naive",
        "--horizon",
        "3",
        "--level",
        "80",
        "--format",
        "json",
        "--plot",
        plot.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let f = &doc["forecasts"][0];
    // 240 hourly rows from 2024-01-01 00:00 end at 2024-01-10 23:00; the forecast starts an hour later.
    assert_eq!(f["timestamps"][0], "2024-01-11T00:00:00Z");
    assert_eq!(f["point"].as_array().unwrap().len(), 3);
    assert_eq!(f["intervals"][0]["level"], 0.8);
    assert!(std::fs::metadata(&plot).unwrap().len() > 1000);
}

#[test]
fn bad_input_exits_2_and_names_the_place() {
    let cases: Vec<(&str, Vec<u8>, Vec<&str>, &str)> = vec![
        (
            "unsorted.csv",
            b"date,x\n2024-01-02,1\n2024-01-01,2\n2024-01-03,3\n".to_vec(),
            vec![],
            "line 3",
        ),
        (
            "dup.csv",
            b"date,x\n2024-01-01,1\n2024-01-01,2\n".to_vec(),
            vec![],
            "line 3",
        ),
        (
            "text.csv",
            b"date,x\n2024-01-01,1\n2024-01-02,abc\n".to_vec(),
            vec![],
            "abc",
        ),
        (
            "nan.csv",
            b"date,x\n2024-01-01,1\n2024-01-02,\n2024-01-03,2\n".to_vec(),
            vec![],
            "--fill",
        ),
        ("empty.csv", b"".to_vec(), vec![], "empty.csv"),
        (
            "binary.csv",
            vec![0u8, 159, 146, 150, 0, 1, 2, 255, 254],
            vec![],
            "binary.csv",
        ),
        (
            "short.csv",
            hourly_csv(30).into_bytes(),
            vec!["--horizon", "24"],
            "short.csv",
        ),
        (
            "ok.csv",
            hourly_csv(24 * 20).into_bytes(),
            vec!["--target", "nope"],
            "nope",
        ),
        (
            "ok.csv",
            hourly_csv(24 * 20).into_bytes(),
            vec!["--models", "prophet"],
            "prophet",
        ),
        (
            "ok.csv",
            hourly_csv(24 * 20).into_bytes(),
            vec!["--horizon", "0"],
            "horizon",
        ),
        (
            "ok.csv",
            hourly_csv(24 * 20).into_bytes(),
            vec!["--fill", "sideways"],
            "--fill",
        ),
    ];
    for (name, bytes, extra, needle) in cases {
        let (_dir, path) = file(name, &bytes);
        let mut args = vec!["backtest", "--data", path.to_str().unwrap(), "--quiet"];
        args.extend(extra.iter().copied());
        let o = nt(&args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{name} {extra:?}: stderr {err}");
        assert!(
            err.contains(needle),
            "{name} {extra:?}: `{needle}` not in {err}"
        );
        assert!(!err.contains("panicked"), "{name}: {err}");
    }
    let o = nt(&["backtest", "--data", "/nonexistent/prices.csv"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/nonexistent/prices.csv"));
    let o = nt(&["backtest"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "a missing required flag is a usage error"
    );
}

#[test]
fn etth1_backtest_from_the_issue_prints_json() {
    let path = shared("ETTh1.csv");
    let o = nt(&[
        "backtest",
        "--data",
        path.to_str().unwrap(),
        "--target",
        "OT",
        "--horizon",
        "24",
        "--models",
        "naive,seasonal-naive,ets,mstl,elasticnet",
        "--season",
        "24",
        "--windows",
        "8",
        "--step",
        "24",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let names: Vec<&str> = doc["pooled"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    for m in ["naive", "seasonal-naive", "ets", "mstl", "elasticnet"] {
        assert!(names.contains(&m), "{m} missing in {names:?}");
    }
    for m in doc["pooled"].as_array().unwrap() {
        assert!(m["error"].is_null(), "{m}");
    }
}

#[test]
fn goog_ohlcv_with_pandas_index_loads() {
    let path = shared("GOOG.csv");
    let o = nt(&[
        "backtest",
        "--data",
        path.to_str().unwrap(),
        "--horizon",
        "5",
        "--models",
        "naive,drift,ets",
        "--split",
        "rolling",
        "--windows",
        "10",
        "--step",
        "5",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    // The default target of an OHLCV file is its Close column.
    assert_eq!(doc["targets"][0]["data"]["target"], "Close");
}
