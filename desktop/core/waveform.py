"""Waveform overview: min/max peaks per bucket, computed streaming and cached on disk.

`peaks(path, points)` decodes through `open_audio(path).native_blocks()` (the file's own rate and
channels), so memory stays bounded for an hour-long file: it keeps min/max of fine buckets and halves
their resolution whenever they outnumber 16 x points, then groups them into exactly `points` buckets.
With `cache_dir`, the result is stored as one small .npz per (path, points), stamped with the file's
size and mtime: an unchanged file loads instantly, a changed one is recomputed and overwrites its entry.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np

from desktop.core.cue import file_of
from desktop.core.decode import TARGET_SR, open_audio

CACHE_VERSION = 2  # 2: peaks of the native channels (1: of the 16 kHz mono mix)
FINE_PER_POINT = 16  # fine buckets kept per output point before halving the resolution
MAX_INITIAL_STEP = 256  # frames per fine bucket at most to start with (the header may lie)
BLOCK_SECONDS = 10.0  # decoded at a time


def peaks(path, points: int = 1200, cache_dir=None) -> np.ndarray:
    """(points, 2) float32: column 0 the minimum, column 1 the maximum of each bucket, in [-1, 1].

    Raises DecodeError (from open_audio / decoding) when the file cannot be read.
    """
    if points < 1:
        raise ValueError("points must be at least 1")
    path = os.path.abspath(os.fspath(path))
    entry = stamp = None
    if cache_dir is not None:
        try:
            st = os.stat(file_of(path))  # a CUE track: its album file (the key keeps the range apart)
            stamp = np.array([st.st_size, st.st_mtime_ns, points, CACHE_VERSION], np.int64)
        except OSError:
            stamp = None  # let open_audio raise the proper DecodeError
        if stamp is not None:
            key = hashlib.sha1(f"{path}\0{points}".encode("utf-8", "surrogateescape")).hexdigest()
            entry = Path(cache_dir) / f"{key}.npz"
            cached = _load(entry, stamp, points)
            if cached is not None:
                return cached
    result = compute_peaks(path, points)
    if entry is not None:
        _store(entry, stamp, result)
    return result


def compute_peaks(path, points: int = 1200) -> np.ndarray:
    """Like `peaks` with no cache.

    Reads the file at its own rate and takes each frame's lowest and highest channel (the envelope a
    waveform shows), with no mix-down and no resampling: a third of the CPU of the 16 kHz mono analysis
    decode (bench/ui_stall.py), which a starting track's waveform competed with the window for."""
    with open_audio(path) as src:
        rate = src.sample_rate or TARGET_SR
        step = int(min(MAX_INITIAL_STEP, max(1, src.duration * rate // (points * FINE_PER_POINT))))
        mins: list[np.ndarray] = []
        maxs: list[np.ndarray] = []
        count = frames = 0
        carry_lo = carry_hi = np.zeros(0, np.float32)
        for block in src.native_blocks(0.0, max(16384, int(BLOCK_SECONDS * rate))):
            frames += len(block)
            lo, hi = _channel_extremes(block)
            if len(carry_lo):
                lo, hi = np.concatenate([carry_lo, lo]), np.concatenate([carry_hi, hi])
            k = len(lo) // step
            if k:
                mins.append(lo[: k * step].reshape(k, step).min(axis=1))
                maxs.append(hi[: k * step].reshape(k, step).max(axis=1))
                count += k
            carry_lo, carry_hi = lo[k * step :], hi[k * step :]
            if count > 2 * FINE_PER_POINT * points:  # halve the resolution: memory stays bounded
                mn, mx = _halve(np.concatenate(mins), np.minimum), _halve(np.concatenate(maxs), np.maximum)
                mins, maxs, count, step = [mn], [mx], len(mn), step * 2
        if len(carry_lo):
            mins.append(carry_lo.min(keepdims=True))
            maxs.append(carry_hi.max(keepdims=True))
        src._check_length(frames / rate)  # a file that ends far short of its header is truncated
    mn = np.concatenate(mins) if mins else np.zeros(0, np.float32)
    mx = np.concatenate(maxs) if maxs else np.zeros(0, np.float32)
    return np.clip(np.stack([_group(mn, points, np.minimum), _group(mx, points, np.maximum)], axis=1), -1, 1)


def _channel_extremes(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(frames, channels) -> each frame's lowest and highest channel (element-wise: numpy's min over a
    2-wide axis is several times slower)."""
    lo = hi = block[:, 0]
    for c in range(1, block.shape[1]):
        lo, hi = np.minimum(lo, block[:, c]), np.maximum(hi, block[:, c])
    return lo, hi


def _halve(a: np.ndarray, op) -> np.ndarray:
    """Merge neighbouring buckets pairwise (an odd last one stays alone)."""
    even = len(a) - len(a) % 2
    merged = op(a[0:even:2], a[1:even:2])
    return np.concatenate([merged, a[even:]]) if len(a) % 2 else merged


def _group(a: np.ndarray, points: int, op) -> np.ndarray:
    """Reduce fine buckets to exactly `points` (repeating them when there are fewer)."""
    n = len(a)
    if n == 0:
        return np.zeros(points, np.float32)
    if n < points:
        return a[np.arange(points) * n // points].astype(np.float32)
    edges = np.arange(points) * n // points
    return op.reduceat(a, edges).astype(np.float32)


def _load(entry: Path, stamp: np.ndarray, points: int) -> np.ndarray | None:
    try:
        with np.load(entry) as z:
            if np.array_equal(z["stamp"], stamp) and z["peaks"].shape == (points, 2):
                return z["peaks"].astype(np.float32)
    except (OSError, ValueError, KeyError, EOFError):
        pass  # missing or unreadable: recompute
    return None


def _store(entry: Path, stamp: np.ndarray, result: np.ndarray) -> None:
    """Write atomically; a cache that cannot be written is only slower, never an error."""
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".peaks-", suffix=".npz", dir=entry.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, stamp=stamp, peaks=result)
            os.replace(tmp, entry)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass
