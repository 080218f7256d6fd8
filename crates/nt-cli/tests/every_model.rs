//! The one test that walks every model the CLI offers (`nt_models::catalog()`: every classical
//! model, every neural architecture of `nt_neural::NeuralSpec` and its presets) and proves each
//! is wired everywhere: it trains (3 steps for neural models) on a tiny series, saves, loads
//! back with the same forecast bits, is named by `nt train --help`, trains and registers through
//! `nt train --register`, loads from the registry with the same bits, and is served through the
//! router (`oneshot`) with the same numbers. A new model added to the list is covered with no
//! edit here; one that is not wired somewhere fails.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{hourly_load_csv, nt, stderr};
use http_body_util::BodyExt;
use nt_models::{catalog, load_dir, ModelSpec, NameOptions, TrainOptions, WindowInputs};
use nt_registry::{Registry, Stage};
use nt_server::{app, AppState, RegistryStore, ServerConfig};
use tower::ServiceExt;

const H: usize = 6;
const L: usize = 24;

/// A trending daily sine, rounded to multiples of 1/1024 so the values cross JSON exactly.
fn value(i: usize) -> f64 {
    let v = 100.0 + 0.05 * i as f64 + 5.0 * (i as f64 * std::f64::consts::TAU / 24.0).sin();
    (v * 1024.0).round() / 1024.0
}

/// The spec `nt train --model NAME` builds here, with 3 training steps for neural models.
fn spec_for(name: &str) -> ModelSpec {
    let opts = NameOptions {
        classical: nt_classical::ClassicalOptions {
            season: 24,
            input_size: L,
            horizon: H,
            levels: vec![0.8, 0.95],
            ..Default::default()
        },
        neural_input_size: L,
    };
    let mut spec = ModelSpec::from_name(name, H, &opts).unwrap();
    if let ModelSpec::Neural(n) = &mut spec {
        let t = n.train_config_mut();
        t.max_steps = 3;
        t.windows_batch_size = 64;
    }
    // The hybrid's default hourly seasons (24, 168) need 4 weeks of history; this test's
    // 14 days hold the daily season only (window max(L, 4 × 24) = 96 rows).
    if let ModelSpec::Hybrid(h) = &mut spec {
        if let nt_models::hybrid::Decompose::Mstl(m) = &mut h.decompose {
            m.seasons = vec![24];
        }
        let t = h.neural.train_config_mut();
        t.max_steps = 3;
        t.windows_batch_size = 64;
    }
    spec
}

fn window(history: &[f64]) -> WindowInputs<'_> {
    WindowInputs::target(history)
}

async fn post(app: &axum::Router, uri: &str, body: serde_json::Value) -> (StatusCode, String) {
    let req = Request::builder()
        .method("POST")
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_model_trains_saves_loads_registers_serves_and_has_help() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = hourly_load_csv(tmp.path(), 14, value);
    let series = nt_data::load(&csv, &nt_data::LoadOptions::default()).unwrap();
    let values: Vec<f64> = (0..24 * 14).map(value).collect();
    // Long enough for every model: the hybrid reads 96 rows.
    let history = &values[values.len() - 4 * L..];
    let registry_dir = tmp.path().join("registry");

    let help = nt(&["train", "--help"]);
    assert!(help.status.success(), "{}", stderr(&help));
    let help = String::from_utf8_lossy(&help.stdout).into_owned();

    let entries = catalog();
    assert!(entries.len() >= 11, "{entries:?}");
    for name in nt_neural::NeuralSpec::NAMES {
        assert!(
            entries.iter().any(|e| e.name == *name),
            "{name} missing from the catalog"
        );
    }
    for e in &entries {
        let name = e.name;
        assert!(
            help.contains(name),
            "`nt train --help` does not name {name}"
        );

        // Train in process, save, load: the same bits.
        let spec = spec_for(name);
        let dir = tmp.path().join(format!("direct-{name}"));
        let opts = TrainOptions {
            out_dir: Some(dir.clone()),
            ..TrainOptions::default()
        };
        let trained = nt_models::train(&series, &["load"], &spec, &opts, &mut |_| {}).unwrap();
        let loaded = load_dir(&dir).unwrap();
        assert_eq!(
            loaded.spec(),
            spec,
            "{name}: the spec survives the round trip"
        );
        let a = trained.model.forecast(&window(history), H).unwrap();
        let b = loaded.forecast(&window(history), H).unwrap();
        assert_eq!(a.point_values(), b.point_values(), "{name}: loaded point");
        assert_eq!(a.quantiles(), b.quantiles(), "{name}: loaded bands");
        assert_eq!(a.len(), H, "{name}");
        if trained.model.batches() {
            let batch = loaded
                .forecast_batch(&[window(&values[..4 * L]), window(history)], H)
                .unwrap();
            assert_eq!(
                batch[1].point_values(),
                b.point_values(),
                "{name}: batched bits"
            );
        }

        // Through the CLI: train and register.
        let out = tmp.path().join(format!("cli-{name}"));
        let mut args = vec![
            "train".to_string(),
            "--data".into(),
            csv.display().to_string(),
            "--model".into(),
            name.into(),
            "--horizon".into(),
            H.to_string(),
            "--input-size".into(),
            L.to_string(),
            "--out".into(),
            out.display().to_string(),
            "--register".into(),
            name.into(),
            "--registry".into(),
            registry_dir.display().to_string(),
            "--quiet".into(),
        ];
        if name == "hybrid" {
            args.extend(
                [
                    "--max-steps",
                    "3",
                    "--windows-batch-size",
                    "64",
                    "--seasons",
                    "24",
                ]
                .map(String::from),
            );
        } else if e.neural {
            args.extend(["--max-steps", "3", "--windows-batch-size", "64"].map(String::from));
        } else {
            args.extend(["--season", "24", "--lags", "24"].map(String::from));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = nt(&args);
        assert!(
            o.status.success(),
            "nt train --model {name}: {}",
            stderr(&o)
        );
        let from_cli = load_dir(&out).unwrap();
        assert_eq!(
            from_cli.spec(),
            spec,
            "{name}: the CLI builds the same spec"
        );

        // From the registry: the same bits as the CLI's directory.
        let reg = Registry::open(&registry_dir).unwrap();
        let v = reg.get(name, nt_registry::VersionSelector::Latest).unwrap();
        assert_eq!(v.kind, spec.name(), "{name}");
        let from_reg = reg.load(name, v.version).unwrap();
        let c = from_cli.forecast(&window(history), H).unwrap();
        let d = from_reg.forecast(&window(history), H).unwrap();
        assert_eq!(c.point_values(), d.point_values(), "{name}: registry bits");
        reg.set_stage(name, v.version, Stage::Production).unwrap();

        // Served through the router from the registry: the same numbers.
        let state = AppState::new(
            Arc::new(RegistryStore::new(Arc::new(reg))),
            ServerConfig::default(),
        )
        .unwrap();
        state.refresh().await.unwrap();
        let router = app(state);
        let body = serde_json::json!({"history": {"values": history}, "horizon": H});
        let (status, text) = post(&router, &format!("/v1/models/{name}/predict"), body).await;
        assert_eq!(status, StatusCode::OK, "{name}: {text}");
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let served: Vec<f64> = serde_json::from_value(json["point"].clone()).unwrap();
        // Exact: the workspace's serde_json parses floats to the bits printed.
        assert_eq!(served.as_slice(), d.point_values(), "{name}: served point");
    }
}
