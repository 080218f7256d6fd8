//! `nt forecast`: fit one model on all the data and forecast the next H values with intervals.

use std::fmt::Write as _;

use anyhow::{Context, Result};
use nt_classical::ClassicalOptions;
use nt_core::{Fit, Forecast, Horizon, Predict};
use serde::Serialize;

use super::menu;
use crate::cli::{ForecastArgs, Format};
use crate::output::{csv_cell, iso_time};
use crate::plot::{self, PlotData, PlotForecast};
use crate::settings;

/// One target's forecast as printed by `--format json`.
#[derive(Debug, Serialize)]
struct ForecastJson {
    target: String,
    timestamps: Vec<String>,
    timestamps_ms: Vec<i64>,
    point: Vec<f64>,
    intervals: Vec<IntervalJson>,
}

/// A central prediction interval.
#[derive(Debug, Serialize)]
struct IntervalJson {
    level: f64,
    lower: Vec<f64>,
    upper: Vec<f64>,
}

/// The document `--format json` prints.
#[derive(Debug, Serialize)]
struct ForecastDoc {
    tool: &'static str,
    version: &'static str,
    command: &'static str,
    source: String,
    fingerprint: String,
    model: String,
    horizon: usize,
    trained_rows: usize,
    forecasts: Vec<ForecastJson>,
}

/// Runs `nt forecast`.
pub(crate) fn run(args: &ForecastArgs) -> Result<()> {
    let series = settings::load_data(&args.data)?;
    let targets = settings::resolve_targets(&series, args.data.target.as_deref())?;
    let season = settings::resolve_season(&series, args.season)?;
    let input_size = settings::resolve_input_size(args.input_size, season, args.horizon)?;
    let levels = settings::resolve_levels(&args.level)?;
    let horizon = Horizon::new(args.horizon)?;
    let options = ClassicalOptions {
        season,
        input_size,
        horizon: args.horizon,
        levels: levels.clone(),
    };
    let model = menu::build(Some(std::slice::from_ref(&args.model)), &options)?
        .into_iter()
        .next()
        .context("the model menu returned no model")?;
    let future = series.future_timestamps(args.horizon);

    let mut results = Vec::with_capacity(targets.len());
    for target in &targets {
        let fitted = model.fit(&series, target)?;
        let forecast = fitted.predict(&series, horizon)?;
        results.push((target.clone(), forecast));
    }

    match args.format {
        Format::Json => {
            let doc = ForecastDoc {
                tool: "nt",
                version: env!("CARGO_PKG_VERSION"),
                command: "forecast",
                source: args.data.data.display().to_string(),
                fingerprint: series.fingerprint(),
                model: model.name.clone(),
                horizon: args.horizon,
                trained_rows: series.len(),
                forecasts: results
                    .iter()
                    .map(|(target, f)| ForecastJson {
                        target: target.clone(),
                        timestamps: future.iter().map(|t| iso_time(*t)).collect(),
                        timestamps_ms: future.clone(),
                        point: f.point_values().to_vec(),
                        intervals: intervals(f, &levels)
                            .into_iter()
                            .map(|(level, lower, upper)| IntervalJson {
                                level,
                                lower,
                                upper,
                            })
                            .collect(),
                    })
                    .collect(),
            };
            println!("{}", serde_json::to_string_pretty(&doc)?);
        }
        Format::Csv => print!("{}", forecast_csv(&results, &future, &levels)),
        Format::Table => {
            for (target, f) in &results {
                println!(
                    "{} forecast of `{target}` from {} ({} rows), next {} steps:",
                    model.name,
                    args.data.data.display(),
                    series.len(),
                    args.horizon
                );
                print!("{}", forecast_table(f, &future, &levels));
            }
        }
    }
    if let Some(path) = &args.plot {
        let (target, f) = &results[0];
        let values = series.column(target)?;
        let tail = (4 * args.horizon).max(48).min(values.len());
        let ts = series.timestamps();
        let data = PlotData {
            title: format!(
                "{}: {} forecast of {target}",
                args.data.data.display(),
                model.name
            ),
            history: (
                ts[ts.len() - tail..].to_vec(),
                values[values.len() - tail..].to_vec(),
            ),
            actual: None,
            forecasts: vec![PlotForecast {
                label: model.name.clone(),
                timestamps: future.clone(),
                point: f.point_values().to_vec(),
                bands: intervals(f, &levels),
            }],
        };
        plot::write_plot(path, &data)?;
        if args.format == Format::Table {
            println!("plot written to {}", path.display());
        }
    }
    Ok(())
}

/// The forecast's intervals at `levels`, those it has.
fn intervals(f: &Forecast, levels: &[f64]) -> Vec<(f64, Vec<f64>, Vec<f64>)> {
    levels
        .iter()
        .filter_map(|l| {
            f.interval(*l)
                .map(|(lo, hi)| (*l, lo.to_vec(), hi.to_vec()))
        })
        .collect()
}

fn forecast_table(f: &Forecast, future: &[i64], levels: &[f64]) -> String {
    let bands = intervals(f, levels);
    let mut out = format!("{:<20}  {:>12}", "timestamp", "point");
    for (l, _, _) in &bands {
        let _ = write!(
            out,
            "  {:>12}  {:>12}",
            format!("lo{:.0}", l * 100.0),
            format!("hi{:.0}", l * 100.0)
        );
    }
    out.push('\n');
    for (i, t) in future.iter().enumerate() {
        let _ = write!(out, "{:<20}  {:>12.4}", iso_time(*t), f.point_values()[i]);
        for (_, lo, hi) in &bands {
            let _ = write!(out, "  {:>12.4}  {:>12.4}", lo[i], hi[i]);
        }
        out.push('\n');
    }
    out
}

fn forecast_csv(results: &[(String, Forecast)], future: &[i64], levels: &[f64]) -> String {
    let mut out = String::from("target,timestamp,point");
    for l in levels {
        let _ = write!(out, ",lower_{0:.0},upper_{0:.0}", l * 100.0);
    }
    out.push('\n');
    for (target, f) in results {
        for (i, t) in future.iter().enumerate() {
            let _ = write!(
                out,
                "{},{},{}",
                csv_cell(target),
                iso_time(*t),
                f.point_values()[i]
            );
            for l in levels {
                match f.interval(*l) {
                    Some((lo, hi)) => {
                        let _ = write!(out, ",{},{}", lo[i], hi[i]);
                    }
                    None => out.push_str(",,"),
                }
            }
            out.push('\n');
        }
    }
    out
}
