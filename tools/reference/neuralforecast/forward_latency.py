"""Batch-1 forward latency of neuralforecast's default NHITS (L=480, H=96) in eager torch, the
peer of `crates/nt-neural/tests/timing.rs` (single_window case). Prints ONE JSON line with the
minimum and median over --reps calls; run both in the same session and compare those.
"""
import argparse
import json
import time
import warnings

import torch

warnings.filterwarnings("ignore")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=200)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from neuralforecast.models import NHITS

    m = NHITS(h=96, input_size=480, random_seed=1)
    m.eval()
    x = torch.randn(1, 480, 1)
    batch = {"insample_y": x, "insample_mask": torch.ones(1, 480, 1),
             "futr_exog": None, "hist_exog": None, "stat_exog": None}
    ts = []
    with torch.no_grad():
        for i in range(args.reps + 5):
            t = time.perf_counter()
            m(batch)
            if i >= 5:
                ts.append(time.perf_counter() - t)
    ts.sort()
    print(json.dumps({"bench": "torch_nhits_forward_batch1", "threads": torch.get_num_threads(),
                      "min_ms": round(ts[0] * 1e3, 3), "median_ms": round(ts[len(ts) // 2] * 1e3, 3),
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
