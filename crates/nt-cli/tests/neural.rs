//! End-to-end tests of the neural commands: `nt train` → `nt predict`, `nt import`, and neural
//! models inside `nt backtest`. Tiny models and few steps, so they run in seconds.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::{nt, stderr};

fn json(o: &Output) -> serde_json::Value {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(o));
    serde_json::from_slice(&o.stdout).expect("stdout is one JSON document")
}

/// An hourly CSV with a daily cycle, 20 days long.
fn hourly_csv(dir: &Path) -> PathBuf {
    common::hourly_load_csv(dir, 20, common::daily_sine)
}

const TINY: [&str; 10] = [
    "--max-steps",
    "20",
    "--windows-batch-size",
    "32",
    "--val-fraction",
    "0.1",
    "--val-check-steps",
    "10",
    "--seed",
    "7",
];

#[test]
fn train_then_predict_and_refuse_corrupted_weights() {
    let dir = tempfile::tempdir().unwrap();
    let data = hourly_csv(dir.path());
    let out = dir.path().join("model");
    let mut args = vec![
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
        "--json",
        "--quiet",
    ];
    args.extend(TINY);
    let summary = json(&nt(&args));
    assert_eq!(summary["steps"], 20);
    assert_eq!(summary["targets"][0], "load");
    for file in ["model.json", "weights.safetensors", "train_log.jsonl"] {
        assert!(out.join(file).exists(), "{file} missing");
    }

    let doc = json(&nt(&[
        "predict",
        "--model",
        out.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--format",
        "json",
    ]));
    let f = &doc["forecasts"][0];
    assert_eq!(f["target"], "load");
    assert_eq!(f["point"].as_array().unwrap().len(), 6);
    // 480 rows from 2024-03-01T00:00 end at 2024-03-20T23:00.
    assert_eq!(f["timestamps"][0], "2024-03-21T00:00:00Z");

    // bfloat16 weights in the single-window path: the same forecast to within 1%.
    let half = json(&nt(&[
        "predict",
        "--model",
        out.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--format",
        "json",
        "--precision",
        "bf16",
    ]));
    let points = |d: &serde_json::Value| -> Vec<f64> {
        d["forecasts"][0]["point"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect()
    };
    for (a, b) in points(&doc).iter().zip(points(&half)) {
        assert!(((a - b) / a).abs() < 1e-2, "f32 {a} vs bf16 {b}");
    }

    // Same data, spec and seed: the same weights, byte for byte.
    let again = dir.path().join("again");
    let mut args2 = args.clone();
    let pos = args2
        .iter()
        .position(|a| *a == out.to_str().unwrap())
        .unwrap();
    args2[pos] = again.to_str().unwrap();
    json(&nt(&args2));
    assert_eq!(
        std::fs::read(out.join("weights.safetensors")).unwrap(),
        std::fs::read(again.join("weights.safetensors")).unwrap()
    );

    // A flipped byte in the weights is refused with exit code 2 and a message naming the file.
    let weights = out.join("weights.safetensors");
    let mut bytes = std::fs::read(&weights).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&weights, bytes).unwrap();
    let o = nt(&[
        "predict",
        "--model",
        out.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "stderr: {}", stderr(&o));
    assert!(
        stderr(&o).contains("sha256") || stderr(&o).contains("checksum"),
        "{}",
        stderr(&o)
    );

    // Asking for more steps than the model was trained for is bad input.
    let o = nt(&[
        "predict",
        "--model",
        again.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--horizon",
        "7",
    ]);
    assert_eq!(o.status.code(), Some(2), "stderr: {}", stderr(&o));
}

#[test]
fn backtest_mixes_neural_and_classical_models() {
    let dir = tempfile::tempdir().unwrap();
    let data = hourly_csv(dir.path());
    let mut args = vec![
        "backtest",
        "--data",
        data.to_str().unwrap(),
        "--models",
        "naive,seasonal-naive,nhits,nbeats",
        "--horizon",
        "6",
        "--input-size",
        "24",
        "--split",
        "rolling",
        "--windows",
        "5",
        "--step",
        "6",
        "--format",
        "json",
        "--quiet",
    ];
    args.extend(TINY);
    let doc = json(&nt(&args));
    let pooled = doc["pooled"].as_array().unwrap();
    for name in ["nhits", "nbeats"] {
        let m = pooled.iter().find(|m| m["name"] == name).unwrap();
        assert!(m["error"].is_null(), "{m}");
        assert_eq!(m["windows"], 5);
    }
}

#[test]
fn import_turns_neuralforecast_weights_into_a_model_directory() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../nt-neural/tests/fixtures");
    let dir = tempfile::tempdir().unwrap();
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures.join("nhits_small.json")).unwrap())
            .unwrap();
    let spec = serde_json::json!({"model": "nhits", "config": config});
    let spec_path = dir.path().join("spec.json");
    std::fs::write(&spec_path, spec.to_string()).unwrap();
    let out = dir.path().join("imported");
    let weights = fixtures.join("nhits_small.safetensors");
    let o = nt(&[
        "import",
        "--from",
        "neuralforecast",
        weights.to_str().unwrap(),
        "--config",
        spec_path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    assert!(out.join("model.json").exists());

    // A spec that does not match the weights' shapes is bad input, named as such.
    let mut wrong = spec.clone();
    wrong["config"]["input_size"] = serde_json::json!(config["input_size"].as_u64().unwrap() + 1);
    std::fs::write(&spec_path, wrong.to_string()).unwrap();
    let o = nt(&[
        "import",
        weights.to_str().unwrap(),
        "--config",
        spec_path.to_str().unwrap(),
        "--out",
        dir.path().join("x").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "stderr: {}", stderr(&o));
}

#[test]
fn bench_prints_one_json_line_per_case() {
    let o = nt(&[
        "bench",
        "--input-size",
        "24",
        "--horizon",
        "6",
        "--steps",
        "2",
        "--reps",
        "5",
    ]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let cases: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("each line is JSON");
            v["case"].as_str().unwrap().to_string()
        })
        .collect();
    for case in [
        "nhits_train_step",
        "nhits_size",
        "nhits_predict_single",
        "nhits_forward_candle",
        "nhits_batch",
        "autoets_fit_predict",
    ] {
        assert!(
            cases.iter().any(|c| c == case),
            "{case} missing from {cases:?}"
        );
    }
    let o = nt(&["bench", "--steps", "0"]);
    assert_eq!(o.status.code(), Some(2));
}

/// `nt train --futr-exog` then `nt predict --future`: the model reads a future-known column; it
/// refuses to predict without that column's next values, and backtests refuse exogenous flags.
#[test]
fn future_exogenous_column_through_train_and_predict() {
    let dir = tempfile::tempdir().unwrap();
    let (mut data, mut future) = (
        String::from("timestamp,load,promo\n"),
        String::from("timestamp,promo\n"),
    );
    let promo = |i: usize| if (i * 7919) % 13 < 6 { 1.0 } else { 0.0 };
    for i in 0..24 * 20 + 6 {
        let ts = format!("2024-03-{:02}T{:02}:00:00Z", 1 + i / 24, i % 24);
        if i < 24 * 20 {
            data.push_str(&format!("{ts},{},{}\n", 50.0 + 3.0 * promo(i), promo(i)));
        } else {
            future.push_str(&format!("{ts},{}\n", promo(i)));
        }
    }
    let (data_path, future_path) = (dir.path().join("d.csv"), dir.path().join("f.csv"));
    std::fs::write(&data_path, data).unwrap();
    std::fs::write(&future_path, future).unwrap();
    let out = dir.path().join("model");
    let mut args = vec![
        "train",
        "--data",
        data_path.to_str().unwrap(),
        "--target",
        "load",
        "--futr-exog",
        "promo",
        "--horizon",
        "6",
        "--input-size",
        "24",
        "--out",
        out.to_str().unwrap(),
        "--json",
        "--quiet",
    ];
    args.extend(TINY);
    json(&nt(&args));
    let spec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("model.json")).unwrap()).unwrap();
    assert_eq!(spec["spec"]["futr_exog_list"][0], "promo");

    let predict = |extra: &[&str]| {
        let mut a = vec![
            "predict",
            "--model",
            out.to_str().unwrap(),
            "--data",
            data_path.to_str().unwrap(),
            "--format",
            "json",
        ];
        a.extend(extra);
        nt(&a)
    };
    let o = predict(&[]);
    assert_eq!(o.status.code(), Some(2), "stderr: {}", stderr(&o));
    assert!(
        stderr(&o).contains("--future") && stderr(&o).contains("promo"),
        "{}",
        stderr(&o)
    );
    let doc = json(&predict(&["--future", future_path.to_str().unwrap()]));
    let f = &doc["forecasts"][0];
    assert_eq!(f["point"].as_array().unwrap().len(), 6);
    assert_eq!(f["timestamps"][0], "2024-03-21T00:00:00Z");

    let o = nt(&[
        "backtest",
        "--data",
        data_path.to_str().unwrap(),
        "--target",
        "load",
        "--models",
        "nhits",
        "--futr-exog",
        "promo",
        "--horizon",
        "6",
    ]);
    assert_eq!(o.status.code(), Some(2), "stderr: {}", stderr(&o));
}
