"""An open library: the lock, the catalog, the embedder (built only when needed) and its vector spaces.

This is the one object a client opens; jobs and queries take it and use the parts they need. The
embedder is built lazily because wav2vec2 imports torch (seconds); similarity by track id needs only
the *active* vector space (`space()`), whose key the catalog remembers. A `VectorSpace` (space.py) owns
its store and standardisation; the library holds the resources and hands spaces out, one per key.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

from desktop.core.catalog import Catalog
from desktop.core.config import Settings, load_settings
from desktop.core.diskspace import ensure_space
from desktop.core.embedders import Embedder, create, groups_for
from desktop.core.errors import LibraryInUse, ModelUnavailable, SoundalikeError, StoreUnavailable
from desktop.core.events import Progress
from desktop.core.lock import LibraryLock
from desktop.core.model_cache import is_cached, is_hub_id
from desktop.core.passage_catalog import rows_of
from desktop.core.passage_store import index_exists
from desktop.core.space import REFIT_PENDING, VectorSpace, key_dim
from desktop.core.store import open_library_passages, open_library_store

__all__ = ["ACTIVE_KEY", "REFIT_PENDING", "Library", "key_dim", "make_embedder"]

log = logging.getLogger(__name__)

ACTIVE_KEY = "active_embedder_key"
EMBEDDER_SPEC = "embedder_spec:"  # + key: how to build that embedder again (name and options, JSON)


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
            if is_hub_id(settings.model) and not is_cached(settings.model):
                why = (f"the neural model {settings.model} is not downloaded (`soundalike model pull "
                       f"{settings.model}` gets it)")
            else:
                why = str(e)
            return create("spectral"), f"using the built-in analysis (spectral): {why}"
    return create(settings.embedder, device=settings.device), ""


class Library:
    def __init__(self, settings: Settings, *, lock: bool = True, strict: bool = False, store_in_child: bool = False):
        self.settings = settings
        self.strict = strict
        self.store_in_child = store_in_child  # the window's: embedded stores in child processes (store/in_child.py)
        self.lock = LibraryLock(settings.home).acquire() if lock else None
        try:
            self.catalog = Catalog(settings.catalog_path)
        except Exception:
            self._release_lock()
            raise
        self._embedder: Embedder | None = None
        self._spaces: dict[str, VectorSpace] = {}
        self._passages = None
        self._query_embedder: Embedder | None = None
        self._heal = True
        self.restored_points = 0  # points written back from the catalog's raw vectors (self-healing)
        self.notice = ""

    @classmethod
    def open(cls, home=None, *, strict: bool = False, lock: bool = True, store_in_child: bool = False,
             **overrides) -> Library:
        return cls(load_settings(home, **overrides), strict=strict, lock=lock, store_in_child=store_in_child)

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
        spec = json.dumps({"name": embedder.name, "options": embedder.options}, default=str)
        if self.catalog.meta(EMBEDDER_SPEC + embedder.key) != spec:
            self.catalog.set_meta(EMBEDDER_SPEC + embedder.key, spec)
        if self.active_key != embedder.key:
            self.close_store()
            self.catalog.set_meta(ACTIVE_KEY, embedder.key)

    def query_embedder(self) -> Embedder:
        """An embedder of the library's own vector space, for a file outside it (`similar FILE`).

        The settings may name another embedder now (a wav2vec2 model chosen after indexing with
        spectral): a query must still be embedded the way the library was, or nothing compares."""
        key = self.active_key
        if key is None or (self._embedder is not None and self._embedder.key == key):
            return self.embedder
        if self._query_embedder is None or self._query_embedder.key != key:
            spec = json.loads(self.catalog.meta(EMBEDDER_SPEC + key) or "null")
            if spec is None and key.startswith("spectral-"):
                spec = {"name": "spectral", "options": {}}
            if spec is None:
                return self.embedder  # an old library that did not record it: the settings' embedder
            self._query_embedder = create(spec["name"], **spec["options"])
        if self._query_embedder.key != key:
            raise SoundalikeError(f"the library's vectors were made by {key}, which this Soundalike cannot make "
                                  f"any more; run `soundalike index` to index it again")
        return self._query_embedder

    def space(self, key: str | None = None) -> VectorSpace:
        """Vector space `key` (default: the active one), one object per key while the library is open."""
        key = key or self.active_key
        if key is None:
            raise SoundalikeError("the library has no indexed tracks yet; run `soundalike index FOLDER` first")
        if key not in self._spaces:
            self._spaces[key] = VectorSpace(key, self.catalog, self._open_store, self._groups(key))
        return self._spaces[key]

    def _open_store(self, key: str, dim: int):
        """Open a space's store. A full disk is a message (opening may grow its files: SIGBUS otherwise), a
        damaged store says what to run, and points it lacks (a deleted or partly lost store) are restored
        from the catalog's raw vectors without decoding, unless `check` asked to see it as it is."""
        url = self.settings.qdrant_url or None
        if not url:
            ensure_space(self.settings.home)
        try:
            store = open_library_store(self.settings, self.catalog, key, dim, in_child=self.store_in_child)
        except LibraryInUse:
            raise
        except StoreUnavailable as e:
            if url:
                raise
            raise StoreUnavailable(f"{e}; run `soundalike check --repair` to rebuild the vector store from "
                                   "the catalog (no decoding, nothing is lost)") from e
        if self._heal:
            want = self.catalog.searchable_ids(key)
            if store.count() < len(want):
                self._write_points(store, key, sorted(want - store.ids()))
        return store

    def _groups(self, key: str):
        """The feature groups of `key`: the loaded embedder's, else what its class declares (no model load)."""
        if self._embedder is not None and self._embedder.key == key:
            return self._embedder.groups
        return groups_for(key)

    # -- the active space, for clients that search and index it ------------------------------------
    def store(self, heal: bool = True):
        """The store of the active vector space (opened on first use; `heal=False`: as it is, for `check`)."""
        self._heal = heal
        try:
            return self.space().store()
        finally:
            self._heal = True

    def store_folder(self) -> Path | None:
        """The embedded store's folder of the active vector space (None on a Qdrant server)."""
        key = self.active_key
        if not key or self.settings.qdrant_url:
            return None
        return Path(self.settings.vectors_dir) / key

    def close_store(self) -> None:
        for space in self._spaces.values():
            space.close()
        self._spaces.clear()
        if self._passages is not None:
            self._passages.close()
            self._passages = None

    def passages(self):
        """The passage index (window vectors) of the active vector space, opened on first use: beside the
        track vectors (an embedded shard, or a collection on the library's Qdrant server)."""
        if self._passages is None:
            key = self.active_key
            if key is None:
                raise SoundalikeError("the library has no indexed tracks yet; run `soundalike index FOLDER` first")
            windows = rows_of(self.catalog).counts(key)["windows"]
            self._passages = open_library_passages(self.settings, self.catalog, key, key_dim(key), windows,
                                                   in_child=self.store_in_child)
        return self._passages

    def _has_passage_index(self) -> bool:
        """Is there a passage index to remove tracks from (without creating one just to find out)?"""
        if self._passages is not None:
            return True
        if self.settings.qdrant_url:
            return rows_of(self.catalog).counts(self.active_key)["tracks"] > 0
        return index_exists(str(self.settings.vectors_dir), self.active_key)

    # Standardisation lives in the space: `library.space().to_unit(raw)`, `.standardizer()`, `.refit()`.
    def maybe_refit(self, final: bool) -> Iterator[Progress]:
        """Refit the active space's statistics when enough new vectors came (no space yet: nothing to do)."""
        if self.active_key:
            yield from self.space().maybe_refit(final)

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
    def sync_store(self, refresh=()) -> tuple[int, int]:
        """Make the store hold exactly the searchable tracks (a vector of the active key, file present).

        A cheap id comparison: points the store lacks (a deleted or damaged store, a file that came back)
        are restored from the catalog's raw vectors without decoding; points of missing or forgotten
        tracks are taken out. `refresh`: ids whose payload changed (a moved file). Returns (restored, hidden).
        """
        key = self.active_key
        if not key:
            return 0, 0
        store = self.store()
        want, have = self.catalog.searchable_ids(key), store.ids()
        lacking = sorted(want - have)
        extra = sorted(have - want)
        if extra:
            store.delete(extra)
        self.restore_points(lacking)
        self.restore_points(sorted((set(refresh) & want) - set(lacking)), payload_only=True)
        return len(lacking), len(extra)

    def restore_points(self, ids, payload_only: bool = False) -> None:
        """Write the store points of `ids` from the catalog's raw vectors (no decoding). `payload_only`:
        the point is there, only its payload changed (not counted as restored)."""
        ids = list(ids)
        if ids:
            self._write_points(self.store(), self.active_key, ids, count=not payload_only)

    def _write_points(self, store, key: str, ids: list[int], count: bool = True) -> None:
        if not self.settings.qdrant_url:
            ensure_space(self.settings.home)
        self.restored_points += len(ids) if count else 0
        space = self.space(key)
        for i in range(0, len(ids), 1000):
            raws = dict(self.catalog.raw_vectors(key, ids[i : i + 1000]))
            tracks = self.catalog.many(raws)
            store.upsert([(tid, space.to_unit(raw), tracks[tid].payload())
                          for tid, raw in raws.items() if tid in tracks])

    def remove_tracks(self, ids) -> None:
        """Forget tracks: catalog rows, their raw vectors, their points in the active store and passage index."""
        ids = list(ids)
        if not ids:
            return
        if self.active_key:
            self.store().delete(ids)
            if self._has_passage_index():
                self.passages().remove_tracks(ids)
        self.catalog.remove(ids)  # their raw windows go with them (ON DELETE CASCADE)

    def close(self) -> None:
        self.close_store()
        for embedder in (self._embedder, self._query_embedder):
            if embedder is not None:
                embedder.close()
        self._embedder = self._query_embedder = None
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
