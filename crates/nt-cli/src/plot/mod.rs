//! Plots with `plotters`: history, forecasts, interval bands and actuals, to SVG or PNG.
//!
//! - `data`: what a forecast or a backtest plot shows (every model; history zoomed so the forecast
//!   spans at least a third of the width; the data file's name in the title);
//! - `ticks`: time ticks at round times with the year where it changes, short value labels;
//! - `draw`: the chart, with a legend panel beside it (an entry per model and per band level).
//!
//! Text needs a font: a system TrueType font (DejaVu Sans, Liberation Sans, …) is registered once;
//! when none is found the plot is still drawn, without labels, and a note says so.

use std::path::Path;
use std::sync::OnceLock;

use anyhow::{Context, Result};
use plotters::prelude::*;

use crate::exit::UsageError;

mod data;
mod draw;
mod ticks;

pub(crate) use data::{backtest_plot, forecast_plot};

/// One forecast path to draw, with its central interval bands `(level, lower, upper)`.
#[derive(Debug, Clone)]
pub(crate) struct PlotForecast {
    /// Legend label (the model's name).
    pub(crate) label: String,
    /// Timestamps (unix ms) of the forecast steps.
    pub(crate) timestamps: Vec<i64>,
    /// Point forecast.
    pub(crate) point: Vec<f64>,
    /// Central interval bands `(level, lower, upper)`, in any order; the legend names each
    /// `LABEL LEVEL%`.
    pub(crate) bands: Vec<(f64, Vec<f64>, Vec<f64>)>,
}

/// Everything one plot shows.
#[derive(Debug, Clone, Default)]
pub(crate) struct PlotData {
    /// Title above the chart.
    pub(crate) title: String,
    /// History before the forecast origin: timestamps and values.
    pub(crate) history: (Vec<i64>, Vec<f64>),
    /// What really happened after the origin, when known (backtests).
    pub(crate) actual: Option<(Vec<i64>, Vec<f64>)>,
    /// Forecasts to overlay.
    pub(crate) forecasts: Vec<PlotForecast>,
    /// The x values are row numbers (the data has no time axis): ticks are labelled as numbers,
    /// not as dates in January 1970.
    pub(crate) rows_axis: bool,
    /// The data's calendar has gaps (business days, days of the week, sessions): the x axis
    /// places rows side by side, without the nights and weekends between them.
    pub(crate) gapless: bool,
}

/// Registers a system sans-serif font once; false when none was found.
pub(crate) fn fonts_available() -> bool {
    static FONT: OnceLock<bool> = OnceLock::new();
    *FONT.get_or_init(|| {
        const CANDIDATES: [&str; 5] = [
            "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
            "/usr/share/fonts/TTF/DejaVuSans.ttf",
            "/usr/share/fonts/dejavu/DejaVuSans.ttf",
            "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
            "/System/Library/Fonts/Supplemental/Arial.ttf",
        ];
        CANDIDATES.iter().any(|path| match std::fs::read(path) {
            // Registered fonts must live for the whole program: leaking one font file is intended.
            Ok(bytes) => plotters::style::register_font(
                "sans-serif",
                FontStyle::Normal,
                Box::leak(bytes.into_boxed_slice()),
            )
            .is_ok(),
            Err(_) => false,
        })
    })
}

/// Writes `data` to `path`; the extension (`.svg` or `.png`) picks the format.
pub(crate) fn write_plot(path: &Path, data: &PlotData) -> Result<()> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let with_text = fonts_available();
    if !with_text {
        eprintln!("note: no system font found (e.g. DejaVu Sans); the plot has no labels");
    }
    let size = (1280, 640);
    match ext.as_str() {
        "svg" => {
            let root = SVGBackend::new(path, size).into_drawing_area();
            draw::draw(&root, data, with_text)?;
            root.present()
                .with_context(|| format!("writing plot {}", path.display()))?;
        }
        "png" => {
            let root = BitMapBackend::new(path, size).into_drawing_area();
            draw::draw(&root, data, with_text)?;
            root.present()
                .with_context(|| format!("writing plot {}", path.display()))?;
        }
        other => {
            return Err(UsageError(format!(
                "--plot {}: unknown extension `{other}`; expected .svg or .png",
                path.display()
            ))
            .into())
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
