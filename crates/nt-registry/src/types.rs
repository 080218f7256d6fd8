//! The registry's records: stages, versions, summaries, events and model references.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::profile::DataProfile;
use crate::{Error, Result};

/// A version's lifecycle stage. At most one version per model name is `production`.
/// JSON and text form: lowercase (`none`, `staging`, `production`, `archived`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Freshly registered, not promoted.
    #[default]
    None,
    /// Candidate under evaluation.
    Staging,
    /// The version served by default (at most one per name).
    Production,
    /// Retired; kept for lineage and rollback.
    Archived,
}

impl Stage {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::None => "none",
            Stage::Staging => "staging",
            Stage::Production => "production",
            Stage::Archived => "archived",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Stage {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "none" => Ok(Stage::None),
            "staging" => Ok(Stage::Staging),
            "production" => Ok(Stage::Production),
            "archived" => Ok(Stage::Archived),
            _ => Err(Error::invalid(
                "stage",
                format!("`{s}` is not one of none, staging, production, archived"),
            )),
        }
    }
}

/// Which version of a model a reference means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VersionSelector {
    /// The highest version number still registered.
    #[default]
    Latest,
    /// The version in the `production` stage.
    Production,
    /// An explicit version number (≥ 1).
    Number(u32),
}

impl FromStr for VersionSelector {
    type Err = Error;
    /// Parses `latest`, `production` or a version number ≥ 1.
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "latest" => Ok(VersionSelector::Latest),
            "production" => Ok(VersionSelector::Production),
            _ => match s.parse::<u32>() {
                Ok(n) if n >= 1 => Ok(VersionSelector::Number(n)),
                _ => Err(Error::invalid(
                    "version",
                    format!("`{s}` is not `latest`, `production` or a version number ≥ 1"),
                )),
            },
        }
    }
}

impl fmt::Display for VersionSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VersionSelector::Latest => f.write_str("latest"),
            VersionSelector::Production => f.write_str("production"),
            VersionSelector::Number(n) => write!(f, "{n}"),
        }
    }
}

/// Checks a model (or collection) name: 1 to 128 characters of `A-Z a-z 0-9 _ - .`, not
/// starting with `.`.
///
/// A leading dot is refused (and with it the names made only of dots, `.` and `..`): such a
/// name reads as a hidden file or as the current or parent directory wherever it becomes a
/// path component (a model directory, an export, a URL path segment that clients normalize).
pub fn validate_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 128 {
        return Err(Error::invalid(
            "model name",
            format!("`{name}` must have 1 to 128 characters"),
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        return Err(Error::invalid(
            "model name",
            format!("`{name}` contains `{c}`; use letters, digits, `_`, `-` or `.`"),
        ));
    }
    if name.starts_with('.') {
        return Err(Error::invalid(
            "model name",
            format!(
                "`{name}` starts with `.`; a name must start with a letter, digit, `_` or `-` \
                 (a leading dot reads as a hidden file, and `.` and `..` as directories, where \
                 the name becomes a path)"
            ),
        ));
    }
    Ok(())
}

/// Parses a model reference, the one rule the CLI and the server share: `NAME` is the
/// production version, `NAME@3` version 3, `NAME@latest` the newest version still registered,
/// and `NAME@production` (the same as a bare `NAME`) the production version. The name is
/// checked with [`validate_name`]; a bad name or selector is [`Error::InvalidInput`] on the
/// field `model reference`.
pub fn parse_model_ref(s: &str) -> Result<(String, VersionSelector)> {
    let (name, sel) = match s.split_once('@') {
        None => (s, VersionSelector::Production),
        Some((name, v)) => (
            name,
            v.parse().map_err(|_| {
                Error::invalid(
                    "model reference",
                    format!("`{s}`: expected NAME, NAME@VERSION, NAME@latest or NAME@production"),
                )
            })?,
        ),
    };
    validate_name(name).map_err(|e| match e {
        Error::InvalidInput { reason, .. } => Error::invalid("model reference", reason),
        other => other,
    })?;
    Ok((name.to_string(), sel))
}

/// Parses `NAME@N`, an explicit version (what promote, archive and delete need).
pub fn parse_exact_ref(s: &str) -> Result<(String, u32)> {
    match parse_model_ref(s)? {
        (name, VersionSelector::Number(v)) if s.contains('@') => Ok((name, v)),
        _ => Err(Error::invalid(
            "model reference",
            format!("`{s}`: expected NAME@VERSION with an explicit version number"),
        )),
    }
}

/// One registered version of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelVersion {
    /// Model name.
    pub name: String,
    /// Version number, 1-based, increasing per name; numbers are never reused after a delete.
    pub version: u32,
    /// Lifecycle stage.
    pub stage: Stage,
    /// Registration time, UTC RFC 3339.
    pub created_at: String,
    /// Model name in its spec (`ets`, `nhits`, `dlinear`, ...).
    pub kind: String,
    /// The model's typed spec (JSON: the flat `{"model": "...", ...}` form).
    pub spec: nt_models::ModelSpec,
    /// Columns the model was trained on.
    pub targets: Vec<String>,
    /// History values one forecast needs (a neural model's input window).
    pub input_size: usize,
    /// Longest horizon it forecasts; 0 when any horizon is allowed (most classical models).
    pub horizon: usize,
    /// Metrics: those from training (`steps`, `final_train_loss`, `best_val_loss`, `best_step`)
    /// merged with those given at registration (e.g. `val_mae`, `rw_mae`, `skill`).
    pub metrics: BTreeMap<String, f64>,
    /// Free-form tags.
    pub tags: BTreeMap<String, String>,
    /// The version of the same name this one was fine-tuned from.
    pub parent: Option<u32>,
    /// sha256 of the training data, from the model directory.
    pub data_fingerprint: Option<String>,
    /// sha256 of the weights blob (`blobs/<sha256>`), checked on every load.
    pub weights_sha256: String,
    /// Statistics of the training data, when given at registration.
    pub profile: Option<DataProfile>,
    /// The similarity embedding ([`crate::embedding`]; length [`crate::EMBEDDING_DIM`]).
    pub embedding: Vec<f32>,
}

impl ModelVersion {
    /// `name@version`.
    pub fn reference(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }
}

/// One row per model name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelSummary {
    /// Model name.
    pub name: String,
    /// Number of versions still registered.
    pub versions: u32,
    /// Highest version number still registered.
    pub latest: u32,
    /// The production version, if any.
    pub production: Option<u32>,
}

/// What registration adds to the model directory's own content.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RegisterRequest {
    /// Training-data statistics (feeds the embedding and `recommend`).
    pub profile: Option<DataProfile>,
    /// Extra metrics (e.g. `val_mae`, `rw_mae`, `skill`); they override training metrics of the
    /// same name.
    pub metrics: BTreeMap<String, f64>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// The version of the same name this one was fine-tuned from (must exist).
    pub parent: Option<u32>,
    /// Initial stage; `production` demotes the current production version to `archived`.
    pub stage: Stage,
    /// The drift reference (training distributions, validation residuals), stored with the
    /// version in the same transaction; `None` registers without one.
    pub reference: Option<nt_eval::drift::ReferenceProfile>,
}

/// The kinds of events in the append-only log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    /// A model was trained (recorded by callers that train).
    Trained,
    /// A version was registered.
    Registered,
    /// A version was promoted to production.
    Promoted,
    /// A version moved to another stage (staging, archived, none; or demoted by a promotion).
    StageChanged,
    /// Monitoring raised a drift alarm on a version (once per episode).
    DriftAlarm,
    /// A drift episode ended: the monitored statistics came back under the alarm thresholds.
    DriftCleared,
    /// A model's traffic policy (canary or shadow version) was set or cleared.
    TrafficChanged,
    /// A version was deleted.
    Deleted,
}

impl EventKind {
    /// The kebab-case name (`drift-alarm`).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Trained => "trained",
            EventKind::Registered => "registered",
            EventKind::Promoted => "promoted",
            EventKind::StageChanged => "stage-changed",
            EventKind::DriftAlarm => "drift-alarm",
            EventKind::DriftCleared => "drift-cleared",
            EventKind::TrafficChanged => "traffic-changed",
            EventKind::Deleted => "deleted",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "trained" => EventKind::Trained,
            "registered" => EventKind::Registered,
            "promoted" => EventKind::Promoted,
            "stage-changed" => EventKind::StageChanged,
            "drift-alarm" => EventKind::DriftAlarm,
            "drift-cleared" => EventKind::DriftCleared,
            "traffic-changed" => EventKind::TrafficChanged,
            "deleted" => EventKind::Deleted,
            _ => {
                return Err(Error::invalid(
                    "event kind",
                    format!("`{s}` is not a known event kind"),
                ))
            }
        })
    }
}

/// One entry of the append-only event log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Increasing id (SQLite rowid, never reused).
    pub id: u64,
    /// UTC time, RFC 3339 with milliseconds.
    pub at: String,
    /// Model name.
    pub name: String,
    /// Version, when the event concerns one.
    pub version: Option<u32>,
    /// What happened.
    pub kind: EventKind,
    /// Event-specific details (stage moves, metrics, alarm payloads).
    pub details: serde_json::Value,
}

/// A neighbour found by [`crate::Registry::similar`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimilarModel {
    /// Cosine similarity of the embeddings, in [-1, 1].
    pub score: f32,
    /// The neighbouring version (embedding included).
    pub model: ModelVersion,
}

/// A configuration proposed by [`crate::Registry::recommend`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// Cosine similarity of the data profiles (the data block of the embeddings), in [-1, 1].
    pub data_similarity: f32,
    /// The model's skill against the random walk (`1 - mae / rw_mae`), when recorded.
    pub skill: Option<f64>,
    /// The ranking score: `data_similarity`, plus `0.25 * clamp(skill, -1, 1)` when known.
    pub score: f32,
    /// The recommended version; its `spec` is the configuration to reuse.
    pub model: ModelVersion,
}

/// What [`crate::Registry::gc`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GcReport {
    /// Blobs no registered version references, deleted.
    pub removed_blobs: usize,
    /// Bytes freed by them.
    pub freed_bytes: u64,
    /// Blobs still referenced and kept.
    pub kept_blobs: usize,
    /// Abandoned temporary files (from writers killed mid-write) deleted.
    pub removed_temp_files: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_name_means_the_production_version() {
        let r = |s: &str| parse_model_ref(s).map_err(|e| e.to_string());
        assert_eq!(r("ett"), Ok(("ett".into(), VersionSelector::Production)));
        assert_eq!(
            r("ett@production"),
            Ok(("ett".into(), VersionSelector::Production))
        );
        assert_eq!(r("ett@latest"), Ok(("ett".into(), VersionSelector::Latest)));
        assert_eq!(r("ett@3"), Ok(("ett".into(), VersionSelector::Number(3))));
        for bad in ["ett@0", "ett@", "ett@x", "@3", "", "a b@1", "..@1"] {
            let e = parse_model_ref(bad).unwrap_err();
            assert!(
                matches!(&e, Error::InvalidInput { field, .. } if field == "model reference"),
                "{bad}: {e}"
            );
        }
        assert_eq!(parse_exact_ref("ett@2").ok(), Some(("ett".into(), 2)));
        assert!(parse_exact_ref("ett").is_err());
        assert!(parse_exact_ref("ett@latest").is_err());
    }

    #[test]
    fn names_of_dots_or_starting_with_a_dot_are_refused() {
        for bad in [".", "..", "...", ".hidden", ".a.b"] {
            let e = validate_name(bad).unwrap_err().to_string();
            assert!(e.contains("starts with `.`"), "{bad}: {e}");
        }
        for good in ["a.b", "ett-1", "_x", "v1.2.3", "a..b", "x."] {
            assert!(validate_name(good).is_ok(), "{good}");
        }
    }
}
