//! Hyper-parameter studies and trials in the registry (schema 5): creation, the claim protocol
//! (numbers handed out once, expired leases taken over, zombies refused), intermediate values,
//! outcomes, threads with their own connections, worker processes one of which is killed, and
//! the in-place upgrade of a schema-4 registry.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nt_registry::{Registry, TrialOutcome, TrialRecord, TrialState, VersionSelector};
use serde_json::{json, Value};

fn registry() -> (tempfile::TempDir, Registry) {
    let tmp = tempfile::tempdir().unwrap();
    let reg = Registry::open(tmp.path().join("reg")).unwrap();
    (tmp, reg)
}

fn definition() -> Value {
    json!({"model": "nhits", "space": {"learning_rate": {"loguniform": [1e-4, 1e-2]}},
           "objective": "val_mae", "seed": 7})
}

/// A sampler that proposes `{"i": number of trials so far}`.
fn counting(records: &[TrialRecord]) -> nt_registry::Result<Value> {
    Ok(json!({"i": records.len()}))
}

fn complete(value: f64) -> TrialOutcome {
    TrialOutcome {
        state: TrialState::Complete,
        value: Some(value),
        seconds: 0.5,
        detail: json!({"seed": 1}),
    }
}

#[test]
fn creating_a_study_is_idempotent_and_another_definition_conflicts() {
    let (_tmp, reg) = registry();
    let s = reg.create_study("tune-1", &definition(), 20).unwrap();
    assert_eq!((s.name.as_str(), s.n_trials), ("tune-1", 20));
    assert_eq!(s.definition, definition());
    let again = reg.create_study("tune-1", &definition(), 20).unwrap();
    assert_eq!(again, s, "the same definition returns the stored study");
    assert_eq!(reg.study("tune-1").unwrap(), s);

    let mut other = definition();
    other["seed"] = json!(8);
    let e = reg.create_study("tune-1", &other, 20).unwrap_err();
    assert!(e.is_conflict(), "another definition: {e}");
    let e = reg.create_study("tune-1", &definition(), 21).unwrap_err();
    assert!(e.is_conflict(), "another n_trials: {e}");
    assert_eq!(
        reg.study("tune-1").unwrap(),
        s,
        "the conflict changed nothing"
    );

    reg.create_study("a-first", &json!({}), 1).unwrap();
    let names: Vec<_> = reg.studies().unwrap().into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["a-first", "tune-1"]);

    assert!(reg.study("missing").unwrap_err().is_not_found());
    assert!(reg.trials("missing").unwrap_err().is_not_found());
    for (name, n) in [("", 3), ("bad name", 3), (".x", 3), ("ok", 0)] {
        let e = reg.create_study(name, &definition(), n).unwrap_err();
        assert!(e.is_bad_input(), "{name:?} n_trials {n}: {e}");
    }
}

#[test]
fn claims_hand_out_each_number_once_and_the_sampler_sees_every_trial_so_far() {
    let (_tmp, reg) = registry();
    reg.create_study("s", &definition(), 5).unwrap();
    let mut seen = Vec::new();
    for k in 0..5u32 {
        let mut calls = 0;
        let t = reg
            .claim_trial("s", "w1", Duration::from_secs(60), &mut |records| {
                calls += 1;
                let numbers: Vec<u32> = records.iter().map(|r| r.number).collect();
                assert_eq!(
                    numbers,
                    (0..k).collect::<Vec<_>>(),
                    "the sampler sees 0..{k}"
                );
                // Trials finished before this claim are seen with their values.
                for r in records.iter().filter(|r| r.number % 2 == 0) {
                    assert_eq!(r.state, TrialState::Complete);
                    assert_eq!(r.value, Some(f64::from(r.number)));
                }
                counting(records)
            })
            .unwrap()
            .expect("a trial while fewer than n_trials exist");
        assert_eq!(calls, 1);
        assert_eq!((t.number, t.attempt), (k, 1));
        assert_eq!(t.params, json!({"i": k}));
        if k % 2 == 0 {
            assert!(reg
                .finish_trial("s", k, "w1", &complete(f64::from(k)))
                .unwrap());
        }
        seen.push(t.number);
    }
    assert_eq!(seen, [0, 1, 2, 3, 4]);
    let mut called = false;
    let none = reg
        .claim_trial("s", "w2", Duration::from_secs(60), &mut |r| {
            called = true;
            counting(r)
        })
        .unwrap();
    assert!(
        none.is_none() && !called,
        "exhausted: no claim, no sampling"
    );

    let trials = reg.trials("s").unwrap();
    assert_eq!(trials.len(), 5);
    let running: Vec<u32> = trials
        .iter()
        .filter(|t| t.state == TrialState::Running)
        .map(|t| t.number)
        .collect();
    assert_eq!(running, [1, 3]);
    assert!(trials
        .iter()
        .all(|t| t.attempts == 1 && t.worker.as_deref() == Some("w1")));
    assert_eq!(trials[1].detail, Value::Null);
    assert_eq!(trials[1].seconds, None);
}

#[test]
fn a_failing_sampler_rolls_the_claim_back() {
    let (_tmp, reg) = registry();
    reg.create_study("s", &definition(), 2).unwrap();
    let e = reg
        .claim_trial("s", "w", Duration::from_secs(10), &mut |_| {
            Err(nt_registry::Error::NotFound {
                what: "search space",
                name: "nope".into(),
            })
        })
        .unwrap_err();
    assert!(e.to_string().contains("nope"), "{e}");
    assert!(reg.trials("s").unwrap().is_empty(), "nothing stored");
    let t = reg
        .claim_trial("s", "w", Duration::from_secs(10), &mut counting)
        .unwrap()
        .unwrap();
    assert_eq!(t.number, 0);
}

#[test]
fn claim_inputs_are_checked() {
    let (_tmp, reg) = registry();
    reg.create_study("s", &definition(), 2).unwrap();
    let lease = Duration::from_secs(1);
    let e = reg
        .claim_trial("missing", "w", lease, &mut counting)
        .unwrap_err();
    assert!(e.is_not_found(), "{e}");
    for (worker, lease) in [
        ("", lease),
        ("a\tb", lease),
        ("w", Duration::ZERO),
        ("w", nt_registry::MAX_LEASE + Duration::from_secs(1)),
    ] {
        let e = reg
            .claim_trial("s", worker, lease, &mut counting)
            .unwrap_err();
        assert!(e.is_bad_input(), "{worker:?} {lease:?}: {e}");
    }
    assert!(reg.trials("s").unwrap().is_empty());
    assert!(reg.heartbeat("s", 0, "w").unwrap_err().is_not_found());
    assert!(reg
        .finish_trial("s", 0, "w", &complete(1.0))
        .unwrap_err()
        .is_not_found());
}

#[test]
fn an_expired_lease_is_taken_over_and_the_zombie_is_refused() {
    let (_tmp, reg) = registry();
    reg.create_study("s", &definition(), 2).unwrap();
    // Long enough that the claims below run before it expires, even on a loaded machine.
    let short = Duration::from_millis(600);
    let t = reg
        .claim_trial("s", "zombie", short, &mut counting)
        .unwrap()
        .unwrap();
    assert_eq!(t.number, 0);
    reg.report_value("s", 0, "zombie", 10, 0.9).unwrap();
    // Before the lease expires another worker gets a fresh trial, not trial 0.
    let fresh = reg
        .claim_trial("s", "retry", Duration::from_secs(60), &mut counting)
        .unwrap()
        .unwrap();
    assert_eq!((fresh.number, fresh.attempt), (1, 1));
    assert!(reg
        .claim_trial("s", "retry", Duration::from_secs(60), &mut counting)
        .unwrap()
        .is_none());

    std::thread::sleep(short + Duration::from_millis(150));
    let taken = reg
        .claim_trial("s", "retry", Duration::from_secs(60), &mut |_| {
            panic!("a reclaim does not sample")
        })
        .unwrap()
        .expect("the expired trial");
    assert_eq!((taken.number, taken.attempt), (0, 2));
    assert_eq!(taken.params, t.params, "same params");
    let rec = &reg.trials("s").unwrap()[0];
    assert_eq!(
        (rec.state, rec.attempts, rec.worker.as_deref()),
        (TrialState::Running, 2, Some("retry"))
    );
    assert!(
        rec.intermediate.is_empty(),
        "the first attempt's values are cleared"
    );

    assert!(!reg.heartbeat("s", 0, "zombie").unwrap());
    let e = reg.report_value("s", 0, "zombie", 20, 0.8).unwrap_err();
    assert!(e.is_conflict(), "{e}");
    assert!(!reg.finish_trial("s", 0, "zombie", &complete(0.1)).unwrap());
    assert!(reg.heartbeat("s", 0, "retry").unwrap());
    assert!(reg.finish_trial("s", 0, "retry", &complete(0.7)).unwrap());
    // The zombie finishing after the retry changes nothing either.
    assert!(!reg.finish_trial("s", 0, "zombie", &complete(0.1)).unwrap());
    let rec = &reg.trials("s").unwrap()[0];
    assert_eq!(
        (rec.state, rec.value, rec.worker.as_deref()),
        (TrialState::Complete, Some(0.7), Some("retry"))
    );

    let events = reg.study_events("s").unwrap();
    let kinds: Vec<_> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["created", "reclaimed"]);
    assert_eq!(events[1].number, Some(0));
    assert_eq!(events[1].details["from"], "zombie");
    assert_eq!(events[1].details["to"], "retry");
    assert_eq!(events[1].details["attempt"], 2);
}

#[test]
fn heartbeats_keep_a_trial_from_being_taken_over() {
    let (_tmp, reg) = registry();
    reg.create_study("s", &definition(), 1).unwrap();
    let lease = Duration::from_millis(400);
    reg.claim_trial("s", "w1", lease, &mut counting)
        .unwrap()
        .unwrap();
    let start = Instant::now();
    while start.elapsed() < lease * 2 {
        std::thread::sleep(Duration::from_millis(50));
        assert!(reg.heartbeat("s", 0, "w1").unwrap());
        assert!(
            reg.claim_trial("s", "w2", lease, &mut counting)
                .unwrap()
                .is_none(),
            "a heartbeating trial is not taken over"
        );
    }
    std::thread::sleep(lease + Duration::from_millis(100));
    let t = reg
        .claim_trial("s", "w2", lease, &mut counting)
        .unwrap()
        .unwrap();
    assert_eq!((t.number, t.attempt), (0, 2));
}

#[test]
fn intermediate_values_round_trip_by_step() {
    let (_tmp, reg) = registry();
    reg.create_study("s", &definition(), 2).unwrap();
    let lease = Duration::from_secs(60);
    reg.claim_trial("s", "w", lease, &mut counting)
        .unwrap()
        .unwrap();
    reg.claim_trial("s", "w", lease, &mut counting)
        .unwrap()
        .unwrap();
    for (step, v) in [(200, 0.5), (100, 0.75), (300, 0.25), (200, 0.4)] {
        reg.report_value("s", 0, "w", step, v).unwrap();
    }
    reg.report_value("s", 1, "w", 100, 2.0).unwrap();
    let trials = reg.trials("s").unwrap();
    assert_eq!(
        trials[0].intermediate,
        [(100, 0.75), (200, 0.4), (300, 0.25)],
        "sorted by step, a repeated step replaced"
    );
    assert_eq!(trials[1].intermediate, [(100, 2.0)]);

    for bad in [f64::NAN, f64::INFINITY] {
        assert!(reg
            .report_value("s", 0, "w", 400, bad)
            .unwrap_err()
            .is_bad_input());
    }
    assert!(reg
        .report_value("s", 0, "w", u64::MAX, 1.0)
        .unwrap_err()
        .is_bad_input());
    assert!(reg
        .report_value("s", 0, "other", 400, 1.0)
        .unwrap_err()
        .is_conflict());
    assert!(reg
        .report_value("s", 7, "w", 400, 1.0)
        .unwrap_err()
        .is_not_found());
    assert!(reg.finish_trial("s", 0, "w", &complete(0.25)).unwrap());
    let e = reg.report_value("s", 0, "w", 400, 0.2).unwrap_err();
    assert!(e.is_conflict(), "a finished trial takes no values: {e}");
    assert_eq!(reg.trials("s").unwrap()[0].intermediate.len(), 3);
}

#[test]
fn finishing_records_each_state_once_and_checks_the_outcome() {
    let (_tmp, reg) = registry();
    reg.create_study("s", &definition(), 3).unwrap();
    let lease = Duration::from_secs(60);
    for _ in 0..3 {
        reg.claim_trial("s", "w", lease, &mut counting)
            .unwrap()
            .unwrap();
    }
    let bad = [
        TrialOutcome {
            state: TrialState::Running,
            ..complete(1.0)
        },
        TrialOutcome {
            value: None,
            ..complete(1.0)
        },
        complete(f64::NAN),
        TrialOutcome {
            seconds: -1.0,
            ..complete(1.0)
        },
        TrialOutcome {
            seconds: f64::INFINITY,
            ..complete(1.0)
        },
    ];
    for o in &bad {
        let e = reg.finish_trial("s", 0, "w", o).unwrap_err();
        assert!(e.is_bad_input(), "{o:?}: {e}");
    }
    assert_eq!(reg.trials("s").unwrap()[0].state, TrialState::Running);

    let outcomes = [
        complete(0.31),
        TrialOutcome {
            state: TrialState::Pruned,
            value: Some(0.9),
            seconds: 1.25,
            detail: json!({"pruned_at": 300}),
        },
        TrialOutcome {
            state: TrialState::Failed,
            value: None,
            seconds: 0.0,
            detail: json!({"error": "loss is NaN at step 12"}),
        },
    ];
    for (n, o) in outcomes.iter().enumerate() {
        assert!(
            !reg.finish_trial("s", n as u32, "other", o).unwrap(),
            "not other's"
        );
        assert!(reg.finish_trial("s", n as u32, "w", o).unwrap());
        assert!(
            !reg.finish_trial("s", n as u32, "w", o).unwrap(),
            "only once"
        );
        assert!(!reg.heartbeat("s", n as u32, "w").unwrap(), "finished");
    }
    let trials = reg.trials("s").unwrap();
    for (t, o) in trials.iter().zip(&outcomes) {
        assert_eq!(
            (t.state, t.value, t.seconds, &t.detail),
            (o.state, o.value, Some(o.seconds), &o.detail)
        );
    }
    let json = serde_json::to_value(&trials[1]).unwrap();
    assert_eq!(json["state"], "pruned");
    let back: TrialRecord = serde_json::from_value(json).unwrap();
    assert_eq!(back, trials[1]);
    // Finished trials are never reclaimed, even with their lease time long past.
    assert!(reg
        .claim_trial("s", "w2", lease, &mut counting)
        .unwrap()
        .is_none());
}

#[test]
fn three_threads_with_their_own_connections_finish_each_trial_exactly_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("reg");
    Registry::open(&dir)
        .unwrap()
        .create_study("race", &definition(), 30)
        .unwrap();
    let finished = Arc::new(Mutex::new(Vec::new()));
    let handles: Vec<_> = (0..3)
        .map(|w| {
            let (dir, finished) = (dir.clone(), finished.clone());
            std::thread::spawn(move || {
                let reg = Registry::open(&dir).unwrap();
                let worker = format!("thread-{w}");
                while let Some(t) = reg
                    .claim_trial("race", &worker, Duration::from_secs(60), &mut counting)
                    .unwrap()
                {
                    reg.report_value("race", t.number, &worker, 1, 0.5).unwrap();
                    let ok = reg
                        .finish_trial("race", t.number, &worker, &complete(f64::from(t.number)))
                        .unwrap();
                    assert!(ok, "{worker} lost trial {} with a 60 s lease", t.number);
                    finished.lock().unwrap().push(t.number);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let mut numbers = finished.lock().unwrap().clone();
    numbers.sort_unstable();
    assert_eq!(
        numbers,
        (0..30).collect::<Vec<_>>(),
        "each number finished once"
    );
    let trials = Registry::open(&dir).unwrap().trials("race").unwrap();
    assert!(trials
        .iter()
        .all(|t| t.state == TrialState::Complete && t.attempts == 1));
    // Each trial's params were sampled from exactly the trials before it.
    assert!(trials.iter().all(|t| t.params == json!({"i": t.number})));
}

// --- worker processes ---------------------------------------------------------------------

/// When set (to the registry directory), [`study_worker_process`] acts as a tuning worker.
const WORKER_ENV: &str = "NT_STUDIES_TEST_WORKER";
/// The worker's name.
const NAME_ENV: &str = "NT_STUDIES_TEST_WORKER_NAME";
/// When set, the worker claims one trial, writes `hung-<name>` and heartbeats it forever.
const HANG_ENV: &str = "NT_STUDIES_TEST_HANG";
const PROCESS_STUDY: &str = "processes";
const PROCESS_TRIALS: u32 = 12;
const PROCESS_LEASE: Duration = Duration::from_secs(1);

/// The entry point of the worker processes that
/// [`three_worker_processes_one_killed_complete_every_trial_once`] starts from this test
/// binary; without [`WORKER_ENV`] (any ordinary test run) it has nothing to do.
#[test]
fn study_worker_process() {
    let Some(dir) = std::env::var_os(WORKER_ENV) else {
        return;
    };
    let dir = PathBuf::from(dir);
    let name = std::env::var(NAME_ENV).unwrap();
    let hang = std::env::var_os(HANG_ENV).is_some();
    let reg = Registry::open(&dir).unwrap();
    let mut finished = String::new();
    loop {
        let claimed = reg
            .claim_trial(PROCESS_STUDY, &name, PROCESS_LEASE, &mut counting)
            .unwrap();
        let Some(t) = claimed else {
            let trials = reg.trials(PROCESS_STUDY).unwrap();
            if trials.len() == PROCESS_TRIALS as usize
                && trials.iter().all(|t| t.state != TrialState::Running)
            {
                break;
            }
            // Another worker's trial is running: it may be a dead worker's, so wait for its
            // lease to expire.
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        if hang {
            let tmp = dir.join(format!("hung-{name}.tmp"));
            std::fs::write(&tmp, t.number.to_string()).unwrap();
            std::fs::rename(&tmp, dir.join(format!("hung-{name}"))).unwrap();
            loop {
                assert!(reg.heartbeat(PROCESS_STUDY, t.number, &name).unwrap());
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        for step in 0..3u64 {
            std::thread::sleep(Duration::from_millis(20));
            assert!(reg.heartbeat(PROCESS_STUDY, t.number, &name).unwrap());
            reg.report_value(
                PROCESS_STUDY,
                t.number,
                &name,
                step,
                1.0 / (step + 1) as f64,
            )
            .unwrap();
        }
        if reg
            .finish_trial(
                PROCESS_STUDY,
                t.number,
                &name,
                &complete(f64::from(t.number)),
            )
            .unwrap()
        {
            finished.push_str(&format!("{} {}\n", t.number, t.attempt));
            std::fs::write(dir.join(format!("finished-{name}")), &finished).unwrap();
        }
    }
}

/// Worker processes, killed and reaped when dropped (so a failing test leaves none behind).
struct Workers(Vec<Child>);

impl Drop for Workers {
    fn drop(&mut self) {
        for child in &mut self.0 {
            if child.try_wait().ok().flatten().is_none() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

fn spawn_worker(dir: &Path, name: &str, hang: bool) -> Child {
    let log = std::fs::File::create(dir.join(format!("log-{name}"))).unwrap();
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "study_worker_process",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(WORKER_ENV, dir)
    .env(NAME_ENV, name)
    .env_remove(HANG_ENV)
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(log);
    if hang {
        cmd.env(HANG_ENV, "1");
    }
    cmd.spawn().unwrap()
}

/// Polls `done` every 20 ms for up to `limit`.
fn wait_for(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    done()
}

fn logs(dir: &Path) -> String {
    ["killed", "b", "c"]
        .iter()
        .map(|n| {
            let log = std::fs::read_to_string(dir.join(format!("log-{n}"))).unwrap_or_default();
            format!("--- worker {n}:\n{log}")
        })
        .collect()
}

#[test]
fn three_worker_processes_one_killed_complete_every_trial_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("reg");
    Registry::open(&dir)
        .unwrap()
        .create_study(PROCESS_STUDY, &definition(), PROCESS_TRIALS)
        .unwrap();
    // The doomed worker first, so that it surely holds a trial when the others start.
    let mut workers = Workers(vec![spawn_worker(&dir, "killed", true)]);
    let marker = dir.join("hung-killed");
    assert!(
        wait_for(Duration::from_secs(15), || marker.exists()),
        "the doomed worker claimed no trial\n{}",
        logs(&dir)
    );
    let hung: u32 = std::fs::read_to_string(&marker).unwrap().parse().unwrap();
    workers.0.push(spawn_worker(&dir, "b", false));
    workers.0.push(spawn_worker(&dir, "c", false));
    // Kill it while the other two are working (three workers at once).
    assert!(
        wait_for(Duration::from_secs(15), || {
            dir.join("finished-b").exists() || dir.join("finished-c").exists()
        }),
        "the other workers finished nothing\n{}",
        logs(&dir)
    );
    let doomed = &mut workers.0[0];
    assert!(
        doomed.try_wait().unwrap().is_none(),
        "still holding its trial"
    );
    doomed.kill().unwrap(); // SIGKILL: no cleanup, its lease simply stops being renewed
    doomed.wait().unwrap();

    for (w, child) in workers.0.iter_mut().enumerate().skip(1) {
        let exited = wait_for(Duration::from_secs(30), || {
            child.try_wait().unwrap().is_some()
        });
        assert!(exited, "worker {w} did not finish\n{}", logs(&dir));
        let status = child.wait().unwrap();
        assert!(status.success(), "worker {w}: {status}\n{}", logs(&dir));
    }

    // Every number finished exactly once, across the two surviving processes.
    let mut numbers = Vec::new();
    let mut attempts_of_hung = Vec::new();
    for n in ["b", "c"] {
        let text = std::fs::read_to_string(dir.join(format!("finished-{n}"))).unwrap_or_default();
        for line in text.lines() {
            let (number, attempt) = line.split_once(' ').unwrap();
            let number: u32 = number.parse().unwrap();
            if number == hung {
                attempts_of_hung.push(attempt.parse::<u32>().unwrap());
            }
            numbers.push(number);
        }
    }
    numbers.sort_unstable();
    assert_eq!(
        numbers,
        (0..PROCESS_TRIALS).collect::<Vec<_>>(),
        "each trial finished exactly once\n{}",
        logs(&dir)
    );
    assert_eq!(
        attempts_of_hung,
        [2],
        "the killed worker's trial was retried once"
    );

    let reg = Registry::open(&dir).unwrap();
    let trials = reg.trials(PROCESS_STUDY).unwrap();
    assert!(trials.iter().all(|t| t.state == TrialState::Complete));
    let retried = &trials[hung as usize];
    assert_eq!(retried.attempts, 2);
    assert_ne!(retried.worker.as_deref(), Some("killed"));
    assert_eq!(retried.intermediate.len(), 3, "the retry's own values");
    let survivors: BTreeSet<_> = trials.iter().filter_map(|t| t.worker.clone()).collect();
    assert!(!survivors.contains("killed"), "{survivors:?}");
    let reclaims: Vec<_> = reg
        .study_events(PROCESS_STUDY)
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "reclaimed")
        .collect();
    assert_eq!(reclaims.len(), 1, "{reclaims:?}");
    assert_eq!(
        (reclaims[0].number, reclaims[0].details["from"].as_str()),
        (Some(hung), Some("killed"))
    );
}

// --- upgrade -------------------------------------------------------------------------------

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn tables(dir: &Path) -> (i64, Vec<String>) {
    let conn = rusqlite::Connection::open(dir.join("registry.db")).unwrap();
    let version = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap();
    let names = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    (version, names)
}

/// A registry at schema 4 (the release before studies) upgrades in place to schema 5 and keeps
/// its models. It is built from the committed schema-1 fixture (a model written by an older
/// `nt`), brought to the current schema, then taken back to schema 4 exactly: schema 5 only
/// adds tables (and their indexes), so dropping them and recording version 4 gives the database
/// the schema-4 code wrote.
#[test]
fn a_schema_4_registry_upgrades_in_place_and_keeps_its_models() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("registry");
    copy_dir(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/registry-v1"),
        &dir,
    );
    let before = Registry::open(&dir).unwrap();
    let model = before.get("legacy", VersionSelector::Latest).unwrap();
    drop(before);
    {
        let conn = rusqlite::Connection::open(dir.join("registry.db")).unwrap();
        conn.execute_batch(
            "DROP TABLE trial_values; DROP TABLE trials; DROP TABLE study_events; \
             DROP TABLE studies; UPDATE meta SET value = 4 WHERE key = 'schema_version';",
        )
        .unwrap();
    }
    let (version, names) = tables(&dir);
    assert_eq!(version, 4);
    assert!(
        !names
            .iter()
            .any(|n| n.contains("stud") || n.contains("trial")),
        "{names:?}"
    );

    let reg = Registry::open(&dir).unwrap();
    let (version, names) = tables(&dir);
    assert_eq!(version, i64::from(nt_registry::schema::SCHEMA_VERSION));
    assert_eq!(nt_registry::schema::SCHEMA_VERSION, 5);
    for t in ["studies", "trials", "trial_values", "study_events"] {
        assert!(names.iter().any(|n| n == t), "{t} missing from {names:?}");
    }
    assert_eq!(reg.get("legacy", VersionSelector::Latest).unwrap(), model);
    reg.load("legacy", 1).expect("the model still loads");
    reg.create_study("after-upgrade", &definition(), 2).unwrap();
    let t = reg
        .claim_trial("after-upgrade", "w", Duration::from_secs(5), &mut counting)
        .unwrap()
        .unwrap();
    assert!(reg
        .finish_trial("after-upgrade", t.number, "w", &complete(1.0))
        .unwrap());
}
