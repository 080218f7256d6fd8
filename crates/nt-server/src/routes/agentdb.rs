//! The AgentDB protocol under `/agentdb`, mapped onto the registry's generic collections, so a
//! client given the base URL `http://HOST:PORT/agentdb` works unchanged. Bad ids, wrong
//! dimensions and malformed filters answer 400, unknown collections and documents 404, an
//! existing collection 409; the registry's own models are the read-only collection `models`.
//! Every body refuses unknown fields (422 naming the field: a typo such as `"filter"` is an
//! error, not an ignored key), and so do unknown `index_type` / `distance_metric` values.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use nt_registry::{
    CollectionSpec, Document, DocumentQuery, Filter, Registry, SearchQuery, SortBy, INDEX_TYPES,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::api::JsonBody;
use crate::error::{ApiError, Error, ErrorBody, Result};
use crate::state::{blocking, AppState};

fn registry(state: &AppState) -> Result<Arc<Registry>> {
    if state.store_unavailable().is_some() {
        return Err(Error::Unavailable {
            reason: "the registry is unavailable (its database file was removed or replaced, \
                     or does not answer)"
                .into(),
        });
    }
    state.store().registry().ok_or_else(|| Error::Unavailable {
        reason: "collections need a registry-backed server (nt serve --registry DIR)".into(),
    })
}

/// Runs `f` on the registry off the async workers.
async fn with_registry<T, F>(state: &AppState, f: F) -> Result<T>
where
    F: FnOnce(&Registry) -> std::result::Result<T, nt_registry::Error> + Send + 'static,
    T: Send + 'static,
{
    let reg = registry(state)?;
    blocking(move || f(&reg).map_err(Error::from)).await
}

/// A filter object, or an array of them (their AND, as the published client sends).
fn parse_filter(v: Option<Value>) -> Result<Option<Filter>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(v) => Filter::from_json(&v).map(Some).map_err(Error::from),
    }
}

/// A body's optional `collection` must name the collection of the path: a client that sends
/// one means it, and answering from another collection would be silently wrong.
fn check_collection(body: Option<&str>, path: &str) -> Result<()> {
    match body {
        Some(b) if b != path => Err(Error::invalid(
            "collection",
            format!(
                "`{}` differs from the collection of the path, `{path}`",
                b.chars().take(128).collect::<String>()
            ),
        )),
        _ => Ok(()),
    }
}

/// The distance metrics a collection may ask for: cosine similarity only.
const DISTANCE_METRICS: [&str; 1] = ["cosine"];

/// `POST /agentdb/collections`: `{name, dimension, index_type?, distance_metric?,
/// metadata_schema?}`; unknown fields are refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateCollectionBody {
    name: String,
    dimension: usize,
    #[serde(default)]
    index_type: Option<String>,
    #[serde(default)]
    distance_metric: Option<String>,
    #[serde(default)]
    metadata_schema: Option<Value>,
}

impl CreateCollectionBody {
    /// The registry's spec, once `index_type` and `distance_metric` are values we have (422
    /// naming the field and the accepted values otherwise).
    fn into_spec(self) -> Result<CollectionSpec> {
        let short = |s: &str| s.chars().take(64).collect::<String>();
        let index_type = self.index_type.unwrap_or_else(|| "hnsw".into());
        if !INDEX_TYPES.contains(&index_type.as_str()) {
            return Err(Error::invalid(
                "index_type",
                format!(
                    "`{}` is not an index this server has; accepted: {}",
                    short(&index_type),
                    INDEX_TYPES.join(", ")
                ),
            ));
        }
        if let Some(m) = self
            .distance_metric
            .filter(|m| !DISTANCE_METRICS.contains(&m.as_str()))
        {
            return Err(Error::invalid(
                "distance_metric",
                format!(
                    "`{}` is not a metric this server has; accepted: {}",
                    short(&m),
                    DISTANCE_METRICS.join(", ")
                ),
            ));
        }
        Ok(CollectionSpec {
            name: self.name,
            dimension: self.dimension,
            index_type,
            metadata_schema: self.metadata_schema,
        })
    }
}

/// `GET /agentdb/health`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub(crate) struct AgentDbHealth {
    /// `ok` when the registry answers.
    pub status: String,
    /// The server's crate version.
    pub version: String,
}

/// The registry behind the collections answers.
#[utoipa::path(get, path = "/agentdb/health", tag = "agentdb",
    responses((status = 200, description = "Healthy", body = AgentDbHealth),
              (status = 503, description = "No registry", body = ErrorBody)))]
pub(crate) async fn health(
    State(state): State<AppState>,
) -> std::result::Result<Json<AgentDbHealth>, ApiError> {
    with_registry(&state, |r| r.generation()).await?;
    Ok(Json(AgentDbHealth {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    }))
}

/// Creates a collection: `{name, dimension, index_type?, distance_metric?, metadata_schema?}`
/// (`index_type` one of `hnsw`, `flat`; `distance_metric` `cosine`).
/// Needs the key (`Authorization: Bearer KEY` or `X-API-Key: KEY`), unless the server runs with
/// key-less AgentDB writes (`nt serve --agentdb-open-writes`, loopback only).
#[utoipa::path(post, path = "/agentdb/collections", tag = "agentdb",
    request_body = Object, security(("api_key" = []), ("api_key_header" = []), ()),
    responses((status = 201, description = "Created", body = Object),
              (status = 400, description = "Invalid spec", body = ErrorBody),
              (status = 409, description = "Exists", body = ErrorBody),
              (status = 422, description = "Unknown field, index type or metric", body = ErrorBody)))]
pub(crate) async fn create_collection(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CreateCollectionBody>,
) -> std::result::Result<Response, ApiError> {
    let spec = body.into_spec()?;
    let info = with_registry(&state, move |r| r.create_collection(&spec)).await?;
    let body = serde_json::to_value(&info).map_err(Error::internal)?;
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// `{id, success}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub(crate) struct InsertResponse {
    /// The document id (hex).
    pub id: String,
    /// Always true (failures answer 4xx).
    pub success: bool,
}

/// Inserts (or replaces) one document: `{id: hex, embedding: [f32], metadata?}`.
/// Needs the key (`Authorization: Bearer KEY` or `X-API-Key: KEY`), unless the server runs with
/// key-less AgentDB writes (`nt serve --agentdb-open-writes`, loopback only).
#[utoipa::path(post, path = "/agentdb/collections/{c}/insert", tag = "agentdb",
    params(("c" = String, Path, description = "Collection")),
    request_body = Object, security(("api_key" = []), ("api_key_header" = []), ()),
    responses((status = 200, description = "Inserted", body = InsertResponse),
              (status = 400, description = "Bad id or dimension", body = ErrorBody),
              (status = 404, description = "Unknown collection", body = ErrorBody),
              (status = 422, description = "Unknown field, or `collection` differs from the path", body = ErrorBody)))]
pub(crate) async fn insert(
    State(state): State<AppState>,
    Path(c): Path<String>,
    JsonBody(doc): JsonBody<Document>,
) -> std::result::Result<Json<InsertResponse>, ApiError> {
    let id = doc.id.clone();
    with_registry(&state, move |r| r.insert(&c, &doc)).await?;
    Ok(Json(InsertResponse { id, success: true }))
}

/// `{documents: [insert bodies]}`; unknown fields are refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BatchInsertBody {
    documents: Vec<Document>,
}

/// Inserts many documents: `{documents: [...]}` → `{inserted, failed, errors}` (`errors`: why
/// each refused document was refused); one id twice in a batch refuses the batch (400).
/// Needs the key (`Authorization: Bearer KEY` or `X-API-Key: KEY`), unless the server runs with
/// key-less AgentDB writes (`nt serve --agentdb-open-writes`, loopback only).
#[utoipa::path(post, path = "/agentdb/collections/{c}/batch_insert", tag = "agentdb",
    params(("c" = String, Path, description = "Collection")),
    request_body = Object, security(("api_key" = []), ("api_key_header" = []), ()),
    responses((status = 200, description = "Counts", body = Object),
              (status = 404, description = "Unknown collection", body = ErrorBody),
              (status = 422, description = "Unknown field, or `collection` differs from the path", body = ErrorBody)))]
pub(crate) async fn batch_insert(
    State(state): State<AppState>,
    Path(c): Path<String>,
    JsonBody(body): JsonBody<BatchInsertBody>,
) -> std::result::Result<Json<Value>, ApiError> {
    let out = with_registry(&state, move |r| r.batch_insert(&c, &body.documents)).await?;
    Ok(Json(serde_json::to_value(out).map_err(Error::internal)?))
}

/// `{collection?, embedding, k, filters?, min_score?}`; unknown fields are refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SearchBody {
    #[serde(default)]
    collection: Option<String>,
    embedding: Vec<f32>,
    k: usize,
    #[serde(default)]
    filters: Option<Value>,
    #[serde(default)]
    min_score: Option<f32>,
}

/// One hit: the document's id, its stored metadata and its cosine score.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub(crate) struct SearchResult {
    /// The document id (lowercase hex).
    pub id: String,
    /// The document's metadata.
    #[schema(value_type = Object)]
    pub document: Value,
    /// Cosine similarity.
    pub score: f32,
}

/// `{results: [{id, document, score}]}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub(crate) struct SearchResponse {
    /// Best first.
    pub results: Vec<SearchResult>,
}

/// The k nearest documents by cosine similarity, with metadata filters.
#[utoipa::path(post, path = "/agentdb/collections/{c}/search", tag = "agentdb",
    params(("c" = String, Path, description = "Collection")),
    request_body = Object,
    responses((status = 200, description = "Hits", body = SearchResponse),
              (status = 400, description = "Bad dimension or filter", body = ErrorBody),
              (status = 404, description = "Unknown collection", body = ErrorBody),
              (status = 422, description = "Unknown field, or `collection` differs from the path", body = ErrorBody)))]
pub(crate) async fn search(
    State(state): State<AppState>,
    Path(c): Path<String>,
    JsonBody(body): JsonBody<SearchBody>,
) -> std::result::Result<Json<SearchResponse>, ApiError> {
    check_collection(body.collection.as_deref(), &c)?;
    let query = SearchQuery {
        embedding: body.embedding,
        k: body.k,
        filters: parse_filter(body.filters)?,
        min_score: body.min_score,
    };
    let hits = with_registry(&state, move |r| r.search(&c, &query)).await?;
    Ok(Json(SearchResponse {
        results: hits
            .into_iter()
            .map(|h| SearchResult {
                id: h.id,
                document: h.metadata,
                score: h.score,
            })
            .collect(),
    }))
}

/// `{collection?, filters?, limit?, sort_by?}`; unknown fields are refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct QueryBody {
    #[serde(default)]
    collection: Option<String>,
    #[serde(default)]
    filters: Option<Value>,
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    sort_by: Option<SortBy>,
}

/// `{documents: [metadata]}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub(crate) struct QueryResponse {
    /// Matching documents' metadata.
    #[schema(value_type = Vec<Object>)]
    pub documents: Vec<Value>,
}

/// Documents whose metadata match the filters, optionally sorted and limited.
#[utoipa::path(post, path = "/agentdb/collections/{c}/query", tag = "agentdb",
    params(("c" = String, Path, description = "Collection")),
    request_body = Object,
    responses((status = 200, description = "Documents", body = QueryResponse),
              (status = 400, description = "Bad filter", body = ErrorBody),
              (status = 404, description = "Unknown collection", body = ErrorBody),
              (status = 422, description = "Unknown field, or `collection` differs from the path", body = ErrorBody)))]
pub(crate) async fn query(
    State(state): State<AppState>,
    Path(c): Path<String>,
    JsonBody(body): JsonBody<QueryBody>,
) -> std::result::Result<Json<QueryResponse>, ApiError> {
    check_collection(body.collection.as_deref(), &c)?;
    let q = DocumentQuery {
        filters: parse_filter(body.filters)?,
        limit: body.limit,
        sort_by: body.sort_by,
    };
    let documents = with_registry(&state, move |r| r.query(&c, &q)).await?;
    Ok(Json(QueryResponse { documents }))
}

/// One document's metadata; 404 when absent.
#[utoipa::path(get, path = "/agentdb/collections/{c}/documents/{id}", tag = "agentdb",
    params(("c" = String, Path, description = "Collection"), ("id" = String, Path, description = "Hex id")),
    responses((status = 200, description = "Metadata", body = Object),
              (status = 400, description = "Bad id", body = ErrorBody),
              (status = 404, description = "Absent", body = ErrorBody)))]
pub(crate) async fn get_document(
    State(state): State<AppState>,
    Path((c, id)): Path<(String, String)>,
) -> std::result::Result<Json<Value>, ApiError> {
    let what = format!("document `{id}` in collection `{c}`");
    let doc = with_registry(&state, move |r| r.get_document(&c, &id)).await?;
    Ok(Json(doc.ok_or_else(|| Error::not_found(what))?))
}

/// Deletes one document; 404 when absent.
/// Needs the key (`Authorization: Bearer KEY` or `X-API-Key: KEY`), unless the server runs with
/// key-less AgentDB writes (`nt serve --agentdb-open-writes`, loopback only).
#[utoipa::path(delete, path = "/agentdb/collections/{c}/documents/{id}", tag = "agentdb",
    params(("c" = String, Path, description = "Collection"), ("id" = String, Path, description = "Hex id")),
    security(("api_key" = []), ("api_key_header" = []), ()),
    responses((status = 200, description = "Deleted", body = InsertResponse),
              (status = 404, description = "Absent", body = ErrorBody)))]
pub(crate) async fn delete_document(
    State(state): State<AppState>,
    Path((c, id)): Path<(String, String)>,
) -> std::result::Result<Json<InsertResponse>, ApiError> {
    let what = format!("document `{id}` in collection `{c}`");
    let key = id.clone();
    let deleted = with_registry(&state, move |r| r.delete_document(&c, &key)).await?;
    if !deleted {
        return Err(Error::not_found(what).into());
    }
    Ok(Json(InsertResponse { id, success: true }))
}
