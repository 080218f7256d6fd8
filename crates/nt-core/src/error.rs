//! The error type of `nt-core`, shared by the `Fit`/`Predict` traits.

/// Everything that can go wrong when building series, forecasts or metrics, or when a model fits or
/// predicts. Variants carry named fields that say what was expected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A parameter is outside its valid range.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter {
        /// The parameter's name, as the user spells it.
        name: String,
        /// What was expected.
        reason: String,
    },
    /// Fewer observations than the operation needs.
    #[error("insufficient history: needed at least {needed} rows, got {got}")]
    InsufficientHistory {
        /// Rows needed.
        needed: usize,
        /// Rows given.
        got: usize,
    },
    /// A named column is not in the series.
    #[error("column `{name}` not found; available columns: {available}")]
    MissingColumn {
        /// The column asked for.
        name: String,
        /// The columns the series has, comma separated.
        available: String,
    },
    /// Two sequences that must have the same length do not.
    #[error("length mismatch in {what}: expected {expected}, got {got}")]
    LengthMismatch {
        /// Which sequences.
        what: String,
        /// Expected length.
        expected: usize,
        /// Actual length.
        got: usize,
    },
    /// Timestamps are not strictly increasing.
    #[error("timestamps must be strictly increasing: row {index} ({current}) is not after row {prev_index} ({previous})")]
    UnsortedTimestamps {
        /// 0-based row of the offending timestamp.
        index: usize,
        /// 0-based row of the timestamp before it.
        prev_index: usize,
        /// The earlier timestamp (unix ms).
        previous: i64,
        /// The offending timestamp (unix ms).
        current: i64,
    },
    /// A value is NaN or infinite where finite values are required.
    #[error("non-finite value {value} in column `{column}` at row {index}")]
    NonFinite {
        /// Column name.
        column: String,
        /// 0-based row.
        index: usize,
        /// The value found.
        value: f64,
    },
    /// A model failed to fit or predict for a reason specific to it.
    #[error("{model}: {reason}")]
    Model {
        /// The model's name.
        model: String,
        /// What went wrong.
        reason: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Shorthand for [`Error::InvalidParameter`].
    pub fn invalid(name: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidParameter {
            name: name.into(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Error::Model`].
    pub fn model(model: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        Self::Model {
            model: model.into(),
            reason: reason.to_string(),
        }
    }
}
