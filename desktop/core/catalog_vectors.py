"""The catalog's index results: each track's raw vectors per embedder, and the library statistics
(standardiser) each vector space is fitted with.

Raw (unstandardised) vectors are the source of truth: the vector store holds them standardised, and a
refit or `soundalike check --repair` rewrites the store from here without decoding anything again.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

import numpy as np

from desktop.core.catalog_db import SQLiteFile


class VectorTables(SQLiteFile):
    """`vectors` and `standardizers`, and the status columns of `tracks` that follow them."""

    # -- index results ----------------------------------------------------------------------------
    def plan(self, embedder_key: str, retry_failed: bool = False) -> list[int]:
        """Ids that still need a vector from `embedder_key`, oldest first. Re-planning is how we resume."""
        q = ("SELECT id FROM tracks t WHERE missing_since IS NULL AND "
             "NOT EXISTS (SELECT 1 FROM vectors v WHERE v.track_id=t.id AND v.embedder=?)")
        if not retry_failed:
            q += (" AND status != 'failed' AND NOT EXISTS (SELECT 1 FROM failures f WHERE f.track_id=t.id "
                  "AND f.embedder=?)")
            return [r[0] for r in self._rows(q + " ORDER BY id", (embedder_key, embedder_key))]
        return [r[0] for r in self._rows(q + " ORDER BY id", (embedder_key,))]

    def adopt_existing(self, embedder_key: str) -> int:
        """Tracks that already have a vector of `embedder_key` (switching back to an earlier embedder)."""
        cur = self._run(
            "UPDATE tracks SET status='indexed', error='', embedder=? WHERE embedder != ? AND "
            "EXISTS (SELECT 1 FROM vectors v WHERE v.track_id=tracks.id AND v.embedder=?)",
            (embedder_key, embedder_key, embedder_key),
        )
        return cur.rowcount

    def set_indexed(self, track_id: int, embedder_key: str, raw: np.ndarray, parts: np.ndarray | None = None,
                    note: str = "") -> None:
        """Store the vector; `note` (kept in `error`) says what the user should know, e.g. "damaged: ..."."""
        blob = None if parts is None else np.asarray(parts, np.float32).tobytes()
        with self.transaction():
            self._run(
                "INSERT INTO vectors(track_id, embedder, raw, parts) VALUES(?, ?, ?, ?) "
                "ON CONFLICT(track_id, embedder) DO UPDATE SET raw=excluded.raw, parts=excluded.parts",
                (track_id, embedder_key, np.asarray(raw, np.float32).tobytes(), blob),
            )
            self._run(
                "UPDATE tracks SET status='indexed', error=?, embedder=?, indexed_at=? WHERE id=?",
                (note, embedder_key, time.time(), track_id),
            )
            self._run("DELETE FROM failures WHERE track_id=? AND embedder=?", (track_id, embedder_key))

    def set_failed(self, track_id: int, embedder_key: str, error: str) -> None:
        self._run(
            "UPDATE tracks SET status='failed', error=?, embedder=?, indexed_at=? WHERE id=?",
            (error, embedder_key, time.time(), track_id),
        )

    def set_failed_beside(self, track_id: int, embedder_key: str, error: str, note: str) -> None:
        """`embedder_key` (a space being filled beside the searched one) failed on a track that keeps its
        status and old vector meanwhile: the failure is recorded, `note` says so on the track."""
        with self.transaction():
            self._run("INSERT INTO failures(track_id, embedder, error) VALUES(?, ?, ?) "
                      "ON CONFLICT(track_id, embedder) DO UPDATE SET error=excluded.error",
                      (track_id, embedder_key, error))
            self._run("UPDATE tracks SET error=? WHERE id=?", (note, track_id))

    def apply_failures(self, embedder_key: str) -> list[int]:
        """The space of `embedder_key` is now the searched one: its recorded failures become the tracks'
        status (failed, with the reason). Returns their ids."""
        with self.transaction():
            rows = self._rows("SELECT track_id, error FROM failures WHERE embedder=?", (embedder_key,))
            for tid, error in rows:
                self._run("UPDATE tracks SET status='failed', error=?, embedder=?, indexed_at=? WHERE id=?",
                          (error, embedder_key, time.time(), tid))
            self._run("DELETE FROM failures WHERE embedder=?", (embedder_key,))
        return [r[0] for r in rows]

    def set_pending(self, ids: Iterable[int]) -> None:
        """Back to the queue (e.g. marked indexed but its vector is gone)."""
        with self.transaction():
            for tid in ids:
                self._run("UPDATE tracks SET status='pending', error='' WHERE id=?", (tid,))

    def set_duration(self, track_id: int, duration: float) -> None:
        """The length the decoder found (a header may claim 10 hours for 10 MB of audio)."""
        self._run("UPDATE tracks SET duration=? WHERE id=?", (duration, track_id))

    def raw_vectors(self, embedder_key: str, ids: Iterable[int] | None = None) -> Iterator[tuple[int, np.ndarray]]:
        if ids is None:
            rows = self._rows("SELECT track_id, raw FROM vectors WHERE embedder=? ORDER BY track_id", (embedder_key,))
        else:
            ids, rows = list(ids), []
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                q = f"SELECT track_id, raw FROM vectors WHERE embedder=? AND track_id IN ({','.join('?' * len(chunk))})"
                rows += self._rows(q, [embedder_key, *chunk])
        for tid, raw in rows:
            yield tid, np.frombuffer(raw, dtype=np.float32)

    def part_vectors(self, embedder_key: str, page: int = 1000) -> Iterator[np.ndarray]:
        """Each track's part vectors (k x dim), a page at a time: a big library's parts never sit in memory
        at once."""
        last = -1
        while True:
            rows = self._rows("SELECT track_id, length(raw) / 4, parts FROM vectors WHERE embedder=? AND track_id>? "
                              "AND parts IS NOT NULL ORDER BY track_id LIMIT ?", (embedder_key, last, page))
            for _tid, dim, parts in rows:  # the raw vector's length gives the dimension, without reading it
                if dim and len(parts) % (4 * dim) == 0:
                    yield np.frombuffer(parts, dtype=np.float32).reshape(-1, dim)
            if len(rows) < page:
                return
            last = rows[-1][0]

    def parts_of(self, embedder_key: str, ids: Iterable[int]) -> dict[int, np.ndarray]:
        """The part vectors (k x dim) of the given tracks; tracks stored without parts are left out."""
        ids, out = list(ids), {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            q = (f"SELECT track_id, length(raw) / 4, parts FROM vectors WHERE embedder=? AND parts IS NOT NULL "
                 f"AND track_id IN ({','.join('?' * len(chunk))})")
            for tid, dim, parts in self._rows(q, [embedder_key, *chunk]):
                if dim and parts and len(parts) % (4 * dim) == 0:
                    out[tid] = np.frombuffer(parts, dtype=np.float32).reshape(-1, dim)
        return out

    def vector_keys(self) -> list[str]:
        """Every vector space (embedder key) the catalog holds raw vectors of."""
        return [r[0] for r in self._rows("SELECT DISTINCT embedder FROM vectors ORDER BY embedder")]

    def vector_count(self, embedder_key: str) -> int:
        return self._one("SELECT COUNT(*) FROM vectors WHERE embedder=?", (embedder_key,))[0]

    def indexed_ids(self, embedder_key: str) -> set[int]:
        return {r[0] for r in self._rows("SELECT track_id FROM vectors WHERE embedder=?", (embedder_key,))}

    # -- library standardisation statistics ------------------------------------------------------
    def standardizer(self, embedder_key: str) -> tuple[int, np.ndarray, np.ndarray, np.ndarray | None] | None:
        """(n, mean, scale, whitening or None) of the last fit, or None."""
        row = self._one("SELECT n, mean, scale, whitening FROM standardizers WHERE embedder=?", (embedder_key,))
        if not row:
            return None
        mean, scale = np.frombuffer(row[1], np.float32).copy(), np.frombuffer(row[2], np.float32).copy()
        whitening = None
        if row[3] is not None and len(row[3]) == 4 * len(mean) ** 2:
            whitening = np.frombuffer(row[3], np.float32).reshape(len(mean), len(mean)).copy()
        return row[0], mean, scale, whitening

    def set_standardizer(self, embedder_key: str, n: int, mean: np.ndarray, scale: np.ndarray,
                         whitening: np.ndarray | None = None) -> None:
        blob = None if whitening is None else np.asarray(whitening, np.float32).tobytes()
        self._run(
            "INSERT INTO standardizers(embedder, n, mean, scale, whitening, fitted_at) VALUES(?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(embedder) DO UPDATE SET n=excluded.n, mean=excluded.mean, scale=excluded.scale, "
            "whitening=excluded.whitening, fitted_at=excluded.fitted_at",
            (embedder_key, n, np.asarray(mean, np.float32).tobytes(), np.asarray(scale, np.float32).tobytes(), blob,
             time.time()),
        )
