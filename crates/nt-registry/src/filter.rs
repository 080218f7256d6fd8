//! Metadata filters of the AgentDB protocol and their evaluation.
//!
//! JSON form, tagged by `op`: `{"op": "eq"|"ne"|"gt"|"gte"|"lt"|"lte", "field": F, "value": V}`,
//! `{"op": "in", "field": F, "values": [V, ...]}`, `{"op": "and"|"or", "filters": [...]}`.
//! [`Filter::from_json`] also reads a JSON array of filters as their `and` (the form the
//! published `nt-agentdb-client` sends).
//! `field` addresses a metadata key; dots descend into nested objects (`a.b.c`).
//!
//! Semantics: numbers compare numerically (`1` equals `1.0`), strings lexicographically, other
//! values only by equality. A missing field or incomparable types make `eq`, `gt`, `gte`, `lt`,
//! `lte` and `in` false and `ne` true. An empty `and` is true, an empty `or` false.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Error, Result};

/// A metadata filter (see the module docs for the JSON form and semantics).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase", deny_unknown_fields)]
pub enum Filter {
    /// Field equals value.
    Eq {
        /// Dotted path.
        field: String,
        /// Value compared.
        value: Value,
    },
    /// Field differs from value (or is missing).
    Ne {
        /// Dotted path.
        field: String,
        /// Value compared.
        value: Value,
    },
    /// Field greater than value.
    Gt {
        /// Dotted path.
        field: String,
        /// Value compared.
        value: Value,
    },
    /// Field greater than or equal to value.
    Gte {
        /// Dotted path.
        field: String,
        /// Value compared.
        value: Value,
    },
    /// Field less than value.
    Lt {
        /// Dotted path.
        field: String,
        /// Value compared.
        value: Value,
    },
    /// Field less than or equal to value.
    Lte {
        /// Dotted path.
        field: String,
        /// Value compared.
        value: Value,
    },
    /// Field equals one of the values.
    In {
        /// Dotted path.
        field: String,
        /// Accepted values.
        values: Vec<Value>,
    },
    /// Every sub-filter holds.
    And {
        /// Sub-filters.
        filters: Vec<Filter>,
    },
    /// At least one sub-filter holds.
    Or {
        /// Sub-filters.
        filters: Vec<Filter>,
    },
}

/// The first 64 characters of `v`'s JSON text (for error messages).
fn short(v: &Value) -> String {
    v.to_string().chars().take(64).collect()
}

/// Looks up a dotted path (`a.b.c`) in a JSON value.
pub fn lookup<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(doc, |v, key| v.get(key))
}

fn json_eq(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) if a.is_number() && b.is_number() => x == y,
        _ => a == b,
    }
}

/// Orders two JSON values when they are both numbers or both strings.
pub fn json_cmp(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

impl Filter {
    /// Parses a filter from JSON, naming what is malformed: one filter object, or an array of
    /// them meaning their `and` (`[]` matches everything). Unknown keys in a filter object are
    /// refused.
    pub fn from_json(v: &Value) -> Result<Self> {
        let one = |v: &Value, field: &str| -> Result<Filter> {
            if !v.is_object() {
                return Err(Error::invalid(
                    field,
                    format!(
                        "expected a filter object {{\"op\": ...}}, got `{}`",
                        short(v)
                    ),
                ));
            }
            serde_json::from_value(v.clone()).map_err(|e| Error::invalid(field, e.to_string()))
        };
        let f = match v {
            Value::Array(items) => Filter::And {
                filters: items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| one(v, &format!("filters[{i}]")))
                    .collect::<Result<_>>()?,
            },
            other => one(other, "filter")?,
        };
        f.validate()?;
        Ok(f)
    }

    /// Checks that every field path is non-empty and has no empty segment.
    pub fn validate(&self) -> Result<()> {
        match self {
            Filter::Eq { field, .. }
            | Filter::Ne { field, .. }
            | Filter::Gt { field, .. }
            | Filter::Gte { field, .. }
            | Filter::Lt { field, .. }
            | Filter::Lte { field, .. }
            | Filter::In { field, .. } => {
                if field.is_empty() || field.split('.').any(str::is_empty) {
                    return Err(Error::invalid(
                        "filter",
                        format!("field path `{field}` is empty or has an empty segment"),
                    ));
                }
                Ok(())
            }
            Filter::And { filters } | Filter::Or { filters } => {
                filters.iter().try_for_each(Filter::validate)
            }
        }
    }

    /// Whether `doc` (a metadata object) satisfies the filter.
    pub fn matches(&self, doc: &Value) -> bool {
        use std::cmp::Ordering::{Equal, Greater, Less};
        let cmp = |field: &str, value: &Value| lookup(doc, field).and_then(|v| json_cmp(v, value));
        match self {
            Filter::Eq { field, value } => lookup(doc, field).is_some_and(|v| json_eq(v, value)),
            Filter::Ne { field, value } => !lookup(doc, field).is_some_and(|v| json_eq(v, value)),
            Filter::Gt { field, value } => cmp(field, value) == Some(Greater),
            Filter::Gte { field, value } => matches!(cmp(field, value), Some(Greater | Equal)),
            Filter::Lt { field, value } => cmp(field, value) == Some(Less),
            Filter::Lte { field, value } => matches!(cmp(field, value), Some(Less | Equal)),
            Filter::In { field, values } => {
                lookup(doc, field).is_some_and(|v| values.iter().any(|x| json_eq(v, x)))
            }
            Filter::And { filters } => filters.iter().all(|f| f.matches(doc)),
            Filter::Or { filters } => filters.iter().any(|f| f.matches(doc)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn f(v: Value) -> Filter {
        Filter::from_json(&v).unwrap()
    }

    #[test]
    fn every_op_on_nested_paths() {
        let doc = json!({"kind": "nhits", "m": {"mae": 0.5, "steps": 10}, "tags": {"env": "prod"}});
        assert!(f(json!({"op": "eq", "field": "kind", "value": "nhits"})).matches(&doc));
        assert!(f(json!({"op": "eq", "field": "m.steps", "value": 10.0})).matches(&doc));
        assert!(f(json!({"op": "ne", "field": "kind", "value": "nbeats"})).matches(&doc));
        assert!(f(json!({"op": "ne", "field": "missing", "value": 1})).matches(&doc));
        assert!(f(json!({"op": "gt", "field": "m.mae", "value": 0.4})).matches(&doc));
        assert!(!f(json!({"op": "gt", "field": "m.mae", "value": 0.5})).matches(&doc));
        assert!(f(json!({"op": "gte", "field": "m.mae", "value": 0.5})).matches(&doc));
        assert!(f(json!({"op": "lt", "field": "m.steps", "value": 11})).matches(&doc));
        assert!(f(json!({"op": "lte", "field": "m.steps", "value": 10})).matches(&doc));
        assert!(!f(json!({"op": "lt", "field": "kind", "value": 3})).matches(&doc));
        assert!(f(json!({"op": "gt", "field": "kind", "value": "a"})).matches(&doc));
        assert!(
            f(json!({"op": "in", "field": "tags.env", "values": ["dev", "prod"]})).matches(&doc)
        );
        assert!(!f(json!({"op": "in", "field": "tags.env", "values": ["dev"]})).matches(&doc));
        let and = json!({"op": "and", "filters": [
            {"op": "eq", "field": "kind", "value": "nhits"},
            {"op": "lt", "field": "m.mae", "value": 0.1}]});
        assert!(!f(and).matches(&doc));
        let or = json!({"op": "or", "filters": [
            {"op": "eq", "field": "kind", "value": "nbeats"},
            {"op": "lt", "field": "m.mae", "value": 1}]});
        assert!(f(or).matches(&doc));
        assert!(f(json!({"op": "and", "filters": []})).matches(&doc));
        assert!(!f(json!({"op": "or", "filters": []})).matches(&doc));
    }

    #[test]
    fn an_array_of_filters_is_their_and() {
        let doc = json!({"kind": "nhits", "m": {"mae": 0.5}});
        let both = json!([
            {"op": "eq", "field": "kind", "value": "nhits"},
            {"op": "lt", "field": "m.mae", "value": 1}]);
        assert!(f(both).matches(&doc));
        let one_fails = json!([
            {"op": "eq", "field": "kind", "value": "nhits"},
            {"op": "gt", "field": "m.mae", "value": 1}]);
        assert!(!f(one_fails).matches(&doc));
        assert!(f(json!([])).matches(&doc));
        let e = Filter::from_json(&json!([{"op": "eq", "field": "kind"}])).unwrap_err();
        assert!(e.to_string().contains("filters[0]"), "{e}");
    }

    #[test]
    fn malformed_filters_are_invalid_input() {
        for bad in [
            json!({"op": "between", "field": "a", "value": 1}),
            json!({"op": "eq", "field": "a"}),
            json!({"op": "in", "field": "a", "value": 1}),
            json!({"op": "eq", "field": "", "value": 1}),
            json!({"op": "and", "filters": [{"op": "eq", "field": "a..b", "value": 1}]}),
            json!([1, 2]),
            json!([{"op": "eq", "field": "a", "value": 1}, {"op": "eq", "field": "a"}]),
            json!([[{"op": "eq", "field": "a", "value": 1}]]),
            json!({"op": "eq", "field": "a", "value": 1, "extra": true}),
            json!("eq"),
        ] {
            let e = Filter::from_json(&bad).unwrap_err();
            assert!(e.is_bad_input(), "{bad}: {e}");
        }
    }
}
