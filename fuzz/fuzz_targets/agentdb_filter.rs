//! The AgentDB metadata filter parser (`nt_registry::Filter::from_json`, `validate`,
//! `matches`) on arbitrary JSON, as the `/agentdb` search and query routes receive it. A
//! filter that parses must validate, print back to JSON that parses to the same filter, and
//! obey the documented semantics on a few documents (and on the input itself taken as one):
//! `ne` is the negation of `eq`; `in` with one value is `eq`; `and`/`or` of one filter is that
//! filter; `gt` implies `gte` and `ne` and excludes `lt`/`lte`; `gte` and `lte` together imply
//! `eq`. A rejected filter's message names the filter.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nt_registry::Filter;
use serde_json::{json, Value};

/// Documents with nested objects, numbers of each kind, strings, booleans, nulls and arrays.
fn documents() -> Vec<Value> {
    vec![
        json!({}),
        json!({"kind": "a", "n": 1, "x": 1.0, "ok": true, "none": null, "tags": ["a", "b"]}),
        json!({"kind": "b", "n": 2.5, "nested": {"a": {"b": 3}}, "big": 18446744073709551615u64}),
        json!({"n": -9223372036854775808i64, "kind": "", "ok": false, "nested": {"a": 1}}),
        json!([1, 2, 3]),
        json!("text"),
    ]
}

/// Every comparison of one field against one value, for the semantic checks.
fn comparisons(field: &str, value: &Value) -> [Filter; 6] {
    let (field, value) = (field.to_string(), value.clone());
    [
        Filter::Eq {
            field: field.clone(),
            value: value.clone(),
        },
        Filter::Ne {
            field: field.clone(),
            value: value.clone(),
        },
        Filter::Gt {
            field: field.clone(),
            value: value.clone(),
        },
        Filter::Gte {
            field: field.clone(),
            value: value.clone(),
        },
        Filter::Lt {
            field: field.clone(),
            value: value.clone(),
        },
        Filter::Lte { field, value },
    ]
}

fn check_semantics(filter: &Filter, doc: &Value) {
    let m = filter.matches(doc);
    let one = vec![filter.clone()];
    assert_eq!(
        Filter::And {
            filters: one.clone()
        }
        .matches(doc),
        m,
        "and[f] != f"
    );
    assert_eq!(Filter::Or { filters: one }.matches(doc), m, "or[f] != f");
    let pair = match filter {
        Filter::Eq { field, value }
        | Filter::Ne { field, value }
        | Filter::Gt { field, value }
        | Filter::Gte { field, value }
        | Filter::Lt { field, value }
        | Filter::Lte { field, value } => Some((field, value)),
        Filter::In { field, values } => values.first().map(|v| (field, v)),
        _ => None,
    };
    let Some((field, value)) = pair else { return };
    let [eq, ne, gt, gte, lt, lte] = comparisons(field, value).map(|f| f.matches(doc));
    assert_eq!(ne, !eq, "ne is not the negation of eq on {field} {value}");
    let in_one = Filter::In {
        field: field.clone(),
        values: vec![value.clone()],
    };
    assert_eq!(in_one.matches(doc), eq, "in [v] != eq v on {field} {value}");
    assert!(
        !gt || (gte && ne && !lt && !lte),
        "gt inconsistent on {field} {value}"
    );
    assert!(
        !lt || (lte && ne && !gt && !gte),
        "lt inconsistent on {field} {value}"
    );
    assert!(
        !(gte && lte) || eq,
        "gte and lte but not eq on {field} {value}"
    );
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    match Filter::from_json(&input) {
        Ok(filter) => {
            filter.validate().expect("a parsed filter validates");
            let printed = serde_json::to_value(&filter).expect("a filter serializes");
            let again = Filter::from_json(&printed).expect("a filter's own JSON parses");
            assert_eq!(again, filter, "round trip through {printed}");
            for doc in documents().iter().chain([&input]) {
                check_semantics(&filter, doc);
            }
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.contains("filter"),
                "the error does not name the filter: {msg}"
            );
        }
    }
});
