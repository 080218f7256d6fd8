"""Reference fits and forecasts of statsforecast's Theta family for nt-classical's tests.

Fits Theta, OptimizedTheta, DynamicTheta and DynamicOptimizedTheta on
* ETTh1 `OT`, rows [0, 1344), season 24 (the seasonality test fires: multiplicative
  decomposition), and
* GOOG `Close`, rows [1000, 1500), season 5 (the test runs and fires) and season 1 (no test),
and writes, per case, the fitted parameters (initial level, alpha, theta), statsforecast's
criterion (`mse`, `amse`), the optimizer's iteration count, the decomposition used with the
next season's indices, the interval sigma, the 24-step forecasts with their 80% and 95%
intervals, the data, and for ETTh1 the forecasts `forward` makes with the fitted parameters
from the longer history rows [0, 1500), to
crates/nt-classical/tests/fixtures/statsforecast_theta.json.

Run from the repository root, in a virtual environment outside the repository:

    python3 -m venv /tmp/sfvenv
    /tmp/sfvenv/bin/pip install statsforecast==2.1.1 pandas numpy
    /tmp/sfvenv/bin/python tools/reference/statsforecast/make_theta_fixture.py

The data files are read from ../shared/data/ (override with ETTH1=... and GOOG=...).
"""

import json
import os
import platform
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
from statsforecast.models import (
    DynamicOptimizedTheta,
    DynamicTheta,
    OptimizedTheta,
    Theta,
)

ROOT = Path(__file__).resolve().parents[3]
SHARED = ROOT.parent / "shared" / "data"
ETTH1 = Path(os.environ.get("ETTH1", SHARED / "ETTh1.csv"))
GOOG = Path(os.environ.get("GOOG", SHARED / "GOOG.csv"))
OUT = ROOT / "crates" / "nt-classical" / "tests" / "fixtures" / "statsforecast_theta.json"

HORIZON = 24
LEVELS = [80, 95]
MODELS = [
    ("theta", Theta),
    ("optimized-theta", OptimizedTheta),
    ("dynamic-theta", DynamicTheta),
    ("dynamic-optimized-theta", DynamicOptimizedTheta),
]


def floats(a):
    return [float(v) for v in np.asarray(a, dtype=np.float64)]


def case(label, y, season, forward_y=None):
    out = {"label": label, "season_length": season, "y": floats(y), "models": []}
    if forward_y is not None:
        out["forward_y"] = floats(forward_y)
    for name, cls in MODELS:
        model = cls(season_length=season).fit(y)
        m = model.model_
        fc = model.predict(h=HORIZON, level=LEVELS)
        residuals_tail = m["residuals"][3:]
        rec = {
            "model": name,
            "initial_smoothed": float(m["par"]["initial_smoothed"]),
            "alpha": float(m["par"]["alpha"]),
            "theta": float(m["par"]["theta"]),
            "mse": float(m["mse"]),
            "amse": floats(m["amse"]),
            "iterations": int(m["fit"].nit),
            "objective": float(m["fit"].fn),
            "decomposition": m["decomposition_type"] if m.get("decompose", False) else None,
            "seasonal_indices": floats(m["seas_forecast"]["mean"]) if m.get("decompose", False) else [],
            "sigma": float(np.std(residuals_tail, ddof=1)),
            "mean": floats(fc["mean"]),
        }
        for lv in LEVELS:
            rec[f"lo-{lv}"] = floats(fc[f"lo-{lv}"])
            rec[f"hi-{lv}"] = floats(fc[f"hi-{lv}"])
        if forward_y is not None:
            # statsforecast's forward: the fitted parameters applied to a longer history.
            fw = model.forward(y=forward_y, h=HORIZON, level=LEVELS)
            rec["forward"] = {"mean": floats(fw["mean"])}
            for lv in LEVELS:
                rec["forward"][f"lo-{lv}"] = floats(fw[f"lo-{lv}"])
                rec["forward"][f"hi-{lv}"] = floats(fw[f"hi-{lv}"])
        out["models"].append(rec)
    return out


def main():
    ett_all = pd.read_csv(ETTH1)["OT"].to_numpy(dtype=np.float64)
    ett = ett_all[:1344]
    goog = pd.read_csv(GOOG)["Close"].to_numpy(dtype=np.float64)[1000:1500]
    fixture = {
        "source": "tools/reference/statsforecast/make_theta_fixture.py",
        "versions": {
            "python": platform.python_version(),
            "statsforecast": version("statsforecast"),
            "numpy": version("numpy"),
            "statsmodels": version("statsmodels"),
        },
        "horizon": HORIZON,
        "levels": LEVELS,
        "cases": [
            case("etth1-ot-0-1344", ett, 24, forward_y=ett_all[:1500]),
            case("goog-close-1000-1500", goog, 5),
            case("goog-close-1000-1500-no-season", goog, 1),
        ],
    }
    OUT.write_text(json.dumps(fixture, indent=1) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")
    for c in fixture["cases"]:
        for r in c["models"]:
            print(c["label"], r["model"], r["alpha"], r["theta"], r["iterations"], r["decomposition"])


if __name__ == "__main__":
    main()
