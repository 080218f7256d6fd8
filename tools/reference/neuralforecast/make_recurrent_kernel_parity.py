"""Parity fixture for nt-neural's recurrent kernel (crates/nt-neural/src/recurrent): plain
PyTorch nn.LSTM (without and with proj_size) and nn.GRU layers, one layer each, batch_first,
their weights, a random input batch, the outputs, the final states and the gradients of a fixed
scalar loss, written to crates/nt-neural/tests/fixtures/recurrent_kernel.json.

Per case (lstm, lstm_proj, gru) the JSON holds
  cell, input, hidden, proj          the layer's sizes (proj 0 = none)
  batch, steps                       B = 3, T = 48
  weights                            {state_dict name: flat row-major values} for weight_ih_l0,
                                     weight_hh_l0, bias_ih_l0, bias_hh_l0 (and weight_hr_l0)
  x                                  the input [B, T, I], uniform in [-1, 1), flat
  a                                  the loss weights [B, T, out], standard normal, flat
  y                                  the output [B, T, out] from the zero state, flat
  h_n, c_n                           the final states [B, out] and [B, H] (c_n: LSTM only)
  grad_x, grad.<name>                gradients of loss = sum(y * a) with respect to x and each
                                     weight, flat
Values are float32 printed with 9 significant digits (exact round trip).

Run (environment outside the repo; versions pinned in README.md):
  LD_LIBRARY_PATH=/tmp/nfstubs /tmp/nfenv/bin/python \
      tools/reference/neuralforecast/make_recurrent_kernel_parity.py
"""
import json
import os

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
OUT = os.path.join(ROOT, "crates", "nt-neural", "tests", "fixtures", "recurrent_kernel.json")

B, T, I, H = 3, 48, 5, 7
CASES = [("lstm", "lstm", 0), ("lstm_proj", "lstm", 4), ("gru", "gru", 0)]


def flat(t):
    return [float(f"{v:.9g}") for v in t.detach().reshape(-1).tolist()]


def case(name, cell, proj, seed):
    torch.manual_seed(seed)
    if cell == "lstm":
        layer = torch.nn.LSTM(I, H, num_layers=1, batch_first=True, proj_size=proj)
    else:
        layer = torch.nn.GRU(I, H, num_layers=1, batch_first=True)
    out = proj if proj else H
    x = (torch.rand(B, T, I) * 2 - 1).requires_grad_(True)
    a = torch.randn(B, T, out)
    y, state = layer(x)
    (y * a).sum().backward()
    h_n, c_n = state if cell == "lstm" else (state, None)
    doc = dict(cell=cell, input=I, hidden=H, proj=proj, batch=B, steps=T,
               weights={k: flat(v) for k, v in layer.state_dict().items()},
               x=flat(x), a=flat(a), y=flat(y), h_n=flat(h_n[0]),
               c_n=flat(c_n[0]) if c_n is not None else [],
               grad_x=flat(x.grad))
    for k, p in layer.named_parameters():
        doc["grad." + k] = flat(p.grad)
    return name, doc


def main():
    doc = {"torch": torch.__version__}
    for seed, (name, cell, proj) in enumerate(CASES):
        k, v = case(name, cell, proj, seed)
        doc[k] = v
    with open(OUT, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    print(OUT, os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
