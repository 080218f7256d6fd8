//! Warm starts: continuing a trained model's training on new data.
//!
//! Every training run that writes a model directory also writes the optimizer's final state as
//! `optimizer.safetensors` ([`OPTIMIZER_FILE`]): Adam's first and second moments, named
//! `adam.m.NAME` and `adam.v.NAME` after each weight as in a resumable checkpoint, with the
//! optimizer kind and its step count in the file's metadata. `model.json` records the file and
//! its sha256 (`optimizer_file`, `optimizer_sha256`); loading a model for inference ignores it.
//! Under early stopping the weights saved are the best check's while the moments are those of
//! the last step taken (the state the optimizer was in when training ended).
//!
//! A [`WarmStart`] in [`crate::TrainOptions`] makes [`crate::train`] start from the parent's
//! weights instead of the random initialization (the architecture must be the parent's: a
//! different size is an error naming the field), restore Adam's moments and step count when the
//! parent's optimizer state is given (fresh zero moments otherwise, which the report says), and
//! take `train.max_steps` new steps on the new data. What restarts: the step counter of the
//! loop, so the learning-rate schedule runs again over the new budget, the window sampler's
//! random stream, early stopping and the training log. Scalers are per window (see
//! [`crate::scalers`]): no statistic is carried over from the parent's data.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor, Var};
use serde::{Deserialize, Serialize};

use crate::arch::NeuralSpec;
use crate::checkpoint::{read_manifest, sha256_hex};
use crate::config::Optimizer;
use crate::model::NeuralModel;
use crate::{Error, Result};

/// The optimizer file of a model directory.
pub const OPTIMIZER_FILE: &str = "optimizer.safetensors";
/// The `format` metadata value of an optimizer file this crate writes and reads.
pub const OPTIMIZER_FORMAT: &str = "nt-optimizer-1";

/// Adam's state at the end of a training run: which optimizer, how many updates it made (its
/// bias correction continues from there) and both moments of every weight.
#[derive(Debug, Clone)]
pub struct OptimizerState {
    /// Adam or AdamW.
    pub kind: Optimizer,
    /// Updates applied so far (Adam's `t`).
    pub step: usize,
    /// `adam.m.NAME` and `adam.v.NAME` for every weight `NAME`, in name order.
    pub tensors: Vec<(String, Tensor)>,
}

impl PartialEq for OptimizerState {
    /// Same kind, step, tensor names, shapes and bits.
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
            && self.step == other.step
            && same_tensors(&self.tensors, &other.tensors)
    }
}

fn same_tensors(a: &[(String, Tensor)], b: &[(String, Tensor)]) -> bool {
    let bits = |t: &Tensor| -> Option<Vec<u32>> {
        let v: Vec<f32> = t.flatten_all().ok()?.to_vec1().ok()?;
        Some(v.iter().map(|x| x.to_bits()).collect())
    };
    a.len() == b.len()
        && a.iter().zip(b).all(|((na, ta), (nb, tb))| {
            na == nb && ta.dims() == tb.dims() && bits(ta).is_some() && bits(ta) == bits(tb)
        })
}

impl OptimizerState {
    /// The file's bytes: a safetensors file of the moments with `format`, `optimizer` and
    /// `step` in its metadata.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let cpu: Vec<(String, Tensor)> = self
            .tensors
            .iter()
            .map(|(n, t)| Ok((n.clone(), t.to_device(&Device::Cpu)?.contiguous()?)))
            .collect::<Result<_>>()?;
        let kind = serde_json::to_value(self.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| "adam".into());
        let meta = HashMap::from([
            ("format".to_string(), OPTIMIZER_FORMAT.to_string()),
            ("optimizer".to_string(), kind),
            ("step".to_string(), self.step.to_string()),
        ]);
        safetensors::serialize(cpu.iter().map(|(n, t)| (n.as_str(), t)), Some(meta)).map_err(|e| {
            Error::Checkpoint {
                path: OPTIMIZER_FILE.into(),
                reason: format!("cannot serialize the optimizer state: {e}"),
            }
        })
    }

    /// Reads an optimizer file's bytes (`source` names it in errors), onto `device`.
    pub fn from_bytes(bytes: &[u8], source: &str, device: &Device) -> Result<Self> {
        let bad = |reason: String| Error::Checkpoint {
            path: source.to_string(),
            reason,
        };
        let (_, header) = safetensors::SafeTensors::read_metadata(bytes)
            .map_err(|e| bad(format!("not a safetensors file: {e}")))?;
        let meta = header.metadata().clone().unwrap_or_default();
        match meta.get("format").map(String::as_str) {
            Some(OPTIMIZER_FORMAT) => {}
            other => {
                return Err(bad(format!(
                    "metadata `format` is {other:?}, expected \"{OPTIMIZER_FORMAT}\""
                )))
            }
        }
        let kind: Optimizer = meta
            .get("optimizer")
            .and_then(|k| serde_json::from_value(serde_json::Value::String(k.clone())).ok())
            .ok_or_else(|| {
                bad(format!(
                    "metadata `optimizer` is {:?}, expected \"adam\" or \"adam_w\"",
                    meta.get("optimizer")
                ))
            })?;
        let step = meta
            .get("step")
            .and_then(|s| s.parse::<usize>().ok())
            .ok_or_else(|| {
                bad(format!(
                    "metadata `step` is {:?}, expected a step count",
                    meta.get("step")
                ))
            })?;
        let mut tensors: Vec<(String, Tensor)> =
            candle_core::safetensors::load_buffer(bytes, device)?
                .into_iter()
                .collect();
        tensors.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(Self {
            kind,
            step,
            tensors,
        })
    }

    /// Reads the optimizer file a model directory's `model.json` names, checking its sha256
    /// against the manifest's; `None` when the manifest names none (directories written
    /// before optimizer files existed, imports).
    pub fn read_dir(dir: &Path, device: &Device) -> Result<Option<Self>> {
        let manifest = read_manifest(dir)?;
        let (Some(file), Some(sha)) = (manifest.optimizer_file, manifest.optimizer_sha256) else {
            return Ok(None);
        };
        let path = dir.join(&file);
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        let got = sha256_hex(&bytes);
        if got != sha {
            return Err(Error::Checkpoint {
                path: path.display().to_string(),
                reason: format!("sha256 is {got}, model.json records {sha}"),
            });
        }
        Self::from_bytes(&bytes, &path.display().to_string(), device).map(Some)
    }
}

/// Where a warm-started run begins: the parent model (its spec and weights) and, when it was
/// saved, its optimizer state.
#[derive(Debug, Clone)]
pub struct WarmStart {
    /// The parent's spec (its architecture must equal the run's).
    pub parent_spec: NeuralSpec,
    /// The parent's weights by name.
    pub weights: Vec<(String, Tensor)>,
    /// The parent's optimizer state; `None` warm-starts with fresh (zero) moments.
    pub optimizer: Option<OptimizerState>,
}

impl PartialEq for WarmStart {
    /// Same parent spec, weights (bits) and optimizer state.
    fn eq(&self, other: &Self) -> bool {
        self.parent_spec == other.parent_spec
            && same_tensors(&self.weights, &other.weights)
            && self.optimizer == other.optimizer
    }
}

impl WarmStart {
    /// From a loaded parent and its optimizer state.
    pub fn from_model(parent: &NeuralModel, optimizer: Option<OptimizerState>) -> Self {
        Self {
            parent_spec: parent.spec().clone(),
            weights: parent.weights().to_vec(),
            optimizer,
        }
    }

    /// From a model directory: its weights (sha256 checked, see [`crate::load`]) and, when
    /// `model.json` names one, its optimizer file (sha256 checked too).
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let parent = crate::load(dir)?;
        let optimizer = OptimizerState::read_dir(dir, &crate::model::default_device())?;
        Ok(Self::from_model(&parent, optimizer))
    }
}

/// How a warm-started run began, in its [`crate::TrainReport`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarmStartInfo {
    /// Whether Adam's moments and step count came from the parent (else fresh zero moments).
    pub restored_moments: bool,
    /// The parent optimizer's step count, when restored.
    pub parent_optimizer_steps: Option<usize>,
    /// One sentence for people: what was restored and what restarted.
    pub note: String,
}

/// Refuses a run whose architecture is not the parent's, naming the first field that differs
/// (training settings under `train` may differ).
pub fn check_same_architecture(parent: &NeuralSpec, child: &NeuralSpec) -> Result<()> {
    let strip = |s: &NeuralSpec| -> Result<serde_json::Map<String, serde_json::Value>> {
        let v = serde_json::to_value(s).map_err(|e| Error::Json {
            path: "spec".into(),
            source: e,
        })?;
        let mut m = match v {
            serde_json::Value::Object(m) => m,
            _ => serde_json::Map::new(),
        };
        m.remove("train");
        Ok(m)
    };
    let (p, c) = (strip(parent)?, strip(child)?);
    if parent.name() != child.name() {
        return Err(Error::invalid(
            "model",
            format!(
                "a warm start continues the parent's architecture: the parent is {}, this run asks for {}",
                parent.name(),
                child.name()
            ),
        ));
    }
    let mut keys: Vec<&String> = p.keys().chain(c.keys()).collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        let (a, b) = (p.get(k), c.get(k));
        if a != b {
            let show =
                |v: Option<&serde_json::Value>| v.map_or("(absent)".to_string(), |v| v.to_string());
            return Err(Error::invalid(
                k.as_str(),
                format!(
                    "a warm start needs the parent's architecture: the parent has {}, this run {}",
                    show(a),
                    show(b)
                ),
            ));
        }
    }
    Ok(())
}

/// Sets every variable of the new network to the parent's weight of the same name and shape.
pub(crate) fn load_parent_weights(ws: &WarmStart, vars: &[(String, Var)]) -> Result<()> {
    let by_name: HashMap<&str, &Tensor> = ws.weights.iter().map(|(n, t)| (n.as_str(), t)).collect();
    for (name, var) in vars {
        let t = by_name
            .get(name.as_str())
            .ok_or_else(|| Error::Checkpoint {
                path: "parent weights".into(),
                reason: format!("missing tensor `{name}`"),
            })?;
        if t.dims() != var.as_tensor().dims() {
            return Err(Error::Checkpoint {
                path: "parent weights".into(),
                reason: format!(
                    "tensor `{name}` has shape {:?}, the network needs {:?}",
                    t.dims(),
                    var.as_tensor().dims()
                ),
            });
        }
        var.set(&t.to_dtype(var.dtype())?.to_device(var.device())?)?;
    }
    Ok(())
}

/// The report's account of a warm start that restored (or did not restore) the moments.
pub(crate) fn info(ws: &WarmStart, max_steps: usize) -> WarmStartInfo {
    match &ws.optimizer {
        Some(o) => WarmStartInfo {
            restored_moments: true,
            parent_optimizer_steps: Some(o.step),
            note: format!(
                "warm start: weights and Adam's moments restored from the parent (its optimizer had taken {} steps); {max_steps} new steps, the learning-rate schedule restarted over them",
                o.step
            ),
        },
        None => WarmStartInfo {
            restored_moments: false,
            parent_optimizer_steps: None,
            note: format!(
                "warm start: weights restored from the parent; it has no saved optimizer state, so Adam starts with fresh moments; {max_steps} new steps, the learning-rate schedule restarted over them"
            ),
        },
    }
}
