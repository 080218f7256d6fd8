//! `nt backtest`: rolling-origin backtest of several models with skill against the random walk.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{Context, Result};
use nt_classical::ClassicalOptions;
use nt_core::TimeSeries;
use nt_eval::{
    BacktestConfig, BacktestReport, ModelScore, NamedModel, Progress, Refit, Scale, Split,
    TrainWindow,
};

use super::menu::{self, MenuModel};
use crate::cli::{BacktestArgs, EvalArgs, Format, ScaleArg, SplitArg};
use crate::exit::UsageError;
use crate::neural_flags::NeuralFlags;
use crate::output;
use crate::plot;
use crate::progress;
use crate::settings;

/// A validated evaluation: what to run, on which targets, and how to show it.
pub(crate) struct EvalPlan {
    /// Backtest settings handed to nt-eval.
    pub(crate) config: BacktestConfig,
    /// Models to compare (the random walk is always added by nt-eval).
    pub(crate) models: Vec<MenuModel>,
    /// Target columns.
    pub(crate) targets: Vec<String>,
    /// Output format.
    pub(crate) format: Format,
    /// Plot file, if any.
    pub(crate) plot: Option<PathBuf>,
    /// Hide progress bars.
    pub(crate) quiet: bool,
    /// The smallest skill that counts as beating the random walk.
    pub(crate) min_skill: f64,
    /// Whether the interval table shows the models' own intervals beside the conformal ones
    /// (`--intervals model,conformal`).
    pub(crate) show_own_intervals: bool,
    /// Returns in the rolling-variance baseline of the GARCH volatility table.
    pub(crate) vol_window: usize,
}

/// Parses `--train-window expanding|sliding:N`.
fn parse_train_window(raw: &str) -> Result<TrainWindow> {
    match raw.split_once(':') {
        None if raw == "expanding" => Ok(TrainWindow::Expanding),
        Some(("sliding", n)) => match n.parse::<usize>() {
            Ok(len) if len > 0 => Ok(TrainWindow::Sliding { len }),
            _ => Err(UsageError(format!(
                "--train-window {raw}: expected sliding:N with N ≥ 1 rows"
            ))
            .into()),
        },
        _ => Err(UsageError(format!(
            "--train-window {raw}: expected `expanding` or `sliding:N`"
        ))
        .into()),
    }
}

/// Builds the plan of `nt backtest` from its arguments and the loaded series.
pub(crate) fn plan(
    series: &TimeSeries,
    target: Option<&str>,
    args: &EvalArgs,
    neural: &NeuralFlags,
) -> Result<EvalPlan> {
    let targets = settings::resolve_targets(series, target)?;
    let rows = series.len();
    settings::check_within_rows("--horizon", args.horizon, rows)?;
    settings::check_within_rows("--step", args.step, rows)?;
    for (flag, v) in [
        ("--input-size", args.input_size),
        ("--season", args.season),
        ("--windows", args.windows),
    ] {
        if let Some(v) = v {
            settings::check_within_rows(flag, v, rows)?;
        }
    }
    let season = settings::resolve_season(series, args.season)?;
    let input_size = settings::resolve_input_size(args.input_size, season, args.horizon)?;
    let levels = settings::resolve_levels(&args.level)?;
    if !(args.min_skill.is_finite() && (0.0..1.0).contains(&args.min_skill)) {
        return Err(UsageError(format!(
            "--min-skill {}: expected a fraction in [0, 1), e.g. 0.01 for 1%",
            args.min_skill
        ))
        .into());
    }
    let split = match args.split {
        SplitArg::Ratio => Split::default(),
        SplitArg::Ett => Split::Ett { rows_per_day: None },
        SplitArg::Rolling => Split::Rolling {
            windows: args.windows.unwrap_or(20),
            test_fraction: None,
        },
    };
    let (order, seasonal_order) = settings::resolve_arima_orders(
        &args.arima,
        args.models.iter().flatten().map(String::as_str),
    )?;
    let approximation = settings::resolve_approximation(
        &args.arima,
        args.models.iter().flatten().map(String::as_str),
    )?;
    let options = ClassicalOptions {
        season,
        input_size,
        horizon: args.horizon,
        levels: levels.clone(),
        order,
        seasonal_order,
        approximation,
    };
    let neural_input = settings::resolve_neural_input_size(args.input_size, args.horizon)?;
    // The hybrid's flags count when hybrid is among the models or the ensemble's members.
    let hybrid = settings::resolve_hybrid(
        &args.hybrid,
        args.models
            .iter()
            .flatten()
            .chain(args.ensemble.members.iter().flatten())
            .map(String::as_str),
        season,
    )?;
    let mut models = menu::build(
        args.models.as_deref(),
        &options,
        neural,
        neural_input,
        &hybrid,
    )?;
    args.ensemble.apply(&mut models, args.horizon, &|names| {
        Ok(
            menu::build(Some(names), &options, neural, neural_input, &hybrid)?
                .into_iter()
                .map(|m| m.spec)
                .collect(),
        )
    })?;
    let config = BacktestConfig {
        horizon: args.horizon,
        input_size: None,
        step: args.step,
        windows: args.windows,
        split,
        refit: if args.refit_every == 0 {
            Refit::Never
        } else {
            Refit::Every(args.refit_every)
        },
        window: parse_train_window(&args.train_window)?,
        scale: match args.scale {
            ScaleArg::Original => Scale::Original,
            ScaleArg::Standardized => Scale::Standardized,
        },
        season,
        levels,
        keep_forecasts: args.plot.is_some(),
        conformal: false,
    };
    config.validate()?;
    let n_val = config
        .split
        .plan(series, config.horizon, config.step)
        .map(|p| p.n_val)
        .unwrap_or(0);
    for m in &mut models {
        let nt_models::ModelSpec::Neural(n) = &mut m.spec else {
            continue;
        };
        // Early stopping validates on the split's validation segment: with a single fit on
        // train + val (the protocol), the last n_val rows that fit sees are exactly that segment.
        let t = n.train_config_mut();
        if t.early_stop_patience.is_some()
            && t.val_size.is_none()
            && t.val_fraction == 0.0
            && n_val > 0
        {
            t.val_size = Some(n_val);
        }
        // Several columns: one global model over all of them, as `nt train --target all`.
        if targets.len() > 1 {
            m.global = Some(menu::GlobalFit::new(targets.clone()));
        }
    }
    Ok(EvalPlan {
        config,
        models,
        targets,
        format: args.format,
        plot: args.plot.clone(),
        quiet: args.quiet,
        min_skill: args.min_skill,
        show_own_intervals: true,
        vol_window: 20,
    })
}

/// Runs `nt backtest`.
pub(crate) fn run(args: &BacktestArgs) -> Result<()> {
    if let Some(path) = &args.eval.plot {
        settings::check_plot_path(path)?;
    }
    let series = settings::load_data(&args.data)?;
    let mut plan = plan(
        &series,
        args.data.target.as_deref(),
        &args.eval,
        &args.neural,
    )?;
    plan.vol_window = args.vol_window;
    use crate::cli::IntervalsArg;
    if args.intervals.contains(&IntervalsArg::Garch) {
        return Err(UsageError(
            "--intervals garch: backtests score model and conformal intervals; train a model with GARCH widths with nt train --intervals garch".into(),
        )
        .into());
    }
    plan.config.conformal = args.intervals.contains(&IntervalsArg::Conformal);
    plan.show_own_intervals = args.intervals.contains(&IntervalsArg::Model);
    let source = args.data.data.display().to_string();
    execute(&series, &source, &plan, "backtest")
        .map(|_| ())
        .with_context(|| format!("backtest of {source}"))
}

/// Runs the plan's backtests (one per target, pooled when several), prints the report in the
/// plan's format and writes its plot. Returns the reports and pooled scores.
pub(crate) fn execute(
    series: &TimeSeries,
    source: &str,
    plan: &EvalPlan,
    command: &'static str,
) -> Result<(Vec<BacktestReport>, Vec<ModelScore>)> {
    let (reports, pooled) = run_backtests(series, plan)?;
    let vol = super::volatility::backtest(series, plan, plan.vol_window)?;
    print_report(source, plan, &reports, &pooled, command, vol.as_ref())?;
    // A model that was asked for and failed is an error, after the others' results are shown.
    let failed: Vec<String> = pooled
        .iter()
        .filter_map(|m| m.error.as_ref().map(|e| format!("{}: {e}", m.name)))
        .collect();
    if let Some(path) = &plan.plot {
        let data = plot::backtest_plot(series, &reports[0], &pooled, source)?;
        plot::write_plot(path, &data)
            .with_context(|| format!("writing plot {}", path.display()))?;
        if plan.format == Format::Table {
            println!("plot written to {}", path.display());
        }
    }
    if !failed.is_empty() {
        return Err(UsageError(format!(
            "{} of the requested models failed (the others' scores are above): {}",
            failed.len(),
            failed.join("; ")
        ))
        .into());
    }
    Ok((reports, pooled))
}

fn run_backtests(
    series: &TimeSeries,
    plan: &EvalPlan,
) -> Result<(Vec<BacktestReport>, Vec<ModelScore>)> {
    let named: Vec<NamedModel<'_>> = plan
        .models
        .iter()
        .map(|m| NamedModel::new(m.name.clone(), m))
        .collect();
    let bars: RefCell<HashMap<String, progress::Progress>> = RefCell::new(HashMap::new());
    let quiet = plan.quiet;
    let on_progress = |p: Progress<'_>| {
        if let Progress::Window {
            target,
            model,
            done,
            total,
        } = p
        {
            let key = format!("{target}/{model}");
            let mut bars = bars.borrow_mut();
            let bar = bars
                .entry(key.clone())
                .or_insert_with(|| progress::bar(total as u64, key, quiet));
            bar.set_position(done as u64);
            if done == total {
                bar.finish_and_clear();
            }
        }
    };
    let targets: Vec<&str> = plan.targets.iter().map(String::as_str).collect();
    if let [single] = targets.as_slice() {
        let report = nt_eval::backtest(series, single, &named, &plan.config, &on_progress)?;
        let pooled = report.models.clone();
        Ok((vec![report], pooled))
    } else {
        let multi = nt_eval::backtest_many(series, &targets, &named, &plan.config, &on_progress)?;
        Ok((multi.per_target, multi.pooled))
    }
}

fn print_report(
    source: &str,
    plan: &EvalPlan,
    reports: &[BacktestReport],
    pooled: &[ModelScore],
    command: &'static str,
    vol: Option<&Vec<super::volatility::TargetVolatility>>,
) -> Result<()> {
    let baseline = reports
        .first()
        .map(|r| r.baseline.as_str())
        .unwrap_or("naive");
    match plan.format {
        Format::Json => {
            let doc = output::BacktestJson {
                tool: "nt",
                version: env!("CARGO_PKG_VERSION"),
                command,
                source: source.to_string(),
                pooled,
                leaderboard: nt_eval::leaderboard(pooled)
                    .iter()
                    .map(|m| m.name.as_str())
                    .collect(),
                min_skill: plan.min_skill,
                verdicts: pooled
                    .iter()
                    .filter(|m| m.name != baseline)
                    .filter_map(|m| {
                        let s = m.scores.as_ref()?;
                        Some((m.name.as_str(), nt_eval::Verdict::of(s, plan.min_skill)))
                    })
                    .collect(),
                beats_random_walk: output::beats_line(pooled, baseline, plan.min_skill),
                targets: reports,
            };
            println!("{}", super::volatility::with_volatility(&doc, vol)?);
        }
        Format::Csv => {
            let pooled = (reports.len() > 1).then_some(pooled);
            print!(
                "{}",
                output::scores_csv(reports, pooled, &plan.config.levels)
            );
        }
        Format::Table => {
            for r in reports {
                println!("{}", output::report_header(source, r));
                if reports.len() > 1 {
                    print!(
                        "{}",
                        output::leaderboard_table(
                            &r.models,
                            baseline,
                            &plan.config.levels,
                            plan.min_skill,
                        )
                    );
                    println!();
                }
            }
            if reports.len() > 1 {
                println!("pooled over {} targets:", reports.len());
            }
            print!(
                "{}",
                output::leaderboard_table(pooled, baseline, &plan.config.levels, plan.min_skill)
            );
            println!("{}", output::LEGEND);
            if plan.config.conformal {
                print!(
                    "{}",
                    super::conformal_table::intervals_table(
                        pooled,
                        &plan.config.levels,
                        plan.show_own_intervals
                    )
                );
            }
            if let Some(v) = vol {
                print!("{}", super::volatility::backtest_table(v));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn train_window_parses_or_names_the_flag() {
        assert_eq!(
            parse_train_window("expanding").unwrap(),
            TrainWindow::Expanding
        );
        assert_eq!(
            parse_train_window("sliding:500").unwrap(),
            TrainWindow::Sliding { len: 500 }
        );
        for bad in ["sliding:0", "sliding:x", "rolling"] {
            let e = parse_train_window(bad).unwrap_err().to_string();
            assert!(e.contains("--train-window"), "{e}");
        }
    }
}
