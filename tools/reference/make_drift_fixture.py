"""Reference values for nt-eval's drift statistics (crates/nt-eval/tests/drift_reference.rs).

PSI: numpy, with the bins nt_eval::drift::psi uses: inner edges at the reference's
np.quantile(ref, k/bins), k = 1..bins-1 (numpy's default "linear" method), equal edges merged
(np.unique), open-ended outer bins, a value equal to an edge in the bin to its right
(np.searchsorted(edges, v, side="right")), bin shares floored at epsilon, then
PSI = sum((cur - ref) * ln(cur / ref)).

KS: scipy.stats.ks_2samp(a, b, alternative="two-sided", method=<named>), and
scipy.stats.kstwo.sf(x, n) on a grid that reaches every branch of scipy's _kolmogn.

Run:  LD_LIBRARY_PATH=/tmp/nfstubs /tmp/nfenv/bin/python tools/reference/make_drift_fixture.py
Writes crates/nt-eval/tests/fixtures/drift_reference.json.
"""

import json
import os
import warnings

import numpy as np
import scipy
import scipy.stats as st

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "crates", "nt-eval", "tests",
                   "fixtures", "drift_reference.json")


def psi(ref, cur, bins=10, eps=1e-4):
    edges = np.unique(np.quantile(ref, np.arange(1, bins) / bins))
    r = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=len(edges) + 1) / len(ref)
    c = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=len(edges) + 1) / len(cur)
    r2, c2 = np.maximum(r, eps), np.maximum(c, eps)
    return float(np.sum((c2 - r2) * np.log(c2 / r2))), edges.tolist(), r.tolist(), c.tolist()


def r6(x):
    # Six decimals keep the fixture small; the statistics are computed on the rounded values.
    return np.round(np.asarray(x, dtype=float), 6)


def main():
    rng = np.random.default_rng(20261202)
    samples = {
        "same": (rng.normal(0, 1, 800), rng.normal(0, 1, 600)),
        "shifted_mean": (rng.normal(0, 1, 800), rng.normal(0.5, 1, 600)),
        "scaled_variance": (rng.normal(0, 1, 800), rng.normal(0, 2, 600)),
        "ties": (rng.integers(0, 5, 300).astype(float), rng.integers(0, 6, 250).astype(float)),
        "small_exact_equal_n": (rng.normal(0, 1, 20), rng.normal(0.8, 1, 20)),
        "small_exact_unequal_n": (rng.normal(0, 1, 15), rng.normal(0.3, 1.5, 12)),
        "large_asymp_same": (rng.normal(0, 1, 1500), rng.normal(0, 1, 1000)),
        "large_asymp_shifted": (rng.normal(0, 1, 1500), rng.normal(0.15, 1, 1000)),
        "large_asymp_far": (rng.normal(0, 1, 1500), rng.normal(1.5, 1, 1000)),
        "auto_above_max_n": (rng.normal(0, 1, 10001), rng.normal(0.05, 1, 300)),
        "lognormal_prices": (np.exp(rng.normal(4, 0.1, 700)), np.exp(rng.normal(4.05, 0.12, 400))),
    }
    methods = {
        "same": ["auto", "exact", "asymp"],
        "shifted_mean": ["auto", "exact", "asymp"],
        "scaled_variance": ["auto", "asymp"],
        "ties": ["auto", "exact", "asymp"],
        "small_exact_equal_n": ["exact", "asymp"],
        "small_exact_unequal_n": ["exact", "asymp"],
        "large_asymp_same": ["asymp"],
        "large_asymp_shifted": ["asymp"],
        "large_asymp_far": ["asymp"],
        "auto_above_max_n": ["auto"],
        "lognormal_prices": ["auto", "asymp"],
    }
    cases = []
    for name, (a, b) in samples.items():
        a, b = r6(a), r6(b)
        ks = []
        for m in methods[name]:
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                res = st.ks_2samp(a, b, method=m)
            used = m
            if m == "auto":
                used = "exact" if max(len(a), len(b)) <= 10000 else "asymp"
            if any("Switching to" in str(x.message) for x in w):
                used = "asymp"
            ks.append({"method": m, "method_used": used, "statistic": float(res.statistic),
                       "p_value": float(res.pvalue)})
        value, edges, rs, cs = psi(a, b)
        cases.append({"name": name, "a": a.tolist(), "b": b.tolist(), "ks": ks,
                      "psi": {"bins": 10, "epsilon": 1e-4, "value": value, "edges": edges,
                              "reference": rs, "current": cs}})
    # PSI with other settings.
    a, b = cases[1]["a"], cases[1]["b"]
    extra_psi = []
    for bins, eps in [(5, 1e-4), (20, 1e-3), (10, 1e-6)]:
        value, edges, rs, cs = psi(np.asarray(a), np.asarray(b), bins, eps)
        extra_psi.append({"case": "shifted_mean", "bins": bins, "epsilon": eps, "value": value,
                          "edges": edges})
    kstwo = []
    for n in [3, 10, 50, 140, 141, 400, 1200, 5000, 150000]:
        for x in [0.6 / n, 0.9 / n, 1.5 / n, 0.01, 0.02, 0.03, 0.05, 0.08, 0.12, 0.2, 0.35,
                  0.55, 0.8, 1 - 0.5 / n]:
            if 0 < x < 1:
                kstwo.append({"n": n, "x": x, "sf": float(st.kstwo.sf(x, n))})
    out = {"generator": "tools/reference/make_drift_fixture.py",
           "numpy": np.__version__, "scipy": scipy.__version__,
           "cases": cases, "extra_psi": extra_psi, "kstwo_sf": kstwo}
    with open(OUT, "w") as f:
        json.dump(out, f, separators=(",", ":"))
    print(f"wrote {OUT}: {len(cases)} cases, {len(kstwo)} kstwo points")


if __name__ == "__main__":
    main()
