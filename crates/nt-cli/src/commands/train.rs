//! `nt train`: train a neural model (or fit a classical one) on a file and save it as a model
//! directory.

use std::cell::RefCell;

use anyhow::{Context, Result};
use nt_classical::ClassicalOptions;
use nt_models::{ModelSpec, NameOptions};
use nt_neural::{TrainOptions, TrainProgress};

use crate::cli::{IntervalsArg, TrainArgs};
use crate::exit::UsageError;
use crate::progress;
use crate::settings;

/// `--horizon` when neither the flag nor a `--config` gives one.
const DEFAULT_HORIZON: usize = 24;
/// `--input-size` when neither the flag nor a `--config` gives one.
const DEFAULT_INPUT_SIZE: usize = 120;

/// The model to train: `--model` (which must agree with a `--config`'s model), else the
/// `--config`'s, else nhits.
fn resolve_model_name(flag: Option<&str>, config: Option<&ModelSpec>) -> Result<String> {
    let flag = flag.map(str::to_ascii_lowercase);
    match (flag, config) {
        (Some(name), Some(spec)) => {
            let base = (name == "hybrid")
                .then_some("hybrid")
                .or_else(|| crate::neural_flags::base_name(&name))
                .ok_or_else(|| {
                    UsageError(format!(
                        "--model {name}: unknown model; known: {}",
                        nt_models::known_names()
                    ))
                })?;
            if base != spec.name() {
                return Err(UsageError(format!(
                    "--model {name} disagrees with the --config's model `{}`; give one of them",
                    spec.name()
                ))
                .into());
            }
            Ok(name)
        }
        (Some(name), None) => Ok(name),
        (None, Some(spec)) => Ok(spec.name().to_string()),
        (None, None) => Ok("nhits".to_string()),
    }
}

/// Runs `nt train`.
pub(crate) fn run(args: &TrainArgs) -> Result<()> {
    if let Some(from) = &args.from {
        return super::warm_start::run(args, from);
    }
    let out = args
        .out
        .as_deref()
        .ok_or_else(|| UsageError("--out DIR is required: the model directory to write".into()))?;
    // A bad registry name is refused before any training, not after it.
    // So are a bad output directory and registry path.
    if let Some(name) = &args.register {
        nt_registry::validate_name(name)?;
        settings::check_registry_dir(args.registry.as_deref())?;
    }
    settings::check_out_dir(out)?;
    let from_config = args.flags.config_spec()?;
    let series = settings::load_data(&args.data)?;
    let targets = settings::resolve_targets(&series, args.data.target.as_deref())?;
    // A flag given explicitly wins; otherwise the --config's value; otherwise the default.
    let config_window = from_config
        .as_ref()
        .and_then(|s| s.as_neural())
        .map(|n| (n.input_size(), n.horizon()));
    let horizon = args
        .horizon
        .or(config_window.map(|w| w.1))
        .unwrap_or(DEFAULT_HORIZON);
    let input_size = args
        .input_size
        .or(config_window.map(|w| w.0))
        .unwrap_or(DEFAULT_INPUT_SIZE);
    let model = resolve_model_name(args.model.as_deref(), from_config.as_ref())?;
    let rows = series.len();
    settings::check_within_rows("--horizon", horizon, rows)?;
    settings::check_within_rows("--input-size", input_size, rows)?;
    for (flag, v) in [("--season", args.season), ("--lags", args.lags)] {
        if let Some(v) = v {
            settings::check_within_rows(flag, v, rows)?;
        }
    }
    let season = settings::resolve_season(&series, args.season)?;
    let levels = settings::resolve_levels(&args.level)?;
    let conformal_levels = levels.clone();
    let (order, seasonal_order) =
        settings::resolve_arima_orders(&args.arima, std::iter::once(model.as_ref()))?;
    let approximation =
        settings::resolve_approximation(&args.arima, std::iter::once(model.as_ref()))?;
    let name_opts = NameOptions {
        classical: ClassicalOptions {
            season,
            input_size: settings::resolve_input_size(
                args.lags.or(args.input_size),
                season,
                horizon,
            )?,
            horizon,
            levels,
            order,
            seasonal_order,
            approximation,
        },
        neural_input_size: input_size,
    };
    args.ensemble.check_used(std::iter::once(model.as_str()))?;
    let hybrid = settings::resolve_hybrid(&args.hybrid, std::iter::once(model.as_str()), season)?;
    let spec = if model == "hybrid" {
        super::menu::hybrid_spec(&args.flags, &hybrid, input_size, horizon)?
    } else if model == nt_models::ensemble::ENSEMBLE && from_config.is_none() {
        // Each member configured as it would be alone: the training flags go to the neural ones.
        let members = args
            .ensemble
            .member_names()?
            .iter()
            .map(|name| {
                if crate::neural_flags::is_neural(name) {
                    args.flags.model_spec(name, input_size, horizon, &name_opts)
                } else {
                    ModelSpec::from_name(name, horizon, &name_opts)
                        .map_err(|e| UsageError(format!("--members {name}: {e}")).into())
                }
            })
            .collect::<Result<Vec<_>>>()?;
        args.ensemble.spec(members, horizon)?
    } else {
        args.flags
            .model_spec(&model, input_size, horizon, &name_opts)?
    };
    let spec = with_intervals(spec, args, conformal_levels, horizon)?;
    let opts = TrainOptions {
        out_dir: Some(out.to_path_buf()),
        resume: args.resume,
        checkpoint_every: Some(args.checkpoint_every).filter(|n| *n > 0),
        ..TrainOptions::default()
    };
    let target_refs: Vec<&str> = targets.iter().map(String::as_str).collect();
    let max_steps = spec
        .as_neural()
        .map(|n| n.train_config().max_steps as u64)
        .unwrap_or(1);
    let bar = progress::bar(max_steps, format!("train {}", spec.name()), args.quiet);
    let bar = RefCell::new(bar);
    let mut on_step = |p: &TrainProgress| {
        let bar = bar.borrow();
        let val = p
            .val_loss
            .map(|v| format!(", validation {v:.4} (data units)"))
            .unwrap_or_default();
        bar.set_message(format!("training loss {:.4} (scaled){val}", p.train_loss));
        bar.set_position(p.step as u64);
    };
    let trained = nt_models::train(&series, &target_refs, &spec, &opts, &mut on_step)
        .with_context(|| format!("training {} on {}", spec.name(), args.data.data.display()))?;
    bar.borrow().finish_and_clear();

    let r = trained.report.as_ref();
    let neural = spec.as_neural();
    let loss_name = neural.map(|n| loss_name(&n.train_config().loss));
    let scaler = neural.map(|n| format!("{:?}", n.train_config().scaler).to_ascii_lowercase());
    let summary = serde_json::json!({
        "tool": "nt",
        "command": "train",
        "model": spec.name(),
        "out": out.display().to_string(),
        "targets": targets,
        "loss": loss_name,
        "steps": r.map(|r| r.steps),
        "final_train_loss": r.map(|r| r.final_train_loss),
        "train_loss_units": scaler.as_ref().map(|s| format!("windows scaled by the {s} scaler")),
        "best_val_loss": r.and_then(|r| r.best_val_loss),
        "val_loss_units": r.and_then(|r| r.best_val_loss).map(|_| "the data's units"),
        "best_step": r.and_then(|r| r.best_step),
        "stopped_early": r.map(|r| r.stopped_early),
        "parameters": trained.model.params(),
        "engine": r.map(|r| &r.engine),
    });
    let calibration = nt_models::read_manifest(out)
        .ok()
        .and_then(|m| m.calibration);
    let mut summary = summary;
    if let Some(e) = trained.model.as_ensemble() {
        summary["ensemble"] = crate::ensemble_flags::summary_json(e);
    }
    if let Some(c) = &calibration {
        summary["intervals"] = serde_json::json!({
            "method": c.method.as_str(),
            "levels": c.levels,
            "windows_per_step": c.counts,
            "source": c.source,
        });
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else if let Some(r) = r {
        let targets_text = match targets.as_slice() {
            [one] => format!("column {one}"),
            many => format!("{} columns", many.len()),
        };
        println!(
            "trained {} on {} ({targets_text}) in {} steps: final training {} {:.4} on windows scaled by the {} scaler{}; saved to {}",
            spec.name(),
            args.data.data.display(),
            r.steps,
            loss_name.as_deref().unwrap_or("loss"),
            r.final_train_loss,
            scaler.as_deref().unwrap_or("identity"),
            r.best_val_loss
                .map(|v| format!(
                    "; best validation {} {v:.4} in the data's units, at step {}",
                    loss_name.as_deref().unwrap_or("loss"),
                    r.best_step.unwrap_or(0)
                ))
                .unwrap_or_default(),
            out.display()
        );
        println!("{}", engine_line(&r.engine));
    } else {
        println!(
            "fitted {} on {} (column {}, {} rows); saved to {}",
            spec.name(),
            args.data.data.display(),
            targets[0],
            series.len(),
            out.display()
        );
    }
    if let (Some(e), false) = (trained.model.as_ensemble(), args.json) {
        println!("{}", crate::ensemble_flags::summary_line(e));
    }
    if let (Some(c), false) = (&calibration, args.json) {
        println!("{}", calibration_line(c));
    }
    if let Some(name) = &args.register {
        let target = &targets[0];
        let mut metrics = std::collections::BTreeMap::new();
        // Neural models validate on their held-out tail; a classical fit saw every row, so its
        // validation score is in-sample and is not recorded as one.
        let val_rows = spec
            .as_neural()
            .map(|n| n.train_config().val_rows(series.len()))
            .unwrap_or(0);
        // One pass over the held-out tail gives the validation scores and the drift reference.
        let val = super::registry::validation(&*trained.model, &series, target, val_rows);
        if let Some(v) = &val {
            let (mae, rw) = (v.mae, v.rw_mae);
            metrics.insert("val_mae".to_string(), mae);
            metrics.insert("rw_mae".to_string(), rw);
            if rw > 0.0 {
                metrics.insert("skill".to_string(), 1.0 - mae / rw);
            }
        }
        let reference =
            super::registry::reference_profile(&*trained.model, &series, target, val.as_ref())?;
        let tags = std::collections::BTreeMap::from([
            ("source".to_string(), args.data.data.display().to_string()),
            ("target".to_string(), target.clone()),
        ]);
        let (dir, v) = super::registry::register_dir(
            args.registry.as_deref(),
            name,
            out,
            &series,
            target,
            nt_registry::RegisterRequest {
                metrics,
                tags,
                reference: Some(reference),
                ..nt_registry::RegisterRequest::default()
            },
        )?;
        if args.json {
            eprintln!("registered {} in {}", v.reference(), dir.display());
        } else {
            let skill = nt_registry::embedding::skill_of(&v.metrics)
                .map(|s| format!(" (validation skill vs random walk {s:+.3})"))
                .unwrap_or_default();
            println!("registered {}{skill} in {}", v.reference(), dir.display());
        }
    }
    if !args.json {
        println!(
            "next: nt predict --model {} --data {}",
            out.display(),
            args.data.data.display()
        );
    }
    Ok(())
}

/// `spec` with the intervals of `--intervals` (conformal at `levels`, calibrated for `horizon`
/// steps when the model forecasts any horizon); `--calibration-rows` without conformal
/// intervals, or a combination the spec refuses, is a usage error naming the flag.
fn with_intervals(
    spec: ModelSpec,
    args: &TrainArgs,
    levels: Vec<f64>,
    horizon: usize,
) -> Result<ModelSpec> {
    match args.intervals {
        IntervalsArg::Model => {
            if args.calibration_rows.is_some() {
                return Err(UsageError(
                    "--calibration-rows applies to --intervals conformal".into(),
                )
                .into());
            }
            Ok(spec)
        }
        IntervalsArg::Conformal | IntervalsArg::Garch => {
            let mut intervals = nt_models::IntervalSpec::conformal(levels);
            if args.intervals == IntervalsArg::Garch {
                intervals.method = nt_models::IntervalMethod::Garch;
            }
            intervals.calibration_rows = args.calibration_rows;
            // A neural model is calibrated for its own horizon.
            intervals.horizon = spec.as_neural().is_none().then_some(horizon);
            let neural = spec.as_neural().is_some();
            spec.with_intervals(intervals).map_err(|e| {
                let flag = if neural && args.calibration_rows.is_some() {
                    "--calibration-rows"
                } else {
                    "--intervals"
                };
                UsageError(format!("{flag}: {e}")).into()
            })
        }
    }
}

/// The line saying how a model's conformal intervals were calibrated.
fn calibration_line(c: &nt_models::Calibration) -> String {
    let levels: Vec<String> = c.levels.iter().map(|l| format!("{}%", l * 100.0)).collect();
    let (lo, hi) = (
        c.counts.iter().min().copied().unwrap_or(0),
        c.counts.iter().max().copied().unwrap_or(0),
    );
    format!(
        "intervals: {} at {} for 1 to {} steps, from {lo} to {hi} residuals per step ({})",
        c.method.as_str(),
        levels.join(", "),
        c.horizon,
        c.source
    )
}

/// The line saying which engine trained the model, in which arithmetic, on which SIMD path
/// (`engine: native, f32 matmuls (avx2+fma)`), with the reason when the run fell back from what
/// was asked.
fn engine_line(e: &nt_neural::EngineInfo) -> String {
    let note = e
        .note
        .as_deref()
        .map(|n| format!("; {n}"))
        .unwrap_or_default();
    format!(
        "engine: {}, {} matmuls ({}){note}",
        e.backend,
        e.precision.as_str(),
        e.simd
    )
}

/// The loss's name as the output prints it (`mae`, `mse`, `huber`, `quantile`).
fn loss_name(loss: &nt_neural::Loss) -> String {
    match loss {
        nt_neural::Loss::Mae => "mae".into(),
        nt_neural::Loss::Mse => "mse".into(),
        nt_neural::Loss::Huber { .. } => "huber loss".into(),
        nt_neural::Loss::Quantile(_) => "quantile loss".into(),
        nt_neural::Loss::Distribution { distribution, .. } => match distribution {
            nt_neural::distribution::Distribution::StudentT => "student-t likelihood".into(),
            nt_neural::distribution::Distribution::Normal => "normal likelihood".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_line_names_backend_precision_simd_and_any_fallback() {
        let mut e = nt_neural::EngineInfo {
            backend: "native".into(),
            precision: nt_neural::Precision::F32,
            simd: "avx2+fma".into(),
            note: None,
        };
        assert_eq!(engine_line(&e), "engine: native, f32 matmuls (avx2+fma)");
        e.note = Some("bf16 asked, trained in f32: no avx512_bf16".into());
        assert_eq!(
            engine_line(&e),
            "engine: native, f32 matmuls (avx2+fma); bf16 asked, trained in f32: no avx512_bf16"
        );
    }
}
