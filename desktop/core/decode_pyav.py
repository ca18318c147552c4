"""The FFmpeg backend (PyAV): compressed formats (m4a/AAC/ALAC, mp3, Opus, ...), ~3x faster than
libsndfile on Vorbis. Seeks land on a key frame before the asked time; `_decode_from` says how much to drop."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np

from desktop.core.audio_source import TARGET_SR, TRUNCATION_TOLERANCE, AudioSource, Resampler, clean, resample_once
from desktop.core.errors import DecodeError


class PyAVSource(AudioSource):
    decoder = "pyav"

    def __init__(self, path: str):
        import av

        self.path, self.decoder = path, "pyav"
        self._c = av.open(path, metadata_errors="ignore")
        if not self._c.streams.audio:
            self._c.close()
            raise DecodeError(path, "no audio stream", "the file holds no audio track")
        self._s = self._c.streams.audio[0]
        self._s.thread_type = "AUTO"
        self.sample_rate = self._s.codec_context.sample_rate or self._s.rate or 0
        self.channels = self._s.codec_context.channels or 1
        if self._s.duration is not None and self._s.time_base is not None:
            self.duration = float(self._s.duration * self._s.time_base)
        elif self._c.duration:
            self.duration = self._c.duration / 1_000_000
        else:
            self.duration = 0.0
        if not self.sample_rate:
            self._c.close()
            raise DecodeError(path, "not audio", "no sample rate in the audio stream")
        # Seconds of the stream's first sample (an MP3's encoder delay is skipped, so its first frame is late)
        self._origin = float(self._s.start_time * self._s.time_base) if self._s.start_time else 0.0
        self._started = False

    def _reopen(self) -> None:
        import av

        self._c.close()
        self._c = av.open(self.path, metadata_errors="ignore")
        self._s = self._c.streams.audio[0]
        self._s.thread_type = "AUTO"
        self._started = False

    def _decode_from(self, start: float) -> tuple[list, Iterator, int]:
        """(the first decoded frames, the decoder's later frames, how many samples of them precede `start`),
        `start` in seconds from the first sample (> 0).

        Decoding starts at least PREROLL before `start`: lossy decoders need the lead-in to converge (Opus
        asks for 80 ms, MP3's bit reservoir and AAC's overlapping frames give wrong samples right after a
        seek). Positions come from the timestamp of a frame ANCHOR seconds on, not the first one: after a
        seek FFmpeg can date a whole Ogg page of Vorbis 448 samples (10 ms) wrong, since the first packet's
        length depends on the packet before it, which it skipped. A seek that lands after `start` (an
        inexact index) is retried further back, and finally from the beginning."""
        tb, rate, back = self._s.time_base, self.sample_rate, PREROLL
        while True:
            at = max(0.0, start - back)
            if at > 0:
                self._c.seek(int((self._origin + at) / tb), stream=self._s, backward=True, any_frame=False)
            else:
                self._c.seek(self._s.start_time or 0, stream=self._s)
            self._started = True
            frames = self._c.decode(self._s)
            held, got = [], 0
            for frame in frames:
                held.append(frame)
                got += frame.samples
                if got >= ANCHOR * rate and frame.pts is not None:
                    break
            if not held or held[-1].pts is None:
                return held, frames, 0  # no timestamps: the seek's own position
            first = (float(held[-1].pts * tb) - self._origin) * rate - (got - held[-1].samples)
            skip = int(round(start * rate - first))
            if skip >= 0 or at == 0:
                return held, frames, max(0, skip)
            back *= 16

    def _frames(self, start: float) -> tuple[Iterator, int]:
        """The decoder's frames from `start` on, and how many samples of them precede `start` (to drop):
        one way in for analysis and playback, so both land on the same sample."""
        if start > 0:
            held, frames, skip = self._decode_from(start)
            return itertools.chain(held, frames), skip
        if self._started:  # from the top again: reopened, since after a seek back to 0 an Opus
            self._reopen()  # decoder no longer drops the encoder's priming (312 samples)
        self._started = True
        return self._c.decode(self._s), 0

    def _planes(self, start: float = 0.0) -> Iterator[tuple[np.ndarray, ...]]:
        """Each decoded frame from `start` as float32 arrays, one per channel: views of the frame's own
        memory where it is already planar float (Vorbis, Opus, AAC, MP3), so nothing is copied here.

        Why not FFmpeg's resampler: PyAV runs it as a filter graph, one call per codec frame (~700
        samples for Vorbis), and converting its output cost more than decoding (bench/README.md,
        "Decode"). Positions count from the stream's first sample (an MP3's starts after the encoder's
        delay), so an excerpt holds the samples a whole decode holds at that time; samples before
        `start` are dropped here, across frames. An error near the end (a bad last packet, seen in real
        Ogg files) ends the track.
        """
        import av

        done, fltp = 0, None
        try:
            frames, skip = self._frames(start)
            for frame in frames:
                n = frame.samples
                done += n
                if skip >= n:
                    skip -= n
                    continue
                if fltp is None:  # the frames' format, checked once: planar float needs no conversion
                    fltp = frame.format.name == "fltp"
                if fltp and not skip:
                    yield tuple(np.frombuffer(plane, np.float32, n) for plane in frame.planes)
                else:
                    yield _float_planes(frame, skip, n - skip)
                skip = 0
        except av.error.FFmpegError as e:
            at = start + done / self.sample_rate
            if self.duration and at >= self.duration * TRUNCATION_TOLERANCE:
                return
            raise self._damaged(at, e) from e

    def _mono_into(self, buf: np.ndarray, start: float) -> Iterator[int]:
        """Fill `buf` with the channel average from `start`, yielding how many samples it holds each time
        it is full (then refilled from 0) and once at the end (the rest). The sum is scaled once per
        buffer, not per frame; NaN/inf become silence."""
        size, have, channels = len(buf), 0, self.channels
        for planes in self._planes(start):
            n, at, channels = len(planes[0]), 0, len(planes)
            if have + n < size and channels == 2:  # the usual frame: stereo, and it fits
                np.add(planes[0], planes[1], out=buf[have : have + n])
                have += n
                continue
            while at < n:
                m = min(n - at, size - have)
                _sum_into(buf[have : have + m], planes, at, m)
                have, at = have + m, at + m
                if have == size:
                    _finish_mix(buf, channels)
                    yield have
                    have = 0
        _finish_mix(buf[:have], channels)
        yield have

    def blocks(self, block_seconds: float = 10.0) -> Iterator[np.ndarray]:
        resample, got = Resampler(self.sample_rate), 0
        # Blocks are cut as this decoder always cut them, so the vectors of libraries indexed before stay
        # the same (the spectral embedder's parts follow the blocks): whole 64k-sample chunks (a 15 s block
        # of 44.1 kHz audio is 16.3 s), and a last block of at least `block_seconds` comes out before the
        # resampler's flush, which is then a block of its own.
        want = max(1024, int(block_seconds * self.sample_rate))
        buf = np.empty(-(-want // _CHUNK) * _CHUNK, np.float32)
        for have in self._mono_into(buf, 0.0):
            got += have
            last = have < len(buf)
            if last and have >= want:
                outs = [resample(buf[:have]), resample(buf[:0], last=True)]
            else:
                outs = [resample(buf[:have], last=last)]  # soxr copies: `buf` is refilled next
            yield from (out for out in outs if len(out))
        self._check_length(got / self.sample_rate)

    def read(self, start: float, seconds: float, rate: int = TARGET_SR) -> np.ndarray:
        start = min(max(0.0, start), max(0.0, self.duration - 0.01))
        buf = np.empty(max(0, int(seconds * self.sample_rate)), np.float32)
        have = next(self._mono_into(buf, start), 0) if len(buf) else 0
        self._check_excerpt(start, seconds, have)
        return resample_once(buf[:have], self.sample_rate, rate)

    def _native_blocks(self, start: float, block_frames: int) -> Iterator[np.ndarray]:
        """FFmpeg's resampler folds the channels to stereo here (a few calls a second at playback speed,
        so its per-frame cost does not matter); the first sample is the one `read` and `blocks` put at
        `start`."""
        import av

        ch = 1 if self.channels == 1 else 2
        resampler = av.AudioResampler(format="flt", layout="mono" if ch == 1 else "stereo", rate=self.sample_rate,
                                      frame_size=block_frames)
        skip = 0

        def convert(frame) -> np.ndarray:
            nonlocal skip
            out = frame.to_ndarray().reshape(-1, ch)
            if skip > 0:
                out, skip = out[skip:], max(0, skip - len(out))
            return clean(out.astype(np.float32, copy=False))

        try:
            frames, skip = self._frames(start)
            for frame in frames:
                for out in resampler.resample(frame):
                    if len(block := convert(out)):
                        yield block
            for out in resampler.resample(None):
                if len(block := convert(out)):
                    yield block
        except av.error.FFmpegError as e:
            raise DecodeError(self.path, "corrupt data", str(e)) from e

    def close(self) -> None:
        self._c.close()


_CHUNK = 65536  # native samples
# Seconds decoded (and dropped) before an excerpt, for lossy decoders to converge after a seek: Opus asks
# for 80 ms (RFC 7845), an MP3 frame's bit reservoir reaches back ~4 frames (~100 ms at 44.1 kHz).
PREROLL = 0.1
# Seconds decoded after a seek before positions are taken from a frame's timestamp: past the first Ogg page.
ANCHOR = 1.0

# Integer sample formats as FFmpeg's converter scales them to float (libswresample: x / 2^(bits-1)).
_INT_SCALE = {"u8": 1 / 128, "s16": 1 / 32768, "s32": 1 / 2**31, "s64": 1 / 2**63}


def _float_planes(frame, first: int, count: int) -> tuple[np.ndarray, ...]:
    """Samples first..first+count of each channel of `frame` as float32 (views where it is planar float)."""
    fmt = frame.format
    name = fmt.name.rstrip("p")
    if name == "flt" and fmt.is_planar:
        return tuple(np.frombuffer(plane, np.float32, count, 4 * first) for plane in frame.planes)
    arr = frame.to_ndarray()  # planar: (channels, n); packed: (1, n * channels)
    if not fmt.is_planar:
        arr = arr.reshape(-1, len(frame.layout.channels)).T
    arr = arr[:, first : first + count]
    if name in _INT_SCALE:
        offset = 128 if name == "u8" else 0
        arr = (arr.astype(np.float64 if name in ("s32", "s64") else np.float32) - offset) * _INT_SCALE[name]
    return tuple(arr.astype(np.float32, copy=False))


def _sum_into(out: np.ndarray, planes: tuple[np.ndarray, ...], at: int, count: int) -> None:
    """out = the sum of the channels' samples at..at+count (scaled to their mean by `_finish_mix`)."""
    if len(planes) == 1:
        out[:] = planes[0][at : at + count]
        return
    np.add(planes[0][at : at + count], planes[1][at : at + count], out=out)
    for plane in planes[2:]:
        out += plane[at : at + count]


def _finish_mix(buf: np.ndarray, channels: int) -> None:
    """The channel sum becomes their average, in place; NaN/inf (broken float files) become silence."""
    if channels > 1:
        buf *= np.float32(1.0 / channels)
    if not np.isfinite(buf).all():
        np.nan_to_num(buf, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
