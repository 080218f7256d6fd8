//! `nt predict --precision bf16` says on stderr which precision runs and why: bf16 where it is
//! faster than f32 (a model past 32 KiB of weights on a CPU with AVX2+FMA or AVX-512), f32 with
//! the reason where it would not be (a tiny NLinear), with the exact f32 forecast then.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Output;

mod common;
use common::{nt, stderr};

fn json(o: &Output) -> serde_json::Value {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(o));
    serde_json::from_slice(&o.stdout).expect("stdout is one JSON document")
}

fn train(dir: &Path, data: &Path, model: &str) -> std::path::PathBuf {
    let out = dir.join(model);
    json(&nt(&[
        "train",
        "--data",
        data.to_str().unwrap(),
        "--model",
        model,
        "--horizon",
        "6",
        "--input-size",
        "24",
        "--out",
        out.to_str().unwrap(),
        "--json",
        "--quiet",
        "--max-steps",
        "5",
        "--windows-batch-size",
        "16",
        "--val-fraction",
        "0",
        "--seed",
        "3",
    ]));
    out
}

fn predict(model: &Path, data: &Path, precision: &str) -> Output {
    nt(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--format",
        "json",
        "--precision",
        precision,
    ])
}

#[test]
fn predict_says_which_precision_runs_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let data = common::hourly_load_csv(dir.path(), 10, common::daily_sine);

    // NLinear at L 24, H 6: 150 weights, far under 32 KiB: f32 runs, and stderr says why.
    let tiny = train(dir.path(), &data, "nlinear");
    let exact = predict(&tiny, &data, "f32");
    assert!(!stderr(&exact).contains("precision:"), "{}", stderr(&exact));
    let asked = predict(&tiny, &data, "bf16");
    let err = stderr(&asked);
    assert!(err.contains("precision: bf16 asked, f32 runs"), "{err}");
    assert_eq!(
        json(&asked)["forecasts"][0]["point"],
        json(&exact)["forecasts"][0]["point"]
    );

    // The default NHITS (2.4M weights): bf16 runs where the CPU has a SIMD path.
    let big = train(dir.path(), &data, "nhits");
    let o = predict(&big, &data, "bf16");
    json(&o);
    let err = stderr(&o);
    if nt_neural::cpu::features().f32_path() != "scalar" {
        assert!(err.contains("precision: bf16 runs"), "{err}");
    } else {
        assert!(err.contains("f32 runs"), "{err}");
    }
}
