//! `nt` with GARCH models on a simulated GARCH(1,1) price series of business days: train,
//! predict, forecast (with the volatility forecast, annualized), backtest (with the volatility
//! table), and the exit-2 error on prices ≤ 0.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

mod common;
use common::{nt, ok_json, stderr, stdout};

/// (year, month, day) of `days` since 1970-01-01 (Hinnant's civil_from_days).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `n` business-day closes of a GARCH(1,1) (ω 0.05, α 0.1, β 0.85, percent log returns, mean
/// 0.02) from a fixed LCG seed, starting Monday 2018-01-01; `shift` is added to every price.
fn garch_csv(dir: &Path, n: usize, shift: f64) -> PathBuf {
    let mut state: u64 = 7;
    let mut uniform = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let (omega, alpha, beta): (f64, f64, f64) = (0.05, 0.1, 0.85);
    let mut s2 = omega / (1.0 - alpha - beta);
    let mut price = 100.0;
    let mut text = String::from("date,close\n");
    let mut day = 17_532; // 2018-01-01, a Monday
    let mut rows = 0;
    while rows < n {
        // 1970-01-01 was a Thursday: weekday 0 = Monday at (day + 3) % 7.
        if (day + 3) % 7 < 5 {
            let (y, m, d) = civil(day);
            text.push_str(&format!("{y}-{m:02}-{d:02},{:.6}\n", price + shift));
            let z = (-2.0 * uniform().ln()).sqrt() * (std::f64::consts::TAU * uniform()).cos();
            let e = s2.sqrt() * z;
            price *= ((0.02 + e) / 100.0).exp();
            s2 = omega + alpha * e * e + beta * s2;
            rows += 1;
        }
        day += 1;
    }
    let path = dir.join("garch.csv");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn train_predict_forecast_and_backtest() {
    let dir = tempfile::tempdir().unwrap();
    let data = garch_csv(dir.path(), 900, 0.0);
    let data_s = data.to_str().unwrap();
    let model = dir.path().join("m");
    let model_s = model.to_str().unwrap();

    let o = nt(&[
        "train", "--data", data_s, "--model", "garch", "--out", model_s, "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = nt(&[
        "predict",
        "--model",
        model_s,
        "--data",
        data_s,
        "--horizon",
        "5",
        "--format",
        "json",
    ]);
    let p = ok_json(&o);
    let f = &p["forecasts"][0];
    assert_eq!(f["point"].as_array().unwrap().len(), 5);
    // Bands widen with the cumulated variance.
    let q = |k: &str, i: usize| f["quantiles"][k][i].as_f64().unwrap();
    assert!(q("0.975", 4) - q("0.025", 4) > q("0.975", 0) - q("0.025", 0));

    // Forecast: the volatility per step, annualized by √252 for business days.
    let o = nt(&[
        "forecast",
        "--data",
        data_s,
        "--model",
        "gjr-garch-t",
        "-H",
        "5",
        "--format",
        "json",
    ]);
    let doc = ok_json(&o);
    let v = &doc["volatility"][0];
    assert_eq!(v["periods_per_year"].as_f64(), Some(252.0), "{v}");
    let sigma = v["sigma"].as_array().unwrap();
    let annual = v["annualized"].as_array().unwrap();
    assert_eq!(sigma.len(), 5);
    let (s0, a0) = (sigma[0].as_f64().unwrap(), annual[0].as_f64().unwrap());
    assert!((a0 / s0 - 252f64.sqrt()).abs() < 1e-9, "{s0} {a0}");
    // The simulated unconditional σ is √(0.05 / 0.05) = 1 percent a day: the forecast is near.
    assert!(s0 > 0.5 && s0 < 2.0, "{s0}");
    assert_eq!(doc["forecasts"][0]["point"].as_array().unwrap().len(), 5);
    let o = nt(&["forecast", "--data", data_s, "--model", "garch", "-H", "3"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("annualized"), "{}", stdout(&o));

    // Backtest: the price table and the volatility table, baseline first.
    let o = nt(&[
        "backtest",
        "--data",
        data_s,
        "--models",
        "garch,gjr-garch",
        "-H",
        "5",
        "--format",
        "json",
        "--quiet",
    ]);
    let doc = ok_json(&o);
    let vol = &doc["volatility"][0]["report"];
    let names: Vec<&str> = vol["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["rolling-variance", "garch", "gjr-garch"]);
    // 900 rows, 20% test = 180 rows, H 5: 176 origins.
    assert_eq!(vol["origins"].as_u64(), Some(176));
    for m in &vol["models"].as_array().unwrap()[1..] {
        let p = m["dm_qlike"]["p_value"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&p), "{m}");
    }
    let o = nt(&[
        "backtest", "--data", data_s, "--models", "garch", "-H", "5", "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("rolling-variance"), "{}", stdout(&o));
}

#[test]
fn non_positive_prices_are_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    // Shifted down by 200: every price is negative.
    let data = garch_csv(dir.path(), 300, -200.0);
    let o = nt(&[
        "forecast",
        "--data",
        data.to_str().unwrap(),
        "--model",
        "garch",
        "-H",
        "3",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("log returns"), "{}", stderr(&o));
}
