"""Reference statistics that give a small library a good start (`desktop/data/priors/<space key>.npz`).

A library of one, ten or twenty tracks cannot tell from its own music how each feature varies across
music, or how it wanders inside a track; its own estimates are noise. Soundalike ships the statistics of
a reference library of freely licensed music for each vector space that has them (no labels are used:
only means, variances and the pooled within-track covariance, see desktop/data/README.md), and
`Standardizer.fit` shrinks the library's own statistics toward them with analytic weights, so the prior
fades by itself as the library grows. Regenerate with `bench/make_prior.py CORPUS`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from desktop.core.standardize import Standardizer, within_track_covariance


@dataclass(frozen=True)
class Prior:
    key: str
    mean: np.ndarray  # (dim,) raw feature means
    var: np.ndarray  # (dim,) raw feature variances
    within: np.ndarray  # (dim x dim) pooled within-track covariance of the raw part vectors, shrunk
    tracks: int
    parts: int


def priors_dir() -> Path:
    bundle = getattr(sys, "_MEIPASS", None)  # a PyInstaller bundle keeps data under desktop/data
    base = Path(bundle) / "desktop" if bundle else Path(__file__).resolve().parent.parent
    return base / "data" / "priors"


@lru_cache(maxsize=8)
def load_prior(key: str) -> Prior | None:
    """The shipped prior of a vector space, or None (model spaces and unknown keys have none)."""
    path = priors_dir() / f"{key}.npz"
    if not path.is_file():
        return None
    with np.load(path) as f:
        return Prior(key, f["mean"].astype(np.float64), f["var"].astype(np.float64),
                     f["within"].astype(np.float64), int(f["tracks"]), int(f["parts"]))


def fit_prior(key: str, raw: np.ndarray, parts: Iterable[np.ndarray], groups=()) -> Prior:
    """A prior from a reference library's raw vectors and per-track part vectors (no labels)."""
    parts = [np.asarray(p, np.float64) for p in parts]
    raw = np.asarray(raw, np.float64)
    st = Standardizer.fit(raw, groups)
    factor = st.weights.astype(np.float64) / st.scale.astype(np.float64)
    cov = within_track_covariance(parts, st.scale, st.weights)
    if cov is None:
        raise ValueError("a prior needs tracks read in at least two parts")
    within = cov / np.outer(factor, factor)  # back from standardised to raw units
    return Prior(key, raw.mean(0), raw.var(0), within, len(raw), sum(len(p) for p in parts if len(p) > 1))


def save_prior(prior: Prior, folder: Path | None = None) -> Path:
    folder = Path(folder) if folder else priors_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{prior.key}.npz"
    np.savez_compressed(path, mean=prior.mean.astype(np.float32), var=prior.var.astype(np.float32),
                        within=prior.within.astype(np.float32), tracks=prior.tracks, parts=prior.parts)
    return path
