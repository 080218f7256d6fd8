//! The ensemble flags (`--members`, `--combiner`, `--per-step`, `--no-refit`,
//! `--validation-rows`) of `nt train`, `nt backtest` and `nt forecast`: the members are
//! configured from the same flags as they would be alone (season, input size, the neural
//! training flags), then combined into one [`ModelSpec::Ensemble`].

use anyhow::Result;
use clap::Args;
use nt_models::ensemble::{Combiner, EnsembleSpec, ENSEMBLE};
use nt_models::{EnsembleModel, ModelSpec};

use crate::exit::UsageError;

/// How `--model ensemble` (or `ensemble` in `--models`) is built.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct EnsembleArgs {
    /// The ensemble's members, comma-separated model names (e.g. ets,mstl,nhits), each
    /// configured from the other flags as it would be alone. Default: ets,theta,seasonal-naive.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub(crate) members: Option<Vec<String>>,
    /// How the ensemble combines its members: mean, median, inverse-error (weights 1/MAE on
    /// the validation tail) or convex (non-negative weights summing to one that minimize the
    /// validation squared error). Default: mean.
    #[arg(long, value_name = "mean|median|inverse-error|convex")]
    pub(crate) combiner: Option<String>,
    /// Learn the ensemble's weights per horizon step (inverse-error and convex).
    #[arg(long)]
    pub(crate) per_step: bool,
    /// Keep the members fitted before the validation tail instead of refitting them on every row.
    #[arg(long)]
    pub(crate) no_refit: bool,
    /// Rows at the end the ensemble's weights are learned on (default: max(20% of rows, 2·H)).
    #[arg(long, value_name = "N")]
    pub(crate) validation_rows: Option<usize>,
}

impl EnsembleArgs {
    fn any(&self) -> bool {
        self.members.is_some()
            || self.combiner.is_some()
            || self.per_step
            || self.no_refit
            || self.validation_rows.is_some()
    }

    /// Refuses the flags (exit 2) when none of `models` is `ensemble`, the one model that reads
    /// them.
    pub(crate) fn check_used<'a>(&self, mut models: impl Iterator<Item = &'a str>) -> Result<()> {
        if self.any() && !models.any(|m| m.trim().eq_ignore_ascii_case(ENSEMBLE)) {
            return Err(UsageError(
                "--members, --combiner, --per-step, --no-refit and --validation-rows configure \
                 `ensemble`; add ensemble to the models, or leave them out"
                    .into(),
            )
            .into());
        }
        Ok(())
    }

    /// The member names (the defaults without `--members`), trimmed and lowercased; an
    /// ensemble among them is a usage error.
    pub(crate) fn member_names(&self) -> Result<Vec<String>> {
        let names: Vec<String> = match &self.members {
            Some(m) => m
                .iter()
                .map(|n| n.trim().to_ascii_lowercase())
                .filter(|n| !n.is_empty())
                .collect(),
            None => nt_models::ensemble::DEFAULT_MEMBERS
                .iter()
                .map(|s| s.to_string())
                .collect(),
        };
        if names.iter().any(|n| n == ENSEMBLE) {
            return Err(usage("--members: an ensemble cannot be its own member"));
        }
        Ok(names)
    }

    /// The ensemble of `members` (specs built by the caller from the member names) over
    /// `horizon` steps with these flags, validated (a bad combination is a usage error).
    pub(crate) fn spec(&self, members: Vec<ModelSpec>, horizon: usize) -> Result<ModelSpec> {
        let combiner = match &self.combiner {
            Some(c) => Combiner::from_name(&c.trim().to_ascii_lowercase())
                .map_err(|e| usage(format!("--combiner: {e}")))?,
            None => Combiner::Mean,
        };
        let spec = EnsembleSpec {
            per_step: self.per_step,
            refit: !self.no_refit,
            validation_rows: self.validation_rows,
            ..EnsembleSpec::new(members, combiner, horizon)
        };
        spec.validate()
            .map_err(|e| usage(format!("--model ensemble: {e}")))?;
        Ok(ModelSpec::Ensemble(Box::new(spec)))
    }

    /// Replaces the default spec of every `ensemble` among `models` by the one these flags
    /// build, its members from `build_members` (the menu, configured as each member alone).
    pub(crate) fn apply(
        &self,
        models: &mut [crate::commands::menu::MenuModel],
        horizon: usize,
        build_members: &dyn Fn(&[String]) -> Result<Vec<ModelSpec>>,
    ) -> Result<()> {
        self.check_used(models.iter().map(|m| m.name.as_str()))?;
        for m in models.iter_mut().filter(|m| m.name == ENSEMBLE) {
            let members = build_members(&self.member_names()?)?;
            m.spec = self.spec(members, horizon)?;
        }
        Ok(())
    }
}

fn usage(msg: impl Into<String>) -> anyhow::Error {
    UsageError(msg.into()).into()
}

/// One line on a fitted ensemble: its members with their weights (pooled, or the first and
/// last step's) and validation MAE, and the ensemble's own.
pub(crate) fn summary_line(e: &EnsembleModel) -> String {
    let v = e.validation();
    let spec = e.ensemble_spec();
    let members: Vec<String> = e
        .members()
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let w = match e.weights() {
                [] => String::new(),
                [first, .., last] if spec.per_step => {
                    format!(
                        " weight {:.3} (step 1) .. {:.3} (step {})",
                        first[i],
                        last[i],
                        e.weights().len()
                    )
                }
                [first, ..] => format!(" weight {:.3}", first[i]),
            };
            format!("{}{w}, validation MAE {:.4}", m.name(), v.member_mae[i])
        })
        .collect();
    format!(
        "ensemble ({} combiner{}): {}; combined validation MAE {:.4} over {} origins of the last {} rows{}",
        spec.combiner.name(),
        if spec.per_step { ", per step" } else { "" },
        members.join("; "),
        v.ensemble_mae,
        v.origins,
        v.rows - v.fit_rows,
        if v.refitted { "; members refitted on every row" } else { "" }
    )
}

/// The ensemble's summary as JSON: combiner, members, weights, validation errors.
pub(crate) fn summary_json(e: &EnsembleModel) -> serde_json::Value {
    let v = e.validation();
    serde_json::json!({
        "combiner": e.ensemble_spec().combiner.name(),
        "per_step": e.ensemble_spec().per_step,
        "members": e.members().iter().map(|m| m.name()).collect::<Vec<_>>(),
        "weights": e.weights(),
        "validation": v,
    })
}
