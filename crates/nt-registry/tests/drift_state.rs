//! Drift monitoring state in the registry: reference profiles stored with a version (at
//! registration or later), alarm episodes that write one `drift-alarm` event each and a
//! `drift-cleared` event when they end, state that survives reopening the registry, and no
//! generation bump (servers reload models when the generation changes).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use nt_eval::drift::{
    evaluate, CheckStatus, CurrentSample, DriftReport, DriftThresholds, ReferenceProfile,
};
use nt_registry::{DriftTransition, EventKind, RegisterRequest, Registry};

/// A fitted random-walk model directory (`naive`: fits in microseconds).
fn naive_dir(dir: &Path) -> PathBuf {
    let out = dir.join("naive");
    let spec: nt_models::ModelSpec =
        serde_json::from_value(serde_json::json!({"model": "naive"})).unwrap();
    let series = nt_testing::synthetic::random_walk(100, 1.0, 7);
    let opts = nt_models::TrainOptions {
        out_dir: Some(out.clone()),
        ..nt_models::TrainOptions::default()
    };
    nt_models::train(&series, &["y"], &spec, &opts, &mut |_| {}).unwrap();
    out
}

fn levels(n: usize, shift: f64) -> Vec<f64> {
    (0..n)
        .map(|i| 50.0 + shift + (i as f64 * 0.7).sin() * 3.0 + (i as f64 * 0.11).cos())
        .collect()
}

fn residuals(n: usize, shift: f64) -> Vec<f64> {
    (0..n).map(|i| (i as f64 * 1.3).sin() + shift).collect()
}

fn reference() -> ReferenceProfile {
    ReferenceProfile::from_training("y", &levels(800, 0.0))
        .unwrap()
        .with_validation(&levels(200, 0.0), &residuals(200, 0.0), false)
        .unwrap()
}

fn report(shift: f64) -> DriftReport {
    let r = reference();
    let cur = CurrentSample::from_levels(
        &r,
        levels(300, shift),
        levels(150, shift),
        residuals(150, shift / 10.0),
    );
    evaluate(&r, &cur, &DriftThresholds::default()).unwrap()
}

fn drift_events(reg: &Registry, kind: EventKind) -> usize {
    reg.events(Some("m"), 0)
        .unwrap()
        .iter()
        .filter(|e| e.kind == kind)
        .count()
}

#[test]
fn alarm_episodes_write_one_event_each_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let model = naive_dir(dir.path());
    let reg_dir = dir.path().join("reg");
    let reg = Registry::open(&reg_dir).unwrap();
    let req = RegisterRequest {
        reference: Some(reference()),
        ..RegisterRequest::default()
    };
    let v = reg.register("m", &model, req).unwrap().version;
    assert_eq!(reg.reference("m", v).unwrap(), Some(reference()));
    assert_eq!(reg.drift_state("m", v).unwrap(), None);

    let (ok, alarm) = (report(0.0), report(20.0));
    assert_eq!(ok.status, CheckStatus::Ok, "{:?}", ok.reasons);
    assert_eq!(alarm.status, CheckStatus::Alarm);

    let generation = reg.generation().unwrap();
    let out = reg.record_drift("m", v, &ok).unwrap();
    assert_eq!(out.transition, DriftTransition::Quiet);
    assert!(out.event.is_none());

    // The episode starts: one drift-alarm event, with the report's numbers.
    let out = reg.record_drift("m", v, &alarm).unwrap();
    assert_eq!(out.transition, DriftTransition::AlarmRaised);
    let event = out.event.expect("a drift-alarm event");
    assert_eq!(event.kind, EventKind::DriftAlarm);
    assert_eq!(event.details["report"]["status"], "alarm");
    assert!(event.details["report"]["levels"]["psi"].as_f64().unwrap() >= 0.25);
    assert!(out.state.in_alarm && out.state.since.is_some());

    // It stays in alarm: no more events, also across reopening the registry.
    assert_eq!(
        reg.record_drift("m", v, &alarm).unwrap().transition,
        DriftTransition::AlarmContinues
    );
    drop(reg);
    let reg = Registry::open(&reg_dir).unwrap();
    let state = reg.drift_state("m", v).unwrap().expect("a drift state");
    assert!(state.in_alarm);
    assert_eq!(state.episodes, 1);
    assert_eq!(state.last_status, CheckStatus::Alarm);
    let out = reg.record_drift("m", v, &alarm).unwrap();
    assert_eq!(out.transition, DriftTransition::AlarmContinues);
    assert_eq!(drift_events(&reg, EventKind::DriftAlarm), 1);

    // It clears, then alarms again: a second episode, a second alarm event.
    let out = reg.record_drift("m", v, &ok).unwrap();
    assert_eq!(out.transition, DriftTransition::Cleared);
    assert_eq!(out.event.unwrap().kind, EventKind::DriftCleared);
    assert!(!out.state.in_alarm && out.state.since.is_none());
    let out = reg.record_drift("m", v, &alarm).unwrap();
    assert_eq!(out.transition, DriftTransition::AlarmRaised);
    assert_eq!(out.state.episodes, 2);
    assert_eq!(drift_events(&reg, EventKind::DriftAlarm), 2);
    assert_eq!(drift_events(&reg, EventKind::DriftCleared), 1);

    // None of this bumped the generation.
    assert_eq!(reg.generation().unwrap(), generation);
}

#[test]
fn insufficient_data_neither_opens_nor_closes_an_episode() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::open(dir.path().join("reg")).unwrap();
    let v = reg
        .register("m", &naive_dir(dir.path()), RegisterRequest::default())
        .unwrap()
        .version;
    let r = reference();
    let few = evaluate(
        &r,
        &CurrentSample::from_levels(&r, levels(3, 0.0), vec![], vec![]),
        &DriftThresholds::default(),
    )
    .unwrap();
    assert_eq!(few.status, CheckStatus::InsufficientData);
    assert_eq!(
        reg.record_drift("m", v, &few).unwrap().transition,
        DriftTransition::Quiet
    );
    reg.record_drift("m", v, &report(20.0)).unwrap();
    let out = reg.record_drift("m", v, &few).unwrap();
    assert_eq!(out.transition, DriftTransition::AlarmContinues);
    assert!(out.state.in_alarm);
}

#[test]
fn references_need_an_existing_version_and_can_be_set_later() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::open(dir.path().join("reg")).unwrap();
    let e = reg.set_reference("m", 1, &reference()).unwrap_err();
    assert!(e.is_not_found(), "{e}");
    assert!(reg.record_drift("m", 1, &report(0.0)).is_err());
    let v = reg
        .register("m", &naive_dir(dir.path()), RegisterRequest::default())
        .unwrap()
        .version;
    assert_eq!(reg.reference("m", v).unwrap(), None);
    let generation = reg.generation().unwrap();
    reg.set_reference("m", v, &reference()).unwrap();
    assert_eq!(reg.reference("m", v).unwrap(), Some(reference()));
    assert_eq!(reg.generation().unwrap(), generation);
    // Deleting the version removes its drift rows.
    reg.record_drift("m", v, &report(0.0)).unwrap();
    reg.delete("m", v, true).unwrap();
    assert_eq!(reg.reference("m", v).unwrap(), None);
    assert_eq!(reg.drift_state("m", v).unwrap(), None);
}
