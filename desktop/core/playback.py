"""Audio playback: one worker thread decodes into a bounded buffer that an output callback drains.

Threads. `Player()` starts one daemon thread ("soundalike-player") that owns everything slow: it
decodes ahead (at most BUFFER_SECONDS), opens, starts, stops and closes the output, and reports the
end of a track or a lost device. The output is a sounddevice `OutputStream` (PortAudio runs the
callback on its own thread) or, when there is no usable device, a `NullOutput` whose thread drains the
buffer at wall-clock pace, so position, pause and end-of-track behave the same with no sound card
(Quod Libet's null backend is the model). The public methods only change state under a lock and wake
the worker: they never decode or touch the device, except that `load()` opens the file to read its
header (a few ms).

Gapless: `queue_next(path)` names what plays after the loaded track; the worker decodes on into it
(playback_stream.py) and the buffer carries a mark where it begins. When the output passes the mark the
player switches to it (path, duration, position, ReplayGain) and calls `on_advance(path)`; nothing
stops or re-opens. A CUE track that continues the loaded one in the same file reuses its decoder stream.

Callbacks (`on_state(state)`, `on_end()`, `on_error(message)`, `on_advance(path)`) run on the worker, the
audio thread or the caller's thread, never under the player's lock: the UI wraps them in Qt signals.

Position = the seek point + the frames handed to the output since then, so it is exact after a seek
and stops when paused (it leads what is heard by the output latency). A lost device (PortAudio error,
callback abort, no callback for WATCHDOG_SECONDS) closes the stream, pauses at the current position and
calls on_error("audio output lost: ..."); the next play() opens the device again (or falls back to the
null output). Call close() when done; it stops the worker.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time

import numpy as np

from desktop.core.audio_device import CallbackAbort, probe_output
from desktop.core.decode import AudioSource, open_audio
from desktop.core.errors import DecodeError
from desktop.core.playback_output import PAUSED, PLAYING, STOPPED, OutputSide
from desktop.core.playback_stream import NextTrack, TrackStream, continuing_track
from desktop.core.replaygain import NONE, Gains, check_mode, gain_factor

log = logging.getLogger(__name__)

__all__ = ["PAUSED", "PLAYING", "STOPPED", "Player"]


class Player(OutputSide):
    BUFFER_SECONDS = 2.0  # decoded ahead of the output
    PREFILL_SECONDS = 0.25  # buffered before the output starts
    BLOCK_FRAMES = 16384  # native frames per decode step
    LATENCY = 0.3  # seconds asked of PortAudio: generous, the callback is Python
    WATCHDOG_SECONDS = 3.0  # no callback for this long while running: the device is lost

    def __init__(self, *, on_state=None, on_end=None, on_error=None, on_advance=None, output_device=None):
        self._on_state, self._on_end, self._on_error, self._on_advance = on_state, on_end, on_error, on_advance
        self.output_device = output_device
        self.path: str | None = None
        self.duration, self._volume, self._state = 0.0, 1.0, STOPPED
        # ReplayGain: the mode (desktop.core.replaygain), the loaded track's values and the factor they give
        self._replaygain, self._gains, self.gain = "track", NONE, 1.0
        self._cond = threading.Condition()  # guards everything below that two threads touch
        self._src: AudioSource | None = None
        self._to_close: list[AudioSource] = []  # replaced sources, closed by the worker
        # The buffer: chunks of (frames, channels) float32 at the output's format; _head = offset in
        # the first chunk. _gen counts restarts (load/seek/stop); position = _base + _consumed / _rate.
        self._rate, self._channels = 44100, 2
        self._chunks: collections.deque[np.ndarray] = collections.deque()
        self._head = self._buffered = self._consumed = self._gen = self._wake = 0
        self._base, self._eof, self._drained, self._closing = 0.0, False, False, False
        # Gapless: the next track, the frame (counted like _consumed) where it begins in the buffer once
        # decoded, how many times the buffer was cut back to the loaded track's end, advances to report.
        self._next: NextTrack | None = None
        self._mark: tuple[int, NextTrack] | None = None
        self._appended = self._cuts = 0
        self._advanced: list[str] = []
        # The output (worker thread only, except _out_lost and _last_cb, written by the callback).
        self._out, self._out_fmt, self._out_running, self._out_lost, self._last_cb = None, None, False, "", 0.0
        self.available, self.error, self._dev_channels = probe_output(self.output_device)
        self._thread = threading.Thread(target=self._run, name="soundalike-player", daemon=True)
        self._thread.start()

    # --- public API (any thread; never blocks on decoding or the device) ---------------------------

    @property
    def state(self) -> str:
        return self._state

    @property
    def position(self) -> float:
        with self._cond:
            return self._base + self._consumed / self._rate

    @property
    def volume(self) -> float:
        return self._volume

    @volume.setter
    def volume(self, value: float) -> None:
        self._volume = float(min(1.0, max(0.0, value)))

    @property
    def replaygain(self) -> str:
        return self._replaygain

    @replaygain.setter
    def replaygain(self, mode: str) -> None:
        """Change the mode; it applies to the loaded track at once."""
        self._replaygain = check_mode(mode)
        self.gain = gain_factor(self._gains, mode)

    def set_gains(self, gains: Gains | None) -> None:
        """The loaded track's ReplayGain values, when they are known only after load() (a file outside the
        library whose tags were read later)."""
        self._gains = gains or NONE
        self.gain = gain_factor(self._gains, self._replaygain)

    def load(self, path, gains: Gains | None = None) -> None:
        """Stop what plays and open `path` (header only); a DecodeError goes to on_error. `gains`: the
        track's ReplayGain values as the catalog holds them (the file's tags are not read again)."""
        path = os.fspath(path)
        if self._closing:
            return
        try:
            src, err = open_audio(path), None
        except DecodeError as e:
            src, err = None, str(e)
        self.set_gains(gains if src is not None else None)
        with self._cond:
            changed = self._state != STOPPED
            if self._src is not None:
                self._to_close.append(self._src)
            self._drop_next()
            self._src, self.path, self._state = src, path, STOPPED
            self.duration = src.duration if src is not None else 0.0
            if src is not None:
                self._set_format(src.sample_rate, min(2, self._dev_channels))
            self._restart(0.0)
        if changed:
            self._emit(self._on_state, STOPPED)
        if err:
            self._emit(self._on_error, err)

    def queue_next(self, path, gains: Gains | None = None) -> None:
        """What plays after the loaded track, without a gap (None: nothing; the track then just ends).

        Call it again whenever the queue's next item changes. A CUE track continuing the loaded one in
        the same file is cut from the stream already open (no I/O); another file's header is opened
        here (a few ms). A file that cannot be opened is left to load() to report."""
        path = None if path is None else os.fspath(path)
        gains = gains or NONE
        with self._cond:
            if ((self._next.path, self._next.gains) if self._next else (None, NONE)) == (path, gains):
                return
            current = self._src
        src = shared = None
        if path is not None:
            src = continuing_track(current, path)
            shared = src is not None
            if src is None:
                try:
                    src = open_audio(path)
                except DecodeError:
                    src = None
        with self._cond:
            if self._src is not current or self._closing:  # loaded meanwhile: this next is stale
                if src is not None and not shared:
                    self._to_close.append(src)
                return
            self._drop_next()
            if src is not None:
                self._next = NextTrack(path, gains, src, bool(shared))
                if self._eof and not self._drained:  # the track is all decoded: go on into this one
                    self._eof = False
            self._poke()

    def play(self) -> None:
        self._set_state(PLAYING, need_source=True)

    def pause(self) -> None:
        if self._state == PLAYING:
            self._set_state(PAUSED)

    def toggle(self) -> None:
        if self._state == PLAYING:
            self.pause()
        else:
            self.play()

    def stop(self) -> None:
        with self._cond:
            self._restart(0.0)
        self._set_state(STOPPED)

    def seek(self, seconds: float) -> None:
        with self._cond:
            if self._src is None:
                return
            end = self.duration if self.duration > 0 else float("inf")
            self._restart(min(max(0.0, float(seconds)), end))

    def close(self) -> None:
        """Stop playback and the worker thread; the player is unusable afterwards."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if threading.current_thread() is not self._thread:
            self._thread.join(5.0)

    def __enter__(self) -> Player:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- state helpers (call with the lock held unless noted) ---------------------------------------

    def _set_state(self, state: str, need_source: bool = False) -> None:
        """Lock not held: change state, wake the worker, report the change."""
        with self._cond:
            if self._state == state or (need_source and self._src is None) or self._closing:
                return
            self._state = state
            self._poke()
        self._emit(self._on_state, state)

    def _poke(self) -> None:
        self._wake += 1
        self._cond.notify_all()

    def _restart(self, position: float) -> None:
        """Drop the buffer and decode again from `position` (a new generation)."""
        self._gen += 1
        self._base, self._consumed, self._appended, self._mark = position, 0, 0, None
        self._chunks.clear()
        self._head = self._buffered = 0
        self._eof = self._drained = False
        self._poke()

    def _drop_next(self) -> None:
        """Forget the next track; if it is decoded into the buffer already, cut the buffer back to the end
        of the loaded track (which then ends as usual)."""
        nxt, self._next = self._next, None
        if nxt is not None and not nxt.shared:
            self._to_close.append(nxt.src)
        if self._mark is None:
            return
        keep = self._mark[0] - self._consumed  # frames of the loaded track still in the buffer
        self._mark, self._cuts = None, self._cuts + 1
        kept, total = collections.deque(), -self._head
        for chunk in self._chunks:
            if total + len(chunk) > keep:
                chunk = chunk[: max(0, keep - total)]
            if len(chunk) and total < keep:
                kept.append(chunk)
            total += len(chunk)
        self._chunks = kept
        self._buffered, self._appended, self._eof = max(0, keep), self._consumed + max(0, keep), True

    def _advance(self) -> None:
        """The output reached the next track: it becomes the loaded one (audio thread, lock held)."""
        frame, nxt = self._mark
        self._mark = None
        self._consumed -= frame
        self._appended -= frame
        if not nxt.shared:
            self._to_close.append(self._src)
        self._src, self.path, self.duration, self._base = nxt.src, nxt.path, nxt.src.duration, 0.0
        self._gains, self.gain = nxt.gains, gain_factor(nxt.gains, self._replaygain)
        if self._next is nxt:
            self._next = None
        self._advanced.append(nxt.path)
        self._poke()

    def _set_format(self, rate: int, channels: int) -> None:
        if (rate, channels) != (self._rate, self._channels):
            position = self._base + self._consumed / self._rate
            self._rate, self._channels = int(rate), int(channels)
            self._restart(position)

    def _emit(self, callback, *args) -> None:
        if callback is not None:
            try:
                callback(*args)
            except Exception:  # noqa: BLE001 - a UI bug must not kill the audio threads
                log.exception("player callback %r failed", callback)

    # --- audio thread ------------------------------------------------------------------------------

    def _callback(self, outdata, frames, time_info, status) -> None:
        try:
            self._last_cb = time.monotonic()
            n, gain = 0, self.gain
            split = None  # where in this block the next track began (its gain applies from there)
            with self._cond:
                if self._state == PLAYING and self._out_fmt == (self._rate, self._channels):
                    while n < frames and self._chunks:
                        chunk = self._chunks[0]
                        k = min(frames - n, len(chunk) - self._head)
                        outdata[n : n + k] = chunk[self._head : self._head + k]
                        n, self._head = n + k, self._head + k
                        if self._head == len(chunk):
                            self._chunks.popleft()
                            self._head = 0
                    self._buffered -= n
                    self._consumed += n
                    if self._mark is not None and self._consumed >= self._mark[0]:
                        split = n - (self._consumed - self._mark[0])
                        self._advance()
                    if self._eof and not self._buffered and not self._drained:
                        self._drained = True
                        self._cond.notify_all()
                    elif not self._eof and self._buffered < self._rate * self.BUFFER_SECONDS / 2:
                        self._cond.notify_all()
            if n < frames:
                outdata[n:] = 0
            for lo, hi, factor in ((0, n, gain),) if split is None else ((0, split, gain), (split, n, self.gain)):
                if hi > lo and self._volume * factor != 1.0:
                    outdata[lo:hi] *= self._volume * factor
        except Exception as e:
            self._out_lost = f"{type(e).__name__}: {e}"
            raise CallbackAbort from e

    def _finished(self) -> None:
        with self._cond:
            self._poke()

    # --- worker thread -----------------------------------------------------------------------------

    def _run(self) -> None:
        stream = TrackStream(self.BLOCK_FRAMES)
        try:
            while True:
                with self._cond:
                    if self._closing:
                        break
                    to_close, self._to_close = self._to_close, []
                    advanced, self._advanced = self._advanced, []
                    seen = self._wake
                    snap = (self._gen, self._cuts, self._src, self._next, self._base, self._rate, self._channels)
                    want_data = (self._src is not None and not self._eof
                                 and self._buffered < self._rate * self.BUFFER_SECONDS)
                for src in to_close:
                    if stream.uses(src):  # a dropped next track it went on into, or the track a load replaced
                        stream.finish()
                    src.close()
                for path in advanced:
                    self._emit(self._on_advance, path)
                self._manage_output()
                if want_data:
                    self._decode_step(stream, *snap)
                    continue
                with self._cond:
                    if self._wake == seen and not self._closing:
                        self._cond.wait(0.05 if self._out_running or self._state == PLAYING else 0.5)
        except Exception:  # noqa: BLE001
            log.exception("player worker failed")
        finally:
            stream.close()
            self._close_output(abort=True)
            with self._cond:
                nxt = [self._next.src] if self._next is not None and not self._next.shared else []
                sources = [s for s in [self._src, *self._to_close, *nxt] if s is not None]
                self._src, self._to_close, self._next = None, [], None
            for src in sources:
                src.close()

    def _decode_step(self, stream: TrackStream, gen: int, cuts: int, src: AudioSource, nxt: NextTrack | None,
                     base: float, rate: int, channels: int) -> None:
        if stream.gen != gen:
            stream.start(gen, src, base, rate, channels)
            stream.cut = cuts
        elif stream.cut != cuts:  # the next track was dropped from the buffer: the loaded one is complete
            stream.finish()
            stream.cut = cuts
        step = stream.step(nxt)
        with self._cond:
            if self._gen != gen or self._cuts != cuts:
                if self._gen == gen:  # what this step read past the track is void
                    stream.finish()
                    stream.cut = self._cuts
                return
            for block in step.blocks:
                self._chunks.append(block)
            if step.next is not None:
                self._mark = (self._appended + step.mark, step.next)
            n = sum(len(b) for b in step.blocks)
            self._buffered += n
            self._appended += n
            if step.eof and self._next is nxt:  # (a next track queued during the step: go on into it)
                self._eof = True
        if step.error:
            self._emit(self._on_error, step.error)
