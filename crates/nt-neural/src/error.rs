//! The error type of `nt-neural`.

/// Everything that can go wrong when building, training, saving or loading a neural model.
/// Variants carry named fields that say what was expected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration field is outside its valid range.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter {
        /// The field, as the user spells it (`train.lr`, `n_pool_kernel_size`).
        name: String,
        /// What was expected.
        reason: String,
    },
    /// A tensor operation failed inside candle (shape mismatch, missing weight, device error).
    #[error("tensor operation failed: {0}")]
    Candle(#[from] candle_core::Error),
    /// Fewer rows than the model needs.
    #[error("insufficient history: needed at least {needed} rows, got {got}")]
    InsufficientHistory {
        /// Rows needed.
        needed: usize,
        /// Rows given.
        got: usize,
    },
    /// An error from the data layer (missing column, non-finite value, ...).
    #[error(transparent)]
    Core(#[from] nt_core::Error),
    /// A file could not be read or written.
    #[error("i/o error on {path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A JSON document (config, model.json, training log) is malformed.
    #[error("invalid JSON in {path}: {source}")]
    Json {
        /// Where the document came from.
        path: String,
        /// The parse error.
        source: serde_json::Error,
    },
    /// A checkpoint does not match what was expected of it (hash, tensor names or shapes, version).
    #[error("checkpoint {path} rejected: {reason}")]
    Checkpoint {
        /// The checkpoint directory or file.
        path: String,
        /// What did not match.
        reason: String,
    },
    /// Training produced a non-finite loss (divergence).
    #[error("training diverged at step {step}: loss is {loss}")]
    Diverged {
        /// The optimizer step (1-based) at which the loss became non-finite.
        step: usize,
        /// The loss value.
        loss: f64,
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

    /// Shorthand for [`Error::Io`].
    pub(crate) fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}

impl From<Error> for nt_core::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Core(inner) => inner,
            Error::InvalidParameter { name, reason } => {
                nt_core::Error::InvalidParameter { name, reason }
            }
            Error::InsufficientHistory { needed, got } => {
                nt_core::Error::InsufficientHistory { needed, got }
            }
            other => nt_core::Error::model("nt-neural", other),
        }
    }
}
