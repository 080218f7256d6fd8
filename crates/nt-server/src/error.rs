//! The crate's error type ([`Error`]) and the one JSON error answer every route gives
//! ([`ApiError`]).

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What can go wrong in the server. Each variant maps to one HTTP status (see
/// [`Error::status`]); the client sees the variant's message only for client errors (4xx),
/// never the detail of an internal one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A request field is invalid: the body parsed, but a value is out of range or inconsistent.
    #[error("{field}: {reason}")]
    Invalid {
        /// The JSON path of the field (`history.values[3]`, `horizon`).
        field: String,
        /// What was expected.
        reason: String,
    },
    /// The body is not the JSON the route expects (syntax, or a type error with its path).
    #[error("malformed body: {reason}")]
    BadBody {
        /// The parser's message, with the field path when it has one.
        reason: String,
        /// Whether the JSON was syntactically valid (then 422) or not (400).
        syntax: bool,
    },
    /// The request is malformed in a way the AgentDB protocol answers with 400 (bad hex id,
    /// wrong embedding dimension, malformed filter, write to a read-only collection).
    #[error("{reason}")]
    BadRequest {
        /// What is wrong.
        reason: String,
    },
    /// The body is longer than the configured limit.
    #[error("body larger than {limit} bytes")]
    BodyTooLarge {
        /// The limit in bytes (`--max-body`).
        limit: usize,
    },
    /// The body is not declared as JSON.
    #[error("content type must be application/json, got `{got}`")]
    UnsupportedMediaType {
        /// The declared content type.
        got: String,
    },
    /// No such model, version or route.
    #[error("{what} not found")]
    NotFound {
        /// What was looked for (`model \`x\``, `version 3 of \`x\``).
        what: String,
    },
    /// The thing to create already exists.
    #[error("{what} already exists")]
    Conflict {
        /// What exists.
        what: String,
    },
    /// The API key is missing or wrong.
    #[error("missing or invalid API key")]
    Unauthorized,
    /// Writes are disabled: the server runs without an API key.
    #[error("{reason}")]
    Forbidden {
        /// Why.
        reason: String,
    },
    /// Too many requests in flight; retry later.
    #[error("server busy: {in_flight} requests in flight (limit {limit})")]
    Overloaded {
        /// Requests in flight when this one arrived.
        in_flight: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The request took longer than the configured timeout.
    #[error("request timed out after {ms} ms")]
    Timeout {
        /// The timeout in milliseconds.
        ms: u64,
    },
    /// The server is not ready (models still loading) or a feature needs something it lacks.
    #[error("{reason}")]
    Unavailable {
        /// Why.
        reason: String,
    },
    /// The server's configuration is refused at startup (never an HTTP answer): e.g. key-less
    /// AgentDB writes on a non-loopback address.
    #[error("server configuration: {setting}: {reason}")]
    Config {
        /// The setting (`agentdb_open_writes`, the `nt serve` flag's field).
        setting: String,
        /// Why it is refused and what to do.
        reason: String,
    },
    /// A bug or an environment failure (registry I/O, a panicking handler, a dead compute
    /// thread). Logged in full; the client sees only `internal error`.
    #[error("internal error: {detail}")]
    Internal {
        /// What happened (never sent to the client).
        detail: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An [`Error::Invalid`] for `field`.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// An [`Error::Internal`] from anything displayable.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Error::Internal {
            detail: detail.to_string(),
        }
    }

    /// An [`Error::NotFound`].
    pub fn not_found(what: impl Into<String>) -> Self {
        Error::NotFound { what: what.into() }
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Error::BadBody { syntax: true, .. } => StatusCode::BAD_REQUEST,
            Error::BadBody { syntax: false, .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Error::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Error::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Error::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::NotFound { .. } => StatusCode::NOT_FOUND,
            Error::Conflict { .. } => StatusCode::CONFLICT,
            Error::Unauthorized => StatusCode::UNAUTHORIZED,
            Error::Forbidden { .. } => StatusCode::FORBIDDEN,
            Error::Overloaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Error::Timeout { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Error::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Error::Config { .. } | Error::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A short machine-readable code (`invalid_input`, `not_found`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            Error::Invalid { .. } => "invalid_input",
            Error::BadBody { .. } => "malformed_body",
            Error::BadRequest { .. } => "bad_request",
            Error::BodyTooLarge { .. } => "body_too_large",
            Error::UnsupportedMediaType { .. } => "unsupported_media_type",
            Error::NotFound { .. } => "not_found",
            Error::Conflict { .. } => "conflict",
            Error::Unauthorized => "unauthorized",
            Error::Forbidden { .. } => "forbidden",
            Error::Overloaded { .. } => "overloaded",
            Error::Timeout { .. } => "timeout",
            Error::Unavailable { .. } => "unavailable",
            Error::Config { .. } => "config",
            Error::Internal { .. } => "internal",
        }
    }
}

/// The JSON body of every error answer: `{"error": {"code", "message", "field"?}}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// One error: a stable code, a human message and, for input errors, the field's JSON path.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code (`invalid_input`, `not_found`, `overloaded`, ...).
    pub code: String,
    /// What went wrong, for humans. Internal errors say only `internal error`.
    pub message: String,
    /// The offending field (`history.values[3]`), for `invalid_input`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// An error on its way to the client: wraps [`Error`] and renders it as an [`ErrorBody`] with
/// the right status. Internal errors are logged with `tracing` and answered with a generic
/// message, so no path, SQL or panic text leaks out.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        let status = e.status();
        let (message, field) = match &e {
            Error::Internal { detail } => {
                tracing::error!(%detail, "internal error");
                ("internal error".to_string(), None)
            }
            Error::Invalid { field, reason } => (format!("{field}: {reason}"), Some(field.clone())),
            other => (other.to_string(), None),
        };
        if status.is_client_error() {
            tracing::debug!(status = status.as_u16(), %message, "client error");
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: e.code().to_string(),
                message,
                field,
            },
        };
        let mut resp = (status, Json(body)).into_response();
        if matches!(e, Error::Overloaded { .. } | Error::Timeout { .. }) {
            resp.headers_mut()
                .insert("retry-after", HeaderValue::from_static("1"));
        }
        if matches!(e, Error::Unauthorized) {
            resp.headers_mut().insert(
                "www-authenticate",
                HeaderValue::from_static("Bearer realm=\"nt\""),
            );
        }
        resp
    }
}

impl From<nt_neural::Error> for Error {
    fn from(e: nt_neural::Error) -> Self {
        Error::internal(format!("model: {e}"))
    }
}

impl From<nt_models::Error> for Error {
    /// What the caller can fix (a history too short for a classical model, a bad horizon) is
    /// 422 on `history`; anything else is internal.
    fn from(e: nt_models::Error) -> Self {
        if e.is_bad_input() {
            Error::invalid("history", e.to_string())
        } else {
            Error::internal(format!("model: {e}"))
        }
    }
}

impl From<nt_registry::Error> for Error {
    /// Not found → 404, already exists → 409, bad input (invalid field, wrong dimension,
    /// read-only collection) → 400; anything else (I/O, SQLite, corrupt weights) is internal.
    fn from(e: nt_registry::Error) -> Self {
        if let nt_registry::Error::NotFound { what, name } = &e {
            Error::not_found(format!("{what} `{name}`"))
        } else if let nt_registry::Error::AlreadyExists { what, name } = &e {
            Error::Conflict {
                what: format!("{what} `{name}`"),
            }
        } else if e.is_bad_input() {
            Error::BadRequest {
                reason: e.to_string(),
            }
        } else {
            Error::internal(format!("registry: {e}"))
        }
    }
}
