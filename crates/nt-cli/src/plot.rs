//! Plots with `plotters`: history, forecasts, interval bands and actuals, to SVG or PNG.
//!
//! Text needs a font: a system TrueType font (DejaVu Sans, Liberation Sans, …) is registered once;
//! when none is found the plot is still drawn, without labels, and a note says so.

use std::path::Path;
use std::sync::OnceLock;

use anyhow::{anyhow, Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::exit::UsageError;

/// One forecast path to draw, with its central interval bands `(level, lower, upper)`.
#[derive(Debug, Clone)]
pub(crate) struct PlotForecast {
    /// Legend label (the model's name).
    pub(crate) label: String,
    /// Timestamps (unix ms) of the forecast steps.
    pub(crate) timestamps: Vec<i64>,
    /// Point forecast.
    pub(crate) point: Vec<f64>,
    /// Bands, widest first is not required.
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
}

/// The plot of a forecast made after the end of `series`: the tail of column `target` (four
/// horizons, at least 48 rows) and the forecast `f` with its bands.
pub(crate) fn forecast_plot(
    series: &nt_core::TimeSeries,
    target: &str,
    future: &[i64],
    label: &str,
    f: &nt_core::Forecast,
) -> Result<PlotData> {
    let values = series.column(target)?;
    let tail = (4 * f.len()).max(48).min(values.len());
    let ts = series.timestamps();
    let steps = f.len().min(future.len());
    Ok(PlotData {
        title: format!("{label} forecast of {target}"),
        history: (
            ts[ts.len() - tail..].to_vec(),
            values[values.len() - tail..].to_vec(),
        ),
        actual: None,
        forecasts: vec![PlotForecast {
            label: label.to_string(),
            timestamps: future[..steps].to_vec(),
            point: f.point_values()[..steps].to_vec(),
            bands: crate::output::bands(f)
                .into_iter()
                .map(|(l, lo, hi)| (l, lo[..steps].to_vec(), hi[..steps].to_vec()))
                .collect(),
        }],
    })
}

const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

/// Registers a system sans-serif font once; false when none was found.
fn fonts_available() -> bool {
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
    let size = (1200, 600);
    match ext.as_str() {
        "svg" => {
            let root = SVGBackend::new(path, size).into_drawing_area();
            draw(&root, data, with_text)?;
            root.present()
                .with_context(|| format!("writing plot {}", path.display()))?;
        }
        "png" => {
            let root = BitMapBackend::new(path, size).into_drawing_area();
            draw(&root, data, with_text)?;
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

fn bounds(data: &PlotData) -> Option<((i64, i64), (f64, f64))> {
    let mut xs: Vec<i64> = data.history.0.clone();
    let mut ys: Vec<f64> = data.history.1.clone();
    if let Some((t, v)) = &data.actual {
        xs.extend(t);
        ys.extend(v);
    }
    for f in &data.forecasts {
        xs.extend(&f.timestamps);
        ys.extend(&f.point);
        for (_, lo, hi) in &f.bands {
            ys.extend(lo);
            ys.extend(hi);
        }
    }
    let ys: Vec<f64> = ys.into_iter().filter(|v| v.is_finite()).collect();
    let x0 = *xs.iter().min()?;
    let x1 = *xs.iter().max()?;
    let y0 = ys.iter().copied().fold(f64::INFINITY, f64::min);
    let y1 = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !y0.is_finite() {
        return None;
    }
    let pad = ((y1 - y0) * 0.05).max(1e-9);
    Some(((x0, x1.max(x0 + 1)), (y0 - pad, y1 + pad)))
}

fn time_label(ms: i64, span_ms: i64) -> String {
    let Some(t) = chrono::DateTime::from_timestamp_millis(ms) else {
        return ms.to_string();
    };
    if span_ms > 60 * 86_400_000 {
        t.format("%Y-%m-%d").to_string()
    } else {
        t.format("%m-%d %H:%M").to_string()
    }
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    data: &PlotData,
    with_text: bool,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("drawing the plot: {e}");
    root.fill(&WHITE).map_err(err)?;
    let Some(((x0, x1), (y0, y1))) = bounds(data) else {
        return Err(UsageError("nothing to plot: no finite values".into()).into());
    };
    let mut builder = ChartBuilder::on(root);
    builder.margin(15);
    if with_text {
        builder
            .caption(&data.title, ("sans-serif", 22))
            .x_label_area_size(40)
            .y_label_area_size(70);
    }
    let mut chart = builder.build_cartesian_2d(x0..x1, y0..y1).map_err(err)?;
    let span = x1 - x0;
    let x_formatter = |x: &i64| time_label(*x, span);
    let mut mesh = chart.configure_mesh();
    mesh.light_line_style(RGBColor(235, 235, 235));
    if with_text {
        mesh.x_label_formatter(&x_formatter).x_labels(8).y_labels(8);
    } else {
        mesh.disable_x_axis().disable_y_axis();
    }
    mesh.draw().map_err(err)?;

    let (ht, hv) = &data.history;
    chart
        .draw_series(LineSeries::new(
            ht.iter().copied().zip(hv.iter().copied()),
            BLACK.stroke_width(1),
        ))
        .map_err(err)?
        .label("history")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK));
    if let Some((at, av)) = &data.actual {
        chart
            .draw_series(LineSeries::new(
                at.iter().copied().zip(av.iter().copied()),
                BLACK.stroke_width(2),
            ))
            .map_err(err)?
            .label("actual")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.stroke_width(2)));
    }
    for (k, f) in data.forecasts.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let mut bands = f.bands.clone();
        bands.sort_by(|a, b| b.0.total_cmp(&a.0));
        for (i, (_, lo, hi)) in bands.iter().enumerate() {
            let polygon: Vec<(i64, f64)> = f
                .timestamps
                .iter()
                .copied()
                .zip(hi.iter().copied())
                .chain(f.timestamps.iter().copied().zip(lo.iter().copied()).rev())
                .collect();
            let alpha = 0.12 + 0.08 * i as f64;
            chart
                .draw_series(std::iter::once(Polygon::new(
                    polygon,
                    color.mix(alpha).filled(),
                )))
                .map_err(err)?;
        }
        chart
            .draw_series(LineSeries::new(
                f.timestamps.iter().copied().zip(f.point.iter().copied()),
                color.stroke_width(2),
            ))
            .map_err(err)?
            .label(f.label.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
    }
    if with_text {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(200, 200, 200))
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
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
}
