//! Training flags shared by `nt train` and `nt backtest`, turned into a validated `NeuralSpec`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use nt_neural::{Loss, NBeatsConfig, NeuralSpec, NhitsConfig, Optimizer, ScalerType, TrainConfig};

use crate::exit::UsageError;

/// The neural model names the CLI knows.
pub(crate) const NEURAL_NAMES: &[&str] = &["nhits", "nbeats", "nbeats-interpretable"];

/// How to train a neural model. Unset flags keep the value from `--config` or the model's default
/// (neuralforecast's, e.g. Adam at lr 1e-3, MAE loss, 1024 windows per step).
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct NeuralFlags {
    /// A JSON model spec (`{"model": "nhits", "config": {...}}`) to start from; flags override it.
    #[arg(long, value_name = "FILE.json")]
    pub(crate) config: Option<PathBuf>,
    /// Optimizer steps.
    #[arg(long, value_name = "N")]
    pub(crate) max_steps: Option<usize>,
    /// Series sampled per step.
    #[arg(long, value_name = "B")]
    pub(crate) batch_size: Option<usize>,
    /// Windows sampled per step.
    #[arg(long, value_name = "W")]
    pub(crate) windows_batch_size: Option<usize>,
    /// Initial learning rate.
    #[arg(long, value_name = "X")]
    pub(crate) lr: Option<f64>,
    /// adam or adamw.
    #[arg(long, value_name = "NAME")]
    pub(crate) optimizer: Option<String>,
    /// Training loss: mae, mse, huber[:DELTA] or quantile:0.1,0.5,0.9 (quantile bands as intervals).
    #[arg(long, value_name = "LOSS")]
    pub(crate) loss: Option<String>,
    /// Per-window scaler: identity, standard or robust.
    #[arg(long, value_name = "KIND")]
    pub(crate) scaler: Option<String>,
    /// Share of the training rows (the tail) held out for validation and early stopping.
    #[arg(long, value_name = "F")]
    pub(crate) val_fraction: Option<f64>,
    /// Steps between validation checks.
    #[arg(long, value_name = "N")]
    pub(crate) val_check_steps: Option<usize>,
    /// Stop after this many validation checks without improvement (restoring the best weights).
    #[arg(long, value_name = "P")]
    pub(crate) early_stop: Option<usize>,
    /// Clip the global gradient norm to this value.
    #[arg(long, value_name = "X")]
    pub(crate) grad_clip: Option<f64>,
    /// Seed of initialization and window sampling.
    #[arg(long, value_name = "S")]
    pub(crate) seed: Option<u64>,
    /// NHITS only: historic exogenous columns (comma-separated), read over the input window.
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    pub(crate) hist_exog: Vec<String>,
    /// NHITS only: future-known exogenous columns (comma-separated: calendar, schedules), read
    /// over the input window and the horizon; `nt predict` then needs `--future FILE`.
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    pub(crate) futr_exog: Vec<String>,
}

fn usage(msg: String) -> anyhow::Error {
    UsageError(msg).into()
}

/// Parses `--loss`.
pub(crate) fn parse_loss(raw: &str) -> Result<Loss> {
    let (name, arg) = match raw.split_once(':') {
        Some((n, a)) => (n, Some(a)),
        None => (raw, None),
    };
    let loss = match (name.to_ascii_lowercase().as_str(), arg) {
        ("mae", None) => Loss::Mae,
        ("mse", None) => Loss::Mse,
        ("huber", None) => Loss::Huber { delta: 1.0 },
        ("huber", Some(d)) => Loss::Huber {
            delta: d
                .parse()
                .map_err(|_| usage(format!("--loss {raw}: `{d}` is not a number")))?,
        },
        ("quantile", Some(list)) => {
            let mut qs = Vec::new();
            for part in list.split(',') {
                let q: f64 = part
                    .trim()
                    .parse()
                    .map_err(|_| usage(format!("--loss {raw}: `{part}` is not a number")))?;
                qs.push(q);
            }
            qs.sort_by(f64::total_cmp);
            Loss::Quantile(qs)
        }
        _ => {
            return Err(usage(format!(
                "--loss {raw}: expected mae, mse, huber[:DELTA] or quantile:Q1,Q2,..."
            )))
        }
    };
    loss.validate()
        .map_err(|e| usage(format!("--loss {raw}: {e}")))?;
    Ok(loss)
}

impl NeuralFlags {
    /// Whether exogenous columns were asked for.
    pub(crate) fn has_exog(&self) -> bool {
        !self.hist_exog.is_empty() || !self.futr_exog.is_empty()
    }

    /// The spec for model `name` (`nhits`, `nbeats`, `nbeats-interpretable`) at `input_size` and
    /// `horizon`: `--config` (if any) or the model's defaults, then every flag given.
    pub(crate) fn spec(&self, name: &str, input_size: usize, horizon: usize) -> Result<NeuralSpec> {
        let mut spec = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading --config {}", path.display()))?;
                serde_json::from_str::<NeuralSpec>(&text).map_err(|e| {
                    usage(format!(
                        "--config {}: line {} column {}: {e}",
                        path.display(),
                        e.line(),
                        e.column()
                    ))
                })?
            }
            None => match name {
                "nhits" => NeuralSpec::Nhits(NhitsConfig::default()),
                "nbeats" => NeuralSpec::NBeats(NBeatsConfig::generic(input_size, horizon)),
                "nbeats-interpretable" => {
                    NeuralSpec::NBeats(NBeatsConfig::interpretable(input_size, horizon))
                }
                other => {
                    return Err(usage(format!(
                        "unknown neural model `{other}`; known: {}",
                        NEURAL_NAMES.join(", ")
                    )))
                }
            },
        };
        match &mut spec {
            NeuralSpec::Nhits(c) => {
                c.input_size = input_size;
                c.horizon = horizon;
                if !self.hist_exog.is_empty() {
                    c.hist_exog_list = self.hist_exog.clone();
                }
                if !self.futr_exog.is_empty() {
                    c.futr_exog_list = self.futr_exog.clone();
                }
                self.apply(&mut c.train)?;
            }
            NeuralSpec::NBeats(_) if self.has_exog() => {
                return Err(usage(
                    "--hist-exog/--futr-exog: N-BEATS takes no exogenous inputs (as in neuralforecast); use --model nhits".into(),
                ))
            }
            NeuralSpec::NBeats(c) => {
                c.input_size = input_size;
                c.horizon = horizon;
                self.apply(&mut c.train)?;
            }
            #[allow(unreachable_patterns)]
            _ => {
                return Err(usage(format!(
                    "model `{name}` cannot be configured by flags"
                )))
            }
        }
        spec.validate()?;
        Ok(spec)
    }

    fn apply(&self, t: &mut TrainConfig) -> Result<()> {
        if let Some(v) = self.max_steps {
            t.max_steps = v;
        }
        if let Some(v) = self.batch_size {
            t.batch_size = v;
        }
        if let Some(v) = self.windows_batch_size {
            t.windows_batch_size = v;
        }
        if let Some(v) = self.lr {
            t.lr = v;
        }
        if let Some(v) = &self.optimizer {
            t.optimizer = match v.to_ascii_lowercase().as_str() {
                "adam" => Optimizer::Adam,
                "adamw" => Optimizer::AdamW,
                _ => return Err(usage(format!("--optimizer {v}: expected adam or adamw"))),
            };
        }
        if let Some(v) = &self.loss {
            t.loss = parse_loss(v)?;
        }
        if let Some(v) = &self.scaler {
            t.scaler = match v.to_ascii_lowercase().as_str() {
                "identity" => ScalerType::Identity,
                "standard" => ScalerType::Standard,
                "robust" => ScalerType::Robust,
                _ => {
                    return Err(usage(format!(
                        "--scaler {v}: expected identity, standard or robust"
                    )))
                }
            };
        }
        if let Some(v) = self.val_fraction {
            t.val_fraction = v;
        }
        if let Some(v) = self.val_check_steps {
            t.val_check_steps = v;
        }
        if let Some(v) = self.early_stop {
            t.early_stop_patience = Some(v);
        }
        if let Some(v) = self.grad_clip {
            t.grad_clip_norm = Some(v);
        }
        if let Some(v) = self.seed {
            t.seed = v;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn losses_parse_or_name_the_flag() {
        assert_eq!(parse_loss("mae").unwrap(), Loss::Mae);
        assert_eq!(parse_loss("huber:0.5").unwrap(), Loss::Huber { delta: 0.5 });
        assert_eq!(
            parse_loss("quantile:0.9,0.1,0.5").unwrap(),
            Loss::Quantile(vec![0.1, 0.5, 0.9])
        );
        for bad in ["quantile:1.5", "huber:x", "l1", "quantile:"] {
            assert!(
                parse_loss(bad).unwrap_err().to_string().contains("--loss"),
                "{bad}"
            );
        }
    }

    #[test]
    fn flags_override_defaults() {
        let flags = NeuralFlags {
            max_steps: Some(7),
            lr: Some(0.01),
            early_stop: Some(3),
            ..NeuralFlags::default()
        };
        let NeuralSpec::Nhits(c) = flags.spec("nhits", 48, 12).unwrap() else {
            panic!("expected nhits")
        };
        assert_eq!((c.input_size, c.horizon, c.train.max_steps), (48, 12, 7));
        assert_eq!(c.train.early_stop_patience, Some(3));
        assert!(flags.spec("lstm", 48, 12).is_err());
    }
}
