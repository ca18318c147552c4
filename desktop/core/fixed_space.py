"""A reference space that does not move as the library grows: where closeness is measured.

The library's own space is refitted to its statistics (mean, scale, within-track whitening) as it
grows, which is what makes its ranking improve; but it also moves every pairwise score, so a closeness
read from it moved by 3 points on average (7 at most) when 50 unrelated tracks were added to 30
(bench/README.md). Here raw vectors are standardised with fixed statistics instead: the space's shipped
prior where there is one (spectral), else no standardisation at all (a model's raw vectors, by cosine).
Pairs of tracks already in the library keep their score whatever is added; only the neighbourhood a
query is compared against can change, and only when the new tracks are actually near it.

The library's raw vectors in this space are kept in memory per library (float32; new tracks are added
to it, removed ones dropped, without reading the rest again).
"""

from __future__ import annotations

import numpy as np

from desktop.core.priors import load_prior
from desktop.core.standardize import Standardizer


class FixedSpace:
    def __init__(self, key: str, standardizer: Standardizer):
        self.key, self.std = key, standardizer
        self.ids = np.zeros(0, np.int64)
        self.units = np.zeros((0, len(standardizer.mean)), np.float32)
        self.row: dict[int, int] = {}

    def sync(self, catalog) -> None:
        """Hold exactly the catalog's searchable tracks of this space (reading only the new ones)."""
        want = sorted(catalog.searchable_ids(self.key))
        if len(want) == len(self.ids) and np.array_equal(self.ids, want):
            return
        keep = np.isin(self.ids, want)
        ids, units = self.ids[keep], self.units[keep]
        new = sorted(set(want) - set(ids.tolist()))
        if new:
            raws = dict(catalog.raw_vectors(self.key, new))
            new = [t for t in new if t in raws]
            if new:
                ids = np.concatenate([ids, np.asarray(new, np.int64)])
                units = np.concatenate([units, self.to_unit(np.stack([raws[t] for t in new]))])
        self.ids, self.units = ids, units
        self.row = {int(t): i for i, t in enumerate(ids)}

    def to_unit(self, raw: np.ndarray) -> np.ndarray:
        return self.std.apply(raw)

    def scores(self, unit: np.ndarray) -> np.ndarray:
        """Cosine of `unit` with every track held (rows in `ids` order)."""
        return self.units @ np.asarray(unit, np.float32)

    def best(self, unit: np.ndarray, n: int, exclude=(), same: float = 1.0) -> np.ndarray:
        """The `n` best scores of `unit` against the library, leaving out the rows of `exclude` and
        anything at or above `same` (copies of the same audio)."""
        s = self.scores(unit)
        for t in exclude:
            if t in self.row:
                s[self.row[t]] = -np.inf
        s[s >= same] = -np.inf
        n = min(n, int(np.isfinite(s).sum()))
        if n <= 0:
            return np.zeros(0, np.int64)
        top = np.argpartition(-s, n - 1)[:n]
        return top[np.argsort(-s[top])]


_SPACES: dict[tuple[str, str], FixedSpace] = {}


def fixed_space(library) -> FixedSpace | None:
    """The library's fixed reference space, in sync with its catalog; None without an active space."""
    key = library.active_key
    if not key:
        return None
    cache_key = (str(library.catalog.path), key)
    space = _SPACES.get(cache_key)
    if space is None:
        space_ = library.space(key)
        dim, groups, prior = space_.dim, space_.groups, load_prior(key)
        std = (Standardizer.fit(np.zeros((0, dim)), groups, prior=prior) if prior is not None and len(prior.mean) == dim
               else Standardizer.identity(dim, groups))
        space = _SPACES[cache_key] = FixedSpace(key, std)
    space.sync(library.catalog)
    return space
