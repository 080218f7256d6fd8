//! `nt monitor --plot`: the empirical CDFs of the reference and the current sample, one panel
//! each for levels, returns and residuals, with the check's statistic in the panel's title.

use std::path::Path;

use anyhow::{anyhow, Result};
use nt_eval::drift::{CurrentSample, DriftReport, ReferenceProfile};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::exit::UsageError;

const REFERENCE: RGBColor = RGBColor(31, 119, 180);
const CURRENT: RGBColor = RGBColor(214, 39, 40);

/// One panel: a title and the two samples.
struct Panel<'a> {
    title: String,
    reference: &'a [f64],
    current: &'a [f64],
}

/// Writes the plot to `path` (`.svg` or `.png`).
pub(super) fn write(
    path: &Path,
    model: &str,
    reference: &ReferenceProfile,
    current: &CurrentSample,
    report: &DriftReport,
) -> Result<()> {
    let psi = |p: Option<f64>| p.map_or("insufficient data".to_string(), |v| format!("PSI {v:.3}"));
    let ks = match (report.residuals.statistic, report.residuals.p_value) {
        (Some(d), Some(p)) => format!("KS D {d:.3}, p {p:.2e}"),
        _ => "insufficient data".to_string(),
    };
    let panels = [
        Panel {
            title: format!(
                "levels: {} ({})",
                psi(report.levels.psi),
                report.levels.status
            ),
            reference: &reference.levels,
            current: &current.levels,
        },
        Panel {
            title: format!(
                "returns: {} ({})",
                psi(report.returns.psi),
                report.returns.status
            ),
            reference: &reference.returns,
            current: &current.returns,
        },
        Panel {
            title: format!("residuals: {ks} ({})", report.residuals.status),
            reference: &reference.residuals,
            current: &current.residuals,
        },
    ];
    let title = format!(
        "{model}: reference (blue) vs current (red) ECDFs, status {}",
        report.status
    );
    let with_text = crate::plot::fonts_available();
    if !with_text {
        eprintln!("note: no system font found (e.g. DejaVu Sans); the plot has no labels");
    }
    let size = (1500, 520);
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "svg" => {
            let root = SVGBackend::new(path, size).into_drawing_area();
            draw(&root, &title, &panels, with_text)?;
            root.present()
                .map_err(|e| anyhow!("writing plot {}: {e}", path.display()))?;
        }
        "png" => {
            let root = BitMapBackend::new(path, size).into_drawing_area();
            draw(&root, &title, &panels, with_text)?;
            root.present()
                .map_err(|e| anyhow!("writing plot {}: {e}", path.display()))?;
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

/// The step points `(x, F(x))` of the ECDF of `values`.
fn ecdf(values: &[f64]) -> Vec<(f64, f64)> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    let n = v.len() as f64;
    let mut out = Vec::with_capacity(2 * v.len());
    for (i, x) in v.iter().enumerate() {
        out.push((*x, i as f64 / n));
        out.push((*x, (i + 1) as f64 / n));
    }
    out
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    panels: &[Panel<'_>],
    with_text: bool,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("drawing the drift plot: {e:?}");
    root.fill(&WHITE).map_err(err)?;
    let area = if with_text {
        root.titled(title, ("sans-serif", 22)).map_err(err)?
    } else {
        root.clone()
    };
    let cells = area.split_evenly((1, panels.len()));
    for (cell, panel) in cells.iter().zip(panels) {
        let (r, c) = (ecdf(panel.reference), ecdf(panel.current));
        let xs = r.iter().chain(&c).map(|p| p.0);
        let (lo, hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(x), b.max(x))
        });
        let (lo, hi) = if lo.is_finite() && hi > lo {
            let pad = (hi - lo) * 0.02;
            (lo - pad, hi + pad)
        } else if lo.is_finite() {
            (lo - 1.0, lo + 1.0)
        } else {
            (0.0, 1.0)
        };
        let mut builder = ChartBuilder::on(cell);
        builder.margin(12);
        if with_text {
            builder
                .caption(&panel.title, ("sans-serif", 16))
                .x_label_area_size(30)
                .y_label_area_size(40);
        }
        let mut chart = builder.build_cartesian_2d(lo..hi, 0.0..1.0).map_err(err)?;
        let mut mesh = chart.configure_mesh();
        if with_text {
            mesh.x_labels(5).y_labels(5).label_style(("sans-serif", 12));
        } else {
            mesh.x_labels(0).y_labels(0);
        }
        mesh.draw().map_err(err)?;
        for (points, color) in [(r, REFERENCE), (c, CURRENT)] {
            if !points.is_empty() {
                chart
                    .draw_series(LineSeries::new(points, color.stroke_width(2)))
                    .map_err(err)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecdf_steps_from_zero_to_one() {
        let e = ecdf(&[3.0, 1.0, 2.0]);
        assert_eq!(e.first(), Some(&(1.0, 0.0)));
        assert_eq!(e.last(), Some(&(3.0, 1.0)));
        assert_eq!(e.len(), 6);
    }
}
