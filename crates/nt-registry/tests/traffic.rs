//! Traffic policies (canary and shadow routes) and rollback in the registry: validation naming
//! the field, the generation bump servers reload on, the `traffic-changed` events, routes that
//! promotion and deletion remove, and rollback along the `promoted` events of the log.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use nt_registry::{
    CanaryRoute, EventKind, RegisterRequest, Registry, ServedForecast, ShadowRoute, Stage,
    TrafficPolicy, VersionSelector,
};

/// A fitted random-walk model directory (`naive`: fits in microseconds).
fn naive_dir(dir: &Path, i: usize) -> PathBuf {
    let out = dir.join(format!("naive-{i}"));
    let spec: nt_models::ModelSpec =
        serde_json::from_value(serde_json::json!({"model": "naive"})).unwrap();
    let series = nt_testing::synthetic::random_walk(100, 1.0, i as u64);
    let opts = nt_models::TrainOptions {
        out_dir: Some(out.clone()),
        ..nt_models::TrainOptions::default()
    };
    nt_models::train(&series, &["y"], &spec, &opts, &mut |_| {}).unwrap();
    out
}

/// A registry with `n` versions of `m`, version 1 in production.
fn registry(n: usize) -> (tempfile::TempDir, Registry) {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::open(dir.path().join("reg")).unwrap();
    for i in 1..=n {
        let stage = if i == 1 {
            Stage::Production
        } else {
            Stage::Staging
        };
        let req = RegisterRequest {
            stage,
            ..RegisterRequest::default()
        };
        reg.register("m", &naive_dir(dir.path(), i), req).unwrap();
    }
    (dir, reg)
}

fn canary(version: u32, percent: f64) -> Option<CanaryRoute> {
    Some(CanaryRoute { version, percent })
}

fn field_of(e: &nt_registry::Error) -> String {
    match e {
        nt_registry::Error::InvalidInput { field, .. } => field.clone(),
        other => panic!("expected an invalid-input error, got {other}"),
    }
}

fn traffic_events(reg: &Registry) -> Vec<nt_registry::Event> {
    reg.events(Some("m"), 0)
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == EventKind::TrafficChanged)
        .collect()
}

#[test]
fn a_policy_is_checked_stored_and_cleared_with_events_and_a_generation_bump() {
    let (_dir, reg) = registry(3);
    assert_eq!(reg.traffic("m").unwrap(), None);
    let policy = TrafficPolicy {
        canary: canary(2, 10.0),
        shadow: Some(ShadowRoute { version: 3 }),
        seed: 42,
    };
    let before = reg.generation().unwrap();
    assert_eq!(reg.set_traffic("m", policy).unwrap(), policy);
    assert!(reg.generation().unwrap() > before, "servers must reload it");
    assert_eq!(reg.traffic("m").unwrap(), Some(policy));
    let events = traffic_events(&reg);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].details["policy"]["canary"]["version"], 2);
    assert_eq!(events[0].details["policy"]["shadow"]["version"], 3);

    // Each refusal names the field.
    let bad = [
        (canary(1, 10.0), None, "canary.version"), // the production version
        (canary(9, 10.0), None, "canary.version"), // not registered
        (canary(0, 10.0), None, "canary.version"),
        (canary(2, 0.0), None, "canary.percent"),
        (canary(2, 100.0), None, "canary.percent"),
        (canary(2, f64::NAN), None, "canary.percent"),
        (None, Some(ShadowRoute { version: 1 }), "shadow.version"),
        (
            canary(2, 5.0),
            Some(ShadowRoute { version: 2 }),
            "shadow.version",
        ),
    ];
    for (c, s, field) in bad {
        let p = TrafficPolicy {
            canary: c,
            shadow: s,
            seed: 1,
        };
        let e = reg.set_traffic("m", p).unwrap_err();
        assert_eq!(field_of(&e), field, "{p:?}: {e}");
        assert!(e.is_bad_input());
    }
    assert_eq!(
        reg.traffic("m").unwrap(),
        Some(policy),
        "refusals change nothing"
    );
    assert!(reg.set_traffic("nope", policy).unwrap_err().is_not_found());
    assert!(reg.traffic("nope").unwrap_err().is_not_found());

    let before = reg.generation().unwrap();
    assert_eq!(reg.clear_traffic("m").unwrap(), Some(policy));
    assert!(reg.generation().unwrap() > before);
    assert_eq!(reg.traffic("m").unwrap(), None);
    assert_eq!(
        reg.clear_traffic("m").unwrap(),
        None,
        "nothing left to clear"
    );
    let events = traffic_events(&reg);
    assert_eq!(events.len(), 2, "one event per change: {events:?}");
    assert_eq!(events[1].details["cleared"], true);
    // An empty policy clears too.
    reg.set_traffic("m", policy).unwrap();
    reg.set_traffic("m", TrafficPolicy::default()).unwrap();
    assert_eq!(reg.traffic("m").unwrap(), None);
}

#[test]
fn promoting_or_deleting_a_routed_version_removes_its_route() {
    let (_dir, reg) = registry(4);
    let policy = TrafficPolicy {
        canary: canary(2, 10.0),
        shadow: Some(ShadowRoute { version: 3 }),
        seed: 1,
    };
    reg.set_traffic("m", policy).unwrap();
    reg.set_stage("m", 2, Stage::Production).unwrap();
    let left = reg.traffic("m").unwrap().unwrap();
    assert_eq!(left.canary, None, "the promoted canary has no canary route");
    assert_eq!(left.shadow, Some(ShadowRoute { version: 3 }));
    let last = traffic_events(&reg).pop().unwrap();
    assert_eq!(last.version, Some(2));
    assert_eq!(last.details["removed"][0], "canary");
    assert!(last.details["reason"]
        .as_str()
        .unwrap()
        .contains("promoted"));

    // Promoting a version that is not routed leaves the policy alone.
    reg.set_stage("m", 4, Stage::Production).unwrap();
    assert_eq!(reg.traffic("m").unwrap(), Some(left));

    reg.delete("m", 3, false).unwrap();
    assert_eq!(
        reg.traffic("m").unwrap(),
        None,
        "the deleted shadow's route is gone"
    );
    let last = traffic_events(&reg).pop().unwrap();
    assert_eq!(last.details["removed"][0], "shadow");
}

#[test]
fn rollback_returns_to_the_previous_production_version() {
    let (_dir, reg) = registry(4);
    // Only one version was ever in production: nothing to roll back to.
    let e = reg.rollback("m").unwrap_err();
    assert_eq!(field_of(&e), "name");
    assert!(
        e.to_string().contains("no earlier production version"),
        "{e}"
    );

    reg.set_stage("m", 2, Stage::Production).unwrap();
    reg.set_stage("m", 3, Stage::Production).unwrap();
    // 4 is the canary: rolling back to 2 leaves that route.
    reg.set_traffic(
        "m",
        TrafficPolicy {
            canary: canary(4, 20.0),
            shadow: None,
            seed: 1,
        },
    )
    .unwrap();
    let gen = reg.generation().unwrap();
    assert_eq!(reg.rollback_target("m").unwrap(), (3, 2));
    assert_eq!(reg.generation().unwrap(), gen, "the target is read-only");
    assert_eq!(reg.rollback("m").unwrap(), (3, 2));
    assert!(reg.generation().unwrap() > gen);
    let prod = reg.get("m", VersionSelector::Production).unwrap();
    assert_eq!(prod.version, 2);
    assert_eq!(
        reg.get("m", VersionSelector::Number(3)).unwrap().stage,
        Stage::Archived
    );
    let promoted = reg
        .events(Some("m"), 0)
        .unwrap()
        .into_iter()
        .rfind(|e| e.kind == EventKind::Promoted)
        .unwrap();
    assert_eq!(promoted.version, Some(2));
    assert_eq!(promoted.details["rollback"], true);
    assert_eq!(promoted.details["replaces"], 3);
    assert!(reg.traffic("m").unwrap().unwrap().canary.is_some());

    // A second rollback undoes the first.
    assert_eq!(reg.rollback("m").unwrap(), (2, 3));
    // Deleted versions are skipped: 1 was production before 2; with 2 gone, 3 goes back to 1.
    reg.delete("m", 2, false).unwrap();
    assert_eq!(reg.rollback("m").unwrap(), (3, 1));

    // Rolling back to the canary version removes its canary route.
    reg.set_stage("m", 4, Stage::Production).unwrap();
    reg.set_traffic(
        "m",
        TrafficPolicy {
            canary: canary(1, 20.0),
            shadow: None,
            seed: 1,
        },
    )
    .unwrap();
    assert_eq!(reg.rollback("m").unwrap(), (4, 1));
    assert_eq!(reg.traffic("m").unwrap(), None);

    // No production version at all.
    reg.set_stage("m", 1, Stage::Archived).unwrap();
    let e = reg.rollback("m").unwrap_err();
    assert!(e.to_string().contains("no production version"), "{e}");
    assert!(reg.rollback("nope").unwrap_err().is_not_found());
}

/// A forecast of `name@version` (role `role`) from origin `o` (hours), 3 steps an hour apart.
fn served(version: u32, role: nt_registry::ServedRole, o: i64, point: [f64; 3]) -> ServedForecast {
    let hour = 3_600_000;
    ServedForecast {
        name: "m".into(),
        version,
        role,
        target: "y".into(),
        origin_ms: Some(o * hour),
        last_value: 10.0,
        last_return: None,
        step_timestamps: (1..=3).map(|s| (o + s) * hour).collect(),
        point: point.to_vec(),
        quantiles: Vec::new(),
    }
}

#[test]
fn paired_errors_meet_on_target_timestamp_and_step() {
    use nt_registry::ServedRole::{Canary, Production, Shadow};
    let (_dir, reg) = registry(3);
    reg.log_forecasts(&[
        served(1, Production, 0, [11.0, 12.0, 13.0]),
        // The same origin twice for version 1: one pair, with the mean forecast.
        served(1, Production, 0, [13.0, 12.0, 13.0]),
        served(2, Shadow, 0, [10.5, 10.5, 10.5]),
        served(1, Production, 1, [11.0, 11.0, 11.0]),
        // Version 2 forecast origin 1 as the canary of another request: still paired.
        served(2, Canary, 1, [10.0, 10.0, 10.0]),
        // Only version 3 forecast origin 2.
        served(3, Shadow, 2, [9.0, 9.0, 9.0]),
    ])
    .unwrap();
    let hour = 3_600_000;
    let actuals: Vec<(i64, f64)> = (1..=4).map(|h| (h * hour, 10.0 + h as f64)).collect();
    reg.record_actuals("m", "y", &actuals).unwrap();
    let pairs = reg.paired_errors("m", 1, 2).unwrap();
    // Origin 0: steps 1..3 (ts 1, 2, 3); origin 1: steps 1..3 (ts 2, 3, 4).
    assert_eq!(pairs.len(), 6, "{pairs:?}");
    let first = &pairs[0];
    assert_eq!((first.ts, first.step, first.origin_ms), (hour, 1, 0));
    assert_eq!(
        (first.actual, first.forecast_a, first.forecast_b),
        (11.0, 12.0, 10.5)
    );
    assert_eq!((first.error_a(), first.error_b()), (1.0, -0.5));
    assert!(pairs.windows(2).all(|w| w[0].ts <= w[1].ts));
    let swapped = reg.paired_errors("m", 2, 1).unwrap();
    assert_eq!(swapped[0].forecast_a, 10.5);
    assert!(reg.paired_errors("m", 1, 3).unwrap().is_empty());
    assert_eq!(
        field_of(&reg.paired_errors("m", 2, 2).unwrap_err()),
        "versions"
    );
}
