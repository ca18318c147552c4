"""Second round of candidate blocks for bench/feature_blocks.py: timbre at other resolutions (issue 21).

  melenv    the fine spectral envelope: mean of the 64 log-mel bands minus each frame's mean level (the
            20 MFCCs keep only its smooth shape)
  contrast8 per-frame contrast (max - min dB) and spread (std dB) of the log-mel bands in 8 regions of 8 bands,
            averaged: peaks against valleys at a finer split than the embedder's six octaves
  texture4  the embedder's 23 per-frame descriptors' texture at 4 s instead of 1 s: mean spread inside
            4 s windows and spread of the 4 s window means (log), the phrase scale rather than the note scale
  mfcccov   how the timbre moves as a whole over 1 s: the correlations between the first 8 MFCCs' 1 s means
            (28 dims), a covariance at a slower resolution than per-frame
Each is computed from sums that add over segments (the track = its parts' sums), as the embedder does.
"""

from __future__ import annotations

import numpy as np

from desktop.core.embedders import spectral as S

BLOCKS = ("melenv", "contrast8", "texture4", "mfcccov")
TEX4 = 4 * S.TEX  # 128 frames = 4.1 s
_N_DESC = 2 * (len(S.OCTAVES) - 1) + S.N_SCALARS
_COV_K = 8
_TRI = np.triu_indices(_COV_K, 1)


def sums(logmel: np.ndarray, desc: np.ndarray) -> dict:
    n = len(logmel)
    shape = logmel - logmel.mean(1, keepdims=True)
    regions = logmel.reshape(n, 8, -1)
    out = {"e_sum": shape.sum(0), "c_sum": np.concatenate([np.ptp(regions, axis=2).sum(0), regions.std(2).sum(0)]),
           "e_n": n}
    full = n // TEX4 * TEX4
    w = desc[:full].reshape(-1, TEX4, desc.shape[1]).astype(np.float64) if full else np.zeros((0, TEX4, _N_DESC))
    means = w.mean(1) if full else np.zeros((0, _N_DESC))
    out.update({"x_std": w.std(1).sum(0) if full else np.zeros(_N_DESC), "x_sum": means.sum(0),
                "x_sq": (means**2).sum(0), "x_n": len(w)})
    full1 = n // S.TEX * S.TEX
    m = (logmel[:full1] @ S._DCT[:, :_COV_K]).reshape(-1, S.TEX, _COV_K).mean(1) if full1 else np.zeros((0, _COV_K))
    out.update({"v_sum": m.sum(0), "v_outer": m.T @ m, "v_n": len(m)})
    return out


def vectors(s: dict) -> dict[str, np.ndarray]:
    n = max(s["e_n"], 1)
    xn = max(s["x_n"], 1)
    xmean = s["x_sum"] / xn
    between = np.sqrt(np.maximum(s["x_sq"] / xn - xmean**2, 0))
    vn = max(s["v_n"], 1)
    mu = s["v_sum"] / vn
    cov = s["v_outer"] / vn - np.outer(mu, mu)
    sd = np.sqrt(np.maximum(np.diag(cov), 1e-9))
    corr = cov / np.outer(sd, sd) if s["v_n"] > 2 else np.zeros((_COV_K, _COV_K))
    return {"melenv": s["e_sum"] / n, "contrast8": s["c_sum"] / n,
            "texture4": np.log(np.concatenate([s["x_std"] / xn, between]) + S.N_DISP_EPS),
            "mfcccov": np.clip(corr[_TRI], -1, 1)}
