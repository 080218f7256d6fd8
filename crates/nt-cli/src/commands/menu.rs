//! The menu of models the CLI offers, by name: every entry of `nt_models::catalog()`, classical
//! ones configured from shared options, neural ones from the training flags.

use std::sync::{Arc, Mutex};

use anyhow::Result;
use nt_classical::ClassicalOptions;
use nt_core::{Fit, FitDyn, Forecast, Horizon, Predict, TimeSeries};
use nt_models::{Forecaster, ModelSpec, NameOptions};

use crate::neural_flags::{is_neural, NeuralFlags};
use crate::settings::HybridChoice;

/// A named model the CLI can fit.
#[derive(Debug, Clone)]
pub(crate) struct MenuModel {
    /// Name as the user typed it (and as reports show it).
    pub(crate) name: String,
    /// Its configuration.
    pub(crate) spec: ModelSpec,
    /// For a neural model in a backtest over several columns: the one global model trained
    /// over all of them (as `nt train --target all` trains), shared by every column's run.
    pub(crate) global: Option<GlobalFit>,
}

impl MenuModel {
    /// A model fitted per column.
    pub(crate) fn new(name: String, spec: ModelSpec) -> Self {
        Self {
            name,
            spec,
            global: None,
        }
    }
}

/// One neural model trained over several columns at once, cached by the rows it was trained
/// on: the backtest of each column asks for a fit on the same rows and gets the same model.
#[derive(Clone)]
pub(crate) struct GlobalFit {
    /// The columns it is trained on.
    pub(crate) targets: Vec<String>,
    /// The last fit: (rows, first and last timestamp) and the model.
    cache: Arc<Mutex<Option<CachedFit>>>,
}

/// Identifies the rows a fit saw: their count and first and last timestamps.
type FitKey = (usize, Option<i64>, Option<i64>);

/// The rows a global model was trained on, and the model.
type CachedFit = (FitKey, Arc<dyn Forecaster>);

impl GlobalFit {
    /// A global fit over `targets`.
    pub(crate) fn new(targets: Vec<String>) -> Self {
        Self {
            targets,
            cache: Arc::new(Mutex::new(None)),
        }
    }
}

impl std::fmt::Debug for GlobalFit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GlobalFit")
            .field("targets", &self.targets)
            .finish_non_exhaustive()
    }
}

/// A shared global model forecasting one of its columns.
struct ColumnForecaster {
    model: Arc<dyn Forecaster>,
    column: String,
}

impl std::fmt::Debug for ColumnForecaster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ColumnForecaster")
            .field("model", &self.model.name())
            .field("column", &self.column)
            .finish()
    }
}

impl Predict for ColumnForecaster {
    fn predict(&self, history: &TimeSeries, horizon: Horizon) -> nt_core::Result<Forecast> {
        self.model
            .predict_series(history, &self.column, None, horizon.get())
            .map_err(|e| nt_core::Error::model(self.model.name(), e.to_string()))
    }
}

impl Fit for MenuModel {
    type Fitted = Box<dyn Predict>;
    /// Fits classical models; trains neural ones on the rows given (their validation tail
    /// included), once over every column when [`global`](Self::global) is set.
    fn fit(&self, train: &TimeSeries, target: &str) -> nt_core::Result<Self::Fitted> {
        let (Some(global), ModelSpec::Neural(_)) = (&self.global, &self.spec) else {
            return self.spec.fit_dyn(train, target);
        };
        let ts = train.timestamps();
        let key: FitKey = (train.len(), ts.first().copied(), ts.last().copied());
        let mut cache = global.cache.lock().unwrap_or_else(|p| p.into_inner());
        let model = match cache.as_ref() {
            Some((k, m)) if *k == key => m.clone(),
            _ => {
                let targets: Vec<&str> = global.targets.iter().map(String::as_str).collect();
                let trained = nt_models::train(
                    train,
                    &targets,
                    &self.spec,
                    &nt_neural::TrainOptions::default(),
                    &mut |_| {},
                )
                .map_err(|e| nt_core::Error::model(self.spec.name(), e.to_string()))?;
                let model: Arc<dyn Forecaster> = Arc::from(trained.model);
                *cache = Some((key, model.clone()));
                model
            }
        };
        Ok(Box::new(ColumnForecaster {
            model,
            column: target.to_string(),
        }))
    }
}

/// The classical model names, in menu order (the default set of `backtest` and `demo`).
pub(crate) fn classical_names() -> Vec<String> {
    nt_models::catalog()
        .iter()
        // GARCH models need prices > 0 (log returns): asked for by name only.
        .filter(|e| !e.neural && nt_classical::in_default_menu(e.name))
        // An ensemble fits its members twice: asked for by name only.
        .filter(|e| e.name != nt_models::ensemble::ENSEMBLE)
        .map(|e| e.name.to_string())
        .collect()
}

/// `--model`'s help: every model name with its summary, from the catalog.
pub(crate) fn model_help() -> String {
    let mut out = String::from("The model to train (default: the --config's model, else nhits):");
    for e in nt_models::catalog() {
        out.push_str(&format!("\n  {:<22} {}", e.name, e.summary));
    }
    out
}

/// `--model`'s short help: the names.
pub(crate) fn model_names_help() -> String {
    let names: Vec<&str> = nt_models::catalog().iter().map(|e| e.name).collect();
    format!(
        "The model to train (default: the --config's, else nhits): {}",
        names.join(", ")
    )
}

/// The `hybrid` of `choice` (its neural model, default nhits, with every training flag of
/// `neural` at `input_size` and `horizon`; its seasons, default from the data's season), or of a
/// hybrid `--config` with the flags over it. A bad choice is a usage error naming the flag.
pub(crate) fn hybrid_spec(
    neural: &NeuralFlags,
    choice: &HybridChoice,
    input_size: usize,
    horizon: usize,
) -> Result<ModelSpec> {
    let usage = |msg: String| anyhow::Error::from(crate::exit::UsageError(msg));
    let (net, config_decompose) = match neural.config_spec()? {
        Some(ModelSpec::Hybrid(h)) => {
            if let Some(name) = &choice.neural {
                if name != h.neural.name() {
                    return Err(usage(format!(
                        "--neural {name} disagrees with the --config's neural model `{}`; give one of them",
                        h.neural.name()
                    )));
                }
            }
            let mut n = h.neural.clone();
            n.set_window(input_size, horizon);
            if neural.has_exog() {
                n.set_exog(neural.hist_exog.clone(), neural.futr_exog.clone())
                    .map_err(|e| usage(format!("--hist-exog/--futr-exog: {e}")))?;
            }
            neural.apply(n.train_config_mut())?;
            (n, Some(h.decompose))
        }
        _ => {
            let name = choice.neural.as_deref().unwrap_or("nhits");
            if name == "hybrid" || !is_neural(name) {
                return Err(usage(format!(
                    "--neural {name}: expected a neural model ({})",
                    nt_models::catalog()
                        .iter()
                        .filter(|e| e.neural && e.name != "hybrid")
                        .map(|e| e.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            (neural.spec(name, input_size, horizon)?, None)
        }
    };
    let seasons = match (&choice.seasons, &config_decompose) {
        (Some(s), _) => s.clone(),
        (None, Some(d)) => match d {
            nt_models::hybrid::Decompose::Mstl(m) => m.seasons.clone(),
            _ => return Err(usage("--config: an unknown decomposition".into())),
        },
        (None, None) => nt_models::hybrid_seasons(choice.season)
            .map_err(|e| usage(format!("--seasons: {e}")))?,
    };
    let cycles = match &config_decompose {
        Some(nt_models::hybrid::Decompose::Mstl(m)) => m.cycles,
        _ => nt_models::hybrid::DEFAULT_CYCLES,
    };
    let spec = nt_models::HybridSpec {
        decompose: nt_models::hybrid::Decompose::Mstl(nt_models::hybrid::MstlDecompose {
            seasons,
            cycles,
        }),
        neural: net,
    };
    spec.validate()
        .map_err(|e| usage(format!("--model hybrid: {e}")))?;
    Ok(ModelSpec::Hybrid(Box::new(spec)))
}

/// The models named in `names` (every classical model when `None`): classical ones configured
/// from `opts`, neural ones from `neural` at `neural_input_size` and `opts.horizon`, `hybrid`
/// from `hybrid` (see [`hybrid_spec`]). Unknown names are an error listing the known ones;
/// duplicates are dropped.
pub(crate) fn build(
    names: Option<&[String]>,
    opts: &ClassicalOptions,
    neural: &NeuralFlags,
    neural_input_size: usize,
    hybrid: &HybridChoice,
) -> Result<Vec<MenuModel>> {
    let names = names
        .map(<[String]>::to_vec)
        .unwrap_or_else(classical_names);
    if neural.has_exog() {
        // The backtest scores one column at a time and hands models that column's history only.
        return Err(crate::exit::UsageError(
            "--hist-exog/--futr-exog: backtests evaluate univariate models; train and predict a model with exogenous inputs with `nt train` and `nt predict`".into(),
        )
        .into());
    }
    let name_opts = NameOptions {
        classical: opts.clone(),
        neural_input_size,
    };
    let mut out: Vec<MenuModel> = Vec::new();
    for raw in names {
        let name = raw.trim().to_ascii_lowercase();
        if name.is_empty() || out.iter().any(|m| m.name == name) {
            continue;
        }
        let spec = if name == "hybrid" {
            hybrid_spec(neural, hybrid, neural_input_size, opts.horizon)?
        } else if is_neural(&name) {
            ModelSpec::Neural(neural.spec(&name, neural_input_size, opts.horizon)?)
        } else {
            ModelSpec::from_name(&name, opts.horizon, &name_opts).map_err(|e| match e {
                nt_models::Error::InvalidInput { .. } => {
                    anyhow::Error::from(crate::exit::UsageError(e.to_string()))
                }
                other => other.into(),
            })?
        };
        out.push(MenuModel::new(name, spec));
    }
    if out.is_empty() {
        return Err(crate::exit::UsageError("--models: no model named".into()).into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_global_fit_trains_once_over_every_column_and_serves_each() {
        let n = 240;
        let col = |name: &str, phase: f64| nt_core::Column {
            name: name.into(),
            values: (0..n)
                .map(|i| 10.0 + (i as f64 * std::f64::consts::TAU / 24.0 + phase).sin())
                .collect(),
        };
        let series = TimeSeries::new(
            (0..n as i64).map(|i| i * 3_600_000).collect(),
            vec![col("a", 0.0), col("b", 1.0)],
        )
        .unwrap();
        let flags = NeuralFlags {
            max_steps: Some(3),
            ..NeuralFlags::default()
        };
        let spec = ModelSpec::Neural(flags.spec("dlinear", 24, 6).unwrap());
        let mut m = MenuModel::new("dlinear".into(), spec);
        let global = GlobalFit::new(vec!["a".into(), "b".into()]);
        m.global = Some(global.clone());
        let fa = m.fit(&series, "a").unwrap();
        let first = global.cache.lock().unwrap().as_ref().unwrap().1.clone();
        let fb = m.fit(&series, "b").unwrap();
        let second = global.cache.lock().unwrap().as_ref().unwrap().1.clone();
        // One model, trained on both columns, shared by both columns' runs.
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(first.targets(), ["a".to_string(), "b".to_string()]);
        let h = Horizon::new(6).unwrap();
        let pa = fa.predict(&series, h).unwrap();
        let pb = fb.predict(&series, h).unwrap();
        assert_ne!(
            pa.point_values(),
            pb.point_values(),
            "each column forecasts its own history"
        );
        // Other rows: a new fit.
        m.fit(&series.slice(0..200), "a").unwrap();
        let third = global.cache.lock().unwrap().as_ref().unwrap().1.clone();
        assert!(!Arc::ptr_eq(&first, &third));
    }
}
