//! Drawing a [`PlotData`] with plotters: title, chart, and a legend panel beside the chart (so it
//! never hides the data), with labels measured so none is clipped.

use anyhow::{anyhow, Result};
use plotters::coord::combinators::BindKeyPoints;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::ticks::{row_ticks, time_ticks, trading_ticks, value_label};
use super::PlotData;
use crate::exit::UsageError;

const PALETTE: [RGBColor; 12] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
    RGBColor(0, 0, 128),
    RGBColor(128, 0, 0),
];

/// The colour of the `k`-th forecast.
pub(crate) fn color(k: usize) -> RGBColor {
    PALETTE[k % PALETTE.len()]
}

const LABEL_FONT: u32 = 14;
const TITLE_FONT: u32 = 22;
/// The most x ticks; fewer when their labels would not fit the width.
const MAX_X_TICKS: usize = 12;

/// The x range shown: from the first history point, zoomed in so that the span after the forecast
/// origin (the last history point) is at least a third of the width, to the last point drawn.
/// `None` when there is nothing to draw.
pub(crate) fn x_range(data: &PlotData) -> Option<(i64, i64)> {
    let mut xs: Vec<i64> = data.history.0.clone();
    if let Some((t, _)) = &data.actual {
        xs.extend(t);
    }
    for f in &data.forecasts {
        xs.extend(&f.timestamps);
    }
    let first = *xs.iter().min()?;
    let last = *xs.iter().max()?;
    let x0 = match data.history.0.last() {
        Some(&origin) if origin < last => {
            first.max(origin.saturating_sub(last.saturating_sub(origin).saturating_mul(2)))
        }
        _ => first,
    };
    Some((x0, last.max(x0.saturating_add(1))))
}

/// The y range of the points with `x0 <= x`: finite values only, padded 5%; a constant series
/// gets ±5% of its magnitude (±1 around zero) so its labels stay readable.
pub(crate) fn y_range(data: &PlotData, x0: i64) -> Option<(f64, f64)> {
    let mut ys: Vec<f64> = Vec::new();
    let mut add = |t: &[i64], v: &[f64]| {
        ys.extend(t.iter().zip(v).filter(|(t, _)| **t >= x0).map(|(_, v)| *v));
    };
    add(&data.history.0, &data.history.1);
    if let Some((t, v)) = &data.actual {
        add(t, v);
    }
    for f in &data.forecasts {
        add(&f.timestamps, &f.point);
        for (_, lo, hi) in &f.bands {
            add(&f.timestamps, lo);
            add(&f.timestamps, hi);
        }
    }
    let (mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in ys.into_iter().filter(|v| v.is_finite()) {
        y0 = y0.min(v);
        y1 = y1.max(v);
    }
    if !y0.is_finite() {
        return None;
    }
    let spread = y1 - y0;
    let pad = if spread > 1e-9 * y0.abs().max(y1.abs()) && spread.is_finite() {
        spread * 0.05
    } else {
        (y0.abs() * 0.05).max(1.0)
    };
    let (lo, hi) = (y0 - pad, y1 + pad);
    // Near f64's limits (±1.8e308) the padded range or its width would be infinite, and
    // plotters' tick search never ends on an infinite width: keep the width finite (points past
    // ±f64::MAX / 2 are clipped).
    const LIMIT: f64 = f64::MAX / 2.0;
    Some((lo.max(-LIMIT), hi.min(LIMIT)))
}

/// One legend row: a line or a filled box in `color`, then `label`.
struct LegendEntry {
    label: String,
    style: ShapeStyle,
    filled: bool,
}

fn legend_entries(data: &PlotData) -> Vec<LegendEntry> {
    let mut out = vec![LegendEntry {
        label: "history".into(),
        style: BLACK.stroke_width(1),
        filled: false,
    }];
    if data.actual.is_some() {
        out.push(LegendEntry {
            label: "actual".into(),
            style: BLACK.stroke_width(3),
            filled: false,
        });
    }
    for (k, f) in data.forecasts.iter().enumerate() {
        out.push(LegendEntry {
            label: f.label.clone(),
            style: color(k).stroke_width(2),
            filled: false,
        });
        for (i, (level, _, _)) in sorted_bands(&f.bands).iter().enumerate() {
            out.push(LegendEntry {
                label: format!("{} {}%", f.label, level_pct(*level)),
                style: color(k).mix(band_alpha(i)).filled(),
                filled: true,
            });
        }
    }
    out
}

/// A level (0.8) as a percentage (`80`, `99.5`).
fn level_pct(level: f64) -> String {
    let pct = level * 100.0;
    if (pct - pct.round()).abs() < 1e-9 {
        format!("{pct:.0}")
    } else {
        format!("{pct}")
    }
}

/// Bands widest first, so narrower (darker) ones are painted over wider ones.
fn sorted_bands(bands: &[(f64, Vec<f64>, Vec<f64>)]) -> Vec<&(f64, Vec<f64>, Vec<f64>)> {
    let mut b: Vec<_> = bands.iter().collect();
    b.sort_by(|x, y| y.0.total_cmp(&x.0));
    b
}

fn band_alpha(i: usize) -> f64 {
    0.15 + 0.12 * i as f64
}

/// `data` with every timestamp replaced by its position among all the timestamps drawn, and
/// those timestamps: rows side by side, without the gaps between sessions or trading days.
pub(crate) fn side_by_side(data: &PlotData) -> (PlotData, Vec<i64>) {
    let mut axis: Vec<i64> = data.history.0.clone();
    if let Some((t, _)) = &data.actual {
        axis.extend(t);
    }
    for f in &data.forecasts {
        axis.extend(&f.timestamps);
    }
    axis.sort_unstable();
    axis.dedup();
    let place = |ts: &[i64]| -> Vec<i64> {
        ts.iter()
            .map(|t| axis.partition_point(|a| a < t) as i64)
            .collect()
    };
    let mut out = data.clone();
    out.history.0 = place(&data.history.0);
    if let Some((t, _)) = &mut out.actual {
        *t = place(t);
    }
    for f in &mut out.forecasts {
        f.timestamps = place(&f.timestamps);
    }
    out.gapless = false;
    (out, axis)
}

/// Draws `data` on `root`; without fonts, no text at all (title, labels, legend names).
pub(crate) fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    data: &PlotData,
    with_text: bool,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("drawing the plot: {e}");
    root.fill(&WHITE).map_err(err)?;
    let (reindexed, axis) = if data.gapless {
        let (d, axis) = side_by_side(data);
        (Some(d), Some(axis))
    } else {
        (None, None)
    };
    let data = reindexed.as_ref().unwrap_or(data);
    let Some((x0, x1)) = x_range(data) else {
        return Err(UsageError("nothing to plot: no points".into()).into());
    };
    let Some((y0, y1)) = y_range(data, x0) else {
        return Err(UsageError("nothing to plot: no finite values".into()).into());
    };
    let (width, _) = root.dim_in_pixel();
    let font: TextStyle = ("sans-serif", LABEL_FONT).into();
    let text_width = |s: &str| -> u32 {
        root.estimate_text_size(s, &font)
            .map(|(w, _)| w)
            .unwrap_or(LABEL_FONT * s.chars().count() as u32)
    };

    // Title, shrunk until it fits the width.
    let area = if with_text {
        let mut size = TITLE_FONT;
        while size > 10
            && root
                .estimate_text_size(&data.title, &("sans-serif", size).into())
                .map(|(w, _)| w + 20 > width)
                .unwrap_or(false)
        {
            size -= 1;
        }
        root.titled(&data.title, ("sans-serif", size))
            .map_err(err)?
    } else {
        root.clone()
    };

    // The legend panel on the right, as wide as its longest entry.
    let legend = legend_entries(data);
    let legend_w = if with_text {
        legend
            .iter()
            .map(|e| text_width(&e.label))
            .max()
            .unwrap_or(0)
            + 50
    } else {
        40
    }
    .min(width / 3);
    let (chart_area, legend_area) = area.split_horizontally(width.saturating_sub(legend_w));

    // X ticks: as many as fit, each label measured.
    // No tick in the first 2% of the width: its label would sit on the value axis.
    let first_tick = x0.saturating_add((x1 - x0) / 50);
    let axis_ticks = |n: usize| {
        if let Some(axis) = &axis {
            trading_ticks(axis, first_tick, x1, n)
        } else if data.rows_axis {
            row_ticks(first_tick, x1, n)
        } else {
            time_ticks(first_tick, x1, n)
        }
    };
    let mut ticks = axis_ticks(MAX_X_TICKS);
    let chart_w = width.saturating_sub(legend_w + 120).max(100);
    while ticks.len() > 2 {
        let widest = ticks.iter().map(|(_, l)| text_width(l)).max().unwrap_or(0);
        if (widest + 16) * ticks.len() as u32 <= chart_w {
            break;
        }
        let n = ticks.len() - 1;
        ticks = axis_ticks(n);
    }
    let widest_x = ticks.iter().map(|(_, l)| text_width(l)).max().unwrap_or(0);
    let y_step = (y1 - y0) / 8.0;
    let y_labels: Vec<String> = (0..=8)
        .map(|i| value_label(y0 + y_step * i as f64, y_step))
        .collect();
    let widest_y = y_labels.iter().map(|l| text_width(l)).max().unwrap_or(0);

    let y_area = if with_text { widest_y + 20 } else { 0 };
    let mut builder = ChartBuilder::on(&chart_area);
    builder
        .margin_top(10)
        .margin_bottom(10)
        // The first x label is centred on the left edge: keep half of it inside the image.
        .margin_left((widest_x / 2 + 5).saturating_sub(y_area).max(10))
        // Half the widest x label may stick out past the last tick.
        .margin_right(widest_x / 2 + 10);
    if with_text {
        builder
            .x_label_area_size(LABEL_FONT * 2 + 12)
            .y_label_area_size(y_area);
    }
    let tick_at: Vec<i64> = ticks.iter().map(|(t, _)| *t).collect();
    let mut chart = builder
        .build_cartesian_2d((x0..x1).with_key_points(tick_at), y0..y1)
        .map_err(err)?;
    let x_formatter = |x: &i64| {
        ticks
            .iter()
            .find(|(t, _)| t == x)
            .map(|(_, l)| l.clone())
            .unwrap_or_default()
    };
    let y_formatter = |y: &f64| value_label(*y, y_step);
    let mut mesh = chart.configure_mesh();
    mesh.max_light_lines(1)
        .light_line_style(RGBColor(245, 245, 245))
        .bold_line_style(RGBColor(225, 225, 225));
    if with_text {
        mesh.x_label_formatter(&x_formatter)
            .y_label_formatter(&y_formatter)
            .y_labels(8)
            .label_style(("sans-serif", LABEL_FONT));
    } else {
        mesh.disable_x_axis().disable_y_axis();
    }
    mesh.draw().map_err(err)?;

    let visible = |t: &[i64], v: &[f64]| -> Vec<(i64, f64)> {
        t.iter()
            .copied()
            .zip(v.iter().copied())
            .filter(|(t, v)| *t >= x0 && v.is_finite())
            .collect()
    };
    // Paths after the origin start from the last history point, so they read as its continuation.
    let origin = data
        .history
        .0
        .last()
        .zip(data.history.1.last())
        .map(|(t, v)| (*t, *v))
        .filter(|(_, v)| v.is_finite());
    let from_origin = |t: &[i64], v: &[f64]| -> Vec<(i64, f64)> {
        let mut points = visible(t, v);
        if let (Some(o), Some(first)) = (origin, points.first()) {
            if o.0 < first.0 {
                points.insert(0, o);
            }
        }
        points
    };
    for (k, f) in data.forecasts.iter().enumerate() {
        for (i, (_, lo, hi)) in sorted_bands(&f.bands).into_iter().enumerate() {
            let upper = from_origin(&f.timestamps, hi);
            let mut lower = from_origin(&f.timestamps, lo);
            lower.reverse();
            let polygon: Vec<(i64, f64)> = upper.into_iter().chain(lower).collect();
            chart
                .draw_series(std::iter::once(Polygon::new(
                    polygon,
                    color(k).mix(band_alpha(i)).filled(),
                )))
                .map_err(err)?;
        }
    }
    let (ht, hv) = &data.history;
    chart
        .draw_series(LineSeries::new(visible(ht, hv), BLACK.stroke_width(1)))
        .map_err(err)?;
    if let Some((at, av)) = &data.actual {
        chart
            .draw_series(LineSeries::new(from_origin(at, av), BLACK.stroke_width(3)))
            .map_err(err)?;
    }
    for (k, f) in data.forecasts.iter().enumerate() {
        let points = from_origin(&f.timestamps, &f.point);
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color(k).stroke_width(2),
            ))
            .map_err(err)?;
        // A one-step forecast is a single point (or a segment from a lone origin): mark it.
        if f.timestamps.len() == 1 {
            chart
                .draw_series(points.last().map(|p| Circle::new(*p, 4, color(k).filled())))
                .map_err(err)?;
        }
    }

    // The legend panel.
    for (i, e) in legend.iter().enumerate() {
        let y = 20 + 22 * i as i32;
        if e.filled {
            legend_area
                .draw(&Rectangle::new([(8, y - 6), (32, y + 6)], e.style))
                .map_err(err)?;
        } else {
            legend_area
                .draw(&PathElement::new(vec![(8, y), (32, y)], e.style))
                .map_err(err)?;
        }
        if with_text {
            legend_area
                .draw(&Text::new(
                    e.label.clone(),
                    (40, y - LABEL_FONT as i32 / 2 - 1),
                    ("sans-serif", LABEL_FONT).into_font(),
                ))
                .map_err(err)?;
        }
    }
    Ok(())
}
