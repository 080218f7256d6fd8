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
    let path_request = path_request(args, model.as_ref())?;
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
        let f = model.predict_series_with(
            &series,
            target,
            future_table.as_ref(),
            horizon.get(),
            path_request,
        )?;
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
    if let Some(path) = &args.paths {
        write_paths(path, &results, &future)?;
        if args.format == Format::Table {
            let n = results.first().map_or(0, |(_, f)| f.paths().len());
            println!("{n} sample paths per target written to {}", path.display());
        }
    }
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

/// Paths per forecast when `--paths` is given without `--samples` (neuralforecast's
/// `trajectory_samples`).
const DEFAULT_SAMPLES: usize = 100;

/// The sample paths `--paths`, `--samples` and `--seed` ask for, checked before any data is
/// read: a model without paths, a bad count or an unwritable extension is a usage error.
fn path_request(
    args: &PredictArgs,
    model: &dyn nt_models::Forecaster,
) -> Result<Option<nt_models::PathRequest>> {
    if args.paths.is_none() && args.samples.is_none() && args.seed.is_none() {
        return Ok(None);
    }
    let flag = match (&args.paths, args.samples) {
        (Some(_), _) => "--paths",
        (None, Some(_)) => "--samples",
        (None, None) => "--seed",
    };
    if !model.has_paths() {
        return Err(UsageError(format!(
            "{flag}: model {} ({}) does not forecast by sample paths (deepar does)",
            args.model,
            model.name()
        ))
        .into());
    }
    if let Some(path) = &args.paths {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        if !matches!(ext.as_deref(), Some("csv" | "parquet" | "pq")) {
            return Err(UsageError(format!(
                "--paths {}: expected a .csv or .parquet file name",
                path.display()
            ))
            .into());
        }
    }
    let request = nt_models::PathRequest::new(
        args.samples.unwrap_or(DEFAULT_SAMPLES),
        args.seed.unwrap_or(1),
        "--samples",
    )
    .map_err(|e| UsageError(e.to_string()))?;
    Ok(Some(request))
}

/// Writes every target's sample paths as a long table: one row per (target, path, step).
fn write_paths(path: &Path, results: &[(String, nt_core::Forecast)], future: &[i64]) -> Result<()> {
    use nt_data::OutColumn;
    let (mut target, mut index, mut step, mut stamp, mut value) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (name, f) in results {
        for (k, p) in f.paths().iter().enumerate() {
            for (s, (v, t)) in p.iter().zip(future).enumerate() {
                target.push(name.clone());
                index.push(k as i64 + 1);
                step.push(s as i64 + 1);
                stamp.push(*t);
                value.push(*v);
            }
        }
    }
    nt_data::write_table(
        path,
        &[
            ("target", OutColumn::Text(target)),
            ("path", OutColumn::Int(index)),
            ("step", OutColumn::Int(step)),
            ("timestamp", OutColumn::TimestampMs(stamp)),
            ("value", OutColumn::Float(value)),
        ],
    )
    .with_context(|| format!("--paths {}", path.display()))
}
