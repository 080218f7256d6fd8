//! Optimizer states of neural versions (warm-start retraining): stored as a content-addressed
//! blob at registration, checked on load, kept by gc while a version references it, copied by
//! backup, written back by export; versions without one (registered before, or imports) have
//! none.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::{seasonal_request, tiny_model_dir};
use nt_neural::checkpoint::sha256_hex;
use nt_neural::{OptimizerState, WarmStart};
use nt_registry::{Error, Registry, BLOBS_DIR};

const OPTIMIZER: &str = "optimizer.safetensors";

/// The optimizer sha256 recorded in a model directory's `model.json`.
fn optimizer_sha(dir: &Path) -> Option<String> {
    nt_models::read_manifest(dir).unwrap().optimizer_sha256
}

/// Removes the optimizer from a model directory, as directories written before it existed.
fn strip_optimizer(dir: &Path) {
    let path = dir.join("model.json");
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let obj = json.as_object_mut().unwrap();
    obj.remove("optimizer_file");
    obj.remove("optimizer_sha256");
    std::fs::write(&path, serde_json::to_vec(&json).unwrap()).unwrap();
    std::fs::remove_file(dir.join(OPTIMIZER)).unwrap();
}

#[test]
fn registered_optimizer_state_round_trips_through_blobs_and_export() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = Registry::open(tmp.path().join("reg")).unwrap();
    let m1 = tiny_model_dir(tmp.path(), 1);
    let sha = optimizer_sha(&m1).expect("training writes the optimizer state");
    let file = std::fs::read(m1.join(OPTIMIZER)).unwrap();
    assert_eq!(sha256_hex(&file), sha);
    let v1 = reg.register("m", &m1, seasonal_request()).unwrap();
    assert!(reg.dir().join(BLOBS_DIR).join(&sha).is_file());
    let bytes = reg.optimizer_state("m", v1.version).unwrap().unwrap();
    assert_eq!(bytes, file);
    let state = OptimizerState::from_bytes(&bytes, "blob", &nt_neural::default_device()).unwrap();
    assert_eq!(state.step, 2);

    // Export writes it back and records it; a warm start reads it from the directory.
    let out = tmp.path().join("exported");
    reg.export("m", v1.version, &out).unwrap();
    assert_eq!(std::fs::read(out.join(OPTIMIZER)).unwrap(), file);
    assert_eq!(optimizer_sha(&out), Some(sha.clone()));
    let ws = WarmStart::from_dir(&out).unwrap();
    assert_eq!(ws.optimizer.unwrap().step, 2);

    // Backup copies it.
    let backup = tmp.path().join("backup");
    reg.backup(&backup).unwrap();
    let copy = Registry::open(&backup).unwrap();
    assert_eq!(copy.optimizer_state("m", 1).unwrap().unwrap(), file);

    // gc keeps it while the version exists and removes it with the version.
    let r = reg.gc().unwrap();
    assert_eq!(r.removed_blobs, 0);
    assert_eq!(r.kept_blobs, 2, "the weights and the optimizer state");
    reg.delete("m", v1.version, false).unwrap();
    let r = reg.gc().unwrap();
    assert_eq!(r.removed_blobs, 2);
    assert!(!reg.dir().join(BLOBS_DIR).join(&sha).exists());
}

#[test]
fn a_damaged_optimizer_blob_or_file_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = Registry::open(tmp.path().join("reg")).unwrap();
    let m1 = tiny_model_dir(tmp.path(), 1);
    let sha = optimizer_sha(&m1).unwrap();
    reg.register("m", &m1, seasonal_request()).unwrap();
    let blob = reg.dir().join(BLOBS_DIR).join(&sha);
    let mut bytes = std::fs::read(&blob).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&blob, &bytes).unwrap();
    match reg.optimizer_state("m", 1) {
        Err(Error::Corrupt { expected, .. }) => assert_eq!(expected, sha),
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert!(matches!(
        reg.export("m", 1, &tmp.path().join("out")),
        Err(Error::Corrupt { .. })
    ));

    // A model directory whose optimizer file differs from its manifest is not registered.
    let m2 = tiny_model_dir(tmp.path(), 2);
    std::fs::write(m2.join(OPTIMIZER), b"not the file model.json names").unwrap();
    let err = reg.register("m", &m2, seasonal_request()).unwrap_err();
    assert!(
        matches!(&err, Error::Corrupt { path, .. } if path.contains(OPTIMIZER)),
        "{err}"
    );
}

#[test]
fn versions_without_optimizer_state_have_none() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = Registry::open(tmp.path().join("reg")).unwrap();
    let m1 = tiny_model_dir(tmp.path(), 1);
    strip_optimizer(&m1);
    let v = reg.register("old", &m1, seasonal_request()).unwrap();
    assert_eq!(reg.optimizer_state("old", v.version).unwrap(), None);
    let out = tmp.path().join("exported");
    reg.export("old", v.version, &out).unwrap();
    assert!(!out.join(OPTIMIZER).exists());
    assert_eq!(optimizer_sha(&out), None);
    assert!(WarmStart::from_dir(&out).unwrap().optimizer.is_none());
    assert_eq!(reg.gc().unwrap().kept_blobs, 1);
    // Unknown versions are not found.
    assert!(reg.optimizer_state("old", 9).unwrap_err().is_not_found());
}
