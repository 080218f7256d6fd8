//! The router ([`app`]) and its middleware: API key, in-flight limit, timeout, metrics, body
//! limit, panics turned into 500s.

pub(crate) mod agentdb;
pub(crate) mod live;
pub(crate) mod models;
pub(crate) mod predict;
pub(crate) mod traffic;

use std::any::Any;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::extract::{FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::http::{header, HeaderMap};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put, MethodRouter};
use axum::Router;
use subtle::ConstantTimeEq;
use tower_http::catch_panic::CatchPanicLayer;

use crate::api::BodyLimit;
use crate::error::{ApiError, Error};
use crate::state::AppState;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (health and readiness probes).
    Open,
    /// Anyone, unless the server requires the key for reads (`--auth-reads`).
    Read,
    /// Only a request with the API key; refused when the server has none. Checked before the
    /// body or the path is looked at.
    Write,
    /// An AgentDB write: as [`Access::Write`], unless the server runs with
    /// [`crate::ServerConfig::agentdb_open_writes`] (loopback only, checked by
    /// [`crate::serve`]), where it is open like a read, for clients that send no key (the
    /// published `nt-agentdb-client` 1.0). Never used for model routes.
    AgentDbWrite,
}

/// One route of the API: its path template, method and [`Access`] rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteRule {
    /// Path template (`/v1/models/{name}`).
    pub path: &'static str,
    /// HTTP method (`GET`, `POST`, `DELETE`).
    pub method: &'static str,
    /// Who may call it.
    pub access: Access,
}

/// Every route with its handler, in one table: the router is built from it, so a route cannot
/// exist without an access rule, and [`route_rules`] lists the same table for tests and docs.
fn route_table() -> Vec<(RouteRule, MethodRouter<AppState>)> {
    use Access::{AgentDbWrite, Open, Read, Write};
    let rule = |path, method, access| RouteRule {
        path,
        method,
        access,
    };
    vec![
        (rule("/health", "GET", Open), get(models::health)),
        (rule("/ready", "GET", Open), get(models::ready)),
        (rule("/agentdb/health", "GET", Open), get(agentdb::health)),
        (rule("/metrics", "GET", Read), get(models::metrics)),
        (rule("/openapi.json", "GET", Read), get(models::openapi)),
        (rule("/v1/models", "GET", Read), get(models::list_models)),
        (
            rule("/v1/models/{name}", "GET", Read),
            get(models::get_model),
        ),
        (
            rule("/v1/models/{name}/predict", "POST", Read),
            post(predict::predict),
        ),
        (
            rule("/v1/predict/batch", "POST", Read),
            post(predict::predict_batch),
        ),
        (
            rule("/v1/models/{name}/scores", "GET", Read),
            get(live::scores),
        ),
        (
            rule("/v1/models/{name}/actuals", "POST", Write),
            post(live::actuals),
        ),
        (
            rule("/agentdb/collections/{c}/search", "POST", Read),
            post(agentdb::search),
        ),
        (
            rule("/agentdb/collections/{c}/query", "POST", Read),
            post(agentdb::query),
        ),
        (
            rule("/agentdb/collections/{c}/documents/{id}", "GET", Read),
            get(agentdb::get_document),
        ),
        (
            rule(
                "/agentdb/collections/{c}/documents/{id}",
                "DELETE",
                AgentDbWrite,
            ),
            delete(agentdb::delete_document),
        ),
        (
            rule("/v1/models/{name}/promote", "POST", Write),
            post(models::promote),
        ),
        (
            rule("/v1/models/{name}/traffic", "GET", Read),
            get(traffic::get_traffic),
        ),
        (
            rule("/v1/models/{name}/traffic", "PUT", Write),
            put(traffic::put_traffic),
        ),
        (
            rule("/v1/models/{name}/rollback", "POST", Write),
            post(traffic::rollback),
        ),
        (
            rule("/agentdb/collections", "POST", AgentDbWrite),
            post(agentdb::create_collection),
        ),
        (
            rule("/agentdb/collections/{c}/insert", "POST", AgentDbWrite),
            post(agentdb::insert),
        ),
        (
            rule(
                "/agentdb/collections/{c}/batch_insert",
                "POST",
                AgentDbWrite,
            ),
            post(agentdb::batch_insert),
        ),
    ]
}

/// Every route of [`app`] with its access rule.
pub fn route_rules() -> Vec<RouteRule> {
    route_table().into_iter().map(|(r, _)| r).collect()
}

/// The whole HTTP API over `state`: `/health`, `/ready`, `/metrics`, `/openapi.json`, the `/v1`
/// model routes and the `/agentdb` collection routes, with every limit of the config applied.
/// Tested without a socket through `tower::ServiceExt::oneshot`.
pub fn app(state: AppState) -> Router {
    app_with(state, Router::new())
}

/// [`app`] plus `extra` routes (which get the read-auth and every other middleware): for
/// embedding the server in a larger service, and for tests that need a misbehaving route.
pub fn app_with(state: AppState, extra: Router<AppState>) -> Router {
    let mut api = Router::new();
    for (rule, handler) in route_table() {
        // Inside the access check: a write without the key is 401 whatever its query says.
        let handler = handler.route_layer(middleware::from_fn(no_query));
        let handler = match rule.access {
            Access::Write | Access::AgentDbWrite => {
                handler.route_layer(middleware::from_fn_with_state(state.clone(), require_store))
            }
            Access::Open | Access::Read => handler,
        };
        let handler =
            match rule.access {
                Access::Open => handler,
                Access::Read => {
                    handler.route_layer(middleware::from_fn_with_state(state.clone(), require_read))
                }
                Access::Write => handler
                    .route_layer(middleware::from_fn_with_state(state.clone(), require_write)),
                Access::AgentDbWrite if state.config().agentdb_open_writes => {
                    handler.route_layer(middleware::from_fn_with_state(state.clone(), require_read))
                }
                Access::AgentDbWrite => handler
                    .route_layer(middleware::from_fn_with_state(state.clone(), require_write)),
            };
        api = api.route(rule.path, handler);
    }
    // Extra routes are read routes (a route_layer on a router without routes would be a no-op).
    let extra = if extra.has_routes() {
        extra.route_layer(middleware::from_fn_with_state(state.clone(), require_read))
    } else {
        extra
    };
    Router::new()
        .merge(api)
        .merge(extra)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            record_metrics,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), limits))
        .layer(CatchPanicLayer::custom(panic_response))
        .with_state(state)
}

/// No route of the table takes query parameters: one given is a 422 naming it
/// (`query.stage`), never silently ignored (`GET /v1/models?stage=production` would otherwise
/// answer every model as if it had filtered them).
async fn no_query(req: Request, next: Next) -> Response {
    match req.uri().query().filter(|q| !q.is_empty()) {
        None => next.run(req).await,
        Some(q) => {
            let first = q.split('&').next().unwrap_or(q);
            let name: String = first
                .split('=')
                .next()
                .unwrap_or(first)
                .chars()
                .take(64)
                .collect();
            ApiError(Error::invalid(
                format!("query.{name}"),
                "this route takes no query parameters",
            ))
            .into_response()
        }
    }
}

async fn not_found() -> ApiError {
    Error::not_found("route").into()
}

async fn method_not_allowed() -> Response {
    let mut r = ApiError(Error::BadBody {
        reason: "method not allowed on this route".into(),
        syntax: true,
    })
    .into_response();
    *r.status_mut() = axum::http::StatusCode::METHOD_NOT_ALLOWED;
    r
}

/// A panic in a handler becomes a JSON 500; the message is logged, never sent.
fn panic_response(err: Box<dyn Any + Send + 'static>) -> Response {
    let msg = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("non-string panic payload");
    ApiError(Error::internal(format!("handler panicked: {msg}"))).into_response()
}

/// Global limits, outermost: in-flight count (503 above the limit), the request timeout
/// (503 after it), and the body limit handed to the JSON extractor.
async fn limits(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let cfg = state.config();
    let counter = state.metrics().in_flight();
    let now = counter.fetch_add(1, Ordering::AcqRel) + 1;
    struct Release<'a>(&'a std::sync::atomic::AtomicUsize);
    impl Drop for Release<'_> {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::AcqRel);
        }
    }
    let _release = Release(counter);
    if now > cfg.max_in_flight {
        return ApiError(Error::Overloaded {
            in_flight: now - 1,
            limit: cfg.max_in_flight,
        })
        .into_response();
    }
    req.extensions_mut().insert(BodyLimit(cfg.max_body));
    let timeout = cfg.request_timeout;
    match tokio::time::timeout(timeout, next.run(req)).await {
        Ok(r) => r,
        Err(_) => ApiError(Error::Timeout {
            ms: timeout.as_millis() as u64,
        })
        .into_response(),
    }
}

/// Counts and times each request by route template and (known) model name.
async fn record_metrics(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let (mut parts, body) = req.into_parts();
    let name = RawPathParams::from_request_parts(&mut parts, &state)
        .await
        .ok()
        .and_then(|p| {
            p.iter()
                .find(|(k, _)| *k == "name")
                .map(|(_, v)| v.split('@').next().unwrap_or(v).to_string())
        });
    let label = match name {
        Some(n) if state.is_known(&n) => n,
        Some(_) => "unknown".to_string(),
        None => String::new(),
    };
    let resp = next.run(Request::from_parts(parts, body)).await;
    state
        .metrics()
        .observe_request(&route, &label, resp.status().as_u16(), start.elapsed());
    resp
}

/// The key a request presents: `Authorization: Bearer KEY` or `X-API-Key: KEY`.
fn presented_key(headers: &HeaderMap) -> Option<&[u8]> {
    if let Some(v) = headers.get(header::AUTHORIZATION) {
        let b = v.as_bytes();
        if b.len() > 7 && b[..7].eq_ignore_ascii_case(b"bearer ") {
            return Some(&b[7..]);
        }
    }
    headers.get("x-api-key").map(|v| v.as_bytes())
}

/// Whether `headers` carry the configured key, compared in constant time (for keys of the
/// same length; the length itself is not secret).
fn key_ok(expected: &str, headers: &HeaderMap) -> bool {
    presented_key(headers).is_some_and(|k| bool::from(k.ct_eq(expected.as_bytes())))
}

async fn require_write(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match &state.config().api_key {
        None => ApiError(Error::Forbidden {
            reason: "writes are disabled: the server was started without an API key \
                     (send it as `Authorization: Bearer KEY` or `X-API-Key: KEY` once it has one)"
                .into(),
        })
        .into_response(),
        Some(k) if key_ok(k, req.headers()) => next.run(req).await,
        Some(_) => ApiError(Error::Unauthorized).into_response(),
    }
}

/// Writes need the store: while it is unavailable they answer 503 before their body is read.
async fn require_store(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if state.store_unavailable().is_some() {
        return ApiError(Error::Unavailable {
            reason: "the registry is unavailable: writes are refused until it is back (the \
                     models already loaded are still served)"
                .into(),
        })
        .into_response();
    }
    next.run(req).await
}

async fn require_read(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let cfg = state.config();
    match &cfg.api_key {
        Some(k) if cfg.auth_reads && !key_ok(k, req.headers()) => {
            ApiError(Error::Unauthorized).into_response()
        }
        _ => next.run(req).await,
    }
}
