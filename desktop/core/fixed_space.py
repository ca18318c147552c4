"""A reference space that does not move as the library grows: where closeness is measured.

The library's own space is refitted to its statistics (mean, scale, within-track whitening) as it
grows, which is what makes its ranking improve; but it also moves every pairwise score, so a closeness
read from it moved by 3 points on average (7 at most) when 50 unrelated tracks were added to 30
(bench/README.md). Here raw vectors are standardised with fixed statistics instead: the space's shipped
prior where there is one (spectral), else no standardisation at all (a model's raw vectors, by cosine).
Pairs of tracks already in the library keep their score whatever is added; only the neighbourhood a
query is compared against can change, and only when the new tracks are actually near it.

No copy of the library is held: candidates come from the vector store (a generous pool in the library's
space), and only they are read from the catalog and scored in the fixed space, so a query costs a few
store searches and a few hundred raw vectors at any library size.
"""

from __future__ import annotations

import numpy as np

from desktop.core.priors import load_prior
from desktop.core.standardize import Standardizer

POOL = 40  # store candidates rescored in the fixed space for the query's neighbourhood
NEIGHBOUR_POOL = 20  # ... and for each neighbour's own best matches
CACHE = 20000  # fixed-space unit vectors kept per library


class FixedSpace:
    def __init__(self, key: str, standardizer: Standardizer):
        self.key, self.std = key, standardizer
        self._units: dict[int, np.ndarray] = {}
        self.best: dict[int, list[float]] = {}  # track -> its best fixed scores, while the library keeps its size
        self.best_size = -1

    def to_unit(self, raw: np.ndarray) -> np.ndarray:
        return self.std.apply(raw)

    def units(self, catalog, ids) -> dict[int, np.ndarray]:
        """Fixed-space unit vectors of the tracks `ids` that have a raw vector (read once, then kept)."""
        ids = [int(t) for t in ids]
        missing = [t for t in ids if t not in self._units]
        if missing:
            raws = dict(catalog.raw_vectors(self.key, missing))
            if raws:
                order = list(raws)
                for t, u in zip(order, self.std.apply(np.stack([raws[t] for t in order]))):
                    self._units[t] = u
            if len(self._units) > CACHE:  # forget the oldest half
                for t in list(self._units)[: len(self._units) // 2]:
                    del self._units[t]
        return {t: self._units[t] for t in ids if t in self._units}


def top_scores(unit: np.ndarray, candidates: dict[int, np.ndarray], n: int, same: float) -> list[tuple[int, float]]:
    """The `n` best (id, fixed score) of `candidates` against `unit`, copies (score >= `same`) left out."""
    scored = [(t, float(v @ unit)) for t, v in candidates.items()]
    return sorted((p for p in scored if p[1] < same), key=lambda p: -p[1])[:n]


_SPACES: dict[tuple[str, str], FixedSpace] = {}


def fixed_space(library) -> FixedSpace | None:
    """The library's fixed reference space; None without an active space."""
    key = library.active_key
    if not key:
        return None
    cache_key = (str(library.catalog.path), key)
    if cache_key not in _SPACES:
        space = library.space(key)
        prior = load_prior(key)
        if prior is not None and len(prior.mean) == space.dim:
            std = Standardizer.fit(np.zeros((0, space.dim)), space.groups, prior=prior)
        else:
            std = Standardizer.identity(space.dim, space.groups)
        _SPACES[cache_key] = FixedSpace(key, std)
    return _SPACES[cache_key]
