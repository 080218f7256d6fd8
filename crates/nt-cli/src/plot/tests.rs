//! Unit tests of the plot module: ticks, labels, ranges and files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn sample() -> PlotData {
    let t: Vec<i64> = (0..48).map(|i| i * 3_600_000).collect();
    PlotData {
        title: "test".into(),
        history: (t[..24].to_vec(), (0..24).map(|i| i as f64).collect()),
        actual: Some((t[24..].to_vec(), (24..48).map(|i| i as f64).collect())),
        forecasts: vec![PlotForecast {
            label: "naive".into(),
            timestamps: t[24..].to_vec(),
            point: vec![23.0; 24],
            bands: vec![(0.8, vec![20.0; 24], vec![26.0; 24])],
        }],
        rows_axis: false,
        gapless: false,
    }
}

#[test]
fn writes_svg_and_png_and_rejects_other_extensions() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("p.svg");
    write_plot(&svg, &sample()).unwrap();
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        text.starts_with("<svg") && text.contains("polyline"),
        "{}",
        &text[..80.min(text.len())]
    );
    let png = dir.path().join("p.png");
    write_plot(&png, &sample()).unwrap();
    assert_eq!(&std::fs::read(&png).unwrap()[1..4], b"PNG");
    assert!(write_plot(&dir.path().join("p.gif"), &sample()).is_err());
}

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// Unix ms of `YYYY-MM-DD` at 00:00 UTC.
fn day(text: &str) -> i64 {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp_millis()
}

#[test]
fn hourly_ticks_fall_on_round_hours_and_name_the_day_where_it_changes() {
    // Three days of hourly data from 2024-03-01 05:00.
    let x0 = day("2024-03-01") + 5 * HOUR;
    let ticks = ticks::time_ticks(x0, x0 + 3 * DAY, 10);
    assert!((4..=10).contains(&ticks.len()), "{ticks:?}");
    let step = ticks[1].0 - ticks[0].0;
    assert!(
        ticks.iter().all(|(t, _)| t.rem_euclid(step) == 0) && step % HOUR == 0,
        "{ticks:?}"
    );
    // The first label carries the year; later ones only the day where it changes.
    assert!(ticks[0].1.contains("2024"), "{ticks:?}");
    assert!(
        ticks[1..].iter().all(|(_, l)| !l.contains("2024")),
        "{ticks:?}"
    );
    assert!(ticks.iter().any(|(_, l)| l == "Mar 2"), "{ticks:?}");
}

#[test]
fn a_span_across_new_year_shows_the_year_where_it_changes() {
    let ticks = ticks::time_ticks(day("2023-12-10"), day("2024-01-20"), 10);
    let labels: Vec<&str> = ticks.iter().map(|(_, l)| l.as_str()).collect();
    let with_year: Vec<&str> = labels
        .iter()
        .copied()
        .filter(|l| l.contains("2023") || l.contains("2024"))
        .collect();
    assert_eq!(with_year.len(), 2, "{labels:?}");
    assert!(with_year[0].ends_with("2023") && with_year[1].ends_with("2024"));
    // The tick that carries 2024 is the first one in 2024.
    let first_2024 = ticks
        .iter()
        .position(|(t, _)| *t >= day("2024-01-01"))
        .unwrap();
    assert!(labels[first_2024].ends_with("2024"), "{labels:?}");
}

#[test]
fn long_spans_tick_months_and_years() {
    let ticks = ticks::time_ticks(day("2004-08-19"), day("2013-03-01"), 10);
    assert!(ticks.iter().all(|(_, l)| l.len() == 4), "{ticks:?}");
    let ticks = ticks::time_ticks(day("2023-02-10"), day("2023-11-20"), 10);
    assert_eq!(ticks[0].1, "Mar 2023", "{ticks:?}");
    assert_eq!(ticks[1].1, "Apr", "{ticks:?}");
}

#[test]
fn ticks_before_1970_are_round_too() {
    // Negative unix ms: a truncating division would put the ticks off midnight.
    let ticks = ticks::time_ticks(day("1969-12-20") + 7 * HOUR, day("1970-01-03"), 16);
    assert!(ticks[0].0 < 0);
    assert!(
        ticks.iter().all(|(t, _)| t.rem_euclid(DAY) == 0),
        "{ticks:?}"
    );
    assert!(ticks[0].1.ends_with("1969"), "{ticks:?}");
    assert!(ticks.iter().any(|(_, l)| l == "Jan 1 1970"), "{ticks:?}");
}

#[test]
fn value_labels_stay_short_and_distinct_at_any_magnitude() {
    for (y0, y1) in [(1e12, 1.0001e12), (0.0, 3e9), (-2e-6, 5e-6), (99.0, 101.0)] {
        let step = (y1 - y0) / 8.0;
        let labels: Vec<String> = (0..=8)
            .map(|i| ticks::value_label(y0 + step * f64::from(i), step))
            .collect();
        assert!(labels.iter().all(|l| l.len() <= 10), "{labels:?}");
        let mut distinct = labels.clone();
        distinct.dedup();
        assert_eq!(distinct.len(), labels.len(), "{labels:?}");
    }
}

fn one_model(history: usize, steps: usize, value: impl Fn(usize) -> f64) -> PlotData {
    let t: Vec<i64> = (0..(history + steps) as i64).map(|i| i * HOUR).collect();
    PlotData {
        title: "t".into(),
        history: (t[..history].to_vec(), (0..history).map(&value).collect()),
        actual: None,
        forecasts: vec![PlotForecast {
            label: "m".into(),
            timestamps: t[history..].to_vec(),
            point: (history..history + steps).map(&value).collect(),
            bands: Vec::new(),
        }],
        rows_axis: false,
        gapless: false,
    }
}

#[test]
fn the_history_is_zoomed_so_the_forecast_spans_a_third() {
    let data = one_model(1000, 24, |i| i as f64);
    let (x0, x1) = draw::x_range(&data).unwrap();
    let origin = 999 * HOUR;
    let share = (x1 - origin) as f64 / (x1 - x0) as f64;
    assert!((share - 1.0 / 3.0).abs() < 1e-9, "{share}");
    // Short histories are shown whole.
    let data = one_model(10, 24, |i| i as f64);
    assert_eq!(draw::x_range(&data).unwrap().0, 0);
}

#[test]
fn a_constant_series_gets_a_readable_value_range() {
    let data = one_model(48, 12, |_| 100.0);
    let (y0, y1) = draw::y_range(&data, 0).unwrap();
    assert!(y0 < 100.0 && y1 > 100.0 && y1 - y0 >= 1.0, "{y0} {y1}");
    let data = one_model(48, 12, |_| 0.0);
    let (y0, y1) = draw::y_range(&data, 0).unwrap();
    assert!(y0 <= -1.0 && y1 >= 1.0, "{y0} {y1}");
}

#[test]
fn huge_values_have_a_finite_range() {
    let data = one_model(48, 12, |i| if i % 2 == 0 { 1.7e308 } else { -1.7e308 });
    let (y0, y1) = draw::y_range(&data, 0).unwrap();
    assert!(y0.is_finite() && y1.is_finite() && y0 < y1, "{y0} {y1}");
    let dir = tempfile::tempdir().unwrap();
    write_plot(&dir.path().join("huge.svg"), &data).unwrap();
}

#[test]
fn a_single_row_and_a_single_step_still_plot() {
    let data = one_model(1, 1, |i| i as f64);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("one.svg");
    write_plot(&path, &data).unwrap();
    let svg = std::fs::read_to_string(&path).unwrap();
    // The one-step forecast is drawn as a marker.
    assert!(svg.contains("<circle"), "{svg}");
}

#[test]
fn nothing_finite_is_an_error_not_a_panic() {
    let data = one_model(4, 2, |_| f64::NAN);
    let dir = tempfile::tempdir().unwrap();
    let e = write_plot(&dir.path().join("nan.svg"), &data).unwrap_err();
    assert!(e.to_string().contains("nothing to plot"), "{e}");
}

#[test]
fn row_numbers_are_ticked_as_numbers() {
    let ticks = ticks::row_ticks(3, 330, 10);
    let labels: Vec<&str> = ticks.iter().map(|(_, l)| l.as_str()).collect();
    assert_eq!(labels, ["50", "100", "150", "200", "250", "300"]);
    let mut data = one_model(300, 30, |i| i as f64);
    data.rows_axis = true;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rows.svg");
    write_plot(&path, &data).unwrap();
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(!svg.contains("1970"), "row numbers drawn as dates");
}

#[test]
fn trading_days_are_drawn_side_by_side_with_ticks_on_real_days() {
    // Business days of January 2024, Monday the 15th a holiday.
    let axis: Vec<i64> = (0..31)
        .map(|d| day("2024-01-01") + d * DAY)
        .filter(|t| {
            let wd = (t.div_euclid(DAY) + 3).rem_euclid(7);
            wd < 5 && *t != day("2024-01-15")
        })
        .collect();
    let last = axis.len() as i64 - 1;
    let ticks = ticks::trading_ticks(&axis, 0, last, 6);
    let labels: Vec<&str> = ticks.iter().map(|(_, l)| l.as_str()).collect();
    // Weekly ticks fall on Mondays, the holiday's on the Tuesday after it.
    assert_eq!(
        labels,
        ["Jan 1 2024", "Jan 8", "Jan 16", "Jan 22", "Jan 29"]
    );
    assert!(ticks.iter().all(|(i, _)| (0..=last).contains(i)));

    // A forecast after Friday's close is drawn right after it, not after an empty weekend.
    let data = PlotData {
        title: "t".into(),
        history: (axis[..15].to_vec(), vec![1.0; 15]),
        actual: None,
        forecasts: vec![PlotForecast {
            label: "m".into(),
            timestamps: axis[15..20].to_vec(),
            point: vec![1.0; 5],
            bands: Vec::new(),
        }],
        rows_axis: false,
        gapless: true,
    };
    let (placed, _) = draw::side_by_side(&data);
    assert_eq!(placed.history.0, (0..15).collect::<Vec<i64>>());
    assert_eq!(placed.forecasts[0].timestamps, vec![15, 16, 17, 18, 19]);
    let (x0, x1) = draw::x_range(&placed).unwrap();
    assert_eq!((x0, x1), (4, 19), "ten rows of history for five steps");
}
