"""Reference fits of GARCH(p, q) / GJR-GARCH with arch for nt-classical's parity tests.

Writes crates/nt-classical/tests/fixtures/arch_garch_goog.json: the 100 x log returns of the
GOOG daily closes (../shared/data/GOOG.csv), and for each model arch's fitted parameters (with
its default SLSQP tolerance and refitted with ftol=1e-12), log-likelihood, backcast, every
5th conditional variance plus the last one, and the analytic variance forecasts h = 1..5.

Run from the repository root: /tmp/sfvenv/bin/python tools/reference/arch/make_garch_fixture.py
"""

import json
import os
import sys

import numpy as np
import pandas as pd
import arch
import scipy
from arch import arch_model

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
DATA = os.path.join(ROOT, "..", "shared", "data", "GOOG.csv")
OUT = os.path.join(ROOT, "crates", "nt-classical", "tests", "fixtures", "arch_garch_goog.json")

MODELS = [
    # name, mean, p, o, q, dist
    ("garch11_normal", "Constant", 1, 0, 1, "normal"),
    ("garch11_t", "Constant", 1, 0, 1, "t"),
    ("gjr111_normal", "Constant", 1, 1, 1, "normal"),
    ("gjr111_t", "Constant", 1, 1, 1, "t"),
    ("garch21_zero_normal", "Zero", 2, 0, 1, "normal"),
]


def main() -> None:
    close = pd.read_csv(DATA)["Close"].to_numpy(dtype=float)
    returns = 100.0 * np.diff(np.log(close))
    out = {
        "source": "tools/reference/arch/make_garch_fixture.py",
        "versions": {
            "arch": arch.__version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "python": sys.version.split()[0],
        },
        "returns": [float(r) for r in returns],
        "variance_every": 5,
        "models": [],
    }
    for name, mean, p, o, q, dist in MODELS:
        model = arch_model(returns, mean=mean, vol="GARCH", p=p, o=o, q=q, dist=dist, rescale=False)
        res = model.fit(disp="off")
        tight = model.fit(disp="off", options={"ftol": 1e-12, "maxiter": 1000})
        names = list(res.params.index)
        sigma2 = np.asarray(res.conditional_volatility) ** 2
        fc = res.forecast(horizon=5, reindex=False).variance.to_numpy()[-1]
        tight_fc = tight.forecast(horizon=5, reindex=False).variance.to_numpy()[-1]
        tight_sigma2 = np.asarray(tight.conditional_volatility) ** 2
        out["models"].append(
            {
                "name": name,
                "mean": mean.lower(),
                "p": p,
                "o": o,
                "q": q,
                "distribution": "student-t" if dist == "t" else "normal",
                "param_names": names,
                "params": [float(v) for v in res.params],
                "loglik": float(res.loglikelihood),
                "params_tight": [float(v) for v in tight.params],
                "loglik_tight": float(tight.loglikelihood),
                "backcast": float(model._backcast),
                "sigma2": [float(v) for v in sigma2[::5]],
                "sigma2_last": float(sigma2[-1]),
                "sigma2_tight": [float(v) for v in tight_sigma2[::5]],
                "forecast_variance": [float(v) for v in fc],
                "forecast_variance_tight": [float(v) for v in tight_fc],
            }
        )
        print(name, dict(zip(names, np.round(res.params, 6))), res.loglikelihood, tight.loglikelihood)
    with open(OUT, "w") as f:
        json.dump(out, f, indent=None)
    print("wrote", OUT, os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
