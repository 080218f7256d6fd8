//! The menu of models the CLI offers, by name, built from shared options.

use anyhow::Result;
use nt_classical::{ClassicalOptions, ClassicalSpec};
use nt_core::{Fit, Predict, TimeSeries};

/// A named model the CLI can fit.
#[derive(Debug, Clone)]
pub(crate) struct MenuModel {
    /// Name as the user typed it (and as reports show it).
    pub(crate) name: String,
    /// Its configuration.
    pub(crate) spec: ClassicalSpec,
}

impl Fit for MenuModel {
    type Fitted = Box<dyn Predict>;
    fn fit(&self, train: &TimeSeries, target: &str) -> nt_core::Result<Self::Fitted> {
        self.spec.fit_boxed(train, target)
    }
}

/// Every model name the CLI knows, in menu order.
pub(crate) fn all_names() -> Vec<String> {
    ClassicalSpec::NAMES.iter().map(|s| s.to_string()).collect()
}

/// The models named in `names` (all of them when `None`), each configured from `opts`. Unknown names
/// are an error listing the known ones; duplicates are dropped.
pub(crate) fn build(names: Option<&[String]>, opts: &ClassicalOptions) -> Result<Vec<MenuModel>> {
    let names = names.map(<[String]>::to_vec).unwrap_or_else(all_names);
    let mut out: Vec<MenuModel> = Vec::new();
    for raw in names {
        let name = raw.trim().to_ascii_lowercase();
        if name.is_empty() || out.iter().any(|m| m.name == name) {
            continue;
        }
        let spec = ClassicalSpec::from_name(&name, opts)?;
        out.push(MenuModel { name, spec });
    }
    if out.is_empty() {
        return Err(crate::exit::UsageError("--models: no model named".into()).into());
    }
    Ok(out)
}
