"""Threads sharing one catalog: the window's GUI thread reads while the indexer writes."""

from __future__ import annotations

import os
import threading

import pytest

from desktop.core.catalog import Catalog
from desktop.core.errors import CatalogError


def test_a_read_never_waits_for_another_threads_transaction(tmp_path):
    """A selected row's track is read on the GUI thread while the indexer's transaction (and its commit's
    fsync) runs on the library thread: the read gets the last commit at once; the writer sees its own
    writes inside its transaction; everyone sees them after the commit."""
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    catalog.add_folder("/music/a")
    inside, release, seen_inside = threading.Event(), threading.Event(), []

    def indexer():
        with catalog.transaction():
            catalog.add_folder("/music/b")
            seen_inside.append(catalog.folders())
            inside.set()
            release.wait(60)

    writer = threading.Thread(target=indexer)
    writer.start()
    try:
        assert inside.wait(60)
        seen = []
        gui = threading.Thread(target=lambda: seen.append(catalog.folders()))
        gui.start()
        gui.join(30)  # a read that waited for the transaction would still be waiting (the writer holds on)
        assert not gui.is_alive() and seen == [["/music/a"]]
        assert seen_inside == [["/music/a", "/music/b"]]
    finally:
        release.set()
        writer.join(60)
    assert catalog.folders() == ["/music/a", "/music/b"]
    catalog.close()


def _open_files(path) -> int:
    """How many of this process's file descriptors are open on the catalog or its WAL files (Linux)."""
    names = {str(path), f"{path}-wal", f"{path}-shm"}
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}") in names
        except OSError:
            pass
    return count


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs Linux's /proc to count open files")
def test_closing_the_catalog_closes_every_threads_connection(tmp_path):
    path = tmp_path / "catalog.sqlite3"
    catalog = Catalog(path)
    catalog.add_folder("/music/a")
    done, read, after_close = threading.Event(), threading.Event(), []

    def reader():
        catalog.folders()  # on a connection of its own
        read.set()
        done.wait(60)
        try:
            catalog.folders()
        except Exception as e:  # noqa: BLE001 - what a read after close says
            after_close.append(e)

    reader_thread = threading.Thread(target=reader)
    reader_thread.start()
    try:
        assert read.wait(60)
        assert _open_files(path) >= 2  # the shared connection and the thread's
        catalog.close()
        assert _open_files(path) == 0
    finally:
        done.set()
        reader_thread.join(60)
    assert len(after_close) == 1 and _open_files(path) == 0  # a read after close opens nothing again
    assert "the catalog is closed" in str(after_close[0]) and "damaged" not in str(after_close[0])
    with pytest.raises(CatalogError, match="the catalog is closed"):
        catalog.folders()  # the thread that closed it: its own connection is closed too
