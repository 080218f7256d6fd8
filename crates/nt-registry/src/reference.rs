//! Drift monitoring state: one reference profile per version (what it saw at training time)
//! and one drift state per version (is an alarm episode open, since when, the last report).
//!
//! An episode opens when a report's status becomes `alarm` and closes when a later report is
//! `ok` or `warning`; a report with insufficient data neither opens nor closes one. The log
//! gets ONE `drift-alarm` event when an episode opens (its details are the report) and one
//! `drift-cleared` event when it closes, so a cron job that runs `nt monitor` every hour
//! writes one alarm per episode, not one per run.
//!
//! These writes do not bump the registry's generation: servers reload models when it changes,
//! and a drift check changes no model.

use rusqlite::{params, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::json;

use nt_eval::drift::{CheckStatus, DriftReport, ReferenceProfile};

use crate::events::insert_event;
use crate::store::{json_text, now_rfc3339, parse_json, sql_err_path, Registry};
use crate::types::validate_name;
use crate::{Error, Event, EventKind, Result};

/// The tables this module owns, created by schema migration 4.
pub(crate) const TABLES: &str = "
CREATE TABLE IF NOT EXISTS reference_profiles(
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    profile TEXT NOT NULL,
    PRIMARY KEY(name, version));
CREATE TABLE IF NOT EXISTS drift_states(
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    in_alarm INTEGER NOT NULL,
    since TEXT,
    checked_at TEXT NOT NULL,
    last_status TEXT NOT NULL,
    last_report TEXT NOT NULL,
    episodes INTEGER NOT NULL,
    PRIMARY KEY(name, version));
";

/// The drift state of one version, as [`Registry::drift_state`] returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftState {
    /// Model name.
    pub name: String,
    /// Version.
    pub version: u32,
    /// True while an alarm episode is open.
    pub in_alarm: bool,
    /// When the open episode started (RFC 3339), `None` when none is open.
    pub since: Option<String>,
    /// When the last report was recorded (RFC 3339).
    pub checked_at: String,
    /// The last report's overall status.
    pub last_status: CheckStatus,
    /// The last report.
    pub last_report: DriftReport,
    /// Alarm episodes started so far (including an open one).
    pub episodes: u32,
}

/// What [`Registry::record_drift`] did with a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DriftTransition {
    /// An episode started: a `drift-alarm` event was written.
    AlarmRaised,
    /// The alarm goes on: no event.
    AlarmContinues,
    /// The episode ended: a `drift-cleared` event was written.
    Cleared,
    /// No episode, none started (ok, warning or insufficient data): no event.
    Quiet,
}

/// The outcome of [`Registry::record_drift`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftOutcome {
    /// What changed.
    pub transition: DriftTransition,
    /// The event written (`drift-alarm` or `drift-cleared`), when one was.
    pub event: Option<Event>,
    /// The state after the report.
    pub state: DriftState,
}

fn version_exists(tx: &Transaction<'_>, name: &str, version: u32) -> Result<()> {
    let exists: bool = tx
        .query_row(
            "SELECT EXISTS(SELECT 1 FROM versions WHERE name = ?1 AND version = ?2)",
            params![name, version],
            |r| r.get(0),
        )
        .map_err(|e| sql_err_path(tx, e))?;
    if exists {
        Ok(())
    } else {
        Err(Error::not_found("version", format!("{name}@{version}")))
    }
}

/// Stores (or replaces) the reference profile of `name@version` inside `tx`; used by
/// registration so that a version and its profile appear together.
pub(crate) fn insert_reference(
    tx: &Transaction<'_>,
    name: &str,
    version: u32,
    profile: &ReferenceProfile,
) -> Result<()> {
    tx.execute(
        "INSERT INTO reference_profiles(name, version, created_at, profile) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT(name, version) DO UPDATE SET created_at = excluded.created_at, \
         profile = excluded.profile",
        params![name, version, now_rfc3339(), json_text(profile)?],
    )
    .map_err(|e| sql_err_path(tx, e))?;
    Ok(())
}

/// Removes the drift rows of a deleted version (called inside the deleting transaction).
pub(crate) fn delete_version_rows(tx: &Transaction<'_>, name: &str, version: u32) -> Result<()> {
    for table in ["reference_profiles", "drift_states"] {
        tx.execute(
            &format!("DELETE FROM {table} WHERE name = ?1 AND version = ?2"),
            params![name, version],
        )
        .map_err(|e| sql_err_path(tx, e))?;
    }
    Ok(())
}

type StateRow = (bool, Option<String>, String, String, String, u32);

fn read_state(tx: &rusqlite::Connection, name: &str, version: u32) -> Result<Option<DriftState>> {
    let row: Option<StateRow> = tx
        .query_row(
            "SELECT in_alarm, since, checked_at, last_status, last_report, episodes \
             FROM drift_states WHERE name = ?1 AND version = ?2",
            params![name, version],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            },
        )
        .optional()
        .map_err(|e| sql_err_path(tx, e))?;
    let Some((in_alarm, since, checked_at, _status, report, episodes)) = row else {
        return Ok(None);
    };
    let last_report: DriftReport =
        parse_json(&report, &format!("drift state of {name}@{version}"))?;
    Ok(Some(DriftState {
        name: name.into(),
        version,
        in_alarm,
        since,
        checked_at,
        last_status: last_report.status,
        last_report,
        episodes,
    }))
}

impl Registry {
    /// Stores the reference profile of `name@version` (replacing one stored before). The
    /// version must exist. Does not bump the generation.
    pub fn set_reference(
        &self,
        name: &str,
        version: u32,
        profile: &ReferenceProfile,
    ) -> Result<()> {
        validate_name(name)?;
        self.write_quiet(|tx| {
            version_exists(tx, name, version)?;
            insert_reference(tx, name, version, profile)
        })
    }

    /// The reference profile of `name@version`, `None` when it has none (versions registered
    /// before drift monitoring, or registered without one).
    pub fn reference(&self, name: &str, version: u32) -> Result<Option<ReferenceProfile>> {
        validate_name(name)?;
        let conn = self.conn();
        let text: Option<String> = conn
            .query_row(
                "SELECT profile FROM reference_profiles WHERE name = ?1 AND version = ?2",
                params![name, version],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        text.map(|t| parse_json(&t, &format!("reference profile of {name}@{version}")))
            .transpose()
    }

    /// The drift state of `name@version`, `None` before its first recorded report.
    pub fn drift_state(&self, name: &str, version: u32) -> Result<Option<DriftState>> {
        validate_name(name)?;
        let conn = self.conn();
        read_state(&conn, name, version)
    }

    /// Records a drift report of `name@version` (which must exist): opens an episode with one
    /// `drift-alarm` event (details: the report) when the status becomes `alarm`, writes
    /// nothing more while it stays in alarm, and closes it with a `drift-cleared` event when a
    /// report is `ok` or `warning`. A report with insufficient data changes no episode. Does not
    /// bump the generation.
    pub fn record_drift(
        &self,
        name: &str,
        version: u32,
        report: &DriftReport,
    ) -> Result<DriftOutcome> {
        validate_name(name)?;
        self.write_quiet(|tx| {
            version_exists(tx, name, version)?;
            let prev = read_state(tx, name, version)?;
            let was_in_alarm = prev.as_ref().is_some_and(|s| s.in_alarm);
            let mut episodes = prev.as_ref().map_or(0, |s| s.episodes);
            let mut since = prev.as_ref().and_then(|s| s.since.clone());
            let now = now_rfc3339();
            let status = report.status;
            let transition = match (was_in_alarm, status) {
                (false, CheckStatus::Alarm) => DriftTransition::AlarmRaised,
                (true, CheckStatus::Alarm | CheckStatus::InsufficientData) => {
                    DriftTransition::AlarmContinues
                }
                (true, CheckStatus::Ok | CheckStatus::Warning) => DriftTransition::Cleared,
                (false, _) => DriftTransition::Quiet,
            };
            let event = match transition {
                DriftTransition::AlarmRaised => {
                    episodes += 1;
                    since = Some(now.clone());
                    Some(insert_event(
                        tx,
                        name,
                        Some(version),
                        EventKind::DriftAlarm,
                        &json!({"episode": episodes, "report": report}),
                    )?)
                }
                DriftTransition::Cleared => {
                    let started = since.take();
                    Some(insert_event(
                        tx,
                        name,
                        Some(version),
                        EventKind::DriftCleared,
                        &json!({"episode": episodes, "since": started, "status": status,
                                "report": report}),
                    )?)
                }
                DriftTransition::AlarmContinues | DriftTransition::Quiet => None,
            };
            let in_alarm = matches!(
                transition,
                DriftTransition::AlarmRaised | DriftTransition::AlarmContinues
            );
            tx.execute(
                "INSERT INTO drift_states(name, version, in_alarm, since, checked_at, last_status, \
                 last_report, episodes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
                 ON CONFLICT(name, version) DO UPDATE SET in_alarm = excluded.in_alarm, \
                 since = excluded.since, checked_at = excluded.checked_at, \
                 last_status = excluded.last_status, last_report = excluded.last_report, \
                 episodes = excluded.episodes",
                params![
                    name,
                    version,
                    in_alarm,
                    since,
                    now,
                    status.as_str(),
                    json_text(report)?,
                    episodes
                ],
            )
            .map_err(|e| sql_err_path(tx, e))?;
            Ok(DriftOutcome {
                transition,
                event,
                state: DriftState {
                    name: name.into(),
                    version,
                    in_alarm,
                    since,
                    checked_at: now,
                    last_status: status,
                    last_report: report.clone(),
                    episodes,
                },
            })
        })
    }
}
