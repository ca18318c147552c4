"""Cover thumbnails for the window: found and scaled on a worker thread, kept on disk and in memory.

`CoverCache.pixmap(path)` answers at once from memory (a QPixmap, or None while unknown or when the
track has no cover) and, the first time, asks its own worker thread to find the picture
(desktop.core.covers) and scale it. Thumbnails are PNG files named after the picture's content, so the
tracks of one album share one file and a restart reads the small thumbnail instead of the tags and
the full-size image. `cover_ready(path)` tells the widgets to repaint.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QImage, QPixmap

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
    cover_ready = Signal(str)  # audio path whose cover is now known (pixmap() may still be None)

    def __init__(self, cache_dir: Path, parent=None):
        super().__init__(parent)
        self.cache_dir = Path(cache_dir)
        self._pixmaps: dict[str, QPixmap | None] = {}
        self._thumbs: dict[str, str] = {}
        self._asked: set[str] = set()
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
            cache = self.cache_dir
            self.worker.request("cover:" + path, lambda: (path, make_thumbnail(path, cache)))
        return None

    def thumbnail_path(self, path: str) -> str | None:
        """The thumbnail file of a track whose cover was already read (for MPRIS's artUrl), else None."""
        return self._thumbs.get(path)

    def known(self, path: str) -> bool:
        return path in self._pixmaps

    def _done(self, kind: str, _token: int, result) -> None:
        path, thumb = result
        if len(self._pixmaps) >= MEMORY_ITEMS:
            self._pixmaps.clear()
            self._asked.clear()
            self._thumbs.clear()
        if thumb:
            self._thumbs[path] = thumb
        pm = QPixmap(thumb) if thumb else None
        self._pixmaps[path] = pm if pm is not None and not pm.isNull() else None
        self.cover_ready.emit(path)

    def _failed(self, kind: str, _token: int, exc) -> None:
        path = kind.removeprefix("cover:")
        log.info("%s: no cover (%s)", path, exc)
        self._pixmaps[path] = None
        self.cover_ready.emit(path)

    def close(self) -> None:
        self.worker.stop()
