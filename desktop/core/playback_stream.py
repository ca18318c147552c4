"""The player's decoder: one track's frames, then straight on into the next one (gapless playback).

Why its own stream and not `source.native_blocks` per track: at a track's end the decoder goes on
into the track the queue plays next, in the same buffer, so the output never stops or runs dry between
them. For the tracks of a CUE sheet that follow each other in one file (track N+1 starts where N ends)
it does more: it never re-opens or seeks the file, it just keeps reading the same decoder stream and
cuts it at the index, so a live album or a DJ mix plays exactly as the one file it is (a seek in
MP3 or AAC lands near, not on, a sample: a click or a few missing milliseconds).

Positions are counted in native frames of the file being read; a CUE track's range is cut at
`round(seconds * rate)` on both sides of an index, so consecutive tracks share the frame at which one
ends and the next begins: no frame is lost or played twice. Runs on the player's worker thread only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import soxr

from desktop.core.audio_source import AudioSource
from desktop.core.cue import split_track_path
from desktop.core.errors import DecodeError
from desktop.core.ranged import RangedSource
from desktop.core.replaygain import Gains

CONTIGUOUS_SECONDS = 0.002  # a next track starting this close to where the stream is continues it


@dataclass
class NextTrack:
    """What plays after the loaded track: its library path, ReplayGain values and open source."""

    path: str
    gains: Gains
    src: AudioSource
    shared: bool  # wraps the current track's open file (a CUE track that continues it): closed with it


def continuing_track(current: AudioSource | None, path: str) -> RangedSource | None:
    """The CUE track at `path` as a range of `current`'s already open file, when it is in the same file
    (no I/O); None when it is another file or not a CUE track."""
    parts = split_track_path(path)
    if parts is None or not isinstance(current, RangedSource) or current.inner.path != parts[0]:
        return None
    return RangedSource(current.inner, parts[1], parts[2], path=path)


@dataclass
class Step:
    """One decode step: blocks in the output's format, and where in them the next track begins."""

    blocks: list[np.ndarray]
    mark: int | None = None  # frames into `blocks` where `next` begins
    next: NextTrack | None = None
    eof: bool = False  # nothing follows (yet): the buffer's end is the track's end
    error: str = ""


class TrackStream:
    def __init__(self, block_frames: int):
        self.block_frames = block_frames
        self.gen = -1  # the player generation this stream decodes (-1: none)
        self.cut = 0  # the player's cut count it has seen (a cut drops what was decoded past the track)
        self.it = None  # the native_blocks iterator of `inner`
        self.inner: AudioSource | None = None
        self.rate = 0  # native rate of `inner`
        self.pos = 0  # native frame (in `inner`) of the next frame `it` yields
        self.end: int | None = None  # native frame where the segment ends; None: where `it` ends
        self.leftover = None  # frames read past the segment's end, kept for a next track that continues
        self.chained: NextTrack | None = None  # the next track already decoded into the buffer
        self.rs = None  # resampler to the output rate, or None
        self.out = (0, 0)  # output (rate, channels)

    # -- segments ---------------------------------------------------------------------------------
    def start(self, gen: int, src: AudioSource, base: float, rate: int, channels: int) -> None:
        """Decode `src` from `base` seconds (a load, a seek, a restart)."""
        self.close()
        self.gen, self.chained, self.out = gen, None, (rate, channels)
        self._open(src, base)
        self.rs = self._resampler()

    def _resampler(self):
        rate, channels = self.out
        return None if self.rate == rate else soxr.ResampleStream(self.rate, rate, channels, dtype="float32")

    def _open(self, src: AudioSource, base: float) -> None:
        if isinstance(src, RangedSource):
            self.inner, start = src.inner, src.start + base
            self.rate = src.sample_rate
            self.end = None if src.open_end else round(src.end * self.rate)
        else:
            self.inner, start, self.rate, self.end = src, base, src.sample_rate, None
        self.pos = round(start * self.rate)
        self.it = self.inner.native_blocks(start, self.block_frames)
        self.leftover = None

    def _continues(self, nxt: NextTrack) -> bool:
        """`nxt` is a range of the file being read that starts where the stream is (the next CUE track)."""
        src = nxt.src
        return (isinstance(src, RangedSource) and src.inner is self.inner and self.it is not None
                and src.sample_rate == self.rate
                and abs(round(src.start * self.rate) - self.pos) <= CONTIGUOUS_SECONDS * self.rate)

    def _follow(self, nxt: NextTrack | None) -> bool:
        """At the segment's end: go on into `nxt` if it can share the output's format (same native rate)."""
        if nxt is None or nxt is self.chained or nxt.src.sample_rate != self.rate:
            return False
        src = nxt.src
        if self._continues(nxt):
            self.end = None if src.open_end else round(src.end * self.rate)  # the same stream goes on
        else:
            if self.it is not None:
                self.it.close()
            self._open(src, 0.0)
        self.chained = nxt
        return True

    def finish(self) -> None:
        """The loaded track is complete in the buffer (what was read past it was dropped)."""
        if self.it is not None:
            self.it.close()
        self.it, self.leftover, self.chained, self.end = None, None, None, self.pos

    def uses(self, src: AudioSource) -> bool:
        return self.inner is not None and (src is self.inner or getattr(src, "inner", None) is self.inner)

    def close(self) -> None:
        if self.it is not None:
            self.it.close()
        self.it, self.inner, self.leftover, self.gen = None, None, None, -1

    # -- decoding -----------------------------------------------------------------------------------
    def step(self, nxt: NextTrack | None) -> Step:
        """Decode one block; at the segment's end, continue into `nxt` (unless already) or report eof."""
        step = Step([])
        raw, ended, frames = self.leftover, False, 0
        self.leftover = None
        if raw is None and self.it is not None and (self.end is None or self.pos < self.end):
            try:
                raw = next(self.it)
            except StopIteration:
                ended = True
            except DecodeError as e:  # corrupt data mid-track: report, play what we have, then end
                ended, step.error = True, str(e)
            if ended:
                self.it = None
        while raw is not None and len(raw):
            room = len(raw) if self.end is None else max(0, self.end - self.pos)
            head, raw = raw[:room], raw[room:]
            self.pos += len(head)
            frames += self._emit(step, head)
            if not len(raw):
                break
            if step.next is None and nxt is not None and self._continues(nxt) and self._follow(nxt):
                step.mark, step.next = frames, nxt  # the index falls inside this block
                continue
            self.leftover = raw  # read past the track: kept until it is known what follows
            break
        done = self.it is None or (self.end is not None and self.pos >= self.end)
        if done and step.next is None:
            if self._follow(nxt):
                step.mark, step.next = frames, nxt
            else:
                step.eof = True
                if self.rs is not None:  # its last samples, then a fresh one should a next track come
                    self._emit(step, np.zeros((0, self.out[1]), np.float32), last=True)
                    self.rs = self._resampler()
        return step

    def _emit(self, step: Step, block: np.ndarray, last: bool = False) -> int:
        channels = self.out[1]
        if block.shape[1] != channels:
            block = np.repeat(block, channels, axis=1) if block.shape[1] == 1 else block.mean(axis=1, keepdims=True)
        if self.rs is not None:
            block = self.rs.resample_chunk(block, last=last)
        block = np.ascontiguousarray(block, dtype=np.float32)
        if len(block):
            step.blocks.append(block)
        return len(block)
