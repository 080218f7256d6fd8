//! Generic vector collections with the AgentDB protocol's semantics (the HTTP mapping lives in
//! `nt-server`), plus the read-only `models` collection that mirrors the registry.
//!
//! Documents are keyed by a hex id (case-insensitive, stored lowercase, 1 to 128 hex digits).
//! Inserting an id that already exists **replaces** the document (upsert), as AgentDB does.

use std::sync::Arc;

use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::filter::{json_cmp, lookup, Filter};
use crate::index::{VectorIndex, HNSW_THRESHOLD};
use crate::store::{bytes_to_f32s, f32s_to_bytes, now_rfc3339, CollectionIndex};
use crate::types::validate_name;
use crate::{Error, ModelVersion, Registry, Result, EMBEDDING_DIM};

/// The read-only collection mirroring the registered model versions.
pub const MODELS_COLLECTION: &str = "models";
/// Largest accepted collection dimension.
const MAX_DIMENSION: usize = 65_536;
/// Largest accepted `k`.
const MAX_K: usize = 10_000;

/// `POST /collections` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollectionSpec {
    /// Collection name (letters, digits, `_`, `-`, `.`; 1 to 128 characters).
    pub name: String,
    /// Embedding length (1 to 65536).
    pub dimension: usize,
    /// Index kind requested (`hnsw`, `flat`, ...): recorded; the registry picks exact or HNSW
    /// search by size either way.
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

/// A document to insert: `{id, embedding, metadata?}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// Hex id.
    pub id: String,
    /// The vector (length = the collection's dimension, finite values).
    pub embedding: Vec<f32>,
    /// Arbitrary JSON metadata (returned by search, query and get).
    #[serde(default)]
    pub metadata: Option<Value>,
}

/// The outcome of a batch insert.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchOutcome {
    /// Documents stored (inserted or replaced).
    pub inserted: usize,
    /// Documents refused (bad id, wrong dimension, non-finite values).
    pub failed: usize,
}

fn default_k() -> usize {
    10
}

/// A similarity search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// Sort key of a metadata query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SortBy {
    /// Dotted metadata path.
    pub field: String,
    /// Direction.
    #[serde(default)]
    pub order: SortOrder,
}

/// A metadata query (no vector): filter, sort, limit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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

fn check_embedding(e: &[f32], dimension: usize) -> Result<()> {
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

fn check_k(k: usize) -> Result<()> {
    if k == 0 || k > MAX_K {
        return Err(Error::invalid("k", format!("{k} is not in 1..={MAX_K}")));
    }
    Ok(())
}

impl Registry {
    /// Creates a collection; [`Error::AlreadyExists`] when the name is taken (`models`
    /// included).
    pub fn create_collection(&self, spec: &CollectionSpec) -> Result<CollectionInfo> {
        validate_name(&spec.name).map_err(|_| {
            Error::invalid(
                "collection name",
                format!(
                    "`{}` must be 1 to 128 letters, digits, `_`, `-` or `.`",
                    spec.name
                ),
            )
        })?;
        if spec.dimension == 0 || spec.dimension > MAX_DIMENSION {
            return Err(Error::invalid(
                "dimension",
                format!("{} is not in 1..={MAX_DIMENSION}", spec.dimension),
            ));
        }
        if spec.name == MODELS_COLLECTION {
            return Err(Error::AlreadyExists {
                what: "collection",
                name: spec.name.clone(),
            });
        }
        let schema = spec
            .metadata_schema
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| Error::Json {
                context: "metadata_schema".into(),
                source: e,
            })?;
        self.write(|tx| {
            let n = tx
                .execute(
                    "INSERT INTO collections(name, dimension, index_type, metadata_schema, \
                     created_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(name) DO NOTHING",
                    params![
                        spec.name,
                        spec.dimension as i64,
                        spec.index_type,
                        schema,
                        now_rfc3339()
                    ],
                )
                .map_err(|e| self.sql(e))?;
            if n == 0 {
                return Err(Error::AlreadyExists {
                    what: "collection",
                    name: spec.name.clone(),
                });
            }
            Ok(())
        })?;
        self.collection(&spec.name)
    }

    /// Describes a collection ([`Error::NotFound`] when absent).
    pub fn collection(&self, name: &str) -> Result<CollectionInfo> {
        if name == MODELS_COLLECTION {
            let count = self.models_index()?.versions.len();
            return Ok(CollectionInfo {
                name: name.into(),
                dimension: EMBEDDING_DIM,
                index_type: "hnsw".into(),
                metadata_schema: None,
                count,
                read_only: true,
            });
        }
        let conn = self.conn();
        let row: Option<(i64, String, Option<String>)> = conn
            .query_row(
                "SELECT dimension, index_type, metadata_schema FROM collections WHERE name = ?1",
                [name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        let Some((dimension, index_type, schema)) = row else {
            return Err(Error::not_found("collection", name));
        };
        let count: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM documents WHERE collection = ?1",
                [name],
                |r| r.get(0),
            )
            .map_err(|e| self.sql(e))?;
        Ok(CollectionInfo {
            name: name.into(),
            dimension: dimension.max(0) as usize,
            index_type,
            metadata_schema: schema
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|e| Error::Json {
                    context: format!("metadata_schema of {name}"),
                    source: e,
                })?,
            count: count.max(0) as usize,
            read_only: false,
        })
    }

    /// Every collection (the read-only `models` first, then by name).
    pub fn collections(&self) -> Result<Vec<CollectionInfo>> {
        let names: Vec<String> = {
            let conn = self.conn();
            let mut stmt = conn
                .prepare("SELECT name FROM collections ORDER BY name")
                .map_err(|e| self.sql(e))?;
            let rows = stmt.query_map([], |r| r.get(0)).map_err(|e| self.sql(e))?;
            rows.collect::<rusqlite::Result<_>>()
                .map_err(|e| self.sql(e))?
        };
        std::iter::once(MODELS_COLLECTION.to_string())
            .chain(names)
            .map(|n| self.collection(&n))
            .collect()
    }

    fn writable(&self, collection: &str) -> Result<CollectionInfo> {
        if collection == MODELS_COLLECTION {
            return Err(Error::ReadOnly {
                collection: collection.into(),
            });
        }
        self.collection(collection)
    }

    /// Inserts (or replaces: upsert by id) one document.
    pub fn insert(&self, collection: &str, doc: &Document) -> Result<()> {
        let info = self.writable(collection)?;
        let id = normalize_id(&doc.id)?;
        check_embedding(&doc.embedding, info.dimension)?;
        self.write(|tx| self.put(tx, collection, &id, doc))
    }

    fn put(
        &self,
        tx: &rusqlite::Transaction<'_>,
        collection: &str,
        id: &str,
        doc: &Document,
    ) -> Result<()> {
        let meta = doc
            .metadata
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| Error::Json {
                context: "metadata".into(),
                source: e,
            })?;
        tx.execute(
            "INSERT INTO documents(collection, id, embedding, metadata) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT(collection, id) DO UPDATE SET embedding = excluded.embedding, \
             metadata = excluded.metadata",
            params![collection, id, f32s_to_bytes(&doc.embedding), meta],
        )
        .map_err(|e| self.sql(e))?;
        tx.execute(
            "UPDATE collections SET revision = revision + 1 WHERE name = ?1",
            [collection],
        )
        .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// Inserts every valid document in one transaction; invalid ones (bad id, wrong dimension,
    /// non-finite values) are counted as failed. The collection itself must exist and be
    /// writable.
    pub fn batch_insert(&self, collection: &str, docs: &[Document]) -> Result<BatchOutcome> {
        let info = self.writable(collection)?;
        let valid: Vec<(String, &Document)> = docs
            .iter()
            .filter_map(|d| {
                let id = normalize_id(&d.id).ok()?;
                check_embedding(&d.embedding, info.dimension).ok()?;
                Some((id, d))
            })
            .collect();
        let failed = docs.len() - valid.len();
        if !valid.is_empty() {
            self.write(|tx| {
                for (id, d) in &valid {
                    self.put(tx, collection, id, d)?;
                }
                Ok(())
            })?;
        }
        Ok(BatchOutcome {
            inserted: valid.len(),
            failed,
        })
    }

    fn collection_index(&self, collection: &str) -> Result<Arc<CollectionIndex>> {
        let revision: Option<i64> = self
            .conn()
            .query_row(
                "SELECT revision FROM collections WHERE name = ?1",
                [collection],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        let Some(revision) = revision else {
            return Err(Error::not_found("collection", collection));
        };
        if let Some(c) = self
            .collection_cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(collection)
            .filter(|c| c.revision == revision)
        {
            return Ok(Arc::clone(c));
        }
        let info = self.collection(collection)?;
        let rows: Vec<(String, Vec<u8>, Option<String>)> = {
            let conn = self.conn();
            let mut stmt = conn
                .prepare(
                    "SELECT id, embedding, metadata FROM documents WHERE collection = ?1 \
                     ORDER BY id",
                )
                .map_err(|e| self.sql(e))?;
            let rows = stmt
                .query_map([collection], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(|e| self.sql(e))?;
            rows.collect::<rusqlite::Result<_>>()
                .map_err(|e| self.sql(e))?
        };
        let mut ids = Vec::with_capacity(rows.len());
        let mut vectors = Vec::with_capacity(rows.len());
        let mut metadata = Vec::with_capacity(rows.len());
        for (id, emb, meta) in rows {
            let m = match meta {
                Some(t) => serde_json::from_str(&t).map_err(|e| Error::Json {
                    context: format!("document {id} of {collection}"),
                    source: e,
                })?,
                None => Value::Object(Default::default()),
            };
            ids.push(id);
            vectors.push(bytes_to_f32s(&emb));
            metadata.push(m);
        }
        let index = VectorIndex::build(info.dimension, &vectors, metadata, HNSW_THRESHOLD);
        let built = Arc::new(CollectionIndex {
            revision,
            ids,
            index,
        });
        self.collection_cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(collection.into(), Arc::clone(&built));
        Ok(built)
    }

    /// The `k` documents nearest to the query by cosine that pass its filter and `min_score`,
    /// best first.
    pub fn search(&self, collection: &str, query: &SearchQuery) -> Result<Vec<SearchHit>> {
        check_k(query.k)?;
        if let Some(f) = &query.filters {
            f.validate()?;
        }
        if collection == MODELS_COLLECTION {
            check_embedding(&query.embedding, EMBEDDING_DIM)?;
            let idx = self.models_index()?;
            let hits = idx.index.search(
                &query.embedding,
                query.k,
                query.filters.as_ref(),
                query.min_score,
            );
            return Ok(hits
                .into_iter()
                .map(|h| SearchHit {
                    id: model_doc_id(&idx.versions[h.row]),
                    score: h.score,
                    metadata: idx.index.metadata(h.row).clone(),
                })
                .collect());
        }
        let info = self.collection(collection)?;
        check_embedding(&query.embedding, info.dimension)?;
        let idx = self.collection_index(collection)?;
        let hits = idx.index.search(
            &query.embedding,
            query.k,
            query.filters.as_ref(),
            query.min_score,
        );
        Ok(hits
            .into_iter()
            .map(|h| SearchHit {
                id: idx.ids[h.row].clone(),
                score: h.score,
                metadata: idx.index.metadata(h.row).clone(),
            })
            .collect())
    }

    /// Metadata of the documents passing the filter, sorted and limited as asked.
    pub fn query(&self, collection: &str, q: &DocumentQuery) -> Result<Vec<Value>> {
        if let Some(f) = &q.filters {
            f.validate()?;
        }
        if let Some(s) = &q.sort_by {
            if s.field.is_empty() {
                return Err(Error::invalid("sort_by.field", "must not be empty"));
            }
        }
        let docs: Vec<Value> = if collection == MODELS_COLLECTION {
            let idx = self.models_index()?;
            (0..idx.index.len())
                .map(|i| idx.index.metadata(i).clone())
                .collect()
        } else {
            let idx = self.collection_index(collection)?;
            (0..idx.index.len())
                .map(|i| idx.index.metadata(i).clone())
                .collect()
        };
        let mut docs: Vec<Value> = docs
            .into_iter()
            .filter(|d| q.filters.as_ref().is_none_or(|f| f.matches(d)))
            .collect();
        if let Some(s) = &q.sort_by {
            docs.sort_by(|a, b| {
                use std::cmp::Ordering;
                match (lookup(a, &s.field), lookup(b, &s.field)) {
                    (Some(x), Some(y)) => match json_cmp(x, y) {
                        Some(o) if s.order == SortOrder::Desc => o.reverse(),
                        Some(o) => o,
                        None => Ordering::Equal,
                    },
                    (Some(_), None) => Ordering::Less,
                    (None, Some(_)) => Ordering::Greater,
                    (None, None) => Ordering::Equal,
                }
            });
        }
        if let Some(l) = q.limit {
            docs.truncate(l);
        }
        Ok(docs)
    }

    /// A document's metadata (`{}` when it has none), or `None` when the id is absent.
    pub fn get_document(&self, collection: &str, id: &str) -> Result<Option<Value>> {
        let id = normalize_id(id)?;
        if collection == MODELS_COLLECTION {
            let idx = self.models_index()?;
            return Ok(idx
                .versions
                .iter()
                .position(|v| model_doc_id(v) == id)
                .map(|i| idx.index.metadata(i).clone()));
        }
        self.collection(collection)?;
        let row: Option<Option<String>> = self
            .conn()
            .query_row(
                "SELECT metadata FROM documents WHERE collection = ?1 AND id = ?2",
                params![collection, id],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        row.map(|m| match m {
            Some(t) => serde_json::from_str(&t).map_err(|e| Error::Json {
                context: format!("document {id} of {collection}"),
                source: e,
            }),
            None => Ok(Value::Object(Default::default())),
        })
        .transpose()
    }

    /// Deletes a document; `false` when it was absent.
    pub fn delete_document(&self, collection: &str, id: &str) -> Result<bool> {
        self.writable(collection)?;
        let id = normalize_id(id)?;
        self.write(|tx| {
            let n = tx
                .execute(
                    "DELETE FROM documents WHERE collection = ?1 AND id = ?2",
                    params![collection, id],
                )
                .map_err(|e| self.sql(e))?;
            if n > 0 {
                tx.execute(
                    "UPDATE collections SET revision = revision + 1 WHERE name = ?1",
                    [collection],
                )
                .map_err(|e| self.sql(e))?;
            }
            Ok(n > 0)
        })
    }
}
