//! The forecast's timestamps follow the calendar of the request's timestamps: business days for
//! weekday-only daily history, the session for intraday history with a daily gap.
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::StatusCode;
use common::*;
use nt_server::app;
use serde_json::json;

const DAY: i64 = 86_400_000;

/// Weekday of unix ms `t`: 0 = Monday … 6 = Sunday.
fn weekday(t: i64) -> i64 {
    (t.div_euclid(DAY) + 3).rem_euclid(7)
}

#[tokio::test]
async fn weekday_history_gets_forecasts_on_weekdays() {
    let (_, state) = fixture(test_config()).await;
    let app = app(state);
    let n = 40;
    // Daily at 00:00 UTC from Monday 2024-01-01, weekends left out.
    let ts: Vec<i64> = (0..)
        .map(|d| 1_704_067_200_000 + d * DAY)
        .filter(|t| weekday(*t) < 5)
        .take(n)
        .collect();
    assert_eq!(
        weekday(*ts.last().unwrap()),
        4,
        "the history ends on a Friday"
    );
    let body = json!({"history": {"columns": {"a": series_values(n, 0.0), "b": series_values(n, 2.0)}, "timestamps": ts}});
    let (s, j) = call(&app, "POST", "/v1/models/q/predict", Some(body)).await;
    assert_eq!(s, StatusCode::OK, "{j}");
    let out: Vec<i64> = j["timestamps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert!(!out.is_empty());
    assert!(
        out.iter().all(|t| weekday(*t) < 5),
        "weekend in {out:?} after {:?}",
        ts.last()
    );
    assert!(out.windows(2).all(|w| w[1] > w[0]));
    assert!(out[0] > *ts.last().unwrap());
}
