//! The registry's append-only event log: written in the same transaction as the change it
//! records, read newest first.

use rusqlite::{params, Transaction};
use serde_json::Value;

use crate::store::{json_text, now_rfc3339, parse_json, sql_err_path, Registry};
use crate::types::validate_name;
use crate::{Event, EventKind, Result, VersionSelector};

pub(crate) fn insert_event(
    tx: &Transaction<'_>,
    name: &str,
    version: Option<u32>,
    kind: EventKind,
    details: &Value,
) -> Result<Event> {
    let at = now_rfc3339();
    tx.execute(
        "INSERT INTO events(at, name, version, kind, details) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![at, name, version, kind.as_str(), json_text(details)?],
    )
    .map_err(|e| sql_err_path(tx, e))?;
    Ok(Event {
        id: tx.last_insert_rowid().max(0) as u64,
        at,
        name: name.into(),
        version,
        kind,
        details: details.clone(),
    })
}

impl Registry {
    /// The most recent `limit` events (all when `limit == 0`), of `name` or of every model,
    /// oldest first.
    pub fn events(&self, name: Option<&str>, limit: usize) -> Result<Vec<Event>> {
        if let Some(n) = name {
            validate_name(n)?;
        }
        let limit = if limit == 0 { i64::MAX } else { limit as i64 };
        let raws: Vec<(i64, String, String, Option<u32>, String, String)> = {
            let conn = self.conn();
            let mut stmt = conn
                .prepare(
                    "SELECT id, at, name, version, kind, details FROM events \
                     WHERE ?1 IS NULL OR name = ?1 ORDER BY id DESC LIMIT ?2",
                )
                .map_err(|e| self.sql(e))?;
            let rows = stmt
                .query_map(params![name, limit], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                })
                .map_err(|e| self.sql(e))?;
            rows.collect::<rusqlite::Result<_>>()
                .map_err(|e| self.sql(e))?
        };
        let mut events = raws
            .into_iter()
            .map(|(id, at, name, version, kind, details)| {
                Ok(Event {
                    id: id.max(0) as u64,
                    at,
                    version,
                    kind: kind.parse()?,
                    details: parse_json(&details, &format!("event {id}"))?,
                    name,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        events.reverse();
        Ok(events)
    }

    /// Appends an event (e.g. `trained`, `drift-alarm`) for `name` (and `version`, which must
    /// exist when given).
    pub fn record_event(
        &self,
        name: &str,
        version: Option<u32>,
        kind: EventKind,
        details: Value,
    ) -> Result<Event> {
        validate_name(name)?;
        if let Some(v) = version {
            self.get(name, VersionSelector::Number(v))?;
        }
        self.write(|tx| insert_event(tx, name, version, kind, &details))
    }
}
