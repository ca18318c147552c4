"""The SQLite catalog: which files exist, their tags, their index status and their raw vectors.

It is the source of truth; the vector store only mirrors `vectors` (standardised) for fast search, and
`soundalike check --repair` can rebuild the store from here without decoding anything again.

WAL mode and one transaction per change: a crash at any point leaves either the old or the new row,
never half of one. The connection, its lock and error messages are in catalog_db.py; the vectors and
standardisers in catalog_vectors.py; this module holds the schema, its migration, folders and tracks.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterable
from typing import NamedTuple

from desktop.core.catalog_vectors import VectorTables
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
-- A track a new embedder failed on while the library still searches the old one's space: the track keeps
-- answering from its old vector and its status until the new space takes over (see indexer.index).
CREATE TABLE IF NOT EXISTS failures (
    track_id INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
    embedder TEXT NOT NULL,
    error TEXT NOT NULL,
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


def _text(value):
    """Titles and genres made from an undecodable file name hold surrogates SQLite cannot store."""
    return shown(value) if isinstance(value, str) else value


class FileState(NamedTuple):
    """What a scan compares with the disk."""

    id: int
    size: int
    mtime: float
    missing_since: float | None


class Catalog(VectorTables):
    """Tracks and folders (here), their vectors and standardisers (VectorTables), over one SQLite file."""

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
        # One write transaction for look-and-change: another process opening a new or older catalog at
        # the same moment (the window and `soundalike index`) waits here, then finds the work done.
        with self.transaction():
            row = self._one("SELECT sql FROM sqlite_master WHERE type='table' AND name='tracks'")
            if row is None:
                self._run(TRACKS_TABLE)
                return self._create_indexes()
            have = {r[1] for r in self._rows("PRAGMA table_info(tracks)")}
            for f in FIELDS:
                if f.name not in have:
                    self._run(f"ALTER TABLE tracks ADD COLUMN {f.declaration}")
        if have <= set(NAMES) and self._tracks_table_differs():
            self._rebuild_tracks()
        self._create_indexes()

    def _tracks_table_differs(self) -> bool:
        stored = self._one("SELECT sql FROM sqlite_master WHERE type='table' AND name='tracks'")[0]
        return declarations(stored) != declarations(TRACKS_TABLE)

    def _create_indexes(self) -> None:
        for sql in TRACKS_INDEXES:
            self._run(sql)

    def _rebuild_tracks(self) -> None:
        """SQLite's way to change a column definition: copy into a new table, drop, rename. Foreign keys
        are off meanwhile so dropping the old table does not cascade to the vectors."""
        self._run("PRAGMA foreign_keys=OFF")
        try:
            with self.transaction():
                if not self._tracks_table_differs():
                    return  # another process rebuilt it meanwhile
                common = ", ".join(r[1] for r in self._rows("PRAGMA table_info(tracks)"))
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

    def tracks_in_file(self, path: str) -> list[Track]:
        """The CUE tracks cut from the audio file at `path` (library paths `path#t=...`), by path."""
        low = to_db_path(path + "#t=")
        high = low[:-1] + b">"  # every byte string that starts with low sorts below this one
        return [self._track(r) for r in self._rows("SELECT * FROM tracks WHERE path >= ? AND path < ? ORDER BY path",
                                                   (low, high))]

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
            self._run("DELETE FROM failures WHERE track_id=?", (track.id,))

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


# The album artist as players group by it: the tag, else the track artist (a one-artist album is rarely
# tagged with both). The library table shows the same value.
ALBUM_ARTIST_SQL = "COALESCE(NULLIF(album_artist, ''), artist) COLLATE NOCASE"


def _order_by(order: str, direction: str) -> str:
    """ORDER BY for a sortable column: an album, and the track-number column, go by disc then track number;
    the album artist column lists each artist's albums in order, then each album's tracks (as players do)."""
    in_album = "disc_number IS NULL, disc_number {d}, track_number IS NULL, track_number {d}, id {d}"
    if order == "album":  # two albums of one name ("Greatest Hits") stay apart, grouped by album artist
        return f"album COLLATE NOCASE {direction}, {ALBUM_ARTIST_SQL} ASC, " + in_album.format(d="ASC")
    if order == "album_artist":
        return f"{ALBUM_ARTIST_SQL} {direction}, album COLLATE NOCASE ASC, " + in_album.format(d="ASC")
    if order == "track_number":
        return in_album.format(d=direction)
    return f"{order} COLLATE NOCASE {direction}, id {direction}"


