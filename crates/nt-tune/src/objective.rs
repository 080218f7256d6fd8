//! One trial: train the neural spec with the sampled parameters on the tuning rows (the test
//! segment is never among them), the last `val_rows` rows held out for validation; the value is
//! the best validation loss. Each validation check is reported to the store and the pruner, and
//! a pruned trial (or one whose lease was lost) is cancelled through
//! [`nt_neural::TrainOptions::cancel`].

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nt_core::TimeSeries;
use nt_neural::{NeuralModel, NeuralSpec, TrainOptions, TrainProgress};
use nt_registry::{TrialRecord, TrialState};

use crate::pruner::Pruner;
use crate::space::{apply, Point};
use crate::store::TrialStore;
use crate::{Error, Result};

/// What a trial runner needs from the study while it trains.
pub struct TrialContext<'a> {
    /// Where intermediate values go and other trials' curves come from.
    pub store: &'a dyn TrialStore,
    /// The pruning rule.
    pub pruner: Pruner,
    /// How often the trial's lease is renewed while it trains.
    pub heartbeat_every: Duration,
}

/// How one trial ended.
#[derive(Debug)]
pub struct TrialRun {
    /// Complete, pruned or failed.
    pub state: TrialState,
    /// Best validation loss (also for a pruned trial: the best before it stopped).
    pub value: Option<f64>,
    /// Optimizer steps taken.
    pub steps: usize,
    /// The training seed.
    pub seed: Option<u64>,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// Whether the lease was lost while it ran (its result must not be recorded).
    pub lease_lost: bool,
    /// The trained model (complete trials), for saving the best without retraining.
    pub model: Option<NeuralModel>,
    /// The spec it trained.
    pub spec: Option<NeuralSpec>,
}

impl TrialRun {
    /// A failed trial with `error`.
    pub fn failed(error: impl Into<String>) -> Self {
        TrialRun {
            state: TrialState::Failed,
            value: None,
            steps: 0,
            seed: None,
            error: Some(error.into()),
            lease_lost: false,
            model: None,
            spec: None,
        }
    }
}

/// Runs one trial's parameters to a value.
pub trait TrialRunner {
    /// Trains (or evaluates) trial `number` with `params`, reporting through `ctx`.
    fn run_trial(&self, number: u32, params: &Point, ctx: &TrialContext<'_>) -> TrialRun;
}

/// The neural objective: the validation loss of a spec trained on the tuning rows.
#[derive(Debug, Clone)]
pub struct Objective {
    /// The rows tuning may see: the training and validation segments only.
    pub series: TimeSeries,
    /// The target columns (one global model over them).
    pub targets: Vec<String>,
    /// The spec the sampled parameters are merged into; its `train.val_size` is the validation
    /// segment's length.
    pub base: NeuralSpec,
    /// Caps every trial's `train.max_steps` (`--max-steps`).
    pub max_steps_cap: Option<usize>,
    /// Whether the space sets `train.val_check_steps` itself; if not, a trial validates every
    /// `min(base's val_check_steps, max(max_steps / 5, 1))` steps so the pruner sees a curve.
    pub space_sets_val_check: bool,
}

impl Objective {
    /// An objective over `series` (already cut before the test segment) whose last `val_rows`
    /// rows validate.
    pub fn new(
        series: TimeSeries,
        targets: Vec<String>,
        mut base: NeuralSpec,
        val_rows: usize,
        max_steps_cap: Option<usize>,
    ) -> Result<Self> {
        if val_rows < base.horizon() {
            return Err(Error::invalid(
                "validation segment",
                format!(
                    "{val_rows} rows is shorter than the horizon {}: no validation window",
                    base.horizon()
                ),
            ));
        }
        let t = base.train_config_mut();
        t.val_size = Some(val_rows);
        t.early_stop_patience = None;
        Ok(Objective {
            series,
            targets,
            base,
            max_steps_cap,
            space_sets_val_check: false,
        })
    }

    /// The spec trial `params` trains (see [`crate::space::apply`]).
    pub fn spec_for(&self, params: &Point) -> Result<NeuralSpec> {
        let mut spec = apply(&self.base, params, self.max_steps_cap)?;
        if !self.space_sets_val_check {
            let t = spec.train_config_mut();
            t.val_check_steps = t.val_check_steps.min((t.max_steps / 5).max(1));
        }
        Ok(spec)
    }
}

/// The completed trials' curves other than `number`.
fn completed_curves(records: &[TrialRecord], number: u32) -> Vec<Vec<(u64, f64)>> {
    records
        .iter()
        .filter(|r| r.number != number && r.state == TrialState::Complete)
        .map(|r| r.intermediate.clone())
        .collect()
}

impl TrialRunner for Objective {
    fn run_trial(&self, number: u32, params: &Point, ctx: &TrialContext<'_>) -> TrialRun {
        let spec = match self.spec_for(params) {
            Ok(s) => s,
            Err(e) => return TrialRun::failed(e.to_string()),
        };
        let cfg = spec.train_config().clone();
        let cancel = Arc::new(AtomicBool::new(false));
        let opts = TrainOptions {
            cancel: Some(cancel.clone()),
            ..TrainOptions::default()
        };
        let pruned = Cell::new(false);
        let lost = Cell::new(false);
        let store_error: RefCell<Option<Error>> = RefCell::new(None);
        let last_beat = Cell::new(Instant::now());
        let mut on_step = |p: &TrainProgress| {
            if cancel.load(Ordering::Relaxed) {
                return;
            }
            let stop = |e: Option<Error>| {
                if let Some(e) = e {
                    *store_error.borrow_mut() = Some(e);
                }
                cancel.store(true, Ordering::Relaxed);
            };
            if last_beat.get().elapsed() >= ctx.heartbeat_every {
                last_beat.set(Instant::now());
                match ctx.store.keep_alive(number) {
                    Ok(true) => {}
                    Ok(false) => {
                        lost.set(true);
                        return stop(None);
                    }
                    Err(e) => return stop(Some(e)),
                }
            }
            let check = p.step % cfg.val_check_steps == 0 || p.step == p.max_steps;
            let (Some(val), Some(best), true) = (p.val_loss, p.best_val_loss, check) else {
                return;
            };
            let step = p.step as u64;
            match ctx.store.report(number, step, val) {
                Ok(true) => {}
                Ok(false) => {
                    lost.set(true);
                    return stop(None);
                }
                Err(e) => return stop(Some(e)),
            }
            if matches!(ctx.pruner, Pruner::None) || p.step == p.max_steps {
                return;
            }
            match ctx.store.trials() {
                Ok(records) => {
                    let curves = completed_curves(&records, number);
                    let refs: Vec<&[(u64, f64)]> = curves.iter().map(Vec::as_slice).collect();
                    if ctx.pruner.should_prune(step, best, &refs) {
                        pruned.set(true);
                        stop(None);
                    }
                }
                Err(e) => stop(Some(e)),
            }
        };
        let targets: Vec<&str> = self.targets.iter().map(String::as_str).collect();
        let result = nt_neural::train(&self.series, &targets, &spec, &opts, &mut on_step);
        let mut run = match result {
            Ok(trained) => {
                let value = trained.report.best_val_loss;
                let (state, error) = match value {
                    _ if pruned.get() => (TrialState::Pruned, None),
                    Some(v) if v.is_finite() => (TrialState::Complete, None),
                    Some(v) => (TrialState::Failed, Some(format!("validation loss {v}"))),
                    None => (
                        TrialState::Failed,
                        Some("no validation check ran".to_string()),
                    ),
                };
                TrialRun {
                    state,
                    value: value.filter(|v| v.is_finite()),
                    steps: trained.report.steps,
                    seed: Some(cfg.seed),
                    error,
                    lease_lost: false,
                    model: (state == TrialState::Complete).then_some(trained.model),
                    spec: Some(spec),
                }
            }
            Err(e) => TrialRun {
                seed: Some(cfg.seed),
                spec: Some(spec),
                ..TrialRun::failed(e.to_string())
            },
        };
        if let Some(e) = store_error.into_inner() {
            run.state = TrialState::Failed;
            run.error = Some(format!("trial store: {e}"));
            run.model = None;
        }
        run.lease_lost = lost.get();
        run
    }
}
