"""The SQLite catalog: which files exist, their tags, their index status and their raw vectors.

It is the source of truth; the vector store only mirrors `vectors` (standardised) for fast search, and
`soundalike check --repair` can rebuild the store from here without decoding anything again.

WAL mode and one transaction per change: a crash at any point leaves either the old or the new row,
never half of one. One connection shared by threads behind a lock (the indexer writes from a worker
thread while the window reads); WAL lets other processes read meanwhile.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np

from desktop.core.errors import CatalogError, TrackNotFound
from desktop.core.paths import from_db_path, shown, to_db_path
from desktop.core.track import (
    FIELDS,
    FROM_FILE,
    FROM_TAGS,
    NAMES,
    SEARCHABLE,
    SORTABLE,
    TRACKS_INDEXES,
    TRACKS_TABLE,
    Track,
    declarations,
)

__all__ = ["Catalog", "Track", "SORTABLE", "TRACKS_TABLE"]

SCHEMA_VERSION = 3  # 2: vectors.parts, standardizers.whitening; 3: tracks.missing_since, paths as bytes

# The tracks table is derived from the field table (track.py) and migrated by comparing the two.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- Paths are stored as the file system's bytes (os.fsencode): a name that is not valid UTF-8 is kept exactly.
CREATE TABLE IF NOT EXISTS folders (path TEXT PRIMARY KEY, added_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS vectors (
    track_id INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
    embedder TEXT NOT NULL,
    raw BLOB NOT NULL,
    parts BLOB,  -- float32 (k x dim): the vectors of the parts the embedder read, or NULL
    PRIMARY KEY (track_id, embedder)
);
CREATE TABLE IF NOT EXISTS standardizers (
    embedder TEXT PRIMARY KEY,
    n INTEGER NOT NULL,
    mean BLOB NOT NULL,
    scale BLOB NOT NULL,
    whitening BLOB,  -- float32 (dim x dim) within-track whitening, or NULL
    fitted_at REAL NOT NULL
);
"""



def damaged_message(path: Path, error: Exception) -> str:
    return (f"{path}: the catalog is damaged ({error}); run `soundalike check --repair` to restore the last "
            "good copy (saved after each successful index run)")


def _text(value):
    """Titles and genres made from an undecodable file name hold surrogates SQLite cannot store."""
    return shown(value) if isinstance(value, str) else value


class FileState(NamedTuple):
    """What a scan compares with the disk."""

    id: int
    size: int
    mtime: float
    missing_since: float | None


class Catalog:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=10, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.OperationalError as e:
            raise CatalogError(f"{self.path}: cannot open the catalog ({e})") from e
        except sqlite3.DatabaseError as e:
            raise CatalogError(damaged_message(self.path, e)) from e
        except OSError as e:
            raise CatalogError(f"{self.path}: cannot open the catalog ({e})") from e

    # -- schema -----------------------------------------------------------------------------------
    def _migrate(self) -> None:
        self._db.executescript(_SCHEMA)
        version = self.meta("schema_version")
        if version is None:
            self.set_meta("schema_version", str(SCHEMA_VERSION))
        elif int(version) > SCHEMA_VERSION:
            raise CatalogError(
                f"{self.path}: made by a newer Soundalike (schema {version}, this one knows {SCHEMA_VERSION})"
            )
        elif int(version) < 2:
            with self.transaction():
                self._add_column("vectors", "parts BLOB")
                self._add_column("standardizers", "whitening BLOB")
                self.set_meta("schema_version", "2")
        self._migrate_tracks()
        if int(self.meta("schema_version")) < 3:
            with self.transaction():
                self._run("UPDATE tracks SET path=CAST(path AS BLOB) WHERE typeof(path)='text'")
                self._run("UPDATE folders SET path=CAST(path AS BLOB) WHERE typeof(path)='text'")
                self.set_meta("schema_version", "3")
        # Future migrations of meta/folders/vectors/standardizers: `if int(version) < 4: ...`, then bump.

    def _migrate_tracks(self) -> None:
        """Make the tracks table match the field table: missing columns are added (cheap, in place); a
        changed column definition (e.g. a new status in the CHECK) rebuilds the table, keeping every row
        and id. Columns this version does not know (a newer Soundalike's) are left alone, never dropped."""
        row = self._one("SELECT sql FROM sqlite_master WHERE type='table' AND name='tracks'")
        if row is None:
            self._run(TRACKS_TABLE)
        else:
            have = {r[1] for r in self._rows("PRAGMA table_info(tracks)")}
            with self.transaction():
                for f in FIELDS:
                    if f.name not in have:
                        self._run(f"ALTER TABLE tracks ADD COLUMN {f.declaration}")
            stored = self._one("SELECT sql FROM sqlite_master WHERE type='table' AND name='tracks'")[0]
            if have <= set(NAMES) and declarations(stored) != declarations(TRACKS_TABLE):
                self._rebuild_tracks()
        for sql in TRACKS_INDEXES:
            self._run(sql)

    def _rebuild_tracks(self) -> None:
        """SQLite's way to change a column definition: copy into a new table, drop, rename. Foreign keys
        are off meanwhile so dropping the old table does not cascade to the vectors."""
        common = ", ".join(r[1] for r in self._rows("PRAGMA table_info(tracks)"))
        self._run("PRAGMA foreign_keys=OFF")
        try:
            with self.transaction():
                seq = self._one("SELECT seq FROM sqlite_sequence WHERE name='tracks'")
                self._run(TRACKS_TABLE.replace("CREATE TABLE tracks", "CREATE TABLE tracks_new", 1))
                self._run(f"INSERT INTO tracks_new({common}) SELECT {common} FROM tracks")
                self._run("DROP TABLE tracks")
                self._run("ALTER TABLE tracks_new RENAME TO tracks")
                if seq is not None:  # ids are never reused, also across the rebuild
                    self._run("UPDATE sqlite_sequence SET seq=max(seq, ?) WHERE name='tracks'", (seq[0],))
                if self._rows("PRAGMA foreign_key_check"):
                    raise CatalogError(f"{self.path}: rebuilding the tracks table broke a reference; unchanged")
        finally:
            self._run("PRAGMA foreign_keys=ON")

    def _add_column(self, table: str, column: str) -> None:
        existing = {r[1] for r in self._db.execute(f"PRAGMA table_info({table})")}
        if column.split()[0] not in existing:
            self._run(f"ALTER TABLE {table} ADD COLUMN {column}")

    def transaction(self):
        return _Transaction(self)

    def _run(self, sql: str, args: Iterable = ()) -> sqlite3.Cursor:
        with self._lock, self._errors():
            return self._db.execute(sql, tuple(args))

    def _rows(self, sql: str, args: Iterable = ()) -> list[sqlite3.Row]:
        """All rows, fetched while holding the lock (another thread may use the connection next)."""
        with self._lock, self._errors():
            return self._run(sql, args).fetchall()

    def _one(self, sql: str, args: Iterable = ()):
        with self._lock, self._errors():
            return self._run(sql, args).fetchone()

    @contextlib.contextmanager
    def _errors(self):
        """Every SQLite failure as one line naming the file and what to do (never a traceback)."""
        try:
            yield
        except sqlite3.IntegrityError:
            raise  # our own bug, not the user's disk
        except sqlite3.OperationalError as e:
            if any(w in str(e) for w in ("disk", "full", "readonly", "read-only")):
                raise CatalogError(
                    f"{self.path}: cannot write ({e}): is the disk full or the folder read-only? "
                    "Nothing already indexed was lost; free some space and run the command again"
                ) from e
            raise CatalogError(f"{self.path}: {e}") from e
        except sqlite3.DatabaseError as e:  # "database disk image is malformed", "file is not a database"
            raise CatalogError(damaged_message(self.path, e)) from e

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- meta and folders -------------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key=?", (key,))
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._run("INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                  (key, value))

    def meta_default(self, key: str, value: str) -> str:
        """The value of `key`, first setting it to `value` if it has none (atomic: concurrent callers agree)."""
        self._run("INSERT OR IGNORE INTO meta(key, value) VALUES(?, ?)", (key, value))
        return self.meta(key)

    def folders(self) -> list[str]:
        return [from_db_path(r[0]) for r in self._rows("SELECT path FROM folders ORDER BY path")]

    def add_folder(self, path: str) -> None:
        self._run("INSERT OR IGNORE INTO folders(path, added_at) VALUES(?, ?)", (to_db_path(path), time.time()))

    # -- tracks -----------------------------------------------------------------------------------
    def _track(self, row: sqlite3.Row | None) -> Track | None:
        if not row:
            return None
        track = Track(**{k: row[k] for k in NAMES})
        track.path = from_db_path(track.path)
        return track

    def get(self, track_id: int) -> Track:
        t = self._track(self._one("SELECT * FROM tracks WHERE id=?", (track_id,)))
        if t is None:
            raise TrackNotFound(f"no track with id {track_id} in the library")
        return t

    def by_path(self, path: str) -> Track | None:
        return self._track(self._one("SELECT * FROM tracks WHERE path=?", (to_db_path(path),)))

    def many(self, ids: Iterable[int]) -> dict[int, Track]:
        ids = list(ids)
        out: dict[int, Track] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            q = f"SELECT * FROM tracks WHERE id IN ({','.join('?' * len(chunk))})"
            out.update({r["id"]: self._track(r) for r in self._rows(q, chunk)})
        return out

    def file_states(self) -> dict[str, FileState]:
        """path -> FileState for change detection in one query."""
        return {from_db_path(r[0]): FileState(*r[1:])
                for r in self._rows("SELECT path, id, size, mtime, missing_since FROM tracks")}

    def lost_by_hash(self, file_hash: str, size: int) -> list[Track]:
        """Tracks with this content fingerprint whose file is gone: where a moved or renamed file came from."""
        rows = self._rows("SELECT * FROM tracks WHERE file_hash=? AND size=? ORDER BY id", (file_hash, size))
        return [t for t in map(self._track, rows) if t.missing or not os.path.lexists(t.path)]

    def move(self, track_id: int, path: str, mtime: float) -> None:
        """The same file (same content fingerprint) found at another path: it keeps its id, vector and tags."""
        self._run("UPDATE tracks SET path=?, mtime=?, missing_since=NULL WHERE id=?",
                  (to_db_path(path), mtime, track_id))

    def mark_missing(self, ids: Iterable[int]) -> None:
        """The files are gone: keep the rows and vectors (a drive may come back), hide them from results."""
        self._each("UPDATE tracks SET missing_since=? WHERE missing_since IS NULL AND id IN ({})", ids, time.time())

    def mark_present(self, ids: Iterable[int]) -> None:
        self._each("UPDATE tracks SET missing_since=NULL WHERE id IN ({})", ids)

    def genres(self) -> list[str]:
        return [r[0] for r in self._rows("SELECT DISTINCT genre FROM tracks WHERE genre != '' AND "
                                         "missing_since IS NULL")]

    def missing_ids(self) -> list[int]:
        """Tracks whose file was gone at the last scan: clients that pick tracks (radio, duplicates) skip them."""
        return [r[0] for r in self._rows("SELECT id FROM tracks WHERE missing_since IS NOT NULL ORDER BY id")]

    def searchable_ids(self, embedder_key: str) -> set[int]:
        """The ids the vector store of `embedder_key` should hold: a vector of that key and a file present."""
        return {r[0] for r in self._rows(
            "SELECT v.track_id FROM vectors v JOIN tracks t ON t.id=v.track_id WHERE v.embedder=? "
            "AND t.missing_since IS NULL", (embedder_key,))}

    def _each(self, sql: str, ids: Iterable[int], *first) -> None:
        """Run `sql` (with `IN ({})`) over `ids` in chunks, in one transaction."""
        ids = list(ids)
        with self.transaction():
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                self._run(sql.format(",".join("?" * len(chunk))), [*first, *chunk])

    def add_track(self, track: Track) -> int:
        """Insert a new file's row (status pending) and return its new, never reused id."""
        cols = [c for c in NAMES if c != "id"]
        values = [to_db_path(track.path) if c == "path" else _text(getattr(track, c)) for c in cols]
        with self._lock:
            cur = self._run(f"INSERT INTO tracks({','.join(cols)}) VALUES({','.join('?' * len(cols))})", values)
            return int(cur.lastrowid)

    def update_file(self, track: Track) -> None:
        """A changed file: new tags and size/mtime, back to pending, old vectors dropped."""
        with self.transaction():
            cols = FROM_FILE
            self._run(
                f"UPDATE tracks SET {', '.join(c + '=?' for c in cols)}, status='pending', error='', embedder='' "
                "WHERE id=?",
                [_text(getattr(track, c)) for c in cols] + [track.id],
            )
            self._run("DELETE FROM vectors WHERE track_id=?", (track.id,))

    def update_tags(self, track: Track) -> None:
        """New tag values for an unchanged file (tags read anew after an upgrade): vectors are kept."""
        self._run(f"UPDATE tracks SET {', '.join(c + '=?' for c in FROM_TAGS)} WHERE id=?",
                  [getattr(track, c) for c in FROM_TAGS] + [track.id])

    def remove(self, ids: Iterable[int]) -> None:
        self._each("DELETE FROM tracks WHERE id IN ({})", ids)

    def tracks(self, *, status: str | None = None, text: str = "", order: str = "id", descending: bool = False,
               limit: int = -1, offset: int = 0, missing: bool | None = False) -> list[Track]:
        """A page of tracks, optionally filtered by status and by text in title/artist/album/genre.

        `missing`: False (default) only tracks whose file is there, True only the missing ones, None all."""
        where, args = self._where(status, text, missing)
        if order not in SORTABLE:
            raise ValueError(f"cannot sort by {order!r}")
        direction = "DESC" if descending else "ASC"
        q = f"SELECT * FROM tracks {where} ORDER BY {_order_by(order, direction)} LIMIT ? OFFSET ?"
        return [self._track(r) for r in self._rows(q, [*args, limit, offset])]

    def track_ids(self, *, status: str | None = None, text: str = "", order: str = "id", descending: bool = False,
                  missing: bool | None = False) -> list[int]:
        """Only the ids in display order: 50,000 ints are cheap; rows are then fetched lazily."""
        where, args = self._where(status, text, missing)
        if order not in SORTABLE:
            raise ValueError(f"cannot sort by {order!r}")
        direction = "DESC" if descending else "ASC"
        q = f"SELECT id FROM tracks {where} ORDER BY {_order_by(order, direction)}"
        return [r[0] for r in self._rows(q, args)]

    @staticmethod
    def _where(status: str | None, text: str, missing: bool | None = False) -> tuple[str, list]:
        clauses, args = [], []
        if missing is not None:
            clauses.append("missing_since IS NOT NULL" if missing else "missing_since IS NULL")
        if status:
            clauses.append("status=?")
            args.append(status)
        for word in text.split():
            # CAST: paths are stored as bytes (BLOB), and SQLite's LIKE never matches a BLOB
            clauses.append("(" + " OR ".join(f"CAST({name} AS TEXT) LIKE ?" for name in SEARCHABLE) + ")")
            args += [f"%{word}%"] * len(SEARCHABLE)
        return ("WHERE " + " AND ".join(clauses)) if clauses else "", args

    def counts(self) -> dict[str, int]:
        """Tracks whose file is there, by status (and their total), and how many are missing."""
        out = {"pending": 0, "indexed": 0, "failed": 0}
        out.update({r[0]: r[1] for r in self._rows(
            "SELECT status, COUNT(*) FROM tracks WHERE missing_since IS NULL GROUP BY status")})
        out["total"] = out["pending"] + out["indexed"] + out["failed"]
        out["missing"] = self._one("SELECT COUNT(*) FROM tracks WHERE missing_since IS NOT NULL")[0]
        return out

    # -- index results ----------------------------------------------------------------------------
    def plan(self, embedder_key: str, retry_failed: bool = False) -> list[int]:
        """Ids that still need a vector from `embedder_key`, oldest first. Re-planning is how we resume."""
        q = ("SELECT id FROM tracks t WHERE missing_since IS NULL AND "
             "NOT EXISTS (SELECT 1 FROM vectors v WHERE v.track_id=t.id AND v.embedder=?)")
        if not retry_failed:
            q += " AND status != 'failed'"
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

    def set_failed(self, track_id: int, embedder_key: str, error: str) -> None:
        self._run(
            "UPDATE tracks SET status='failed', error=?, embedder=?, indexed_at=? WHERE id=?",
            (error, embedder_key, time.time(), track_id),
        )

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


def _order_by(order: str, direction: str) -> str:
    """ORDER BY for a sortable column: an album, and the track-number column, go by disc then track number."""
    in_album = "disc_number IS NULL, disc_number {d}, track_number IS NULL, track_number {d}, id {d}"
    if order == "album":
        return f"album COLLATE NOCASE {direction}, " + in_album.format(d="ASC")
    if order == "track_number":
        return in_album.format(d=direction)
    return f"{order} COLLATE NOCASE {direction}, id {direction}"


class _Transaction:
    """`with catalog.transaction():` — BEGIN IMMEDIATE / COMMIT, or ROLLBACK on error; re-entrant."""

    def __init__(self, catalog: Catalog):
        self.c = catalog

    def __enter__(self):
        self.c._lock.acquire()
        self.outer = not self.c._db.in_transaction
        if self.outer:
            self.c._run("BEGIN IMMEDIATE")
        return self.c._db

    def __exit__(self, exc_type, *rest):
        try:
            if self.outer:
                if exc_type is None:
                    self.c._run("COMMIT")
                else:
                    self.c._db.rollback()
        finally:
            self.c._lock.release()
