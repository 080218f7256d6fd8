//! Behaviour of every classical model through the public API: thread safety, no look-ahead,
//! history handling, recovery of known structure, errors.
#![allow(clippy::unwrap_used)]

use nt_classical::{
    ClassicalOptions, ClassicalSpec, Component, DriftConfig, ElasticNetConfig, EtsConfig,
    FittedDrift, FittedElasticNet, FittedEts, FittedMean, FittedMstl, FittedNaive,
    FittedSeasonalNaive, MeanConfig, MstlConfig, NaiveConfig, Normalization, SeasonalNaiveConfig,
    NAMES,
};
use nt_core::{metrics::mae, Column, Fit, Forecast, Horizon, Predict, TimeSeries};
use nt_testing::synthetic::{linear, seasonal};
use proptest::prelude::*;
use std::sync::OnceLock;

fn h(steps: usize) -> Horizon {
    Horizon::new(steps).unwrap()
}

fn values(s: &TimeSeries) -> Vec<f64> {
    s.column("y").unwrap().to_vec()
}

/// A copy of `s` whose rows from `from` on are replaced by `f(row, value)`.
fn rewrite_after(s: &TimeSeries, from: usize, f: impl Fn(usize, f64) -> f64) -> TimeSeries {
    let v: Vec<f64> = values(s)
        .into_iter()
        .enumerate()
        .map(|(i, x)| if i >= from { f(i, x) } else { x })
        .collect();
    TimeSeries::new(
        s.timestamps().to_vec(),
        vec![Column {
            name: "y".into(),
            values: v,
        }],
    )
    .unwrap()
}

/// A positive hourly series with a daily cycle, a slow trend and noise.
fn hourly(n: usize, seed: u64) -> TimeSeries {
    let base = seasonal(n, 24, 3.0, 0.3, seed);
    rewrite_after(&base, 0, |i, x| x + 5.0 + 0.01 * i as f64)
}

#[test]
fn fitted_models_are_send_and_sync() {
    fn check<T: Send + Sync + 'static>() {}
    check::<FittedNaive>();
    check::<FittedSeasonalNaive>();
    check::<FittedDrift>();
    check::<FittedMean>();
    check::<FittedEts>();
    check::<FittedMstl>();
    check::<FittedElasticNet>();
    check::<ClassicalSpec>();
}

/// The long series the shared models are fitted on (first 400 rows) and predicted from.
fn long_series() -> TimeSeries {
    hourly(800, 2)
}

/// Every model of [`NAMES`], fitted once on the first 400 rows of [`long_series`] with the
/// hourly defaults of [`ClassicalOptions`].
fn fitted_models() -> &'static [(&'static str, Box<dyn Predict>)] {
    static MODELS: OnceLock<Vec<(&'static str, Box<dyn Predict>)>> = OnceLock::new();
    MODELS.get_or_init(|| {
        let train = long_series().head(400);
        NAMES
            .iter()
            .map(|name| {
                let spec = ClassicalSpec::from_name(name, &ClassicalOptions::default()).unwrap();
                (*name, spec.fit_boxed(&train, "y").unwrap())
            })
            .collect()
    })
}

#[test]
fn every_model_forecasts_with_nested_intervals() {
    let history = long_series().head(500);
    for (name, model) in fitted_models() {
        let f = model.predict(&history, h(24)).unwrap();
        assert_eq!(f.len(), 24, "{name}");
        assert!(f.point_values().iter().all(|v| v.is_finite()), "{name}");
        let (lo80, hi80) = f.interval(0.8).unwrap();
        let (lo95, hi95) = f.interval(0.95).unwrap();
        for i in 0..24 {
            assert!(
                lo95[i] <= lo80[i] && lo80[i] <= hi80[i] && hi80[i] <= hi95[i],
                "{name} step {i}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    /// No look-ahead: predicting from the first `cut` rows of a longer series gives
    /// bit-identical forecasts whatever its rows from `cut` on hold (here: scaled by `scale`
    /// and shifted by `shift`), with the history ending inside or after the training rows.
    #[test]
    fn no_model_looks_ahead(cut in 100usize..700, scale in 0.1f64..10.0, shift in -50.0f64..50.0) {
        let long = long_series();
        let changed = rewrite_after(&long, cut, |_, x| x * scale + shift);
        prop_assert_ne!(&long, &changed);
        for (name, model) in fitted_models() {
            let fa: Forecast = model.predict(&long.head(cut), h(24)).unwrap();
            let fb: Forecast = model.predict(&changed.head(cut), h(24)).unwrap();
            prop_assert_eq!(fa, fb, "{}", name);
        }
    }
}

/// Fitting sees only its training rows: two series that differ only after row 400 give
/// identical fitted models, hence identical forecasts from the same history.
#[test]
fn fitting_ignores_rows_after_the_training_set() {
    let long = long_series();
    let changed = rewrite_after(&long, 400, |i, x| x * 3.0 - i as f64);
    let history = long.head(420);
    for name in NAMES {
        let spec = ClassicalSpec::from_name(name, &ClassicalOptions::default()).unwrap();
        let a = spec
            .fit_boxed(&long.head(400), "y")
            .unwrap()
            .predict(&history, h(24))
            .unwrap();
        let b = spec
            .fit_boxed(&changed.head(400), "y")
            .unwrap()
            .predict(&history, h(24))
            .unwrap();
        assert_eq!(a, b, "{name}");
    }
}

#[test]
fn naive_family_uses_the_history_not_the_training_end() {
    let train = linear(50, 0.0, 1.0); // 0, 1, …, 49
    let history = linear(80, 0.0, 1.0); // ends at 79
    let naive = NaiveConfig::default().fit(&train, "y").unwrap();
    assert_eq!(
        naive.predict(&history, h(2)).unwrap().point_values(),
        &[79.0, 79.0]
    );
    let drift = DriftConfig::default().fit(&train, "y").unwrap();
    // Slope (49 − 0)/49 = 1 from training; last value 79 from the history.
    assert_eq!(
        drift.predict(&history, h(2)).unwrap().point_values(),
        &[80.0, 81.0]
    );
    let snaive = SeasonalNaiveConfig {
        season: 4,
        ..Default::default()
    }
    .fit(&train, "y")
    .unwrap();
    assert_eq!(
        snaive.predict(&history, h(5)).unwrap().point_values(),
        &[76.0, 77.0, 78.0, 79.0, 76.0]
    );
    // The mean model forecasts the training mean (24.5) whatever the history.
    let mean = MeanConfig::default().fit(&train, "y").unwrap();
    assert_eq!(
        mean.predict(&history, h(1)).unwrap().point_values(),
        &[24.5]
    );
}

#[test]
fn ets_predict_continues_the_training_filter() {
    let series = hourly(600, 3);
    let train = series.head(400);
    let ets = EtsConfig {
        season_length: 24,
        ..EtsConfig::default()
    }
    .fit(&train, "y")
    .unwrap();
    // A daily pattern of amplitude 3 with noise 0.3: a seasonal model is selected.
    assert_ne!(
        ets.model_type().season,
        Component::None,
        "{}",
        ets.model_type()
    );
    // A history that is a window of the training data extended past its end starts from the
    // fitted state: identical to the full history.
    let full = ets.predict(&series.head(500), h(24)).unwrap();
    let window = ets.predict(&series.slice(150..500), h(24)).unwrap();
    assert_eq!(full, window);
    // A history that starts after the training data is filtered from a heuristic start; after
    // 250 rows the point forecasts agree with the continued filter to a small fraction of the
    // series' scale (values ≈ 5–16): measured max difference ≈ 0.02 on this series.
    let fresh = ets
        .predict(&series.slice(250..500).slice(0..250), h(24))
        .unwrap();
    let detached = TimeSeries::new(
        (0..250).collect(),
        vec![Column {
            name: "y".into(),
            values: values(&series.slice(250..500)),
        }],
    )
    .unwrap();
    let detached = ets.predict(&detached, h(24)).unwrap();
    assert_eq!(fresh, ets.predict(&series.slice(250..500), h(24)).unwrap());
    let gap = detached
        .point_values()
        .iter()
        .zip(full.point_values())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    eprintln!("ETS {}: fresh-start gap {gap}", ets.model_type());
    assert!(gap < 0.5, "fresh-start forecast differs by {gap}");
    // The forecast tracks the truth: MAE against the noise-free pattern below 1 (noise sd 0.3).
    let truth: Vec<f64> = (500..524)
        .map(|t| {
            10.0 + 3.0 * (std::f64::consts::TAU * t as f64 / 24.0).sin() + 5.0 + 0.01 * t as f64
        })
        .collect();
    let err = mae(&truth, full.point_values()).unwrap();
    eprintln!("ETS MAE {err} against the noise-free series");
    assert!(err < 1.0, "ETS MAE {err} against the noise-free series");
}

#[test]
fn ets_errors_name_their_cause() {
    let cfg = EtsConfig::default();
    let short = linear(5, 1.0, 1.0);
    let e = cfg.fit(&short, "y").unwrap_err();
    assert!(
        matches!(e, nt_core::Error::InsufficientHistory { needed: 7, got: 5 }),
        "{e}"
    );
    let negative = linear(50, -10.0, 1.0);
    let e = EtsConfig {
        spec: "MNN".into(),
        ..EtsConfig::default()
    }
    .fit(&negative, "y")
    .unwrap_err();
    assert!(
        e.to_string().contains("row 0") && e.to_string().contains("`y`"),
        "{e}"
    );
    for bad in ["ZZ", "AAM", "XNN", "MMA"] {
        let e = EtsConfig {
            spec: bad.into(),
            ..EtsConfig::default()
        }
        .fit(&negative, "y")
        .unwrap_err();
        assert!(
            matches!(&e, nt_core::Error::InvalidParameter { name, .. } if name == "spec"),
            "{bad}: {e}"
        );
    }
    let e = EtsConfig {
        spec: "ANA".into(),
        ..EtsConfig::default()
    }
    .validate()
    .unwrap_err();
    assert!(e.to_string().contains("season_length"), "{e}");
    // A multiplicative model refuses a history with a non-positive value, naming its row.
    let positive = hourly(300, 4);
    let mnm = EtsConfig {
        season_length: 24,
        spec: "MNM".into(),
        ..EtsConfig::default()
    }
    .fit(&positive, "y")
    .unwrap();
    let broken = rewrite_after(&positive, 290, |i, x| if i == 295 { -1.0 } else { x });
    let e = mnm.predict(&broken, h(3)).unwrap_err();
    assert!(e.to_string().contains("row 295"), "{e}");
    let with_nan = rewrite_after(&positive, 10, |i, x| if i == 12 { f64::NAN } else { x });
    let e = mnm.predict(&with_nan, h(3)).unwrap_err();
    assert!(
        matches!(&e, nt_core::Error::NonFinite { column, index: 12, .. } if column == "y"),
        "{e}"
    );
}

#[test]
fn ets_on_a_constant_series_is_flat() {
    let flat = linear(30, 7.0, 0.0);
    let ets = EtsConfig::default().fit(&flat, "y").unwrap();
    assert_eq!(ets.model_type().to_string(), "ETS(A,N,N)");
    let f = ets.predict(&flat, h(3)).unwrap();
    nt_testing::assert_all_close(f.point_values(), &[7.0; 3], 1e-9, 0.0);
}

#[test]
fn mstl_recovers_a_daily_pattern() {
    let series = hourly(24 * 30, 5);
    let train = series.head(24 * 20);
    let model = MstlConfig::default().fit(&train, "y").unwrap();
    assert_eq!(model.periods(), &[24]);
    let end = 24 * 25;
    let f = model.predict(&series.head(end), h(24)).unwrap();
    let truth: Vec<f64> = (end..end + 24)
        .map(|t| {
            10.0 + 3.0 * (std::f64::consts::TAU * t as f64 / 24.0).sin() + 5.0 + 0.01 * t as f64
        })
        .collect();
    // Noise sd 0.3: the forecast should be within about that of the noise-free path.
    let err = mae(&truth, f.point_values()).unwrap();
    eprintln!("MSTL MAE {err} ({})", model.trend_model());
    assert!(err < 0.6, "MSTL MAE {err}");
    let e = model.predict(&series.head(47), h(1)).unwrap_err();
    assert!(
        matches!(
            e,
            nt_core::Error::InsufficientHistory {
                needed: 48,
                got: 47
            }
        ),
        "{e}"
    );
    let e = MstlConfig {
        trend: "ZZA".into(),
        ..MstlConfig::default()
    }
    .validate()
    .unwrap_err();
    assert!(e.to_string().contains("season letter N"), "{e}");
}

#[test]
fn elasticnet_recovers_a_linear_trend_with_ratio_inputs() {
    // y = 100 + 2t: with ratio normalization every input of a window is (L − i)·c with
    // c = −2/y_L, and step h's target is −h·c, so one lag (input_size 2) determines the
    // continuation exactly and a weakly penalized fit forecasts it almost exactly. (More lags
    // are exactly collinear and only slow coordinate descent down.)
    let series = linear(400, 100.0, 2.0);
    let cfg = ElasticNetConfig {
        input_size: 2,
        horizon: 5,
        alpha: 1e-6,
        l1_ratio: 0.5,
        max_iter: 100_000,
        tol: 1e-10,
        normalization: Normalization::Ratio,
        ..ElasticNetConfig::default()
    };
    let model = cfg.fit(&series.head(300), "y").unwrap();
    let f = model.predict(&series.head(350), h(5)).unwrap();
    let truth: Vec<f64> = (350..355).map(|t| 100.0 + 2.0 * t as f64).collect();
    let err = mae(&truth, f.point_values()).unwrap();
    eprintln!("elasticnet trend MAE {err}");
    assert!(err < 0.05, "MAE {err} on values ≈ 800");
    // Deterministic: a second fit gives the same forecast bit for bit.
    let again = cfg
        .fit(&series.head(300), "y")
        .unwrap()
        .predict(&series.head(350), h(5))
        .unwrap();
    assert_eq!(f, again);
    // A shorter horizon returns the first steps; a longer one is an error.
    assert_eq!(
        model
            .predict(&series.head(350), h(2))
            .unwrap()
            .point_values(),
        &f.point_values()[..2]
    );
    let e = model.predict(&series.head(350), h(6)).unwrap_err();
    assert!(
        e.to_string().contains("exceeds the fitted horizon 5"),
        "{e}"
    );
}

#[test]
fn elasticnet_recovers_a_sinusoid_with_difference_inputs() {
    // A noise-free daily sinusoid is an exact AR(2) process; differences to the last value
    // carry its phase, so a weakly penalized direct fit forecasts a full day ahead.
    let series = seasonal(24 * 40, 24, 3.0, 0.0, 0);
    // Three inputs give two non-zero features, which span the sinusoid's two-dimensional
    // state; more lags would be collinear and slow coordinate descent down.
    let cfg = ElasticNetConfig {
        input_size: 3,
        horizon: 24,
        alpha: 1e-6,
        max_iter: 100_000,
        tol: 1e-10,
        ..ElasticNetConfig::default()
    };
    let model = cfg.fit(&series.head(24 * 30), "y").unwrap();
    let end = 24 * 35 + 7;
    let f = model.predict(&series.head(end), h(24)).unwrap();
    let truth = &values(&series)[end..end + 24];
    let err = mae(truth, f.point_values()).unwrap();
    eprintln!("elasticnet sinusoid MAE {err}");
    assert!(err < 0.05, "MAE {err} on amplitude 3");
    assert_eq!(model.horizon(), 24);
    assert!(model.residual_rmse().iter().all(|r| *r < 0.05));
}

#[test]
fn elasticnet_ratio_needs_positive_values() {
    let series = linear(100, -50.0, 1.0);
    let cfg = ElasticNetConfig {
        input_size: 4,
        horizon: 2,
        normalization: Normalization::Ratio,
        ..ElasticNetConfig::default()
    };
    let e = cfg.fit(&series, "y").unwrap_err();
    assert!(
        e.to_string().contains("row 0") && e.to_string().contains("ratio"),
        "{e}"
    );
    let e = ElasticNetConfig {
        input_size: 1,
        ..ElasticNetConfig::default()
    }
    .validate()
    .unwrap_err();
    assert!(e.to_string().contains("input_size"), "{e}");
}

#[test]
fn elasticnet_trains_on_the_most_recent_windows_only() {
    // 200 rows, 4 lags + 2 steps: 195 windows in all; a cap of 50 keeps the last 50.
    let series = linear(200, 1.0, 0.5);
    let capped = ElasticNetConfig {
        input_size: 4,
        horizon: 2,
        max_windows: Some(50),
        ..ElasticNetConfig::default()
    };
    assert_eq!(capped.fit(&series, "y").unwrap().n_windows(), 50);
    let all = ElasticNetConfig {
        max_windows: None,
        ..capped.clone()
    };
    assert_eq!(all.fit(&series, "y").unwrap().n_windows(), 195);
    let zero = ElasticNetConfig {
        max_windows: Some(0),
        ..capped
    };
    assert!(zero.fit(&series, "y").is_err());
}
