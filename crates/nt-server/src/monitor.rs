//! The drift monitor task: every `monitor_interval`, each served version (production, and the
//! canary and shadow of the model's traffic policy) that has a reference profile is checked
//! against what it served lately: PSI of the input levels and returns (the history's last value
//! at each distinct origin) and of its predictions, and a two-sample KS test of its matched
//! residuals (forecast − actual) against the validation residuals
//! ([`nt_eval::drift::evaluate`]). The report goes to [`nt_registry::Registry::record_drift`],
//! which writes one `drift-alarm` event per episode, and to the `nt_drift_*` gauges. A version
//! without a reference profile is reported once (info) and skipped.

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex};

use nt_eval::drift::{evaluate, CurrentSample, DriftReport};
use nt_registry::Registry;

use crate::error::{Error, Result};
use crate::state::{blocking, AppState};

/// What one check of one version found.
#[derive(Debug, Clone)]
pub struct DriftCheck {
    /// Model name.
    pub name: String,
    /// Version.
    pub version: u32,
    /// The report (status, PSI and KS numbers, reasons).
    pub report: DriftReport,
    /// Whether the version is in an alarm episode after this check.
    pub in_alarm: bool,
    /// Whether this check opened the episode (and wrote its `drift-alarm` event).
    pub raised: bool,
}

/// The versions a server serves for `name`: production, canary, shadow.
fn served_versions(reg: &Registry, name: &str, production: Option<u32>) -> Result<Vec<u32>> {
    let mut out = BTreeSet::new();
    out.extend(production);
    if let Some(p) = reg.traffic(name)? {
        out.extend(p.canary.map(|c| c.version));
        out.extend(p.shadow.map(|s| s.version));
    }
    Ok(out.into_iter().collect())
}

/// The current sample of `name@version` for `reference`: the last `window` input levels (one
/// per distinct origin, in time order), predictions (every step) and matched residuals.
fn current_sample(
    reg: &Registry,
    name: &str,
    version: u32,
    reference: &nt_eval::drift::ReferenceProfile,
    window: usize,
) -> Result<CurrentSample> {
    let mut recent = reg.recent_forecasts(name, version, window)?;
    recent.retain(|f| f.forecast.target == reference.target);
    recent.reverse();
    let mut levels = Vec::new();
    let mut predictions = Vec::new();
    let mut last_origin = None;
    for f in &recent {
        let f = &f.forecast;
        // Several forecasts of one origin (retries, the same bar asked twice) are one input.
        if f.origin_ms.is_none() || f.origin_ms != last_origin {
            levels.push(f.last_value);
        }
        last_origin = f.origin_ms;
        predictions.extend_from_slice(&f.point);
    }
    let tail = |v: &mut Vec<f64>| {
        if v.len() > window {
            v.drain(..v.len() - window);
        }
    };
    tail(&mut levels);
    tail(&mut predictions);
    let mut residuals: Vec<f64> = reg
        .matched_points(name, version, window)?
        .into_iter()
        .map(|p| p.residual)
        .collect();
    residuals.reverse();
    Ok(CurrentSample::from_levels(
        reference,
        levels,
        predictions,
        residuals,
    ))
}

/// Runs one drift check of every served version with a reference profile (blocking), records
/// each report in the registry, sets the drift and live-score gauges. `unreferenced` remembers
/// the versions already reported as having no profile.
fn check_all(
    state: &AppState,
    unreferenced: &Mutex<HashSet<(String, u32)>>,
) -> Result<Vec<DriftCheck>> {
    let Some(reg) = state.store().registry() else {
        return Ok(Vec::new());
    };
    let thresholds = &state.config().drift;
    let mut out = Vec::new();
    for model in reg.list()? {
        for v in reg.scored_versions(&model.name)? {
            state
                .metrics()
                .live()
                .set_scores(&reg.live_scores(&model.name, v)?);
        }
        for version in served_versions(&reg, &model.name, model.production)? {
            let Some(reference) = reg.reference(&model.name, version)? else {
                let first = unreferenced
                    .lock()
                    .map(|mut s| s.insert((model.name.clone(), version)))
                    .unwrap_or(false);
                if first {
                    tracing::info!(
                        model = %model.name,
                        version,
                        "no reference profile: drift is not monitored for this version \
                         (`nt monitor --reference FILE` builds one from the training data)"
                    );
                }
                continue;
            };
            let sample = current_sample(&reg, &model.name, version, &reference, thresholds.window)?;
            let report = evaluate(&reference, &sample, thresholds)
                .map_err(|e| Error::internal(format!("drift check: {e}")))?;
            let outcome = reg.record_drift(&model.name, version, &report)?;
            let raised = outcome.transition == nt_registry::DriftTransition::AlarmRaised;
            if raised {
                tracing::warn!(
                    model = %model.name,
                    version,
                    reasons = %report.reasons.join("; "),
                    "drift alarm"
                );
            }
            state.metrics().live().set_drift(
                &model.name,
                version,
                &[
                    ("levels", report.levels.psi),
                    ("returns", report.returns.psi),
                    ("predictions", report.predictions.psi),
                ],
                report.residuals.p_value,
                outcome.state.in_alarm,
            );
            out.push(DriftCheck {
                name: model.name.clone(),
                version,
                in_alarm: outcome.state.in_alarm,
                raised,
                report,
            });
        }
    }
    Ok(out)
}

/// Runs one drift check of every served version now (what the monitor task does every
/// `monitor_interval`); a server whose store is not a registry checks nothing.
pub async fn check_drift(state: &AppState) -> Result<Vec<DriftCheck>> {
    let s = state.clone();
    blocking(move || check_all(&s, &Mutex::new(HashSet::new()))).await
}

/// Starts the drift monitor task: every `monitor_interval` (the first check one interval after
/// the start), [`check_drift`]'s work. Errors are logged and the task keeps going.
pub fn spawn_monitor(state: &AppState) -> tokio::task::JoinHandle<()> {
    let state = state.clone();
    tokio::spawn(async move {
        let interval = state
            .config()
            .monitor_interval
            .max(std::time::Duration::from_millis(10));
        let unreferenced = Arc::new(Mutex::new(HashSet::new()));
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let (s, u) = (state.clone(), unreferenced.clone());
            match blocking(move || check_all(&s, &u)).await {
                Ok(checks) => tracing::debug!(versions = checks.len(), "drift check done"),
                Err(e) => tracing::warn!(error = %e, "drift check failed"),
            }
        }
    })
}
