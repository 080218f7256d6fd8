//! A registry written by the previous release (schema version 1, nested neural specs, the
//! 32-component embedding) opens, migrates to the current schema and serves the same forecasts.
//! The fixture `tests/fixtures/registry-v1/` was written by `nt` at commit aa85e55
//! (`nt train ... --register legacy --registry registry-v1`, the model of
//! `crates/nt-models/tests/fixtures/legacy_v1`); `registry-v1-expected/predict-v1.json` is what
//! that release's `nt predict` printed for it.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use nt_core::{Horizon, Predict};
use nt_registry::{Registry, VersionSelector, EMBEDDING_DIM};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn schema_version(dir: &Path) -> i64 {
    let conn = rusqlite::Connection::open(dir.join("registry.db")).unwrap();
    conn.query_row(
        "SELECT value FROM meta WHERE key = 'schema_version'",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

#[test]
fn a_schema_1_registry_migrates_and_serves_the_same_forecasts() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("registry");
    copy_dir(&fixture("registry-v1"), &dir);
    assert_eq!(schema_version(&dir), 1);
    let stored_spec: String = rusqlite::Connection::open(dir.join("registry.db"))
        .unwrap()
        .query_row("SELECT spec FROM versions", [], |r| r.get(0))
        .unwrap();
    assert!(
        stored_spec.contains("\"config\""),
        "the fixture holds the nested form"
    );

    let reg = Registry::open(&dir).unwrap();
    assert_eq!(
        schema_version(&dir),
        nt_registry::schema::SCHEMA_VERSION as i64
    );
    let v = reg.get("legacy", VersionSelector::Latest).unwrap();
    assert_eq!(
        (v.version, v.kind.as_str(), v.input_size, v.horizon),
        (1, "nhits", 24, 6)
    );
    assert_eq!(v.embedding.len(), EMBEDDING_DIM, "embedding recomputed");
    // The family block says MLP network (index 2 of the one-hot).
    assert_eq!(&v.embedding[..6], &[0.0, 0.0, 1.0, 0.0, 0.0, 0.0]);
    let spec = serde_json::to_value(&v.spec).unwrap();
    assert!(
        spec.get("config").is_none() && spec["input_size"] == 24,
        "{spec}"
    );

    let model = reg.load("legacy", 1).unwrap();
    let series = nt_data::load(
        &fixture("registry-v1-expected/series.csv"),
        &nt_data::LoadOptions::default(),
    )
    .unwrap();
    let f = (*model).predict(&series, Horizon::new(6).unwrap()).unwrap();
    let expected: Vec<f64> = serde_json::from_slice(
        &std::fs::read(fixture("registry-v1-expected/predict-v1.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(f.point_values(), expected.as_slice());
    // Similarity search runs over the migrated embeddings.
    assert!(reg.similar("legacy", 1, 3).unwrap().is_empty());
    // Opening again is a no-op: the migration ran once.
    drop(reg);
    let again = Registry::open(&dir).unwrap();
    assert_eq!(
        again
            .get("legacy", VersionSelector::Latest)
            .unwrap()
            .embedding,
        v.embedding
    );
}

#[test]
fn a_registry_newer_than_this_build_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("registry");
    copy_dir(&fixture("registry-v1"), &dir);
    rusqlite::Connection::open(dir.join("registry.db"))
        .unwrap()
        .execute(
            "UPDATE meta SET value = 99 WHERE key = 'schema_version'",
            [],
        )
        .unwrap();
    let err = Registry::open(&dir).unwrap_err().to_string();
    assert!(err.contains("99") && err.contains("newer"), "{err}");
}
