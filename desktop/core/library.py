"""An open library: the lock, the catalog, and (opened only when needed) the embedder and the store.

This is the one object a client opens; jobs and queries take it and use the parts they need. The
embedder is built lazily because wav2vec2 imports torch (seconds); similarity by track id needs only
the store of the *active* vector space, whose key the catalog remembers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import numpy as np

from desktop.core.catalog import Catalog
from desktop.core.config import Settings, load_settings
from desktop.core.embedders import Embedder, create
from desktop.core.errors import ModelUnavailable, SoundalikeError
from desktop.core.events import Progress
from desktop.core.lock import LibraryLock
from desktop.core.priors import load_prior
from desktop.core.standardize import Standardizer, needs_refit

log = logging.getLogger(__name__)

ACTIVE_KEY = "active_embedder_key"
REFIT_PENDING = "refit_pending:"


def make_embedder(settings: Settings, strict: bool = False) -> tuple[Embedder, str]:
    """The configured embedder, or spectral with a notice when Wav2Vec2 weights are missing.

    `strict` (the user named the embedder or model explicitly): a missing model is an error instead.
    """
    if settings.embedder == "wav2vec2":
        try:
            return create("wav2vec2", model=settings.model, device=settings.device), ""
        except ModelUnavailable as e:
            if strict:
                raise
            return create("spectral"), f"Wav2Vec2 weights are not available, using the spectral embedder ({e})"
    return create(settings.embedder, device=settings.device), ""


def key_dim(key: str) -> int:
    return int(key.rsplit("-", 1)[1])


class Library:
    def __init__(self, settings: Settings, *, lock: bool = True, strict: bool = False):
        self.settings = settings
        self.strict = strict
        self.lock = LibraryLock(settings.home).acquire() if lock else None
        try:
            self.catalog = Catalog(settings.catalog_path)
        except Exception:
            self._release_lock()
            raise
        self._embedder: Embedder | None = None
        self._store = None
        self._standardizer: Standardizer | None = None
        self.notice = ""

    @classmethod
    def open(cls, home=None, *, strict: bool = False, lock: bool = True, **overrides) -> Library:
        return cls(load_settings(home, **overrides), strict=strict, lock=lock)

    # -- the vector space ------------------------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder, self.notice = make_embedder(self.settings, self.strict)
            if self.notice:
                log.warning(self.notice)
        return self._embedder

    @property
    def active_key(self) -> str | None:
        """The vector space searches use: the last embedder that indexed this library."""
        return self.catalog.meta(ACTIVE_KEY)

    def activate(self, embedder: Embedder) -> None:
        """Make `embedder`'s vector space the one searched (indexing with it does this)."""
        if self.active_key != embedder.key:
            self.close_store()
            self.catalog.set_meta(ACTIVE_KEY, embedder.key)
            self._standardizer = None

    def store(self):
        """The store of the active vector space (opened on first use)."""
        if self._store is None:
            key = self.active_key
            if key is None:
                raise SoundalikeError("the library has no indexed tracks yet; run `soundalike index FOLDER` first")
            from desktop.core.store import open_library_store

            self._store = open_library_store(self.settings, self.catalog, key, key_dim(key))
            self._resume_refit(key)
        return self._store

    def close_store(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    # -- standardisation -------------------------------------------------------------------------
    def standardizer(self) -> Standardizer:
        key = self.active_key
        if self._standardizer is None and key:
            self._standardizer = self.standardizer_for(key)
        return self._standardizer

    def standardizer_for(self, key: str) -> Standardizer:
        """The statistics vector space `key` was standardised with (before the first fit: the shipped
        prior's, where the space has one, else the identity)."""
        stats = self.catalog.standardizer(key)
        groups = self._groups(key)
        if stats is None:
            prior = load_prior(key)
            if prior is None:
                return Standardizer.identity(key_dim(key), groups)
            return Standardizer.fit(np.zeros((0, key_dim(key))), groups, prior=prior)
        n, mean, scale, whitening = stats
        ident = Standardizer.identity(len(mean), groups)
        return Standardizer(mean, scale, ident.weights, n, whitening)

    def _groups(self, key: str):
        """Feature groups for a key without loading a model: spectral declares them statically."""
        if self._embedder is not None and self._embedder.key == key:
            return self._embedder.groups
        if key.startswith("spectral-"):
            from desktop.core.embedders.spectral import SpectralEmbedder

            return SpectralEmbedder.groups
        return ()

    def to_unit(self, raw: np.ndarray) -> np.ndarray:
        return self.standardizer().apply(raw)

    def maybe_refit(self, final: bool) -> Iterator[Progress]:
        key = self.active_key
        if key and needs_refit(self.standardizer().n, self.catalog.vector_count(key), final):
            yield from self.refit()

    def refit(self) -> Iterator[Progress]:
        """Refit the statistics on all raw vectors and rewrite the store (crash-safe: resumed on open)."""
        key = self.active_key
        ids, raws = self._raw_matrix(key)
        if not ids:
            return
        groups = self._groups(key)
        fitted = Standardizer.fit(raws, groups, self.catalog.part_vectors(key), prior=load_prior(key))
        self.catalog.set_standardizer(key, fitted.n, fitted.mean, fitted.scale, fitted.whitening)
        self.catalog.set_meta(REFIT_PENDING + key, "1")
        self._standardizer = fitted
        yield from self._rewrite(key, ids, raws)

    def _raw_matrix(self, key: str) -> tuple[list[int], np.ndarray]:
        pairs = list(self.catalog.raw_vectors(key))
        if not pairs:
            return [], np.zeros((0, key_dim(key)), np.float32)
        return [p[0] for p in pairs], np.stack([p[1] for p in pairs])

    def _rewrite(self, key: str, ids: list[int], raws: np.ndarray) -> Iterator[Progress]:
        store = self.store()
        units = self._standardizer.apply(raws)
        tracks = self.catalog.many(ids)
        batch = 1000
        for i in range(0, len(ids), batch):
            items = [(tid, units[j], tracks[tid].payload())
                     for j, tid in enumerate(ids[i : i + batch], start=i) if tid in tracks]
            store.upsert(items)
            yield Progress("standardise", min(i + batch, len(ids)), len(ids))
        self.catalog.set_meta(REFIT_PENDING + key, "")

    def _resume_refit(self, key: str) -> None:
        if self.catalog.meta(REFIT_PENDING + key):
            log.info("finishing an interrupted re-standardisation of %s", key)
            ids, raws = self._raw_matrix(key)
            self.standardizer()
            for _ in self._rewrite(key, ids, raws):
                pass

    # -- housekeeping ------------------------------------------------------------------------------
    def remove_tracks(self, ids) -> None:
        """Forget tracks: catalog rows, their raw vectors, and their points in the active store."""
        ids = list(ids)
        if not ids:
            return
        if self.active_key:
            self.store().delete(ids)
        self.catalog.remove(ids)

    def close(self) -> None:
        self.close_store()
        if self._embedder is not None:
            self._embedder.close()
            self._embedder = None
        self.catalog.close()
        self._release_lock()

    def _release_lock(self) -> None:
        if self.lock is not None:
            self.lock.release()
            self.lock = None

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
