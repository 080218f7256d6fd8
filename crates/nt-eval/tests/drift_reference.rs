//! PSI and the two-sample KS test against numpy and scipy.
//!
//! The fixture `tests/fixtures/drift_reference.json` comes from
//! `tools/reference/make_drift_fixture.py` (numpy 2.4, scipy 1.17): seeded samples (same
//! distribution, shifted mean, scaled variance, integer ties, small samples for the exact
//! p-value, large samples for the asymptotic one, one sample above scipy's `MAX_AUTO_N`,
//! log-normal prices). For each case:
//! - `ks[*]`: `scipy.stats.ks_2samp(a, b, method=m)` — `statistic` is the sup distance
//!   between the empirical CDFs, `p_value` the two-sided p-value, `method_used` the method
//!   scipy actually ran (auto → exact up to 10,000 values per sample);
//! - `psi`: numpy's PSI of `b` against `a` over bins at `np.quantile(a, k/10)`, equal edges
//!   merged, shares floored at 1e-4 (`edges`, `reference`, `current` are the bins and the
//!   shares before flooring);
//! - `kstwo_sf`: `scipy.stats.kstwo.sf(x, n)`, the distribution the asymptotic KS p-value
//!   uses, on a grid that reaches each of scipy's algorithms.
//!
//! The fixture is required: a missing file fails the test and says how to make it.

use nt_eval::drift::{ks_2samp, kstwo_sf, psi, KsMethod};
use serde_json::Value;

fn fixture() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/drift_reference.json"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "{path}: {e}; make it with `LD_LIBRARY_PATH=/tmp/nfstubs /tmp/nfenv/bin/python \
             tools/reference/make_drift_fixture.py` (numpy and scipy)"
        )
    });
    serde_json::from_str(&text).expect("drift_reference.json is valid JSON")
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| x.as_f64().expect("a number"))
        .collect()
}

fn f(v: &Value) -> f64 {
    v.as_f64().expect("a number")
}

/// Relative error, with an absolute floor of 1e-300 for values that are 0.
fn close(got: f64, want: f64, rel: f64) -> bool {
    (got - want).abs() <= rel * want.abs().max(1e-300) || (got == want)
}

fn method(name: &str) -> KsMethod {
    match name {
        "auto" => KsMethod::Auto,
        "exact" => KsMethod::Exact,
        "asymp" => KsMethod::Asymp,
        other => panic!("unknown method {other}"),
    }
}

#[test]
fn ks_2samp_matches_scipy() {
    let fx = fixture();
    let mut checked = 0;
    let mut worst = 0.0f64;
    for case in fx["cases"].as_array().expect("cases") {
        let name = case["name"].as_str().expect("name");
        let (a, b) = (floats(&case["a"]), floats(&case["b"]));
        for ks in case["ks"].as_array().expect("ks") {
            let m = ks["method"].as_str().expect("method");
            let got = ks_2samp(&a, &b, method(m)).expect("ks_2samp");
            let (ws, wp) = (f(&ks["statistic"]), f(&ks["p_value"]));
            assert_eq!(
                got.method.as_str(),
                ks["method_used"].as_str().expect("method_used"),
                "{name} {m}"
            );
            assert!(
                (got.statistic - ws).abs() <= 1e-12,
                "{name} {m}: D {} vs scipy {ws}",
                got.statistic
            );
            assert!(
                close(got.p_value, wp, 1e-10),
                "{name} {m}: p {:e} vs scipy {wp:e}",
                got.p_value
            );
            if wp > 0.0 {
                worst = worst.max((got.p_value - wp).abs() / wp);
            }
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} KS cases");
    eprintln!("ks_2samp: {checked} cases, worst relative p-value error {worst:e}");
}

#[test]
fn kstwo_sf_matches_scipy() {
    let fx = fixture();
    let mut worst = 0.0f64;
    let points = fx["kstwo_sf"].as_array().expect("kstwo_sf");
    for p in points {
        let n = p["n"].as_u64().expect("n");
        let (x, want) = (f(&p["x"]), f(&p["sf"]));
        let got = kstwo_sf(n, x);
        assert!(
            close(got, want, 1e-10),
            "kstwo.sf({x}, {n}): {got:e} vs scipy {want:e}"
        );
        if want > 0.0 {
            worst = worst.max((got - want).abs() / want);
        }
    }
    eprintln!(
        "kstwo_sf: {} points, worst relative error {worst:e}",
        points.len()
    );
}

#[test]
fn psi_matches_numpy() {
    let fx = fixture();
    let cases = fx["cases"].as_array().expect("cases");
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let (a, b) = (floats(&case["a"]), floats(&case["b"]));
        let want = &case["psi"];
        let bins = want["bins"].as_u64().expect("bins") as usize;
        let got = psi(&a, &b, bins, f(&want["epsilon"])).expect("psi");
        let edges = floats(&want["edges"]);
        assert_eq!(got.edges.len(), edges.len(), "{name}: edges");
        for (g, w) in got.edges.iter().zip(&edges) {
            assert!(
                (g - w).abs() <= 1e-12 * w.abs().max(1.0),
                "{name}: edge {g} vs {w}"
            );
        }
        assert_eq!(
            got.reference,
            floats(&want["reference"]),
            "{name}: reference shares"
        );
        assert_eq!(
            got.current,
            floats(&want["current"]),
            "{name}: current shares"
        );
        let wv = f(&want["value"]);
        assert!(
            (got.value - wv).abs() <= 1e-10 * wv.abs().max(1.0),
            "{name}: PSI {} vs numpy {wv}",
            got.value
        );
    }
    for extra in fx["extra_psi"].as_array().expect("extra_psi") {
        let case = cases
            .iter()
            .find(|c| c["name"] == extra["case"])
            .expect("the case named by extra_psi");
        let (a, b) = (floats(&case["a"]), floats(&case["b"]));
        let bins = extra["bins"].as_u64().expect("bins") as usize;
        let got = psi(&a, &b, bins, f(&extra["epsilon"])).expect("psi");
        let wv = f(&extra["value"]);
        assert_eq!(got.edges.len(), floats(&extra["edges"]).len());
        assert!(
            (got.value - wv).abs() <= 1e-10 * wv.abs().max(1.0),
            "bins {bins}: PSI {} vs numpy {wv}",
            got.value
        );
    }
}
