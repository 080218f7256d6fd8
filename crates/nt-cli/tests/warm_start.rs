//! `nt train --from NAME@V`: warm-start retraining of a registered neural version (with and
//! without its optimizer state), refitting a classical one, lineage and before/after scores in
//! the registry, and the refusals. Tiny models, few steps.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::{nt, ok_json, stderr, stdout};

/// The parent's data (`old/load.csv`): a daily sine around 50; the new data (`new/load.csv`):
/// the same cycle, larger and higher (a regime change).
fn data(dir: &Path) -> (PathBuf, PathBuf) {
    let old = dir.join("old");
    let new = dir.join("new");
    std::fs::create_dir_all(&old).unwrap();
    std::fs::create_dir_all(&new).unwrap();
    (
        common::hourly_load_csv(&old, 20, |i| common::daily_sine(i) + (i % 7) as f64 * 0.1),
        common::hourly_load_csv(&new, 20, |i| {
            1.5 * common::daily_sine(i) - 10.0 + (i % 5) as f64 * 0.2
        }),
    )
}

/// Trains a tiny NHITS (L=24, H=6, 30 steps, 10% validation) into `out` without registering.
fn train_tiny(data: &Path, out: &Path, extra: &[&str]) -> Output {
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
        "--quiet",
        "--max-steps",
        "30",
        "--windows-batch-size",
        "32",
        "--val-fraction",
        "0.1",
        "--val-check-steps",
        "10",
    ];
    args.extend_from_slice(extra);
    nt(&args)
}

fn from(reg: &Path, reference: &str, data: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "train",
        "--from",
        reference,
        "--data",
        data.to_str().unwrap(),
        "--registry",
        reg.to_str().unwrap(),
        "--quiet",
    ];
    args.extend_from_slice(extra);
    nt(&args)
}

fn show(reg: &Path, reference: &str) -> serde_json::Value {
    ok_json(&nt(&[
        "registry",
        "--registry",
        reg.to_str().unwrap(),
        "show",
        reference,
        "--format",
        "json",
    ]))
}

#[test]
fn warm_start_registers_a_child_with_lineage_and_before_after_scores() {
    let tmp = tempfile::tempdir().unwrap();
    let (old, new) = data(tmp.path());
    let reg = tmp.path().join("reg");
    let o = train_tiny(
        &old,
        &tmp.path().join("m1"),
        &["--register", "load", "--registry", reg.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(tmp.path().join("m1/optimizer.safetensors").is_file());

    let out = tmp.path().join("child");
    let j = ok_json(&from(
        &reg,
        "load@1",
        &new,
        &[
            "--max-steps",
            "15",
            "--json",
            "--out",
            out.to_str().unwrap(),
        ],
    ));
    assert_eq!(j["retraining"], "warm-start");
    assert_eq!(j["restored_moments"], true);
    assert_eq!(j["steps"], 15);
    assert_eq!(j["registered"], "load@2");
    assert_eq!(j["parent"], 1);
    let origins = j["origins"].as_u64().unwrap() as usize;
    assert!(origins >= 2, "{j}");
    for key in ["parent_errors", "errors", "rw_errors"] {
        assert_eq!(j[key].as_array().unwrap().len(), origins, "{key}: {j}");
    }
    for key in [
        "parent_val_mae",
        "val_mae",
        "rw_mae",
        "skill",
        "parent_skill",
    ] {
        assert!(j[key].as_f64().unwrap().is_finite(), "{key}: {j}");
    }
    // The --out directory is the registered model, optimizer state included.
    assert!(out.join("optimizer.safetensors").is_file());

    let v = show(&reg, "load@2");
    assert_eq!(v["parent"], 1);
    assert_eq!(v["tags"]["retraining"], "warm-start");
    assert_eq!(v["tags"]["retrained_from"], "load@1");
    assert_eq!(v["metrics"]["steps"], 15.0);
    assert_eq!(v["metrics"]["parent_val_mae"], j["parent_val_mae"]);
    assert_eq!(v["metrics"]["val_mae"], j["val_mae"]);
    let text = stdout(&nt(&[
        "registry",
        "--registry",
        reg.to_str().unwrap(),
        "show",
        "load@2",
    ]));
    assert!(text.contains("parent       load@1"), "{text}");

    // The text report: what was restored, before and after, lineage. The child continues from
    // load@2 as well (a bare NAME would mean production: there is none, so name it).
    let o = from(&reg, "load@2", &new, &["--max-steps", "5"]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        text.contains("restored from load@2: its weights and Adam's moments"),
        "{text}"
    );
    assert!(text.contains("before (load@2): MAE"), "{text}");
    assert!(text.contains("after  (load@3): MAE"), "{text}");
    assert!(text.contains("registered load@3 (parent load@2"), "{text}");

    // Deterministic: the same retraining registers the same weights.
    let a = show(&reg, "load@3")["weights_sha256"].clone();
    assert_eq!(
        from(&reg, "load@2", &new, &["--max-steps", "5"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(show(&reg, "load@4")["weights_sha256"], a);
}

#[test]
fn a_version_without_optimizer_state_warm_starts_with_fresh_moments() {
    let tmp = tempfile::tempdir().unwrap();
    let (old, new) = data(tmp.path());
    let dir = tmp.path().join("m1");
    let o = train_tiny(&old, &dir, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // As a directory written before optimizer states were saved.
    let path = dir.join("model.json");
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let obj = json.as_object_mut().unwrap();
    assert!(obj.remove("optimizer_file").is_some());
    obj.remove("optimizer_sha256");
    std::fs::write(&path, serde_json::to_vec(&json).unwrap()).unwrap();
    std::fs::remove_file(dir.join("optimizer.safetensors")).unwrap();
    let reg = tmp.path().join("reg");
    let registry = nt_registry::Registry::open(&reg).unwrap();
    registry
        .register("old", &dir, nt_registry::RegisterRequest::default())
        .unwrap();
    assert_eq!(registry.optimizer_state("old", 1).unwrap(), None);

    let o = from(&reg, "old@1", &new, &["--max-steps", "5"]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        text.contains("it has no saved optimizer state") && text.contains("fresh moments"),
        "{text}"
    );
    let v = show(&reg, "old@2");
    assert_eq!(v["parent"], 1);
    assert_eq!(v["tags"]["retraining"], "warm-start (fresh moments)");
    // The child was trained here, so it has an optimizer state of its own.
    assert!(registry.optimizer_state("old", 2).unwrap().is_some());
}

#[test]
fn a_classical_version_refits() {
    let tmp = tempfile::tempdir().unwrap();
    let (old, new) = data(tmp.path());
    let reg = tmp.path().join("reg");
    let o = nt(&[
        "train",
        "--data",
        old.to_str().unwrap(),
        "--model",
        "seasonal-naive",
        "--horizon",
        "6",
        "--out",
        tmp.path().join("c1").to_str().unwrap(),
        "--register",
        "classic",
        "--registry",
        reg.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = from(&reg, "classic@1", &new, &[]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(text.contains("refit seasonal-naive"), "{text}");
    assert!(text.contains("no weights to continue"), "{text}");
    let j = ok_json(&from(&reg, "classic@1", &new, &["--json"]));
    assert_eq!(j["retraining"], "refit");
    assert!(j["val_mae"].as_f64().unwrap().is_finite());
    let v = show(&reg, "classic@2");
    assert_eq!(v["parent"], 1);
    assert_eq!(v["tags"]["retraining"], "refit");
}

#[test]
fn conflicting_flags_and_unknown_versions_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (old, new) = data(tmp.path());
    let reg = tmp.path().join("reg");
    let o = train_tiny(
        &old,
        &tmp.path().join("m1"),
        &["--register", "load", "--registry", reg.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for (flags, named) in [
        (vec!["--model", "nhits"], vec!["--model"]),
        (
            vec!["--horizon", "3", "--input-size", "12"],
            vec!["--horizon", "--input-size"],
        ),
        (vec!["--resume"], vec!["--resume"]),
        (vec!["--config", "x.json"], vec!["--config"]),
    ] {
        let o = from(&reg, "load@1", &new, &flags);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{flags:?}: {err}");
        for n in named {
            assert!(
                err.contains(n) && err.contains("--from"),
                "{flags:?}: {err}"
            );
        }
    }
    let o = from(&reg, "load@9", &new, &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("load@9"), "{err}");
    let o = from(&reg, "nosuch@1", &new, &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("nosuch"), "{err}");
    // Without --from, --out is still required.
    let o = nt(&["train", "--data", new.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--out"), "{}", stderr(&o));
    // Nothing was registered by the refusals.
    let list = ok_json(&nt(&[
        "registry",
        "--registry",
        reg.to_str().unwrap(),
        "list",
        "--format",
        "json",
    ]));
    assert_eq!(list["models"][0]["versions"], 1);
}
