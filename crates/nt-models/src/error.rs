//! The crate's error type.

/// What can go wrong building, training, saving or loading a model of any kind.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A core error (columns, values, horizons).
    #[error(transparent)]
    Core(#[from] nt_core::Error),
    /// A classical model's error.
    #[error(transparent)]
    Classical(#[from] nt_classical::Error),
    /// A neural model's error.
    #[error(transparent)]
    Neural(#[from] nt_neural::Error),
    /// A value the caller can fix: `field` names it.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The field, flag or input.
        field: String,
        /// What was expected.
        reason: String,
    },
    /// A model directory (or registry blob) that cannot be read as a model.
    #[error("model {path}: {reason}")]
    ModelDir {
        /// The directory or file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// Reading or writing a file failed.
    #[error("i/o error on {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidInput {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn model_dir(path: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::ModelDir {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// Whether the caller can fix it (bad input, a missing or wrong file) rather than an
    /// internal failure.
    pub fn is_bad_input(&self) -> bool {
        match self {
            Error::Core(e) => !matches!(e, nt_core::Error::Model { .. }),
            Error::Classical(_) => true,
            Error::Neural(e) => !matches!(e, nt_neural::Error::Candle(_)),
            Error::InvalidInput { .. } | Error::ModelDir { .. } | Error::Io { .. } => true,
        }
    }
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;
