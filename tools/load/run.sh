#!/usr/bin/env bash
# Load benchmark of `nt serve`: builds release, trains a default-size NHITS (input 480,
# horizon 96; a few steps: the weights' values do not matter for latency), registers and
# promotes it, serves it on loopback and drives POST /v1/models/load/predict with wrk at
# concurrency 1, 16 and 64. Prints one JSON object per concurrency, then a summary array.
#
# Usage: tools/load/run.sh [SECONDS_PER_LEVEL (default 10)] [extra `nt serve` flags...]
# Env: NT_LOAD_DATA (default /work/shared/data/ETTh1.csv or ../shared/data/ETTh1.csv),
#      NT_LOAD_LEVELS (default "1 16 64"), NT_LOAD_PORT (default 18080), NT_BIN (skip the build),
#      NT_LOAD_TIMESTAMPS=1 (send the history's timestamps, so every logged forecast carries the
#      step timestamps live scoring matches actuals against; compare with `--no-forecast-log`).
set -euo pipefail
cd "$(dirname "$0")/../.."
secs="${1:-10}"
shift || true
levels="${NT_LOAD_LEVELS:-1 16 64}"
port="${NT_LOAD_PORT:-18080}"
data="${NT_LOAD_DATA:-}"
for cand in "$data" ../shared/data/ETTh1.csv /work/shared/data/ETTh1.csv; do
  if [[ -n "$cand" && -f "$cand" ]]; then data="$cand"; break; fi
done
[[ -f "$data" ]] || { echo "no data file (set NT_LOAD_DATA)" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk not found: apt-get install -y wrk" >&2; exit 2; }

if [[ -z "${NT_BIN:-}" ]]; then
  cargo build --release -p nt-cli --bin nt >&2
  NT_BIN=target/release/nt
fi
work="$(mktemp -d)"
server=""
cleanup() {
  if [[ -n "$server" ]]; then kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$NT_BIN" train --data "$data" --target OT --model nhits --input-size 480 --horizon 96 \
  --max-steps 3 --windows-batch-size 64 --out "$work/model" --quiet \
  --register load --registry "$work/reg" >&2
"$NT_BIN" registry --registry "$work/reg" promote load@1 >&2

python3 - "$data" "$work/body.json" <<'PY'
import csv, json, os, sys
rows = list(csv.DictReader(open(sys.argv[1])))
values = [float(r["OT"]) for r in rows[-480:]]
history = {"values": values}
if os.environ.get("NT_LOAD_TIMESTAMPS") == "1":
    from datetime import datetime, timezone
    history["timestamps"] = [
        int(datetime.fromisoformat(r["date"]).replace(tzinfo=timezone.utc).timestamp() * 1000)
        for r in rows[-480:]]
json.dump({"history": history}, open(sys.argv[2], "w"))
PY

RUST_LOG=warn "$NT_BIN" serve --registry "$work/reg" --addr "127.0.0.1:$port" "$@" 2>"$work/server.log" &
server=$!
url="http://127.0.0.1:$port"
for _ in $(seq 1 200); do
  if python3 -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('$url/ready').status==200 else 1)" 2>/dev/null; then break; fi
  sleep 0.1
done
python3 - "$url" "$work/body.json" <<'PY'
import json, sys, urllib.request
req = urllib.request.Request(sys.argv[1] + "/v1/models/load/predict", data=open(sys.argv[2], "rb").read(),
                             headers={"content-type": "application/json"})
r = json.load(urllib.request.urlopen(req))
assert len(r["point"]) == 96, r
print(f"warm-up predict ok: version {r['version']}, {len(r['point'])} steps", file=sys.stderr)
PY

export NT_LOAD_BODY="$work/body.json"
results=()
for c in $levels; do
  threads=$(( c < 2 ? 1 : 2 ))
  # A short warm-up at this concurrency, then the measured run.
  wrk -t"$threads" -c"$c" -d1s -s tools/load/post.lua "$url/v1/models/load/predict" >/dev/null
  load_before=$(cut -d' ' -f1 /proc/loadavg)
  line=$(wrk -t"$threads" -c"$c" -d"${secs}s" -s tools/load/post.lua "$url/v1/models/load/predict" | grep '^{')
  out=$(python3 - "$c" "$load_before" "$line" <<'PY'
import json, sys
c, load, r = int(sys.argv[1]), float(sys.argv[2]), json.loads(sys.argv[3])
secs = r["duration_us"] / 1e6
print(json.dumps({"concurrency": c, "req_per_s": round(r["requests"] / secs, 1),
                  "p50_ms": r["p50_us"] / 1000, "p90_ms": r["p90_us"] / 1000, "p99_ms": r["p99_us"] / 1000,
                  "max_ms": r["max_us"] / 1000, "requests": r["requests"], "non_2xx": r["non_2xx"],
                  "socket_errors": r["connect_errors"] + r["read_errors"] + r["timeouts"],
                  "seconds": round(secs, 2), "loadavg_1m_before": load}))
PY
)
  echo "$out"
  results+=("$out")
done
batches=$(python3 -c "import urllib.request; print('\n'.join(l for l in urllib.request.urlopen('$url/metrics').read().decode().splitlines() if l.startswith('nt_batch_size_sum') or l.startswith('nt_batch_size_count') or l.startswith('nt_forecast_log_dropped_total')))")
echo "$batches" >&2
(IFS=,; echo "[${results[*]}]")
