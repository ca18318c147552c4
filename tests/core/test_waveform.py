"""Waveform peaks: streamed, cached on disk, errors passed on."""

from __future__ import annotations

import os

import numpy as np
import pytest
import soundfile as sf

from desktop.core.errors import DecodeError
from desktop.core.waveform import compute_peaks, peaks

SR = 22050


def quiet_then_loud(path, seconds: float = 8.0, sr: int = SR) -> str:
    n = int(seconds * sr)
    t = np.arange(n) / sr
    x = 0.8 * np.sin(2 * np.pi * 220 * t)
    x[: n // 2] *= 0.005  # near silence, then loud
    sf.write(path, np.stack([x, x], axis=1).astype(np.float32), sr)
    return str(path)


# --- waveform ------------------------------------------------------------------------------------------


def test_peaks_follow_the_loudness(tmp_path):
    p = peaks(quiet_then_loud(tmp_path / "q.flac"), points=200)
    assert p.shape == (200, 2) and p.dtype == np.float32
    assert (p[:, 0] <= p[:, 1]).all() and p.min() >= -1 and p.max() <= 1
    assert np.abs(p[:95]).max() < 0.01  # the quiet half
    assert (p[105:, 1] > 0.7).all() and (p[105:, 0] < -0.7).all()  # the loud half


def test_peaks_cache_hit_and_invalidation(tmp_path):
    audio = quiet_then_loud(tmp_path / "c.wav")
    cache = tmp_path / "cache"
    first = peaks(audio, points=100, cache_dir=cache)
    entries = list(cache.glob("*.npz"))
    assert len(entries) == 1
    np.testing.assert_array_equal(first, compute_peaks(audio, points=100))

    # Prove the second call reads the cache: plant a marker under the same stamp.
    with np.load(entries[0]) as z:
        stamp = z["stamp"]
    marker = np.full((100, 2), 0.123, np.float32)
    np.savez(entries[0], stamp=stamp, peaks=marker)
    np.testing.assert_array_equal(peaks(audio, points=100, cache_dir=cache), marker)

    # Another resolution is another entry.
    assert peaks(audio, points=50, cache_dir=cache).shape == (50, 2)
    assert len(list(cache.glob("*.npz"))) == 2

    # A changed file (new content, new mtime) is recomputed and its entry overwritten.
    st = os.stat(audio)
    sf.write(audio, np.full((SR, 2), 0.5, np.float32), SR)
    os.utime(audio, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    again = peaks(audio, points=100, cache_dir=cache)
    assert not np.array_equal(again, marker)
    np.testing.assert_allclose(again[2:-2], 0.5, atol=1e-3)  # (the resampler rings at the edges)
    assert len(list(cache.glob("*.npz"))) == 2

    # A damaged entry is recomputed, never an error.
    entries[0].write_bytes(b"garbage")
    np.testing.assert_array_equal(peaks(audio, points=100, cache_dir=cache), again)


def test_peaks_streaming_matches_whole_file(tmp_path):
    """Many resolution halvings (60 s, few points) still give the same envelope as a one-shot pass."""
    sr = 16000
    t = np.arange(60 * sr) / sr
    env = np.linspace(0.05, 0.95, len(t))
    x = (env * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    path = tmp_path / "long.wav"
    sf.write(path, x, sr, subtype="FLOAT")
    got = peaks(path, points=10)
    whole = x.reshape(10, -1)
    np.testing.assert_allclose(got[:, 1], whole.max(axis=1), atol=0.02)
    np.testing.assert_allclose(got[:, 0], whole.min(axis=1), atol=0.02)


def test_peaks_of_a_very_short_file(tmp_path):
    path = tmp_path / "blip.wav"
    sf.write(path, np.full(200, 0.3, np.float32), SR)  # ~9 ms: fewer samples than points
    p = peaks(path, points=1200)
    assert p.shape == (1200, 2)
    np.testing.assert_allclose(p[50:-50], 0.3, atol=0.05)


def test_peaks_errors_propagate(tmp_path):
    bad = tmp_path / "bad.ogg"
    bad.write_bytes(b"nope" * 100)
    with pytest.raises(DecodeError):
        peaks(bad, cache_dir=tmp_path / "cache")
    with pytest.raises(DecodeError, match="file not found"):
        peaks(tmp_path / "missing.wav", cache_dir=tmp_path / "cache")
    with pytest.raises(ValueError):
        peaks(bad, points=0)
