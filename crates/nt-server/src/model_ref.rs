//! Model references, the one rule the CLI and the server share (`nt_registry::parse_model_ref`):
//! `NAME` is the production version, `NAME@3` version 3, `NAME@latest` the newest version,
//! `NAME@production` the production version. The server reads them wherever it takes a model
//! name (the `{name}` path segment, a batch item's `model`), and a body's `version` may still
//! name the version, as long as it does not contradict the reference.

use crate::error::{Error, Result};
use crate::store::Selector;

/// A parsed model reference: the model's name and the version the reference selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ModelRef {
    /// The model name (checked by `nt_registry::validate_name`).
    pub(crate) name: String,
    /// The version the reference names.
    pub(crate) selector: Selector,
    /// Whether the reference carried an explicit `@...` part.
    pub(crate) explicit: bool,
}

impl ModelRef {
    /// Parses `s` (`NAME`, `NAME@N`, `NAME@latest`, `NAME@production`); a bad reference is a
    /// 422 on `field` saying what was expected.
    pub(crate) fn parse(s: &str, field: &str) -> Result<Self> {
        let (name, sel) = nt_registry::parse_model_ref(s).map_err(|e| match e {
            nt_registry::Error::InvalidInput { reason, .. } => Error::invalid(field, reason),
            other => Error::invalid(field, other.to_string()),
        })?;
        Ok(ModelRef {
            name,
            selector: match sel {
                nt_registry::VersionSelector::Production => Selector::Production,
                nt_registry::VersionSelector::Latest => Selector::Latest,
                nt_registry::VersionSelector::Number(n) => Selector::Number(n),
            },
            explicit: s.contains('@'),
        })
    }

    /// The version to serve when the body may also give `version` (at `version_field`): the
    /// body's number for a bare name, the reference's selector without one, and a 422 when both
    /// are given and differ (`m@3` with `"version": 4`, or `m@latest` with any `version`).
    /// Version 0 is a 422 (versions start at 1).
    pub(crate) fn with_version(
        &self,
        version: Option<u32>,
        version_field: &str,
    ) -> Result<Selector> {
        if version == Some(0) {
            return Err(Error::invalid(version_field, "versions start at 1, got 0"));
        }
        match (version, self.explicit, self.selector) {
            (None, _, sel) => Ok(sel),
            (Some(v), false, _) => Ok(Selector::Number(v)),
            (Some(v), true, Selector::Number(n)) if n == v => Ok(Selector::Number(n)),
            (Some(v), true, sel) => Err(Error::invalid(
                version_field,
                format!(
                    "the reference `{}@{}` already names a version and `version` is {v}; \
                     give the version once",
                    self.name,
                    sel.label()
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_and_body_versions_follow_one_rule() {
        let r = |s: &str, v: Option<u32>| {
            ModelRef::parse(s, "name")
                .and_then(|r| r.with_version(v, "version"))
                .map_err(|e| e.to_string())
        };
        assert_eq!(r("m", None), Ok(Selector::Production));
        assert_eq!(r("m@production", None), Ok(Selector::Production));
        assert_eq!(r("m@latest", None), Ok(Selector::Latest));
        assert_eq!(r("m@3", None), Ok(Selector::Number(3)));
        assert_eq!(r("m", Some(4)), Ok(Selector::Number(4)));
        assert_eq!(r("m@3", Some(3)), Ok(Selector::Number(3)));
        for (s, v) in [
            ("m@3", Some(4)),
            ("m@latest", Some(1)),
            ("m@production", Some(1)),
        ] {
            let e = r(s, v).unwrap_err();
            assert!(
                e.starts_with("version:") && e.contains("give the version once"),
                "{e}"
            );
        }
        assert!(r("m", Some(0)).unwrap_err().starts_with("version:"));
        for bad in ["m@0", "m@", "m@new", "..", ".m", "a b", ""] {
            assert!(r(bad, None).unwrap_err().starts_with("name:"), "{bad}");
        }
    }
}
