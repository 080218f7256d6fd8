"""Parity fixtures for nt-neural's TCN: small neuralforecast 3.3.0 TCN models, their weights, an
input batch and the reference outputs, written to crates/nt-neural/tests/fixtures/.

For each case NAME it writes
  NAME.safetensors     the model's whole state_dict (float32), as neuralforecast names it:
                       hist_encoder.tcn.{i}.conv.{weight,bias} and their aliases
                       hist_encoder.tcn.{i}.causalconv.0.{weight,bias} (the same tensors, reached
                       through CausalConv1d's nn.Sequential), context_adapter.{weight,bias},
                       mlp_decoder.layers.{j}.{weight,bias} and, for MQLoss, loss.quantiles; the
                       import must ignore the aliases and the loss buffer
  NAME_io.safetensors  "input" [B, L] float32 (a random walk around a level of 10, not
                       standardized), "output" [B, H, Q] float32 (TCN.forward in eval mode, no
                       scaler); with exogenous inputs also "hist" [B, L, 2] and "futr"
                       [B, L + H, 1]
  NAME.json            the flat nt-neural spec ({"model": "tcn", ...}, identity scaler so the
                       public forecast path sees the values as they are)
and for the training case (tcn_small) also the target batch "train_y" [B, H], the gradients torch
computed at each step ("grad{k}.<param>", named as named_parameters() names them: the `conv`
names, not the aliases) and the weights after each of 3 plain-torch Adam steps (lr 1e-2) on the
MAE mean |y - yhat| ("step{k}.<param>"), k = 1, 2, 3, and the three losses "train_losses" [3].

Run (environment outside the repo; versions pinned in README.md):
  LD_LIBRARY_PATH=/tmp/nfstubs /tmp/nfenv/bin/python tools/reference/neuralforecast/make_tcn_parity.py
"""
import json
import os
import warnings

import torch
from safetensors.torch import save_file

warnings.filterwarnings("ignore")
os.environ.setdefault("NIXTLA_ID_AS_COL", "1")

from neuralforecast.losses.pytorch import MAE, MQLoss  # noqa: E402
from neuralforecast.models import TCN  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
OUT = os.path.join(ROOT, "crates", "nt-neural", "tests", "fixtures")

CASES = [
    # Point output, neuralforecast's kernel 2 and ReLU, three dilations, a 2-layer decoder.
    dict(name="tcn_small", h=6, input_size=18, kernel_size=2, dilations=[1, 2, 4],
         encoder_hidden_size=8, encoder_activation="ReLU", decoder_hidden_size=8,
         decoder_layers=2, decoder_activation="ReLU", quantiles=None, exog=False, train=True),
    # Quantile outputs, kernel 3 (taps delayed by 0, d and 2d), Tanh encoder, a 3-layer decoder
    # (mlp_decoder.layers.{0,3,6}), a dilation (8) whose farthest tap falls before the window.
    dict(name="tcn_quantile", h=5, input_size=14, kernel_size=3, dilations=[1, 2, 8],
         encoder_hidden_size=6, encoder_activation="Tanh", decoder_hidden_size=7,
         decoder_layers=3, decoder_activation="ReLU", quantiles=[0.1, 0.5, 0.9], exog=False,
         train=False),
    # Exogenous inputs: two historic channels, one future-known channel (its first L values enter
    # the encoder, its last H join the decoder's input).
    dict(name="tcn_exog", h=6, input_size=18, kernel_size=2, dilations=[1, 2, 4],
         encoder_hidden_size=8, encoder_activation="ReLU", decoder_hidden_size=8,
         decoder_layers=2, decoder_activation="ReLU", quantiles=None, exog=True, train=False),
]

BATCH = 8
LEVEL = 10.0
HIST, FUTR = ["h1", "h2"], ["f1"]


def build(case):
    torch.manual_seed(0)
    loss = MQLoss(quantiles=case["quantiles"]) if case["quantiles"] else MAE()
    extra = dict(hist_exog_list=HIST, futr_exog_list=FUTR) if case["exog"] else {}
    return TCN(h=case["h"], input_size=case["input_size"], kernel_size=case["kernel_size"],
               dilations=case["dilations"], encoder_hidden_size=case["encoder_hidden_size"],
               encoder_activation=case["encoder_activation"],
               decoder_hidden_size=case["decoder_hidden_size"],
               decoder_layers=case["decoder_layers"],
               decoder_activation=case["decoder_activation"], loss=loss, random_seed=0,
               max_steps=1, accelerator="cpu", logger=False, enable_progress_bar=False,
               enable_model_summary=False, **extra)


def forward(model, x, hist=None, futr=None):
    b, l = x.shape
    batch = {"insample_y": x.reshape(b, l, 1), "insample_mask": torch.ones(b, l, 1),
             "futr_exog": futr, "hist_exog": hist, "stat_exog": None}
    return model(batch)


def state(model, prefix=""):
    return {prefix + k: v.detach().clone().float().contiguous()
            for k, v in model.state_dict().items()}


def params(model):
    return [(n, p) for n, p in model.named_parameters() if p.requires_grad]


def config_json(case):
    q = case["quantiles"]
    cfg = {"model": "tcn", "input_size": case["input_size"], "horizon": case["h"]}
    for k in ["kernel_size", "dilations", "encoder_hidden_size", "encoder_activation",
              "decoder_hidden_size", "decoder_layers", "decoder_activation"]:
        cfg[k] = case[k]
    if case["exog"]:
        cfg["hist_exog_list"] = HIST
        cfg["futr_exog_list"] = FUTR
    cfg["train"] = {"loss": {"quantile": q} if q else "mae", "scaler": "identity"}
    return cfg


def main():
    import neuralforecast
    os.makedirs(OUT, exist_ok=True)
    g = torch.Generator().manual_seed(4321)
    for case in CASES:
        model = build(case)
        model.eval()
        L, H = case["input_size"], case["h"]
        x = (LEVEL + (torch.randn(BATCH, L, generator=g) * 0.5).cumsum(1)).float()
        hist = futr = None
        if case["exog"]:
            hist = torch.randn(BATCH, L, len(HIST), generator=g).float()
            futr = torch.randn(BATCH, L + H, len(FUTR), generator=g).float()
        with torch.no_grad():
            y = forward(model, x, hist, futr)
        y = y.reshape(BATCH, H, -1).contiguous()
        meta = {"torch": torch.__version__, "neuralforecast": neuralforecast.__version__,
                "case": case["name"]}
        w = state(model)
        save_file(w, os.path.join(OUT, case["name"] + ".safetensors"), metadata=meta)
        io = {"input": x.contiguous(), "output": y}
        if case["exog"]:
            io["hist"] = hist.contiguous()
            io["futr"] = futr.contiguous()
        if case["train"]:
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
                io.update({f"step{k}.{n}": p.detach().clone().contiguous()
                           for n, p in params(model)})
            io["train_losses"] = torch.tensor(losses, dtype=torch.float32)
        save_file(io, os.path.join(OUT, case["name"] + "_io.safetensors"), metadata=meta)
        with open(os.path.join(OUT, case["name"] + ".json"), "w") as f:
            json.dump(config_json(case), f, indent=1)
            f.write("\n")
        n = sum(p.numel() for _, p in params(model))
        print(f"{case['name']}: {len(w)} state_dict tensors, {n} parameters, "
              f"output {tuple(y.shape)}, max|output| {y.abs().max().item():.4f}")


if __name__ == "__main__":
    main()
