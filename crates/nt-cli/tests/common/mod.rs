//! Helpers shared by the CLI's integration tests: run the `nt` binary, read its stderr.
#![allow(clippy::expect_used, dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
