//! Parity of AutoARIMA with statsforecast 2.1.1's `auto_arima_f` on the fixture written by
//! tools/reference/statsforecast/make_autoarima_fixture.py
//! (tests/fixtures/statsforecast_autoarima.json): the same selected orders (arma = p, q, P, Q,
//! s, d, D), coefficients to 1e-4 (absolute), sigma², log-likelihood and AICc to 1e-4
//! relative, and forecasts and 80/95 interval bounds to 1e-4 relative, for the training history
//! and (`forward`) for a longer history filtered with the fitted coefficients.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use nt_classical::{AutoArimaConfig, FittedArima};
use nt_core::{Column, Fit, Forecast, Horizon, Predict, TimeSeries};
use serde_json::Value;

fn fixture() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/statsforecast_autoarima.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; regenerate it with tools/reference/statsforecast/make_autoarima_fixture.py",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn series(values: Vec<f64>) -> TimeSeries {
    let timestamps = (0..values.len() as i64).map(|i| i * 3_600_000).collect();
    TimeSeries::new(
        timestamps,
        vec![Column {
            name: "y".into(),
            values,
        }],
    )
    .unwrap()
}

fn case<'a>(fx: &'a Value, name: &str) -> &'a Value {
    fx["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("case {name} missing from the fixture"))
}

fn close_rel(what: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let rel = (g - w).abs() / w.abs().max(1e-8);
        assert!(
            rel <= tol,
            "{what}[{i}]: got {g}, statsforecast {w} (rel {rel:e})"
        );
    }
}

/// Point forecasts and both interval levels of `fc` against the fixture's `block`.
fn check_forecast(what: &str, fc: &Forecast, block: &Value) {
    close_rel(
        &format!("{what} mean"),
        fc.point_values(),
        &floats(&block["mean"]),
        1e-4,
    );
    for (level, key) in [(0.8, "80"), (0.95, "95")] {
        let (lo, hi) = fc.interval(level).unwrap();
        close_rel(
            &format!("{what} lower {key}"),
            lo,
            &floats(&block["lower"][key]),
            1e-4,
        );
        close_rel(
            &format!("{what} upper {key}"),
            hi,
            &floats(&block["upper"][key]),
            1e-4,
        );
    }
}

fn check_fit(name: &str, c: &Value, fitted: &FittedArima, coef_tol: f64) {
    let arma: Vec<usize> = c["arma"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    let a = fitted.arma;
    assert_eq!(
        vec![a.p, a.q, a.sp, a.sq, a.season, a.d, a.sd],
        arma,
        "{name}: orders"
    );
    let want = floats(&c["coef"]);
    assert_eq!(
        fitted.coef.len(),
        want.len(),
        "{name}: coefficients {:?}",
        fitted.coef
    );
    for (i, (g, w)) in fitted.coef.iter().zip(&want).enumerate() {
        assert!(
            (g - w).abs() <= coef_tol,
            "{name}: coef[{i}] got {g}, statsforecast {w}"
        );
    }
    // sigma², log-likelihood and AICc to 1e-4 relative.
    close_rel(
        &format!("{name} sigma2"),
        &[fitted.sigma2],
        &[c["sigma2"].as_f64().unwrap()],
        1e-4,
    );
    close_rel(
        &format!("{name} loglik"),
        &[fitted.loglik],
        &[c["loglik"].as_f64().unwrap()],
        1e-4,
    );
    close_rel(
        &format!("{name} aicc"),
        &[fitted.aicc],
        &[c["aicc"].as_f64().unwrap()],
        1e-4,
    );
}

fn run_auto(name: &str, coef_tol: f64) {
    let fx = fixture();
    let c = case(&fx, name);
    let config = AutoArimaConfig {
        season_length: c["season_length"].as_u64().unwrap() as usize,
        ..AutoArimaConfig::default()
    };
    let train = series(floats(&c["y"]));
    let t0 = std::time::Instant::now();
    let fitted = config.fit(&train, "y").unwrap();
    eprintln!(
        "{name}: {:?} coef {:?} in {:.2}s (statsforecast {:.2}s)",
        fitted.arma,
        fitted.coef,
        t0.elapsed().as_secs_f64(),
        c["seconds"].as_f64().unwrap()
    );
    check_fit(name, c, &fitted, coef_tol);
    let h = Horizon::new(24).unwrap();
    check_forecast(name, &fitted.predict(&train, h).unwrap(), c);
    let longer = series(floats(&c["forward_y"]));
    check_forecast(
        &format!("{name} forward"),
        &fitted.predict(&longer, h).unwrap(),
        &c["forward"],
    );
}

#[test]
fn autoarima_on_goog_close() {
    // 800 rows, no season: approximation on (> 150 rows); statsforecast picks
    // ARIMA(0,1,0) with drift.
    run_auto("auto_goog", 1e-4);
}

#[test]
fn autoarima_on_etth1_ot_season_24() {
    // 1,344 rows, season 24: approximation on; statsforecast picks ARIMA(4,1,1)(2,0,0)[24]
    // without a constant.
    run_auto("auto_ot_1344_s24", 1e-4);
}
