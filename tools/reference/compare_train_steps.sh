#!/usr/bin/env bash
# One training step, ours against plain PyTorch, per neural architecture, in one session.
#
# For each architecture: `nt bench --arch ARCH` (its ARCH_train_step cases in f32 and bf16) and
# then tools/reference/train_step_bench.py (neuralforecast's own module: forward, MAE, backward,
# Adam) at the same L, H, batch and thread count. Prints the raw JSON lines, then a table of
# median ms per step and the ratios nt / torch (below 1: nt is faster).
#
#   tools/reference/compare_train_steps.sh                     # every architecture, defaults
#   ARCHS="nhits dlinear" STEPS=5 tools/reference/compare_train_steps.sh
#
# Settings (environment): ARCHS (default: nhits nbeats dlinear nlinear tcn patchtst lstm gru deepar), STEPS timed steps (20),
# THREADS (default: nproc; RAYON_NUM_THREADS for nt, torch.set_num_threads for torch),
# INPUT_SIZE (480), HORIZON (96), WINDOWS (default: each model's own reference batch), NT (default target/release/nt, built when
# missing), PY (default /tmp/nfenv/bin/python; the env is described in train_step_bench.py),
# LD_LIBRARY_PATH (default /tmp/nfstubs when that folder exists: the CUDA stand-ins).
# Run it on a quiet machine; compare ratios, never times from different sessions.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
ARCHS="${ARCHS:-nhits nbeats dlinear nlinear tcn patchtst lstm gru deepar}"
STEPS="${STEPS:-20}"
THREADS="${THREADS:-$(nproc)}"
INPUT_SIZE="${INPUT_SIZE:-480}"
HORIZON="${HORIZON:-96}"
WINDOWS="${WINDOWS:-}"
window_flag=()
[[ -n "$WINDOWS" ]] && window_flag=(--windows-batch-size "$WINDOWS")
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
    # --reps 20 keeps the latency cases that ride along short (compare_inference.sh times them).
    RAYON_NUM_THREADS="$THREADS" "$NT" bench --arch "$arch" --steps "$STEPS" --reps 20 \
        --input-size "$INPUT_SIZE" --horizon "$HORIZON" "${window_flag[@]}" \
        | grep -E '"case":"(cpu|[a-z0-9]+_train_step)"' | tee -a "$out"
    "$PY" "$here/train_step_bench.py" --arch "$arch" --steps "$STEPS" --threads "$THREADS" \
        --input-size "$INPUT_SIZE" --horizon "$HORIZON" "${window_flag[@]}" \
        2>/dev/null | tee -a "$out"
done

python3 - "$out" <<'EOF'
import json, sys

nt, torch, cpu = {}, {}, None
for line in open(sys.argv[1]):
    v = json.loads(line)
    if v.get("case") == "cpu":
        cpu = v
    elif v.get("case", "").endswith("_train_step"):
        nt[(v["arch"], v["precision"])] = v
    elif v.get("bench") == "torch_train_step":
        torch[v["arch"]] = v

def ms(v):
    return f"{v['median_ms']:.1f}" if v and v.get("median_ms") is not None else "-"

def ratio(a, b):
    if not a or not b or a.get("median_ms") is None or not b.get("median_ms"):
        return "-"
    return f"{a['median_ms'] / b['median_ms']:.2f}"

if cpu:
    print(f"\ncpu: {cpu.get('model')}; features: {cpu['features']}; threads: {cpu['threads']}")
print(f"{'arch':8} {'params':>9} {'nt f32 ms':>10} {'nt bf16 ms':>11} {'bf16 ran':>8} "
      f"{'torch ms':>9} {'f32/torch':>9} {'bf16/torch':>10} {'bf16/f32':>8}")
notes = []
for arch in dict.fromkeys([a for a, _ in nt] + list(torch)):
    f, b, t = nt.get((arch, "f32")), nt.get((arch, "bf16")), torch.get(arch)
    params = (f or {}).get("parameters")
    if f and t and params != t["parameters"]:
        notes.append(f"{arch}: nt has {params} parameters, torch {t['parameters']}: not the same model")
    ran = b["engine"]["precision"] if b else "-"
    for v in (f, b):
        if v and v["engine"].get("note"):
            notes.append(f"{arch} {v['precision']}: {v['engine']['note']}")
    print(f"{arch:8} {params if params is not None else '-':>9} {ms(f):>10} {ms(b):>11} {ran:>8} "
          f"{ms(t):>9} {ratio(f, t):>9} {ratio(b, t):>10} {ratio(b, f):>8}")
for n in notes:
    print("note:", n)
EOF
