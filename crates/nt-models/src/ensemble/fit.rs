//! Fitting an [`EnsembleSpec`]: the validation split, the members' validation forecasts, the
//! weights, the refit.
//!
//! Origins: every origin whose `H`-step window lies inside the validation segment (the last
//! `V` rows), that is `V − H + 1` of them (fewer when a member needs more history than the
//! rows before the segment). All of them, not every k-th: no member is retrained per origin
//! (each is fitted once on the rows before the segment), and a neural member forecasts all
//! its windows in batched inference calls, so every origin costs one forward pass per window;
//! a classical member filters the history up to each origin, as a backtest does.

use nt_core::TimeSeries;
use nt_neural::{ModelMeta, TrainOptions, TrainProgress, TrainReport};

use super::combine::{combine_forecasts, learn_weights, ValidationForecasts};
use super::model::Validation;
use super::{EnsembleModel, EnsembleSpec};
use crate::{Error, Forecaster, ModelSpec, Result, Trained, WindowInputs};

/// Windows one batched member call forecasts during validation (bounds a neural batch's
/// memory).
const VALIDATION_BATCH: usize = 512;

/// The member specs as fitted: a classical member with calibrated intervals but no
/// calibration horizon is calibrated for the ensemble's.
fn member_specs(spec: &EnsembleSpec) -> Vec<ModelSpec> {
    spec.members
        .iter()
        .map(|m| match m {
            ModelSpec::Calibrated(c)
                if c.intervals.horizon.is_none() && c.base.as_neural().is_none() =>
            {
                let mut c = (**c).clone();
                c.intervals.horizon = Some(spec.horizon);
                ModelSpec::Calibrated(Box::new(c))
            }
            other => other.clone(),
        })
        .collect()
}

/// Fitted members, in spec order, and the last neural training report.
type FittedMembers = (Vec<Box<dyn Forecaster>>, Option<TrainReport>);

/// Fits every member of `specs` on `series` (nothing written to disk), returning the models
/// and the last neural training report.
fn fit_members(
    specs: &[ModelSpec],
    series: &TimeSeries,
    target: &str,
    opts: &TrainOptions,
    progress: &mut dyn FnMut(&TrainProgress),
) -> Result<FittedMembers> {
    let member_opts = TrainOptions {
        out_dir: None,
        resume: false,
        checkpoint_every: None,
        warm_start: None,
        ..opts.clone()
    };
    let mut models = Vec::with_capacity(specs.len());
    let mut report = None;
    for spec in specs {
        let t = crate::train(series, &[target], spec, &member_opts, progress)?;
        if t.report.is_some() {
            report = t.report;
        }
        models.push(t.model);
    }
    Ok((models, report))
}

/// `model`'s forecasts of `h` steps from each of `origins` over column `target` of `series`
/// (values `x`): batched windows for a model that reads a fixed window, the history up to the
/// origin (with its timestamps) otherwise.
fn forecasts_at(
    model: &dyn Forecaster,
    series: &TimeSeries,
    target: &str,
    x: &[f64],
    origins: &[usize],
    h: usize,
) -> Result<Vec<Vec<f64>>> {
    let mut out = Vec::with_capacity(origins.len());
    match model.window() {
        Some(w) => {
            for chunk in origins.chunks(VALIDATION_BATCH) {
                let windows: Vec<WindowInputs<'_>> = chunk
                    .iter()
                    .map(|&o| WindowInputs {
                        target: &x[o.saturating_sub(w)..o],
                        hist: Vec::new(),
                        futr: Vec::new(),
                    })
                    .collect();
                for f in model.forecast_batch(&windows, h)? {
                    out.push(f.point_values().to_vec());
                }
            }
        }
        None => {
            for &o in origins {
                let f = model.predict_series(&series.slice(0..o), target, None, h)?;
                out.push(f.point_values().to_vec());
            }
        }
    }
    Ok(out)
}

/// Fits `spec` on column `targets[0]` of `series` (see the module doc); saves to
/// `opts.out_dir` when given. Errors: several targets, a validation segment that leaves no
/// rows to fit on or no origin with enough history, a member that forecasts fewer steps.
pub(crate) fn train_ensemble(
    series: &TimeSeries,
    targets: &[&str],
    spec: &EnsembleSpec,
    opts: &TrainOptions,
    progress: &mut dyn FnMut(&TrainProgress),
) -> Result<Trained> {
    spec.validate()?;
    let [target] = targets else {
        return Err(Error::invalid(
            "targets",
            format!(
                "an ensemble is fitted on one column, {} given; give one --target",
                targets.len()
            ),
        ));
    };
    let x = series.finite_column(target)?;
    let n = x.len();
    let h = spec.horizon;
    let v = spec.validation_rows_for(n);
    if v < h || v >= n {
        return Err(Error::invalid(
            "validation_rows",
            format!("{v} validation rows of {n}: need at least the horizon ({h}) and rows before them to fit on"),
        ));
    }
    let fit_rows = n - v;
    let specs = member_specs(spec);
    let (held_out, report) =
        fit_members(&specs, &series.slice(0..fit_rows), target, opts, progress)?;
    for (m, model) in held_out.iter().enumerate() {
        if let Some(max) = model.max_horizon() {
            if max < h {
                return Err(Error::invalid(
                    format!("members[{m}]"),
                    format!(
                        "{} forecasts at most {max} steps, the ensemble {h}",
                        model.name()
                    ),
                ));
            }
        }
    }
    let need = held_out.iter().map(|m| m.min_history()).max().unwrap_or(1);
    let first = fit_rows.max(need);
    if first + h > n {
        return Err(Error::invalid(
            "validation_rows",
            format!(
                "no validation origin: the members need {need} rows of history and a {h}-step window must fit in the last {v} of {n} rows; give more rows or more validation rows"
            ),
        ));
    }
    let origins: Vec<usize> = (first..=n - h).collect();
    let forecasts = held_out
        .iter()
        .map(|m| forecasts_at(&**m, series, target, x, &origins, h))
        .collect::<Result<Vec<_>>>()?;
    let actuals: Vec<Vec<f64>> = origins.iter().map(|&o| x[o..o + h].to_vec()).collect();
    let validation = ValidationForecasts { forecasts, actuals };
    let weights = learn_weights(spec.combiner, spec.per_step, h, &validation)?;
    let mut ensemble_error = 0.0;
    for (o, actual) in validation.actuals.iter().enumerate() {
        let points: Vec<nt_core::Forecast> = validation
            .forecasts
            .iter()
            .map(|f| nt_core::Forecast::point(f[o].clone()))
            .collect();
        let c = combine_forecasts(&points, &weights, &[], h)?;
        ensemble_error += c
            .point_values()
            .iter()
            .zip(actual)
            .map(|(p, a)| (p - a).abs())
            .sum::<f64>();
    }
    let summary = Validation {
        rows: n,
        fit_rows,
        origins: origins.len(),
        member_mae: (0..held_out.len())
            .map(|m| validation.mae(m, None))
            .collect(),
        ensemble_mae: ensemble_error / (origins.len() * h) as f64,
        refitted: spec.refit,
    };
    let (members, report) = if spec.refit {
        fit_members(&specs, series, target, opts, progress)?
    } else {
        (held_out, report)
    };
    let meta = ModelMeta {
        data_fingerprint: Some(series.fingerprint()),
        train_rows: Some(n),
        metrics: None,
        origin: "nt-models ensemble".into(),
    };
    let model = EnsembleModel::new(spec.clone(), members, weights, summary, meta)?;
    if let Some(dir) = &opts.out_dir {
        model.save(dir)?;
    }
    Ok(Trained {
        model: Box::new(model),
        report,
    })
}
