//! What a plot shows, built from a forecast or a backtest: the history zoomed so the forecast
//! takes at least a third of the width, every model's path, and the bands of the best one.

use anyhow::Result;
use nt_core::TimeSeries;
use nt_eval::{BacktestReport, ModelScore};

use super::{PlotData, PlotForecast};
use crate::exit::UsageError;

/// History rows shown per forecast step: twice the horizon, so that the forecast takes at least a
/// third of the width (the drawing enforces the same share in time; see `draw::x_range`).
const HISTORY_PER_STEP: usize = 2;

/// True when `series` has no time axis (its timestamps are the row numbers).
fn rows_axis(series: &TimeSeries) -> bool {
    matches!(series.calendar(), Ok(nt_core::Calendar::Rows))
}

/// True when the calendar of `series` skips nights, weekends or days of the week: its plot
/// draws the rows side by side.
fn gapless(series: &TimeSeries) -> bool {
    use nt_core::Calendar;
    matches!(
        series.calendar(),
        Ok(Calendar::BusinessDays
            | Calendar::Days { .. }
            | Calendar::Session { .. }
            | Calendar::WeeklySession { .. })
    )
}

/// The file name of `source` (a path as the user gave it), or `source` itself when it is not a
/// path: the plot's title names the data without a long directory prefix.
pub(crate) fn source_name(source: &str) -> String {
    std::path::Path::new(source)
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|_| std::path::Path::new(source).exists())
        .map(str::to_string)
        .unwrap_or_else(|| source.to_string())
}

/// The plot of a forecast made after the end of `series` (read from `source`): the tail of column
/// `target` (twice the horizon, at least two rows), the forecast `f` of model `label` dated at
/// `future`, and its bands. `calendar` says how the forecast was dated.
pub(crate) fn forecast_plot(
    series: &TimeSeries,
    target: &str,
    future: &[i64],
    label: &str,
    f: &nt_core::Forecast,
    source: &str,
) -> Result<PlotData> {
    let values = series.column(target)?;
    let steps = f.len().min(future.len());
    let tail = (HISTORY_PER_STEP * steps).max(2).min(values.len());
    let ts = series.timestamps();
    Ok(PlotData {
        title: format!(
            "{}: {label} forecast of {target}, next {steps} steps",
            source_name(source)
        ),
        history: (
            ts[ts.len() - tail..].to_vec(),
            values[values.len() - tail..].to_vec(),
        ),
        actual: None,
        rows_axis: rows_axis(series),
        gapless: gapless(series),
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

/// The plot of a backtest of `source`: the last origin's history tail, what happened next, and the
/// forecast of every model that made one from that origin (best pooled MAE first, the random walk
/// included), with the interval bands of the best model that has them.
pub(crate) fn backtest_plot(
    series: &TimeSeries,
    report: &BacktestReport,
    pooled: &[ModelScore],
    source: &str,
) -> Result<PlotData> {
    let target = &report.data.target;
    let values = series.column(target)?;
    let horizon = report.settings.horizon;
    let Some(last) = report.forecasts.iter().map(|f| f.origin_index).max() else {
        return Err(UsageError("nothing to plot: the backtest kept no forecasts".into()).into());
    };
    let ts = series.timestamps();
    let end = (last + 1 + horizon).min(values.len());
    let start = (last + 1).saturating_sub((HISTORY_PER_STEP * horizon).max(2));
    // Every model, ranked; models without a pooled score (failed ones) after them, by name.
    let mut names: Vec<&str> = nt_eval::leaderboard(pooled)
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    let mut rest: Vec<&str> = report
        .forecasts
        .iter()
        .map(|f| f.model.as_str())
        .filter(|n| !names.contains(n))
        .collect();
    rest.sort_unstable();
    rest.dedup();
    names.extend(rest);
    let mut banded = false;
    let forecasts = names
        .iter()
        .filter_map(|name| {
            let f = report.forecasts_of(name).find(|f| f.origin_index == last)?;
            let steps = f.point.len().min(end - last - 1);
            let with_bands = !banded && *name != report.baseline && !f.intervals.is_empty();
            banded |= with_bands;
            Some(PlotForecast {
                label: name.to_string(),
                timestamps: ts[last + 1..last + 1 + steps].to_vec(),
                point: f.point[..steps].to_vec(),
                bands: if with_bands {
                    f.intervals
                        .iter()
                        .map(|i| {
                            (
                                i.level,
                                i.lower[..steps].to_vec(),
                                i.upper[..steps].to_vec(),
                            )
                        })
                        .collect()
                } else {
                    Vec::new()
                },
            })
        })
        .collect();
    Ok(PlotData {
        title: format!(
            "{}: {target}, last backtest window (horizon {horizon})",
            source_name(source)
        ),
        history: (ts[start..=last].to_vec(), values[start..=last].to_vec()),
        actual: Some((ts[last + 1..end].to_vec(), values[last + 1..end].to_vec())),
        forecasts,
        rows_axis: rows_axis(series),
        gapless: gapless(series),
    })
}
