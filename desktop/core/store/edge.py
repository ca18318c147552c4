"""The default vector store: an embedded Qdrant Edge shard (`qdrant_edge.EdgeShard`) per collection.

Why Edge rather than qdrant-client's local mode (`QdrantClient(path=...)`), measured on a 2-core VM
(STACK.md section 4): local mode keeps vectors in SQLite plus a numpy copy and answers queries in Python.
At 100k x 768 its queries took 332 ms p50 / 1.8 s p99 against Edge's 23 ms (14x), at 10k 30 ms against
1.3 ms (23x); its upserts were 18-40x slower (632 pts/s at 100k) and a reopen at 100k took 14.7 s
against Edge's 0.24 s. Local mode also ignores payload indexes. Edge keeps every write in a WAL
(a process killed right after an upsert still has the point) and locks its folder.

Why two copies of each vector ("fast" + "full"): Edge never indexes on its own and `optimize()`
(HNSW) is off limits (it holds the GIL for 80-350 s at 100k and gave recall@20 of 0.10 on 768-d data),
so every query is a brute-force scan, bound by memory bandwidth. Measured here at 100k x 768 on a
2-core VM whose cores were kept busy by other work (bench/query_latency.py --compare; two runs), p50:
  float32 Edge shard 15-34 ms (target 15), float16 8.6-20 ms (recall@10 0.999),
  numpy float32 matrix in RAM 13-60 ms (9.5 ms on a quiet machine; also +300 MB RAM and a ~5 s load,
  because Edge hands vectors back as Python lists), scalar int8 quantization: no effect (Edge builds
  it only in `optimize()`),
  chosen: "fast" = `Turbo8` codes (TurboQuant, 1 byte/dim: 74 MB, scanned in RAM), top
  max(100, 4*limit) candidates rescored against "full" = float32 kept cold on disk (mmap; only the
  candidates are read): 4.6-9 ms p50 in the same runs, 1.8-2.4 ms at 256-d, 0.3-0.8 ms at 10k;
  recall@10 = 1.000 vs exact numpy on clustered, skewed, low-rank and isotropic data (Turbo8
  without rescoring: 0.976).
Scores are the float32 cosine of the stored vectors, so they are exact for every returned point;
only candidate selection is approximate. A prefetch of 20-400 candidates cost about the same.

Filters: `genre`/`must` go to Edge as payload filters (keyword/integer indexes make a selective filter
cheaper than an unfiltered scan). Exclusions (`exclude_ids`, `artist_not_in`) are not selective, and
Edge scans 2-3x slower with a must_not filter, so they are applied to an over-fetched, best-first
candidate list; only when too few candidates survive does the query go back to Edge with the full
filter. Either way the answer is the exact top-k of the filtered candidates.

Locking: Edge locks its WAL; a second open of the folder (this process or another) fails with
"WouldBlock", which becomes `LibraryInUse`. The library also takes its own lock file one level up.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from qdrant_edge import (
    CountRequest,
    Distance,
    EdgeConfig,
    EdgeOptimizersConfig,
    EdgeShard,
    EdgeVectorParams,
    FieldCondition,
    Filter,
    HasIdCondition,
    MatchAny,
    MatchValue,
    Memory,
    Mmr,
    PayloadSchemaType,
    Point,
    Prefetch,
    Query,
    QueryRequest,
    RangeFloat,
    RecommendQuery,
    ScrollRequest,
    UpdateOperation,
    VectorStorageDatatype,
)

from desktop.core.errors import LibraryInUse, StoreUnavailable
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

FAST, FULL = "fast", "full"
# Exclusion lists up to these sizes are applied to an over-fetched result instead of as an Edge filter.
POSTFILTER_MAX_IDS, POSTFILTER_MAX_ARTISTS = 256, 64
# Points per update call. Each call holds the GIL; with 64 (vs 256) a 1 ms ticker thread's p99 gap
# during a bulk upsert fell from ~35 ms to ~14 ms at 768-d, at the same throughput.
BATCH = 64
_INDEX_TYPES = {"keyword": PayloadSchemaType.Keyword, "integer": PayloadSchemaType.Integer,
                "float": PayloadSchemaType.Float, "bool": PayloadSchemaType.Bool}
_SIZE_RE = re.compile(r"expected vector size (\d+), but got (\d+)")


def edge_config(dim: int) -> EdgeConfig:
    return EdgeConfig(
        vectors={
            FAST: EdgeVectorParams(size=dim, distance=Distance.Cosine, datatype=VectorStorageDatatype.Turbo8),
            FULL: EdgeVectorParams(size=dim, distance=Distance.Cosine, memory=Memory.Cold),
        },
        # Never let unoptimized points be deferred: we never optimize.
        optimizers=EdgeOptimizersConfig(prevent_unoptimized=False),
    )


def _open_shard(path: str, name: str, dim: int) -> EdgeShard:
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        raise StoreUnavailable(f"Cannot create the vector store folder {path}: {e.strerror or e}") from e
    try:
        return EdgeShard.load(path, edge_config(dim))
    except Exception as e:  # Edge raises bare Exception("Service runtime error: ...")
        msg = str(e)
        if "WouldBlock" in msg:
            raise LibraryInUse(
                f"The vector store {path} is already open in another Soundalike process or window. "
                "Close it and try again."
            ) from e
        m = _SIZE_RE.search(msg)
        if m:
            raise StoreUnavailable(
                f"Dimension mismatch: vector collection {name!r} at {path} holds {m.group(2)}-dimensional "
                f"vectors, but {m.group(1)} were requested. Use an embedder of that size or rebuild "
                "the collection."
            ) from e
        if "incompatible" in msg.lower():
            raise StoreUnavailable(
                f"Vector collection {name!r} at {path} was written in a different layout; rebuild it. ({msg})"
            ) from e
        raise StoreUnavailable(f"Cannot open the vector store {path}: {msg}") from e


class EdgeStore(VectorStore):
    """One Edge shard in `path` (= root_dir/<name>/). Thread-safe: Edge serialises its calls."""

    def __init__(self, path: str, name: str, dim: int):
        self.name, self.dim = check_name(name), int(dim)
        if self.dim <= 0:
            raise ValueError(f"dimension must be positive, got {dim}")
        self.path = os.path.abspath(path)
        self._shard: EdgeShard | None = _open_shard(self.path, name, self.dim)
        try:
            self._ensure_indexes()
        except BaseException:
            self.close()
            raise

    # -- plumbing ---------------------------------------------------------------------------------

    def _s(self) -> EdgeShard:
        if self._shard is None:
            raise StoreUnavailable(f"vector collection {self.name!r} is closed")
        return self._shard

    def _call(self, fn, *args):
        try:
            return fn(*args)
        except Exception as e:
            if self._shard is None or "not initialized" in str(e):
                raise StoreUnavailable(f"vector collection {self.name!r} is closed") from e
            raise StoreUnavailable(f"vector store {self.path}: {e}") from e

    def _ensure_indexes(self) -> None:
        s = self._s()
        have = set(self._call(s.info).payload_schema)
        for field, kind in PAYLOAD_INDEXES:
            if field not in have:
                self._call(s.update, UpdateOperation.create_field_index(field, _INDEX_TYPES[kind]))

    # -- writes -----------------------------------------------------------------------------------

    def upsert(self, items: list[tuple[int, np.ndarray, dict]]) -> None:
        items = list(items)
        if not items:
            return
        ids = as_ids(i for i, _, _ in items)
        mat = as_matrix((v for _, v, _ in items), self.dim)
        payloads = [clean_payload(i, p) for i, (_, _, p) in zip(ids, items)]
        s = self._s()
        for start in range(0, len(ids), BATCH):
            points = []
            for j in range(start, min(start + BATCH, len(ids))):
                v = mat[j].tolist()  # lists cross into Rust ~1.5x faster than numpy rows
                points.append(Point(ids[j], {FAST: v, FULL: v}, payloads[j]))
            self._call(s.update, UpdateOperation.upsert_points(points))

    def delete(self, ids: Iterable[int]) -> None:
        ids = as_ids(ids)
        s = self._s()
        for start in range(0, len(ids), 4096):
            self._call(s.update, UpdateOperation.delete_points(ids[start : start + 4096]))

    def flush(self) -> None:
        self._call(self._s().flush)

    def close(self) -> None:
        shard, self._shard = self._shard, None
        if shard is not None:
            try:
                shard.close()
            except Exception as e:
                raise StoreUnavailable(f"Closing the vector store {self.path} failed: {e}") from e

    # -- reads ------------------------------------------------------------------------------------

    def count(self) -> int:
        # Without a filter Edge's estimate is the sum of its segments' live points, the exact count (the same
        # after upserts, re-upserts of an id, deletes and a reopen: test_store); exact=True walks every point
        # instead: 23 ms at 100k tracks against 0.02 ms, a third of a station's first track (bench/radio.py).
        return int(self._call(self._s().count, CountRequest(exact=False)))

    def ids(self) -> set[int]:
        s, out, offset = self._s(), set(), None
        while True:
            recs, offset = self._call(
                s.scroll, ScrollRequest(offset=offset, limit=10_000, with_payload=False, with_vector=False)
            )
            out.update(int(r.id) for r in recs)
            if offset is None or not recs:
                return out

    def describe(self) -> dict:
        info = self._call(self._s().info)
        return {"collection": self.name, "where": self.path, "status": "exact search (Turbo8 scan + float32 rescore)",
                "points": info.points_count, "segments": info.segments_count,
                "indexed_vectors": info.indexed_vectors_count}

    def get_vectors(self, ids: Iterable[int]) -> dict[int, np.ndarray]:
        ids, s, out = as_ids(ids), self._s(), {}
        for start in range(0, len(ids), 1024):
            for r in self._call(s.retrieve, ids[start : start + 1024], False, [FULL]):
                out[int(r.id)] = np.asarray(r.vector[FULL], dtype=np.float32)
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
        excluded = set(as_ids(exclude_ids))
        artists = as_names(artist_not_in)
        conds = _must_conditions(genre, must)
        if len(excluded) <= POSTFILTER_MAX_IDS and len(artists) <= POSTFILTER_MAX_ARTISTS:
            # Over-fetch without the exclusions, then drop them: still the exact best-first order.
            limit = k + len(excluded) + (2 * k + 10 if artists else 0)
            hits = self._query(q, limit, Filter(must=conds) if conds else None)
            kept = [h for h in hits if h.id not in excluded and h.payload.get("artist") not in artists]
            if len(kept) >= k or len(hits) < limit:  # enough survivors, or nothing more to find
                return kept[:k]
        must_not: list = []
        if excluded:
            must_not.append(HasIdCondition(excluded))
        if artists:
            must_not.append(FieldCondition(key="artist", match=MatchAny(sorted(artists))))
        return self._query(q, k, Filter(must=conds or None, must_not=must_not or None))

    def recommend(self, positives, negatives=(), k: int = 10, *, around=None, diversity: float = 0.0,
                  exclude_ids: Iterable[int] = (), must: Mapping[str, Any] | None = None,
                  within: Iterable[int] | None = None, with_vectors: bool = False,
                  with_payload: bool = True, prefix_of: int | None = None) -> list[Hit]:
        args = recommend_args(positives, negatives, k, diversity, self.dim)
        if args is None:
            return []
        pos, neg, k = args
        excluded = set(as_ids(exclude_ids))
        conds = _must_conditions(None, must)
        candidates = max(PREFETCH_MIN, OVERSAMPLE * max(k, prefix_of or 0))
        rec = Query.RecommendBestScore(RecommendQuery(pos, neg), using=FAST)
        if within is not None:
            # A pool the caller fetched before (nearest_ids): an id filter on it makes Edge score only those
            # points, no scan (4 against 11 ms at 100k tracks, a pool of 1000, bench/radio.py).
            ids = set(as_ids(within)) - excluded
            if not ids:
                return []
            scan = last = Filter(must=[HasIdCondition(ids), *conds])
            prefetch = Prefetch(limit=candidates, filter=scan, query=rec)
        else:
            # A few excluded ids (a station's seeds, recent picks, skips) are filtered out at the last stage
            # only, over the candidates (an id filter on the scans doubled the query: 26 against 11 ms at 100k
            # tracks); the stages before it keep that many more, so MMR still chooses k among `candidates`
            # others. (Dropped after MMR, they made it choose k + len(excluded) of candidates + len(excluded).)
            post = excluded if len(excluded) <= POSTFILTER_MAX_IDS else set()
            scan = Filter(must=conds or None, must_not=[HasIdCondition(excluded - post)]) \
                if conds or excluded - post else None
            last = Filter(must=conds or None, must_not=[HasIdCondition(excluded)]) if conds or excluded else None
            candidates += len(post)
            # A best-score recommend over the whole collection scans it once per example (50-80 ms at 100k
            # tracks with 4-6 examples, against 17 ms for one scan; bench/radio.py, loaded 2-core machine).
            # So: one Turbo8 scan for a pool around the positives' mean, the engine's best-score recommend
            # (negatives included) picks the candidates from that pool, then the final ranking on float32.
            pool = Prefetch(limit=POOL_FACTOR * candidates, filter=scan,
                            query=Query.Nearest(np.mean(pos, axis=0).tolist(), using=FAST))
            prefetch = Prefetch(limit=candidates, filter=scan, prefetches=[pool], query=rec)
        if around is not None and diversity > 0:
            final = Mmr(as_query(around, self.dim).tolist(), 1.0 - diversity, candidates, using=FULL)
        else:
            final = Query.RecommendBestScore(RecommendQuery(pos, neg), using=FULL)
        # The vectors come in the same answer: a second call (get_vectors) cost about 1 ms more at 100k tracks.
        req = QueryRequest(prefetches=[prefetch], query=final, limit=k, filter=last, with_payload=with_payload,
                           with_vector=[FULL] if with_vectors else None)
        points = self._call(self._s().query, req)
        return [Hit(int(p.id), float(p.score), dict(p.payload or {}),
                    np.asarray(p.vector[FULL], np.float32) if with_vectors else None) for p in points]

    def nearest_ids(self, vector, n: int) -> list[int]:
        """One Turbo8 scan: the ids of about the `n` points nearest `vector`, no payload, no rescoring."""
        if n <= 0:
            return []
        req = QueryRequest(query=Query.Nearest(as_query(vector, self.dim).tolist(), using=FAST), limit=int(n),
                           with_payload=False)
        return [int(p.id) for p in self._call(self._s().query, req)]

    def _query(self, q: np.ndarray, limit: int, flt: Filter | None) -> list[Hit]:
        qv = q.tolist()
        candidates = max(PREFETCH_MIN, OVERSAMPLE * limit)
        req = QueryRequest(
            prefetches=[Prefetch(limit=candidates, query=Query.Nearest(qv, using=FAST), filter=flt)],
            query=Query.Nearest(qv, using=FULL),
            limit=limit,
            filter=flt,
            with_payload=True,
        )
        points = self._call(self._s().query, req)
        return [Hit(int(p.id), float(p.score), dict(p.payload or {})) for p in points]


def _must_conditions(genre: str | None, must: Mapping[str, Any] | None) -> list:
    conds: list = []
    if genre is not None:
        conds.append(FieldCondition(key="genre", match=MatchValue(genre)))
    for field, kind, value in parse_must(must):
        if kind == "eq":
            conds.append(FieldCondition(key=field, match=MatchValue(value)))
        elif kind == "any":
            conds.append(FieldCondition(key=field, match=MatchAny(value)))
        else:
            conds.append(FieldCondition(key=field, range=RangeFloat(**value)))
    return conds


def open_edge(root_dir: str, name: str, dim: int) -> EdgeStore:
    path = os.path.join(root_dir, check_name(name))
    if not os.path.exists(os.path.join(path, "edge_config.json")):
        _create_in_child(path, name, dim)
    return EdgeStore(path, name, dim)


def _create_in_child(path: str, name: str, dim: int) -> None:
    """Create a new shard in a short-lived process, then open it here.

    Creating a shard (WAL preallocation, fsync) holds the GIL for ~0.5 s, reopening one for ~15-45 ms
    (measured here): done in the app's process, the creation froze the window for up to 420 ms when
    the first index run started. Any failure just leaves the creation to EdgeStore, as before.
    """
    import multiprocessing

    try:
        child = multiprocessing.get_context("spawn").Process(target=_create_shard, args=(path, name, dim), daemon=True)
        child.start()
        child.join(60)
        if child.is_alive():
            child.kill()
            child.join()
    except Exception:  # e.g. no way to start processes here: EdgeStore creates the shard itself
        pass


def _create_shard(path: str, name: str, dim: int) -> None:
    EdgeStore(path, name, dim).close()
