//! Ensembles as a model spec: JSON round trips and refusals, learned weights on series where
//! the answer is known, one payload file whose loaded model forecasts the same bits, batches
//! equal to single forecasts, and bands limited to the levels every member offers.
#![allow(clippy::unwrap_used)]

use nt_core::{Column, TimeSeries};
use nt_models::ensemble::{Combiner, EnsembleSpec, ENSEMBLE_FILE};
use nt_models::{
    from_parts, load_dir, read_manifest, train, EnsembleModel, Forecaster, IntervalSpec, ModelSpec,
    NameOptions, TrainOptions, WindowInputs,
};

fn opts() -> NameOptions {
    NameOptions {
        classical: nt_classical::ClassicalOptions {
            season: 24,
            ..nt_classical::ClassicalOptions::default()
        },
        neural_input_size: 24,
    }
}

/// Hourly rows of `10 + 2 sin(2πt/24) + 0.01 t` plus a small deterministic wiggle.
fn series(n: usize) -> TimeSeries {
    let values = (0..n)
        .map(|t| {
            let t = t as f64;
            10.0 + 2.0 * (2.0 * std::f64::consts::PI * t / 24.0).sin()
                + 0.01 * t
                + 0.3 * (t * 0.7).sin() * (t * 0.13).cos()
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

/// DLinear over 24 inputs for `h` steps, trained 15 steps (fast; its forecasts need not be good).
fn dlinear(h: usize) -> ModelSpec {
    let mut spec = ModelSpec::from_name("dlinear", h, &opts()).unwrap();
    let ModelSpec::Neural(n) = &mut spec else {
        panic!("dlinear is neural")
    };
    n.train_config_mut().max_steps = 15;
    spec
}

fn ensemble(members: Vec<ModelSpec>, combiner: Combiner, h: usize) -> ModelSpec {
    ModelSpec::Ensemble(Box::new(EnsembleSpec::new(members, combiner, h)))
}

fn named(name: &str, h: usize) -> ModelSpec {
    ModelSpec::from_name(name, h, &opts()).unwrap()
}

#[test]
fn ensemble_specs_round_trip_and_bad_ones_are_refused() {
    let json = serde_json::json!({"model": "ensemble", "combiner": "convex", "per_step": true,
        "horizon": 6, "validation_rows": 30, "members": [
            {"model": "ets", "season_length": 24},
            {"model": "dlinear", "input_size": 24, "horizon": 6},
            {"model": "naive", "intervals": {"method": "conformal", "levels": [0.8]}}]});
    let spec: ModelSpec = serde_json::from_value(json).unwrap();
    assert_eq!(spec.name(), "ensemble");
    let ModelSpec::Ensemble(e) = &spec else {
        panic!("{spec:?}")
    };
    // Defaults: refit on; the rest as given.
    assert!(e.refit && e.per_step);
    assert_eq!((e.members.len(), e.validation_rows), (3, Some(30)));
    assert!(matches!(e.members[2], ModelSpec::Calibrated(_)));
    let back = serde_json::to_value(&spec).unwrap();
    assert_eq!(back["model"], "ensemble");
    assert_eq!(back["combiner"], "convex");
    assert_eq!(serde_json::from_value::<ModelSpec>(back).unwrap(), spec);
    // The catalog name alone builds the default members, combined by the mean.
    let default = named("ensemble", 12);
    let ModelSpec::Ensemble(d) = &default else {
        panic!("{default:?}")
    };
    assert_eq!(d.combiner, Combiner::Mean);
    assert_eq!(
        d.members.iter().map(|m| m.name()).collect::<Vec<_>>(),
        ["ets", "theta", "seasonal-naive"]
    );
    let refused = [
        (
            serde_json::json!({"model": "ensemble", "combiner": "mean", "horizon": 6,
                "members": [{"model": "naive"}]}),
            "at least 2",
        ),
        (
            serde_json::json!({"model": "ensemble", "combiner": "mean", "horizon": 6,
                "members": [{"model": "naive"}, {"model": "dlinear", "input_size": 24, "horizon": 12}]}),
            "forecasts 12 steps",
        ),
        (
            serde_json::json!({"model": "ensemble", "combiner": "mean", "per_step": true,
                "horizon": 6, "members": [{"model": "naive"}, {"model": "drift"}]}),
            "per step",
        ),
        (
            serde_json::json!({"model": "ensemble", "combiner": "best", "horizon": 6,
                "members": [{"model": "naive"}, {"model": "drift"}]}),
            "best",
        ),
        (
            serde_json::json!({"model": "ensemble", "combiner": "mean", "horizon": 6,
                "validation_rows": 3, "members": [{"model": "naive"}, {"model": "drift"}]}),
            "at least the horizon",
        ),
        (
            serde_json::json!({"model": "ensemble", "combiner": "mean", "horizon": 6, "weights": [1],
                "members": [{"model": "naive"}, {"model": "drift"}]}),
            "weights",
        ),
        (
            serde_json::json!({"model": "ensemble", "combiner": "mean", "horizon": 6,
                "members": [{"model": "naive"}, {"model": "ensemble", "combiner": "mean",
                    "horizon": 6, "members": [{"model": "naive"}, {"model": "drift"}]}]}),
            "member of another ensemble",
        ),
    ];
    for (json, expected) in refused {
        let e = serde_json::from_value::<ModelSpec>(json.clone())
            .unwrap_err()
            .to_string();
        assert!(e.contains(expected), "{json}: {e}");
    }
    // Calibrated intervals over an ensemble are refused (calibrate its members).
    let e = named("ensemble", 6)
        .with_intervals(IntervalSpec::conformal(vec![0.8]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("members"), "{e}");
    // Unknown member names list the known ones.
    let e = EnsembleSpec::from_names(&["ets", "prophet"], Combiner::Mean, 6, &opts())
        .unwrap_err()
        .to_string();
    assert!(e.contains("prophet") && e.contains("dlinear"), "{e}");
}

#[test]
fn learned_weights_find_the_member_that_is_exact() {
    // A pure 24-periodic series: seasonal naive forecasts it exactly (validation MAE 0), the
    // random walk and the mean do not. Inverse-error gives seasonal naive all the weight (the
    // zero-error rule); convex weights put (almost) all of it there too (the optimum is 1).
    let n = 240;
    let values = (0..n)
        .map(|t| ((t % 24) as f64 - 12.0).abs())
        .collect::<Vec<_>>();
    let s = TimeSeries::from_values("y", values);
    let h = 6;
    let members = vec![
        named("naive", h),
        named("seasonal-naive", h),
        named("mean", h),
    ];
    for combiner in [Combiner::InverseError, Combiner::Convex] {
        let t = train(
            &s,
            &["y"],
            &ensemble(members.clone(), combiner, h),
            &TrainOptions::default(),
            &mut |_| {},
        )
        .unwrap();
        assert!(matches!(t.model.spec(), ModelSpec::Ensemble(_)));
        let model = downcast(&*t.model);
        for step in model.weights() {
            assert_eq!(step.len(), 3);
            assert!((step.iter().sum::<f64>() - 1.0).abs() < 1e-12, "{step:?}");
            assert!(step[1] > 1.0 - 1e-6, "{combiner:?}: {step:?}");
        }
        let v = model.validation();
        // Default validation: max(⌈20% of 240⌉, 12) = 48 rows, origins 192..=234: 43.
        assert_eq!((v.rows, v.fit_rows, v.origins), (240, 192, 43));
        assert_eq!(v.member_mae[1], 0.0);
        assert!(v.ensemble_mae < 1e-6, "{v:?}");
        // The refitted ensemble forecasts the next period exactly.
        let f = t.model.predict_series(&s, "y", None, h).unwrap();
        let want: Vec<f64> = (240..246).map(|t| ((t % 24) as f64 - 12.0).abs()).collect();
        for (a, b) in f.point_values().iter().zip(&want) {
            assert!((a - b).abs() < 1e-5, "{:?} vs {want:?}", f.point_values());
        }
    }
}

/// The ensemble behind a `dyn Forecaster`.
fn downcast(model: &dyn Forecaster) -> &EnsembleModel {
    model.as_ensemble().expect("an ensemble")
}

#[test]
fn a_saved_ensemble_is_one_payload_and_forecasts_the_same_bits() {
    let s = series(300);
    let h = 6;
    let spec = ModelSpec::Ensemble(Box::new(EnsembleSpec {
        per_step: true,
        ..EnsembleSpec::new(
            vec![named("ets", h), named("theta", h), dlinear(h)],
            Combiner::Convex,
            h,
        )
    }));
    let dir = tempfile::tempdir().unwrap();
    let t = train(
        &s,
        &["y"],
        &spec,
        &TrainOptions {
            out_dir: Some(dir.path().to_path_buf()),
            ..TrainOptions::default()
        },
        &mut |_| {},
    )
    .unwrap();
    // One payload beside model.json, nothing else left behind.
    let mut files: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, vec![ENSEMBLE_FILE.to_string(), "model.json".into()]);
    let manifest = read_manifest(dir.path()).unwrap();
    assert_eq!(manifest.spec, spec);
    let loaded = load_dir(dir.path()).unwrap();
    let payload = std::fs::read(dir.path().join(ENSEMBLE_FILE)).unwrap();
    let parts = from_parts(&manifest, &payload).unwrap();
    let x = s.column("y").unwrap();
    // Windows of the last 100 rows at ten origins (the classical members filter all of it).
    let windows: Vec<WindowInputs<'_>> = (0..10)
        .map(|k| WindowInputs {
            target: &x[200 - 5 * k..300 - 5 * k],
            hist: Vec::new(),
            futr: Vec::new(),
        })
        .collect();
    let batch = t.model.forecast_batch(&windows, h).unwrap();
    for (w, b) in windows.iter().zip(&batch) {
        let one = t.model.forecast(w, h).unwrap();
        assert_eq!(&one, b, "batch and single forecasts differ");
        assert_eq!(loaded.forecast(w, h).unwrap(), one, "loaded differs");
        assert_eq!(parts.forecast(w, h).unwrap(), one, "from_parts differs");
    }
    assert_eq!(
        loaded.predict_series(&s, "y", None, h).unwrap(),
        t.model.predict_series(&s, "y", None, h).unwrap()
    );
    // min_history / window: the max over the members (DLinear's window of 24; ETS reads all).
    assert_eq!(loaded.window(), None);
    assert!(loaded.min_history() >= 24);
    assert_eq!(
        loaded.params(),
        downcast(&*t.model)
            .members()
            .iter()
            .map(|m| m.params())
            .sum::<usize>()
    );
    let model = downcast(&*loaded);
    assert_eq!(model.weights().len(), h, "one weight set per step");
    for w in model.weights() {
        assert!(w.iter().all(|&v| v >= 0.0));
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12, "{w:?}");
    }
    // A corrupted payload is refused by the sha256 check.
    let mut bad = payload.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    std::fs::write(dir.path().join(ENSEMBLE_FILE), &bad).unwrap();
    assert!(load_dir(dir.path()).is_err());
}

#[test]
fn bands_are_the_levels_every_member_offers_and_no_refit_keeps_the_held_out_fit() {
    // ETS and drift offer 80% and 95% intervals; a conformal naive only 80%: the ensemble
    // offers the 80% bands (quantiles 0.1 and 0.9), combined by the median.
    let h = 4;
    let s = series(200);
    let calibrated_naive = named("naive", h)
        .with_intervals(IntervalSpec::conformal(vec![0.8]))
        .unwrap();
    let spec = ModelSpec::Ensemble(Box::new(EnsembleSpec {
        refit: false,
        validation_rows: Some(40),
        ..EnsembleSpec::new(
            vec![named("ets", h), named("drift", h), calibrated_naive],
            Combiner::Median,
            h,
        )
    }));
    let t = train(&s, &["y"], &spec, &TrainOptions::default(), &mut |_| {}).unwrap();
    assert_eq!(t.model.quantile_levels(), vec![0.1, 0.9]);
    let f = t.model.predict_series(&s, "y", None, h).unwrap();
    let (lo, hi) = f.interval(0.8).unwrap();
    for ((l, p), u) in lo.iter().zip(f.point_values()).zip(hi) {
        assert!(l <= p && p <= u, "{f:?}");
    }
    // The members were fitted on the first 200 − 40 = 160 rows and kept.
    let model = downcast(&*t.model);
    assert!(model.weights().is_empty(), "the median has no weights");
    for m in model.members() {
        assert_eq!(m.meta().train_rows, Some(160), "{}", m.name());
    }
    assert!(!model.validation().refitted);
}
