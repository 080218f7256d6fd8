"""Reference fits of statsforecast 2.1.1's ARIMA and AutoARIMA for nt-classical's parity tests.

Writes crates/nt-classical/tests/fixtures/statsforecast_arima.json: for each case the data
slice, the selected orders (arma = p, q, P, Q, s, d, D), coefficients, sigma2, loglik, AIC,
AICc, BIC, the H-step forecast and its 80/95 intervals, and for `forward` cases the forecast
from a longer history with the fitted coefficients (statsforecast's forward_arima).
"""
import json
import os
import sys
import time

import numpy as np
import pandas as pd
from statsforecast.arima import Arima, auto_arima_f, forecast_arima, forward_arima

ROOT = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(ROOT, "..", "..", ".."))
ETTH1 = os.environ.get("ETTH1", os.path.join(REPO, "..", "shared", "data", "ETTh1.csv"))
GOOG = os.environ.get("GOOG", os.path.join(REPO, "..", "shared", "data", "GOOG.csv"))
OUT = os.path.join(REPO, "crates", "nt-classical", "tests", "fixtures", "statsforecast_arima.json")
H = 24
LEVELS = [80, 95]


def summary(fit, y, forward_y=None):
    fc = forecast_arima(fit, h=H, level=LEVELS)
    out = {
        "arma": [int(v) for v in fit["arma"]],
        "coef_names": list(fit["coef"].keys()),
        "coef": [float(v) for v in fit["coef"].values()],
        "sigma2": float(fit["sigma2"]),
        "loglik": float(fit["loglik"]),
        "aic": float(fit["aic"]),
        "aicc": float(fit["aicc"]),
        "bic": float(fit["bic"]),
        "mean": fc["mean"].tolist(),
        "lower": {str(l): fc["lower"][f"{l}%"].tolist() for l in LEVELS},
        "upper": {str(l): fc["upper"][f"{l}%"].tolist() for l in LEVELS},
    }
    if forward_y is not None:
        fw = forward_arima(fit, forward_y)
        ff = forecast_arima(fw, h=H, level=LEVELS)
        out["forward"] = {
            "mean": ff["mean"].tolist(),
            "lower": {str(l): ff["lower"][f"{l}%"].tolist() for l in LEVELS},
            "upper": {str(l): ff["upper"][f"{l}%"].tolist() for l in LEVELS},
        }
    return out


def main():
    ot = pd.read_csv(ETTH1)["OT"].to_numpy(dtype=np.float64)
    goog = pd.read_csv(GOOG)["Close"].to_numpy(dtype=np.float64)
    cases = []

    def fixed(name, series, lo, hi, order, seasonal=(0, 0, 0), period=1, mean=True,
              drift=False, forward_hi=None):
        y = series[lo:hi]
        t0 = time.perf_counter()
        fit = Arima(y, order=order, seasonal={"order": seasonal, "period": period},
                    include_mean=mean, include_drift=drift, method="CSS-ML")
        dt = time.perf_counter() - t0
        fwd = series[lo:forward_hi] if forward_hi else None
        case = {"name": name, "kind": "fixed", "series": "ETTh1 OT" if series is ot else "GOOG Close",
                "rows": [lo, hi], "order": list(order), "seasonal_order": list(seasonal),
                "season_length": period, "include_mean": mean, "include_drift": drift,
                "y": y.tolist(), "forward_y": fwd.tolist() if fwd is not None else None,
                **summary(fit, y, fwd)}
        print(f"{name}: {fit['coef']} ({dt:.2f}s)", file=sys.stderr)
        cases.append(case)

    def auto(name, series, lo, hi, period, forward_hi=None):
        y = series[lo:hi]
        t0 = time.perf_counter()
        fit = auto_arima_f(y, period=period)
        dt = time.perf_counter() - t0
        fwd = series[lo:forward_hi] if forward_hi else None
        case = {"name": name, "kind": "auto", "series": "ETTh1 OT" if series is ot else "GOOG Close",
                "rows": [lo, hi], "season_length": period, "y": y.tolist(),
                "forward_y": fwd.tolist() if fwd is not None else None, "seconds": dt,
                **summary(fit, y, fwd)}
        print(f"{name}: arma {fit['arma']} {fit['coef']} ({dt:.2f}s)", file=sys.stderr)
        cases.append(case)

    which = sys.argv[1:] or ["fixed", "auto"]
    if "fixed" in which:
        fixed("arima111_ot", ot, 0, 1000, (1, 1, 1), forward_hi=1100)
        fixed("arima201_mean_ot", ot, 0, 1000, (2, 0, 1), forward_hi=1100)
        fixed("sarima100_110_24_ot", ot, 0, 720, (1, 0, 0), (1, 1, 0), 24, forward_hi=800)
        fixed("arima011_drift_goog", goog, 0, 800, (0, 1, 1), drift=True, forward_hi=900)
    if "auto" in which:
        auto("auto_goog", goog, 0, 800, 1, forward_hi=900)
        auto("auto_ot_1344_s24", ot, 0, 1344, 24, forward_hi=1440)
    with open(OUT, "w") as f:
        json.dump({"statsforecast": "2.1.1", "h": H, "levels": LEVELS, "cases": cases}, f)
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
