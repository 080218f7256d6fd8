"""Parity fixtures for nt-neural: small neuralforecast 3.3.0 NHITS models, their weights, an input
batch and the reference outputs, written to crates/nt-neural/tests/fixtures/.

For each case NAME it writes
  NAME.safetensors     the model's state_dict (blocks.* only; float32), importable as is
  NAME_io.safetensors  "input" [B, L] float32, "output" [B, H, Q] float32 (NHITS.forward, eval mode)
  NAME.json            the neuralforecast arguments, translated to nt-neural's NhitsConfig fields
and for the training case also the target batch "train_y" (inputs: "input"), the gradients
torch computed at each step ("grad{k}.blocks...") and the weights after each of 3 plain-torch
Adam steps on the MAE loss ("step{k}.blocks..."), which checks our optimizer update and gradients.

Run (environment outside the repo; versions pinned in README.md):
  python3 -m venv /tmp/nfenv && /tmp/nfenv/bin/pip install torch neuralforecast==3.3.0 safetensors
  /tmp/nfenv/bin/python tools/reference/neuralforecast/make_parity.py
"""
import json
import os
import warnings

import torch
from safetensors.torch import save_file

warnings.filterwarnings("ignore")
os.environ.setdefault("NIXTLA_ID_AS_COL", "1")

from neuralforecast.losses.pytorch import MAE, MQLoss  # noqa: E402
from neuralforecast.models import NBEATS, NHITS  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
OUT = os.path.join(ROOT, "crates", "nt-neural", "tests", "fixtures")

CASES = [
    # Defaults except the sizes: max pooling [2,2,1], linear interpolation, ReLU, point output.
    dict(name="nhits_small", h=12, input_size=24, mlp_units=2 * [[32, 32]], n_blocks=[1, 1, 1],
         n_pool_kernel_size=[2, 2, 1], n_freq_downsample=[4, 2, 1], pooling_mode="MaxPool1d",
         interpolation_mode="linear", activation="ReLU", dropout_prob_theta=0.0, quantiles=None),
    # Quantile outputs, L not a multiple of the kernels (ceil_mode), average pooling, nearest
    # knots, two blocks in the first stack.
    dict(name="nhits_quantile_avg_nearest", h=10, input_size=25, mlp_units=2 * [[16, 16]],
         n_blocks=[2, 1, 1], n_pool_kernel_size=[3, 2, 1], n_freq_downsample=[3, 2, 1],
         pooling_mode="AvgPool1d", interpolation_mode="nearest", activation="Tanh",
         dropout_prob_theta=0.0, quantiles=[0.1, 0.5, 0.9]),
    # Cubic interpolation, max pooling with a partial last window, dropout (shifts the layer
    # indices in the state_dict; inactive in eval mode), SELU.
    dict(name="nhits_cubic_dropout", h=9, input_size=17, mlp_units=3 * [[16, 16]],
         n_blocks=[1, 1, 1], n_pool_kernel_size=[4, 2, 1], n_freq_downsample=[3, 2, 1],
         pooling_mode="MaxPool1d", interpolation_mode="cubic", activation="SELU",
         dropout_prob_theta=0.2, quantiles=None),
]

# N-BEATS: the default stacks (identity, trend, seasonality), and an interpretable model with
# quantile outputs, a Legendre trend basis and 3 harmonics. Their state_dicts also hold the fixed
# bases (blocks.N.basis.*), which the import must ignore.
NBEATS_CASES = [
    dict(name="nbeats_small", h=12, input_size=24, mlp_units=2 * [[32, 32]], n_blocks=[1, 1, 1],
         stack_types=["identity", "trend", "seasonality"], n_harmonics=2, n_basis=2,
         basis="polynomial", activation="ReLU", quantiles=None),
    dict(name="nbeats_interpretable_quantile", h=10, input_size=20, mlp_units=2 * [[16, 16]],
         n_blocks=[2, 2], stack_types=["trend", "seasonality"], n_harmonics=3, n_basis=3,
         basis="legendre", activation="ReLU", quantiles=[0.1, 0.5, 0.9]),
]

TRAIN_CASE = "nhits_small"
BATCH = 8


def build(case):
    torch.manual_seed(0)
    loss = MQLoss(quantiles=case["quantiles"]) if case["quantiles"] else MAE()
    model = NHITS(h=case["h"], input_size=case["input_size"], mlp_units=case["mlp_units"],
                  n_blocks=case["n_blocks"], stack_types=len(case["n_blocks"]) * ["identity"],
                  n_pool_kernel_size=case["n_pool_kernel_size"],
                  n_freq_downsample=case["n_freq_downsample"], pooling_mode=case["pooling_mode"],
                  interpolation_mode=case["interpolation_mode"], activation=case["activation"],
                  dropout_prob_theta=case["dropout_prob_theta"], loss=loss, random_seed=0,
                  max_steps=1, accelerator="cpu", logger=False, enable_progress_bar=False,
                  enable_model_summary=False)
    return model


def build_nbeats(case):
    torch.manual_seed(0)
    loss = MQLoss(quantiles=case["quantiles"]) if case["quantiles"] else MAE()
    return NBEATS(h=case["h"], input_size=case["input_size"], mlp_units=case["mlp_units"],
                  n_blocks=case["n_blocks"], stack_types=case["stack_types"],
                  n_harmonics=case["n_harmonics"], n_basis=case["n_basis"], basis=case["basis"],
                  activation=case["activation"], loss=loss, random_seed=0, max_steps=1,
                  accelerator="cpu", logger=False, enable_progress_bar=False,
                  enable_model_summary=False)


def nbeats_config_json(case):
    q = case["quantiles"]
    return {
        "input_size": case["input_size"], "horizon": case["h"], "stack_types": case["stack_types"],
        "stacks": case["n_blocks"], "mlp_units": case["mlp_units"],
        "n_harmonics": case["n_harmonics"], "n_basis": case["n_basis"], "basis": case["basis"],
        "activation": case["activation"], "train": {"loss": {"quantile": q} if q else "mae"},
    }


def forward(model, x):
    b, l = x.shape
    batch = {"insample_y": x.reshape(b, l, 1), "insample_mask": torch.ones(b, l, 1),
             "futr_exog": None, "hist_exog": None, "stat_exog": None}
    return model(batch)


def weights(model, prefix=""):
    return {prefix + k: v.detach().clone().contiguous() for k, v in model.state_dict().items()
            if k.startswith("blocks.")}


def config_json(case):
    q = case["quantiles"]
    return {
        "input_size": case["input_size"], "horizon": case["h"], "stacks": case["n_blocks"],
        "mlp_units": case["mlp_units"], "n_pool_kernel_size": case["n_pool_kernel_size"],
        "n_freq_downsample": case["n_freq_downsample"],
        "pooling": {"MaxPool1d": "max", "AvgPool1d": "avg"}[case["pooling_mode"]],
        "interpolation": case["interpolation_mode"], "dropout": case["dropout_prob_theta"],
        "activation": case["activation"],
        "train": {"loss": {"quantile": q} if q else "mae"},
    }


def main():
    import neuralforecast
    os.makedirs(OUT, exist_ok=True)
    g = torch.Generator().manual_seed(123)
    for case in CASES:
        model = build(case)
        model.eval()
        L, H = case["input_size"], case["h"]
        x = (torch.randn(BATCH, L, generator=g).cumsum(1) * 0.3).float()
        with torch.no_grad():
            y = forward(model, x)
        y = y.reshape(BATCH, H, -1).contiguous()
        meta = {"torch": torch.__version__, "neuralforecast": neuralforecast.__version__,
                "case": case["name"]}
        save_file(weights(model), os.path.join(OUT, case["name"] + ".safetensors"), metadata=meta)
        io = {"input": x.contiguous(), "output": y}
        if case["name"] == TRAIN_CASE:
            # Three plain-torch Adam steps (lr 1e-2) on the MAE between forward and a target batch.
            model.train()
            target = (x[:, -1:] + torch.randn(BATCH, H, generator=g).cumsum(1) * 0.3).float()
            io["train_y"] = target.contiguous()
            opt = torch.optim.Adam(model.parameters(), lr=1e-2)
            losses = []
            for k in range(1, 4):
                opt.zero_grad()
                loss = (forward(model, x).reshape(BATCH, H) - target).abs().mean()
                loss.backward()
                io.update({f"grad{k}.{n}": p.grad.detach().clone().contiguous()
                           for n, p in model.named_parameters() if n.startswith("blocks.")})
                opt.step()
                losses.append(loss.item())
                io.update(weights(model, prefix=f"step{k}."))
            io["train_losses"] = torch.tensor(losses, dtype=torch.float32)
        save_file(io, os.path.join(OUT, case["name"] + "_io.safetensors"), metadata=meta)
        with open(os.path.join(OUT, case["name"] + ".json"), "w") as f:
            json.dump(config_json(case), f, indent=1)
            f.write("\n")
        n = sum(p.numel() for p in model.parameters())
        print(f"{case['name']}: {n} parameters, output {tuple(y.shape)}")
    for case in NBEATS_CASES:
        model = build_nbeats(case)
        model.eval()
        L, H = case["input_size"], case["h"]
        x = (torch.randn(BATCH, L, generator=g).cumsum(1) * 0.3).float()
        with torch.no_grad():
            y = forward(model, x).reshape(BATCH, H, -1).contiguous()
        meta = {"torch": torch.__version__, "neuralforecast": neuralforecast.__version__,
                "case": case["name"]}
        state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()
                 if k.startswith("blocks.")}
        save_file(state, os.path.join(OUT, case["name"] + ".safetensors"), metadata=meta)
        save_file({"input": x.contiguous(), "output": y},
                  os.path.join(OUT, case["name"] + "_io.safetensors"), metadata=meta)
        with open(os.path.join(OUT, case["name"] + ".json"), "w") as f:
            json.dump(nbeats_config_json(case), f, indent=1)
            f.write("\n")
        print(f"{case['name']}: {sorted(state)[:3]}..., output {tuple(y.shape)}")

    make_exog_case(g)


# Exogenous inputs: two historic channels and one future-known channel, L = 13 with pooling
# kernels [3, 2, 1] (ceil mode on both the L and the L + H axes), average pooling.
EXOG_CASE = dict(name="nhits_exog", h=6, input_size=13, mlp_units=2 * [[16, 16]], n_blocks=[1, 1, 1],
                 n_pool_kernel_size=[3, 2, 1], n_freq_downsample=[3, 2, 1],
                 pooling_mode="AvgPool1d", interpolation_mode="linear", activation="ReLU",
                 dropout_prob_theta=0.0, quantiles=None)


def make_exog_case(g):
    """Writes NAME_io.safetensors with "input" [B, L], "hist" [B, L, 2], "futr" [B, L+H, 1] and
    "output" [B, H, 1] from NHITS.forward with hist_exog_list=[h1, h2], futr_exog_list=[f1]."""
    import neuralforecast
    case = EXOG_CASE
    L, H = case["input_size"], case["h"]
    torch.manual_seed(0)
    model = NHITS(h=H, input_size=L, mlp_units=case["mlp_units"], n_blocks=case["n_blocks"],
                  stack_types=3 * ["identity"], n_pool_kernel_size=case["n_pool_kernel_size"],
                  n_freq_downsample=case["n_freq_downsample"], pooling_mode=case["pooling_mode"],
                  interpolation_mode=case["interpolation_mode"], activation=case["activation"],
                  dropout_prob_theta=0.0, loss=MAE(), random_seed=0, max_steps=1,
                  hist_exog_list=["h1", "h2"], futr_exog_list=["f1"], accelerator="cpu",
                  logger=False, enable_progress_bar=False, enable_model_summary=False)
    model.eval()
    x = (torch.randn(BATCH, L, generator=g).cumsum(1) * 0.3).float()
    hist = torch.randn(BATCH, L, 2, generator=g).float()
    futr = torch.randn(BATCH, L + H, 1, generator=g).float()
    batch = {"insample_y": x.reshape(BATCH, L, 1), "insample_mask": torch.ones(BATCH, L, 1),
             "futr_exog": futr, "hist_exog": hist, "stat_exog": None}
    with torch.no_grad():
        y = model(batch).reshape(BATCH, H, -1).contiguous()
    meta = {"torch": torch.__version__, "neuralforecast": neuralforecast.__version__,
            "case": case["name"]}
    save_file(weights(model), os.path.join(OUT, case["name"] + ".safetensors"), metadata=meta)
    save_file({"input": x.contiguous(), "hist": hist.contiguous(), "futr": futr.contiguous(),
               "output": y}, os.path.join(OUT, case["name"] + "_io.safetensors"), metadata=meta)
    cfg = config_json(case)
    cfg["hist_exog_list"] = ["h1", "h2"]
    cfg["futr_exog_list"] = ["f1"]
    with open(os.path.join(OUT, case["name"] + ".json"), "w") as f:
        json.dump(cfg, f, indent=1)
        f.write("\n")
    n = sum(p.numel() for p in model.parameters())
    print(f"{case['name']}: {n} parameters, output {tuple(y.shape)}")


if __name__ == "__main__":
    main()
