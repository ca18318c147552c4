"""The output side of the Player (playback.py): open the device, or the null output when there is none,
start it once enough is buffered, stop it at the end of a track, and notice when it is lost.

A mixin because it shares the Player's state and lock; split out so each module stays readable.
Runs on the player's worker thread only.
"""

from __future__ import annotations

import time

from desktop.core.audio_device import default_rate, open_stream, probe_output
from desktop.core.null_output import NullOutput

STOPPED, PLAYING, PAUSED = "stopped", "playing", "paused"


class OutputSide:
    def _manage_output(self) -> None:
        with self._cond:
            state, fmt, gen = self._state, (self._rate, self._channels), self._gen
            ready = self._eof or self._buffered >= self._rate * self.PREFILL_SECONDS
            drained, lost = self._drained, self._out_lost
        out = self._out
        if out is not None and self._out_running:
            silent = time.monotonic() - self._last_cb > self.WATCHDOG_SECONDS
            if lost or not out.active or silent:
                reason = lost or ("the device stopped responding" if silent else "the stream stopped unexpectedly")
                return self._lose(reason)
        if drained and state == PLAYING:  # end of track: let the device play out, then report
            self._stop_output()
            with self._cond:
                ended = self._drained and self._gen == gen and self._state == PLAYING
                if ended:
                    self._state = STOPPED
                    self._restart(0.0)
            if ended:
                self._emit(self._on_state, STOPPED)
                self._emit(self._on_end)
            return
        if state != PLAYING:
            self._stop_output()
            return
        if out is None or self._out_fmt != fmt or (isinstance(out, NullOutput) and not self._out_running and ready):
            self._close_output(abort=True)  # (re)open; a null output about to start tries the device again
            self._open_output(*fmt)
            out = self._out
            if out is None or self._out_fmt != fmt:
                return  # the format changed: decode again first
        if not self._out_running and ready:
            self._last_cb = time.monotonic()
            try:
                out.start()
                self._out_running = True
            except Exception as e:  # noqa: BLE001 - PortAudioError and friends
                self._lose(str(e))

    def _open_output(self, rate: int, channels: int) -> None:
        """Open the device at the buffer's format (or its own rate); fall back to the null output."""
        was_available = self.available
        self.available, self.error, dev_channels = probe_output(self.output_device)
        if self.available and dev_channels != channels:
            with self._cond:
                self._set_format(rate, dev_channels)
            return
        if self.available:
            try:
                self._out = self._stream(rate, channels)
            except Exception as e:  # noqa: BLE001 - most often "Invalid sample rate": try the device's own
                self.available, self.error = False, f"audio output unavailable: {e}"
                try:
                    device_rate = default_rate(self.output_device)
                    if device_rate != rate:
                        self._out = self._stream(device_rate, channels)
                        self.available, self.error = True, ""
                        with self._cond:
                            self._set_format(device_rate, channels)
                except Exception:  # noqa: BLE001
                    pass
        if self._out is not None:
            self._out_fmt = (int(self._out.samplerate), channels)
            return
        self._out, self._out_fmt = NullOutput(rate, channels, self._callback), (rate, channels)
        if was_available:
            self._emit(self._on_error, self.error)

    def _stream(self, rate: int, channels: int):
        return open_stream(self.output_device, rate, channels, self.LATENCY, self._callback, self._finished)

    def _stop_output(self) -> None:
        if self._out is not None and self._out_running:
            self._out_running = False
            try:
                self._out.stop()
            except Exception as e:  # noqa: BLE001
                self._lose(str(e))

    def _close_output(self, abort: bool = False) -> None:
        out, self._out, self._out_fmt, self._out_running, self._out_lost = self._out, None, None, False, ""
        if out is not None:
            try:
                out.abort() if abort else out.stop()
                out.close()
            except Exception:  # noqa: BLE001 - the device may be gone already
                pass

    def _lose(self, reason: str) -> None:
        """The device failed: close it, pause where we are, tell the UI; play() reopens it."""
        self._close_output(abort=True)
        with self._cond:
            paused = self._state == PLAYING
            if paused:
                self._state = PAUSED
        if paused:
            self._emit(self._on_state, PAUSED)
        self._emit(self._on_error, f"audio output lost: {reason}")
