//! Model directories written by the previous release keep loading and forecasting the same
//! numbers. The fixture `tests/fixtures/legacy_v1/` was written by `nt` at commit aa85e55
//! (format version 1, the spec nested as `{"model": "nhits", "config": {...}}`):
//! `nt train --data series.csv --model nhits --input-size 24 --horizon 6 --config spec.json
//! --max-steps 5 --out model-v1` and `nt predict --model model-v1 --data series.csv`, whose
//! point forecast is `predict-v1.json`.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use nt_core::{Horizon, Predict};
use nt_models::{load_dir, read_manifest, ModelSpec};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/legacy_v1")
        .join(name)
}

#[test]
fn a_format_1_model_directory_loads_and_predicts_the_same_bits() {
    let manifest = read_manifest(&fixture("model-v1")).unwrap();
    assert_eq!(manifest.format_version, 1);
    assert!(matches!(manifest.spec, ModelSpec::Neural(_)));
    let model = load_dir(&fixture("model-v1")).unwrap();
    assert_eq!(
        (model.name(), model.min_history(), model.max_horizon()),
        ("nhits", 24, Some(6))
    );
    let series = nt_data::load(&fixture("series.csv"), &nt_data::LoadOptions::default()).unwrap();
    let f = (*model).predict(&series, Horizon::new(6).unwrap()).unwrap();
    let expected: Vec<f64> =
        serde_json::from_slice(&std::fs::read(fixture("predict-v1.json")).unwrap()).unwrap();
    assert_eq!(f.point_values(), expected.as_slice());
}

#[test]
fn a_resaved_legacy_model_is_written_flat_as_format_2_and_predicts_the_same() {
    let model = load_dir(&fixture("model-v1")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    model.save(dir.path()).unwrap();
    let text = std::fs::read_to_string(dir.path().join("model.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["format_version"], 2);
    assert_eq!(json["spec"]["model"], "nhits");
    assert!(json["spec"].get("config").is_none(), "{}", json["spec"]);
    assert_eq!(json["spec"]["input_size"], 24);
    let again = load_dir(dir.path()).unwrap();
    let series = nt_data::load(&fixture("series.csv"), &nt_data::LoadOptions::default()).unwrap();
    let h = Horizon::new(6).unwrap();
    assert_eq!(
        (*model).predict(&series, h).unwrap().point_values(),
        (*again).predict(&series, h).unwrap().point_values()
    );
}
