"""Reference AutoARIMA fits (statsforecast 2.1.1's auto_arima_f) for nt-classical's
autoarima parity test: the `auto` cases of make_arima_fixture.py written to their own file,
crates/nt-classical/tests/fixtures/statsforecast_autoarima.json (the fixed-order fixture is
left as it is).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_arima_fixture as base  # noqa: E402

base.OUT = os.path.join(base.REPO, "crates", "nt-classical", "tests", "fixtures",
                        "statsforecast_autoarima.json")

if __name__ == "__main__":
    sys.argv = [sys.argv[0], "auto"]
    base.main()
