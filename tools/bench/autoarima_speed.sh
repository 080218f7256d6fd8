#!/usr/bin/env bash
# Times AutoARIMA fit + 24-step forecast (80/95 bands) on the first 1,344 rows of ETTh1 OT with
# season 24, in the same session: statsforecast 2.1.1 in-process (numba warmed up on a small
# series first, so its compile time is not counted) against `nt train` + `nt predict` end to end
# (process start and CSV included). Two settings: `auto_arima_f`'s default approximation rule
# (on here: 1,344 rows > 150) and statsforecast's `AutoARIMA` class (approximation off).
# Medians of REPEATS runs (default 3; the approximation-off case runs REPEATS_OFF times,
# default 1, since statsforecast needs about a minute for it).
# Usage: tools/bench/autoarima_speed.sh [path/to/nt]   (default target/release/nt, else
# target/debug/nt). PY=/tmp/sfvenv/bin/python by default. Prints one JSON line per case.
set -euo pipefail
NT=${1:-target/release/nt}
[ -x "$NT" ] || NT=target/debug/nt
PY=${PY:-/tmp/sfvenv/bin/python}
DATA=${ETTH1:-../shared/data/ETTh1.csv}
REPEATS=${REPEATS:-3}
REPEATS_OFF=${REPEATS_OFF:-1}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
head -n 1345 "$DATA" | cut -d, -f1,8 > "$TMP/ot.csv"
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
for approx in on off; do
  reps=$REPEATS
  [ "$approx" = off ] && reps=$REPEATS_OFF
  sf=$("$PY" - "$TMP/ot.csv" "$approx" "$reps" <<'PYEOF'
import sys, time, statistics, warnings
import numpy as np, pandas as pd
warnings.filterwarnings("ignore")  # statsforecast's convergence notes, printed per candidate
from statsforecast.arima import auto_arima_f, forecast_arima
y = pd.read_csv(sys.argv[1])["OT"].to_numpy(dtype=np.float64)
approx = sys.argv[2] == "on"
auto_arima_f(y[:200], period=24)  # numba compile, not timed
times = []
for _ in range(int(sys.argv[3])):
    t0 = time.perf_counter()
    fit = auto_arima_f(y, period=24, approximation=approx)
    forecast_arima(fit, h=24, level=[80, 95])
    times.append(time.perf_counter() - t0)
print(statistics.median(times))
PYEOF
)
  times=()
  for _ in $(seq "$reps"); do
    t0=$(date +%s.%N)
    "$NT" train --data "$TMP/ot.csv" --target OT --model autoarima --season 24 \
      --approximation "$approx" --out "$TMP/m" --quiet >/dev/null
    "$NT" predict --model "$TMP/m" --data "$TMP/ot.csv" --horizon 24 --format json >/dev/null
    t1=$(date +%s.%N)
    times+=("$(echo "$t1 - $t0" | bc)")
    rm -rf "$TMP/m"
  done
  nt_med=$(printf '%s\n' "${times[@]}" | median)
  echo "{\"case\": \"autoarima, approximation $approx\", \"rows\": 1344, \"season\": 24, \"runs\": $reps, \"statsforecast_s\": $sf, \"nt_s\": $nt_med, \"ratio\": $(echo "scale=3; $nt_med / $sf" | bc), \"nt_binary\": \"$NT\"}"
done
