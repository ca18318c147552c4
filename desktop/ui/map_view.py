"""The map tab: every track as a dot on a 2-D projection of the library's vectors.

Dots are coloured by genre, album or folder (the most common ones get their own colour, the rest share
a grey); the playing track is ringed and its nearest tracks (in the full vector space, not on the map)
are marked. Click a dot to play it; drag a loop around dots to queue them (in the order the loop swept
them); hover for artist - title. The dots are painted once into a pixmap per size and colouring, so a
repaint while playing costs only the rings.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QToolTip, QVBoxLayout, QWidget

from desktop.ui.elide import elided
from desktop.ui.style import ACCENT

COLOURINGS = ("genre", "album", "folder")
PALETTE = ("#4e9af1", "#f1c24e", "#5cc98a", "#e0607e", "#a98bf0", "#4ecfd6", "#f08a4e", "#b8d65a",
           "#d67ad1", "#7aa0b8", "#e6a3a3", "#8fd6b3")
OTHER = "#5a5e68"
HIT_PX = 8  # a click this close to a dot plays it
DOT_PX = 3.0
CAPTION = ("A projection of how your tracks sound: near on the map is not always near in sound. "
           "Click a dot to play it, drag around dots to queue them, Enter queues the ringed nearest tracks.")


def inside(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Which of the (n, 2) `points` lie inside the closed `polygon` ((m, 2) vertices): even-odd rule."""
    x, y = points[:, 0][:, None], points[:, 1][:, None]
    x1, y1 = polygon[:, 0][None], polygon[:, 1][None]
    x2, y2 = np.roll(polygon[:, 0], -1)[None], np.roll(polygon[:, 1], -1)[None]
    crosses = (y1 > y) != (y2 > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        at = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
    return ((crosses & (x < at)).sum(1) % 2) == 1


def colour_groups(labels: list[str]) -> tuple[np.ndarray, list[tuple[str, int]]]:
    """Colour index per track (len(PALETTE) = the shared 'other'), and the legend: (label, count) per colour."""
    names, inverse, counts = np.unique(np.asarray([lab or "" for lab in labels], dtype=object).astype(str),
                                       return_inverse=True, return_counts=True)
    order = [i for i in np.argsort(-counts, kind="stable") if names[i]][: len(PALETTE)]
    slot = np.full(len(names), len(PALETTE))
    slot[order] = np.arange(len(order))
    return slot[inverse], [(str(names[i]), int(counts[i])) for i in order]


class MapCanvas(QWidget):
    """Paints the dots; turns clicks into play_requested(id) and loops into queue_requested([ids])."""

    play_requested = Signal(int)
    queue_requested = Signal(list)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("mapCanvas")
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.StrongFocus)
        self.setMinimumSize(160, 140)
        self.ids = np.zeros(0, np.int64)
        self.xy = np.zeros((0, 2), np.float32)
        self.titles: list[str] = []
        self.colours = np.zeros(0, np.int64)
        self.legend: list[tuple[str, int]] = []
        self.playing: int | None = None
        self.near: list[int] = []
        self._pixmap: QPixmap | None = None
        self._loop: list[QPointF] = []
        self._row = {}

    # -- data ------------------------------------------------------------------------------------------
    def set_points(self, ids, xy, titles: list[str], labels: list[str]) -> None:
        self.ids, self.xy, self.titles = np.asarray(ids, np.int64), np.asarray(xy, np.float32), list(titles)
        self._row = {int(t): i for i, t in enumerate(self.ids)}
        self.set_labels(labels)

    def set_labels(self, labels: list[str]) -> None:
        self.colours, self.legend = colour_groups(labels) if len(labels) else (np.zeros(0, np.int64), [])
        self._pixmap = None
        self.update()

    def set_playing(self, track_id: int | None, near: list[int]) -> None:
        self.playing, self.near = track_id, list(near)
        self.update()

    # -- geometry ----------------------------------------------------------------------------------------
    def screen_points(self) -> np.ndarray:
        """Every dot's widget coordinates (the map's bounds fitted into the widget with a margin)."""
        if not len(self.xy):
            return np.zeros((0, 2))
        lo, hi = self.xy.min(0), self.xy.max(0)
        span = np.maximum(hi - lo, 1e-6)
        m = 14.0
        w, h = max(self.width() - 2 * m, 1.0), max(self.height() - 2 * m, 1.0)
        scale = min(w / span[0], h / span[1])
        offset = np.array([m + (w - span[0] * scale) / 2, m + (h - span[1] * scale) / 2])
        pts = (self.xy - lo) * scale + offset
        pts[:, 1] = self.height() - pts[:, 1]  # up is up
        return pts

    def track_at(self, pos: QPointF) -> int | None:
        pts = self.screen_points()
        if not len(pts):
            return None
        d = ((pts - [pos.x(), pos.y()]) ** 2).sum(1)
        i = int(np.argmin(d))
        return int(self.ids[i]) if d[i] <= HIT_PX**2 else None

    def tracks_in(self, loop: list[QPointF]) -> list[int]:
        """The tracks inside the loop, in the order the loop swept past them (nearest vertex first)."""
        if len(loop) < 3 or not len(self.ids):
            return []
        poly = np.array([[p.x(), p.y()] for p in loop])
        pts = self.screen_points()
        hit = np.nonzero(inside(pts, poly))[0]
        swept = np.argmin(((pts[hit][:, None] - poly[None]) ** 2).sum(-1), axis=1)
        return [int(self.ids[i]) for i in hit[np.argsort(swept, kind="stable")]]

    # -- painting ------------------------------------------------------------------------------------------
    def resizeEvent(self, event) -> None:  # noqa: N802
        self._pixmap = None
        super().resizeEvent(event)

    def _dots(self) -> QPixmap:
        pix = QPixmap(self.size() * self.devicePixelRatioF())
        pix.setDevicePixelRatio(self.devicePixelRatioF())
        pix.fill(QColor("#17191e"))
        p = QPainter(pix)
        p.setRenderHint(QPainter.Antialiasing)
        pts = self.screen_points()
        colours = [*PALETTE, OTHER]
        for slot in [len(PALETTE), *range(len(PALETTE) - 1, -1, -1)]:  # the commonest colours on top
            rows = np.nonzero(self.colours == slot)[0] if len(self.colours) == len(pts) else np.arange(len(pts))
            if not len(rows):
                continue
            p.setPen(QPen(QColor(colours[slot]), DOT_PX * 1.6, Qt.SolidLine, Qt.RoundCap))
            p.drawPoints([QPointF(*pts[i]) for i in rows])
            if len(self.colours) != len(pts):
                break
        p.end()
        return pix

    def paintEvent(self, _event) -> None:  # noqa: N802
        p = QPainter(self)
        if self._pixmap is None or self._pixmap.size() != self.size() * self.devicePixelRatioF():
            self._pixmap = self._dots()
        p.drawPixmap(0, 0, self._pixmap)
        p.setRenderHint(QPainter.Antialiasing)
        pts = self.screen_points()
        for tid in self.near:
            if tid in self._row:
                p.setPen(QPen(QColor("#f2f2f5"), 1.5))
                p.setBrush(Qt.NoBrush)
                p.drawEllipse(QPointF(*pts[self._row[tid]]), 5.5, 5.5)
        if self.playing in self._row:
            p.setPen(QPen(QColor(ACCENT), 2.5))
            p.drawEllipse(QPointF(*pts[self._row[self.playing]]), 8, 8)
        self._paint_legend(p)
        if len(self._loop) > 1:
            path = QPainterPath(self._loop[0])
            for q in self._loop[1:]:
                path.lineTo(q)
            path.closeSubpath()
            p.setPen(QPen(QColor(ACCENT), 1.5, Qt.DashLine))
            p.setBrush(QColor(255, 140, 60, 40))
            p.drawPath(path)
        p.end()

    def _paint_legend(self, p: QPainter) -> None:
        fm = p.fontMetrics()
        rows = [(PALETTE[i], name) for i, (name, _n) in enumerate(self.legend[:8])]
        if not rows:
            return
        width = min(max(fm.horizontalAdvance(n) for _, n in rows) + 24, self.width() // 2)
        box = QRectF(6, 6, width, fm.height() * len(rows) + 6)
        p.setPen(Qt.NoPen)
        p.setBrush(QColor(23, 25, 30, 200))
        p.drawRoundedRect(box, 4, 4)
        for i, (colour, name) in enumerate(rows):
            y = box.top() + 3 + i * fm.height()
            p.setBrush(QColor(colour))
            p.drawEllipse(QPointF(box.left() + 9, y + fm.height() / 2), 3.5, 3.5)
            p.setPen(QColor("#c8ccd6"))
            p.drawText(QRectF(box.left() + 18, y, width - 20, fm.height()), Qt.AlignVCenter,
                       elided(fm, name, int(width - 20)))
            p.setPen(Qt.NoPen)

    # -- mouse and keys -------------------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:  # noqa: N802
        if event.button() == Qt.LeftButton:
            self._loop = [event.position()]

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._loop and event.buttons() & Qt.LeftButton:
            self._loop.append(event.position())
            self.update()
            return
        tid = self.track_at(event.position())
        if tid is None:
            QToolTip.hideText()
        else:
            QToolTip.showText(event.globalPosition().toPoint(), self.titles[self._row[tid]], self)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if event.button() != Qt.LeftButton or not self._loop:
            return
        loop, self._loop = self._loop + [event.position()], []
        self.update()
        xs, ys = [q.x() for q in loop], [q.y() for q in loop]
        if max(xs) - min(xs) < 4 and max(ys) - min(ys) < 4:  # a click
            tid = self.track_at(event.position())
            if tid is not None:
                self.play_requested.emit(tid)
            return
        ids = self.tracks_in(loop)
        if ids:
            self.queue_requested.emit(ids)

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() == Qt.Key_Escape and self._loop:
            self._loop = []
            self.update()
            return
        if event.key() in (Qt.Key_Return, Qt.Key_Enter) and self.near:
            self.queue_requested.emit([t for t in self.near if t in self._row])  # the ringed tracks
            return
        super().keyPressEvent(event)


class MapPanel(QWidget):
    """The tab: colouring choice and a status line above the canvas, what the map is below it."""

    colouring_changed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("mapPanel")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        top = QHBoxLayout()
        top.addWidget(QLabel("Colour by"))
        self.colouring = QComboBox()
        self.colouring.setObjectName("mapColouring")
        for name in COLOURINGS:
            self.colouring.addItem(name.capitalize(), name)
        self.colouring.currentIndexChanged.connect(lambda _i: self.colouring_changed.emit(self.colouring.currentData()))
        top.addWidget(self.colouring)
        self.status = QLabel("")
        self.status.setObjectName("mapStatus")
        top.addWidget(self.status, 1)
        lay.addLayout(top)
        self.canvas = MapCanvas()
        lay.addWidget(self.canvas, 1)
        caption = QLabel(CAPTION)
        caption.setObjectName("mapCaption")
        caption.setWordWrap(True)
        lay.addWidget(caption)

    def set_status(self, text: str) -> None:
        self.status.setText(text)
