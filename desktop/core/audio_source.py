"""The `AudioSource` interface every decoder backend implements, and the signal helpers they share.

One file gives the same signal whichever backend opened it (a test checks this) because both mix down
with `to_mono` and resample with soxr here; `_damaged`/`_check_*` turn a short or broken decode into a
`DecodeError` naming the file and the cause. The backends are decode_soundfile.py and decode_pyav.py;
decode.py picks one (`open_audio`).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import soxr

from desktop.core.errors import DecodeError

TARGET_SR = 16000
# A file whose decoded length falls this far short of what its header promises is truncated.
TRUNCATION_TOLERANCE = 0.9



def to_mono(block: np.ndarray) -> np.ndarray:
    """(frames, channels) -> (frames,), averaging channels (not power-preserving: keeps mono == mono)."""
    if block.ndim == 1:
        return block.astype(np.float32, copy=False)
    if block.shape[1] == 1:
        return block[:, 0].astype(np.float32, copy=False)
    return block.mean(axis=1, dtype=np.float32)


def clean(x: np.ndarray) -> np.ndarray:
    """Replace NaN/inf (broken float files) with silence so nothing downstream sees them."""
    if not np.isfinite(x).all():
        x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    return x


def to_stereo(block: np.ndarray) -> np.ndarray:
    """(frames, channels) -> (frames, 1 or 2) float32; more than 2 channels are folded even/odd."""
    if block.shape[1] <= 2:
        return clean(block.astype(np.float32, copy=False))
    left = block[:, 0::2].mean(axis=1, dtype=np.float32)
    right = block[:, 1::2].mean(axis=1, dtype=np.float32)
    return clean(np.stack([left, right], axis=1))


class AudioSource:
    """An open audio file, for analysis (whole-track blocks and excerpts, 16 kHz mono) and for playback
    (`native_blocks`: the native rate, mono or stereo, from any position)."""

    path: str
    sample_rate: int  # native rate
    channels: int
    duration: float  # seconds, from the header (may be approximate for mp3)
    decoder: str

    def blocks(self, block_seconds: float = 10.0) -> Iterator[np.ndarray]:
        """The whole track in order, as 16 kHz mono float32 blocks of about `block_seconds`."""
        raise NotImplementedError

    def read(self, start: float, seconds: float, rate: int = TARGET_SR) -> np.ndarray:
        """An excerpt of `seconds` from `start` (clamped to the track), mono float32 at `rate` (16 kHz;
        a model trained at another rate, e.g. CLAP at 48 kHz, asks for its own)."""
        raise NotImplementedError

    def native_blocks(self, start: float = 0.0, block_frames: int = 16384) -> Iterator[np.ndarray]:
        """For playback: float32 (frames, channels) blocks from `start` seconds, at the native rate, 1 channel
        for mono files and 2 otherwise (surround folded to stereo). The first sample is the one at `start`.
        Not thread-safe with other reads of this source (the player opens its own); a short file just
        ends (no truncation check); corrupt data raises DecodeError."""
        start = max(0.0, float(start))
        if self.duration > 0 and start >= self.duration:
            return
        yield from self._native_blocks(start, block_frames)

    def _native_blocks(self, start: float, block_frames: int) -> Iterator[np.ndarray]:
        raise NotImplementedError(f"{type(self).__name__} cannot play")

    def read_all(self) -> np.ndarray:
        """The whole track in memory: only for short clips (tests, dropped files under a few minutes)."""
        parts = list(self.blocks())
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)

    def close(self) -> None:
        pass

    # -- for the backends: a short or broken decode as a DecodeError naming the file ---------------------
    def _damaged(self, at: float, error: Exception) -> DecodeError:
        """A decoder error: at the very start the data is corrupt; later on, the file ends early or is damaged."""
        if at >= 0.5:
            return DecodeError(self.path, "truncated or damaged", f"cannot decode past {at:.1f} s: {error}",
                               playable=at)
        return DecodeError(self.path, "corrupt data", str(error))

    def _check_excerpt(self, start: float, seconds: float, got_frames: int) -> None:
        """An excerpt inside the declared length that comes back short means the file ends early."""
        expected = min(seconds, self.duration - start)
        if expected > 1.0 and got_frames / self.sample_rate < expected * TRUNCATION_TOLERANCE:
            # Nothing at `start`: the seek went past where the data ends, which only a whole decode can tell
            # (rare: damaged files only). Saying `start` would send the damaged-file path past the end again.
            decoded = start + got_frames / self.sample_rate if got_frames else self._decodable_seconds()
            raise DecodeError(self.path, "truncated", f"audio ends at {decoded:.1f} s of {self.duration:.1f} s",
                              playable=decoded)

    def _decodable_seconds(self) -> float:
        """How far a whole decode from the start gets, in seconds."""
        got = 0
        try:
            for block in self.blocks():
                got += len(block)
        except DecodeError as e:
            return e.playable if e.playable is not None else got / TARGET_SR
        return got / TARGET_SR

    def _check_length(self, decoded: float) -> None:
        """The whole track decoded to `decoded` seconds: far short of the header's length is a truncated file."""
        if self.duration > 1.0 and decoded < self.duration * TRUNCATION_TOLERANCE:
            raise DecodeError(self.path, "truncated", f"decoded {decoded:.1f} s of {self.duration:.1f} s",
                              playable=decoded)

    def __enter__(self) -> AudioSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class ArraySource(AudioSource):
    """An in-memory 16 kHz mono signal behind the same interface (tests, already-decoded audio)."""

    def __init__(self, samples: np.ndarray, path: str = "<array>"):
        self.samples = clean(np.asarray(samples, dtype=np.float32).reshape(-1))
        self.path, self.sample_rate, self.channels, self.decoder = path, TARGET_SR, 1, "array"
        self.duration = len(self.samples) / TARGET_SR

    def blocks(self, block_seconds: float = 10.0) -> Iterator[np.ndarray]:
        step = max(1, int(block_seconds * TARGET_SR))
        for i in range(0, len(self.samples), step):
            yield self.samples[i : i + step]

    def read(self, start: float, seconds: float, rate: int = TARGET_SR) -> np.ndarray:
        a = max(0, int(start * TARGET_SR))
        return resample_once(self.samples[a : a + int(seconds * TARGET_SR)], TARGET_SR, rate)

    def _native_blocks(self, start: float, block_frames: int) -> Iterator[np.ndarray]:
        for i in range(int(start * TARGET_SR), len(self.samples), block_frames):
            yield self.samples[i : i + block_frames, None]


class Resampler:
    """Native-rate mono blocks in, 16 kHz blocks out (soxr keeps filter state across blocks)."""

    def __init__(self, rate: int):
        self.stream = None if rate == TARGET_SR else soxr.ResampleStream(rate, TARGET_SR, 1, dtype="float32")

    def __call__(self, mono: np.ndarray, last: bool = False) -> np.ndarray:
        if self.stream is None:
            return mono
        return self.stream.resample_chunk(mono, last=last)


def resample_once(mono: np.ndarray, rate: int, to: int = TARGET_SR) -> np.ndarray:
    if rate == to or len(mono) == 0:
        return mono
    return soxr.resample(mono, rate, to).astype(np.float32, copy=False)
