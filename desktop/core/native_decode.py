"""Playback decoding: a file at its native rate, mono or stereo, from any start position.

Analysis wants 16 kHz mono (`decode.py`); the speakers want the recording as it is. This reads the
same open `AudioSource` objects, so one file opens the same way for both.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from desktop.core.decode import TARGET_SR, ArraySource, AudioSource, _clean, _PyAVSource, _SoundFileSource
from desktop.core.errors import DecodeError


def native_blocks(source: AudioSource, start: float = 0.0, block_frames: int = 16384) -> Iterator[np.ndarray]:
    """For playback: the track from `start` seconds as float32 blocks of shape (frames, channels).

    At the file's native rate (`source.sample_rate`; 16 kHz for an ArraySource), with 1 channel for mono
    files and 2 otherwise (surround is downmixed to stereo: by FFmpeg for PyAV, by averaging the
    even/odd channels for soundfile). The first sample is the one at `start` (exact for soundfile;
    PyAV seeks to the key frame before it and drops what precedes it). Not thread-safe with other
    reads of the same source: give the player its own `open_audio` source. No truncation check: a
    short file just ends. Raises DecodeError on corrupt data.
    """
    start = max(0.0, float(start))
    if source.duration > 0 and start >= source.duration:
        return
    if isinstance(source, _SoundFileSource):
        yield from _native_soundfile(source, start, block_frames)
    elif isinstance(source, _PyAVSource):
        yield from _native_pyav(source, start, block_frames)
    elif isinstance(source, ArraySource):
        first = int(start * TARGET_SR)
        for i in range(first, len(source.samples), block_frames):
            yield source.samples[i : i + block_frames, None]
    else:
        raise TypeError(f"native_blocks: unsupported source {type(source).__name__}")


def _to_stereo(block: np.ndarray) -> np.ndarray:
    """(frames, channels) -> (frames, 1 or 2) float32; more than 2 channels are folded even/odd."""
    if block.shape[1] <= 2:
        return _clean(block.astype(np.float32, copy=False))
    left = block[:, 0::2].mean(axis=1, dtype=np.float32)
    right = block[:, 1::2].mean(axis=1, dtype=np.float32)
    return _clean(np.stack([left, right], axis=1))


def _native_soundfile(src: _SoundFileSource, start: float, block_frames: int) -> Iterator[np.ndarray]:
    import soundfile as sf

    try:
        src._f.seek(min(int(round(start * src.sample_rate)), src.frames))
        while True:
            block = src._f.read(block_frames, dtype="float32", always_2d=True)
            if len(block):
                yield _to_stereo(block)
            if len(block) < block_frames:
                return
    except (sf.LibsndfileError, RuntimeError) as e:
        raise DecodeError(src.path, "corrupt data", str(e)) from e


def _native_pyav(src: _PyAVSource, start: float, block_frames: int) -> Iterator[np.ndarray]:
    import av

    if start > 0:
        src._c.seek(int(start / src._s.time_base), stream=src._s, backward=True, any_frame=False)
    elif src._started:
        src._c.seek(0, stream=src._s)
    src._started = True
    ch = 1 if src.channels == 1 else 2
    resampler = av.AudioResampler(
        format="flt", layout="mono" if ch == 1 else "stereo", rate=src.sample_rate, frame_size=block_frames
    )
    skip = -1  # frames to drop before `start`, known from the first decoded frame's timestamp

    def convert(frame) -> np.ndarray:
        nonlocal skip
        out = frame.to_ndarray().reshape(-1, ch)
        if skip > 0:
            out, skip = out[skip:], max(0, skip - len(out))
        return _clean(out.astype(np.float32, copy=False))

    try:
        for frame in src._c.decode(src._s):
            if skip < 0:
                t = float(frame.pts * frame.time_base) if frame.pts is not None else start
                skip = max(0, int(round((start - t) * src.sample_rate)))
            for out in resampler.resample(frame):
                block = convert(out)
                if len(block):
                    yield block
        for out in resampler.resample(None):
            block = convert(out)
            if len(block):
                yield block
    except av.error.FFmpegError as e:
        raise DecodeError(src.path, "corrupt data", str(e)) from e
