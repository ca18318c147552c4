"""A stretch of an audio file as a source of its own: the tracks of a CUE sheet, a damaged file's good part.

Why a wrapper and not a decoder option: every consumer (embedders, waveform, playback) already takes
an `AudioSource`; wrapping one keeps the decoders untouched and gives each consumer the same range.
Positions inside are relative to the range's start; the range never reads past its end.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from desktop.core.decode import TARGET_SR, AudioSource, open_audio
from desktop.core.errors import DecodeError

# A damaged file is indexed and played when at least this much of it decodes; less is "no usable audio".
MIN_PLAYABLE_SECONDS = 1.0


class RangedSource(AudioSource):
    """[start, end) seconds of `inner` (end None: to the end of the file)."""

    def __init__(self, inner: AudioSource, start: float, end: float | None, path: str | None = None):
        self.inner = inner
        self.start = max(0.0, float(start))
        full = inner.duration or 0.0
        self.end = min(float(end), full) if end is not None and full > 0 else (float(end) if end else full)
        self.open_end = end is None  # runs to wherever the file's audio ends (the header's length may be off)
        self.path, self.sample_rate, self.channels = path or inner.path, inner.sample_rate, inner.channels
        self.decoder = inner.decoder
        self.duration = max(0.0, self.end - self.start)

    def read(self, start: float, seconds: float) -> np.ndarray:
        start = min(max(0.0, start), self.duration)
        seconds = min(seconds, self.duration - start)
        if seconds <= 0:
            return np.zeros(0, np.float32)
        return self.inner.read(self.start + start, seconds)[: int(round(seconds * TARGET_SR))]

    def blocks(self, block_seconds: float = 10.0) -> Iterator[np.ndarray]:
        """The range in order; each block is a seek + read, so the range's end is never decoded past."""
        t = 0.0
        while t < self.duration - 1e-6:
            x = self.read(t, min(block_seconds, self.duration - t))
            if len(x) == 0:
                return
            yield x
            t += len(x) / TARGET_SR

    def _native_blocks(self, start: float, block_frames: int) -> Iterator[np.ndarray]:
        """Playback frames of the range from `start` (relative), cut at the range's end."""
        left = int(round((self.duration - start) * self.sample_rate))
        for block in self.inner.native_blocks(self.start + start, block_frames):
            if left <= 0:
                return
            block = block[:left]
            left -= len(block)
            yield block

    def close(self) -> None:
        self.inner.close()


def use_audio(path: str, use):
    """(use(source), seconds analysed, note) for the file; a damaged file's decodable part with a note.

    Raises the original DecodeError when the file holds no usable audio.
    """
    try:
        with open_audio(path) as source:
            return use(source), source.duration, ""
    except DecodeError as e:
        part = open_playable_part(path, e)
        if part is None:
            raise
        source, note = part
        with source:
            try:
                return use(source), source.duration, note
            except DecodeError:
                raise e from None


def format_minutes(seconds: float) -> str:
    s = int(round(max(0.0, seconds)))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def damaged_note(playable: float, declared: float) -> str:
    return f"damaged: plays {format_minutes(playable)} of {format_minutes(declared)}"


def open_playable_part(path: str, error: DecodeError) -> tuple[RangedSource, str] | None:
    """After a decode error part-way through: the part before it, and the note saying so.

    None when too little decodes to be worth keeping (the clear failure stays).
    """
    if error.playable is None or error.playable < MIN_PLAYABLE_SECONDS:
        return None
    src = open_audio(path)
    declared = src.duration
    usable = error.playable * 0.98  # stay clear of the last, half-decoded packet
    return RangedSource(src, 0.0, usable), damaged_note(error.playable, declared)
