//! The harness on real data against the statsforecast anchors of `../shared/anchors/README.md`,
//! re-measured with `../shared/anchors/sf_bench.py` (outputs in `tests/fixtures/sf_bench_etth1.json`):
//! ETTh1, ETT split (8640 / 2880 / 2880 of 17420 rows), H = 96, train-standardized errors, every
//! origin (2785 per series). sf_bench prints 6 decimals, so agreement to 1e-6 means the same windows,
//! the same rows compared and the same scaling.
#![allow(clippy::unwrap_used)]

use nt_core::{Column, Fit, Forecast, Horizon, Predict, Result as CoreResult, TimeSeries};
use nt_eval::{backtest, backtest_many, no_progress, BacktestConfig, NamedModel, Scale, Split};

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) to unix ms.
fn parse_ts(s: &str) -> i64 {
    let n = |r: std::ops::Range<usize>| s[r].parse::<i64>().unwrap();
    let days = days_from_civil(n(0..4), n(5..7), n(8..10));
    ((days * 24 + n(11..13)) * 60 + n(14..16)) * 60_000 + n(17..19) * 1000
}

/// ETTh1 as a series with every numeric column; panics naming the expected path when the shared
/// file is absent.
fn etth1() -> TimeSeries {
    let path = nt_testing::shared_data("ETTh1.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let mut timestamps = Vec::new();
    let mut cols: Vec<Vec<f64>> = vec![Vec::new(); header.len() - 1];
    for line in lines.filter(|l| !l.is_empty()) {
        let mut fields = line.split(',');
        timestamps.push(parse_ts(fields.next().unwrap()));
        for (col, f) in cols.iter_mut().zip(fields) {
            col.push(f.parse().unwrap());
        }
    }
    let columns = header[1..]
        .iter()
        .zip(cols)
        .map(|(name, values)| Column {
            name: name.to_string(),
            values,
        })
        .collect();
    TimeSeries::new(timestamps, columns).unwrap()
}

/// Seasonal naive written here: the value one season before each target step.
#[derive(Debug, Clone, Copy)]
struct SeasonalNaive {
    season: usize,
}

#[derive(Debug, Clone)]
struct FittedSeasonalNaive {
    season: usize,
    target: String,
}

impl Fit for SeasonalNaive {
    type Fitted = FittedSeasonalNaive;
    fn fit(&self, _: &TimeSeries, target: &str) -> CoreResult<FittedSeasonalNaive> {
        Ok(FittedSeasonalNaive {
            season: self.season,
            target: target.to_string(),
        })
    }
}

impl Predict for FittedSeasonalNaive {
    fn predict(&self, history: &TimeSeries, horizon: Horizon) -> CoreResult<Forecast> {
        let y = history.column(&self.target)?;
        let last_season = &y[y.len() - self.season..];
        Ok(Forecast::point(
            (0..horizon.get())
                .map(|k| last_season[k % self.season])
                .collect(),
        ))
    }
}

fn protocol() -> BacktestConfig {
    BacktestConfig {
        horizon: 96,
        split: Split::ett(),
        scale: Scale::Standardized,
        step: 1,
        season: 24,
        ..BacktestConfig::default()
    }
}

fn close(what: &str, ours: f64, anchor: f64, tol: f64) {
    assert!(
        (ours - anchor).abs() <= tol,
        "{what}: ours {ours} vs anchor {anchor} (tol {tol})"
    );
}

#[test]
fn etth1_ot_random_walk_matches_the_statsforecast_anchor() {
    let s = etth1();
    assert_eq!(s.len(), 17420);
    let sn = SeasonalNaive { season: 24 };
    let models = [NamedModel::new("seasonal_naive", &sn)];
    let cfg = BacktestConfig {
        input_size: Some(24 * 7),
        ..protocol()
    };
    let r = backtest(&s, "OT", &models, &cfg, &no_progress).unwrap();
    let split = r.data.split;
    // common.split_sizes(17420, "ett_hour"); rows per day inferred from the hourly timestamps.
    assert_eq!(
        (split.n_train, split.n_val, split.n_test, split.n_used),
        (8640, 2880, 2880, 14400)
    );
    // SOURCES.md: cutoffs 11519 ..= 14303, n_test - H + 1 = 2785 windows.
    assert_eq!(
        (r.data.first_origin, r.data.last_origin, r.data.origins),
        (11519, 14303, 2785)
    );
    let naive = r.model("naive").unwrap().scores.as_ref().unwrap();
    // The brief's anchor (anchors/README.md): random walk MAE 0.2033 / MSE 0.0693.
    close("naive MAE (README)", naive.mae, 0.2033, 5e-4);
    close("naive MSE (README)", naive.mse, 0.0693, 5e-4);
    // sf_bench.py's 6-decimal output: 0.203283 / 0.069264.
    close("naive MAE", naive.mae, 0.203283, 1e-6);
    close("naive MSE", naive.mse, 0.069264, 1e-6);
    let sn = r.model("seasonal_naive").unwrap().scores.as_ref().unwrap();
    close("seasonal naive MAE", sn.mae, 0.210513, 1e-6);
    close("seasonal naive MSE", sn.mse, 0.071453, 1e-6);
    // On OT the seasonal naive is worse than the random walk: negative skill, U above 1, and with
    // 2785 overlapping windows the DM test (95 lags) does not call the difference significant
    // (measured: skill -0.0356, U2 1.0157, DM 0.759, p 0.448).
    let dm = sn.dm.as_ref().unwrap();
    assert!(sn.skill_mae.unwrap() < 0.0 && sn.theils_u.unwrap() > 1.0);
    assert_eq!((dm.n, dm.lags), (2785, 95));
    assert!(dm.statistic > 0.0 && dm.p_value > 0.1, "{dm:?}");
    println!(
        "ETTh1 OT H=96: naive MAE {:.6} MSE {:.6}; seasonal naive MAE {:.6} MSE {:.6} skill {:.4} U2 {:.4} DM {:.3} (p {:.3}) MASE {:.3}",
        naive.mae,
        naive.mse,
        sn.mae,
        sn.mse,
        sn.skill_mae.unwrap(),
        sn.theils_u.unwrap(),
        dm.statistic,
        dm.p_value,
        sn.mase.unwrap()
    );
}

#[test]
fn etth1_window_cap_matches_sf_bench_max_windows() {
    let s = etth1();
    let cfg = BacktestConfig {
        windows: Some(100),
        ..protocol()
    };
    let r = backtest(&s, "OT", &[], &cfg, &no_progress).unwrap();
    // sf_bench --max-windows naive=100: stride ceil(2784 / 99) = 29, 97 windows from 11519.
    assert_eq!(
        (r.data.origins, r.data.stride, r.data.first_origin),
        (97, 29, 11519)
    );
    let naive = r.model("naive").unwrap().scores.as_ref().unwrap();
    close("capped naive MAE", naive.mae, 0.20503, 1e-6);
    close("capped naive MSE", naive.mse, 0.071474, 1e-6);
}

#[test]
fn etth1_all_targets_pooled_match_sf_bench_target_all() {
    let s = etth1();
    let targets = ["HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"];
    let sn = SeasonalNaive { season: 24 };
    let models = [NamedModel::new("seasonal_naive", &sn)];
    let cfg = BacktestConfig {
        input_size: Some(24),
        ..protocol()
    };
    let m = backtest_many(&s, &targets, &models, &cfg, &no_progress).unwrap();
    let naive = m.pooled[0].scores.as_ref().unwrap();
    assert_eq!(m.pooled[0].windows, 19495);
    close("pooled naive MAE", naive.mae, 0.713181, 1e-6);
    close("pooled naive MSE", naive.mse, 1.294371, 1e-6);
    let snp = m.pooled[1].scores.as_ref().unwrap();
    close("pooled seasonal naive MAE", snp.mae, 0.433303, 1e-6);
    close("pooled seasonal naive MSE", snp.mse, 0.512225, 1e-6);
    // Pooled over all seven series the seasonal naive clearly beats the random walk (measured:
    // skill 0.3924, DM on the target-averaged window MSE -8.47, p 4e-17).
    assert!(snp.skill_mae.unwrap() > 0.3, "{:?}", snp.skill_mae);
    let dm = snp.dm.as_ref().unwrap();
    assert!(dm.statistic < 0.0 && dm.p_value < 1e-6, "{dm:?}");
    assert_eq!(m.leaderboard()[0].name, "seasonal_naive");
    println!(
        "ETTh1 all H=96: naive MAE {:.6} MSE {:.6}; seasonal naive MAE {:.6} MSE {:.6} skill {:.4} DM {:?}",
        naive.mae,
        naive.mse,
        snp.mae,
        snp.mse,
        snp.skill_mae.unwrap(),
        snp.dm.as_ref().map(|d| (d.statistic, d.p_value))
    );
}
