#!/usr/bin/env bash
# The GOOG volatility table: GARCH(1,1) and GJR-GARCH(1,1,1), normal and Student-t, against the
# rolling variance of the last 20 returns, on daily closes of ../shared/data/GOOG.csv
# (100 x log returns), horizon 5, the 70/10/20 ratio split (origins every row of the test
# segment), each model fitted once on train + val (--refit-every 0). Prints the price table and
# the volatility table (QLIKE, MSE, Diebold-Mariano vs the rolling variance).
#
# Usage: tools/volatility.sh [path/to/GOOG.csv] [extra nt backtest flags...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
data="${1:-$root/../shared/data/GOOG.csv}"
shift || true
nt="${NT:-$root/target/debug/nt}"
if [ ! -x "$nt" ]; then
  (cd "$root" && cargo build -p nt-cli --quiet)
fi
"$nt" backtest --data "$data" --target Close \
  --models garch,garch-t,gjr-garch,gjr-garch-t \
  --horizon 5 --split ratio --refit-every 0 --vol-window 20 --quiet "$@"
