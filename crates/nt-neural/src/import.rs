//! [`import_neuralforecast`]: a neuralforecast `state_dict` (safetensors) as a model.

use std::path::Path;

use crate::arch::NeuralSpec;
use crate::model::{default_device, NeuralModel};
use crate::training::ModelMeta;
use crate::{Error, Result};

/// Loads a neuralforecast NHITS or NBEATS `state_dict` saved as safetensors (`weights`) into our
/// model built from `spec` (which must describe the same architecture: sizes, stacks, dropout,
/// the loss's number of outputs). Tensors outside `blocks.*.layers.*` are ignored; a missing,
/// misshapen or unexpected layer tensor is an error. The model forecasts column `y` or a
/// history's only column.
pub fn import_neuralforecast(weights: &Path, spec: &NeuralSpec) -> Result<NeuralModel> {
    let bytes = std::fs::read(weights).map_err(|e| Error::io(weights, e))?;
    let device = default_device();
    let tensors = candle_core::safetensors::load_buffer(&bytes, &device)?;
    let meta = ModelMeta {
        origin: "neuralforecast".into(),
        ..ModelMeta::default()
    };
    NeuralModel::from_weights(spec.clone(), tensors, vec!["y".into()], meta, &device).map_err(|e| {
        match e {
            Error::Checkpoint { reason, .. } => Error::Checkpoint {
                path: weights.display().to_string(),
                reason,
            },
            other => other,
        }
    })
}
