//! `POST /v1/models/{name}/actuals` (observed values, matched to the served forecasts) and
//! `GET /v1/models/{name}/scores` (live scores per version).

use axum::extract::{Path, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::api::BodyLimit;
use crate::error::{ApiError, Error, Result};
use crate::model_ref::ModelRef;
use crate::state::{blocking, AppState};
use crate::store::VersionInfo;

/// Most actuals in one call (422 above).
pub(crate) const MAX_ACTUALS: usize = 100_000;

/// `POST /v1/models/{name}/actuals`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActualsRequest {
    /// The column observed (default: the model's first target).
    #[serde(default)]
    pub target: Option<String>,
    /// Observed values, at most 100,000 per call; each timestamp must be a step of a forecast
    /// the server answered (from a history with `timestamps`).
    pub actuals: Vec<Actual>,
}

/// One observed value.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Actual {
    /// Unix milliseconds, as the forecast's `timestamps` gave them.
    pub timestamp: i64,
    /// The observed value (a finite number).
    pub value: f64,
}

/// What `POST /v1/models/{name}/actuals` did; answered only after the commit.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ActualsResponse {
    /// New actuals stored.
    pub accepted: usize,
    /// Actuals already stored with the same value (idempotent: nothing counted twice).
    pub duplicates: usize,
    /// Matched points created: (forecast, step) pairs of any version and role these actuals hit.
    pub matched: usize,
}

/// The live scores of one version.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VersionScores {
    /// Version number.
    pub version: u32,
    /// Its stage now.
    pub stage: String,
    /// `last_100`, `last_1000` and `since_deployment`: n, mae, rmse, coverage,
    /// nominal_coverage, mean_pinball, directional_accuracy, rw_mae, skill.
    #[schema(value_type = Vec<Object>)]
    pub windows: Vec<nt_registry::ScoreWindow>,
    /// Since deployment, per role (`production`, `canary`, `shadow`, `explicit`).
    #[schema(value_type = Object)]
    pub by_role: std::collections::BTreeMap<String, nt_registry::ScoreWindow>,
}

/// `GET /v1/models/{name}/scores`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ScoresResponse {
    /// Model name.
    pub model: String,
    /// Every version with matched points, production first, then by number.
    pub versions: Vec<VersionScores>,
}

/// The registry live scoring needs, or 404 saying why there is none.
fn registry(state: &AppState) -> Result<std::sync::Arc<nt_registry::Registry>> {
    state.store().registry().ok_or_else(|| {
        Error::not_found(
            "live scoring (the server's store is not a registry, or the registry is unavailable)",
        )
    })
}

/// The model name of the `{name}` segment: a bare name (actuals and scores belong to a model,
/// across its versions).
fn bare_name(reference: &str) -> Result<String> {
    let r = ModelRef::parse(reference, "name")?;
    if r.explicit {
        return Err(Error::invalid(
            "name",
            format!(
                "`{reference}`: expected a bare model name (actuals and scores cover every version)"
            ),
        ));
    }
    Ok(r.name)
}

/// The registry's refusal of an input as a 422 on its field.
fn registry_error(e: nt_registry::Error) -> Error {
    match e {
        nt_registry::Error::InvalidInput { field, reason } => Error::invalid(field, reason),
        other => other.into(),
    }
}

/// Quotes the bare `NaN`, `Infinity` and `-Infinity` tokens outside strings (what Python's
/// `json.dumps` writes for non-finite floats), so they reach the value check and get a 422
/// naming their field; `None` when there are none.
fn quote_non_finite(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len() + 16);
    let (mut i, mut in_str, mut changed) = (0, false, false);
    while i < bytes.len() {
        let b = bytes[i];
        if in_str {
            out.push(b);
            if b == b'\\' && i + 1 < bytes.len() {
                out.push(bytes[i + 1]);
                i += 1;
            } else if b == b'"' {
                in_str = false;
            }
            i += 1;
            continue;
        }
        if b == b'"' {
            in_str = true;
        }
        let token = [&b"-Infinity"[..], b"Infinity", b"NaN"]
            .into_iter()
            .find(|t| bytes[i..].starts_with(t));
        match token {
            Some(t) => {
                out.push(b'"');
                out.extend_from_slice(t);
                out.push(b'"');
                i += t.len();
                changed = true;
            }
            None => {
                out.push(b);
                i += 1;
            }
        }
    }
    changed.then_some(out)
}

/// Parses the body, naming the failing field (by hand rather than by serde, so that NaN, text
/// and unknown fields get a 422 with the field's path).
fn parse_actuals(bytes: &[u8]) -> Result<ActualsRequest> {
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => match quote_non_finite(bytes).and_then(|b| serde_json::from_slice(&b).ok()) {
            Some(v) => v,
            None => {
                return Err(Error::BadBody {
                    reason: e.to_string(),
                    syntax: true,
                })
            }
        },
    };
    let Value::Object(body) = value else {
        return Err(Error::invalid("body", "expected an object with `actuals`"));
    };
    if let Some(k) = body
        .keys()
        .find(|k| !matches!(k.as_str(), "target" | "actuals"))
    {
        return Err(Error::invalid(
            k.clone(),
            "unknown field (expected `target` and `actuals`)",
        ));
    }
    let target = match body.get("target") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) if !t.is_empty() => Some(t.clone()),
        Some(_) => return Err(Error::invalid("target", "expected a column name")),
    };
    let Some(Value::Array(items)) = body.get("actuals") else {
        return Err(Error::invalid(
            "actuals",
            "expected an array of {\"timestamp\": ms, \"value\": v}",
        ));
    };
    if items.len() > MAX_ACTUALS {
        return Err(Error::invalid(
            "actuals",
            format!("at most {MAX_ACTUALS} per call, got {}", items.len()),
        ));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let field = |f: &str| format!("actuals[{i}].{f}");
        let Value::Object(o) = item else {
            return Err(Error::invalid(
                format!("actuals[{i}]"),
                "expected {\"timestamp\": ms, \"value\": v}",
            ));
        };
        if let Some(k) = o
            .keys()
            .find(|k| !matches!(k.as_str(), "timestamp" | "value"))
        {
            return Err(Error::invalid(
                field(k),
                "unknown field (expected `timestamp` and `value`)",
            ));
        }
        let ts = o.get("timestamp").and_then(Value::as_i64).ok_or_else(|| {
            Error::invalid(
                field("timestamp"),
                "expected unix milliseconds as an integer",
            )
        })?;
        let value = match o.get("value") {
            Some(Value::Number(n)) => n.as_f64().filter(|v| v.is_finite()),
            _ => None,
        }
        .ok_or_else(|| {
            let got = match o.get("value") {
                None => "nothing".to_string(),
                Some(v) => v.to_string().chars().take(40).collect(),
            };
            Error::invalid(
                field("value"),
                format!("expected a finite number, got {got}"),
            )
        })?;
        out.push(Actual {
            timestamp: ts,
            value,
        });
    }
    Ok(ActualsRequest {
        target,
        actuals: out,
    })
}

/// The body's bytes: JSON content type (or none), within the body limit.
async fn body_bytes(request: Request) -> Result<axum::body::Bytes> {
    if let Some(ct) = request.headers().get(CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or("");
        let mime = ct.split(';').next().unwrap_or("").trim();
        if !(mime.eq_ignore_ascii_case("application/json") || mime.ends_with("+json")) {
            return Err(Error::UnsupportedMediaType {
                got: ct.chars().take(100).collect(),
            });
        }
    }
    let limit = request
        .extensions()
        .get::<BodyLimit>()
        .map_or(usize::MAX, |l| l.0);
    axum::body::to_bytes(request.into_body(), limit)
        .await
        .map_err(|_| Error::BodyTooLarge { limit })
}

/// Refreshes the score gauges of every scored version of `name`.
fn refresh_gauges(state: &AppState, registry: &nt_registry::Registry, name: &str) -> Result<()> {
    for v in registry.scored_versions(name)? {
        state
            .metrics()
            .live()
            .set_scores(&registry.live_scores(name, v)?);
    }
    Ok(())
}

/// Observed values of a model's target. Each is matched to every forecast the server
/// answered (any version and role) whose steps contain its timestamp, and the live scores are
/// updated; answered only after the commit. Duplicates are idempotent; another value for a
/// recorded timestamp, a timestamp no forecast has, NaN or text are 422 naming the field.
#[utoipa::path(
    post,
    path = "/v1/models/{name}/actuals",
    tag = "models",
    params(("name" = String, Path, description = "Model name (bare: actuals cover every version)")),
    request_body = ActualsRequest,
    security(("api_key" = []), ("api_key_header" = [])),
    responses(
        (status = 200, description = "Stored and matched", body = ActualsResponse),
        (status = 400, description = "Not JSON", body = crate::error::ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = crate::error::ErrorBody),
        (status = 403, description = "The server has no API key", body = crate::error::ErrorBody),
        (status = 404, description = "Unknown model, or no registry", body = crate::error::ErrorBody),
        (status = 413, description = "Body too large", body = crate::error::ErrorBody),
        (status = 422, description = "Invalid field (named in `field`)", body = crate::error::ErrorBody),
    )
)]
pub(crate) async fn actuals(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    request: Request,
) -> std::result::Result<Json<ActualsResponse>, ApiError> {
    let name = bare_name(&reference)?;
    let registry = registry(&state)?;
    let body = parse_actuals(&body_bytes(request).await?)?;
    let actuals: Vec<(i64, f64)> = body
        .actuals
        .iter()
        .map(|a| (a.timestamp, a.value))
        .collect();
    let store = state.store().clone();
    let n = name.clone();
    let versions = blocking(move || store.versions(&n)).await?;
    let target = match body.target {
        Some(t) => {
            if !versions.iter().any(|v| v.targets.contains(&t)) {
                return Err(Error::invalid(
                    "target",
                    format!("`{t}` is not a target column of model `{name}`"),
                )
                .into());
            }
            t
        }
        None => default_target(&versions)
            .ok_or_else(|| Error::invalid("target", "the model names no target column"))?,
    };
    // Forecasts answered a moment ago must be in the registry before matching.
    state.flush_forecast_log().await;
    let s = state.clone();
    let out = blocking(move || {
        let out = registry
            .record_actuals(&name, &target, &actuals)
            .map_err(registry_error)?;
        if out.matched > 0 {
            if let Err(e) = refresh_gauges(&s, &registry, &name) {
                tracing::warn!(model = %name, error = %e, "cannot refresh the live-score gauges");
            }
        }
        Ok(out)
    })
    .await?;
    Ok(Json(ActualsResponse {
        accepted: out.accepted,
        duplicates: out.duplicates,
        matched: out.matched,
    }))
}

/// The first target of the production version, else of the newest version.
fn default_target(versions: &[VersionInfo]) -> Option<String> {
    versions
        .iter()
        .find(|v| v.stage == "production")
        .or(versions.last())
        .and_then(|v| v.targets.first().cloned())
}

/// Live scores of every version of a model with matched points (production first): over the
/// last 100 and 1,000 matched points and since deployment, overall and per role.
#[utoipa::path(
    get,
    path = "/v1/models/{name}/scores",
    tag = "models",
    params(("name" = String, Path, description = "Model name")),
    responses(
        (status = 200, description = "Scores per version", body = ScoresResponse),
        (status = 404, description = "Unknown model, or no registry", body = crate::error::ErrorBody),
        (status = 422, description = "Invalid model name", body = crate::error::ErrorBody),
    )
)]
pub(crate) async fn scores(
    State(state): State<AppState>,
    Path(reference): Path<String>,
) -> std::result::Result<Json<ScoresResponse>, ApiError> {
    let name = bare_name(&reference)?;
    let registry = registry(&state)?;
    let store = state.store().clone();
    let s = state.clone();
    let response = blocking(move || {
        let versions = store.versions(&name)?;
        let mut scored = Vec::new();
        for v in registry.scored_versions(&name)? {
            let stage = versions
                .iter()
                .find(|i| i.version == v)
                .map_or_else(|| "deleted".to_string(), |i| i.stage.clone());
            let live = registry.live_scores(&name, v)?;
            s.metrics().live().set_scores(&live);
            scored.push(VersionScores {
                version: v,
                stage,
                windows: live.windows,
                by_role: live.by_role,
            });
        }
        scored.sort_by_key(|v| (v.stage != "production", v.version));
        Ok(ScoresResponse {
            model: name,
            versions: scored,
        })
    })
    .await?;
    Ok(Json(response))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_non_finite_tokens_are_quoted_outside_strings_only() {
        let q = |s: &str| quote_non_finite(s.as_bytes()).map(|b| String::from_utf8(b).unwrap());
        assert_eq!(
            q(r#"{"a": NaN, "b": -Infinity, "c": "NaN \" Infinity"}"#).as_deref(),
            Some(r#"{"a": "NaN", "b": "-Infinity", "c": "NaN \" Infinity"}"#)
        );
        assert_eq!(q(r#"{"a": 1, "b": "NaN"}"#), None);
    }

    #[test]
    fn each_bad_actual_names_its_field() {
        let field = |body: &str| match parse_actuals(body.as_bytes()) {
            Err(Error::Invalid { field, .. }) => field,
            other => panic!("{body}: {other:?}"),
        };
        assert_eq!(
            field(r#"{"actuals": [{"timestamp": 1, "value": NaN}]}"#),
            "actuals[0].value"
        );
        assert_eq!(
            field(
                r#"{"actuals": [{"timestamp": 1, "value": 1}, {"timestamp": 2, "value": "abc"}]}"#
            ),
            "actuals[1].value"
        );
        assert_eq!(
            field(r#"{"actuals": [{"timestamp": "x", "value": 1}]}"#),
            "actuals[0].timestamp"
        );
        assert_eq!(
            field(r#"{"actuals": [{"timestamp": 1, "value": 1, "v": 2}]}"#),
            "actuals[0].v"
        );
        assert_eq!(field(r#"{"actuals": [], "extra": 1}"#), "extra");
        assert_eq!(field(r#"{"target": 3, "actuals": []}"#), "target");
        assert_eq!(field(r#"{}"#), "actuals");
        let body =
            parse_actuals(br#"{"target": "OT", "actuals": [{"timestamp": 5, "value": 2.5}]}"#)
                .unwrap();
        assert_eq!(body.target.as_deref(), Some("OT"));
        assert_eq!((body.actuals[0].timestamp, body.actuals[0].value), (5, 2.5));
    }
}
