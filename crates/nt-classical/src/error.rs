//! The error type of `nt-classical`.

/// Everything that can go wrong when configuring, fitting or predicting a classical model.
///
/// Converts into [`nt_core::Error`] at the `Fit`/`Predict` boundary: parameter problems become
/// `InvalidParameter`, short data `InsufficientHistory`, errors that came from `nt-core` (a
/// missing column, a non-finite value naming its column and row) stay what they were, and the
/// rest become `Model { model, reason }`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration field is outside its valid range.
    #[error("{model}: invalid parameter `{name}`: {reason}")]
    InvalidParameter {
        /// The model the parameter belongs to.
        model: &'static str,
        /// The field's name, as the user spells it.
        name: &'static str,
        /// What was expected.
        reason: String,
    },
    /// Fewer rows than the model needs to fit or to forecast.
    #[error("{model}: insufficient history: needed at least {needed} rows, got {got}")]
    InsufficientHistory {
        /// The model.
        model: &'static str,
        /// Rows needed.
        needed: usize,
        /// Rows given.
        got: usize,
    },
    /// A value that must be strictly positive is not (multiplicative ETS components, ratio
    /// normalization).
    #[error("{model}: value {value} at row {index} of column `{column}` must be > 0 ({why})")]
    NonPositive {
        /// The model.
        model: &'static str,
        /// The column.
        column: String,
        /// 0-based row.
        index: usize,
        /// The value found.
        value: f64,
        /// Which part of the model needs positive values.
        why: &'static str,
    },
    /// A forecast longer than the model was fitted for (direct multi-horizon models).
    #[error("{model}: horizon {requested} exceeds the fitted horizon {fitted}")]
    HorizonTooLong {
        /// The model.
        model: &'static str,
        /// Horizon the model was fitted for.
        fitted: usize,
        /// Horizon requested.
        requested: usize,
    },
    /// A model name that [`crate::ClassicalSpec::from_name`] does not know.
    #[error("unknown classical model `{name}`; known models: {known}")]
    UnknownModel {
        /// The name given.
        name: String,
        /// The known names, comma separated.
        known: String,
    },
    /// No ETS candidate could be fitted (every candidate failed or had an undefined AICc).
    #[error(
        "ets: no candidate model could be fitted to {n} rows (spec {spec}, season {season_length})"
    )]
    NoEtsModel {
        /// Model specification searched, e.g. `ZZZ`.
        spec: String,
        /// Season length.
        season_length: usize,
        /// Number of training rows.
        n: usize,
    },
    /// The seasonal decomposition (augurs/stlrs MSTL) failed.
    #[error("mstl: decomposition failed: {reason}")]
    Decomposition {
        /// The message of the decomposition library.
        reason: String,
    },
    /// linfa's elastic net failed for one horizon step.
    #[error("elasticnet: fitting horizon step {step} failed: {reason}")]
    Regression {
        /// 1-based horizon step.
        step: usize,
        /// The message of the regression library.
        reason: String,
    },
    /// An ARIMA fit broke down (a non-finite likelihood) or no AutoARIMA candidate could be
    /// fitted.
    #[error("{model}: {reason}")]
    Arima {
        /// `arima` or `autoarima`.
        model: &'static str,
        /// What failed, naming the orders and the number of rows.
        reason: String,
    },
    /// An error from `nt-core` (missing column, non-finite value, bad horizon or quantile).
    #[error(transparent)]
    Core(#[from] nt_core::Error),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<Error> for nt_core::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Core(inner) => inner,
            Error::InvalidParameter {
                model,
                name,
                reason,
            } => nt_core::Error::invalid(name, format!("{model}: {reason}")),
            Error::InsufficientHistory { needed, got, .. } => {
                nt_core::Error::InsufficientHistory { needed, got }
            }
            Error::UnknownModel { .. } => nt_core::Error::invalid("model", e.to_string()),
            // GARCH's log returns need prices > 0: the user's data, not a model failure.
            Error::NonPositive {
                model: "garch",
                ref column,
                ..
            } => nt_core::Error::invalid(column.clone(), e.to_string()),
            Error::HorizonTooLong { model, .. } => nt_core::Error::Model {
                model: model.to_string(),
                reason: e.to_string(),
            },
            other => {
                let model = match &other {
                    Error::NonPositive { model, .. } => model,
                    Error::NoEtsModel { .. } => "ets",
                    Error::Decomposition { .. } => "mstl",
                    Error::Regression { .. } => "elasticnet",
                    Error::Arima { model, .. } => model,
                    _ => "classical",
                };
                nt_core::Error::model(model.to_string(), &other)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversion_keeps_the_core_variants() {
        let e: nt_core::Error = Error::InsufficientHistory {
            model: "naive",
            needed: 2,
            got: 1,
        }
        .into();
        assert!(matches!(
            e,
            nt_core::Error::InsufficientHistory { needed: 2, got: 1 }
        ));
        let e: nt_core::Error = Error::InvalidParameter {
            model: "ets",
            name: "season_length",
            reason: "must be at least 1".into(),
        }
        .into();
        assert!(
            matches!(&e, nt_core::Error::InvalidParameter { name, .. } if name == "season_length")
        );
        let core = nt_core::Error::NonFinite {
            column: "y".into(),
            index: 3,
            value: f64::NAN,
        };
        let e: nt_core::Error = Error::Core(core).into();
        assert!(matches!(e, nt_core::Error::NonFinite { index: 3, .. }));
        let e: nt_core::Error = Error::NoEtsModel {
            spec: "ZZZ".into(),
            season_length: 24,
            n: 5,
        }
        .into();
        assert!(
            matches!(&e, nt_core::Error::Model { model, .. } if model == "ets"),
            "{e}"
        );
    }
}
