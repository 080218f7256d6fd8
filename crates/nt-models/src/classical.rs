//! [`ClassicalModel`]: a fitted classical model with its spec, saved as a model directory
//! (`model.json` + `fitted.json`) and served like any [`Forecaster`].

use std::path::Path;

use nt_classical::{ClassicalSpec, FittedClassical};
use nt_core::{Forecast, Horizon, Predict, TimeSeries};
use nt_neural::{ModelMeta, WindowInputs};

use crate::forecaster::check_horizon;
use crate::persist::{write_model_dir, FITTED_JSON};
use crate::{Error, Forecaster, ModelSpec, Result};

/// A fitted classical model (naive, seasonal naive, drift, mean, ETS, MSTL, elastic net): the
/// spec, the fitted state (ETS's selected model, parameters and initial state; the elastic
/// net's coefficients; ...), the column it was fitted on and its metadata. Forecasting filters
/// the given history with the fitted parameters; it never refits.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassicalModel {
    spec: ClassicalSpec,
    fitted: FittedClassical,
    target: String,
    meta: ModelMeta,
}

impl ClassicalModel {
    /// Fits `spec` on column `target` of `train`.
    pub fn fit(spec: &ClassicalSpec, train: &TimeSeries, target: &str) -> Result<Self> {
        spec.validate()?;
        let fitted = spec.fit_model(train, target)?;
        let meta = ModelMeta {
            // The whole series as loaded: the same fingerprint every command prints for a file.
            data_fingerprint: Some(train.fingerprint()),
            train_rows: Some(train.len()),
            metrics: None,
            origin: "nt-classical".into(),
        };
        Ok(Self {
            spec: spec.clone(),
            fitted,
            target: target.to_string(),
            meta,
        })
    }

    /// Rebuilds a model from its parts (what loading a directory does).
    pub fn from_parts(
        spec: ClassicalSpec,
        fitted: FittedClassical,
        target: String,
        meta: ModelMeta,
    ) -> Self {
        Self {
            spec,
            fitted,
            target,
            meta,
        }
    }

    /// The fitted state.
    pub fn fitted(&self) -> &FittedClassical {
        &self.fitted
    }

    /// The history length each model kind needs at least (more is used: the models filter or
    /// average the whole history they are given).
    fn needed(&self) -> usize {
        match &self.spec {
            ClassicalSpec::SeasonalNaive(c) => c.season,
            ClassicalSpec::Drift(_) => 2,
            ClassicalSpec::ElasticNet(c) => c.input_size,
            // Two prices give one return to filter (and the backcast).
            ClassicalSpec::Garch(_) => 2,
            ClassicalSpec::Ets(c) => 2 * c.season_length.max(1),
            ClassicalSpec::Mstl(c) => 2 * c.periods.iter().copied().max().unwrap_or(1),
            ClassicalSpec::Theta(_)
            | ClassicalSpec::OptimizedTheta(_)
            | ClassicalSpec::DynamicTheta(_)
            | ClassicalSpec::DynamicOptimizedTheta(_) => nt_classical::THETA_MIN_ROWS,
            // One row more than the differencing consumes.
            ClassicalSpec::Arima(c) => c.order[1] + c.seasonal_order[1] * c.season_length + 1,
            // The chosen model's differencing, known once fitted.
            ClassicalSpec::AutoArima(_) => match &self.fitted {
                FittedClassical::Arima(f) | FittedClassical::AutoArima(f) => f.needed(),
                _ => 1,
            },
            _ => 1,
        }
    }
}

impl Forecaster for ClassicalModel {
    fn spec(&self) -> ModelSpec {
        ModelSpec::Classical(self.spec.clone())
    }
    fn name(&self) -> &'static str {
        self.spec.name()
    }
    fn targets(&self) -> &[String] {
        std::slice::from_ref(&self.target)
    }
    fn meta(&self) -> &ModelMeta {
        &self.meta
    }
    fn min_history(&self) -> usize {
        self.needed()
    }
    fn window(&self) -> Option<usize> {
        None
    }
    fn max_horizon(&self) -> Option<usize> {
        self.fitted.max_horizon()
    }
    fn params(&self) -> usize {
        serde_json::to_value(&self.fitted)
            .map(|v| count_numbers(&v))
            .unwrap_or(0)
    }
    fn quantile_levels(&self) -> Vec<f64> {
        let mut q: Vec<f64> = self
            .spec
            .levels()
            .iter()
            .flat_map(|c| [(1.0 - c) / 2.0, (1.0 + c) / 2.0])
            // Rounded to 1e-9, so level 0.8 is advertised as 0.1 and 0.9, not 0.09999999999999998
            // (bands are looked up with a 1e-9 tolerance).
            .map(|q| (q * 1e9).round() / 1e9)
            .collect();
        q.sort_by(f64::total_cmp);
        q.dedup_by(|a, b| (*a - *b).abs() < 1e-12);
        q
    }
    fn forecast(&self, input: &WindowInputs<'_>, horizon: usize) -> Result<Forecast> {
        check_horizon(horizon, self.fitted.max_horizon())?;
        if !input.hist.is_empty() || !input.futr.is_empty() {
            return Err(Error::invalid(
                "exog",
                format!("{} reads no exogenous columns", self.spec.name()),
            ));
        }
        let history = TimeSeries::from_values(self.target.clone(), input.target.to_vec());
        let horizon = Horizon::new(horizon)?;
        Ok(self.fitted.predict(&history, horizon)?)
    }
    fn predict_series(
        &self,
        history: &TimeSeries,
        column: &str,
        _future: Option<&TimeSeries>,
        horizon: usize,
    ) -> Result<Forecast> {
        check_horizon(horizon, self.fitted.max_horizon())?;
        // With its real timestamps, so ETS can continue from its training state when the
        // history is the training data's continuation.
        let mut series = history.select(&[column])?;
        if column != self.target {
            let values = series.column(column)?.to_vec();
            series = TimeSeries::new(
                series.timestamps().to_vec(),
                vec![nt_core::Column {
                    name: self.target.clone(),
                    values,
                }],
            )?;
        }
        Ok(self.fitted.predict(&series, Horizon::new(horizon)?)?)
    }
    fn save(&self, dir: &Path) -> Result<()> {
        let bytes = serde_json::to_vec(&self.fitted).map_err(|e| {
            Error::model_dir(dir.display().to_string(), format!("cannot serialize: {e}"))
        })?;
        write_model_dir(
            dir,
            &ModelSpec::Classical(self.spec.clone()),
            std::slice::from_ref(&self.target),
            &self.meta,
            self.params(),
            FITTED_JSON,
            &bytes,
        )
    }
}

/// Number of numeric leaves of a JSON value (the fitted state's coefficients and states).
fn count_numbers(v: &serde_json::Value) -> usize {
    match v {
        serde_json::Value::Number(_) => 1,
        serde_json::Value::Array(a) => a.iter().map(count_numbers).sum(),
        serde_json::Value::Object(o) => o.values().map(count_numbers).sum(),
        _ => 0,
    }
}
