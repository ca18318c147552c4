"""An open library: the lock, the catalog, the embedder (built only when needed) and its vector spaces.

This is the one object a client opens; jobs and queries take it and use the parts they need. The
embedder is built lazily because wav2vec2 imports torch (seconds); similarity by track id needs only
the *active* vector space (`space()`), whose key the catalog remembers. A `VectorSpace` (space.py) owns
its store and standardisation; the library holds the resources and hands spaces out, one per key.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import numpy as np

from desktop.core.catalog import Catalog
from desktop.core.config import Settings, load_settings
from desktop.core.embedders import Embedder, create, groups_for
from desktop.core.errors import ModelUnavailable, SoundalikeError
from desktop.core.events import Progress
from desktop.core.lock import LibraryLock
from desktop.core.space import REFIT_PENDING, VectorSpace, key_dim
from desktop.core.standardize import Standardizer
from desktop.core.store import open_library_store

__all__ = ["ACTIVE_KEY", "REFIT_PENDING", "Library", "key_dim", "make_embedder"]

log = logging.getLogger(__name__)

ACTIVE_KEY = "active_embedder_key"


def make_embedder(settings: Settings, strict: bool = False) -> tuple[Embedder, str]:
    """The configured embedder, or spectral with a one-line notice when the neural model is missing.

    `strict` (the user named the embedder or model explicitly): a missing model is an error instead.
    """
    if settings.embedder == "wav2vec2":
        try:
            layer = str(settings.layer).strip() or None
            return create("wav2vec2", model=settings.model, device=settings.device, layer=layer), ""
        except ModelUnavailable as e:
            if strict:
                raise
            from desktop.core.models import is_cached, is_hub_id

            if is_hub_id(settings.model) and not is_cached(settings.model):
                why = (f"the neural model {settings.model} is not downloaded (`soundalike model pull "
                       f"{settings.model}` gets it)")
            else:
                why = str(e)
            return create("spectral"), f"using the built-in analysis (spectral): {why}"
    return create(settings.embedder, device=settings.device), ""


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
        self._spaces: dict[str, VectorSpace] = {}
        self._passages = None
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
                log.info(self.notice)  # clients show it once (CLI: one notice line)
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

    def space(self, key: str | None = None) -> VectorSpace:
        """Vector space `key` (default: the active one), one object per key while the library is open."""
        key = key or self.active_key
        if key is None:
            raise SoundalikeError("the library has no indexed tracks yet; run `soundalike index FOLDER` first")
        if key not in self._spaces:
            self._spaces[key] = VectorSpace(key, self.catalog, self._open_store, self._groups(key))
        return self._spaces[key]

    def _open_store(self, key: str, dim: int):
        return open_library_store(self.settings, self.catalog, key, dim)

    def _groups(self, key: str):
        """The feature groups of `key`: the loaded embedder's, else what its class declares (no model load)."""
        if self._embedder is not None and self._embedder.key == key:
            return self._embedder.groups
        return groups_for(key)

    # -- the active space, for clients that search and index it ------------------------------------
    def store(self):
        """The store of the active vector space (opened on first use)."""
        return self.space().store()

    def close_store(self) -> None:
        for space in self._spaces.values():
            space.close()
        self._spaces.clear()
        if self._passages is not None:
            self._passages.close()
            self._passages = None

    def passages(self):
        """The passage index (window vectors) of the active vector space, opened on first use. Always
        an embedded shard, also when tracks live on a Qdrant server."""
        if self._passages is None:
            key = self.active_key
            if key is None:
                raise SoundalikeError("the library has no indexed tracks yet; run `soundalike index FOLDER` first")
            from desktop.core.passage_store import PassageStore

            self._passages = PassageStore(str(self.settings.vectors_dir), key, key_dim(key))
        return self._passages

    def standardizer(self) -> Standardizer | None:
        return self.space().standardizer() if self.active_key else None

    def standardizer_for(self, key: str) -> Standardizer:
        """The statistics vector space `key` was standardised with (before the first fit: its shipped prior or
        the identity)."""
        return self.space(key).standardizer()

    def to_unit(self, raw: np.ndarray) -> np.ndarray:
        return self.space().to_unit(raw)

    def maybe_refit(self, final: bool) -> Iterator[Progress]:
        if self.active_key:
            yield from self.space().maybe_refit(final)

    def refit(self) -> Iterator[Progress]:
        """Refit the active space's statistics on all raw vectors and rewrite its store."""
        yield from self.space().refit()

    # -- housekeeping ------------------------------------------------------------------------------
    def refresh_payloads(self, ids) -> None:
        """Re-upsert indexed tracks whose tags changed, so hits show and filter by the new values."""
        ids = list(ids)
        if not ids or not self.active_key:
            return
        store, batch = self.store(), 1000
        for i in range(0, len(ids), batch):
            vectors = store.get_vectors(ids[i : i + batch])
            tracks = self.catalog.many(vectors)
            store.upsert([(tid, vec, tracks[tid].payload()) for tid, vec in vectors.items() if tid in tracks])

    def remove_tracks(self, ids) -> None:
        """Forget tracks: catalog rows, their raw vectors, their points in the active store and passage index."""
        ids = list(ids)
        if not ids:
            return
        if self.active_key:
            self.store().delete(ids)
            from desktop.core.passage_store import index_exists

            if self._passages is not None or index_exists(str(self.settings.vectors_dir), self.active_key):
                self.passages().remove_tracks(ids)
        self.catalog.remove(ids)  # their raw windows go with them (ON DELETE CASCADE)

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
