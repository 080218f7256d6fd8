//! `--model ensemble` end to end: `nt train` learns the weights and saves one payload beside
//! model.json, `nt predict` answers from the directory and from the registry with the same
//! bits, `nt backtest` and `nt forecast` take the ensemble flags, and misused flags exit 2.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{nt, ok_json, stderr};

/// An hourly series with a daily cycle and a deterministic wiggle.
fn value(i: usize) -> f64 {
    common::daily_sine(i) + ((i * 7919) % 13) as f64 / 13.0
}

#[test]
fn an_ensemble_trains_registers_and_predicts_the_same_bits_from_the_registry() {
    let dir = tempfile::tempdir().unwrap();
    // 12 days of hourly rows: 288.
    let data = common::hourly_load_csv(dir.path(), 12, value);
    let (out, reg) = (dir.path().join("m"), dir.path().join("reg"));
    let (data_s, out_s, reg_s) = (
        data.to_str().unwrap(),
        out.to_str().unwrap(),
        reg.to_str().unwrap(),
    );
    let o = nt(&[
        "train",
        "--data",
        data_s,
        "--model",
        "ensemble",
        "--members",
        "ets,seasonal-naive,dlinear",
        "--combiner",
        "convex",
        "--per-step",
        "--horizon",
        "6",
        "--input-size",
        "24",
        "--max-steps",
        "10",
        "--out",
        out_s,
        "--register",
        "load",
        "--registry",
        reg_s,
        "--json",
        "--quiet",
    ]);
    let summary = ok_json(&o);
    let e = &summary["ensemble"];
    assert_eq!(e["combiner"], "convex", "{summary}");
    assert_eq!(
        e["members"],
        serde_json::json!(["ets", "seasonal-naive", "dlinear"])
    );
    // One weight set per step (6), three members each, summing to one.
    let weights = e["weights"].as_array().unwrap();
    assert_eq!(weights.len(), 6);
    for w in weights {
        let sum: f64 = w
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .sum();
        assert!((sum - 1.0).abs() < 1e-9, "{w}");
    }
    // Default validation rows: max(⌈20% of 288⌉, 12) = 58.
    assert_eq!(e["validation"]["fit_rows"], 288 - 58, "{e}");
    let mut files: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|f| f.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, ["ensemble.bin", "model.json"]);

    let o = nt(&[
        "predict", "--model", out_s, "--data", data_s, "--format", "json",
    ]);
    let from_dir = ok_json(&o);
    let o = nt(&[
        "predict",
        "--model",
        "load@1",
        "--registry",
        reg_s,
        "--data",
        data_s,
        "--format",
        "json",
    ]);
    let from_registry = ok_json(&o);
    let point = &from_dir["forecasts"][0]["point"];
    assert_eq!(point.as_array().map(Vec::len), Some(6), "{from_dir}");
    assert_eq!(point, &from_registry["forecasts"][0]["point"]);
}

#[test]
fn backtest_and_forecast_take_the_ensemble_flags() {
    let dir = tempfile::tempdir().unwrap();
    let data = common::hourly_load_csv(dir.path(), 12, value);
    let data_s = data.to_str().unwrap();
    let o = nt(&[
        "backtest",
        "--data",
        data_s,
        "--models",
        "naive,ensemble",
        "--members",
        "seasonal-naive,drift",
        "--combiner",
        "inverse-error",
        "--horizon",
        "4",
        "--windows",
        "5",
        "--format",
        "json",
        "--quiet",
    ]);
    let r = ok_json(&o);
    let text = r.to_string();
    assert!(text.contains("\"ensemble\""), "{text}");
    let o = nt(&[
        "forecast",
        "--data",
        data_s,
        "--model",
        "ensemble",
        "--members",
        "ets,drift",
        "--combiner",
        "median",
        "--horizon",
        "4",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn misused_ensemble_flags_exit_2_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let data = common::hourly_load_csv(dir.path(), 5, value);
    let data_s = data.to_str().unwrap();
    let out = dir.path().join("m");
    let train = ["train", "--data", data_s, "--out", out.to_str().unwrap()];
    let backtest = ["backtest", "--data", data_s, "--horizon", "4", "--quiet"];
    let cases: [(&[&str], &[&str], &str); 5] = [
        // --members without an ensemble among the models.
        (
            &train,
            &["--model", "ets", "--members", "ets,drift"],
            "add ensemble",
        ),
        (
            &backtest,
            &["--models", "naive,ets", "--combiner", "convex"],
            "add ensemble",
        ),
        // An unknown member lists the known names.
        (
            &train,
            &[
                "--model",
                "ensemble",
                "--members",
                "ets,prophet",
                "--horizon",
                "4",
            ],
            "dlinear",
        ),
        // Per-step weights for a combiner without weights.
        (
            &backtest,
            &["--models", "ensemble", "--combiner", "mean", "--per-step"],
            "per step",
        ),
        // A combiner nobody knows.
        (
            &backtest,
            &["--models", "ensemble", "--combiner", "best"],
            "inverse-error",
        ),
    ];
    for (base, extra, expected) in cases {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        let o = nt(&args);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {e}");
        assert!(e.contains(expected), "{args:?}: {e}");
    }
    // `ensemble` is in the model help.
    let o = nt(&["train", "--help"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("ensemble"));
}

/// No look-ahead: an ensemble of ETS and a DLinear (10 steps) is backtested with a refit every
/// 3 origins; then, for each of several origins, every value after that origin is perturbed
/// and the backtest run again: every forecast from that origin or an earlier one keeps its
/// bits (its fits, validation split and weights saw only rows up to their origin).
#[test]
fn an_ensemble_backtest_never_looks_ahead() {
    use nt_eval::{backtest, no_progress, BacktestConfig, NamedModel, Refit};
    use nt_models::ensemble::{Combiner, EnsembleSpec};
    use nt_models::{ModelSpec, NameOptions};

    let n = 220;
    let values: Vec<f64> = (0..n).map(value).collect();
    let series = |v: Vec<f64>| {
        nt_core::TimeSeries::new(
            (0..n as i64).map(|t| t * 3_600_000).collect(),
            vec![nt_core::Column {
                name: "y".into(),
                values: v,
            }],
        )
        .unwrap()
    };
    let h = 4;
    let opts = NameOptions {
        classical: nt_classical::ClassicalOptions {
            season: 24,
            horizon: h,
            ..nt_classical::ClassicalOptions::default()
        },
        neural_input_size: 24,
    };
    let mut dlinear = ModelSpec::from_name("dlinear", h, &opts).unwrap();
    let ModelSpec::Neural(nn) = &mut dlinear else {
        panic!("dlinear is neural")
    };
    nn.train_config_mut().max_steps = 10;
    let members = vec![ModelSpec::from_name("ets", h, &opts).unwrap(), dlinear];
    let spec = ModelSpec::Ensemble(Box::new(EnsembleSpec::new(members, Combiner::Convex, h)));
    let cfg = BacktestConfig {
        horizon: h,
        windows: Some(6),
        refit: Refit::Every(3),
        keep_forecasts: true,
        ..BacktestConfig::default()
    };
    let run = |s: &nt_core::TimeSeries| {
        let models = [NamedModel::new("ens", &spec)];
        let r = backtest(s, "y", &models, &cfg, &no_progress).unwrap();
        r.forecasts_of("ens")
            .map(|f| (f.origin_index, f.point.clone()))
            .collect::<Vec<_>>()
    };
    let base = run(&series(values.clone()));
    assert_eq!(base.len(), 6, "six origins kept");
    for &(origin, _) in base.iter().step_by(2) {
        let mut perturbed = values.clone();
        for (t, v) in perturbed.iter_mut().enumerate().skip(origin + 1) {
            *v += 50.0 + t as f64;
        }
        let again = run(&series(perturbed));
        for ((o, a), (o2, b)) in base.iter().zip(&again) {
            assert_eq!(o, o2);
            if *o <= origin {
                assert_eq!(
                    a, b,
                    "forecast at origin {o} changed when rows after {origin} moved"
                );
            }
        }
    }
}
