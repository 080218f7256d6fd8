//! The registry store: SQLite (WAL) for every record, a content-addressed blob directory for
//! weights.
//!
//! Layout of a registry directory:
//!
//! ```text
//! registry.db (+ -wal, -shm)   versions, events, collections, documents, the generation counter
//! blobs/<sha256>               weights files, named by the sha256 of their bytes
//! ```
//!
//! Atomicity: registering writes the blob first (temporary file, fsync, rename, directory fsync)
//! and then inserts the version row in one `BEGIN IMMEDIATE` transaction together with its
//! event and the generation bump. The row is the single point of visibility: a crash before
//! the commit leaves at most an unreferenced blob (removed by [`Registry::gc`]), never a
//! partial version.
//!
//! The registry's jobs live in one file each, as `impl Registry` blocks: this file (opening,
//! blobs, versions and stages, loading), `schema.rs` (tables and migrations), `events.rs` (the
//! event log), `search.rs` (similarity search), `maintenance.rs` (gc and backup) and
//! `collections.rs` (the AgentDB collections).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use serde_json::json;

use crate::embedding::{model_embedding, ArchSummary};
use crate::events::insert_event;
use crate::index::VectorIndex;
use crate::types::validate_name;
use crate::{
    Error, EventKind, ModelSummary, ModelVersion, RegisterRequest, Result, Stage, VersionSelector,
};

/// The SQLite file inside a registry directory.
pub const DB_FILE: &str = "registry.db";
/// The blob directory inside a registry directory.
pub const BLOBS_DIR: &str = "blobs";
/// How long a writer waits for another process's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);
/// Temporary blob files older than this are considered abandoned by [`Registry::gc`].
pub(crate) const TEMP_GRACE: Duration = Duration::from_secs(60);

pub(crate) const VERSION_COLUMNS: &str =
    "name, version, stage, created_at, kind, spec, targets, input_size, \
     horizon, metrics, tags, parent, data_fingerprint, weights_sha256, profile, embedding";

/// The model versions and their embedding index, rebuilt when the generation changes.
#[derive(Debug)]
pub(crate) struct ModelsIndex {
    pub(crate) generation: u64,
    pub(crate) versions: Vec<ModelVersion>,
    pub(crate) index: VectorIndex,
}

/// A collection's vectors, ids and metadata, rebuilt when its revision changes.
#[derive(Debug)]
pub(crate) struct CollectionIndex {
    pub(crate) revision: i64,
    pub(crate) ids: Vec<String>,
    pub(crate) index: VectorIndex,
}

/// A model registry rooted at a directory. `Send + Sync`: share it in an `Arc`; calls are
/// serialized on one SQLite connection per `Registry`, and several processes may open the same
/// directory at once (SQLite WAL with a busy timeout arbitrates writers).
///
/// Every method blocks on disk I/O; async callers run it on a blocking thread.
#[derive(Debug)]
pub struct Registry {
    pub(crate) dir: PathBuf,
    conn: Mutex<Connection>,
    pub(crate) models_cache: Mutex<Option<Arc<ModelsIndex>>>,
    pub(crate) collection_cache: Mutex<HashMap<String, Arc<CollectionIndex>>>,
}

pub(crate) use nt_core::persist::now_rfc3339;

pub(crate) fn f32s_to_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub(crate) fn bytes_to_f32s(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

pub(crate) fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Writes `bytes` to `path` atomically and durably ([`nt_core::persist::write_atomic`]).
pub(crate) fn write_durable(path: &Path, bytes: &[u8]) -> Result<()> {
    nt_core::persist::write_atomic(path, bytes).map_err(|e| Error::io(path, e))
}

pub(crate) fn json_text<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Json {
        context: "record".into(),
        source: e,
    })
}

pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(s: &str, context: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| Error::Json {
        context: context.into(),
        source: e,
    })
}

pub(crate) struct RawVersion {
    name: String,
    version: u32,
    stage: String,
    created_at: String,
    kind: String,
    spec: String,
    targets: String,
    input_size: i64,
    horizon: i64,
    metrics: String,
    tags: String,
    parent: Option<u32>,
    data_fingerprint: Option<String>,
    weights_sha256: String,
    profile: Option<String>,
    embedding: Vec<u8>,
}

pub(crate) fn raw_version(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawVersion> {
    Ok(RawVersion {
        name: r.get(0)?,
        version: r.get(1)?,
        stage: r.get(2)?,
        created_at: r.get(3)?,
        kind: r.get(4)?,
        spec: r.get(5)?,
        targets: r.get(6)?,
        input_size: r.get(7)?,
        horizon: r.get(8)?,
        metrics: r.get(9)?,
        tags: r.get(10)?,
        parent: r.get(11)?,
        data_fingerprint: r.get(12)?,
        weights_sha256: r.get(13)?,
        profile: r.get(14)?,
        embedding: r.get(15)?,
    })
}

impl RawVersion {
    pub(crate) fn decode(self) -> Result<ModelVersion> {
        let ctx = format!("version {}@{}", self.name, self.version);
        Ok(ModelVersion {
            stage: self.stage.parse()?,
            spec: parse_json(&self.spec, &ctx)?,
            targets: parse_json(&self.targets, &ctx)?,
            metrics: parse_json(&self.metrics, &ctx)?,
            tags: parse_json(&self.tags, &ctx)?,
            profile: self
                .profile
                .as_deref()
                .map(|p| parse_json(p, &ctx))
                .transpose()?,
            embedding: bytes_to_f32s(&self.embedding),
            name: self.name,
            version: self.version,
            created_at: self.created_at,
            kind: self.kind,
            input_size: self.input_size.max(0) as usize,
            horizon: self.horizon.max(0) as usize,
            parent: self.parent,
            data_fingerprint: self.data_fingerprint,
            weights_sha256: self.weights_sha256,
        })
    }
}

pub(crate) fn bump_generation(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE meta SET value = value + 1 WHERE key = 'generation'",
        [],
    )?;
    Ok(())
}

pub(crate) fn sql_err_path(conn: &Connection, e: rusqlite::Error) -> Error {
    Error::Sqlite {
        path: conn.path().unwrap_or(DB_FILE).to_string(),
        source: e,
    }
}

impl Registry {
    /// Opens (creating if needed) the registry in `dir`: the directory, `blobs/`, and the
    /// SQLite schema, in WAL mode with a 60 s busy timeout. Safe to call from several processes
    /// at once.
    pub fn open(dir: impl AsRef<Path>) -> Result<Registry> {
        let dir = dir.as_ref().to_path_buf();
        if dir.exists() && !dir.is_dir() {
            return Err(Error::invalid(
                "registry",
                format!(
                    "{} is a file, not a registry directory; name a directory (it is created if missing)",
                    dir.display()
                ),
            ));
        }
        std::fs::create_dir_all(dir.join(BLOBS_DIR)).map_err(|e| Error::io(&dir, e))?;
        let db = dir.join(DB_FILE);
        let sql = |e: rusqlite::Error| Error::Sqlite {
            path: db.display().to_string(),
            source: e,
        };
        let conn = Connection::open(&db).map_err(sql)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
        // Switching to WAL needs a moment of exclusive access; retry while another process
        // opening at the same time holds it.
        let mut tries = 0;
        loop {
            match conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0)) {
                Ok(_) => break,
                Err(e) if tries < 200 => {
                    let _ = e;
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(25));
                }
                Err(e) => return Err(sql(e)),
            }
        }
        conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
            .map_err(sql)?;
        {
            let mut conn = conn;
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql)?;
            tx.execute_batch(crate::schema::SCHEMA).map_err(sql)?;
            crate::schema::migrate(&tx).map_err(|e| match e {
                Error::Sqlite { source, .. } => sql(source),
                other => other,
            })?;
            tx.commit().map_err(sql)?;
            Ok(Registry {
                dir,
                conn: Mutex::new(conn),
                models_cache: Mutex::new(None),
                collection_cache: Mutex::new(HashMap::new()),
            })
        }
    }

    /// Opens the registry in `dir` only if one is there: a mistyped path is an error (not found)
    /// that names it, and nothing is created. For commands that read or change an existing
    /// registry; [`open`](Self::open) is for those that register.
    pub fn open_existing(dir: impl AsRef<Path>) -> Result<Registry> {
        let dir = dir.as_ref();
        if dir.is_dir() && !dir.join(DB_FILE).is_file() {
            return Err(Error::not_found(
                "registry",
                format!(
                    "{} (the directory has no {DB_FILE}; `nt train --register NAME` creates a registry)",
                    dir.display()
                ),
            ));
        }
        if !dir.exists() {
            return Err(Error::not_found(
                "registry",
                format!(
                    "{} (no such directory; `nt train --register NAME` creates a registry)",
                    dir.display()
                ),
            ));
        }
        Registry::open(dir)
    }

    /// The registry directory to use: `flag` when given, else `$NT_REGISTRY` when set and
    /// non-empty, else `./nt-registry`.
    pub fn resolve_dir(flag: Option<&Path>) -> PathBuf {
        if let Some(f) = flag {
            return f.to_path_buf();
        }
        match std::env::var_os("NT_REGISTRY") {
            Some(v) if !v.is_empty() => PathBuf::from(v),
            _ => PathBuf::from("nt-registry"),
        }
    }

    /// The registry directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves the connection usable (SQLite rolls back an
        // open transaction when it is dropped), so a poisoned lock is recovered.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn sql(&self, e: rusqlite::Error) -> Error {
        Error::Sqlite {
            path: self.dir.join(DB_FILE).display().to_string(),
            source: e,
        }
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction that also bumps the generation, committing
    /// when `f` succeeds.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.sql(e))?;
        let out = f(&tx)?;
        bump_generation(&tx).map_err(|e| self.sql(e))?;
        tx.commit().map_err(|e| self.sql(e))?;
        Ok(out)
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction WITHOUT bumping the generation, committing
    /// when `f` succeeds: for records servers must not reload models for (served forecasts,
    /// actuals, live scores, drift samples).
    pub(crate) fn write_quiet<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.sql(e))?;
        let out = f(&tx)?;
        tx.commit().map_err(|e| self.sql(e))?;
        Ok(out)
    }

    pub(crate) fn blob_path(&self, sha: &str) -> PathBuf {
        self.dir.join(BLOBS_DIR).join(sha)
    }

    /// Makes sure `blobs/<sha>` holds `bytes` (rewriting a missing or damaged copy).
    fn ensure_blob(&self, sha: &str, bytes: &[u8]) -> Result<()> {
        let path = self.blob_path(sha);
        if let Ok(existing) = std::fs::read(&path) {
            if nt_neural::checkpoint::sha256_hex(&existing) == sha {
                return Ok(());
            }
        }
        write_durable(&path, bytes)
    }

    /// Registers the model directory `model_dir` (written by `NeuralModel::save` or `nt train`)
    /// as the next version of `name`. The weights are checked against the sha256 in
    /// `model.json`, copied to `blobs/<sha256>`, and the version becomes visible atomically
    /// with its `registered` event. With `req.stage == Production` the previous production
    /// version is archived in the same transaction.
    pub fn register(
        &self,
        name: &str,
        model_dir: &Path,
        req: RegisterRequest,
    ) -> Result<ModelVersion> {
        validate_name(name)?;
        let mut manifest = nt_models::read_manifest(model_dir)?;
        let wpath = model_dir.join(&manifest.weights_file);
        let bytes = std::fs::read(&wpath).map_err(|e| Error::io(&wpath, e))?;
        let sha = nt_neural::checkpoint::sha256_hex(&bytes);
        if sha != manifest.weights_sha256 {
            return Err(Error::Corrupt {
                path: wpath.display().to_string(),
                expected: manifest.weights_sha256,
                got: sha,
            });
        }
        // Only a directory that loads as a model is registered.
        let model = nt_models::from_parts(&manifest, &bytes)?;
        let (input_size, horizon) = (model.min_history(), model.max_horizon().unwrap_or(0));
        manifest.format_version = nt_neural::checkpoint::FORMAT_VERSION;
        self.ensure_blob(&sha, &bytes)?;
        // The optimizer's final state (neural models trained here), a blob like the weights.
        let optimizer = crate::optimizer::read_from_dir(model_dir, &manifest)?;
        if let Some((osha, obytes)) = &optimizer {
            self.ensure_blob(osha, obytes)?;
        }
        let mut metrics = BTreeMap::new();
        if let Some(m) = &manifest.meta.metrics {
            metrics.insert("steps".into(), m.steps as f64);
            metrics.insert("final_train_loss".into(), m.final_train_loss);
            if let Some(v) = m.best_val_loss {
                metrics.insert("best_val_loss".into(), v);
            }
            if let Some(s) = m.best_step {
                metrics.insert("best_step".into(), s as f64);
            }
            metrics.insert(
                "stopped_early".into(),
                if m.stopped_early { 1.0 } else { 0.0 },
            );
        }
        for (k, v) in &req.metrics {
            metrics.insert(k.clone(), *v);
        }
        metrics.retain(|_, v| v.is_finite());
        for k in req.tags.keys() {
            if k.is_empty() {
                return Err(Error::invalid("tag", "tag names must not be empty"));
            }
        }
        let arch = ArchSummary::of(&manifest.spec, manifest.params, input_size, horizon);
        let embedding = model_embedding(&arch, req.profile.as_ref(), &metrics);
        let manifest_text = json_text(&manifest)?;
        let created_at = now_rfc3339();
        let mut mv = ModelVersion {
            name: name.into(),
            version: 0,
            stage: req.stage,
            created_at: created_at.clone(),
            kind: manifest.spec.name().into(),
            spec: manifest.spec.clone(),
            targets: manifest.targets.clone(),
            input_size,
            horizon,
            metrics,
            tags: req.tags.clone(),
            parent: req.parent,
            data_fingerprint: manifest.meta.data_fingerprint.clone(),
            weights_sha256: sha.clone(),
            profile: req.profile.clone(),
            embedding,
        };
        let version = self.write(|tx| {
            // gc holds the write lock while it deletes, so a blob present now stays.
            if !self.blob_path(&sha).exists() {
                self.ensure_blob(&sha, &bytes)?;
            }
            if let Some((osha, obytes)) = &optimizer {
                if !self.blob_path(osha).exists() {
                    self.ensure_blob(osha, obytes)?;
                }
            }
            tx.execute(
                "INSERT INTO models(name, last_version, created_at) VALUES (?1, 0, ?2) \
                 ON CONFLICT(name) DO NOTHING",
                params![name, created_at],
            )
            .map_err(|e| self.sql(e))?;
            let last: u32 = tx
                .query_row(
                    "SELECT last_version FROM models WHERE name = ?1",
                    [name],
                    |r| r.get(0),
                )
                .map_err(|e| self.sql(e))?;
            if let Some(p) = req.parent {
                let exists: bool = tx
                    .query_row(
                        "SELECT EXISTS(SELECT 1 FROM versions WHERE name = ?1 AND version = ?2)",
                        params![name, p],
                        |r| r.get(0),
                    )
                    .map_err(|e| self.sql(e))?;
                if !exists {
                    return Err(Error::not_found("parent version", format!("{name}@{p}")));
                }
            }
            let version = last + 1;
            tx.execute(
                "UPDATE models SET last_version = ?2 WHERE name = ?1",
                params![name, version],
            )
            .map_err(|e| self.sql(e))?;
            if req.stage == Stage::Production {
                self.demote_production(tx, name, version)?;
            }
            tx.execute(
                &format!(
                    "INSERT INTO versions({VERSION_COLUMNS}, manifest) VALUES \
                     (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"
                ),
                params![
                    name,
                    version,
                    mv.stage.as_str(),
                    mv.created_at,
                    mv.kind,
                    json_text(&mv.spec)?,
                    json_text(&mv.targets)?,
                    mv.input_size as i64,
                    mv.horizon as i64,
                    json_text(&mv.metrics)?,
                    json_text(&mv.tags)?,
                    mv.parent,
                    mv.data_fingerprint,
                    mv.weights_sha256,
                    mv.profile.as_ref().map(json_text).transpose()?,
                    f32s_to_bytes(&mv.embedding),
                    manifest_text,
                ],
            )
            .map_err(|e| self.sql(e))?;
            insert_event(
                tx,
                name,
                Some(version),
                EventKind::Registered,
                &json!({"weights_sha256": sha, "stage": mv.stage, "parent": mv.parent,
                        "metrics": mv.metrics}),
            )?;
            if let Some(reference) = &req.reference {
                crate::reference::insert_reference(tx, name, version, reference)?;
            }
            if req.stage == Stage::Production {
                insert_event(
                    tx,
                    name,
                    Some(version),
                    EventKind::Promoted,
                    &json!({"from": "none", "to": "production"}),
                )?;
            }
            Ok(version)
        })?;
        mv.version = version;
        Ok(mv)
    }

    /// Archives the production version of `name` other than `except`, with an event.
    pub(crate) fn demote_production(
        &self,
        tx: &Transaction<'_>,
        name: &str,
        except: u32,
    ) -> Result<()> {
        let current: Option<u32> = tx
            .query_row(
                "SELECT version FROM versions WHERE name = ?1 AND stage = 'production' \
                 AND version != ?2",
                params![name, except],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        if let Some(v) = current {
            tx.execute(
                "UPDATE versions SET stage = 'archived' WHERE name = ?1 AND version = ?2",
                params![name, v],
            )
            .map_err(|e| self.sql(e))?;
            insert_event(
                tx,
                name,
                Some(v),
                EventKind::StageChanged,
                &json!({"from": "production", "to": "archived",
                        "reason": format!("{name}@{except} promoted to production")}),
            )?;
        }
        Ok(())
    }

    /// One row per model name with at least one version, sorted by name.
    pub fn list(&self) -> Result<Vec<ModelSummary>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT name, COUNT(*), MAX(version), \
                 MAX(CASE WHEN stage = 'production' THEN version END) \
                 FROM versions GROUP BY name ORDER BY name",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(ModelSummary {
                    name: r.get(0)?,
                    versions: r.get(1)?,
                    latest: r.get(2)?,
                    production: r.get(3)?,
                })
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.sql(e))
    }

    pub(crate) fn query_versions(
        &self,
        where_sql: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<ModelVersion>> {
        let raws = {
            let conn = self.conn();
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {VERSION_COLUMNS} FROM versions {where_sql}"
                ))
                .map_err(|e| self.sql(e))?;
            let rows = stmt.query_map(args, raw_version).map_err(|e| self.sql(e))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
                .map_err(|e| self.sql(e))?
        };
        raws.into_iter().map(RawVersion::decode).collect()
    }

    /// Every version of `name`, oldest first (`NotFound` when it has none).
    pub fn versions(&self, name: &str) -> Result<Vec<ModelVersion>> {
        validate_name(name)?;
        let v = self.query_versions("WHERE name = ?1 ORDER BY version", &[&name])?;
        if v.is_empty() {
            return Err(Error::not_found("model", name));
        }
        Ok(v)
    }

    /// Every version of every model, by name then version.
    pub fn all_versions(&self) -> Result<Vec<ModelVersion>> {
        self.query_versions("ORDER BY name, version", &[])
    }

    /// The version of `name` that `sel` designates.
    pub fn get(&self, name: &str, sel: VersionSelector) -> Result<ModelVersion> {
        validate_name(name)?;
        let found = match sel {
            VersionSelector::Latest => {
                self.query_versions("WHERE name = ?1 ORDER BY version DESC LIMIT 1", &[&name])?
            }
            VersionSelector::Production => {
                self.query_versions("WHERE name = ?1 AND stage = 'production'", &[&name])?
            }
            VersionSelector::Number(n) => {
                self.query_versions("WHERE name = ?1 AND version = ?2", &[&name, &n])?
            }
        };
        match found.into_iter().next() {
            Some(v) => Ok(v),
            None => {
                let any = self.query_versions("WHERE name = ?1 LIMIT 1", &[&name])?;
                if any.is_empty() {
                    Err(Error::not_found("model", name))
                } else {
                    Err(Error::not_found("version", format!("{name}@{sel}")))
                }
            }
        }
    }

    /// Moves `name@version` to `stage`, recording a `promoted` (to production) or
    /// `stage-changed` event. Promoting to production archives the previous production
    /// version in the same transaction, so at most one version per name is in production.
    pub fn set_stage(&self, name: &str, version: u32, stage: Stage) -> Result<ModelVersion> {
        let current = self.get(name, VersionSelector::Number(version))?;
        if current.stage != stage {
            self.write(|tx| {
                let from: Option<String> = tx
                    .query_row(
                        "SELECT stage FROM versions WHERE name = ?1 AND version = ?2",
                        params![name, version],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(|e| self.sql(e))?;
                let Some(from) = from else {
                    return Err(Error::not_found("version", format!("{name}@{version}")));
                };
                if stage == Stage::Production {
                    self.demote_production(tx, name, version)?;
                }
                tx.execute(
                    "UPDATE versions SET stage = ?3 WHERE name = ?1 AND version = ?2",
                    params![name, version, stage.as_str()],
                )
                .map_err(|e| self.sql(e))?;
                let kind = if stage == Stage::Production {
                    EventKind::Promoted
                } else {
                    EventKind::StageChanged
                };
                insert_event(
                    tx,
                    name,
                    Some(version),
                    kind,
                    &json!({"from": from, "to": stage}),
                )?;
                if stage == Stage::Production {
                    let reason = format!("{name}@{version} promoted to production");
                    crate::traffic::drop_routes_to(tx, name, version, &reason)?;
                }
                Ok(())
            })?;
        }
        self.get(name, VersionSelector::Number(version))
    }

    /// Loads `name@version` as a ready-to-predict model of any kind. The weights (or fitted
    /// state) blob is read and its sha256 checked against the one recorded at registration: a
    /// damaged or altered blob is refused with [`Error::Corrupt`] naming the file and both
    /// hashes. The model format is the model crate's (`nt_models::from_parts`).
    pub fn load(&self, name: &str, version: u32) -> Result<Box<dyn nt_models::Forecaster>> {
        validate_name(name)?;
        let row: Option<(String, String)> = {
            let conn = self.conn();
            conn.query_row(
                "SELECT manifest, weights_sha256 FROM versions WHERE name = ?1 AND version = ?2",
                params![name, version],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.sql(e))?
        };
        let Some((manifest, sha)) = row else {
            // Distinguish an unknown model from an unknown version.
            self.get(name, VersionSelector::Number(version))?;
            return Err(Error::not_found("version", format!("{name}@{version}")));
        };
        let manifest: nt_models::Manifest =
            parse_json(&manifest, &format!("manifest of {name}@{version}"))?;
        let path = self.blob_path(&sha);
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        let got = nt_neural::checkpoint::sha256_hex(&bytes);
        if got != sha {
            return Err(Error::Corrupt {
                path: path.display().to_string(),
                expected: sha,
                got,
            });
        }
        Ok(nt_models::from_parts(&manifest, &bytes)?)
    }

    /// Writes `name@version` as a model directory (`model.json` + weights, and
    /// `optimizer.safetensors` when the version has one) into `out_dir`, after the same sha256
    /// checks as [`load`](Self::load) and [`optimizer_state`](Self::optimizer_state).
    pub fn export(&self, name: &str, version: u32, out_dir: &Path) -> Result<()> {
        let model = self.load(name, version)?;
        model.save(out_dir)?;
        // A neural version's optimizer state goes with it (for warm-start retraining).
        self.export_optimizer(name, version, out_dir)?;
        Ok(())
    }

    /// Deletes `name@version` (its number is never reused) with a `deleted` event. Its blob
    /// stays until [`gc`](Self::gc) finds no version referencing it. A production version is
    /// refused (servers may be serving it) unless `force` is set.
    pub fn delete(&self, name: &str, version: u32, force: bool) -> Result<()> {
        validate_name(name)?;
        self.write(|tx| {
            let row: Option<(String, String)> = tx
                .query_row(
                    "SELECT weights_sha256, stage FROM versions WHERE name = ?1 AND version = ?2",
                    params![name, version],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(|e| self.sql(e))?;
            let Some((sha, stage)) = row else {
                return Err(Error::not_found("version", format!("{name}@{version}")));
            };
            if stage == Stage::Production.as_str() && !force {
                return Err(Error::invalid(
                    "delete",
                    format!(
                        "{name}@{version} is in production (servers may be serving it); promote another version or archive it first, or force the delete"
                    ),
                ));
            }
            tx.execute(
                "DELETE FROM versions WHERE name = ?1 AND version = ?2",
                params![name, version],
            )
            .map_err(|e| self.sql(e))?;
            insert_event(
                tx,
                name,
                Some(version),
                EventKind::Deleted,
                &json!({"weights_sha256": sha}),
            )?;
            let reason = format!("{name}@{version} deleted");
            crate::traffic::drop_routes_to(tx, name, version, &reason)?;
            crate::reference::delete_version_rows(tx, name, version)?;
            Ok(())
        })
    }

    /// A number that grows with every committed change made by any process (registrations,
    /// stage moves, deletions, events, collection writes). Poll it to detect changes.
    pub fn generation(&self) -> Result<u64> {
        let conn = self.conn();
        let g: i64 = conn
            .query_row("SELECT value FROM meta WHERE key = 'generation'", [], |r| {
                r.get(0)
            })
            .map_err(|e| self.sql(e))?;
        Ok(g.max(0) as u64)
    }
}
