"""Parity fixtures for nt-neural's LSTM and GRU: small neuralforecast 3.3.0 LSTM/GRU models,
their weights, inputs and reference outputs, and a hand-written PyTorch attention head, written
to crates/nt-neural/tests/fixtures/rnn_*.

For each model case NAME it writes
  NAME.safetensors     the whole state_dict (float32) under neuralforecast's names
                       (hist_encoder.weight_ih_l{k}, ..., mlp_decoder.layers.{j}.*,
                       upsample_sequence.*, proj.*, and MQLoss's loss.quantiles buffer)
  NAME.json            the flat nt-neural spec (identity scaler)
  NAME_io.safetensors  direct mode: "input" [B, W] packed rows (target L, historic channels
                       time-major over L rows, future channels over L + H rows) and "output"
                       [B, H, Q] (the model's forward in eval mode);
                       recurrent mode: "train_input" [B, W_train] (the packed window of n = L + 1
                       rows with the future channels over n + h_train rows, then the first
                       h_train - 1 targets), "train_output" [B, h_train, Q] (forward on the
                       windows neuralforecast's own _parse_windows makes, h = h_train, as in
                       training_step), "train_y" [B, h_train]; and "predict_input" [1, W] (the
                       last window of the series, packed), "predict_output" [1, H, Q]
                       (NeuralForecast.predict on the fitted model, identity scaler, with the
                       future values in futr_df)
  and for cases with train=True: the gradients and weights of 3 torch Adam steps (lr 1e-2) on
  the MAE, "grad{k}.<param>", "step{k}.<param>", "train_losses" [3] (direct: of forward(input)
  against "train_y" [B, H]; recurrent: of the training forward against "train_y").
The attention case rnn_attention_io.safetensors holds "states" [B, T, C], the head's weights
under nt-neural's names (attention.{query,key,value,out}.{weight,bias}, attention.norm.*) and
"output" [B, T, C] of the reference module below.

Run (environment outside the repo; versions pinned in README.md):
  LD_LIBRARY_PATH=/tmp/nfstubs /tmp/nfenv/bin/python tools/reference/neuralforecast/make_rnn_parity.py
"""
import json
import math
import os
import warnings

import numpy as np
import pandas as pd
import torch
import torch.nn as nn
from safetensors.torch import save_file

warnings.filterwarnings("ignore")
os.environ.setdefault("NIXTLA_ID_AS_COL", "1")

from neuralforecast import NeuralForecast  # noqa: E402
from neuralforecast.losses.pytorch import MAE, MQLoss  # noqa: E402
from neuralforecast.models import GRU, LSTM  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
OUT = os.path.join(ROOT, "crates", "nt-neural", "tests", "fixtures")
BATCH = 6
HIST, FUTR = ["h1", "h2"], ["f1"]

CASES = [
    # Direct LSTM: the last H of 12 states, a 2-layer decoder; gradients over 3 Adam steps.
    dict(name="rnn_lstm_direct", cls=LSTM, h=4, input_size=12, exog=False, quantiles=None,
         recurrent=False, decoder_layers=2, train=True),
    # Direct GRU with exogenous channels and H > L (upsample_sequence), 3 quantiles, a 3-layer
    # decoder (mlp_decoder.layers.{0,3,6}).
    dict(name="rnn_gru_exog_upsample", cls=GRU, h=5, input_size=3, exog=True,
         quantiles=[0.1, 0.5, 0.9], recurrent=False, decoder_layers=3, train=False),
    # Recurrent LSTM (proj_size 1) with exogenous channels, h_train 3: teacher-forced training
    # forward, its gradients, and NeuralForecast.predict.
    dict(name="rnn_lstm_recurrent", cls=LSTM, h=4, input_size=12, exog=True, quantiles=None,
         recurrent=True, h_train=3, decoder_layers=2, train=True),
    # Recurrent GRU (proj C -> 3) with 3 quantiles (the mean fed back), no exogenous channels.
    dict(name="rnn_gru_recurrent", cls=GRU, h=4, input_size=12, exog=False,
         quantiles=[0.1, 0.5, 0.9], recurrent=True, h_train=2, decoder_layers=2, train=False),
]


def build(case, max_steps=1):
    torch.manual_seed(0)
    loss = MQLoss(quantiles=case["quantiles"]) if case["quantiles"] else MAE()
    extra = dict(hist_exog_list=HIST, futr_exog_list=FUTR) if case["exog"] else {}
    if case["recurrent"]:
        extra["h_train"] = case["h_train"]
    return case["cls"](h=case["h"], input_size=case["input_size"], encoder_n_layers=2,
                       encoder_hidden_size=8, decoder_hidden_size=8,
                       decoder_layers=case["decoder_layers"], recurrent=case["recurrent"],
                       loss=loss, scaler_type="identity", random_seed=0, max_steps=max_steps,
                       learning_rate=1e-2, windows_batch_size=8, val_check_steps=1000,
                       accelerator="cpu", logger=False, enable_progress_bar=False,
                       enable_model_summary=False, enable_checkpointing=False, **extra)


def config_json(case):
    q = case["quantiles"]
    cfg = {"model": case["cls"].__name__.lower(), "input_size": case["input_size"],
           "horizon": case["h"], "recurrent": case["recurrent"], "encoder_n_layers": 2,
           "encoder_hidden_size": 8, "decoder_hidden_size": 8,
           "decoder_layers": case["decoder_layers"]}
    if case["recurrent"]:
        cfg["h_train"] = case["h_train"]
    if case["exog"]:
        cfg["hist_exog_list"] = HIST
        cfg["futr_exog_list"] = FUTR
    cfg["train"] = {"loss": {"quantile": q} if q else "mae", "scaler": "identity"}
    return cfg


def state(model):
    return {k: v.detach().clone().float().contiguous() for k, v in model.state_dict().items()}


def params(model):
    return [(n, p) for n, p in model.named_parameters() if p.requires_grad]


def pack(y, hist, futr, extra=None):
    """Packed rows: target [B, n], hist [B, n, X] time-major, futr [B, m, F], then extra."""
    b = y.shape[0]
    parts = [y]
    if hist is not None:
        parts.append(hist.reshape(b, -1))
    if futr is not None:
        parts.append(futr.reshape(b, -1))
    if extra is not None:
        parts.append(extra)
    return torch.cat(parts, 1).float().contiguous()


def temporal_batch(g, case, rows):
    """[B, rows, C] windows: y (walk around 10), hist, futr, available_mask; column names."""
    y = 10.0 + (torch.randn(BATCH, rows, generator=g) * 0.5).cumsum(1)
    cols = [y.unsqueeze(-1)]
    names = ["y"]
    if case["exog"]:
        cols.append(torch.randn(BATCH, rows, len(HIST), generator=g))
        cols.append(torch.randn(BATCH, rows, len(FUTR), generator=g))
        names += HIST + FUTR
    cols.append(torch.ones(BATCH, rows, 1))
    names.append("available_mask")
    return torch.cat(cols, -1).float(), pd.Index(names)


def direct_forward(model, x, hist, futr):
    b, l = x.shape
    return model({"insample_y": x.reshape(b, l, 1), "insample_mask": torch.ones(b, l, 1),
                  "futr_exog": futr, "hist_exog": hist, "stat_exog": None})


def recurrent_train_forward(model, temporal, cols):
    """training_step's forward: h = h_train, neuralforecast's own _parse_windows."""
    model.h = model.h_train
    # neuralforecast's univariate windows carry a trailing series axis: [B, rows, C, 1].
    windows = {"temporal": temporal.clone().unsqueeze(-1), "temporal_cols": cols}
    insample_y, insample_mask, outsample_y, _, hist, futr, stat = model._parse_windows(
        {"y_idx": 0}, windows)
    out = model({"insample_y": insample_y,
                 "insample_mask": insample_mask, "futr_exog": futr, "hist_exog": hist,
                 "stat_exog": stat})
    return out, outsample_y


def adam_steps(model, io, loss_fn):
    opt = torch.optim.Adam([p for _, p in params(model)], lr=1e-2)
    losses = []
    for k in range(1, 4):
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        io.update({f"grad{k}.{n}": p.grad.detach().clone().contiguous() for n, p in params(model)})
        opt.step()
        losses.append(loss.item())
        io.update({f"step{k}.{n}": p.detach().clone().contiguous() for n, p in params(model)})
    io["train_losses"] = torch.tensor(losses, dtype=torch.float32)


def predict_case(case, g):
    """Fits 1 step on a small panel, then NeuralForecast.predict; returns the fitted model, the
    last window packed and the forecast [1, H, Q]."""
    n_rows, h = 40, case["h"]
    y = 10.0 + np.cumsum(np.asarray(torch.randn(n_rows, generator=g)) * 0.5)
    ds = pd.date_range("2024-01-01", periods=n_rows + h, freq="h")
    df = pd.DataFrame({"unique_id": "a", "ds": ds[:n_rows], "y": y.astype(np.float32)})
    futr_df = pd.DataFrame({"unique_id": "a", "ds": ds[n_rows:]})
    if case["exog"]:
        ex = np.asarray(torch.randn(n_rows + h, 3, generator=g), dtype=np.float32)
        df["h1"], df["h2"], df["f1"] = ex[:n_rows, 0], ex[:n_rows, 1], ex[:n_rows, 2]
        futr_df["f1"] = ex[n_rows:, 2]
    model = build(case, max_steps=1)
    nf = NeuralForecast(models=[model], freq="h")
    nf.fit(df, val_size=0)
    fc = nf.predict(futr_df=futr_df if case["exog"] else None)
    value_cols = [c for c in fc.columns if c not in ("unique_id", "ds")]
    pred = torch.tensor(fc[value_cols].to_numpy(dtype=np.float32)).reshape(1, h, -1)
    fitted = nf.models[0]
    n = case["input_size"] + 1
    target = torch.tensor(df["y"].to_numpy()[-n:]).reshape(1, n)
    hist = futr = None
    if case["exog"]:
        hist = torch.tensor(df[HIST].to_numpy()[-n:]).reshape(1, n, 2)
        f_all = np.concatenate([df["f1"].to_numpy()[-n:], futr_df["f1"].to_numpy()])
        futr = torch.tensor(f_all).reshape(1, n + h, 1)
    return fitted, pack(target, hist, futr), pred.contiguous(), value_cols


class ReferenceAttention(nn.Module):
    """The attention head nt-neural's rnn/attention.rs documents: causal multi-head
    self-attention, residual, LayerNorm (written out, not nn.MultiheadAttention)."""

    def __init__(self, c, heads):
        super().__init__()
        self.heads = heads
        self.query, self.key, self.value, self.out = (nn.Linear(c, c) for _ in range(4))
        self.norm = nn.LayerNorm(c)

    def forward(self, s):
        b, t, c = s.shape
        d = c // self.heads
        split = lambda z: z.reshape(b, t, self.heads, d).transpose(1, 2)
        q, k, v = split(self.query(s)), split(self.key(s)), split(self.value(s))
        scores = q @ k.transpose(-1, -2) / math.sqrt(d)
        mask = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)
        p = torch.softmax(scores.masked_fill(mask, float("-inf")), dim=-1)
        o = (p @ v).transpose(1, 2).reshape(b, t, c)
        return self.norm(s + self.out(o))


def main():
    import neuralforecast
    os.makedirs(OUT, exist_ok=True)
    meta = {"torch": torch.__version__, "neuralforecast": neuralforecast.__version__}
    g = torch.Generator().manual_seed(2024)
    for case in CASES:
        name, L, H = case["name"], case["input_size"], case["h"]
        io = {}
        if not case["recurrent"]:
            model = build(case)
            model.eval()
            x = (10.0 + (torch.randn(BATCH, L, generator=g) * 0.5).cumsum(1)).float()
            hist = futr = None
            if case["exog"]:
                hist = torch.randn(BATCH, L, 2, generator=g).float()
                futr = torch.randn(BATCH, L + H, 1, generator=g).float()
            with torch.no_grad():
                y = direct_forward(model, x, hist, futr).reshape(BATCH, H, -1)
            io["input"] = pack(x, hist, futr)
            io["output"] = y.contiguous()
            weights = state(model)
            if case["train"]:
                model.train()
                target = (x[:, -1:] + (torch.randn(BATCH, H, generator=g) * 0.5).cumsum(1))
                io["train_y"] = target.float().contiguous()
                adam_steps(model, io, lambda: (direct_forward(model, x, hist, futr)
                                               .reshape(BATCH, H) - target).abs().mean())
        else:
            model, p_in, p_out, cols = predict_case(case, g)
            io["predict_input"], io["predict_output"] = p_in, p_out
            meta_cols = ",".join(cols)
            weights = state(model)
            model.eval()
            n, ht = L + 1, case["h_train"]
            temporal, names = temporal_batch(g, case, n + ht)
            with torch.no_grad():
                out, outsample_y = recurrent_train_forward(model, temporal, names)
            q = out.shape[-1]
            io["train_output"] = out.reshape(BATCH, ht, q).float().contiguous()
            io["train_y"] = outsample_y.reshape(BATCH, ht).float().contiguous()
            hist = temporal[:, :n, 1:3] if case["exog"] else None
            futr = temporal[:, :, 3:4] if case["exog"] else None
            forced = temporal[:, n:n + ht - 1, 0]
            io["train_input"] = pack(temporal[:, :n, 0], hist, futr, forced)
            if case["train"]:
                model.train()

                def loss_fn():
                    o, ys = recurrent_train_forward(model, temporal, names)
                    return (o.reshape(BATCH, ht) - ys.reshape(BATCH, ht)).abs().mean()
                adam_steps(model, io, loss_fn)
            meta = dict(meta, predict_columns=meta_cols)
        save_file(weights, os.path.join(OUT, name + ".safetensors"), metadata=meta)
        save_file(io, os.path.join(OUT, name + "_io.safetensors"), metadata=meta)
        with open(os.path.join(OUT, name + ".json"), "w") as f:
            json.dump(config_json(case), f, indent=1)
            f.write("\n")
        print(name, sorted(weights), {k: tuple(v.shape) for k, v in io.items()
                                      if not k.startswith(("grad", "step"))})

    torch.manual_seed(3)
    att = ReferenceAttention(8, 2)
    with torch.no_grad():
        for prm in att.norm.parameters():
            prm.add_(torch.randn(prm.shape) * 0.1)
        s = torch.randn(3, 7, 8, generator=g)
        y = att(s)
    io = {f"attention.{k}": v.detach().clone().contiguous() for k, v in att.state_dict().items()}
    io["states"], io["output"] = s.contiguous(), y.contiguous()
    save_file(io, os.path.join(OUT, "rnn_attention_io.safetensors"), metadata=meta)
    print("rnn_attention", sorted(io))


if __name__ == "__main__":
    main()
