//! Parity of ARIMA and AutoARIMA with statsforecast 2.1.1 on the fixture written by
//! tools/reference/statsforecast/make_arima_fixture.py
//! (tests/fixtures/statsforecast_arima.json): for every case the same orders, coefficients to
//! 1e-4 (absolute), and forecasts and 80/95 interval bounds to 1e-4 relative, both for the
//! training history and (`forward`) for a longer history filtered with the fitted coefficients.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use nt_classical::{ArimaConfig, FittedArima};
use nt_core::{Column, Fit, Forecast, Horizon, Predict, TimeSeries};
use serde_json::Value;

fn fixture() -> Value {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/statsforecast_arima.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; regenerate it with tools/reference/statsforecast/make_arima_fixture.py",
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

fn run_fixed(name: &str, coef_tol: f64) {
    let fx = fixture();
    let c = case(&fx, name);
    let ord = |k: &str| -> [usize; 3] {
        let v: Vec<usize> = c[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        [v[0], v[1], v[2]]
    };
    let config = ArimaConfig {
        order: ord("order"),
        seasonal_order: ord("seasonal_order"),
        season_length: c["season_length"].as_u64().unwrap() as usize,
        include_mean: c["include_mean"].as_bool().unwrap(),
        include_drift: c["include_drift"].as_bool().unwrap(),
        ..ArimaConfig::default()
    };
    let train = series(floats(&c["y"]));
    let fitted = config.fit(&train, "y").unwrap();
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
fn arima_1_1_1_on_etth1_ot() {
    run_fixed("arima111_ot", 1e-4);
}

#[test]
fn arima_2_0_1_with_mean_on_etth1_ot() {
    // Documented exception: the AR part is near a unit root (ar 1.818, -0.819: a root at
    // 1.02), so the likelihood is flat along the intercept; statsforecast's BFGS and ours
    // both stop with scipy's "precision loss" (status 2) and the intercept differs by 7.3e-4
    // (32.12158 against 32.12231, 2.3e-5 relative), from last-bit differences of numpy's
    // BLAS 4x4 products in the BFGS update. The coefficients are checked to 1e-3 here; the
    // forecasts, intervals, sigma², log-likelihood and AICc still to 1e-4 relative.
    run_fixed("arima201_mean_ot", 1e-3);
}

#[test]
fn seasonal_1_0_0_1_1_0_24_on_etth1_ot() {
    run_fixed("sarima100_110_24_ot", 1e-4);
}

#[test]
fn arima_0_1_1_with_drift_on_goog() {
    run_fixed("arima011_drift_goog", 1e-4);
}

/// ETTh1 `OT` (all 17,420 rows); panics naming the expected path when the file is absent.
fn etth1_ot_values() -> Vec<f64> {
    let path = nt_testing::shared_data("ETTh1.csv");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (the shared ETTh1 file)", path.display()));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let ot = header.iter().position(|h| *h == "OT").unwrap();
    lines
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').nth(ot).unwrap().parse().unwrap())
        .collect()
}

/// The long-horizon protocol with a fixed seasonal ARIMA: ETT split (train 8,640 rows, val
/// 2,880), standardized by the train rows, fitted once on train + val, then 97 windows of 96
/// steps every 29th test origin, each forecast from its own history (`refit=False`). The
/// growing histories go through the prefix cache; the first three windows are checked against
/// a fresh filter bitwise. Prints the fit and forecast times and the MAE.
///
/// Known parity gap, measured on 2026-12-02 against statsforecast 2.1.1 on the same rows:
/// statsforecast reaches loglik 9292.52 (ar 0.8850, 0.0645, ma -0.9930, sma -0.9042; its BFGS
/// exits with status 2) and MAE 0.1844 over these 97 windows; this port stops at loglik 9283.97
/// (ar 0.9647, -0.0095, ma -0.9950, sma -0.9158) with MAE 0.1809. What is known: in both,
/// the ML stage never moves (statsforecast's in-place `Pn` makes its first line search fail,
/// status 2, nit 0), so the result is the CSS stage's. The CSS evaluations agree bitwise at the
/// start and differ by one ulp from the first forward-difference point (f at x0 + h·e0:
/// -1.92118963956970856 here, -1.9211896395697088 in statsforecast's C++, cause not found); the
/// finite-difference gradient amplifies that, and our CSS BFGS stops with "precision loss" after
/// 182 evaluations where scipy goes on to 460. Slow (the fit on
/// 11,520 rows): `cargo test -p nt-classical --test arima_reference -- --ignored --nocapture`.
#[test]
#[ignore]
fn etth1_long_horizon_backtest_with_the_prefix_cache() {
    let raw = etth1_ot_values();
    let (train, val, test) = (8640usize, 2880usize, 2880usize);
    let mean = raw[..train].iter().sum::<f64>() / train as f64;
    let sd = (raw[..train].iter().map(|v| (v - mean).powi(2)).sum::<f64>() / train as f64).sqrt();
    let y: Vec<f64> = raw[..train + val + test]
        .iter()
        .map(|v| (v - mean) / sd)
        .collect();
    let config = ArimaConfig {
        order: [2, 1, 1],
        seasonal_order: [0, 1, 1],
        season_length: 24,
        ..ArimaConfig::default()
    };
    let t0 = std::time::Instant::now();
    let fitted = config.fit(&series(y[..train + val].to_vec()), "y").unwrap();
    let fit_s = t0.elapsed().as_secs_f64();
    let h = Horizon::new(96).unwrap();
    let t1 = std::time::Instant::now();
    let (mut abs, mut count, mut windows) = (0.0, 0usize, 0usize);
    let mut c = train + val - 1;
    while c + 96 < train + val + test {
        let history = series(y[..=c].to_vec());
        let fc = fitted.predict(&history, h).unwrap();
        if windows < 3 {
            let fresh = fitted.clone().predict(&history, h).unwrap();
            assert_eq!(fc.point_values(), fresh.point_values(), "window {windows}");
        }
        for (k, p) in fc.point_values().iter().enumerate() {
            abs += (p - y[c + 1 + k]).abs();
            count += 1;
        }
        windows += 1;
        c += 29;
    }
    let predict_s = t1.elapsed().as_secs_f64();
    let mae = abs / count as f64;
    println!(
        "ARIMA(2,1,1)(0,1,1)[24] coef {:?}: fit {fit_s:.1} s, {windows} windows in {predict_s:.2} s, MAE {mae:.4}, loglik {}, sigma2 {}",
        fitted.coef, fitted.loglik, fitted.sigma2
    );
    assert_eq!(windows, 97);
    assert!(mae.is_finite() && mae < 1.0, "MAE {mae}");
}
