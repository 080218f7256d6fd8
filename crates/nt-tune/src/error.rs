//! The crate's one error type.

/// What can go wrong in a search.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting, a search-space entry or a sampled point is not usable; `field` names it.
    #[error("{field}: {reason}")]
    Invalid {
        /// The flag, parameter or JSON field at fault.
        field: String,
        /// What was expected.
        reason: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The TPE sampler failed (a range or density it could not build).
    #[error("tpe sampler: {0}")]
    Tpe(String),
    /// Training a trial's model failed.
    #[error(transparent)]
    Neural(#[from] nt_neural::Error),
    /// Building a trial's model spec failed.
    #[error(transparent)]
    Models(#[from] nt_models::Error),
    /// The trial store (the registry) failed.
    #[error(transparent)]
    Registry(#[from] nt_registry::Error),
}

impl Error {
    /// An [`Error::Invalid`] for `field`.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Whether the user can fix this by changing the input (a setting, a space file).
    pub fn is_bad_input(&self) -> bool {
        match self {
            Error::Invalid { .. } | Error::Io { .. } => true,
            Error::Models(e) => e.is_bad_input(),
            Error::Tpe(_) | Error::Neural(_) | Error::Registry(_) => false,
        }
    }
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;
