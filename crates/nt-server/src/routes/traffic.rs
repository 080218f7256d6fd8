//! `GET`/`PUT /v1/models/{name}/traffic` (the canary and shadow policy) and
//! `POST /v1/models/{name}/rollback` (back to the previous production version).

use axum::extract::{Path, State};
use axum::Json;

use crate::api::{JsonBody, RollbackResponse, TrafficRequest, TrafficResponse};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use crate::traffic::plain_name;

/// The traffic policy of a model: its canary (version and share of the production traffic)
/// and shadow version, the routing seed, and what this server routed under it.
#[utoipa::path(get, path = "/v1/models/{name}/traffic", tag = "models",
    params(("name" = String, Path, description = "Model name")),
    responses((status = 200, description = "The policy (no canary, no shadow: all traffic goes to production)", body = TrafficResponse),
              (status = 401, description = "API key required (`auth_reads`)", body = ErrorBody),
              (status = 404, description = "Unknown model", body = ErrorBody),
              (status = 422, description = "Not a model name", body = ErrorBody)))]
pub(crate) async fn get_traffic(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<TrafficResponse>, ApiError> {
    let name = plain_name(&name)?;
    Ok(Json(state.traffic(&name).await?))
}

/// Sets the whole traffic policy of a model and applies it at once (every server polling the
/// registry follows within its reload interval). `{"canary": {"version": 3, "percent": 10},
/// "shadow": {"version": 4}}`; `{}` clears it. A request for `NAME` (or `NAME@production`)
/// then goes to the canary when its `route_key` (or, without one, the request count) hashes
/// below the share with the policy's `seed`; a shadow forecasts every such request after the
/// answer is ready, logged with role `shadow`, never answered. Needs the API key.
#[utoipa::path(put, path = "/v1/models/{name}/traffic", tag = "models",
    params(("name" = String, Path, description = "Model name")),
    request_body = TrafficRequest,
    security(("api_key" = [])),
    responses((status = 200, description = "The policy now applied", body = TrafficResponse),
              (status = 401, description = "Missing or wrong API key", body = ErrorBody),
              (status = 403, description = "Server runs without an API key", body = ErrorBody),
              (status = 404, description = "Unknown model", body = ErrorBody),
              (status = 422, description = "Invalid field (`canary.version`: unknown or the production version; `canary.percent`: not 0 < percent < 100; `shadow.version`)", body = ErrorBody),
              (status = 503, description = "Registry unavailable", body = ErrorBody)))]
pub(crate) async fn put_traffic(
    State(state): State<AppState>,
    Path(name): Path<String>,
    JsonBody(req): JsonBody<TrafficRequest>,
) -> Result<Json<TrafficResponse>, ApiError> {
    let name = plain_name(&name)?;
    Ok(Json(state.set_traffic(&name, req).await?))
}

/// Makes the version that was production before the current one production again (from the
/// registry's `promoted` events, skipping deleted versions; a second rollback undoes the
/// first) and switches traffic to it at once. The route to it, if it was the canary or the
/// shadow, is removed. No body. Needs the API key.
#[utoipa::path(post, path = "/v1/models/{name}/rollback", tag = "models",
    params(("name" = String, Path, description = "Model name")),
    security(("api_key" = [])),
    responses((status = 200, description = "The rollback made", body = RollbackResponse),
              (status = 401, description = "Missing or wrong API key", body = ErrorBody),
              (status = 403, description = "Server runs without an API key", body = ErrorBody),
              (status = 404, description = "Unknown model", body = ErrorBody),
              (status = 422, description = "`name`: no production version, or none before it", body = ErrorBody),
              (status = 503, description = "Registry unavailable", body = ErrorBody)))]
pub(crate) async fn rollback(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<RollbackResponse>, ApiError> {
    let name = plain_name(&name)?;
    Ok(Json(state.rollback(&name).await?))
}
