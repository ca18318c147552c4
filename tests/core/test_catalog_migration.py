"""Catalog migrations: older schemas gain what this version needs on open, losing nothing; the tracks table
follows the field table (desktop/core/track.py)."""

from __future__ import annotations

import sqlite3

import numpy as np

from desktop.core.catalog import SCHEMA_VERSION, TRACKS_TABLE, Catalog
from desktop.core.track import FIELDS, NAMES, Track


def old_catalog(path, tracks_sql: str) -> None:
    """A catalog as an earlier Soundalike left it: two tracks (ids 1 and 3, id 4 used then deleted),
    a vector for track 3."""
    db = sqlite3.connect(str(path))
    db.executescript(f"""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        INSERT INTO meta VALUES ('schema_version', '2');
        {tracks_sql};
        CREATE TABLE vectors (track_id INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
            embedder TEXT NOT NULL, raw BLOB NOT NULL, parts BLOB, PRIMARY KEY (track_id, embedder));
        INSERT INTO tracks(id, path, title, status) VALUES (1, '/m/a.flac', 'A', 'pending');
        INSERT INTO tracks(id, path, title, status) VALUES (3, '/m/c.flac', 'C', 'indexed');
        INSERT INTO tracks(id, path, title, status) VALUES (4, '/m/d.flac', 'D', 'pending');
        DELETE FROM tracks WHERE id=4;
    """)
    db.execute("INSERT INTO vectors(track_id, embedder, raw) VALUES (3, 'k', ?)",
               (np.ones(4, np.float32).tobytes(),))
    db.commit()
    db.close()


def table_sql(path) -> str:
    db = sqlite3.connect(str(path))
    try:
        return db.execute("SELECT sql FROM sqlite_master WHERE name='tracks'").fetchone()[0]
    finally:
        db.close()


def columns(path) -> list[str]:
    db = sqlite3.connect(str(path))
    try:
        return [r[1] for r in db.execute("PRAGMA table_info(tracks)")]
    finally:
        db.close()


def test_a_new_field_is_added_in_place_with_its_default(tmp_path):
    path = tmp_path / "catalog.db"
    without = [f.declaration for f in FIELDS if f.name != "generated"]
    old_catalog(path, "CREATE TABLE tracks (" + ", ".join(without) + ")")
    cat = Catalog(path)
    assert cat.get(1).generated == "" and cat.get(3).title == "C"
    cat.close()
    assert columns(path)[-1] == "generated"  # ALTER TABLE ADD COLUMN, no rebuild


def test_a_changed_column_definition_rebuilds_the_table_keeping_rows_ids_and_vectors(tmp_path):
    path = tmp_path / "catalog.db"
    old = [f.declaration for f in FIELDS if f.name not in ("generated", "file_hash")]
    old = [d if not d.startswith("status") else "status TEXT NOT NULL DEFAULT 'pending' "
           "CHECK (status IN ('pending', 'indexed'))" for d in old]
    old_catalog(path, "CREATE TABLE tracks (" + ", ".join(old) + ")")
    cat = Catalog(path)
    assert columns(path) == list(NAMES)
    assert [t.id for t in cat.tracks()] == [1, 3]
    assert cat.get(3).status == "indexed" and cat.get(3).file_hash == ""
    assert cat.indexed_ids("k") == {3}  # dropping the old table did not cascade to the vectors
    cat.set_failed(1, "k", "bad file")  # allowed by the new CHECK
    assert cat.add_track(Track(id=0, path="/m/e.flac")) == 5  # ids are never reused, across the rebuild
    cat.remove([3])
    assert cat.indexed_ids("k") == set()  # and the foreign key still cascades
    cat.close()
    assert table_sql(path).split("(", 1)[1].split() == TRACKS_TABLE.split("(", 1)[1].split()
    Catalog(path).close()  # and the next open finds nothing to do
    assert table_sql(path).split("(", 1)[1].split() == TRACKS_TABLE.split("(", 1)[1].split()


def test_a_column_of_a_newer_soundalike_is_kept(tmp_path):
    path = tmp_path / "catalog.db"
    old_catalog(path, "CREATE TABLE tracks (" + ", ".join(f.declaration for f in FIELDS) + ", bpm REAL)")
    sqlite3.connect(str(path)).execute("UPDATE tracks SET bpm=120").connection.commit()
    cat = Catalog(path)
    assert cat.get(1).title == "A"
    cat.add_track(Track(id=0, path="/m/e.flac"))
    cat.close()
    assert "bpm" in columns(path)
    db = sqlite3.connect(str(path))
    assert db.execute("SELECT bpm FROM tracks WHERE id=1").fetchone()[0] == 120
    db.close()


def test_a_catalog_made_by_this_version_is_left_as_it_is(tmp_path):
    path = tmp_path / "catalog.db"
    Catalog(path).close()
    before = table_sql(path)
    Catalog(path).close()
    assert table_sql(path) == before == TRACKS_TABLE


V1_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE tracks (id INTEGER PRIMARY KEY AUTOINCREMENT, path TEXT NOT NULL UNIQUE,
                     status TEXT NOT NULL DEFAULT 'pending');
CREATE TABLE vectors (track_id INTEGER NOT NULL, embedder TEXT NOT NULL, raw BLOB NOT NULL,
                      PRIMARY KEY (track_id, embedder));
CREATE TABLE standardizers (embedder TEXT PRIMARY KEY, n INTEGER NOT NULL, mean BLOB NOT NULL, scale BLOB NOT NULL,
                            fitted_at REAL NOT NULL);
INSERT INTO meta VALUES ('schema_version', '1');
INSERT INTO tracks(path, status) VALUES ('/music/a.flac', 'indexed');
"""


def test_catalog_from_schema_1_gains_parts_and_keeps_its_vectors(tmp_path):
    path = tmp_path / "catalog.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(V1_SCHEMA)
    db.execute("INSERT INTO vectors VALUES (1, 'k-v1-3', ?)", (np.ones(3, np.float32).tobytes(),))
    db.commit()
    db.close()
    cat = Catalog(path)
    assert cat.meta("schema_version") == str(SCHEMA_VERSION) == "3"
    assert [(tid, list(v)) for tid, v in cat.raw_vectors("k-v1-3")] == [(1, [1.0, 1.0, 1.0])]
    assert list(cat.part_vectors("k-v1-3")) == []  # old rows simply have no parts
    cat.set_standardizer("k-v1-3", 5, np.zeros(3), np.ones(3), np.eye(3) * 2)
    n, mean, scale, whitening = cat.standardizer("k-v1-3")
    assert n == 5 and np.array_equal(whitening, np.eye(3) * 2)
    cat.close()
    Catalog(path).close()  # opening a migrated catalog again is a no-op


def _open_at(path: str, start: float) -> str:
    """Open the catalog at a shared moment (another process's); the error text, or '' when it opened."""
    import time

    time.sleep(max(0.0, start - time.time()))
    try:
        Catalog(path).close()
        return ""
    except Exception as e:  # noqa: BLE001 - the test reports whatever went wrong
        return f"{type(e).__name__}: {e}"


def test_processes_opening_one_catalog_at_once_all_succeed(tmp_path):
    """The window and `soundalike index` (or a test watching it) may open a new or older catalog at the
    same moment: the one that creates or migrates the tables must not make the others fail."""
    import concurrent.futures
    import multiprocessing
    import time

    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(6, mp_context=ctx) as pool:
        list(pool.map(_open_at, [str(tmp_path / "warm")] * 6, [0.0] * 6))  # interpreters started
        for round in range(8):
            new = tmp_path / f"new{round}.db"
            old = tmp_path / f"old{round}.db"
            old_catalog(old, "CREATE TABLE tracks (" + ", ".join(f.declaration for f in FIELDS
                                                                   if f.name != "generated") + ")")
            start = time.time() + 0.3
            errors = list(pool.map(_open_at, [str(new)] * 3 + [str(old)] * 3, [start] * 6))
            assert errors == [""] * 6
            assert Catalog(old).get(3).title == "C" and columns(old).count("generated") == 1
