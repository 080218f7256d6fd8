"""Reference forecasts from statsforecast for nt-classical's tests.

Fits SeasonalNaive(24) and AutoETS(season_length=24) on growing windows of ETTh1's `OT`
column (train = rows [0, 1000 + 200 k) for k = 0, 1, 2; horizon 24; levels 80 and 95) and writes
point forecasts, intervals, the selected ETS model with its parameters, initial and final
states, and the actual values to
crates/nt-classical/tests/fixtures/statsforecast_etth1.json.

Run from the repository root, in a virtual environment outside the repository:

    python3 -m venv /tmp/sfvenv
    /tmp/sfvenv/bin/pip install statsforecast==2.1.1 pandas numpy
    /tmp/sfvenv/bin/python tools/reference/statsforecast/make_reference.py

The data file is read from ../shared/data/ETTh1.csv (override with ETTH1=/path/to/ETTh1.csv).
"""

import json
import os
import platform
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
from statsforecast.models import AutoETS, SeasonalNaive

ROOT = Path(__file__).resolve().parents[3]
DATA = Path(os.environ.get("ETTH1", ROOT.parent / "shared" / "data" / "ETTh1.csv"))
OUT = ROOT / "crates" / "nt-classical" / "tests" / "fixtures" / "statsforecast_etth1.json"

SEASON = 24
HORIZON = 24
LEVELS = [80, 95]
TRAIN_ENDS = [1000 + 200 * k for k in range(3)]
# Single models (no search) fitted on the first window, to check every recursion and interval
# formula: (model code, damped).
FIXED_MODELS = [
    ("ANA", False),
    ("AAA", False),
    ("AAA", True),
    ("MNA", False),
    ("MAA", False),
    ("MAA", True),
    ("MNM", False),
    ("MAM", False),
    ("MAM", True),
    ("MNN", False),
    ("MAN", True),
]


def floats(a):
    return [float(v) for v in np.asarray(a, dtype=float)]


def scalar(v):
    """A float, or None for NaN (JSON has no NaN)."""
    v = float(v)
    return None if np.isnan(v) else v


def corrected_damped_mean(m, h):
    """Point forecasts from the final state with the damped-trend sum phi + ... + phi^h.

    statsforecast 2.1.1's C++ `Forecast` adds phi^(i+1) instead of phi^(i+2) (fixed upstream in
    Nixtla/statsforecast#1219), so its damped forecasts use 2*phi at h = 2. Only additive trend
    and additive or no season are handled (enough for the models selected here).
    """
    comp = m["components"]
    x = np.asarray(m["states"][-1], dtype=float)
    phi = float(m["par"][3]) if comp[3] == "D" else 1.0
    level = x[0]
    slope = x[1] if comp[1] != "N" else 0.0
    if comp[1] == "M":
        return None
    season = x[1 + (comp[1] != "N"):] if comp[2] != "N" else None
    out = []
    for i in range(h):
        damp = sum(phi ** j for j in range(1, i + 2))
        f = level + damp * slope
        if season is not None:
            mm = len(season)
            if comp[2] == "A":
                f += season[(mm - 1 - i) % mm]
            else:
                f *= season[(mm - 1 - i) % mm]
        out.append(float(f))
    return out


def ets_record(m, fc, fit_seconds):
    alpha, beta, gamma, phi = (scalar(v) for v in m["par"][:4])
    return {
        "method": m["method"],
        "components": m["components"],
        "m": int(m["m"]),
        "alpha": alpha,
        "beta": beta,
        "gamma": gamma,
        "phi": phi,
        "initial_state": floats(m["par"][4:]),
        "final_state": floats(m["states"][-1]),
        "aicc": float(m["aicc"]),
        "loglik": float(m["loglik"]),
        "sigma2": float(m["sigma2"]),
        "fit_seconds": round(fit_seconds, 3),
        "mean": floats(fc["mean"]),
        "mean_corrected_damping": corrected_damped_mean(m, HORIZON),
        "levels": bands(fc),
    }


def bands(out):
    return {str(lv): {"lo": floats(out[f"lo-{lv}"]), "hi": floats(out[f"hi-{lv}"])} for lv in LEVELS}


def main():
    y_all = pd.read_csv(DATA)["OT"].to_numpy(dtype=np.float64)
    windows = []
    for end in TRAIN_ENDS:
        y = y_all[:end]
        actual = y_all[end : end + HORIZON]

        snaive = SeasonalNaive(season_length=SEASON).fit(y)
        sn = snaive.predict(h=HORIZON, level=LEVELS)

        t0 = time.perf_counter()
        ets = AutoETS(season_length=SEASON).fit(y)
        fit_seconds = time.perf_counter() - t0
        fc = ets.predict(h=HORIZON, level=LEVELS)
        m = ets.model_
        windows.append(
            {
                "train_end": end,
                "actual": floats(actual),
                "seasonal_naive": {"mean": floats(sn["mean"]), "levels": bands(sn)},
                "auto_ets": ets_record(m, fc, fit_seconds),
            }
        )
        alpha, beta, gamma, phi = (scalar(v) for v in m["par"][:4])
        print(
            f"train_end={end}: {m['method']} aicc={m['aicc']:.3f} "
            f"alpha={alpha} beta={beta} gamma={gamma} phi={phi} "
            f"fit {fit_seconds:.2f}s"
        )
    fixed = []
    y = y_all[: TRAIN_ENDS[0]]
    for code, damped in FIXED_MODELS:
        t0 = time.perf_counter()
        ets = AutoETS(season_length=SEASON, model=code, damped=damped).fit(y)
        fit_seconds = time.perf_counter() - t0
        fc = ets.predict(h=HORIZON, level=LEVELS)
        fixed.append(ets_record(ets.model_, fc, fit_seconds))
        print(f"fixed {ets.model_['method']}: loglik={ets.model_['loglik']:.3f} fit {fit_seconds:.2f}s")
    fixture = {
        "source": "tools/reference/statsforecast/make_reference.py",
        "data": "ETTh1.csv column OT (rows counted from 0 after the header)",
        "versions": {
            "python": platform.python_version(),
            "statsforecast": version("statsforecast"),
            "statsmodels": version("statsmodels"),
            "numpy": version("numpy"),
            "pandas": version("pandas"),
        },
        "season_length": SEASON,
        "horizon": HORIZON,
        "levels": LEVELS,
        "windows": windows,
        "fixed_models_train_end": TRAIN_ENDS[0],
        "fixed_models": fixed,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(fixture, indent=1) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
