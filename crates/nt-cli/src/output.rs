//! Rendering of reports: a human-first table, one JSON object for scripts, or CSV.

use std::fmt::Write as _;

use nt_core::Forecast;
use nt_eval::{BacktestReport, ModelScore};
use serde::Serialize;

/// The JSON document `nt backtest --format json` prints: stable keys for scripts.
#[derive(Debug, Serialize)]
pub(crate) struct BacktestJson<'a> {
    /// Always "nt".
    pub(crate) tool: &'static str,
    /// Version of `nt`.
    pub(crate) version: &'static str,
    /// "backtest" or "demo".
    pub(crate) command: &'static str,
    /// The data file, or "sample-market(seed=…)".
    pub(crate) source: String,
    /// Scores pooled over every target (equal to the single target's scores when there is one).
    pub(crate) pooled: &'a [ModelScore],
    /// Model names by pooled MAE, best first.
    pub(crate) leaderboard: Vec<&'a str>,
    /// The smallest MAE skill that counts as beating the random walk (`--min-skill`).
    pub(crate) min_skill: f64,
    /// Each model's pooled verdict against the random walk (beats, loses, tie, unknown).
    pub(crate) verdicts: std::collections::BTreeMap<&'a str, nt_eval::Verdict>,
    /// The sentence the table prints: which models beat the random walk, or that none does.
    pub(crate) beats_random_walk: String,
    /// One full report per target: settings, data fingerprint and split, every model's scores.
    pub(crate) targets: &'a [BacktestReport],
}

fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x:.digits$}"),
        _ => "-".to_string(),
    }
}

/// Formats `x` with at least 4 significant digits (0.2033, 0.002912, 12.34, 1234.6), in
/// scientific notation outside 1e-4..1e6, so that errors on FX prices (MAE ≈ 0.0029) can be
/// told apart.
fn fmt_num(x: f64) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    let a = x.abs();
    if a == 0.0 {
        return "0.0000".into();
    }
    if !(1e-4..1e6).contains(&a) {
        return format!("{x:.3e}");
    }
    // Digits after the point for 4 significant digits; at least 1, at most 7 (a ≥ 1e-4).
    let magnitude = a.log10().floor() as i32;
    let decimals = (3 - magnitude).clamp(1, 7) as usize;
    format!("{x:.decimals$}")
}

fn coverage(score: &ModelScore, level: f64) -> Option<f64> {
    score
        .scores
        .as_ref()?
        .intervals
        .iter()
        .find(|i| (i.level - level).abs() < 1e-9)
        .map(|i| i.coverage)
}

/// The leaderboard as an aligned table: models by MAE, with skill against the random walk.
///
/// "beats"/"loses" need both a DM p-value below 0.05 and an MAE skill of at least `min_skill`
/// (in absolute value); see [`nt_eval::Verdict`].
pub(crate) fn leaderboard_table(
    scores: &[ModelScore],
    baseline: &str,
    levels: &[f64],
    min_skill: f64,
) -> String {
    let ranked = nt_eval::leaderboard(scores);
    let mut header: Vec<String> = [
        "#", "model", "MAE", "RMSE", "sMAPE%", "MASE", "dir.acc", "Theil U", "skill", "DM p",
        "vs RW",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for l in levels {
        header.push(format!("cov{:.0}", l * 100.0));
    }
    // CRPS only when some model drew sample paths (DeepAR): most reports have none.
    let with_crps = scores
        .iter()
        .any(|m| m.scores.as_ref().is_some_and(|s| s.crps.is_some()));
    if with_crps {
        header.push("CRPS".into());
    }
    header.push("fit s".into());
    let mut rows: Vec<Vec<String>> = Vec::new();
    for (rank, m) in ranked.iter().enumerate() {
        let Some(s) = &m.scores else { continue };
        let is_baseline = m.name == baseline;
        let verdict = if is_baseline {
            "baseline".to_string()
        } else {
            nt_eval::Verdict::of(s, min_skill).as_str().to_string()
        };
        let mut row = vec![
            (rank + 1).to_string(),
            m.name.clone(),
            fmt_num(s.mae),
            fmt_num(s.rmse),
            fmt_opt(Some(s.smape), 2),
            fmt_opt(s.mase, 3),
            // The random walk predicts no move: its directional accuracy is 0 by construction.
            if is_baseline {
                "-".into()
            } else {
                fmt_opt(s.directional_accuracy, 3)
            },
            fmt_opt(s.theils_u, 3),
            s.skill_mae
                .map(|k| format!("{:+.2}%", k * 100.0))
                .unwrap_or_else(|| "-".into()),
            fmt_opt(s.dm.as_ref().map(|d| d.p_value), 3),
            verdict,
        ];
        for l in levels {
            row.push(fmt_opt(coverage(m, *l), 3));
        }
        if with_crps {
            row.push(s.crps.map(fmt_num).unwrap_or_else(|| "-".into()));
        }
        row.push(format!("{:.2}", m.fit_seconds));
        rows.push(row);
    }
    let mut out = render_table(&header, &rows);
    let _ = writeln!(out, "{}", beats_line(scores, baseline, min_skill));
    for m in scores.iter().filter(|m| m.error.is_some()) {
        let _ = writeln!(
            out,
            "failed: {}: {}",
            m.name,
            m.error.as_deref().unwrap_or_default()
        );
    }
    out
}

/// The models that beat the random walk, or the plain statement that none does.
pub(crate) fn beats_line(scores: &[ModelScore], baseline: &str, min_skill: f64) -> String {
    let winners: Vec<&str> = nt_eval::leaderboard(scores)
        .iter()
        .filter(|m| m.name != baseline)
        .filter(|m| {
            m.scores
                .as_ref()
                .is_some_and(|s| nt_eval::Verdict::of(s, min_skill) == nt_eval::Verdict::Beats)
        })
        .map(|m| m.name.as_str())
        .collect();
    let rule = format!(
        "skill ≥ {:.1}% and DM p < {}",
        min_skill * 100.0,
        nt_eval::DM_ALPHA
    );
    if winners.is_empty() {
        format!("no model beats the random walk ({rule}).")
    } else {
        format!("beat the random walk ({rule}): {}.", winners.join(", "))
    }
}

fn render_table(header: &[String], rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count())
                .chain([header[c].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        cells
            .iter()
            .enumerate()
            .map(|(c, cell)| {
                if c == 1 {
                    format!("{cell:<w$}", w = widths[c])
                } else {
                    format!("{cell:>w$}", w = widths[c])
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
    };
    let mut out = String::new();
    let _ = writeln!(out, "{}", line(header));
    let _ = writeln!(
        out,
        "{}",
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("  ")
    );
    for r in rows {
        let _ = writeln!(out, "{}", line(r));
    }
    out
}

/// A few lines on what was evaluated, above the table.
pub(crate) fn report_header(source: &str, report: &BacktestReport) -> String {
    let d = &report.data;
    let s = &report.settings;
    format!(
        "data: {source} ({} rows, fingerprint {}…)\ntarget: {}   horizon: {}   origins: {} (rows {}..={}, stride {})   \
         split: train {} / val {} / test {}   scale: {}\n",
        d.rows,
        &d.fingerprint[..12.min(d.fingerprint.len())],
        d.target,
        s.horizon,
        d.origins,
        d.first_origin,
        d.last_origin,
        d.stride,
        d.split.n_train,
        d.split.n_val,
        d.split.n_test,
        match s.scale {
            nt_eval::Scale::Original => "original units",
            nt_eval::Scale::Standardized => "standardized (÷ train std)",
            #[allow(unreachable_patterns)]
            _ => "other",
        }
    )
}

/// A legend under the table saying what the columns mean.
pub(crate) const LEGEND: &str = "skill = 1 − MAE/MAE(random walk); Theil U = RMSE/RMSE(random walk), < 1 beats it;
MASE = MAE/(in-sample seasonal-naive MAE on the train rows): < 1 beats that in-sample benchmark, not the random walk;
DM p = Diebold–Mariano p-value against the random walk (squared loss);
vs RW: beats/loses when |skill| ≥ --min-skill and DM p < 0.05, else tie;
dir.acc = share of moves called right (the random walk calls none: -); covNN = share of actuals inside the NN% interval.";

/// CSV: one row per (target, model) with every score; `ALL` rows hold the pooled scores when there
/// are several targets.
pub(crate) fn scores_csv(
    reports: &[BacktestReport],
    pooled: Option<&[ModelScore]>,
    levels: &[f64],
) -> String {
    let mut out = String::from(
        "target,model,windows,mae,mse,rmse,mape,smape,mase,directional_accuracy,theils_u,skill_mae,dm_statistic,dm_p_value",
    );
    for l in levels {
        let _ = write!(
            out,
            ",coverage_{0:.0},pinball_lower_{0:.0},pinball_upper_{0:.0},width_{0:.0}",
            l * 100.0
        );
    }
    out.push_str(",crps,fit_seconds,predict_seconds,error\n");
    let mut emit = |target: &str, m: &ModelScore| {
        let num = |v: Option<f64>| {
            v.filter(|x| x.is_finite())
                .map(|x| x.to_string())
                .unwrap_or_default()
        };
        let s = m.scores.as_ref();
        let mut cells = vec![
            csv_cell(target),
            csv_cell(&m.name),
            m.windows.to_string(),
            num(s.map(|s| s.mae)),
            num(s.map(|s| s.mse)),
            num(s.map(|s| s.rmse)),
            num(s.and_then(|s| s.mape)),
            num(s.map(|s| s.smape)),
            num(s.and_then(|s| s.mase)),
            num(s.and_then(|s| s.directional_accuracy)),
            num(s.and_then(|s| s.theils_u)),
            num(s.and_then(|s| s.skill_mae)),
            num(s.and_then(|s| s.dm.as_ref().map(|d| d.statistic))),
            num(s.and_then(|s| s.dm.as_ref().map(|d| d.p_value))),
        ];
        for l in levels {
            let i = s.and_then(|s| s.intervals.iter().find(|i| (i.level - l).abs() < 1e-9));
            cells.push(num(i.map(|i| i.coverage)));
            cells.push(num(i.map(|i| i.pinball_lower)));
            cells.push(num(i.map(|i| i.pinball_upper)));
            cells.push(num(i.map(|i| i.width)));
        }
        cells.push(num(s.and_then(|s| s.crps)));
        cells.push(m.fit_seconds.to_string());
        cells.push(m.predict_seconds.to_string());
        cells.push(csv_cell(m.error.as_deref().unwrap_or("")));
        let _ = writeln!(out, "{}", cells.join(","));
    };
    for r in reports {
        for m in &r.models {
            emit(&r.data.target, m);
        }
    }
    if let Some(pooled) = pooled {
        for m in pooled {
            emit("ALL", m);
        }
    }
    out
}

/// Quotes a CSV cell when it holds a comma, quote or newline.
pub(crate) fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// `ms` as an ISO-8601 UTC timestamp.
pub(crate) fn iso_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| ms.to_string())
}

/// What a forecast was made from, printed with it.
#[derive(Debug, Serialize)]
pub(crate) struct ForecastMeta {
    /// "forecast" or "predict".
    pub(crate) command: &'static str,
    /// Data file.
    pub(crate) source: String,
    /// sha256 of the data.
    pub(crate) fingerprint: String,
    /// Model name or directory.
    pub(crate) model: String,
    /// Rows of data read.
    pub(crate) rows: usize,
    /// How the forecast's timestamps were dated: the calendar inferred from the data
    /// ([`nt_core::Calendar`]'s words), or where they came from.
    pub(crate) calendar: String,
    /// Whether the data has a time axis; without one the "timestamps" are row numbers and print
    /// as such (not as instants of January 1970).
    pub(crate) time_axis: bool,
}

/// A forecast step's time as printed: ISO 8601 UTC, or the row number without a time axis.
fn step_time(meta: &ForecastMeta, t: i64) -> String {
    if meta.time_axis {
        iso_time(t)
    } else {
        t.to_string()
    }
}

/// A forecast value as the table prints it: 4 decimals, more below 1 so that at least 4
/// significant digits show (0.002912, not 0.0029).
fn fmt_value(x: f64) -> String {
    let a = x.abs();
    let decimals = if a > 0.0 && a < 1.0 {
        (3 - a.log10().floor() as i32).clamp(4, 12) as usize
    } else {
        4
    };
    format!("{x:.decimals$}")
}

/// One target's forecast in the JSON document.
#[derive(Debug, Serialize)]
struct ForecastJson<'a> {
    target: &'a str,
    timestamps: Vec<String>,
    timestamps_ms: &'a [i64],
    point: &'a [f64],
    intervals: Vec<IntervalJson>,
    quantiles: std::collections::BTreeMap<String, &'a [f64]>,
}

/// A central prediction interval.
#[derive(Debug, Serialize)]
struct IntervalJson {
    level: f64,
    lower: Vec<f64>,
    upper: Vec<f64>,
}

/// The central intervals a forecast carries, `(level, lower, upper)`, narrowest first.
pub(crate) fn bands(f: &Forecast) -> Vec<(f64, Vec<f64>, Vec<f64>)> {
    f.interval_levels()
        .into_iter()
        .filter_map(|l| f.interval(l).map(|(lo, hi)| (l, lo.to_vec(), hi.to_vec())))
        .collect()
}

fn level_label(level: f64) -> String {
    let pct = level * 100.0;
    if (pct - pct.round()).abs() < 1e-9 {
        format!("{pct:.0}")
    } else {
        format!("{pct}")
    }
}

/// `x` rounded to 9 decimals: levels and quantiles computed as `(1 − 0.8) / 2` print as 0.1,
/// not 0.09999999999999998.
fn round9(x: f64) -> f64 {
    (x * 1e9).round() / 1e9
}

/// A quantile as a JSON key: `"0.1"`, `"0.975"`.
fn quantile_key(q: f64) -> String {
    round9(q).to_string()
}

/// An error when a forecast holds a non-finite value: printing it as `null` would pass for a
/// result.
fn check_finite(target: &str, f: &Forecast) -> anyhow::Result<()> {
    let bad = |what: String, step: usize| {
        anyhow::Error::from(crate::exit::UsageError(format!(
            "the forecast of `{target}` is not finite ({what} at step {step}): the values are too large for the model's arithmetic (neural models compute in f32, |x| < 3.4e38); rescale the data"
        )))
    };
    if let Some(i) = f.point_values().iter().position(|v| !v.is_finite()) {
        return Err(bad("point".into(), i + 1));
    }
    for b in f.quantiles() {
        if let Some(i) = b.values.iter().position(|v| !v.is_finite()) {
            return Err(bad(format!("quantile {}", quantile_key(b.q)), i + 1));
        }
    }
    Ok(())
}

/// Prints forecasts (one per target) that cover the timestamps `future`, in `format`; an error
/// (nothing printed) when any forecast holds a non-finite value.
pub(crate) fn print_forecasts(
    meta: &ForecastMeta,
    results: &[(String, Forecast)],
    future: &[i64],
    format: crate::cli::Format,
) -> anyhow::Result<()> {
    use crate::cli::Format;
    for (target, f) in results {
        check_finite(target, f)?;
    }
    match format {
        Format::Json => {
            let forecasts: Vec<ForecastJson<'_>> = results
                .iter()
                .map(|(target, f)| ForecastJson {
                    target,
                    timestamps: future.iter().map(|t| step_time(meta, *t)).collect(),
                    timestamps_ms: &future[..f.len().min(future.len())],
                    point: f.point_values(),
                    intervals: bands(f)
                        .into_iter()
                        .map(|(level, lower, upper)| IntervalJson {
                            level: round9(level),
                            lower,
                            upper,
                        })
                        .collect(),
                    quantiles: f
                        .quantiles()
                        .iter()
                        .map(|b| (quantile_key(b.q), b.values.as_slice()))
                        .collect(),
                })
                .collect();
            let doc = serde_json::json!({
                "tool": "nt",
                "version": env!("CARGO_PKG_VERSION"),
                "command": meta.command,
                "source": meta.source,
                "fingerprint": meta.fingerprint,
                "model": meta.model,
                "rows": meta.rows,
                "calendar": meta.calendar,
                "horizon": future.len(),
                "forecasts": forecasts,
            });
            println!("{}", serde_json::to_string_pretty(&doc)?);
        }
        Format::Csv => {
            let levels: Vec<f64> = results
                .first()
                .map(|(_, f)| f.interval_levels())
                .unwrap_or_default();
            let mut out = String::from("target,timestamp,point");
            for l in &levels {
                let _ = write!(out, ",lower_{0},upper_{0}", level_label(*l));
            }
            out.push('\n');
            for (target, f) in results {
                for (i, t) in future.iter().enumerate().take(f.len()) {
                    let _ = write!(
                        out,
                        "{},{},{}",
                        csv_cell(target),
                        step_time(meta, *t),
                        f.point_values()[i]
                    );
                    for l in &levels {
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
            print!("{out}");
        }
        Format::Table => {
            for (target, f) in results {
                println!(
                    "{} forecast of `{target}` from {} ({} rows), next {} steps:",
                    meta.model,
                    meta.source,
                    meta.rows,
                    f.len()
                );
                println!("calendar: {}", meta.calendar);
                let bands = bands(f);
                let mut out = format!("{:<20}  {:>12}", "timestamp", "point");
                for (l, _, _) in &bands {
                    let _ = write!(
                        out,
                        "  {:>12}  {:>12}",
                        format!("lo{}", level_label(*l)),
                        format!("hi{}", level_label(*l))
                    );
                }
                out.push('\n');
                for (i, t) in future.iter().enumerate().take(f.len()) {
                    let _ = write!(
                        out,
                        "{:<20}  {:>12}",
                        step_time(meta, *t),
                        fmt_value(f.point_values()[i])
                    );
                    for (_, lo, hi) in &bands {
                        let _ = write!(out, "  {:>12}  {:>12}", fmt_value(lo[i]), fmt_value(hi[i]));
                    }
                    out.push('\n');
                }
                print!("{out}");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_when_needed() {
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"x\""), "\"say \"\"x\"\"\"");
        assert_eq!(csv_cell("plain"), "plain");
    }

    #[test]
    fn quantile_keys_carry_no_float_noise_and_non_finite_forecasts_are_refused() {
        assert_eq!(quantile_key((1.0 - 0.8) / 2.0), "0.1");
        assert_eq!(quantile_key(1.0 - (1.0 - 0.95) / 2.0), "0.975");
        assert_eq!(quantile_key(0.5), "0.5");
        let ok = Forecast::point(vec![1.0, 2.0]);
        assert!(check_finite("y", &ok).is_ok());
        let bad = Forecast::point(vec![1.0, f64::INFINITY]);
        let e = check_finite("y", &bad).unwrap_err().to_string();
        assert!(e.contains("step 2") && e.contains("`y`"), "{e}");
    }

    #[test]
    fn numbers_keep_their_magnitude() {
        assert_eq!(fmt_num(0.20331), "0.2033");
        assert_eq!(fmt_num(1234.56), "1234.6");
        assert_eq!(fmt_num(1.5e-6), "1.500e-6");
        // FX-sized errors keep 4 significant digits, so close models can be told apart.
        assert_eq!(fmt_num(0.0029123), "0.002912");
        assert_ne!(fmt_num(0.0029123), fmt_num(0.0029456));
        assert_eq!(fmt_num(12.3456), "12.35");
        assert_eq!(fmt_num(-0.5), "-0.5000");
        assert_eq!(iso_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(fmt_value(108.3125), "108.3125");
        assert_eq!(fmt_value(0.0029123), "0.002912");
        assert_eq!(fmt_value(0.5), "0.5000");
    }
}
