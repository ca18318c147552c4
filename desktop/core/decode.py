"""Streamed decode of any audio file to mono float32 at 16 kHz.

Why streamed: a one-hour file is 230 MB as 16 kHz floats and far more at its native rate; every
consumer (embedders, waveform, playback) reads blocks or excerpts instead.

Two decoders behind one `AudioSource` interface: soundfile (libsndfile: wav, flac, aiff; exact,
cheap seeks) and PyAV (FFmpeg: compressed formats, notably m4a/AAC/ALAC, and ~3x faster on Vorbis);
each is the other's fallback. Both mix down to the channel average and resample with soxr, so one file
gives the same signal whichever decoder opened it (a test checks this). Every failure is a
`DecodeError` naming the file and the cause.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator

import numpy as np
import soxr

from desktop.core.errors import DecodeError
from desktop.core.formats import soundfile_first

TARGET_SR = 16000
# A file whose decoded length falls this far short of what its header promises is truncated.
TRUNCATION_TOLERANCE = 0.9


def _mono(block: np.ndarray) -> np.ndarray:
    """(frames, channels) -> (frames,), averaging channels (not power-preserving: keeps mono == mono)."""
    if block.ndim == 1:
        return block.astype(np.float32, copy=False)
    if block.shape[1] == 1:
        return block[:, 0].astype(np.float32, copy=False)
    return block.mean(axis=1, dtype=np.float32)


def _clean(x: np.ndarray) -> np.ndarray:
    """Replace NaN/inf (broken float files) with silence so nothing downstream sees them."""
    if not np.isfinite(x).all():
        x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    return x


def _stereo(block: np.ndarray) -> np.ndarray:
    """(frames, channels) -> (frames, 1 or 2) float32; more than 2 channels are folded even/odd."""
    if block.shape[1] <= 2:
        return _clean(block.astype(np.float32, copy=False))
    left = block[:, 0::2].mean(axis=1, dtype=np.float32)
    right = block[:, 1::2].mean(axis=1, dtype=np.float32)
    return _clean(np.stack([left, right], axis=1))


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

    def __enter__(self) -> AudioSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class ArraySource(AudioSource):
    """An in-memory 16 kHz mono signal behind the same interface (tests, already-decoded audio)."""

    def __init__(self, samples: np.ndarray, path: str = "<array>"):
        self.samples = _clean(np.asarray(samples, dtype=np.float32).reshape(-1))
        self.path, self.sample_rate, self.channels, self.decoder = path, TARGET_SR, 1, "array"
        self.duration = len(self.samples) / TARGET_SR

    def blocks(self, block_seconds: float = 10.0) -> Iterator[np.ndarray]:
        step = max(1, int(block_seconds * TARGET_SR))
        for i in range(0, len(self.samples), step):
            yield self.samples[i : i + step]

    def read(self, start: float, seconds: float, rate: int = TARGET_SR) -> np.ndarray:
        a = max(0, int(start * TARGET_SR))
        return _resample_once(self.samples[a : a + int(seconds * TARGET_SR)], TARGET_SR, rate)

    def _native_blocks(self, start: float, block_frames: int) -> Iterator[np.ndarray]:
        for i in range(int(start * TARGET_SR), len(self.samples), block_frames):
            yield self.samples[i : i + block_frames, None]


class _Resampler:
    """Native-rate mono blocks in, 16 kHz blocks out (soxr keeps filter state across blocks)."""

    def __init__(self, rate: int):
        self.stream = None if rate == TARGET_SR else soxr.ResampleStream(rate, TARGET_SR, 1, dtype="float32")

    def __call__(self, mono: np.ndarray, last: bool = False) -> np.ndarray:
        if self.stream is None:
            return mono
        return self.stream.resample_chunk(mono, last=last)


def _resample_once(mono: np.ndarray, rate: int, to: int = TARGET_SR) -> np.ndarray:
    if rate == to or len(mono) == 0:
        return mono
    return soxr.resample(mono, rate, to).astype(np.float32, copy=False)


class _SoundFileSource(AudioSource):
    decoder = "soundfile"

    def __init__(self, path: str):
        import soundfile as sf

        self.path, self.decoder = path, "soundfile"
        self._f = sf.SoundFile(os.fsencode(path))  # bytes: a name that is not UTF-8 opens too
        self.sample_rate, self.channels = self._f.samplerate, self._f.channels
        self.frames = self._f.frames
        self.duration = self.frames / self.sample_rate if self.sample_rate else 0.0

    def blocks(self, block_seconds: float = 10.0) -> Iterator[np.ndarray]:
        import soundfile as sf

        self._f.seek(0)
        resample, got = _Resampler(self.sample_rate), 0
        size = max(1024, int(block_seconds * self.sample_rate))
        try:
            while True:
                block = self._f.read(size, dtype="float32", always_2d=True)
                got += len(block)
                last = len(block) < size
                out = resample(_clean(_mono(block)), last=last)
                if len(out):
                    yield out
                if last:
                    break
        except (sf.LibsndfileError, RuntimeError) as e:
            raise _damaged(self.path, max(got, self._f.tell()) / self.sample_rate, e) from e
        _check_length(self.path, got / self.sample_rate, self.duration)

    def read(self, start: float, seconds: float, rate: int = TARGET_SR) -> np.ndarray:
        import soundfile as sf

        first = min(max(0, int(start * self.sample_rate)), max(0, self.frames - 1))
        try:
            self._f.seek(first)
            block = self._f.read(int(seconds * self.sample_rate), dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError) as e:
            raise _damaged(self.path, max(first, self._f.tell()) / self.sample_rate, e) from e
        _check_excerpt(self, first / self.sample_rate, seconds, len(block))
        return _resample_once(_clean(_mono(block)), self.sample_rate, rate)

    def _native_blocks(self, start: float, block_frames: int) -> Iterator[np.ndarray]:
        import soundfile as sf

        try:
            self._f.seek(min(int(round(start * self.sample_rate)), self.frames))
            while True:
                block = self._f.read(block_frames, dtype="float32", always_2d=True)
                if len(block):
                    yield _stereo(block)
                if len(block) < block_frames:
                    return
        except (sf.LibsndfileError, RuntimeError) as e:
            raise DecodeError(self.path, "corrupt data", str(e)) from e

    def close(self) -> None:
        self._f.close()


class _PyAVSource(AudioSource):
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
        self._started = False

    def _seek(self, start: float) -> None:
        """To the key frame at or before `start` (the decoder then starts there: callers drop what
        precedes `start`, `_samples_before` says how much)."""
        if start > 0:
            self._c.seek(int(start / self._s.time_base), stream=self._s, backward=True, any_frame=False)
        elif self._started:
            self._c.seek(0, stream=self._s)
        self._started = True

    def _samples_before(self, start: float, t: float) -> int:
        """Native samples between a decoded frame's time `t` and `start` (what to drop)."""
        return max(0, int(round((start - t) * self.sample_rate)))

    def _frames(self, start: float = 0.0) -> Iterator[tuple[float, np.ndarray]]:
        """(start time, native-rate mono samples) in chunks of ~64k samples, from the frame holding `start`.

        FFmpeg's resampler does the format conversion, batching and (for mono/stereo) the mix-down in
        C: 2-3x faster than converting each small codec frame in numpy. Its stereo->mono is
        (L+R)/sqrt(2); we rescale to (L+R)/2 so both decoders give the same signal. Other layouts
        are averaged in numpy like the soundfile path.
        """
        import av

        self._seek(start)
        fast = self.channels <= 2
        layout = "mono" if fast else None
        resampler = av.AudioResampler(format="flt", layout=layout, rate=self.sample_rate, frame_size=65536)
        gain = np.float32(0.5 * np.sqrt(2.0)) if self.channels == 2 else np.float32(1.0)
        t, done = -1.0, 0
        try:
            for frame in self._c.decode(self._s):
                done += frame.samples
                if t < 0 and frame.pts is not None:
                    t = float(frame.pts * frame.time_base)
                for out in resampler.resample(frame):
                    yield t, self._mono_of(out, fast, gain)
                    t = -2.0  # later chunks: position only matters for the first one
            for out in resampler.resample(None):
                yield t, self._mono_of(out, fast, gain)
        except av.error.FFmpegError as e:
            at = start + done / self.sample_rate
            if self.duration and at >= self.duration * TRUNCATION_TOLERANCE:
                return  # a bad last packet (seen in real Ogg files): the music itself is all there
            raise _damaged(self.path, at, e) from e

    def _mono_of(self, frame, fast: bool, gain: np.float32) -> np.ndarray:
        arr = frame.to_ndarray()
        if fast:
            mono = arr[0] * gain if gain != 1.0 else arr[0]
        else:
            mono = _mono(arr.reshape(-1, self.channels))
        return _clean(mono.astype(np.float32, copy=False))

    def blocks(self, block_seconds: float = 10.0) -> Iterator[np.ndarray]:
        resample, pending, got = _Resampler(self.sample_rate), [], 0
        want, have = int(block_seconds * self.sample_rate), 0
        for _, mono in self._frames():
            pending.append(mono)
            have += len(mono)
            got += len(mono)
            if have >= want:
                yield resample(np.concatenate(pending))
                pending, have = [], 0
        tail = resample(np.concatenate(pending) if pending else np.zeros(0, np.float32), last=True)
        if len(tail):
            yield tail
        _check_length(self.path, got / self.sample_rate, self.duration)

    def read(self, start: float, seconds: float, rate: int = TARGET_SR) -> np.ndarray:
        start = min(max(0.0, start), max(0.0, self.duration - 0.01))
        need = int(seconds * self.sample_rate)
        parts, have = [], 0
        for t, mono in self._frames(start):
            if 0 <= t < start:  # the key frame before `start`: drop what precedes it
                mono = mono[self._samples_before(start, t):]
            parts.append(mono)
            have += len(mono)
            if have >= need:
                break
        native = np.concatenate(parts)[:need] if parts else np.zeros(0, np.float32)
        _check_excerpt(self, start, seconds, len(native))
        return _resample_once(native, self.sample_rate, rate)

    def _native_blocks(self, start: float, block_frames: int) -> Iterator[np.ndarray]:
        import av

        self._seek(start)
        ch = 1 if self.channels == 1 else 2
        resampler = av.AudioResampler(format="flt", layout="mono" if ch == 1 else "stereo", rate=self.sample_rate,
                                      frame_size=block_frames)
        skip = -1  # frames to drop before `start`, known from the first decoded frame's timestamp

        def convert(frame) -> np.ndarray:
            nonlocal skip
            out = frame.to_ndarray().reshape(-1, ch)
            if skip > 0:
                out, skip = out[skip:], max(0, skip - len(out))
            return _clean(out.astype(np.float32, copy=False))

        try:
            for frame in self._c.decode(self._s):
                if skip < 0:
                    skip = self._samples_before(start, float(frame.pts * frame.time_base) if frame.pts is not None
                                                else start)
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


def _damaged(path: str, at: float, error: Exception) -> DecodeError:
    """A decoder error: at the very start the data is corrupt; later on, the file ends early or is damaged."""
    if at >= 0.5:
        return DecodeError(path, "truncated or damaged", f"cannot decode past {at:.1f} s: {error}", playable=at)
    return DecodeError(path, "corrupt data", str(error))


def _check_excerpt(src: AudioSource, start: float, seconds: float, got_frames: int) -> None:
    """An excerpt inside the declared length that comes back short means the file ends early."""
    expected = min(seconds, src.duration - start)
    if expected > 1.0 and got_frames / src.sample_rate < expected * TRUNCATION_TOLERANCE:
        decoded = start + got_frames / src.sample_rate
        raise DecodeError(src.path, "truncated", f"audio ends at {decoded:.1f} s of {src.duration:.1f} s",
                          playable=decoded)


def _check_length(path: str, decoded: float, declared: float) -> None:
    if declared > 1.0 and decoded < declared * TRUNCATION_TOLERANCE:
        raise DecodeError(path, "truncated", f"decoded {decoded:.1f} s of {declared:.1f} s", playable=decoded)


# Uncompressed and FLAC files: libsndfile first (exact frame counts, sample-accurate seeks).
# Everything else: PyAV first. Decoding Ogg Vorbis measured ~1,100x realtime with PyAV against ~390x
# with libsndfile on one core here, and libsndfile cannot read m4a/AAC/ALAC at all.
# Which formats go to libsndfile first is in the formats table (desktop/data/formats.json).


def _open_track_range(path: str) -> AudioSource | None:
    # Imported here: ranged.py builds on this module (RangedSource wraps what open_audio returns).
    from desktop.core.cue import split_track_path
    from desktop.core.ranged import RangedSource

    parts = split_track_path(path)
    if parts is None:
        return None
    source = open_audio(parts[0])
    return RangedSource(source, parts[1], parts[2], path=path)


def open_audio(path: str | os.PathLike) -> AudioSource:
    """Open `path` with the first decoder that recognises it; raise DecodeError with the cause otherwise."""
    path = os.fspath(path)
    if "#t=" in path:  # a CUE track: a time range of its album file (see cue.py)
        ranged = _open_track_range(path)
        if ranged is not None:
            return ranged
    try:
        st = os.stat(path)
    except FileNotFoundError as e:
        raise DecodeError(path, "file not found", "it was moved or deleted") from e
    except OSError as e:
        raise DecodeError(path, "cannot read file", e.strerror or str(e)) from e
    if not stat.S_ISREG(st.st_mode):
        raise DecodeError(path, "not a regular file", "a device, pipe or socket, not an audio file")
    if st.st_size == 0:
        raise DecodeError(path, "empty file", "0 bytes")
    if not os.access(path, os.R_OK):
        raise DecodeError(path, "permission denied", "the file is not readable by this user")
    errors = []
    ext = os.path.splitext(path)[1].lower()
    # libsndfile only for its own formats: for anything else FFmpeg already tried harder, and libsndfile's
    # mp3 reader (mpg123) writes "Illegal Audio-MPEG-Header" notes straight onto the terminal.
    openers = [_SoundFileSource, _PyAVSource] if ext in soundfile_first() else [_PyAVSource]
    for opener in openers:
        try:
            src = opener(path)
        except DecodeError:
            raise
        except Exception as e:  # each library has its own error types; we only need the message
            errors.append(f"{opener.decoder}: {e}")
            continue
        if src.duration <= 0 and src.decoder == "soundfile":
            src.close()
            errors.append("soundfile: no audio frames")
            continue
        return src
    if any("Permission denied" in e for e in errors):
        raise DecodeError(path, "permission denied", "the file is not readable by this user")
    raise DecodeError(path, "not an audio file or unsupported format", _plain_reason(errors))


def _plain_reason(errors: list[str]) -> str:
    """One reason a person can read, instead of each backend's raw message ("possibly a pipe?")."""
    text = " ".join(errors).lower()
    if "invalid data" in text or "format not recognised" in text or "unknown format" in text:
        return "its contents are not a sound format Soundalike reads"
    return "no decoder recognises its contents"
