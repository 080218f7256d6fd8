//! Traffic policies: per model name, an optional canary version that answers a share of the
//! requests for the production version, and an optional shadow version that computes every such
//! request's forecast without answering it; plus rollback to the previous production version.
//!
//! The routing rule lives here ([`TrafficPolicy::canary_for_key`],
//! [`TrafficPolicy::canary_for_count`]) so that every server and the CLI route alike: a request
//! goes to the canary when `u < percent / 100`, where `u` in [0, 1) is the top 53 bits of
//! `splitmix64(fnv1a64(key) ^ splitmix64(seed))` for a request key, or of
//! `splitmix64(seed) + n · 0x9e3779b97f4a7c15` (mod 2^64: a golden-ratio Weyl sequence started at
//! a hash of the seed, the state sequence of splitmix64) for the `n`-th request without a key.
//! Keys spread like a hash (a share of distinct keys within sampling error); keyless requests
//! are equidistributed, so any run of N of them, and any arithmetic subsequence (a client that
//! cycles through k strategies), reaches the canary's share within about log(N)/N: a 10% canary
//! answers 10% ± 0.1% of 10,000 requests whatever the seed. Both hashes are written out here (never `std`'s `DefaultHasher`, whose output may change between Rust
//! releases), so a key is routed to the same version by every build and every restart.
//!
//! Setting or clearing a policy bumps the registry's generation (servers reload it); promoting
//! or rolling back to a version that is the canary or the shadow, and deleting such a version,
//! remove that route in the same transaction, each with a `traffic-changed` event.

mod paired;

pub use paired::PairedPoint;

use rusqlite::{params, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::events::insert_event;
use crate::store::{json_text, now_rfc3339, parse_json, sql_err_path, Registry};
use crate::types::validate_name;
use crate::{Error, EventKind, Result, Stage, VersionSelector};

/// The tables this module owns, created by schema migration 4.
pub(crate) const TABLES: &str = "
CREATE TABLE IF NOT EXISTS traffic(
    name TEXT PRIMARY KEY,
    policy TEXT NOT NULL,
    updated_at TEXT NOT NULL);
";

/// A canary route: `version` answers `percent` percent of the requests for the production
/// version.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CanaryRoute {
    /// The canary version (must exist and not be the production version).
    pub version: u32,
    /// Its share of the requests, in percent: 0 < percent < 100 (e.g. 10.0).
    pub percent: f64,
}

/// A shadow route: `version` forecasts every request for the production version, off the
/// request's critical path; its forecasts are logged (role `shadow`) but never answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShadowRoute {
    /// The shadow version (must exist and not be the production version).
    pub version: u32,
}

/// A model's traffic policy. JSON: `{"canary": {"version": 3, "percent": 10.0}, "shadow":
/// {"version": 4}, "seed": 123}`; a policy with neither route is no policy.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct TrafficPolicy {
    /// The canary route, if any.
    #[serde(default)]
    pub canary: Option<CanaryRoute>,
    /// The shadow route, if any.
    #[serde(default)]
    pub shadow: Option<ShadowRoute>,
    /// The routing seed: the same seed and key always pick the same version. Default (when a
    /// caller gives none): [`TrafficPolicy::default_seed`] of the model name.
    #[serde(default)]
    pub seed: u64,
}

/// FNV-1a, 64 bits: a stable hash of bytes (the same on every platform and Rust release).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The splitmix64 finalizer of `x + 0x9e3779b97f4a7c15` (Steele, Lea & Flood, 2014): the
/// generator's output for the state `x`.
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The top 53 bits of `h` as a number in [0, 1).
fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

impl TrafficPolicy {
    /// The seed used when a caller sets a policy without one: the FNV-1a hash of the name, so
    /// a model's routing is the same wherever its policy is set.
    pub fn default_seed(name: &str) -> u64 {
        fnv1a64(name.as_bytes())
    }

    /// Whether the policy routes nothing (no canary, no shadow).
    pub fn is_empty(&self) -> bool {
        self.canary.is_none() && self.shadow.is_none()
    }

    /// Whether a request with the routing key `key` goes to the canary: sticky (the same key
    /// and seed always give the same answer), a `percent` share of distinct keys.
    pub fn canary_for_key(&self, key: &str) -> bool {
        self.canary.is_some_and(|c| {
            unit(splitmix64(fnv1a64(key.as_bytes()) ^ splitmix64(self.seed))) < c.percent / 100.0
        })
    }

    /// Whether the `n`-th request without a key (counted per model from 0) goes to the canary:
    /// the `n`-th point of a golden-ratio Weyl sequence started at `splitmix64(seed)`, so the
    /// canary's share holds closely over every run of requests (see the module docs).
    pub fn canary_for_count(&self, n: u64) -> bool {
        self.canary.is_some_and(|c| {
            let u = splitmix64(self.seed).wrapping_add(n.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            unit(u) < c.percent / 100.0
        })
    }

    /// The versions a policy names, for messages: `canary @3 (10%), shadow @4`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(c) = self.canary {
            parts.push(format!("canary @{} ({}%)", c.version, c.percent));
        }
        if let Some(s) = self.shadow {
            parts.push(format!("shadow @{}", s.version));
        }
        if parts.is_empty() {
            "no canary, no shadow".into()
        } else {
            parts.join(", ")
        }
    }

    /// Checks the policy for model `name`: each version it names must exist (`exists`) and not
    /// be the production version; the canary's percent must be a number with 0 < percent < 100;
    /// canary and shadow must differ. Errors are [`Error::InvalidInput`] naming the field
    /// (`canary.version`, `canary.percent`, `shadow.version`). Shared by every store, so one
    /// rule holds everywhere.
    pub fn check(
        &self,
        name: &str,
        exists: impl Fn(u32) -> bool,
        production: Option<u32>,
    ) -> Result<()> {
        let version = |field: &str, v: u32| -> Result<()> {
            if v == 0 {
                return Err(Error::invalid(field, "versions start at 1, got 0"));
            }
            if !exists(v) {
                return Err(Error::invalid(
                    field,
                    format!("{name}@{v} is not a registered version"),
                ));
            }
            if production == Some(v) {
                return Err(Error::invalid(
                    field,
                    format!(
                        "{name}@{v} is the production version; a canary or shadow must be another version"
                    ),
                ));
            }
            Ok(())
        };
        if let Some(c) = self.canary {
            version("canary.version", c.version)?;
            if !(c.percent.is_finite() && c.percent > 0.0 && c.percent < 100.0) {
                return Err(Error::invalid(
                    "canary.percent",
                    format!(
                        "expected a share in percent with 0 < percent < 100 (e.g. 10), got {}",
                        c.percent
                    ),
                ));
            }
        }
        if let Some(s) = self.shadow {
            version("shadow.version", s.version)?;
            if self.canary.is_some_and(|c| c.version == s.version) {
                return Err(Error::invalid(
                    "shadow.version",
                    format!(
                        "{name}@{} is already the canary; a shadow must be another version",
                        s.version
                    ),
                ));
            }
        }
        Ok(())
    }

    /// This policy without the routes to `version` (what promoting or deleting it leaves), and
    /// which routes were removed (`canary`, `shadow`).
    pub fn without_version(&self, version: u32) -> (TrafficPolicy, Vec<&'static str>) {
        let mut out = *self;
        let mut removed = Vec::new();
        if out.canary.is_some_and(|c| c.version == version) {
            out.canary = None;
            removed.push("canary");
        }
        if out.shadow.is_some_and(|s| s.version == version) {
            out.shadow = None;
            removed.push("shadow");
        }
        (out, removed)
    }
}

/// The stored policy of `name`, inside a transaction.
fn read_policy(tx: &Transaction<'_>, name: &str) -> Result<Option<TrafficPolicy>> {
    let text: Option<String> = tx
        .query_row("SELECT policy FROM traffic WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .optional()
        .map_err(|e| sql_err_path(tx, e))?;
    text.map(|t| parse_json(&t, &format!("traffic policy of {name}")))
        .transpose()
}

/// Stores `policy` for `name` (deleting the row when it routes nothing).
fn write_policy(tx: &Transaction<'_>, name: &str, policy: &TrafficPolicy) -> Result<()> {
    if policy.is_empty() {
        tx.execute("DELETE FROM traffic WHERE name = ?1", [name])
    } else {
        tx.execute(
            "INSERT INTO traffic(name, policy, updated_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT(name) DO UPDATE SET policy = excluded.policy, \
             updated_at = excluded.updated_at",
            params![name, json_text(policy)?, now_rfc3339()],
        )
    }
    .map_err(|e| sql_err_path(tx, e))?;
    Ok(())
}

/// Removes the routes of `name`'s policy that send traffic to `version` (it became the
/// production version, or was deleted), with a `traffic-changed` event saying why. Called in
/// the transaction of the change.
pub(crate) fn drop_routes_to(
    tx: &Transaction<'_>,
    name: &str,
    version: u32,
    reason: &str,
) -> Result<()> {
    let Some(policy) = read_policy(tx, name)? else {
        return Ok(());
    };
    let (left, removed) = policy.without_version(version);
    if removed.is_empty() {
        return Ok(());
    }
    write_policy(tx, name, &left)?;
    insert_event(
        tx,
        name,
        Some(version),
        EventKind::TrafficChanged,
        &json!({"removed": removed, "reason": reason, "previous": policy,
                "policy": (!left.is_empty()).then_some(left)}),
    )?;
    Ok(())
}

/// The version that was production before `current`, from the versions of the `promoted`
/// events (oldest first): the newest promotion before the latest promotion of `current` whose
/// version differs from it and `exists`.
fn previous_production(
    promoted: &[u32],
    current: u32,
    exists: impl Fn(u32) -> bool,
) -> Option<u32> {
    let before = match promoted.iter().rposition(|&v| v == current) {
        Some(i) => &promoted[..i],
        None => promoted,
    };
    before
        .iter()
        .rev()
        .find(|&&v| v != current && exists(v))
        .copied()
}

impl Registry {
    /// The traffic policy of `name` (`None` when it has none). [`Error::NotFound`] for a model
    /// with no versions.
    pub fn traffic(&self, name: &str) -> Result<Option<TrafficPolicy>> {
        validate_name(name)?;
        self.versions(name)?;
        let text: Option<String> = {
            let conn = self.conn();
            conn.query_row("SELECT policy FROM traffic WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.sql(e))?
        };
        text.map(|t| parse_json(&t, &format!("traffic policy of {name}")))
            .transpose()
    }

    /// Sets the traffic policy of `name` (checked by [`TrafficPolicy::check`] against the
    /// registered versions and the production version, in the same transaction), with a
    /// `traffic-changed` event; bumps the generation so servers reload it. A policy with
    /// neither route clears it ([`clear_traffic`](Self::clear_traffic)). Returns the stored
    /// policy.
    pub fn set_traffic(&self, name: &str, policy: TrafficPolicy) -> Result<TrafficPolicy> {
        validate_name(name)?;
        if policy.is_empty() {
            self.clear_traffic(name)?;
            return Ok(policy);
        }
        self.write(|tx| {
            let versions: Vec<(u32, String)> = {
                let mut stmt = tx
                    .prepare("SELECT version, stage FROM versions WHERE name = ?1")
                    .map_err(|e| self.sql(e))?;
                let rows = stmt
                    .query_map([name], |r| Ok((r.get(0)?, r.get(1)?)))
                    .map_err(|e| self.sql(e))?;
                rows.collect::<rusqlite::Result<_>>()
                    .map_err(|e| self.sql(e))?
            };
            if versions.is_empty() {
                return Err(Error::not_found("model", name));
            }
            let production = versions
                .iter()
                .find(|(_, s)| s == Stage::Production.as_str())
                .map(|(v, _)| *v);
            policy.check(name, |v| versions.iter().any(|(x, _)| *x == v), production)?;
            let previous = read_policy(tx, name)?;
            write_policy(tx, name, &policy)?;
            insert_event(
                tx,
                name,
                None,
                EventKind::TrafficChanged,
                &json!({"policy": policy, "previous": previous}),
            )?;
            Ok(policy)
        })
    }

    /// Removes the traffic policy of `name` (every request then goes to the production
    /// version), with a `traffic-changed` event; returns the policy removed (`None`, and no
    /// event, when there was none).
    pub fn clear_traffic(&self, name: &str) -> Result<Option<TrafficPolicy>> {
        validate_name(name)?;
        self.versions(name)?;
        if self.traffic(name)?.is_none() {
            return Ok(None);
        }
        self.write(|tx| {
            let previous = read_policy(tx, name)?;
            if previous.is_some() {
                write_policy(tx, name, &TrafficPolicy::default())?;
                insert_event(
                    tx,
                    name,
                    None,
                    EventKind::TrafficChanged,
                    &json!({"policy": null, "previous": previous, "cleared": true}),
                )?;
            }
            Ok(previous)
        })
    }

    /// `(from, to)` of a [`rollback`](Self::rollback) without making it: the production
    /// version now, and the version that was production before it (from the `promoted` events
    /// of the log, skipping deleted versions). [`Error::InvalidInput`] on `name` when the model
    /// has no production version or no earlier one.
    pub fn rollback_target(&self, name: &str) -> Result<(u32, u32)> {
        validate_name(name)?;
        let current = match self.get(name, VersionSelector::Production) {
            Ok(v) => v.version,
            Err(e) if e.is_not_found() => {
                self.versions(name)?;
                return Err(Error::invalid(
                    "name",
                    format!("{name} has no production version to roll back from"),
                ));
            }
            Err(e) => return Err(e),
        };
        let (promoted, existing) = {
            let conn = self.conn();
            let promoted = promoted_versions(&conn, name).map_err(|e| self.sql(e))?;
            let existing = existing_versions(&conn, name).map_err(|e| self.sql(e))?;
            (promoted, existing)
        };
        previous_production(&promoted, current, |v| existing.contains(&v))
            .map(|to| (current, to))
            .ok_or_else(|| no_earlier(name, current))
    }

    /// Makes the version that was production before the current one production again (the
    /// current one is archived), recorded as a `promoted` event with `"rollback": true`, in one
    /// transaction that also removes a canary or shadow route to it. The version before is read
    /// from the `promoted` events of the log, skipping deleted versions; a second rollback
    /// undoes the first (as `kubectl rollout undo` does). Returns `(from, to)`.
    pub fn rollback(&self, name: &str) -> Result<(u32, u32)> {
        validate_name(name)?;
        // Errors (no production version, unknown model) come from the read-only check.
        self.rollback_target(name)?;
        self.write(|tx| {
            let current: Option<u32> = tx
                .query_row(
                    "SELECT version FROM versions WHERE name = ?1 AND stage = 'production'",
                    [name],
                    |r| r.get(0),
                )
                .optional()
                .map_err(|e| self.sql(e))?;
            let Some(current) = current else {
                return Err(Error::invalid(
                    "name",
                    format!("{name} has no production version to roll back from"),
                ));
            };
            let promoted = promoted_versions(tx, name).map_err(|e| self.sql(e))?;
            let existing = existing_versions(tx, name).map_err(|e| self.sql(e))?;
            let to = previous_production(&promoted, current, |v| existing.contains(&v))
                .ok_or_else(|| no_earlier(name, current))?;
            let from_stage: String = tx
                .query_row(
                    "SELECT stage FROM versions WHERE name = ?1 AND version = ?2",
                    params![name, to],
                    |r| r.get(0),
                )
                .map_err(|e| self.sql(e))?;
            self.demote_production(tx, name, to)?;
            tx.execute(
                "UPDATE versions SET stage = 'production' WHERE name = ?1 AND version = ?2",
                params![name, to],
            )
            .map_err(|e| self.sql(e))?;
            insert_event(
                tx,
                name,
                Some(to),
                EventKind::Promoted,
                &json!({"from": from_stage, "to": "production", "rollback": true,
                        "replaces": current}),
            )?;
            drop_routes_to(
                tx,
                name,
                to,
                &format!("{name}@{to} rolled back to production"),
            )?;
            Ok((current, to))
        })
    }
}

fn no_earlier(name: &str, current: u32) -> Error {
    Error::invalid(
        "name",
        format!(
            "{name} has no earlier production version to roll back to ({name}@{current} is the \
             first still registered that was in production)"
        ),
    )
}

/// The versions of `name`'s `promoted` events, oldest first.
fn promoted_versions(conn: &rusqlite::Connection, name: &str) -> rusqlite::Result<Vec<u32>> {
    let mut stmt = conn.prepare(
        "SELECT version FROM events WHERE name = ?1 AND kind = 'promoted' \
         AND version IS NOT NULL ORDER BY id",
    )?;
    let rows = stmt.query_map([name], |r| r.get(0))?;
    rows.collect()
}

/// The registered version numbers of `name`.
fn existing_versions(conn: &rusqlite::Connection, name: &str) -> rusqlite::Result<Vec<u32>> {
    let mut stmt = conn.prepare("SELECT version FROM versions WHERE name = ?1")?;
    let rows = stmt.query_map([name], |r| r.get(0))?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_the_published_functions() {
        // FNV-1a test vectors (Fowler/Noll/Vo): "" and "a".
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        // splitmix64 seeded with 0: its first output (Vigna's reference implementation).
        assert_eq!(splitmix64(0), 0xe220_a839_7b1d_cdaf);
    }

    #[test]
    fn shares_follow_the_percent() {
        let p = TrafficPolicy {
            canary: Some(CanaryRoute {
                version: 2,
                percent: 10.0,
            }),
            shadow: None,
            seed: 7,
        };
        // Keyless: within 0.1% of the share over 10,000 requests, whatever the seed, and so is
        // every tenth request (a client cycling through ten strategies).
        for seed in 0..200 {
            let p = TrafficPolicy { seed, ..p };
            let n = (0..10_000u64).filter(|&n| p.canary_for_count(n)).count();
            assert!((990..=1010).contains(&n), "seed {seed}: {n}");
            let every_tenth = (0..10_000u64)
                .filter(|&n| p.canary_for_count(n * 10 + 3))
                .count();
            assert!(
                (990..=1010).contains(&every_tenth),
                "seed {seed}: {every_tenth}"
            );
        }
        let by_key = (0..100_000u64)
            .filter(|n| p.canary_for_key(&format!("strategy-{n}")))
            .count();
        assert!((9_500..10_500).contains(&by_key), "{by_key}");
        assert!(!TrafficPolicy::default().canary_for_key("x"));
    }

    #[test]
    fn previous_production_skips_the_current_and_the_deleted() {
        let all = |_: u32| true;
        assert_eq!(previous_production(&[1, 2, 3], 3, all), Some(2));
        assert_eq!(previous_production(&[1, 2, 3], 3, |v| v != 2), Some(1));
        assert_eq!(previous_production(&[1], 1, all), None);
        // After a rollback 3 -> 2, the version before 2 is 3: a second rollback undoes it.
        assert_eq!(previous_production(&[1, 2, 3, 2], 2, all), Some(3));
        // Promoted twice in a row: the same version is skipped.
        assert_eq!(previous_production(&[1, 2, 2], 2, all), Some(1));
    }
}
