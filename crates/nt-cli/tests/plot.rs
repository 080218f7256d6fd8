//! The plots `nt forecast`, `nt backtest` and `nt demo` write, read back as SVG text: a title that
//! names the data file, a legend entry per model and per band level, the forecast spanning at
//! least a third of the plot's width, and tick labels with the year where it changes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

mod common;
use common::{nt, stderr};

/// The texts of an SVG plot, in order.
fn texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let body = &t[t.find('>')? + 1..t.find("</text>")?];
            Some(body.trim().replace("&amp;", "&"))
        })
        .collect()
}

/// One SVG polyline: `(stroke colour, stroke width, points)`.
type Polyline = (String, String, Vec<(f64, f64)>);

/// The polylines of an SVG plot.
fn polylines(svg: &str) -> Vec<Polyline> {
    let attr = |el: &str, name: &str| -> String {
        let key = format!("{name}=\"");
        el.find(&key)
            .map(|i| {
                let rest = &el[i + key.len()..];
                rest[..rest.find('"').unwrap()].to_string()
            })
            .unwrap_or_default()
    };
    svg.split("<polyline")
        .skip(1)
        .map(|el| {
            let el = &el[..el.find("/>").unwrap()];
            let points = attr(el, "points")
                .split_whitespace()
                .map(|p| {
                    let (x, y) = p.split_once(',').unwrap();
                    (x.parse().unwrap(), y.parse().unwrap())
                })
                .collect();
            (attr(el, "stroke"), attr(el, "stroke-width"), points)
        })
        .collect()
}

/// The share of the plot's width after the forecast origin: from the last history point to the
/// right end of the forecasts, over the width from the first history point to that end.
fn forecast_share(svg: &str) -> f64 {
    let lines = polylines(svg);
    // Data lines have more than two points (axes, ticks and legend samples have two).
    let history = lines
        .iter()
        .find(|(c, w, p)| c == "#000000" && w == "1" && p.len() > 2)
        .expect("a history line");
    let forecast_end = lines
        .iter()
        .filter(|(c, _, p)| c != "#000000" && p.len() > 2)
        .flat_map(|(_, _, p)| p.iter().map(|(x, _)| *x))
        .fold(f64::NEG_INFINITY, f64::max);
    let h0 = history
        .2
        .iter()
        .map(|(x, _)| *x)
        .fold(f64::INFINITY, f64::min);
    let h1 = history
        .2
        .iter()
        .map(|(x, _)| *x)
        .fold(f64::NEG_INFINITY, f64::max);
    (forecast_end - h1) / (forecast_end - h0)
}

fn read_svg(path: &Path) -> String {
    let svg = std::fs::read_to_string(path).unwrap();
    assert!(
        svg.contains("<text"),
        "the plot has no text: the tests need a system font (DejaVu Sans: apt-get install fonts-dejavu-core)"
    );
    svg
}

fn run_ok(args: &[&str]) {
    let o = nt(args);
    assert_eq!(o.status.code(), Some(0), "nt {args:?}: {}", stderr(&o));
}

#[test]
fn forecast_plot_names_the_file_labels_each_band_and_gives_the_forecast_a_third() {
    let dir = tempfile::tempdir().unwrap();
    let plot = dir.path().join("f.svg");
    let goog = nt_testing::shared_data("GOOG.csv");
    run_ok(&[
        "forecast",
        "--data",
        goog.to_str().unwrap(),
        "--target",
        "Close",
        "--model",
        "ets",
        "--horizon",
        "20",
        "--level",
        "80,95",
        "--format",
        "json",
        "--plot",
        plot.to_str().unwrap(),
    ]);
    let svg = read_svg(&plot);
    let t = texts(&svg);
    assert!(t[0].contains("GOOG.csv") && t[0].contains("ets"), "{t:?}");
    for entry in ["history", "ets", "ets 80%", "ets 95%"] {
        assert!(
            t.iter().any(|x| x == entry),
            "no legend entry `{entry}` in {t:?}"
        );
    }
    let share = forecast_share(&svg);
    assert!(share >= 0.33, "the forecast spans {share:.3} of the width");
}

#[test]
fn backtest_plot_draws_every_model_and_the_best_models_bands() {
    let dir = tempfile::tempdir().unwrap();
    let plot = dir.path().join("b.svg");
    let goog = nt_testing::shared_data("GOOG.csv");
    let models = ["naive", "drift", "mean", "seasonal-naive", "ets", "mstl"];
    run_ok(&[
        "backtest",
        "--data",
        goog.to_str().unwrap(),
        "--target",
        "Close",
        "--models",
        &models.join(","),
        "--horizon",
        "10",
        "--windows",
        "2",
        "--quiet",
        "--plot",
        plot.to_str().unwrap(),
    ]);
    let svg = read_svg(&plot);
    let t = texts(&svg);
    assert!(t[0].starts_with("GOOG.csv:"), "{t:?}");
    for m in models {
        assert!(
            t.iter().any(|x| x == m),
            "model {m} not in the legend: {t:?}"
        );
    }
    // One model's bands, one legend entry per level.
    let bands: Vec<&String> = t.iter().filter(|x| x.ends_with('%')).collect();
    assert_eq!(bands.len(), 2, "{t:?}");
    assert!(
        bands[0].ends_with(" 95%") && bands[1].ends_with(" 80%"),
        "{bands:?}"
    );
    let share = forecast_share(&svg);
    assert!(share >= 0.33, "the forecast spans {share:.3} of the width");
}

#[test]
fn demo_plot_draws_the_neural_model_too() {
    let dir = tempfile::tempdir().unwrap();
    let plot = dir.path().join("demo.svg");
    run_ok(&[
        "demo",
        "--rows",
        "1200",
        "--windows",
        "2",
        "--neural-steps",
        "6",
        "--no-register",
        "--quiet",
        "--plot",
        plot.to_str().unwrap(),
    ]);
    let t = texts(&read_svg(&plot));
    for m in ["naive", "ets", "mstl", "nhits"] {
        assert!(
            t.iter().any(|x| x == m),
            "model {m} not in the legend: {t:?}"
        );
    }
}

#[test]
fn a_forecast_across_new_year_shows_the_new_year_on_the_axis() {
    let dir = tempfile::tempdir().unwrap();
    // Daily rows every day up to 2023-12-24; a 14-day forecast ends in January 2024.
    let mut csv = String::from("date,v\n");
    let start = chrono::NaiveDate::from_ymd_opt(2023, 10, 1).unwrap();
    for i in 0..85 {
        let d = start + chrono::Days::new(i);
        csv.push_str(&format!("{d},{}\n", 10.0 + (i as f64 / 5.0).sin()));
    }
    let data = dir.path().join("daily.csv");
    std::fs::write(&data, csv).unwrap();
    let plot = dir.path().join("y.svg");
    run_ok(&[
        "forecast",
        "--data",
        data.to_str().unwrap(),
        "--model",
        "naive",
        "--horizon",
        "14",
        "--plot",
        plot.to_str().unwrap(),
    ]);
    let t = texts(&read_svg(&plot));
    assert!(t[0].starts_with("daily.csv:"), "{t:?}");
    let years: Vec<&String> = t
        .iter()
        .filter(|x| x.contains("2023") || x.contains("2024"))
        .collect();
    assert!(
        years.iter().any(|x| x.ends_with("2023")) && years.iter().any(|x| x.ends_with("2024")),
        "tick labels without the year change: {t:?}"
    );
}
