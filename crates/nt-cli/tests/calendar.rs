//! `nt forecast` and `nt predict` date forecasts on the calendar inferred from the data and say
//! which one: business days for GOOG's weekday closes, every hour for round-the-clock data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{hourly_load_csv, nt, stderr, stdout};

/// The weekday (`Mon` …) of an ISO-8601 UTC timestamp.
fn weekday(iso: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(iso)
        .unwrap()
        .format("%a")
        .to_string()
}

#[test]
fn forecast_of_weekday_closes_is_dated_on_business_days_and_says_so() {
    let goog = nt_testing::shared_data("GOOG.csv");
    let args = |format: &str| {
        nt(&[
            "forecast",
            "--data",
            goog.to_str().unwrap(),
            "--target",
            "Close",
            "--model",
            "naive",
            "--horizon",
            "6",
            "--format",
            format,
        ])
    };
    let o = args("json");
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        j["calendar"], "business days (Mon–Fri, holidays not modelled)",
        "{j}"
    );
    let days: Vec<String> = j["forecasts"][0]["timestamps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| weekday(t.as_str().unwrap()))
        .collect();
    // GOOG ends on Friday 2013-03-01.
    assert_eq!(days, ["Mon", "Tue", "Wed", "Thu", "Fri", "Mon"]);
    assert_eq!(
        j["forecasts"][0]["timestamps"][0], "2013-03-04T00:00:00Z",
        "{j}"
    );

    let o = args("table");
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("calendar: business days (Mon–Fri, holidays not modelled)"),
        "{out}"
    );
    assert!(
        out.contains("2013-03-04T00:00:00Z") && !out.contains("2013-03-02"),
        "{out}"
    );
}

#[test]
fn predict_with_a_saved_model_says_the_calendar() {
    let dir = tempfile::tempdir().unwrap();
    let csv = hourly_load_csv(dir.path(), 10, common::daily_sine);
    let model = dir.path().join("model");
    let o = nt(&[
        "train",
        "--data",
        csv.to_str().unwrap(),
        "--model",
        "seasonal-naive",
        "--horizon",
        "4",
        "--out",
        model.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    for (format, expected) in [
        ("table", "calendar: every 1h"),
        ("json", "\"calendar\": \"every 1h\""),
    ] {
        let o = nt(&[
            "predict",
            "--model",
            model.to_str().unwrap(),
            "--data",
            csv.to_str().unwrap(),
            "--format",
            format,
        ]);
        assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
        let out = stdout(&o);
        assert!(out.contains(expected), "{format}: {out}");
    }
}
