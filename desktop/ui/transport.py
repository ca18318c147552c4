"""The transport bar: buttons, what plays (cover, title, artist), the seek slider and the volume.

It only renders and emits; `PlaybackController` (playback_controller.py) does what the buttons ask.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QSlider, QStyle, QToolButton, QVBoxLayout, QWidget

from desktop.core.paths import shown
from desktop.ui.elide import elided
from desktop.ui.icons import ON_ACCENT, transport_icon
from desktop.ui.library_model import format_time
from desktop.ui.playback_controller import NowPlaying

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

    def clear(self) -> None:
        self.setText("")

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        """Through `elided`: the indexing status changes its text per track, and Qt's elision shaped each."""
        super().setText(elided(self.fontMetrics(), self._full, max(10, self.width())))


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
        """Called every 50 ms while playing: the slider moves (and repaints) only when its handle moves a pixel,
        and the labels only when their text changes (QLabel ignores the same text)."""
        self.total_label.setText(format_time(duration))
        slider = self.seek_slider
        if slider.isSliderDown():
            return  # the elapsed time shows where the drag is (sliderMoved)
        self.elapsed_label.setText(format_time(position))
        top, value = int(max(0.0, duration) * 1000), int(max(0.0, position) * 1000)
        span = max(1, slider.width())
        if top == slider.maximum() and QStyle.sliderPositionFromValue(0, top, value, span) == \
                QStyle.sliderPositionFromValue(0, top, slider.value(), span):
            return
        slider.blockSignals(True)
        slider.setRange(0, top)
        slider.setValue(value)
        slider.blockSignals(False)

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
