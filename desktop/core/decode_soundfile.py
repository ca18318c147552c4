"""The libsndfile backend (soundfile): wav, flac, aiff and the like; exact frame counts, sample-accurate seeks."""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np

from desktop.core.audio_source import TARGET_SR, AudioSource, Resampler, clean, resample_once, to_mono, to_stereo
from desktop.core.errors import DecodeError


class SoundFileSource(AudioSource):
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

        resample, got = Resampler(self.sample_rate), 0
        size = max(1024, int(block_seconds * self.sample_rate))
        try:
            self._seek(0)
            while True:
                block = self._f.read(size, dtype="float32", always_2d=True)
                got += len(block)
                last = len(block) < size
                out = resample(clean(to_mono(block)), last=last)
                if len(out):
                    yield out
                if last:
                    break
        except (sf.LibsndfileError, RuntimeError) as e:
            raise self._damaged(max(got, self._position()) / self.sample_rate, e) from e
        self._check_length(got / self.sample_rate)

    def read(self, start: float, seconds: float, rate: int = TARGET_SR) -> np.ndarray:
        import soundfile as sf

        first = min(max(0, int(start * self.sample_rate)), max(0, self.frames - 1))
        try:
            self._seek(first)
        except (sf.LibsndfileError, RuntimeError) as e:  # past where a cut file's data ends: a whole decode
            raise self._damaged(self._decodable_seconds(), e) from e  # says where that is (`first` would not)
        try:
            block = self._f.read(int(seconds * self.sample_rate), dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError) as e:
            raise self._damaged(max(first, self._f.tell()) / self.sample_rate, e) from e
        self._check_excerpt(first / self.sample_rate, seconds, len(block))
        return resample_once(clean(to_mono(block)), self.sample_rate, rate)

    def _native_blocks(self, start: float, block_frames: int) -> Iterator[np.ndarray]:
        import soundfile as sf

        try:
            self._f.seek(min(int(round(start * self.sample_rate)), self.frames))
            while True:
                block = self._f.read(block_frames, dtype="float32", always_2d=True)
                if len(block):
                    yield to_stereo(block)
                if len(block) < block_frames:
                    return
        except (sf.LibsndfileError, RuntimeError) as e:
            raise DecodeError(self.path, "corrupt data", str(e)) from e

    def _seek(self, frame: int) -> None:
        """Seek; a seek that failed before (past the end of a cut file) leaves libsndfile's handle unable
        to seek at all, so on failure the file is opened again and the seek tried once more."""
        import soundfile as sf

        try:
            self._f.seek(frame)
        except (sf.LibsndfileError, RuntimeError):
            self._f.close()
            self._f = sf.SoundFile(os.fsencode(self.path))
            self._f.seek(frame)

    def _position(self) -> int:
        """Frames read so far, or 0 where libsndfile cannot tell (its seek failed on a cut file)."""
        try:
            return self._f.tell()
        except (RuntimeError, OSError):
            return 0

    def close(self) -> None:
        self._f.close()
