"""The similar-tracks pane: what sounds like the selected or playing track (or a dropped file).

It only renders: the main window asks the library worker for hits and hands them here with
`show_hits`, or tells it the state (`show_loading`, `show_message`). Each hit shows its title,
artist (made-up names in grey italics), album, and how close it is on the library's own scale (a bar and
"very close / close / related"; the tooltip says why and gives the raw score). Double-click plays a hit; a button
plays them all as a queue. Dropping an audio file here asks for tracks like that file.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from desktop.core.calibration import LEVELS
from desktop.ui.elide import elided
from desktop.ui.hits_view import HitsModel, HitsView, closeness_of, hit_at
from desktop.ui.library_model import format_time
from desktop.ui.style import LIST_BACKGROUND, item_view_look

BAR = QColor(255, 140, 60)
BAR_BACK = QColor(255, 255, 255, 28)
MUTED = QColor(150, 150, 160)
LOADING_DELAY_MS = 250  # a query's hits usually come sooner: then the pane never switches to the loading text
LONGEST_WORDS = max((words for _, words in LEVELS), key=len)  # "very close": the score label's widest text


# a row's text alignments, combined once (combining Qt's flags costs ~4 us each time, 5 times a painted row)
LEFT_MIDDLE, RIGHT_MIDDLE = Qt.AlignLeft | Qt.AlignVCenter, Qt.AlignRight | Qt.AlignVCenter
RIGHT_BOTTOM = Qt.AlignRight | Qt.AlignBottom


def local_paths(mime) -> list[str]:
    """Local file paths of a drag's URLs (anything else dropped is ignored)."""
    if mime is None or not mime.hasUrls():
        return []
    return [u.toLocalFile() for u in mime.urls() if u.isLocalFile() and u.toLocalFile()]


def accept_paths(event) -> list[str]:
    """For a drag or drop event: its local paths, accepting it when there are some and ignoring it otherwise
    (every drop target's dragEnterEvent and dropEvent start so)."""
    paths = local_paths(event.mimeData())
    if paths:
        event.acceptProposedAction()
    else:
        event.ignore()
    return paths


def detail_line(hit, fm: QFontMetrics, width: int) -> tuple[str, str]:
    """A hit's second line as (artist · album, · time): the time always shows, the rest gives way to it."""
    time = f"  ·  {format_time(hit.duration)}" if hit.duration else ""
    where = hit.album or hit.genre
    head = (hit.artist + (f"  ·  {where}" if where else "")) if hit.artist else (where or "")
    if not head:
        time = time.lstrip(" ·")
    return elided(fm, head, max(width - fm.horizontalAdvance(time), 0)), time


class RowFonts:
    """The fonts and metrics the rows are drawn with, made once per view font: building them for every painted row
    cost more than drawing it."""

    def __init__(self, font: QFont):
        self.key = font.key()
        self.fm = QFontMetrics(font)
        self.bold = QFont(font)
        self.bold.setBold(True)
        self.bold_fm = QFontMetrics(self.bold)
        self.italic = QFont(font)
        self.italic.setItalic(True)
        self.italic_fm = QFontMetrics(self.italic)
        self.rank_w = self.fm.horizontalAdvance("00") + 12
        self.words_w = self.fm.horizontalAdvance(LONGEST_WORDS) + 4


class HitDelegate(QStyledItemDelegate):
    """Two lines (title; artist · genre · time) and a similarity bar on the right."""

    BAR_W = 96
    covers = None  # a desktop.ui.covers.CoverCache, when the window has one
    _fonts: RowFonts | None = None
    SCALED_ITEMS = 256  # covers kept scaled to the row's size (smooth scaling per painted row was its dearest part)

    def sizeHint(self, option, index) -> QSize:
        fm = QFontMetrics(option.font)
        return QSize(200, fm.height() * 2 + 14)

    def fonts(self, option: QStyleOptionViewItem) -> RowFonts:
        if self._fonts is None or self._fonts.key != option.font.key():
            self._fonts = RowFonts(option.font)
        return self._fonts

    def scaled_cover(self, path: str, side: int):
        """The track's cover scaled to fit side x side (kept for the next paint), or None without one."""
        pm = self.covers.pixmap(path) if self.covers is not None else None
        if pm is None:
            return None
        if not hasattr(self, "_scaled"):
            self._scaled: dict = {}
        key = (pm.cacheKey(), side)
        scaled = self._scaled.get(key)
        if scaled is None:
            if len(self._scaled) >= self.SCALED_ITEMS:
                self._scaled.clear()
            scaled = self._scaled[key] = pm.scaled(side, side, Qt.KeepAspectRatio, Qt.SmoothTransformation)
        return scaled

    def paint(self, p: QPainter, option: QStyleOptionViewItem, index) -> None:
        hit = hit_at(index)
        if hit is None:
            return super().paint(p, option, index)
        r = option.rect
        selected, fonts, text_col = self.begin_row(p, option, index)
        fm, rank_w = fonts.fm, fonts.rank_w
        line_h = fm.height()
        bar_w = max(fonts.words_w, min(self.BAR_W, r.width() // 5))  # score_width, with the cached advance
        left = r.left() + rank_w + 4
        cover_px = r.height() - 8
        scaled = self.scaled_cover(hit.path, cover_px)
        if scaled is not None:
            p.drawPixmap(left + (cover_px - scaled.width()) // 2, r.top() + 4 + (cover_px - scaled.height()) // 2,
                         scaled)
        else:
            p.fillRect(QRect(left, r.top() + 4, cover_px, cover_px), BAR_BACK)
        left += cover_px + 8
        text_w = r.width() - (left - r.left()) - bar_w - 16
        # title
        p.setFont(fonts.bold)
        p.setPen(text_col)
        title = elided(fonts.bold_fm, hit.title or "(untitled)", text_w)
        p.drawText(QRect(left, r.top() + 5, text_w, line_h), LEFT_MIDDLE, title)
        # artist · genre · time
        p.setFont(fonts.italic if hit.artist_generated else option.font)
        p.setPen(MUTED if hit.artist_generated or not selected else text_col)
        sfm = fonts.italic_fm if hit.artist_generated else fm
        head, time = detail_line(hit, sfm, text_w)
        line2 = QRect(left, r.top() + 7 + line_h, text_w, line_h)
        p.drawText(line2, LEFT_MIDDLE, head)
        p.drawText(line2.adjusted(sfm.horizontalAdvance(head), 0, 0, 0), LEFT_MIDDLE, time)
        pct = closeness_of(hit)
        label = getattr(hit, "words", "") or (f"{pct}%" if pct > 0 else "–")  # cosine <= 0: nothing in common
        self.score_bar(p, option, bar_w, pct, label, text_col)
        p.restore()

    @classmethod
    def score_width(cls, fm: QFontMetrics, row_width: int) -> int:
        """A narrow pane keeps room for the titles, but never less than the widest word (at 900 px "very
        close" was cut to "ery close")."""
        return max(fm.horizontalAdvance(LONGEST_WORDS) + 4, min(cls.BAR_W, row_width // 5))

    def begin_row(self, p: QPainter, option: QStyleOptionViewItem, index, hover: bool = True):
        """Save the painter, paint the row's background (selected, or hovered) and its rank number.
        Returns (selected, the row's fonts, the text colour)."""
        fonts = self.fonts(option)
        p.save()
        r = option.rect
        selected = bool(option.state & QStyle.State_Selected)
        if selected:
            p.fillRect(r, option.palette.color(QPalette.Highlight))
        elif hover and option.state & QStyle.State_MouseOver:
            p.fillRect(r, QColor(255, 255, 255, 14))
        text_col = option.palette.color(QPalette.HighlightedText if selected else QPalette.Text)
        p.setPen(MUTED)
        p.drawText(QRect(r.left() + 4, r.top(), fonts.rank_w - 6, r.height()), RIGHT_MIDDLE,
                   str(index.row() + 1))
        return selected, fonts, text_col

    @staticmethod
    def score_bar(p: QPainter, option: QStyleOptionViewItem, bar_w: int, pct: int, label: str, text_col) -> None:
        """The similarity bar at the row's right end, `pct` of it filled, with `label` above it."""
        r = option.rect
        bx = r.right() - bar_w - 8
        bar = QRect(bx, r.top() + r.height() // 2 + 2, bar_w, 6)
        p.fillRect(bar, BAR_BACK)
        p.fillRect(QRect(bar.left(), bar.top(), int(bar.width() * pct / 100), bar.height()), BAR)
        p.setFont(option.font)
        p.setPen(text_col)
        p.drawText(QRect(bx, r.top() + 3, bar_w, r.height() // 2 - 2), RIGHT_BOTTOM, label)


class SimilarPane(QWidget):
    play_hit = Signal(int)  # index into hits
    play_all = Signal()
    play_example = Signal(str)  # the dropped file itself
    example_dropped = Signal(list)  # paths dropped here
    describe_requested = Signal(str)  # a description typed in "Describe a sound" (CLAP libraries)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.setObjectName("similarPane")
        self.example_path: str | None = None
        self.pending = False  # a query is in flight: the list still shows the previous answer
        caption = QLabel("SOUNDS LIKE")
        caption.setObjectName("paneCaption")
        self.describe = QLineEdit()
        self.describe.setObjectName("describeSound")
        self.describe.setClearButtonEnabled(True)
        self.describe.returnPressed.connect(self._describe)
        self.query_label = QLabel("Select a track")
        self.query_label.setObjectName("paneTitle")
        self.query_label.setWordWrap(True)
        self.model = HitsModel(self)
        self.list = HitsView()
        self.list.setModel(self.model)
        self.list.setItemDelegate(HitDelegate(self.list))
        self.list.setMouseTracking(True)
        item_view_look(self.list, LIST_BACKGROUND)
        self.list.setEditTriggers(QListView.NoEditTriggers)
        # activated = double-click (or the platform's click convention) and Enter
        self.list.activated.connect(self._activated)
        self.message = QLabel()
        self.message.setObjectName("paneMessage")
        self.message.setAlignment(Qt.AlignCenter)
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.stack = QStackedWidget()
        self._loading = QTimer(self)
        self._loading.setSingleShot(True)
        self._loading.setInterval(LOADING_DELAY_MS)
        self._loading.timeout.connect(self._show_slow)
        self.stack.addWidget(self.message)
        self.stack.addWidget(self.list)
        self.play_all_button = QPushButton("Play these as a queue")
        self.play_all_button.setEnabled(False)
        self.play_all_button.clicked.connect(self.play_all)
        self.play_example_button = QPushButton("Play dropped file")
        self.play_example_button.setVisible(False)
        self.play_example_button.clicked.connect(self._play_example)
        for b in (self.play_all_button, self.play_example_button):
            b.setFocusPolicy(Qt.TabFocus)  # a click must not take the keys away from the player
        buttons = QHBoxLayout()
        buttons.addWidget(self.play_all_button)
        buttons.addWidget(self.play_example_button)
        buttons.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 8, 8, 8)
        lay.addWidget(caption)
        head = QVBoxLayout()  # one item, so the stack stays 2nd and the buttons' row 3rd (listening.py adds to it)
        head.addWidget(self.describe)
        head.addWidget(self.query_label)
        lay.addLayout(head)
        lay.addWidget(self.stack, 1)
        lay.addLayout(buttons)
        self.show_message("Select a track to see what sounds like it.\nDrop an audio file here to search by example.")

    def _activated(self, index) -> None:
        if index.isValid():
            self.play_hit.emit(index.row())

    def _describe(self) -> None:
        if self.describe.isEnabled() and self.describe.text().strip():
            self.describe_requested.emit(self.describe.text().strip())

    def set_describe_enabled(self, enabled: bool, why: str = "") -> None:
        """Describing needs a CLAP space; otherwise the field says why, and which model to get."""
        self.describe.setEnabled(enabled)
        self.describe.setPlaceholderText('Describe a sound, e.g. "slow piano with rain", then Enter' if enabled
                                         else "Describe a sound: needs a CLAP model (see the tooltip)")
        self.describe.setToolTip(why or "Finds tracks by a description of their sound (CLAP's text and audio space)")

    def _play_example(self) -> None:
        if self.example_path:
            self.play_example.emit(self.example_path)

    # -- what the window tells us --------------------------------------------------------------
    def set_query(self, title: str, example_path: str | None = None) -> None:
        self.query_label.setText(title)
        self.example_path = example_path
        self.play_example_button.setVisible(example_path is not None)

    def show_loading(self) -> None:
        """A new query: the old hits stay until the answer replaces them, the loading text only when the answer is
        slow. A quick answer (most are) then costs one repaint of the list: emptying it first repainted the list
        and its scroll bar once more on every selected row, and flashed an empty pane for a frame."""
        self.pending = True
        self._loading.start()

    def _show_slow(self) -> None:
        self.show_message("Finding similar tracks…")
        self.pending = True

    def show_message(self, text: str) -> None:
        self.pending = False
        self._loading.stop()
        self.model.set_hits([])
        self.play_all_button.setEnabled(False)
        self.message.setText(text)
        self.stack.setCurrentWidget(self.message)

    def show_hits(self, hits) -> None:
        self.pending = False
        self._loading.stop()
        self.model.set_hits(hits)
        # Lay the rows out now: left to the next paint, the list painted its rows, then found it needed its scroll
        # bar, narrowed and painted them all again (each selected row painted the hits twice).
        self.list.doItemsLayout()
        self.list.scrollToTop()  # the old hits may have been scrolled: a new list starts at its best hit
        self.play_all_button.setEnabled(bool(hits))
        if hits:
            self.stack.setCurrentWidget(self.list)
        else:
            self.show_message("No similar tracks found (is the library indexed?)")

    def set_covers(self, covers) -> None:
        """Show each hit's cover from this CoverCache, repainting as covers arrive."""
        self.list.itemDelegate().covers = self._covers = covers
        covers.cover_ready.connect(self._cover_ready)

    def _cover_ready(self, path: str) -> None:
        """Repaint the rows of the track whose cover arrived (they come one by one: repainting the whole list for
        each was most of a new list's cost); a track without a cover keeps its placeholder, nothing to repaint."""
        if self._covers.pixmap(path) is None:
            return
        for row, hit in enumerate(self.model.hits):
            if getattr(hit, "path", None) == path:
                self.list.update(self.model.index(row))

    @property
    def hits(self) -> list:
        return list(self.model.hits)

    @property
    def state_text(self) -> str:
        return self.message.text() if self.stack.currentWidget() is self.message else ""

    # -- dropping a file here -------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        accept_paths(event)

    dragMoveEvent = dragEnterEvent

    def dropEvent(self, event) -> None:
        if paths := accept_paths(event):
            self.example_dropped.emit(paths)
