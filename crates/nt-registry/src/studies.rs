//! Hyper-parameter studies and their trials (schema 5): the registry's database is the only
//! coordinator of tuning workers, so any number of processes on any machines that open the same
//! registry directory share one study without a scheduler.
//!
//! The claim protocol ([`Registry::claim_trial`]): in ONE `BEGIN IMMEDIATE` transaction (the
//! database's write lock, taken before anything is read, so two claims never see the same
//! state), a worker first takes over a `running` trial whose lease has expired (same number and
//! params, attempt + 1, its intermediate values cleared, a `reclaimed` study event); otherwise,
//! while the study has fewer than `n_trials` trials, it samples the next trial's params from the
//! records of all trials so far and inserts it as `running`, leased to itself until
//! `now + lease`. A trial is the worker's while it is `running` under the worker's name:
//! [`Registry::heartbeat`] extends the lease, [`Registry::report_value`] records intermediate
//! values, [`Registry::finish_trial`] writes the outcome. Once another worker has taken a trial
//! over, the old worker's heartbeat and finish return `false` and write nothing, so a slow
//! zombie never overwrites the retry's result. An expired lease that nobody has taken over yet
//! is still the worker's.
//!
//! Leases are unix milliseconds of the system clock of the process that writes them; workers
//! on different machines need clocks that agree to well within a lease (NTP does). Worker names
//! must be unique per process (e.g. `host:pid`): ownership is by name.
//!
//! These writes do not bump the registry's generation (servers have nothing to reload).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::store::{json_text, now_rfc3339, parse_json, sql_err_path, Registry};
use crate::{Error, Result};

/// The tables of schema 5: studies, their trials, the trials' intermediate values and the
/// studies' event log.
pub(crate) const TABLES: &str = "
CREATE TABLE IF NOT EXISTS studies(
    name TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    n_trials INTEGER NOT NULL CHECK (n_trials > 0),
    created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trials(
    study TEXT NOT NULL REFERENCES studies(name) ON DELETE CASCADE,
    number INTEGER NOT NULL CHECK (number >= 0),
    params TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('running', 'complete', 'pruned', 'failed')),
    value REAL,
    attempts INTEGER NOT NULL CHECK (attempts >= 1),
    worker TEXT,
    lease_ms INTEGER NOT NULL,
    lease_until_ms INTEGER,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    seconds REAL,
    detail TEXT NOT NULL,
    PRIMARY KEY(study, number));
CREATE INDEX IF NOT EXISTS trials_by_lease ON trials(study, state, lease_until_ms);
CREATE TABLE IF NOT EXISTS trial_values(
    study TEXT NOT NULL,
    number INTEGER NOT NULL,
    step INTEGER NOT NULL CHECK (step >= 0),
    value REAL NOT NULL,
    PRIMARY KEY(study, number, step),
    FOREIGN KEY(study, number) REFERENCES trials(study, number) ON DELETE CASCADE);
CREATE TABLE IF NOT EXISTS study_events(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    study TEXT NOT NULL REFERENCES studies(name) ON DELETE CASCADE,
    number INTEGER,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    details TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS study_events_by_study ON study_events(study, id);
";

/// The longest lease a claim may ask for (30 days).
pub const MAX_LEASE: Duration = Duration::from_secs(30 * 24 * 3600);
/// The longest worker name, in bytes.
const MAX_WORKER_LEN: usize = 256;

/// A study: what to search and how many trials to run, as written by the planner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyInfo {
    /// Study name (the rules of [`crate::validate_name`]).
    pub name: String,
    /// The study's definition (search space, objective, data, budget: the tuner's JSON).
    pub definition: Value,
    /// How many trials the study runs in all (≥ 1).
    pub n_trials: u32,
    /// When the study was created, UTC RFC 3339.
    pub created_at: String,
}

/// A trial's state. JSON and text form: lowercase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrialState {
    /// Claimed by a worker that holds its lease (or held it until the lease expired).
    Running,
    /// Finished with an objective value.
    Complete,
    /// Stopped early by the pruner.
    Pruned,
    /// Failed (an error, a non-finite loss, a budget exceeded).
    Failed,
}

impl TrialState {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            TrialState::Running => "running",
            TrialState::Complete => "complete",
            TrialState::Pruned => "pruned",
            TrialState::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "running" => TrialState::Running,
            "complete" => TrialState::Complete,
            "pruned" => TrialState::Pruned,
            "failed" => TrialState::Failed,
            _ => {
                return Err(Error::invalid(
                    "trial state",
                    format!("`{s}` is not running, complete, pruned or failed"),
                ))
            }
        })
    }
}

impl std::fmt::Display for TrialState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A trial handed to a worker by [`Registry::claim_trial`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimedTrial {
    /// Trial number, 0-based, unique in the study.
    pub number: u32,
    /// The trial's hyper-parameters (what the sampler returned when it was first claimed).
    pub params: Value,
    /// 1 for a fresh trial, 2 and more for a trial taken over after an expired lease.
    pub attempt: u32,
}

/// How a worker's trial ended, given to [`Registry::finish_trial`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialOutcome {
    /// `Complete`, `Pruned` or `Failed` (`Running` is refused).
    pub state: TrialState,
    /// The objective (required and finite for `Complete`; finite when given otherwise).
    pub value: Option<f64>,
    /// Wall time of the attempt in seconds (finite, ≥ 0).
    pub seconds: f64,
    /// Anything else to keep (seed, steps run, error message, the registered model).
    pub detail: Value,
}

/// One trial as stored, returned by [`Registry::trials`] and given to the sampler.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialRecord {
    /// Trial number, 0-based.
    pub number: u32,
    /// Its hyper-parameters.
    pub params: Value,
    /// Its state.
    pub state: TrialState,
    /// The objective, once finished with one.
    pub value: Option<f64>,
    /// How many times it was claimed (1 unless a lease expired).
    pub attempts: u32,
    /// The worker that holds it (running) or finished it.
    pub worker: Option<String>,
    /// Intermediate validation values `(step, value)` of the current attempt, by step.
    pub intermediate: Vec<(u64, f64)>,
    /// Wall time of the finishing attempt in seconds, once finished.
    pub seconds: Option<f64>,
    /// The outcome's detail, `null` while running.
    pub detail: Value,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn check_study_name(name: &str) -> Result<()> {
    crate::validate_name(name).map_err(|e| match e {
        Error::InvalidInput { reason, .. } => Error::invalid("study name", reason),
        other => other,
    })
}

fn check_worker(worker: &str) -> Result<()> {
    if worker.is_empty() || worker.len() > MAX_WORKER_LEN {
        return Err(Error::invalid(
            "worker",
            format!("`{worker}` must have 1 to {MAX_WORKER_LEN} bytes (e.g. `host:pid`)"),
        ));
    }
    if worker.chars().any(char::is_control) {
        return Err(Error::invalid(
            "worker",
            format!("{worker:?} contains a control character"),
        ));
    }
    Ok(())
}

fn check_finite(field: &str, v: f64) -> Result<()> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(Error::invalid(field, format!("{v} is not a finite number")))
    }
}

fn trial_ref(study: &str, number: u32) -> String {
    format!("{study}#{number}")
}

/// The study's `n_trials`, or `NotFound`.
fn study_trials(conn: &Connection, study: &str) -> Result<u32> {
    conn.query_row(
        "SELECT n_trials FROM studies WHERE name = ?1",
        [study],
        |r| r.get(0),
    )
    .optional()
    .map_err(|e| sql_err_path(conn, e))?
    .ok_or_else(|| Error::not_found("study", study))
}

fn study_row(conn: &Connection, name: &str) -> Result<Option<StudyInfo>> {
    let row: Option<(String, u32, String)> = conn
        .query_row(
            "SELECT definition, n_trials, created_at FROM studies WHERE name = ?1",
            [name],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
        .map_err(|e| sql_err_path(conn, e))?;
    row.map(|(definition, n_trials, created_at)| {
        Ok(StudyInfo {
            name: name.to_string(),
            definition: parse_json(&definition, &format!("study {name}"))?,
            n_trials,
            created_at,
        })
    })
    .transpose()
}

type RawTrial = (
    u32,
    String,
    String,
    Option<f64>,
    u32,
    Option<String>,
    Option<f64>,
    String,
);

/// Every trial of `study` (which must exist), by number, with its intermediate values.
fn read_trials(conn: &Connection, study: &str) -> Result<Vec<TrialRecord>> {
    let sql = |e| sql_err_path(conn, e);
    let raws: Vec<RawTrial> = {
        let mut stmt = conn
            .prepare_cached(
                "SELECT number, params, state, value, attempts, worker, seconds, detail \
                 FROM trials WHERE study = ?1 ORDER BY number",
            )
            .map_err(sql)?;
        let rows = stmt
            .query_map([study], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ))
            })
            .map_err(sql)?;
        rows.collect::<rusqlite::Result<_>>().map_err(sql)?
    };
    let values: Vec<(u32, i64, f64)> = {
        let mut stmt = conn
            .prepare_cached(
                "SELECT number, step, value FROM trial_values WHERE study = ?1 \
                 ORDER BY number, step",
            )
            .map_err(sql)?;
        let rows = stmt
            .query_map([study], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(sql)?;
        rows.collect::<rusqlite::Result<_>>().map_err(sql)?
    };
    let mut values = values.into_iter().peekable();
    raws.into_iter()
        .map(
            |(number, params, state, value, attempts, worker, seconds, detail)| {
                let ctx = format!("trial {}", trial_ref(study, number));
                let mut intermediate = Vec::new();
                while let Some((n, step, v)) = values.peek().copied() {
                    if n > number {
                        break;
                    }
                    if n == number {
                        intermediate.push((step.max(0) as u64, v));
                    }
                    values.next();
                }
                Ok(TrialRecord {
                    number,
                    params: parse_json(&params, &ctx)?,
                    state: TrialState::parse(&state)?,
                    value,
                    attempts,
                    worker,
                    intermediate,
                    seconds,
                    detail: parse_json(&detail, &ctx)?,
                })
            },
        )
        .collect()
}

/// The trial's `(state, worker)`, or `NotFound` (naming the study when it is the study that is
/// missing).
fn trial_owner(tx: &Transaction<'_>, study: &str, number: u32) -> Result<(String, Option<String>)> {
    let row = tx
        .query_row(
            "SELECT state, worker FROM trials WHERE study = ?1 AND number = ?2",
            params![study, number],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(|e| sql_err_path(tx, e))?;
    match row {
        Some(row) => Ok(row),
        None => {
            study_trials(tx, study)?;
            Err(Error::not_found("trial", trial_ref(study, number)))
        }
    }
}

fn insert_study_event(
    tx: &Transaction<'_>,
    study: &str,
    number: Option<u32>,
    kind: &str,
    details: &Value,
) -> Result<()> {
    tx.execute(
        "INSERT INTO study_events(study, number, at, kind, details) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![study, number, now_rfc3339(), kind, json_text(details)?],
    )
    .map_err(|e| sql_err_path(tx, e))?;
    Ok(())
}

/// One entry of a study's event log ([`Registry::study_events`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyEvent {
    /// Increasing id (never reused).
    pub id: u64,
    /// UTC time, RFC 3339 with milliseconds.
    pub at: String,
    /// The study.
    pub study: String,
    /// The trial concerned, when there is one.
    pub number: Option<u32>,
    /// What happened: `created`, or `reclaimed` (an expired lease taken over; details: `from`
    /// and `to` workers, the new `attempt`, how long the lease had been expired in
    /// `expired_ms`).
    pub kind: String,
    /// Event-specific details.
    pub details: Value,
}

impl Registry {
    /// Creates the study `name` with its `definition` and `n_trials` (≥ 1). Idempotent: creating
    /// it again with an identical definition and `n_trials` returns the stored study (so every
    /// planner or worker may call it); a different one under the same name is
    /// [`Error::AlreadyExists`] ([`Error::is_conflict`]).
    pub fn create_study(&self, name: &str, definition: &Value, n_trials: u32) -> Result<StudyInfo> {
        check_study_name(name)?;
        if n_trials == 0 {
            return Err(Error::invalid("n_trials", "a study runs at least 1 trial"));
        }
        let text = json_text(definition)?;
        self.write_quiet(|tx| {
            let stored: Option<(String, u32, String)> = tx
                .query_row(
                    "SELECT definition, n_trials, created_at FROM studies WHERE name = ?1",
                    [name],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()
                .map_err(|e| sql_err_path(tx, e))?;
            if let Some((stored, stored_trials, created_at)) = stored {
                let stored_value: Value = parse_json(&stored, &format!("study {name}"))?;
                // The same text, or the same JSON (key order and number spelling aside).
                let same_definition = stored == text || stored_value == *definition;
                if same_definition && stored_trials == n_trials {
                    return Ok(StudyInfo {
                        name: name.into(),
                        definition: stored_value,
                        n_trials,
                        created_at,
                    });
                }
                return Err(Error::AlreadyExists {
                    what: "study (with a different definition or number of trials)",
                    name: name.into(),
                });
            }
            let created_at = now_rfc3339();
            tx.execute(
                "INSERT INTO studies(name, definition, n_trials, created_at) \
                 VALUES (?1, ?2, ?3, ?4)",
                params![name, text, n_trials, created_at],
            )
            .map_err(|e| sql_err_path(tx, e))?;
            insert_study_event(tx, name, None, "created", &json!({"n_trials": n_trials}))?;
            Ok(StudyInfo {
                name: name.into(),
                definition: definition.clone(),
                n_trials,
                created_at,
            })
        })
    }

    /// The study `name` (`NotFound` when missing).
    pub fn study(&self, name: &str) -> Result<StudyInfo> {
        check_study_name(name)?;
        let conn = self.conn();
        study_row(&conn, name)?.ok_or_else(|| Error::not_found("study", name))
    }

    /// Every study, by name.
    pub fn studies(&self) -> Result<Vec<StudyInfo>> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.sql(e))?;
        let names: Vec<String> = {
            let mut stmt = tx
                .prepare("SELECT name FROM studies ORDER BY name")
                .map_err(|e| self.sql(e))?;
            let rows = stmt.query_map([], |r| r.get(0)).map_err(|e| self.sql(e))?;
            rows.collect::<rusqlite::Result<_>>()
                .map_err(|e| self.sql(e))?
        };
        names
            .iter()
            .filter_map(|n| study_row(&tx, n).transpose())
            .collect()
    }

    /// Claims the next trial of `study` for `worker`, leased for `lease` (1 ms to
    /// [`MAX_LEASE`]), in one `BEGIN IMMEDIATE` transaction:
    ///
    /// 1. a `running` trial whose lease has expired is taken over: the same number and params,
    ///    `attempt` + 1, its intermediate values cleared, a `reclaimed` study event;
    /// 2. otherwise, while the study has fewer than `n_trials` trials, `sample(records of all
    ///    trials so far, by number)` gives the params of trial number `count` (0-based), stored
    ///    as `running` with attempt 1;
    /// 3. otherwise `None`: nothing to claim now (trials still running under live leases may
    ///    expire later; [`Registry::trials`] says whether any is running).
    ///
    /// Two processes never get the same trial, and a trial runs again only after its lease
    /// expired. An error from `sample` rolls the claim back and is returned. `sample` runs
    /// under the registry's lock: it must not call this `Registry`.
    pub fn claim_trial(
        &self,
        study: &str,
        worker: &str,
        lease: Duration,
        sample: &mut dyn FnMut(&[TrialRecord]) -> Result<Value>,
    ) -> Result<Option<ClaimedTrial>> {
        check_study_name(study)?;
        check_worker(worker)?;
        if lease.is_zero() || lease > MAX_LEASE {
            return Err(Error::invalid(
                "lease",
                format!(
                    "{lease:?} must be between 1 ms and {} days",
                    MAX_LEASE.as_secs() / 86_400
                ),
            ));
        }
        let lease_ms = i64::try_from(lease.as_millis().max(1)).unwrap_or(i64::MAX);
        self.write_quiet(|tx| {
            let sql = |e| sql_err_path(tx, e);
            let n_trials = study_trials(tx, study)?;
            let now = now_ms();
            let expired: Option<(u32, String, u32, Option<String>, i64)> = tx
                .query_row(
                    "SELECT number, params, attempts, worker, lease_until_ms FROM trials \
                     WHERE study = ?1 AND state = 'running' AND lease_until_ms <= ?2 \
                     ORDER BY number LIMIT 1",
                    params![study, now],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .optional()
                .map_err(sql)?;
            if let Some((number, params_text, attempts, from, until)) = expired {
                let attempt = attempts.saturating_add(1);
                tx.execute(
                    "UPDATE trials SET worker = ?3, attempts = ?4, lease_ms = ?5, \
                     lease_until_ms = ?6, started_at = ?7 WHERE study = ?1 AND number = ?2",
                    params![
                        study,
                        number,
                        worker,
                        attempt,
                        lease_ms,
                        now.saturating_add(lease_ms),
                        now_rfc3339()
                    ],
                )
                .map_err(sql)?;
                tx.execute(
                    "DELETE FROM trial_values WHERE study = ?1 AND number = ?2",
                    params![study, number],
                )
                .map_err(sql)?;
                insert_study_event(
                    tx,
                    study,
                    Some(number),
                    "reclaimed",
                    &json!({"from": from, "to": worker, "attempt": attempt,
                            "expired_ms": now.saturating_sub(until)}),
                )?;
                return Ok(Some(ClaimedTrial {
                    number,
                    params: parse_json(
                        &params_text,
                        &format!("trial {}", trial_ref(study, number)),
                    )?,
                    attempt,
                }));
            }
            let count: u32 = tx
                .query_row(
                    "SELECT COUNT(*) FROM trials WHERE study = ?1",
                    [study],
                    |r| r.get(0),
                )
                .map_err(sql)?;
            if count >= n_trials {
                return Ok(None);
            }
            let records = read_trials(tx, study)?;
            let params_value = sample(&records)?;
            tx.execute(
                "INSERT INTO trials(study, number, params, state, attempts, worker, lease_ms, \
                 lease_until_ms, started_at, detail) \
                 VALUES (?1, ?2, ?3, 'running', 1, ?4, ?5, ?6, ?7, 'null')",
                params![
                    study,
                    count,
                    json_text(&params_value)?,
                    worker,
                    lease_ms,
                    now.saturating_add(lease_ms),
                    now_rfc3339()
                ],
            )
            .map_err(sql)?;
            Ok(Some(ClaimedTrial {
                number: count,
                params: params_value,
                attempt: 1,
            }))
        })
    }

    /// Extends the lease of trial `number` by the lease given when `worker` claimed it. `false`
    /// when the trial is no longer `worker`'s (another worker took it over, or it is finished);
    /// `NotFound` for an unknown study or trial.
    pub fn heartbeat(&self, study: &str, number: u32, worker: &str) -> Result<bool> {
        check_study_name(study)?;
        check_worker(worker)?;
        self.write_quiet(|tx| {
            let (state, holder) = trial_owner(tx, study, number)?;
            if state != TrialState::Running.as_str() || holder.as_deref() != Some(worker) {
                return Ok(false);
            }
            tx.execute(
                "UPDATE trials SET lease_until_ms = ?3 + lease_ms WHERE study = ?1 AND number = ?2",
                params![study, number, now_ms()],
            )
            .map_err(|e| sql_err_path(tx, e))?;
            Ok(true)
        })
    }

    /// Records the intermediate validation `value` of trial `number` at `step` (a repeated step
    /// replaces its value), for pruning across workers. Refused with [`Error::LeaseLost`] when
    /// the trial is no longer `worker`'s; a non-finite value or a step above `i64::MAX` is
    /// [`Error::InvalidInput`].
    pub fn report_value(
        &self,
        study: &str,
        number: u32,
        worker: &str,
        step: u64,
        value: f64,
    ) -> Result<()> {
        check_study_name(study)?;
        check_worker(worker)?;
        check_finite("intermediate value", value)?;
        let step = i64::try_from(step)
            .map_err(|_| Error::invalid("step", format!("{step} is above {}", i64::MAX)))?;
        self.write_quiet(|tx| {
            let (state, holder) = trial_owner(tx, study, number)?;
            if state != TrialState::Running.as_str() || holder.as_deref() != Some(worker) {
                return Err(Error::LeaseLost {
                    trial: trial_ref(study, number),
                    worker: worker.into(),
                    holder,
                    state,
                });
            }
            tx.execute(
                "INSERT INTO trial_values(study, number, step, value) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT(study, number, step) DO UPDATE SET value = excluded.value",
                params![study, number, step, value],
            )
            .map_err(|e| sql_err_path(tx, e))?;
            Ok(())
        })
    }

    /// Writes the outcome of trial `number`. `false`, and nothing written, when the trial is no
    /// longer `worker`'s (another worker took it over after its lease expired, or it is already
    /// finished), so a slow zombie cannot overwrite the retry's result. The outcome is checked
    /// first: its state is not `Running`, a `Complete` trial has a value, values and seconds
    /// are finite, seconds ≥ 0.
    pub fn finish_trial(
        &self,
        study: &str,
        number: u32,
        worker: &str,
        outcome: &TrialOutcome,
    ) -> Result<bool> {
        check_study_name(study)?;
        check_worker(worker)?;
        if outcome.state == TrialState::Running {
            return Err(Error::invalid(
                "trial outcome state",
                "a finished trial is complete, pruned or failed, not running",
            ));
        }
        match outcome.value {
            Some(v) => check_finite("trial value", v)?,
            None if outcome.state == TrialState::Complete => {
                return Err(Error::invalid(
                    "trial value",
                    "a complete trial needs its objective value (a trial without one is failed)",
                ))
            }
            None => {}
        }
        check_finite("trial seconds", outcome.seconds)?;
        if outcome.seconds < 0.0 {
            return Err(Error::invalid(
                "trial seconds",
                format!("{} is negative", outcome.seconds),
            ));
        }
        let detail = json_text(&outcome.detail)?;
        self.write_quiet(|tx| {
            let (state, holder) = trial_owner(tx, study, number)?;
            if state != TrialState::Running.as_str() || holder.as_deref() != Some(worker) {
                return Ok(false);
            }
            tx.execute(
                "UPDATE trials SET state = ?3, value = ?4, seconds = ?5, detail = ?6, \
                 finished_at = ?7, lease_until_ms = NULL WHERE study = ?1 AND number = ?2",
                params![
                    study,
                    number,
                    outcome.state.as_str(),
                    outcome.value,
                    outcome.seconds,
                    detail,
                    now_rfc3339()
                ],
            )
            .map_err(|e| sql_err_path(tx, e))?;
            Ok(true)
        })
    }

    /// Every trial of `study`, by number (`NotFound` for an unknown study), read in one
    /// snapshot.
    pub fn trials(&self, study: &str) -> Result<Vec<TrialRecord>> {
        check_study_name(study)?;
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.sql(e))?;
        study_trials(&tx, study)?;
        read_trials(&tx, study)
    }

    /// The event log of `study`, oldest first (`NotFound` for an unknown study).
    pub fn study_events(&self, study: &str) -> Result<Vec<StudyEvent>> {
        check_study_name(study)?;
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.sql(e))?;
        study_trials(&tx, study)?;
        let raws: Vec<(i64, String, Option<u32>, String, String)> = {
            let mut stmt = tx
                .prepare(
                    "SELECT id, at, number, kind, details FROM study_events WHERE study = ?1 \
                     ORDER BY id",
                )
                .map_err(|e| self.sql(e))?;
            let rows = stmt
                .query_map([study], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })
                .map_err(|e| self.sql(e))?;
            rows.collect::<rusqlite::Result<_>>()
                .map_err(|e| self.sql(e))?
        };
        raws.into_iter()
            .map(|(id, at, number, kind, details)| {
                Ok(StudyEvent {
                    id: id.max(0) as u64,
                    at,
                    study: study.into(),
                    number,
                    details: parse_json(&details, &format!("study event {id}"))?,
                    kind,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn study_records_are_send_and_sync() {
        assert_send_sync::<StudyInfo>();
        assert_send_sync::<TrialState>();
        assert_send_sync::<ClaimedTrial>();
        assert_send_sync::<TrialOutcome>();
        assert_send_sync::<TrialRecord>();
        assert_send_sync::<StudyEvent>();
    }

    #[test]
    fn trial_states_are_lowercase_in_json_and_text() {
        for s in [
            TrialState::Running,
            TrialState::Complete,
            TrialState::Pruned,
            TrialState::Failed,
        ] {
            let json = serde_json::to_value(s).ok();
            assert_eq!(json, Some(Value::String(s.as_str().into())));
            assert_eq!(TrialState::parse(s.as_str()).ok(), Some(s));
            assert_eq!(s.to_string(), s.as_str());
        }
        assert!(TrialState::parse("Complete").is_err());
    }

    #[test]
    fn worker_names_are_checked() {
        assert!(check_worker("host:123").is_ok());
        assert!(check_worker("").is_err());
        assert!(check_worker("a\nb").is_err());
        assert!(check_worker(&"w".repeat(MAX_WORKER_LEN + 1)).is_err());
    }
}
