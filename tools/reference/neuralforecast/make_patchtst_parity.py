"""Parity fixtures for nt-neural's PatchTST: small neuralforecast 3.3.0 PatchTST models, their
weights (with non-trivial BatchNorm running statistics), an input batch and the reference
outputs, written to crates/nt-neural/tests/fixtures/.

For each case NAME it writes
  NAME.safetensors     the model's whole state_dict (float32, except BatchNorm's int64
                       num_batches_tracked), including the tensors nt-neural must ignore on
                       import (num_batches_tracked, self_attn.sdp_attn.scale)
  NAME_io.safetensors  "input" [B, L] float32 (a random walk around a level of 10, not
                       standardized, so RevIN matters), "output" [B, H, Q] float32 (the model's
                       forward in eval mode, no scaler)
  NAME.json            the flat nt-neural spec ({"model": "patchtst", ...})
and for the training cases (dropout 0, so the training forward is deterministic) also
  "train_y" [B, H]     a target batch
  "train_loss" [1]     the MAE mean |y - yhat| of the training-mode forward (BatchNorm on batch
                       statistics) of "input" from the stored weights
  "grad1.<param>"      torch's gradient of that loss for every parameter that has one
  "after1.<name>"      every BatchNorm running_mean / running_var after that forward

The running statistics are made non-trivial before export: five training-mode forwards (no
gradient) of random batches move them away from 0 and 1, and the RevIN affine weights (when
present) are set to random values away from 1 and 0.

Run (environment outside the repo; versions pinned in README.md):
  LD_LIBRARY_PATH=/tmp/nfstubs /tmp/nfenv/bin/python tools/reference/neuralforecast/make_patchtst_parity.py
"""
import json
import os
import warnings

import torch
from safetensors.torch import save_file

warnings.filterwarnings("ignore")
os.environ.setdefault("NIXTLA_ID_AS_COL", "1")

from neuralforecast.losses.pytorch import MAE, MQLoss  # noqa: E402
from neuralforecast.models import PatchTST  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
OUT = os.path.join(ROOT, "crates", "nt-neural", "tests", "fixtures")

SMALL = dict(h=8, input_size=32, patch_len=8, stride=4, hidden_size=16, n_heads=4,
             linear_hidden_size=32, encoder_layers=2)
CASES = [
    # The defaults' structure at a small size: RevIN subtract-last, post-norm, residual attention,
    # GELU, MAE. Dropout 0 for the gradient check.
    dict(name="patchtst_small", quantiles=None, train=True,
         args=dict(SMALL, dropout=0.0)),
    # Quantile outputs (H * Q, Q fastest), RevIN with learnable affine and the mean, ReLU,
    # L - P not a multiple of the stride (floor), 2 heads; dropout 0.2 (eval: inactive).
    dict(name="patchtst_quantile", quantiles=[0.1, 0.5, 0.9], train=False,
         args=dict(SMALL, input_size=30, n_heads=2, linear_hidden_size=24, revin_affine=True,
                   revin_subtract_last=False, activation="relu", dropout=0.2)),
    # No RevIN, no residual attention (torch's fused attention), pre-norm layers
    # (batch_normalization=True), a fixed positional embedding, 3 layers.
    dict(name="patchtst_prenorm", quantiles=None, train=True,
         args=dict(h=6, input_size=24, patch_len=6, stride=3, hidden_size=12, n_heads=3,
                   linear_hidden_size=20, encoder_layers=3, revin=False, res_attention=False,
                   batch_normalization=True, learn_pos_embed=False, dropout=0.0)),
]

BATCH = 8
LEVEL = 10.0


def build(case):
    torch.manual_seed(0)
    loss = MQLoss(quantiles=case["quantiles"]) if case["quantiles"] else MAE()
    return PatchTST(loss=loss, random_seed=0, max_steps=1, accelerator="cpu", logger=False,
                    enable_progress_bar=False, enable_model_summary=False, **case["args"])


def forward(model, x):
    b, l = x.shape
    batch = {"insample_y": x.reshape(b, l, 1), "insample_mask": torch.ones(b, l, 1),
             "futr_exog": None, "hist_exog": None, "stat_exog": None}
    return model(batch)


def walk(g, b, n):
    return (LEVEL + (torch.randn(b, n, generator=g) * 0.5).cumsum(1)).float()


def running_stats(model, prefix=""):
    return {prefix + k: v.detach().clone().float().contiguous()
            for k, v in model.state_dict().items()
            if k.endswith("running_mean") or k.endswith("running_var")}


def config_json(case):
    a = dict(case["args"])
    q = case["quantiles"]
    cfg = {"model": "patchtst", "input_size": a.pop("input_size"), "horizon": a.pop("h")}
    cfg.update(a)
    cfg["train"] = {"loss": {"quantile": q} if q else "mae"}
    return cfg


def main():
    import neuralforecast
    os.makedirs(OUT, exist_ok=True)
    g = torch.Generator().manual_seed(321)
    for case in CASES:
        model = build(case)
        L, H = case["args"]["input_size"], case["args"]["h"]
        # Non-trivial BatchNorm running statistics and RevIN affine parameters.
        model.train()
        with torch.no_grad():
            for _ in range(5):
                forward(model, walk(g, 16, L) * 1.5 - 3.0)
            rev = getattr(model.model, "revin_layer", None)
            if rev is not None and rev.affine:
                rev.affine_weight.copy_(torch.tensor([1.3]))
                rev.affine_bias.copy_(torch.tensor([-0.2]))
        model.eval()
        x = walk(g, BATCH, L)
        with torch.no_grad():
            y = forward(model, x)
        y = y.reshape(BATCH, H, -1).contiguous()
        meta = {"torch": torch.__version__, "neuralforecast": neuralforecast.__version__,
                "case": case["name"]}
        state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
        state = {k: (v.float() if v.is_floating_point() else v) for k, v in state.items()}
        save_file(state, os.path.join(OUT, case["name"] + ".safetensors"), metadata=meta)
        io = {"input": x.contiguous(), "output": y}
        if case["train"]:
            model.train()
            target = (x[:, -1:] + (torch.randn(BATCH, H, generator=g) * 0.5).cumsum(1)).float()
            io["train_y"] = target.contiguous()
            model.zero_grad()
            loss = (forward(model, x).reshape(BATCH, H) - target).abs().mean()
            loss.backward()
            io["train_loss"] = torch.tensor([loss.item()], dtype=torch.float32)
            io.update({f"grad1.{n}": p.grad.detach().clone().contiguous()
                       for n, p in model.named_parameters() if p.grad is not None})
            io.update(running_stats(model, prefix="after1."))
        save_file(io, os.path.join(OUT, case["name"] + "_io.safetensors"), metadata=meta)
        with open(os.path.join(OUT, case["name"] + ".json"), "w") as f:
            json.dump(config_json(case), f, indent=1)
            f.write("\n")
        n_grads = sum(k.startswith("grad1.") for k in io)
        print(f"{case['name']}: {len(state)} tensors, output {tuple(y.shape)}, "
              f"max|output| {y.abs().max().item():.4f}, {n_grads} gradients")


if __name__ == "__main__":
    main()
