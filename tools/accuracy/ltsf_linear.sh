#!/usr/bin/env bash
# DLinear and NLinear on ETTh1 OT under the long-horizon protocol (../shared/data/SOURCES.md):
# ETT split (12/4/4 months), H = 96, input 336, errors on the train-standardized scale, every
# test window (2,785 origins, stride 1), against the LTSF-Linear paper's univariate table
# (Zeng et al., 2023: DLinear MSE 0.056 / MAE 0.180, NLinear 0.053 / 0.177) and the random walk.
#
# The paper's recipe: MSE loss, Adam at lr 0.005, batch 32, lr halved every epoch (256 steps of
# 32 windows here), at most 10 epochs with early stopping (patience 3) on the validation months.
#
# Usage: tools/accuracy/ltsf_linear.sh [NT_BINARY] [SEEDS...]   (default: a release build; 1 2 3)
set -euo pipefail
cd "$(dirname "$0")/../.."
NT=${1:-target/release/nt}
shift || true
SEEDS=${*:-1 2 3}
DATA=${NT_SHARED_DATA:-../shared/data}/ETTh1.csv
[ -f "$DATA" ] || { echo "missing $DATA (the shared data folder beside the repository)" >&2; exit 2; }
if [ "$NT" = target/release/nt ] && [ ! -x "$NT" ]; then
  cargo build --release -p nt-cli --locked >&2
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
for model in dlinear nlinear; do
  for seed in $SEEDS; do
    cat > "$WORK/spec.json" <<JSON
{"model": "$model", "train": {"loss": "mse", "lr": 0.005, "windows_batch_size": 32,
 "max_steps": 2560, "num_lr_decays": 10, "val_check_steps": 256, "early_stop_patience": 3,
 "val_fraction": 0.25, "seed": $seed}}
JSON
    "$NT" backtest --data "$DATA" --target OT --horizon 96 --input-size 336 --split ett \
      --scale standardized --models "naive,$model" --config "$WORK/spec.json" --format json \
      > "$WORK/$model-$seed.json"
  done
done
python3 - "$WORK" $SEEDS <<'PY'
import json, sys
work, seeds = sys.argv[1], sys.argv[2:]
paper = {"dlinear": (0.056, 0.180), "nlinear": (0.053, 0.177)}
print("| model | seed | MAE | MSE | paper MAE / MSE | within 5% | skill vs RW | DM p | fit s |")
print("|---|---|---|---|---|---|---|---|---|")
rw = None
for model in ("dlinear", "nlinear"):
    for seed in seeds:
        d = json.load(open(f"{work}/{model}-{seed}.json"))
        by = {m["name"]: m for m in d["pooled"]}
        s, n = by[model]["scores"], by["naive"]["scores"]
        rw = n
        pm, pa = paper[model]
        ok = s["mse"] <= 1.05 * pm and s["mae"] <= 1.05 * pa
        print(f"| {model} | {seed} | {s['mae']:.4f} | {s['mse']:.4f} | {pa} / {pm} | {'yes' if ok else 'no'} "
              f"| {100 * s['skill_mae']:+.1f}% | {s['dm']['p_value']:.3g} | {by[model]['fit_seconds']:.1f} |")
print(f"| random walk | | {rw['mae']:.4f} | {rw['mse']:.4f} | | | | | |")
PY
