"""PyTorch eager peer of crates/nt-neural/benches/recurrent.rs: two stacked nn.LSTM (hidden 128)
and nn.GRU (hidden 200) layers, batch_first, over 288 steps of a univariate input; per case the
median wall time of repeated runs of
  forward/1      one window, under torch.no_grad()
  forward/128    128 windows, under torch.no_grad()
  train/128      128 windows, forward + backward of sum(y * dy) (input and weight gradients)
with torch.set_num_threads(2) (the machine's cores). Prints one JSON line per case (ms).

Run: LD_LIBRARY_PATH=/tmp/nfstubs /tmp/nfenv/bin/python tools/reference/recurrent_bench.py
"""
import json
import statistics
import time

import torch

STEPS, LAYERS = 288, 2


def median_ms(fn, repeats, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def main():
    torch.set_num_threads(2)
    torch.manual_seed(0)
    for name, cls, h in [("lstm128", torch.nn.LSTM, 128), ("gru200", torch.nn.GRU, 200)]:
        net = cls(1, h, num_layers=LAYERS, batch_first=True)
        for b in (1, 128):
            x = torch.rand(b, STEPS, 1) * 2 - 1

            def fwd():
                with torch.no_grad():
                    net(x)

            ms = median_ms(fwd, 50 if b == 1 else 10)
            print(json.dumps({"case": f"{name}/forward/{b}", "torch_ms": round(ms, 3)}))
        b = 128
        x = (torch.rand(b, STEPS, 1) * 2 - 1).requires_grad_(True)
        dy = torch.rand(b, STEPS, h) * 2 - 1

        def train():
            net.zero_grad(set_to_none=True)
            y, _ = net(x)
            (y * dy).sum().backward()

        ms = median_ms(train, 10)
        print(json.dumps({"case": f"{name}/train/{b}", "torch_ms": round(ms, 3)}))


if __name__ == "__main__":
    main()
