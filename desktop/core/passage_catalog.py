"""The raw window vectors of the passage index, kept in the catalog (its own table).

Why keep them: like the track vectors, the passage index in Qdrant is only a standardised mirror.
When the library's statistics are refitted, or the passage index is lost, it is rebuilt from these
rows without decoding a single file. Stored as float16 (clipped to its range): half the size, and
the rounding (3 significant digits) is far below the differences the standardisation keeps.

A row remembers the file's size and mtime when its windows were made, so a changed file is planned
again; rows go with their track (ON DELETE CASCADE). A file whose windows could not be made keeps a
row with the reason and no vectors, so it is not retried on every run (until the file changes).
A spectral track's row also keeps its whole-track parts (32 s each, what late interaction compares besides the
excerpts: desktop.core.late_interaction.track_parts), the track's outline for the hits' mini-waveform, both
float16.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Iterable, Iterator

import numpy as np

_SCHEMA = """
CREATE TABLE IF NOT EXISTS passage_windows (
    track_id INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
    embedder TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime REAL NOT NULL,
    n INTEGER NOT NULL DEFAULT 0,
    starts BLOB,  -- float32 (n): window starts, seconds
    ends BLOB,    -- float32 (n): window ends, seconds
    raw BLOB,     -- float16 (n x dim): raw window vectors
    error TEXT NOT NULL DEFAULT '',
    made_at REAL NOT NULL,
    levels BLOB,  -- float16: the track's RMS level each LEVEL_SECONDS (its mini-waveform), NULL if not known
    parts BLOB,   -- float16 (k x dim): whole-track parts for late interaction (spectral), NULL if none
    PRIMARY KEY (track_id, embedder)
);
"""
F16_MAX = 65000.0


class PassageRows:
    """Window rows of one catalog; shares its connection, lock and transactions."""

    def __init__(self, catalog):
        self.catalog = catalog
        with catalog._lock:
            catalog._db.executescript(_SCHEMA)
            columns = {row[1] for row in catalog._db.execute("PRAGMA table_info(passage_windows)")}
            for column in ("levels", "parts"):  # a library whose passage pass ran before these were kept
                if column not in columns:
                    catalog._db.execute(f"ALTER TABLE passage_windows ADD COLUMN {column} BLOB")

    def plan(self, key: str, with_parts: bool | None = None) -> list[int]:
        """Indexed tracks of vector space `key` whose windows are missing or older than the file; `with_parts`
        (default: whether the space keeps whole-track parts, `late_interaction.applies`): also those whose windows
        were made before whole-track parts were kept (read once more, for them)."""
        if with_parts is None:
            from desktop.core.late_interaction import applies  # lazy: late_interaction reads this module's rows

            with_parts = applies(key)
        stale = " OR (p.n>0 AND p.parts IS NULL)" if with_parts else ""
        q = ("SELECT t.id FROM tracks t JOIN vectors v ON v.track_id=t.id AND v.embedder=? "
             "LEFT JOIN passage_windows p ON p.track_id=t.id AND p.embedder=? "
             f"WHERE t.status='indexed' AND (p.track_id IS NULL OR p.size!=t.size OR p.mtime!=t.mtime{stale}) "
             "ORDER BY t.id")
        return [r[0] for r in self.catalog._rows(q, (key, key))]

    def written(self, key: str) -> set[int]:
        """Tracks that have windows (possibly stale) in the passage index of `key`."""
        rows = self.catalog._rows("SELECT track_id FROM passage_windows WHERE embedder=? AND n>0", (key,))
        return {r[0] for r in rows}

    def save(self, track_id: int, key: str, size: int, mtime: float, starts, ends, raws: np.ndarray,
             levels=None, parts=None) -> None:
        outline = None if levels is None else np.asarray(levels, np.float16).tobytes()
        kept_parts = None if parts is None or not len(parts) else _f16(parts).tobytes()
        self._put(track_id, key, size, mtime, len(raws), np.asarray(starts, np.float32).tobytes(),
                  np.asarray(ends, np.float32).tobytes(), _f16(raws).tobytes(), "", outline, kept_parts)

    def save_failed(self, track_id: int, key: str, size: int, mtime: float, error: str) -> None:
        self._put(track_id, key, size, mtime, 0, None, None, None, error, None, None)

    def _put(self, *values) -> None:
        self.catalog._run(
            "INSERT INTO passage_windows(track_id, embedder, size, mtime, n, starts, ends, raw, error, levels, "
            "parts, made_at) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(track_id, embedder) DO UPDATE "
            "SET size=excluded.size, mtime=excluded.mtime, n=excluded.n, starts=excluded.starts, ends=excluded.ends, "
            "raw=excluded.raw, error=excluded.error, levels=excluded.levels, parts=excluded.parts, "
            "made_at=excluded.made_at", (*values, time.time()))

    def parts(self, key: str, ids: Iterable[int]) -> dict[int, np.ndarray]:
        """The whole-track parts (float32 k x dim) of each of `ids` whose passage pass kept them."""
        wanted, out = sorted({int(i) for i in ids}), {}
        for a in range(0, len(wanted), 500):
            chunk = wanted[a : a + 500]
            for tid, n, raw_bytes, blob in self.catalog._rows(
                    f"SELECT track_id, n, length(raw), parts FROM passage_windows WHERE embedder=? "
                    f"AND parts IS NOT NULL AND n>0 AND track_id IN ({','.join('?' * len(chunk))})", (key, *chunk)):
                dim = raw_bytes // 2 // n  # the windows' dimension, from their own blob's length
                if dim and len(blob) % (2 * dim) == 0:
                    out[tid] = np.frombuffer(blob, np.float16).astype(np.float32).reshape(-1, dim)
        return out

    def levels(self, key: str, ids: Iterable[int]) -> dict[int, np.ndarray]:
        """The outline (RMS level a second) of each of `ids` whose passage pass kept one."""
        wanted, out = sorted({int(i) for i in ids}), {}
        for a in range(0, len(wanted), 500):
            chunk = wanted[a : a + 500]
            for tid, blob in self.catalog._rows(
                    f"SELECT track_id, levels FROM passage_windows WHERE embedder=? AND levels IS NOT NULL AND "
                    f"track_id IN ({','.join('?' * len(chunk))})", (key, *chunk)):
                out[tid] = np.frombuffer(blob, np.float16).astype(np.float32)
        return out

    def windows(self, key: str, ids: Iterable[int] | None = None, page: int = 200, *, after: int = -1
                ) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
        """(track id, starts, ends, raw float32 n x dim) of every track with windows (or of `ids`, or of the
        tracks after id `after`), in track id order, a page at a time."""
        if ids is not None:
            wanted = sorted({int(i) for i in ids})
            for a in range(0, len(wanted), page):
                chunk = wanted[a : a + page]
                rows = self.catalog._rows(
                    f"SELECT track_id, n, starts, ends, raw FROM passage_windows WHERE embedder=? AND n>0 AND "
                    f"track_id IN ({','.join('?' * len(chunk))}) ORDER BY track_id", (key, *chunk))
                yield from map(_decoded, rows)
            return
        last = after
        while True:
            rows = self.catalog._rows(
                "SELECT track_id, n, starts, ends, raw FROM passage_windows WHERE embedder=? AND n>0 AND track_id>? "
                "ORDER BY track_id LIMIT ?", (key, last, page))
            yield from map(_decoded, rows)
            if len(rows) < page:
                return
            last = rows[-1][0]

    def counts(self, key: str) -> dict:
        """tracks with windows, windows, hours of audio covered, failed files, bytes of raw vectors."""
        row = self.catalog._one(
            "SELECT COUNT(*), COALESCE(SUM(n), 0), COALESCE(SUM(length(raw)), 0), "
            "COALESCE(SUM(CASE WHEN n>0 THEN 0 ELSE 1 END), 0) FROM passage_windows WHERE embedder=?", (key,))
        return {"tracks": row[0] - row[3], "windows": row[1], "bytes": row[2], "failed": row[3]}

    def failures(self, key: str) -> list[tuple[int, str]]:
        return [(r[0], r[1]) for r in self.catalog._rows(
            "SELECT track_id, error FROM passage_windows WHERE embedder=? AND n=0", (key,))]


_ROWS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def rows_of(catalog) -> PassageRows:
    """This open catalog's PassageRows, its table checked once: similar and passage queries read it at every call,
    and a schema statement there would cost a statement and commit a transaction open on the connection."""
    rows = _ROWS.get(catalog)
    if rows is None:
        rows = _ROWS[catalog] = PassageRows(catalog)
    return rows


def _f16(vectors) -> np.ndarray:
    return np.clip(np.nan_to_num(np.asarray(vectors, np.float32)), -F16_MAX, F16_MAX).astype(np.float16)


def _decoded(row) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    tid, n, starts, ends, raw = row
    return (tid, np.frombuffer(starts, np.float32).astype(np.float64),
            np.frombuffer(ends, np.float32).astype(np.float64),
            np.frombuffer(raw, np.float16).astype(np.float32).reshape(n, -1))
