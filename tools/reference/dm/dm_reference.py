"""Reference values for nt-eval's Diebold-Mariano test (crates/nt-eval/tests/dm_reference.rs).

Writes crates/nt-eval/tests/fixtures/dm_reference.json. Run from the repository root:
    python3 -m venv /tmp/dmenv && /tmp/dmenv/bin/pip install numpy scipy
    /tmp/dmenv/bin/python tools/reference/dm/dm_reference.py
(produced with numpy 2.4.6, scipy 1.17.1).

DM as in nt-eval/src/dm.rs: d = loss_model - loss_ref, autocovariances with divisor n, Bartlett
weights 1 - k/h for k = 1..h-1, DM = mean / sqrt(V / n), Harvey-Leybourne-Newbold factor
sqrt((n + 1 - 2h + h(h-1)/n) / n), two-sided p-value from Student t with n - 1 df (scipy).
"""
import json
import os

import numpy as np
from scipy import stats


def dm_test(loss_model, loss_ref, h):
    d = np.asarray(loss_model, dtype=np.float64) - np.asarray(loss_ref, dtype=np.float64)
    n = d.size
    dc = d - d.mean()
    gamma = np.array([np.dot(dc[k:], dc[: n - k]) / n for k in range(h)])
    weights = np.array([1.0] + [2.0 * (1.0 - k / h) for k in range(1, h)])
    var = float(np.dot(weights, gamma))
    dm = d.mean() / np.sqrt(var / n)
    dm *= np.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    p = 2.0 * stats.t.sf(abs(dm), df=n - 1)
    return float(dm), float(p)


def case(name, rng, n, h, shift):
    # Window losses of overlapping h-step forecasts are MA(h-1)-correlated: build them from
    # moving sums of squared noise, the model's shifted by `shift` relative to the reference.
    e = rng.standard_normal(n + h - 1)
    f = rng.standard_normal(n + h - 1)
    ref = np.convolve(e**2, np.ones(h) / h, mode="valid")
    model = np.convolve((f * (1.0 + shift)) ** 2, np.ones(h) / h, mode="valid") * 0.5 + 0.5 * ref
    stat, p = dm_test(model, ref, h)
    return {"name": name, "h": h, "loss_model": model.tolist(), "loss_ref": ref.tolist(),
            "statistic": stat, "p_value": p}


def main():
    rng = np.random.default_rng(20240601)
    cases = [
        case("same_expected_loss_h1", rng, 60, 1, 0.0),
        case("same_expected_loss_h8", rng, 300, 8, 0.0),
        case("model_worse_h24", rng, 500, 24, 0.3),
        case("model_better_h4", rng, 120, 4, -0.4),
    ]
    t_tail = [{"t": t, "df": df, "p": float(2.0 * stats.t.sf(abs(t), df))}
              for t, df in [(0.1, 5), (1.0, 3), (2.0, 10), (2.5, 59), (4.0, 2784), (-3.2, 7), (10.0, 30),
                            (0.7, 1000)]]
    out = {"generator": "tools/reference/dm/dm_reference.py", "numpy": np.__version__,
           "scipy": __import__("scipy").__version__, "cases": cases, "t_tail": t_tail}
    path = os.path.join("crates", "nt-eval", "tests", "fixtures", "dm_reference.json")
    with open(path, "w") as fh:
        json.dump(out, fh, indent=1)
        fh.write("\n")
    for c in cases:
        print(c["name"], c["statistic"], c["p_value"])


if __name__ == "__main__":
    main()
