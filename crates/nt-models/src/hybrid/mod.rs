//! The MSTL + neural hybrid: the target is decomposed with MSTL, a neural model is trained on
//! the seasonally adjusted series (the target minus its seasonal components), and its forecast
//! plus the seasonal components' forecast (each one's last period repeated) is the hybrid's.
//!
//! JSON: `{"model": "hybrid", "decompose": {"mstl": {"seasons": [24, 168]}}, "neural":
//! {"model": "nhits", "input_size": 96, "horizon": 24, ...}}`, the neural part in its own flat
//! shape.
//!
//! # No look-ahead, and a fixed window
//! Training decomposes the training rows once. Every forecast decomposes again, from **only the
//! last [`HybridSpec::window`] rows of the history it is given**: `max(L, cycles · S)` rows for
//! the neural input size `L` and the longest season `S` (`cycles` defaults to
//! [`DEFAULT_CYCLES`]). So a forecast depends on those rows alone (deterministic, nothing after
//! the history's end, the same from a server's fresh window as from a backtest), and its cost
//! is one decomposition of a bounded window, not of an ever-growing history. Four cycles: MSTL
//! needs two, and each extra one gives every seasonal phase another observation to smooth over,
//! while 672 hourly rows (weekly season) keep a decomposition around a millisecond.
//!
//! # Persistence
//! One payload file, the neural weights (`weights.safetensors`), beside `model.json` holding
//! the hybrid spec: the decomposition has no fitted state.

mod decompose;
mod model;

pub use decompose::{decompose, Decomposed};
pub(crate) use model::train_hybrid;
pub use model::HybridModel;

use nt_neural::NeuralSpec;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Error, ModelSpec, Result};

/// Seasonal cycles of the longest season each forecast decomposes (see the module doc).
pub const DEFAULT_CYCLES: usize = 4;

fn default_cycles() -> usize {
    DEFAULT_CYCLES
}

/// MSTL settings of the hybrid.
///
/// | name | default | purpose | range |
/// |---|---|---|---|
/// | `seasons` | — | seasonal periods in rows (`[24, 168]` hourly) | non-empty, each ≥ 2, distinct |
/// | `cycles` | 4 | cycles of the longest season each forecast decomposes | ≥ 2 |
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MstlDecompose {
    /// Seasonal periods, in rows.
    pub seasons: Vec<usize>,
    /// Cycles of the longest season in the forecast window.
    #[serde(default = "default_cycles")]
    pub cycles: usize,
}

/// How the hybrid decomposes its target. JSON: `{"mstl": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
#[non_exhaustive]
pub enum Decompose {
    /// MSTL (Bandara, Hyndman & Bergmeir, 2021).
    Mstl(MstlDecompose),
}

/// The hybrid's spec: a decomposition and the neural model of the adjusted series.
#[derive(Debug, Clone, PartialEq)]
pub struct HybridSpec {
    /// How the target is decomposed.
    pub decompose: Decompose,
    /// The neural model trained on the seasonally adjusted series.
    pub neural: NeuralSpec,
}

impl HybridSpec {
    /// MSTL at `seasons` (the default cycles) under `neural`, validated.
    pub fn mstl(seasons: Vec<usize>, neural: NeuralSpec) -> Result<Self> {
        let spec = Self {
            decompose: Decompose::Mstl(MstlDecompose {
                seasons,
                cycles: DEFAULT_CYCLES,
            }),
            neural,
        };
        spec.validate()?;
        Ok(spec)
    }

    /// The seasonal periods.
    pub fn seasons(&self) -> &[usize] {
        match &self.decompose {
            Decompose::Mstl(m) => &m.seasons,
        }
    }

    /// Rows each forecast reads: `max(L, cycles · longest season)`.
    pub fn window(&self) -> usize {
        let Decompose::Mstl(m) = &self.decompose;
        let longest = m.seasons.iter().copied().max().unwrap_or(0);
        self.neural
            .input_size()
            .max(m.cycles.saturating_mul(longest))
    }

    /// Fewest history rows a forecast needs (the window: what the neural model reads and what
    /// the decomposition needs, over the same rows).
    pub fn min_history(&self) -> usize {
        self.window()
    }

    /// Checks the seasons (non-empty, each ≥ 2, distinct), the cycles (≥ 2) and the neural spec.
    pub fn validate(&self) -> Result<()> {
        let Decompose::Mstl(m) = &self.decompose;
        if m.seasons.is_empty() {
            return Err(Error::invalid(
                "decompose.mstl.seasons",
                "give at least one season, e.g. [24, 168] for hourly data",
            ));
        }
        if let Some(s) = m.seasons.iter().find(|s| **s < 2) {
            return Err(Error::invalid(
                "decompose.mstl.seasons",
                format!("each season must be at least 2 rows, got {s}"),
            ));
        }
        for (i, s) in m.seasons.iter().enumerate() {
            if m.seasons[..i].contains(s) {
                return Err(Error::invalid(
                    "decompose.mstl.seasons",
                    format!("season {s} is given twice"),
                ));
            }
        }
        if m.cycles < 2 {
            return Err(Error::invalid(
                "decompose.mstl.cycles",
                format!(
                    "MSTL needs at least 2 cycles of the longest season, got {}",
                    m.cycles
                ),
            ));
        }
        self.neural.validate()?;
        Ok(())
    }

    /// Parses the JSON form (`model` is `hybrid`), validated.
    pub fn from_json(mut value: Value) -> Result<Self> {
        let object = value
            .as_object_mut()
            .ok_or_else(|| Error::invalid("model spec", "hybrid: expected an object"))?;
        object.remove("model");
        let decompose = object.remove("decompose").ok_or_else(|| {
            Error::invalid(
                "decompose",
                "hybrid needs `decompose`, e.g. {\"mstl\": {\"seasons\": [24, 168]}}",
            )
        })?;
        let neural = object.remove("neural").ok_or_else(|| {
            Error::invalid(
                "neural",
                "hybrid needs `neural`, a neural model's spec, e.g. {\"model\": \"nhits\"}",
            )
        })?;
        if let Some(field) = object.keys().next() {
            return Err(Error::invalid(
                "model spec",
                format!("hybrid: unknown field `{field}`; expected model, decompose, neural"),
            ));
        }
        let decompose: Decompose = serde_json::from_value(decompose)
            .map_err(|e| Error::invalid("decompose", e.to_string()))?;
        let neural = match ModelSpec::from_json(neural)? {
            ModelSpec::Neural(n) => n,
            other => {
                return Err(Error::invalid(
                    "neural",
                    format!(
                        "`{}` is not a neural model; the hybrid's neural part is one of the neural models",
                        other.name()
                    ),
                ))
            }
        };
        let spec = Self { decompose, neural };
        spec.validate()?;
        Ok(spec)
    }

    /// The JSON form.
    pub fn to_json(&self) -> Result<Value> {
        let decompose = serde_json::to_value(&self.decompose)
            .map_err(|e| Error::invalid("decompose", e.to_string()))?;
        let neural = serde_json::to_value(&self.neural)
            .map_err(|e| Error::invalid("neural", e.to_string()))?;
        Ok(serde_json::json!({"model": "hybrid", "decompose": decompose, "neural": neural}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json() -> Value {
        serde_json::json!({"model": "hybrid", "decompose": {"mstl": {"seasons": [24, 168]}},
            "neural": {"model": "nhits", "input_size": 48, "horizon": 12}})
    }

    #[test]
    fn the_spec_round_trips_through_json_and_reports_its_window() {
        let spec: ModelSpec = serde_json::from_value(json()).unwrap();
        assert_eq!(spec.name(), "hybrid");
        let ModelSpec::Hybrid(h) = &spec else {
            panic!("{spec:?}")
        };
        assert_eq!(h.seasons(), [24, 168]);
        // 4 cycles of the weekly season (672 rows) exceed the neural input (48).
        assert_eq!(h.min_history(), 4 * 168);
        let back = serde_json::to_value(&spec).unwrap();
        assert_eq!(back["decompose"]["mstl"]["cycles"], 4, "{back}");
        assert_eq!(back["neural"]["model"], "nhits", "{back}");
        assert_eq!(serde_json::from_value::<ModelSpec>(back).unwrap(), spec);
        assert_eq!(spec.as_neural().map(|n| n.horizon()), Some(12));
    }

    #[test]
    fn bad_seasons_and_non_neural_parts_are_refused() {
        let cases = [
            (
                serde_json::json!({"mstl": {"seasons": []}}),
                "at least one season",
            ),
            (
                serde_json::json!({"mstl": {"seasons": [1, 24]}}),
                "at least 2",
            ),
            (serde_json::json!({"mstl": {"seasons": [24, 24]}}), "twice"),
            (
                serde_json::json!({"mstl": {"seasons": [24], "cycles": 1}}),
                "2 cycles",
            ),
            (
                serde_json::json!({"mstl": {"seasons": [24], "period": 3}}),
                "period",
            ),
            (serde_json::json!({"stl": {"seasons": [24]}}), "stl"),
        ];
        for (decompose, expected) in cases {
            let mut j = json();
            j["decompose"] = decompose.clone();
            let e = serde_json::from_value::<ModelSpec>(j)
                .unwrap_err()
                .to_string();
            assert!(e.contains(expected), "{decompose}: {e}");
        }
        let mut j = json();
        j["neural"] = serde_json::json!({"model": "ets"});
        let e = serde_json::from_value::<ModelSpec>(j)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a neural model"), "{e}");
        let mut j = json();
        j["seasons"] = serde_json::json!([24]);
        let e = serde_json::from_value::<ModelSpec>(j)
            .unwrap_err()
            .to_string();
        assert!(e.contains("seasons"), "{e}");
    }
}
