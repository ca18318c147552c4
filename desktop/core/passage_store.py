"""The passage index: one Qdrant Edge point per window (payload: track id, start, end), its own shard.

Why one point per window rather than one multivector per track with MaxSim (bench/passage_design.py,
bench/README.md "Passage search"): on 120k synthetic windows (1000 tracks x 120, a motif planted in 5)
both found the 5 planted tracks, at similar query times on a busy 2-core machine (p50 59 vs 47 ms), and
the multivector collection was built faster (4.6 vs 26 s; the windows' time then included a delete per
track that a new track no longer pays). What decides it: a window point carries its place in the track,
so a hit says *where* (all 5 within one hop) without a second pass over the track's windows; a query of
several windows is aligned in time (window i of the query against the window i hops later in the hit),
while MaxSim takes each query window's best match anywhere in the track; a window collection gets the
track store's Turbo8 scan + float32 rescore (a multivector is scanned in float32 whole); and a track's
windows are replaced or deleted by a payload filter like any points. Grouping to one passage per track
is done on the over-fetched hits (`desktop.core.passage_search`).

Point ids are (track id << 20) + window number, so writing a track's windows again replaces them
(a resumed pass never duplicates a window); a track's old windows are deleted by filter first, so a
track that became shorter keeps none of its old tail.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator

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
    HnswIndexConfig,
    MatchAny,
    Memory,
    PayloadSchemaType,
    Point,
    Prefetch,
    Query,
    QueryBatchRequest,
    QueryRequest,
    ScrollRequest,
    SearchParams,
    UpdateOperation,
    VectorStorageDatatype,
)

from desktop.core.errors import StoreUnavailable
from desktop.core.faults import crash_point
from desktop.core.passage_graph import HNSW_EF_CONSTRUCT, HNSW_M, QUERY_EF, old_dir, recover
from desktop.core.store.edge import BATCH, FAST, FULL, OVERSAMPLE, _create_in_child, _open_shard

WINDOW_BITS = 20  # up to 1,048,576 windows per track (24 days of audio at a 2 s hop)
MAX_WINDOWS = 1 << WINDOW_BITS


def point_id(track_id: int, window: int) -> int:
    return (int(track_id) << WINDOW_BITS) + int(window)


def collection_name(key: str) -> str:
    return f"passages-{key}"


def index_exists(root_dir: str, key: str) -> bool:
    """Has a passage index of `key` been created (so removals need not create one)?"""
    return os.path.exists(os.path.join(root_dir, collection_name(key), "edge_config.json"))


def window_points(items) -> Iterator[tuple[int, list[float], dict]]:
    """(point id, vector, payload) of every window of (track id, starts, ends, units) items: the one layout
    of a window point, shared by the embedded and the server passage index."""
    for track_id, starts, ends, units in items:
        units = np.asarray(units, np.float32)
        if len(units) > MAX_WINDOWS:
            raise ValueError(f"track {track_id} has {len(units)} windows, more than {MAX_WINDOWS}")
        ends = np.broadcast_to(np.asarray(ends, np.float64), (len(units),))
        for i in range(len(units)):
            yield (point_id(track_id, i), units[i].tolist(),
                   {"track_id": int(track_id), "start": float(starts[i]), "end": float(ends[i])})


def query_matrix(queries, dim: int) -> np.ndarray:
    """Query window vectors as an n x dim float32 matrix (one vector is a row); refuses another dimension."""
    queries = np.atleast_2d(np.asarray(queries, np.float32))
    if queries.shape[1] != dim:
        raise ValueError(f"query has {queries.shape[1]} values, the passage index {dim}")
    return queries


def batches(items: Iterable, size: int) -> Iterator[list]:
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def open_graph_shard(path: str, dim: int) -> EdgeShard:
    """The shard at `path` with the settings `optimize()` builds the search graph by (passage_graph's child):
    `edge_config`'s two vectors, a graph over the Turbo8 codes only (the float32 copy is read for the
    rescore of the graph's candidates; a graph over it too would double the build), and every segment
    indexed whatever its size (`indexing_threshold`/`full_scan_threshold` 1 KB), so that a small index in
    the tests takes the same path as a million windows. The app reopens the result with `edge_config`:
    the graph stays (the settings only steer the next optimize)."""
    def graph(m: int) -> HnswIndexConfig:
        return HnswIndexConfig(m=m, ef_construct=HNSW_EF_CONSTRUCT, full_scan_threshold=1)

    config = EdgeConfig(
        vectors={
            FAST: EdgeVectorParams(size=dim, distance=Distance.Cosine, datatype=VectorStorageDatatype.Turbo8,
                                   hnsw_config=graph(HNSW_M)),
            FULL: EdgeVectorParams(size=dim, distance=Distance.Cosine, memory=Memory.Cold, hnsw_config=graph(0)),
        },
        optimizers=EdgeOptimizersConfig(prevent_unoptimized=False, indexing_threshold=1),
    )
    return EdgeShard.load(path, config)


class PassageHit:
    __slots__ = ("track_id", "start", "end", "score")

    def __init__(self, track_id: int, start: float, end: float, score: float):
        self.track_id, self.start, self.end, self.score = track_id, start, end, score

    @classmethod
    def of(cls, payload: dict, score: float) -> PassageHit:
        """The hit a window point's payload (as `window_points` writes it) and score make."""
        return cls(int(payload["track_id"]), float(payload["start"]), float(payload["end"]), float(score))

    def __repr__(self) -> str:
        return f"PassageHit({self.track_id}, {self.start:.1f}-{self.end:.1f}, {self.score:.3f})"


class PassageStore:
    """Window vectors of one vector space. Thread-safe: every call holds `_lock`, so a query waits for the
    short swap that puts a search graph in place (`passage_graph`) instead of finding the shard closed."""

    def __init__(self, root_dir: str, key: str, dim: int):
        self.name, self.dim = collection_name(key), int(dim)
        self.path = os.path.abspath(os.path.join(root_dir, self.name))
        self._lock = threading.RLock()
        self._writes = 0  # writes since this store was opened: a graph built on an older copy is stale
        recover(self.path)
        if not os.path.exists(os.path.join(self.path, "edge_config.json")):
            _create_in_child(self.path, self.name, self.dim)  # creation holds the GIL: not in the app's process
        self._shard = _open_shard(self.path, self.name, self.dim)
        if "track_id" not in set(self._call("info").payload_schema):
            self._write(UpdateOperation.create_field_index("track_id", PayloadSchemaType.Integer))

    def _call(self, fn, *args):
        with self._lock:
            if self._shard is None:
                raise StoreUnavailable(f"the passage index {self.path} is closed")
            try:
                return getattr(self._shard, fn)(*args)
            except Exception as e:
                raise StoreUnavailable(f"passage index {self.path}: {e}") from e

    def _write(self, operation) -> None:
        with self._lock:
            self._writes += 1
            self._call("update", operation)

    # -- writes -----------------------------------------------------------------------------------
    def replace_track(self, track_id: int, starts, ends, units: np.ndarray, *, had_windows: bool = True) -> None:
        """The track's windows become exactly these (unit vectors, n x dim). `had_windows=False` (a track
        never written before, as the catalog knows) skips the delete: 10-20 ms per track at 100k windows."""
        self.write_tracks([(track_id, starts, ends, units)], had_windows=had_windows)

    def write_tracks(self, items, *, had_windows: bool = True) -> None:
        """`replace_track` for several (track id, starts, ends, units) at once, in full batches of points
        (a migration copies thousands of short tracks: one call per track would be one request each)."""
        items = list(items)
        if had_windows:
            self.remove_tracks([tid for tid, *_ in items])
        for points in batches(window_points(items), BATCH):
            self._write(UpdateOperation.upsert_points(
                [Point(pid, {FAST: v, FULL: v}, payload) for pid, v, payload in points]))

    def remove_tracks(self, track_ids: Iterable[int]) -> None:
        ids = [int(t) for t in track_ids]
        for a in range(0, len(ids), 1000):
            flt = Filter(must=[FieldCondition(key="track_id", match=MatchAny(ids[a : a + 1000]))])
            self._write(UpdateOperation.delete_points_by_filter(flt))

    # -- reads ------------------------------------------------------------------------------------
    def count(self) -> int:
        return int(self._call("count", CountRequest(exact=True)))

    def get_vectors(self, point_ids: Iterable[int]) -> dict[int, np.ndarray]:
        """Stored window vectors by point id (`point_id(track, window)`); a migration verifies with them."""
        ids, out = [int(i) for i in point_ids], {}
        for a in range(0, len(ids), 1024):
            for r in self._call("retrieve", ids[a : a + 1024], False, [FULL]):
                out[int(r.id)] = np.asarray(r.vector[FULL], np.float32)
        return out

    def track_ids(self) -> set[int]:
        """The tracks that have windows here (ids are scanned, no payload read)."""
        out, offset = set(), None
        while True:
            recs, offset = self._call("scroll", ScrollRequest(offset=offset, limit=10_000,
                                                                          with_payload=False, with_vector=False))
            out.update(int(r.id) >> WINDOW_BITS for r in recs)
            if offset is None or not recs:
                return out

    def search_many(self, queries: np.ndarray, limit: int) -> list[list[PassageHit]]:
        """For each query unit vector, its `limit` nearest windows, best first (one batched call)."""
        queries = query_matrix(queries, self.dim)
        params = SearchParams(hnsw_ef=QUERY_EF)  # used where a search graph exists (passage_graph)
        requests = []
        for q in queries:
            qv = q.tolist()
            requests.append(QueryRequest(
                prefetches=[Prefetch(limit=OVERSAMPLE * limit, query=Query.Nearest(qv, using=FAST), params=params)],
                query=Query.Nearest(qv, using=FULL), limit=limit, with_payload=True))
        results = self._call("query_batch", QueryBatchRequest(requests))
        return [[PassageHit.of(p.payload, p.score) for p in points] for points in results]

    def flush(self) -> None:
        self._call("flush")

    # -- the search graph (passage_graph) ----------------------------------------------------------
    def write_stamp(self) -> int:
        return self._writes

    def plain_windows(self) -> int:
        """Windows outside any search graph (each query scans them one by one). Deleted windows that were in
        a graph still count as graphed until the next build, so this can be low after many removals."""
        info = self._call("info")
        return max(0, int(info.points_count) - int(info.indexed_vectors_count) // 2)  # 2 vectors a window

    def swap_in(self, graph: str, stamp: int) -> bool:
        """Put the graphed copy `graph` in place of the shard, unless a write came after the copy (`stamp`).
        Queries meanwhile wait on the lock (close + two renames + reopen)."""
        with self._lock:
            if self._shard is None or self._writes != stamp:
                return False
            self._shard.close()
            self._shard = None
            try:
                os.replace(self.path, old_dir(self.path))
                crash_point("graph-swap")
                os.replace(graph, self.path)
                swapped = True
            except OSError:
                swapped = False
            recover(self.path)  # completes or undoes the renames, deletes the old shard
            self._shard = _open_shard(self.path, self.name, self.dim)
            return swapped

    def close(self) -> None:
        with self._lock:
            shard, self._shard = self._shard, None
            if shard is not None:
                shard.close()
