"""The last good copy of the catalog, and putting it back.

The catalog is the source of truth (the store can always be rebuilt from it), so it gets a backup of
its own: SQLite's online backup API after each index run that changed something, written to a
temporary file and renamed over the previous copy (a crash mid-backup keeps the old one), and only
when `PRAGMA quick_check` says the catalog is sound (a damaged catalog never replaces a good copy).
`check --repair` restores it when the catalog is damaged or gone; the damaged file is moved aside.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from pathlib import Path

from desktop.core.catalog import Catalog


def backup_path(catalog_path: Path) -> Path:
    return catalog_path.with_name(catalog_path.stem + ".backup.sqlite3")


def catalog_problem(path: Path) -> str:
    """"" when the catalog file is sound, else what is wrong with it (one line)."""
    if not path.exists():
        return "the catalog file is missing"
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            rows = [r[0] for r in db.execute("PRAGMA quick_check")]
        finally:
            db.close()
    except sqlite3.DatabaseError as e:
        return str(e)
    return "" if rows == ["ok"] else "; ".join(rows[:3])


def make_backup(catalog: Catalog) -> Path | None:
    """Copy the open catalog to its backup file if it is sound; returns the backup, or None."""
    if catalog_problem(catalog.path):
        return None
    dest = backup_path(catalog.path)
    tmp = dest.with_name(dest.name + ".tmp")
    target = sqlite3.connect(str(tmp))
    try:
        with catalog._lock:  # the connection is shared: no writer in between pages
            catalog._db.backup(target)
    finally:
        target.close()
    os.replace(tmp, dest)
    return dest


def restore_backup(catalog_path: Path) -> str:
    """Put the last good copy in place of a damaged or missing catalog; returns what was done (one line)."""
    backup = backup_path(catalog_path)
    if not backup.exists():
        return ""
    done = f"the catalog was restored from its last good copy ({time.ctime(backup.stat().st_mtime)})"
    if catalog_path.exists():
        aside = catalog_path.with_name(f"{catalog_path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
        os.replace(catalog_path, aside)
        done += f"; the damaged one is in {aside}"
    for suffix in ("-wal", "-shm"):  # the damaged file's journal must not be replayed onto the copy
        stale = catalog_path.with_name(catalog_path.name + suffix)
        if stale.exists():
            os.replace(stale, catalog_path.with_name(f"{catalog_path.name}{suffix}.damaged"))
    shutil.copyfile(backup, catalog_path)
    return done
