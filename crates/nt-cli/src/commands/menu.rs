//! The menu of models the CLI offers, by name: every entry of `nt_models::catalog()`, classical
//! ones configured from shared options, neural ones from the training flags.

use anyhow::Result;
use nt_classical::ClassicalOptions;
use nt_core::{Fit, FitDyn, Predict, TimeSeries};
use nt_models::{ModelSpec, NameOptions};

use crate::neural_flags::{is_neural, NeuralFlags};

/// A named model the CLI can fit.
#[derive(Debug, Clone)]
pub(crate) struct MenuModel {
    /// Name as the user typed it (and as reports show it).
    pub(crate) name: String,
    /// Its configuration.
    pub(crate) spec: ModelSpec,
}

impl Fit for MenuModel {
    type Fitted = Box<dyn Predict>;
    /// Fits classical models; trains neural ones on the rows given (their validation tail
    /// included).
    fn fit(&self, train: &TimeSeries, target: &str) -> nt_core::Result<Self::Fitted> {
        self.spec.fit_dyn(train, target)
    }
}

/// The classical model names, in menu order (the default set of `backtest` and `demo`).
pub(crate) fn classical_names() -> Vec<String> {
    nt_models::catalog()
        .iter()
        .filter(|e| !e.neural)
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

/// The models named in `names` (every classical model when `None`): classical ones configured
/// from `opts`, neural ones from `neural` at `neural_input_size` and `opts.horizon`. Unknown names
/// are an error listing the known ones; duplicates are dropped.
pub(crate) fn build(
    names: Option<&[String]>,
    opts: &ClassicalOptions,
    neural: &NeuralFlags,
    neural_input_size: usize,
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
        let spec = if is_neural(&name) {
            ModelSpec::Neural(neural.spec(&name, neural_input_size, opts.horizon)?)
        } else {
            ModelSpec::from_name(&name, opts.horizon, &name_opts).map_err(|e| match e {
                nt_models::Error::InvalidInput { .. } => {
                    anyhow::Error::from(crate::exit::UsageError(e.to_string()))
                }
                other => other.into(),
            })?
        };
        out.push(MenuModel { name, spec });
    }
    if out.is_empty() {
        return Err(crate::exit::UsageError("--models: no model named".into()).into());
    }
    Ok(out)
}
