//! The Theta family against statsforecast 2.1.1.
//!
//! Fixture: tests/fixtures/statsforecast_theta.json, written by
//! tools/reference/statsforecast/make_theta_fixture.py (versions in its README section and in
//! the fixture). Cases: ETTh1 `OT` rows [0, 1344) with season 24 (seasonality test fires,
//! multiplicative decomposition), GOOG `Close` rows [1000, 1500) with season 5 (the test
//! fires too) and with season 1 (no test); each with the four models, forecasts at horizon 24
//! with 80% and 95% intervals, and for ETTh1 `forward` from rows [0, 1500). The data are stored in the fixture, so the test needs no other
//! file; it fails when the fixture is missing.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use nt_classical::{ClassicalSpec, DecompositionType, FittedClassical, FittedTheta};
use nt_core::{Column, Horizon, Predict, TimeSeries};

fn fixture() -> serde_json::Value {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/statsforecast_theta.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run tools/reference/statsforecast/make_theta_fixture.py",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap()
}

fn floats(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn series(y: Vec<f64>) -> TimeSeries {
    let timestamps = (0..y.len() as i64).map(|i| i * 3_600_000).collect();
    TimeSeries::new(
        timestamps,
        vec![Column {
            name: "y".into(),
            values: y,
        }],
    )
    .unwrap()
}

fn fit(model: &str, season: usize, train: &TimeSeries) -> FittedTheta {
    let spec: ClassicalSpec = serde_json::from_value(serde_json::json!({
        "model": model,
        "season_length": season,
        "levels": [0.8, 0.95],
    }))
    .unwrap();
    match spec.fit_model(train, "y").unwrap() {
        FittedClassical::Theta(m)
        | FittedClassical::OptimizedTheta(m)
        | FittedClassical::DynamicTheta(m)
        | FittedClassical::DynamicOptimizedTheta(m) => {
            assert_eq!(m.kind().name(), model, "the fitted variant's kind");
            m
        }
        other => panic!("{other:?}"),
    }
}

/// Largest relative difference `|a − b| / max(|b|, 1)`.
fn max_rel(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / y.abs().max(1.0))
        .fold(0.0, f64::max)
}

/// Every case and model: the optimizer must take statsforecast's path (same iteration count),
/// so the parameters agree to rounding, far inside the issue's 1e-4. Measured (this commit):
/// parameters 1.2e-14, means 3.0e-15, intervals 7.7e-16, forward 1.3e-15 (relative).
/// * parameters: α and θ to 1e-8 absolute, the initial level to 1e-8 relative (both runs
///   evaluate the same function in the same order; only summation orders differ from the C++);
/// * criterion `mse` and `amse` to 1e-9 relative, the interval sigma to 1e-9 relative;
/// * decomposition: the same type, seasonal indices to 1e-10;
/// * point forecasts to 1e-9 relative (the issue asks 1e-4);
/// * `forward` (ETTh1): predict on rows [0, 1500) with the parameters fitted on [0, 1344)
///   equals statsforecast's `forward`, same tolerances as the fit's forecasts;
/// * intervals: statsforecast's are quantiles of 200 paths simulated with
///   `np.random.default_rng(0)` in float32; we draw NumPy's exact normals (to ~1e-11) and
///   round as it does, so they agree to float32 precision: 1e-5 relative.
#[test]
fn theta_family_matches_statsforecast() {
    let fx = fixture();
    assert_eq!(fx["versions"]["statsforecast"], "2.1.1");
    let h = fx["horizon"].as_u64().unwrap() as usize;
    let mut worst = [0.0f64; 4];
    for case in fx["cases"].as_array().unwrap() {
        let label = case["label"].as_str().unwrap();
        let season = case["season_length"].as_u64().unwrap() as usize;
        let train = series(floats(&case["y"]));
        for rec in case["models"].as_array().unwrap() {
            let name = rec["model"].as_str().unwrap();
            let what = format!("{label} {name}");
            let m = fit(name, season, &train);
            let p = m.params();
            let s = m.summary();
            assert_eq!(
                s.iterations,
                rec["iterations"].as_u64().unwrap() as usize,
                "{what}: Nelder–Mead iterations"
            );
            let want_level = rec["initial_smoothed"].as_f64().unwrap();
            let d_level = (p.initial_smoothed - want_level).abs() / want_level.abs().max(1.0);
            let d_alpha = (p.alpha - rec["alpha"].as_f64().unwrap()).abs();
            let d_theta = (p.theta - rec["theta"].as_f64().unwrap()).abs();
            assert!(
                d_level < 1e-8 && d_alpha < 1e-8 && d_theta < 1e-8,
                "{what}: {p:?} vs {rec:?}"
            );
            worst[0] = worst[0].max(d_level).max(d_alpha).max(d_theta);
            let want_mse = rec["mse"].as_f64().unwrap();
            assert!(
                (s.mse - want_mse).abs() <= 1e-9 * want_mse.abs(),
                "{what}: mse {} vs {want_mse}",
                s.mse
            );
            assert!(
                max_rel(&s.amse, &floats(&rec["amse"])) < 1e-9,
                "{what}: amse"
            );
            let want_sigma = rec["sigma"].as_f64().unwrap();
            assert!(
                (s.sigma - want_sigma).abs() <= 1e-9 * want_sigma,
                "{what}: sigma {} vs {want_sigma}",
                s.sigma
            );
            let want_dec = match rec["decomposition"].as_str() {
                Some("multiplicative") => Some(DecompositionType::Multiplicative),
                Some("additive") => Some(DecompositionType::Additive),
                _ => None,
            };
            assert_eq!(s.decomposition, want_dec, "{what}: decomposition");
            let want_idx = floats(&rec["seasonal_indices"]);
            assert!(
                max_rel(&s.seasonal_indices, &want_idx) < 1e-10,
                "{what}: indices"
            );

            let f = m.predict(&train, Horizon::new(h).unwrap()).unwrap();
            let d_mean = max_rel(f.point_values(), &floats(&rec["mean"]));
            assert!(d_mean < 1e-9, "{what}: mean off by {d_mean}");
            worst[1] = worst[1].max(d_mean);
            for (lv, level) in [(80, 0.8), (95, 0.95)] {
                let (lo, hi) = f.interval(level).unwrap();
                let d_lo = max_rel(lo, &floats(&rec[format!("lo-{lv}")]));
                let d_hi = max_rel(hi, &floats(&rec[format!("hi-{lv}")]));
                assert!(d_lo < 1e-5 && d_hi < 1e-5, "{what} {lv}%: {d_lo} {d_hi}");
                worst[2] = worst[2].max(d_lo).max(d_hi);
            }
            // statsforecast's `forward` on a longer history (ETTh1 rows [0, 1500)): predict
            // must give the same forecast and bands, same tolerances.
            if let Some(fw) = rec.get("forward") {
                let longer = series(floats(&case["forward_y"]));
                let g = m.predict(&longer, Horizon::new(h).unwrap()).unwrap();
                let d = max_rel(g.point_values(), &floats(&fw["mean"]));
                assert!(d < 1e-9, "{what} forward: mean off by {d}");
                worst[3] = worst[3].max(d);
                for (lv, level) in [(80, 0.8), (95, 0.95)] {
                    let (lo, hi) = g.interval(level).unwrap();
                    let d_lo = max_rel(lo, &floats(&fw[format!("lo-{lv}")]));
                    let d_hi = max_rel(hi, &floats(&fw[format!("hi-{lv}")]));
                    assert!(
                        d_lo < 1e-5 && d_hi < 1e-5,
                        "{what} forward {lv}%: {d_lo} {d_hi}"
                    );
                    worst[3] = worst[3].max(d_lo).max(d_hi);
                }
            }
        }
    }
    eprintln!(
        "worst: parameters {:.2e}, means {:.2e} (relative), intervals {:.2e} (relative), forward {:.2e}",
        worst[0], worst[1], worst[2], worst[3]
    );
}

/// A fitted model serializes and forecasts the same after the round trip, and a history that
/// extends the training data is forecast without refitting (statsforecast's `forward`): on
/// the training data itself predict equals the fit's own forecast (checked above); on a longer
/// history it differs and stays finite.
#[test]
fn round_trip_and_forward() {
    let fx = fixture();
    let case = &fx["cases"][0];
    let y = floats(&case["y"]);
    let train = series(y[..1000].to_vec());
    let longer = series(y.clone());
    let m = fit("optimized-theta", 24, &train);
    let json = serde_json::to_string(&FittedClassical::OptimizedTheta(m.clone())).unwrap();
    assert!(json.contains(r#""model":"optimized-theta""#), "{json}");
    let back: FittedClassical = serde_json::from_str(&json).unwrap();
    let h = Horizon::new(24).unwrap();
    let a = m.predict(&longer, h).unwrap();
    let b = back.predict(&longer, h).unwrap();
    assert_eq!(a, b);
    let c = m.predict(&train, h).unwrap();
    assert_ne!(a.point_values(), c.point_values());
    assert!(a.point_values().iter().all(|v| v.is_finite()));
}
