//! Volatility output of GARCH models: the per-step volatility forecast of `nt forecast --model
//! garch`, and the volatility table of `nt backtest --models garch,...` (QLIKE and MSE of the
//! σ² forecasts against realized squared returns, Diebold–Mariano against the rolling variance).

use std::fmt::Write as _;

use anyhow::{Context, Result};
use nt_classical::{FittedGarch, GarchConfig, VolatilityForecast};
use nt_core::{Fit, Forecast, Horizon, TimeSeries};
use nt_eval::volatility::VarianceFn;
use nt_eval::{volatility_backtest, VolatilityConfig, VolatilityReport};
use nt_models::ModelSpec;
use serde::Serialize;

use super::backtest::EvalPlan;
use super::menu::MenuModel;
use crate::output::{bands, iso_time, ForecastMeta};

/// The GARCH configuration of a menu model, when it is one.
pub(crate) fn garch_config(spec: &ModelSpec) -> Option<&GarchConfig> {
    match spec {
        ModelSpec::Classical(nt_classical::ClassicalSpec::Garch(c)) => Some(c),
        _ => None,
    }
}

/// One target's volatility forecast.
#[derive(Debug, Serialize)]
struct VolatilityJson<'a> {
    target: &'a str,
    /// What the numbers are in.
    units: &'static str,
    #[serde(flatten)]
    forecast: &'a VolatilityForecast,
}

/// Fits the GARCH `config` on all of `series` for each target and returns its volatility
/// forecasts (the price forecasts come from the shared path).
pub(crate) fn forecast_volatility(
    config: &GarchConfig,
    series: &TimeSeries,
    targets: &[String],
    horizon: Horizon,
) -> Result<Vec<(String, VolatilityForecast)>> {
    targets
        .iter()
        .map(|t| {
            let fitted: FittedGarch = config.fit(series, t)?;
            Ok((t.clone(), fitted.volatility_forecast(series, horizon)?))
        })
        .collect()
}

const UNITS: &str = "percent (of 100 x log returns) per step; annualized: per year";

/// The volatility table printed after the price forecast.
pub(crate) fn forecast_table(
    vols: &[(String, VolatilityForecast)],
    future: &[i64],
    time_axis: bool,
) -> String {
    let mut out = String::new();
    for (target, v) in vols {
        let _ = writeln!(
            out,
            "\nvolatility forecast of `{target}` (sigma of 100 x log return, percent per step{}):",
            match v.periods_per_year {
                Some(n) => format!("; annualized x sqrt({n})"),
                None => "; no annualized column: the data has no known frequency".into(),
            }
        );
        let _ = write!(
            out,
            "{:<20}  {:>12}  {:>12}",
            "timestamp", "sigma", "variance"
        );
        if v.annualized.is_some() {
            let _ = write!(out, "  {:>12}", "annualized");
        }
        out.push('\n');
        for (i, s) in v.sigma.iter().enumerate() {
            let t = future.get(i).copied().unwrap_or_default();
            let when = if time_axis {
                iso_time(t)
            } else {
                t.to_string()
            };
            let _ = write!(out, "{when:<20}  {s:>12.4}  {:>12.4}", v.variance[i]);
            if let Some(a) = &v.annualized {
                let _ = write!(out, "  {:>12.4}", a[i]);
            }
            out.push('\n');
        }
    }
    out
}

/// The `nt forecast --format json` document of a GARCH model: the usual fields and forecasts,
/// plus `volatility` (one entry per target).
pub(crate) fn forecast_json(
    meta: &ForecastMeta,
    results: &[(String, Forecast)],
    future: &[i64],
    vols: &[(String, VolatilityForecast)],
) -> Result<String> {
    let forecasts: Vec<serde_json::Value> = results
        .iter()
        .map(|(target, f)| {
            let when: Vec<String> = future
                .iter()
                .map(|t| if meta.time_axis { iso_time(*t) } else { t.to_string() })
                .collect();
            let intervals: Vec<serde_json::Value> = bands(f)
                .into_iter()
                .map(|(level, lower, upper)| {
                    serde_json::json!({"level": (level * 1e9).round() / 1e9, "lower": lower, "upper": upper})
                })
                .collect();
            let quantiles: serde_json::Map<String, serde_json::Value> = f
                .quantiles()
                .iter()
                .map(|b| (((b.q * 1e9).round() / 1e9).to_string(), serde_json::json!(b.values)))
                .collect();
            serde_json::json!({
                "target": target,
                "timestamps": when,
                "timestamps_ms": &future[..f.len().min(future.len())],
                "point": f.point_values(),
                "intervals": intervals,
                "quantiles": quantiles,
            })
        })
        .collect();
    let volatility: Vec<VolatilityJson<'_>> = vols
        .iter()
        .map(|(target, v)| VolatilityJson {
            target,
            units: UNITS,
            forecast: v,
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
        "volatility": volatility,
    });
    Ok(serde_json::to_string_pretty(&doc)?)
}

/// One target's volatility backtest.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TargetVolatility {
    target: String,
    /// Row index (0-based) of the first origin and the price rows fitted on (train + val).
    fitted_rows: usize,
    report: VolatilityReport,
}

/// 100 × the log returns of the target, with the error naming the row of a price ≤ 0.
fn returns_of(series: &TimeSeries, target: &str) -> Result<Vec<f64>> {
    let y = series.finite_column(target)?;
    if let Some(i) = y.iter().position(|v| *v <= 0.0) {
        return Err(crate::exit::UsageError(format!(
            "garch: `{target}` row {i} is {} but volatility models need prices > 0 (log returns)",
            y[i]
        ))
        .into());
    }
    Ok(y.windows(2)
        .map(|w| nt_classical::RETURN_SCALE * (w[1] / w[0]).ln())
        .collect())
}

/// The volatility backtest of every GARCH model of the plan, per target, or `None` when the
/// plan has no GARCH model. Each model is fitted once on the rows up to the first origin
/// (train + val, the protocol of `--refit-every 0`) and forecasts σ² at every origin from the
/// returns up to it; `window` is the rolling-variance baseline's N.
pub(crate) fn backtest(
    series: &TimeSeries,
    plan: &EvalPlan,
    window: usize,
) -> Result<Option<Vec<TargetVolatility>>> {
    let garch: Vec<(&MenuModel, &GarchConfig)> = plan
        .models
        .iter()
        .filter_map(|m| garch_config(&m.spec).map(|c| (m, c)))
        .collect();
    if garch.is_empty() {
        return Ok(None);
    }
    let cfg = &plan.config;
    let split = cfg.split.plan(series, cfg.horizon, cfg.step)?;
    let cutoffs = split.cutoffs(cfg.horizon, cfg.step, cfg.windows)?;
    let first = *cutoffs
        .first()
        .context("the split gave no forecast origin")?;
    if first == 0 {
        return Err(crate::exit::UsageError(
            "volatility backtest: the first origin is row 0, there is no return before it".into(),
        )
        .into());
    }
    // Price origin c is return origin c − 1 (the return ending at row c).
    let origins: Vec<usize> = cutoffs.iter().map(|c| c - 1).collect();
    let vcfg = VolatilityConfig {
        horizon: cfg.horizon,
        window,
        step: cfg.step,
    };
    let train = series.head(first + 1);
    let mut out = Vec::new();
    for target in &plan.targets {
        let returns = returns_of(series, target)?;
        let mut fitted = Vec::new();
        for (m, c) in &garch {
            let f = c
                .fit(&train, target)
                .with_context(|| format!("fitting {} on the first {} rows", m.name, first + 1))?;
            fitted.push((m.name.clone(), f));
        }
        let closures: Vec<Box<VarianceFn<'_>>> = fitted
            .iter()
            .map(|(_, f)| {
                Box::new(move |hist: &[f64], h: usize| Ok(f.forecast_returns_variance(hist, h)))
                    as Box<VarianceFn<'_>>
            })
            .collect();
        let models: Vec<(String, &VarianceFn<'_>)> = fitted
            .iter()
            .zip(&closures)
            .map(|((name, _), f)| (name.clone(), f.as_ref()))
            .collect();
        let report = volatility_backtest(&returns, &origins, &models, &vcfg)?;
        out.push(TargetVolatility {
            target: target.clone(),
            fitted_rows: first + 1,
            report,
        });
    }
    Ok(Some(out))
}

fn fmt_p(dm: &Option<nt_eval::DieboldMariano>) -> String {
    dm.as_ref()
        .map(|d| format!("{:.4}", d.p_value))
        .unwrap_or_else(|| "-".into())
}

fn fmt_stat(dm: &Option<nt_eval::DieboldMariano>) -> String {
    dm.as_ref()
        .map(|d| format!("{:+.3}", d.statistic))
        .unwrap_or_else(|| "-".into())
}

/// The volatility table printed after the price table.
pub(crate) fn backtest_table(vols: &[TargetVolatility]) -> String {
    let mut out = String::new();
    for v in vols {
        let r = &v.report;
        let _ = writeln!(
            out,
            "\nvolatility of `{}`: sigma^2 of 100 x log returns vs realized squared demeaned returns, H {}, {} origins, fitted once on the first {} rows; baseline: rolling variance of the last {} returns",
            v.target, r.config.horizon, r.origins, v.fitted_rows, r.config.window
        );
        let _ = writeln!(
            out,
            "{:<28}  {:>10}  {:>12}  {:>8}  {:>9}  {:>8}  {:>9}  {:>9}",
            "model", "QLIKE", "MSE", "DM QLIKE", "p QLIKE", "DM MSE", "p MSE", "mean sd"
        );
        for m in &r.models {
            let _ = writeln!(
                out,
                "{:<28}  {:>10.4}  {:>12.4}  {:>8}  {:>9}  {:>8}  {:>9}  {:>9.4}",
                m.name,
                m.qlike,
                m.mse,
                fmt_stat(&m.dm_qlike),
                fmt_p(&m.dm_qlike),
                fmt_stat(&m.dm_mse),
                fmt_p(&m.dm_mse),
                m.mean_sigma
            );
        }
    }
    out.push_str(
        "QLIKE = ln s2 + r2/s2 (Patton 2011; lower is better), MSE = (r2 - s2)^2; DM: Diebold-Mariano vs the rolling variance (negative = lower loss), p two-sided\n",
    );
    out
}

/// The backtest JSON document with a `volatility` field added when there is one.
pub(crate) fn with_volatility<T: Serialize>(
    doc: &T,
    vols: Option<&Vec<TargetVolatility>>,
) -> Result<String> {
    let mut value = serde_json::to_value(doc)?;
    if let (Some(vols), Some(map)) = (vols, value.as_object_mut()) {
        map.insert("volatility".into(), serde_json::to_value(vols)?);
    }
    Ok(serde_json::to_string_pretty(&value)?)
}
