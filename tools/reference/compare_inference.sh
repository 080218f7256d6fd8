#!/usr/bin/env bash
# Inference, ours against eager PyTorch, per neural architecture, in one session.
#
# For each architecture: `nt bench --arch ARCH --steps 1` (its size, predict_single, forward and
# batch cases) and then tools/reference/forward_bench.py (neuralforecast's own module in eval
# mode, no_grad) at the same L, H and thread count. Prints the raw JSON lines, then a table of
# median ms at batch 1, 32 and 1,024 and the ratios nt / torch (below 1: nt is faster). nt's
# batch cases go through `forecast_windows` (scaling, the fast CPU path where the architecture
# has one), so they include work torch's bare forward does not do.
#
#   tools/reference/compare_inference.sh                   # every architecture, defaults
#   ARCHS="tcn patchtst" tools/reference/compare_inference.sh
#
# Settings (environment): ARCHS (default: nhits nbeats dlinear nlinear tcn patchtst lstm gru deepar), REPS (200),
# THREADS (default: nproc), INPUT_SIZE (480), HORIZON (96), NT (default target/release/nt, built
# when missing), PY (default /tmp/nfenv/bin/python), LD_LIBRARY_PATH (default /tmp/nfstubs when
# that folder exists). Run it on a quiet machine; compare ratios, never times from different
# sessions.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
ARCHS="${ARCHS:-nhits nbeats dlinear nlinear tcn patchtst lstm gru deepar}"
REPS="${REPS:-200}"
THREADS="${THREADS:-$(nproc)}"
INPUT_SIZE="${INPUT_SIZE:-480}"
HORIZON="${HORIZON:-96}"
NT="${NT:-$root/target/release/nt}"
PY="${PY:-/tmp/nfenv/bin/python}"
if [[ -z "${LD_LIBRARY_PATH:-}" && -d /tmp/nfstubs ]]; then
    export LD_LIBRARY_PATH=/tmp/nfstubs
fi
if [[ ! -x "$NT" ]]; then
    echo "building $NT (cargo build --release -p nt-cli)" >&2
    (cd "$root" && cargo build --release -p nt-cli >&2)
fi
if ! "$PY" -c "import torch, neuralforecast" 2>/dev/null; then
    echo "error: $PY cannot import torch and neuralforecast; see the docstring of $here/train_step_bench.py for the environment (set PY=...)" >&2
    exit 2
fi

out="$(mktemp)"
trap 'rm -f "$out"' EXIT
for arch in $ARCHS; do
    echo "== $arch" >&2
    RAYON_NUM_THREADS="$THREADS" "$NT" bench --arch "$arch" --steps 1 --reps "$REPS" \
        --input-size "$INPUT_SIZE" --horizon "$HORIZON" \
        | grep -E '"case":"(cpu|[a-z0-9]+_(size|predict_single|forward_candle|batch))"' | tee -a "$out"
    (cd "$here" && "$PY" forward_bench.py --arch "$arch" --reps "$REPS" --threads "$THREADS" \
        --input-size "$INPUT_SIZE" --horizon "$HORIZON" 2>/dev/null) | tee -a "$out"
done

python3 - "$out" <<'PY'
import json, sys

nt, torch, cpu = {}, {}, None
for line in open(sys.argv[1]):
    v = json.loads(line)
    c = v.get("case", "")
    if c == "cpu":
        cpu = v
    elif c.endswith("_batch"):
        nt.setdefault(v["arch"], {})[str(v["batch"])] = v["median_ms"]
    elif c.endswith("_predict_single") and v["precision"] == "f32":
        nt.setdefault(v["arch"], {})["predict"] = v["median_us"] / 1e3
    elif c.endswith("_forward_candle"):
        nt.setdefault(v["arch"], {})["candle"] = v["median_us"] / 1e3
    elif c.endswith("_size"):
        nt.setdefault(v["arch"], {})["params"] = v["parameters"]
        nt[v["arch"]]["fast"] = v.get("fast_path")
    elif v.get("bench") == "torch_forward":
        torch[v["arch"]] = v

if cpu:
    print(f"\ncpu: {cpu.get('model')}; features: {cpu['features']}; threads: {cpu['threads']}")
print("| arch | params (nt / torch) | fast path | nt predict 1 ms | nt candle 1 ms | "
      "nt 1 / 32 / 1024 ms | torch 1 / 32 / 1024 ms | nt/torch at 1 / 32 / 1024 |")
print("|---|---|---|---|---|---|---|---|")
for arch in dict.fromkeys(list(nt) + list(torch)):
    n, t = nt.get(arch, {}), torch.get(arch)
    tb = (t or {}).get("batches", {})
    def f(x):
        return "-" if x is None else f"{x:.3f}"
    ours = " / ".join(f(n.get(b)) for b in ("1", "32", "1024"))
    theirs = " / ".join(f(tb.get(b, {}).get("median_ms")) for b in ("1", "32", "1024"))
    ratios = " / ".join(
        f"{n[b] / tb[b]['median_ms']:.2f}" if n.get(b) and tb.get(b) else "-"
        for b in ("1", "32", "1024"))
    print(f"| {arch} | {n.get('params', '-')} / {(t or {}).get('parameters', '-')} | "
          f"{n.get('fast', '-')} | {f(n.get('predict'))} | {f(n.get('candle'))} | {ours} | "
          f"{theirs} | {ratios} |")
PY
