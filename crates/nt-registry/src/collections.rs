//! Generic vector collections with the AgentDB protocol's semantics (the HTTP mapping lives in
//! `nt-server`), plus the read-only `models` collection that mirrors the registry. The request
//! and record types and their checks are in `collection_spec`.
//!
//! Documents are keyed by a hex id (case-insensitive, stored lowercase, 1 to 128 hex digits).
//! Inserting an id that already exists **replaces** the document (upsert), as AgentDB does.

use std::sync::Arc;

use rusqlite::{params, OptionalExtension};
use serde_json::Value;

pub(crate) use crate::collection_spec::model_metadata;
use crate::collection_spec::{
    check_document, check_embedding, check_index_type, check_k, check_sort, MAX_DIMENSION,
};
pub use crate::collection_spec::{
    model_doc_id, normalize_id, BatchOutcome, CollectionInfo, CollectionSpec, Document,
    DocumentQuery, SearchHit, SearchQuery, SortBy, SortOrder, INDEX_TYPES, MODELS_COLLECTION,
};
use crate::filter::{json_cmp, lookup};
use crate::index::{VectorIndex, HNSW_THRESHOLD};
use crate::store::{bytes_to_f32s, f32s_to_bytes, now_rfc3339, CollectionIndex};
use crate::types::validate_name;
use crate::{Error, Registry, Result, EMBEDDING_DIM};

impl Registry {
    /// Creates a collection; [`Error::AlreadyExists`] when the name is taken (`models`
    /// included).
    pub fn create_collection(&self, spec: &CollectionSpec) -> Result<CollectionInfo> {
        validate_name(&spec.name).map_err(|e| match e {
            Error::InvalidInput { reason, .. } => Error::invalid("collection name", reason),
            other => other,
        })?;
        check_index_type(&spec.index_type)?;
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
        let id = check_document(doc, info.dimension, "")?;
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
    /// non-finite values, metadata that is not an object) are counted as failed, each with its
    /// reason in [`BatchOutcome::errors`]. The collection itself must exist and be writable.
    ///
    /// Two documents with the same id (ids are case-insensitive) refuse the whole batch
    /// ([`Error::InvalidInput`] naming both): which one should win is not the caller's
    /// stated intent, and an `inserted` count of documents that overwrote each other would lie.
    pub fn batch_insert(&self, collection: &str, docs: &[Document]) -> Result<BatchOutcome> {
        let info = self.writable(collection)?;
        let mut seen = std::collections::HashMap::new();
        let mut valid: Vec<(String, &Document)> = Vec::with_capacity(docs.len());
        let mut errors = Vec::new();
        for (i, d) in docs.iter().enumerate() {
            match check_document(d, info.dimension, &format!("documents[{i}].")) {
                Ok(id) => {
                    if let Some(first) = seen.insert(id.clone(), i) {
                        return Err(Error::invalid(
                            format!("documents[{i}].id"),
                            format!(
                                "`{id}` is also the id of documents[{first}]; \
                                 a batch holds each id once"
                            ),
                        ));
                    }
                    valid.push((id, d));
                }
                Err(e @ Error::DimensionMismatch { .. }) => {
                    errors.push(format!("documents[{i}].embedding: {e}"))
                }
                Err(e) => errors.push(e.to_string()),
            }
        }
        let failed = errors.len();
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
            errors,
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
            check_sort(s)?;
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
