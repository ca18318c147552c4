"""The optional vector store on a Qdrant server (`--qdrant-url` / settings), via qdrant-client.

Why it exists: a user with a big library (or several machines) may already run Qdrant; the
embedded Edge shard (`edge.py`) stays the default. Same `VectorStore` interface, one collection
per embedder key, created on first use with cosine distance and the keyword/integer payload indexes.

Why the deadline around the first call: a desktop app must never hang on a bad URL. A refused port
fails in milliseconds and a server that accepts but never answers fails after `timeout` (httpx read
timeout), but name resolution is not covered by httpx timeouts, so the connection probe also runs
under a hard wall-clock deadline. Every transport failure becomes
`StoreUnavailable("Qdrant server at URL is unreachable: <cause>")`. We pass
`check_compatibility=False` so the constructor itself does not contact the server (that version
check only warns, and it would be a second, unguarded network round-trip).

Unlike Edge (brute force over every point), a server builds HNSW indexes on its own, so searches
ask for a generous `hnsw_ef` (STACK.md: default ef gave poor recall on 768-d vectors). Exclusions
are sent as server-side filters.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse

from desktop.core.errors import StoreUnavailable
from desktop.core.store.base import (
    PAYLOAD_INDEXES,
    Hit,
    VectorStore,
    as_ids,
    as_matrix,
    as_names,
    as_query,
    check_name,
    clean_payload,
    parse_must,
)

BATCH = 256
_INDEX_TYPES = {"keyword": models.PayloadSchemaType.KEYWORD, "integer": models.PayloadSchemaType.INTEGER}


def _cause(e: BaseException) -> str:
    """The innermost meaningful message: 'Connection refused', 'timed out', ..."""
    seen = e
    while seen.__cause__ is not None or seen.__context__ is not None:
        seen = seen.__cause__ or seen.__context__
    text = str(seen) or type(seen).__name__
    return text if seen is e else f"{text} ({type(e).__name__})"


def _with_deadline(fn, seconds: float, url: str):
    """Run `fn()` in a daemon thread; give up after `seconds` whatever the socket does."""
    box: dict[str, Any] = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = e

    t = threading.Thread(target=run, name="qdrant-probe", daemon=True)
    t.start()
    t.join(seconds)
    if t.is_alive():
        raise StoreUnavailable(f"Qdrant server at {url} is unreachable: no answer within {seconds:.1f} s")
    if "error" in box:
        raise box["error"]
    return box.get("value")


class RemoteStore(VectorStore):
    """A collection on a Qdrant server. `client` may also be a local-mode client (tests use ':memory:')."""

    def __init__(self, client: QdrantClient, name: str, dim: int, *, url: str = "", timeout: float = 3.0):
        self.name, self.dim = check_name(name), int(dim)
        self.url = url or "(local)"
        self._client: QdrantClient | None = client
        self._timeout = float(timeout)
        try:
            # The first round-trip is the reachability probe; httpx's own timeout (whole seconds,
            # rounded up by qdrant-client) normally fires first, the deadline is the backstop.
            probe = lambda: self._call(client.collection_exists, self.name)  # noqa: E731
            exists = _with_deadline(probe, math.ceil(self._timeout) + 1.0, self.url)
            self._ensure_collection(exists)
        except BaseException:
            self.close()
            raise

    # -- plumbing ---------------------------------------------------------------------------------

    def _c(self) -> QdrantClient:
        if self._client is None:
            raise StoreUnavailable(f"vector collection {self.name!r} is closed")
        return self._client

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except StoreUnavailable:
            raise
        except UnexpectedResponse as e:
            raise StoreUnavailable(
                f"Qdrant server at {self.url} refused the request: HTTP {e.status_code} {e.reason_phrase}"
            ) from e
        except (ValueError, TypeError, KeyError, AssertionError):
            raise  # programming errors and bad arguments stay what they are
        except Exception as e:  # ResponseHandlingException, httpx/grpc transport errors, OSError
            raise StoreUnavailable(f"Qdrant server at {self.url} is unreachable: {_cause(e)}") from e

    def _ensure_collection(self, exists: bool) -> None:
        c = self._c()
        if not exists:
            self._call(
                c.create_collection,
                self.name,
                vectors_config=models.VectorParams(size=self.dim, distance=models.Distance.COSINE),
            )
        info = self._call(c.get_collection, self.name)
        params = info.config.params.vectors
        if not isinstance(params, models.VectorParams):
            raise StoreUnavailable(
                f"Collection {self.name!r} on {self.url} uses named vectors; "
                "Soundalike needs one unnamed vector."
            )
        if params.size != self.dim:
            raise StoreUnavailable(
                f"Dimension mismatch: collection {self.name!r} on {self.url} holds {params.size}-dimensional "
                f"vectors, but {self.dim} were requested."
            )
        if params.distance != models.Distance.COSINE:
            raise StoreUnavailable(
                f"Collection {self.name!r} on {self.url} uses {params.distance}, not cosine."
            )
        have = set(info.payload_schema or {})
        for field, kind in PAYLOAD_INDEXES:
            if field not in have:
                schema = _INDEX_TYPES[kind]
                self._call(c.create_payload_index, self.name, field, field_schema=schema, wait=True)

    # -- writes -----------------------------------------------------------------------------------

    def upsert(self, items: list[tuple[int, np.ndarray, dict]]) -> None:
        items = list(items)
        if not items:
            return
        ids = as_ids(i for i, _, _ in items)
        mat = as_matrix((v for _, v, _ in items), self.dim)
        c = self._c()
        for start in range(0, len(ids), BATCH):
            points = [
                models.PointStruct(
                    id=ids[j], vector=mat[j].tolist(), payload=clean_payload(ids[j], items[j][2])
                )
                for j in range(start, min(start + BATCH, len(ids)))
            ]
            self._call(c.upsert, self.name, points=points, wait=True)

    def delete(self, ids: Iterable[int]) -> None:
        ids = as_ids(ids)
        if ids:
            selector = models.PointIdsList(points=ids)
            self._call(self._c().delete, self.name, points_selector=selector, wait=True)

    def flush(self) -> None:
        """Writes were sent with wait=True: the server has them in its WAL already."""
        self._c()

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.close()
            except Exception:  # noqa: BLE001 - closing a dead connection must not fail the app
                pass

    # -- reads ------------------------------------------------------------------------------------

    def count(self) -> int:
        return int(self._call(self._c().count, self.name, exact=True).count)

    def ids(self) -> set[int]:
        c, out, offset = self._c(), set(), None
        while True:
            recs, offset = self._call(
                c.scroll, self.name, limit=10_000, offset=offset, with_payload=False, with_vectors=False
            )
            out.update(int(r.id) for r in recs)
            if offset is None or not recs:
                return out

    def get_vectors(self, ids: Iterable[int]) -> dict[int, np.ndarray]:
        ids, c, out = as_ids(ids), self._c(), {}
        for start in range(0, len(ids), 1024):
            chunk = ids[start : start + 1024]
            recs = self._call(c.retrieve, self.name, chunk, with_payload=False, with_vectors=True)
            for r in recs:
                out[int(r.id)] = np.asarray(r.vector, dtype=np.float32)
        return out

    def search(
        self,
        vector,
        k: int,
        *,
        exclude_ids: Iterable[int] = (),
        genre: str | None = None,
        artist_not_in: Iterable[str] = (),
        must: Mapping[str, Any] | None = None,
    ) -> list[Hit]:
        q = as_query(vector, self.dim)
        k = int(k)
        if k <= 0:
            return []
        conds: list = []
        if genre is not None:
            conds.append(models.FieldCondition(key="genre", match=models.MatchValue(value=genre)))
        for field, kind, value in parse_must(must):
            if kind == "eq":
                conds.append(models.FieldCondition(key=field, match=models.MatchValue(value=value)))
            elif kind == "any":
                conds.append(models.FieldCondition(key=field, match=models.MatchAny(any=value)))
            else:
                conds.append(models.FieldCondition(key=field, range=models.Range(**value)))
        must_not: list = []
        excluded = as_ids(exclude_ids)
        if excluded:
            must_not.append(models.HasIdCondition(has_id=excluded))
        artists = sorted(as_names(artist_not_in))
        if artists:
            must_not.append(models.FieldCondition(key="artist", match=models.MatchAny(any=artists)))
        flt = models.Filter(must=conds or None, must_not=must_not or None) if (conds or must_not) else None
        res = self._call(
            self._c().query_points,
            self.name,
            query=q.tolist(),
            query_filter=flt,
            limit=k,
            with_payload=True,
            search_params=models.SearchParams(hnsw_ef=max(128, 4 * k)),
        )
        return [Hit(int(p.id), float(p.score), dict(p.payload or {})) for p in res.points]


def open_remote(url: str, name: str, dim: int, timeout: float = 3.0) -> RemoteStore:
    """Connect to the server at `url`; fails within about `timeout` seconds if it does not answer."""
    try:
        client = QdrantClient(url=url, timeout=timeout, check_compatibility=False)
    except Exception as e:  # malformed URL and the like
        raise StoreUnavailable(f"Qdrant server at {url} is unreachable: {_cause(e)}") from e
    return RemoteStore(client, name, dim, url=url, timeout=timeout)


def probe_server(url: str, timeout: float = 3.0) -> None:
    """Raise StoreUnavailable unless a Qdrant server answers at `url` within about `timeout` seconds."""
    try:
        client = QdrantClient(url=url, timeout=timeout, check_compatibility=False)
    except Exception as e:
        raise StoreUnavailable(f"Qdrant server at {url} is unreachable: {_cause(e)}") from e
    try:
        _with_deadline(client.get_collections, math.ceil(timeout) + 1.0, url)
    except StoreUnavailable:
        raise
    except Exception as e:
        raise StoreUnavailable(f"Qdrant server at {url} is unreachable: {_cause(e)}") from e
    finally:
        client.close()
