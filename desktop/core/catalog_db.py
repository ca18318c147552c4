"""One SQLite file shared by threads: the connection, its lock, transactions and one-line errors.

The catalog (catalog.py) and the tables that live beside its tracks (catalog_vectors.py,
passage_catalog.py) run their SQL through this: one connection behind a lock (the indexer writes from a
worker thread while the window reads), WAL so other processes read meanwhile, and every SQLite failure
turned into a `CatalogError` that names the file and says what to do.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterable
from pathlib import Path

from desktop.core.errors import CatalogError


def damaged_message(path: Path, error: Exception) -> str:
    return (f"{path}: the catalog is damaged ({error}); run `soundalike check --repair` to restore the last "
            "good copy (saved after each successful index run)")


class SQLiteFile:
    """The connection layer; a subclass brings its schema in `_migrate` (run once on open)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.RLock()
        self._local = threading.local()  # per thread: its read connection, how deep in a transaction it is
        self._readers: weakref.WeakSet[_Reader] = weakref.WeakSet()
        self._closed = False
        self._readers_lock = threading.Lock()  # not `_lock`: a transaction elsewhere must not hold it up
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=10, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            self._enable_wal()
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.OperationalError as e:
            raise CatalogError(f"{self.path}: cannot open the catalog ({e})") from e
        except sqlite3.DatabaseError as e:
            raise CatalogError(damaged_message(self.path, e)) from e
        except OSError as e:
            raise CatalogError(f"{self.path}: cannot open the catalog ({e})") from e

    def _enable_wal(self, patience: float = 10.0) -> None:
        """WAL, so other processes read while one writes. Switching a new file to it needs the file to
        itself, and SQLite answers "locked" at once (no busy wait) when another process opening the same
        new catalog holds it a moment: try again for as long as an ordinary write would wait."""
        deadline = time.monotonic() + patience
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def _migrate(self) -> None:
        """Create or upgrade the subclass's tables (nothing here)."""

    def transaction(self):
        return _Transaction(self)

    def _run(self, sql: str, args: Iterable = ()) -> sqlite3.Cursor:
        with self._lock, self._errors():
            return self._db.execute(sql, tuple(args))

    def _rows(self, sql: str, args: Iterable = ()) -> list[sqlite3.Row]:
        return self._read(sql, args, sqlite3.Cursor.fetchall)

    def _one(self, sql: str, args: Iterable = ()):
        return self._read(sql, args, sqlite3.Cursor.fetchone)

    def _read(self, sql: str, args: Iterable, fetch):
        """`fetch` of the query's cursor: on this thread's own connection, or in its transaction (then under
        the lock: another thread may use the shared connection next)."""
        with self._errors():
            reader = self._reader()
            if reader is not None:
                with reader.lock:
                    return fetch(reader.db.execute(sql, tuple(args)))
        with self._lock, self._errors():
            return fetch(self._run(sql, args))

    def _reader(self) -> _Reader | None:
        """This thread's read connection, or None inside its own transaction (which must see its own writes).

        Why each thread reads on its own connection: with one shared connection, a read waited for the
        lock while another thread's transaction ran, so the window's GUI thread (a selected row's track,
        a page of the table) stood still until the indexer's commit and its fsync were done (70 ms and
        more, bench/ui_stall.py). With WAL, a connection of its own reads the last commit at once."""
        if getattr(self._local, "depth", 0):
            return None
        holder = getattr(self._local, "reader", None)
        if holder is None:
            with self._readers_lock:  # never a new connection to a closed catalog
                if self._closed:
                    return None  # the shared connection then says it is closed
                db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=10, isolation_level=None)
                db.row_factory = sqlite3.Row
                holder = self._local.reader = _Reader(db)  # closed when its thread ends, or with the file
                self._readers.add(holder)
        return holder

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
        except sqlite3.ProgrammingError as e:
            if "closed" in str(e):  # a read after close (a thread still running at shutdown): not damage
                raise CatalogError(f"{self.path}: the catalog is closed") from e
            raise
        except sqlite3.DatabaseError as e:  # "database disk image is malformed", "file is not a database"
            raise CatalogError(damaged_message(self.path, e)) from e

    def close(self) -> None:
        with self._lock, self._readers_lock:
            self._closed = True
            for holder in list(self._readers):
                with holder.lock:  # not while its thread is in the middle of a read
                    holder.db.close()
            self._db.close()

    def _each(self, sql: str, ids: Iterable[int], *first) -> None:
        """Run `sql` (with `IN ({})`) over `ids` in chunks, in one transaction."""
        ids = list(ids)
        with self.transaction():
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                self._run(sql.format(",".join("?" * len(chunk))), [*first, *chunk])


class _Reader:
    """A thread's read connection (held here: a connection cannot be weakly referenced) and the lock that
    keeps `close()` from closing it in the middle of that thread's read."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db
        self.lock = threading.Lock()


class _Transaction:
    """`with db.transaction():` — BEGIN IMMEDIATE / COMMIT, or ROLLBACK on error; re-entrant."""

    def __init__(self, catalog: SQLiteFile):
        self.c = catalog

    def __enter__(self):
        self.c._lock.acquire()
        self.c._local.depth = getattr(self.c._local, "depth", 0) + 1
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
            self.c._local.depth -= 1
            self.c._lock.release()
