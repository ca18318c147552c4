"""Why two tracks sound alike, in plain words: how close they are in each family of features.

The spectral vector is made of named features (see `desktop.core.embedders.spectral`); here they are
sorted into groups a listener recognises: tone colour, brightness, dynamics, texture, rhythm and tempo.
A group's distance is the mean squared difference of the two tracks' z-scores (the library's own
standardisation) over the group's features. A bare distance means nothing to a user, so it is ranked
against the same group's distance between each sampled track and its nearest neighbour (kept by
`desktop.core.calibration`): "same rhythm" = as alike in rhythm as the closest pairs of this library,
"different brightness" = further apart than almost every nearest-neighbour pair.

Model spaces (wav2vec2 and other learned embeddings) have no named features: they get no group words.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Where a group's distance falls among the library's nearest-neighbour pairs -> the word for it.
WORDS = ((40.0, "same"), (75.0, "similar"), (92.0, "somewhat different"), (101.0, "different"))


def spectral_groups() -> tuple[tuple[str, np.ndarray], ...]:
    """(plain name, raw-vector indices) of the spectral embedder's features, by what a listener hears."""
    from desktop.core.embedders import spectral as sp  # lazy: the spectral embedder stays out of the window's start-up

    n_desc = 2 * (len(sp.OCTAVES) - 1) + sp.N_SCALARS  # per-frame descriptors, see spectral._frame_features
    bands = len(sp.OCTAVES) - 1
    contrast, flatness = range(0, bands), range(bands, 2 * bands)
    centroid, spread, roll85, roll99, entropy, slope, crest, npeaks, zcr = range(2 * bands, 2 * bands + 9)
    level, silent = 2 * bands + 9, 2 * bands + 10

    def mean(i):  # texture statistics: [means, mean |delta|, spread in 1 s, spread of 1 s means]
        return [sp.N_MFCC + i]

    def motion(i):
        return [sp.N_MFCC + k * n_desc + i for k in (1, 2, 3)]

    tone = list(range(1, sp.N_MFCC)) + [j for i in (*contrast, *flatness, entropy, npeaks) for j in mean(i)]
    bright = [j for i in (centroid, spread, roll85, roll99, slope, zcr) for j in mean(i)]
    dynamics = [0] + mean(level) + mean(crest) + motion(level) + mean(silent) + motion(silent)
    texture = [j for i in range(n_desc) if i not in (level, silent) for j in motion(i)]
    rhythm = list(range(sp.TIMBRE_DIM, sp.TIMBRE_DIM + sp.MOTION_DIM))
    return tuple((name, np.asarray(ix)) for name, ix in (
        ("tone colour", tone), ("brightness", bright), ("dynamics", dynamics), ("texture", texture),
        ("rhythm and tempo", rhythm)))


def groups_for(key: str | None):
    """The explainable feature groups of a vector space, or () when it has none."""
    return spectral_groups() if key and key.startswith("spectral-") else ()


def group_distances(groups, mean: np.ndarray, scale: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per group: mean squared z-score difference of raw vectors a and b (2.0 for two random tracks). With
    `b` a matrix of raw vectors (one a row), a row of group distances for each: a similar query explains all
    its hits in a few array operations instead of a Python loop over hits and groups."""
    z = (np.asarray(a, np.float64) - np.asarray(b, np.float64)) / np.asarray(scale, np.float64)
    return np.stack([np.mean(z[..., ix] ** 2, axis=-1) for _, ix in groups], axis=-1)


def percentile_of(value, sorted_values: np.ndarray):
    """Where `value` (a number, or an array of them) falls in a sorted sample, 0-100, interpolated between
    neighbours (smooth, so a slightly bigger library moves it slightly, never by a whole step)."""
    v = np.asarray(sorted_values, np.float64)
    x = np.asarray(value, np.float64)
    if len(v) == 1:
        out = np.where(x == v[0], 50.0, np.where(x > v[0], 100.0, 0.0))
    elif not len(v):
        out = np.full(x.shape, 50.0)
    else:
        out = np.interp(x, v, np.linspace(0.0, 100.0, len(v)), left=0.0, right=100.0)
    return float(out) if out.ndim == 0 else out


@dataclass
class GroupLikeness:
    group: str
    word: str  # same / similar / somewhat different / different
    percentile: float  # of the distance among the library's nearest-neighbour pairs (low = alike)
    distance: float

    def to_dict(self) -> dict:
        return dict(self.__dict__)  # flat fields: dataclasses.asdict's deep copy cost ~20 us a group, 125 a query


def likeness_many(groups, distances: np.ndarray, reference: dict[str, list[float]]) -> list[list[GroupLikeness]]:
    """For each row of `group_distances` (one a hit), each group's word and percentile among the library's
    nearest-neighbour pairs; the percentiles of a group for all rows in one interpolation."""
    distances = np.asarray(distances, np.float64)
    percentiles = np.stack([percentile_of(distances[:, g], reference.get(name, ()))
                            for g, (name, _) in enumerate(groups)], axis=1)
    return [[GroupLikeness(name, next(w for limit, w in WORDS if p < limit), round(float(p), 1), round(float(d), 4))
             for (name, _), p, d in zip(groups, p_row, d_row)]
            for p_row, d_row in zip(percentiles, distances)]


def why_text(parts: list[GroupLikeness]) -> str:
    """'same rhythm and tempo, similar tone colour, different brightness': alike first, then the rest."""
    order = {w: i for i, (_, w) in enumerate(WORDS)}
    ranked = sorted(parts, key=lambda g: (order[g.word], g.percentile))
    return ", ".join(f"{g.word} {g.group}" for g in ranked)
