//! Training a [`CalibratedSpec`]: the residuals its split-conformal calibration comes from.
//!
//! - A classical model is fitted on every row but the calibration tail (`calibration_rows`,
//!   default `max(⌈20% of rows⌉, 2·H)`), forecasts `H` steps from every origin of that tail
//!   (each step only where its actual exists, so step `h` has `T − h + 1` residuals), and is
//!   then refitted on all rows: the saved model's point forecasts come from the refit, its
//!   calibration from the fit that never saw the tail (the usual split-conformal compromise;
//!   the refit has seen more data, so its errors are if anything smaller).
//! - A neural model is trained as usual, with early stopping on its validation tail
//!   (`train.val_size` or `train.val_fraction`, required), and calibrated on its forecasts
//!   from every origin of that tail. The tail chose the stopping step, so its residuals are
//!   slightly optimistic; the weights never trained on it.

use nt_core::TimeSeries;
use nt_neural::{TrainOptions, TrainProgress};

use crate::calibrated::{write_calibrated_manifest, CalibratedModel, CalibratedSpec};
use crate::classical::ClassicalModel;
use crate::intervals::conformal::Calibration;
use crate::intervals::garch::GarchWidths;
use crate::intervals::IntervalMethod;
use crate::{Error, Forecaster, ModelSpec, Result, Trained, WindowInputs};

/// Share of the rows a classical model holds out for calibration by default.
const CALIBRATION_SHARE: f64 = 0.2;
/// Windows forecast by one batch call during calibration (bounds the memory of a neural batch).
const CALIBRATION_BATCH: usize = 512;

/// Trains `spec` on column `targets[0]` of `series` and calibrates its intervals; saves to
/// `opts.out_dir` when given. Errors: several targets, exogenous columns, no validation tail
/// (neural), a tail too short for a level (the windows it needs are named).
pub(crate) fn train_calibrated(
    series: &TimeSeries,
    targets: &[&str],
    spec: &CalibratedSpec,
    opts: &TrainOptions,
    progress: &mut dyn FnMut(&TrainProgress),
) -> Result<Trained> {
    spec.validate()?;
    let [target] = targets else {
        return Err(Error::invalid(
            "targets",
            format!(
                "calibrated intervals are computed on one column, {} given; give one --target",
                targets.len()
            ),
        ));
    };
    match &spec.base {
        ModelSpec::Classical(c) => {
            let x = series.finite_column(target)?;
            let n = x.len();
            let h = spec.intervals.horizon.ok_or_else(|| {
                Error::invalid(
                    "intervals.horizon",
                    format!("give the steps to calibrate {} for (--horizon)", c.name()),
                )
            })?;
            let rows = spec
                .intervals
                .calibration_rows
                .unwrap_or_else(|| ((CALIBRATION_SHARE * n as f64).ceil() as usize).max(2 * h));
            if rows >= n {
                return Err(Error::invalid(
                    "intervals.calibration_rows",
                    format!("{rows} calibration rows leave no rows to fit on ({n} rows)"),
                ));
            }
            let fit_rows = n - rows;
            let holdout = ClassicalModel::fit(c, &series.slice(0..fit_rows), target)?;
            if let Some(max) = holdout.max_horizon() {
                if h > max {
                    return Err(Error::invalid(
                        "intervals.horizon",
                        format!("{} forecasts at most {max} steps, {h} given", c.name()),
                    ));
                }
            }
            let need = holdout.min_history();
            let mut residuals = vec![Vec::new(); h];
            for o in fit_rows.max(need)..n {
                let f = holdout.predict_series(&series.slice(0..o), target, None, h)?;
                push_residuals(&mut residuals, f.point_values(), &x[o..]);
            }
            let source = format!(
                "{} origins over the last {rows} of {n} rows, forecast by {} fitted on the first {fit_rows} rows; the saved model is refitted on all {n} rows",
                n - fit_rows.max(need),
                c.name()
            );
            let calibration = calibrate(
                spec.intervals.method,
                &spec.intervals.levels,
                residuals,
                source,
            )?;
            let full = ClassicalModel::fit(c, series, target)?;
            let model = CalibratedModel::new(spec.clone(), Box::new(full), calibration)?;
            if let Some(dir) = &opts.out_dir {
                model.save(dir)?;
            }
            Ok(Trained {
                model: Box::new(model),
                report: None,
            })
        }
        ModelSpec::Neural(nspec) => {
            if !nspec.hist_exog().is_empty() || !nspec.futr_exog().is_empty() {
                return Err(Error::invalid(
                    "intervals",
                    format!(
                        "{} reads exogenous columns; calibrated intervals support models of the target alone for now",
                        nspec.name()
                    ),
                ));
            }
            let x = series.finite_column(target)?;
            let n = x.len();
            let val = nspec.train_config().val_rows(n);
            if val == 0 {
                return Err(Error::invalid(
                    "train.val_size",
                    format!(
                        "{} calibrates its conformal intervals on its validation tail: hold one out (--val-fraction F, or train.val_size in the config)",
                        nspec.name()
                    ),
                ));
            }
            let t = nt_neural::train(series, targets, nspec, opts, progress)?;
            let base = t.model;
            let (l, h) = (base.input_size(), base.horizon());
            let origins: Vec<usize> = (n.saturating_sub(val).max(l)..n).collect();
            let mut residuals = vec![Vec::new(); h];
            for chunk in origins.chunks(CALIBRATION_BATCH) {
                let windows: Vec<WindowInputs<'_>> = chunk
                    .iter()
                    .map(|&o| WindowInputs {
                        target: &x[o - l..o],
                        hist: Vec::new(),
                        futr: Vec::new(),
                    })
                    .collect();
                let forecasts = Forecaster::forecast_batch(&base, &windows, h)?;
                for (&o, f) in chunk.iter().zip(&forecasts) {
                    push_residuals(&mut residuals, f.point_values(), &x[o..]);
                }
            }
            let source = format!(
                "{} origins over the validation tail (last {val} of {n} rows), which the weights never trained on (it chose the early-stopping step)",
                origins.len()
            );
            let calibration = calibrate(
                spec.intervals.method,
                &spec.intervals.levels,
                residuals,
                source,
            )?;
            let mut stored = spec.clone();
            stored.intervals.horizon = Some(h);
            let model = CalibratedModel::new(stored, Box::new(base), calibration)?;
            if let Some(dir) = &opts.out_dir {
                // The neural trainer wrote the directory (weights, optimizer state): only the
                // manifest changes.
                write_calibrated_manifest(dir, &model)?;
            }
            Ok(Trained {
                model: Box::new(model),
                report: Some(t.report),
            })
        }
        ModelSpec::Calibrated(_) => Err(Error::invalid(
            "intervals",
            "the base model already has calibrated intervals",
        )),
        ModelSpec::Ensemble(_) => Err(ensemble_refused()),
        ModelSpec::Hybrid(_) => Err(Error::invalid(
            "intervals",
            "a hybrid's bands are its neural model's; calibrated intervals over a hybrid are not supported",
        )),
    }
}

/// The calibration of `method` from the signed residuals of each step: the conformal radii,
/// and for garch widths also the per-step scales.
fn calibrate(
    method: IntervalMethod,
    levels: &[f64],
    residuals: Vec<Vec<f64>>,
    source: String,
) -> Result<Calibration> {
    let garch = match method {
        IntervalMethod::Garch => Some(GarchWidths::from_residuals(&residuals)?),
        IntervalMethod::Conformal => None,
    };
    let mut c = Calibration::conformal(levels, residuals, source)?;
    c.method = method;
    c.garch = garch;
    c.validate()?;
    Ok(c)
}

/// Adds the residuals `actual − point` of the steps whose actual exists (`future` holds the
/// values from the origin on) to `residuals[step]`.
fn push_residuals(residuals: &mut [Vec<f64>], point: &[f64], future: &[f64]) {
    for ((r, p), y) in residuals.iter_mut().zip(point).zip(future) {
        r.push(y - p);
    }
}

/// The refusal of calibrated intervals over an ensemble (its bands are its members').
pub(crate) fn ensemble_refused() -> Error {
    Error::invalid(
        "intervals",
        "an ensemble's bands are its members' combined: give the members calibrated intervals instead",
    )
}
