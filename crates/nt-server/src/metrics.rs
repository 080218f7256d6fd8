//! Prometheus metrics, kept in memory and rendered as text by `GET /metrics`: request counts
//! and latency histograms per route and model, forward-pass batch sizes per model, in-flight
//! requests and the loaded model versions.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds (seconds) of the latency histogram buckets.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];
/// Upper bounds of the batch-size histogram buckets (windows per forward pass).
const BATCH_BUCKETS: [f64; 10] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 1024.0];

#[derive(Debug, Clone, Default)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, bounds: &[f64], v: f64) {
        if self.counts.len() != bounds.len() {
            self.counts = vec![0; bounds.len()];
        }
        if let Some(i) = bounds.iter().position(|&b| v <= b) {
            self.counts[i] += 1;
        }
        self.sum += v;
        self.count += 1;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str, bounds: &[f64]) {
        let mut cum = 0;
        for (i, b) in bounds.iter().enumerate() {
            cum += self.counts.get(i).copied().unwrap_or(0);
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{b}\"}} {cum}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", self.count);
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

#[derive(Debug, Default)]
struct Inner {
    /// (route, model, status) -> count.
    requests: BTreeMap<(String, String, u16), u64>,
    /// (route, model) -> latency histogram.
    latency: BTreeMap<(String, String), Histogram>,
    /// model label -> batch sizes.
    batches: BTreeMap<String, Histogram>,
    /// (model, version) currently loaded -> 1.
    loaded: BTreeMap<(String, u32), bool>,
}

/// The server's metrics. Cheap to update from any thread (one short mutex section per
/// request); label values come from the matched route template and known model names only, so
/// clients cannot grow the label set.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
    in_flight: AtomicUsize,
    live: crate::live::LiveGauges,
}

impl Metrics {
    /// Empty metrics.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one finished request.
    pub fn observe_request(&self, route: &str, model: &str, status: u16, elapsed: Duration) {
        if let Ok(mut m) = self.inner.lock() {
            *m.requests
                .entry((route.to_string(), model.to_string(), status))
                .or_default() += 1;
            m.latency
                .entry((route.to_string(), model.to_string()))
                .or_default()
                .observe(&LATENCY_BUCKETS, elapsed.as_secs_f64());
        }
    }

    /// Records one forward pass of `size` windows for `model`.
    pub fn observe_batch(&self, model: &str, size: usize) {
        if let Ok(mut m) = self.inner.lock() {
            m.batches
                .entry(model.to_string())
                .or_default()
                .observe(&BATCH_BUCKETS, size as f64);
        }
    }

    /// Marks a model version as loaded (`true`) or unloaded (`false`).
    pub fn set_loaded(&self, model: &str, version: u32, loaded: bool) {
        if let Ok(mut m) = self.inner.lock() {
            if loaded {
                m.loaded.insert((model.to_string(), version), true);
            } else {
                m.loaded.remove(&(model.to_string(), version));
            }
        }
    }

    /// The live-score, drift and forecast-log gauges.
    pub(crate) fn live(&self) -> &crate::live::LiveGauges {
        &self.live
    }

    /// The in-flight request counter (the middleware increments and decrements it).
    pub fn in_flight(&self) -> &AtomicUsize {
        &self.in_flight
    }

    /// The Prometheus text exposition (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::new();
        let Ok(m) = self.inner.lock() else {
            return out;
        };
        out.push_str("# HELP nt_requests_total Requests answered, by route, model and status.\n");
        out.push_str("# TYPE nt_requests_total counter\n");
        for ((route, model, status), n) in &m.requests {
            let _ = writeln!(
                out,
                "nt_requests_total{{route=\"{}\",model=\"{}\",status=\"{status}\"}} {n}",
                escape(route),
                escape(model)
            );
        }
        out.push_str("# HELP nt_request_duration_seconds Request latency, by route and model.\n");
        out.push_str("# TYPE nt_request_duration_seconds histogram\n");
        for ((route, model), h) in &m.latency {
            let labels = format!("route=\"{}\",model=\"{}\"", escape(route), escape(model));
            h.render(
                &mut out,
                "nt_request_duration_seconds",
                &labels,
                &LATENCY_BUCKETS,
            );
        }
        out.push_str("# HELP nt_batch_size Windows per forward pass, by model.\n");
        out.push_str("# TYPE nt_batch_size histogram\n");
        for (model, h) in &m.batches {
            let labels = format!("model=\"{}\"", escape(model));
            h.render(&mut out, "nt_batch_size", &labels, &BATCH_BUCKETS);
        }
        out.push_str("# HELP nt_models_loaded Model versions held in memory.\n");
        out.push_str("# TYPE nt_models_loaded gauge\n");
        let _ = writeln!(out, "nt_models_loaded {}", m.loaded.len());
        out.push_str("# HELP nt_model_loaded A loaded model version (always 1).\n");
        out.push_str("# TYPE nt_model_loaded gauge\n");
        for (model, version) in m.loaded.keys() {
            let _ = writeln!(
                out,
                "nt_model_loaded{{model=\"{}\",version=\"{version}\"}} 1",
                escape(model)
            );
        }
        out.push_str("# HELP nt_requests_in_flight Requests being handled now.\n");
        out.push_str("# TYPE nt_requests_in_flight gauge\n");
        let _ = writeln!(
            out,
            "nt_requests_in_flight {}",
            self.in_flight.load(Ordering::Relaxed)
        );
        self.live.render(&mut out);
        out
    }
}

/// Escapes a label value (backslash, quote, newline).
pub(crate) fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
