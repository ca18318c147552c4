"""A vector space: the vectors of one embedder key, their store and the standardisation that maps raw to
stored vectors, refitted as the library grows.

Built from the catalog (raw vectors, statistics, the refit-pending mark) and a store factory, with no
reference back to the `Library`, so several spaces can be open at once (model switching, passages).
A refit rewrites every point; the catalog marks it pending first, so an interrupted rewrite is finished
when the space's store is next opened.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import numpy as np

from desktop.core.catalog import Catalog
from desktop.core.events import Progress
from desktop.core.faults import crash_point
from desktop.core.priors import load_prior
from desktop.core.standardize import Standardizer, needs_refit
from desktop.core.store import VectorStore

log = logging.getLogger(__name__)

REFIT_PENDING = "refit_pending:"
# Points rewritten per store call after a refit. The window's store is a child process, and pickling a batch for
# the pipe holds the GIL in one C call: 4.4 ms for 1000 points (260-d, with payloads), ~1 ms for 250.
REWRITE_BATCH = 250


def key_dim(key: str) -> int:
    """The dimension a vector-space key ends with ("spectral-v2-260" -> 260)."""
    return int(key.rsplit("-", 1)[1])


class VectorSpace:
    def __init__(self, key: str, catalog: Catalog, open_store: Callable[[str, int], VectorStore],
                 groups: tuple[tuple[str, int, int], ...] = ()):
        self.key, self.dim = key, key_dim(key)
        self.catalog = catalog
        self.groups = groups  # the embedder's feature groups (equal weight after standardisation)
        self._open_store = open_store  # (key, dim) -> VectorStore
        self._store: VectorStore | None = None
        self._standardizer: Standardizer | None = None

    def store(self) -> VectorStore:
        """The space's store, opened on first use (finishing an interrupted refit)."""
        if self._store is None:
            self._store = self._open_store(self.key, self.dim)
            self._resume_refit()
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    # -- standardisation -------------------------------------------------------------------------
    def standardizer(self) -> Standardizer:
        """The statistics this space was standardised with (before the first fit: the shipped prior's, where
        the space has one, else the identity)."""
        if self._standardizer is None:
            stats = self.catalog.standardizer(self.key)
            prior = load_prior(self.key) if stats is None else None
            if prior is not None:
                self._standardizer = Standardizer.fit(np.zeros((0, self.dim)), self.groups, prior=prior)
            elif stats is None:
                self._standardizer = Standardizer.identity(self.dim, self.groups)
            else:
                n, mean, scale, whitening = stats
                ident = Standardizer.identity(len(mean), self.groups)
                self._standardizer = Standardizer(mean, scale, ident.weights, n, whitening)
        return self._standardizer

    def to_unit(self, raw: np.ndarray) -> np.ndarray:
        return self.standardizer().apply(raw)

    def maybe_refit(self, final: bool) -> Iterator[Progress]:
        if needs_refit(self.standardizer().n, self.catalog.vector_count(self.key), final):
            yield from self.refit()

    def refit(self) -> Iterator[Progress]:
        """Refit the statistics on all raw vectors and rewrite the store (crash-safe: resumed on open)."""
        ids, raws = self._raw_matrix()
        if not ids:
            return
        fitted = Standardizer.fit(raws, self.groups, self.catalog.part_vectors(self.key), prior=load_prior(self.key))
        with self.catalog.transaction():  # new statistics and "store not rewritten yet" go together or not at all
            self.catalog.set_standardizer(self.key, fitted.n, fitted.mean, fitted.scale, fitted.whitening)
            crash_point("between-statistics-and-marker")
            self.catalog.set_meta(REFIT_PENDING + self.key, "1")
        self._standardizer = fitted
        yield from self._rewrite(ids, raws)

    def _raw_matrix(self) -> tuple[list[int], np.ndarray]:
        pairs = list(self.catalog.raw_vectors(self.key))
        if not pairs:
            return [], np.zeros((0, self.dim), np.float32)
        return [p[0] for p in pairs], np.stack([p[1] for p in pairs])

    def _rewrite(self, ids: list[int], raws: np.ndarray) -> Iterator[Progress]:
        store = self.store()
        units = self.standardizer().apply(raws)
        tracks = self.catalog.many(ids)
        for i in range(0, len(ids), REWRITE_BATCH):
            items = [(tid, units[j], tracks[tid].payload())
                     for j, tid in enumerate(ids[i : i + REWRITE_BATCH], start=i) if tid in tracks]
            store.upsert(items)
            yield Progress("standardise", min(i + REWRITE_BATCH, len(ids)), len(ids))
        self.catalog.set_meta(REFIT_PENDING + self.key, "")

    def _resume_refit(self) -> None:
        if self.catalog.meta(REFIT_PENDING + self.key):
            log.info("finishing an interrupted re-standardisation of %s", self.key)
            ids, raws = self._raw_matrix()
            for _ in self._rewrite(ids, raws):
                pass
