//! The registry's SQLite schema and its versioned migrations, run in order when a registry
//! opens (inside the opening transaction, so a crash leaves the old schema or the new one).
//!
//! | version | change |
//! |---|---|
//! | 1 | models, versions, events, collections, documents, the generation counter |
//! | 2 | `versions.spec` holds the typed, flat `ModelSpec` JSON (was the nested neural form); embeddings recomputed for embedding version 2 (model family instead of an NHITS/N-BEATS one-hot, 36 components) |
//! | 3 | embeddings recomputed for embedding version 3 (four log-return features in the data block, 40 components); profiles recorded before have no returns, so those components are 0 |
//! | 4 | after deployment: the served-forecast log, actuals, matched points and score totals (`live.rs`); traffic policies (`traffic.rs`); reference profiles and drift episodes (`reference.rs`) |
//! | 5 | hyper-parameter search: `studies`, `trials` (leases in unix ms), `trial_values` (intermediate values) and `study_events` (`studies.rs`) |
//!
//! A later issue adds its tables as a further entry of [`MIGRATIONS`].

use rusqlite::{params, Transaction};

use crate::embedding::{model_embedding, ArchSummary};
use crate::store::f32s_to_bytes;
use crate::{Error, Result};

/// The tables of schema version 1, created when missing.
pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta(key, value) VALUES ('generation', 0), ('schema_version', 1);
CREATE TABLE IF NOT EXISTS models(
    name TEXT PRIMARY KEY,
    last_version INTEGER NOT NULL,
    created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS versions(
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    stage TEXT NOT NULL,
    created_at TEXT NOT NULL,
    kind TEXT NOT NULL,
    spec TEXT NOT NULL,
    targets TEXT NOT NULL,
    input_size INTEGER NOT NULL,
    horizon INTEGER NOT NULL,
    metrics TEXT NOT NULL,
    tags TEXT NOT NULL,
    parent INTEGER,
    data_fingerprint TEXT,
    weights_sha256 TEXT NOT NULL,
    manifest TEXT NOT NULL,
    profile TEXT,
    embedding BLOB NOT NULL,
    PRIMARY KEY(name, version));
CREATE UNIQUE INDEX IF NOT EXISTS one_production ON versions(name) WHERE stage = 'production';
CREATE TABLE IF NOT EXISTS events(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    name TEXT NOT NULL,
    version INTEGER,
    kind TEXT NOT NULL,
    details TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_by_name ON events(name, id);
CREATE TABLE IF NOT EXISTS collections(
    name TEXT PRIMARY KEY,
    dimension INTEGER NOT NULL,
    index_type TEXT NOT NULL,
    metadata_schema TEXT,
    created_at TEXT NOT NULL,
    revision INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS documents(
    collection TEXT NOT NULL,
    id TEXT NOT NULL,
    embedding BLOB NOT NULL,
    metadata TEXT,
    PRIMARY KEY(collection, id));
";

/// The schema version [`migrate`] brings a database to.
pub const SCHEMA_VERSION: u32 = 5;

type Migration = fn(&Transaction<'_>) -> Result<()>;

/// `(version, migration)`: each brings the schema from `version - 1` to `version`.
const MIGRATIONS: [(u32, Migration); 4] = [
    (2, typed_specs_and_embeddings),
    // Embedding version 3 (log-return features): the same recomputation, on typed specs.
    (3, typed_specs_and_embeddings),
    (4, after_deployment_tables),
    (5, study_tables),
];

/// Schema 5: the tables of hyper-parameter studies and their trials (`studies.rs`).
fn study_tables(tx: &Transaction<'_>) -> Result<()> {
    tx.execute_batch(crate::studies::TABLES).map_err(sql)
}

/// Schema 4: the tables of live scoring, traffic policies and drift monitoring (each module
/// owns its `TABLES`).
fn after_deployment_tables(tx: &Transaction<'_>) -> Result<()> {
    for tables in [
        crate::live::TABLES,
        crate::traffic::TABLES,
        crate::reference::TABLES,
    ] {
        tx.execute_batch(tables).map_err(sql)?;
    }
    Ok(())
}

fn sql(e: rusqlite::Error) -> Error {
    Error::Sqlite {
        path: "registry.db".into(),
        source: e,
    }
}

/// Runs every migration above the database's `schema_version`, then records the new version.
/// A database newer than this build is refused rather than misread.
pub(crate) fn migrate(tx: &Transaction<'_>) -> Result<()> {
    let current: u32 = tx
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .map_err(sql)?;
    if current > SCHEMA_VERSION {
        return Err(Error::invalid(
            "registry",
            format!(
                "its schema version {current} is newer than this build's {SCHEMA_VERSION}; upgrade nt"
            ),
        ));
    }
    for (version, run) in MIGRATIONS {
        if version > current {
            run(tx)?;
            tx.execute(
                "UPDATE meta SET value = ?1 WHERE key = 'schema_version'",
                [version],
            )
            .map_err(sql)?;
        }
    }
    Ok(())
}

/// Schema 2: every version's spec rewritten as the typed flat `ModelSpec`, its embedding
/// recomputed from the spec, the stored weight count, the profile and the metrics.
fn typed_specs_and_embeddings(tx: &Transaction<'_>) -> Result<()> {
    type Row = (
        String,
        u32,
        String,
        String,
        i64,
        i64,
        String,
        Option<String>,
    );
    let rows: Vec<Row> = {
        let mut stmt = tx
            .prepare(
                "SELECT name, version, spec, manifest, input_size, horizon, metrics, profile \
                 FROM versions",
            )
            .map_err(sql)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ))
            })
            .map_err(sql)?;
        rows.collect::<rusqlite::Result<_>>().map_err(sql)?
    };
    for (name, version, spec, manifest, input_size, horizon, metrics, profile) in rows {
        let ctx = |what: &str, e: String| {
            Error::invalid(
                "registry migration",
                format!("{name}@{version}: {what}: {e}"),
            )
        };
        let spec: nt_models::ModelSpec =
            serde_json::from_str(&spec).map_err(|e| ctx("spec", e.to_string()))?;
        let manifest: serde_json::Value =
            serde_json::from_str(&manifest).map_err(|e| ctx("manifest", e.to_string()))?;
        let params = manifest
            .get("params")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0) as usize;
        let metrics = serde_json::from_str(&metrics).map_err(|e| ctx("metrics", e.to_string()))?;
        let profile = profile
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| ctx("profile", e.to_string()))?;
        let arch = ArchSummary::of(
            &spec,
            params,
            input_size.max(0) as usize,
            horizon.max(0) as usize,
        );
        let embedding = model_embedding(&arch, profile.as_ref(), &metrics);
        let spec_text = serde_json::to_string(&spec).map_err(|e| ctx("spec", e.to_string()))?;
        tx.execute(
            "UPDATE versions SET spec = ?3, embedding = ?4 WHERE name = ?1 AND version = ?2",
            params![name, version, spec_text, f32s_to_bytes(&embedding)],
        )
        .map_err(sql)?;
    }
    // The `models` collection's vectors come from the versions table; any cached index of
    // them is rebuilt from the generation bump.
    tx.execute(
        "UPDATE meta SET value = value + 1 WHERE key = 'generation'",
        [],
    )
    .map_err(sql)?;
    Ok(())
}
