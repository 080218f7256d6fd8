//! End-to-end tests of the registry commands: `nt train --register`, `nt registry …` and the
//! demo's registration. Tiny models and few steps, so they run in seconds.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::{nt, ok_json, stderr, stdout};

/// An hourly CSV with a daily cycle, 20 days long.
fn hourly_csv(dir: &Path) -> PathBuf {
    common::hourly_load_csv(dir, 20, |i| common::daily_sine(i) + (i % 7) as f64 * 0.1)
}

/// Trains a tiny NHITS (L=24, H=6, 10 steps, 10% validation) and registers it as `name`.
fn train_register(data: &Path, out: &Path, reg: &Path, name: &str, seed: &str) -> Output {
    nt(&[
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
        "10",
        "--windows-batch-size",
        "32",
        "--val-fraction",
        "0.1",
        "--val-check-steps",
        "5",
        "--seed",
        seed,
        "--register",
        name,
        "--registry",
        reg.to_str().unwrap(),
    ])
}

fn reg_cmd(reg: &Path, args: &[&str]) -> Output {
    let mut all = vec!["registry", "--registry", reg.to_str().unwrap()];
    all.extend_from_slice(args);
    nt(&all)
}

#[test]
fn train_register_then_every_registry_command() {
    let dir = tempfile::tempdir().unwrap();
    let data = hourly_csv(dir.path());
    let reg = dir.path().join("reg");
    let o = train_register(&data, &dir.path().join("m1"), &reg, "load-nhits", "1");
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    assert!(
        stdout(&o).contains("registered load-nhits@1"),
        "{}",
        stdout(&o)
    );
    let o = train_register(&data, &dir.path().join("m2"), &reg, "load-nhits", "2");
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));

    let list = ok_json(&reg_cmd(&reg, &["list", "--format", "json"]));
    assert_eq!(list["models"][0]["name"], "load-nhits");
    assert_eq!(list["models"][0]["versions"], 2);
    let table = stdout(&reg_cmd(&reg, &["list"]));
    assert!(
        table.contains("load-nhits") && table.contains("production"),
        "{table}"
    );

    // The validation window (48 rows = 10%) gave a model MAE, a random-walk MAE and a skill.
    let v1 = ok_json(&reg_cmd(
        &reg,
        &["show", "load-nhits@1", "--format", "json"],
    ));
    assert_eq!(v1["kind"], "nhits");
    assert_eq!(v1["input_size"], 24);
    assert!(v1["metrics"]["val_mae"].as_f64().unwrap() > 0.0);
    assert!(v1["metrics"]["rw_mae"].as_f64().unwrap() > 0.0);
    assert!(v1["metrics"]["skill"].is_number());
    assert_eq!(v1["profile"]["season_period"], 24);
    assert_eq!(v1["tags"]["target"], "load");

    // Stages: promote 1, then 2 (1 is archived), @production resolves to 2.
    ok_json(&reg_cmd(
        &reg,
        &["promote", "load-nhits@1", "--format", "json"],
    ));
    let p = ok_json(&reg_cmd(
        &reg,
        &["promote", "load-nhits@2", "--format", "json"],
    ));
    assert_eq!(p["stage"], "production");
    let prod = ok_json(&reg_cmd(
        &reg,
        &["show", "load-nhits@production", "--format", "json"],
    ));
    assert_eq!(prod["version"], 2);
    let v1 = ok_json(&reg_cmd(
        &reg,
        &["show", "load-nhits@1", "--format", "json"],
    ));
    assert_eq!(v1["stage"], "archived");
    let o = reg_cmd(&reg, &["archive", "load-nhits@2"]);
    assert!(
        stdout(&o).contains("load-nhits@2 is now archived"),
        "{}",
        stdout(&o)
    );

    let events = ok_json(&reg_cmd(
        &reg,
        &["events", "load-nhits", "--format", "json"],
    ));
    let kinds: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "trained",
            "registered",
            "trained",
            "registered",
            "promoted",
            "stage-changed",
            "promoted",
            "stage-changed"
        ]
    );

    let sim = ok_json(&reg_cmd(
        &reg,
        &["similar", "load-nhits@2", "-k", "3", "--format", "json"],
    ));
    assert_eq!(sim["similar"][0]["model"], "load-nhits@1");
    assert!(sim["similar"][0]["score"].as_f64().unwrap() > 0.9);

    // Recommending for the same data proposes the registered configuration.
    let rec = ok_json(&reg_cmd(
        &reg,
        &[
            "recommend",
            "--data",
            data.to_str().unwrap(),
            "--format",
            "json",
        ],
    ));
    assert_eq!(rec["target"], "load");
    let first = &rec["recommendations"][0];
    assert!(first["model"].as_str().unwrap().starts_with("load-nhits@"));
    assert!(first["data_similarity"].as_f64().unwrap() > 0.999);
    assert_eq!(first["spec"]["model"], "nhits");
    // "best" only with a known positive skill; otherwise "closest", saying why.
    let text = stdout(&reg_cmd(
        &reg,
        &["recommend", "--data", data.to_str().unwrap()],
    ));
    let skill = first["skill"].as_f64();
    let word = if skill.is_some_and(|s| s > 0.0) {
        "best configuration (load-nhits@"
    } else {
        "closest configuration (load-nhits@"
    };
    assert!(text.contains(word), "{skill:?}: {text}");

    // Delete 1, gc frees its weights and optimizer state (seed 1's differ from seed 2's).
    ok_json(&reg_cmd(
        &reg,
        &["delete", "load-nhits@1", "--format", "json"],
    ));
    let gc = ok_json(&reg_cmd(&reg, &["gc", "--format", "json"]));
    assert_eq!(gc["removed_blobs"], 2);
    assert_eq!(gc["kept_blobs"], 2);

    // Backup, then the copy lists the remaining version.
    let dest = dir.path().join("copy");
    let o = reg_cmd(&reg, &["backup", dest.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let copy = ok_json(&reg_cmd(&dest, &["list", "--format", "json"]));
    assert_eq!(copy["models"][0]["latest"], 2);
    assert_eq!(copy["models"][0]["versions"], 1);
}

#[test]
fn bad_input_exits_2_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let data = hourly_csv(dir.path());
    let reg = dir.path().join("reg");
    let o = train_register(&data, &dir.path().join("m"), &reg, "m", "1");
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let cases: [(&[&str], &str); 8] = [
        (&["show", "nope"], "nope"),
        (&["show", "m@7"], "m@7"),
        (&["show", "m@x"], "m@x"),
        (&["promote", "m"], "NAME@VERSION"),
        (&["delete", "m@0"], "m@0"),
        (&["similar", "bad name"], "bad name"),
        (&["events", "bad/name"], "bad/name"),
        (
            &["recommend", "--data", "/no/such/file.csv"],
            "/no/such/file.csv",
        ),
    ];
    for (args, needle) in cases {
        let o = reg_cmd(&reg, args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
    }
    // A backup over an existing registry is refused.
    let o = reg_cmd(&reg, &["backup", reg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // --register with an invalid name fails before anything is registered.
    let o = train_register(&data, &dir.path().join("m2"), &reg, "no spaces", "1");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("no spaces"), "{}", stderr(&o));
}

#[test]
fn nt_registry_env_var_names_the_default_registry() {
    let dir = tempfile::tempdir().unwrap();
    let reg = dir.path().join("env-reg");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_nt"))
            .args(args)
            .env("NT_REGISTRY", &reg)
            .output()
            .unwrap()
    };
    // Listing a registry that is not there is an error naming it, and creates nothing.
    let o = run(&["registry", "list", "--format", "json"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("env-reg"), "{}", stderr(&o));
    assert!(!reg.exists());
    // Registering creates it where $NT_REGISTRY says.
    let data = common::hourly_load_csv(dir.path(), 10, common::daily_sine);
    let out = dir.path().join("m");
    let o = run(&[
        "train",
        "--data",
        data.to_str().unwrap(),
        "--model",
        "naive",
        "--out",
        out.to_str().unwrap(),
        "--register",
        "m",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc = ok_json(&run(&["registry", "list", "--format", "json"]));
    assert_eq!(doc["registry"], reg.display().to_string());
    assert!(reg.join("registry.db").exists());
    assert_eq!(doc["models"][0]["name"], "m");
}

/// Runs `nt demo` (small, quiet, JSON leaderboard) into `reg` with `--min-skill min_skill`.
fn small_demo(dir: &Path, reg: &Path, min_skill: &str) -> (serde_json::Value, String) {
    let plot = dir.join("demo.svg");
    let o = nt(&[
        "demo",
        "--rows",
        "1200",
        "--windows",
        "3",
        "--neural-steps",
        "6",
        "--quiet",
        "--format",
        "json",
        "--min-skill",
        min_skill,
        "--plot",
        plot.to_str().unwrap(),
        "--registry",
        reg.to_str().unwrap(),
    ]);
    let err = stderr(&o);
    (ok_json(&o), err)
}

#[test]
fn demo_promotes_the_best_model_that_beats_the_random_walk_or_none() {
    let dir = tempfile::tempdir().unwrap();
    let reg = dir.path().join("reg");
    let (doc, err) = small_demo(dir.path(), &reg, "0.01");
    // The leaderboard's first model whose verdict is `beats`, if any, is the one promoted.
    let winner = doc["leaderboard"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .find(|n| doc["verdicts"][*n] == "beats");
    match winner {
        Some(w) => {
            assert!(
                err.contains(&format!("promoted demo-{w}@1 to production")),
                "{err}"
            );
            assert!(
                err.contains(&format!("nt serve --registry {}", reg.display())),
                "{err}"
            );
            let v = ok_json(&reg_cmd(
                &reg,
                &["show", &format!("demo-{w}"), "--format", "json"],
            ));
            assert_eq!(v["stage"], "production");
            assert_eq!(
                v["metrics"]["rank"].as_f64(),
                Some(
                    1.0 + doc["leaderboard"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .position(|n| n == w)
                        .unwrap() as f64
                )
            );
            assert!(v["metrics"]["backtest_mae"].as_f64().unwrap() > 0.0);
            assert!(v["profile"]["length"].as_u64().unwrap() == 1200);
        }
        None => assert!(err.contains("no model beats the random walk"), "{err}"),
    }
    // With a bar no model clears, nothing is promoted: the NHITS is registered, not in
    // production, and the output says so.
    let reg2 = dir.path().join("reg2");
    let (doc, err) = small_demo(dir.path(), &reg2, "0.99");
    assert!(
        doc["beats_random_walk"]
            .as_str()
            .unwrap()
            .starts_with("no model beats"),
        "{doc}"
    );
    assert!(
        err.contains("no model beats the random walk, so none was promoted"),
        "{err}"
    );
    let v = ok_json(&reg_cmd(
        &reg2,
        &["show", "demo-nhits@latest", "--format", "json"],
    ));
    assert_ne!(v["stage"], "production");
    assert!(err.contains("demo-nhits@1"), "{err}");
}
