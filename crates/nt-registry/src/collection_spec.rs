//! The request and record types of the collections (`CollectionSpec`, `Document`,
//! `SearchQuery`, `DocumentQuery`, ...) and the checks every write and query makes on them.
//! Every request type refuses unknown JSON fields: a typo (`"filter"` for `"filters"`) is an
//! error, never a silently ignored field.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::filter::Filter;
use crate::{Error, ModelVersion, Result};

/// The read-only collection mirroring the registered model versions.
pub const MODELS_COLLECTION: &str = "models";
/// Largest accepted collection dimension.
pub(crate) const MAX_DIMENSION: usize = 65_536;
/// Largest accepted `k`.
const MAX_K: usize = 10_000;
/// The index kinds a collection may ask for: `hnsw` (a graph once the collection is large) and
/// `flat` (exact scan). Both search the same way here: exactly below
/// [`crate::index::HNSW_THRESHOLD`] documents, through the graph above.
pub const INDEX_TYPES: [&str; 2] = ["hnsw", "flat"];

/// `POST /collections` body. Unknown fields are refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectionSpec {
    /// Collection name (letters, digits, `_`, `-`, `.`; 1 to 128 characters, not starting
    /// with `.`).
    pub name: String,
    /// Embedding length (1 to 65536).
    pub dimension: usize,
    /// Index kind requested, one of [`INDEX_TYPES`] (default `hnsw`); any other value is
    /// refused. Recorded; the registry picks exact or HNSW search by size either way.
    #[serde(default = "default_index_type")]
    pub index_type: String,
    /// Optional JSON schema of the metadata (stored, not enforced).
    #[serde(default)]
    pub metadata_schema: Option<Value>,
}

fn default_index_type() -> String {
    "hnsw".into()
}

/// A collection's description.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollectionInfo {
    /// Name.
    pub name: String,
    /// Embedding length.
    pub dimension: usize,
    /// Index kind as requested at creation.
    pub index_type: String,
    /// Metadata schema given at creation.
    pub metadata_schema: Option<Value>,
    /// Documents stored.
    pub count: usize,
    /// True for `models`.
    pub read_only: bool,
}

/// A document to insert: `{id, embedding, metadata?}`. Unknown fields are refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    /// Hex id.
    pub id: String,
    /// The vector (length = the collection's dimension, finite values).
    pub embedding: Vec<f32>,
    /// JSON object of metadata (returned by search, query and get); absent or `null` is `{}`.
    /// Any other JSON type is refused: filters and sorts address the object's fields.
    #[serde(default)]
    pub metadata: Option<Value>,
}

/// The outcome of a batch insert.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchOutcome {
    /// Documents stored (inserted or replaced).
    pub inserted: usize,
    /// Documents refused (bad id, wrong dimension, non-finite values, metadata that is not an
    /// object).
    pub failed: usize,
    /// Why each refused document was refused, in batch order (`documents[3].id: ...`).
    #[serde(default)]
    pub errors: Vec<String>,
}

fn default_k() -> usize {
    10
}

/// A similarity search. Unknown fields are refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// Query vector (the collection's dimension).
    pub embedding: Vec<f32>,
    /// Results wanted (1 to 10000; default 10).
    #[serde(default = "default_k")]
    pub k: usize,
    /// Metadata filter.
    #[serde(default)]
    pub filters: Option<Filter>,
    /// Drop results whose cosine is below this.
    #[serde(default)]
    pub min_score: Option<f32>,
}

/// One search result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    /// Document id (lowercase hex).
    pub id: String,
    /// Cosine similarity in [-1, 1].
    pub score: f32,
    /// The document's metadata (`{}` when it has none).
    pub metadata: Value,
}

/// Sort direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    /// Smallest first.
    #[default]
    Asc,
    /// Largest first.
    Desc,
}

/// Sort key of a metadata query. Unknown fields are refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SortBy {
    /// Dotted metadata path (no empty segment).
    pub field: String,
    /// Direction.
    #[serde(default)]
    pub order: SortOrder,
}

/// A metadata query (no vector): filter, sort, limit. Unknown fields are refused.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentQuery {
    /// Metadata filter; every document when absent.
    #[serde(default)]
    pub filters: Option<Filter>,
    /// At most this many documents.
    #[serde(default)]
    pub limit: Option<usize>,
    /// Sort key; documents missing the field or holding an incomparable value come last.
    /// Without it, documents come in id order.
    #[serde(default)]
    pub sort_by: Option<SortBy>,
}

/// The metadata a model version shows in the `models` collection: its JSON without the
/// embedding, plus `id` (the hex of `name@version`'s UTF-8 bytes).
pub(crate) fn model_metadata(v: &ModelVersion) -> Value {
    let mut m = serde_json::to_value(v).unwrap_or(Value::Null);
    if let Value::Object(o) = &mut m {
        o.remove("embedding");
        o.insert("id".into(), Value::String(model_doc_id(v)));
    }
    m
}

/// The id of a model version in the `models` collection: lowercase hex of `name@version`.
pub fn model_doc_id(v: &ModelVersion) -> String {
    v.reference().bytes().map(|b| format!("{b:02x}")).collect()
}

/// Checks and lowercases a hex document id.
pub fn normalize_id(id: &str) -> Result<String> {
    if id.is_empty() || id.len() > 128 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::invalid(
            "id",
            format!("`{id}` is not a hex string of 1 to 128 digits"),
        ));
    }
    Ok(id.to_ascii_lowercase())
}

pub(crate) fn check_embedding(e: &[f32], dimension: usize) -> Result<()> {
    if e.len() != dimension {
        return Err(Error::DimensionMismatch {
            expected: dimension,
            got: e.len(),
        });
    }
    if let Some(i) = e.iter().position(|x| !x.is_finite()) {
        return Err(Error::invalid(
            "embedding",
            format!("component {i} is not finite"),
        ));
    }
    Ok(())
}

pub(crate) fn check_k(k: usize) -> Result<()> {
    if k == 0 || k > MAX_K {
        return Err(Error::invalid("k", format!("{k} is not in 1..={MAX_K}")));
    }
    Ok(())
}

/// Refuses an index kind that is not one of [`INDEX_TYPES`].
pub(crate) fn check_index_type(t: &str) -> Result<()> {
    if INDEX_TYPES.contains(&t) {
        return Ok(());
    }
    Err(Error::invalid(
        "index_type",
        format!(
            "`{}` is not an index this registry has; use one of: {}",
            t.chars().take(64).collect::<String>(),
            INDEX_TYPES.join(", ")
        ),
    ))
}

/// Checks one document for `dimension` and returns its normalized id; `field` prefixes the
/// names in errors (`documents[3].`).
pub(crate) fn check_document(doc: &Document, dimension: usize, field: &str) -> Result<String> {
    let named = |e: Error| match e {
        Error::InvalidInput { field: f, reason } => Error::invalid(format!("{field}{f}"), reason),
        other => other,
    };
    let id = normalize_id(&doc.id).map_err(named)?;
    check_embedding(&doc.embedding, dimension).map_err(named)?;
    match &doc.metadata {
        None | Some(Value::Null) | Some(Value::Object(_)) => Ok(id),
        Some(other) => Err(Error::invalid(
            format!("{field}metadata"),
            format!(
                "must be a JSON object (or absent), got {}",
                json_type_name(other)
            ),
        )),
    }
}

fn json_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Refuses a sort key whose path is empty or has an empty segment (`a..b`), as filters do.
pub(crate) fn check_sort(s: &SortBy) -> Result<()> {
    if s.field.is_empty() || s.field.split('.').any(str::is_empty) {
        return Err(Error::invalid(
            "sort_by.field",
            format!(
                "path `{}` is empty or has an empty segment",
                s.field.chars().take(64).collect::<String>()
            ),
        ));
    }
    Ok(())
}
