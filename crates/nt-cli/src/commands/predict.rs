//! `nt predict`: forecast with a saved model directory from the end of a data file.

use anyhow::{Context, Result};
use nt_core::Horizon;

use crate::cli::{DataArgs, Format, PrecisionArg, PredictArgs};
use crate::exit::UsageError;
use crate::output::{print_forecasts, ForecastMeta};
use crate::plot;
use crate::settings;

/// Runs `nt predict`.
pub(crate) fn run(args: &PredictArgs) -> Result<()> {
    let mut model = nt_models::load_dir(&args.model)
        .with_context(|| format!("loading model {}", args.model.display()))?;
    if let PrecisionArg::Bf16 = args.precision {
        if !model.set_precision(nt_neural::Precision::Bf16) {
            return Err(UsageError(format!(
                "--precision bf16: model {} ({}) has no bf16 path; use --precision f32",
                args.model.display(),
                model.name()
            ))
            .into());
        }
    }
    let series = settings::load_data(&args.data)?;
    let targets = match args.data.target.as_deref() {
        Some(t) => settings::resolve_targets(&series, Some(t))?,
        None => {
            let known: Vec<String> = model
                .targets()
                .iter()
                .filter(|t| series.column(t).is_ok())
                .cloned()
                .collect();
            if known.is_empty() {
                settings::resolve_targets(&series, None)?
            } else {
                known
            }
        }
    };
    let horizon = args.horizon.or(model.max_horizon()).unwrap_or(24);
    if let Some(max) = model.max_horizon().filter(|&m| horizon > m) {
        return Err(UsageError(format!(
            "--horizon {horizon}: this model forecasts at most {max} steps"
        ))
        .into());
    }
    let horizon = Horizon::new(horizon)?;
    let future_table = match &args.future {
        Some(path) => {
            if model.futr_exog().is_empty() {
                return Err(UsageError(format!(
                    "--future {}: this model reads no future exogenous columns",
                    path.display()
                ))
                .into());
            }
            Some(settings::load_data(&DataArgs {
                data: path.clone(),
                target: None,
                time_col: args.data.time_col.clone(),
                fill: args.data.fill.clone(),
            })?)
        }
        None => None,
    };
    let mut results = Vec::with_capacity(targets.len());
    for target in &targets {
        let f = model.predict_series(&series, target, future_table.as_ref(), horizon.get())?;
        results.push((target.clone(), f));
    }
    let (future, calendar) = match (&future_table, &args.future) {
        (Some(t), Some(path)) => (
            t.timestamps()[..horizon.get()].to_vec(),
            format!("the timestamps of {}", path.display()),
        ),
        _ => (
            series.future_timestamps(horizon.get())?,
            series.calendar()?.to_string(),
        ),
    };
    let meta = ForecastMeta {
        command: "predict",
        source: args.data.data.display().to_string(),
        fingerprint: series.fingerprint(),
        model: args.model.display().to_string(),
        rows: series.len(),
        calendar,
    };
    print_forecasts(&meta, &results, &future, args.format)?;
    if let Some(path) = &args.plot {
        let (target, f) = &results[0];
        let data = plot::forecast_plot(&series, target, &future, model.name(), f)?;
        plot::write_plot(path, &data)?;
        if args.format == Format::Table {
            println!("plot written to {}", path.display());
        }
    }
    Ok(())
}
