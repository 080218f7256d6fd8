//! `nt serve` end to end: a model trained and registered by `nt train --register`, promoted
//! with `nt registry promote`, served on a free loopback port; /health, a predict and an API
//! promotion over plain TCP; SIGTERM ends the process cleanly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

mod common;
use common::{http, nt, stderr};

const KEY: &str = "serve-test-key-0123456789";

/// An hourly CSV with a daily cycle, 20 days long.
fn hourly_csv(dir: &Path) -> PathBuf {
    common::hourly_load_csv(dir, 20, common::daily_sine)
}

#[test]
fn serve_answers_then_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let data = hourly_csv(dir.path());
    let reg = dir.path().join("reg");
    let reg_s = reg.to_str().unwrap();
    for (i, seed) in ["1", "2"].iter().enumerate() {
        let out = dir.path().join(format!("m{i}"));
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
            "--seed",
            seed,
            "--register",
            "load",
            "--registry",
            reg_s,
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    let o = nt(&["registry", "--registry", reg_s, "promote", "load@1"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    let mut child = Command::new(env!("CARGO_BIN_EXE_nt"))
        .args([
            "serve",
            "--registry",
            reg_s,
            "--addr",
            "127.0.0.1:0",
            "--api-key-env",
            "NT_SERVE_TEST_KEY",
        ])
        .env("NT_SERVE_TEST_KEY", KEY)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // The server prints `listening on http://ADDR`; keep draining stderr afterwards.
    let (tx, rx) = mpsc::channel();
    let err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(err).lines() {
            let line = line.unwrap_or_default();
            if let Some(a) = line.split("listening on http://").nth(1) {
                let _ = tx.send(a.trim().to_string());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the server reports its address");

    let (s, body) = http(&addr, "GET", "/health", None, None);
    assert_eq!(s, 200, "{body}");
    // Ready once the production version is loaded.
    let start = Instant::now();
    while http(&addr, "GET", "/ready", None, None).0 != 200 {
        assert!(start.elapsed() < Duration::from_secs(30), "never ready");
        std::thread::sleep(Duration::from_millis(50));
    }
    let values: Vec<String> = (0..30)
        .map(|i| format!("{}", 50.0 + (i as f64 / 4.0).sin()))
        .collect();
    let req = format!(
        r#"{{"history":{{"values":[{}]}},"horizon":4}}"#,
        values.join(",")
    );
    let (s, body) = http(&addr, "POST", "/v1/models/load/predict", Some(&req), None);
    assert_eq!(s, 200, "{body}");
    let j: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (j["version"].as_u64(), j["point"].as_array().unwrap().len()),
        (Some(1), 4)
    );
    // Promotion needs the key, then switches at once.
    let (s, _) = http(
        &addr,
        "POST",
        "/v1/models/load/promote",
        Some(r#"{"version":2}"#),
        None,
    );
    assert_eq!(s, 401);
    let (s, body) = http(
        &addr,
        "POST",
        "/v1/models/load/promote",
        Some(r#"{"version":2}"#),
        Some(KEY),
    );
    assert_eq!(s, 200, "{body}");
    let (_, body) = http(&addr, "POST", "/v1/models/load/predict", Some(&req), None);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["version"],
        2
    );
    // The registry saw the promotion.
    let o = nt(&["registry", "--registry", reg_s, "show", "load@production"]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains('2'),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );

    // SIGTERM: graceful stop, exit code 0.
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "server did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = reader.join().unwrap();
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(log.contains("nt serve: stopped"), "{log}");
}

#[test]
fn serve_refuses_a_missing_key_variable() {
    let dir = tempfile::tempdir().unwrap();
    let o = nt(&[
        "serve",
        "--registry",
        dir.path().to_str().unwrap(),
        "--addr",
        "127.0.0.1:0",
        "--api-key-env",
        "NT_SERVE_TEST_UNSET_VARIABLE",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("NT_SERVE_TEST_UNSET_VARIABLE"));
}

#[test]
fn serve_refuses_keyless_agentdb_writes_off_loopback() {
    let dir = tempfile::tempdir().unwrap();
    for addr in ["0.0.0.0:0", "[::]:0"] {
        let o = nt(&[
            "serve",
            "--registry",
            dir.path().to_str().unwrap(),
            "--addr",
            addr,
            "--agentdb-open-writes",
        ]);
        assert_eq!(o.status.code(), Some(2), "{addr}: {}", stderr(&o));
        let e = stderr(&o);
        assert!(
            e.contains("--agentdb-open-writes") && e.contains("loopback"),
            "{addr}: {e}"
        );
    }
}

#[test]
fn serve_with_open_agentdb_writes_takes_keyless_agentdb_writes_only() {
    let dir = tempfile::tempdir().unwrap();
    let reg = dir.path().join("reg");
    let mut child = Command::new(env!("CARGO_BIN_EXE_nt"))
        .args([
            "serve",
            "--registry",
            reg.to_str().unwrap(),
            "--addr",
            "127.0.0.1:0",
            "--agentdb-open-writes",
        ])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let err = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
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
    let (s, body) = http(
        &addr,
        "POST",
        "/agentdb/collections",
        Some(r#"{"name":"notes","dimension":2,"index_type":"hnsw"}"#),
        None,
    );
    assert_eq!(s, 201, "{body}");
    let (s, body) = http(
        &addr,
        "POST",
        "/agentdb/collections/notes/insert",
        Some(r#"{"id":"0a","embedding":[1.0,0.0]}"#),
        None,
    );
    assert_eq!(s, 200, "{body}");
    // Model promotion is not an AgentDB write: still closed without a key.
    let (s, body) = http(
        &addr,
        "POST",
        "/v1/models/m/promote",
        Some(r#"{"version":1}"#),
        None,
    );
    assert_eq!(s, 403, "{body}");
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert!(child.wait().unwrap().success());
    reader.join().unwrap();
}
