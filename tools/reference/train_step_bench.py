"""Plain-PyTorch cost of one optimizer step (forward, MAE, backward, Adam) of neuralforecast's own
module for NHITS, NBEATS, DLinear, NLinear, TCN, PatchTST, LSTM, GRU or DeepAR, at the configuration, batch
and thread count that
`nt bench --arch ARCH` times for its `ARCH_train_step` case. neuralforecast's data pipeline and
Lightning are bypassed: this is the arithmetic our trainer has to beat, not neuralforecast's `fit`.
Prints ONE JSON line.

Configuration (what `nt bench` trains at its defaults, L 480, H 96, each model's own
`windows_batch_size` a step unless --windows-batch-size is given: 1024; TCN, LSTM, GRU 128):
- nhits: `NHITS(h, input_size)`, neuralforecast's defaults (3 identity stacks, mlp 3 x [512, 512]).
- nbeats: `NBEATS(h, input_size, stack_types=3 * ["identity"])`: the generic N-BEATS that
  `nt train --model nbeats` builds (neuralforecast's own default mixes trend and seasonality
  stacks, which is `nt`'s `nbeats-interpretable` family, not its `nbeats`).
- dlinear: `DLinear(h, input_size)` (moving_avg_window 25); nlinear: `NLinear(h, input_size)`.
- tcn: `TCN(h, input_size)` (kernel 2, dilations [1, 2, 4, 8, 16], 128 channels, decoder 2 x 128).
- patchtst: `PatchTST(h, input_size)` (3 layers, 16 heads, hidden 128, ff 256, dropout 0.2,
  patch 16 stride 8, RevIN subtracting the last value, BatchNorm).
- lstm: `LSTM(h, input_size)` (direct mode: 2 layers of 128, decoder 2 x 128); gru: `GRU(h,
  input_size)` (2 layers of 200, decoder 2 x 128).
- deepar: `DeepAR(h, input_size)` (2 LSTM layers of 128, dropout 0.1, linear Student-t head):
  recurrent, so a training step sees L + 1 inputs and scores `h_train` (1) step by the Student-t
  negative log-likelihood, as its `training_step` does (windows of 1,024).
Adam at the model's own learning rate, `random_seed=1`; the input is a seeded random walk
[B, L, 1] with every point observed. The first `--warmup` steps are not timed.

Run it in the same session as `nt bench` (or use `compare_train_steps.sh`, which runs both) and
compare ratios, never absolute times from different sessions.

Environment, from PyPI (the torch wheel is large: keep the environment outside the repository):
    python3 -m venv /tmp/nfenv
    /tmp/nfenv/bin/pip install torch==2.15.0 neuralforecast==3.3.0 numpy
`tools/reference/neuralforecast/README.md` describes the lighter install (torch with `--no-deps`,
CUDA stand-in libraries on `LD_LIBRARY_PATH`) used on the project's machines; then:
    LD_LIBRARY_PATH=/tmp/nfstubs /tmp/nfenv/bin/python tools/reference/train_step_bench.py \
        --arch nhits --threads 2 --steps 20
"""
import argparse
import importlib.metadata as md
import json
import os
import platform
import time
import warnings

warnings.filterwarnings("ignore")

ARCHS = ("nhits", "nbeats", "dlinear", "nlinear", "tcn", "patchtst", "lstm", "gru", "deepar")


def build(arch, h, input_size):
    """neuralforecast's module for `arch` at the configuration `nt bench` trains."""
    from neuralforecast import models

    if arch == "nhits":
        return models.NHITS(h=h, input_size=input_size, random_seed=1)
    if arch == "nbeats":
        return models.NBEATS(h=h, input_size=input_size, stack_types=3 * ["identity"],
                             random_seed=1)
    if arch == "dlinear":
        return models.DLinear(h=h, input_size=input_size, random_seed=1)
    if arch == "nlinear":
        return models.NLinear(h=h, input_size=input_size, random_seed=1)
    if arch == "tcn":
        return models.TCN(h=h, input_size=input_size, random_seed=1)
    if arch == "patchtst":
        return models.PatchTST(h=h, input_size=input_size, random_seed=1)
    if arch == "lstm":
        return models.LSTM(h=h, input_size=input_size, random_seed=1)
    if arch == "gru":
        return models.GRU(h=h, input_size=input_size, random_seed=1)
    if arch == "deepar":
        return models.DeepAR(h=h, input_size=input_size, random_seed=1)
    raise ValueError(arch)


def step_loss(m, arch, batch, y):
    """The training loss of one batch: MAE of the forecast, or for DeepAR (recurrent, scored on
    `h_train` steps) the Student-t negative log-likelihood of its distribution head."""
    if arch != "deepar":
        return (m(batch).reshape(y.shape) - y).abs().mean()
    import torch

    m.h = m.h_train
    out = m.loss.domain_map(m(batch))
    distr_args = m.loss.scale_decouple(output=out, loc=None, scale=None)
    target = y[:, : m.h_train]
    return m.loss(y=target, distr_args=distr_args, mask=torch.ones_like(target))


def median_p99(samples):
    """Median and nearest-rank 99th percentile, as `nt bench` computes them."""
    s = sorted(samples)
    n = len(s)
    p99 = s[min(max(-(-99 * n // 100), 1), n) - 1]
    return s[n // 2], p99


def versions():
    out = {}
    for p in ("torch", "neuralforecast", "numpy"):
        try:
            out[p] = md.version(p)
        except md.PackageNotFoundError:
            pass
    out["python"] = platform.python_version()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arch", choices=ARCHS, required=True)
    ap.add_argument("--horizon", type=int, default=96)
    ap.add_argument("--input-size", type=int, default=480)
    ap.add_argument("--windows-batch-size", type=int, default=None,
                    help="windows per step (default: the model's own windows_batch_size)")
    ap.add_argument("--steps", type=int, default=20, help="timed steps")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    if min(args.steps, args.horizon, args.input_size, args.windows_batch_size or 1) < 1:
        ap.error("--steps, --horizon, --input-size and --windows-batch-size must be at least 1")

    import torch

    torch.set_num_threads(args.threads)
    H, L = args.horizon, args.input_size
    m = build(args.arch, H, L)
    B = args.windows_batch_size or m.windows_batch_size
    opt = torch.optim.Adam(m.parameters(), lr=m.learning_rate)
    g = torch.Generator().manual_seed(0)
    # Recurrent models (DeepAR) read one input more than input_size (neuralforecast's shift).
    seen = L + 1 if getattr(m, "RECURRENT", False) else L
    x = torch.randn(B, seen, 1, generator=g).cumsum(1) * 0.1
    y = x[:, -1:, 0] + torch.randn(B, H, generator=g).cumsum(1) * 0.1
    batch = {"insample_y": x, "insample_mask": torch.ones(B, seen, 1),
             "futr_exog": None, "hist_exog": None, "stat_exog": None}
    load0 = os.getloadavg()[0]
    times = []
    m.train()
    for i in range(args.warmup + args.steps):
        t = time.perf_counter()
        opt.zero_grad()
        loss = step_loss(m, args.arch, batch, y)
        loss.backward()
        opt.step()
        if i >= args.warmup:
            times.append((time.perf_counter() - t) * 1e3)
    med, p99 = median_p99(times)
    print(json.dumps({
        "bench": "torch_train_step", "arch": args.arch, "input_size": L, "horizon": H,
        "windows_batch_size": B, "parameters": int(sum(p.numel() for p in m.parameters())),
        "lr": m.learning_rate, "steps": len(times), "median_ms": round(med, 3),
        "p99_ms": round(p99, 3), "steps_per_s": round(1e3 / med, 3),
        "threads": torch.get_num_threads(),
        "loadavg_1min_start_end": [round(load0, 2), round(os.getloadavg()[0], 2)],
        "versions": versions()}))


if __name__ == "__main__":
    main()
