#!/usr/bin/env bash
# Times fixed-order ARIMA fit + 24-step forecast on the first 1,344 rows of ETTh1 OT:
# statsforecast 2.1.1 (Arima + forecast_arima, in-process, median of 3) against `nt train
# --config` + `nt predict` (end to end, process start and CSV included, median of 3), in the
# same session. Usage: tools/bench/arima_speed.sh [path/to/nt] (default target/release/nt,
# else target/debug/nt). PY=/tmp/sfvenv/bin/python by default. Prints one JSON line per case.
set -euo pipefail
NT=${1:-target/release/nt}
[ -x "$NT" ] || NT=target/debug/nt
PY=${PY:-/tmp/sfvenv/bin/python}
DATA=${ETTH1:-../shared/data/ETTh1.csv}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
head -n 1345 "$DATA" | cut -d, -f1,8 > "$TMP/ot.csv"
for spec in "1,1,1|0,0,0|1" "2,0,1|0,0,0|1" "1,0,0|1,1,0|24"; do
  IFS='|' read -r order seas season <<<"$spec"
  sf=$("$PY" - "$TMP/ot.csv" "$order" "$seas" "$season" <<'PYEOF'
import sys, time, statistics
import numpy as np, pandas as pd
from statsforecast.arima import Arima, forecast_arima
y = pd.read_csv(sys.argv[1])["OT"].to_numpy(dtype=np.float64)
order = tuple(int(v) for v in sys.argv[2].split(","))
seas = tuple(int(v) for v in sys.argv[3].split(","))
times = []
for _ in range(3):
    t0 = time.perf_counter()
    fit = Arima(y, order=order, seasonal={"order": seas, "period": int(sys.argv[4])}, method="CSS-ML")
    forecast_arima(fit, h=24, level=[80, 95])
    times.append(time.perf_counter() - t0)
print(statistics.median(times))
PYEOF
)
  cat > "$TMP/cfg.json" <<JSON
{"model": "arima", "order": [$order], "seasonal_order": [$seas], "season_length": $season}
JSON
  times=()
  for _ in 1 2 3; do
    t0=$(date +%s.%N)
    "$NT" train --data "$TMP/ot.csv" --target OT --config "$TMP/cfg.json" --out "$TMP/m" --quiet >/dev/null
    "$NT" predict --model "$TMP/m" --data "$TMP/ot.csv" --horizon 24 --format json >/dev/null
    t1=$(date +%s.%N)
    times+=("$(echo "$t1 - $t0" | bc)")
    rm -rf "$TMP/m"
  done
  nt_med=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)
  echo "{\"case\": \"ARIMA($order)($seas)[$season]\", \"rows\": 1344, \"statsforecast_s\": $sf, \"nt_s\": $nt_med, \"nt_binary\": \"$NT\"}"
done
