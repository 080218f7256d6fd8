"""Fit + forecast time of the Theta models: statsforecast 2.1.1 against `nt`, in one run.

Data: ETTh1 `OT`, rows [0, 1344), season 24 (the seasonality test fires, so the
decomposition is part of the work), horizon 24, levels 80 and 95.

For each model, the median of RUNS runs of
* statsforecast: `Model(season_length=24).fit(y)` then `.predict(h=24, level=[80, 95])`;
* nt, in-process: `nt backtest --split rolling --windows 1` on rows [0, 1368) fits once on
  the first 1344 rows and forecasts the next 24; its JSON reports `fit_seconds` and
  `predict_seconds` measured inside the process (fit + forecast, as for statsforecast);
* nt, end to end: wall time of `nt forecast` on the 1344 rows (process start, CSV read, fit,
  forecast, JSON out).

Usage (from the repository root; builds nothing, uses target/release/nt unless NT=...):

    cargo build --release -p nt-cli
    /tmp/sfvenv/bin/python tools/bench/theta_speed.py

Prints one table; nothing is asserted (a benchmark, not a test).

Measured 2026-12-02 (2 shared cores, load ~0.2, release build at 324f887; seconds, statsforecast /
nt in-process / ratio / nt forecast wall): theta 0.169 / 0.0076 / 0.045 / 0.013,
optimized-theta 0.093 / 0.0040 / 0.043 / 0.008, dynamic-theta 0.190 / 0.0121 / 0.064 / 0.018,
dynamic-optimized-theta 0.103 / 0.0065 / 0.063 / 0.011.
"""

import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from statsforecast.models import DynamicOptimizedTheta, DynamicTheta, OptimizedTheta, Theta

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("ETTH1", ROOT.parent / "shared" / "data" / "ETTh1.csv"))
NT = os.environ.get("NT", str(ROOT / "target" / "release" / "nt"))
RUNS = int(os.environ.get("RUNS", "7"))
ROWS, H, SEASON = 1344, 24, 24
MODELS = [
    ("theta", Theta),
    ("optimized-theta", OptimizedTheta),
    ("dynamic-theta", DynamicTheta),
    ("dynamic-optimized-theta", DynamicOptimizedTheta),
]


def sf_time(cls, y):
    times = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        m = cls(season_length=SEASON).fit(y)
        m.predict(h=H, level=[80, 95])
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def nt_inprocess(name, csv):
    times = []
    for _ in range(RUNS):
        out = subprocess.run(
            [NT, "backtest", "--data", csv, "--target", "OT", "--models", name, "-H", str(H),
             "--season", str(SEASON), "--split", "rolling", "--windows", "1", "--format", "json",
             "--quiet"],
            check=True, capture_output=True, text=True,
        ).stdout
        doc = json.loads(out)
        rec = next(m for m in doc["targets"][0]["models"] if m["name"] == name)
        times.append(rec["fit_seconds"] + rec["predict_seconds"])
    return statistics.median(times)


def nt_wall(name, csv):
    times = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        subprocess.run(
            [NT, "forecast", "--data", csv, "--target", "OT", "--model", name, "-H", str(H),
             "--season", str(SEASON), "--format", "json"],
            check=True, capture_output=True,
        )
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    frame = pd.read_csv(DATA)[["date", "OT"]]
    y = frame["OT"].to_numpy(dtype=np.float64)[:ROWS]
    with tempfile.TemporaryDirectory() as tmp:
        fit_csv = os.path.join(tmp, "fit.csv")
        bt_csv = os.path.join(tmp, "bt.csv")
        frame.iloc[:ROWS].to_csv(fit_csv, index=False)
        frame.iloc[: ROWS + H].to_csv(bt_csv, index=False)
        print(f"ETTh1 OT rows [0, {ROWS}), season {SEASON}, h {H}, levels 80/95; medians of {RUNS} runs")
        print(f"{'model':<25} {'statsforecast s':>16} {'nt in-process s':>16} {'ratio':>7} {'nt forecast wall s':>19}")
        for name, cls in MODELS:
            sf = sf_time(cls, y)
            ours = nt_inprocess(name, bt_csv)
            wall = nt_wall(name, fit_csv)
            print(f"{name:<25} {sf:>16.5f} {ours:>16.5f} {ours / sf:>7.3f} {wall:>19.4f}")


if __name__ == "__main__":
    main()
