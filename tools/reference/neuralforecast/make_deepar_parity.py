"""Parity fixtures for nt-neural's DeepAR and its distributions (neuralforecast 3.3.0, torch, scipy).

Writes to crates/nt-neural/tests/fixtures/:
  deepar_small.safetensors     the state_dict of a small DeepAR (input_size 12, h 4, h_train 2,
                               2 LSTM layers of 8, no dropout, Student-t head) after one fit step
                               (hist_encoder.weight_ih_l0 ..., decoder.layers.0.*, loss.quantiles)
  deepar_small_io.safetensors  "input" [B, L+1] (windows of L+1 values, a random walk around 10),
                               "raw" [B, 3] (the raw decoder outputs of the last input position:
                               the first step's df/loc/scale before the domain map), the training
                               batch "train_x" [B, L+1+h_train-1] (inputs then teacher-forced
                               target), "train_y" [B, h_train], its loss "train_loss" [1] (nf's
                               DistributionLoss NLL, identity scaler) and the gradients
                               "grad.<param>"; "series" [N] and "predict_mean" [H] (what
                               NeuralForecast.predict gives for the series' next H steps: the
                               mean-feedback roll-forward)
  deepar_small.json            the flat nt-neural spec of the model
  deepar_distributions.json    scipy.stats t / norm logpdf, cdf and ppf at a few points

Run: LD_LIBRARY_PATH=/tmp/nfstubs /tmp/nfenv/bin/python tools/reference/neuralforecast/make_deepar_parity.py
"""
import json
import os
import warnings

import numpy as np
import pandas as pd
import torch
from safetensors.torch import save_file

warnings.filterwarnings("ignore")
os.environ.setdefault("NIXTLA_ID_AS_COL", "1")

from neuralforecast import NeuralForecast  # noqa: E402
from neuralforecast.losses.pytorch import DistributionLoss  # noqa: E402
from neuralforecast.models import DeepAR  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
OUT = os.path.join(ROOT, "crates", "nt-neural", "tests", "fixtures")
L, H, HT, HID, B = 12, 4, 2, 8, 6


def distributions():
    from scipy import stats
    cases = []
    for df, loc, scale in [(3.0, 0.0, 1.0), (3.7, 1.5, 0.4), (12.0, -2.0, 3.0), (250.0, 0.3, 1.1)]:
        d = stats.t(df, loc, scale)
        xs = [loc - 3 * scale, loc - 0.5 * scale, loc, loc + 2.2 * scale]
        ps = [0.01, 0.05, 0.1, 0.5, 0.9, 0.95, 0.995]
        cases.append({"family": "student_t", "df": df, "loc": loc, "scale": scale, "x": xs,
                      "logpdf": [float(d.logpdf(x)) for x in xs],
                      "cdf": [float(d.cdf(x)) for x in xs],
                      "p": ps, "ppf": [float(d.ppf(p)) for p in ps]})
    for loc, scale in [(0.0, 1.0), (-1.0, 0.25)]:
        d = stats.norm(loc, scale)
        xs = [loc - 4 * scale, loc - 0.3 * scale, loc + 1.7 * scale]
        ps = [1e-6, 0.01, 0.05, 0.1, 0.5, 0.9, 0.975, 0.999999]
        cases.append({"family": "normal", "df": None, "loc": loc, "scale": scale, "x": xs,
                      "logpdf": [float(d.logpdf(x)) for x in xs],
                      "cdf": [float(d.cdf(x)) for x in xs],
                      "p": ps, "ppf": [float(d.ppf(p)) for p in ps]})
    return cases


def main():
    import neuralforecast
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "deepar_distributions.json"), "w") as f:
        json.dump(distributions(), f, indent=1)

    g = torch.Generator().manual_seed(99)
    n = 80
    series = (10.0 + (torch.randn(n, generator=g) * 0.5).cumsum(0)).float()
    df = pd.DataFrame({"unique_id": "s", "ds": pd.date_range("2020-01-01", periods=n, freq="h"),
                       "y": series.numpy().astype(np.float64)})
    model = DeepAR(h=H, input_size=L, h_train=HT, lstm_n_layers=2, lstm_hidden_size=HID,
                   lstm_dropout=0.0, loss=DistributionLoss("StudentT", level=[80, 90]),
                   max_steps=1, windows_batch_size=16, scaler_type="identity", random_seed=0,
                   accelerator="cpu", logger=False, enable_progress_bar=False,
                   enable_model_summary=False)
    nf = NeuralForecast(models=[model], freq="h")
    nf.fit(df, val_size=0)
    pred = nf.predict()
    predict_mean = torch.tensor(pred["DeepAR"].to_numpy(), dtype=torch.float32)
    m = nf.models[0]
    m.eval()
    state = {k: v.detach().clone().float().contiguous() for k, v in m.state_dict().items()}

    x = (10.0 + (torch.randn(B, L + 1, generator=g) * 0.5).cumsum(1)).float()
    with torch.no_grad():
        hs, _ = m.hist_encoder(x.reshape(B, L + 1, 1))
        raw = m.decoder(hs)[:, -1, :]

    # One training batch as _parse_windows builds it: L+1 inputs, then h_train-1 targets.
    y = (x[:, -1:] + (torch.randn(B, HT, generator=g) * 0.5).cumsum(1)).float()
    train_x = torch.cat([x, y[:, :-1]], 1)
    m.train()
    m.zero_grad()
    m.h = HT
    out = m({"insample_y": train_x.reshape(B, -1, 1), "insample_mask": torch.ones(B, L + HT, 1),
             "futr_exog": None, "hist_exog": None, "stat_exog": None})
    out = m.loss.domain_map(out)
    loc, scale = torch.zeros(B, 1, 1), torch.ones(B, 1, 1)
    distr_args = m.loss.scale_decouple(output=out, loc=loc, scale=scale)
    loss = m.loss(y=y.reshape(B, HT, 1), distr_args=distr_args, mask=torch.ones(B, HT, 1))
    loss.backward()
    io = {"input": x.contiguous(), "raw": raw.contiguous(), "train_x": train_x.contiguous(),
          "train_y": y.contiguous(), "train_loss": loss.detach().reshape(1),
          "series": series.contiguous(), "predict_mean": predict_mean.contiguous()}
    for name, p in m.named_parameters():
        if not p.requires_grad:  # loss.quantiles, a buffer-like parameter
            continue
        io["grad." + name] = p.grad.detach().clone().contiguous()
    meta = {"torch": torch.__version__, "neuralforecast": neuralforecast.__version__}
    save_file(state, os.path.join(OUT, "deepar_small.safetensors"), metadata=meta)
    save_file(io, os.path.join(OUT, "deepar_small_io.safetensors"), metadata=meta)
    spec = {"model": "deepar", "input_size": L, "horizon": H, "h_train": HT, "lstm_n_layers": 2,
            "lstm_hidden_size": HID, "lstm_dropout": 0.0, "feedback": "mean",
            "train": {"loss": {"distribution": {"distribution": "student_t", "levels": [80, 90]}},
                      "scaler": "identity"}}
    with open(os.path.join(OUT, "deepar_small.json"), "w") as f:
        json.dump(spec, f, indent=1)
    print("loss", loss.item(), "predict", predict_mean.tolist())


if __name__ == "__main__":
    main()
