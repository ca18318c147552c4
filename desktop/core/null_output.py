"""A null audio output: drains the player's callback at wall-clock pace when there is no sound card.

Same start/stop/abort/close and callback contract as a sounddevice OutputStream, so the player, the
window and the tests behave alike with or without a device (Quod Libet's null backend is the model).
"""

from __future__ import annotations

import threading
import time

import numpy as np


class NullOutput:
    """Consumes audio at wall-clock pace through the player's callback, with no device at all."""

    TICK = 0.01

    def __init__(self, samplerate: int, channels: int, callback):
        self.samplerate, self.channels, self._callback = samplerate, channels, callback
        self.active, self._halt, self._thread = False, threading.Event(), None

    def start(self) -> None:
        if not self.active:
            self.active, self._halt = True, threading.Event()
            self._thread = threading.Thread(target=self._run, args=(self._halt,), daemon=True,
                                            name="soundalike-null-out")
            self._thread.start()

    def _run(self, halt: threading.Event) -> None:
        buf = np.zeros((max(1, self.samplerate // 4), self.channels), np.float32)
        t0, done = time.monotonic(), 0
        while not halt.wait(self.TICK):
            due = int((time.monotonic() - t0) * self.samplerate) - done
            if due > self.samplerate:  # stalled (suspend, debugger): skip ahead like a real device
                done, due = done + due - self.samplerate // 2, self.samplerate // 2
            while due > 0 and not halt.is_set():
                n = min(due, len(buf))
                try:
                    self._callback(buf[:n], n, None, None)
                except Exception:  # noqa: BLE001 - the player recorded why
                    self.active = False
                    return
                done, due = done + n, due - n

    def stop(self) -> None:
        self._halt.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(1.0)
        self.active = False

    abort = close = stop
