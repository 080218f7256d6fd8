//! Training flags shared by `nt train` and `nt backtest`, turned into a validated `ModelSpec`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use nt_models::{ModelSpec, NameOptions};
use nt_neural::{Loss, NeuralSpec, Optimizer, Precision, ScalerType, TrainConfig};

use crate::exit::UsageError;

/// Whether `name` is a neural model of the catalog (an architecture or a preset).
pub(crate) fn is_neural(name: &str) -> bool {
    nt_models::catalog()
        .iter()
        .any(|e| e.neural && e.name == name)
}

/// The spec name a catalog name builds (`nbeats-interpretable` → `nbeats`), or `None` for an
/// unknown name.
pub(crate) fn base_name(name: &str) -> Option<&'static str> {
    if let Some(n) = nt_classical::NAMES.iter().find(|n| **n == name) {
        return Some(n);
    }
    NeuralSpec::from_name(name, 8, 4).map(|s| s.name())
}

/// How to train a neural model. Unset flags keep the value from `--config` or the model's default
/// (neuralforecast's, e.g. Adam at lr 1e-3, MAE loss, 1024 windows per step).
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct NeuralFlags {
    /// A JSON model spec (`{"model": "nhits", "input_size": 96, ...}`, any model) to start from;
    /// flags override it.
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
    /// Arithmetic of the training matmuls: f32, or bf16 (bfloat16 operands with f32
    /// accumulation, f32 master weights and optimizer state; falls back to f32, saying so, where
    /// it cannot be faster).
    #[arg(long, value_name = "f32|bf16", value_parser = parse_precision)]
    pub(crate) precision: Option<Precision>,
    /// Models with exogenous inputs (NHITS, TCN): historic exogenous columns (comma-separated), read over the input window.
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    pub(crate) hist_exog: Vec<String>,
    /// Models with exogenous inputs (NHITS, TCN): future-known exogenous columns (comma-separated: calendar, schedules), read
    /// over the input window and the horizon; `nt predict` then needs `--future FILE`.
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    pub(crate) futr_exog: Vec<String>,
}

fn usage(msg: String) -> anyhow::Error {
    UsageError(msg).into()
}

/// Parses `--precision` (clap turns an error into its usage error, exit 2).
fn parse_precision(raw: &str) -> std::result::Result<Precision, String> {
    match raw.to_ascii_lowercase().as_str() {
        "f32" => Ok(Precision::F32),
        "bf16" => Ok(Precision::Bf16),
        _ => Err(format!("`{raw}`: expected f32 or bf16")),
    }
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
        // A distribution head's likelihood (DeepAR only), with optional interval levels in
        // percent: `student_t`, `normal:80,95`.
        (dist @ ("student_t" | "normal"), levels) => {
            let distribution = if dist == "normal" {
                nt_neural::distribution::Distribution::Normal
            } else {
                nt_neural::distribution::Distribution::StudentT
            };
            let levels = match levels {
                None => vec![80.0, 90.0],
                Some(list) => list
                    .split(',')
                    .map(|part| {
                        part.trim().parse::<f64>().map_err(|_| {
                            usage(format!("--loss {raw}: `{part}` is not a number"))
                        })
                    })
                    .collect::<Result<Vec<f64>>>()?,
            };
            Loss::Distribution {
                distribution,
                levels,
            }
        }
        _ => {
            return Err(usage(format!(
                "--loss {raw}: expected mae, mse, huber[:DELTA], quantile:Q1,Q2,... or (DeepAR) student_t[:LEVELS] / normal[:LEVELS]"
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

    /// Whether any training flag was given (they configure neural models only).
    fn any_training_flag(&self) -> bool {
        self.max_steps.is_some()
            || self.batch_size.is_some()
            || self.windows_batch_size.is_some()
            || self.lr.is_some()
            || self.optimizer.is_some()
            || self.loss.is_some()
            || self.scaler.is_some()
            || self.val_fraction.is_some()
            || self.val_check_steps.is_some()
            || self.early_stop.is_some()
            || self.grad_clip.is_some()
            || self.seed.is_some()
            || self.precision.is_some()
    }

    /// The spec `--config` holds, if given.
    pub(crate) fn config_spec(&self) -> Result<Option<ModelSpec>> {
        let Some(path) = &self.config else {
            return Ok(None);
        };
        let text = crate::settings::read_text_file(path, "--config")?;
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            usage(format!(
                "--config {}: line {} column {}: {e}",
                path.display(),
                e.line(),
                e.column()
            ))
        })?;
        ModelSpec::from_json(value)
            .map(Some)
            .map_err(|e| usage(format!("--config {}: {e}", path.display())))
    }

    /// The spec for model `name` (any name of `nt_models::catalog()`): `--config` (if any) or
    /// the model's defaults, configured from `opts` (classical models) or at `input_size` and
    /// `horizon` with every training flag given (neural models), then validated.
    pub(crate) fn model_spec(
        &self,
        name: &str,
        input_size: usize,
        horizon: usize,
        opts: &NameOptions,
    ) -> Result<ModelSpec> {
        let spec = match self.config_spec()? {
            Some(spec) => spec,
            None if is_neural(name) => ModelSpec::Neural(
                NeuralSpec::from_name(name, input_size, horizon)
                    .ok_or_else(|| usage(format!("unknown model `{name}`")))?,
            ),
            None => ModelSpec::from_name(name, horizon, opts)
                .map_err(|e| usage(format!("--model {name}: {e}")))?,
        };
        match spec {
            ModelSpec::Neural(mut n) => {
                n.set_window(input_size, horizon);
                if self.has_exog() {
                    n.set_exog(self.hist_exog.clone(), self.futr_exog.clone())
                        .map_err(|e| {
                            usage(format!(
                                "--hist-exog/--futr-exog: {e} (models with exogenous inputs: nhits)"
                            ))
                        })?;
                }
                self.apply(n.train_config_mut())?;
                n.validate()?;
                Ok(ModelSpec::Neural(n))
            }
            other => {
                if self.has_exog() {
                    return Err(usage(format!(
                        "--hist-exog/--futr-exog: {} reads no exogenous columns",
                        other.name()
                    )));
                }
                if self.any_training_flag() {
                    return Err(usage(format!(
                        "the training flags (--max-steps, --lr, ...) configure neural models; {} is fitted in closed form",
                        other.name()
                    )));
                }
                other.validate()?;
                Ok(other)
            }
        }
    }

    /// The neural spec for model `name` at `input_size` and `horizon` (see
    /// [`model_spec`](Self::model_spec)); an error for a classical name.
    pub(crate) fn spec(&self, name: &str, input_size: usize, horizon: usize) -> Result<NeuralSpec> {
        let opts = NameOptions {
            classical: nt_classical::ClassicalOptions::default(),
            neural_input_size: input_size,
        };
        match self.model_spec(name, input_size, horizon, &opts)? {
            ModelSpec::Neural(n) => Ok(n),
            other => Err(usage(format!("`{}` is not a neural model", other.name()))),
        }
    }

    /// Applies the training flags given to `t` (also what `nt train --from` overrides).
    pub(crate) fn apply(&self, t: &mut TrainConfig) -> Result<()> {
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
        if let Some(v) = self.precision {
            t.precision = v;
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
        assert_eq!(c.train.precision, Precision::F32);
        assert!(flags.spec("no-such-model", 48, 12).is_err());
        let bf16 = NeuralFlags {
            precision: Some(Precision::Bf16),
            ..NeuralFlags::default()
        };
        assert_eq!(
            bf16.spec("dlinear", 48, 12)
                .unwrap()
                .train_config()
                .precision,
            Precision::Bf16
        );
    }

    #[test]
    fn precision_parses_f32_and_bf16_only() {
        assert_eq!(parse_precision("bf16"), Ok(Precision::Bf16));
        assert_eq!(parse_precision("F32"), Ok(Precision::F32));
        assert!(parse_precision("fp16").unwrap_err().contains("f32 or bf16"));
    }
}
