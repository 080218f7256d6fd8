//! [`NeuralSpec`]: generated from the one list of architectures in `arch/mod.rs`, with its JSON
//! form (flat: `{"model": "nhits", "input_size": 96, ...}`; the older `{"model": "nhits",
//! "config": {...}}` is read too) and the name catalog.

use candle_core::Tensor;
use candle_nn::VarBuilder;
use serde_json::Value;

use super::{ArchFeatures, Architecture, Family, FastForward, Network, NeuralSpec, WeightSpec};
use crate::config::TrainConfig;
use crate::{Error, Result};

/// The object-safe face of [`Architecture`], implemented for every architecture, so that
/// [`NeuralSpec`]'s methods dispatch through one match.
pub(crate) trait ArchDyn: Send + Sync {
    fn name(&self) -> &'static str;
    fn family(&self) -> Family;
    fn input_size(&self) -> usize;
    fn horizon(&self) -> usize;
    fn set_window(&mut self, input_size: usize, horizon: usize);
    fn train(&self) -> &TrainConfig;
    fn train_mut(&mut self) -> &mut TrainConfig;
    fn hist_exog(&self) -> &[String];
    fn futr_exog(&self) -> &[String];
    fn set_exog(&mut self, hist: Vec<String>, futr: Vec<String>) -> Result<()>;
    fn validate_architecture(&self) -> Result<()>;
    fn weights(&self, n_outputs: usize) -> Vec<WeightSpec>;
    fn owns_weight(&self, name: &str) -> bool;
    fn build(&self, n_outputs: usize, vb: VarBuilder) -> Result<Box<dyn Network>>;
    fn fast_path(
        &self,
        n_outputs: usize,
        weights: &[(String, Tensor)],
    ) -> Result<Option<Box<dyn FastForward>>>;
    fn native_graph(
        &self,
        n_outputs: usize,
        layout: &crate::engine::ParamLayout,
    ) -> Result<Option<Box<dyn crate::engine::TrainGraph>>>;
    fn features(&self, n_outputs: usize) -> ArchFeatures;
    fn to_json(&self) -> serde_json::Result<Value>;
}

impl<A: Architecture> ArchDyn for A {
    fn name(&self) -> &'static str {
        A::NAME
    }
    fn family(&self) -> Family {
        A::FAMILY
    }
    fn input_size(&self) -> usize {
        Architecture::input_size(self)
    }
    fn horizon(&self) -> usize {
        Architecture::horizon(self)
    }
    fn set_window(&mut self, input_size: usize, horizon: usize) {
        Architecture::set_window(self, input_size, horizon)
    }
    fn train(&self) -> &TrainConfig {
        Architecture::train(self)
    }
    fn train_mut(&mut self) -> &mut TrainConfig {
        Architecture::train_mut(self)
    }
    fn hist_exog(&self) -> &[String] {
        Architecture::hist_exog(self)
    }
    fn futr_exog(&self) -> &[String] {
        Architecture::futr_exog(self)
    }
    fn set_exog(&mut self, hist: Vec<String>, futr: Vec<String>) -> Result<()> {
        Architecture::set_exog(self, hist, futr)
    }
    fn validate_architecture(&self) -> Result<()> {
        Architecture::validate_architecture(self)
    }
    fn weights(&self, n_outputs: usize) -> Vec<WeightSpec> {
        Architecture::weights(self, n_outputs)
    }
    fn owns_weight(&self, name: &str) -> bool {
        A::owns_weight(name)
    }
    fn build(&self, n_outputs: usize, vb: VarBuilder) -> Result<Box<dyn Network>> {
        Architecture::build(self, n_outputs, vb)
    }
    fn fast_path(
        &self,
        n_outputs: usize,
        weights: &[(String, Tensor)],
    ) -> Result<Option<Box<dyn FastForward>>> {
        Architecture::fast_path(self, n_outputs, weights)
    }
    fn native_graph(
        &self,
        n_outputs: usize,
        layout: &crate::engine::ParamLayout,
    ) -> Result<Option<Box<dyn crate::engine::TrainGraph>>> {
        Architecture::native_graph(self, n_outputs, layout)
    }
    fn features(&self, n_outputs: usize) -> ArchFeatures {
        Architecture::features(self, n_outputs)
    }
    fn to_json(&self) -> serde_json::Result<Value> {
        serde_json::to_value(self)
    }
}

/// One name the CLI accepts for a neural model: an architecture or one of its presets.
#[derive(Debug, Clone, Copy)]
pub struct CatalogEntry {
    /// Name after `--model`.
    pub name: &'static str,
    /// One line for `--help`.
    pub summary: &'static str,
    /// The architecture it builds (its own name for a plain architecture).
    pub architecture: &'static str,
    /// Broad kind.
    pub family: Family,
}

/// Turns the older adjacently tagged form `{"model": M, "config": {...}}` into the flat one.
pub(crate) fn flatten_legacy(value: Value) -> Value {
    match value {
        Value::Object(mut map)
            if map.len() == 2 && map.contains_key("model") && map.contains_key("config") =>
        {
            let model = map.remove("model");
            match (model, map.remove("config")) {
                (Some(model), Some(Value::Object(mut config))) => {
                    config.insert("model".into(), model);
                    Value::Object(config)
                }
                (model, config) => {
                    let mut back = serde_json::Map::new();
                    back.extend(model.map(|m| ("model".to_string(), m)));
                    back.extend(config.map(|c| ("config".to_string(), c)));
                    Value::Object(back)
                }
            }
        }
        other => other,
    }
}

/// Parses a config of architecture `A` from `fields` (the spec without its `model` tag).
pub(crate) fn parse_config<A: Architecture>(fields: Value) -> std::result::Result<A, String> {
    check_integers(&fields, "").map_err(|e| format!("{}: {e}", A::NAME))?;
    serde_json::from_value::<A>(fields).map_err(|e| format!("{}: {e}", A::NAME))
}

/// The largest integer a spec's size fields may hold (2^24): larger windows, widths or counts
/// cannot be trained here and would only overflow or exhaust memory while the network is built.
pub const MAX_SPEC_INTEGER: u64 = 1 << 24;

/// Refuses integers above [`MAX_SPEC_INTEGER`] anywhere in a spec (the `seed` excepted, which is
/// any u64), naming the field, before any size is used.
fn check_integers(v: &Value, path: &str) -> std::result::Result<(), String> {
    match v {
        Value::Object(map) => map.iter().try_for_each(|(k, v)| {
            if k == "seed" {
                return Ok(());
            }
            let p = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            check_integers(v, &p)
        }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, v)| check_integers(v, &format!("{path}[{i}]"))),
        Value::Number(n) => match n.as_u64() {
            Some(x) if x > MAX_SPEC_INTEGER => Err(format!(
                "`{path}` is {x}; at most {MAX_SPEC_INTEGER} is accepted"
            )),
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}

/// Generates [`NeuralSpec`] and its dispatch from the list of architectures.
macro_rules! architectures {
    ($( $(#[$doc:meta])* $variant:ident($cfg:ty) ),* $(,)?) => {
        /// Which neural model to build, with its hyper-parameters: what the CLI parses, a model
        /// directory's `model.json` stores and the registry keeps. JSON is flat, the model's
        /// name in `model` beside its config's fields: `{"model": "dlinear", "input_size": 336,
        /// "horizon": 96, "train": {...}}`; omitted fields take their defaults, unknown fields
        /// are an error. The older `{"model": ..., "config": {...}}` form is read too.
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        pub enum NeuralSpec {
            $( $(#[$doc])* $variant($cfg), )*
        }

        impl NeuralSpec {
            /// The architecture names, in list order.
            pub const NAMES: &'static [&'static str] = &[$( <$cfg as $crate::arch::Architecture>::NAME, )*];

            pub(crate) fn arch(&self) -> &dyn $crate::arch::spec::ArchDyn {
                match self {
                    $( NeuralSpec::$variant(c) => c, )*
                }
            }

            pub(crate) fn arch_mut(&mut self) -> &mut dyn $crate::arch::spec::ArchDyn {
                match self {
                    $( NeuralSpec::$variant(c) => c, )*
                }
            }

            /// Every name the CLI accepts (architectures and presets) with its summary.
            pub fn catalog() -> Vec<$crate::arch::CatalogEntry> {
                let mut out = Vec::new();
                $(
                    out.push($crate::arch::CatalogEntry {
                        name: <$cfg as $crate::arch::Architecture>::NAME,
                        summary: <$cfg as $crate::arch::Architecture>::SUMMARY,
                        architecture: <$cfg as $crate::arch::Architecture>::NAME,
                        family: <$cfg as $crate::arch::Architecture>::FAMILY,
                    });
                    for p in <$cfg as $crate::arch::Architecture>::presets() {
                        out.push($crate::arch::CatalogEntry {
                            name: p.name,
                            summary: p.summary,
                            architecture: <$cfg as $crate::arch::Architecture>::NAME,
                            family: <$cfg as $crate::arch::Architecture>::FAMILY,
                        });
                    }
                )*
                out
            }

            /// The model called `name` (an architecture or a preset) with its defaults at input
            /// size `input_size` and horizon `horizon`; `None` for an unknown name.
            pub fn from_name(name: &str, input_size: usize, horizon: usize) -> Option<NeuralSpec> {
                $(
                    if name == <$cfg as $crate::arch::Architecture>::NAME {
                        return Some(NeuralSpec::$variant(
                            <$cfg as $crate::arch::Architecture>::for_window(input_size, horizon),
                        ));
                    }
                    for p in <$cfg as $crate::arch::Architecture>::presets() {
                        if p.name == name {
                            return Some(NeuralSpec::$variant((p.build)(input_size, horizon)));
                        }
                    }
                )*
                None
            }

            /// Parses the flat (or older nested) JSON form.
            pub fn from_json(value: serde_json::Value) -> std::result::Result<NeuralSpec, String> {
                let serde_json::Value::Object(mut fields) = $crate::arch::spec::flatten_legacy(value) else {
                    return Err("a model spec must be a JSON object".into());
                };
                let name = match fields.remove("model") {
                    Some(serde_json::Value::String(s)) => s,
                    Some(other) => return Err(format!("`model` must be a string, got {other}")),
                    None => return Err("missing field `model`".into()),
                };
                let fields = serde_json::Value::Object(fields);
                $(
                    if name == <$cfg as $crate::arch::Architecture>::NAME {
                        return $crate::arch::spec::parse_config::<$cfg>(fields).map(NeuralSpec::$variant);
                    }
                )*
                Err(format!(
                    "unknown neural model `{name}`; known: {}",
                    Self::NAMES.join(", ")
                ))
            }
        }
    };
}

/// The longest input window or horizon a neural spec may have (2^20 steps).
pub const MAX_WINDOW: u64 = 1 << 20;

/// The most weights a neural network may have (2^28, 1 GiB of f32).
pub const MAX_PARAMS: u64 = 1 << 28;

impl NeuralSpec {
    /// The architecture's name (`nhits`, `nbeats`, `dlinear`, ...).
    pub fn name(&self) -> &'static str {
        self.arch().name()
    }

    /// The broad kind.
    pub fn family(&self) -> Family {
        self.arch().family()
    }

    /// The training settings nested in the model's config.
    pub fn train_config(&self) -> &TrainConfig {
        self.arch().train()
    }

    /// The training settings, mutably.
    pub fn train_config_mut(&mut self) -> &mut TrainConfig {
        self.arch_mut().train_mut()
    }

    /// Validates the architecture and the training settings.
    pub fn validate(&self) -> Result<()> {
        self.validate_architecture()?;
        self.train_config().validate()
    }

    /// Checks the architecture only, and the loss (what importing or loading weights needs).
    pub fn validate_architecture(&self) -> Result<()> {
        for (field, v) in [
            ("input_size", self.input_size()),
            ("horizon", self.horizon()),
        ] {
            if v as u64 > MAX_WINDOW {
                return Err(crate::Error::invalid(
                    field,
                    format!("{v} is too long; at most {MAX_WINDOW} steps"),
                ));
            }
        }
        self.arch().validate_architecture()?;
        let weights = self
            .weight_specs()
            .iter()
            .try_fold(0u64, |sum, w| {
                w.shape
                    .iter()
                    .try_fold(1u64, |n, &d| n.checked_mul(d as u64))
                    .and_then(|n| sum.checked_add(n))
            })
            .filter(|&n| n <= MAX_PARAMS);
        if weights.is_none() {
            return Err(crate::Error::invalid(
                "model",
                format!("the network would have more than {MAX_PARAMS} weights; make it smaller"),
            ));
        }
        self.train_config().loss.validate()
    }

    /// Input window length L.
    pub fn input_size(&self) -> usize {
        self.arch().input_size()
    }

    /// Horizon H the network is built for.
    pub fn horizon(&self) -> usize {
        self.arch().horizon()
    }

    /// Sets L and H.
    pub fn set_window(&mut self, input_size: usize, horizon: usize) {
        self.arch_mut().set_window(input_size, horizon)
    }

    /// Historic exogenous columns the model reads.
    pub fn hist_exog(&self) -> &[String] {
        self.arch().hist_exog()
    }

    /// Future-known exogenous columns the model reads: predicting needs their next H values.
    pub fn futr_exog(&self) -> &[String] {
        self.arch().futr_exog()
    }

    /// Sets the exogenous columns (an error for architectures without exogenous inputs).
    pub fn set_exog(&mut self, hist: Vec<String>, futr: Vec<String>) -> Result<()> {
        self.arch_mut().set_exog(hist, futr)
    }

    /// Every weight of the network, with its shape and initialization.
    pub fn weight_specs(&self) -> Vec<WeightSpec> {
        self.arch().weights(self.train_config().loss.n_outputs())
    }

    /// Names and shapes of every weight of the network.
    pub fn weight_shapes(&self) -> Vec<(String, Vec<usize>)> {
        self.weight_specs()
            .into_iter()
            .map(|w| (w.name, w.shape))
            .collect()
    }

    /// Number of weights.
    pub fn param_count(&self) -> usize {
        self.weight_specs().iter().map(WeightSpec::len).sum()
    }

    /// Whether an imported tensor named `name` must be one of this architecture's weights.
    pub fn owns_weight(&self, name: &str) -> bool {
        self.arch().owns_weight(name)
    }

    /// The candle network.
    pub(crate) fn build(&self, vb: VarBuilder) -> Result<Box<dyn Network>> {
        self.arch().build(self.train_config().loss.n_outputs(), vb)
    }

    /// The native engine's training graph and the layout of its weights, when the
    /// architecture has one for this config.
    pub(crate) fn native_graph(
        &self,
    ) -> Result<
        Option<(
            Box<dyn crate::engine::TrainGraph>,
            crate::engine::ParamLayout,
        )>,
    > {
        let layout = crate::engine::ParamLayout::new(&self.weight_specs());
        Ok(self
            .arch()
            .native_graph(self.train_config().loss.n_outputs(), &layout)?
            .map(|g| (g, layout)))
    }

    /// The plain-Rust CPU path, when the architecture has one for this config.
    pub(crate) fn fast_path(
        &self,
        weights: &[(String, Tensor)],
    ) -> Result<Option<Box<dyn FastForward>>> {
        self.arch()
            .fast_path(self.train_config().loss.n_outputs(), weights)
    }

    /// The fixed-length description for the registry embedding.
    pub fn features(&self) -> ArchFeatures {
        self.arch().features(self.train_config().loss.n_outputs())
    }
}

impl serde::Serialize for NeuralSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut value = self.arch().to_json().map_err(serde::ser::Error::custom)?;
        match &mut value {
            Value::Object(map) => {
                let mut out = serde_json::Map::with_capacity(map.len() + 1);
                out.insert("model".into(), Value::String(self.name().into()));
                out.append(map);
                Value::Object(out).serialize(s)
            }
            _ => Err(serde::ser::Error::custom("a model config must be a struct")),
        }
    }
}

impl<'de> serde::Deserialize<'de> for NeuralSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        NeuralSpec::from_json(value).map_err(serde::de::Error::custom)
    }
}

impl std::str::FromStr for NeuralSpec {
    type Err = Error;
    /// Parses the JSON form.
    fn from_str(s: &str) -> Result<Self> {
        let value: Value =
            serde_json::from_str(s).map_err(|e| Error::invalid("model spec", e.to_string()))?;
        NeuralSpec::from_json(value).map_err(|e| Error::invalid("model spec", e))
    }
}
