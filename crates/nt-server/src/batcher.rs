//! Micro-batching: one compute thread per loaded model version gathers concurrent requests
//! into one forward pass.
//!
//! The thread blocks on its queue; when a job arrives it takes every job already queued (up to
//! `max_batch` windows) and, only while other requests for the same model are still being
//! parsed (the `arriving` counter), waits up to `max_wait` for them. A lone request therefore
//! goes out at once. Forward passes never run on tokio's workers: the batching thread spreads
//! a batch's windows over the server's compute pool (rayon, one thread per core by default).
//!
//! A window's forecast has the same bits whatever batch it lands in: see [`ComputePath`].

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nt_core::Forecast;
use nt_models::{Forecaster, WindowInputs};
use tokio::sync::oneshot;

use crate::error::{Error, Result};
use crate::metrics::Metrics;

/// How a batch's forward passes are computed. Both give every window the same bits whatever
/// batch it lands in: nt-neural's CPU path computes each window's sums in one fixed order and
/// only shares the weight loads between the windows of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ComputePath {
    /// Every window alone through `forecast_windows`, the windows of a batch spread over the
    /// compute pool: each window streams all the weights.
    PerWindow,
    /// The whole gathered batch in one `forecast_windows` call: nt-neural streams each weight
    /// matrix once per 32 windows and runs those chunks in parallel on the compute pool. A lone
    /// request costs what it costs alone; under load the weight traffic is shared.
    #[default]
    Batched,
}

/// The gathering parameters.
#[derive(Debug, Clone, Copy)]
pub struct BatchConfig {
    /// Most windows in one gathered batch.
    pub max_batch: usize,
    /// Longest a gathered batch waits for requests still being parsed.
    pub max_wait: Duration,
    /// How the batch is computed.
    pub path: ComputePath,
}

/// The forecasts of one job, in its windows' order, each over at least the job's horizon.
pub(crate) type JobResult = Result<Vec<Forecast>>;

/// One history as a request carries it: the target's values and, for models with exogenous
/// inputs, each historic column over the same rows and each future column over those rows plus
/// the model's horizon (in the model's column order).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct OwnedInputs {
    pub(crate) target: Vec<f64>,
    pub(crate) hist: Vec<Vec<f64>>,
    pub(crate) futr: Vec<Vec<f64>>,
}

impl OwnedInputs {
    /// Only a target history.
    pub(crate) fn target(values: Vec<f64>) -> Self {
        Self {
            target: values,
            ..Self::default()
        }
    }

    /// The borrowed form a model reads.
    pub(crate) fn view(&self) -> WindowInputs<'_> {
        WindowInputs {
            target: &self.target,
            hist: self.hist.iter().map(Vec::as_slice).collect(),
            futr: self.futr.iter().map(Vec::as_slice).collect(),
        }
    }
}

/// Windows of one request, waiting for their forecasts.
struct Job {
    windows: Vec<OwnedInputs>,
    horizon: usize,
    reply: oneshot::Sender<JobResult>,
}

/// The queue of one model version's compute thread. Dropping the last handle ends the thread
/// once the queue is empty.
#[derive(Debug)]
pub(crate) struct Batcher {
    tx: mpsc::Sender<Job>,
}

/// Counts one request for a model from before its body is parsed until its windows are
/// queued (or it fails): the compute thread waits for stragglers only while this is non-zero.
#[derive(Debug)]
pub(crate) struct ArrivingGuard(Arc<AtomicUsize>);

impl ArrivingGuard {
    /// Increments `counter` until dropped.
    pub(crate) fn new(counter: Arc<AtomicUsize>) -> Self {
        counter.fetch_add(1, Ordering::AcqRel);
        Self(counter)
    }
}

impl Drop for ArrivingGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Batcher {
    /// Starts the compute thread for `model` (labelled `label` in metrics); `arriving` counts
    /// requests for this model that are parsed but not yet queued.
    pub(crate) fn spawn(
        model: Arc<dyn Forecaster>,
        label: String,
        cfg: BatchConfig,
        arriving: Arc<AtomicUsize>,
        metrics: Arc<Metrics>,
        pool: Arc<rayon::ThreadPool>,
    ) -> Result<Self> {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name(format!("nt-batch-{label}"))
            .spawn(move || {
                let ctx = WorkerCtx {
                    model: &*model,
                    label: &label,
                    cfg,
                    arriving: &arriving,
                    metrics: &metrics,
                    pool: &pool,
                };
                worker(&ctx, &rx);
            })
            .map_err(|e| Error::internal(format!("cannot start compute thread: {e}")))?;
        Ok(Self { tx })
    }

    /// Releases `arriving` and queues `windows` (histories the model accepts, finite) to be
    /// forecast at least `horizon` steps; the receiver yields their forecasts.
    pub(crate) fn submit(
        &self,
        windows: Vec<OwnedInputs>,
        horizon: usize,
        arriving: Option<ArrivingGuard>,
    ) -> Result<oneshot::Receiver<JobResult>> {
        let (reply, rx) = oneshot::channel();
        // Released before the send: the compute thread, woken by this job, must not wait for
        // the job itself.
        drop(arriving);
        self.tx
            .send(Job {
                windows,
                horizon,
                reply,
            })
            .map_err(|_| Error::internal("compute thread stopped"))?;
        Ok(rx)
    }

    /// Waits for the forecasts of a submitted job.
    pub(crate) async fn wait(rx: oneshot::Receiver<JobResult>) -> JobResult {
        rx.await
            .map_err(|_| Error::internal("compute thread dropped the request"))?
    }
}

/// What a batching thread works with.
struct WorkerCtx<'a> {
    model: &'a dyn Forecaster,
    label: &'a str,
    cfg: BatchConfig,
    arriving: &'a AtomicUsize,
    metrics: &'a Metrics,
    pool: &'a rayon::ThreadPool,
}

fn worker(ctx: &WorkerCtx<'_>, rx: &mpsc::Receiver<Job>) {
    let WorkerCtx {
        model,
        label,
        cfg,
        arriving,
        metrics,
        pool,
    } = *ctx;
    let max_batch = cfg.max_batch.max(1);
    while let Ok(first) = rx.recv() {
        let mut n = first.windows.len();
        let mut jobs = vec![first];
        // Everything already queued.
        while n < max_batch {
            match rx.try_recv() {
                Ok(j) => {
                    n += j.windows.len();
                    jobs.push(j);
                }
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        // Requests still being parsed: wait for them, but never longer than max_wait.
        if n < max_batch && !cfg.max_wait.is_zero() && arriving.load(Ordering::Acquire) > 0 {
            let deadline = Instant::now() + cfg.max_wait;
            while n < max_batch && arriving.load(Ordering::Acquire) > 0 {
                let left = deadline.saturating_duration_since(Instant::now());
                match rx.recv_timeout(left) {
                    Ok(j) => {
                        n += j.windows.len();
                        jobs.push(j);
                    }
                    Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
                }
            }
        }
        metrics.observe_batch(label, n);
        let result =
            std::panic::catch_unwind(AssertUnwindSafe(|| compute(model, cfg, pool, &jobs)));
        match result {
            Ok(Ok(mut forecasts)) => {
                for job in jobs.into_iter().rev() {
                    let rest = forecasts.split_off(forecasts.len() - job.windows.len());
                    // A client that went away (timeout) no longer listens: nothing to do.
                    let _ = job.reply.send(Ok(rest));
                }
            }
            Ok(Err(e)) => {
                let msg = e.to_string();
                tracing::error!(model = label, error = %msg, "forward pass failed");
                for job in jobs {
                    let _ = job
                        .reply
                        .send(Err(Error::internal(format!("forward pass: {msg}"))));
                }
            }
            Err(_) => {
                tracing::error!(model = label, "forward pass panicked");
                for job in jobs {
                    let _ = job
                        .reply
                        .send(Err(Error::internal("forward pass panicked")));
                }
            }
        }
    }
}

/// The forecasts of every window of `jobs`, in order. Models that batch
/// ([`Forecaster::batches`]) forecast every window over their full horizon in one call; the
/// others each job's windows at its own horizon.
fn compute(
    model: &dyn Forecaster,
    cfg: BatchConfig,
    pool: &rayon::ThreadPool,
    jobs: &[Job],
) -> Result<Vec<Forecast>> {
    if model.batches() {
        let windows: Vec<WindowInputs<'_>> = jobs
            .iter()
            .flat_map(|j| j.windows.iter().map(OwnedInputs::view))
            .collect();
        let h = jobs.iter().map(|j| j.horizon).max().unwrap_or(1);
        return forecast_on(model, cfg, Some(pool), &windows, h);
    }
    let mut out = Vec::new();
    for j in jobs {
        let windows: Vec<WindowInputs<'_>> = j.windows.iter().map(OwnedInputs::view).collect();
        let per_window = BatchConfig {
            path: ComputePath::PerWindow,
            ..cfg
        };
        out.extend(forecast_on(
            model,
            per_window,
            Some(pool),
            &windows,
            j.horizon,
        )?);
    }
    Ok(out)
}

/// The forecasts of `windows` exactly as a server with `cfg` computes them (the same bits for a
/// window whatever else is in its batch): over the model's full horizon when it has one, else
/// over `horizon` steps.
pub fn forecast(
    model: &dyn Forecaster,
    cfg: BatchConfig,
    windows: &[&[f64]],
    horizon: usize,
) -> Result<Vec<Forecast>> {
    let inputs: Vec<WindowInputs<'_>> = windows.iter().map(|w| WindowInputs::target(w)).collect();
    forecast_on(model, cfg, None, &inputs, horizon)
}

/// [`forecast`], with [`ComputePath::PerWindow`] batches spread over `pool`'s threads.
fn forecast_on(
    model: &dyn Forecaster,
    cfg: BatchConfig,
    pool: Option<&rayon::ThreadPool>,
    windows: &[WindowInputs<'_>],
    horizon: usize,
) -> Result<Vec<Forecast>> {
    let h = model.max_horizon().unwrap_or(horizon);
    match cfg.path {
        ComputePath::PerWindow => {
            let one = |w: &WindowInputs<'_>| -> Result<Forecast> { Ok(model.forecast(w, h)?) };
            match pool {
                Some(pool) if windows.len() > 1 && pool.current_num_threads() > 1 => {
                    use rayon::prelude::*;
                    pool.install(|| windows.par_iter().map(&one).collect())
                }
                _ => windows.iter().map(one).collect(),
            }
        }
        ComputePath::Batched => {
            let run = || model.forecast_batch(windows, h).map_err(Error::from);
            match pool {
                Some(pool) => pool.install(run),
                None => run(),
            }
        }
    }
}
