//! The served-forecast log: every answered forecast goes to a bounded channel, and one writer
//! thread batches them into the registry ([`nt_registry::Registry::log_forecasts_keeping`])
//! every ~50 ms or 512 forecasts, off the request's critical path. A full channel drops the
//! forecast (counted in `nt_forecast_log_dropped_total`), never blocks or fails a request.
//! [`ForecastLog::flush`] is the barrier the actuals route awaits first; the server flushes on
//! shutdown. A SIGKILL loses at most the forecasts still in the writer's buffer.
//!
//! Also here: the live-score and drift gauges rendered by `GET /metrics`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nt_core::QuantileBand;
use nt_registry::{LiveScores, ServedForecast};

use crate::api::{History, PredictResponse};
use crate::metrics::{escape, Metrics};
use crate::state::{AppState, Loaded};
use crate::store::ModelStore;

/// Forecasts waiting for the writer, at most; more are dropped (and counted).
const CHANNEL_CAPACITY: usize = 65_536;
/// The longest a forecast waits in the writer's buffer before its batch is written.
const BATCH_WAIT: Duration = Duration::from_millis(50);
/// The most forecasts written in one transaction.
const BATCH_ROWS: usize = 512;

enum Msg {
    Forecast(Box<ServedForecast>),
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// The handle requests send answered forecasts through (`None` inside when the log is off or
/// the store has no registry).
#[derive(Debug)]
pub(crate) struct ForecastLog {
    tx: Option<SyncSender<Msg>>,
    metrics: Arc<Metrics>,
}

impl ForecastLog {
    /// Starts the writer thread when `enabled` and `store` is a registry; otherwise a log that
    /// keeps nothing.
    pub(crate) fn start(
        store: Arc<dyn ModelStore>,
        enabled: bool,
        retention: usize,
        metrics: Arc<Metrics>,
    ) -> Self {
        if !enabled || store.registry().is_none() {
            return Self { tx: None, metrics };
        }
        let (tx, rx) = mpsc::sync_channel(CHANNEL_CAPACITY);
        let m = metrics.clone();
        let spawned = std::thread::Builder::new()
            .name("nt-forecast-log".into())
            .spawn(move || writer(rx, store, retention.max(1), m));
        match spawned {
            Ok(_) => Self {
                tx: Some(tx),
                metrics,
            },
            Err(e) => {
                tracing::error!(error = %e, "cannot start the forecast-log writer; forecasts are not kept");
                Self { tx: None, metrics }
            }
        }
    }

    /// Whether forecasts are kept.
    pub(crate) fn enabled(&self) -> bool {
        self.tx.is_some()
    }

    /// Hands `f` to the writer without waiting; a full channel drops it (counted).
    pub(crate) fn send(&self, f: ServedForecast) {
        let Some(tx) = &self.tx else { return };
        match tx.try_send(Msg::Forecast(Box::new(f))) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.metrics.live().add_dropped(1)
            }
        }
    }

    /// Completes once every forecast sent before this call is committed (or was dropped by a
    /// failed write, which is logged and counted).
    pub(crate) async fn flush(&self) {
        let Some(tx) = self.tx.clone() else { return };
        let (reply, done) = tokio::sync::oneshot::channel();
        // `send` waits while the channel is full: the writer drains it meanwhile.
        let sent = tokio::task::spawn_blocking(move || tx.send(Msg::Flush(reply)).is_ok()).await;
        if matches!(sent, Ok(true)) {
            let _ = done.await;
        }
    }
}

/// The writer thread: gathers forecasts for up to [`BATCH_WAIT`] or [`BATCH_ROWS`], writes
/// them in one transaction, answers flushes after the write; exits when every sender is gone.
fn writer(
    rx: mpsc::Receiver<Msg>,
    store: Arc<dyn ModelStore>,
    retention: usize,
    metrics: Arc<Metrics>,
) {
    let mut closed = false;
    while !closed {
        let Ok(first) = rx.recv() else { break };
        let mut batch = Vec::new();
        let mut flushes = Vec::new();
        let take = |m: Msg, batch: &mut Vec<ServedForecast>, flushes: &mut Vec<_>| match m {
            Msg::Forecast(f) => batch.push(*f),
            Msg::Flush(reply) => flushes.push(reply),
        };
        take(first, &mut batch, &mut flushes);
        let deadline = Instant::now() + BATCH_WAIT;
        while flushes.is_empty() && batch.len() < BATCH_ROWS {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(m) => take(m, &mut batch, &mut flushes),
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => {
                    closed = true;
                    break;
                }
            }
        }
        if !batch.is_empty() {
            write_batch(&store, &batch, retention, &metrics);
        }
        for reply in flushes {
            let _ = reply.send(());
        }
    }
}

fn write_batch(
    store: &Arc<dyn ModelStore>,
    batch: &[ServedForecast],
    retention: usize,
    metrics: &Metrics,
) {
    let Some(registry) = store.registry() else {
        tracing::warn!(
            forecasts = batch.len(),
            "registry unavailable: served forecasts dropped"
        );
        metrics.live().add_dropped(batch.len() as u64);
        return;
    };
    if let Err(e) = registry.log_forecasts_keeping(batch, retention) {
        tracing::warn!(error = %e, forecasts = batch.len(), "cannot log served forecasts");
        metrics.live().add_dropped(batch.len() as u64);
    }
}

/// The history's last value and last simple return of the column `target` (`values` when
/// the history came as one series).
fn last_of(history: &History, target: &str) -> Option<(f64, Option<f64>)> {
    let values = match (&history.values, &history.columns) {
        (Some(v), _) => v,
        (None, Some(cols)) => cols.get(target)?,
        (None, None) => return None,
    };
    let last = *values.last()?;
    let ret = values
        .len()
        .checked_sub(2)
        .map(|i| values[i])
        .filter(|&prev| prev != 0.0)
        .map(|prev| last / prev - 1.0);
    Some((last, ret))
}

fn bands(quantiles: Option<&BTreeMap<String, Vec<f64>>>) -> Vec<QuantileBand> {
    let mut out: Vec<QuantileBand> = quantiles
        .into_iter()
        .flatten()
        .filter_map(|(q, values)| {
            Some(QuantileBand {
                q: q.parse().ok()?,
                values: values.clone(),
            })
        })
        .collect();
    out.sort_by(|a, b| a.q.total_cmp(&b.q));
    out
}

/// Sends every target's forecast of `answer` (computed by `loaded` from `history`, with the
/// role the answer names) to the log. Call it for every forecast a version computed,
/// answered or not (a shadow's too). Cheap: clones the vectors and returns.
pub(crate) fn log_answer(
    state: &AppState,
    loaded: &Loaded,
    history: &History,
    answer: &PredictResponse,
) {
    let log = state.forecast_log();
    if !log.enabled() {
        return;
    }
    let origin_ms = history.timestamps.as_ref().and_then(|t| t.last().copied());
    let steps = match (origin_ms, &answer.timestamps) {
        (Some(_), Some(ts)) => ts.clone(),
        _ => Vec::new(),
    };
    let one = |target: &str, point: &[f64], q: Option<&BTreeMap<String, Vec<f64>>>| {
        let Some((last_value, last_return)) = last_of(history, target) else {
            return;
        };
        log.send(ServedForecast {
            name: answer.model.clone(),
            version: answer.version,
            role: answer.role,
            target: target.to_string(),
            origin_ms,
            last_value,
            last_return,
            step_timestamps: steps.clone(),
            point: point.to_vec(),
            quantiles: bands(q),
        });
    };
    match &answer.columns {
        Some(cols) => {
            for (target, f) in cols {
                one(target, &f.point, f.quantiles.as_ref());
            }
        }
        None => {
            let target = match (&history.values, &history.columns) {
                (None, Some(cols)) => cols.keys().next().cloned(),
                _ => loaded.model.targets().first().cloned(),
            };
            if let Some(t) = target {
                one(&t, &answer.point, answer.quantiles.as_ref());
            }
        }
    }
}

/// `(model, version, label)`: the key of a gauge.
type Key = (String, u32, String);
/// `mae, rmse, coverage, skill, n` of one window.
type WindowGauges = [Option<f64>; 5];
/// `(KS p-value, alarm)` of one version.
type DriftGauges = (Option<f64>, bool);

/// The live-score and drift gauges (`GET /metrics`).
#[derive(Debug, Default)]
pub(crate) struct LiveGauges {
    dropped: AtomicU64,
    /// (model, version, window) -> (mae, rmse, coverage, skill, n).
    scores: Mutex<BTreeMap<Key, WindowGauges>>,
    /// (model, version, check) -> PSI.
    psi: Mutex<BTreeMap<Key, f64>>,
    /// (model, version) -> (KS p-value, alarm).
    drift: Mutex<BTreeMap<(String, u32), DriftGauges>>,
}

impl LiveGauges {
    /// Counts `n` forecasts the log could not keep.
    pub(crate) fn add_dropped(&self, n: u64) {
        self.dropped.fetch_add(n, Ordering::Relaxed);
    }

    /// Forecasts the log could not keep, so far.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Sets the score gauges of one version from its scores.
    pub(crate) fn set_scores(&self, s: &LiveScores) {
        if let Ok(mut m) = self.scores.lock() {
            for w in &s.windows {
                m.insert(
                    (s.name.clone(), s.version, w.window.clone()),
                    [w.mae, w.rmse, w.coverage, w.skill, Some(w.n as f64)],
                );
            }
        }
    }

    /// Sets the drift gauges of one version: PSI per check, the KS p-value, the alarm.
    pub(crate) fn set_drift(
        &self,
        model: &str,
        version: u32,
        psi: &[(&str, Option<f64>)],
        ks_p: Option<f64>,
        alarm: bool,
    ) {
        if let Ok(mut m) = self.psi.lock() {
            for (check, v) in psi {
                let key = (model.to_string(), version, check.to_string());
                match v {
                    Some(v) => m.insert(key, *v),
                    None => m.remove(&key),
                };
            }
        }
        if let Ok(mut m) = self.drift.lock() {
            m.insert((model.to_string(), version), (ks_p, alarm));
        }
    }

    /// Appends the gauges to the Prometheus text `out`.
    pub(crate) fn render(&self, out: &mut String) {
        out.push_str(
            "# HELP nt_forecast_log_dropped_total Served forecasts the log could not keep.\n",
        );
        out.push_str("# TYPE nt_forecast_log_dropped_total counter\n");
        let _ = writeln!(out, "nt_forecast_log_dropped_total {}", self.dropped());
        if let Ok(m) = self.scores.lock() {
            let metrics = [
                ("nt_live_mae", "Live mean absolute error against actuals"),
                (
                    "nt_live_rmse",
                    "Live root mean squared error against actuals",
                ),
                (
                    "nt_live_coverage",
                    "Share of actuals inside the widest central band",
                ),
                (
                    "nt_live_skill",
                    "Live skill against the random walk, 1 - MAE / rw_MAE",
                ),
                ("nt_live_matched_points", "Matched points in the window"),
            ];
            for (i, (name, help)) in metrics.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "# HELP {name} {help}, by model, version and window.\n# TYPE {name} gauge"
                );
                for ((model, version, window), v) in m.iter() {
                    if let Some(v) = v[i] {
                        let _ = writeln!(
                            out,
                            "{name}{{model=\"{}\",version=\"{version}\",window=\"{window}\"}} {v}",
                            escape(model)
                        );
                    }
                }
            }
        }
        if let Ok(m) = self.psi.lock() {
            out.push_str("# HELP nt_drift_psi PSI of current data against the reference, by model, version and check.\n# TYPE nt_drift_psi gauge\n");
            for ((model, version, check), v) in m.iter() {
                let _ = writeln!(
                    out,
                    "nt_drift_psi{{model=\"{}\",version=\"{version}\",check=\"{check}\"}} {v}",
                    escape(model)
                );
            }
        }
        if let Ok(m) = self.drift.lock() {
            out.push_str("# HELP nt_drift_ks_pvalue KS p-value of live residuals against validation residuals.\n# TYPE nt_drift_ks_pvalue gauge\n");
            for ((model, version), (p, _)) in m.iter() {
                if let Some(p) = p {
                    let _ = writeln!(
                        out,
                        "nt_drift_ks_pvalue{{model=\"{}\",version=\"{version}\"}} {p}",
                        escape(model)
                    );
                }
            }
            out.push_str("# HELP nt_drift_alarm Whether a drift alarm is on (1) or off (0).\n# TYPE nt_drift_alarm gauge\n");
            for ((model, version), (_, alarm)) in m.iter() {
                let _ = writeln!(
                    out,
                    "nt_drift_alarm{{model=\"{}\",version=\"{version}\"}} {}",
                    escape(model),
                    u8::from(*alarm)
                );
            }
        }
    }
}
