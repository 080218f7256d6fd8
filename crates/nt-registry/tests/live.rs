//! Live scoring in the registry: forecasts logged, actuals matched, scores computed by hand.

use nt_core::QuantileBand;
use nt_registry::{Error, Registry, ServedForecast, ServedRole};

fn forecast(
    version: u32,
    role: ServedRole,
    origin: i64,
    steps: &[i64],
    point: &[f64],
    last: f64,
) -> ServedForecast {
    ServedForecast {
        name: "m".into(),
        version,
        role,
        target: "OT".into(),
        origin_ms: Some(origin),
        last_value: last,
        last_return: Some(0.01),
        step_timestamps: steps.to_vec(),
        point: point.to_vec(),
        quantiles: Vec::new(),
    }
}

#[test]
fn live_records_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<ServedForecast>();
    check::<nt_registry::LiveScores>();
    check::<nt_registry::MatchedPoint>();
    check::<nt_registry::LoggedForecast>();
    check::<nt_registry::ActualsOutcome>();
}

fn field_of(e: &Error) -> String {
    match e {
        Error::InvalidInput { field, .. } => field.clone(),
        other => panic!("expected InvalidInput, got {other}"),
    }
}

fn close(a: Option<f64>, b: f64) {
    let a = a.unwrap_or_else(|| panic!("expected {b}, got None"));
    assert!((a - b).abs() < 1e-12, "{a} != {b}");
}

/// Forecast A (v1, production, origin 1000): steps 2000 and 3000, point [10, 12], last 9, a
/// 10–90% band [8, 9]..[12, 15]. Forecast B (v2, canary, origin 2000, logged after the actual
/// at 3000 arrived): steps 3000 and 4000, point [9.5, 9], last 11.
/// Actuals: 2000 → 11, 3000 → 13, 4000 → 12.
#[test]
fn matching_across_horizons_and_versions_gives_the_hand_computed_scores() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::open(dir.path()).unwrap();
    let generation = reg.generation().unwrap();
    let mut a = forecast(
        1,
        ServedRole::Production,
        1000,
        &[2000, 3000],
        &[10.0, 12.0],
        9.0,
    );
    a.quantiles = vec![
        QuantileBand {
            q: 0.1,
            values: vec![8.0, 9.0],
        },
        QuantileBand {
            q: 0.9,
            values: vec![12.0, 15.0],
        },
    ];
    assert_eq!(reg.log_forecasts(&[a]).unwrap(), 0);
    let out = reg
        .record_actuals("m", "OT", &[(2000, 11.0), (3000, 13.0)])
        .unwrap();
    assert_eq!((out.accepted, out.duplicates, out.matched), (2, 0, 2));
    // B is logged after the actual at 3000: it is matched when logged.
    let b = forecast(
        2,
        ServedRole::Canary,
        2000,
        &[3000, 4000],
        &[9.5, 9.0],
        11.0,
    );
    assert_eq!(reg.log_forecasts(&[b]).unwrap(), 1);
    let out = reg.record_actuals("m", "OT", &[(4000, 12.0)]).unwrap();
    assert_eq!((out.accepted, out.duplicates, out.matched), (1, 0, 1));

    // v1: errors 1 and 1; random walk (9) errors 2 and 4; both in the band; pinball
    // step 1: (0.1·3 + 0.1·1)/2 = 0.2, step 2: (0.1·4 + 0.1·2)/2 = 0.3; both directions hit.
    let s1 = reg.live_scores("m", 1).unwrap();
    let all = &s1.windows[2];
    assert_eq!(all.window, "since_deployment");
    assert_eq!(all.n, 2);
    close(all.mae, 1.0);
    close(all.rmse, 1.0);
    close(all.rw_mae, 3.0);
    close(all.skill, 1.0 - 1.0 / 3.0);
    close(all.coverage, 1.0);
    close(all.nominal_coverage, 0.8);
    close(all.mean_pinball, 0.25);
    close(all.directional_accuracy, 1.0);
    assert_eq!(s1.windows[0], ScoreLabel::relabel(all, "last_100"));
    assert_eq!(s1.by_role.keys().collect::<Vec<_>>(), ["production"]);

    // v2: errors 3.5 and 3, random walk (11) errors 2 and 1; forecasts fell, actuals rose.
    let s2 = reg.live_scores("m", 2).unwrap();
    let all = &s2.windows[2];
    assert_eq!(all.n, 2);
    close(all.mae, 3.25);
    close(all.rmse, ((3.5f64 * 3.5 + 9.0) / 2.0).sqrt());
    close(all.rw_mae, 1.5);
    close(all.skill, 1.0 - 3.25 / 1.5);
    close(all.directional_accuracy, 0.0);
    assert_eq!(all.coverage, None);
    assert_eq!(all.mean_pinball, None);
    assert!(s2.by_role.contains_key("canary"));
    assert_eq!(reg.scored_versions("m").unwrap(), [1, 2]);

    let points = reg.matched_points("m", 2, 0).unwrap();
    assert_eq!(points.len(), 2);
    assert_eq!(
        (points[0].ts, points[0].step, points[0].origin_ms),
        (4000, 2, 2000)
    );
    close(Some(points[0].residual), -3.0);
    assert_eq!(points[1].ts, 3000);
    assert_eq!(points[1].role, ServedRole::Canary);
    let recent = reg.recent_forecasts("m", 1, 10).unwrap();
    assert_eq!(recent.len(), 1);
    assert_eq!(recent[0].forecast.point, [10.0, 12.0]);
    assert_eq!(recent[0].forecast.quantiles.len(), 2);

    // None of these writes moved the generation (servers would reload their models).
    assert_eq!(reg.generation().unwrap(), generation);
}

/// Helper to compare windows that differ only in their label.
struct ScoreLabel;
impl ScoreLabel {
    fn relabel(w: &nt_registry::ScoreWindow, label: &str) -> nt_registry::ScoreWindow {
        let mut w = w.clone();
        w.window = label.into();
        w
    }
}

#[test]
fn duplicates_are_idempotent_and_conflicts_refused() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::open(dir.path()).unwrap();
    let f = forecast(1, ServedRole::Production, 0, &[10, 20], &[1.0, 2.0], 1.0);
    reg.log_forecasts(&[f]).unwrap();
    let out = reg.record_actuals("m", "OT", &[(10, 1.5)]).unwrap();
    assert_eq!((out.accepted, out.matched), (1, 1));
    let before = reg.live_scores("m", 1).unwrap();
    // The same actual again, alone and next to a new one, and twice in one call.
    let out = reg.record_actuals("m", "OT", &[(10, 1.5)]).unwrap();
    assert_eq!((out.accepted, out.duplicates, out.matched), (0, 1, 0));
    assert_eq!(reg.live_scores("m", 1).unwrap(), before);
    let out = reg
        .record_actuals("m", "OT", &[(10, 1.5), (20, 3.0), (20, 3.0)])
        .unwrap();
    assert_eq!((out.accepted, out.duplicates, out.matched), (1, 2, 1));
    assert_eq!(reg.live_scores("m", 1).unwrap().windows[2].n, 2);

    // Another value for a recorded timestamp is refused, naming it; so is a timestamp given
    // twice with different values.
    let e = reg.record_actuals("m", "OT", &[(10, 1.6)]).unwrap_err();
    assert_eq!(field_of(&e), "actuals[0].value");
    assert!(e.to_string().contains("already has the actual 1.5"), "{e}");
    let f2 = forecast(1, ServedRole::Production, 20, &[30], &[1.0], 1.0);
    reg.log_forecasts(&[f2]).unwrap();
    let e = reg
        .record_actuals("m", "OT", &[(30, 1.0), (30, 2.0)])
        .unwrap_err();
    assert_eq!(field_of(&e), "actuals[1].timestamp");
    assert_eq!(reg.live_scores("m", 1).unwrap().windows[2].n, 2);
}

#[test]
fn unknown_timestamps_and_nan_are_refused_with_nothing_stored() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::open(dir.path()).unwrap();
    let f = forecast(1, ServedRole::Production, 0, &[10, 20], &[1.0, 2.0], 1.0);
    reg.log_forecasts(&[f]).unwrap();
    let e = reg
        .record_actuals("m", "OT", &[(10, 1.0), (15, 1.0)])
        .unwrap_err();
    assert_eq!(field_of(&e), "actuals[1].timestamp");
    assert!(
        e.to_string().contains("not a step of any logged forecast"),
        "{e}"
    );
    // Another target has no forecasts.
    let e = reg.record_actuals("m", "HUFL", &[(10, 1.0)]).unwrap_err();
    assert_eq!(field_of(&e), "actuals[0].timestamp");
    let e = reg
        .record_actuals("m", "OT", &[(20, 1.0), (10, f64::NAN)])
        .unwrap_err();
    assert_eq!(field_of(&e), "actuals[1].value");
    let e = reg
        .record_actuals("m", "OT", &[(10, f64::INFINITY)])
        .unwrap_err();
    assert_eq!(field_of(&e), "actuals[0].value");
    // Nothing was stored: the first actual is new now.
    assert_eq!(reg.live_counts("m").unwrap(), (1, 0, 0));
    let out = reg.record_actuals("m", "OT", &[(10, 1.0)]).unwrap();
    assert_eq!((out.accepted, out.duplicates), (1, 0));
}

#[test]
fn rolling_windows_take_the_newest_matched_points() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::open(dir.path()).unwrap();
    let steps: Vec<i64> = (1..=1200).collect();
    let f = forecast(1, ServedRole::Production, 0, &steps, &vec![0.0; 1200], 0.5);
    reg.log_forecasts(&[f]).unwrap();
    // Error 1 on the first 1,100 steps, 2 on the newest 100.
    let actuals: Vec<(i64, f64)> = steps
        .iter()
        .map(|&t| (t, if t > 1100 { 2.0 } else { 1.0 }))
        .collect();
    assert_eq!(
        reg.record_actuals("m", "OT", &actuals).unwrap().matched,
        1200
    );
    let s = reg.live_scores("m", 1).unwrap();
    let w: Vec<(&str, u64)> = s.windows.iter().map(|w| (w.window.as_str(), w.n)).collect();
    assert_eq!(
        w,
        [
            ("last_100", 100),
            ("last_1000", 1000),
            ("since_deployment", 1200)
        ]
    );
    close(s.windows[0].mae, 2.0);
    close(s.windows[1].mae, (900.0 + 200.0) / 1000.0);
    close(s.windows[2].mae, (1100.0 + 200.0) / 1200.0);
    // Random walk at 0.5: errors 0.5 and 1.5.
    close(s.windows[0].rw_mae, 1.5);
    close(s.windows[0].skill, 1.0 - 2.0 / 1.5);
}

#[test]
fn retention_keeps_the_newest_rows_per_model() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::open(dir.path()).unwrap();
    let generation = reg.generation().unwrap();
    for i in 0..25i64 {
        let f = forecast(
            1,
            ServedRole::Production,
            i * 10,
            &[i * 10 + 10],
            &[1.0],
            1.0,
        );
        reg.log_forecasts_keeping(&[f], 10).unwrap();
    }
    let (forecasts, _, _) = reg.live_counts("m").unwrap();
    assert!((9..=10).contains(&forecasts), "{forecasts} kept");
    let recent = reg.recent_forecasts("m", 1, 0).unwrap();
    assert_eq!(recent[0].forecast.origin_ms, Some(240), "the newest stays");
    // The oldest forecast is gone: its step is no longer known.
    let e = reg.record_actuals("m", "OT", &[(10, 1.0)]).unwrap_err();
    assert_eq!(field_of(&e), "actuals[0].timestamp");
    // The retention given with the forecasts bounds actuals and matched points too; the
    // running totals keep counting.
    let actuals: Vec<(i64, f64)> = recent
        .iter()
        .map(|f| (f.forecast.step_timestamps[0], 2.0))
        .collect();
    reg.record_actuals("m", "OT", &actuals).unwrap();
    let (_, a, m) = reg.live_counts("m").unwrap();
    assert!(a <= 10 && m <= 10, "{a} actuals, {m} matched points kept");
    assert_eq!(reg.live_scores("m", 1).unwrap().windows[2].n, forecasts);
    assert_eq!(reg.generation().unwrap(), generation);
    assert!(reg.log_forecasts_keeping(&[], 0).is_err());
}

#[test]
fn malformed_forecasts_are_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::open(dir.path()).unwrap();
    let good = forecast(1, ServedRole::Explicit, 0, &[10], &[1.0], 1.0);
    let mut bad = good.clone();
    bad.point = vec![f64::NAN];
    let e = reg.log_forecasts(&[good.clone(), bad]).unwrap_err();
    assert_eq!(field_of(&e), "forecasts[1].point");
    let mut bad = good.clone();
    bad.step_timestamps = vec![10, 20];
    assert_eq!(
        field_of(&reg.log_forecasts(&[bad]).unwrap_err()),
        "forecasts[0].step_timestamps"
    );
    // A history without timestamps is logged (it counts for drift) but never matched.
    let mut untimed = good;
    untimed.origin_ms = None;
    untimed.step_timestamps.clear();
    assert_eq!(reg.log_forecasts(&[untimed]).unwrap(), 0);
    assert_eq!(reg.live_counts("m").unwrap().0, 1);
    assert_eq!(
        reg.recent_forecasts("m", 1, 1).unwrap()[0].forecast.role,
        ServedRole::Explicit
    );
}
