//! Every route of the HTTP API with an arbitrary body: the first input byte picks the route
//! from `nt_server::route_rules()` (modulo their number, so a new route is fuzzed without
//! touching this file), the rest is the body, sent with the API key (so write routes parse it
//! too) and `content-type: application/json` through `app(..).oneshot(..)`.
//!
//! The server is one app built once per process over a real registry in a scratch directory:
//! model `m` (a tiny NHITS, versions 1 in production and 2 in staging) and a collection
//! `notes` of dimension 3 holding document `0a`. Path parameters are filled with those names:
//! `{name}` = `m`, `{c}` = `notes`, `{id}` = `0a`. Inputs may change that state (insert,
//! delete, promote), as clients would.
//!
//! A crash is a panic, a 5xx answer (every malformed body is the client's fault, and a panic
//! in a handler comes back as a 500), or an error answer that is not the JSON error body.
#![no_main]

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use libfuzzer_sys::fuzz_target;
use nt_core::TimeSeries;
use nt_neural::{train, Loss, NeuralSpec, NhitsConfig, TrainConfig, TrainOptions};
use nt_registry::{CollectionSpec, Document, RegisterRequest, Registry, Stage};
use nt_server::{app, AppState, RegistryStore, ServerConfig};
use tower::ServiceExt;

/// The key the fuzzed requests present.
const KEY: &str = "fuzz-key-0123456789";

struct Harness {
    rt: tokio::runtime::Runtime,
    app: Router,
    /// `(method, uri)` of every route, path parameters filled in.
    routes: Vec<(&'static str, String)>,
    /// `NT_FUZZ_VERBOSE` set: print each request's route and answer (to check the seeds).
    verbose: bool,
    _dir: tempfile::TempDir,
}

/// A tiny NHITS (input 24, horizon 6, 2 training steps) on a sine: fast to train and to run.
fn tiny_model(seed: u64) -> nt_neural::NeuralModel {
    let values = (0..120).map(|t| 10.0 + (t as f64 / 5.0).sin()).collect();
    let series = TimeSeries::from_values("y", values);
    let spec = NeuralSpec::Nhits(NhitsConfig {
        input_size: 24,
        horizon: 6,
        mlp_units: vec![[16, 16]; 3],
        train: TrainConfig {
            max_steps: 2,
            windows_batch_size: 8,
            seed,
            loss: Loss::Mae,
            ..TrainConfig::default()
        },
        ..NhitsConfig::default()
    });
    train(
        &series,
        &["y"],
        &spec,
        &TrainOptions::default(),
        &mut |_| {},
    )
    .expect("train the fuzz model")
    .model
}

fn harness() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("nt-fuzz-http-")
            .tempdir_in("/dev/shm")
            .or_else(|_| tempfile::tempdir())
            .expect("a scratch directory");
        let reg = Registry::open(dir.path().join("reg")).expect("open the registry");
        for (seed, stage) in [(1, Stage::Production), (2, Stage::Staging)] {
            let mdir = dir.path().join(format!("model{seed}"));
            tiny_model(seed).save(&mdir).expect("save the fuzz model");
            let req = RegisterRequest {
                stage,
                ..RegisterRequest::default()
            };
            reg.register("m", &mdir, req)
                .expect("register the fuzz model");
        }
        let spec = CollectionSpec {
            name: "notes".into(),
            dimension: 3,
            index_type: "hnsw".into(),
            metadata_schema: None,
        };
        reg.create_collection(&spec).expect("create the collection");
        let doc = Document {
            id: "0a".into(),
            embedding: vec![1.0, 0.0, 0.0],
            metadata: Some(serde_json::json!({"kind": "a", "n": 1})),
        };
        reg.insert("notes", &doc).expect("insert a document");
        let config = ServerConfig {
            api_key: Some(KEY.into()),
            compute_threads: 1,
            ..ServerConfig::default()
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let store = Arc::new(RegistryStore::new(Arc::new(reg)));
        let state = AppState::new(store, config).expect("the app state");
        rt.block_on(state.refresh())
            .expect("load the production model");
        let routes = nt_server::route_rules()
            .into_iter()
            .map(|r| {
                let uri = r
                    .path
                    .replace("{name}", "m")
                    .replace("{c}", "notes")
                    .replace("{id}", "0a");
                (r.method, uri)
            })
            .collect();
        Harness {
            rt,
            app: app(state),
            routes,
            verbose: std::env::var_os("NT_FUZZ_VERBOSE").is_some(),
            _dir: dir,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let h = harness();
    let (method, uri) = &h.routes[usize::from(pick) % h.routes.len()];
    let req = Request::builder()
        .method(*method)
        .uri(uri.as_str())
        .header("content-type", "application/json")
        .header("x-api-key", KEY)
        .body(Body::from(body.to_vec()))
        .expect("a request");
    let (status, bytes) = h.rt.block_on(async {
        let resp = h
            .app
            .clone()
            .oneshot(req)
            .await
            .expect("the router is infallible");
        let status = resp.status();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .expect("read the body")
            .to_bytes();
        (status, bytes)
    });
    let text = String::from_utf8_lossy(&bytes);
    if h.verbose {
        eprintln!(
            "{method} {uri} -> {status}: {}",
            &text[..text.len().min(200)]
        );
    }
    assert!(
        !status.is_server_error(),
        "{method} {uri} answered {status}: {text}\nbody sent: {:?}",
        String::from_utf8_lossy(body)
    );
    if !status.is_success() {
        let json: serde_json::Value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("{method} {uri} {status}: not JSON ({e}): {text}"));
        assert!(
            json["error"]["code"].is_string() && json["error"]["message"].is_string(),
            "{method} {uri} {status}: not the error body: {text}"
        );
        assert_ne!(
            status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {uri}: route table wrong"
        );
    }
});
