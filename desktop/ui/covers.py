"""Cover thumbnails for the window: found and scaled on a worker thread, kept on disk and in memory.

`CoverCache.pixmap(path)` answers at once from memory (a QPixmap, or None while unknown or when the
track has no cover) and, the first time, asks its own worker thread to find the picture
(desktop.core.covers) and scale it. Thumbnails are PNG files named after the picture's content, so the
tracks of one album share one file and a restart reads the small thumbnail instead of the tags and
the full-size image. `cover_ready(path)` tells the widgets to repaint when a cover was found.
"""

from __future__ import annotations

import itertools
import logging
import os
from pathlib import Path

from PySide6.QtCore import QBuffer, QIODevice, QObject, Qt, Signal
from PySide6.QtGui import QImage, QPixmap

from desktop.ui.frame_budget import after_this_frame
from desktop.ui.jobs import WorkerThread

log = logging.getLogger(__name__)
THUMB_PX = 128  # enough for a 64 px cover at 2x device pixel ratio
MEMORY_ITEMS = 2000


def make_thumbnail(path: str, cache_dir: Path, size: int = THUMB_PX) -> str | None:
    """Worker thread: the thumbnail file of `path`'s cover (made once per picture), or None."""
    from desktop.core.covers import find_cover  # lazy: stays out of the window's start-up

    cover = find_cover(path)
    if cover is None:
        return None
    target = cache_dir / f"{cover.digest}-{size}.png"
    if target.exists():
        return str(target)
    image = QImage.fromData(cover.data)
    if image.isNull():
        log.info("%s: cover picture from %s is not an image Qt can read", path, cover.source)
        return None
    image = image.scaled(size, size, Qt.KeepAspectRatio, Qt.SmoothTransformation)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    if not image.save(str(tmp), "PNG"):
        log.warning("cannot write the cover thumbnail %s", target)
        return None
    os.replace(tmp, target)  # atomic: a reader never sees half a thumbnail
    return str(target)


class CoverCache(QObject):
    """Covers by audio path, found and scaled on the cover thread.

    Paths asked for while a frame is painted (a new list of hits asks for each visible row's) are looked up
    together, after that frame (`after_this_frame`): one request for the batch instead of one each, and the
    thread's file reading (mutagen, the folder's listing: ~0.2 ms a track) no longer runs beside the paint that
    asked for it (bench/ui_stall.py: without covers the longest gaps were ~2 ms shorter and late frames a third
    as many)."""

    cover_ready = Signal(str)  # audio path whose cover was found (pixmap() now has it)

    def __init__(self, cache_dir: Path, parent=None):
        super().__init__(parent)
        self.cache_dir = Path(cache_dir)
        self._pixmaps: dict[str, QPixmap | None] = {}
        self._thumbs: dict[str, str] = {}
        self._asked: set[str] = set()
        self._wanted: list[str] = []  # asked for in this frame: looked up after it
        self._batches = itertools.count(1)
        self._in_flight: dict[str, list[str]] = {}  # request kind -> its paths
        self.worker = WorkerThread("soundalike-covers", self)
        self.worker.request_done.connect(self._done)
        self.worker.request_failed.connect(self._failed)

    def pixmap(self, path: str | None) -> QPixmap | None:
        if not path:
            return None
        if path in self._pixmaps:
            return self._pixmaps[path]
        if path not in self._asked:
            self._asked.add(path)
            if not self._wanted:
                after_this_frame(self, self._look_up_wanted)
            self._wanted.append(path)
        return None

    def _look_up_wanted(self) -> None:
        batch, self._wanted = self._wanted, []
        if not batch:
            return
        load_image_plugins()
        kind, cache = f"covers:{next(self._batches)}", self.cache_dir
        self._in_flight[kind] = batch
        self.worker.request(kind, lambda: [(path, _thumbnail_or_none(path, cache)) for path in batch])

    def thumbnail_path(self, path: str) -> str | None:
        """The thumbnail file of a track whose cover was already read (for MPRIS's artUrl), else None."""
        return self._thumbs.get(path)

    def known(self, path: str) -> bool:
        return path in self._pixmaps

    def _done(self, kind: str, _token: int, results) -> None:
        self._in_flight.pop(kind, None)
        if len(self._pixmaps) + len(results) > MEMORY_ITEMS:
            self._pixmaps.clear()
            self._asked.clear()
            self._thumbs.clear()
        found = []
        for path, thumb in results:
            pm = QPixmap(thumb) if thumb else None
            self._pixmaps[path] = pm if pm is not None and not pm.isNull() else None
            if self._pixmaps[path] is not None:
                self._thumbs[path] = thumb
                found.append(path)
        for path in found:  # a track without a cover keeps its placeholder: nothing to tell
            self.cover_ready.emit(path)

    def _failed(self, kind: str, _token: int, exc) -> None:
        paths = self._in_flight.pop(kind, [])
        log.info("no covers for %d tracks (%s)", len(paths), exc)
        for path in paths:
            self._pixmaps[path] = None

    def close(self) -> None:
        self.worker.stop()


_plugins_loaded = False


def load_image_plugins() -> None:
    """Have Qt create its image format plugins on the GUI thread, once, before the cover thread reads a picture
    (the window does it after its first paint; the first lookup makes sure).

    QImageReader creates every plugin the first time a picture is read and moves each to the main thread. From
    the cover thread, which holds Python's GIL through `QImage.fromData`, that move waited for a Qt lock the GUI
    thread held while it waited for the GIL (in a disconnect that calls into Python): the window froze for good
    (tests/ui/test_covers.py hung on it). Created on the GUI thread, the plugins are never moved again."""
    global _plugins_loaded
    if not _plugins_loaded:
        _plugins_loaded = True
        data = QBuffer()
        data.open(QIODevice.WriteOnly)
        QImage(1, 1, QImage.Format_RGB32).save(data, "PNG")
        QImage.fromData(data.data())


def _thumbnail_or_none(path: str, cache_dir: Path) -> str | None:
    """Cover thread: `make_thumbnail`, or None when the file cannot be read for one (one file, not the batch)."""
    try:
        return make_thumbnail(path, cache_dir)
    except Exception as e:  # noqa: BLE001 (a file's tags or picture unreadable: that track has no cover)
        log.info("%s: no cover (%s)", path, e)
        return None
