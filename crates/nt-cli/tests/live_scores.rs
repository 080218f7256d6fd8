//! Live scoring survives SIGKILL: `nt serve` with a key answers a forecast with timestamps,
//! acknowledges actuals for it (200), is killed with SIGKILL, and after a restart
//! `GET /v1/models/{name}/scores` still shows every matched point: an acknowledged actual is
//! committed before the answer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

mod common;
use common::{http, nt, stderr};

const KEY: &str = "live-scores-key-0123456789";
const HOUR: i64 = 3_600_000;

/// Starts `nt serve` on a free port over `reg`; returns the child and its address once it is
/// ready.
fn start(reg: &Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nt"))
        .args([
            "serve",
            "--registry",
            reg.to_str().unwrap(),
            "--addr",
            "127.0.0.1:0",
            "--api-key-env",
            "NT_LIVE_TEST_KEY",
        ])
        .env("NT_LIVE_TEST_KEY", KEY)
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
    let t = Instant::now();
    while http(&addr, "GET", "/ready", None, None).0 != 200 {
        assert!(t.elapsed() < Duration::from_secs(30), "never ready");
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, addr)
}

#[test]
fn acknowledged_actuals_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let data = common::hourly_load_csv(dir.path(), 20, common::daily_sine);
    let reg = dir.path().join("reg");
    let reg_s = reg.to_str().unwrap();
    let out = dir.path().join("m");
    let o = nt(&[
        "train",
        "--data",
        data.to_str().unwrap(),
        "--model",
        "nhits",
        "--horizon",
        "6",
        "--input-size",
        "24",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
        "--max-steps",
        "3",
        "--windows-batch-size",
        "16",
        "--register",
        "load",
        "--registry",
        reg_s,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = nt(&["registry", "--registry", reg_s, "promote", "load@1"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    let (mut child, addr) = start(&reg);
    let values: Vec<String> = (0..30)
        .map(|i| format!("{}", common::daily_sine(i)))
        .collect();
    let ts: Vec<String> = (0..30)
        .map(|i| format!("{}", 1_709_251_200_000 + i * HOUR))
        .collect();
    let req = format!(
        r#"{{"history":{{"values":[{}],"timestamps":[{}]}}}}"#,
        values.join(","),
        ts.join(",")
    );
    let (s, body) = http(&addr, "POST", "/v1/models/load/predict", Some(&req), None);
    assert_eq!(s, 200, "{body}");
    let j: serde_json::Value = serde_json::from_str(&body).unwrap();
    let steps: Vec<i64> = j["timestamps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_i64().unwrap())
        .collect();
    let actuals = format!(
        r#"{{"actuals":[{{"timestamp":{},"value":51.0}},{{"timestamp":{},"value":52.5}}]}}"#,
        steps[0], steps[1]
    );
    // Without the key: refused.
    let (s, _) = http(
        &addr,
        "POST",
        "/v1/models/load/actuals",
        Some(&actuals),
        None,
    );
    assert_eq!(s, 401);
    let (s, body) = http(
        &addr,
        "POST",
        "/v1/models/load/actuals",
        Some(&actuals),
        Some(KEY),
    );
    assert_eq!(s, 200, "{body}");
    let ack: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(ack["accepted"], 2, "{ack}");
    assert_eq!(ack["matched"], 2, "{ack}");

    // SIGKILL (what `Child::kill` sends on unix): no shutdown code runs.
    child.kill().unwrap();
    child.wait().unwrap();

    let (mut child, addr) = start(&reg);
    let (s, body) = http(&addr, "GET", "/v1/models/load/scores", None, None);
    assert_eq!(s, 200, "{body}");
    let scores: serde_json::Value = serde_json::from_str(&body).unwrap();
    let v = &scores["versions"][0];
    assert_eq!(v["version"], 1, "{scores}");
    assert_eq!(v["windows"][2]["window"], "since_deployment");
    assert_eq!(v["windows"][2]["n"], 2, "{scores}");
    // The same actuals after the restart are duplicates, not new points.
    let (s, body) = http(
        &addr,
        "POST",
        "/v1/models/load/actuals",
        Some(&actuals),
        Some(KEY),
    );
    assert_eq!(s, 200, "{body}");
    assert!(body.contains(r#""duplicates":2"#), "{body}");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn serve_refuses_inconsistent_drift_thresholds() {
    let dir = tempfile::tempdir().unwrap();
    let reg = dir.path().to_str().unwrap();
    for (flags, named) in [
        (
            &["--psi-warning", "0.3", "--psi-alarm", "0.2"][..],
            "--psi-alarm",
        ),
        (&["--ks-alpha", "1.5"][..], "--ks-alpha"),
        (&["--drift-window", "2"][..], "--drift-window"),
        (&["--forecast-retention", "0"][..], "--forecast-retention"),
        (&["--monitor-interval", "0"][..], "--monitor-interval"),
    ] {
        let mut args = vec!["serve", "--registry", reg, "--addr", "127.0.0.1:0"];
        args.extend_from_slice(flags);
        let o = nt(&args);
        assert_eq!(o.status.code(), Some(2), "{flags:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(named), "{flags:?}: {}", stderr(&o));
    }
}
