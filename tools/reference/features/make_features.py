"""Reference values for nt-data's features, computed with pandas on GOOG.csv.

Reads the first 300 rows of ../../../../shared/data/GOOG.csv (daily OHLCV, unnamed date index),
computes every feature nt-data implements on `Close` with pandas/numpy, and writes
crates/nt-data/tests/fixtures/goog_features.csv (17 significant digits, NaN as empty cells).
The Rust test crates/nt-data/tests/features_reference.rs compares every column to 1e-9.

Run from the repository root:  python3 tools/reference/features/make_features.py
Tested with pandas 3.1.1, numpy 2.4.6.
"""

from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT.parent / "shared" / "data" / "GOOG.csv"
OUT = ROOT / "crates" / "nt-data" / "tests" / "fixtures" / "goog_features.csv"
ROWS = 300


def wilder_rsi(close: pd.Series, n: int) -> pd.Series:
    """Wilder's RSI: first averages are simple means of the first n gains/losses, then
    Wilder's smoothing, which is ewm(alpha=1/n, adjust=False) started from that seed."""
    delta = close.diff()
    gain = delta.clip(lower=0.0)
    loss = (-delta).clip(lower=0.0)
    out = pd.Series(np.nan, index=close.index)
    if len(close) <= n:
        return out

    def smooth(x: pd.Series) -> pd.Series:
        seeded = pd.concat([pd.Series([x.iloc[1 : n + 1].mean()]), x.iloc[n + 1 :]])
        return seeded.ewm(alpha=1.0 / n, adjust=False).mean().to_numpy()

    g, l = smooth(gain), smooth(loss)
    with np.errstate(divide="ignore", invalid="ignore"):
        rsi = 100.0 - 100.0 / (1.0 + g / l)
    rsi = np.where(l == 0.0, np.where(g == 0.0, 50.0, 100.0), rsi)
    out.iloc[n:] = rsi
    return out


def macd(close: pd.Series, fast: int, slow: int, signal: int):
    line = close.ewm(span=fast, adjust=False).mean() - close.ewm(span=slow, adjust=False).mean()
    sig = line.ewm(span=signal, adjust=False).mean()
    hist = line - sig
    # nt-data masks values computed from too little history (documented warm-up).
    line, sig, hist = line.copy(), sig.copy(), hist.copy()
    line.iloc[: slow - 1] = np.nan
    sig.iloc[: slow + signal - 2] = np.nan
    hist.iloc[: slow + signal - 2] = np.nan
    return line, sig, hist


def percent_b(close: pd.Series, w: int, k: float) -> pd.Series:
    mid = close.rolling(w).mean()
    sd = close.rolling(w).std()  # ddof=1
    lower, upper = mid - k * sd, mid + k * sd
    return (close - lower) / (upper - lower)


def main() -> None:
    df = pd.read_csv(DATA, index_col=0).iloc[:ROWS]
    dates = pd.to_datetime(df.index, utc=True)
    c = df["Close"].astype(float).reset_index(drop=True)
    out = pd.DataFrame({"date": df.index, "Close": c})
    out["Close_return"] = c.pct_change()
    out["Close_log_return"] = np.log(c).diff()
    for w in (5, 20):
        out[f"Close_rolling_mean{w}"] = c.rolling(w).mean()
        out[f"Close_rolling_std{w}"] = c.rolling(w).std()
    out["Close_rsi14"] = wilder_rsi(c, 14)
    line, sig, hist = macd(c, 12, 26, 9)
    out["Close_macd12_26_9"] = line
    out["Close_macd_signal12_26_9"] = sig
    out["Close_macd_hist12_26_9"] = hist
    out["Close_pctb20_2"] = percent_b(c, 20, 2.0)
    out["Close_lag3"] = c.shift(3)
    out["hour"] = np.asarray(dates.hour, dtype=float)
    out["dow"] = np.asarray(dates.day_of_week, dtype=float)
    out["month"] = np.asarray(dates.month, dtype=float)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(OUT, index=False, float_format="%.17g")
    print(f"wrote {OUT} ({len(out)} rows, {len(out.columns)} columns)")


if __name__ == "__main__":
    main()
