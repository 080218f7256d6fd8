//! Model listings, promotion, and the operational routes (`/health`, `/ready`, `/metrics`,
//! `/openapi.json`).

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa::OpenApi;

use crate::api::{Health, JsonBody, ModelDetail, ModelEntry, ModelList, PromoteRequest, Readiness};
use crate::error::{ApiError, Error, ErrorBody};
use crate::model_ref::ModelRef;
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

/// Readiness: 200 once every production model is loaded and the registry is available; 503
/// while loading, when a production version failed to load, or while the registry is
/// unavailable (the body says which, without naming files).
#[utoipa::path(get, path = "/ready", tag = "ops",
    responses((status = 200, description = "Ready", body = Readiness),
              (status = 503, description = "Loading, a production version failed to load, or the registry is unavailable", body = Readiness)))]
pub(crate) async fn ready(State(state): State<AppState>) -> Response {
    let body = state.readiness();
    let status = if body.ready {
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

/// One model: every version with stage, metrics, spec. With a reference (`NAME@3`,
/// `NAME@latest`, `NAME@production`) `versions` holds only the version it names.
#[utoipa::path(get, path = "/v1/models/{name}", tag = "models",
    params(("name" = String, Path, description = "Model name (every version), or a reference `NAME@3`, `NAME@latest`, `NAME@production` (that version)")),
    responses((status = 200, description = "The model", body = ModelDetail),
              (status = 404, description = "Unknown model or version", body = ErrorBody),
              (status = 422, description = "Not a model reference", body = ErrorBody)))]
pub(crate) async fn get_model(
    State(state): State<AppState>,
    Path(reference): Path<String>,
) -> Result<Json<ModelDetail>, ApiError> {
    let r = ModelRef::parse(&reference, "name")?;
    let store = state.store().clone();
    let (n, sel, explicit) = (r.name.clone(), r.selector, r.explicit);
    let (all, picked) = blocking(move || {
        let all = store.versions(&n)?;
        let picked = if explicit {
            Some(store.resolve(&n, sel)?)
        } else {
            None
        };
        Ok((all, picked))
    })
    .await?;
    let production = all
        .iter()
        .find(|v| v.stage == "production")
        .map(|v| v.version);
    let versions = match picked {
        Some(v) => vec![v],
        None => all,
    };
    let name = r.name;
    let (serving_precision, precision_note) = match state.serving_precision(&name) {
        Some((p, note)) => (Some(p.as_str().to_string()), note),
        None => (None, None),
    };
    Ok(Json(ModelDetail {
        serving: serving(&state, &name),
        serving_precision,
        precision_note,
        name,
        production,
        versions,
    }))
}

/// Makes a version the production version and switches traffic to it at once (requests in
/// flight finish on the version they started with). Needs the API key. `{name}` is the model
/// name (or `NAME@N` with N the body's `version`).
#[utoipa::path(post, path = "/v1/models/{name}/promote", tag = "models",
    params(("name" = String, Path, description = "Model name")),
    request_body = PromoteRequest,
    security(("api_key" = [])),
    responses((status = 200, description = "The promoted version", body = VersionInfo),
              (status = 401, description = "Missing or wrong API key", body = ErrorBody),
              (status = 403, description = "Server runs without an API key", body = ErrorBody),
              (status = 404, description = "Unknown model or version", body = ErrorBody),
              (status = 422, description = "The path names another version than the body", body = ErrorBody),
              (status = 503, description = "Registry unavailable", body = ErrorBody)))]
pub(crate) async fn promote(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    JsonBody(req): JsonBody<PromoteRequest>,
) -> Result<Json<VersionInfo>, ApiError> {
    let r = ModelRef::parse(&reference, "name")?;
    if r.explicit && r.selector != crate::store::Selector::Number(req.version) {
        return Err(Error::invalid(
            "name",
            format!(
                "promote names the model and the body its `version` ({}); `{reference}` \
                 names another version",
                req.version
            ),
        )
        .into());
    }
    if req.version == 0 {
        return Err(Error::invalid("version", "versions start at 1, got 0").into());
    }
    Ok(Json(state.promote(&r.name, req.version).await?))
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
