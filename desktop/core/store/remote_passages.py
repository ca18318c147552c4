"""The passage index on a Qdrant server: the same window points as the embedded one, in a collection.

Why: a library that moved its track vectors to a server (a NAS, a cluster) has the most windows of all
(about 100 per track), so they belong there too, and `store migrate` copies them with the track vectors.
The points are laid out by `passage_store.window_points` (id = track id << 20 + window number; payload
track_id, start, end), so both backends hold identical points and `passage_search` cannot tell them apart.
The collection is `soundalike-<library id>-passages-<key>` and gets only the `track_id` index (a track's
windows are replaced and deleted by that filter); the track collection's tag indexes would be dead weight.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from qdrant_client import models

from desktop.core.passage_store import WINDOW_BITS, PassageHit, batches, query_matrix, window_points
from desktop.core.store.params import search_params
from desktop.core.store.remote import BATCH, RemoteStore


class RemotePassageStore(RemoteStore):
    """Window vectors of one vector space on a Qdrant server (the `PassageStore` interface)."""

    payload_indexes = (("track_id", "integer"),)

    def replace_track(self, track_id: int, starts, ends, units: np.ndarray, *, had_windows: bool = True) -> None:
        self.write_tracks([(track_id, starts, ends, units)], had_windows=had_windows)

    def write_tracks(self, items, *, had_windows: bool = True) -> None:
        """Several tracks' windows in full batches of points (one request per batch, not per track)."""
        items = list(items)
        if had_windows:
            self.remove_tracks([tid for tid, *_ in items])
        client = self._c()
        for chunk in batches(window_points(items), BATCH):
            if not np.isfinite([v for _, v, _ in chunk]).all():
                raise ValueError("a window vector contains NaN or infinity")
            points = [models.PointStruct(id=pid, vector=v, payload=payload) for pid, v, payload in chunk]
            self._call(client.upsert, self.name, points=points, wait=True)

    def remove_tracks(self, track_ids: Iterable[int]) -> None:
        ids = [int(t) for t in track_ids]
        for a in range(0, len(ids), 1000):
            match = models.MatchAny(any=ids[a : a + 1000])
            flt = models.Filter(must=[models.FieldCondition(key="track_id", match=match)])
            self._call(self._c().delete, self.name, points_selector=models.FilterSelector(filter=flt), wait=True)

    def track_ids(self) -> set[int]:
        """The tracks that have windows here."""
        return {pid >> WINDOW_BITS for pid in self.ids()}

    def search_many(self, queries: np.ndarray, limit: int) -> list[list[PassageHit]]:
        """For each query unit vector, its `limit` nearest windows, best first (one batched request)."""
        queries = query_matrix(queries, self.dim)
        requests = [models.QueryRequest(query=q.tolist(), limit=int(limit), with_payload=True,
                                        params=search_params(int(limit), self.quantization)) for q in queries]
        results = self._call(self._c().query_batch_points, self.name, requests=requests)
        return [[PassageHit.of(p.payload, p.score) for p in r.points] for r in results]
