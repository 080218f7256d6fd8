//! Helpers shared by the CLI's integration tests: run the `nt` binary, read its stderr.
#![allow(clippy::expect_used, dead_code)]

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
