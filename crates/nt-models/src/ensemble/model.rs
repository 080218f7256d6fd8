//! [`EnsembleModel`]: fitted members and their combination weights, as one [`Forecaster`].

use std::path::Path;

use nt_core::{Forecast, TimeSeries};
use nt_neural::{ModelMeta, Precision, WindowInputs};
use serde::{Deserialize, Serialize};

use super::combine::combine_forecasts;
use super::EnsembleSpec;
use crate::forecaster::check_horizon;
use crate::{Error, Forecaster, ModelSpec, Result};

/// How the weights were learned: the validation split and the errors on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Validation {
    /// Rows of the series the ensemble was fitted on.
    pub rows: usize,
    /// Rows the members were fitted on before validation (the first ones).
    pub fit_rows: usize,
    /// Validation origins (each forecast the whole horizon inside the validation segment).
    pub origins: usize,
    /// Each member's mean absolute error over the validation forecasts, in member order.
    pub member_mae: Vec<f64>,
    /// The combined forecast's mean absolute error over the same forecasts (in-sample for
    /// learned weights: they were chosen on these forecasts).
    pub ensemble_mae: f64,
    /// Whether the members were refitted on all rows after the weights were learned.
    pub refitted: bool,
}

/// A fitted ensemble: its members, the weights `[step][member]` (none for the median) and the
/// quantile levels every member offers.
///
/// Guarantees: a forecast is the members' forecasts combined in member order (the same bits
/// from [`forecast`](Forecaster::forecast), [`forecast_batch`](Forecaster::forecast_batch) and
/// a saved-and-loaded copy); the bands are those every member carries, combined level by level
/// with the point weights (a heuristic, see [`combine`](super::combine)).
#[derive(Debug)]
pub struct EnsembleModel {
    spec: EnsembleSpec,
    members: Vec<Box<dyn Forecaster>>,
    weights: Vec<Vec<f64>>,
    levels: Vec<f64>,
    validation: Validation,
    targets: Vec<String>,
    meta: ModelMeta,
}

/// The quantile levels every one of `members` offers, ascending.
pub(crate) fn shared_levels(members: &[Box<dyn Forecaster>]) -> Vec<f64> {
    let Some((first, rest)) = members.split_first() else {
        return Vec::new();
    };
    first
        .quantile_levels()
        .into_iter()
        .filter(|q| {
            rest.iter()
                .all(|m| m.quantile_levels().iter().any(|r| (r - q).abs() < 1e-9))
        })
        .collect()
}

impl EnsembleModel {
    /// Assembles an ensemble from fitted `members` (in `spec`'s order) and `weights`
    /// (`[step][member]`, one row per horizon step; empty for the median combiner).
    pub fn new(
        spec: EnsembleSpec,
        members: Vec<Box<dyn Forecaster>>,
        weights: Vec<Vec<f64>>,
        validation: Validation,
        meta: ModelMeta,
    ) -> Result<Self> {
        if members.len() != spec.members.len() {
            return Err(Error::model_dir(
                "ensemble",
                format!(
                    "{} fitted members for a spec of {}",
                    members.len(),
                    spec.members.len()
                ),
            ));
        }
        let expected = if spec.combiner == super::Combiner::Median {
            0
        } else {
            spec.horizon
        };
        if weights.len() != expected || weights.iter().any(|w| w.len() != members.len()) {
            return Err(Error::model_dir(
                "ensemble",
                format!(
                    "weights must be {expected} rows of {} (one per step and member)",
                    members.len()
                ),
            ));
        }
        if weights.iter().flatten().any(|w| !w.is_finite() || *w < 0.0) {
            return Err(Error::model_dir(
                "ensemble",
                "a weight is negative or not finite",
            ));
        }
        let targets = members[0].targets().to_vec();
        let levels = shared_levels(&members);
        Ok(Self {
            spec,
            members,
            weights,
            levels,
            validation,
            targets,
            meta,
        })
    }

    /// The fitted members, in the spec's order.
    pub fn members(&self) -> &[Box<dyn Forecaster>] {
        &self.members
    }

    /// The weights `[step][member]` (empty for the median combiner).
    pub fn weights(&self) -> &[Vec<f64>] {
        &self.weights
    }

    /// The validation split and errors the weights came from.
    pub fn validation(&self) -> &Validation {
        &self.validation
    }

    /// The ensemble's spec.
    pub fn ensemble_spec(&self) -> &EnsembleSpec {
        &self.spec
    }

    fn combine(&self, forecasts: &[Forecast], horizon: usize) -> Result<Forecast> {
        combine_forecasts(forecasts, &self.weights, &self.levels, horizon)
    }
}

impl Forecaster for EnsembleModel {
    fn spec(&self) -> ModelSpec {
        ModelSpec::Ensemble(Box::new(self.spec.clone()))
    }
    fn name(&self) -> &'static str {
        super::ENSEMBLE
    }
    fn targets(&self) -> &[String] {
        &self.targets
    }
    fn meta(&self) -> &ModelMeta {
        &self.meta
    }
    fn min_history(&self) -> usize {
        self.members
            .iter()
            .map(|m| m.min_history())
            .max()
            .unwrap_or(1)
    }
    fn window(&self) -> Option<usize> {
        self.members
            .iter()
            .map(|m| m.window())
            .collect::<Option<Vec<usize>>>()
            .and_then(|w| w.into_iter().max())
    }
    fn max_horizon(&self) -> Option<usize> {
        Some(
            self.members
                .iter()
                .filter_map(|m| m.max_horizon())
                .fold(self.spec.horizon, usize::min),
        )
    }
    fn params(&self) -> usize {
        self.members.iter().map(|m| m.params()).sum()
    }
    fn quantile_levels(&self) -> Vec<f64> {
        self.levels.clone()
    }
    fn forecast(&self, input: &WindowInputs<'_>, horizon: usize) -> Result<Forecast> {
        check_horizon(horizon, self.max_horizon())?;
        let forecasts: Vec<Forecast> = self
            .members
            .iter()
            .map(|m| m.forecast(input, horizon))
            .collect::<Result<_>>()?;
        self.combine(&forecasts, horizon)
    }
    /// Each member's [`forecast_batch`](Forecaster::forecast_batch) once, then the
    /// combination per input.
    fn forecast_batch(&self, inputs: &[WindowInputs<'_>], horizon: usize) -> Result<Vec<Forecast>> {
        check_horizon(horizon, self.max_horizon())?;
        let per_member: Vec<Vec<Forecast>> = self
            .members
            .iter()
            .map(|m| m.forecast_batch(inputs, horizon))
            .collect::<Result<_>>()?;
        (0..inputs.len())
            .map(|i| {
                let forecasts: Vec<Forecast> = per_member.iter().map(|f| f[i].clone()).collect();
                self.combine(&forecasts, horizon)
            })
            .collect()
    }
    fn batches(&self) -> bool {
        self.members.iter().any(|m| m.batches())
    }
    /// Each member's own path (a classical member continues from the history's timestamps),
    /// combined.
    fn predict_series(
        &self,
        history: &TimeSeries,
        column: &str,
        future: Option<&TimeSeries>,
        horizon: usize,
    ) -> Result<Forecast> {
        check_horizon(horizon, self.max_horizon())?;
        let forecasts: Vec<Forecast> = self
            .members
            .iter()
            .map(|m| m.predict_series(history, column, future, horizon))
            .collect::<Result<_>>()?;
        self.combine(&forecasts, horizon)
    }
    fn save(&self, dir: &Path) -> Result<()> {
        super::persist::save(self, dir)
    }
    fn as_ensemble(&self) -> Option<&EnsembleModel> {
        Some(self)
    }
    fn set_precision(&mut self, precision: Precision) -> bool {
        let mut any = false;
        for m in &mut self.members {
            any |= m.set_precision(precision);
        }
        any
    }
}
