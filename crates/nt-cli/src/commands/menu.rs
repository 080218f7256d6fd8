//! The menu of models the CLI offers, by name: classical ones configured from shared options,
//! neural ones from the training flags.

use anyhow::Result;
use nt_classical::{ClassicalOptions, ClassicalSpec};
use nt_core::{Fit, Predict, TimeSeries};
use nt_neural::NeuralSpec;

use crate::neural_flags::{NeuralFlags, NEURAL_NAMES};

/// What a menu entry fits.
#[derive(Debug, Clone)]
pub(crate) enum MenuSpec {
    /// A classical model.
    Classical(ClassicalSpec),
    /// A neural model, trained by `fit` on the rows it is given (its validation tail included).
    Neural(Box<NeuralSpec>),
}

/// A named model the CLI can fit.
#[derive(Debug, Clone)]
pub(crate) struct MenuModel {
    /// Name as the user typed it (and as reports show it).
    pub(crate) name: String,
    /// Its configuration.
    pub(crate) spec: MenuSpec,
}

impl Fit for MenuModel {
    type Fitted = Box<dyn Predict>;
    fn fit(&self, train: &TimeSeries, target: &str) -> nt_core::Result<Self::Fitted> {
        match &self.spec {
            MenuSpec::Classical(spec) => spec.fit_boxed(train, target),
            MenuSpec::Neural(spec) => {
                let trained =
                    nt_neural::train(train, &[target], spec, &Default::default(), &mut |_| {})?;
                Ok(Box::new(trained.model))
            }
        }
    }
}

/// The classical model names, in menu order (the default set of `backtest` and `demo`).
pub(crate) fn classical_names() -> Vec<String> {
    ClassicalSpec::NAMES.iter().map(|s| s.to_string()).collect()
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
    let mut out: Vec<MenuModel> = Vec::new();
    for raw in names {
        let name = raw.trim().to_ascii_lowercase();
        if name.is_empty() || out.iter().any(|m| m.name == name) {
            continue;
        }
        let spec = if NEURAL_NAMES.contains(&name.as_str()) {
            MenuSpec::Neural(Box::new(neural.spec(
                &name,
                neural_input_size,
                opts.horizon,
            )?))
        } else {
            match ClassicalSpec::from_name(&name, opts) {
                Ok(spec) => MenuSpec::Classical(spec),
                Err(nt_classical::Error::UnknownModel { .. }) => {
                    return Err(crate::exit::UsageError(format!(
                        "unknown model `{name}`; known: {}, {}",
                        ClassicalSpec::NAMES.join(", "),
                        NEURAL_NAMES.join(", ")
                    ))
                    .into())
                }
                Err(e) => return Err(e.into()),
            }
        };
        out.push(MenuModel { name, spec });
    }
    if out.is_empty() {
        return Err(crate::exit::UsageError("--models: no model named".into()).into());
    }
    Ok(out)
}
