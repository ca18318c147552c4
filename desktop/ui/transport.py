"""Playback: the transport bar widget and the controller that joins the core Player and PlayQueue.

The core `Player` calls back from its audio threads; `PlaybackController` turns those callbacks into
Qt signals (queued into the GUI thread) and polls the position while playing. Queue items are track
ids (library tracks) or paths (files played without adding them); a resolver from the window turns
an item into what to play and show.

Gapless: the player is always told the queue's next item (`queue_next`), re-told when the queue changes
(checked on each position poll); when it moves on by itself (`on_advance`) the controller advances the
queue and shows the new track without loading anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QSlider, QStyle, QToolButton, QVBoxLayout, QWidget

from desktop.core.paths import shown
from desktop.core.track import Track
from desktop.ui.icons import ON_ACCENT, transport_icon
from desktop.ui.library_model import format_time

log = logging.getLogger(__name__)
POLL_MS = 50
COVER_PX = 40
SEEK_MIN_PX = 140


class ElidedLabel(QLabel):
    """A one-line label that shortens its text with '…' instead of pushing the layout wider."""

    def __init__(self, text: str = "", parent=None):
        super().__init__(parent)
        self._full = text
        self.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.setMinimumWidth(60)
        super().setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 (Qt's name)
        self._full = text
        self.setToolTip(text if text else "")
        self._elide()

    def text(self) -> str:
        return self._full

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        super().setText(self.fontMetrics().elidedText(self._full, Qt.ElideRight, max(10, self.width())))


@dataclass
class NowPlaying:
    """The queue item that plays and its track: a catalog row, or for a file outside the library a `Track`
    with id 0 made from its name, then its tags. Every field of the field table (desktop/core/track.py)
    reads straight through: `now.title`, `now.album`, `now.year`..."""

    item: object  # the queue item: track id (int) or path (str)
    track: Track
    gains: object = None  # desktop.core.replaygain.Gains from the catalog (None: not known yet)

    @property
    def track_id(self) -> int | None:
        """The catalog id; None for a file outside the library."""
        return self.track.id or None

    def __getattr__(self, name: str):
        if name == "track":  # not set yet (copy, unpickling): no field to read through
            raise AttributeError(name)
        return getattr(self.track, name)


class _Bridge(QObject):
    """Signals the Player's callbacks emit from any thread; delivered in the GUI thread."""

    state = Signal(str)
    ended = Signal()
    error = Signal(str)
    advanced = Signal(str)


class PlaybackController(QObject):
    state_changed = Signal(str)  # "stopped" | "playing" | "paused"
    current_changed = Signal(object)  # NowPlaying | None
    position_changed = Signal(float, float)  # position, duration (seconds)
    error = Signal(str)
    track_ended = Signal(object)  # NowPlaying played to its end

    def __init__(self, resolver: Callable[[object], NowPlaying], player=None, parent=None):
        super().__init__(parent)
        from desktop.core.playback import Player
        from desktop.core.queue import PlayQueue

        self.resolver = resolver
        self._bridge = _Bridge(self)
        self._bridge.state.connect(self._on_state)
        self._bridge.ended.connect(self._on_end)
        self._bridge.error.connect(self._on_error)
        self._bridge.advanced.connect(self._on_advance)
        self.player = player or Player(
            on_state=lambda *a: self._bridge.state.emit(str(a[0]) if a else ""),
            on_end=lambda *a: self._bridge.ended.emit(),
            on_error=lambda *a: self._bridge.error.emit(str(a[0]) if a else "playback error"),
            on_advance=lambda path: self._bridge.advanced.emit(str(path)),
        )
        self.queue = PlayQueue()
        self.current: NowPlaying | None = None
        self._primed: tuple[object, NowPlaying | None] | None = None  # (queue item, resolved) told to the player
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._poll)

    # -- facts -------------------------------------------------------------------------------
    @property
    def available(self) -> bool:
        return bool(getattr(self.player, "available", False))

    @property
    def unavailable_reason(self) -> str:
        return str(getattr(self.player, "error", "") or "no audio output")

    @property
    def state(self) -> str:
        return self.player.state

    @property
    def position(self) -> float:
        return float(self.player.position or 0.0)

    @property
    def duration(self) -> float:
        d = float(self.player.duration or 0.0)
        return d if d > 0 else (self.current.duration if self.current else 0.0)

    @property
    def volume(self) -> float:
        return float(self.player.volume)

    def set_volume(self, v: float) -> None:
        self.player.volume = max(0.0, min(1.0, float(v)))

    # -- commands -------------------------------------------------------------------------------
    def play_items(self, items: list, start: int = 0) -> None:
        if not items:
            return
        self.queue.set(list(items), start)
        self._start(self.queue.current, autoplay=True)

    def load_item(self, item, position: float = 0.0) -> None:
        """Load a track paused (restoring the last session) without playing it."""
        self.queue.set([item], 0)
        self._start(item, autoplay=False, position=position)

    def play_pause(self) -> None:
        if self.current is None:
            return
        if self.player.state == "stopped":
            self.player.play()
        else:
            self.player.toggle()
        self._sync()

    def stop(self) -> None:
        self.player.stop()
        self._sync()

    def next(self) -> None:
        item = self.queue.next() if self.queue.has_next else None
        if item is not None:
            self._start(item, autoplay=True)

    def previous(self) -> None:
        """The previous track, or the start of this one when past 3 s (the queue decides)."""
        if self.current is None:
            return
        before = self.queue.index
        item = self.queue.previous(self.position)
        if item is None or self.queue.index == before:
            self.seek(0.0)
        else:
            self._start(item, autoplay=True)

    def seek(self, seconds: float) -> None:
        if self.current is None:
            return
        dur = self.duration
        seconds = max(0.0, min(float(seconds), dur if dur > 0 else float(seconds)))
        self.player.seek(seconds)
        self.position_changed.emit(self.position, self.duration)

    def seek_by(self, delta: float) -> None:
        self.seek(self.position + delta)

    def close(self) -> None:
        self._timer.stop()
        try:
            self.player.close()
        except Exception:
            log.exception("closing the player")

    # -- internals ------------------------------------------------------------------------------
    def _start(self, item, autoplay: bool, position: float = 0.0) -> None:
        try:
            now = self.resolver(item)
        except Exception as e:
            self.error.emit(f"cannot play {item}: {e}")
            return
        self.current, self._primed = now, None  # load() forgets what the player had readied
        try:
            self.player.load(now.path, now.gains)
            if position > 0:
                self.player.seek(position)
            self._prime_next()  # before play(): a short track must not end before its follower is known
            if autoplay:
                self.player.play()
        except Exception as e:
            self.error.emit(str(e))
        self.current_changed.emit(now)
        self._sync()

    def _prime_next(self) -> None:
        """Tell the player what follows, so it plays on without a gap (again whenever the queue changed)."""
        if self.current is None:
            return
        item = self.queue.peek_next()
        if self._primed is not None and self._primed[0] == item:
            return
        now = None
        if item is not None:
            try:
                now = self.resolver(item)
            except Exception:  # noqa: BLE001 - reported when it is started the usual way
                log.debug("cannot ready %r to play next", item, exc_info=True)
        self._primed = (item, now)
        self.player.queue_next(now.path if now else None, now.gains if now else None)

    def _on_advance(self, path: str) -> None:
        """The player went on into the track it was readied with: advance the queue to it."""
        if self.current is not None:
            self.track_ended.emit(self.current)
        primed, self._primed = self._primed, None
        item = self.queue.next()
        if item is None:
            self._sync()
            return
        if primed is None or primed[0] != item or primed[1] is None or primed[1].path != path:
            self._start(item, autoplay=True)  # the queue changed at the very end: play what it says now
            return
        try:
            self.current = self.resolver(item)  # afresh: a file outside the library asks for its tags again
        except Exception:  # noqa: BLE001
            self.current = primed[1]
        self.current_changed.emit(self.current)
        self._prime_next()
        self._sync()

    def _sync(self) -> None:
        state = self.player.state
        if state == "playing":
            self._timer.start()
        else:
            self._timer.stop()
        self.state_changed.emit(state)
        self.position_changed.emit(self.position, self.duration)

    def _poll(self) -> None:
        self.position_changed.emit(self.position, self.duration)
        self._prime_next()

    def _on_state(self, _state: str) -> None:
        self._sync()

    def _on_end(self) -> None:
        if self.current is not None:
            self.track_ended.emit(self.current)
        if self.queue.has_next:
            self.next()
        else:
            self._sync()

    def _on_error(self, message: str) -> None:
        self.error.emit(message)
        self._sync()


def _button(kind: str, tip: str) -> QToolButton:
    b = QToolButton()
    b.setIcon(transport_icon(kind))
    b.setIconSize(QSize(20, 20))
    b.setToolTip(tip)
    b.setAutoRaise(True)
    b.setFocusPolicy(Qt.NoFocus)
    return b


class Transport(QWidget):
    """Buttons, now-playing text, seek slider with elapsed/total, and volume."""

    play_pause_clicked = Signal()
    stop_clicked = Signal()
    previous_clicked = Signal()
    next_clicked = Signal()
    seek_requested = Signal(float)
    volume_changed = Signal(float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("transport")
        st = self.style()
        self._icons = {"play": transport_icon("play", ON_ACCENT), "pause": transport_icon("pause", ON_ACCENT)}
        self.prev_button = _button("previous", "Previous (Ctrl+Left)")
        self.play_button = _button("play", "Play / pause (Space)")
        self.play_button.setIcon(self._icons["play"])
        self.play_button.setObjectName("playButton")
        self.stop_button = _button("stop", "Stop")
        self.next_button = _button("next", "Next (Ctrl+Right)")
        for b, sig in ((self.prev_button, self.previous_clicked), (self.play_button, self.play_pause_clicked),
                       (self.stop_button, self.stop_clicked), (self.next_button, self.next_clicked)):
            b.clicked.connect(sig)
        self.has_cover = False
        self.cover_label = QLabel()
        self.cover_label.setObjectName("nowCover")
        self.cover_label.setFixedSize(COVER_PX, COVER_PX)
        self.cover_label.setAlignment(Qt.AlignCenter)
        self.title_label = ElidedLabel("Nothing playing")
        self.title_label.setObjectName("nowTitle")
        self.artist_label = ElidedLabel("")
        self.artist_label.setObjectName("nowArtist")
        now = QVBoxLayout()
        now.setSpacing(0)
        now.addWidget(self.title_label)
        now.addWidget(self.artist_label)
        self.elapsed_label = QLabel("0:00")
        self.total_label = QLabel("0:00")
        for lab in (self.elapsed_label, self.total_label):
            lab.setObjectName("timeLabel")
            lab.setMinimumWidth(44)
            lab.setAlignment(Qt.AlignCenter)
        self.seek_slider = QSlider(Qt.Horizontal)
        self.seek_slider.setObjectName("seekSlider")
        self.seek_slider.setRange(0, 0)
        self.seek_slider.setSingleStep(5000)  # milliseconds
        self.seek_slider.setPageStep(10000)
        self.seek_slider.setFocusPolicy(Qt.NoFocus)
        self.seek_slider.setMinimumWidth(SEEK_MIN_PX)  # never shrinks to its knob
        self.seek_slider.sliderReleased.connect(self._seek_released)
        self.seek_slider.actionTriggered.connect(self._slider_action)  # clicks on the groove, wheel
        self.seek_slider.sliderMoved.connect(lambda v: self.elapsed_label.setText(format_time(v / 1000)))
        self.volume_icon = QLabel()
        self.volume_icon.setPixmap(st.standardIcon(QStyle.SP_MediaVolume).pixmap(16, 16))
        self.volume_slider = QSlider(Qt.Horizontal)
        self.volume_slider.setObjectName("volumeSlider")
        self.volume_slider.setRange(0, 100)
        self.volume_slider.setFixedWidth(100)
        self.volume_slider.setToolTip("Volume (Ctrl+Up / Ctrl+Down)")
        self.volume_slider.setFocusPolicy(Qt.NoFocus)
        self.volume_slider.valueChanged.connect(self._volume_moved)
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 8, 4)
        for b in (self.prev_button, self.play_button, self.stop_button, self.next_button):
            row.addWidget(b)
        row.addSpacing(8)
        row.addWidget(self.cover_label)
        row.addLayout(now, 2)
        row.addWidget(self.elapsed_label)
        row.addWidget(self.seek_slider, 5)
        row.addWidget(self.total_label)
        row.addSpacing(8)
        row.addWidget(self.volume_icon)
        row.addWidget(self.volume_slider)

    def _seek_released(self) -> None:
        self.seek_requested.emit(self.seek_slider.value() / 1000)

    def _slider_action(self, action: int) -> None:
        if not self.seek_slider.isSliderDown() and action != QSlider.SliderMove:
            self.seek_requested.emit(self.seek_slider.sliderPosition() / 1000)

    def _volume_moved(self, value: int) -> None:
        self.volume_changed.emit(value / 100)

    def set_state(self, state: str) -> None:
        playing = state == "playing"
        self.play_button.setIcon(self._icons["pause" if playing else "play"])
        self.play_button.setToolTip(("Pause" if playing else "Play") + " (Space)")

    def set_position(self, position: float, duration: float) -> None:
        self.total_label.setText(format_time(duration))
        if self.seek_slider.isSliderDown():
            return
        self.seek_slider.blockSignals(True)
        self.seek_slider.setRange(0, int(max(0.0, duration) * 1000))
        self.seek_slider.setValue(int(max(0.0, position) * 1000))
        self.seek_slider.blockSignals(False)
        self.elapsed_label.setText(format_time(position))

    def set_now_playing(self, now: NowPlaying | None) -> None:
        if now is None:
            self.title_label.setText("Nothing playing")
            self.artist_label.setText("")
            return
        self.title_label.setText(now.title or shown(now.path))
        self.artist_label.setText(now.artist)
        self.artist_label.setToolTip("No artist tag; name made up" if now.artist_generated else "")
        f = self.artist_label.font()
        f.setItalic(now.artist_generated)
        self.artist_label.setFont(f)

    def set_available(self, has_track: bool, can_play: bool) -> None:
        """Buttons enabled only when they can do something: Play needs a track to play (loaded or
        in the library), Previous/Stop/Next a loaded one."""
        self.play_button.setEnabled(can_play or has_track)
        for b in (self.prev_button, self.stop_button, self.next_button):
            b.setEnabled(has_track)

    def set_cover(self, pixmap) -> None:
        """The playing track's cover (a QPixmap), or an empty square (no cover, or not read yet)."""
        self.has_cover = pixmap is not None and not pixmap.isNull()
        if not self.has_cover:
            self.cover_label.clear()
            return
        dpr = self.devicePixelRatioF()
        scaled = pixmap.scaled(int(COVER_PX * dpr), int(COVER_PX * dpr), Qt.KeepAspectRatio, Qt.SmoothTransformation)
        scaled.setDevicePixelRatio(dpr)
        self.cover_label.setPixmap(scaled)

    def set_volume(self, v: float) -> None:
        self.volume_slider.blockSignals(True)
        self.volume_slider.setValue(int(round(v * 100)))
        self.volume_slider.blockSignals(False)
