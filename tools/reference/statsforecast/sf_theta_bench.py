"""statsforecast's Theta family on the anchor protocol (../shared/anchors/common.py), for the
numbers beside `nt backtest --split ett --scale standardized`.

A trimmed copy of ../shared/anchors/sf_bench.py with the four Theta models: each is fitted once
on the raw values of all rows before the first test cutoff, then rolled forward with
cross_validation(refit=False) (statsforecast's `forward`: the fitted parameters, state and
decomposition recomputed on each longer history); errors are standardized by the train std.

statsforecast's Theta filter is quadratic in the history length (each row's multi-step
forecast copies every earlier state), so every window costs a full O(n²) pass on ~11,500
rows: the windows are capped (--max-windows 19 gives 18 windows at stride 155). statsforecast
anchors them at the end of the test segment, `nt backtest --windows 18 --step 155` at its
start (cutoffs 11519, 11674, ..., 14154); --trim-tail 149 (the default) drops the last 149 rows
so that statsforecast's cutoffs are nt's. Compare with
`nt backtest ... --split ett --scale standardized --windows 18 --step 155`. Prints one JSON
line.

    /tmp/sfvenv/bin/python tools/reference/statsforecast/sf_theta_bench.py --csv ../shared/data/ETTh1.csv --target OT

Measured 2026-12-02, MAE (standardized) statsforecast / nt on the same 18 cutoffs: naive
0.220764 / 0.220764, theta 0.228255 / 0.228255, optimized-theta 0.227030 / 0.227030,
dynamic-theta 0.228269 / 0.228269, dynamic-optimized-theta 0.227873 / 0.227873;
statsforecast 26-34 s per model, nt 0.4-0.8 s (fit + 18 forecasts).
"""
import argparse
import json
import math
import os
import sys
import time
import warnings

ROOT = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.environ.get("ANCHORS", os.path.join(ROOT, "..", "..", "..", "..", "shared", "anchors")))
import common  # noqa: E402

warnings.filterwarnings("ignore")
os.environ.setdefault("NIXTLA_ID_AS_COL", "1")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--csv", required=True)
    ap.add_argument("--target", default="OT")
    ap.add_argument("--horizon", type=int, default=96)
    ap.add_argument("--season", type=int, default=24)
    ap.add_argument("--models", default="theta,optimized-theta,dynamic-theta,dynamic-optimized-theta")
    ap.add_argument("--max-windows", type=int, default=19)
    ap.add_argument("--trim-tail", type=int, default=149)
    args = ap.parse_args()

    from statsforecast import StatsForecast
    from statsforecast.models import DynamicOptimizedTheta, DynamicTheta, Naive, OptimizedTheta, Theta

    H = args.horizon
    d = common.load(args.csv, args.target, "ett_hour")
    df = common.long_df(d["raw"], d["cols"])
    std = dict(zip(d["cols"], d["std"]))
    makers = {
        "naive": lambda: Naive(),
        "theta": lambda: Theta(season_length=args.season),
        "optimized-theta": lambda: OptimizedTheta(season_length=args.season),
        "dynamic-theta": lambda: DynamicTheta(season_length=args.season),
        "dynamic-optimized-theta": lambda: DynamicOptimizedTheta(season_length=args.season),
    }
    if args.trim_tail:
        df = df.groupby("unique_id", group_keys=False).apply(lambda g: g.iloc[: len(g) - args.trim_tail])
    span = d["n_test"] - H
    step = max(1, math.ceil(span / (args.max_windows - 1)))
    n_windows = span // step + 1
    if args.trim_tail:
        n_windows = (span - args.trim_tail) // step + 1
    results = {}
    for name in ["naive"] + args.models.split(","):
        sf = StatsForecast(models=[makers[name]()], freq=1, n_jobs=1)
        t0 = time.perf_counter()
        cv = sf.cross_validation(df=df, h=H, n_windows=n_windows, step_size=step, refit=False)
        secs = time.perf_counter() - t0
        col = [c for c in cv.columns if c not in ("unique_id", "ds", "cutoff", "y")][0]
        s = cv["unique_id"].map(std).to_numpy()
        mae, mse = common.metrics(cv["y"].to_numpy() / s, cv[col].to_numpy() / s)
        results[name] = {"test_mae": round(mae, 6), "test_mse": round(mse, 6),
                         "seconds": round(secs, 2), "first_cutoff": int(cv["cutoff"].min()),
                         "last_cutoff": int(cv["cutoff"].max())}
        print(name, results[name], file=sys.stderr, flush=True)
    base = results["naive"]["test_mae"]
    for r in results.values():
        r["skill_mae"] = round(1 - r["test_mae"] / base, 6)
    print(json.dumps({"bench": "sf_theta", "horizon": H, "season_length": args.season,
                      "eval_step": step, "windows": n_windows, "results": results,
                      "versions": common.versions()}))


if __name__ == "__main__":
    main()
