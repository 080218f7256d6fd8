//! The study loop: claim a trial, sample its parameters from the history, run it, finish it;
//! until `n_trials` exist or the time budget is spent (a running trial may finish). The same
//! loop serves a local run ([`crate::MemoryStore`]) and a worker ([`crate::RegistryStore`]).

use std::time::{Duration, Instant};

use nt_neural::NeuralModel;
use nt_registry::{TrialOutcome, TrialRecord, TrialState};
use serde_json::{json, Value};

use crate::objective::{TrialContext, TrialRunner};
use crate::pruner::Pruner;
use crate::sampler::{Observation, Sampler};
use crate::space::SearchSpace;
use crate::store::TrialStore;
use crate::{Error, Result};

/// How a study searches.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyConfig {
    /// The parameters and their distributions.
    pub space: SearchSpace,
    /// Random or TPE, seeded.
    pub sampler: Sampler,
    /// The pruning rule.
    pub pruner: Pruner,
    /// Trials in the study (≥ 1).
    pub n_trials: u32,
    /// Stop starting trials after this long (> 0); `None`: no limit.
    pub budget: Option<Duration>,
    /// Lease renewal interval while a trial trains (workers; ignored in memory).
    pub heartbeat_every: Duration,
    /// How long a worker waits before asking again when every remaining trial is held by
    /// another worker.
    pub idle_poll: Duration,
}

impl StudyConfig {
    /// Checks the settings: trials ≥ 1, a budget above zero.
    pub fn validate(&self) -> Result<()> {
        if self.n_trials == 0 {
            return Err(Error::invalid("--trials", "must be at least 1"));
        }
        if self.budget.is_some_and(|b| b.is_zero()) {
            return Err(Error::invalid(
                "--budget",
                "must be more than 0 seconds (omit it for no limit)",
            ));
        }
        Ok(())
    }
}

/// What a study (or this worker's share of it) did.
#[derive(Debug)]
pub struct StudyOutcome {
    /// Every trial in the store at the end, by number.
    pub trials: Vec<TrialRecord>,
    /// The trials this process ran to a recorded end.
    pub ran: Vec<u32>,
    /// The best complete trial (lowest value; the lower number on a tie).
    pub best: Option<TrialRecord>,
    /// The best trial's model, when this process trained it.
    pub best_model: Option<NeuralModel>,
    /// Seconds from the start of the loop to its end.
    pub wall_seconds: f64,
    /// Whether the budget stopped the loop before every trial was started.
    pub budget_exhausted: bool,
}

/// The best complete trial of `records`.
pub fn best_trial(records: &[TrialRecord]) -> Option<&TrialRecord> {
    records
        .iter()
        .filter(|r| r.state == TrialState::Complete && r.value.is_some_and(f64::is_finite))
        .min_by(|a, b| {
            let (va, vb) = (
                a.value.unwrap_or(f64::INFINITY),
                b.value.unwrap_or(f64::INFINITY),
            );
            va.total_cmp(&vb).then(a.number.cmp(&b.number))
        })
}

/// The sampler's view of the history: complete trials with finite values (pruned and failed
/// trials are not told to TPE).
fn observations(records: &[TrialRecord]) -> Vec<Observation> {
    records
        .iter()
        .filter(|r| r.state == TrialState::Complete)
        .filter_map(|r| {
            Some(Observation {
                point: r.params.as_object()?.clone(),
                value: r.value?,
            })
        })
        .collect()
}

/// Runs the study loop over `store` with `runner` until no trial is left to claim or the budget
/// is spent. With a shared store, waits while other workers hold the remaining trials (their
/// leases may expire and the trials come back).
pub fn run_study(
    store: &dyn TrialStore,
    runner: &dyn TrialRunner,
    cfg: &StudyConfig,
    on_trial: &mut dyn FnMut(&TrialRecord),
) -> Result<StudyOutcome> {
    cfg.validate()?;
    let start = Instant::now();
    let mut ran = Vec::new();
    let mut best: Option<(f64, u32, NeuralModel)> = None;
    let mut budget_exhausted = false;
    let ctx = TrialContext {
        store,
        pruner: cfg.pruner,
        heartbeat_every: cfg.heartbeat_every,
    };
    loop {
        if cfg.budget.is_some_and(|b| start.elapsed() >= b) {
            budget_exhausted = store.trials()?.len() < cfg.n_trials as usize;
            break;
        }
        let mut sample = |records: &[TrialRecord]| -> Result<Value> {
            let number = u32::try_from(records.len()).unwrap_or(u32::MAX);
            let point = cfg
                .sampler
                .sample(&cfg.space, number, &observations(records))?;
            Ok(Value::Object(point))
        };
        let Some(claimed) = store.claim(&mut sample)? else {
            if store
                .trials()?
                .iter()
                .any(|r| r.state == TrialState::Running)
            {
                std::thread::sleep(cfg.idle_poll);
                continue;
            }
            break;
        };
        let params = claimed.params.as_object().cloned().unwrap_or_default();
        let t0 = Instant::now();
        let run = runner.run_trial(claimed.number, &params, &ctx);
        if run.lease_lost {
            continue;
        }
        let outcome = TrialOutcome {
            state: run.state,
            value: run.value,
            seconds: t0.elapsed().as_secs_f64(),
            detail: json!({
                "steps": run.steps,
                "seed": run.seed,
                "attempt": claimed.attempt,
                "error": run.error,
            }),
        };
        if !store.finish(claimed.number, &outcome)? {
            continue;
        }
        ran.push(claimed.number);
        if let (TrialState::Complete, Some(v), Some(model)) = (run.state, run.value, run.model) {
            if best.as_ref().is_none_or(|(b, _, _)| v < *b) {
                best = Some((v, claimed.number, model));
            }
        }
        if let Some(r) = store.trials()?.iter().find(|r| r.number == claimed.number) {
            on_trial(r);
        }
    }
    let trials = store.trials()?;
    let best_record = best_trial(&trials).cloned();
    let best_model = match (&best_record, best) {
        (Some(r), Some((_, n, m))) if r.number == n => Some(m),
        _ => None,
    };
    Ok(StudyOutcome {
        trials,
        ran,
        best: best_record,
        best_model,
        wall_seconds: start.elapsed().as_secs_f64(),
        budget_exhausted,
    })
}

/// The search history as JSON: every trial's number, params, state, value, steps, seed,
/// seconds and attempts, with the settings that produced them.
pub fn history_json(cfg: &StudyConfig, outcome: &StudyOutcome) -> Value {
    let trials: Vec<Value> = outcome
        .trials
        .iter()
        .map(|r| {
            json!({
                "number": r.number,
                "params": r.params,
                "state": r.state.as_str(),
                "value": r.value,
                "steps": r.detail.get("steps"),
                "seed": r.detail.get("seed"),
                "seconds": r.seconds,
                "attempts": r.attempts,
                "worker": r.worker,
                "error": r.detail.get("error"),
            })
        })
        .collect();
    json!({
        "sampler": cfg.sampler.kind.as_str(),
        "sampler_seed": cfg.sampler.seed,
        "pruner": cfg.pruner,
        "n_trials": cfg.n_trials,
        "budget_seconds": cfg.budget.map(|b| b.as_secs_f64()),
        "budget_exhausted": outcome.budget_exhausted,
        "wall_seconds": outcome.wall_seconds,
        "space": cfg.space,
        "best": outcome.best.as_ref().map(|b| json!({"number": b.number, "value": b.value, "params": b.params})),
        "trials": trials,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objective::TrialRun;
    use crate::sampler::SamplerKind;
    use crate::space::{Param, Point};
    use crate::store::MemoryStore;

    /// A quadratic in `x` with a fake curve, sleeping `sleep` per trial.
    struct Quadratic {
        sleep: Duration,
    }

    impl TrialRunner for Quadratic {
        fn run_trial(&self, number: u32, params: &Point, ctx: &TrialContext<'_>) -> TrialRun {
            std::thread::sleep(self.sleep);
            let x = params["x"].as_f64().unwrap_or(f64::NAN);
            let value = (x - 1.0).powi(2);
            for step in [10, 20] {
                if ctx
                    .store
                    .report(number, step, value + 1.0 / step as f64)
                    .is_err()
                {
                    return TrialRun::failed("report");
                }
            }
            TrialRun {
                state: TrialState::Complete,
                value: Some(value),
                steps: 20,
                seed: Some(u64::from(number)),
                ..TrialRun::failed("")
            }
        }
    }

    fn cfg(n: u32, budget: Option<Duration>) -> StudyConfig {
        let mut space = SearchSpace::default();
        space.params.insert("x".into(), Param::uniform(-5.0, 5.0));
        StudyConfig {
            space,
            sampler: Sampler::new(SamplerKind::Random, 3),
            pruner: Pruner::None,
            n_trials: n,
            budget,
            heartbeat_every: Duration::from_secs(1),
            idle_poll: Duration::from_millis(10),
        }
    }

    #[test]
    fn runs_every_trial_and_finds_the_best() {
        let store = MemoryStore::new(6);
        let c = cfg(6, None);
        let mut seen = 0;
        let out = run_study(
            &store,
            &Quadratic {
                sleep: Duration::ZERO,
            },
            &c,
            &mut |_| seen += 1,
        )
        .expect("study");
        assert_eq!(seen, 6);
        assert_eq!(out.trials.len(), 6);
        assert!(out.trials.iter().all(|r| r.state == TrialState::Complete));
        let best = out.best.as_ref().expect("best");
        let min = out
            .trials
            .iter()
            .filter_map(|r| r.value)
            .fold(f64::INFINITY, f64::min);
        assert_eq!(best.value, Some(min));
        assert!(!out.budget_exhausted);
        let h = history_json(&c, &out);
        assert_eq!(h["trials"].as_array().map(Vec::len), Some(6));
        assert_eq!(h["sampler"], "random");
    }

    #[test]
    fn budget_stops_starting_trials() {
        // The budget (1 ms) is spent once the first trial (which sleeps 20 ms) finishes.
        let store = MemoryStore::new(50);
        let c = cfg(50, Some(Duration::from_millis(1)));
        let out = run_study(
            &store,
            &Quadratic {
                sleep: Duration::from_millis(20),
            },
            &c,
            &mut |_| {},
        )
        .expect("study");
        assert_eq!(out.trials.len(), 1);
        assert!(out.budget_exhausted);
    }

    #[test]
    fn bad_settings_are_refused() {
        let store = MemoryStore::new(1);
        let q = Quadratic {
            sleep: Duration::ZERO,
        };
        let e = run_study(&store, &q, &cfg(0, None), &mut |_| {}).unwrap_err();
        assert!(e.to_string().contains("--trials"));
        let e = run_study(&store, &q, &cfg(1, Some(Duration::ZERO)), &mut |_| {}).unwrap_err();
        assert!(e.to_string().contains("--budget"));
    }
}
