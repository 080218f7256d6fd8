//! Ensembles as a model spec: [`EnsembleSpec`] (member specs, a [`Combiner`], the validation
//! split) and [`EnsembleModel`], the fitted members with their combination weights, served like
//! any [`Forecaster`](crate::Forecaster).
//!
//! JSON: `{"model": "ensemble", "members": [{"model": "ets"}, {"model": "dlinear", ...}],
//! "combiner": "convex", "per_step": false, "refit": true, "validation_rows": 48, "horizon": 12}`.
//!
//! Fitting (see [`fit`]): the last `V` rows of the series are the validation segment; every
//! member is fitted on the rows before it, forecasts from every origin whose `H`-step window
//! lies inside it, and the combiner's weights come from those forecasts against the actuals.
//! With `refit`, the members are then refitted on every row (the weights stay).
//!
//! A saved ensemble is one payload file (`ensemble.bin`, see [`persist`]) beside `model.json`,
//! so a registry that stores one blob per version keeps it whole.

pub mod combine;
pub(crate) mod fit;
mod model;
pub(crate) mod persist;

use serde::{Deserialize, Serialize};

use crate::{Error, ModelSpec, Result};

pub use combine::{simplex_least_squares, SimplexFit};
pub use model::{EnsembleModel, Validation};
pub use persist::ENSEMBLE_FILE;

/// The name of an ensemble in `model` and on the command line.
pub const ENSEMBLE: &str = "ensemble";

/// The members of `ensemble` named alone (`nt backtest --models ensemble` without
/// `--members`): three cheap classical models of different kinds.
pub const DEFAULT_MEMBERS: [&str; 3] = ["ets", "theta", "seasonal-naive"];

/// How member forecasts are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Combiner {
    /// The plain average of the member forecasts (equal weights).
    Mean,
    /// The median of the member forecasts at each step (and of their bands, level by level).
    Median,
    /// Weights proportional to 1 / (validation MAE), normalized to sum to one.
    InverseError,
    /// Non-negative weights summing to one that minimize the squared error of the combined
    /// validation forecast (least squares on the simplex).
    Convex,
}

impl Combiner {
    /// Every combiner's name, as JSON and `--combiner` spell it.
    pub const NAMES: [&'static str; 4] = ["mean", "median", "inverse-error", "convex"];

    /// The combiner called `name` (one of [`Combiner::NAMES`]).
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "mean" => Ok(Combiner::Mean),
            "median" => Ok(Combiner::Median),
            "inverse-error" => Ok(Combiner::InverseError),
            "convex" => Ok(Combiner::Convex),
            other => Err(Error::invalid(
                "combiner",
                format!(
                    "unknown combiner `{other}`; known: {}",
                    Combiner::NAMES.join(", ")
                ),
            )),
        }
    }

    /// Its name, as JSON spells it.
    pub fn name(self) -> &'static str {
        match self {
            Combiner::Mean => "mean",
            Combiner::Median => "median",
            Combiner::InverseError => "inverse-error",
            Combiner::Convex => "convex",
        }
    }

    /// Whether its weights are learned from the validation forecasts.
    pub fn learns_weights(self) -> bool {
        matches!(self, Combiner::InverseError | Combiner::Convex)
    }
}

fn default_refit() -> bool {
    true
}

/// An ensemble of models and how their forecasts are combined.
///
/// | field | default | purpose | range |
/// |---|---|---|---|
/// | `members` | (required) | the models combined | ≥ 2 specs, no ensemble among them |
/// | `combiner` | (required) | how forecasts are combined | mean, median, inverse-error, convex |
/// | `per_step` | false | learned weights per horizon step instead of pooled | inverse-error, convex |
/// | `refit` | true | refit the members on every row once the weights are known | |
/// | `validation_rows` | max(⌈20% of rows⌉, 2·H) | rows at the end the weights are learned on | ≥ H |
/// | `horizon` | (required) | steps forecast | ≥ 1; a neural member's own horizon |
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnsembleSpec {
    /// The member models (any spec but another ensemble).
    pub members: Vec<ModelSpec>,
    /// How their forecasts are combined.
    pub combiner: Combiner,
    /// Weights per horizon step (inverse-error and convex); pooled over the steps otherwise.
    #[serde(default)]
    pub per_step: bool,
    /// Refit every member on all rows after the weights are learned (default true).
    #[serde(default = "default_refit")]
    pub refit: bool,
    /// Rows at the end of the series held out to learn the weights; default
    /// `max(⌈20% of rows⌉, 2·horizon)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_rows: Option<usize>,
    /// Steps forecast.
    pub horizon: usize,
}

impl EnsembleSpec {
    /// Share of the rows held out for validation by default.
    pub const VALIDATION_SHARE: f64 = 0.2;

    /// An ensemble of `members` combined by `combiner` over `horizon` steps, with the defaults.
    pub fn new(members: Vec<ModelSpec>, combiner: Combiner, horizon: usize) -> Self {
        Self {
            members,
            combiner,
            per_step: false,
            refit: true,
            validation_rows: None,
            horizon,
        }
    }

    /// The ensemble of the models called `names` (see [`crate::catalog`]; each configured from
    /// `opts` as it would be alone) combined by `combiner` over `horizon` steps, validated.
    /// An unknown name is an error listing the known ones.
    pub fn from_names(
        names: &[&str],
        combiner: Combiner,
        horizon: usize,
        opts: &crate::NameOptions,
    ) -> Result<Self> {
        let members = names
            .iter()
            .map(|name| {
                if *name == ENSEMBLE {
                    return Err(Error::invalid(
                        "members",
                        "an ensemble cannot be a member of another ensemble",
                    ));
                }
                ModelSpec::from_name(name, horizon, opts)
            })
            .collect::<Result<Vec<_>>>()?;
        let spec = Self::new(members, combiner, horizon);
        spec.validate()?;
        Ok(spec)
    }

    /// Checks every member and the combination: at least two members, no nested ensemble, a
    /// horizon of at least one step that every neural member forecasts, no exogenous inputs,
    /// `per_step` only for a combiner that learns weights, and validation rows covering one
    /// horizon at least.
    pub fn validate(&self) -> Result<()> {
        if self.members.len() < 2 {
            return Err(Error::invalid(
                "members",
                format!(
                    "an ensemble combines at least 2 models, {} given",
                    self.members.len()
                ),
            ));
        }
        if self.horizon == 0 {
            return Err(Error::invalid("horizon", "must be at least 1"));
        }
        for (i, m) in self.members.iter().enumerate() {
            m.validate()?;
            if matches!(m, ModelSpec::Ensemble(_)) {
                return Err(Error::invalid(
                    format!("members[{i}]"),
                    "an ensemble cannot be a member of another ensemble; list its members instead",
                ));
            }
            if let Some(n) = m.as_neural() {
                if n.horizon() != self.horizon {
                    return Err(Error::invalid(
                        format!("members[{i}].horizon"),
                        format!(
                            "{} forecasts {} steps, the ensemble {}",
                            n.name(),
                            n.horizon(),
                            self.horizon
                        ),
                    ));
                }
                if !n.hist_exog().is_empty() || !n.futr_exog().is_empty() {
                    return Err(Error::invalid(
                        format!("members[{i}]"),
                        format!(
                            "{} reads exogenous columns; ensembles combine models of the target alone for now",
                            n.name()
                        ),
                    ));
                }
            }
        }
        if self.per_step && !self.combiner.learns_weights() {
            return Err(Error::invalid(
                "per_step",
                format!(
                    "the {} combiner has no weights to learn per step (inverse-error and convex do)",
                    self.combiner.name()
                ),
            ));
        }
        if let Some(v) = self.validation_rows {
            if v < self.horizon {
                return Err(Error::invalid(
                    "validation_rows",
                    format!(
                        "{v} rows hold no {}-step window; give at least the horizon",
                        self.horizon
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The validation rows for a series of `n` rows: the given ones, else
    /// `max(⌈20% of n⌉, 2·horizon)`.
    pub fn validation_rows_for(&self, n: usize) -> usize {
        self.validation_rows.unwrap_or_else(|| {
            ((Self::VALIDATION_SHARE * n as f64).ceil() as usize).max(2 * self.horizon)
        })
    }

    /// The JSON object of the spec with `"model": "ensemble"`.
    pub(crate) fn to_json(&self) -> Result<serde_json::Value> {
        let mut value =
            serde_json::to_value(self).map_err(|e| Error::invalid("ensemble", e.to_string()))?;
        if let Some(o) = value.as_object_mut() {
            o.insert("model".into(), ENSEMBLE.into());
        }
        Ok(value)
    }

    /// Parses the JSON object of an ensemble (with its `"model": "ensemble"`), validated.
    pub(crate) fn from_json(mut value: serde_json::Value) -> Result<Self> {
        if let Some(o) = value.as_object_mut() {
            o.remove("model");
        }
        let spec: EnsembleSpec = serde_json::from_value(value)
            .map_err(|e| Error::invalid("model spec", format!("{ENSEMBLE}: {e}")))?;
        spec.validate()?;
        Ok(spec)
    }
}
