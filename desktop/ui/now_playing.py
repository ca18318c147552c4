"""What is playing, as the window shows it: the transport's text, the window title, the waveform.

`PlaybackController` (transport.py) owns the queue and the player; this controller turns its queue
items into `NowPlaying` records and keeps the views in step. A file outside the library shows its
file name at once and its tags when the waveform thread has read them (no file I/O on the GUI thread).
The Sounds-like pane follows the playing library track.
"""

from __future__ import annotations

from PySide6.QtCore import QObject

from desktop.core.replaygain import Gains
from desktop.core.tags import title_from_filename
from desktop.core.track import Track
from desktop.ui.playback_controller import NowPlaying, PlaybackController


class NowPlayingController(QObject):
    def __init__(self, transport, waveform, similar, set_title, player=None, parent=None):
        super().__init__(parent)
        self.transport = transport  # Transport
        self.waveform = waveform  # WaveformView
        self.similar = similar  # SimilarController
        self.set_title = set_title  # (text): the window title
        self.session = None
        self.playback = PlaybackController(self.resolve_item, player, self)
        self.playback.current_changed.connect(self.on_current_changed)
        self.playback.position_changed.connect(self._on_position)

    def bind_session(self, session) -> None:
        self.session = session
        session.peaks_ready.connect(self.on_peaks)
        session.peaks_failed.connect(lambda _p, msg: self.waveform.set_message(f"No waveform: {msg}"))
        session.tags_ready.connect(self.on_tags)

    def resolve_item(self, item) -> NowPlaying:
        if isinstance(item, int):
            t = self.session.catalog.get(item)
        else:  # a file outside the library: its name now, its tags from the waveform thread
            t = Track(id=0, path=item, title=title_from_filename(item))
            self.session.request_tags(item)
        return NowPlaying(item, t, Gains.of(t) if t.id else None)

    def on_tags(self, path: str, tags: dict) -> None:
        now = self.playback.current
        if now is None or now.track_id is not None or now.path != path:
            return
        t = Track(id=0, path=path, **tags)
        t.duration = t.duration or now.duration
        now = NowPlaying(now.item, t, Gains.of(t))
        self.playback.current = now
        if self.playback.player.path == path:  # its ReplayGain, read with the tags off the GUI thread
            self.playback.player.set_gains(now.gains)
        self.transport.set_now_playing(now)
        self.set_title(f"{now.title} — {now.artist} · Soundalike")

    def on_current_changed(self, now: NowPlaying | None) -> None:
        self.transport.set_now_playing(now)
        if now is None:
            self.waveform.set_peaks(None)
            self.waveform.set_message("No track playing")
            return
        self.set_title(f"{now.title} — {now.artist} · Soundalike")
        self.waveform.set_peaks(None, now.duration)
        self.waveform.set_message("Drawing waveform…")
        self.session.request_peaks(now.path)
        if now.track_id is not None:
            self.similar.follow_playing(now.track_id)

    def on_peaks(self, path: str, peaks) -> None:
        if self.playback.is_current(path):
            self.waveform.set_peaks(peaks)

    def _on_position(self, pos: float, dur: float) -> None:
        self.transport.set_position(pos, dur)
        self.waveform.set_duration(dur)
        self.waveform.set_position(pos)
