"""What passage search looks like: a waveform you can select a stretch of, and passage hits.

`SelectableWaveform` is the seek bar plus a selection: a drag (more than a few pixels) selects 2 to 60 s
(a shorter drag is widened to 2 s, a longer one cut at 60 s from where it began) instead of scrubbing;
a click seeks as before and clears the selection. `PassageDelegate` draws a passage hit: title,
artist and where the passage is (1:02-1:18), a mini timeline of the hit's track with the passage
marked, and the score.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QLineF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QStyleOptionViewItem

from desktop.core.passage_search import fmt_time
from desktop.ui.elide import elided
from desktop.ui.hits_view import hit_at, similarity_percent
from desktop.ui.similar_pane import BAR, BAR_BACK, LEFT_MIDDLE, MUTED, HitDelegate
from desktop.ui.waveform_view import WaveformView, column_image, columns

MIN_SELECTION, MAX_SELECTION = 2.0, 60.0
DRAG_PIXELS = 4  # a press that moves less than this is a click
SELECTION = QColor(90, 170, 255, 70)
SELECTION_EDGE = QColor(90, 170, 255)


def clamp_selection(a: float, b: float, anchor: float, duration: float) -> tuple[float, float] | None:
    """The 2-60 s selection for a drag from `anchor` over a..b, or None when the track is too short."""
    if duration < MIN_SELECTION:
        return None
    a, b = max(0.0, min(a, b)), min(duration, max(a, b))
    if b - a > MAX_SELECTION:
        a, b = (anchor, anchor + MAX_SELECTION) if anchor <= a + 1e-6 else (anchor - MAX_SELECTION, anchor)
    if b - a < MIN_SELECTION:
        mid = (a + b) / 2
        a = min(max(0.0, mid - MIN_SELECTION / 2), duration - MIN_SELECTION)
        b = a + MIN_SELECTION
    return a, b


class SelectableWaveform(WaveformView):
    selection_made = Signal(float, float)  # start, end (seconds)
    selection_cleared = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setToolTip("Click to seek · drag to select a passage and find what sounds like it")
        self.selection: tuple[float, float] | None = None
        self._press_x: float | None = None
        self._selecting = False

    def set_peaks(self, peaks, duration=None) -> None:
        super().set_peaks(peaks, duration)
        if peaks is None and self.selection is not None:  # another track: the selection meant the old one,
            self.selection = None  # but the passages found stay in the pane (to try the next one)
            self.update()

    def clear_selection(self) -> None:
        if self.selection is not None:
            self.selection = None
            self.update()
            self.selection_cleared.emit()

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.LeftButton and self.duration > 0:
            self._press_x = event.position().x()
            self._selecting = False
            event.accept()
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self._press_x is not None and abs(event.position().x() - self._press_x) > DRAG_PIXELS:
            self._selecting = True
            self._drag_selection(event.position().x())
        self._set_hover(event.position().x())

    def mouseReleaseEvent(self, event) -> None:
        if event.button() != Qt.LeftButton or self._press_x is None:
            return super().mouseReleaseEvent(event)
        x, press = event.position().x(), self._press_x
        self._press_x = None
        if self._selecting:
            self._selecting = False
            self._drag_selection(x, press)
            if self.selection is not None:
                self.selection_made.emit(*self.selection)
        else:
            self.clear_selection()
            self._position = self.time_at(x)
            self.update()
            self.seek_requested.emit(self._position)
        event.accept()

    def _drag_selection(self, x: float, press: float | None = None) -> None:
        anchor = self.time_at(self._press_x if press is None else press)
        self.selection = clamp_selection(anchor, self.time_at(x), anchor, self.duration)
        self.update()

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if self.selection is None or self.duration <= 0:
            return
        a, b = (self._x_of(t) for t in self.selection)
        p = QPainter(self)
        p.fillRect(QRectF(a, 0, max(1.0, b - a), self.height()), SELECTION)
        p.setPen(QPen(SELECTION_EDGE, 1))
        p.drawLine(QLineF(a, 0, a, self.height()))
        p.drawLine(QLineF(b, 0, b, self.height()))
        p.end()


class PassageDelegate(HitDelegate):
    """Title; 1:02-1:18 · artist; a mini-waveform of the track with the passage marked; the score.
    Whole-track hits (the pane's usual content) are drawn as before."""

    BAR_W = 84
    WAVE_H = 14  # the mini-waveform's height (a timeline bar when the track's outline is not known)

    def sizeHint(self, option, index) -> QSize:
        return QSize(200, QFontMetrics(option.font).height() * 2 + 14 + self.WAVE_H)  # same for both kinds of hit

    def paint(self, p: QPainter, option: QStyleOptionViewItem, index) -> None:
        hit = hit_at(index)
        if hit is None or not hasattr(hit, "start"):
            return super().paint(p, option, index)
        r = option.rect
        selected, fonts, text_col = self.begin_row(p, option, index, hover=False)
        fm, rank_w = fonts.fm, fonts.rank_w
        line_h = fm.height()
        left = r.left() + rank_w + 4
        text_w = r.width() - rank_w - self.BAR_W - 20
        p.setFont(fonts.bold)
        p.setPen(text_col)
        p.drawText(QRect(left, r.top() + 4, text_w, line_h), LEFT_MIDDLE,
                   elided(fonts.bold_fm, hit.title or hit.label, text_w))
        p.setFont(option.font)
        p.setPen(MUTED if not selected else text_col)
        where = f"{fmt_time(hit.start)}-{fmt_time(hit.end)}"  # first: a narrow pane elides the artist, not this
        line2 = f"{where}  ·  {hit.artist}" if hit.artist else where
        p.drawText(QRect(left, r.top() + 5 + line_h, text_w, line_h), LEFT_MIDDLE,
                   elided(fm, line2, text_w))
        box = QRect(left, r.top() + 8 + 2 * line_h, text_w, self.WAVE_H)
        if hit.levels is not None and len(hit.levels):
            mini_waveform(p, box, hit.levels, hit.start, hit.end, max(hit.duration, hit.end, 1e-6))
        else:
            self._timeline(p, QRect(box.left(), box.center().y() - 2, box.width(), 5), hit)
        pct = similarity_percent(hit.score)
        self.score_bar(p, option, self.BAR_W, pct, f"{pct}%", text_col)
        p.restore()

    @staticmethod
    def _timeline(p: QPainter, box: QRect, hit) -> None:
        p.fillRect(box, BAR_BACK)
        length = max(hit.duration, hit.end, 1e-6)
        a = box.left() + int(box.width() * hit.start / length)
        b = max(box.left() + int(box.width() * hit.end / length), a + 3)
        p.fillRect(QRect(a, box.top() - 1, b - a, box.height() + 2), BAR)


def mini_waveform(p: QPainter, box: QRect, levels, start: float, end: float, length: float) -> None:
    """The track's outline (RMS level a second), one bar a pixel column, the passage start..end in the hit colour
    over a tinted band, the rest muted: where in the track the passage is, and what the track is like there.
    Drawn as two images of numpy pixels (`column_image`): a line a column in Python cost ~1 ms a row."""
    levels = np.asarray(levels, np.float32)
    top = float(levels.max()) or 1.0
    a = box.left() + int(box.width() * start / length)
    b = max(box.left() + int(box.width() * end / length), a + 3)
    p.fillRect(QRect(a, box.top(), b - a, box.height()), SELECTION)
    ratio = p.device().devicePixelRatioF() if p.device() is not None else 1.0
    width = max(1, round(box.width() * ratio))
    cols = columns(np.stack([-levels, levels], axis=1) / top, width)  # each column: the loudest second under it
    a_px, b_px = round((a - box.left()) * ratio), round((b - box.left()) * ratio)
    clear = QColor(0, 0, 0, 0)
    for colour, lo, hi in ((MUTED, 0, a_px), (BAR, a_px, b_px), (MUTED, b_px, width)):
        if hi > lo:
            image = column_image(cols[lo:hi], colour, round(box.height() * ratio), ratio, margin=0, background=clear)
            p.drawImage(QRectF(box.left() + lo / ratio, box.top(), (hi - lo) / ratio, box.height()), image)
