//! Search spaces: the parameters a study samples, their distributions, the default space of each
//! neural model (ported from neuralforecast's `Auto*` classes' `default_config`), the JSON file
//! that overrides them, and how a sampled point becomes a validated model spec.
//!
//! # Parameter names
//! A parameter's name is the path of the field it sets in the model's flat JSON spec
//! (`{"model": "nhits", "input_size": 96, ..., "train": {"lr": 0.001, ...}}`): a top-level
//! architecture field (`n_pool_kernel_size`, `moving_avg_window`, `encoder_hidden_size`) or a
//! training field under `train.` (`train.lr`, `train.max_steps`, `train.seed`). One name is not a
//! field: `input_size_multiplier` sets `input_size = horizon × value`, as neuralforecast's
//! `input_size_multiplier` does. A name that is no field of the model is an error when the
//! space is checked against the base spec ([`SearchSpace::check`]), before any training.
//!
//! # The space file (`--space FILE`)
//! A JSON object from parameter name to distribution; it replaces the default entries of the
//! same name and adds new ones. `null` removes a default entry.
//! ```json
//! {
//!   "train.lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": true},
//!   "train.dropout_unused": null,
//!   "train.max_steps": {"type": "int", "low": 100, "high": 500, "step": 100},
//!   "n_pool_kernel_size": {"type": "choice", "values": [[2, 2, 1], [4, 4, 4]]}
//! }
//! ```
//! `float`: uniform on `[low, high]`, log-uniform with `"log": true` (needs `low > 0`);
//! `int`: uniform on `low, low + step, ..., ≤ high` (step 1 by default); `choice`: one of
//! `values` (any JSON values), uniformly.

use std::collections::BTreeMap;
use std::path::Path;

use nt_models::ModelSpec;
use nt_neural::NeuralSpec;
use rand::RngExt;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{Error, Result};

/// The name that sets `input_size` to `horizon × value` rather than a field.
pub const INPUT_SIZE_MULTIPLIER: &str = "input_size_multiplier";

/// One parameter's distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum Param {
    /// A real number on `[low, high]`, uniform or (with `log`) log-uniform.
    Float {
        /// Lower bound.
        low: f64,
        /// Upper bound (≥ `low`).
        high: f64,
        /// Log-uniform (neuralforecast's `tune.loguniform`); needs `low > 0`.
        #[serde(default)]
        log: bool,
    },
    /// An integer `low + k·step ≤ high`, uniform over k (Ray's `randint(a, b)` is `low = a`,
    /// `high = b - 1`; `quniform(a, b, q)` is `step = q`).
    Int {
        /// Smallest value.
        low: i64,
        /// Largest value (inclusive).
        high: i64,
        /// Spacing of the values (default 1).
        #[serde(default = "one")]
        step: i64,
    },
    /// One of the listed JSON values, uniformly (`tune.choice`).
    Choice {
        /// The values (at least one).
        values: Vec<Value>,
    },
}

fn one() -> i64 {
    1
}

impl Param {
    /// A uniform float.
    pub fn uniform(low: f64, high: f64) -> Self {
        Param::Float {
            low,
            high,
            log: false,
        }
    }

    /// A log-uniform float.
    pub fn log_uniform(low: f64, high: f64) -> Self {
        Param::Float {
            low,
            high,
            log: true,
        }
    }

    /// An integer on `low..=high` with spacing `step`.
    pub fn int(low: i64, high: i64, step: i64) -> Self {
        Param::Int { low, high, step }
    }

    /// A choice among `values`.
    pub fn choice<T: Into<Value>>(values: impl IntoIterator<Item = T>) -> Self {
        Param::Choice {
            values: values.into_iter().map(Into::into).collect(),
        }
    }

    /// Checks the bounds; `name` is used in the error.
    pub fn validate(&self, name: &str) -> Result<()> {
        match self {
            Param::Float { low, high, log } => {
                if !low.is_finite() || !high.is_finite() || low > high {
                    return Err(Error::invalid(
                        name,
                        format!("float bounds must be finite with low ≤ high, got [{low}, {high}]"),
                    ));
                }
                if *log && *low <= 0.0 {
                    return Err(Error::invalid(
                        name,
                        format!("a log-uniform float needs low > 0, got {low}"),
                    ));
                }
            }
            Param::Int { low, high, step } => {
                if low > high || *step < 1 {
                    return Err(Error::invalid(
                        name,
                        format!("int needs low ≤ high and step ≥ 1, got low {low}, high {high}, step {step}"),
                    ));
                }
            }
            Param::Choice { values } => {
                if values.is_empty() {
                    return Err(Error::invalid(name, "a choice needs at least one value"));
                }
            }
        }
        Ok(())
    }

    /// How many integer values an [`Param::Int`] has.
    pub(crate) fn int_count(low: i64, high: i64, step: i64) -> i64 {
        (high - low) / step + 1
    }

    /// Draws one value uniformly (log-uniformly for a log float).
    pub fn sample<R: rand::Rng + ?Sized>(&self, rng: &mut R) -> Value {
        match self {
            Param::Float { low, high, log } => {
                let u: f64 = rng.random();
                let x = if *log {
                    (low.ln() + u * (high.ln() - low.ln())).exp()
                } else {
                    low + u * (high - low)
                };
                float_value(x.clamp(*low, *high))
            }
            Param::Int { low, high, step } => {
                let k = rng.random_range(0..Param::int_count(*low, *high, *step));
                Value::from(low + k * step)
            }
            Param::Choice { values } => values[rng.random_range(0..values.len())].clone(),
        }
    }
}

/// A float as JSON (a non-finite one, which no valid bound produces, as null).
pub(crate) fn float_value(x: f64) -> Value {
    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
}

/// A sampled point: parameter name → value.
pub type Point = Map<String, Value>;

/// The parameters a study searches over, by name (sampled in name order).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SearchSpace {
    /// Parameter name → distribution.
    pub params: BTreeMap<String, Param>,
}

impl SearchSpace {
    /// The default space for the neural model `model`, ported from neuralforecast's
    /// `Auto<Model>.default_config` (neuralforecast/auto.py). What differs:
    ///
    /// - `learning_rate` is our `train.lr`, `random_seed` our `train.seed` (Ray's
    ///   `randint(1, 20)` excludes 20: 1..=19), `scaler_type` our `train.scaler` (`None` is our
    ///   `identity`), `max_steps`, `batch_size`, `windows_batch_size` live under `train.`;
    ///   `quniform(500, 1500, 100)` is an int with step 100.
    /// - `loss` (None: the model's default) and `h` (the horizon is the study's) are not
    ///   searched.
    /// - TCN, LSTM, GRU: neuralforecast's `input_size_multiplier` `[-1, 4, 16, 64]` uses `-1` for
    ///   "the whole history"; our models take a fixed window, so the choice is `[4, 16, 64]`.
    ///   `context_size` and `inference_input_size_multiplier` have no counterpart (our
    ///   recurrent and TCN decoders read the last hidden state, not a context vector) and are
    ///   left out.
    /// - DeepAR: `scaler_type` choice `["robust", "minmax1"]`; we have no `minmax1` scaler, so
    ///   it is `["robust"]` (kept as a one-value choice, recorded with every trial).
    ///
    /// `None` for a model without a default space (classical models).
    pub fn default_for(model: &str) -> Option<SearchSpace> {
        let mut p: BTreeMap<String, Param> = BTreeMap::new();
        let lr = || Param::log_uniform(1e-4, 1e-1);
        let seed = || Param::int(1, 19, 1);
        let scaler = || Param::choice(["identity", "robust", "standard"]);
        let batch = || Param::choice([32, 64, 128, 256]);
        let windows = || Param::choice([128, 256, 512, 1024]);
        let mult5 = || Param::choice([1, 2, 3, 4, 5]);
        let common = |p: &mut BTreeMap<String, Param>, max_steps: Param| {
            p.insert(INPUT_SIZE_MULTIPLIER.into(), mult5());
            p.insert("train.lr".into(), lr());
            p.insert("train.scaler".into(), scaler());
            p.insert("train.max_steps".into(), max_steps);
            p.insert("train.batch_size".into(), batch());
            p.insert("train.windows_batch_size".into(), windows());
            p.insert("train.seed".into(), seed());
        };
        match model {
            "nhits" => {
                common(&mut p, Param::int(500, 1500, 100));
                p.insert(
                    "n_pool_kernel_size".into(),
                    Param::choice([
                        serde_json::json!([2, 2, 1]),
                        serde_json::json!([1, 1, 1]),
                        serde_json::json!([2, 2, 2]),
                        serde_json::json!([4, 4, 4]),
                        serde_json::json!([8, 4, 1]),
                        serde_json::json!([16, 8, 1]),
                    ]),
                );
                p.insert(
                    "n_freq_downsample".into(),
                    Param::choice([
                        serde_json::json!([168, 24, 1]),
                        serde_json::json!([24, 12, 1]),
                        serde_json::json!([180, 60, 1]),
                        serde_json::json!([60, 8, 1]),
                        serde_json::json!([40, 20, 1]),
                        serde_json::json!([1, 1, 1]),
                    ]),
                );
            }
            "nbeats" => common(&mut p, Param::choice([500, 1000])),
            "dlinear" => {
                common(&mut p, Param::int(500, 1500, 100));
                p.insert("moving_avg_window".into(), Param::choice([11, 25, 51]));
            }
            "nlinear" => common(&mut p, Param::int(500, 1500, 100)),
            "tcn" | "lstm" | "gru" => {
                p.insert(INPUT_SIZE_MULTIPLIER.into(), Param::choice([4, 16, 64]));
                p.insert(
                    "encoder_hidden_size".into(),
                    Param::choice([16, 32, 64, 128]),
                );
                if model == "tcn" {
                    p.insert("decoder_hidden_size".into(), Param::choice([32, 64]));
                } else {
                    p.insert("encoder_n_layers".into(), Param::int(1, 3, 1));
                    p.insert(
                        "decoder_hidden_size".into(),
                        Param::choice([16, 32, 64, 128]),
                    );
                }
                p.insert("train.lr".into(), lr());
                p.insert("train.max_steps".into(), Param::choice([500, 1000]));
                p.insert("train.batch_size".into(), Param::choice([16, 32]));
                p.insert("train.seed".into(), seed());
            }
            "patchtst" => {
                common(&mut p, Param::choice([500, 1000, 5000]));
                p.insert(INPUT_SIZE_MULTIPLIER.into(), Param::choice([1, 2, 3]));
                p.insert("hidden_size".into(), Param::choice([16, 128, 256]));
                p.insert("n_heads".into(), Param::choice([4, 16]));
                p.insert("patch_len".into(), Param::choice([16, 24]));
                p.insert("revin".into(), Param::choice([false, true]));
            }
            "deepar" => {
                common(&mut p, Param::choice([500, 1000, 2000]));
                p.insert("train.scaler".into(), Param::choice(["robust"]));
                p.insert("lstm_hidden_size".into(), Param::choice([32, 64, 128, 256]));
                p.insert("lstm_n_layers".into(), Param::int(1, 3, 1));
                p.insert("lstm_dropout".into(), Param::uniform(0.0, 0.5));
            }
            _ => return None,
        }
        Some(SearchSpace { params: p })
    }

    /// Applies an override object (the `--space` file's shape, see the module doc): each entry
    /// replaces or adds a parameter, `null` removes one.
    pub fn apply_override(&mut self, overrides: &Value) -> Result<()> {
        let Value::Object(entries) = overrides else {
            return Err(Error::invalid(
                "--space",
                "the space file must be a JSON object from parameter name to distribution",
            ));
        };
        for (name, entry) in entries {
            if entry.is_null() {
                self.params.remove(name);
                continue;
            }
            let param: Param = serde_json::from_value(entry.clone()).map_err(|e| {
                Error::invalid(
                    format!("--space: {name}"),
                    format!("{e} (expected {{\"type\": \"float\"|\"int\"|\"choice\", ...}})"),
                )
            })?;
            param.validate(name)?;
            self.params.insert(name.clone(), param);
        }
        Ok(())
    }

    /// Reads an override file and applies it (see [`SearchSpace::apply_override`]).
    pub fn apply_file(&mut self, path: &Path) -> Result<()> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        let value: Value = serde_json::from_str(&text)
            .map_err(|e| Error::invalid(format!("--space {}", path.display()), e.to_string()))?;
        self.apply_override(&value)
    }

    /// Checks every parameter's bounds and that each names a field of `base` (by applying a
    /// point of each parameter's first value to it): an unknown field is an error naming it.
    pub fn check(&self, base: &NeuralSpec) -> Result<()> {
        if self.params.is_empty() {
            return Err(Error::invalid(
                "--space",
                "the search space has no parameters",
            ));
        }
        for (name, param) in &self.params {
            param.validate(name)?;
            let value = match param {
                Param::Float { low, .. } => float_value(*low),
                Param::Int { low, .. } => Value::from(*low),
                Param::Choice { values } => values[0].clone(),
            };
            let mut point = Point::new();
            point.insert(name.clone(), value);
            let mut json = serde_json::to_value(base)
                .map_err(|e| Error::invalid("model spec", e.to_string()))?;
            merge_point(&mut json, &point, base.horizon())?;
            parse_spec(json).map_err(|e| match e {
                Error::Invalid { reason, .. } => Error::invalid(
                    format!("search space parameter `{name}`"),
                    format!("not a usable field of {}: {reason}", base.name()),
                ),
                other => other,
            })?;
        }
        Ok(())
    }
}

/// Writes `point` into a spec's JSON: `a.b` sets field `b` of object `a` (created when missing),
/// [`INPUT_SIZE_MULTIPLIER`] sets `input_size = horizon × value`.
fn merge_point(json: &mut Value, point: &Point, horizon: usize) -> Result<()> {
    for (name, value) in point {
        if name == INPUT_SIZE_MULTIPLIER {
            let m = value.as_u64().filter(|m| *m >= 1).ok_or_else(|| {
                Error::invalid(name, format!("must be a positive integer, got {value}"))
            })?;
            json["input_size"] = Value::from(m.saturating_mul(horizon as u64));
            continue;
        }
        let mut target = &mut *json;
        let parts: Vec<&str> = name.split('.').collect();
        for part in &parts[..parts.len() - 1] {
            let Value::Object(obj) = target else {
                return Err(Error::invalid(name, format!("`{part}` is not an object")));
            };
            target = obj
                .entry(part.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
        }
        let Value::Object(obj) = target else {
            return Err(Error::invalid(name, "its parent is not an object"));
        };
        obj.insert(parts[parts.len() - 1].to_string(), value.clone());
    }
    Ok(())
}

fn parse_spec(json: Value) -> Result<NeuralSpec> {
    let spec =
        ModelSpec::from_json(json).map_err(|e| Error::invalid("model spec", e.to_string()))?;
    spec.validate()
        .map_err(|e| Error::invalid("model spec", e.to_string()))?;
    match spec {
        ModelSpec::Neural(n) => Ok(n),
        other => Err(Error::invalid(
            "model",
            format!("`{}` is not a neural model", other.name()),
        )),
    }
}

/// The spec a trial trains: `base` with `point` merged into its JSON, parsed by
/// `ModelSpec::from_json` (unknown fields are errors) and validated; `max_steps_cap` then caps
/// `train.max_steps`.
pub fn apply(base: &NeuralSpec, point: &Point, max_steps_cap: Option<usize>) -> Result<NeuralSpec> {
    let mut json =
        serde_json::to_value(base).map_err(|e| Error::invalid("model spec", e.to_string()))?;
    merge_point(&mut json, point, base.horizon())?;
    let mut spec = parse_spec(json)?;
    if let Some(cap) = max_steps_cap {
        let t = spec.train_config_mut();
        t.max_steps = t.max_steps.min(cap.max(1));
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn base(model: &str) -> NeuralSpec {
        NeuralSpec::from_name(model, 48, 12).expect("known model")
    }

    #[test]
    fn samples_stay_in_bounds() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let lf = Param::log_uniform(1e-4, 1e-1);
        let f = Param::uniform(-2.0, 3.0);
        let i = Param::int(500, 1500, 100);
        let c = Param::choice(["a", "b"]);
        let mut small = 0;
        for _ in 0..2000 {
            let x = lf.sample(&mut rng).as_f64().expect("float");
            assert!((1e-4..=1e-1).contains(&x));
            if x < 1e-2 {
                small += 1;
            }
            let y = f.sample(&mut rng).as_f64().expect("float");
            assert!((-2.0..=3.0).contains(&y));
            let k = i.sample(&mut rng).as_i64().expect("int");
            assert!((500..=1500).contains(&k) && k % 100 == 0);
            let s = c.sample(&mut rng);
            assert!(s == "a" || s == "b");
        }
        // Log-uniform: two of the three decades lie below 1e-2 (about 1333 of 2000); a uniform
        // draw would put only about 180 there.
        assert!((1200..1470).contains(&small), "{small}");
    }

    #[test]
    fn ints_cover_every_value() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let p = Param::int(1, 3, 1);
        let mut seen = [false; 3];
        for _ in 0..200 {
            seen[(p.sample(&mut rng).as_i64().expect("int") - 1) as usize] = true;
        }
        assert_eq!(seen, [true; 3]);
    }

    #[test]
    fn default_spaces_check_against_their_models() {
        for model in [
            "nhits", "nbeats", "dlinear", "nlinear", "tcn", "lstm", "gru", "patchtst", "deepar",
        ] {
            let space = SearchSpace::default_for(model).expect("a default space");
            space
                .check(&base(model))
                .unwrap_or_else(|e| panic!("{model}: {e}"));
        }
        assert!(SearchSpace::default_for("ets").is_none());
    }

    #[test]
    fn override_replaces_adds_and_removes() {
        let mut space = SearchSpace::default_for("dlinear").expect("space");
        space
            .apply_override(&serde_json::json!({
                "train.lr": {"type": "float", "low": 0.001, "high": 0.01},
                "moving_avg_window": null,
                "train.val_check_steps": {"type": "choice", "values": [5, 10]},
            }))
            .expect("override");
        assert_eq!(space.params["train.lr"], Param::uniform(0.001, 0.01));
        assert!(!space.params.contains_key("moving_avg_window"));
        assert_eq!(
            space.params["train.val_check_steps"],
            Param::choice([5, 10])
        );
        space.check(&base("dlinear")).expect("still valid");
        let bad = space.apply_override(
            &serde_json::json!({"train.lr": {"type": "float", "low": 1, "high": 0}}),
        );
        assert!(bad.unwrap_err().to_string().contains("train.lr"));
        let bad = space.apply_override(&serde_json::json!({"x": {"type": "gauss"}}));
        assert!(bad.unwrap_err().to_string().contains("x"));
    }

    #[test]
    fn unknown_field_is_a_clear_error() {
        let mut space = SearchSpace::default_for("nlinear").expect("space");
        space
            .apply_override(&serde_json::json!({"train.learning_rate": {"type": "float", "low": 0.1, "high": 0.2}}))
            .expect("parses");
        let err = space.check(&base("nlinear")).unwrap_err().to_string();
        assert!(err.contains("train.learning_rate"), "{err}");
        assert!(err.contains("learning_rate"), "{err}");
    }

    #[test]
    fn apply_merges_multiplier_and_cap() {
        let mut point = Point::new();
        point.insert(INPUT_SIZE_MULTIPLIER.into(), Value::from(3));
        point.insert("train.lr".into(), Value::from(0.01));
        point.insert("train.max_steps".into(), Value::from(900));
        point.insert("moving_avg_window".into(), Value::from(11));
        let spec = apply(&base("dlinear"), &point, Some(20)).expect("applies");
        assert_eq!(spec.input_size(), 36);
        assert_eq!(spec.train_config().lr, 0.01);
        assert_eq!(spec.train_config().max_steps, 20);
    }
}
