//! Model listings, promotion, and the operational routes (`/health`, `/ready`, `/metrics`,
//! `/openapi.json`).

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa::OpenApi;

use crate::api::{Health, JsonBody, ModelDetail, ModelEntry, ModelList, PromoteRequest, Readiness};
use crate::error::{ApiError, ErrorBody};
use crate::state::{blocking, AppState};
use crate::store::VersionInfo;

/// Liveness: answers while the process runs.
#[utoipa::path(get, path = "/health", tag = "ops",
    responses((status = 200, description = "Alive", body = Health)))]
pub(crate) async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}

/// Readiness: 200 once the production models are loaded, 503 before.
#[utoipa::path(get, path = "/ready", tag = "ops",
    responses((status = 200, description = "Ready", body = Readiness),
              (status = 503, description = "Still loading", body = Readiness)))]
pub(crate) async fn ready(State(state): State<AppState>) -> Response {
    let ready = state.is_ready();
    let body = Readiness {
        ready,
        models: state
            .production_versions()
            .into_iter()
            .map(|(n, v)| format!("{n}@{v}"))
            .collect(),
        failed: state.failed_loads(),
    };
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

fn serving(state: &AppState, name: &str) -> Option<u32> {
    state
        .production_versions()
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
}

/// Every model with its version counts, its production version in the store and the version
/// served.
#[utoipa::path(get, path = "/v1/models", tag = "models",
    responses((status = 200, description = "The models", body = ModelList),
              (status = 401, description = "API key required", body = ErrorBody)))]
pub(crate) async fn list_models(
    State(state): State<AppState>,
) -> Result<Json<ModelList>, ApiError> {
    let store = state.store().clone();
    let list = blocking(move || store.list()).await?;
    let models = list
        .into_iter()
        .map(|summary| ModelEntry {
            serving: serving(&state, &summary.name),
            summary,
        })
        .collect();
    Ok(Json(ModelList { models }))
}

/// One model: every version with stage, metrics, spec.
#[utoipa::path(get, path = "/v1/models/{name}", tag = "models",
    params(("name" = String, Path, description = "Model name")),
    responses((status = 200, description = "The model", body = ModelDetail),
              (status = 404, description = "Unknown model", body = ErrorBody)))]
pub(crate) async fn get_model(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<ModelDetail>, ApiError> {
    let store = state.store().clone();
    let n = name.clone();
    let versions = blocking(move || store.versions(&n)).await?;
    let production = versions
        .iter()
        .find(|v| v.stage == "production")
        .map(|v| v.version);
    Ok(Json(ModelDetail {
        serving: serving(&state, &name),
        name,
        production,
        versions,
    }))
}

/// Makes a version the production version and switches traffic to it at once (requests in
/// flight finish on the version they started with). Needs the API key.
#[utoipa::path(post, path = "/v1/models/{name}/promote", tag = "models",
    params(("name" = String, Path, description = "Model name")),
    request_body = PromoteRequest,
    security(("api_key" = [])),
    responses((status = 200, description = "The promoted version", body = VersionInfo),
              (status = 401, description = "Missing or wrong API key", body = ErrorBody),
              (status = 403, description = "Server runs without an API key", body = ErrorBody),
              (status = 404, description = "Unknown model or version", body = ErrorBody)))]
pub(crate) async fn promote(
    State(state): State<AppState>,
    Path(name): Path<String>,
    JsonBody(req): JsonBody<PromoteRequest>,
) -> Result<Json<VersionInfo>, ApiError> {
    Ok(Json(state.promote(&name, req.version).await?))
}

/// Prometheus metrics (text format 0.0.4).
#[utoipa::path(get, path = "/metrics", tag = "ops",
    responses((status = 200, description = "Prometheus text", body = String, content_type = "text/plain")))]
pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics().render(),
    )
        .into_response()
}

/// This API's OpenAPI 3.1 document, generated from the route and body types.
#[utoipa::path(get, path = "/openapi.json", tag = "ops",
    responses((status = 200, description = "OpenAPI document", body = Object)))]
pub(crate) async fn openapi() -> Response {
    Json(crate::openapi::ApiDoc::openapi()).into_response()
}
