"""The waveform seek bar: min/max peaks, the played part in the accent colour, a moving playhead.

Peaks come ready-made (computed and cached by `desktop.core.waveform` in a worker); this widget draws
them once per size and peaks into two images, one in each colour (pixels set by numpy), so a repaint (the
playhead moving, the window repainting around it) is two blits and the playhead, not a thousand lines built
in Python on the GUI thread. Click or drag seeks (`seek_requested`); hovering shows the time under the cursor.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from desktop.ui.library_model import format_time

BACKGROUND = QColor(30, 32, 38)
UNPLAYED = QColor(110, 116, 130)
PLAYED = QColor(255, 140, 60)
PLAYHEAD = QColor(255, 255, 255)
HOVER = QColor(255, 255, 255, 60)
TEXT = QColor(230, 230, 235)


def columns(peaks: np.ndarray, width: int) -> np.ndarray:
    """(points, 2) min/max peaks -> (width, 2): the min and max of the points under each pixel."""
    n = len(peaks)
    if n == 0 or width <= 0:
        return np.zeros((max(width, 0), 2), np.float32)
    starts = np.minimum(np.linspace(0, n, width + 1)[:-1].astype(int), n - 1)
    if width <= n:  # starts strictly increase: reduce each pixel's run of points
        lo, hi = np.minimum.reduceat(peaks[:, 0], starts), np.maximum.reduceat(peaks[:, 1], starts)
    else:  # more pixels than points: repeat points
        lo, hi = peaks[starts, 0], peaks[starts, 1]
    return np.stack([lo, hi], axis=1).astype(np.float32)


def column_image(cols: np.ndarray, colour: QColor, height: int, ratio: float = 1.0, margin: int = 2,
                 background: QColor = BACKGROUND) -> QImage:
    """One vertical run of `colour` a pixel column over `background` (transparent: see-through), from each column's
    max down to its min, full scale `margin` px short of the edges, as an image `len(cols)` x `height` device pixels
    at device pixel ratio `ratio`.

    Why pixels from numpy and not a painter's lines: a line per column built in Python cost ~8 ms a colour
    for a 1280 px bar (16 ms on the GUI thread each time a track's waveform arrived, bench/ui_stall.py);
    this is one array operation."""
    width, height = max(1, len(cols)), max(1, int(height))
    mid = height / 2
    half = mid - margin
    top = np.floor(mid - cols[:, 1] * half)
    bottom = np.floor(mid - cols[:, 0] * half + 0.5)
    rows = np.arange(height)[:, None]
    inside = (rows >= top[None, :]) & (rows <= bottom[None, :])
    opaque = background.alpha() == 255 and colour.alpha() == 255
    pixels = np.where(inside, np.uint32(colour.rgba()), np.uint32(background.rgba()))
    image = QImage(pixels.tobytes(), width, height, 4 * width,
                   QImage.Format_RGB32 if opaque else QImage.Format_ARGB32).copy()
    image.setDevicePixelRatio(ratio)
    return image


class WaveformView(QWidget):
    seek_requested = Signal(float)  # seconds

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setMinimumHeight(64)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Preferred)
        self.setAttribute(Qt.WA_OpaquePaintEvent)  # every paint covers its whole rect: no background below
        self.setToolTip("Click or drag to seek")
        self._peaks: np.ndarray | None = None
        self._layers: tuple[QImage, QImage] | None = None  # (played, unplayed) colour, whole width
        self._layers_key: tuple = ()
        self._duration = 0.0
        self._position = 0.0
        self._hover_x: float | None = None
        self._dragging = False
        self._message = "No track playing"

    # -- state -------------------------------------------------------------------------------------
    def set_peaks(self, peaks: np.ndarray | None, duration: float | None = None) -> None:
        self._peaks = None if peaks is None else np.asarray(peaks, np.float32).reshape(-1, 2)
        self._layers = None
        if duration is not None:
            self._duration = max(0.0, float(duration))
        self.update()

    def set_message(self, text: str) -> None:
        """Shown when there are no peaks (loading, no track, or why they could not be computed)."""
        self._message = text
        self.update()

    def set_duration(self, seconds: float) -> None:
        duration = max(0.0, float(seconds or 0))
        if duration != self._duration:  # called with every position: the same duration repaints nothing
            self._duration = duration
            self.update()

    def set_position(self, seconds: float) -> None:
        if not self._dragging and abs(seconds - self._position) > 1e-3:
            old = int(self._x_of(self._position))
            self._position = max(0.0, float(seconds))
            new = int(self._x_of(self._position))
            if new != old:  # the playhead is drawn at whole pixels: most 50 ms polls of a long track move none
                # Repaint only the strip between the old and the new playhead.
                lo, hi = min(old, new) - 2, max(old, new) + 2
                self.update(lo, 0, hi - lo + 1, self.height())

    @property
    def position(self) -> float:
        return self._position

    @property
    def duration(self) -> float:
        return self._duration

    @property
    def has_peaks(self) -> bool:
        return self._peaks is not None

    # -- geometry ------------------------------------------------------------------------------------
    def _x_of(self, seconds: float) -> float:
        if self._duration <= 0:
            return 0.0
        return min(1.0, seconds / self._duration) * self.width()

    def time_at(self, x: float) -> float:
        if self._duration <= 0 or self.width() <= 0:
            return 0.0
        return max(0.0, min(1.0, x / self.width())) * self._duration

    def resizeEvent(self, event) -> None:
        self._layers = None
        super().resizeEvent(event)

    def _pictures(self) -> tuple[QImage, QImage]:
        """The whole waveform drawn in the played and in the unplayed colour, once per size, pixel ratio and
        peaks; paintEvent shows the part left of the playhead from the first and the rest from the second."""
        w, h, ratio = self.width(), self.height(), self.devicePixelRatioF()
        key = (w, h, ratio)
        if self._layers is None or self._layers_key != key:
            cols = columns(self._peaks, max(1, round(w * ratio)))
            self._layers = tuple(column_image(cols, colour, round(h * ratio), ratio) for colour in (PLAYED, UNPLAYED))
            self._layers_key = key
        return self._layers

    # -- painting --------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        p = QPainter(self)
        w, h = self.width(), self.height()
        if self._peaks is None:
            p.fillRect(event.rect(), BACKGROUND)
            mid = h / 2
            if self._message:  # the message alone: a line through it would strike it out
                p.setPen(TEXT)
                p.drawText(QRectF(0, 0, w, h), Qt.AlignCenter, self._message)
            else:
                p.setPen(QPen(UNPLAYED, 1))
                p.drawLine(QLineF(0, mid, w, mid))
            p.end()
            return
        ratio = self.devicePixelRatioF()
        left, right = max(0, event.rect().left()), min(w, event.rect().right() + 1)
        play_x = int(self._x_of(self._position))
        for picture, a, b in zip(self._pictures(), (left, max(left, play_x)), (min(right, play_x), right)):
            if b > a:
                p.drawImage(QRectF(a, 0, b - a, h), picture, QRectF(a * ratio, 0, (b - a) * ratio, h * ratio))
        if self._duration > 0:
            p.setPen(QPen(PLAYHEAD, 2))
            p.drawLine(QLineF(play_x, 0, play_x, h))
        if self._hover_x is not None:
            self._paint_hover(p, self._hover_x, w, h)
        p.end()

    def _paint_hover(self, p: QPainter, x: float, w: int, h: int) -> None:
        p.setPen(QPen(HOVER, 1))
        p.drawLine(QLineF(x, 0, x, h))
        text = format_time(self.time_at(x))
        fm = QFontMetrics(self.font())
        tw, th = fm.horizontalAdvance(text) + 8, fm.height() + 2
        tx = min(max(0.0, x - tw / 2), w - tw)
        box = QRectF(tx, 2, tw, th)
        p.fillRect(box, QColor(0, 0, 0, 170))
        p.setPen(TEXT)
        p.drawText(box, Qt.AlignCenter, text)

    # -- mouse --------------------------------------------------------------------------------------
    def _set_hover(self, x: float | None) -> None:
        old = self._hover_x
        self._hover_x = x
        if self._peaks is None:
            return
        for hx in (old, x):  # repaint the old and the new hover strip (line + time box)
            if hx is not None:
                self.update(int(hx) - 40, 0, 81, self.height())

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.LeftButton and self._duration > 0:
            self._dragging = True
            self._drag_to(event.position())
            event.accept()
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        self._set_hover(event.position().x())
        if self._dragging:
            self._drag_to(event.position())
        self.setToolTip(format_time(self.time_at(event.position().x())) if self._duration > 0 else "")

    def mouseReleaseEvent(self, event) -> None:
        if self._dragging and event.button() == Qt.LeftButton:
            self._drag_to(event.position())
            self._dragging = False
            self.seek_requested.emit(self._position)
            event.accept()
        else:
            super().mouseReleaseEvent(event)

    def leaveEvent(self, event) -> None:
        self._set_hover(None)
        super().leaveEvent(event)

    def _drag_to(self, pos: QPointF) -> None:
        self._position = self.time_at(pos.x())
        self.update()
