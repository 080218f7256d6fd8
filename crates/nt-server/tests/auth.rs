//! Every route's access rule, from the one route table the router is built from
//! (`nt_server::route_rules()`): write routes refuse a request without the key (401) — before the
//! body is read, so a malformed body still gets 401 — and are forbidden (403) on a server without
//! a key; read routes need the key only with `auth_reads`; open routes never do. Every route the
//! OpenAPI document publishes is in the table, and every table entry reaches a handler.
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::StatusCode;
use common::*;
use nt_server::{app, route_rules, Access, RouteRule, ServerConfig};

/// The rule's path with its parameters filled in.
fn concrete(rule: &RouteRule) -> String {
    rule.path
        .replace("{name}", "m")
        .replace("{c}", "docs")
        .replace("{id}", "d1")
}

async fn status(
    app: &axum::Router,
    rule: &RouteRule,
    key: Option<&str>,
) -> (StatusCode, serde_json::Value) {
    let body = (rule.method != "GET").then(|| b"{ this is not json".to_vec());
    let auth = key.map(|k| format!("Bearer {k}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", a.as_str())).collect();
    let (s, _, j) = call_raw(app, rule.method, &concrete(rule), body, &headers).await;
    (s, j)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_enforces_its_access_rule() {
    let rules = route_rules();
    assert!(rules.len() >= 17, "{rules:?}");
    for auth_reads in [false, true] {
        let config = ServerConfig {
            auth_reads,
            ..test_config()
        };
        let (_store, state) = fixture(config).await;
        let app = app(state);
        for rule in &rules {
            let (without, j) = status(&app, rule, None).await;
            let needs_key = match rule.access {
                Access::Open => false,
                Access::Read => auth_reads,
                Access::Write | Access::AgentDbWrite => true,
            };
            if needs_key {
                assert_eq!(
                    without,
                    StatusCode::UNAUTHORIZED,
                    "{} {} (auth_reads {auth_reads}) without a key: {j}",
                    rule.method,
                    rule.path
                );
            } else {
                assert_ne!(without, StatusCode::UNAUTHORIZED, "{rule:?}: {j}");
            }
            let (with, j) = status(&app, rule, Some(KEY)).await;
            assert_ne!(with, StatusCode::UNAUTHORIZED, "{rule:?} with the key: {j}");
            assert_ne!(
                with,
                StatusCode::METHOD_NOT_ALLOWED,
                "{rule:?} is not routed: {j}"
            );
            let wrong = status(&app, rule, Some("wrong-key-0123456789")).await.0;
            assert_eq!(
                wrong == StatusCode::UNAUTHORIZED,
                needs_key,
                "{rule:?} with a wrong key"
            );
        }
    }
    // Without a key, writes are forbidden outright.
    let config = ServerConfig {
        api_key: None,
        ..test_config()
    };
    let (_store, state) = fixture(config).await;
    let app = app(state);
    let writes = |r: &&RouteRule| matches!(r.access, Access::Write | Access::AgentDbWrite);
    for rule in rules.iter().filter(writes) {
        assert_eq!(
            status(&app, rule, None).await.0,
            StatusCode::FORBIDDEN,
            "{rule:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_document_needs_the_write_key() {
    // The hole this table closes: DELETE on a document sat among the read routes.
    let (_store, state) = fixture(test_config()).await;
    let app = app(state);
    let (s, _) = call(
        &app,
        "DELETE",
        "/agentdb/collections/docs/documents/d1",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_published_route_has_a_rule() {
    let (_store, state) = fixture(test_config()).await;
    let app = app(state);
    let (s, spec) = call(&app, "GET", "/openapi.json", None).await;
    assert_eq!(s, StatusCode::OK);
    let rules = route_rules();
    let paths = spec["paths"].as_object().unwrap();
    assert!(!paths.is_empty());
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let m = method.to_ascii_uppercase();
            if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&m.as_str()) {
                continue;
            }
            assert!(
                rules.iter().any(|r| r.path == path && r.method == m),
                "{m} {path} is published but has no access rule in the route table"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_agentdb_writes_open_only_the_agentdb_write_routes() {
    let rules = route_rules();
    let agentdb_writes: Vec<&RouteRule> = rules
        .iter()
        .filter(|r| r.access == Access::AgentDbWrite)
        .collect();
    // Create, insert, batch insert, delete: the writes the published client makes.
    assert_eq!(agentdb_writes.len(), 4, "{agentdb_writes:?}");
    assert!(agentdb_writes
        .iter()
        .all(|r| r.path.starts_with("/agentdb/")));
    for api_key in [None, Some(KEY.to_string())] {
        let config = ServerConfig {
            api_key: api_key.clone(),
            agentdb_open_writes: true,
            ..test_config()
        };
        let (_store, state) = fixture(config).await;
        let app = app(state);
        for rule in &rules {
            let (s, j) = status(&app, rule, None).await;
            match rule.access {
                Access::Write => {
                    let closed = if api_key.is_some() {
                        StatusCode::UNAUTHORIZED
                    } else {
                        StatusCode::FORBIDDEN
                    };
                    assert_eq!(s, closed, "{rule:?} stays closed: {j}");
                }
                _ => assert!(
                    s != StatusCode::UNAUTHORIZED && s != StatusCode::FORBIDDEN,
                    "{rule:?} (key {}) is open in this mode: {s} {j}",
                    api_key.is_some()
                ),
            }
        }
    }
}
