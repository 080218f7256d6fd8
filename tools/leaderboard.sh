#!/usr/bin/env bash
# The README's leaderboard: every model on ETTh1 (OT, H 96, the long-horizon protocol of
# ../shared/data/SOURCES.md: ETT split, z-scored with the train rows, every test origin) and on
# GOOG (Close, H 5, daily: 70/10/20 split, z-scored, every test origin), with skill against the
# random walk, the Diebold–Mariano p-value against it, the verdict (beats needs MAE skill of at
# least 1% and DM p < 0.05), training seconds and the command that reproduces each line.
#
# Each model is backtested beside `naive` in its own `nt backtest` call (the same origins and the
# same random walk every time), so one model's settings never change another's. Neural models use
# their own defaults (`nt train --help`) except the step budget: `--max-steps $STEPS` (default
# 300; early stopping as their defaults say), input 336 on ETTh1 (the PatchTST/LTSF-Linear input;
# NHITS's own default would be 5·H) and the CLI's default 5·H = 25 on GOOG. One more exception:
# DeepAR trains on 128 windows a step instead of its 1,024 (`--windows-batch-size 128`), which
# keeps its 300 steps at about the other recurrent models' cost (1,024 windows of 337 steps cost
# about 8 s a step on two cores); its forecasts are the mean and quantiles of 100 sample paths
# per origin, and its line adds the 80% band's coverage and the CRPS of the paths.
#
# A new model adds its name to MODELS below; nothing else changes.
#
# Usage: tools/leaderboard.sh [NT_BINARY]   (default: a release build)
#        STEPS=1000 SEED=2 MODELS="naive ets dlinear" tools/leaderboard.sh
#        KEEP=results/ RUN_ONLY=goog tools/leaderboard.sh   (one data set only)
#        KEEP=results/ tools/leaderboard.sh   (keeps each backtest's JSON and command in KEEP and
#                                              reuses the ones already there: delete a model's
#                                              files to rerun it)
set -euo pipefail
cd "$(dirname "$0")/.."
NT=${1:-target/release/nt}
STEPS=${STEPS:-300}
SEED=${SEED:-1}
MODELS=${MODELS:-"naive ets mstl autoarima theta optimized-theta dynamic-theta dynamic-optimized-theta dlinear nlinear nhits nbeats tcn patchtst lstm gru deepar"}
SHARED=${NT_SHARED_DATA:-../shared/data}
for f in ETTh1.csv GOOG.csv; do
  [ -f "$SHARED/$f" ] || { echo "missing $SHARED/$f (the shared data folder beside the repository)" >&2; exit 2; }
done
if [ "$NT" = target/release/nt ] && [ ! -x "$NT" ]; then
  cargo build --release -p nt-cli --locked >&2
fi
if [ -n "${KEEP:-}" ]; then
  mkdir -p "$KEEP"
  WORK=$KEEP
else
  WORK=$(mktemp -d)
  trap 'rm -rf "$WORK"' EXIT
fi

neural() { case "${1%%+*}" in naive|seasonal-naive|drift|mean|ets|mstl|elasticnet|arima|autoarima|theta|optimized-theta|dynamic-theta|dynamic-optimized-theta|garch|gjr-garch) return 1;; esac; }

run() { # dataset model args...
  local ds=$1 model=$2; shift 2
  local models=naive
  [ "$model" != naive ] && models="naive,$model"
  local cmd=("$NT" backtest "$@" --models "$models" --format json --quiet)
  if neural "$model"; then
    cmd+=(--max-steps "$STEPS" --seed "$SEED")
  else
    # Classical fits are cheap: score their own and the conformal intervals side by side (one
    # more fit, on the train rows, calibrates on the validation segment).
    cmd+=(--intervals model,conformal)
  fi
  if [ "$model" = deepar ]; then cmd+=(--windows-batch-size 128); fi
  if [ -n "${KEEP:-}" ] && [ -s "$WORK/$ds-$model.json" ]; then
    echo "== $ds $model: reusing $WORK/$ds-$model.json" >&2
    return
  fi
  echo "== $ds $model" >&2
  # The command as a user types it: `nt` for the binary, the shared folder as ../shared/data.
  echo "nt ${cmd[*]:1}" | sed "s|$SHARED|../shared/data|g" > "$WORK/$ds-$model.cmd"
  "${cmd[@]}" > "$WORK/$ds-$model.json.tmp"
  mv "$WORK/$ds-$model.json.tmp" "$WORK/$ds-$model.json"
}

# RUN_ONLY=goog (or etth1) runs one data set's backtests and stops (with KEEP, to fill a
# results folder in the order you choose); the table needs both.
for model in $MODELS; do
  [ "${RUN_ONLY:-etth1}" = etth1 ] || break
  run etth1 "$model" --data "$SHARED/ETTh1.csv" --target OT --horizon 96 --input-size 336 \
    --season 24 --split ett --scale standardized
done
for model in $MODELS; do
  [ "${RUN_ONLY:-goog}" = goog ] || break
  run goog "$model" --data "$SHARED/GOOG.csv" --target Close --horizon 5 --season 5 \
    --split ratio --scale standardized
done
[ -z "${RUN_ONLY:-}" ] || exit 0

python3 - "$WORK" "$STEPS" "$SEED" $MODELS <<'PY'
import json, sys
work, steps, seed, models = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
titles = {"etth1": "ETTh1 OT, H 96 (ETT split, standardized, 2,785 origins)",
          "goog": "GOOG Close, H 5 (daily, 70/10/20 split, standardized)"}
for ds in ("etth1", "goog"):
    print(f"\n**{titles[ds]}**; neural models: {steps} steps, seed {seed}\n")
    print("| model | MAE | MSE | skill vs RW (MAE) | DM p | verdict | fit s |")
    print("|---|---|---|---|---|---|---|")
    rows = []
    for m in models:
        d = json.load(open(f"{work}/{ds}-{m}.json"))
        by = {p["name"]: p for p in d["pooled"]}
        p = by[m]
        if p.get("error"):
            rows.append((float("inf"), f"| {m} | failed: {p['error']} | | | | | |"))
            continue
        s = p["scores"]
        verdict = "random walk" if m == "naive" else d["verdicts"].get(m, "-")
        mark = "" if m == "naive" or verdict == "beats" else " ✗"
        dm = "" if m == "naive" else f"{s['dm']['p_value']:.3g}"
        skill = "0 (baseline)" if m == "naive" else f"{100 * s['skill_mae']:+.1f}%"
        rows.append((s["mae"], f"| {m}{mark} | {s['mae']:.4f} | {s['mse']:.4f} | {skill} | {dm} "
                               f"| {verdict} | {p['fit_seconds']:.1f} |"))
    for _, r in sorted(rows, key=lambda r: r[0]):
        print(r)
    for m in models:
        p = {q["name"]: q for q in json.load(open(f"{work}/{ds}-{m}.json"))["pooled"]}[m]
        s = p.get("scores") or {}
        if s.get("crps") is None:
            continue
        bands = ", ".join(f"the {100 * i['level']:.0f}% band covers {100 * i['coverage']:.1f}%"
                          for i in s.get("intervals", []))
        print(f"\n{m}: CRPS of the sample paths {s['crps']:.4f} (MAE of their mean {s['mae']:.4f})"
              + (f"; {bands} of the test points." if bands else "."))
    cal = []
    for m in models:
        p = {q["name"]: q for q in json.load(open(f"{work}/{ds}-{m}.json"))["pooled"]}[m]
        conf = p.get("conformal") or {}
        own = {round(i["level"], 6): i for i in (p.get("scores") or {}).get("intervals", [])}
        for c in conf.get("intervals", []):
            o = own.get(round(c["level"], 6))
            cal.append(f"| {m} | {100 * c['level']:.0f}% | "
                       + (f"{100 * o['coverage']:.1f}% | {o['width']:.3f}" if o else "– | –")
                       + f" | {100 * c['coverage']:.1f}% | {c['width']:.3f} |")
    if cal:
        print("\nIntervals: each model's own against split-conformal (`--intervals model,conformal`:"
              " residuals of the validation segment, then of each test origin once its actual is"
              " known); coverage of the test points and mean width, standardized units.\n")
        print("| model | level | own coverage | own width | conformal coverage | conformal width |")
        print("|---|---|---|---|---|---|")
        print("\n".join(cal))
    beats = [m for m in models if m != "naive"
             and json.load(open(f"{work}/{ds}-{m}.json"))["verdicts"].get(m) == "beats"]
    print("\n✗: does not beat the random walk. " + (
        f"Beat it: {', '.join(beats)}." if beats else "No model beats the random walk here."))
print("\nReproduce a line (each model beside naive, in its own call):\n")
print("```")
for ds in ("etth1", "goog"):
    for m in models:
        print(open(f"{work}/{ds}-{m}.cmd").read().strip())
print("```")
PY
