//! `nt train` killed with SIGKILL mid-run, then `nt train --resume`, ends with the same weights,
//! byte for byte, as a run that was never interrupted (same data, spec and seed).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{nt, stderr};

/// An hourly CSV with a daily cycle and a slow trend, 30 days long.
fn hourly_csv(dir: &Path) -> PathBuf {
    common::hourly_load_csv(dir, 30, |i| common::daily_sine(i) + 0.01 * i as f64)
}

/// A small NHITS (3 stacks of 32-unit MLPs) so that 300 steps take about a second.
fn small_config(dir: &Path) -> PathBuf {
    let path = dir.join("small.json");
    let spec = serde_json::json!({
        "model": "nhits",
        "config": {"mlp_units": [[32, 32], [32, 32], [32, 32]]}
    });
    std::fs::write(&path, spec.to_string()).unwrap();
    path
}

/// The `nt train` arguments of both runs: enough steps that the first run is still training when
/// its first checkpoint lands, a checkpoint every 10 steps, validation every 25 steps.
fn train_args(data: &Path, config: &Path, out: &Path) -> Vec<String> {
    [
        "train",
        "--config",
        config.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--model",
        "nhits",
        "--horizon",
        "12",
        "--input-size",
        "48",
        "--max-steps",
        "300",
        "--windows-batch-size",
        "64",
        "--val-fraction",
        "0.1",
        "--val-check-steps",
        "25",
        "--checkpoint-every",
        "10",
        "--seed",
        "11",
        "--quiet",
        "--json",
        "--out",
        out.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn run_to_end(args: &[String]) -> serde_json::Value {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = nt(&refs);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    serde_json::from_slice(&o.stdout).expect("a JSON summary")
}

#[cfg(unix)]
#[test]
fn sigkilled_training_resumes_to_the_uninterrupted_weights() {
    use std::os::unix::process::ExitStatusExt;

    let dir = tempfile::tempdir().unwrap();
    let data = hourly_csv(dir.path());
    let config = small_config(dir.path());

    let reference = dir.path().join("reference");
    let summary = run_to_end(&train_args(&data, &config, &reference));
    assert_eq!(summary["steps"], 300);

    // Start the same run and SIGKILL it as soon as its first checkpoint is on disk.
    let interrupted = dir.path().join("interrupted");
    let args = train_args(&data, &config, &interrupted);
    let mut child = Command::new(env!("CARGO_BIN_EXE_nt"))
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let state = interrupted.join("checkpoint").join("state.json");
    let start = Instant::now();
    while !state.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no checkpoint within 2 minutes"
        );
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL on Unix: no destructor, no flush runs in the child.
    let status = child.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(9),
        "the run must die by SIGKILL mid-training, not finish ({status:?})"
    );
    assert!(
        !interrupted.join("weights.safetensors").exists(),
        "the killed run never got to write its final weights"
    );
    let checkpoint: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    let saved_step = checkpoint["state"]["step"].as_u64().unwrap();
    assert!(
        saved_step > 0 && saved_step < 300,
        "checkpoint step {saved_step}"
    );

    // Resume: the same final weights, byte for byte, and the same best validation loss.
    let mut resume = args.clone();
    resume.push("--resume".into());
    let resumed = run_to_end(&resume);
    assert_eq!(resumed["steps"], 300);
    assert_eq!(resumed["best_val_loss"], summary["best_val_loss"]);
    assert_eq!(
        std::fs::read(interrupted.join("weights.safetensors")).unwrap(),
        std::fs::read(reference.join("weights.safetensors")).unwrap(),
        "resumed weights differ from the uninterrupted run's"
    );
}
