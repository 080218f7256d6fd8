//! The error type of `nt-registry`.

use std::path::Path;

/// Everything that can go wrong in the registry. Variants carry named fields that say what was
/// expected; [`Error::is_not_found`], [`Error::is_bad_input`] and [`Error::is_conflict`] classify
/// them for HTTP status codes and CLI exit codes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A model, version, collection or document does not exist.
    #[error("{what} not found: {name}")]
    NotFound {
        /// What kind of thing was looked up (`model`, `version`, `collection`, `document`).
        what: &'static str,
        /// Its name as given (`name@3`, collection name, document id).
        name: String,
    },
    /// Creating something that already exists (a collection; a study with another definition).
    #[error("{what} already exists: {name}")]
    AlreadyExists {
        /// What kind of thing (`collection`).
        what: &'static str,
        /// Its name.
        name: String,
    },
    /// A tuning worker wrote to a trial that is no longer its own: another worker took it over
    /// after its lease expired, or it is finished.
    #[error(
        "trial {trial} is no longer held by worker {worker} (it is {state}, held by {holder:?})"
    )]
    LeaseLost {
        /// The trial, `study#number`.
        trial: String,
        /// The worker that wrote.
        worker: String,
        /// The worker that holds or finished it now.
        holder: Option<String>,
        /// Its state now (`running`, `complete`, `pruned`, `failed`).
        state: String,
    },
    /// A user-supplied value is malformed or out of range.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The argument or JSON field (`model reference`, `id`, `filter`, `k`).
        field: String,
        /// What was expected.
        reason: String,
    },
    /// An embedding's length differs from the collection's dimension.
    #[error("embedding dimension mismatch: expected {expected}, got {got}")]
    DimensionMismatch {
        /// The collection's dimension.
        expected: usize,
        /// The embedding's length.
        got: usize,
    },
    /// A write to a read-only collection (`models`, which mirrors the registry's versions).
    #[error("collection `{collection}` is read-only (it mirrors the registered models)")]
    ReadOnly {
        /// The collection.
        collection: String,
    },
    /// A stored file's sha256 differs from the one the registry recorded: the file was altered
    /// or damaged after registration, and the registry refuses to load it.
    #[error("corrupt file {path}: expected sha256 {expected}, got {got}")]
    Corrupt {
        /// The file.
        path: String,
        /// The sha256 recorded at registration.
        expected: String,
        /// The sha256 of the file as read now.
        got: String,
    },
    /// A file or directory could not be read or written.
    #[error("i/o error on {path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The SQLite database failed (locked past the busy timeout, disk full, malformed file).
    #[error("registry database {path}: {source}")]
    Sqlite {
        /// The database file.
        path: String,
        /// The underlying error.
        source: rusqlite::Error,
    },
    /// A JSON document stored in or given to the registry is malformed.
    #[error("invalid JSON in {context}: {source}")]
    Json {
        /// Where the document came from.
        context: String,
        /// The parse error.
        source: serde_json::Error,
    },
    /// Loading or reading a model directory failed in `nt-neural`.
    #[error(transparent)]
    Neural(#[from] nt_neural::Error),
    /// A model directory or stored model that is not a valid model.
    #[error(transparent)]
    Models(#[from] nt_models::Error),
    /// A data-layer error (missing column, non-finite values) while profiling a series.
    #[error(transparent)]
    Core(#[from] nt_core::Error),
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// True for [`Error::NotFound`] (HTTP 404).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }

    /// True when the caller sent something malformed (HTTP 400, CLI exit 2): invalid input,
    /// wrong dimension, a write to the read-only `models` collection.
    pub fn is_bad_input(&self) -> bool {
        match self {
            Error::Models(m) => m.is_bad_input(),
            other => matches!(
                other,
                Error::InvalidInput { .. }
                    | Error::DimensionMismatch { .. }
                    | Error::ReadOnly { .. }
            ),
        }
    }

    /// True for [`Error::AlreadyExists`] and [`Error::LeaseLost`] (HTTP 409).
    pub fn is_conflict(&self) -> bool {
        matches!(self, Error::AlreadyExists { .. } | Error::LeaseLost { .. })
    }

    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.display().to_string(),
            source,
        }
    }

    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidInput {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn not_found(what: &'static str, name: impl Into<String>) -> Self {
        Error::NotFound {
            what,
            name: name.into(),
        }
    }
}
