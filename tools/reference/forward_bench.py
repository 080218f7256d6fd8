"""Eager-PyTorch inference cost of neuralforecast's own module for one architecture (NHITS,
NBEATS, DLinear, NLinear, TCN, PatchTST, LSTM, GRU or DeepAR), at the configuration `nt bench --arch ARCH` builds
(see train_step_bench.py for each configuration), in eval mode under `torch.no_grad()`: the
forward at batch 1 (the peer of `nt bench`'s `ARCH_batch` case at batch 1, which goes through
`forecast_windows`, and of its `ARCH_predict_single`) and at 32 and 1,024 windows. Prints ONE
JSON line: per batch, the median and minimum ms over --reps calls after 5 untimed ones.

DeepAR forecasts by sample paths: its peer is `deepar_paths` below, the same roll-forward `nt`
runs (the LSTM over the L + 1 inputs once, the state copied to --samples paths, then per horizon
step one LSTM step and one Student-t draw per path, each path fed its own draw) written with
neuralforecast's own modules, so both sides do the same arithmetic. (neuralforecast's `predict`
instead feeds back the mean and draws 100 samples per step only for the quantiles.)

Run it in the same session as `nt bench` (compare_inference.sh runs both) and compare ratios,
never absolute times from different sessions. Environment: as train_step_bench.py.
    LD_LIBRARY_PATH=/tmp/nfstubs /tmp/nfenv/bin/python tools/reference/forward_bench.py \
        --arch tcn --threads 2
"""
import argparse
import json
import os
import time
import warnings

warnings.filterwarnings("ignore")

from train_step_bench import ARCHS, build, versions  # noqa: E402


def deepar_paths(m, x, horizon, samples):
    """`samples` sample paths per window of `x` [b, L + 1, 1], each fed its own draws."""
    import torch

    b = x.shape[0]
    out, (h, c) = m.hist_encoder(x, None)
    h = h.repeat_interleave(samples, dim=1)
    c = c.repeat_interleave(samples, dim=1)
    last = out[:, -1:].repeat_interleave(samples, dim=0)
    paths = torch.empty(b * samples, horizon)
    for t in range(horizon):
        params = m.loss.domain_map(m.decoder(last))
        distr = m.loss.get_distribution(m.loss.scale_decouple(output=params))
        draw = distr.sample()  # [b * samples, 1, 1]
        paths[:, t] = draw.reshape(-1)
        last, (h, c) = m.hist_encoder(draw.reshape(-1, 1, 1), (h, c))
    return paths.reshape(b, samples, horizon)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arch", choices=ARCHS, required=True)
    ap.add_argument("--horizon", type=int, default=96)
    ap.add_argument("--input-size", type=int, default=480)
    ap.add_argument("--reps", type=int, default=200, help="timed calls at batch 1 (fewer for larger batches)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--samples", type=int, default=100, help="DeepAR: sample paths per window")
    args = ap.parse_args()
    if min(args.reps, args.horizon, args.input_size) < 1:
        ap.error("--reps, --horizon and --input-size must be at least 1")

    import torch

    torch.set_num_threads(args.threads)
    H, L = args.horizon, args.input_size
    m = build(args.arch, H, L)
    m.eval()
    g = torch.Generator().manual_seed(0)
    out = {"bench": "torch_forward", "arch": args.arch, "input_size": L, "horizon": H,
           "parameters": int(sum(p.numel() for p in m.parameters())),
           "threads": torch.get_num_threads(), "batches": {}}
    load0 = os.getloadavg()[0]
    with torch.no_grad():
        seen = L + 1 if getattr(m, "RECURRENT", False) else L
        for b in (1, 32, 1024):
            if args.arch == "deepar" and b > 32:
                continue  # 1,024 windows x 100 paths: minutes per call
            x = torch.randn(b, seen, 1, generator=g).cumsum(1) * 0.1
            batch = {"insample_y": x, "insample_mask": torch.ones(b, seen, 1),
                     "futr_exog": None, "hist_exog": None, "stat_exog": None}
            reps = max(3, min(args.reps, args.reps // b if b > 1 else args.reps))
            ts = []
            for i in range(reps + 5):
                t = time.perf_counter()
                if args.arch == "deepar":
                    deepar_paths(m, x, H, args.samples)
                else:
                    m(batch)
                if i >= 5:
                    ts.append((time.perf_counter() - t) * 1e3)
            ts.sort()
            out["batches"][str(b)] = {"reps": reps, "median_ms": round(ts[len(ts) // 2], 4),
                                      "min_ms": round(ts[0], 4)}
    out["loadavg_1min_start_end"] = [round(load0, 2), round(os.getloadavg()[0], 2)]
    out["versions"] = versions()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
