//! `nt registry route`, `compare` and `rollback` end to end: policies set, shown and cleared,
//! refusals with exit code 2 naming the flag, promotion of the canary removing its route,
//! rollback along the promotions, and the live comparison with its Diebold–Mariano verdict on
//! forecasts and actuals logged as a server would.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::{nt, ok_json, stderr, stdout};
use nt_registry::{Registry, ServedForecast, ServedRole};

fn reg_cmd(reg: &Path, args: &[&str]) -> Output {
    let mut all = vec!["registry", "--registry", reg.to_str().unwrap()];
    all.extend_from_slice(args);
    nt(&all)
}

/// Registers `m` v1 naive, v2 drift, v3 mean (classical: fitted in milliseconds); v1 promoted.
fn registry(dir: &Path) -> PathBuf {
    let data = common::hourly_load_csv(dir, 5, common::daily_sine);
    let reg = dir.join("reg");
    for (i, kind) in ["naive", "drift", "mean"].iter().enumerate() {
        let out = dir.join(format!("m{i}"));
        let o = nt(&[
            "train",
            "--data",
            data.to_str().unwrap(),
            "--model",
            kind,
            "--horizon",
            "3",
            "--out",
            out.to_str().unwrap(),
            "--quiet",
            "--register",
            "m",
            "--registry",
            reg.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    }
    let o = reg_cmd(&reg, &["promote", "m@1"]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    reg
}

#[test]
fn route_sets_shows_and_clears_the_policy_and_refuses_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let reg = registry(dir.path());
    let j = ok_json(&reg_cmd(&reg, &["route", "m", "--format", "json"]));
    assert_eq!(
        (j["production"].clone(), j["canary"].clone()),
        (1.into(), serde_json::Value::Null)
    );

    let j = ok_json(&reg_cmd(
        &reg,
        &["route", "m", "--canary", "m@2:10%", "--format", "json"],
    ));
    assert_eq!(
        j["canary"],
        serde_json::json!({"version": 2, "percent": 10.0})
    );
    assert_eq!(
        j["seed"].as_u64().unwrap(),
        nt_registry::TrafficPolicy::default_seed("m")
    );
    // `10` without `%`; a shadow added keeps the canary.
    let j = ok_json(&reg_cmd(
        &reg,
        &[
            "route", "m", "--canary", "m@2:25", "--shadow", "m@3", "--seed", "7", "--format",
            "json",
        ],
    ));
    assert_eq!(j["canary"]["percent"], 25.0);
    assert_eq!(
        (j["shadow"]["version"].clone(), j["seed"].clone()),
        (3.into(), 7.into())
    );
    let text = stdout(&reg_cmd(&reg, &["route", "m"]));
    assert!(text.contains("m@2 answers 25% of the requests"), "{text}");
    assert!(text.contains("m@3 forecasts every request"), "{text}");
    // `show` prints the policy too.
    let show = stdout(&reg_cmd(&reg, &["show", "m"]));
    assert!(show.contains("canary       m@2"), "{show}");
    let j = ok_json(&reg_cmd(&reg, &["show", "m", "--format", "json"]));
    assert_eq!(j["traffic"]["shadow"]["version"], 3);

    for (args, says) in [
        (
            vec!["--canary", "m@1:10%"],
            "--canary: m@1 is the production version",
        ),
        (vec!["--canary", "m@2:150%"], "--canary: expected a share"),
        (vec!["--canary", "m@2"], "expected NAME@VERSION:PERCENT"),
        (vec!["--canary", "m@2:lots"], "is not a percentage"),
        (vec!["--canary", "other@2:10"], "routes belong to m"),
        (
            vec!["--canary", "m@9:10"],
            "m@9 is not a registered version",
        ),
        (
            vec!["--shadow", "m@2"],
            "--shadow: m@2 is already the canary",
        ),
        (
            vec!["--clear", "--canary", "m@2:5"],
            "--clear removes every route",
        ),
    ] {
        let mut all = vec!["route", "m"];
        all.extend(args.iter().copied());
        let o = reg_cmd(&reg, &all);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
    }
    let o = reg_cmd(&reg, &["route", "nope", "--canary", "nope@1:5"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));

    let j = ok_json(&reg_cmd(
        &reg,
        &["route", "m", "--no-shadow", "--format", "json"],
    ));
    assert!(j["shadow"].is_null() && j["canary"]["version"] == 2, "{j}");
    let j = ok_json(&reg_cmd(
        &reg,
        &["route", "m", "--clear", "--format", "json"],
    ));
    assert!(j["canary"].is_null() && j["shadow"].is_null(), "{j}");
    let events = ok_json(&reg_cmd(&reg, &["events", "m", "--format", "json"]));
    let changes = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "traffic-changed")
        .count();
    assert_eq!(changes, 4, "{events}");
}

#[test]
fn promoting_the_canary_removes_its_route_and_rollback_returns() {
    let dir = tempfile::tempdir().unwrap();
    let reg = registry(dir.path());
    // Only one production version so far.
    let o = reg_cmd(&reg, &["rollback", "m"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no earlier production version"),
        "{}",
        stderr(&o)
    );

    ok_json(&reg_cmd(
        &reg,
        &["route", "m", "--canary", "m@2:10", "--format", "json"],
    ));
    let o = reg_cmd(&reg, &["promote", "m@2"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let j = ok_json(&reg_cmd(&reg, &["route", "m", "--format", "json"]));
    assert_eq!(
        (j["production"].clone(), j["canary"].clone()),
        (2.into(), serde_json::Value::Null)
    );

    let j = ok_json(&reg_cmd(&reg, &["rollback", "m", "--format", "json"]));
    assert_eq!((j["from"].clone(), j["to"].clone()), (2.into(), 1.into()));
    let text = stdout(&reg_cmd(&reg, &["rollback", "m"]));
    assert!(text.contains("production is m@2 again"), "{text}");
    let events = ok_json(&reg_cmd(&reg, &["events", "m", "--format", "json"]));
    let rollbacks = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "promoted" && e["details"]["rollback"] == true)
        .count();
    assert_eq!(rollbacks, 2);
}

/// Logs, as a server would, forecasts of m@1 (production) and m@2 (shadow) from `origins`
/// origins 3 hours apart, 3 steps each, with the actuals: m@2 errs by 0.1, m@1 by 1 to 1.2.
fn log_live(reg: &Path, origins: i64) {
    let r = Registry::open(reg).unwrap();
    let hour = 3_600_000;
    let actual = |ts: i64| 50.0 + (ts / hour) as f64 * 0.01;
    let mut forecasts = Vec::new();
    for o in 0..origins {
        let origin = o * 3 * hour;
        let steps: Vec<i64> = (1..=3).map(|s| origin + s * hour).collect();
        for (version, role, err) in [
            (1, ServedRole::Production, 1.0 + (o % 3) as f64 * 0.1),
            (2, ServedRole::Shadow, 0.1),
        ] {
            forecasts.push(ServedForecast {
                name: "m".into(),
                version,
                role,
                target: "load".into(),
                origin_ms: Some(origin),
                last_value: actual(origin),
                last_return: None,
                step_timestamps: steps.clone(),
                point: steps.iter().map(|&t| actual(t) + err).collect(),
                quantiles: Vec::new(),
            });
        }
    }
    r.log_forecasts(&forecasts).unwrap();
    let actuals: Vec<(i64, f64)> = (1..=origins * 3)
        .map(|h| (h * hour, actual(h * hour)))
        .collect();
    r.record_actuals("m", "load", &actuals).unwrap();
}

#[test]
fn compare_prints_live_scores_and_the_diebold_mariano_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let reg = registry(dir.path());
    // Three origins: too few for the test, said with the counts.
    log_live(&reg, 3);
    let j = ok_json(&reg_cmd(
        &reg,
        &["compare", "m@1", "m@2", "--format", "json"],
    ));
    assert_eq!(j["paired"]["points"], 9);
    assert!(j["diebold_mariano"].is_null());
    assert!(
        j["verdict"]
            .as_str()
            .unwrap()
            .starts_with("not enough paired points: 9 paired points over 3"),
        "{j}"
    );

    let dir = tempfile::tempdir().unwrap();
    let reg = registry(dir.path());
    log_live(&reg, 40);
    let j = ok_json(&reg_cmd(&reg, &["compare", "m", "m@2", "--format", "json"]));
    assert_eq!(
        j["a"]["model"], "m@1",
        "a bare name is the production version"
    );
    assert_eq!(j["paired"]["origins"], 40);
    assert_eq!(j["better"], "m@2");
    assert_eq!(j["significant"], true);
    let dm = &j["diebold_mariano"];
    assert!(
        dm["statistic"].as_f64().unwrap() > 0.0,
        "m@1 has the larger loss: {dm}"
    );
    assert!(dm["p_value"].as_f64().unwrap() < 0.05);
    // Origins 3 hours apart, 3 steps: no overlap, no lags.
    assert_eq!(dm["lags"], 0);
    let since = |side: &str| {
        j[side]["scores"]["windows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["window"] == "since_deployment")
            .unwrap()
            .clone()
    };
    assert_eq!(since("a")["n"], 120);
    assert!((since("b")["mae"].as_f64().unwrap() - 0.1).abs() < 1e-9);

    let text = stdout(&reg_cmd(
        &reg,
        &["compare", "m@1", "m@2", "--loss", "absolute"],
    ));
    assert!(text.contains("since_deployment"), "{text}");
    assert!(text.contains("m@2 is better"), "{text}");
    assert!(text.contains("significant at 5%"), "{text}");
    for bad in [vec!["m@1", "m@1"], vec!["m@1", "other@2"]] {
        let mut all = vec!["compare"];
        all.extend(bad.iter().copied());
        let o = reg_cmd(&reg, &all);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", stderr(&o));
    }
}
