//! `nt predict`: forecast with a saved model directory from the end of a data file.

use std::path::Path;

use anyhow::{Context, Result};
use nt_core::Horizon;

use crate::cli::{DataArgs, Format, PrecisionArg, PredictArgs};
use crate::exit::UsageError;
use crate::output::{print_forecasts, ForecastMeta};
use crate::plot;
use crate::settings;

/// The model `--model` names: an existing directory is a model directory; anything else is a
/// registry reference (NAME = production, NAME@V, NAME@latest) looked up in `registry`.
fn load_model(model: &str, registry: Option<&Path>) -> Result<Box<dyn nt_models::Forecaster>> {
    let path = Path::new(model);
    if path.is_dir() {
        return nt_models::load_dir(path).with_context(|| format!("loading model {model}"));
    }
    if path.exists() {
        return Err(UsageError(format!(
            "--model {model} is a file; expected a model directory (written by `nt train --out DIR`) or a registry reference NAME[@VERSION]"
        ))
        .into());
    }
    nt_registry::parse_model_ref(model).map_err(|e| {
        UsageError(format!(
            "--model {model}: no such model directory, and not a registry reference ({e})"
        ))
    })?;
    let reg = super::registry::open_existing(registry).with_context(|| {
        format!("--model {model}: no such model directory; looking it up in the registry")
    })?;
    let v = super::registry::resolve_ref(&reg, model)?;
    reg.load(&v.name, v.version)
        .with_context(|| format!("loading {} from {}", v.reference(), reg.dir().display()))
}

/// Runs `nt predict`.
pub(crate) fn run(args: &PredictArgs) -> Result<()> {
    if let Some(path) = &args.plot {
        settings::check_plot_path(path)?;
    }
    let mut model = load_model(&args.model, args.registry.as_deref())?;
    if let PrecisionArg::Bf16 = args.precision {
        if !model.set_precision(nt_neural::Precision::Bf16) {
            return Err(UsageError(format!(
                "--precision bf16: model {} ({}) has no bf16 path; use --precision f32",
                args.model,
                model.name()
            ))
            .into());
        }
        // Which precision runs and why (bf16 falls back to f32 where it would not be faster);
        // on stderr, so that --format json stays one document.
        if let Some(note) = model.as_neural().and_then(|m| m.precision_note()) {
            eprintln!("precision: {note}");
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
                // Only the model's future columns: other columns of the file may be anything.
                columns: model.futr_exog().to_vec(),
            })?)
        }
        None => None,
    };
    let mut results = Vec::with_capacity(targets.len());
    for target in &targets {
        let f = model.predict_series(&series, target, future_table.as_ref(), horizon.get())?;
        results.push((target.clone(), f));
    }
    let inferred = series.calendar()?;
    let (future, calendar) = match (&future_table, &args.future) {
        (Some(t), Some(path)) => (
            t.timestamps()
                .get(..horizon.get())
                .ok_or_else(|| {
                    UsageError(format!(
                        "--future {}: {} rows, fewer than the horizon {horizon}",
                        path.display(),
                        t.len()
                    ))
                })?
                .to_vec(),
            format!("the timestamps of {}", path.display()),
        ),
        _ => (
            series.future_timestamps(horizon.get())?,
            inferred.to_string(),
        ),
    };
    let meta = ForecastMeta {
        command: "predict",
        source: args.data.data.display().to_string(),
        fingerprint: series.fingerprint(),
        model: args.model.clone(),
        rows: series.len(),
        calendar,
        time_axis: inferred != nt_core::Calendar::Rows,
    };
    print_forecasts(&meta, &results, &future, args.format)?;
    if let Some(path) = &args.plot {
        let (target, f) = &results[0];
        let data = plot::forecast_plot(&series, target, &future, model.name(), f, &meta.source)?;
        plot::write_plot(path, &data)?;
        if args.format == Format::Table {
            println!("plot written to {}", path.display());
        }
    }
    Ok(())
}
