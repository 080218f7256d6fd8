//! Reference check against statsforecast 2.1.1 on ETTh1 `OT`.
//!
//! Fixture: tests/fixtures/statsforecast_etth1.json, written by
//! tools/reference/statsforecast/make_reference.py (versions pinned in its README). Three
//! windows: train on rows [0, 1000 + 200k), forecast the next 24 hours, levels 80 and 95.
#![allow(clippy::unwrap_used)]

mod common;

use common::{etth1_ot, floats, statsforecast_fixture};
use nt_classical::{EtsConfig, SeasonalNaiveConfig};
use nt_core::{metrics::mae, Fit, Horizon, Predict};
use nt_testing::assert_all_close;

#[test]
fn seasonal_naive_matches_statsforecast_exactly() {
    let series = etth1_ot();
    let fixture = statsforecast_fixture();
    let config = SeasonalNaiveConfig {
        season: 24,
        levels: vec![0.8, 0.95],
    };
    for window in fixture["windows"].as_array().unwrap() {
        let end = window["train_end"].as_u64().unwrap() as usize;
        let train = series.head(end);
        let forecast = config
            .fit(&train, "OT")
            .unwrap()
            .predict(&train, Horizon::new(24).unwrap())
            .unwrap();
        let expected = &window["seasonal_naive"];
        // Points are copies of the last 24 training values: equal to 1e-6 (the fixture's f64s
        // went through JSON text).
        assert_all_close(
            forecast.point_values(),
            &floats(&expected["mean"]),
            1e-6,
            0.0,
        );
        for (key, level) in [("80", 0.8), ("95", 0.95)] {
            let (lo, hi) = forecast.interval(level).unwrap();
            assert_all_close(lo, &floats(&expected["levels"][key]["lo"]), 1e-6, 0.0);
            assert_all_close(hi, &floats(&expected["levels"][key]["hi"]), 1e-6, 0.0);
        }
    }
}

/// Both searches fit the same model families on the same data but with different optimizers
/// (statsforecast 2.1.1's C++ Nelder–Mead with a parameter box narrowed by the starting values,
/// ours with the usual-region constraints of R/fable, and a corrected damped-trend forecast),
/// so the selected model and parameters may legitimately differ. The checks:
/// * accuracy: over the three windows, the mean MAE of our forecasts against the actual values
///   is within 2% (+0.01 °C) of statsforecast's;
/// * optimization: in every window our selected model's AICc is at most statsforecast's + 0.5
///   (our search is at least as good on its own criterion).
///
/// Measured (this commit): both select ETS(A,Ad,N) in all three windows with the same AICc to
/// 3 decimals (7716.012, 9347.053, 11004.932) and α, β, φ to 4 decimals; MAE ours / theirs
/// 3.4586 / 3.4589, 2.1102 / 2.1101, 4.3146 / 4.3147 (means 3.2945 / 3.2945; the tiny
/// differences come from the damped-trend fix, the slope being ~3e-4 °C/h). Our fit + predict
/// takes 0.28–0.42 s per window in release on 2 cores, statsforecast 0.9–1.8 s.
#[test]
fn auto_ets_is_as_accurate_as_statsforecast() {
    let series = etth1_ot();
    let fixture = statsforecast_fixture();
    let config = EtsConfig {
        season_length: 24,
        ..EtsConfig::default()
    };
    let (mut ours_total, mut theirs_total) = (0.0, 0.0);
    let windows = fixture["windows"].as_array().unwrap();
    for window in windows {
        let end = window["train_end"].as_u64().unwrap() as usize;
        let train = series.head(end);
        let started = std::time::Instant::now();
        let fitted = config.fit(&train, "OT").unwrap();
        let forecast = fitted.predict(&train, Horizon::new(24).unwrap()).unwrap();
        let elapsed = started.elapsed();
        let actual = floats(&window["actual"]);
        let reference = &window["auto_ets"];
        let ours = mae(&actual, forecast.point_values()).unwrap();
        let theirs = mae(&actual, &floats(&reference["mean"])).unwrap();
        ours_total += ours;
        theirs_total += theirs;
        let p = fitted.params();
        eprintln!(
            "train_end {end}: ours {} (alpha {:.4} beta {:.4} gamma {:.4} phi {:.4}, AICc {:.3}, MAE {ours:.4}, fit+predict {elapsed:?}) \
             | statsforecast {} (AICc {:.3}, MAE {theirs:.4})",
            fitted.model_type(),
            p.alpha,
            p.beta,
            p.gamma,
            p.phi,
            fitted.aicc(),
            reference["method"].as_str().unwrap(),
            reference["aicc"].as_f64().unwrap(),
        );
        let their_aicc = reference["aicc"].as_f64().unwrap();
        assert!(
            fitted.aicc() <= their_aicc + 0.5,
            "AICc ours {} vs statsforecast {their_aicc}",
            fitted.aicc()
        );
        // Every forecast carries both intervals, nested around the point.
        let (lo80, hi80) = forecast.interval(0.8).unwrap();
        let (lo95, hi95) = forecast.interval(0.95).unwrap();
        for i in 0..24 {
            let p = forecast.point_values()[i];
            assert!(
                lo95[i] <= lo80[i] && lo80[i] <= p && p <= hi80[i] && hi80[i] <= hi95[i],
                "step {i}"
            );
        }
    }
    let n = windows.len() as f64;
    let (ours, theirs) = (ours_total / n, theirs_total / n);
    eprintln!("mean MAE over windows: ours {ours:.4}, statsforecast {theirs:.4}");
    assert!(
        ours <= 1.02 * theirs + 0.01,
        "ours {ours} vs statsforecast {theirs}"
    );
}
