"""Parity fixtures for nt-neural's linear models: small neuralforecast 3.3.0 DLinear and NLinear
models, their weights, an input batch and the reference outputs, written to
crates/nt-neural/tests/fixtures/.

For each case NAME it writes
  NAME.safetensors     the model's state_dict restricted to its nn.Linear layers (float32):
                       DLinear: linear_trend.{weight,bias}, linear_season.{weight,bias};
                       NLinear: linear.{weight,bias}
  NAME_io.safetensors  "input" [B, L] float32 (a random walk around a level of 10, not
                       standardized, so NLinear's subtract-last-value matters), "output"
                       [B, H, Q] float32 (the model's forward in eval mode, no scaler)
  NAME.json            the flat nt-neural spec: {"model": ..., "input_size": ..., "horizon": ...,
                       ["moving_avg_window": ...,] "train": {"loss": ...}}
and for the training cases (dlinear_small, nlinear_small) also, like make_parity.py's TRAIN_CASE,
the target batch "train_y" [B, H] (inputs: "input"), the gradients torch computed at each step
("grad{k}.<param>") and the weights after each of 3 plain-torch Adam steps (lr 1e-2) on the MAE
loss mean |y - yhat| ("step{k}.<param>"), k = 1, 2, 3, and the three losses "train_losses" [3].

Run (environment outside the repo; versions pinned in README.md):
  /tmp/nfenv/bin/python tools/reference/neuralforecast/make_linear_parity.py
"""
import json
import os
import warnings

import torch
from safetensors.torch import save_file

warnings.filterwarnings("ignore")
os.environ.setdefault("NIXTLA_ID_AS_COL", "1")

from neuralforecast.losses.pytorch import MAE, MQLoss  # noqa: E402
from neuralforecast.models import DLinear, NLinear  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
OUT = os.path.join(ROOT, "crates", "nt-neural", "tests", "fixtures")

CASES = [
    # Point output, a small odd decomposition window (2 values replicated on each side).
    dict(name="dlinear_small", model="dlinear", h=12, input_size=24, moving_avg_window=5,
         quantiles=None, train=True),
    # Quantile outputs: the Linear layers have H * Q outputs, read as [H, Q] (Q fastest).
    dict(name="dlinear_quantile", model="dlinear", h=10, input_size=30, moving_avg_window=7,
         quantiles=[0.1, 0.5, 0.9], train=False),
    # NLinear: subtract the last input value, one Linear, add it back.
    dict(name="nlinear_small", model="nlinear", h=12, input_size=24, moving_avg_window=None,
         quantiles=None, train=True),
]

BATCH = 8
LEVEL = 10.0
PARAM_PREFIXES = ("linear_trend.", "linear_season.", "linear.")


def build(case):
    torch.manual_seed(0)
    loss = MQLoss(quantiles=case["quantiles"]) if case["quantiles"] else MAE()
    common = dict(h=case["h"], input_size=case["input_size"], loss=loss, random_seed=0,
                  max_steps=1, accelerator="cpu", logger=False, enable_progress_bar=False,
                  enable_model_summary=False)
    if case["model"] == "dlinear":
        return DLinear(moving_avg_window=case["moving_avg_window"], **common)
    return NLinear(**common)


def forward(model, x):
    b, l = x.shape
    batch = {"insample_y": x.reshape(b, l, 1), "insample_mask": torch.ones(b, l, 1),
             "futr_exog": None, "hist_exog": None, "stat_exog": None}
    return model(batch)


def weights(model, prefix=""):
    return {prefix + k: v.detach().clone().float().contiguous()
            for k, v in model.state_dict().items() if k.startswith(PARAM_PREFIXES)}


def params(model):
    return [(n, p) for n, p in model.named_parameters() if n.startswith(PARAM_PREFIXES)]


def config_json(case):
    q = case["quantiles"]
    cfg = {"model": case["model"], "input_size": case["input_size"], "horizon": case["h"]}
    if case["model"] == "dlinear":
        cfg["moving_avg_window"] = case["moving_avg_window"]
    cfg["train"] = {"loss": {"quantile": q} if q else "mae"}
    return cfg


def main():
    import neuralforecast
    os.makedirs(OUT, exist_ok=True)
    g = torch.Generator().manual_seed(321)
    for case in CASES:
        model = build(case)
        model.eval()
        L, H = case["input_size"], case["h"]
        x = (LEVEL + (torch.randn(BATCH, L, generator=g) * 0.5).cumsum(1)).float()
        with torch.no_grad():
            y = forward(model, x)
        y = y.reshape(BATCH, H, -1).contiguous()
        meta = {"torch": torch.__version__, "neuralforecast": neuralforecast.__version__,
                "case": case["name"]}
        w = weights(model)
        save_file(w, os.path.join(OUT, case["name"] + ".safetensors"), metadata=meta)
        io = {"input": x.contiguous(), "output": y}
        if case["train"]:
            # Three plain-torch Adam steps (lr 1e-2) on the MAE between forward and a target batch.
            model.train()
            target = (x[:, -1:] + (torch.randn(BATCH, H, generator=g) * 0.5).cumsum(1)).float()
            io["train_y"] = target.contiguous()
            opt = torch.optim.Adam([p for _, p in params(model)], lr=1e-2)
            losses = []
            for k in range(1, 4):
                opt.zero_grad()
                loss = (forward(model, x).reshape(BATCH, H) - target).abs().mean()
                loss.backward()
                io.update({f"grad{k}.{n}": p.grad.detach().clone().contiguous()
                           for n, p in params(model)})
                opt.step()
                losses.append(loss.item())
                io.update(weights(model, prefix=f"step{k}."))
            io["train_losses"] = torch.tensor(losses, dtype=torch.float32)
        save_file(io, os.path.join(OUT, case["name"] + "_io.safetensors"), metadata=meta)
        with open(os.path.join(OUT, case["name"] + ".json"), "w") as f:
            json.dump(config_json(case), f, indent=1)
            f.write("\n")
        shapes = {k: tuple(v.shape) for k, v in w.items()}
        print(f"{case['name']}: {shapes}, output {tuple(y.shape)}, "
              f"max|output| {y.abs().max().item():.4f}")


if __name__ == "__main__":
    main()
