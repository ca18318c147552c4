"""Library-level standardisation: raw embedder vectors -> the unit vectors the store compares.

Why: raw features live on wildly different scales (a tempo in BPM beside log energies), and learned
embeddings have a few "rogue" dimensions that dominate cosine similarity. Standardising each dimension
over the user's own library (z-scores), then giving every feature group the same total weight, makes
cosine similarity listen to all of them. The statistics are the library's, not constants fitted to any
corpus, so they adapt to whatever music the user has.

Within-track whitening (WCCN, "within-class covariance normalisation" from speaker verification): an
embedder that reads a track in parts (spectral: its excerpts) also returns one vector per part. How a
track's parts differ from each other is what changes *inside* one piece of music (a quiet intro, a
louder chorus): variation that says nothing about what the track sounds like. Whitening by the library's
pooled within-track covariance turns down the directions that wander inside tracks and turns up the
ones that stay put (instrumentation, production, the mix). It needs no labels, only the user's own
tracks; the covariance is shrunk toward its diagonal with the Schafer-Strimmer formula, so even a small
library gets a well-conditioned estimate without a tuned constant. Measured gains
(bench/README.md): spectral P@10 0.507 -> 0.554, the MFCC baseline 0.384 -> 0.409, and the gain holds when
the covariance comes from other tracks than the ones ranked.

A prior for small libraries (`desktop.core.priors`): ten tracks, or one, say little about which
features vary and how. A reference library's statistics ship with Soundalike, and the library's own
statistics are shrunk toward them by how much its own data can be trusted: the same analytic
(Schafer-Strimmer / James-Stein) weights as above, so the prior fades by itself as the library grows and
no constant decides when. Measured (bench/README.md): a one-track library ranks at P@10 0.449 with the
prior instead of 0.267; 2-5 tracks +0.01-0.02; from 10 tracks on the two are within noise.

Raw vectors stay in the catalog; when the library has grown or shrunk enough, the statistics are
refitted and every stored vector is rewritten (`Library.refit`), so all vectors in a collection always
share one set of statistics.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from desktop.core.priors import Prior  # priors imports this module; the type is only for reading

# Refit when the library size moved by this factor since the last fit ...
REFIT_GROWTH = 1.25
# ... or, at the end of a run, by this share (small libraries refit on every change: it is cheap).
REFIT_DRIFT = 0.02
SMALL_LIBRARY = 2000
# Within-track whitening may turn a direction up by at most this factor over the average one.
MAX_GAIN = 10.0


@dataclass
class Standardizer:
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray  # per-dimension group weight: 1/sqrt(group size)
    n: int = 0  # how many vectors the statistics came from
    whitening: np.ndarray | None = None  # (dim x dim) within-track whitening, applied after the z-score


    @classmethod
    def identity(cls, dim: int, groups=()) -> Standardizer:
        return cls(np.zeros(dim, np.float32), np.ones(dim, np.float32), group_weights(dim, groups), 0)

    @classmethod
    def fit(cls, raw: np.ndarray, groups=(), parts: Iterable[np.ndarray] = (),
            prior: Prior | None = None) -> Standardizer:
        """Statistics of a library's raw vectors; `parts`: each track's per-part raw vectors (k x dim);
        `prior`: reference statistics to shrink toward (a library of 0 or 1 track gets the prior's own)."""
        dim = len(prior.mean) if prior is not None else np.shape(raw)[-1]
        raw = np.asarray(raw, np.float64).reshape(-1, dim)
        n = len(raw)
        weights = group_weights(dim, groups)
        if prior is not None:
            mean, var = shrink_moments(raw, prior)
            scale = _floored(np.sqrt(var))
            target = prior.within * np.outer(weights / scale, weights / scale)
            whitening = within_track_whitening(parts, scale, weights, target=target)
            return cls(mean.astype(np.float32), scale.astype(np.float32), weights, n, whitening)
        if n < 2:
            return cls.identity(dim, groups)
        scale = _floored(raw.std(axis=0))
        whitening = within_track_whitening(parts, scale, weights)
        return cls(raw.mean(axis=0).astype(np.float32), scale.astype(np.float32), weights, n, whitening)

    def apply(self, raw: np.ndarray) -> np.ndarray:
        """Unit vector(s) for raw vector(s): z-score, group weights, L2 norm. Never zero, never NaN."""
        raw = np.asarray(raw, np.float32)
        single = raw.ndim == 1
        x = np.atleast_2d(raw)
        z = (x - self.mean) / self.scale * self.weights
        if self.whitening is not None:
            z = z @ self.whitening
        norms = np.linalg.norm(z, axis=1, keepdims=True)
        flat = (norms[:, 0] < 1e-9) | ~np.isfinite(norms[:, 0])
        if flat.any():  # exactly the library mean (or a one-track library): keep the raw direction
            alt = np.nan_to_num(x[flat] / self.scale * self.weights)
            alt[np.linalg.norm(alt, axis=1) < 1e-12] = 1.0
            z[flat] = alt
            norms[flat] = np.linalg.norm(alt, axis=1, keepdims=True)
        out = (z / norms).astype(np.float32)
        return out[0] if single else out


def within_track_whitening(parts: Iterable[np.ndarray], scale: np.ndarray, weights: np.ndarray,
                           min_rows: int = 4, target: np.ndarray | None = None) -> np.ndarray | None:
    """W^(-1/2) of the pooled within-track covariance W of the standardised part vectors, or None."""
    cov = within_track_covariance(parts, scale, weights, min_rows, target)
    return None if cov is None else _inverse_sqrt(cov)


def within_track_covariance(parts: Iterable[np.ndarray], scale: np.ndarray, weights: np.ndarray,
                            min_rows: int = 4, target: np.ndarray | None = None) -> np.ndarray | None:
    """The pooled within-track covariance W of the standardised part vectors, shrunk; None if unknown.

    `target` (a prior's within-track covariance in the same standardised units): W is shrunk toward it
    instead of toward its own diagonal, every entry with the same Schafer-Strimmer weight; with no parts
    at all the target itself is used.

    Streams the tracks (one k x dim matrix each; tracks with one part carry no information) and keeps
    only dim x dim sums, so memory does not grow with the library. W is shrunk toward its own diagonal
    with the Schafer-Strimmer (2005) weight, computed from the same sums: lambda = sum of the estimated
    variances of the off-diagonal covariances / sum of their squares. No direction is weighted more than
    `MAX_GAIN` times the average one, so a feature that happens never to move inside tracks cannot take over.
    """
    dim = len(scale)
    factor = np.asarray(weights, np.float64) / np.asarray(scale, np.float64)
    scatter, fourth, rows, batch = np.zeros((dim, dim)), np.zeros((dim, dim)), 0, []

    def add(devs: list[np.ndarray]) -> None:  # a few thousand rows per product: far fewer Python steps
        nonlocal scatter, fourth
        dev = np.concatenate(devs)
        sq = dev**2
        scatter += dev.T @ dev
        fourth += sq.T @ sq

    for p in parts:
        p = np.asarray(p, np.float64).reshape(-1, dim)
        if len(p) < 2 or not np.isfinite(p).all():
            continue
        batch.append((p - p.mean(0)) * factor)  # the mean and the library mean cancel: only the scale matters
        rows += len(p)
        if len(batch) >= 1000:
            add(batch)
            batch = []
    if batch:
        add(batch)
    if rows < min_rows:
        return None if target is None else np.asarray(target, np.float64)
    cov = scatter / rows
    variance = (fourth - rows * cov**2) / (rows * (rows - 1))  # of each covariance estimate
    if target is None:  # toward its own diagonal: only the off-diagonal entries are shrunk
        target, entries = np.diag(np.diag(cov)), ~np.eye(dim, dtype=bool)
    else:
        entries = np.ones((dim, dim), bool)
    denom = float(((cov - target)[entries] ** 2).sum())
    lam = 1.0 if denom <= 1e-18 else float(np.clip(variance[entries].sum() / denom, 0.0, 1.0))
    return (1 - lam) * cov + lam * target


def _inverse_sqrt(shrunk: np.ndarray) -> np.ndarray | None:
    """shrunk^(-1/2), scaled to keep the average variance, no direction gaining over MAX_GAIN."""
    dim = len(shrunk)
    mu = float(np.trace(shrunk)) / dim
    if mu <= 1e-12:
        return None
    values, vectors = np.linalg.eigh(shrunk)
    values = np.maximum(values, mu / MAX_GAIN**2)
    return ((vectors / np.sqrt(values)) @ vectors.T * np.sqrt(mu)).astype(np.float32)


def shrink_moments(raw: np.ndarray, prior: Prior) -> tuple[np.ndarray, np.ndarray]:
    """The library's per-dimension mean and variance, shrunk toward the prior's.

    Worked in the prior's own units (each dimension z-scored by the prior), so every dimension counts the
    same in the weights. Each weight is (estimated variance of the library's estimate) / (its squared
    distance from the prior's value), summed over dimensions and clipped to [0, 1] (James-Stein for the
    means, Schafer-Strimmer for the variances, whose sampling variance has the Gaussian 2 v^2 / (n - 1)
    as a floor, so two tracks that happen to agree are not taken for certainty)."""
    n = len(raw)
    if n < 2:
        return prior.mean.astype(np.float64), prior.var.astype(np.float64)
    s0 = np.sqrt(np.maximum(prior.var, 1e-18))
    z = (raw - prior.mean) / s0
    mz, vz = z.mean(0), z.var(0)
    lam_mean = float(np.clip((vz / n).sum() / max(float((mz**2).sum()), 1e-18), 0.0, 1.0))
    fourth = ((z - mz) ** 4).mean(0)
    var_of_var = np.maximum(np.maximum(fourth - vz**2, 0.0) / n, 2 * vz**2 / (n - 1))
    lam_var = float(np.clip(var_of_var.sum() / max(float(((vz - 1) ** 2).sum()), 1e-18), 0.0, 1.0))
    mean = prior.mean + s0 * (1 - lam_mean) * mz
    var = prior.var * ((1 - lam_var) * vz + lam_var)
    return mean, var


def _floored(std: np.ndarray) -> np.ndarray:
    """A dimension that barely varies in this library must not explode on a new file."""
    positive = std[std > 0]
    floor = max(1e-8, 1e-2 * float(np.median(positive))) if positive.size else 1e-8
    return np.maximum(std, floor)


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
