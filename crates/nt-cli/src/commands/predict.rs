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
    let mut model = nt_neural::load(&args.model)
        .with_context(|| format!("loading model {}", args.model.display()))?;
    model.set_precision(match args.precision {
        PrecisionArg::F32 => nt_neural::Precision::F32,
        PrecisionArg::Bf16 => nt_neural::Precision::Bf16,
    });
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
    let horizon = args.horizon.unwrap_or(model.horizon());
    if horizon > model.horizon() {
        return Err(UsageError(format!(
            "--horizon {horizon}: this model forecasts at most {} steps",
            model.horizon()
        ))
        .into());
    }
    let horizon = Horizon::new(horizon)?;
    let future_table = match &args.future {
        Some(path) => {
            if model.spec().futr_exog().is_empty() {
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
        let f = model.predict_with_future(&series, target, future_table.as_ref(), horizon)?;
        results.push((target.clone(), f));
    }
    let future = match &future_table {
        Some(t) => t.timestamps()[..horizon.get()].to_vec(),
        None => series.future_timestamps(horizon.get()),
    };
    let meta = ForecastMeta {
        command: "predict",
        source: args.data.data.display().to_string(),
        fingerprint: series.fingerprint(),
        model: args.model.display().to_string(),
        rows: series.len(),
    };
    print_forecasts(&meta, &results, &future, args.format)?;
    if let Some(path) = &args.plot {
        let (target, f) = &results[0];
        let data = plot::forecast_plot(&series, target, &future, model.spec().name(), f)?;
        plot::write_plot(path, &data)?;
        if args.format == Format::Table {
            println!("plot written to {}", path.display());
        }
    }
    Ok(())
}
