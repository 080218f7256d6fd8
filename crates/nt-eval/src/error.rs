//! The error type of `nt-eval`.

/// Everything that can go wrong while planning a split or running a backtest. Variants carry named
/// fields that say what was expected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting of the backtest or the split is outside its valid range.
    #[error("invalid setting `{field}`: {reason}")]
    InvalidConfig {
        /// The setting, as spelled in [`BacktestConfig`](crate::BacktestConfig) or [`Split`](crate::Split).
        field: String,
        /// What was expected.
        reason: String,
    },
    /// The series has fewer rows than the split needs.
    #[error("series too short for the {split} split: needs at least {needed} rows, has {got}")]
    TooShort {
        /// The split, in words (e.g. `ett (24 rows/day)`).
        split: String,
        /// Rows needed.
        needed: usize,
        /// Rows the series has.
        got: usize,
    },
    /// The test segment is shorter than the horizon, so not one window fits inside it.
    #[error("test segment of {n_test} rows cannot hold one forecast of horizon {horizon}")]
    NoTestWindow {
        /// Rows in the test segment.
        n_test: usize,
        /// The forecast horizon.
        horizon: usize,
    },
    /// The first forecast origin has less history than `input_size` asks for.
    #[error("input_size {input_size} needs {input_size} rows of history, but the first origin has only {available}")]
    InsufficientInput {
        /// Rows of history each prediction must receive.
        input_size: usize,
        /// Rows up to and including the first origin.
        available: usize,
    },
    /// The number of rows per day cannot be read from the timestamps (the ETT split needs it).
    #[error("cannot infer rows per day: modal timestamp step is {step_ms:?} ms, which must divide one day (86400000 ms); set `rows_per_day`")]
    RowsPerDay {
        /// The series' most common timestamp step in ms, `None` with fewer than two rows.
        step_ms: Option<i64>,
    },
    /// The training rows of a target are constant, so it cannot be standardized.
    #[error("target `{target}` is constant over its {n_train} training rows (std 0): cannot standardize")]
    ConstantTarget {
        /// The target column.
        target: String,
        /// Training rows.
        n_train: usize,
    },
    /// Two models were given the same name, or a name is empty.
    #[error("model names must be unique and non-empty; `{name}` is not")]
    ModelName {
        /// The offending name.
        name: String,
    },
    /// A drift statistic was given fewer values than it needs.
    #[error("{sample}: needs at least {needed} values, has {got}")]
    TooFewValues {
        /// The sample, in words (e.g. `reference levels`).
        sample: String,
        /// Values needed.
        needed: usize,
        /// Values given.
        got: usize,
    },
    /// No target column was given to a multi-target backtest.
    #[error("no target columns given")]
    NoTargets,
    /// An error from `nt-core` (a missing column, a non-finite target value, …).
    #[error(transparent)]
    Core(#[from] nt_core::Error),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// True when the error describes the user's data or settings (something they can fix), false
    /// for a model's own failure.
    pub fn is_bad_input(&self) -> bool {
        match self {
            Error::Core(e) => !matches!(e, nt_core::Error::Model { .. }),
            _ => true,
        }
    }

    pub(crate) fn config(field: &str, reason: impl Into<String>) -> Self {
        Error::InvalidConfig {
            field: field.to_string(),
            reason: reason.into(),
        }
    }
}
