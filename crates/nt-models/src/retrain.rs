//! Retraining a saved model on new data: a neural model continues from its weights and optimizer
//! state (`nt_neural::warm_start`), a classical one refits (it has no weights to continue).

use std::path::Path;

use nt_core::TimeSeries;
use nt_neural::{TrainConfig, TrainOptions, TrainProgress, WarmStart};

use crate::train::{train, Trained};
use crate::{read_manifest, ModelSpec, Result};

/// How [`train_from`] produced the new model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Retraining {
    /// A neural model continued from the parent's weights.
    WarmStart {
        /// Whether Adam's moments came from the parent (else fresh moments: the parent was
        /// saved without its optimizer state).
        restored_moments: bool,
    },
    /// A classical model fitted again on the new data.
    Refit,
}

/// Retrains the model saved in `parent_dir` on `series`' columns `targets`: a neural model
/// warm-starts from the parent's weights and, when the directory has it, its optimizer state
/// (sha256 checked), with the training settings `train` (the parent's when `None`; the
/// architecture is always the parent's), taking `train.max_steps` new steps; a classical model
/// refits its spec (`train` does not apply). Returns the new model (saved to `opts.out_dir` when
/// given), how it was made, and the spec it was trained with.
///
/// Guarantees: the same parent, data, targets and steps give the same model (bit-identical
/// weights on the same machine and thread count). `opts.warm_start` is replaced.
pub fn train_from(
    parent_dir: &Path,
    series: &TimeSeries,
    targets: &[&str],
    train_config: Option<&TrainConfig>,
    opts: &TrainOptions,
    progress: &mut dyn FnMut(&TrainProgress),
) -> Result<(Trained, Retraining, ModelSpec)> {
    let manifest = read_manifest(parent_dir)?;
    match &manifest.spec {
        ModelSpec::Neural(parent) => {
            let mut spec = parent.clone();
            if let Some(t) = train_config {
                *spec.train_config_mut() = t.clone();
            }
            let ws = WarmStart::from_dir(parent_dir)?;
            let restored_moments = ws.optimizer.is_some();
            let opts = TrainOptions {
                warm_start: Some(ws),
                ..opts.clone()
            };
            let spec = ModelSpec::Neural(spec);
            let trained = train(series, targets, &spec, &opts, progress)?;
            Ok((trained, Retraining::WarmStart { restored_moments }, spec))
        }
        // Calibrated intervals: the base retrains as above, then the intervals are calibrated
        // again on the new data (warm start included: the options pass through).
        ModelSpec::Calibrated(c) if c.base.as_neural().is_some() => {
            let mut spec = (**c).clone();
            if let (Some(t), ModelSpec::Neural(n)) = (train_config, &mut spec.base) {
                *n.train_config_mut() = t.clone();
            }
            let ws = calibrated_warm_start(parent_dir, &manifest)?;
            let restored_moments = ws.optimizer.is_some();
            let opts = TrainOptions {
                warm_start: Some(ws),
                ..opts.clone()
            };
            let spec = ModelSpec::Calibrated(Box::new(spec));
            let trained = train(series, targets, &spec, &opts, progress)?;
            Ok((trained, Retraining::WarmStart { restored_moments }, spec))
        }
        // A hybrid retrains its neural part from scratch on the new data's adjusted series (with
        // `train` over the parent's training settings): the decomposition of new data moves
        // the adjusted series the parent's weights were fitted to.
        ModelSpec::Hybrid(h) => {
            let mut spec = (**h).clone();
            if let Some(t) = train_config {
                *spec.neural.train_config_mut() = t.clone();
            }
            let opts = TrainOptions {
                warm_start: None,
                ..opts.clone()
            };
            let spec = ModelSpec::Hybrid(Box::new(spec));
            let trained = train(series, targets, &spec, &opts, progress)?;
            Ok((trained, Retraining::Refit, spec))
        }
        // An ensemble refits every member from scratch (no warm start per member).
        ModelSpec::Classical(_) | ModelSpec::Calibrated(_) | ModelSpec::Ensemble(_) => {
            let opts = TrainOptions {
                warm_start: None,
                ..opts.clone()
            };
            let trained = train(series, targets, &manifest.spec, &opts, progress)?;
            Ok((trained, Retraining::Refit, manifest.spec.clone()))
        }
    }
}

/// The warm start of a neural model with calibrated intervals: its `model.json` holds the
/// calibrated spec, which `WarmStart::from_dir` (neural manifests only) cannot read, so the
/// parent is loaded here and its optimizer file checked against the manifest's sha256.
fn calibrated_warm_start(parent_dir: &Path, manifest: &crate::Manifest) -> Result<WarmStart> {
    let parent = crate::load_dir(parent_dir)?;
    let neural = parent
        .as_neural()
        .ok_or_else(|| crate::Error::model_dir(parent_dir.display().to_string(), "not neural"))?;
    let optimizer = match (&manifest.optimizer_file, &manifest.optimizer_sha256) {
        (Some(file), Some(sha)) => {
            let path = parent_dir.join(file);
            let bytes = std::fs::read(&path).map_err(|e| crate::Error::Io {
                path: path.display().to_string(),
                source: e,
            })?;
            let got = nt_neural::checkpoint::sha256_hex(&bytes);
            if &got != sha {
                return Err(crate::Error::model_dir(
                    path.display().to_string(),
                    format!("sha256 is {got}, model.json records {sha}"),
                ));
            }
            Some(nt_neural::OptimizerState::from_bytes(
                &bytes,
                &path.display().to_string(),
                &nt_neural::default_device(),
            )?)
        }
        _ => None,
    };
    Ok(WarmStart::from_model(neural, optimizer))
}
