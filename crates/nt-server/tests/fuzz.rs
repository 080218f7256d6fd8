//! Thousands of malformed bodies thrown at the router: every answer is a 4xx with a JSON error
//! body, and the router still serves valid requests afterwards.
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::StatusCode;
use common::*;
use nt_server::app;
use proptest::prelude::*;

fn valid_body() -> String {
    values_body(30, 0.0).to_string()
}

/// Malformed bodies: truncations of a valid one, random bytes, wrong types, huge or NaN-like
/// numbers, deep nesting, random JSON values.
fn malformed() -> impl Strategy<Value = Vec<u8>> {
    let valid = valid_body();
    let n = valid.len();
    let truncated = (0..n - 1).prop_map(move |k| valid.as_bytes()[..k].to_vec());
    let bytes = proptest::collection::vec(any::<u8>(), 0..200);
    // Tokens that make a history value invalid (not JSON, not a number, or beyond f32).
    let token = prop_oneof![
        Just("NaN"),
        Just("nan"),
        Just("Infinity"),
        Just("-Infinity"),
        Just("inf"),
        Just("1e400"),
        Just("-1e999"),
        Just("1e39"),
        Just("null"),
        Just("\"1.0\""),
        Just("true"),
        Just("[]"),
        Just("{}"),
        Just("0x10"),
        Just("1.0.0"),
        Just("--1"),
    ];
    // Tokens that make `horizon`, `version`, `quantiles` or `history` invalid.
    let field_token = prop_oneof![
        Just("NaN"),
        Just("Infinity"),
        Just("1e400"),
        Just("-1"),
        Just("1.5"),
        Just("\"3\""),
        Just("true"),
        Just("{}"),
        Just("18446744073709551616"),
        Just("0x10"),
        Just("[true]"),
    ];
    let bad_value = (token.clone(), 0usize..30).prop_map(|(t, i)| {
        let mut v: Vec<String> = series_values(30, 0.0)
            .iter()
            .map(|x| x.to_string())
            .collect();
        v[i] = t.to_string();
        format!(r#"{{"history":{{"values":[{}]}}}}"#, v.join(",")).into_bytes()
    });
    let bad_field = (
        prop_oneof![
            Just("horizon"),
            Just("version"),
            Just("quantiles"),
            Just("history")
        ],
        field_token,
    )
        .prop_map(|(f, t)| {
            let values = series_values(30, 0.0)
                .iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(",");
            if f == "history" {
                format!(r#"{{"history":{t}}}"#).into_bytes()
            } else {
                format!(r#"{{"history":{{"values":[{values}]}},"{f}":{t}}}"#).into_bytes()
            }
        });
    let deep = (1usize..5000, prop_oneof![Just('['), Just('{')]).prop_map(|(d, c)| {
        let open = if c == '[' {
            "[".repeat(d)
        } else {
            "{\"a\":".repeat(d)
        };
        format!(r#"{{"history":{{"values":{open}"#).into_bytes()
    });
    let json_value =
        any::<i64>().prop_map(|i| format!(r#"{{"history":{{"values":{i}}}}}"#).into_bytes());
    prop_oneof![truncated, bytes, bad_value, bad_field, deep, json_value]
}

#[test]
fn malformed_bodies_get_4xx_and_the_router_lives() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (_, state) = rt.block_on(fixture(test_config()));
    let app = app(state);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 2500,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let seen = std::cell::RefCell::new(std::collections::BTreeMap::new());
    runner
        .run(&malformed(), |body| {
            let (s, _, j) = rt.block_on(call_raw(
                &app,
                "POST",
                "/v1/models/m/predict",
                Some(body.clone()),
                &[],
            ));
            *seen.borrow_mut().entry(s.as_u16()).or_insert(0) += 1;
            prop_assert!(
                s.is_client_error(),
                "{s} for {:?}",
                String::from_utf8_lossy(&body)
            );
            prop_assert!(j["error"]["code"].is_string());
            let (s, _, _) =
                rt.block_on(call_raw(&app, "POST", "/v1/predict/batch", Some(body), &[]));
            prop_assert!(s.is_client_error());
            Ok(())
        })
        .unwrap();
    println!("statuses: {:?}", seen.borrow());
    // Still alive and still right.
    let (s, _) = rt.block_on(call(&app, "GET", "/health", None));
    assert_eq!(s, StatusCode::OK);
    let (s, j) = rt.block_on(call(
        &app,
        "POST",
        "/v1/models/m/predict",
        Some(values_body(30, 0.0)),
    ));
    assert_eq!(
        (s, j["point"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(H))
    );
}
