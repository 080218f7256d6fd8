//! GARCH parity with arch 8.0.0 on GOOG daily returns (100 × log returns of the closes).
//!
//! Fixture: tests/fixtures/arch_garch_goog.json, made by
//! tools/reference/arch/make_garch_fixture.py (versions in tools/reference/arch/README.md).
//! For each model it holds arch's estimates at its default SLSQP tolerance and refitted with
//! `ftol = 1e-12` (they differ by at most 1.5e-5), the log-likelihood, the backcast, every 5th
//! conditional variance and the h = 1..5 analytic variance forecasts.

#![allow(clippy::unwrap_used)]

use nt_classical::{GarchConfig, GarchDistribution, GarchMean};
use serde_json::Value;

fn fixture() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/arch_garch_goog.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; regenerate it with /tmp/sfvenv/bin/python tools/reference/arch/make_garch_fixture.py",
            path.display()
        )
    });
    serde_json::from_str(&text).expect("fixture is JSON")
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

fn config(m: &Value) -> GarchConfig {
    GarchConfig {
        p: m["p"].as_u64().unwrap() as usize,
        o: m["o"].as_u64().unwrap() as usize,
        q: m["q"].as_u64().unwrap() as usize,
        distribution: match m["distribution"].as_str().unwrap() {
            "student-t" => GarchDistribution::StudentT,
            _ => GarchDistribution::Normal,
        },
        mean: match m["mean"].as_str().unwrap() {
            "zero" => GarchMean::Zero,
            _ => GarchMean::Constant,
        },
        ..GarchConfig::default()
    }
}

#[test]
fn fits_match_arch() {
    let fx = fixture();
    let returns = floats(&fx["returns"]);
    let every = fx["variance_every"].as_u64().unwrap() as usize;
    let models = fx["models"].as_array().unwrap();
    assert_eq!(models.len(), 5, "five reference models");
    for m in models {
        let name = m["name"].as_str().unwrap();
        let fit = config(m).fit_returns("r", &returns).unwrap();
        // Parameters in arch's order: [mu] omega alpha gamma beta [nu].
        let mut ours = Vec::new();
        if fit.mean == GarchMean::Constant {
            ours.push(fit.mu);
        }
        ours.push(fit.omega);
        ours.extend(&fit.alpha);
        ours.extend(&fit.gamma);
        ours.extend(&fit.beta);
        ours.extend(fit.nu);
        let names: Vec<&str> = m["param_names"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        for key in ["params", "params_tight"] {
            let theirs = floats(&m[key]);
            assert_eq!(ours.len(), theirs.len(), "{name}");
            for ((o, t), n) in ours.iter().zip(&theirs).zip(&names) {
                // Parameters to 1e-3 absolute (relative for ν, which is ~4).
                let tol = 1e-3 * t.abs().max(1.0);
                assert!((o - t).abs() < tol, "{name} {key} {n}: ours {o} arch {t}");
            }
        }
        eprintln!(
            "{name}: loglik ours {:.6} arch {:.6} tight {:.6}; params {:?}",
            fit.log_likelihood,
            m["loglik"].as_f64().unwrap(),
            m["loglik_tight"].as_f64().unwrap(),
            ours
        );
        // Our maximum is at least arch's (to 1e-6) and within 1e-4 of its tight refit.
        let ll = fit.log_likelihood;
        assert!(ll >= m["loglik"].as_f64().unwrap() - 1e-6, "{name}: {ll}");
        assert!(
            (ll - m["loglik_tight"].as_f64().unwrap()).abs() < 1e-4,
            "{name}: {ll}"
        );
        assert!((fit.backcast - m["backcast"].as_f64().unwrap()).abs() < 1e-12);
        // Conditional variances (every 5th row) to 1e-4 relative of arch's tight refit and of
        // its default fit.
        let sigma2 = fit.conditional_variances(&returns);
        for key in ["sigma2", "sigma2_tight"] {
            for (k, t) in floats(&m[key]).iter().enumerate() {
                let o = sigma2[k * every];
                assert!(
                    (o / t - 1.0).abs() < 1e-4,
                    "{name} {key} row {}: {o} vs {t}",
                    k * every
                );
            }
        }
        assert!(
            (sigma2[returns.len() - 1] / m["sigma2_last"].as_f64().unwrap() - 1.0).abs() < 1e-4
        );
        assert!((fit.last_variance / sigma2[returns.len() - 1] - 1.0).abs() < 1e-12);
        // Variance forecasts h = 1..5 to 1e-4 relative.
        let fc = fit.forecast_returns_variance(&returns, 5);
        for key in ["forecast_variance", "forecast_variance_tight"] {
            for (h, t) in floats(&m[key]).iter().enumerate() {
                assert!(
                    (fc[h] / t - 1.0).abs() < 1e-4,
                    "{name} {key} h {}: {} vs {t}",
                    h + 1,
                    fc[h]
                );
            }
        }
    }
}

#[test]
fn same_data_same_model() {
    // Determinism: two fits of the same data are identical.
    let fx = fixture();
    let returns = floats(&fx["returns"]);
    let c = GarchConfig {
        o: 1,
        ..GarchConfig::default()
    };
    assert_eq!(
        c.fit_returns("r", &returns).unwrap(),
        c.fit_returns("r", &returns).unwrap()
    );
}
