//! `nt forecast`: fit one model on all the data and forecast the next H values with intervals.

use anyhow::{Context, Result};
use nt_classical::ClassicalOptions;
use nt_core::{Fit, Horizon, Predict};

use super::menu;
use crate::cli::{ForecastArgs, Format};
use crate::output::{print_forecasts, ForecastMeta};
use crate::plot;
use crate::settings;

/// Runs `nt forecast`.
pub(crate) fn run(args: &ForecastArgs) -> Result<()> {
    if let Some(path) = &args.plot {
        settings::check_plot_path(path)?;
    }
    let series = settings::load_data(&args.data)?;
    let targets = settings::resolve_targets(&series, args.data.target.as_deref())?;
    settings::check_within_rows("--horizon", args.horizon, series.len())?;
    for (flag, v) in [("--input-size", args.input_size), ("--season", args.season)] {
        if let Some(v) = v {
            settings::check_within_rows(flag, v, series.len())?;
        }
    }
    let season = settings::resolve_season(&series, args.season)?;
    let input_size = settings::resolve_input_size(args.input_size, season, args.horizon)?;
    let levels = settings::resolve_levels(&args.level)?;
    let horizon = Horizon::new(args.horizon)?;
    let (order, seasonal_order) =
        settings::resolve_arima_orders(&args.arima, std::iter::once(args.model.as_str()))?;
    let approximation =
        settings::resolve_approximation(&args.arima, std::iter::once(args.model.as_str()))?;
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
    let hybrid = settings::resolve_hybrid(
        &args.hybrid,
        std::iter::once(args.model.as_str())
            .chain(args.ensemble.members.iter().flatten().map(String::as_str)),
        season,
    )?;
    let mut models = menu::build(
        Some(std::slice::from_ref(&args.model)),
        &options,
        &Default::default(),
        neural_input,
        &hybrid,
    )?;
    args.ensemble.apply(&mut models, args.horizon, &|names| {
        Ok(menu::build(
            Some(names),
            &options,
            &Default::default(),
            neural_input,
            &hybrid,
        )?
        .into_iter()
        .map(|m| m.spec)
        .collect())
    })?;
    let model = models
        .into_iter()
        .next()
        .context("the model menu returned no model")?;
    let future = series.future_timestamps(args.horizon)?;

    let mut results = Vec::with_capacity(targets.len());
    for target in &targets {
        let fitted = model.fit(&series, target)?;
        // `levels` are already in the model's config; the forecast carries those intervals.
        let forecast = fitted.predict(&series, horizon)?;
        results.push((target.clone(), forecast));
    }

    let calendar = series.calendar()?;
    let meta = ForecastMeta {
        command: "forecast",
        source: args.data.data.display().to_string(),
        fingerprint: series.fingerprint(),
        model: model.name.clone(),
        rows: series.len(),
        calendar: calendar.to_string(),
        time_axis: calendar != nt_core::Calendar::Rows,
    };
    // GARCH: the per-step volatility forecast beside the price path and bands.
    let vols = super::volatility::garch_config(&model.spec)
        .map(|c| super::volatility::forecast_volatility(c, &series, &targets, horizon))
        .transpose()?;
    match &vols {
        Some(v) if args.format == Format::Json => {
            println!(
                "{}",
                super::volatility::forecast_json(&meta, &results, &future, v)?
            );
        }
        _ => {
            print_forecasts(&meta, &results, &future, args.format)?;
            if let (Some(v), Format::Table) = (&vols, args.format) {
                print!(
                    "{}",
                    super::volatility::forecast_table(v, &future, meta.time_axis)
                );
            }
        }
    }
    if let Some(path) = &args.plot {
        let (target, f) = &results[0];
        let data = plot::forecast_plot(&series, target, &future, &model.name, f, &meta.source)?;
        plot::write_plot(path, &data)?;
        if args.format == Format::Table {
            println!("plot written to {}", path.display());
        }
    }
    Ok(())
}
