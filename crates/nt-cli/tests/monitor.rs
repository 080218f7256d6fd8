//! End-to-end tests of `nt monitor`: a tiny NHITS trained on a stable daily cycle reports ok on
//! more of the same and an alarm on the same cycle shifted up by 20; the alarm writes one
//! `drift-alarm` event however often the monitor runs; a version without a reference profile
//! exits 2 saying how to build one, and `--reference TRAIN.csv` builds it; `--retrain-on-alarm`
//! registers a candidate whose parent is the monitored version and does not promote it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::{nt, ok_json, stderr, stdout};

/// The stable series: a daily sine around 50 plus a small weekly-hour pattern, from hour `i`.
fn stable(i: usize) -> f64 {
    common::daily_sine(i) + (i % 7) as f64 * 0.1
}

/// `days` days of `value(i + offset)` in `dir/load.csv`.
fn csv(dir: &Path, days: usize, offset: usize, value: fn(usize) -> f64) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    common::hourly_load_csv(dir, days, move |i| value(i + offset))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Trains a tiny NHITS (L=24, H=6, 10 steps, 10% validation) on `data` into `out`; registers
/// it as `load` in `reg` when `register`.
fn train(data: &Path, out: &Path, reg: &Path, register: bool) -> Output {
    let mut args = vec![
        "train",
        "--data",
        s(data),
        "--model",
        "nhits",
        "--horizon",
        "6",
        "--input-size",
        "24",
        "--out",
        s(out),
        "--quiet",
        "--max-steps",
        "10",
        "--windows-batch-size",
        "32",
        "--val-fraction",
        "0.1",
        "--val-check-steps",
        "5",
        "--seed",
        "1",
    ];
    if register {
        args.extend(["--register", "load", "--registry", s(reg)]);
    }
    nt(&args)
}

fn monitor(reg: &Path, model: &str, data: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["monitor", model, "--data", s(data), "--registry", s(reg)];
    args.extend_from_slice(extra);
    nt(&args)
}

fn drift_alarms(reg: &Path) -> usize {
    let events = ok_json(&nt(&[
        "registry",
        "--registry",
        s(reg),
        "events",
        "load",
        "--format",
        "json",
    ]));
    events["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"] == "drift-alarm")
        .count()
}

#[test]
fn stable_data_is_ok_a_shift_alarms_once_and_retrains_a_candidate() {
    let dir = tempfile::tempdir().unwrap();
    let train_csv = csv(&dir.path().join("train"), 20, 0, stable);
    let same_csv = csv(&dir.path().join("same"), 10, 480, stable);
    let shifted_csv = csv(&dir.path().join("shifted"), 10, 480, |i| stable(i) + 20.0);
    let reg = dir.path().join("reg");
    let o = train(&train_csv, &dir.path().join("m"), &reg, true);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));

    // More of the same: every check runs and is ok.
    let same = ok_json(&monitor(&reg, "load@1", &same_csv, &["--format", "json"]));
    assert_eq!(same["status"], "ok", "{:#}", same["report"]);
    for check in ["levels", "returns", "predictions", "residuals"] {
        assert_eq!(same["report"][check]["status"], "ok", "{check}");
    }
    assert_eq!(same["report"]["residuals"]["method"], "exact");
    assert_eq!(same["recorded"]["transition"], "quiet");

    // The shift: an alarm (exit code 0), printed plainly, one event on two runs.
    let o = monitor(&reg, "load@1", &shifted_csv, &[]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("status: ALARM"), "{text}");
    assert!(text.contains("levels: PSI"), "{text}");
    assert!(text.contains("drift-alarm event"), "{text}");
    let again = ok_json(&monitor(
        &reg,
        "load@1",
        &shifted_csv,
        &["--format", "json"],
    ));
    assert_eq!(again["status"], "alarm");
    assert!(again["report"]["levels"]["psi"].as_f64().unwrap() >= 0.25);
    assert_eq!(again["recorded"]["transition"], "alarm-continues");
    assert_eq!(drift_alarms(&reg), 1);
    let show = ok_json(&nt(&[
        "registry",
        "--registry",
        s(&reg),
        "show",
        "load@1",
        "--format",
        "json",
    ]));
    assert_eq!(show["drift"]["state"]["in_alarm"], true);
    assert!(show["drift"]["reference"]["residuals"].as_u64().unwrap() >= 10);
    let show_text = stdout(&nt(&["registry", "--registry", s(&reg), "show", "load@1"]));
    assert!(
        show_text.contains("drift        ALARM since"),
        "{show_text}"
    );

    // --no-record leaves the state alone; a plot is written.
    let plot = dir.path().join("drift.svg");
    let o = monitor(
        &reg,
        "load@1",
        &shifted_csv,
        &["--no-record", "--plot", s(&plot), "--format", "json"],
    );
    assert!(ok_json(&o)["recorded"].is_null());
    assert!(std::fs::metadata(&plot).unwrap().len() > 1000);

    // Retraining on the alarm registers a candidate with parent 1 and does not promote it.
    let r = ok_json(&monitor(
        &reg,
        "load@1",
        &shifted_csv,
        &["--retrain-on-alarm", "--max-steps", "5", "--format", "json"],
    ));
    assert_eq!(r["retrain"]["candidate"], "load@2", "{:#}", r["retrain"]);
    assert_eq!(r["retrain"]["promoted"], false);
    let cand = ok_json(&nt(&[
        "registry",
        "--registry",
        s(&reg),
        "show",
        "load@2",
        "--format",
        "json",
    ]));
    assert_eq!(cand["parent"], 1);
    assert_ne!(cand["stage"], "production");
    assert!(
        cand["drift"]["reference"].is_object(),
        "{:#}",
        cand["drift"]
    );
    assert_eq!(drift_alarms(&reg), 1);
}

#[test]
fn a_version_without_reference_says_how_to_build_one() {
    let dir = tempfile::tempdir().unwrap();
    let train_csv = csv(&dir.path().join("train"), 20, 0, stable);
    let same_csv = csv(&dir.path().join("same"), 10, 480, stable);
    let model_dir = dir.path().join("m");
    let o = train(&train_csv, &model_dir, Path::new("-"), false);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    // Registered as before drift monitoring: no reference profile.
    let reg = dir.path().join("reg");
    nt_registry::Registry::open(&reg)
        .unwrap()
        .register("load", &model_dir, nt_registry::RegisterRequest::default())
        .unwrap();

    let o = monitor(&reg, "load@1", &same_csv, &[]);
    assert_eq!(o.status.code(), Some(2), "stdout: {}", stdout(&o));
    let err = stderr(&o);
    assert!(err.contains("no drift reference profile"), "{err}");
    assert!(err.contains("--reference TRAIN.csv"), "{err}");
    assert!(err.contains("nt monitor load@1 --data"), "{err}");

    let fixed = ok_json(&monitor(
        &reg,
        "load@1",
        &same_csv,
        &["--reference", s(&train_csv), "--format", "json"],
    ));
    assert_eq!(fixed["status"], "ok", "{:#}", fixed["report"]);
    // Stored: the next run needs no --reference.
    let next = ok_json(&monitor(&reg, "load@1", &same_csv, &["--format", "json"]));
    assert_eq!(next["report"]["levels"]["reference_n"], 480);

    // Bad thresholds name their flag.
    let o = monitor(&reg, "load@1", &same_csv, &["--psi-alarm", "0.05"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--psi-alarm"), "{}", stderr(&o));
}

#[test]
fn a_classical_version_gets_in_sample_residuals_and_every_check_runs() {
    let dir = tempfile::tempdir().unwrap();
    let train_csv = csv(&dir.path().join("train"), 20, 0, stable);
    let same_csv = csv(&dir.path().join("same"), 10, 480, stable);
    let reg = dir.path().join("reg");
    let o = nt(&[
        "train",
        "--data",
        s(&train_csv),
        "--model",
        "seasonal-naive",
        "--out",
        s(&dir.path().join("m")),
        "--quiet",
        "--register",
        "load",
        "--registry",
        s(&reg),
    ]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let show = ok_json(&nt(&[
        "registry",
        "--registry",
        s(&reg),
        "show",
        "load@1",
        "--format",
        "json",
    ]));
    assert_eq!(show["drift"]["reference"]["residuals_in_sample"], true);
    let r = ok_json(&monitor(&reg, "load@1", &same_csv, &["--format", "json"]));
    assert_eq!(r["status"], "ok", "{:#}", r["report"]);
    assert_eq!(r["report"]["residuals"]["reference_in_sample"], true);
    assert!(r["report"]["residuals"]["current_n"].as_u64().unwrap() >= 10);
}

#[test]
fn promote_if_better_promotes_a_candidate_that_wins_the_diebold_mariano_test() {
    let dir = tempfile::tempdir().unwrap();
    let train_csv = csv(&dir.path().join("train"), 20, 0, stable);
    // 30 days of the shifted cycle: a held-out tail of 144 rows (24 origins) to compare on.
    let shifted_csv = csv(&dir.path().join("shifted"), 30, 480, |i| stable(i) + 20.0);
    let reg = dir.path().join("reg");
    let o = train(&train_csv, &dir.path().join("m"), &reg, true);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let r = ok_json(&monitor(
        &reg,
        "load@1",
        &shifted_csv,
        &[
            "--retrain-on-alarm",
            "--max-steps",
            "30",
            "--promote-if-better",
            "--format",
            "json",
        ],
    ));
    let retrain = &r["retrain"];
    assert_eq!(retrain["better"], true, "{retrain:#}");
    assert_eq!(retrain["promoted"], true);
    assert!(retrain["diebold_mariano"]["p_value"].as_f64().unwrap() <= 0.05);
    assert!(retrain["val_mae"].as_f64().unwrap() < retrain["parent_val_mae"].as_f64().unwrap());
    let cand = ok_json(&nt(&[
        "registry",
        "--registry",
        s(&reg),
        "show",
        "load@2",
        "--format",
        "json",
    ]));
    assert_eq!(cand["stage"], "production");
    assert_eq!(cand["parent"], 1);
}
