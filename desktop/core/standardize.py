"""Library-level standardisation: raw embedder vectors -> the unit vectors the store compares.

Why: raw features live on wildly different scales (a tempo in BPM beside log energies), and learned
embeddings have a few "rogue" dimensions that dominate cosine similarity. Standardising each dimension
over the user's own library (z-scores), then giving every feature group the same total weight, makes
cosine similarity listen to all of them. The statistics are the library's, not constants fitted to any
corpus, so they adapt to whatever music the user has.

Raw vectors stay in the catalog; when the library has grown or shrunk enough, the statistics are
refitted and every stored vector is rewritten (`Library.refit`), so all vectors in a collection always
share one set of statistics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Refit when the library size moved by this factor since the last fit ...
REFIT_GROWTH = 1.25
# ... or, at the end of a run, by this share (small libraries refit on every change: it is cheap).
REFIT_DRIFT = 0.02
SMALL_LIBRARY = 2000


@dataclass
class Standardizer:
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray  # per-dimension group weight: 1/sqrt(group size)
    n: int = 0  # how many vectors the statistics came from

    @classmethod
    def identity(cls, dim: int, groups=()) -> "Standardizer":
        return cls(np.zeros(dim, np.float32), np.ones(dim, np.float32), group_weights(dim, groups), 0)

    @classmethod
    def fit(cls, raw: np.ndarray, groups=()) -> "Standardizer":
        raw = np.asarray(raw, np.float64)
        n, dim = raw.shape
        if n < 2:
            return cls.identity(dim, groups)
        mean = raw.mean(axis=0)
        std = raw.std(axis=0)
        # A dimension that barely varies in this library must not explode on a new file.
        floor = max(1e-8, 1e-2 * float(np.median(std[std > 0])) if (std > 0).any() else 1e-8)
        scale = np.maximum(std, floor)
        return cls(mean.astype(np.float32), scale.astype(np.float32), group_weights(dim, groups), n)

    def apply(self, raw: np.ndarray) -> np.ndarray:
        """Unit vector(s) for raw vector(s): z-score, group weights, L2 norm. Never zero, never NaN."""
        raw = np.asarray(raw, np.float32)
        single = raw.ndim == 1
        x = np.atleast_2d(raw)
        z = (x - self.mean) / self.scale * self.weights
        norms = np.linalg.norm(z, axis=1, keepdims=True)
        flat = (norms[:, 0] < 1e-9) | ~np.isfinite(norms[:, 0])
        if flat.any():  # exactly the library mean (or a one-track library): keep the raw direction
            alt = np.nan_to_num(x[flat] / self.scale * self.weights)
            alt[np.linalg.norm(alt, axis=1) < 1e-12] = 1.0
            z[flat] = alt
            norms[flat] = np.linalg.norm(alt, axis=1, keepdims=True)
        out = (z / norms).astype(np.float32)
        return out[0] if single else out


def group_weights(dim: int, groups) -> np.ndarray:
    """1/sqrt(size) per group so each group's squared norm contributes equally; ungrouped dims: 1/sqrt(dim)."""
    w = np.full(dim, 1.0 / np.sqrt(dim), np.float32)
    for _, start, stop in groups:
        w[start:stop] = 1.0 / np.sqrt(max(1, stop - start))
    return w


def needs_refit(fitted_n: int, current_n: int, final: bool) -> bool:
    """Mid-run: only on large growth (each refit rewrites every vector). At the end: on any real drift."""
    if current_n < 2:
        return False
    if fitted_n < 2:
        return True
    if current_n >= fitted_n * REFIT_GROWTH or current_n <= fitted_n / REFIT_GROWTH:
        return True
    if final:
        if current_n <= SMALL_LIBRARY:
            return current_n != fitted_n
        return abs(current_n - fitted_n) > REFIT_DRIFT * fitted_n
    return False
