//! Helpers shared by the CLI's integration tests: run the `nt` binary, read its stderr.
#![allow(clippy::expect_used, dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// Runs the `nt` binary built for this test run with `args`.
pub(crate) fn nt(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nt"))
        .args(args)
        .output()
        .expect("the nt binary runs")
}

/// The process's stderr as text.
pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The process's stdout as text.
pub(crate) fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The process's stdout as one JSON document, after checking it exited 0.
pub(crate) fn ok_json(o: &Output) -> serde_json::Value {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(o));
    serde_json::from_slice(&o.stdout).expect("stdout is one JSON document")
}

/// One HTTP/1.1 request to `addr` over a fresh connection, with the API key as a bearer token
/// when given; returns the status and the body.
pub(crate) fn http(
    addr: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
    key: Option<&str>,
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("the server accepts connections");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("a read timeout can be set");
    let body = body.unwrap_or("");
    let auth = key
        .map(|k| format!("Authorization: Bearer {k}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("the request is sent");
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("the answer is read");
    let status = raw
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("an HTTP status line");
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// Writes `dir/load.csv`: `days` days (at most 31) of hourly rows from 2024-03-01T00:00Z with one
/// column `load`, row `i` holding `value(i)`.
pub(crate) fn hourly_load_csv(dir: &Path, days: usize, value: impl Fn(usize) -> f64) -> PathBuf {
    let mut s = String::from("timestamp,load\n");
    for i in 0..24 * days {
        s.push_str(&format!(
            "2024-03-{:02}T{:02}:00:00Z,{}\n",
            1 + i / 24,
            i % 24,
            value(i)
        ));
    }
    let path = dir.join("load.csv");
    std::fs::write(&path, s).expect("the temp dir is writable");
    path
}

/// A daily sine around 50 with amplitude 5, at hour `i`.
pub(crate) fn daily_sine(i: usize) -> f64 {
    50.0 + 5.0 * (i as f64 * std::f64::consts::TAU / 24.0).sin()
}
