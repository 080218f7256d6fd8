//! Backtest harness tests with tiny models written here: the origins follow SOURCES.md, no model
//! ever sees a row after its origin, a cheating oracle scores 0 (so the harness compares with the
//! right rows), the random walk against itself has no skill, and failures stay contained.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use nt_core::{
    Column, Error as CoreError, Fit, Forecast, Horizon, Predict, Result as CoreResult, TimeSeries,
};
use nt_eval::{
    backtest, backtest_many, no_progress, BacktestConfig, BacktestReport, NamedModel, Progress,
    Refit, Scale, Split, TrainWindow,
};
use nt_testing::{assert_all_close, synthetic};
use proptest::prelude::*;

// ---------------------------------------------------------------- test models

/// What a recording model saw: the row count and last timestamp of each fit / predict input.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Fit {
        rows: usize,
        first_ts: i64,
        last_ts: i64,
    },
    Predict {
        rows: usize,
        last_ts: i64,
    },
}

/// Forecasts the last value (a random walk) and records every input it is given.
#[derive(Debug, Clone, Default)]
struct Recorder {
    log: Arc<Mutex<Vec<Seen>>>,
}

impl Fit for Recorder {
    type Fitted = Recorder;
    fn fit(&self, train: &TimeSeries, target: &str) -> CoreResult<Recorder> {
        train.column(target)?;
        self.log.lock().unwrap().push(Seen::Fit {
            rows: train.len(),
            first_ts: train.timestamps()[0],
            last_ts: *train.timestamps().last().unwrap(),
        });
        Ok(self.clone())
    }
}

impl Predict for Recorder {
    fn predict(&self, history: &TimeSeries, horizon: Horizon) -> CoreResult<Forecast> {
        self.log.lock().unwrap().push(Seen::Predict {
            rows: history.len(),
            last_ts: *history.timestamps().last().unwrap(),
        });
        last_value(history, horizon)
    }
}

fn last_value(history: &TimeSeries, horizon: Horizon) -> CoreResult<Forecast> {
    let y = history.column("y")?;
    let last = *y
        .last()
        .ok_or(CoreError::InsufficientHistory { needed: 1, got: 0 })?;
    Ok(Forecast::point(vec![last; horizon.get()]))
}

/// The random walk as a user model (same numbers as the internal baseline).
#[derive(Debug, Clone, Copy)]
struct RandomWalk;

impl Fit for RandomWalk {
    type Fitted = RandomWalk;
    fn fit(&self, _: &TimeSeries, _: &str) -> CoreResult<RandomWalk> {
        Ok(RandomWalk)
    }
}

impl Predict for RandomWalk {
    fn predict(&self, history: &TimeSeries, horizon: Horizon) -> CoreResult<Forecast> {
        last_value(history, horizon)
    }
}

/// Cheats: holds the whole series and returns the true future after the history's last timestamp,
/// with a zero-width 80% interval.
#[derive(Debug, Clone)]
struct Oracle {
    full: TimeSeries,
}

impl Fit for Oracle {
    type Fitted = Oracle;
    fn fit(&self, _: &TimeSeries, _: &str) -> CoreResult<Oracle> {
        Ok(self.clone())
    }
}

impl Predict for Oracle {
    fn predict(&self, history: &TimeSeries, horizon: Horizon) -> CoreResult<Forecast> {
        let last = *history.timestamps().last().unwrap();
        let i = self
            .full
            .timestamps()
            .iter()
            .position(|t| *t == last)
            .unwrap();
        let future = self.full.column("y")?[i + 1..i + 1 + horizon.get()].to_vec();
        Forecast::point(future.clone()).with_interval(0.8, future.clone(), future)
    }
}

/// Fails to predict once the history is longer than `max_rows`.
#[derive(Debug, Clone, Copy)]
struct Brittle {
    max_rows: usize,
}

impl Fit for Brittle {
    type Fitted = Brittle;
    fn fit(&self, _: &TimeSeries, _: &str) -> CoreResult<Brittle> {
        Ok(*self)
    }
}

impl Predict for Brittle {
    fn predict(&self, history: &TimeSeries, horizon: Horizon) -> CoreResult<Forecast> {
        if history.len() > self.max_rows {
            return Err(CoreError::model("brittle", "history too long"));
        }
        last_value(history, horizon)
    }
}

/// Returns one step too few.
#[derive(Debug, Clone, Copy)]
struct Short;

impl Fit for Short {
    type Fitted = Short;
    fn fit(&self, _: &TimeSeries, _: &str) -> CoreResult<Short> {
        Ok(Short)
    }
}

impl Predict for Short {
    fn predict(&self, history: &TimeSeries, horizon: Horizon) -> CoreResult<Forecast> {
        let f = last_value(history, horizon)?;
        Ok(Forecast::point(f.point_values()[1..].to_vec()))
    }
}

/// Depends on everything it is given: the fit stores the train mean, the forecast mixes the last
/// value, the history mean and that train mean. Any look-ahead would change its numbers.
#[derive(Debug, Clone, Copy)]
struct Greedy;

#[derive(Debug, Clone, Copy)]
struct FittedGreedy {
    train_mean: f64,
}

impl Fit for Greedy {
    type Fitted = FittedGreedy;
    fn fit(&self, train: &TimeSeries, target: &str) -> CoreResult<FittedGreedy> {
        let y = train.column(target)?;
        Ok(FittedGreedy {
            train_mean: y.iter().sum::<f64>() / y.len() as f64,
        })
    }
}

impl Predict for FittedGreedy {
    fn predict(&self, history: &TimeSeries, horizon: Horizon) -> CoreResult<Forecast> {
        let y = history.column("y")?;
        let mean = y.iter().sum::<f64>() / y.len() as f64;
        let last = y[y.len() - 1];
        let point = (1..=horizon.get())
            .map(|k| last + 0.01 * k as f64 * (mean - last) + 0.001 * self.train_mean)
            .collect();
        Ok(Forecast::point(point))
    }
}

// ---------------------------------------------------------------- helpers

/// 200 hourly rows of a seeded random walk: ratio split 140 / 20 / 40.
fn walk() -> TimeSeries {
    synthetic::random_walk(200, 1.0, 42)
}

fn cfg(horizon: usize) -> BacktestConfig {
    BacktestConfig {
        horizon,
        ..BacktestConfig::default()
    }
}

fn scores<'a>(r: &'a BacktestReport, name: &str) -> &'a nt_eval::Scores {
    r.model(name).unwrap().scores.as_ref().unwrap()
}

// ---------------------------------------------------------------- tests

#[test]
fn origins_and_inputs_follow_the_protocol_without_look_ahead() {
    let s = walk();
    let ts = s.timestamps().to_vec();
    let rec = Recorder::default();
    let models = [NamedModel::new("rec", &rec)];
    let c = BacktestConfig {
        input_size: Some(30),
        ..cfg(5)
    };
    let r = backtest(&s, "y", &models, &c, &no_progress).unwrap();
    // ratio split of 200 rows: 140 / 20 / 40; origins 159 ..= 194: n_test - H + 1 = 36 windows.
    assert_eq!(
        (
            r.data.split.n_train,
            r.data.split.n_val,
            r.data.split.n_test
        ),
        (140, 20, 40)
    );
    assert_eq!(
        (r.data.first_origin, r.data.last_origin, r.data.origins),
        (159, 194, 36)
    );
    let log = rec.log.lock().unwrap().clone();
    // One fit (Refit::Never) on rows [0, 160): train + val, no test row.
    assert_eq!(
        log[0],
        Seen::Fit {
            rows: 160,
            first_ts: ts[0],
            last_ts: ts[159]
        }
    );
    assert_eq!(log.len(), 1 + 36);
    for (k, seen) in log[1..].iter().enumerate() {
        // The k-th prediction ends exactly at origin 159 + k, with input_size rows.
        assert_eq!(
            *seen,
            Seen::Predict {
                rows: 30,
                last_ts: ts[159 + k]
            }
        );
    }
    // The recorder is the random walk: identical to the internal baseline.
    assert_eq!(scores(&r, "rec").mae, scores(&r, "naive").mae);
}

#[test]
fn refits_never_see_past_their_origin() {
    let s = walk();
    let ts = s.timestamps().to_vec();
    for window in [TrainWindow::Expanding, TrainWindow::Sliding { len: 50 }] {
        let rec = Recorder::default();
        let c = BacktestConfig {
            refit: Refit::Every(10),
            window,
            step: 2,
            ..cfg(4)
        };
        let models = [NamedModel::new("rec", &rec)];
        let r = backtest(&s, "y", &models, &c, &no_progress).unwrap();
        // origins 159, 161, ..., 195 (last = 200 - 4 - 1 = 195): 19 of them; refits at the 1st,
        // 11th: origins 159 and 179.
        assert_eq!(r.data.origins, 19);
        let log = rec.log.lock().unwrap().clone();
        let fits: Vec<&Seen> = log
            .iter()
            .filter(|e| matches!(e, Seen::Fit { .. }))
            .collect();
        assert_eq!(fits.len(), 2);
        let mut origin = None;
        let mut fit_end = None;
        for e in &log {
            match *e {
                Seen::Fit {
                    rows,
                    first_ts,
                    last_ts,
                } => {
                    fit_end = Some(last_ts);
                    if let TrainWindow::Sliding { len } = window {
                        assert_eq!(rows, len);
                        let end = ts.iter().position(|t| *t == last_ts).unwrap();
                        assert_eq!(first_ts, ts[end + 1 - len]);
                    } else {
                        assert_eq!(first_ts, ts[0]);
                    }
                }
                Seen::Predict { last_ts, .. } => {
                    let o = ts.iter().position(|t| *t == last_ts).unwrap();
                    // every fit so far ends at or before this origin
                    assert!(fit_end.unwrap() <= last_ts);
                    if let Some(prev) = origin {
                        assert_eq!(o, prev + 2);
                    }
                    origin = Some(o);
                }
            }
        }
        // the second fit ends exactly at its origin, 179
        assert_eq!(*fits[1], {
            let rows = match window {
                TrainWindow::Expanding => 180,
                TrainWindow::Sliding { len } => len,
            };
            Seen::Fit {
                rows,
                first_ts: ts[180 - rows],
                last_ts: ts[179],
            }
        });
    }
}

#[test]
fn a_cheating_oracle_scores_zero_and_leads_the_board() {
    let s = walk();
    let oracle = Oracle { full: s.clone() };
    let models = [
        NamedModel::new("oracle", &oracle),
        NamedModel::new("rw", &RandomWalk),
    ];
    let r = backtest(&s, "y", &models, &cfg(8), &no_progress).unwrap();
    let o = scores(&r, "oracle");
    // the oracle returns rows c+1..=c+H: zero error only if the harness compares those rows.
    assert_eq!((o.mae, o.mse, o.skill_mae), (0.0, 0.0, Some(1.0)));
    assert_eq!(o.theils_u, Some(0.0));
    // zero-width interval at the actuals: full coverage, no pinball loss
    assert_eq!(o.intervals.len(), 1);
    assert_eq!((o.intervals[0].coverage, o.intervals[0].width), (1.0, 0.0));
    // the random walk has no intervals, so none are scored
    assert!(scores(&r, "rw").intervals.is_empty());
    let board: Vec<&str> = r.leaderboard().iter().map(|m| m.name.as_str()).collect();
    // naive and rw tie on MAE and sort by name after the oracle
    assert_eq!(board, vec!["oracle", "naive", "rw"]);
    // the oracle beats the random walk: DM statistic negative, significant
    let dm = o.dm.as_ref().unwrap();
    assert!(dm.statistic < 0.0 && dm.p_value < 0.01, "{dm:?}");
}

#[test]
fn random_walk_against_itself_has_no_skill() {
    let s = walk();
    let models = [NamedModel::new("rw", &RandomWalk)];
    let r = backtest(&s, "y", &models, &cfg(6), &no_progress).unwrap();
    assert_eq!(r.baseline, "naive");
    for name in ["naive", "rw"] {
        let sc = scores(&r, name);
        let dm = sc.dm.as_ref().unwrap();
        assert_eq!((dm.statistic, dm.p_value), (0.0, 1.0), "{name}");
        assert_eq!(
            (sc.skill_mae, sc.theils_u),
            (Some(0.0), Some(1.0)),
            "{name}"
        );
        assert_eq!(dm.lags, 5);
    }
    assert!(scores(&r, "naive").mae > 0.0);
}

#[test]
fn a_user_model_named_naive_serves_as_the_baseline() {
    let s = walk();
    let models = [
        NamedModel::new("naive", &RandomWalk),
        NamedModel::new("rw", &RandomWalk),
    ];
    let r = backtest(&s, "y", &models, &cfg(3), &no_progress).unwrap();
    assert_eq!(r.baseline, "naive");
    // The given naive model is not listed twice: baseline first, then the others.
    let names: Vec<&str> = r.models.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["naive", "rw"]);
    let dup = [
        NamedModel::new("a", &RandomWalk),
        NamedModel::new("a", &RandomWalk),
    ];
    assert!(matches!(
        backtest(&s, "y", &dup, &cfg(3), &no_progress),
        Err(nt_eval::Error::ModelName { .. })
    ));
}

#[test]
fn failures_abort_only_that_model() {
    let s = walk();
    let models = [
        NamedModel::new("brittle", &Brittle { max_rows: 170 }),
        NamedModel::new("short", &Short),
        NamedModel::new("rw", &RandomWalk),
    ];
    let r = backtest(&s, "y", &models, &cfg(4), &no_progress).unwrap();
    let b = r.model("brittle").unwrap();
    // histories are rows 0..=c; c = 170 is the first with 171 rows
    assert_eq!(
        b.error.as_deref(),
        Some("predict at origin row 170: brittle: history too long")
    );
    assert_eq!((b.windows, b.scores.is_none()), (0, true));
    let sh = r.model("short").unwrap();
    assert!(sh
        .error
        .as_deref()
        .unwrap()
        .contains("returned 3 steps for horizon 4"));
    assert!(r.model("rw").unwrap().error.is_none());
    // failed models sort last
    let board: Vec<&str> = r.leaderboard().iter().map(|m| m.name.as_str()).collect();
    assert_eq!(board, vec!["naive", "rw", "brittle", "short"]);
}

#[test]
fn standardized_errors_are_original_errors_over_train_std() {
    let s = walk();
    let models = [NamedModel::new("greedy", &Greedy)];
    let std_cfg = cfg(5);
    let orig_cfg = BacktestConfig {
        scale: Scale::Original,
        ..cfg(5)
    };
    let z = backtest(&s, "y", &models, &std_cfg, &no_progress).unwrap();
    let o = backtest(&s, "y", &models, &orig_cfg, &no_progress).unwrap();
    let y = s.column("y").unwrap();
    let train = &y[..140];
    let mean = train.iter().sum::<f64>() / 140.0;
    let std = (train.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 140.0).sqrt();
    assert!((z.data.train_std - std).abs() < 1e-12);
    for name in ["naive", "greedy"] {
        let (zs, os) = (scores(&z, name), scores(&o, name));
        assert!((zs.mae - os.mae / std).abs() < 1e-12);
        assert!((zs.mse - os.mse / (std * std)).abs() < 1e-12);
        // scale-free scores do not move
        assert_eq!(
            (zs.mase, zs.smape, zs.directional_accuracy),
            (os.mase, os.smape, os.directional_accuracy)
        );
        assert!((zs.skill_mae.unwrap() - os.skill_mae.unwrap()).abs() < 1e-12);
    }
}

#[test]
fn naive_scores_match_a_hand_loop() {
    // Recompute the random walk's MAE, MSE, MASE and directional accuracy directly.
    let s = walk();
    let y = s.column("y").unwrap();
    let c = BacktestConfig {
        scale: Scale::Original,
        season: 2,
        ..cfg(4)
    };
    let r = backtest(&s, "y", &[], &c, &no_progress).unwrap();
    let (mut abs, mut sq, mut n) = (0.0, 0.0, 0.0);
    for origin in 159..=195 {
        for k in 1..=4 {
            let e: f64 = y[origin + k] - y[origin];
            abs += e.abs();
            sq += e * e;
            n += 1.0;
        }
    }
    let scale = (2..140).map(|t| (y[t] - y[t - 2]).abs()).sum::<f64>() / 138.0;
    let sc = scores(&r, "naive");
    assert!((sc.mae - abs / n).abs() < 1e-12 && (sc.mse - sq / n).abs() < 1e-12);
    assert!((sc.mase.unwrap() - abs / n / scale).abs() < 1e-12);
    // a flat forecast never predicts a direction
    assert_eq!(sc.directional_accuracy, Some(0.0));
    assert_eq!(r.data.origins, 37);
}

#[test]
fn windows_cap_keeps_the_last_origins_and_progress_counts_them() {
    let s = walk();
    let events = Mutex::new(Vec::new());
    let progress = |p: Progress<'_>| events.lock().unwrap().push(format!("{p:?}"));
    let c = BacktestConfig {
        windows: Some(5),
        refit: Refit::Every(2),
        keep_forecasts: true,
        ..cfg(4)
    };
    let models = [NamedModel::new("rw", &RandomWalk)];
    let r = backtest(&s, "y", &models, &c, &progress).unwrap();
    // span 195 - 159 = 36, stride ceil(36 / 4) = 9: origins 159, 168, 177, 186, 195.
    let origins: Vec<usize> = r.forecasts_of("rw").map(|f| f.origin_index).collect();
    assert_eq!(origins, vec![159, 168, 177, 186, 195]);
    assert_eq!(r.data.stride, 9);
    // the kept forecasts and actuals line up: rw's forecast is y[c] repeated
    let actuals = r.actuals.as_ref().unwrap();
    let y = s.column("y").unwrap();
    assert_eq!(actuals.window(168, 4).unwrap(), &y[169..173]);
    assert_eq!(r.forecasts_of("rw").nth(1).unwrap().point, vec![y[168]; 4]);
    assert_eq!(
        actuals.window_timestamps(195, 4).unwrap(),
        &s.timestamps()[196..200]
    );
    let ev = events.lock().unwrap();
    // 5 baseline windows, then 3 fits (origins 1, 3, 5) and 5 windows of rw
    assert_eq!(ev.len(), 5 + 3 + 5);
    assert!(ev[5].contains("Fitting") && ev[5].contains("index: 1") && ev[5].contains("total: 3"));
}

#[test]
fn keep_forecasts_false_keeps_json_small_and_reports_round_trip() {
    let s = walk();
    let oracle = Oracle { full: s.clone() };
    let models = [NamedModel::new("oracle", &oracle)];
    let r = backtest(&s, "y", &models, &cfg(4), &no_progress).unwrap();
    assert!(r.forecasts.is_empty() && r.actuals.is_none());
    let json = serde_json::to_string(&r).unwrap();
    assert!(!json.contains("\"forecasts\"") && !json.contains("\"actuals\""));
    // serde_json parses floats to within an ulp (no `float_roundtrip`), so compare numbers closely.
    let back: BacktestReport = serde_json::from_str(&json).unwrap();
    assert_eq!((&back.settings, &back.baseline), (&r.settings, &r.baseline));
    assert_eq!(
        (&back.data.fingerprint, back.data.split),
        (&r.data.fingerprint, r.data.split)
    );
    assert_eq!(back.data.fingerprint, s.fingerprint());
    assert_eq!(back.models.len(), r.models.len());
    for (a, b) in back.models.iter().zip(&r.models) {
        let (sa, sb) = (a.scores.as_ref().unwrap(), b.scores.as_ref().unwrap());
        assert_eq!(
            (&a.name, a.windows, sa.intervals.len()),
            (&b.name, b.windows, sb.intervals.len())
        );
        assert_all_close(
            &[
                sa.mae,
                sa.mse,
                sa.smape,
                sa.theils_u.unwrap(),
                sa.dm.as_ref().unwrap().statistic,
            ],
            &[
                sb.mae,
                sb.mse,
                sb.smape,
                sb.theils_u.unwrap(),
                sb.dm.as_ref().unwrap().statistic,
            ],
            0.0,
            1e-14,
        );
    }
}

#[test]
fn bad_inputs_are_clear_errors() {
    let s = walk();
    let too_long = BacktestConfig {
        input_size: Some(161),
        ..cfg(4)
    };
    assert!(matches!(
        backtest(&s, "y", &[], &too_long, &no_progress),
        Err(nt_eval::Error::InsufficientInput {
            input_size: 161,
            available: 160
        })
    ));
    assert!(backtest(&s, "nope", &[], &cfg(4), &no_progress).is_err());
    let zero = BacktestConfig {
        refit: Refit::Every(0),
        ..cfg(4)
    };
    assert!(backtest(&s, "y", &[], &zero, &no_progress).is_err());
    let flat = synthetic::linear(100, 5.0, 0.0);
    assert!(matches!(
        backtest(&flat, "y", &[], &cfg(4), &no_progress),
        Err(nt_eval::Error::ConstantTarget { .. })
    ));
    let ett = BacktestConfig {
        split: Split::ett(),
        ..cfg(4)
    };
    assert!(matches!(
        backtest(&s, "y", &[], &ett, &no_progress),
        Err(nt_eval::Error::TooShort {
            needed: 14400,
            got: 200,
            ..
        })
    ));
    let mut nan = s.column("y").unwrap().to_vec();
    nan[10] = f64::NAN;
    let bad = TimeSeries::from_values("y", nan);
    assert!(backtest(&bad, "y", &[], &cfg(4), &no_progress).is_err());
}

/// Two columns: the walk and the same walk doubled plus noise-free offset.
fn two_targets() -> TimeSeries {
    let s = walk();
    let y = s.column("y").unwrap().to_vec();
    let y2: Vec<f64> = y
        .iter()
        .enumerate()
        .map(|(i, v)| 3.0 * v + (i as f64 * 0.7).sin())
        .collect();
    TimeSeries::new(
        s.timestamps().to_vec(),
        vec![
            Column {
                name: "y".into(),
                values: y,
            },
            Column {
                name: "z".into(),
                values: y2,
            },
        ],
    )
    .unwrap()
}

#[test]
fn many_targets_pool_every_point() {
    let s = two_targets();
    let models = [NamedModel::new("brittle", &Brittle { max_rows: 10_000 })];
    let m = backtest_many(&s, &["y", "z"], &models, &cfg(4), &no_progress).unwrap();
    assert_eq!(m.per_target.len(), 2);
    // equal windows per target: pooled MAE/MSE are the means of the per-target ones
    let per: Vec<(f64, f64)> = m
        .per_target
        .iter()
        .map(|r| (scores(r, "naive").mae, scores(r, "naive").mse))
        .collect();
    let pooled = m.pooled[0].scores.as_ref().unwrap();
    assert_all_close(
        &[pooled.mae, pooled.mse],
        &[(per[0].0 + per[1].0) / 2.0, (per[0].1 + per[1].1) / 2.0],
        1e-12,
        0.0,
    );
    assert_eq!(m.pooled[0].windows, 2 * 37);
    assert_eq!(m.leaderboard().len(), 2);
    // the Brittle model predicts through `y` only: on target z it still reads column y, so it is
    // the random walk of y scored against z; a failure on one target fails the pooled line.
    let fails = [NamedModel::new("brittle", &Brittle { max_rows: 170 })];
    let m = backtest_many(&s, &["y", "z"], &fails, &cfg(4), &no_progress).unwrap();
    let e = m.pooled[1].error.as_deref().unwrap();
    assert!(
        e.starts_with("target `y`: predict at origin row 170"),
        "{e}"
    );
    assert!(backtest_many(&s, &[], &fails, &cfg(4), &no_progress).is_err());
    assert!(backtest_many(&s, &["y", "y"], &fails, &cfg(4), &no_progress).is_err());
}

#[test]
fn many_targets_with_a_given_naive_pool_each_model_once() {
    // `nt backtest --target all` with `naive` in the list (the default list has it) panicked
    // here: the given naive becomes the baseline, so each run holds one model fewer.
    let s = two_targets();
    let models = [
        NamedModel::new("naive", &RandomWalk),
        NamedModel::new("rw", &RandomWalk),
    ];
    let m = backtest_many(&s, &["y", "z"], &models, &cfg(4), &no_progress).unwrap();
    let names: Vec<&str> = m.pooled.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["naive", "rw"]);
    assert_eq!(m.pooled[1].windows, 2 * 37);
}

#[test]
fn same_input_same_report() {
    let s = walk();
    let models = [NamedModel::new("greedy", &Greedy)];
    let c = BacktestConfig {
        refit: Refit::Every(3),
        keep_forecasts: true,
        ..cfg(5)
    };
    let mut a = backtest(&s, "y", &models, &c, &no_progress).unwrap();
    let mut b = backtest(&s, "y", &models, &c, &no_progress).unwrap();
    for r in [&mut a, &mut b] {
        for m in &mut r.models {
            m.fit_seconds = 0.0;
            m.predict_seconds = 0.0;
        }
    }
    assert_eq!(a, b);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Perturbing every row after origin c never changes a forecast made at or before c, whatever
    /// the refit schedule and training window (fits included).
    #[test]
    fn rows_after_an_origin_never_change_its_forecast(
        pick in 0usize..36,
        every in 1usize..6,
        sliding in proptest::option::of(20usize..120),
        noise in proptest::collection::vec(-50.0f64..50.0, 200),
    ) {
        let s = walk();
        let c = BacktestConfig {
            refit: Refit::Every(every),
            window: sliding.map_or(TrainWindow::Expanding, |len| TrainWindow::Sliding { len }),
            keep_forecasts: true,
            ..cfg(5)
        };
        let models = [NamedModel::new("greedy", &Greedy)];
        let before = backtest(&s, "y", &models, &c, &no_progress).unwrap();
        let origin = 159 + pick;
        let mut y = s.column("y").unwrap().to_vec();
        for (v, n) in y.iter_mut().zip(&noise).skip(origin + 1) {
            *v += n;
        }
        let perturbed = TimeSeries::new(s.timestamps().to_vec(), vec![Column { name: "y".into(), values: y }]).unwrap();
        let after = backtest(&perturbed, "y", &models, &c, &no_progress).unwrap();
        let kept = |r: &BacktestReport| -> Vec<Vec<f64>> {
            r.forecasts_of("greedy").filter(|f| f.origin_index <= origin).map(|f| f.point.clone()).collect()
        };
        prop_assert_eq!(kept(&before).len(), pick + 1);
        prop_assert_eq!(kept(&before), kept(&after));
        // and the perturbation is visible to later origins (the test can fail)
        if pick < 35 {
            let later = |r: &BacktestReport| r.forecasts_of("greedy").find(|f| f.origin_index == origin + 1).map(|f| f.point.clone());
            prop_assert_ne!(later(&before), later(&after));
        }
    }
}

#[test]
fn values_too_large_for_f64_are_refused_not_scored_as_nulls() {
    // A walk scaled to 1e200: squared errors and the train variance overflow f64.
    let s = walk();
    let huge: Vec<f64> = s.column("y").unwrap().iter().map(|v| v * 1e200).collect();
    let s = TimeSeries::new(
        s.timestamps().to_vec(),
        vec![nt_core::Column {
            name: "y".into(),
            values: huge,
        }],
    )
    .unwrap();
    let models = [NamedModel::new("rw", &RandomWalk)];
    for scale in [nt_eval::Scale::Standardized, nt_eval::Scale::Original] {
        let c = BacktestConfig { scale, ..cfg(6) };
        let e = backtest(&s, "y", &models, &c, &no_progress).unwrap_err();
        assert!(e.to_string().contains("too large"), "{scale:?}: {e}");
    }
}
