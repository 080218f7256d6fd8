//! `nt train --from NAME@V --data new.csv`: retrain a registered model on new data and register
//! the result as a new version whose parent is V.
//!
//! A neural version warm-starts from its weights and, when it was registered with one, its
//! optimizer state (Adam's moments and step count); without one it warm-starts with fresh
//! moments and says so. A classical version refits (it has no weights to continue). Both are
//! scored before and after on the new data's held-out tail: the parent's MAE there, the
//! retrained model's, the random walk's and the skills, with the per-origin errors for a
//! Diebold–Mariano test ([`Retrained`]). `nt monitor --retrain-on-alarm` calls [`retrain`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use nt_models::{Forecaster, Retraining};
use nt_registry::{DataProfile, ModelVersion, RegisterRequest, Registry};
use serde_json::json;

use crate::cli::{DataArgs, TrainArgs};
use crate::exit::UsageError;
use crate::neural_flags::NeuralFlags;
use crate::settings;

/// Horizon used to score a model that forecasts any horizon (most classical models): the one
/// `nt train` defaults to.
const ANY_HORIZON_EVAL: usize = 24;
/// Share of the new data's rows held out for the before/after scores when the spec holds out
/// fewer than a horizon (at least one horizon).
const TAIL_FRACTION: f64 = 0.2;

/// A retrained, registered version and its scores on the new data's held-out tail.
#[derive(Debug, Clone)]
pub(crate) struct Retrained {
    /// The new version (its `parent` is the retrained version when it has the same name).
    pub(crate) version: ModelVersion,
    /// The version it was retrained from.
    pub(crate) parent: ModelVersion,
    /// Warm start (with or without restored moments) or refit.
    pub(crate) retraining: Retraining,
    /// MAE of the parent on the held-out tail of the new data.
    pub(crate) parent_val_mae: f64,
    /// MAE of the retrained model there (a model that never saw those rows).
    pub(crate) val_mae: f64,
    /// MAE of the random walk (last value repeated) there.
    pub(crate) rw_mae: f64,
    /// Per-origin MAE of the parent over the tail's forecast origins (one entry per origin,
    /// each the mean over the horizon), in time order.
    pub(crate) parent_errors: Vec<f64>,
    /// Per-origin MAE of the retrained model, same origins and order.
    pub(crate) child_errors: Vec<f64>,
    /// Per-origin MAE of the random walk, same origins and order.
    pub(crate) rw_errors: Vec<f64>,
    /// Rows of the held-out tail.
    pub(crate) tail_rows: usize,
    /// Steps each forecast in the tail covers.
    pub(crate) horizon: usize,
    /// Steps the retraining took (0 for a refit).
    pub(crate) steps: usize,
    /// Where the new model directory was written (`None`: a temporary one, removed).
    pub(crate) out: Option<PathBuf>,
    /// The registry directory.
    pub(crate) registry: PathBuf,
}

/// What a retraining is asked to do.
struct Request<'a> {
    registry: Option<&'a Path>,
    reference: &'a str,
    data: &'a DataArgs,
    /// Training flags (`--max-steps`, `--lr`, ...) over the parent's settings.
    flags: Option<&'a NeuralFlags>,
    max_steps: Option<usize>,
    out: Option<&'a Path>,
    register_as: Option<&'a str>,
    quiet: bool,
}

/// Retrains the registered version `reference` (`NAME@V`, `NAME@latest` or `NAME` for the
/// production version) on `data` and registers the result as the next version of NAME with
/// `parent` = V: a neural model warm-starts (`max_steps` new steps, the parent's
/// `train.max_steps` when `None`), a classical one refits. Never promotes.
// Called by `nt monitor --retrain-on-alarm`.
pub(crate) fn retrain(
    registry: Option<&Path>,
    reference: &str,
    data: &DataArgs,
    max_steps: Option<usize>,
    quiet: bool,
) -> Result<Retrained> {
    run_request(&Request {
        registry,
        reference,
        data,
        flags: None,
        max_steps,
        out: None,
        register_as: None,
        quiet,
    })
}

/// Runs `nt train --from`: refuses the flags that conflict with it, retrains, prints.
pub(crate) fn run(args: &TrainArgs, from: &str) -> Result<()> {
    let mut conflicts = Vec::new();
    if args.model.is_some() {
        conflicts.push("--model");
    }
    if args.flags.config.is_some() {
        conflicts.push("--config");
    }
    if args.input_size.is_some() {
        conflicts.push("--input-size");
    }
    if args.horizon.is_some() {
        conflicts.push("--horizon");
    }
    if args.resume {
        conflicts.push("--resume");
    }
    if !args.flags.hist_exog.is_empty() {
        conflicts.push("--hist-exog");
    }
    if !args.flags.futr_exog.is_empty() {
        conflicts.push("--futr-exog");
    }
    if !conflicts.is_empty() {
        return Err(UsageError(format!(
            "--from {from} continues the registered model's own spec; {} cannot be combined with it (the architecture, window and horizon are the parent's; train a new model without --from to change them)",
            conflicts.join(", ")
        ))
        .into());
    }
    if let Some(name) = &args.register {
        nt_registry::validate_name(name)?;
    }
    if let Some(out) = &args.out {
        settings::check_out_dir(out)?;
    }
    let r = run_request(&Request {
        registry: args.registry.as_deref(),
        reference: from,
        data: &args.data,
        flags: Some(&args.flags),
        max_steps: None,
        out: args.out.as_deref(),
        register_as: args.register.as_deref(),
        quiet: args.quiet,
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary(&r))?);
    } else {
        for line in report_lines(&r, &args.data.data) {
            println!("{line}");
        }
    }
    Ok(())
}

/// The JSON summary of a retraining.
fn summary(r: &Retrained) -> serde_json::Value {
    let (how, moments) = match r.retraining {
        Retraining::WarmStart { restored_moments } => ("warm-start", Some(restored_moments)),
        Retraining::Refit => ("refit", None),
    };
    json!({
        "tool": "nt",
        "command": "train",
        "from": r.parent.reference(),
        "retraining": how,
        "restored_moments": moments,
        "steps": r.steps,
        "registered": r.version.reference(),
        "parent": r.version.parent,
        "registry": r.registry.display().to_string(),
        "out": r.out.as_ref().map(|o| o.display().to_string()),
        "tail_rows": r.tail_rows,
        "horizon": r.horizon,
        "origins": r.child_errors.len(),
        "parent_val_mae": r.parent_val_mae,
        "val_mae": r.val_mae,
        "rw_mae": r.rw_mae,
        "parent_skill": skill(r.parent_val_mae, r.rw_mae),
        "skill": skill(r.val_mae, r.rw_mae),
        "parent_errors": r.parent_errors,
        "errors": r.child_errors,
        "rw_errors": r.rw_errors,
    })
}

/// The lines `nt train --from` prints.
fn report_lines(r: &Retrained, data: &Path) -> Vec<String> {
    let p = r.parent.reference();
    let mut out = Vec::new();
    match r.retraining {
        Retraining::WarmStart { restored_moments } => {
            out.push(format!(
                "warm-started {} from {p} on {} in {} new steps (the learning-rate schedule restarted over them)",
                r.parent.kind,
                data.display(),
                r.steps
            ));
            out.push(if restored_moments {
                format!("restored from {p}: its weights and Adam's moments")
            } else {
                format!(
                    "restored from {p}: its weights; it has no saved optimizer state (registered before optimizer states were stored), so Adam started with fresh moments"
                )
            });
        }
        Retraining::Refit => out.push(format!(
            "refit {} on {} ({p} is a classical model: no weights to continue, so it was fitted again on the new data)",
            r.parent.kind,
            data.display()
        )),
    }
    let sk = |m: f64| {
        skill(m, r.rw_mae)
            .map(|s| format!("{s:+.3}"))
            .unwrap_or_else(|| "-".into())
    };
    out.push(format!(
        "held-out tail of the new data: last {} rows, {} origins of {} steps",
        r.tail_rows,
        r.child_errors.len(),
        r.horizon
    ));
    out.push(format!(
        "  before ({p}): MAE {:.4}, skill vs random walk {}",
        r.parent_val_mae,
        sk(r.parent_val_mae)
    ));
    out.push(format!(
        "  after  ({}): MAE {:.4}, skill vs random walk {}",
        r.version.reference(),
        r.val_mae,
        sk(r.val_mae)
    ));
    out.push(format!("  random walk: MAE {:.4}", r.rw_mae));
    let lineage = match r.version.parent {
        Some(v) => format!("parent {}@{v}", r.version.name),
        None => format!("retrained from {p}"),
    };
    out.push(format!(
        "registered {} ({lineage}, stage {}) in {}",
        r.version.reference(),
        r.version.stage,
        r.registry.display()
    ));
    if let Some(o) = &r.out {
        out.push(format!("saved to {}", o.display()));
    }
    out.push(format!(
        "next: nt registry show {}; nt registry promote {} once it has proved itself",
        r.version.reference(),
        r.version.reference()
    ));
    out
}

/// `1 − mae / rw`, when the random walk's error is positive.
fn skill(mae: f64, rw: f64) -> Option<f64> {
    (rw > 0.0).then(|| 1.0 - mae / rw)
}

/// The columns to retrain on: `--target` when given, else the parent's, which the new data
/// must have.
fn targets_for(
    series: &nt_core::TimeSeries,
    data: &DataArgs,
    parent: &ModelVersion,
) -> Result<Vec<String>> {
    if let Some(t) = &data.target {
        return settings::resolve_targets(series, Some(t));
    }
    if let Some(missing) = parent.targets.iter().find(|t| series.column(t).is_err()) {
        return Err(UsageError(format!(
            "{} was trained on column `{missing}`, which {} does not have (columns: {}); name the column to retrain on with --target",
            parent.reference(),
            data.data.display(),
            series.column_names().join(", ")
        ))
        .into());
    }
    Ok(parent.targets.clone())
}

fn run_request(req: &Request<'_>) -> Result<Retrained> {
    let reg = super::registry::open_existing(req.registry)?;
    let parent = super::registry::resolve_ref(&reg, req.reference)
        .with_context(|| format!("resolving --from {}", req.reference))?;
    let name = req.register_as.unwrap_or(&parent.name).to_string();
    nt_registry::validate_name(&name)?;
    let series = settings::load_data(req.data)?;
    let targets = targets_for(&series, req.data, &parent)?;
    let work = tempfile::tempdir().context("creating a temporary directory for the parent")?;
    let parent_dir = work.path().join("parent");
    reg.export(&parent.name, parent.version, &parent_dir)
        .with_context(|| format!("exporting {}", parent.reference()))?;
    let parent_model = nt_models::load_dir(&parent_dir)
        .with_context(|| format!("loading {}", parent.reference()))?;
    if !parent_model.hist_exog().is_empty() || !parent_model.futr_exog().is_empty() {
        return Err(UsageError(format!(
            "{} reads exogenous columns; retraining with --from scores models on the target alone and does not support them yet",
            parent.reference()
        ))
        .into());
    }
    let n = series.len();
    let h = parent_model
        .max_horizon()
        .unwrap_or(ANY_HORIZON_EVAL)
        .max(1);
    let default_tail = ((n as f64 * TAIL_FRACTION).floor() as usize).max(h);
    // The child's training settings: the parent's, the flags over them, and a validation tail
    // of at least one horizon (the before/after scores are computed there).
    let train_config = match parent.spec.as_neural() {
        Some(spec) => {
            let mut t = spec.train_config().clone();
            if let Some(flags) = req.flags {
                flags.apply(&mut t)?;
            }
            if let Some(s) = req.max_steps {
                t.max_steps = s;
            }
            if t.val_rows(n) < h {
                t.val_size = Some(default_tail);
            }
            Some(t)
        }
        None => None,
    };
    let tail = train_config
        .as_ref()
        .map_or(default_tail, |t| t.val_rows(n));
    if tail >= n || n - tail < parent_model.min_history() + 1 {
        return Err(UsageError(format!(
            "{} has {n} rows: too few to hold out {tail} for scoring and still train on {} or more (the model reads {} values per forecast)",
            req.data.data.display(),
            parent_model.min_history() + 1,
            parent_model.min_history()
        ))
        .into());
    }
    let out_dir = req
        .out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| work.path().join("child"));
    let target_refs: Vec<&str> = targets.iter().map(String::as_str).collect();
    let steps_planned = train_config.as_ref().map_or(1, |t| t.max_steps as u64);
    let bar = crate::progress::bar(
        steps_planned,
        format!("retrain {}", parent.reference()),
        req.quiet,
    );
    let opts = nt_neural::TrainOptions {
        out_dir: Some(out_dir.clone()),
        ..nt_neural::TrainOptions::default()
    };
    let (trained, retraining, _spec) = nt_models::train_from(
        &parent_dir,
        &series,
        &target_refs,
        train_config.as_ref(),
        &opts,
        &mut |p| bar.set_position(p.step as u64),
    )
    .with_context(|| {
        format!(
            "retraining {} on {}",
            parent.reference(),
            req.data.data.display()
        )
    })?;
    bar.finish_and_clear();
    let target = &targets[0];
    let x = series.column(target)?;
    // A refit classical model is scored by a fit that did not see the tail (the registered
    // one saw every row); a neural child never trained on its validation tail.
    let eval_child: Box<dyn Forecaster> = match retraining {
        Retraining::Refit => {
            nt_models::train(
                &series.head(n - tail),
                &target_refs,
                &parent.spec,
                &nt_neural::TrainOptions::default(),
                &mut |_| {},
            )?
            .model
        }
        Retraining::WarmStart { .. } => nt_models::load_dir(&out_dir)?,
    };
    let origins: Vec<usize> = (n - tail..=n - h).step_by(h).collect();
    let parent_errors = origin_errors(&*parent_model, x, &origins, h)?;
    let child_errors = origin_errors(&*eval_child, x, &origins, h)?;
    let rw_errors: Vec<f64> = origins
        .iter()
        .map(|&o| (0..h).map(|j| (x[o - 1] - x[o + j]).abs()).sum::<f64>() / h as f64)
        .collect();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let (parent_val_mae, val_mae, rw_mae) =
        (mean(&parent_errors), mean(&child_errors), mean(&rw_errors));
    let mut metrics = BTreeMap::from([
        ("parent_val_mae".to_string(), parent_val_mae),
        ("val_mae".to_string(), val_mae),
        ("rw_mae".to_string(), rw_mae),
    ]);
    if let Some(s) = skill(val_mae, rw_mae) {
        metrics.insert("skill".into(), s);
    }
    if let Some(s) = skill(parent_val_mae, rw_mae) {
        metrics.insert("parent_skill".into(), s);
    }
    let how = match retraining {
        Retraining::WarmStart {
            restored_moments: true,
        } => "warm-start",
        Retraining::WarmStart {
            restored_moments: false,
        } => "warm-start (fresh moments)",
        Retraining::Refit => "refit",
    };
    let tags = BTreeMap::from([
        ("source".to_string(), req.data.data.display().to_string()),
        ("target".to_string(), target.clone()),
        ("retrained_from".to_string(), parent.reference()),
        ("retraining".to_string(), how.to_string()),
    ]);
    let same_name = name == parent.name;
    let version = register(
        &reg,
        &name,
        &out_dir,
        &series,
        target,
        RegisterRequest {
            metrics,
            tags,
            parent: same_name.then_some(parent.version),
            ..RegisterRequest::default()
        },
    )?;
    Ok(Retrained {
        version,
        steps: trained.report.as_ref().map_or(0, |r| r.steps),
        parent,
        retraining,
        parent_val_mae,
        val_mae,
        rw_mae,
        parent_errors,
        child_errors,
        rw_errors,
        tail_rows: tail,
        horizon: h,
        out: req.out.map(Path::to_path_buf),
        registry: reg.dir().to_path_buf(),
    })
}

/// Per-origin MAE of `model` forecasting `h` steps after each origin `o` of `x` from the rows
/// before it.
fn origin_errors(
    model: &dyn Forecaster,
    x: &[f64],
    origins: &[usize],
    h: usize,
) -> Result<Vec<f64>> {
    let windows: Vec<nt_models::WindowInputs<'_>> = origins
        .iter()
        .map(|&o| nt_models::WindowInputs {
            target: &x[o.saturating_sub(model.window().unwrap_or(o))..o],
            hist: Vec::new(),
            futr: Vec::new(),
        })
        .collect();
    let forecasts = model
        .forecast_batch(&windows, h)
        .context("forecasting the held-out tail")?;
    Ok(origins
        .iter()
        .zip(&forecasts)
        .map(|(&o, f)| {
            let p = f.point_values();
            (0..h).map(|j| (p[j] - x[o + j]).abs()).sum::<f64>() / h as f64
        })
        .collect())
}

/// Registers the model directory with the data profile of `target`, its drift reference and a
/// `trained` event before it, as `nt train --register` does, with `req`'s parent, metrics and
/// tags.
fn register(
    reg: &Registry,
    name: &str,
    model_dir: &Path,
    series: &nt_core::TimeSeries,
    target: &str,
    mut req: RegisterRequest,
) -> Result<ModelVersion> {
    req.profile = Some(
        DataProfile::from_series(series, target)
            .with_context(|| format!("profiling column {target} for the registry"))?,
    );
    // The drift reference (`nt monitor`), built from the new model on the new data as
    // `nt train --register` builds it.
    let model = nt_models::load_dir(model_dir)
        .with_context(|| format!("loading {} for its drift reference", model_dir.display()))?;
    req.reference = Some(super::monitor::reference_for(&*model, series, target)?);
    let manifest = nt_models::read_manifest(model_dir)
        .with_context(|| format!("reading the model directory {}", model_dir.display()))?;
    reg.record_event(
        name,
        None,
        nt_registry::EventKind::Trained,
        json!({"kind": manifest.spec.name(), "retrained_from": req.tags.get("retrained_from"),
               "retraining": req.tags.get("retraining"),
               "data_fingerprint": manifest.meta.data_fingerprint,
               "train_rows": manifest.meta.train_rows, "metrics": manifest.meta.metrics}),
    )?;
    reg.register(name, model_dir, req)
        .with_context(|| format!("registering the retrained model as {name}"))
}
