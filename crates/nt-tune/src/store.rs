//! Where a study's trials live: [`TrialStore`], in memory for a local run
//! ([`MemoryStore`]) or in the registry's database for workers anywhere ([`RegistryStore`]).

use std::sync::Mutex;
use std::time::Duration;

use nt_registry::{ClaimedTrial, Registry, TrialOutcome, TrialRecord, TrialState};
use serde_json::Value;

use crate::{Error, Result};

/// The sampler callback of [`TrialStore::claim`]: the records so far → the new trial's params.
pub type SampleFn<'a> = dyn FnMut(&[TrialRecord]) -> Result<Value> + 'a;

/// Claims, reports and finishes trials; the study loop's only view of where they are kept.
pub trait TrialStore {
    /// A trial to run: an abandoned one again (its lease expired) or a new one whose params
    /// `sample` draws from the records so far; `None` when nothing is left to claim now.
    fn claim(&self, sample: &mut SampleFn<'_>) -> Result<Option<ClaimedTrial>>;
    /// Records a validation value of trial `number` at `step`; `false` when the trial's lease
    /// was lost (the value is dropped and the trial should stop).
    fn report(&self, number: u32, step: u64, value: f64) -> Result<bool>;
    /// Renews trial `number`'s lease; `false` when it was lost (another worker has it).
    fn keep_alive(&self, number: u32) -> Result<bool>;
    /// Finishes trial `number`; `false` when its lease was lost (the result is dropped).
    fn finish(&self, number: u32, outcome: &TrialOutcome) -> Result<bool>;
    /// Every trial, by number.
    fn trials(&self) -> Result<Vec<TrialRecord>>;
}

/// Trials in memory, for one process; every claim is a new trial until `n_trials` exist.
#[derive(Debug)]
pub struct MemoryStore {
    n_trials: u32,
    records: Mutex<Vec<TrialRecord>>,
}

impl MemoryStore {
    /// An empty store for at most `n_trials` trials.
    pub fn new(n_trials: u32) -> Self {
        MemoryStore {
            n_trials,
            records: Mutex::new(Vec::new()),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Vec<TrialRecord>) -> Result<T>) -> Result<T> {
        let mut guard = self
            .records
            .lock()
            .map_err(|_| Error::invalid("trial store", "lock poisoned"))?;
        f(&mut guard)
    }
}

fn record_mut(records: &mut [TrialRecord], number: u32) -> Result<&mut TrialRecord> {
    records
        .iter_mut()
        .find(|r| r.number == number)
        .ok_or_else(|| Error::invalid("trial", format!("no trial number {number}")))
}

impl TrialStore for MemoryStore {
    fn claim(&self, sample: &mut SampleFn<'_>) -> Result<Option<ClaimedTrial>> {
        self.with(|records| {
            let number = u32::try_from(records.len()).unwrap_or(u32::MAX);
            if number >= self.n_trials {
                return Ok(None);
            }
            let params = sample(records)?;
            records.push(TrialRecord {
                number,
                params: params.clone(),
                state: TrialState::Running,
                value: None,
                attempts: 1,
                worker: Some("local".into()),
                intermediate: Vec::new(),
                seconds: None,
                detail: Value::Null,
            });
            Ok(Some(ClaimedTrial {
                number,
                params,
                attempt: 1,
            }))
        })
    }

    fn report(&self, number: u32, step: u64, value: f64) -> Result<bool> {
        self.with(|records| {
            record_mut(records, number)?
                .intermediate
                .push((step, value));
            Ok(true)
        })
    }

    fn keep_alive(&self, _number: u32) -> Result<bool> {
        Ok(true)
    }

    fn finish(&self, number: u32, outcome: &TrialOutcome) -> Result<bool> {
        self.with(|records| {
            let r = record_mut(records, number)?;
            r.state = outcome.state;
            r.value = outcome.value;
            r.seconds = Some(outcome.seconds);
            r.detail = outcome.detail.clone();
            Ok(true)
        })
    }

    fn trials(&self) -> Result<Vec<TrialRecord>> {
        self.with(|records| Ok(records.clone()))
    }
}

/// A study in the registry's database, seen by one worker.
#[derive(Debug)]
pub struct RegistryStore<'a> {
    /// The registry.
    pub registry: &'a Registry,
    /// The study's name.
    pub study: String,
    /// This worker's id (unique among the workers).
    pub worker: String,
    /// How long a claim holds without a heartbeat.
    pub lease: Duration,
}

impl TrialStore for RegistryStore<'_> {
    fn claim(&self, sample: &mut SampleFn<'_>) -> Result<Option<ClaimedTrial>> {
        // The registry's callback returns the registry's error: carry ours through as invalid
        // input, whose text is kept.
        let mut inner = |records: &[TrialRecord]| -> nt_registry::Result<Value> {
            sample(records).map_err(|e| nt_registry::Error::InvalidInput {
                field: "sampler".into(),
                reason: e.to_string(),
            })
        };
        Ok(self
            .registry
            .claim_trial(&self.study, &self.worker, self.lease, &mut inner)?)
    }

    fn report(&self, number: u32, step: u64, value: f64) -> Result<bool> {
        match self
            .registry
            .report_value(&self.study, number, &self.worker, step, value)
        {
            Ok(()) => Ok(true),
            Err(nt_registry::Error::LeaseLost { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    fn keep_alive(&self, number: u32) -> Result<bool> {
        Ok(self.registry.heartbeat(&self.study, number, &self.worker)?)
    }

    fn finish(&self, number: u32, outcome: &TrialOutcome) -> Result<bool> {
        Ok(self
            .registry
            .finish_trial(&self.study, number, &self.worker, outcome)?)
    }

    fn trials(&self) -> Result<Vec<TrialRecord>> {
        Ok(self.registry.trials(&self.study)?)
    }
}
