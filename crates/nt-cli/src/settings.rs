//! Raw command-line values turned into validated settings: data loading, target columns, season,
//! input size and interval levels.

use std::path::Path;

use anyhow::{Context, Result};
use nt_core::TimeSeries;
use nt_data::{FillPolicy, LoadOptions};

use crate::cli::DataArgs;
use crate::exit::UsageError;

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;

/// Loads the file named by `--data` with the `--time-col` and `--fill` settings.
pub(crate) fn load_data(args: &DataArgs) -> Result<TimeSeries> {
    load_file(&args.data, args.time_col.clone(), &args.fill, &args.columns)
}

/// Loads `path` (CSV or Parquet) with an optional time column and a fill policy by name.
/// `columns` (from `--columns`) selects the value columns; empty loads every column.
pub(crate) fn load_file(
    path: &Path,
    time_col: Option<String>,
    fill: &str,
    columns: &[String],
) -> Result<TimeSeries> {
    let fill: FillPolicy = fill
        .parse()
        .map_err(|e| UsageError(format!("--fill {fill}: {e}")))?;
    if let Some(blank) = columns.iter().position(|c| c.trim().is_empty()) {
        return Err(UsageError(format!(
            "--columns: entry {} is empty; expected comma-separated column names",
            blank + 1
        ))
        .into());
    }
    let opts = LoadOptions {
        time_col,
        fill,
        columns: (!columns.is_empty()).then(|| columns.to_vec()),
    };
    nt_data::load(path, &opts).with_context(|| format!("reading {}", path.display()))
}

/// Checks that a size flag fits the data it applies to: at most `rows` rows (a horizon, window,
/// season or step longer than the whole file cannot be evaluated, and would only exhaust memory).
pub(crate) fn check_within_rows(flag: &str, value: usize, rows: usize) -> Result<()> {
    if value > rows {
        return Err(UsageError(format!(
            "{flag} {value}: the data has only {rows} rows; at most {rows}"
        ))
        .into());
    }
    Ok(())
}

/// Checks a `--plot` path before any work: a `.svg` or `.png` name, not a directory, in a
/// directory that exists (nothing is created).
pub(crate) fn check_plot_path(path: &Path) -> Result<()> {
    let flag = format!("--plot {}", path.display());
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if path.is_dir() {
        return Err(UsageError(format!("{flag} is a directory; name a .svg or .png file")).into());
    }
    if ext != "svg" && ext != "png" {
        return Err(UsageError(format!(
            "{flag}: unknown extension `{ext}`; expected .svg or .png"
        ))
        .into());
    }
    check_parent_dir(path, &flag)
}

/// Checks an output directory (`--out` of `nt train`/`nt import`) before any work: it may not
/// exist yet (it is created, with its parents), but it may not be a file.
pub(crate) fn check_out_dir(path: &Path) -> Result<()> {
    if path.exists() && !path.is_dir() {
        return Err(UsageError(format!(
            "--out {} is an existing file; name a directory for the model (it is created if missing)",
            path.display()
        ))
        .into());
    }
    Ok(())
}

/// Checks a `--registry` directory (given or from `$NT_REGISTRY`) before any work: when it
/// exists it must be a directory.
pub(crate) fn check_registry_dir(flag: Option<&Path>) -> Result<()> {
    let dir = nt_registry::Registry::resolve_dir(flag);
    if dir.exists() && !dir.is_dir() {
        return Err(UsageError(format!(
            "--registry {} is a file, not a registry directory",
            dir.display()
        ))
        .into());
    }
    Ok(())
}

/// Reads a small text file named by `flag` (a JSON config): a missing, unreadable, non-regular
/// or oversized (> 16 MiB) file is the user's to fix, named with the flag.
pub(crate) fn read_text_file(path: &Path, flag: &str) -> Result<String> {
    const MAX_BYTES: u64 = 16 << 20;
    let bad = |why: String| UsageError(format!("{flag} {}: {why}", path.display()));
    let meta = std::fs::metadata(path).map_err(|e| bad(e.to_string()))?;
    if !meta.is_file() {
        return Err(bad("not a regular file".into()).into());
    }
    if meta.len() > MAX_BYTES {
        return Err(bad(format!(
            "{} bytes; a config is at most {MAX_BYTES} bytes",
            meta.len()
        ))
        .into());
    }
    std::fs::read_to_string(path).map_err(|e| bad(e.to_string()).into())
}

/// The directory `path` is to be written in must exist and be a directory.
fn check_parent_dir(path: &Path, flag: &str) -> Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => return Ok(()),
    };
    if !parent.is_dir() {
        let why = if parent.exists() {
            "is not a directory"
        } else {
            "does not exist"
        };
        return Err(UsageError(format!("{flag}: the directory {} {why}", parent.display())).into());
    }
    Ok(())
}

/// The columns to forecast: `all` → every column; a name → that column (checked); none → a column
/// named `close` in any case, else the last column.
pub(crate) fn resolve_targets(series: &TimeSeries, target: Option<&str>) -> Result<Vec<String>> {
    let names = series.column_names();
    match target {
        Some("all") => Ok(names.iter().map(|s| s.to_string()).collect()),
        Some(name) => {
            series.column(name)?;
            Ok(vec![name.to_string()])
        }
        None => {
            let pick = names
                .iter()
                .find(|n| n.eq_ignore_ascii_case("close"))
                .or_else(|| names.last())
                .ok_or_else(|| UsageError("the data has no numeric column to forecast".into()))?;
            Ok(vec![pick.to_string()])
        }
    }
}

/// The season length: the user's, else inferred from the modal time step (hourly 24, 15-minute 96,
/// 5-minute 288, minutely 60, daily 5 when weekends are missing (trading days) or 7, else 1).
pub(crate) fn resolve_season(series: &TimeSeries, season: Option<usize>) -> Result<usize> {
    if let Some(s) = season {
        if s == 0 {
            return Err(UsageError("--season must be at least 1".into()).into());
        }
        return Ok(s);
    }
    let inferred = match series.step_ms() {
        Some(HOUR_MS) => 24,
        Some(step) if step == 15 * MINUTE_MS => 96,
        Some(step) if step == 5 * MINUTE_MS => 288,
        Some(MINUTE_MS) => 60,
        Some(DAY_MS) => {
            let skips_weekends = series
                .timestamps()
                .windows(2)
                .any(|w| w[1] - w[0] == 3 * DAY_MS);
            if skips_weekends {
                5
            } else {
                7
            }
        }
        _ => 1,
    };
    Ok(inferred)
}

/// The input size of classical lag models (ElasticNet): the user's, else two seasons, at least
/// twice the horizon and at least 8 (more lags are collinear and slow coordinate descent down).
pub(crate) fn resolve_input_size(
    input_size: Option<usize>,
    season: usize,
    horizon: usize,
) -> Result<usize> {
    match input_size {
        Some(0) => Err(UsageError("--input-size must be at least 1".into()).into()),
        Some(l) => Ok(l),
        None => Ok(season
            .saturating_mul(2)
            .max(horizon.saturating_mul(2))
            .max(8)),
    }
}

/// The input size of neural models: the user's, else five horizons (neuralforecast's convention,
/// e.g. 480 for horizon 96).
pub(crate) fn resolve_neural_input_size(
    input_size: Option<usize>,
    horizon: usize,
) -> Result<usize> {
    match input_size {
        Some(0) => Err(UsageError("--input-size must be at least 1".into()).into()),
        Some(l) => Ok(l),
        None => Ok(horizon.saturating_mul(5)),
    }
}

/// Interval levels given in percent (80,95) or as fractions (0.8,0.95), as fractions, checked to lie
/// strictly between 0 and 1.
pub(crate) fn resolve_levels(levels: &[f64]) -> Result<Vec<f64>> {
    let mut out = Vec::with_capacity(levels.len());
    for &l in levels {
        let frac = if l >= 1.0 { l / 100.0 } else { l };
        if !(frac > 0.0 && frac < 1.0 && l.is_finite()) {
            return Err(UsageError(format!(
                "--level {l}: expected a coverage between 0 and 100 percent, e.g. 80,95"
            ))
            .into());
        }
        out.push(frac);
    }
    out.sort_by(f64::total_cmp);
    out.dedup();
    Ok(out)
}

/// An optional (p, d, q) or (P, D, Q) order of `arima`.
type Order = Option<[usize; 3]>;

/// `--order`/`--seasonal-order` as [`nt_classical::ClassicalOptions`] fields, refused (exit 2) when none of
/// `models` is `arima`, the one model that reads them.
pub(crate) fn resolve_arima_orders<'a>(
    args: &crate::cli::ArimaOrderArgs,
    mut models: impl Iterator<Item = &'a str>,
) -> Result<(Order, Order)> {
    let given = args.order.is_some() || args.seasonal_order.is_some();
    if given && !models.any(|m| m == "arima") {
        return Err(UsageError(
            "--order and --seasonal-order set the orders of `arima` (fixed-order ARIMA); \
             add arima to the models, or leave them out"
                .into(),
        )
        .into());
    }
    Ok((args.order, args.seasonal_order))
}

/// `--approximation` as `autoarima`'s setting (`None`: statsforecast's rule). Given for a run
/// without `autoarima` it is a usage error (exit 2), not silently ignored.
pub(crate) fn resolve_approximation<'a>(
    args: &crate::cli::ArimaOrderArgs,
    mut models: impl Iterator<Item = &'a str>,
) -> Result<Option<bool>> {
    use crate::cli::ApproximationArg;
    let Some(choice) = args.approximation else {
        return Ok(None);
    };
    if !models.any(|m| m == "autoarima") {
        return Err(UsageError(
            "--approximation sets how `autoarima` scores its candidates; add autoarima to the \
             models, or leave it out"
                .into(),
        )
        .into());
    }
    Ok(match choice {
        ApproximationArg::Auto => None,
        ApproximationArg::On => Some(true),
        ApproximationArg::Off => Some(false),
    })
}

/// The hybrid's choices from the command line: its neural model and MSTL seasons (each `None`
/// when not given) and the data's season, which the seasons default from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HybridChoice {
    /// `--neural`: the neural model of the seasonally adjusted series.
    pub(crate) neural: Option<String>,
    /// `--seasons`.
    pub(crate) seasons: Option<Vec<usize>>,
    /// The season of [`resolve_season`] (`--season` or the time step's).
    pub(crate) season: usize,
}

/// `--neural`/`--seasons` as the hybrid's choices, refused (exit 2) when none of `models` is
/// `hybrid`, the one model that reads them, or when a season is below 2.
pub(crate) fn resolve_hybrid<'a>(
    args: &crate::cli::HybridArgs,
    mut models: impl Iterator<Item = &'a str>,
    season: usize,
) -> Result<HybridChoice> {
    let given = args.neural.is_some() || args.seasons.is_some();
    if given && !models.any(|m| m.trim().eq_ignore_ascii_case("hybrid")) {
        return Err(UsageError(
            "--neural and --seasons configure `hybrid` (MSTL + neural); add hybrid to the \
             models, or leave them out"
                .into(),
        )
        .into());
    }
    if let Some(s) = args.seasons.iter().flatten().find(|s| **s < 2) {
        return Err(UsageError(format!(
            "--seasons: each season must be at least 2 rows, got {s}"
        ))
        .into());
    }
    Ok(HybridChoice {
        neural: args.neural.as_ref().map(|n| n.trim().to_ascii_lowercase()),
        seasons: args.seasons.clone(),
        season,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(step: i64, n: i64) -> TimeSeries {
        TimeSeries::new(
            (0..n).map(|i| i * step).collect(),
            vec![
                nt_core::Column {
                    name: "Open".into(),
                    values: vec![1.0; n as usize],
                },
                nt_core::Column {
                    name: "Close".into(),
                    values: vec![1.0; n as usize],
                },
                nt_core::Column {
                    name: "Volume".into(),
                    values: vec![1.0; n as usize],
                },
            ],
        )
        .unwrap()
    }

    #[test]
    fn target_defaults_to_close_then_last_column() {
        let s = series(HOUR_MS, 3);
        assert_eq!(resolve_targets(&s, None).unwrap(), vec!["Close"]);
        assert_eq!(resolve_targets(&s, Some("all")).unwrap().len(), 3);
        assert!(resolve_targets(&s, Some("nope")).is_err());
        let t = s.select(&["Open", "Volume"]).unwrap();
        assert_eq!(resolve_targets(&t, None).unwrap(), vec!["Volume"]);
    }

    #[test]
    fn season_follows_the_time_step() {
        assert_eq!(resolve_season(&series(HOUR_MS, 5), None).unwrap(), 24);
        assert_eq!(
            resolve_season(&series(15 * MINUTE_MS, 5), None).unwrap(),
            96
        );
        assert_eq!(resolve_season(&series(DAY_MS, 5), None).unwrap(), 7);
        assert_eq!(resolve_season(&series(HOUR_MS, 5), Some(12)).unwrap(), 12);
        assert!(resolve_season(&series(HOUR_MS, 5), Some(0)).is_err());
    }

    #[test]
    fn levels_accept_percent_or_fraction() {
        assert_eq!(resolve_levels(&[95.0, 80.0, 0.8]).unwrap(), vec![0.8, 0.95]);
        assert!(resolve_levels(&[100.0]).is_err());
        assert!(resolve_levels(&[0.0]).is_err());
    }

    #[test]
    fn arima_orders_parse_and_need_arima() {
        use clap::Parser;
        // Through the real `nt backtest` parser: three integers, else clap's exit-2 error.
        let parse = |extra: &[&str]| {
            let mut argv = vec!["nt", "backtest", "--data", "x.csv"];
            argv.extend_from_slice(extra);
            crate::cli::Cli::try_parse_from(argv)
        };
        for bad in ["1,1", "1,1,1,1", "1,-1,0", "a,b,c"] {
            let e = parse(&["--order", bad]).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
        }
        let args = crate::cli::ArimaOrderArgs {
            order: Some([2, 1, 1]),
            seasonal_order: Some([0, 1, 1]),
            approximation: None,
        };
        let got = resolve_arima_orders(&args, ["naive", "arima"].into_iter()).unwrap();
        assert_eq!(got, (Some([2, 1, 1]), Some([0, 1, 1])));
        // Orders for a run without arima are a usage error, not silently ignored.
        let e = resolve_arima_orders(&args, ["ets"].into_iter()).unwrap_err();
        assert!(e.to_string().contains("--order"), "{e}");
        let off = crate::cli::ArimaOrderArgs {
            approximation: Some(crate::cli::ApproximationArg::Off),
            ..Default::default()
        };
        assert_eq!(
            resolve_approximation(&off, ["naive", "autoarima"].into_iter()).unwrap(),
            Some(false)
        );
        let e = resolve_approximation(&off, ["arima"].into_iter()).unwrap_err();
        assert!(e.to_string().contains("--approximation"), "{e}");
        let none = crate::cli::ArimaOrderArgs::default();
        assert_eq!(
            resolve_approximation(&none, ["ets"].into_iter()).unwrap(),
            None
        );
        assert_eq!(
            resolve_arima_orders(&none, ["ets"].into_iter()).unwrap(),
            (None, None)
        );
    }
}
