//! Canary and shadow routing, rollback and promotion through the API over a memory store: a
//! 10% canary answers 9–11% of 10,000 requests (by key and without), a key always gets the same
//! version, requests naming a version bypass the policy, a failing shadow never fails the
//! answer, promotion and rollback switch traffic without a restart, and the 401, 403 and 422
//! answers name what is wrong. Logging of canary and shadow forecasts over a real registry:
//! `traffic_logged.rs`.
#![allow(clippy::unwrap_used)]

mod common;
mod traffic_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::Router;
use common::*;
use nt_server::{app, AppState, MemoryStore, ModelStore, ServerConfig};
use serde_json::{json, Value};
use traffic_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ten_percent_canary_answers_nine_to_eleven_percent_of_ten_thousand_requests() {
    let (_store, _state, app) = memory_app(test_config()).await;
    let (s, j) = with_key(
        &app,
        "PUT",
        "/v1/models/m/traffic",
        json!({"canary": {"version": 2, "percent": 10}, "seed": 2024}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{j}");
    assert_eq!(j["canary"], json!({"version": 2, "percent": 10.0}));
    assert_eq!(j["production"], 1);
    for keyed in [false, true] {
        let mut canary = 0;
        for i in 0..10_000 {
            let extra = if keyed {
                json!({"route_key": format!("strategy-{i}")})
            } else {
                json!({})
            };
            match answer(&app, "/v1/models/m/predict", extra).await {
                (2, role) if role == "canary" => canary += 1,
                (1, role) if role == "production" => {}
                other => panic!("unexpected answer {other:?}"),
            }
        }
        assert!(
            (900..=1100).contains(&canary),
            "keyed {keyed}: the canary answered {canary} of 10,000"
        );
        println!("keyed {keyed}: canary answered {canary} of 10,000 requests");
    }
    let (_, j) = call(&app, "GET", "/v1/models/m/traffic", None).await;
    let served = &j["served"];
    assert_eq!(
        served["production"].as_u64().unwrap() + served["canary"].as_u64().unwrap(),
        20_000,
        "{j}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_always_gets_the_same_version_and_named_versions_bypass_the_policy() {
    let (store, _state, app) = memory_app(test_config()).await;
    let (s, j) = with_key(
        &app,
        "PUT",
        "/v1/models/m/traffic",
        json!({"canary": {"version": 2, "percent": 50}}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{j}");
    // The default seed is the model name's hash: the same on every server.
    assert_eq!(
        j["seed"].as_u64().unwrap(),
        nt_registry::TrafficPolicy::default_seed("m")
    );
    let mut seen = std::collections::BTreeSet::new();
    for k in 0..40 {
        let key = format!("k{k}");
        let first = answer(&app, "/v1/models/m/predict", json!({"route_key": key})).await;
        for _ in 0..5 {
            let again = answer(&app, "/v1/models/m/predict", json!({"route_key": key})).await;
            assert_eq!(again, first, "key {key}");
        }
        // `m@production` is the same request as `m`.
        let prod = answer(
            &app,
            "/v1/models/m@production/predict",
            json!({"route_key": key}),
        )
        .await;
        assert_eq!(prod, first);
        // A fresh server over the same store routes the key alike (no in-memory state).
        seen.insert(first.0);
    }
    assert_eq!(seen.len(), 2, "at 50%, 40 keys reach both versions");
    let fresh = AppState::new(store.clone(), test_config()).unwrap();
    fresh.refresh().await.unwrap();
    let fresh_app = app_of(fresh);
    for k in 0..40 {
        let key = json!({"route_key": format!("k{k}")});
        assert_eq!(
            answer(&fresh_app, "/v1/models/m/predict", key.clone()).await,
            answer(&app, "/v1/models/m/predict", key).await
        );
    }

    // Naming a version bypasses the policy.
    for _ in 0..20 {
        for (uri, extra, v) in [
            ("/v1/models/m@1/predict", json!({}), 1),
            ("/v1/models/m@3/predict", json!({"route_key": "k1"}), 3),
            ("/v1/models/m/predict", json!({"version": 1}), 1),
            ("/v1/models/m@latest/predict", json!({}), 4),
        ] {
            assert_eq!(
                answer(&app, uri, extra).await,
                (v, "explicit".to_string()),
                "{uri}"
            );
        }
    }
    // Batch items follow the same rules, each its own.
    let items: Vec<Value> = (0..15)
        .map(|k| {
            json!({"model": "m", "history": {"values": series_values(30, 0.0)}, "horizon": 2,
                   "route_key": format!("k{k}")})
        })
        .chain([json!({"model": "m@3", "history": {"values": series_values(30, 0.0)}})])
        .collect();
    let (s, j) = call(
        &app,
        "POST",
        "/v1/predict/batch",
        Some(json!({"items": items})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{j}");
    let results = j["results"].as_array().unwrap();
    for (k, r) in results.iter().take(15).enumerate() {
        let single = answer(
            &app,
            "/v1/models/m/predict",
            json!({"route_key": format!("k{k}")}),
        )
        .await;
        assert_eq!(
            (r["version"].as_u64().unwrap(), r["role"].as_str().unwrap()),
            (single.0, single.1.as_str())
        );
    }
    assert_eq!(results[15]["role"], "explicit");
}

fn app_of(state: AppState) -> Router {
    app(state)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promotion_and_rollback_switch_traffic_without_a_restart() {
    let (store, state, app) = memory_app(test_config()).await;
    assert_eq!(
        answer(&app, "/v1/models/m/predict", json!({})).await,
        (1, "production".into())
    );
    // No earlier production version yet.
    let (s, j) = with_key(&app, "POST", "/v1/models/m/rollback", json!({})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{j}");
    assert_eq!(j["error"]["field"], "name");

    // Canary 2 at 50%, shadow 3; promoting the canary removes its route at once.
    let (s, _) = with_key(
        &app,
        "PUT",
        "/v1/models/m/traffic",
        json!({"canary": {"version": 2, "percent": 50}, "shadow": {"version": 3}}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, j) = with_key(&app, "POST", "/v1/models/m/promote", json!({"version": 2})).await;
    assert_eq!(s, StatusCode::OK, "{j}");
    let (_, t) = call(&app, "GET", "/v1/models/m/traffic", None).await;
    assert_eq!(
        (t["production"].clone(), t["canary"].clone()),
        (json!(2), Value::Null)
    );
    assert_eq!(t["shadow"], json!({"version": 3}));
    for i in 0..50 {
        let key = json!({"route_key": format!("s{i}")});
        assert_eq!(
            answer(&app, "/v1/models/m/predict", key).await,
            (2, "production".into())
        );
    }

    // Rollback: 2 -> 1, at once; a second rollback undoes it.
    let (s, j) = with_key(&app, "POST", "/v1/models/m/rollback", json!({})).await;
    assert_eq!(s, StatusCode::OK, "{j}");
    assert_eq!((j["from"].clone(), j["to"].clone()), (json!(2), json!(1)));
    assert_eq!(j["production"]["stage"], "production");
    assert_eq!(
        answer(&app, "/v1/models/m/predict", json!({})).await,
        (1, "production".into())
    );
    let (_, j) = with_key(&app, "POST", "/v1/models/m/rollback", json!({})).await;
    assert_eq!((j["from"].clone(), j["to"].clone()), (json!(1), json!(2)));
    assert_eq!(
        answer(&app, "/v1/models/m/predict", json!({})).await,
        (2, "production".into())
    );

    // A policy set in the store by another process is applied on the next reload.
    store
        .set_traffic(
            "m",
            nt_registry::TrafficPolicy {
                canary: Some(nt_registry::CanaryRoute {
                    version: 4,
                    percent: 99.0,
                }),
                shadow: None,
                seed: 5,
            },
        )
        .unwrap();
    assert!(state.poll_reload().await.unwrap());
    let canary = {
        let mut n = 0;
        for _ in 0..100 {
            if answer(&app, "/v1/models/m/predict", json!({})).await == (4, "canary".into()) {
                n += 1;
            }
        }
        n
    };
    assert!(canary > 90, "{canary} of 100 at 99%");
    // `{}` clears the policy.
    let (s, j) = with_key(&app, "PUT", "/v1/models/m/traffic", json!({})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (j["canary"].clone(), j["shadow"].clone()),
        (Value::Null, Value::Null)
    );
    assert_eq!(
        answer(&app, "/v1/models/m/predict", json!({})).await,
        (2, "production".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_name_the_field_and_writes_need_the_key() {
    let (_store, _state, app) = memory_app(test_config()).await;
    let put = json!({"canary": {"version": 2, "percent": 10}});
    // No key: 401, before the body is read.
    let (s, _, _) = call_raw(
        &app,
        "PUT",
        "/v1/models/m/traffic",
        Some(put.to_string().into_bytes()),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = call(&app, "POST", "/v1/models/m/rollback", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    for (b, field) in [
        (
            json!({"canary": {"version": 1, "percent": 10}}),
            "canary.version",
        ),
        (
            json!({"canary": {"version": 9, "percent": 10}}),
            "canary.version",
        ),
        (
            json!({"canary": {"version": 0, "percent": 10}}),
            "canary.version",
        ),
        (
            json!({"canary": {"version": 2, "percent": 0}}),
            "canary.percent",
        ),
        (
            json!({"canary": {"version": 2, "percent": 100}}),
            "canary.percent",
        ),
        (
            json!({"canary": {"version": 2, "percent": -5}}),
            "canary.percent",
        ),
        (json!({"shadow": {"version": 1}}), "shadow.version"),
        (
            json!({"canary": {"version": 2, "percent": 5}, "shadow": {"version": 2}}),
            "shadow.version",
        ),
    ] {
        let (s, j) = with_key(&app, "PUT", "/v1/models/m/traffic", b.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}: {j}");
        assert_eq!(j["error"]["field"], field, "{b}: {j}");
    }
    // Unknown fields and wrong types are refused by the body parser.
    let (s, j) = with_key(
        &app,
        "PUT",
        "/v1/models/m/traffic",
        json!({"canary": {"version": 2, "share": 10}}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{j}");
    assert!(
        j["error"]["message"].as_str().unwrap().contains("canary"),
        "{j}"
    );
    let (s, _) = with_key(&app, "PUT", "/v1/models/nope/traffic", put.clone()).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, j) = call(&app, "GET", "/v1/models/m@2/traffic", None).await;
    assert_eq!(
        (s, j["error"]["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("name"))
    );
    let (s, _) = call(&app, "GET", "/v1/models/nope/traffic", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Routing keys: 1 to 256 characters.
    for key in [String::new(), "x".repeat(257)] {
        let (s, j) = call(
            &app,
            "POST",
            "/v1/models/m/predict",
            Some(body(json!({"route_key": key}))),
        )
        .await;
        assert_eq!(
            (s, j["error"]["field"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("route_key"))
        );
    }
    let item = json!({"model": "m", "history": {"values": series_values(30, 0.0)},
                      "route_key": ""});
    let (s, j) = call(
        &app,
        "POST",
        "/v1/predict/batch",
        Some(json!({"items": [item]})),
    )
    .await;
    assert_eq!(j["error"]["field"], "items[0].route_key", "{s} {j}");
    let ok = answer(
        &app,
        "/v1/models/m/predict",
        json!({"route_key": "é".repeat(256)}),
    )
    .await;
    assert_eq!(ok, (1, "production".into()));

    // A server without a key refuses the writes outright.
    let (_store, _state, closed) = memory_app(ServerConfig {
        api_key: None,
        ..test_config()
    })
    .await;
    let (s, _) = call(&closed, "PUT", "/v1/models/m/traffic", Some(put)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = call(&closed, "POST", "/v1/models/m/rollback", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = call(&closed, "GET", "/v1/models/m/traffic", None).await;
    assert_eq!(s, StatusCode::OK, "reading the policy is a read");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_shadow_never_fails_or_delays_the_answer() {
    // The shadow (an NHITS reading 24 values) cannot forecast a 10-value history; production
    // (the random walk) can.
    let store = Arc::new(MemoryStore::new());
    store.add("m", &classical("naive"), "production").unwrap();
    store.add("m", &tiny_model(1), "staging").unwrap();
    let state = AppState::new(store.clone(), test_config()).unwrap();
    state.refresh().await.unwrap();
    let app = app(state);
    let (s, j) = with_key(
        &app,
        "PUT",
        "/v1/models/m/traffic",
        json!({"shadow": {"version": 2}}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{j}");
    let (s, j) = call(
        &app,
        "POST",
        "/v1/models/m/predict",
        Some(json!({"history": {"values": series_values(10, 0.0)}, "horizon": 3})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{j}");
    assert_eq!(
        (j["version"].clone(), j["role"].clone()),
        (json!(1), json!("production"))
    );
    let start = Instant::now();
    loop {
        let (_, t) = call(&app, "GET", "/v1/models/m/traffic", None).await;
        if t["served"]["shadow_failed"].as_u64() == Some(1) {
            assert_eq!(t["served"]["shadow_computed"], 0, "{t}");
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{t}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Batch items routed by the policy get their shadow forecasts too; a named version none.
    let item = |model: &str| json!({"model": model, "history": {"values": series_values(30, 0.0)}, "horizon": 3});
    let (s, j) = call(
        &app,
        "POST",
        "/v1/predict/batch",
        Some(json!({"items": [item("m"), item("m"), item("m@1")]})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{j}");
    let roles: Vec<&str> = j["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["production", "production", "explicit"]);
    let start = Instant::now();
    loop {
        let (_, t) = call(&app, "GET", "/v1/models/m/traffic", None).await;
        if t["served"]["shadow_computed"].as_u64() == Some(2) {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{t}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[test]
fn traffic_types_are_send_and_sync() {
    fn check<T: Send + Sync + 'static>() {}
    check::<nt_server::api::TrafficRequest>();
    check::<nt_server::api::TrafficResponse>();
    check::<nt_server::api::RollbackResponse>();
    check::<nt_registry::TrafficPolicy>();
}
