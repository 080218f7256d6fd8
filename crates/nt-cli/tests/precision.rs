//! `--precision f32|bf16` of the training commands (issue 11): the flag reaches the stored spec
//! (and wins over a `--config`), `nt train` says which engine, precision and SIMD path ran (and
//! why, when it fell back), bad values are clap's usage error, and `nt bench --arch` times the
//! train step of the architectures asked for in both precisions. Tiny models, a few steps.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

mod common;
use common::{daily_sine, hourly_load_csv, nt, stderr, stdout};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The `train` object of `dir/model.json`'s spec.
fn stored_train(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("model.json")).unwrap();
    let manifest: serde_json::Value = serde_json::from_str(&text).unwrap();
    fn find(v: &serde_json::Value) -> Option<&serde_json::Value> {
        match v {
            serde_json::Value::Object(m) => m
                .get("train")
                .filter(|t| t.get("max_steps").is_some())
                .or_else(|| m.values().find_map(find)),
            _ => None,
        }
    }
    find(&manifest)
        .unwrap_or_else(|| panic!("no spec with a train config in {text}"))
        .clone()
}

/// `nt train` on 20 hourly days of a daily sine: a tiny DLinear, 2 steps of 64 windows.
fn train(dir: &Path, data: &Path, out: &str, extra: &[&str]) -> std::process::Output {
    let out = dir.join(out);
    let mut args = vec![
        "train",
        "--data",
        s(data),
        "--model",
        "dlinear",
        "--input-size",
        "24",
        "--horizon",
        "6",
        "--max-steps",
        "2",
        "--windows-batch-size",
        "64",
        "--quiet",
        "--out",
        s(&out),
    ];
    args.extend_from_slice(extra);
    nt(&args)
}

#[test]
fn precision_flag_reaches_the_spec_and_the_engine_line_is_printed() {
    let dir = tempfile::tempdir().unwrap();
    let data = hourly_load_csv(dir.path(), 20, daily_sine);

    // bf16 asked: stored in the spec; the engine line names what ran (bf16, or f32 with why).
    let o = train(dir.path(), &data, "bf16", &["--precision", "bf16"]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    assert_eq!(stored_train(&dir.path().join("bf16"))["precision"], "bf16");
    let text = stdout(&o);
    let line = text
        .lines()
        .find(|l| l.starts_with("engine: "))
        .unwrap_or_else(|| panic!("no engine line in {text}"));
    assert!(line.contains(" matmuls ("), "{line}");
    assert!(
        line.contains(", bf16 matmuls") || line.contains(", f32 matmuls ("),
        "{line}"
    );
    if line.contains(", f32 matmuls") {
        // Fell back: the line says why.
        assert!(line.contains("); "), "a fallback without a note: {line}");
    }

    // f32 (the default): omitted from the spec, and no fallback note.
    let o = train(dir.path(), &data, "f32", &[]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    assert!(stored_train(&dir.path().join("f32"))
        .get("precision")
        .is_none());
    let text = stdout(&o);
    let line = text.lines().find(|l| l.starts_with("engine: ")).unwrap();
    assert!(
        line.contains(", f32 matmuls (") && line.ends_with(')'),
        "{line}"
    );

    // JSON output: an engine object.
    let o = train(
        dir.path(),
        &data,
        "json",
        &["--precision", "bf16", "--json"],
    );
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let engine = &v["engine"];
    assert!(engine["backend"].is_string(), "{v}");
    assert!(["f32", "bf16"].contains(&engine["precision"].as_str().unwrap()));
    assert!(engine["simd"].is_string(), "{v}");
    if engine["precision"] == "f32" {
        assert!(
            engine["note"].is_string(),
            "bf16 asked, f32 ran, no note: {v}"
        );
    }
}

#[test]
fn precision_flag_wins_over_the_config_and_bad_values_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let data = hourly_load_csv(dir.path(), 20, daily_sine);
    let config = dir.path().join("spec.json");
    std::fs::write(
        &config,
        r#"{"model": "nlinear", "input_size": 24, "horizon": 6,
            "train": {"max_steps": 2, "windows_batch_size": 64, "precision": "bf16"}}"#,
    )
    .unwrap();
    let run = |out: &str, extra: &[&str]| {
        let out = dir.path().join(out);
        let mut args = vec![
            "train",
            "--data",
            s(&data),
            "--config",
            s(&config),
            "--quiet",
            "--out",
            s(&out),
        ];
        args.extend_from_slice(extra);
        let o = nt(&args);
        assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
        stored_train(&out)
    };
    // The config's bf16 is kept without the flag, and the flag wins over it.
    assert_eq!(run("kept", &[])["precision"], "bf16");
    assert!(run("flag", &["--precision", "f32"])
        .get("precision")
        .is_none());

    for cmd in ["train", "backtest"] {
        let o = nt(&[cmd, "--data", s(&data), "--precision", "fp16"]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{cmd}: {err}");
        assert!(
            err.contains("--precision") && err.contains("f32 or bf16"),
            "{err}"
        );
    }
    // A classical model has no training arithmetic to set.
    let o = nt(&[
        "train",
        "--data",
        s(&data),
        "--model",
        "naive",
        "--precision",
        "bf16",
        "--out",
        s(&dir.path().join("naive")),
    ]);
    assert_eq!(o.status.code(), Some(2), "stderr: {}", stderr(&o));
}

#[test]
fn backtest_takes_the_precision_flag() {
    let dir = tempfile::tempdir().unwrap();
    let data = hourly_load_csv(dir.path(), 20, daily_sine);
    let o = nt(&[
        "backtest",
        "--data",
        s(&data),
        "--models",
        "naive,nlinear",
        "--horizon",
        "6",
        "--input-size",
        "24",
        "--windows",
        "3",
        "--max-steps",
        "2",
        "--windows-batch-size",
        "32",
        "--precision",
        "bf16",
        "--quiet",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
}

#[test]
fn bench_arch_times_f32_and_bf16_train_steps() {
    let o = nt(&[
        "bench",
        "--arch",
        "dlinear,nlinear",
        "--input-size",
        "24",
        "--horizon",
        "6",
        "--windows-batch-size",
        "32",
        "--steps",
        "2",
        "--reps",
        "3",
    ]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines[0]["case"], "cpu", "{lines:?}");
    assert!(lines[0]["features"].is_string() && lines[0]["threads"].is_u64());
    let steps: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|v| v["case"].as_str().unwrap().ends_with("_train_step"))
        .collect();
    let got: Vec<(&str, &str)> = steps
        .iter()
        .map(|v| {
            (
                v["arch"].as_str().unwrap(),
                v["precision"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("dlinear", "f32"),
            ("dlinear", "bf16"),
            ("nlinear", "f32"),
            ("nlinear", "bf16")
        ]
    );
    for v in &steps {
        assert_eq!(
            v["case"],
            format!("{}_train_step", v["arch"].as_str().unwrap())
        );
        assert_eq!(v["windows_batch_size"], 32);
        assert_eq!(v["steps"], 2, "{v}");
        for k in ["median_ms", "p99_ms", "steps_per_s"] {
            assert!(v[k].as_f64().is_some_and(|x| x > 0.0), "{k}: {v}");
        }
        assert!(
            v["peak_rss_bytes"].is_u64() || v["peak_rss_bytes"].is_null(),
            "{v}"
        );
        assert!(
            v["engine"]["backend"].is_string() && v["engine"]["simd"].is_string(),
            "{v}"
        );
        assert!(v["engine"]["precision"].is_string(), "{v}");
    }
    // Only the architectures asked for: no NHITS latency cases, no AutoETS.
    assert!(lines
        .iter()
        .all(|v| !v["case"].as_str().unwrap().starts_with("nhits")
            && v["case"] != "autoets_fit_predict"));

    let o = nt(&["bench", "--arch", "no-such-arch"]);
    assert_eq!(o.status.code(), Some(2), "stderr: {}", stderr(&o));
}
