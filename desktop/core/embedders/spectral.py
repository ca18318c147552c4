"""PROVISIONAL stand-in written by the lead so the pipeline runs end to end while the real spectral
embedder is being tuned. helper-1 owns this file and replaces it entirely (keep `parallel` and
`options`, which the indexer uses).

Log-mel band statistics over excerpts spread across the track.
"""

from __future__ import annotations

import numpy as np

from desktop.core.decode import TARGET_SR, AudioSource
from desktop.core.embedders.base import Embedder, register

N_FFT, HOP, N_MELS = 1024, 512, 40


def _mel_fb(n_mels=N_MELS, n_fft=N_FFT, sr=TARGET_SR):
    mel = lambda f: 2595 * np.log10(1 + f / 700)  # noqa: E731
    inv = lambda m: 700 * (10 ** (m / 2595) - 1)  # noqa: E731
    pts = inv(np.linspace(mel(30), mel(sr / 2), n_mels + 2))
    bins = np.fft.rfftfreq(n_fft, 1 / sr)
    fb = np.zeros((n_mels, len(bins)), np.float32)
    for i in range(n_mels):
        lo, c, hi = pts[i : i + 3]
        fb[i] = np.clip(np.minimum((bins - lo) / (c - lo), (hi - bins) / (hi - c)), 0, None)
    return fb


_FB = _mel_fb()


@register("spectral")
class SpectralEmbedder(Embedder):
    name, version, dim = "spectral", "0", 2 * N_MELS
    groups = (("mean", 0, N_MELS), ("std", N_MELS, 2 * N_MELS))
    parallel = True

    def __init__(self, **options):
        self.options = {}

    def embed(self, source: AudioSource) -> np.ndarray:
        d = source.duration
        starts = [0.0] if d <= 60 else list(np.linspace(0, d - 10, 6))
        x = np.concatenate([source.read(s, 10.0 if d > 60 else 60.0) for s in starts] + [np.zeros(N_FFT, np.float32)])
        frames = np.lib.stride_tricks.sliding_window_view(x, N_FFT)[::HOP]
        frames = (frames - frames.mean(axis=1, keepdims=True)) * np.hanning(N_FFT).astype(np.float32)
        logmel = np.log(np.abs(np.fft.rfft(frames, axis=1)) ** 2 @ _FB.T + 1e-6)
        return np.concatenate([logmel.mean(0), logmel.std(0)]).astype(np.float32)
