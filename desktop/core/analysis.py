"""One file's analysis: decode it, embed it, check the result. Never raises for a bad file.

The indexer schedules these (worker processes; for a model, a decode process feeding it); `similar` uses
them for a file dropped from outside the library. Both must refuse the same bad vectors and give the same
reasons.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from desktop.core.embedders.base import Embedder
from desktop.core.errors import DecodeError
from desktop.core.ranged import use_audio


class Analysis(NamedTuple):
    raw: np.ndarray | None  # None: the file failed, `error` says why
    error: str = ""
    seconds: float = 0.0
    parts: np.ndarray | None = None  # per-part raw vectors (k x dim), when the embedder reads parts


def analyze_file(embedder: Embedder, path: str) -> Analysis:
    """The file's raw vector (and parts), or None and the reason: never raises for a bad file.

    A damaged file is analysed on its decodable part; `error` of a result with a vector is then the
    note that says so ("damaged: plays 0:17 of 3:37").
    """
    try:
        (raw, parts), seconds, note = use_audio(path, embedder.embed_parts)
    except Exception as e:  # a decoder or model bug must cost one file, not the run
        return Analysis(None, failure_reason(e))
    result = checked(embedder, raw, parts, seconds)
    return result._replace(error=note) if result.raw is not None else result


class Decoded(NamedTuple):
    """A model's input read from one file: its windows, or None and the reason (`error` of a file that
    decoded is the damaged-file note). Made in a decode process, sent back to the one holding the model."""

    windows: list | None
    error: str = ""
    seconds: float = 0.0


def decode_windows(reader, path: str) -> Decoded:
    """`reader(source)` (a model's planned windows) of the file; never raises for a bad file."""
    try:
        windows, seconds, note = use_audio(path, reader)
    except Exception as e:
        return Decoded(None, failure_reason(e))
    return Decoded(windows, note, seconds)


def embed_decoded(embedder: Embedder, decoded: Decoded) -> Analysis:
    """The model's analysis of windows decoded elsewhere; the same checks and reasons as `analyze_file`."""
    windows, error, seconds = decoded
    if windows is None:
        return Analysis(None, error)
    try:
        result = checked(embedder, *embedder.embed_window_parts(windows), seconds)
    except Exception as e:  # a model bug must cost one file, not the run
        return Analysis(None, failure_reason(e))
    return result._replace(error=error) if result.raw is not None else result


def embed_decoded_many(embedder: Embedder, batch: list[tuple[int, str, Decoded]]) -> Iterator:
    """(track_id, path, Analysis) of several decoded files, embedded in shared batches where the embedder
    can (`embed_many`: a GPU's throughput); a failure of the shared call costs no file: each is retried alone."""
    good = [(tid, path, d) for tid, path, d in batch if d.windows is not None]
    results: dict[int, Analysis] = {}
    if len(good) > 1 and hasattr(embedder, "embed_many"):
        try:
            for (tid, _, d), (raw, parts) in zip(good, embedder.embed_many([d.windows for _, _, d in good]),
                                                 strict=True):
                result = checked(embedder, raw, parts, d.seconds)
                results[tid] = result._replace(error=d.error) if result.raw is not None else result
        except Exception:  # e.g. windows one file cannot give: found out file by file below
            results.clear()
    for tid, path, decoded in batch:
        yield tid, path, results[tid] if tid in results else embed_decoded(embedder, decoded)


def failure_reason(e: Exception) -> str:
    if isinstance(e, DecodeError):
        return e.kind + (f" ({e.detail})" if e.detail else "")
    if isinstance(e, MemoryError):
        return "out of memory while analysing this file"
    return f"analysis failed: {type(e).__name__}: {e}"


def checked(embedder: Embedder, raw, parts, seconds: float) -> Analysis:
    """Refuse a vector of the wrong shape, NaN or zero; drop unusable parts (they only refine statistics)."""
    raw = np.asarray(raw, dtype=np.float32)
    if raw.shape != (embedder.dim,) or not np.isfinite(raw).all() or float(np.linalg.norm(raw)) < 1e-12:
        return Analysis(None, "the embedder produced an invalid vector (NaN or zero)")
    if parts is not None:
        parts = np.asarray(parts, dtype=np.float32)
        if parts.ndim != 2 or parts.shape[1] != embedder.dim or not np.isfinite(parts).all():
            parts = None
    return Analysis(raw, "", seconds, parts)
