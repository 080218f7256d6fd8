//! Model directories for every kind of model, in one place: `model.json` ([`Manifest`]) beside
//! the weights (`weights.safetensors`, neural) or the fitted state (`fitted.json`, classical),
//! whose sha256 the manifest records and every load checks. Files are written with
//! `nt_neural::checkpoint::write_atomic` (temporary file, fsync, rename, directory fsync), the
//! payload before the manifest, so a crash leaves the old directory or the new one.

use std::path::Path;
use std::sync::Arc;

use nt_classical::FittedClassical;
use nt_neural::checkpoint::{sha256_hex, write_atomic, FORMAT_VERSION, READABLE_FORMATS};
use nt_neural::{ModelMeta, NeuralModel};
use serde::{Deserialize, Serialize};

use crate::classical::ClassicalModel;
use crate::{Error, Forecaster, ModelSpec, Result};

/// The manifest file of a model directory.
pub const MODEL_JSON: &str = "model.json";
/// The fitted state of a classical model directory.
pub const FITTED_JSON: &str = "fitted.json";

/// The content of `model.json`, for any model kind (the neural crate writes the same shape).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Layout version: 1 (older neural directories) or 2.
    pub format_version: u32,
    /// Version of the crate that wrote it.
    pub crate_version: String,
    /// UTC time of writing, RFC 3339.
    pub created_at: String,
    /// The model and its hyper-parameters.
    pub spec: ModelSpec,
    /// Columns the model was trained on.
    pub targets: Vec<String>,
    /// Training metadata: data fingerprint, rows, metrics, origin.
    pub meta: ModelMeta,
    /// Number of weights (or fitted numbers).
    pub params: usize,
    /// File name of the weights or fitted state, relative to the directory.
    pub weights_file: String,
    /// Hex sha256 of that file.
    pub weights_sha256: String,
    /// File name of a neural model's final optimizer state (`optimizer.safetensors`), when
    /// saved; see `nt_neural::warm_start`. Absent in older directories and classical ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimizer_file: Option<String>,
    /// Hex sha256 of the optimizer file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimizer_sha256: Option<String>,
    /// The calibration of a model with calibrated intervals (`spec` is
    /// [`ModelSpec::Calibrated`]); absent for every other model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<crate::intervals::conformal::Calibration>,
}

/// Writes a model directory: `payload` as `file`, then `model.json`, each atomically.
pub(crate) fn write_model_dir(
    dir: &Path,
    spec: &ModelSpec,
    targets: &[String],
    meta: &ModelMeta,
    params: usize,
    file: &str,
    payload: &[u8],
) -> Result<()> {
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        crate_version: env!("CARGO_PKG_VERSION").into(),
        created_at: nt_core::persist::now_rfc3339(),
        spec: spec.clone(),
        targets: targets.to_vec(),
        meta: meta.clone(),
        params,
        weights_file: file.into(),
        weights_sha256: sha256_hex(payload),
        optimizer_file: None,
        optimizer_sha256: None,
        calibration: None,
    };
    write_atomic(&dir.join(file), payload)?;
    let json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| Error::model_dir(dir.display().to_string(), e.to_string()))?;
    write_atomic(&dir.join(MODEL_JSON), &json)?;
    Ok(())
}

/// Reads and checks `model.json` of a model directory (without the weights).
pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    let path = dir.join(MODEL_JSON);
    let bytes = std::fs::read(&path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| {
        Error::model_dir(
            path.display().to_string(),
            format!("line {} column {}: {e}", e.line(), e.column()),
        )
    })?;
    if !READABLE_FORMATS.contains(&manifest.format_version) {
        return Err(Error::model_dir(
            path.display().to_string(),
            format!(
                "format version {} is not one of the supported {READABLE_FORMATS:?}",
                manifest.format_version
            ),
        ));
    }
    Ok(manifest)
}

/// Loads a model directory of any kind, checking the payload's sha256 against the manifest's.
pub fn load_dir(dir: &Path) -> Result<Box<dyn Forecaster>> {
    let manifest = read_manifest(dir)?;
    let path = dir.join(&manifest.weights_file);
    let bytes = std::fs::read(&path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    let got = sha256_hex(&bytes);
    if got != manifest.weights_sha256 {
        return Err(Error::model_dir(
            path.display().to_string(),
            format!(
                "sha256 is {got}, model.json records {}",
                manifest.weights_sha256
            ),
        ));
    }
    from_parts(&manifest, &bytes).map_err(|e| match e {
        Error::ModelDir { reason, .. } => Error::model_dir(path.display().to_string(), reason),
        other => other,
    })
}

/// [`load_dir`] behind an `Arc`.
pub fn load_shared(dir: &Path) -> Result<Arc<dyn Forecaster>> {
    Ok(Arc::from(load_dir(dir)?))
}

/// Builds a model from its manifest and its (already verified) payload bytes: what a registry
/// that stores the two apart calls.
pub fn from_parts(manifest: &Manifest, payload: &[u8]) -> Result<Box<dyn Forecaster>> {
    match &manifest.spec {
        ModelSpec::Calibrated(spec) => {
            let calibration = manifest.calibration.clone().ok_or_else(|| {
                Error::model_dir(
                    MODEL_JSON,
                    "the spec has calibrated intervals but the manifest no `calibration`",
                )
            })?;
            let base_manifest = Manifest {
                spec: spec.base.clone(),
                calibration: None,
                ..manifest.clone()
            };
            let base = from_parts(&base_manifest, payload)?;
            Ok(Box::new(crate::calibrated::CalibratedModel::new(
                (**spec).clone(),
                base,
                calibration,
            )?))
        }
        ModelSpec::Ensemble(spec) => crate::ensemble::persist::load(spec, manifest, payload),
        ModelSpec::Hybrid(spec) => {
            // The payload is the neural part's weights; the decomposition has no fitted state.
            let neural = neural_from_parts(&spec.neural, manifest, payload)?;
            Ok(Box::new(crate::hybrid::HybridModel::new(
                (**spec).clone(),
                neural,
            )?))
        }
        ModelSpec::Neural(spec) => Ok(Box::new(neural_from_parts(spec, manifest, payload)?)),
        ModelSpec::Classical(spec) => {
            let fitted: FittedClassical = serde_json::from_slice(payload)
                .map_err(|e| Error::model_dir(FITTED_JSON, e.to_string()))?;
            if fitted_name(&fitted) != spec.name() {
                return Err(Error::model_dir(
                    FITTED_JSON,
                    format!(
                        "holds a fitted {} but the spec is {}",
                        fitted_name(&fitted),
                        spec.name()
                    ),
                ));
            }
            let target = manifest
                .targets
                .first()
                .cloned()
                .ok_or_else(|| Error::model_dir(MODEL_JSON, "no target column"))?;
            Ok(Box::new(ClassicalModel::from_parts(
                spec.clone(),
                fitted,
                target,
                manifest.meta.clone(),
            )))
        }
    }
}

/// The neural model of `spec` from its safetensors `payload` and `manifest`'s targets and meta.
fn neural_from_parts(
    spec: &nt_neural::NeuralSpec,
    manifest: &Manifest,
    payload: &[u8],
) -> Result<NeuralModel> {
    let device = nt_neural::default_device();
    let tensors = candle_core::safetensors::load_buffer(payload, &device)
        .map_err(|e| Error::model_dir("weights", e.to_string()))?;
    Ok(NeuralModel::from_weights(
        spec.clone(),
        tensors,
        manifest.targets.clone(),
        manifest.meta.clone(),
        &device,
    )?)
}

/// The `model` tag of a fitted classical state.
fn fitted_name(f: &FittedClassical) -> String {
    serde_json::to_value(f)
        .ok()
        .and_then(|v| v.get("model").and_then(|m| m.as_str()).map(str::to_string))
        .unwrap_or_default()
}
