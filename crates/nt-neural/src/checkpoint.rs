//! Model directories and training checkpoints on disk.
//!
//! A saved model is a directory with `model.json` ([`ModelManifest`]) and `weights.safetensors`,
//! whose sha256 the manifest records and [`load`] checks. A training checkpoint
//! (`checkpoint/` inside the model directory) holds `state.json` (step, RNG, early-stopping state,
//! spec, data fingerprint, sha256) and `state.safetensors` (weights, optimizer moments, best
//! weights). Every file is written to a temporary name, fsynced, then renamed, so a crash
//! (kill -9 included) leaves either the old file or the new one.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::arch::NeuralSpec;
use crate::model::NeuralModel;
use crate::trainer::{LogRecord, LoopState};
use crate::training::ModelMeta;
use crate::{Error, Result};

/// Version of the on-disk layout this crate writes: 2 stores the spec flat
/// (`{"model": "nhits", "input_size": ...}`).
pub const FORMAT_VERSION: u32 = 2;
/// Layout versions this crate reads: 1 (the spec as `{"model": ..., "config": {...}}`) and 2.
pub const READABLE_FORMATS: [u32; 2] = [1, 2];
const MODEL_JSON: &str = "model.json";
const WEIGHTS: &str = "weights.safetensors";
const STATE_JSON: &str = "state.json";
const STATE_TENSORS: &str = "state.safetensors";

/// The content of `model.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelManifest {
    /// Layout version ([`FORMAT_VERSION`]).
    pub format_version: u32,
    /// Version of `nt-neural` that wrote it.
    pub crate_version: String,
    /// UTC time of writing, RFC 3339.
    pub created_at: String,
    /// Model kind and hyper-parameters (scaler included: per-window scalers keep no state).
    pub spec: NeuralSpec,
    /// Columns the model was trained on.
    pub targets: Vec<String>,
    /// Training metadata: data fingerprint, rows, metrics, origin.
    pub meta: ModelMeta,
    /// Number of weights.
    pub params: usize,
    /// File name of the weights, relative to the directory.
    pub weights_file: String,
    /// Hex sha256 of the weights file.
    pub weights_sha256: String,
    /// File name of the optimizer's final state ([`crate::warm_start::OPTIMIZER_FILE`]), when
    /// saved (absent in directories written before optimizer files existed, and in imports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimizer_file: Option<String>,
    /// Hex sha256 of the optimizer file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimizer_sha256: Option<String>,
}

/// Hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Writes `bytes` to `path` atomically ([`nt_core::persist::write_atomic`]: a temporary file in
/// the same directory, fsync, rename, then fsync of the directory).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    nt_core::persist::write_atomic(path, bytes).map_err(|e| Error::io(path, e))
}

fn serialize_tensors(tensors: &[(String, Tensor)]) -> Result<Vec<u8>> {
    let cpu: Vec<(String, Tensor)> = tensors
        .iter()
        .map(|(n, t)| Ok((n.clone(), t.to_device(&Device::Cpu)?.contiguous()?)))
        .collect::<Result<_>>()?;
    safetensors::serialize(cpu.iter().map(|(n, t)| (n.as_str(), t)), None).map_err(|e| {
        Error::Checkpoint {
            path: "weights".into(),
            reason: format!("cannot serialize tensors: {e}"),
        }
    })
}

use nt_core::persist::now_rfc3339;

/// Saves `model` into `dir` (created if needed): weights first, then `model.json`, each atomically.
pub(crate) fn save_model(dir: &Path, model: &NeuralModel) -> Result<()> {
    save_model_with(dir, model, None)
}

/// [`save_model`] with the optimizer file's bytes, written beside the weights before
/// `model.json`, which records its sha256.
pub(crate) fn save_model_with(
    dir: &Path,
    model: &NeuralModel,
    optimizer: Option<&[u8]>,
) -> Result<()> {
    let bytes = serialize_tensors(model.weights())?;
    let manifest = ModelManifest {
        format_version: FORMAT_VERSION,
        crate_version: env!("CARGO_PKG_VERSION").into(),
        created_at: now_rfc3339(),
        spec: model.spec().clone(),
        targets: model.targets().to_vec(),
        meta: model.meta().clone(),
        params: model.weights().iter().map(|(_, t)| t.elem_count()).sum(),
        weights_file: WEIGHTS.into(),
        weights_sha256: sha256_hex(&bytes),
        optimizer_file: optimizer.map(|_| crate::warm_start::OPTIMIZER_FILE.to_string()),
        optimizer_sha256: optimizer.map(sha256_hex),
    };
    write_atomic(&dir.join(WEIGHTS), &bytes)?;
    if let Some(o) = optimizer {
        write_atomic(&dir.join(crate::warm_start::OPTIMIZER_FILE), o)?;
    }
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Json {
        path: dir.join(MODEL_JSON).display().to_string(),
        source: e,
    })?;
    write_atomic(&dir.join(MODEL_JSON), &json)
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Json {
        path: path.display().to_string(),
        source: e,
    })
}

/// Reads `model.json` from a model directory without loading the weights.
pub fn read_manifest(dir: &Path) -> Result<ModelManifest> {
    read_json(&dir.join(MODEL_JSON))
}

/// Loads a model directory written by [`NeuralModel::save`] (or [`crate::train`] with an
/// `out_dir`), refusing it when the layout version is unknown or the weights' sha256 differs from
/// the manifest's.
pub fn load(dir: &Path) -> Result<NeuralModel> {
    let manifest = read_manifest(dir)?;
    if !READABLE_FORMATS.contains(&manifest.format_version) {
        return Err(Error::Checkpoint {
            path: dir.display().to_string(),
            reason: format!(
                "format version {} is not one of the supported {READABLE_FORMATS:?}",
                manifest.format_version
            ),
        });
    }
    let wpath = dir.join(&manifest.weights_file);
    let bytes = std::fs::read(&wpath).map_err(|e| Error::io(&wpath, e))?;
    let got = sha256_hex(&bytes);
    if got != manifest.weights_sha256 {
        return Err(Error::Checkpoint {
            path: wpath.display().to_string(),
            reason: format!(
                "sha256 is {got}, model.json records {}",
                manifest.weights_sha256
            ),
        });
    }
    let device = crate::model::default_device();
    let tensors = candle_core::safetensors::load_buffer(&bytes, &device)?;
    NeuralModel::from_weights(
        manifest.spec,
        tensors,
        manifest.targets,
        manifest.meta,
        &device,
    )
    .map_err(|e| match e {
        Error::Checkpoint { reason, .. } => Error::Checkpoint {
            path: wpath.display().to_string(),
            reason,
        },
        other => other,
    })
}

/// Writes the training log as JSON lines (one [`LogRecord`] per line), atomically.
pub(crate) fn write_log(path: &Path, log: &[LogRecord]) -> Result<()> {
    let mut out = Vec::new();
    for r in log {
        let line = serde_json::to_string(r).map_err(|e| Error::Json {
            path: path.display().to_string(),
            source: e,
        })?;
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    write_atomic(path, &out)
}

pub(crate) fn remove_dir_if_exists(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(dir, e)),
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StateFile {
    format_version: u32,
    crate_version: String,
    spec: NeuralSpec,
    data_fingerprint: String,
    tensors_sha256: String,
    state: LoopState,
}

/// A resumable training state read from disk.
#[derive(Debug)]
pub(crate) struct TrainingCheckpoint {
    pub(crate) state: LoopState,
    pub(crate) tensors: HashMap<String, Tensor>,
    spec: NeuralSpec,
    fingerprint: String,
    path: PathBuf,
}

impl TrainingCheckpoint {
    /// Saves the state: tensors first, then `state.json` (which names their sha256), so a crash
    /// between the two leaves a `state.json` whose hash no longer matches and is refused.
    pub(crate) fn save(
        dir: &Path,
        spec: &NeuralSpec,
        fingerprint: &str,
        state: &LoopState,
        tensors: &[(String, Tensor)],
    ) -> Result<()> {
        let bytes = serialize_tensors(tensors)?;
        let file = StateFile {
            format_version: FORMAT_VERSION,
            crate_version: env!("CARGO_PKG_VERSION").into(),
            spec: spec.clone(),
            data_fingerprint: fingerprint.into(),
            tensors_sha256: sha256_hex(&bytes),
            state: state.clone(),
        };
        write_atomic(&dir.join(STATE_TENSORS), &bytes)?;
        let json = serde_json::to_vec(&file).map_err(|e| Error::Json {
            path: dir.join(STATE_JSON).display().to_string(),
            source: e,
        })?;
        write_atomic(&dir.join(STATE_JSON), &json)
    }

    /// Loads the checkpoint in `dir`, or `None` when there is none.
    pub(crate) fn load(dir: &Path, device: &Device) -> Result<Option<Self>> {
        let json_path = dir.join(STATE_JSON);
        if !json_path.exists() {
            return Ok(None);
        }
        let file: StateFile = read_json(&json_path)?;
        let tpath = dir.join(STATE_TENSORS);
        let bytes = std::fs::read(&tpath).map_err(|e| Error::io(&tpath, e))?;
        let got = sha256_hex(&bytes);
        if got != file.tensors_sha256 {
            return Err(Error::Checkpoint {
                path: tpath.display().to_string(),
                reason: format!(
                    "sha256 is {got}, state.json records {}",
                    file.tensors_sha256
                ),
            });
        }
        Ok(Some(Self {
            state: file.state,
            tensors: candle_core::safetensors::load_buffer(&bytes, device)?,
            spec: file.spec,
            fingerprint: file.data_fingerprint,
            path: dir.to_path_buf(),
        }))
    }

    /// Refuses a checkpoint written for another spec or other data.
    pub(crate) fn check_compatible(&self, spec: &NeuralSpec, fingerprint: &str) -> Result<()> {
        if &self.spec != spec {
            return Err(Error::Checkpoint {
                path: self.path.display().to_string(),
                reason: "it was written for a different model spec; resume with the same settings"
                    .into(),
            });
        }
        if self.fingerprint != fingerprint {
            return Err(Error::Checkpoint {
                path: self.path.display().to_string(),
                reason: "it was written for different training data".into(),
            });
        }
        Ok(())
    }
}
