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

from desktop.core.errors import StoreUnavailable
from desktop.core.store.base import (
    OVERSAMPLE,
    PAYLOAD_INDEXES,
    POOL_FACTOR,
    PREFETCH_MIN,
    Hit,
    VectorStore,
    as_ids,
    as_matrix,
    as_names,
    as_query,
    check_name,
    clean_payload,
    parse_must,
    recommend_args,
)
from desktop.core.store.params import CollectionParams, quantization_of, search_params
from desktop.core.store.server import OPERATION_TIMEOUT, ServerConfig

BATCH = 256
_INDEX_TYPES = {"keyword": models.PayloadSchemaType.KEYWORD, "integer": models.PayloadSchemaType.INTEGER,
                "float": models.PayloadSchemaType.FLOAT, "bool": models.PayloadSchemaType.BOOL}


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

    payload_indexes = PAYLOAD_INDEXES  # (field, kind) made on creation; the passage collection needs fewer

    def __init__(self, client: QdrantClient, name: str, dim: int, *, url: str = "", timeout: float = 3.0,
                 server: ServerConfig | None = None, params: CollectionParams | None = None):
        self.name, self.dim = check_name(name), int(dim)
        self.server = server or ServerConfig(url=url or "(local)", timeout=timeout)
        self.url = self.server.url
        self.params = params or CollectionParams()
        self.quantization = "none"  # as the server reports it, set by _ensure_collection
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
        except (ValueError, TypeError, KeyError, AssertionError):
            raise  # programming errors and bad arguments stay what they are
        except Exception as e:  # UnexpectedResponse, ResponseHandlingException, httpx/grpc errors, OSError
            raise self.server.failure(e) from e

    def _ensure_collection(self, exists: bool) -> None:
        c = self._c()
        if not exists:
            self._call(c.create_collection, self.name, **self.params.create_kwargs(self.dim))
        info = self._call(c.get_collection, self.name)
        self.quantization = quantization_of(info.config.quantization_config)
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
        for field, kind in self.payload_indexes:
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
        conds = _conditions(genre, must)
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
            search_params=search_params(k, self.quantization),
        )
        return [Hit(int(p.id), float(p.score), dict(p.payload or {})) for p in res.points]

    def recommend(self, positives, negatives=(), k: int = 10, *, around=None, diversity: float = 0.0,
                  exclude_ids: Iterable[int] = (), must: Mapping[str, Any] | None = None,
                  within: Iterable[int] | None = None, with_vectors: bool = False,
                  with_payload: bool = True, prefix_of: int | None = None) -> list[Hit]:
        """As EdgeStore.recommend: the server's best-score recommend over a pool (one nearest search around
        the positives' mean, or the caller's `within` ids), then MMR around `around`.

        The pool spares the server a search per example (a best-score recommend runs one for each positive
        and negative), the same one-scan plan as the embedded store, so both backends rank alike."""
        args = recommend_args(positives, negatives, k, diversity, self.dim)
        if args is None:
            return []
        pos, neg, k = args
        conds = _conditions(None, must)
        excluded = as_ids(exclude_ids)
        if within is not None:
            ids = sorted(set(as_ids(within)) - set(excluded))
            if not ids:
                return []
            conds, excluded = conds + [models.HasIdCondition(has_id=ids)], []
        must_not = [models.HasIdCondition(has_id=excluded)] if excluded else None
        flt = models.Filter(must=conds or None, must_not=must_not) if (conds or must_not) else None
        rec = models.RecommendQuery(recommend=models.RecommendInput(
            positive=pos, negative=neg or None, strategy=models.RecommendStrategy.BEST_SCORE))
        candidates = max(PREFETCH_MIN, OVERSAMPLE * max(k, prefix_of or 0))
        params = search_params(candidates, self.quantization)
        pool = None
        if within is None:
            pool = models.Prefetch(query=models.NearestQuery(nearest=np.mean(pos, axis=0).tolist()), filter=flt,
                                   limit=POOL_FACTOR * candidates, params=search_params(POOL_FACTOR * candidates,
                                                                                         self.quantization))
        stage = models.Prefetch(query=rec, prefetch=pool, filter=flt, limit=candidates, params=params)
        if around is not None and diversity > 0:
            query = models.NearestQuery(nearest=as_query(around, self.dim).tolist(),
                                        mmr=models.Mmr(diversity=diversity, candidates_limit=candidates))
        else:
            query = rec
        res = self._call(self._c().query_points, self.name, query=query, prefetch=stage, query_filter=flt,
                         limit=k, with_payload=with_payload, with_vectors=with_vectors)
        return [Hit(int(p.id), float(p.score), dict(p.payload or {}),
                    np.asarray(p.vector, np.float32) if with_vectors and p.vector is not None else None)
                for p in res.points]

    def nearest_ids(self, vector, n: int) -> list[int]:
        """The ids of the `n` points nearest `vector` (no payload): a pool for `recommend(within=)`."""
        if n <= 0:
            return []
        res = self._call(self._c().query_points, self.name, query=as_query(vector, self.dim).tolist(), limit=int(n),
                         with_payload=False, search_params=search_params(int(n), self.quantization))
        return [int(p.id) for p in res.points]

    def describe(self) -> dict:
        """The collection as the server reports it: points, segments, indexing state and layout."""
        info = self._call(self._c().get_collection, self.name)
        params = info.config.params
        hnsw = info.config.hnsw_config
        return {
            "collection": self.name, "where": self.url, "status": str(getattr(info.status, "value", info.status)),
            "optimizer": _optimizer_text(info.optimizer_status), "points": info.points_count or 0,
            "indexed_vectors": info.indexed_vectors_count or 0, "segments": info.segments_count,
            "shards": params.shard_number or 1, "replication": params.replication_factor or 1,
            "on_disk": bool(getattr(params.vectors, "on_disk", False)), "quantization": self.quantization,
            "hnsw": f"m={hnsw.m} ef_construct={hnsw.ef_construct}",
        }


def _optimizer_text(status) -> str:
    value = getattr(status, "value", status)
    return value if isinstance(value, str) else f"error: {getattr(status, 'error', status)}"


def open_remote(server: ServerConfig, name: str, dim: int, params: CollectionParams | None = None, *,
                kind: type[RemoteStore] = RemoteStore) -> RemoteStore:
    """Connect to `server`; fails within about its timeout if it does not answer. The store's own client
    then allows OPERATION_TIMEOUT per request (bulk writes to a busy server). `kind`: the collection's
    class (the passage index is a `RemotePassageStore`)."""
    probe_server(server)
    return kind(server.client(OPERATION_TIMEOUT), name, dim, timeout=server.timeout, server=server, params=params)


def probe_server(server: ServerConfig) -> None:
    """Raise StoreUnavailable unless the Qdrant server answers (and accepts the key) within about its timeout."""
    client = server.client()
    try:
        _with_deadline(client.get_collections, math.ceil(server.timeout) + 1.0, server.url)
    except StoreUnavailable:
        raise
    except Exception as e:
        raise server.failure(e) from e
    finally:
        client.close()


def _conditions(genre, must) -> list:
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
    return conds

