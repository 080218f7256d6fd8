//! Sample paths through the CLI: `nt predict --paths FILE --samples N --seed S` writes every
//! path of a DeepAR forecast (CSV or Parquet), reproducibly, with the printed point equal to the
//! paths' mean; models without paths refuse the flags with exit code 2 before reading the data;
//! `nt backtest` reports DeepAR's CRPS.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{daily_sine, hourly_load_csv, nt, stderr};

const H: usize = 6;

fn ok(o: &Output) -> &Output {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(o));
    o
}

fn train(dir: &Path, data: &Path, model: &str) -> PathBuf {
    let out = dir.join(model);
    let h = H.to_string();
    ok(&nt(&[
        "train",
        "--data",
        data.to_str().unwrap(),
        "--model",
        model,
        "--horizon",
        &h,
        "--input-size",
        "24",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
        "--max-steps",
        "5",
        "--windows-batch-size",
        "32",
        "--val-fraction",
        "0",
        "--seed",
        "3",
    ]));
    out
}

fn predict(model: &Path, data: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    nt(&args)
}

/// A CSV written by `--paths`: (path, step, value) per row after the header.
fn read_paths(path: &Path) -> Vec<(usize, usize, f64)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("target,path,step,timestamp,value"));
    lines
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            assert_eq!(cells.len(), 5, "{l}");
            (
                cells[1].parse().unwrap(),
                cells[2].parse().unwrap(),
                cells[4].parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_model_without_paths_refuses_the_flags_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let data = hourly_load_csv(dir.path(), 10, daily_sine);
    let model = train(dir.path(), &data, "nlinear");
    for extra in [
        &["--paths", "p.csv"][..],
        &["--samples", "10"][..],
        &["--seed", "4"][..],
    ] {
        let o = predict(&model, &data, extra);
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("does not forecast by sample paths"),
            "{extra:?}: {}",
            stderr(&o)
        );
    }
}

#[test]
fn deepar_writes_reproducible_paths_whose_mean_is_the_point() {
    let dir = tempfile::tempdir().unwrap();
    let data = hourly_load_csv(dir.path(), 10, daily_sine);
    let model = train(dir.path(), &data, "deepar");
    let (a, b, c) = (
        dir.path().join("a.csv"),
        dir.path().join("b.csv"),
        dir.path().join("c.csv"),
    );
    let run = |file: &Path, seed: &str| {
        let o = predict(
            &model,
            &data,
            &[
                "--paths",
                file.to_str().unwrap(),
                "--samples",
                "20",
                "--seed",
                seed,
            ],
        );
        ok(&o);
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()
    };
    let shown = run(&a, "5");
    run(&b, "5");
    run(&c, "6");
    let (pa, pb, pc) = (read_paths(&a), read_paths(&b), read_paths(&c));
    // 20 paths of H steps each, numbered from 1.
    assert_eq!(pa.len(), 20 * H);
    assert_eq!((pa[0].0, pa[0].1), (1, 1));
    assert_eq!((pa[pa.len() - 1].0, pa[pa.len() - 1].1), (20, H));
    assert_eq!(pa, pb, "same seed, same paths");
    assert_ne!(pa, pc, "another seed, other paths");
    // The printed point is the mean of the written paths at each step (to the CSV's 17
    // significant digits).
    let point: Vec<f64> = shown["forecasts"][0]["point"]
        .as_array()
        .or_else(|| shown["point"].as_array())
        .expect("a point forecast in the JSON")
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(point.len(), H);
    for (s, p) in point.iter().enumerate() {
        let mean = pa.iter().filter(|r| r.1 == s + 1).map(|r| r.2).sum::<f64>() / 20.0;
        assert!(
            (mean - p).abs() <= 1e-9 * p.abs().max(1.0),
            "step {s}: {mean} vs {p}"
        );
    }
    // Parquet too; a bad extension is refused before anything runs.
    let pq = dir.path().join("p.parquet");
    ok(&predict(&model, &data, &["--paths", pq.to_str().unwrap()]));
    assert!(std::fs::metadata(&pq).unwrap().len() > 0);
    let o = predict(&model, &data, &["--paths", "p.txt"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = predict(&model, &data, &["--samples", "0"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

/// `nt backtest` scores DeepAR's sample paths: a CRPS for deepar (finite and positive: the
/// paths of a 5-step model never hit every actual exactly) and none for the point models.
#[test]
fn backtest_reports_crps_for_deepar_only() {
    let dir = tempfile::tempdir().unwrap();
    let data = hourly_load_csv(dir.path(), 10, daily_sine);
    let o = nt(&[
        "backtest",
        "--data",
        data.to_str().unwrap(),
        "--models",
        "naive,deepar",
        "--horizon",
        "6",
        "--input-size",
        "24",
        "--split",
        "rolling",
        "--windows",
        "4",
        "--step",
        "6",
        "--format",
        "json",
        "--quiet",
        "--max-steps",
        "5",
        "--windows-batch-size",
        "32",
        "--val-fraction",
        "0",
    ]);
    ok(&o);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let models = doc["pooled"]
        .as_array()
        .or_else(|| doc["reports"][0]["models"].as_array())
        .or_else(|| doc["models"].as_array())
        .unwrap_or_else(|| panic!("no model list in {doc}"));
    let deepar = models.iter().find(|m| m["name"] == "deepar").unwrap();
    assert!(deepar["error"].is_null(), "{deepar}");
    let crps = deepar["scores"]["crps"]
        .as_f64()
        .expect("deepar has a CRPS");
    assert!(crps.is_finite() && crps > 0.0, "CRPS {crps}");
    let naive = models.iter().find(|m| m["name"] == "naive").unwrap();
    assert!(naive["scores"].get("crps").is_none(), "{naive}");
}
