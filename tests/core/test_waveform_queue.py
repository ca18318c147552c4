"""Waveform peaks (streamed, cached on disk) and the play queue."""

from __future__ import annotations

import os

import numpy as np
import pytest
import soundfile as sf

from desktop.core.errors import DecodeError
from desktop.core.queue import PlayQueue
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


# --- play queue ----------------------------------------------------------------------------------------


def test_queue_set_next_previous():
    q = PlayQueue()
    assert (q.current, q.index, q.has_next, q.next(), q.previous()) == (None, None, False, None, None)
    assert q.set(["a", "b", "c"], start=1) == "b"
    assert (q.current, q.index, len(q), q.has_next, q.has_previous) == ("b", 1, 3, True, True)
    assert q.next() == "c" and not q.has_next
    assert q.next() is None and q.current == "c"  # end, repeat off: the cursor stays
    assert q.previous(position=1.0) == "b"
    assert q.previous(position=10.0) == "b" and q.index == 1  # past 3 s: restart the same track
    assert q.previous(position=0.0) == "a"
    assert q.previous(position=0.0) == "a" and q.index == 0  # at the start: restart
    assert q.set([]) is None and q.current is None
    with pytest.raises(IndexError):
        q.set(["x"], start=3)


def test_queue_repeat_wraps():
    q = PlayQueue(["a", "b"], repeat=True)
    assert q.index is None and q.has_next and q.next() == "a"
    assert q.next() == "b" and q.has_next
    assert q.next() == "a"
    assert q.previous() == "b"  # wraps backwards too
    q.repeat = False
    assert q.has_next is False


def test_queue_append_insert_jump():
    q = PlayQueue()
    q.append("a")
    q.extend(["b", "/music/dropped.flac"])
    assert q.items == ["a", "b", "/music/dropped.flac"] and q.current is None
    assert q.next() == "a"  # nothing played yet: next starts at the top
    q.insert_next("z")
    assert q.items == ["a", "z", "b", "/music/dropped.flac"]
    assert q.jump(3) == "/music/dropped.flac" and q.current == "/music/dropped.flac"
    with pytest.raises(IndexError):
        q.jump(9)
    assert list(q) == q.items and bool(q)
    q.clear()
    assert (len(q), q.current, q.index, bool(q)) == (0, None, None, False)


def test_queue_remove_keeps_the_cursor():
    q = PlayQueue()
    q.set(["a", "b", "c", "d"], start=2)  # playing c
    assert q.remove(0) == "a"
    assert (q.current, q.index) == ("c", 1)
    assert q.remove(-1) == "d"
    assert (q.current, q.items) == ("c", ["b", "c"])
    q.append("e")
    assert q.remove(1) == "c"  # the playing track itself
    assert q.current is None and q.index is None
    assert q.has_next and q.has_previous
    q.insert_next("n")  # plays right after the removed track, i.e. before "e"
    assert q.items == ["b", "n", "e"]
    assert q.next() == "n" and q.next() == "e"
    q.remove(q.index)  # remove the last, playing item
    assert q.next() is None and q.previous() == "n"
    with pytest.raises(IndexError):
        q.remove(5)


def test_queue_remove_current_then_previous():
    q = PlayQueue(["a", "b", "c"])
    q.set(q.items, start=1)
    q.remove(1)
    assert q.previous(position=50.0) == "a"  # the removed track cannot restart: go back
    q.remove(0)
    q.remove(0)
    assert (q.current, q.has_next, q.next(), q.previous()) == (None, False, None, None)
