//! The JSON bodies of the `/v1` routes (their OpenAPI schemas come from these types), and the
//! JSON body extractor that turns every malformed body into a 4xx [`ApiError`].

use std::collections::BTreeMap;

use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, Error};
pub use crate::routes::live::{
    Actual, ActualsRequest, ActualsResponse, ScoresResponse, VersionScores,
};
use crate::store::{ModelSummary, VersionInfo};
pub use crate::traffic::{
    CanaryBody, RollbackResponse, ShadowBody, TrafficCounts, TrafficRequest, TrafficResponse,
};

/// The recent history a forecast starts from: either one series (`values`) or named columns
/// (`columns`, each the same length), optionally with unix-millisecond `timestamps`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct History {
    /// One series, oldest first: forecasts the model's first target.
    #[serde(default)]
    pub values: Option<Vec<f64>>,
    /// Named columns, oldest first: exactly the model's target columns.
    #[serde(default)]
    pub columns: Option<BTreeMap<String, Vec<f64>>>,
    /// Unix milliseconds of each row, strictly increasing; the answer then carries the
    /// forecast's timestamps (continuing the last step).
    #[serde(default)]
    pub timestamps: Option<Vec<i64>>,
    /// For models with exogenous inputs: each exogenous column the model reads (historic and
    /// future-known ones) over the same rows as the history, oldest first.
    #[serde(default)]
    pub exog: Option<BTreeMap<String, Vec<f64>>>,
    /// For models with future-known exogenous columns: each such column's values over the rows
    /// after the history, at least the model's horizon of them.
    #[serde(default)]
    pub future: Option<BTreeMap<String, Vec<f64>>>,
}

/// `POST /v1/models/{name}/predict`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PredictRequest {
    /// The history: at least the model's input size (`input_size`) values per column.
    pub history: History,
    /// Steps to forecast, 1 to the model's horizon (default: the model's horizon).
    #[serde(default)]
    pub horizon: Option<usize>,
    /// Quantile levels to return (each one the model was trained with); default: all of them.
    #[serde(default)]
    pub quantiles: Option<Vec<f64>>,
    /// Version to use (≥ 1; default: the one the path's reference names, the production
    /// version for a bare name). With `NAME@N` in the path it must be N; with `NAME@latest` or
    /// `NAME@production` it must be absent (422 otherwise).
    #[serde(default)]
    pub version: Option<u32>,
    /// For a model that forecasts by sample paths (DeepAR): return this many seeded sample
    /// paths of each forecast (1 to the server's `max_paths`, default 1,000); the point and
    /// bands are then the paths' mean and quantiles. A model without paths answers 422.
    #[serde(default)]
    pub paths: Option<usize>,
    /// Seed of the sample paths (default 1): the same seed gives the same paths.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Routing key (1 to 256 characters) for a model with a canary: requests with the same key
    /// always get the same version (one strategy sees one model). Without it, the canary's
    /// share is drawn per request. Ignored when the request names a version.
    #[serde(default)]
    pub route_key: Option<String>,
}

/// One forecast of one column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ColumnForecast {
    /// The point forecast, `horizon` values.
    pub point: Vec<f64>,
    /// Quantile bands by level (`"0.1"`), when the model predicts quantiles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantiles: Option<BTreeMap<String, Vec<f64>>>,
    /// The sample paths (`horizon` values each), when the request asked for `paths`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paths: Option<Vec<Vec<f64>>>,
}

/// The answer to a predict request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PredictResponse {
    /// Model name.
    pub model: String,
    /// The version that answered.
    pub version: u32,
    /// Steps forecast.
    pub horizon: usize,
    /// Point forecast of the first target (or of `history.values`).
    pub point: Vec<f64>,
    /// Its quantile bands by level (`"0.1"`), when the model predicts quantiles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantiles: Option<BTreeMap<String, Vec<f64>>>,
    /// Its sample paths (`horizon` values each), when the request asked for `paths`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paths: Option<Vec<Vec<f64>>>,
    /// Unix milliseconds of each forecast step, when the history had timestamps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamps: Option<Vec<i64>>,
    /// Every target's forecast, when the history came as `columns` with more than one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub columns: Option<BTreeMap<String, ColumnForecast>>,
    /// Who answered: `production` (the production version), `canary` (the canary's share of
    /// a bare name's traffic) or `explicit` (the request named the version).
    #[schema(value_type = String, example = "production")]
    pub role: nt_registry::ServedRole,
}

/// One series of a batch call: a predict request plus the model it is for.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchItem {
    /// Model reference: `NAME` (production), `NAME@3`, `NAME@latest` or `NAME@production`.
    pub model: String,
    /// The history.
    pub history: History,
    /// Steps to forecast (default: the model's horizon).
    #[serde(default)]
    pub horizon: Option<usize>,
    /// Quantile levels to return.
    #[serde(default)]
    pub quantiles: Option<Vec<f64>>,
    /// Version to use (≥ 1; as in a predict request, it must not contradict `model`'s
    /// reference).
    #[serde(default)]
    pub version: Option<u32>,
    /// Routing key for a model with a canary, as in a predict request.
    #[serde(default)]
    pub route_key: Option<String>,
}

/// `POST /v1/predict/batch`: many series in one call.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// The series, each for any model.
    pub items: Vec<BatchItem>,
}

/// The answers of a batch call, in the order of its items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BatchResponse {
    /// One answer per item.
    pub results: Vec<PredictResponse>,
}

/// `POST /v1/models/{name}/promote`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromoteRequest {
    /// The version to make the production version.
    pub version: u32,
}

/// `GET /v1/models`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ModelList {
    /// Every model name with its version counts and production version.
    pub models: Vec<ModelEntry>,
}

/// One model in a listing.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ModelEntry {
    /// What the store says.
    #[serde(flatten)]
    pub summary: ModelSummary,
    /// The version this server serves as production right now (it may lag the store by one
    /// reload interval).
    pub serving: Option<u32>,
}

/// `GET /v1/models/{name}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ModelDetail {
    /// Model name.
    pub name: String,
    /// The production version in the store.
    pub production: Option<u32>,
    /// The version this server serves as production right now.
    pub serving: Option<u32>,
    /// The precision the served version's CPU forward runs in (`f32` or `bf16`; a server
    /// started with `--precision bf16` runs f32 where bf16 would not be faster); absent for a
    /// model that is not served or not neural.
    #[serde(default)]
    pub serving_precision: Option<String>,
    /// Why the served version runs in that precision when bf16 was asked for (what bf16 saves,
    /// or why f32 runs instead); absent otherwise.
    #[serde(default)]
    pub precision_note: Option<String>,
    /// Every version, oldest first.
    pub versions: Vec<VersionInfo>,
}

/// `GET /health`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the process answers.
    pub status: String,
    /// The server's crate version.
    pub version: String,
}

/// `GET /ready`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Readiness {
    /// Whether the server is ready: the initial model load finished, every production version
    /// loaded, and the registry is available.
    pub ready: bool,
    /// Production versions loaded, `name@version`.
    pub models: Vec<String>,
    /// Production versions that failed to load, `name@version` (the reasons are in the
    /// server's log: they may name its files).
    pub failed: Vec<String>,
    /// `available`, or `unavailable` while the registry's database is gone or does not answer.
    pub registry: String,
    /// Why the server is not ready (absent when it is).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A JSON body extractor: content type `application/json` (or none), at most the configured
/// body size, parsed with the failing field's path in the message. Syntax errors answer 400,
/// type and value errors 422, oversize bodies 413, other content types 415.
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(ct) = req.headers().get(CONTENT_TYPE) {
            let ct = ct.to_str().unwrap_or("");
            let mime = ct.split(';').next().unwrap_or("").trim();
            if !(mime.eq_ignore_ascii_case("application/json") || mime.ends_with("+json")) {
                return Err(Error::UnsupportedMediaType {
                    got: ct.chars().take(100).collect(),
                }
                .into());
            }
        }
        let limit = req
            .extensions()
            .get::<BodyLimit>()
            .map_or(usize::MAX, |l| l.0);
        let bytes = axum::body::to_bytes(req.into_body(), limit)
            .await
            .map_err(|_| Error::BodyTooLarge { limit })?;
        parse_json(&bytes).map(JsonBody).map_err(ApiError)
    }
}

/// The body size limit, put in the request's extensions by the router.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyLimit(pub(crate) usize);

/// Parses `bytes` as `T`, naming the failing field.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let parsed: Result<T, _> = serde_path_to_error::deserialize(de);
    match parsed {
        Ok(v) => Ok(v),
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let syntax = !matches!(inner.classify(), serde_json::error::Category::Data);
            let reason = if path.is_empty() || path == "." {
                inner.to_string()
            } else {
                format!("{path}: {inner}")
            };
            Err(Error::BadBody { reason, syntax })
        }
    }
}
