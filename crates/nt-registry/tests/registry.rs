//! The registry's own behaviour: register, list, load, stages, events, delete + gc, corrupted
//! blobs, generation, similarity, recommendation, collections and backup.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use common::{seasonal_request, seasonal_series, tiny_model_dir};
use nt_core::Predict;
use nt_registry::{
    CollectionSpec, DataProfile, Document, DocumentQuery, Error, EventKind, Filter,
    RegisterRequest, Registry, SearchQuery, SortBy, SortOrder, Stage, VersionSelector,
    EMBEDDING_DIM,
};
use serde_json::json;

#[test]
fn register_list_get_and_load_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = Registry::open(tmp.path().join("reg")).unwrap();
    let m1 = tiny_model_dir(tmp.path(), 1);
    let m2 = tiny_model_dir(tmp.path(), 2);
    let v1 = reg.register("etth1", &m1, seasonal_request()).unwrap();
    let v2 = reg
        .register("etth1", &m2, RegisterRequest::default())
        .unwrap();
    assert_eq!((v1.version, v2.version), (1, 2));
    assert_eq!(v1.kind, "nhits");
    assert_eq!((v1.input_size, v1.horizon), (24, 6));
    assert_eq!(v1.embedding.len(), EMBEDDING_DIM);
    // Training metrics come from model.json: 2 steps were taken.
    assert_eq!(v1.metrics.get("steps"), Some(&2.0));
    assert!(v1.profile.is_some() && v2.profile.is_none());
    let list = reg.list().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(
        (list[0].versions, list[0].latest, list[0].production),
        (2, 2, None)
    );
    assert_eq!(
        reg.get("etth1", VersionSelector::Latest).unwrap().version,
        2
    );
    // (Floats in stored JSON round-trip to within one ulp, so compare the exact fields.)
    let got = reg.get("etth1", VersionSelector::Number(1)).unwrap();
    assert_eq!(
        (got.weights_sha256, got.embedding, got.spec),
        (
            v1.weights_sha256.clone(),
            v1.embedding.clone(),
            v1.spec.clone()
        )
    );
    // The loaded model forecasts exactly like the model directory it was registered from.
    let series = seasonal_series();
    let from_dir = nt_neural::load(&m1).unwrap();
    let from_reg = reg.load("etth1", 1).unwrap();
    let h = nt_core::Horizon::new(6).unwrap();
    let a = from_dir.predict(&series, h).unwrap();
    let b = from_reg.predict(&series, h).unwrap();
    assert_eq!(a.point_values(), b.point_values());
    // Unknown model and unknown version are NotFound, naming what was missing.
    let e = reg.get("nope", VersionSelector::Latest).unwrap_err();
    assert!(e.is_not_found() && e.to_string().contains("nope"), "{e}");
    let e = reg.load("etth1", 9).unwrap_err();
    assert!(e.is_not_found() && e.to_string().contains("etth1@9"), "{e}");
    let e = reg
        .register("bad name!", &m1, RegisterRequest::default())
        .unwrap_err();
    assert!(e.is_bad_input(), "{e}");
}

#[test]
fn one_production_version_and_the_event_log() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = Registry::open(tmp.path().join("reg")).unwrap();
    let m = tiny_model_dir(tmp.path(), 1);
    for _ in 0..3 {
        reg.register("m", &m, RegisterRequest::default()).unwrap();
    }
    reg.set_stage("m", 1, Stage::Production).unwrap();
    assert_eq!(
        reg.get("m", VersionSelector::Production).unwrap().version,
        1
    );
    reg.set_stage("m", 2, Stage::Production).unwrap();
    // Promoting v2 archived v1: exactly one production version.
    let stages: Vec<Stage> = reg.versions("m").unwrap().iter().map(|v| v.stage).collect();
    assert_eq!(stages, [Stage::Archived, Stage::Production, Stage::None]);
    // Registering straight into production demotes v2 the same way.
    let v4 = reg
        .register(
            "m",
            &m,
            RegisterRequest {
                stage: Stage::Production,
                parent: Some(2),
                ..RegisterRequest::default()
            },
        )
        .unwrap();
    assert_eq!(v4.parent, Some(2));
    assert_eq!(
        reg.get("m", VersionSelector::Number(2)).unwrap().stage,
        Stage::Archived
    );
    assert_eq!(reg.list().unwrap()[0].production, Some(4));
    let kinds: Vec<EventKind> = reg
        .events(Some("m"), 0)
        .unwrap()
        .iter()
        .map(|e| e.kind)
        .collect();
    use EventKind::*;
    assert_eq!(
        kinds,
        [
            Registered,
            Registered,
            Registered,
            Promoted,
            StageChanged,
            Promoted,
            StageChanged,
            Registered,
            Promoted
        ]
    );
    // The most recent 2, oldest first.
    let last2 = reg.events(None, 2).unwrap();
    assert_eq!(last2.len(), 2);
    assert!(last2[0].id < last2[1].id);
    let alarm = reg
        .record_event("m", Some(4), DriftAlarm, json!({"psi": 0.3}))
        .unwrap();
    assert_eq!(reg.events(Some("m"), 1).unwrap()[0], alarm);
    // A parent that does not exist is refused.
    let e = reg
        .register(
            "m",
            &m,
            RegisterRequest {
                parent: Some(99),
                ..RegisterRequest::default()
            },
        )
        .unwrap_err();
    assert!(e.is_not_found(), "{e}");
}

#[test]
fn delete_never_reuses_numbers_and_gc_frees_unreferenced_blobs() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = Registry::open(tmp.path().join("reg")).unwrap();
    let a = tiny_model_dir(tmp.path(), 1);
    let b = tiny_model_dir(tmp.path(), 2);
    reg.register("m", &a, RegisterRequest::default()).unwrap();
    reg.register("m", &b, RegisterRequest::default()).unwrap();
    reg.delete("m", 2, false).unwrap();
    assert!(reg.delete("m", 2, false).unwrap_err().is_not_found());
    assert_eq!(
        reg.register("m", &b, RegisterRequest::default())
            .unwrap()
            .version,
        3
    );
    reg.delete("m", 3, false).unwrap();
    // Blobs of b (weights and optimizer state) are no longer referenced (versions 2 and 3 are
    // gone), those of a are.
    let report = reg.gc().unwrap();
    assert_eq!((report.removed_blobs, report.kept_blobs), (2, 2));
    assert!(report.freed_bytes > 0);
    reg.load("m", 1).unwrap();
    assert_eq!(reg.gc().unwrap().removed_blobs, 0);
}

#[test]
fn a_corrupted_blob_is_refused_with_both_hashes() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = Registry::open(tmp.path().join("reg")).unwrap();
    let v = reg
        .register(
            "m",
            &tiny_model_dir(tmp.path(), 1),
            RegisterRequest::default(),
        )
        .unwrap();
    let blob = tmp.path().join("reg").join("blobs").join(&v.weights_sha256);
    let mut bytes = std::fs::read(&blob).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    std::fs::write(&blob, bytes).unwrap();
    let e = reg.load("m", 1).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, Error::Corrupt { .. }), "{msg}");
    assert!(
        msg.contains(&v.weights_sha256) && msg.contains(&blob.display().to_string()),
        "{msg}"
    );
}

#[test]
fn generation_grows_with_writes_from_another_handle() {
    let tmp = tempfile::tempdir().unwrap();
    let a = Registry::open(tmp.path().join("reg")).unwrap();
    let b = Registry::open(tmp.path().join("reg")).unwrap();
    let g0 = a.generation().unwrap();
    b.register(
        "m",
        &tiny_model_dir(tmp.path(), 1),
        RegisterRequest::default(),
    )
    .unwrap();
    let g1 = a.generation().unwrap();
    assert!(g1 > g0);
    b.set_stage("m", 1, Stage::Staging).unwrap();
    let g2 = a.generation().unwrap();
    assert!(g2 > g1);
    // A failed write (unknown version) changes nothing.
    assert!(b.delete("m", 7, false).is_err());
    assert_eq!(a.generation().unwrap(), g2);
}

#[test]
fn a_production_version_is_deleted_only_when_forced() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = Registry::open(tmp.path().join("reg")).unwrap();
    let a = tiny_model_dir(tmp.path(), 1);
    reg.register("m", &a, RegisterRequest::default()).unwrap();
    reg.set_stage("m", 1, Stage::Production).unwrap();
    let e = reg.delete("m", 1, false).unwrap_err();
    assert!(e.is_bad_input(), "{e}");
    assert!(e.to_string().contains("m@1 is in production"), "{e}");
    // Refused means nothing changed.
    assert_eq!(
        reg.get("m", VersionSelector::Production).unwrap().version,
        1
    );
    reg.delete("m", 1, true).unwrap();
    assert!(reg
        .get("m", VersionSelector::Number(1))
        .unwrap_err()
        .is_not_found());
}

#[test]
fn open_existing_creates_nothing_and_a_file_is_not_a_registry() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("typo");
    let e = Registry::open_existing(&missing).unwrap_err();
    assert!(e.is_not_found(), "{e}");
    assert!(e.to_string().contains("typo"), "{e}");
    assert!(
        !missing.exists(),
        "a mistyped path must not become a registry"
    );
    // An existing directory without a database is not a registry either, and stays empty.
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert!(Registry::open_existing(&empty).unwrap_err().is_not_found());
    assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0);
    // A file is refused by both, as bad input.
    let file = tmp.path().join("file");
    std::fs::write(&file, "x").unwrap();
    assert!(Registry::open(&file).unwrap_err().is_bad_input());
    assert!(Registry::open_existing(&file).unwrap_err().is_bad_input());
    // A real registry opens.
    Registry::open(tmp.path().join("reg")).unwrap();
    Registry::open_existing(tmp.path().join("reg")).unwrap();
}

#[test]
fn similar_and_recommend_prefer_models_trained_on_similar_data() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = Registry::open(tmp.path().join("reg")).unwrap();
    let m = tiny_model_dir(tmp.path(), 1);
    let seasonal = DataProfile::from_series(&seasonal_series(), "y").unwrap();
    let walk =
        DataProfile::from_series(&nt_testing::synthetic::random_walk(300, 1.0, 5), "y").unwrap();
    let with = |p: &DataProfile, skill: f64| RegisterRequest {
        profile: Some(p.clone()),
        metrics: BTreeMap::from([("skill".to_string(), skill)]),
        ..RegisterRequest::default()
    };
    reg.register("seasonal-a", &m, with(&seasonal, 0.3))
        .unwrap();
    reg.register("seasonal-b", &m, with(&seasonal, 0.1))
        .unwrap();
    reg.register("walk", &m, with(&walk, 0.5)).unwrap();
    // The nearest neighbour of seasonal-a is seasonal-b (same data and architecture), not walk.
    let near = reg.similar("seasonal-a", 1, 2).unwrap();
    assert_eq!(near[0].model.name, "seasonal-b");
    assert!(near[0].score > near[1].score);
    // A new seasonal series: the best recommendation is the more skilful seasonal model.
    let new = DataProfile::from_series(&nt_testing::synthetic::seasonal(400, 12, 3.0, 0.2, 9), "y")
        .unwrap();
    let recs = reg.recommend(&new, 3).unwrap();
    assert_eq!(recs[0].model.name, "seasonal-a", "{recs:?}");
    assert!(recs[0].data_similarity > 0.9);
    assert_eq!(recs[0].skill, Some(0.3));
}

#[test]
fn collections_follow_the_agentdb_semantics() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = Registry::open(tmp.path().join("reg")).unwrap();
    let spec = CollectionSpec {
        name: "signals".into(),
        dimension: 3,
        index_type: "hnsw".into(),
        metadata_schema: None,
    };
    reg.create_collection(&spec).unwrap();
    assert!(reg.create_collection(&spec).unwrap_err().is_conflict());
    let doc = |id: &str, e: [f32; 3], meta: serde_json::Value| Document {
        id: id.into(),
        embedding: e.to_vec(),
        metadata: Some(meta),
    };
    reg.insert(
        "signals",
        &doc(
            "0a",
            [1.0, 0.0, 0.0],
            json!({"sym": "AAPL", "p": {"score": 3}}),
        ),
    )
    .unwrap();
    reg.insert(
        "signals",
        &doc(
            "0b",
            [0.9, 0.1, 0.0],
            json!({"sym": "GOOG", "p": {"score": 5}}),
        ),
    )
    .unwrap();
    reg.insert(
        "signals",
        &doc(
            "0C",
            [0.0, 1.0, 0.0],
            json!({"sym": "MSFT", "p": {"score": 1}}),
        ),
    )
    .unwrap();
    // Errors: wrong dimension, bad hex id, unknown collection, writes to `models`.
    let e = reg
        .insert("signals", &doc("0d", [1.0, 0.0, 0.0], json!({})))
        .map(|_| ());
    assert!(e.is_ok());
    let bad_dim = Document {
        id: "ff".into(),
        embedding: vec![1.0],
        metadata: None,
    };
    assert!(matches!(
        reg.insert("signals", &bad_dim).unwrap_err(),
        Error::DimensionMismatch {
            expected: 3,
            got: 1
        }
    ));
    assert!(reg
        .insert("signals", &doc("xyz", [1.0, 0.0, 0.0], json!({})))
        .unwrap_err()
        .is_bad_input());
    assert!(reg
        .insert("nope", &doc("aa", [1.0, 0.0, 0.0], json!({})))
        .unwrap_err()
        .is_not_found());
    assert!(matches!(
        reg.insert("models", &doc("aa", [1.0, 0.0, 0.0], json!({})))
            .unwrap_err(),
        Error::ReadOnly { .. }
    ));
    // Duplicate id = upsert: 0d is replaced, the count stays at 4.
    reg.insert(
        "signals",
        &doc(
            "0D",
            [0.0, 0.0, 1.0],
            json!({"sym": "TSLA", "p": {"score": 4}}),
        ),
    )
    .unwrap();
    assert_eq!(reg.collection("signals").unwrap().count, 4);
    assert_eq!(
        reg.get_document("signals", "0d").unwrap(),
        Some(json!({"sym": "TSLA", "p": {"score": 4}}))
    );
    // Batch: one bad id and one wrong dimension fail, two succeed.
    let out = reg
        .batch_insert(
            "signals",
            &[
                doc(
                    "10",
                    [0.5, 0.5, 0.0],
                    json!({"sym": "X", "p": {"score": 2}}),
                ),
                doc("zz", [0.5, 0.5, 0.0], json!({})),
                bad_dim.clone(),
                doc(
                    "11",
                    [0.1, 0.1, 0.9],
                    json!({"sym": "Y", "p": {"score": 0}}),
                ),
            ],
        )
        .unwrap();
    assert_eq!((out.inserted, out.failed), (2, 2));
    // Search: nearest to the x axis are 0a (cos 1) then 0b, with a filter on a nested field.
    let q = |filters: Option<Filter>, min_score: Option<f32>| SearchQuery {
        embedding: vec![1.0, 0.0, 0.0],
        k: 2,
        filters,
        min_score,
    };
    let hits = reg.search("signals", &q(None, None)).unwrap();
    assert_eq!(
        hits.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(),
        ["0a", "0b"]
    );
    assert!((hits[0].score - 1.0).abs() < 1e-6);
    assert_eq!(hits[0].metadata["sym"], "AAPL");
    let f = Filter::from_json(&json!({"op": "gte", "field": "p.score", "value": 4})).unwrap();
    let hits = reg.search("signals", &q(Some(f), None)).unwrap();
    assert_eq!(
        hits.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(),
        ["0b", "0d"]
    );
    // 0b's cosine to the x axis is 0.9939: a floor of 0.995 leaves only 0a.
    let hits = reg.search("signals", &q(None, Some(0.995))).unwrap();
    assert_eq!(hits.len(), 1);
    assert!(reg
        .search(
            "signals",
            &SearchQuery {
                embedding: vec![1.0],
                k: 2,
                filters: None,
                min_score: None
            }
        )
        .unwrap_err()
        .is_bad_input());
    // Query: filter with in/or, sort desc by a nested field, limit.
    let f = Filter::from_json(&json!({"op": "or", "filters": [
        {"op": "in", "field": "sym", "values": ["AAPL", "MSFT"]},
        {"op": "lt", "field": "p.score", "value": 1}]}))
    .unwrap();
    let docs = reg
        .query(
            "signals",
            &DocumentQuery {
                filters: Some(f),
                limit: Some(2),
                sort_by: Some(SortBy {
                    field: "p.score".into(),
                    order: SortOrder::Desc,
                }),
            },
        )
        .unwrap();
    assert_eq!(
        docs,
        [
            json!({"sym": "AAPL", "p": {"score": 3}}),
            json!({"sym": "MSFT", "p": {"score": 1}})
        ]
    );
    // Delete, then get is None.
    assert!(reg.delete_document("signals", "0A").unwrap());
    assert!(!reg.delete_document("signals", "0a").unwrap());
    assert_eq!(reg.get_document("signals", "0a").unwrap(), None);
    assert!(reg
        .get_document("signals", "not-hex")
        .unwrap_err()
        .is_bad_input());
}

#[test]
fn the_models_collection_mirrors_registered_versions() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = Registry::open(tmp.path().join("reg")).unwrap();
    let v = reg
        .register("m", &tiny_model_dir(tmp.path(), 1), seasonal_request())
        .unwrap();
    let info = reg.collection("models").unwrap();
    assert_eq!(
        (info.dimension, info.count, info.read_only),
        (EMBEDDING_DIM, 1, true)
    );
    let hits = reg
        .search(
            "models",
            &SearchQuery {
                embedding: v.embedding.clone(),
                k: 5,
                filters: None,
                min_score: None,
            },
        )
        .unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].metadata["name"], "m");
    assert!(hits[0].metadata.get("embedding").is_none());
    let id = nt_registry::model_doc_id(&v);
    assert_eq!(
        reg.get_document("models", &id).unwrap().unwrap()["version"],
        1
    );
    assert!(matches!(
        reg.delete_document("models", &id).unwrap_err(),
        Error::ReadOnly { .. }
    ));
    let f = Filter::from_json(&json!({"op": "eq", "field": "kind", "value": "nhits"})).unwrap();
    let docs = reg
        .query(
            "models",
            &DocumentQuery {
                filters: Some(f),
                ..DocumentQuery::default()
            },
        )
        .unwrap();
    assert_eq!(docs.len(), 1);
}

#[test]
fn backup_while_another_thread_registers() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("reg");
    let reg = std::sync::Arc::new(Registry::open(&dir).unwrap());
    let m = tiny_model_dir(tmp.path(), 1);
    reg.register("m", &m, RegisterRequest::default()).unwrap();
    let writer = {
        let reg = std::sync::Arc::clone(&reg);
        let m = m.clone();
        std::thread::spawn(move || {
            for _ in 0..30 {
                reg.register("m", &m, RegisterRequest::default()).unwrap();
            }
        })
    };
    let dest = tmp.path().join("backup");
    reg.backup(&dest).unwrap();
    writer.join().unwrap();
    // The copy opens, lists a consistent prefix of the versions, and loads each one.
    let copy = Registry::open(&dest).unwrap();
    let list = copy.list().unwrap();
    assert_eq!(list.len(), 1);
    assert!(list[0].versions >= 1 && list[0].versions <= 31);
    assert_eq!(list[0].versions, list[0].latest);
    for v in copy.versions("m").unwrap() {
        copy.load("m", v.version).unwrap();
    }
    // A second backup into the same place is refused.
    assert!(reg.backup(&dest).unwrap_err().is_bad_input());
}
