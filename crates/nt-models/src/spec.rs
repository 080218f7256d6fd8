//! [`ModelSpec`]: one JSON shape for every model, classical or neural, and the catalog of names
//! the CLI's menu and help are built from.

use nt_classical::{ClassicalOptions, ClassicalSpec};
use nt_neural::{Family, NeuralSpec};
use serde_json::Value;

use crate::calibrated::CalibratedSpec;
use crate::ensemble::{EnsembleSpec, ENSEMBLE};
use crate::hybrid::HybridSpec;
use crate::intervals::IntervalSpec;
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
    /// Any other model with calibrated intervals (conformal): the base's flat JSON plus an
    /// `intervals` object. Wraps its base, so it composes with later wrapper kinds.
    Calibrated(Box<CalibratedSpec>),
    /// The MSTL + neural hybrid: a neural model of the seasonally adjusted series plus the
    /// seasonal components' forecast. JSON: `{"model": "hybrid", "decompose": {"mstl":
    /// {"seasons": [24, 168]}}, "neural": {"model": "nhits", ...}}`.
    Hybrid(Box<HybridSpec>),
    /// An ensemble of member models whose forecasts are combined (mean, median, inverse-error
    /// or convex weights learned on a validation tail). JSON: `{"model": "ensemble",
    /// "members": [spec, ...], "combiner": "convex", "horizon": 12}`; see [`EnsembleSpec`].
    Ensemble(Box<EnsembleSpec>),
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
    out.push(Entry {
        name: "hybrid",
        summary: "MSTL + neural hybrid: a neural model (--neural, default nhits) of the seasonally adjusted series plus each seasonal component's last period repeated (--seasons, default from the time step)",
        family: Family::Mlp,
        neural: true,
    });
    out.push(Entry {
        name: ENSEMBLE,
        summary: "ensemble of member models (--members, default ets,theta,seasonal-naive) combined by --combiner mean|median|inverse-error|convex, weights learned on a validation tail",
        family: Family::Statistical,
        neural: false,
    });
    out
}

/// The hybrid's seasons for a data set whose season (from its time step) is `season`: the day
/// and the week of hourly (24, 168) and 15-minute (96, 672) data, else that one season (5 for
/// trading days, 7 for calendar days). A season below 2 is an error (none to remove).
pub fn hybrid_seasons(season: usize) -> Result<Vec<usize>> {
    match season {
        24 => Ok(vec![24, 168]),
        96 => Ok(vec![96, 672]),
        s if s >= 2 => Ok(vec![s]),
        s => Err(Error::invalid(
            "seasons",
            format!("the data's season is {s} row: give the hybrid's seasons (e.g. 24,168)"),
        )),
    }
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
            ModelSpec::Calibrated(c) => c.base.name(),
            ModelSpec::Hybrid(_) => "hybrid",
            ModelSpec::Ensemble(_) => ENSEMBLE,
        }
    }

    /// Broad kind.
    pub fn family(&self) -> Family {
        match self {
            ModelSpec::Classical(ClassicalSpec::ElasticNet(_)) => Family::Linear,
            ModelSpec::Classical(_) => Family::Statistical,
            ModelSpec::Neural(n) => n.family(),
            ModelSpec::Calibrated(c) => c.base.family(),
            ModelSpec::Hybrid(h) => h.neural.family(),
            ModelSpec::Ensemble(e) => e
                .members
                .first()
                .map_or(Family::Statistical, ModelSpec::family),
        }
    }

    /// Checks the configuration.
    pub fn validate(&self) -> Result<()> {
        match self {
            ModelSpec::Classical(c) => Ok(c.validate()?),
            ModelSpec::Neural(n) => Ok(n.validate()?),
            ModelSpec::Calibrated(c) => c.validate(),
            ModelSpec::Hybrid(h) => h.validate(),
            ModelSpec::Ensemble(e) => e.validate(),
        }
    }

    /// The neural spec, for a neural model (also under calibrated intervals, and the neural part
    /// of a hybrid: what the training flags configure).
    pub fn as_neural(&self) -> Option<&NeuralSpec> {
        match self {
            ModelSpec::Neural(n) => Some(n),
            ModelSpec::Classical(_) => None,
            ModelSpec::Calibrated(c) => c.base.as_neural(),
            ModelSpec::Hybrid(h) => Some(&h.neural),
            ModelSpec::Ensemble(_) => None,
        }
    }

    /// The model under any wrapper (calibrated intervals): the spec whose kind trains it.
    pub fn base(&self) -> &ModelSpec {
        match self {
            ModelSpec::Calibrated(c) => c.base.base(),
            other => other,
        }
    }

    /// This spec with its intervals made by `intervals` (replacing calibrated ones, if any),
    /// validated.
    pub fn with_intervals(self, intervals: IntervalSpec) -> Result<ModelSpec> {
        let base = match self {
            ModelSpec::Calibrated(c) => c.base,
            other => other,
        };
        let spec = ModelSpec::Calibrated(Box::new(CalibratedSpec { base, intervals }));
        spec.validate()?;
        Ok(spec)
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
        if name == ENSEMBLE {
            let spec = EnsembleSpec::from_names(
                &crate::ensemble::DEFAULT_MEMBERS,
                crate::ensemble::Combiner::Mean,
                horizon,
                opts,
            )?;
            return Ok(ModelSpec::Ensemble(Box::new(spec)));
        }
        if name == "hybrid" {
            // NHITS of the adjusted series, the seasons from the classical season.
            let neural = NeuralSpec::from_name("nhits", opts.neural_input_size, horizon)
                .ok_or_else(|| Error::invalid("model", "nhits is not in the neural catalog"))?;
            let seasons = hybrid_seasons(opts.classical.season)?;
            return Ok(ModelSpec::Hybrid(Box::new(HybridSpec::mstl(
                seasons, neural,
            )?)));
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

    /// Parses the JSON form (flat, or the older nested neural form; with an `intervals`
    /// object, the model with calibrated intervals).
    pub fn from_json(mut value: Value) -> Result<ModelSpec> {
        if let Some(intervals) = value.as_object_mut().and_then(|o| o.remove("intervals")) {
            let intervals: IntervalSpec = serde_json::from_value(intervals)
                .map_err(|e| Error::invalid("intervals", e.to_string()))?;
            let base = ModelSpec::from_json(value)?;
            return base.with_intervals(intervals);
        }
        let name = value
            .get("model")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| Error::invalid("model spec", "missing string field `model`"))?;
        if name == "hybrid" {
            return Ok(ModelSpec::Hybrid(Box::new(HybridSpec::from_json(value)?)));
        }
        if name == ENSEMBLE {
            return Ok(ModelSpec::Ensemble(Box::new(EnsembleSpec::from_json(
                value,
            )?)));
        }
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
            ModelSpec::Hybrid(h) => {
                use serde::ser::Error as _;
                h.to_json().map_err(S::Error::custom)?.serialize(s)
            }
            ModelSpec::Ensemble(e) => {
                use serde::ser::Error as _;
                e.to_json().map_err(S::Error::custom)?.serialize(s)
            }
            ModelSpec::Calibrated(c) => {
                use serde::ser::Error as _;
                let mut value = serde_json::to_value(&c.base).map_err(S::Error::custom)?;
                let intervals = serde_json::to_value(&c.intervals).map_err(S::Error::custom)?;
                let Some(object) = value.as_object_mut() else {
                    return Err(S::Error::custom("a base spec serializes as an object"));
                };
                object.insert("intervals".into(), intervals);
                value.serialize(s)
            }
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
    fn calibrated_specs_round_trip_and_senseless_combinations_are_refused() {
        let json = serde_json::json!({"model": "ets", "season_length": 24,
            "intervals": {"method": "conformal", "levels": [0.8, 0.95], "horizon": 12}});
        let spec: ModelSpec = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(spec.name(), "ets");
        let ModelSpec::Calibrated(c) = &spec else {
            panic!("{spec:?}")
        };
        assert_eq!(c.intervals.levels, vec![0.8, 0.95]);
        assert!(matches!(spec.base(), ModelSpec::Classical(_)));
        let back = serde_json::to_value(&spec).unwrap();
        assert_eq!(back["intervals"], json["intervals"], "{back}");
        assert_eq!(serde_json::from_value::<ModelSpec>(back).unwrap(), spec);
        // A neural base keeps its flat shape and is still neural to the training flags.
        let n = serde_json::json!({"model": "dlinear", "input_size": 24, "horizon": 6,
            "intervals": {"method": "conformal"}});
        let spec: ModelSpec = serde_json::from_value(n).unwrap();
        assert_eq!(spec.as_neural().map(|n| n.horizon()), Some(6));
        let refused = [
            // Level outside (0, 1), a level twice, no level, an unknown method or field,
            // calibration rows or another horizon for a neural model.
            (
                serde_json::json!({"model": "naive", "intervals": {"method": "conformal", "levels": [80]}}),
                "strictly between 0 and 1",
            ),
            (
                serde_json::json!({"model": "naive", "intervals": {"method": "conformal", "levels": [0.8, 0.8]}}),
                "twice",
            ),
            (
                serde_json::json!({"model": "naive", "intervals": {"method": "conformal", "levels": []}}),
                "at least one level",
            ),
            (
                serde_json::json!({"model": "naive", "intervals": {"method": "bootstrap"}}),
                "bootstrap",
            ),
            (
                serde_json::json!({"model": "naive", "intervals": {"method": "conformal", "level": [0.9]}}),
                "level",
            ),
            (
                serde_json::json!({"model": "dlinear", "input_size": 24, "horizon": 6, "intervals": {"method": "conformal", "calibration_rows": 50}}),
                "validation tail",
            ),
            (
                serde_json::json!({"model": "dlinear", "input_size": 24, "horizon": 6, "intervals": {"method": "conformal", "horizon": 12}}),
                "forecasts 6 steps",
            ),
        ];
        for (json, expected) in refused {
            let e = serde_json::from_value::<ModelSpec>(json.clone())
                .unwrap_err()
                .to_string();
            assert!(e.contains(expected), "{json}: {e}");
        }
        // Intervals twice cannot be written in JSON; built by hand, they are refused.
        let inner = ModelSpec::Calibrated(Box::new(CalibratedSpec {
            base: ModelSpec::from_name("naive", 4, &opts()).unwrap(),
            intervals: IntervalSpec::conformal(vec![0.8]),
        }));
        let twice = ModelSpec::Calibrated(Box::new(CalibratedSpec {
            base: inner,
            intervals: IntervalSpec::conformal(vec![0.9]),
        }));
        assert!(twice
            .validate()
            .unwrap_err()
            .to_string()
            .contains("already"));
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
