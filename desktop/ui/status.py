"""Status widgets: indexing progress with a cancel button, a non-modal notice bar, the window's status bar.

The notice bar collects problems (files that could not be added or analysed, a fallback embedder)
as lines the user can read and dismiss; nothing here blocks the window.
"""

from __future__ import annotations

import html
import os
import time

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QStatusBar,
    QStyle,
    QToolButton,
    QWidget,
)

from desktop.ui.jobs import format_eta
from desktop.ui.transport import ElidedLabel

MAX_NOTICE_LINES = 8
PROGRESS_EVERY_S = 0.1  # a job's progress text and bar change at most ten times a second


class MessageStatusBar(QStatusBar):
    """A status bar whose passing messages have their own label beside the progress, never over it.

    QStatusBar.showMessage hides the normal widgets (the indexing progress) while a message shows;
    here messages (from code and from menu status tips) go to `message_label` instead."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.message_label = ElidedLabel()  # shortened with '…' when the window is narrow
        self.message_label.setObjectName("statusMessage")
        self._clear = QTimer(self)
        self._clear.setSingleShot(True)
        self._clear.timeout.connect(self.message_label.clear)

    def showMessage(self, text: str, timeout: int = 0) -> None:  # noqa: N802 (Qt's name)
        self.message_label.setText(text)
        self.message_label.setToolTip(text)
        if timeout > 0:
            self._clear.start(timeout)
        else:
            self._clear.stop()

    def currentMessage(self) -> str:  # noqa: N802
        return self.message_label.text()

    def clearMessage(self) -> None:  # noqa: N802
        self.message_label.clear()

    def event(self, event) -> bool:
        if event.type() == QEvent.StatusTip:  # menu hover tips: same label, gone when the hover ends
            self.showMessage(event.tip())
            return True
        return super().event(event)


class ProgressItem(QWidget):
    """A status-bar item for one long job: 'what is happening [====    ] [Cancel]', hidden while idle.
    Subclasses say what the job is (object names, tooltip, the text while cancelling)."""

    cancel_clicked = Signal()
    CANCELLING = "Cancelling…"

    def __init__(self, name: str, cancel_tip: str, bar_width: int, parent=None):
        super().__init__(parent)
        self.label = ElidedLabel()  # a narrow window shortens it with '…' rather than cutting a glyph in half
        self.label.setObjectName(f"{name}Label")
        self.bar = QProgressBar()
        self.bar.setFixedWidth(bar_width)
        self.bar.setMaximumHeight(14)
        self.bar.setTextVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName(f"cancel{name[:1].upper()}{name[1:]}")
        self.cancel_button.setToolTip(cancel_tip)
        self.cancel_button.clicked.connect(self._cancel)
        self.cancel_button.setFocusPolicy(Qt.TabFocus)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.bar)
        lay.addWidget(self.cancel_button)
        self.setVisible(False)

    def _cancel(self) -> None:
        self.cancel_button.setEnabled(False)
        self.label.setText(self.CANCELLING)
        self.cancel_clicked.emit()

    def _begin(self, text: str) -> None:
        self.cancel_button.setEnabled(True)
        self.label.setText(text)
        self.set_bar(0, 0)
        self.setVisible(True)

    def set_bar(self, done: int, total: int) -> None:
        """The bar at done of total (total 0: busy, no count). QProgressBar.setValue repaints at once, and a
        repaint paints every pending region of the window right there (the table, the pane: tens of ms per
        track while indexing); with updates off meanwhile the bar is painted with the next frame instead."""
        self.bar.setUpdatesEnabled(False)
        try:
            self.bar.setRange(0, total)
            self.bar.setValue(done)
        finally:
            self.bar.setUpdatesEnabled(True)  # schedules the bar's update

    @property
    def text(self) -> str:
        return self.label.text()


class IndexStatus(ProgressItem):
    """'Indexing 12 of 200 · song.flac · wav2vec2-base · CUDA fp16 · 8.3 tracks/s · 21 s left [====  ] [Cancel]'."""

    def __init__(self, parent=None):
        super().__init__("indexing", "Stop indexing (finished tracks are kept; the rest is resumed next time)", 160,
                         parent)
        self.running_on = ""
        self._latest = None  # (Progress, rate, eta): the newest event, shown now or by `_later`
        self._later = QTimer(self)
        self._later.setSingleShot(True)
        self._later.timeout.connect(self._show_latest)
        self._shown = (None, -PROGRESS_EVERY_S)

    def start(self, text: str = "Starting…") -> None:
        self.running_on = ""  # the embedder and its device ("wav2vec2-base · CUDA fp16"), from the first event
        self._later.stop()
        self._shown = (None, -PROGRESS_EVERY_S)  # (stage, monotonic time) of the last event shown
        self._begin(text)

    def show_progress(self, ev, rate: float = 0.0, eta: float | None = None) -> None:
        """Show the job's progress event: the first and last of each stage at once, others at most every
        PROGRESS_EVERY_S (the latest wins). A scan and a spectral index send 40-80 events a second, and each
        new text was laid out, set and painted on the GUI thread beside the library thread's work."""
        if ev.stage == "index" and ev.message:  # the embedder's label; feature embedders run on the CPU
            self.running_on = ev.message if "·" in ev.message else f"{ev.message} · CPU"
        self._latest = (ev, rate, eta)
        wait = self._shown[1] + PROGRESS_EVERY_S - time.monotonic()
        if ev.stage != self._shown[0] or wait <= 0 or (ev.total and ev.done >= ev.total):
            self._show_latest()
        elif not self._later.isActive():
            self._later.start(max(1, round(wait * 1000)))

    def _show_latest(self) -> None:
        self._later.stop()
        if not self.cancel_button.isEnabled():
            return  # cancelling: keep saying so
        ev, rate, eta = self._latest
        self._shown = (ev.stage, time.monotonic())
        name = os.path.basename(ev.path) if ev.path else ""
        if ev.stage == "scan":
            parts = [f"Scanning… {ev.done} files"]
        elif ev.stage == "standardise":
            parts = [f"Updating similarity statistics {ev.done} of {ev.total}"]
        elif ev.stage == "passages":  # the second pass: the library is already searchable
            parts = [f"Passage index {ev.done} of {ev.total}" if ev.total else
                     f"{ev.message[:1].upper()}{ev.message[1:]}…" if ev.message else "Passage index…"]
        elif ev.total:
            parts = [f"Indexing {ev.done} of {ev.total}"]
        else:
            parts = ["Indexing…"]
        if name:
            parts.append(name)
        if ev.stage == "index" and self.running_on:
            parts.append(self.running_on)
        if ev.stage == "index" and rate > 0:
            parts.append(f"{rate:.1f} tracks/s")
            if eta is not None and ev.done < ev.total:
                parts.append(format_eta(eta))
        self.label.setText("  ·  ".join(parts))
        self.label.setToolTip(ev.path or "")
        self.set_bar(ev.done, ev.total)
        self.setVisible(True)

    def finish(self) -> None:
        self._later.stop()
        self.setVisible(False)


class NoticeBar(QFrame):
    """A dismissable strip of messages above the library (never a modal dialog).

    Messages come in groups ("Some dropped items were not used": one line per file and why); the
    newest group is shown first, each with its last few lines.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("noticeBar")
        self.groups: dict[str, list[str]] = {}
        self.body = QLabel()
        self.body.setObjectName("noticeBody")
        self.body.setWordWrap(True)
        self.body.setTextFormat(Qt.RichText)
        self.body.setTextInteractionFlags(Qt.TextSelectableByMouse)
        close = QToolButton()
        close.setIcon(self.style().standardIcon(QStyle.SP_TitleBarCloseButton))
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.clear)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(10, 6, 6, 6)
        lay.addWidget(self.body, 1)
        lay.addWidget(close, 0, Qt.AlignTop)
        self.setVisible(False)

    def add(self, title: str, lines: list[str]) -> None:
        group = self.groups.pop(title, [])  # re-inserted: the newest group comes first
        group.extend(lines)
        self.groups[title] = group
        self._render()
        self.setVisible(True)

    def _render(self) -> None:
        parts = []
        for title, lines in reversed(list(self.groups.items())):
            shown = lines[-MAX_NOTICE_LINES:]
            more = len(lines) - len(shown)
            body = "<br>".join(html.escape(x) for x in shown) + (f"<br>… and {more} more" if more else "")
            parts.append(f"<b style='color:#ffd08a'>{html.escape(title)}</b><br>{body}")
        self.body.setText("<br>".join(parts))

    def clear(self) -> None:
        self.groups = {}
        self.body.setText("")
        self.setVisible(False)

    @property
    def text(self) -> str:
        """Plain text of what is shown (titles and lines), '' when dismissed."""
        return "\n".join(f"{t}\n" + "\n".join(lines) for t, lines in self.groups.items())


class WindowStatusBar(MessageStatusBar):
    """The window's status bar: indexing progress and messages, then (permanent, on the right) the fallback
    notice with a link to the settings, "No audio output" when playback is silent, and the embedder in use."""

    settings_requested = Signal()

    def __init__(self, no_audio_reason: str, audio_available: bool, parent=None):
        super().__init__(parent)
        self.index_status = IndexStatus()
        # Progress gets two thirds of the free width: its bar and Cancel button are fixed, so at an even split
        # a 900 px window left "Passage inde" of its text (Xvfb screenshot); passing messages are shorter.
        self.addWidget(self.index_status, 2)
        self.addWidget(self.message_label, 1)
        self.fallback_label = QLabel()
        self.fallback_label.setObjectName("fallbackNotice")
        self.fallback_label.linkActivated.connect(lambda _link: self.settings_requested.emit())
        self.fallback_label.setVisible(False)
        self.audio_label = QLabel("No audio output")
        self.audio_label.setObjectName("noAudio")
        self.audio_label.setToolTip(f"Playback is silent: {no_audio_reason}. Everything else works.")
        self.embedder_label = QLabel()  # "spectral · loading…" once a session is bound
        self.embedder_label.setObjectName("embedderLabel")
        self.embedder_label.setToolTip("The embedder that analyses your music, and where it runs")
        for w in (self.fallback_label, self.audio_label, self.embedder_label):
            self.addPermanentWidget(w)
        self.audio_label.setVisible(not audio_available)  # after reparenting, which hides

    def show_embedder(self, label: str, notice: str) -> None:
        """The embedder in use, and why it is not the configured one (`notice`, empty when it is)."""
        self.embedder_label.setText(label)
        self.fallback_label.setVisible(bool(notice))
        if notice:
            text = ("Using the built-in sound analysis: the neural model is not on this computer."
                    if "not downloaded" in notice else notice[:80])
            self.fallback_label.setText(f'{text} <a href="settings" style="color:#ffb070">Model settings…</a>')
            self.fallback_label.setToolTip(notice)
