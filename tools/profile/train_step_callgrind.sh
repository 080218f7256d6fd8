#!/usr/bin/env bash
# Instruction-count profile of one NHITS training step, by valgrind's callgrind: repeatable
# on noisy shared machines (it counts instructions, not seconds), and it sees every thread.
#
# One step's cost is the difference between a run of STEPS+1 steps and a run of 1 step (setup,
# data loading and saving cancel out), per function; the functions are then grouped into the
# categories of issue 11's breakdown (gemm matmuls, candle's elementwise/backward ops, memory
# copies and fills, allocation, the optimizer, the native engine's own kernels).
#
#   tools/profile/train_step_callgrind.sh                # target/release/nt, native engine
#   NT_TRAIN_ENGINE=candle tools/profile/train_step_callgrind.sh   # candle's autograd
#   NT_BIN=/path/to/nt WINDOWS=1024 STEPS=1 tools/profile/train_step_callgrind.sh
#
# Defaults: default NHITS at L 480, H 96 on ETTh1 OT, 256 windows per step (a quarter of the
# reference batch, so that a run takes minutes under valgrind; the shares hardly move with the
# batch, since every large op scales with it). Needs valgrind and python3.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${NT_BIN:-target/release/nt}
DATA=${DATA:-../shared/data/ETTh1.csv}
WINDOWS=${WINDOWS:-256}
STEPS=${STEPS:-1}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

run() { # $1 = steps, $2 = callgrind output
  valgrind --tool=callgrind --callgrind-out-file="$2" "$BIN" train --data "$DATA" --target OT \
    --model nhits --input-size 480 --horizon 96 --max-steps "$1" --windows-batch-size "$WINDOWS" \
    --val-check-steps 100000 --out "$WORK/model-$1" --quiet > /dev/null 2> "$2.log"
}
run 1 "$WORK/one.out"
run $((STEPS + 1)) "$WORK/more.out"
for f in one more; do
  callgrind_annotate --threshold=100 "$WORK/$f.out" > "$WORK/$f.txt" 2>/dev/null
done
python3 - "$WORK/one.txt" "$WORK/more.txt" "$STEPS" "$WINDOWS" "${NT_TRAIN_ENGINE:-native}" <<'PY'
import re, sys, json
def parse(path):
    out = {}
    for line in open(path, errors="replace"):
        m = re.match(r"\s*([\d,]+)\s+\([^)]*\)\s+(.*)$", line)
        if m and ":" in m.group(2):
            out[m.group(2).strip()] = out.get(m.group(2).strip(), 0) + int(m.group(1).replace(",", ""))
    return out
one, more = parse(sys.argv[1]), parse(sys.argv[2])
steps = int(sys.argv[3])
per = {k: (more.get(k, 0) - one.get(k, 0)) / steps for k in set(one) | set(more)}
cats = [
    ("gemm matmul kernels", r"gemm"),
    ("native engine kernels (ops, pooling, heads, loss)", r"nt_neural::engine::(ops|stack|loss|linear|mlp)"),
    ("optimizer (Adam)", r"adam|Adam|optim"),
    ("window sampling and packing", r"trainer.*(sample|pack)|pack_window|scalers|rng"),
    ("candle CPU ops (elementwise, reductions, copies)", r"candle_core::(cpu_backend|cpu|strided|op|tensor|shape|layout|storage|backprop)"),
    ("memory copies and fills", r"mem(cpy|move|set)|__memcpy|__memset|_copy_"),
    ("allocation", r"malloc|free|realloc|alloc::|_int_|calloc|mmap|munmap"),
    ("rayon scheduling", r"rayon|crossbeam"),
]
tot = sum(v for v in per.values() if v > 0)
groups = {c: 0.0 for c, _ in cats}; groups["other"] = 0.0
for k, v in per.items():
    if v <= 0: continue
    for c, pat in cats:
        if re.search(pat, k):
            groups[c] += v; break
    else:
        groups["other"] += v
print(json.dumps({"profile": "nhits_train_step_callgrind", "engine": sys.argv[5], "windows": int(sys.argv[4]),
    "instructions_per_step": round(tot), "share": {c: round(v / tot, 4) for c, v in sorted(groups.items(), key=lambda x: -x[1])}}))
top = sorted(per.items(), key=lambda x: -x[1])[:15]
for k, v in top:
    print(f"{v / tot:7.2%}  {v:16,.0f}  {k[:150]}")
PY
