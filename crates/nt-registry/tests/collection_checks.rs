//! The checks the collections make on what callers send: unknown fields, index kinds,
//! names, metadata types, duplicate ids in a batch, sort paths (issue 10).
#![allow(clippy::unwrap_used, clippy::panic)]

use nt_registry::{
    CollectionSpec, Document, DocumentQuery, Error, Registry, SearchQuery, SortBy, INDEX_TYPES,
};
use serde_json::{json, Value};

fn registry() -> (tempfile::TempDir, Registry) {
    let tmp = tempfile::tempdir().unwrap();
    let reg = Registry::open(tmp.path().join("reg")).unwrap();
    (tmp, reg)
}

fn spec(name: &str, index_type: &str) -> CollectionSpec {
    CollectionSpec {
        name: name.into(),
        dimension: 2,
        index_type: index_type.into(),
        metadata_schema: None,
    }
}

fn doc(id: &str, metadata: Option<Value>) -> Document {
    Document {
        id: id.into(),
        embedding: vec![1.0, 0.0],
        metadata,
    }
}

fn invalid_field(e: &Error) -> String {
    match e {
        Error::InvalidInput { field, .. } => field.clone(),
        other => panic!("expected invalid input, got {other}"),
    }
}

#[test]
fn every_request_type_refuses_unknown_fields() {
    let cases: Vec<(&str, Result<(), serde_json::Error>)> = vec![
        (
            "CollectionSpec",
            serde_json::from_value::<CollectionSpec>(
                json!({"name": "c", "dimension": 2, "dimensions": 3}),
            )
            .map(drop),
        ),
        (
            "Document",
            serde_json::from_value::<Document>(json!({"id": "0a", "embedding": [1.0], "meta": {}}))
                .map(drop),
        ),
        (
            "SearchQuery",
            serde_json::from_value::<SearchQuery>(json!({"embedding": [1.0], "filter": {}}))
                .map(drop),
        ),
        (
            "DocumentQuery",
            serde_json::from_value::<DocumentQuery>(json!({"filter": {}})).map(drop),
        ),
        (
            "SortBy",
            serde_json::from_value::<SortBy>(json!({"field": "a", "direction": "desc"})).map(drop),
        ),
    ];
    for (what, r) in cases {
        let e = r.expect_err(what).to_string();
        assert!(e.contains("unknown field"), "{what}: {e}");
    }
}

#[test]
fn index_types_we_do_not_have_are_refused() {
    let (_tmp, reg) = registry();
    for t in INDEX_TYPES {
        reg.create_collection(&spec(&format!("c-{t}"), t)).unwrap();
    }
    for bad in ["ivf", "HNSW", "", "lsh"] {
        let e = reg.create_collection(&spec("x", bad)).unwrap_err();
        assert_eq!(invalid_field(&e), "index_type", "{bad}");
        assert!(e.to_string().contains("hnsw, flat"), "{e}");
    }
    assert!(reg.collection("x").unwrap_err().is_not_found());
}

#[test]
fn collection_names_of_dots_are_refused() {
    let (_tmp, reg) = registry();
    for bad in [".", "..", ".hidden"] {
        let e = reg.create_collection(&spec(bad, "hnsw")).unwrap_err();
        assert_eq!(invalid_field(&e), "collection name");
        assert!(e.to_string().contains("starts with `.`"), "{e}");
    }
}

#[test]
fn metadata_must_be_an_object() {
    let (_tmp, reg) = registry();
    reg.create_collection(&spec("c", "flat")).unwrap();
    for bad in [json!(5), json!("x"), json!([1, 2]), json!(true)] {
        let e = reg.insert("c", &doc("0a", Some(bad.clone()))).unwrap_err();
        assert_eq!(invalid_field(&e), "metadata", "{bad}");
    }
    reg.insert("c", &doc("0a", None)).unwrap();
    reg.insert("c", &doc("0b", Some(Value::Null))).unwrap();
    reg.insert("c", &doc("0c", Some(json!({"a": 1})))).unwrap();
    let out = reg
        .batch_insert("c", &[doc("1a", Some(json!([1]))), doc("1b", None)])
        .unwrap();
    assert_eq!((out.inserted, out.failed), (1, 1));
    assert_eq!(out.errors.len(), 1);
    assert!(
        out.errors[0].starts_with("invalid documents[0].metadata"),
        "{:?}",
        out.errors
    );
}

#[test]
fn a_batch_with_one_id_twice_is_refused_whole() {
    let (_tmp, reg) = registry();
    reg.create_collection(&spec("c", "hnsw")).unwrap();
    let e = reg
        .batch_insert(
            "c",
            &[
                doc("0a", Some(json!({"v": 1}))),
                doc("0b", None),
                doc("0A", Some(json!({"v": 2}))),
            ],
        )
        .unwrap_err();
    assert_eq!(invalid_field(&e), "documents[2].id");
    assert!(e.to_string().contains("documents[0]"), "{e}");
    assert_eq!(reg.collection("c").unwrap().count, 0, "nothing written");
}

#[test]
fn batch_errors_say_which_document_failed_and_why() {
    let (_tmp, reg) = registry();
    reg.create_collection(&spec("c", "hnsw")).unwrap();
    let mut short = doc("0b", None);
    short.embedding = vec![1.0];
    let out = reg
        .batch_insert("c", &[doc("zz", None), short, doc("0c", None)])
        .unwrap();
    assert_eq!((out.inserted, out.failed), (1, 2));
    assert!(
        out.errors[0].contains("documents[0].id"),
        "{:?}",
        out.errors
    );
    assert!(
        out.errors[1].contains("documents[1].embedding"),
        "{:?}",
        out.errors
    );
}

#[test]
fn sort_paths_with_an_empty_segment_are_refused() {
    let (_tmp, reg) = registry();
    reg.create_collection(&spec("c", "hnsw")).unwrap();
    for bad in ["", "a..b", ".a", "a."] {
        let q = DocumentQuery {
            sort_by: Some(SortBy {
                field: bad.into(),
                order: Default::default(),
            }),
            ..Default::default()
        };
        let e = reg.query("c", &q).unwrap_err();
        assert_eq!(invalid_field(&e), "sort_by.field", "{bad:?}");
    }
}
