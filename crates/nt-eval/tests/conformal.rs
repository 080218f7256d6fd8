//! Conformal bands in backtests: at each origin they use only residuals whose actuals are known
//! there (a perturbation of every value after an origin leaves that origin's bands, and every
//! earlier one's, bit-identical), and the report carries them beside the model's own intervals.
#![allow(clippy::unwrap_used)]

use nt_core::{Column, Fit, Forecast, Horizon, Predict, Result as CoreResult, TimeSeries};
use nt_eval::{backtest, no_progress, BacktestConfig, BacktestReport, NamedModel, Scale};

/// Forecasts the mean of the last 5 values for every step, with a fixed ±1 "own" 80% band.
#[derive(Debug, Clone, Default)]
struct Mean5;

impl Fit for Mean5 {
    type Fitted = Mean5;
    fn fit(&self, train: &TimeSeries, target: &str) -> CoreResult<Mean5> {
        train.column(target)?;
        Ok(Mean5)
    }
}

impl Predict for Mean5 {
    fn predict(&self, history: &TimeSeries, horizon: Horizon) -> CoreResult<Forecast> {
        let x = history.column("y")?;
        let tail = &x[x.len().saturating_sub(5)..];
        let m = tail.iter().sum::<f64>() / tail.len() as f64;
        let h = horizon.get();
        Forecast::point(vec![m; h]).with_interval(0.8, vec![m - 1.0; h], vec![m + 1.0; h])
    }
}

/// `n` rows of a deterministic wiggly series (an AR(1)-like recursion on a hashed noise).
fn series(n: usize) -> TimeSeries {
    let mut a = 0.0;
    let values = (0..n)
        .map(|i| {
            let e = ((i * 2_654_435_761) % 1000) as f64 / 500.0 - 1.0;
            a = 0.7 * a + e;
            20.0 + a
        })
        .collect();
    TimeSeries::new(
        (0..n as i64).map(|t| t * 3600).collect(),
        vec![Column {
            name: "y".into(),
            values,
        }],
    )
    .unwrap()
}

fn run(s: &TimeSeries) -> BacktestReport {
    let cfg = BacktestConfig {
        horizon: 4,
        levels: vec![0.8, 0.95],
        scale: Scale::Original,
        conformal: true,
        keep_forecasts: true,
        ..BacktestConfig::default()
    };
    backtest(
        s,
        "y",
        &[NamedModel::new("mean5", &Mean5)],
        &cfg,
        &no_progress,
    )
    .unwrap()
}

#[test]
fn perturbing_every_value_after_an_origin_leaves_its_conformal_bands_unchanged() {
    let s = series(600);
    let base = run(&s);
    // Default split 0.7/0.1/0.2 of 600 rows: 420 train, 60 validation, 120 test rows; the test
    // origins run from row 479; take one in the middle.
    let c = 560;
    let x = s.column("y").unwrap();
    let perturbed: Vec<f64> = x
        .iter()
        .enumerate()
        .map(|(i, v)| if i > c { v * 3.0 - 7.0 } else { *v })
        .collect();
    let s2 = TimeSeries::new(
        s.timestamps().to_vec(),
        vec![Column {
            name: "y".into(),
            values: perturbed,
        }],
    )
    .unwrap();
    let other = run(&s2);
    let bands = |r: &BacktestReport, model: &str| -> Vec<(usize, Vec<nt_eval::WindowInterval>)> {
        r.forecasts
            .iter()
            .filter(|f| f.model == model && f.origin_index <= c)
            .map(|f| (f.origin_index, f.conformal.clone()))
            .collect()
    };
    for model in ["naive", "mean5"] {
        let (a, b) = (bands(&base, model), bands(&other, model));
        // 82 origins (479 ..= 560), each with both levels' bands.
        assert_eq!(a.len(), 82, "{model}");
        assert!(a.iter().all(|(_, w)| w.len() == 2), "{model}");
        assert_eq!(
            a, b,
            "{model}: bands at origins <= {c} changed with later data"
        );
    }
    // The perturbation does change later origins' bands (so the comparison can fail).
    let later = |r: &BacktestReport| {
        r.forecasts
            .iter()
            .find(|f| f.model == "mean5" && f.origin_index == c + 10)
            .map(|f| f.conformal.clone())
    };
    assert_ne!(later(&base), later(&other));
}

#[test]
fn the_report_scores_own_and_conformal_intervals_side_by_side() {
    let r = run(&series(600));
    let m = r.model("mean5").unwrap();
    let own = &m.scores.as_ref().unwrap().intervals;
    // The model's own band exists only at 80% (±1); conformal ones at both levels.
    assert_eq!(own.iter().map(|i| i.level).collect::<Vec<_>>(), vec![0.8]);
    assert!((own[0].width - 2.0).abs() < 1e-12, "own 80% band is 2 wide");
    let c = m.conformal.as_ref().unwrap();
    assert_eq!(
        c.intervals.iter().map(|i| i.level).collect::<Vec<_>>(),
        vec![0.8, 0.95]
    );
    // 60 validation origins (rows 419 ..= 478, the model fitted on the 420 train rows)
    // calibrate, so every test window (117 at H = 4) has a finite band at once.
    assert_eq!((c.windows, c.skipped), (m.windows, 0));
    assert_eq!(c.calibration_residuals, 60, "{c:?}");
    // Conformal bands are calibrated: coverage is near nominal (loosely, 117 overlapping
    // windows), and the 95% band is wider than the 80% one.
    assert!((c.intervals[0].coverage - 0.8).abs() < 0.15, "{c:?}");
    assert!(c.intervals[1].width > c.intervals[0].width, "{c:?}");
    let json = serde_json::to_value(&r).unwrap();
    let model_json = &json["models"][1];
    assert!(
        model_json["conformal"]["intervals"].is_array(),
        "{model_json}"
    );
    assert!(model_json["scores"]["intervals"].is_array(), "{model_json}");
}
