//! [`ModelSpec`]: one JSON shape for every model, classical or neural, and the catalog of names
//! the CLI's menu and help are built from.

use nt_classical::{ClassicalOptions, ClassicalSpec};
use nt_neural::{Family, NeuralSpec};
use serde_json::Value;

use crate::{Error, Result};

/// Any model with its configuration. JSON is flat, the name in `model` beside the config's
/// fields: `{"model": "ets", "season_length": 24}`, `{"model": "dlinear", "input_size": 336,
/// "horizon": 96}`. The older neural form `{"model": "nhits", "config": {...}}` is read too.
/// Later kinds (ensembles) are further variants of this one enum.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
// A spec is built once per model and never sits in a hot path or a large collection: boxing the
// neural variant would only add noise to every match.
#[allow(clippy::large_enum_variant)]
pub enum ModelSpec {
    /// A classical model.
    Classical(ClassicalSpec),
    /// A neural network.
    Neural(NeuralSpec),
}

/// One model name the CLI accepts, with its summary (from the model's own definition).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Name after `--model` / in `--models`.
    pub name: &'static str,
    /// One line for `--help`.
    pub summary: &'static str,
    /// Broad kind.
    pub family: Family,
    /// Whether it is a neural network (trained by steps, with the training flags).
    pub neural: bool,
}

/// The settings a model named on the command line is configured from.
#[derive(Debug, Clone, PartialEq)]
pub struct NameOptions {
    /// Season, lags, horizon and interval levels of the classical models.
    pub classical: ClassicalOptions,
    /// Input window of the neural models.
    pub neural_input_size: usize,
}

/// Every model name, classical first, then the neural architectures and their presets.
pub fn catalog() -> Vec<Entry> {
    let mut out: Vec<Entry> = nt_classical::NAMES
        .iter()
        .map(|&name| Entry {
            name,
            summary: nt_classical::summary_of(name),
            family: if name == "elasticnet" {
                Family::Linear
            } else {
                Family::Statistical
            },
            neural: false,
        })
        .collect();
    out.extend(NeuralSpec::catalog().into_iter().map(|e| Entry {
        name: e.name,
        summary: e.summary,
        family: e.family,
        neural: true,
    }));
    out
}

/// Every model name, comma-separated (for error messages and help).
pub fn known_names() -> String {
    catalog()
        .iter()
        .map(|e| e.name)
        .collect::<Vec<_>>()
        .join(", ")
}

impl ModelSpec {
    /// The model's name (`ets`, `nhits`, `dlinear`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            ModelSpec::Classical(c) => c.name(),
            ModelSpec::Neural(n) => n.name(),
        }
    }

    /// Broad kind.
    pub fn family(&self) -> Family {
        match self {
            ModelSpec::Classical(ClassicalSpec::ElasticNet(_)) => Family::Linear,
            ModelSpec::Classical(_) => Family::Statistical,
            ModelSpec::Neural(n) => n.family(),
        }
    }

    /// Checks the configuration.
    pub fn validate(&self) -> Result<()> {
        match self {
            ModelSpec::Classical(c) => Ok(c.validate()?),
            ModelSpec::Neural(n) => Ok(n.validate()?),
        }
    }

    /// The neural spec, for a neural model.
    pub fn as_neural(&self) -> Option<&NeuralSpec> {
        match self {
            ModelSpec::Neural(n) => Some(n),
            ModelSpec::Classical(_) => None,
        }
    }

    /// The model called `name` (see [`catalog`]) configured from `opts` and its defaults, then
    /// validated. An unknown name is an error listing the known ones.
    pub fn from_name(name: &str, horizon: usize, opts: &NameOptions) -> Result<ModelSpec> {
        if nt_classical::NAMES.contains(&name) {
            let classical = ClassicalOptions {
                horizon,
                ..opts.classical.clone()
            };
            return Ok(ModelSpec::Classical(ClassicalSpec::from_name(
                name, &classical,
            )?));
        }
        match NeuralSpec::from_name(name, opts.neural_input_size, horizon) {
            Some(spec) => {
                spec.validate()?;
                Ok(ModelSpec::Neural(spec))
            }
            None => Err(Error::invalid(
                "model",
                format!("unknown model `{name}`; known: {}", known_names()),
            )),
        }
    }

    /// Parses the JSON form (flat, or the older nested neural form).
    pub fn from_json(value: Value) -> Result<ModelSpec> {
        let name = value
            .get("model")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| Error::invalid("model spec", "missing string field `model`"))?;
        if nt_classical::NAMES.contains(&name.as_str()) {
            serde_json::from_value::<ClassicalSpec>(value)
                .map(ModelSpec::Classical)
                .map_err(|e| Error::invalid("model spec", format!("{name}: {e}")))
        } else {
            NeuralSpec::from_json(value)
                .map(ModelSpec::Neural)
                .map_err(|e| Error::invalid("model spec", e))
        }
    }
}

impl serde::Serialize for ModelSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            ModelSpec::Classical(c) => c.serialize(s),
            ModelSpec::Neural(n) => n.serialize(s),
        }
    }
}

impl<'de> serde::Deserialize<'de> for ModelSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        ModelSpec::from_json(value).map_err(serde::de::Error::custom)
    }
}

impl From<NeuralSpec> for ModelSpec {
    fn from(n: NeuralSpec) -> Self {
        ModelSpec::Neural(n)
    }
}

impl From<ClassicalSpec> for ModelSpec {
    fn from(c: ClassicalSpec) -> Self {
        ModelSpec::Classical(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> NameOptions {
        NameOptions {
            classical: ClassicalOptions::default(),
            neural_input_size: 48,
        }
    }

    #[test]
    fn every_catalog_name_builds_and_round_trips_through_json() {
        for e in catalog() {
            let spec = ModelSpec::from_name(e.name, 12, &opts()).unwrap();
            let json = serde_json::to_value(&spec).unwrap();
            assert_eq!(json["model"], spec.name(), "{json}");
            assert!(json.get("config").is_none(), "flat shape: {json}");
            let back: ModelSpec = serde_json::from_value(json).unwrap();
            assert_eq!(back, spec, "{}", e.name);
            assert!(!e.summary.is_empty(), "{} has no summary", e.name);
        }
    }

    #[test]
    fn the_older_nested_neural_shape_still_reads() {
        let old = serde_json::json!({"model": "nhits", "config": {"input_size": 24, "horizon": 6}});
        let spec: ModelSpec = serde_json::from_value(old).unwrap();
        let ModelSpec::Neural(NeuralSpec::Nhits(c)) = &spec else {
            panic!("{spec:?}")
        };
        assert_eq!((c.input_size, c.horizon), (24, 6));
    }

    #[test]
    fn unknown_names_and_fields_say_what_is_known() {
        let e = ModelSpec::from_name("lstmx", 12, &opts())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("lstmx") && e.contains("dlinear") && e.contains("ets"),
            "{e}"
        );
        let bad = serde_json::json!({"model": "dlinear", "moving_avg": 5});
        let e = serde_json::from_value::<ModelSpec>(bad)
            .unwrap_err()
            .to_string();
        assert!(e.contains("moving_avg"), "{e}");
    }
}
